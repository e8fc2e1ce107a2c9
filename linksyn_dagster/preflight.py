"""What `linksyn run` checks before it starts anything: the mistakes users make first, each
reported as one line that names the setting and the fix (the CLI exits 2).

- the seed directory or a benchmark path does not exist;
- the model id names no provider litellm knows;
- a hosted model has no API key;
- the configured Neo4j server does not answer;
- the Postgres server of the LLM result store (``LINKSYN_LLM__RESULT_STORE_URL``) does not answer;
- the Postgres server of the warehouse's catalog (``LINKSYN_WAREHOUSE__CATALOG_URL``) does not answer.

``missing_paths`` is also what ``seed_qa`` and the decontamination read, so a run launched
from the UI fails with the same words.
"""

from __future__ import annotations

from pathlib import Path

from linksyn_dagster.settings import LinkSynSettings

NEO4J_TIMEOUT_S = 5.0


def missing_paths(settings: LinkSynSettings) -> list[str]:
    problems = []
    source = settings.seeds.source_dir
    if source is not None and not Path(source).exists():
        problems.append(f"LINKSYN_SEEDS__SOURCE_DIR={source} does not exist: point it at a folder (or file) of "
                        "CSV, JSONL or Parquet seeds, or unset it for the bundled demo seeds")
    for path in settings.decontam.benchmark_paths:
        if not Path(path).exists():
            problems.append(f"LINKSYN_DECONTAM__BENCHMARK_PATHS names {path}, which does not exist: fix the path, "
                            "or leave it out of the list")
    return problems


def model_problems(settings: LinkSynSettings) -> list[str]:
    """A model id litellm cannot route, or a hosted model without a key. Nothing is sent."""
    llm = settings.llm
    if not llm.model:
        return []  # the local model: nothing to configure
    from linksyn_dagster.llm.provider import litellm_api

    litellm = litellm_api().module
    try:
        _, provider, _, _ = litellm.get_llm_provider(llm.model, api_base=llm.api_base)
    except Exception:  # noqa: BLE001 - litellm raises BadRequestError (and others) for unknown ids
        return [f"LINKSYN_LLM__MODEL={llm.model}: litellm knows no provider for this id: write it as "
                "provider/model (e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest), or "
                "openai/<name> with LINKSYN_LLM__API_BASE for an OpenAI-compatible server"]
    if llm.api_key is not None or llm.api_base or llm.api_bases:
        return []  # a key given, or a self-hosted endpoint (which may need none)
    missing = litellm.validate_environment(llm.model).get("missing_keys") or []
    if missing:
        return [f"LINKSYN_LLM__MODEL={llm.model} ({provider}) needs an API key: set LINKSYN_LLM__API_KEY "
                f"(or {', '.join(missing)})"]
    return []


def neo4j_problems(settings: LinkSynSettings) -> list[str]:
    """The configured server answers a connectivity check (a local server is started later)."""
    uri = settings.neo4j.uri
    if not uri:
        return []
    import neo4j

    password = settings.neo4j.password.get_secret_value() if settings.neo4j.password else ""
    try:
        with neo4j.GraphDatabase.driver(uri, auth=(settings.neo4j.user, password),
                                        connection_timeout=NEO4J_TIMEOUT_S) as driver:
            driver.verify_connectivity()
    except neo4j.exceptions.AuthError:
        return [f"LINKSYN_NEO4J__URI={uri} refused the credentials of user {settings.neo4j.user!r}: fix "
                "LINKSYN_NEO4J__USER / LINKSYN_NEO4J__PASSWORD"]
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, bad scheme: one line either way
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return [f"LINKSYN_NEO4J__URI={uri} does not answer ({reason}): start that server, fix the URI, or "
                "unset it to let LinkSyn run a local one"]
    return []


def result_store_problems(settings: LinkSynSettings) -> list[str]:
    """The configured Postgres result store answers (its tables are created if missing)."""
    url = settings.llm.result_store_url
    if url is None:
        return []  # the SQLite file under the data directory
    from linksyn_dagster.llm.store import ResultStoreUnavailable, open_result_store

    try:
        open_result_store(url.get_secret_value()).close()
    except ResultStoreUnavailable as exc:
        return [str(exc)]
    return []


def warehouse_problems(settings: LinkSynSettings) -> list[str]:
    """The configured warehouse catalog answers (its tables are created if missing)."""
    url = settings.warehouse.catalog_url
    if url is None:
        return []  # the DuckDB file under the data directory
    from linksyn_dagster.resources.warehouse_catalog import ParquetCatalog, WarehouseUnavailable

    try:
        ParquetCatalog(url.get_secret_value(), settings.warehouse_files_dir)
    except WarehouseUnavailable as exc:
        return [str(exc)]
    return []


def preflight(settings: LinkSynSettings) -> list[str]:
    return [*missing_paths(settings), *model_problems(settings), *neo4j_problems(settings),
            *result_store_problems(settings), *warehouse_problems(settings)]
