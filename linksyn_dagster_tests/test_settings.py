"""The one settings model: environment, nesting, .env, secrets, and the README reference."""

from __future__ import annotations

import re

from pydantic import BaseModel

from linksyn_dagster.settings import LinkSynSettings
from linksyn_dagster_tests.conftest import PROJECT_ROOT


def _variables(model: type[BaseModel], prefix: str = "LINKSYN_") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            names += _variables(field.annotation, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = LinkSynSettings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.duckdb_path == tmp_path / "data" / "linksyn.duckdb"
    assert settings.neo4j.uri is None and settings.llm.model is None


def test_environment_and_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LINKSYN_WALK__GAMMA=2.5\nLINKSYN_LLM__API_KEY=from-dotenv\n")
    monkeypatch.setenv("LINKSYN_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("LINKSYN_SYNTHESIS__DIFFICULTY_MIX_BY_DISCIPLINE", '{"law": {"4": 0.5, "5": 0.5}}')
    monkeypatch.setenv("LINKSYN_WALK__TARGET_DISTRIBUTION", '{"physics": 0.7, "law": 0.3}')
    monkeypatch.setenv("LINKSYN_NEO4J__URI", "")  # blank = unset, as docker-compose passes it
    settings = LinkSynSettings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.walk.gamma == 2.5
    assert settings.synthesis.difficulty_mix_by_discipline == {"law": {"4": 0.5, "5": 0.5}}
    assert settings.walk.target_distribution == {"physics": 0.7, "law": 0.3}
    assert settings.neo4j.uri is None
    assert settings.llm.api_key.get_secret_value() == "from-dotenv"
    assert "from-dotenv" not in repr(settings) and "from-dotenv" not in settings.model_dump_json()


def test_readme_documents_every_setting():
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(LINKSYN_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == set(_variables(LinkSynSettings))
