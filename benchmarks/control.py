"""Control benchmark: does the closed loop deliver the release it is asked for? Prints JSON.

The real pipeline runs through Dagster (``run_pipeline``, as ``linksyn run`` does), with a
real local Neo4j it starts and stops, against the scripted LLM server in simulated-model
mode (``linksyn_dagster/testing/simulated.py``): every item the simulated generator writes
carries its true difficulty and its truly correct letter, which the pipeline never reads and
this benchmark does. The generator honours the level it is asked for with probability
``--follow-p`` (else writes ``--skew-level``), gives a wrong key at rate
``--wrong-key-rate``; the judge is off by one at rate ``--judge-noise``; the verifier is
right with probability ``--verifier-accuracy``. KP extraction gets the scripted server's
schema-driven replies.

Two runs on the same seeds, each in its own data directory with its own Neo4j:

* closed loop (top level of the JSON): difficulty steered (a level asked per path, items
  judged off it rewritten), answers verified (k = 3), the release held to its discipline x
  difficulty cells with further rounds for the shortfall (at most ``--rounds``), sized by
  ``--target-tokens``;
* ``open_loop``: as before the loop existed: no level asked, no rewrite, no verification,
  every clean item released, no further round; the same first-round paths.

Figures (the same keys for both runs):

* ``discipline_l1``: L1 distance of the released items' discipline shares to the target
  distribution (as the first round's quotas split it);
* ``difficulty_l1``: L1 distance of the released items' *true* levels to the difficulty
  target (each discipline's mix weighted by its target share); ``difficulty_l1_judged``
  the same for the levels the judge gave, which is what the pipeline can see;
  ``difficulty_l1_worst_discipline``: the largest per-discipline L1 of true levels;
* ``wrong_key_share_generated``: share of wrong keys (ground truth) among every version the
  generator wrote (``enhanced_qa``); ``wrong_key_share_release``: among released items;
* ``tokens_target`` / ``tokens_released``: tiktoken cl100k_base tokens of question, choices,
  answer and explanation;
* ``calls_per_released_item``: LLM calls answered for synthesis, judging, rewriting and
  verification (distinct requests in ``llm_usage``: a retry is not a second call, a call
  answered from the result store in a later round is not paid again; a judge call reading
  several questions, or a synthesis call writing several versions, is one call), over
  released items; ``llm_tokens_per_released_item``: their prompt and completion tokens, over
  released items;
* ``rounds``: further rounds walked; ``kp_coverage``, ``kp_gini``: share of KPs on a path
  and the Gini of KP usage over the plan; ``items_released``; ``seconds``.

Usage: python benchmarks/control.py [--seeds DIR] [--follow-p 0.5] [--skew-level 2]
[--wrong-key-rate 0.15] [--judge-noise 0.3] [--verifier-accuracy 0.85]
[--versions-correlation 0] [--candidates 2] [--judge-batch 8] [--target-tokens 60000] [--rounds 3]
[--work-dir DIR] [--keep]
Default seeds: the bundled demo seeds; ``--seeds ../shared/data`` for MMLU + CMMLU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported: no price-list fetch

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from linksyn_dagster.core.difficulty import mix_for  # noqa: E402
from linksyn_dagster.core.metrics import distribution_vs_target, l1_distance  # noqa: E402
from linksyn_dagster.core.quotas import plan_quotas  # noqa: E402
from linksyn_dagster.core.seeds import demo_seed_dir  # noqa: E402
from linksyn_dagster.pipeline import run_pipeline  # noqa: E402
from linksyn_dagster.services.neo4j_server import LocalNeo4j  # noqa: E402
from linksyn_dagster.services.process import free_port  # noqa: E402
from linksyn_dagster.settings import LinkSynSettings, SynthesisSettings  # noqa: E402
from linksyn_dagster.testing.scripted_llm import ScriptedLLMServer  # noqa: E402
from linksyn_dagster.testing.simulated import truth_of  # noqa: E402

CONTROL_STAGES = ("qa_synthesis", "difficulty_judge", "difficulty_rewrite", "answer_verification")


def _log(message: str) -> None:
    print(f"[control {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _settings(data_dir: Path, seeds: Path, server: ScriptedLLMServer, closed: bool,
              args: argparse.Namespace) -> LinkSynSettings:
    bolt, http = free_port(), free_port()
    while http == bolt:
        http = free_port()
    return LinkSynSettings(
        data_dir=data_dir,
        neo4j={"bolt_port": bolt, "http_port": http, "heap": "512m", "pagecache": "128m"},
        llm={"model": server.litellm_model, "api_base": server.api_base, "api_key": "scripted", "concurrency": 8},
        seeds={"source_dir": seeds},
        synthesis={"steer_difficulty": closed, "verifier_samples": 3 if closed else 0, "max_rewrites": 1,
                   "judge_samples": args.judge_samples if closed else 1, "level_confidence": args.level_confidence,
                   "candidates": args.candidates, "judge_batch": args.judge_batch},
        release={"fill_cells": closed, "max_rounds": args.rounds if closed else 0,
                 "target_tokens": args.target_tokens},
    )


def _share(mask: pl.Series) -> float:
    return round(float(mask.mean()), 4) if mask.len() else 0.0


def measure(settings: LinkSynSettings, rounds: int, seconds: float) -> dict[str, Any]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        release = conn.execute("SELECT discipline, difficulty, question, answer, tokens FROM linkqa_dataset").pl()
        generated = conn.execute("SELECT question, answer FROM enhanced_qa").pl()
        calls, tokens = conn.execute(
            "SELECT count(DISTINCT request_key), sum(prompt_tokens + completion_tokens) FROM llm_usage "
            f"WHERE stage IN ({', '.join(repr(s) for s in CONTROL_STAGES)})").fetchone()
        params = json.loads(conn.execute("SELECT walk_params FROM walk_plan LIMIT 1").fetchone()[0])
    report = json.loads((settings.data_dir / "reports" / "distribution_report.json").read_text(encoding="utf-8"))

    def truth(frame: pl.DataFrame) -> pl.DataFrame:
        found = [truth_of(q) for q in frame.get_column("question").to_list()]
        return frame.with_columns(true_level=pl.Series([t.level if t else None for t in found], dtype=pl.Int32),
                                  correct=pl.Series([t.correct if t else None for t in found], dtype=pl.Utf8))

    release, generated = truth(release), truth(generated)
    quotas = {d: q for d, q in plan_quotas(params).items() if q > 0}
    total = sum(quotas.values()) or 1
    synthesis = settings.synthesis
    mixes = {d: mix_for(d, synthesis.difficulty_mix, synthesis.difficulty_mix_by_discipline) for d in quotas}
    target_levels: dict[str, float] = {}
    for discipline, quota in quotas.items():
        for level, share in mixes[discipline].items():
            target_levels[str(level)] = target_levels.get(str(level), 0.0) + quota / total * share

    def level_l1(frame: pl.DataFrame, column: str, target: dict[str, float]) -> float:
        counts = dict(frame.select(pl.col(column).cast(pl.Utf8).fill_null("none")).to_series().value_counts()
                      .iter_rows())
        return round(l1_distance(distribution_vs_target(counts, target)), 4)

    per_discipline = {
        d: level_l1(release.filter(pl.col("discipline") == d), "true_level",
                    {str(level): share for level, share in mixes[d].items()})
        for d in quotas if release.filter(pl.col("discipline") == d).height}
    disciplines = dict(release.group_by("discipline").len().iter_rows())
    return {
        "discipline_l1": round(l1_distance(distribution_vs_target(disciplines, quotas)), 4),
        "difficulty_l1": level_l1(release, "true_level", target_levels),
        "difficulty_l1_judged": level_l1(release, "difficulty", target_levels),
        "difficulty_l1_worst_discipline": max(per_discipline.values(), default=0.0),
        "wrong_key_share_generated": _share(generated.get_column("answer") != generated.get_column("correct")),
        "wrong_key_share_release": _share(release.get_column("answer") != release.get_column("correct")),
        "tokens_target": settings.release.target_tokens,
        "tokens_released": int(release.get_column("tokens").sum() or 0),
        "calls_per_released_item": round(calls / release.height, 3) if release.height else None,
        "llm_tokens_per_released_item": round((tokens or 0) / release.height, 1) if release.height else None,
        "rounds": rounds,
        "kp_coverage": report["kp_coverage"],
        "kp_gini": report["kp_usage_gini"],
        "items_released": release.height,
        "seconds": round(seconds, 1),
    }


def run(name: str, closed: bool, server: ScriptedLLMServer, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    settings = _settings(work / name, args.seeds, server, closed, args)
    _log(f"{name}: pipeline in {settings.data_dir}")
    started = time.monotonic()
    try:
        summary = run_pipeline(settings, say=lambda line: _log(f"{name}: {line}"))
        return measure(settings, len(summary.rounds), time.monotonic() - started)
    finally:
        LocalNeo4j.from_settings(settings).stop()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, default=demo_seed_dir(), help="seed directory (default: the demo seeds)")
    parser.add_argument("--follow-p", type=float, default=0.5)
    parser.add_argument("--skew-level", type=int, default=2)
    parser.add_argument("--wrong-key-rate", type=float, default=0.15)
    parser.add_argument("--judge-noise", type=float, default=0.3)
    parser.add_argument("--verifier-accuracy", type=float, default=0.85)
    parser.add_argument("--judge-samples", type=int, default=SynthesisSettings().judge_samples,
                        help="difficulty readings per version in the closed loop (median)")
    parser.add_argument("--level-confidence", type=float, default=SynthesisSettings().level_confidence,
                        help="closed loop: probability the learned drift/noise model must give a version's target "
                             "level before the version is taken for it")
    parser.add_argument("--versions-correlation", type=float, default=0.0,
                        help="share of the generator's calls whose versions honour the level or drift together")
    parser.add_argument("--candidates", type=int, default=SynthesisSettings().candidates,
                        help="versions a synthesis or rewrite call writes (closed loop)")
    parser.add_argument("--judge-batch", type=int, default=SynthesisSettings().judge_batch,
                        help="questions a judge call reads")
    parser.add_argument("--target-tokens", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3, help="further rounds the closed loop may walk")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args(argv)
    args.seeds = args.seeds.resolve()
    # a terminated benchmark still stops the Neo4j servers it started (the finally blocks run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    simulate = {"follow_p": args.follow_p, "skew_level": args.skew_level, "wrong_key_rate": args.wrong_key_rate,
                "judge_noise": args.judge_noise, "verifier_accuracy": args.verifier_accuracy,
                "versions_correlation": args.versions_correlation}
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="linksyn-control-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        with ScriptedLLMServer(port=0, simulate=simulate) as server:
            closed = run("closed_loop", True, server, args, work)
            opened = run("open_loop", False, server, args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {**closed, "open_loop": opened,
              "settings": {**simulate, "seeds": str(args.seeds), "target_tokens": args.target_tokens,
                           "max_rounds": args.rounds, "judge_samples": args.judge_samples,
                           "level_confidence": args.level_confidence, "candidates": args.candidates,
                           "judge_batch": args.judge_batch}}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
