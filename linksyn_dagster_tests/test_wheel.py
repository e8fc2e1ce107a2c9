"""The package installs as a wheel and works outside a source checkout: the SQL and Cypher
files, prompts and demo seeds travel inside it.

The wheel goes into a fresh virtualenv with ``--no-deps``; the dependencies come from the
project's own virtualenv, put on the new one's path by a ``.pth`` line. That line adds the
directory as a plain path entry, so the ``.pth`` files inside it (among them the editable
install's finder) are not processed: ``linksyn_dagster`` can only come from the wheel.
Nothing runs from the checkout (the working directory is a temp dir).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import duckdb
import pytest

from linksyn_dagster_tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


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

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    python = str(venv / "bin" / "python")
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path,
                     env).stdout.strip())
    (site / "linksyn_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", str(wheel)], tmp_path, env)

    where = json.loads(_run([python, "-c", (
        "import json, linksyn_dagster, linksyn_dagster.queries as q; "
        "print(json.dumps([linksyn_dagster.__file__, str(q.SQL_DIR), q.sql('schema')[:40]]))")],
        tmp_path, env).stdout)
    assert where[0].startswith(str(site)) and where[1].startswith(str(site)), where  # the wheel, not the checkout
    assert not Path(where[1]).is_symlink() and where[2]

    _run([python, "-m", "dagster", "definitions", "validate", "-m", "linksyn_dagster.definitions"], tmp_path, env)

    data, home = tmp_path / "data", tmp_path / "dagster_home"
    home.mkdir()
    run_env = {**env, "LINKSYN_DATA_DIR": str(data), "DAGSTER_HOME": str(home)}
    _run([python, "-m", "dagster", "asset", "materialize", "-m", "linksyn_dagster.definitions", "--select", "seed_qa",
          "--partition", "physics"], tmp_path, run_env)
    with duckdb.connect(str(data / "linksyn.duckdb"), read_only=True) as conn:
        rows = conn.execute("SELECT count(*), min(source_file) FROM seed_qa WHERE discipline = 'physics'").fetchone()
    assert rows[0] > 0 and rows[1].startswith(str(site)), rows  # the demo seeds shipped in the wheel
