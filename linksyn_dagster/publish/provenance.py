"""How a release was made, for its dataset card and manifest: the code (package version, git
commit and whether the checkout had uncommitted changes), the effective settings with their
secrets masked, the prompt versions the pipeline asks with and the KP-graph versions the
released items were walked on. The model ids and the template versions come from the items
and the exports themselves (publish/release.py)."""

from __future__ import annotations

import importlib.metadata
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import linksyn_dagster
from linksyn_dagster.llm.prompts import prompt_versions
from linksyn_dagster.settings import LinkSynSettings, masked_url

__all__ = ["CodeVersion", "ReleaseProvenance", "code_version", "masked_settings", "release_provenance"]

DISTRIBUTION = "linksyn-dagster"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class CodeVersion:
    """The code that built a release. ``commit`` is None outside a git checkout (an
    installed wheel); ``dirty``: the checkout had changes not committed (None: unknown)."""

    package_version: str = UNKNOWN
    commit: str | None = None
    dirty: bool | None = None

    def describe(self) -> str:
        if self.commit is None:
            return f"{DISTRIBUTION} {self.package_version}, git commit unknown (not run from a git checkout)"
        state = {True: ", with uncommitted changes", False: "", None: ", uncommitted changes unknown"}[self.dirty]
        return f"{DISTRIBUTION} {self.package_version}, git commit {self.commit}{state}"

    def as_dict(self) -> dict[str, Any]:
        return {"package_version": self.package_version, "git_commit": self.commit or UNKNOWN,
                "git_dirty": self.dirty}


def _git(cwd: Path, *args: str) -> str | None:
    """The output of ``git args`` in ``cwd``, None when git is missing or fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version(package_dir: Path | None = None) -> CodeVersion:
    """The version of the code in ``package_dir`` (default: this package). A git commit is
    reported only when that repository tracks the package itself: a wheel installed in a
    virtualenv that happens to lie inside some other checkout has no commit."""
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = UNKNOWN
    package = Path(package_dir or Path(linksyn_dagster.__file__).parent).resolve()
    top = _git(package, "rev-parse", "--show-toplevel")
    if not top:
        return CodeVersion(version)
    try:
        marker = package.relative_to(Path(top).resolve()) / "__init__.py"
    except ValueError:  # the package is not inside that work tree
        return CodeVersion(version)
    tracked = _git(Path(top), "ls-files", "--error-unmatch", "--", str(marker)) is not None
    commit = _git(Path(top), "rev-parse", "HEAD") if tracked else None
    if not commit:
        return CodeVersion(version)
    status = _git(Path(top), "status", "--porcelain")
    return CodeVersion(version, commit, None if status is None else bool(status))


def masked_settings(settings: LinkSynSettings, sections: Sequence[str]) -> dict[str, Any]:
    """``data_dir`` and the named sections of ``settings`` as JSON values; secrets (SecretStr)
    come out as ``**********`` when set, null when not, and so does the password of any URL
    given with one (an ``api_base`` such as ``https://user:token@host/v1``)."""
    dumped = settings.model_dump(mode="json", include={"data_dir", *sections})
    return {"data_dir": dumped["data_dir"], **{name: _mask_urls(dumped[name]) for name in sections}}


def _mask_urls(value: Any) -> Any:
    if isinstance(value, str):
        return masked_url(value) if "://" in value else value
    if isinstance(value, list):
        return [_mask_urls(v) for v in value]
    if isinstance(value, dict):
        return {k: _mask_urls(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ReleaseProvenance:
    """What the dataset card's "How this release was made" reports."""

    code: CodeVersion = field(default_factory=CodeVersion)
    settings: Mapping[str, Any] = field(default_factory=dict)  # effective settings, secrets masked
    prompts: Mapping[str, str] = field(default_factory=dict)  # prompt name -> version id asked with
    graph_versions: Mapping[str, int] = field(default_factory=dict)  # KP-graph version -> released items

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code.as_dict(), "graph_versions": dict(self.graph_versions),
                "prompts": dict(self.prompts), "settings": dict(self.settings)}


def release_provenance(settings: LinkSynSettings, sections: Sequence[str],
                       graph_versions: Mapping[str, int]) -> ReleaseProvenance:
    """The provenance of a release built by this code with ``settings`` (``sections``: those
    the caller knows the effective values of), from items walked on ``graph_versions``."""
    return ReleaseProvenance(code=code_version(), settings=masked_settings(settings, sections),
                             prompts=prompt_versions(), graph_versions=dict(graph_versions))
