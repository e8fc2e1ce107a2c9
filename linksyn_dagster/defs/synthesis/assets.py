"""synthesized_qa: new QA written from the seeds linked along each path;
enhanced_qa: difficulty for every QA and a harder rewrite for the chosen disciplines."""


from typing import Any, Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core.prompting import (
    format_chain, format_choices, format_seed_block, language_name, majority_language, schema_text, stable_id,
)
from linksyn_dagster.defs.llm_stage import record_outcomes, usage_metadata
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.metadata import table_metadata
from linksyn_dagster.defs.partitions import discipline_partitions
from linksyn_dagster.llm.types import LLMOutcome, LLMRequest
from linksyn_dagster.llm.prompts import load_prompt
from linksyn_dagster.llm.schemas import DifficultyJudgement, RewrittenQA, SynthesizedQA
from linksyn_dagster.resources.llm import LLMResource
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.resources.settings import SettingsResource

STAGE_SYNTHESIS = "qa_synthesis"
STAGE_JUDGE = "difficulty_judge"
STAGE_REWRITE = "difficulty_rewrite"
CHECK_EVERY_PATH_ACCOUNTED = "every_path_synthesized_or_failed"
CHECK_SOURCE_SEEDS_EXIST = "source_seeds_exist"
CHECK_DIFFICULTY_ON_SCALE = "difficulty_on_scale"

QA_SCHEMA = {
    "qa_id": pl.Utf8, "discipline": pl.Utf8, "path_id": pl.Utf8, "question": pl.Utf8,
    "choices": pl.List(pl.Utf8), "answer": pl.Utf8, "explanation": pl.Utf8,
    "kps_used": pl.List(pl.Utf8), "path_kp_ids": pl.List(pl.Utf8), "source_seed_ids": pl.List(pl.Utf8),
    "language": pl.Utf8, "reasoning": pl.Utf8, "model": pl.Utf8, "prompt_version": pl.Utf8,
    "request_key": pl.Utf8, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64,
    "reasoning_tokens": pl.Int64, "cost_usd": pl.Float64,
}
ENHANCED_SCHEMA = {
    **QA_SCHEMA, "variant": pl.Utf8, "enhanced_from": pl.Utf8, "difficulty": pl.Int32,
    "difficulty_rationale": pl.Utf8,
}


def _usage(outcome: LLMOutcome) -> dict[str, Any]:
    r = outcome.result
    assert r is not None
    return {"model": r.model, "prompt_version": r.prompt_version, "request_key": r.request_key,
            "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
            "reasoning_tokens": r.reasoning_tokens, "cost_usd": r.cost_usd, "reasoning": r.reasoning}


@dg.asset(
    partitions_def=discipline_partitions,
    metadata={"partition_expr": "discipline"},
    kinds={"duckdb", "polars", "openai"},
    group_name="synthesis",
    check_specs=[
        dg.AssetCheckSpec(CHECK_EVERY_PATH_ACCOUNTED, asset="synthesized_qa",
                          description="every path has a QA or a row in llm_failures"),
        dg.AssetCheckSpec(CHECK_SOURCE_SEEDS_EXIST, asset="synthesized_qa",
                          description="every source seed id exists in seed_qa"),
    ],
)
def synthesized_qa(context: dg.AssetExecutionContext, kp_paths: pl.DataFrame, llm: LLMResource,
                   warehouse: WarehouseResource) -> Iterator:
    """New multiple-choice QA, one per path: the model sees the path's KP chain and the seeds
    linked along it (strongest links first, bounded) and must combine several KPs. Keeps
    question, answer, explanation, KPs used, source seeds, path, model, prompt version,
    tokens, cost, and any reasoning trace (e.g. DeepSeek-R1) in its own column."""
    prompt = load_prompt(STAGE_SYNTHESIS)
    schema = schema_text(SynthesizedQA.model_json_schema())
    wanted = kp_paths.select(pl.col("seed_ids").explode().drop_nulls().unique().alias("seed_id"))
    seeds = warehouse.query("seeds_by_ids", frames={"wanted_seeds": wanted}) if wanted.height else pl.DataFrame()
    seed_rows = {row["seed_id"]: row for row in seeds.iter_rows(named=True)}

    requests, languages = [], {}
    for path in kp_paths.iter_rows(named=True):
        linked = [seed_rows[s] for s in path["seed_ids"] if s in seed_rows]
        language = majority_language([s["language"] for s in linked])
        languages[path["path_id"]] = language
        requests.append(LLMRequest(path["path_id"], prompt.render(
            schema=schema, language=language_name(language), chain=format_chain(path["kp_names"]),
            seeds=format_seed_block(linked))))
    client = llm.client(context.log)
    outcomes = client.run(STAGE_SYNTHESIS, prompt.version_id, requests, SynthesizedQA)
    failed = record_outcomes(warehouse, STAGE_SYNTHESIS, context.partition_key, outcomes,
                             {o.item_id: o.item_id for o in outcomes})

    paths = {p["path_id"]: p for p in kp_paths.iter_rows(named=True)}
    rows = []
    for outcome in outcomes:
        if outcome.result is None:
            continue
        qa, path = outcome.result.parsed, paths[outcome.item_id]
        rows.append({
            "qa_id": stable_id("synth", path["path_id"], outcome.request_key), "discipline": context.partition_key,
            "path_id": path["path_id"], "question": qa["question"], "choices": qa["choices"],
            "answer": qa["answer"], "explanation": qa["explanation"], "kps_used": qa["knowledge_points_used"],
            "path_kp_ids": path["kp_ids"], "source_seed_ids": path["seed_ids"],
            "language": languages[path["path_id"]], **_usage(outcome),
        })
    synthesized = pl.DataFrame(rows, schema=QA_SCHEMA)
    missing_seeds = len({s for ids in synthesized.get_column("source_seed_ids").to_list() for s in ids}
                        - set(seed_rows))
    yield dg.Output(synthesized, metadata={
        **table_metadata(synthesized, columns.QA, ["qa_id", "question", "answer", "kps_used"]),
        **usage_metadata(outcomes), "model": client.model, "prompt_version": prompt.version_id,
        "paths": kp_paths.height, "paths_failed": failed,
    })
    yield dg.AssetCheckResult(check_name=CHECK_EVERY_PATH_ACCOUNTED,
                              passed=synthesized.height + failed == kp_paths.height,
                              metadata={"paths": kp_paths.height, "qa": synthesized.height, "failed": failed})
    yield dg.AssetCheckResult(check_name=CHECK_SOURCE_SEEDS_EXIST, passed=missing_seeds == 0,
                              metadata={"missing_seed_ids": missing_seeds})


def _judge_requests(prompt, schema: str, items: list[dict[str, Any]]) -> list[LLMRequest]:
    return [LLMRequest(item["qa_id"], prompt.render(
        schema=schema, discipline=item["discipline"], question=item["question"],
        choices=format_choices(item["choices"]), answer=item["answer"])) for item in items]


@dg.asset(
    partitions_def=discipline_partitions,
    metadata={"partition_expr": "discipline"},
    kinds={"duckdb", "polars", "openai"},
    group_name="synthesis",
    check_specs=[dg.AssetCheckSpec(CHECK_DIFFICULTY_ON_SCALE, asset="enhanced_qa",
                                   description="judged difficulties are on the 1-5 scale")],
)
def enhanced_qa(context: dg.AssetExecutionContext, synthesized_qa: pl.DataFrame, llm: LLMResource,
                warehouse: WarehouseResource, settings: SettingsResource) -> Iterator:
    """Every synthesized QA with a difficulty level (LLM judge, fixed 1-5 scale); for the
    disciplines in LINKSYN_SYNTHESIS__ENHANCE_DISCIPLINES, QA judged below the target level
    also get a harder rewrite (variant `enhanced`, linked by `enhanced_from`), itself judged."""
    settings = settings.value.synthesis
    judge, rewrite = load_prompt(STAGE_JUDGE), load_prompt(STAGE_REWRITE)
    judge_schema = schema_text(DifficultyJudgement.model_json_schema())
    client = llm.client(context.log)
    partition = context.partition_key

    originals = synthesized_qa.to_dicts()
    judged = client.run(STAGE_JUDGE, judge.version_id, _judge_requests(judge, judge_schema, originals),
                        DifficultyJudgement)
    levels = {o.item_id: o.result.parsed for o in judged if o.result is not None}

    to_rewrite = [] if partition not in settings.enhance_disciplines else [
        item for item in originals
        if item["qa_id"] in levels and levels[item["qa_id"]]["level"] < settings.target_difficulty]
    rewrite_schema = schema_text(RewrittenQA.model_json_schema())
    rewritten = client.run(STAGE_REWRITE, rewrite.version_id, [
        LLMRequest(item["qa_id"], rewrite.render(
            schema=rewrite_schema, target_level=settings.target_difficulty, discipline=item["discipline"],
            kps=", ".join(item["kps_used"]), question=item["question"],
            choices=format_choices(item["choices"]), answer=item["answer"]))
        for item in to_rewrite], RewrittenQA)
    by_id = {item["qa_id"]: item for item in originals}
    enhanced_items = []
    for outcome in rewritten:
        if outcome.result is None:
            continue
        source, qa = by_id[outcome.item_id], outcome.result.parsed
        enhanced_items.append({
            **source, "qa_id": stable_id("enhanced", source["qa_id"], outcome.request_key), "question": qa["question"],
            "choices": qa["choices"], "answer": qa["answer"], "explanation": qa["explanation"],
            **_usage(outcome), "variant": "enhanced", "enhanced_from": source["qa_id"]})
    judged_rewrites = client.run(STAGE_JUDGE, judge.version_id,
                                 _judge_requests(judge, judge_schema, enhanced_items), DifficultyJudgement)
    levels.update({o.item_id: o.result.parsed for o in judged_rewrites if o.result is not None})
    all_outcomes = [*judged, *rewritten, *judged_rewrites]
    failed = 0
    path_of = {item["qa_id"]: item["path_id"] for item in [*originals, *enhanced_items]}
    for stage, outcomes in ((STAGE_JUDGE, [*judged, *judged_rewrites]), (STAGE_REWRITE, rewritten)):
        failed += record_outcomes(warehouse, stage, partition, outcomes, path_of)

    rows = []
    for item in [*({**o, "variant": "original", "enhanced_from": None} for o in originals), *enhanced_items]:
        level = levels.get(item["qa_id"])
        rows.append({**item, "difficulty": level["level"] if level else None,
                     "difficulty_rationale": level["rationale"] if level else None})
    enhanced = pl.DataFrame(rows, schema=ENHANCED_SCHEMA)
    off_scale = enhanced.filter(pl.col("difficulty").is_not_null() & ~pl.col("difficulty").is_between(1, 5)).height
    yield dg.Output(enhanced, metadata={
        **table_metadata(enhanced, columns.ENHANCED, ["qa_id", "variant", "difficulty", "question"]),
        **usage_metadata(all_outcomes), "originals": len(originals), "rewrites": len(enhanced_items),
        "unjudged": enhanced.filter(pl.col("difficulty").is_null()).height, "llm_failures": failed,
        "enhance_disciplines": ", ".join(settings.enhance_disciplines),
    })
    yield dg.AssetCheckResult(check_name=CHECK_DIFFICULTY_ON_SCALE, passed=off_scale == 0,
                              metadata={"off_scale": off_scale})
