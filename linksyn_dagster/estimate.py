"""``linksyn estimate``: the LLM calls, tokens and cost the configured run would need, per
stage, before any call is made.

The counts come from the run's shape: one KP extraction per seed, one synthesis per path,
and per path the judge's readings, rewrites and verifier solves. Per-path ratios and tokens
per call are measured on this data dir's earlier runs (``llm_usage``, ``kp_paths``) when it
has them, else the stated defaults below. A run whose answers are in the result store pays
for fewer calls than this: the estimate is of the calls the run makes, answered or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.settings import LinkSynSettings

STAGES = ("kp_extraction", "qa_synthesis", "difficulty_judge", "difficulty_rewrite", "answer_verification")

# tokens per call (prompt, completion) when the data dir has no history: measured on the
# demo (SmolLM2-135M on the bundled seeds, 2026-12-04); a reasoning model writes far more.
# The judge's are per reading (a call reads up to LINKSYN_SYNTHESIS__JUDGE_BATCH questions), the
# synthesis's and rewrite's completions per version (a call writes LINKSYN_SYNTHESIS__CANDIDATES)
DEFAULT_TOKENS = {"kp_extraction": (470, 50), "qa_synthesis": (940, 285), "difficulty_judge": (335, 30),
                  "difficulty_rewrite": (525, 115), "answer_verification": (195, 15)}
# when difficulty is steered, the share of paths whose item is rewritten (the demo's tiny
# model: 0.9; the simulated model at the control benchmark's settings: 0.5)
DEFAULT_REWRITE_SHARE = 0.5
# the share of verifier solves a chosen item needs beyond the judge's own solves, when the
# verifier is the judge's model (its solves count toward k); else every solve is a call
DEFAULT_EXTRA_SOLVES = 0.1
# with held cells and rounds, paths walked per released item, and so the growth of a plan by
# its rounds (the simulated model at the control benchmark's settings: 1,332 paths for 701 items)
DEFAULT_PATHS_PER_ITEM = 1.9


@dataclass(frozen=True)
class StageEstimate:
    stage: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: no price known for the model
    basis: str  # where the per-call figures come from


@dataclass(frozen=True)
class RunEstimate:
    seeds: int
    paths: int
    paths_basis: str
    stages: list[StageEstimate]

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.stages)


def _judge_calls(versions: float, readings: float, batch: int) -> float:
    """Judge calls for ``versions`` of one discipline read ``readings`` times each: a first wave
    reading every version, then the further readings of the versions still open, each wave
    cut into calls of at most ``batch`` questions (a wave of fewer than one version on average
    is a call that often)."""
    if versions <= 0:
        return 0.0
    waves = [versions] + ([versions * (readings - 1)] if readings > 1 else [])
    return sum(max(wave / batch, min(wave, 1.0)) for wave in waves)


def calls_per_path(settings: LinkSynSettings, measured: dict[str, float] | None = None,
                   paths: int | None = None) -> dict[str, float]:
    """Calls each path costs in each path stage: measured ratios where given, else from the
    settings and the defaults above. ``paths``: the plan's paths (the judge's calls read a
    discipline's versions together, so they depend on how many a discipline has)."""
    synthesis = settings.synthesis
    rewrites = DEFAULT_REWRITE_SHARE if synthesis.steer_difficulty and synthesis.max_rewrites else 0.0
    # the judge reads a version until its level is settled: one reading when k = 1, about two
    # otherwise (two agreeing readings settle a median of three)
    readings = 1.0 if synthesis.judge_samples == 1 else 2.0
    # an empty target is uniform over the disciplines with KPs: most of the taxonomy's
    disciplines = sum(share > 0 for share in settings.walk.target_distribution.values()) or len(DISCIPLINES)
    per_discipline = (paths or settings.walk.paths_total) / disciplines
    judge = sum(_judge_calls(per_discipline * share, readings, synthesis.judge_batch) for share in (1.0, rewrites))
    same_model = synthesis.verifier_model in (None, settings.llm.model)
    solves = DEFAULT_EXTRA_SOLVES if same_model else float(synthesis.verifier_samples)
    ratios = {"qa_synthesis": 1.0, "difficulty_judge": judge / per_discipline if per_discipline else 0.0,
              "difficulty_rewrite": rewrites, "answer_verification": solves if synthesis.verifier_samples else 0.0}
    return {**ratios, **(measured or {})}


def estimate_run(settings: LinkSynSettings, seeds: int, seed_tokens_per_item: float | None,
                 history: dict | None = None, price=None) -> RunEstimate:
    """The run's calls, tokens and cost per stage. ``seeds``: seeds to extract KPs from;
    ``seed_tokens_per_item``: their mean size in tokens (sizes a token budget's paths);
    ``history``: ``{"paths": n, "first_round_paths": n, "items": n, "calls": {stage: n},
    "tokens": {stage: (prompt, completion)}}`` of this data dir's earlier runs, or None; ``price(stage, prompt,
    completion)`` -> USD or None."""
    release = settings.release
    measured_paths = history["paths"] if history else 0
    if release.target_tokens and seed_tokens_per_item:
        from linksyn_dagster.core.control import items_for_tokens

        items = items_for_tokens(release.target_tokens, seed_tokens_per_item)
        if not release.fill_cells:
            paths, basis = items, "a path per item of the token budget"
        elif history and history["items"]:
            paths, basis = round(items * measured_paths / history["items"]), "the token budget at the measured " \
                "paths per released item"
        else:
            paths, basis = round(items * DEFAULT_PATHS_PER_ITEM), "the token budget at the default paths per item"
    elif release.fill_cells and release.max_rounds:  # rounds walk on for the cells the first one missed
        if history and history["first_round_paths"]:
            growth, basis = measured_paths / history["first_round_paths"], "the measured growth by rounds"
        else:
            growth, basis = DEFAULT_PATHS_PER_ITEM, "the default growth by rounds"
        paths = round(settings.walk.paths_total * growth)
        basis = f"LINKSYN_WALK__PATHS_TOTAL x {growth:.2f}, {basis}"
    else:
        paths, basis = settings.walk.paths_total, "LINKSYN_WALK__PATHS_TOTAL"
    measured = {stage: n / measured_paths for stage, n in (history or {}).get("calls", {}).items()
                if stage != "kp_extraction"} if measured_paths else None
    ratios = calls_per_path(settings, measured, paths)
    stages = []
    for stage in STAGES:
        calls = seeds if stage == "kp_extraction" else round(paths * ratios.get(stage, 0.0))
        tokens = (history or {}).get("tokens", {}).get(stage)
        prompt, completion = tokens or DEFAULT_TOKENS[stage]
        if not tokens and stage == "difficulty_judge":  # the defaults are a reading's: a call reads a batch
            prompt, completion = prompt * settings.synthesis.judge_batch, completion * settings.synthesis.judge_batch
        elif not tokens and stage in ("qa_synthesis", "difficulty_rewrite") and settings.synthesis.steer_difficulty:
            completion *= settings.synthesis.candidates  # the defaults write one version: a call writes them all
        prompt_total, completion_total = round(calls * prompt), round(calls * completion)
        stages.append(StageEstimate(
            stage, calls, prompt_total, completion_total,
            price(stage, prompt_total, completion_total) if price else None,
            "measured here" if tokens else "defaults"))
    return RunEstimate(seeds, paths, basis, stages)


def history_of(settings: LinkSynSettings) -> dict | None:
    """The data dir's earlier runs as ``estimate_run`` reads them; None without any."""
    from linksyn_dagster.resources.warehouse import read_warehouse

    with read_warehouse(settings) as conn:
        return None if conn is None else history_from(conn)


def history_from(conn) -> dict | None:
    """``history_of`` on an open DuckDB connection (an asset reads it through the warehouse's)."""
    from linksyn_dagster.queries import sql

    tables = {name for (name,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if not {"llm_usage", "kp_paths"} <= tables:
        return None
    usage = conn.execute(sql("usage_by_stage")).fetchall()
    paths, first_round = conn.execute("SELECT count(*), count(*) FILTER (WHERE round = 0) FROM kp_paths").fetchone()
    items = conn.execute("SELECT count(*) FROM linkqa_dataset").fetchone()[0] if "linkqa_dataset" in tables else 0
    if not paths or not usage:
        return None
    return {"paths": paths, "first_round_paths": first_round, "items": items,
            "calls": {stage: calls for stage, calls, *_ in usage},
            # per call: the stage's totals over its calls (reasoning counts as completion)
            "tokens": {stage: ((prompt or 0) / calls, ((completion or 0) + (reasoning or 0)) / calls)
                       for stage, calls, prompt, completion, reasoning, _ in usage}}


def pricing(settings: LinkSynSettings):
    """USD for (stage, prompt tokens, completion tokens): the configured prices, else
    litellm's price list for the model; None when neither knows it."""
    llm = settings.llm
    prices = llm.price_per_token
    if prices is not None:
        return lambda stage, prompt, completion: prompt * prices[0] + completion * prices[1]
    if not llm.model:
        return lambda stage, prompt, completion: 0.0  # the local model: free

    def litellm_price(stage: str, prompt: int, completion: int) -> float | None:
        from linksyn_dagster.llm.provider import litellm_api

        litellm = litellm_api().module  # set up offline, as the client does
        try:
            model = settings.synthesis.verifier_model if stage == "answer_verification" and \
                settings.synthesis.verifier_model else llm.model
            cost = litellm.cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion)
            return float(sum(cost))
        except Exception:  # a model litellm has no price for
            return None

    return litellm_price


def estimate_for(settings: LinkSynSettings) -> RunEstimate:
    """The estimate of the configured run: its seeds parsed (from the parse cache when
    they were parsed before), this data dir's history, the model's price."""
    from linksyn_dagster.core.seed_cache import CACHE_DIR, cached_seed_load
    from linksyn_dagster.core.seeds import demo_seed_dir
    from linksyn_dagster.core.tokens import qa_tokens

    source = settings.seeds.source_dir or demo_seed_dir()
    seeds = cached_seed_load(source, settings.seeds.max_field_chars, settings.data_dir / CACHE_DIR).scan()
    count = seeds.select(pl.len()).collect().item()
    sample = seeds.head(2000).collect()
    per_item = float(qa_tokens(sample).mean()) if sample.height else None
    return estimate_run(settings, count, per_item, history_of(settings), pricing(settings))


# the run_estimate table (walk_plan writes it, the report reads it): a row per stage
ESTIMATE_SCHEMA = {"stage": pl.Utf8, "calls": pl.Int64, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64,
                   "cost_usd": pl.Float64, "basis": pl.Utf8, "seeds": pl.Int64, "paths": pl.Int64,
                   "paths_basis": pl.Utf8}


def estimate_frame(estimate: RunEstimate) -> pl.DataFrame:
    """The estimate as rows of the ``run_estimate`` table, one per stage."""
    return pl.DataFrame([{"stage": s.stage, "calls": s.calls, "prompt_tokens": s.prompt_tokens,
                          "completion_tokens": s.completion_tokens, "cost_usd": s.cost_usd, "basis": s.basis,
                          "seeds": estimate.seeds, "paths": estimate.paths, "paths_basis": estimate.paths_basis}
                         for s in estimate.stages], schema=ESTIMATE_SCHEMA)


def _ratio(actual: float | None, estimated: float | None) -> float | None:
    return round(actual / estimated, 3) if actual is not None and estimated else None


def against_actual(estimated: Iterable[Mapping[str, Any]],
                   actual: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per stage, then ``total``: the estimate's calls, tokens (prompt + completion) and cost
    against the actual ones, with each ratio actual / estimated (None where nothing was
    estimated). ``estimated``: ``run_estimate`` rows; ``actual``: stage -> calls,
    prompt_tokens, completion_tokens, cost_usd (``usage_by_stage``). A cost the estimate did
    not know (no price for the model) stays None, and so does the total's."""
    by_stage = {row["stage"]: row for row in estimated}
    stages = [*(s for s in STAGES if s in by_stage or s in actual),
              *sorted(s for s in {*by_stage, *actual} if s not in STAGES)]
    rows = []
    for stage in stages:
        guess, real = by_stage.get(stage, {}), actual.get(stage, {})
        rows.append({
            "stage": stage,
            "estimated_calls": int(guess.get("calls") or 0), "calls": int(real.get("calls") or 0),
            "estimated_tokens": int((guess.get("prompt_tokens") or 0) + (guess.get("completion_tokens") or 0)),
            "tokens": int((real.get("prompt_tokens") or 0) + (real.get("completion_tokens") or 0)),
            "estimated_cost_usd": guess.get("cost_usd") if guess else 0.0,
            "cost_usd": float(real.get("cost_usd") or 0.0)})
    if rows:
        costs = [row["estimated_cost_usd"] for row in rows]
        rows.append({"stage": "total", **{key: sum(row[key] for row in rows) for key in
                                          ("estimated_calls", "calls", "estimated_tokens", "tokens", "cost_usd")},
                     "estimated_cost_usd": None if None in costs else sum(costs)})
    for row in rows:
        for what in ("calls", "tokens", "cost_usd"):
            row[f"{what.removesuffix('_usd')}_ratio"] = _ratio(row[what], row[f"estimated_{what}"])
    return [{key: row[key] for key in AGAINST_ACTUAL_COLUMNS} for row in rows]


AGAINST_ACTUAL_COLUMNS = ["stage", "estimated_calls", "calls", "calls_ratio", "estimated_tokens", "tokens",
                          "tokens_ratio", "estimated_cost_usd", "cost_usd", "cost_ratio"]
