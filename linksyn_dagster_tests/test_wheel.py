"""The package installs as a wheel and works outside a source checkout, with only what its
metadata declares: the SQL and Cypher files, prompts, export templates and demo seeds travel
inside it.

The wheel goes into a fresh virtualenv with ``--no-deps`` (no network, no resolver: installing
dagster and its ~160 distributions would take minutes). Its dependencies come from the
project's virtualenv, but only those the wheel's ``Requires-Dist`` asks for: the test follows
the requirements (with their markers and requested extras) through the installed
distributions' metadata and symlinks just their files (from each ``RECORD``) into a directory
that a ``.pth`` line puts on the new environment's path. That line adds a plain path entry, so
no ``.pth`` inside it runs (the editable install's finder is not among the links anyway):
``linksyn_dagster`` can only come from the wheel, and an undeclared module (``pytest``, say)
cannot be imported. Nothing runs from the checkout (the working directory is a temp dir).

What this proves: the wheel's ``Requires-Dist`` is pyproject's list; ``pip check`` in that
environment finds every requirement (names, versions, markers) satisfied by the declared
closure, and fails when the wheel asks for something absent; ``dagster definitions validate``
(which imports every asset module) and materializing ``seed_qa`` work on that closure alone.
What it does not prove: that a resolver on PyPI today picks versions that work (the closure is
the project's pinned-by-use virtualenv, not a fresh resolve), nor that the code paths these two
commands do not reach import only declared modules; ``test_dependencies.py`` checks the
latter statically, for every import in the package.
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import duckdb
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from linksyn_dagster_tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def _closure(requirements: list[Requirement], installed: dict[str, importlib.metadata.Distribution]) -> set[str]:
    """Names of the installed distributions the requirements need, transitively, with the
    extras each is asked for; a requirement that is not installed is left for ``pip check``."""
    extras_done: dict[str, set[str]] = {}
    todo = [(req, "") for req in requirements]
    while todo:
        req, extra = todo.pop()
        name = canonicalize_name(req.name)
        if (req.marker and not req.marker.evaluate({"extra": extra})) or name not in installed:
            continue
        new = ({""} | set(req.extras)) - extras_done.setdefault(name, set())
        extras_done[name] |= new
        todo += [(Requirement(spec), e) for spec in installed[name].requires or [] for e in new]
    return set(extras_done)


def _link_tree(shown: list[tuple[str, ...]], hidden: list[tuple[str, ...]], source: Path, target: Path) -> None:
    """Symlink into ``target`` the entries of ``source`` that hold the shown files; where an
    entry also holds hidden ones (a namespace package such as ``google``), one level deeper."""
    target.mkdir(exist_ok=True)
    shown_under: dict[str, list[tuple[str, ...]]] = {}
    hidden_under: dict[str, list[tuple[str, ...]]] = {}
    for paths, under in ((shown, shown_under), (hidden, hidden_under)):
        for parts in paths:
            under.setdefault(parts[0], []).append(parts[1:])
    for name, rest in shown_under.items():
        if name in hidden_under and all(rest):  # a directory shared with a hidden distribution
            _link_tree(rest, [p for p in hidden_under[name] if p], source / name, target / name)
        elif (source / name).exists() and not (target / name).exists():
            (target / name).symlink_to(source / name)


def _expose_declared(requirements: list[Requirement], site: Path, target: Path) -> set[str]:
    """Link the distributions of ``site`` that ``requirements`` need into ``target``."""
    installed = {canonicalize_name(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=[str(site)])}
    needed = _closure(requirements, installed)

    def files(names) -> list[tuple[str, ...]]:
        return [PurePosixPath(str(f)).parts for n in names for f in installed[n].files or []
                if not str(f).startswith("..")]  # scripts in bin/ stay out

    _link_tree(files(needed), files(set(installed) - needed), site, target)
    return needed


def test_the_wheel_installs_validates_and_materializes_seed_qa(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINKSYN_", "DAGSTER_HOME", "PYTHONPATH"))}
    # built from a copy without build output: setuptools builds in-tree and reuses ./build,
    # so a module deleted from the checkout would still ship from a stale build/lib
    source = tmp_path / "source"
    at_root = {".git", ".venv", "build", "dist", "data", "test-artifacts"}  # output and state, not sources

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n == "__pycache__" or n.endswith(".egg-info") or n.startswith(".tmp")}
        return skipped | (at_root & set(names) if Path(directory) == PROJECT_ROOT else set())

    shutil.copytree(PROJECT_ROOT, source, symlinks=True, ignore=ignore)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(wheels)], tmp_path, env)
    (wheel,) = wheels.glob("linksyn_dagster-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(metadata_name))
    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(f'{r}; extra == "{extra}"')
                 for extra, reqs in project["optional-dependencies"].items() for r in reqs]
    assert sorted(map(str, requires)) == sorted(map(str, declared))  # the wheel says what pyproject says
    runtime = [r for r in requires if r.marker is None or r.marker.evaluate({"extra": ""})]  # no extras
    assert {"dagster", "aiohttp", "tiktoken"} <= {r.name for r in runtime}

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = str(venv / "bin" / "python")
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path,
                     env).stdout.strip())
    deps = tmp_path / "declared"
    needed = _expose_declared(runtime, Path(sysconfig.get_paths()["purelib"]), deps)
    assert {"dagster", "llama-cpp-python", "uvicorn"} <= needed and "pytest" not in needed  # uvicorn: [server]
    (site / "linksyn_test_dependencies.pth").write_text(f"{deps}\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", str(wheel)], tmp_path, env)

    # every Requires-Dist is met by the declared closure alone, and pip check does read the
    # wheel's: an unmet one fails it
    pip_check = [sys.executable, "-m", "pip", "--python", python, "check"]
    _run(pip_check, tmp_path, env)
    (installed_metadata,) = site.glob("linksyn_dagster-*.dist-info/METADATA")
    original = installed_metadata.read_text(encoding="utf-8")
    installed_metadata.write_text(original.replace("Requires-Dist:", "Requires-Dist: linksyn-absent-dependency\n"
                                                   "Requires-Dist:", 1), encoding="utf-8")
    unmet = subprocess.run(pip_check, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert unmet.returncode != 0, unmet.stdout + unmet.stderr
    assert "linksyn-dagster" in unmet.stdout and "linksyn-absent-dependency" in unmet.stdout, unmet.stdout
    installed_metadata.write_text(original, encoding="utf-8")
    hidden = subprocess.run([python, "-c", "import pytest"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert "No module named 'pytest'" in hidden.stderr, hidden.stderr  # undeclared, so not on the path

    where = json.loads(_run([python, "-c", (
        "import json, linksyn_dagster, linksyn_dagster.queries as q; "
        "from linksyn_dagster.publish.exports import load_templates; "
        "from linksyn_dagster.publish.provenance import code_version; "
        "from linksyn_dagster.core.browser_guide import examples, guide_html; "
        "print(json.dumps([linksyn_dagster.__file__, str(q.SQL_DIR), q.sql('schema')[:40], "
        "load_templates().text_version, code_version().as_dict(), "
        "guide_html(examples(q.cypher('browser/examples'))).count('<slide ')]))")],
        tmp_path, env).stdout)
    assert where[0].startswith(str(site)) and where[1].startswith(str(site)), where  # the wheel, not the checkout
    assert not Path(where[1]).is_symlink() and where[2]
    # the export templates ship; an installed wheel has no git commit and says so
    assert where[3] == "pretraining@v1"
    assert where[4] == {"package_version": project["version"], "git_commit": "unknown", "git_dirty": None}, where
    assert where[5] >= 4  # the Neo4j Browser guide's queries ship

    _run([python, "-m", "dagster", "definitions", "validate", "-m", "linksyn_dagster.definitions"], tmp_path, env)

    data, home = tmp_path / "data", tmp_path / "dagster_home"
    home.mkdir()
    run_env = {**env, "LINKSYN_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
    _run([python, "-m", "dagster", "asset", "materialize", "-m", "linksyn_dagster.definitions", "--select", "seed_qa",
          "--partition", "physics"], tmp_path, run_env)
    with duckdb.connect(str(data / "linksyn.duckdb"), read_only=True) as conn:
        rows = conn.execute("SELECT count(*), min(source_file) FROM seed_qa WHERE discipline = 'physics'").fetchone()
    assert rows[0] > 0 and rows[1].startswith(str(site)), rows  # the demo seeds shipped in the wheel
