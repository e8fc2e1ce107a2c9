"""Scale-out on one machine: LLM throughput against 1, 2 and 4 model endpoints. Prints JSON.

Each endpoint is a scripted OpenAI-compatible server in its own process that serves at most
``--capacity`` requests at once with ``--latency`` seconds each (like a vLLM server whose
batch is full), so one endpoint can do capacity / latency requests/s and no more. Against
them, ``--runs`` concurrent runs (separate processes, as the run queue starts one per
discipline partition) each build the LLM client exactly as the assets do (``build_client``
from ``LINKSYN_LLM__*`` settings: the litellm Router over ``API_BASE`` + ``API_BASES``,
``CONCURRENCY`` in flight per endpoint) and send their share of the items. Items scale with
the endpoints (``--items-per-endpoint``), so every measurement lasts about as long.

Reported per endpoint count: items/s, the ideal (endpoints x capacity / latency) and the
efficiency; and the scaling from 1 to N endpoints over linear (target >= 0.8 at 4).
Usage: python benchmarks/scale_out.py [--endpoints 1,2,4] [--runs 4] [--capacity 8]
[--latency 0.2] [--items-per-endpoint 240]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from pydantic import BaseModel, Field  # noqa: E402

from linksyn_dagster.services.process import free_port, port_open, stop_process_group  # noqa: E402


class Item(BaseModel):
    """The structured reply each call asks for (the scripted endpoints fill the schema)."""

    name: str = Field(max_length=60)
    level: int = Field(ge=1, le=5)


def start_endpoint(latency: float, capacity: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "linksyn_dagster.testing.scripted_llm", "--port", str(port),
                             "--latency", str(latency), "--capacity", str(capacity)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("scripted endpoint did not start")
        time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}/v1"


def one_run(index: int, endpoints: list[str], concurrency: int, items: int, data_dir: str, ready, go, results) -> None:
    """A run: the client as the assets build it, then its items once everyone is ready."""
    os.environ.update({
        "LINKSYN_DATA_DIR": data_dir, "LINKSYN_LLM__MODEL": "openai/scripted",
        "LINKSYN_LLM__API_BASE": endpoints[0], "LINKSYN_LLM__API_BASES": json.dumps(endpoints[1:]),
        "LINKSYN_LLM__API_KEY": "bench", "LINKSYN_LLM__CONCURRENCY": str(concurrency),
        "LINKSYN_LLM__ROUTING_STRATEGY": "least-busy", "LINKSYN_LLM__CLIENT_PROCESSES": "1",
    })
    from linksyn_dagster.llm.types import LLMRequest
    from linksyn_dagster.llm.store import open_result_store
    from linksyn_dagster.resources.llm import build_client
    from linksyn_dagster.settings import load_settings

    client = build_client(load_settings(), open_result_store(None, Path(data_dir) / f"run{index}.sqlite"))
    try:
        warm = [LLMRequest(f"warm-{index}-{i}", [{"role": "user", "content": f"warm up {index} {i}"}])
                for i in range(len(endpoints) * 2)]
        client.run("bench", "bench@v1", warm, Item)
        work = [LLMRequest(f"r{index}-{i}", [{"role": "user", "content": f"run {index} item {i} words"}])
                for i in range(items)]
        ready.put(index)
        go.wait()
        started = time.perf_counter()
        outcomes = client.run("bench", "bench@v1", work, Item)
        finished = time.perf_counter()
        results.put({"run": index, "items": items, "ok": sum(1 for o in outcomes if o.ok),
                     "started": started, "finished": finished})
    finally:
        client.close()


def measure(n_endpoints: int, args: argparse.Namespace) -> dict:
    servers = [start_endpoint(args.latency, args.capacity) for _ in range(n_endpoints)]
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    total = args.items_per_endpoint * n_endpoints
    shares = [total // args.runs + (1 if k < total % args.runs else 0) for k in range(args.runs)]
    try:
        with tempfile.TemporaryDirectory(prefix="linksyn-scale-out-") as tmp:
            procs = [ctx.Process(target=one_run, args=(k, [b for _, b in servers], args.capacity, shares[k], tmp,
                                                       ready, go, results)) for k in range(args.runs)]
            for p in procs:
                p.start()
            for _ in procs:
                ready.get(timeout=300)
            go.set()
            runs = [results.get(timeout=900) for _ in procs]
            for p in procs:
                p.join(timeout=60)
    finally:
        for proc, _ in servers:
            stop_process_group(proc, timeout=10)
    wall = max(r["finished"] for r in runs) - min(r["started"] for r in runs)
    ideal = n_endpoints * args.capacity / args.latency
    rate = total / wall
    return {"endpoints": n_endpoints, "items": total, "answered": sum(r["ok"] for r in runs),
            "wall_s": round(wall, 2), "items_per_s": round(rate, 1), "ideal_items_per_s": round(ideal, 1),
            "efficiency": round(rate / ideal, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", default="1,2,4")
    parser.add_argument("--runs", type=int, default=4, help="concurrent runs (processes)")
    parser.add_argument("--capacity", type=int, default=8, help="requests one endpoint serves at once")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request at an endpoint")
    parser.add_argument("--items-per-endpoint", type=int, default=240)
    args = parser.parse_args()
    counts = [int(x) for x in args.endpoints.split(",")]
    rows = [measure(n, args) for n in counts]
    base = rows[0]
    for row in rows:
        row["scaling_over_linear"] = round(row["items_per_s"] / (base["items_per_s"] * row["endpoints"]
                                                                  / base["endpoints"]), 3)
    print(json.dumps({
        "settings": {"runs": args.runs, "capacity_per_endpoint": args.capacity, "latency_s": args.latency,
                     "items_per_endpoint": args.items_per_endpoint, "client_concurrency_per_endpoint": args.capacity},
        "measurements": rows,
        "target_met": {"scaling_at_least_0.8_linear": all(r["scaling_over_linear"] >= 0.8 for r in rows),
                       "every_item_answered": all(r["answered"] == r["items"] for r in rows)},
    }, indent=2))


if __name__ == "__main__":
    main()
