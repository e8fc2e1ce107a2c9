"""What the card records of the code and settings behind a release: the git commit only when
the repository holds the package itself, uncommitted changes, secrets masked."""

from __future__ import annotations

import subprocess

from linksyn_dagster.publish.provenance import code_version, masked_settings
from linksyn_dagster.settings import LinkSynSettings


def _git(cwd, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_a_checkout_gives_its_commit_and_whether_it_has_uncommitted_changes(tmp_path):
    package = tmp_path / "repo" / "linksyn_dagster"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    _git(tmp_path / "repo", "init", "-q")
    _git(tmp_path / "repo", "add", ".")
    _git(tmp_path / "repo", "commit", "-q", "-m", "first")
    head = _git(tmp_path / "repo", "rev-parse", "HEAD")
    clean = code_version(package)
    assert (clean.commit, clean.dirty) == (head, False)
    assert f"git commit {head}" in clean.describe() and "uncommitted" not in clean.describe()
    (package / "__init__.py").write_text("VALUE = 1\n")
    dirty = code_version(package)
    assert (dirty.commit, dirty.dirty) == (head, True) and dirty.describe().endswith("with uncommitted changes")


def test_no_checkout_or_an_untracked_package_gives_no_commit(tmp_path):
    alone = tmp_path / "site-packages" / "linksyn_dagster"
    alone.mkdir(parents=True)
    (alone / "__init__.py").write_text("")
    assert code_version(alone).commit is None
    # a wheel installed into a virtualenv inside some other checkout: that checkout's commit is not ours
    _git(tmp_path, "init", "-q")
    (tmp_path / "README").write_text("another project")
    _git(tmp_path, "add", "README")
    _git(tmp_path, "commit", "-q", "-m", "other")
    other = code_version(alone)
    assert other.commit is None and other.dirty is None
    assert "git commit unknown" in other.describe() and other.as_dict()["git_commit"] == "unknown"


def test_settings_are_recorded_with_their_secrets_masked():
    settings = LinkSynSettings.model_validate({"data_dir": "/data", "llm": {
                                                   "api_key": "sk-planted-SECRET",
                                                   "result_store_url": "postgresql://u:pg-planted-SECRET@db/llm",
                                                   "api_base": "https://team:tok-planted-SECRET@llm.example/v1",
                                                   "api_bases": ["http://a:b-planted-SECRET@h2:8000/v1",
                                                                 "http://h3:8000/v1"]},
                                               "neo4j": {"password": "pw-planted-SECRET"},
                                               "walk": {"paths_total": 7}})
    recorded = masked_settings(settings, ("walk", "llm"))
    assert set(recorded) == {"data_dir", "walk", "llm"}  # neo4j was not asked for
    assert recorded["llm"]["api_key"] == "**********" and recorded["walk"]["paths_total"] == 7
    assert recorded["llm"]["result_store_url"] == "**********"  # the URL holds the Postgres password
    # an endpoint given with credentials in its URL keeps its host and user, not its password
    assert recorded["llm"]["api_base"] == "https://team:**********@llm.example/v1"
    assert recorded["llm"]["api_bases"] == ["http://a:**********@h2:8000/v1", "http://h3:8000/v1"]
    assert "SECRET" not in repr(recorded)
    unset = masked_settings(LinkSynSettings.model_validate({}), ("llm",))["llm"]
    assert unset["api_key"] is None and unset["result_store_url"] is None  # unset: null
