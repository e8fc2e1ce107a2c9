"""Versioned prompt files.

A prompt lives in ``linksyn_dagster/prompts/<name>.v<N>.md`` with a ``### system`` and a
``### user`` section. Placeholders are ``$name`` (``string.Template``), so JSON braces in a
template and braces in seed text need no escaping, and seed text is inserted verbatim,
never interpreted. The version recorded with every result is ``<name>@v<N>``; changing a
prompt's wording means adding a new version file, which re-asks the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

_FILE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.md$")


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    system: Template
    user: Template

    @property
    def version_id(self) -> str:
        return f"{self.name}@v{self.version}"

    def render(self, **values: object) -> list[dict[str, str]]:
        text = {key: str(value) for key, value in values.items()}
        return [
            {"role": "system", "content": self.system.substitute(text)},
            {"role": "user", "content": self.user.substitute(text)},
        ]


def sections(text: str) -> dict[str, str]:
    """The ``### <name>`` sections of a prompt file: name -> its text (stripped)."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("### "):
            current = line[4:].strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {name: "\n".join(lines).strip() for name, lines in found.items()}


def _parse(name: str, version: int, text: str) -> Prompt:
    parts = sections(text)
    missing = {"system", "user"} - parts.keys()
    if missing:
        raise ValueError(f"prompt {name}.v{version}.md lacks section(s): {', '.join(sorted(missing))}")
    return Prompt(name, version, Template(parts["system"]), Template(parts["user"]))


@cache
def load_prompt(name: str, version: int | None = None) -> Prompt:
    """The given version of a prompt, or its newest version."""
    found: dict[int, str] = {}
    for entry in resources.files("linksyn_dagster.prompts").iterdir():
        match = _FILE.match(entry.name)
        if match and match["name"] == name:
            found[int(match["version"])] = entry.read_text(encoding="utf-8")
    if not found:
        raise KeyError(f"no prompt named {name!r} in linksyn_dagster/prompts")
    chosen = max(found) if version is None else version
    if chosen not in found:
        raise KeyError(f"prompt {name!r} has no version {chosen} (have {sorted(found)})")
    return _parse(name, chosen, found[chosen])


def prompt_versions() -> dict[str, str]:
    """The version id the pipeline asks with for every prompt in the package (its newest
    version): name -> ``<name>@v<N>``."""
    newest: dict[str, int] = {}
    for entry in resources.files("linksyn_dagster.prompts").iterdir():
        match = _FILE.match(entry.name)
        if match:
            newest[match["name"]] = max(newest.get(match["name"], 0), int(match["version"]))
    return {name: load_prompt(name, version).version_id for name, version in sorted(newest.items())}
