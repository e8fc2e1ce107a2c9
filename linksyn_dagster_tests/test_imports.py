"""Importing any module of the package has no side effects: the environment, logging, the
running threads and the set of loaded heavy libraries are as they were (litellm is imported
before a client's first call to the model, which also sets its offline price list and
quiets its loggers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from linksyn_dagster_tests.conftest import PROJECT_ROOT

_PROBE = textwrap.dedent("""
    import json, logging, os, pkgutil, importlib, sys, threading
    before_threads = set(threading.enumerate())
    before_env = dict(os.environ)
    loggers = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "linksyn", "dagster")
    before_levels = {n: logging.getLogger(n).level for n in loggers}
    before_root = (logging.getLogger().level, len(logging.getLogger().handlers))
    import linksyn_dagster  # after the snapshot: the package's own __init__ counts too
    names = sorted(m.name for m in pkgutil.walk_packages(linksyn_dagster.__path__, "linksyn_dagster."))
    for name in names:
        importlib.import_module(name)
    changed = sorted(k for k in set(before_env) | set(os.environ) if before_env.get(k) != os.environ.get(k))
    print(json.dumps({
        "modules": len(names),
        "env_changed": changed,
        "levels_changed": [n for n in loggers if logging.getLogger(n).level != before_levels[n]],
        "root_changed": (logging.getLogger().level, len(logging.getLogger().handlers)) != before_root,
        "threads_started": sorted(t.name for t in set(threading.enumerate()) - before_threads),
        "litellm_loaded": "litellm" in sys.modules,
    }))
""")


def test_importing_every_module_changes_nothing_and_leaves_litellm_unloaded():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM", "LINKSYN_", "DAGSTER_HOME"))}
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["modules"] > 40
    assert report["env_changed"] in ([], ["_RJEM_MALLOC_CONF"])  # polars' allocator setting, set by polars
    assert report["levels_changed"] == [] and not report["root_changed"]
    assert report["threads_started"] == []
    assert not report["litellm_loaded"]


def test_the_first_call_sets_litellm_up_offline_and_answers_from_the_store_never_load_it(tmp_path, llm_server):
    """A client answering everything from its result store never imports litellm (seconds of
    CPU in each step process that re-runs); its first call to the model imports it, with the
    offline price list (unless the user chose otherwise) and litellm's loggers quiet."""
    probe = textwrap.dedent(f"""
        import json, logging, os, sys
        from pathlib import Path
        from pydantic import BaseModel, Field
        from linksyn_dagster.llm.client import ClientConfig, LLMClient
        from linksyn_dagster.llm.store import open_result_store
        from linksyn_dagster.llm.types import LLMRequest

        class Pair(BaseModel):
            left: str = Field(max_length=60)
            right: str = Field(max_length=60)
            score: int = Field(ge=1, le=5)

        client = LLMClient(ClientConfig({llm_server.litellm_model!r}, api_base={llm_server.api_base!r},
                                        api_key="scripted-test-key"),
                           open_result_store(None, Path({str(tmp_path / "store.sqlite")!r})))
        content = "pair words photosynthesis chlorophyll"
        outcomes = client.run("probe", "v1", [LLMRequest("q1", [{{"role": "user", "content": content}}])], Pair)
        client.close()
        print(json.dumps({{"loaded": "litellm" in sys.modules, "cached": [o.from_cache for o in outcomes],
                          "ok": [o.ok for o in outcomes], "cost_map": os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP"),
                          "level": logging.getLogger("LiteLLM").level}}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM")}

    def probe_run(mode: str) -> dict:
        done = subprocess.run([sys.executable, "-c", probe, mode], cwd=PROJECT_ROOT, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    # the first run asks the model; the second, in a fresh process, finds the answer stored
    assert probe_run("ask") == {"loaded": True, "cached": [False], "ok": [True], "cost_map": "True", "level": 50}
    assert probe_run("store") == {"loaded": False, "cached": [True], "ok": [True], "cost_map": None, "level": 0}
