"""synthesized_qa: new QA written from the seeds linked along each path, at the path's target
difficulty; enhanced_qa: the judged difficulty of every QA, and rewrites toward the target
level of those judged off it; verified_qa: the chosen version of each path's item, solved k
times by an independent verifier."""


import itertools
from typing import Any, Callable, Iterator

import dagster as dg
import polars as pl

from linksyn_dagster.core import calibration
from linksyn_dagster.core.difficulty import closest_version, median_level, settled_level, surest_version
from linksyn_dagster.core.verification import NOT_VERIFIED, first_wave, settled, verdict
from linksyn_dagster.core.prompting import (
    batches, format_chain, format_choices, format_questions, format_seed_block, language_name, majority_language,
    schema_text, stable_id,
)
from linksyn_dagster.defs.llm_stage import LLMTables, llm_writer_asset, usage_metadata
from linksyn_dagster.defs import columns
from linksyn_dagster.defs.metadata import table_metadata
from linksyn_dagster.llm.types import LLMOutcome, LLMRequest
from linksyn_dagster.llm.prompts import load_prompt
from linksyn_dagster.llm.schemas import (
    RewrittenQA, SynthesizedQA, VerifierAnswer, difficulty_readings_model, versions_model,
)
from linksyn_dagster.resources.llm import LLMResource
from linksyn_dagster.resources.warehouse import WarehouseResource
from linksyn_dagster.resources.settings import SettingsResource

STAGE_SYNTHESIS = "qa_synthesis"
STAGE_JUDGE = "difficulty_judge"
STAGE_REWRITE = "difficulty_rewrite"
STAGE_VERIFY = "answer_verification"
CHECK_EVERY_PATH_ACCOUNTED = "every_path_synthesized_or_failed"
CHECK_SOURCE_SEEDS_EXIST = "source_seeds_exist"
CHECK_DIFFICULTY_ON_SCALE = "difficulty_on_scale"
CHECK_ONE_SELECTED_PER_PATH = "at_most_one_version_selected_per_path"
CHECK_EVERY_ITEM_VERIFIED = "every_item_has_a_verdict"

QA_SCHEMA = {
    "qa_id": pl.Utf8, "discipline": pl.Utf8, "path_id": pl.Utf8, "question": pl.Utf8,
    "choices": pl.List(pl.Utf8), "answer": pl.Utf8, "explanation": pl.Utf8,
    "kps_used": pl.List(pl.Utf8), "path_kp_ids": pl.List(pl.Utf8), "target_difficulty": pl.Int32, "round": pl.Int32,
    "source_seed_ids": pl.List(pl.Utf8),
    "language": pl.Utf8, "reasoning": pl.Utf8, "model": pl.Utf8, "prompt_version": pl.Utf8,
    "request_key": pl.Utf8, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64,
    "reasoning_tokens": pl.Int64, "cost_usd": pl.Float64,
}
ENHANCED_SCHEMA = {
    **QA_SCHEMA, "variant": pl.Utf8, "enhanced_from": pl.Utf8, "rewrite_round": pl.Int32, "difficulty": pl.Int32,
    "difficulty_rationale": pl.Utf8, "difficulty_confidence": pl.Float64, "judge_levels": pl.List(pl.Int32),
    "judge_answers": pl.List(pl.Utf8),
    "selected": pl.Boolean,
}
VERIFIED_SCHEMA = {
    **ENHANCED_SCHEMA, "verifier_answers": pl.List(pl.Utf8), "verifier_model": pl.Utf8, "verdict": pl.Utf8,
}


def _usage(outcome: LLMOutcome, index: int = 0, of: int = 1) -> dict[str, Any]:
    """The call's model, prompt, request and usage, for version ``index`` of the ``of`` it
    wrote: each carries its share of the call's tokens and cost (the first the remainder of
    the tokens), so a table's sums are the calls'; the reasoning trace goes with the first."""
    r = outcome.result
    assert r is not None

    def share(tokens: int) -> int:
        return tokens // of + (tokens % of if index == 0 else 0)

    return {"model": r.model, "prompt_version": r.prompt_version, "request_key": r.request_key,
            "prompt_tokens": share(r.prompt_tokens), "completion_tokens": share(r.completion_tokens),
            "reasoning_tokens": share(r.reasoning_tokens),
            "cost_usd": r.cost_usd / of,
            "reasoning": r.reasoning if index == 0 else None}


def _versions(outcomes: list[LLMOutcome]) -> Iterator[tuple[LLMOutcome, int, dict[str, Any], dict[str, Any]]]:
    """Each item the answered synthesis or rewrite calls wrote (a reply of ``versions_model``,
    or of one item): its call, its index in the call, the item as written, and its question,
    choices, answer and explanation with its share of the call's usage (``_usage``)."""
    for outcome in outcomes:
        if outcome.result is None:
            continue
        parsed = outcome.result.parsed
        written = parsed["items"] if "items" in parsed else [parsed]
        for index, qa in enumerate(written):
            yield outcome, index, qa, {**{key: qa[key] for key in ("question", "choices", "answer", "explanation")},
                                       **_usage(outcome, index, len(written))}


@llm_writer_asset(checks={
    CHECK_EVERY_PATH_ACCOUNTED: "every path has a QA or a row in llm_failures",
    CHECK_SOURCE_SEEDS_EXIST: "every source seed id exists in seed_qa",
})
def synthesized_qa(context: dg.AssetExecutionContext, kp_paths: pl.DataFrame, llm: LLMResource,
                   warehouse: WarehouseResource, settings: SettingsResource) -> Iterator:
    """New multiple-choice QA, one call per path: the model sees the path's KP chain and the
    seeds linked along it (strongest links first, bounded), must combine several KPs, and is
    asked for the path's target difficulty level and LINKSYN_SYNTHESIS__CANDIDATES different
    versions (prompt v3; unless difficulty is not steered: one item, no level, prompt v1).
    Keeps question, answer, explanation, KPs used, source seeds, path, model, prompt
    version, tokens and cost (each version its share of the call's), and any reasoning trace
    (e.g. DeepSeek-R1) in its own column."""
    steer = settings.value.synthesis.steer_difficulty
    # steered: the path's level asked, `candidates` versions a call (prompt v3); else one item, no level (v1)
    count = settings.value.synthesis.candidates if steer else 1
    prompt = load_prompt(STAGE_SYNTHESIS) if steer else load_prompt(STAGE_SYNTHESIS, 1)
    reply_model = versions_model(SynthesizedQA, count) if steer else SynthesizedQA
    schema = schema_text(reply_model.model_json_schema())
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
            seeds=format_seed_block(linked), level=path["target_difficulty"] if steer else "", count=count)))
    client = llm.client(context.log)
    outcomes = client.run(STAGE_SYNTHESIS, prompt.version_id, requests, reply_model)
    llm_tables = LLMTables(warehouse, context)
    failed = llm_tables.record(STAGE_SYNTHESIS, outcomes, {o.item_id: o.item_id for o in outcomes})

    paths = {p["path_id"]: p for p in kp_paths.iter_rows(named=True)}
    rows = []
    for outcome, index, qa, fields in _versions(outcomes):
        path = paths[outcome.item_id]
        rows.append({
            "qa_id": stable_id("synth", path["path_id"], outcome.request_key, *([index] if steer else [])),
            "discipline": context.partition_key, "path_id": path["path_id"], **fields,
            "kps_used": qa["knowledge_points_used"], "path_kp_ids": path["kp_ids"],
            "source_seed_ids": path["seed_ids"], "target_difficulty": path["target_difficulty"] if steer else None,
            "round": path["round"], "language": languages[path["path_id"]],
        })
    synthesized = pl.DataFrame(rows, schema=QA_SCHEMA)
    missing_seeds = len({s for ids in synthesized.get_column("source_seed_ids").to_list() for s in ids}
                        - set(seed_rows))
    yield dg.Output(synthesized, metadata={
        **table_metadata(synthesized, columns.QA, ["qa_id", "question", "answer", "kps_used"]),
        **usage_metadata(outcomes), "model": client.model, "prompt_version": prompt.version_id,
        "paths": kp_paths.height, "paths_failed": failed,
    })
    yield from llm_tables.materializations()
    yield llm_tables.yield_check(llm.max_failure_share, llm.low_yield_blocks)
    answered = synthesized.get_column("path_id").n_unique()
    yield dg.AssetCheckResult(check_name=CHECK_EVERY_PATH_ACCOUNTED,
                              passed=answered + failed == kp_paths.height,
                              metadata={"paths": kp_paths.height, "paths_answered": answered,
                                        "qa": synthesized.height, "failed": failed})
    yield dg.AssetCheckResult(check_name=CHECK_SOURCE_SEEDS_EXIST, passed=missing_seeds == 0,
                              metadata={"missing_seed_ids": missing_seeds})


Ask = Callable[[list[tuple[dict[str, Any], int]]], tuple[list[dict | None], list[LLMOutcome]]]


def _in_waves(items: list[dict[str, Any]], k: int, ask: Ask,
              is_settled: Callable[[dict[str, Any], list[dict | None]], bool], first: int,
              given: dict[str, list[dict]] | None = None,
              before_wave: Callable[[dict[str, list[dict | None]]], None] | None = None,
              ) -> tuple[dict[str, list[dict | None]], list[LLMOutcome]]:
    """Up to k independent replies for each item (a judge's readings, a verifier's solves),
    asked in waves: ``first`` of every item, then one more at a time for the items whose
    replies so far do not settle them (``is_settled``). ``ask`` gets a wave's (item, attempt)
    pairs and returns a reply for each, in order (None: the call failed), and the outcomes of
    the calls it made (see ``_call_each``, ``_judge_calls``). ``given``: replies an item
    already has (the judge's solves, for the verifier); they count toward k, and its attempts
    are numbered after them (from 1). ``before_wave`` sees every item's replies so far before
    each wave is decided (to learn from them), the last time with the replies returned.
    Returns each item's replies in order (None for a failed call) and every outcome."""
    replies = {item["qa_id"]: list((given or {}).get(item["qa_id"], []))[:k] for item in items}
    outcomes: list[LLMOutcome] = []
    while True:
        if before_wave is not None:
            before_wave(replies)
        wanted = []
        for item in items:
            so_far = replies[item["qa_id"]]
            if len(so_far) >= k or is_settled(item, so_far):
                continue
            wanted.extend((item, attempt) for attempt in range(len(so_far) + 1,
                                                                 min(k, max(first, len(so_far) + 1)) + 1))
        if not wanted:
            return replies, outcomes
        found, made = ask(wanted)
        outcomes.extend(made)
        for (item, _), parsed in zip(wanted, found):  # in the order asked: attempt 1, 2, ...
            replies[item["qa_id"]].append(parsed)


def _call_each(client, stage: str, prompt_version: str, schema_model,
               request: Callable[[dict[str, Any], int], LLMRequest]) -> Ask:
    """``_in_waves``' asking with a call per (item, attempt)."""

    def ask(wanted: list[tuple[dict[str, Any], int]]) -> tuple[list[dict | None], list[LLMOutcome]]:
        requests = [request(item, attempt) for item, attempt in wanted]
        outcomes = client.run(stage, prompt_version, requests, schema_model)
        by_id = {outcome.item_id: outcome for outcome in outcomes}
        return [by_id[r.item_id].result.parsed if r.item_id in by_id and by_id[r.item_id].result else None
                for r in requests], outcomes

    return ask


def _judge_calls(client, prompt, size: int, path_of: dict[str, str | None]) -> Ask:
    """``_in_waves``' asking for the judge: a wave's readings of the same attempt number, cut
    into calls of at most ``size`` questions (``batches``), each call one request whose reply
    holds a reading per question in order (``difficulty_readings_model``). A question's
    further readings are asked in later waves, so never in the same call. Calls of the same
    wave run concurrently, one ``client.run`` per number of questions. A call of several
    questions that fails (after the client's retries and repair) is asked again one question
    a call: its failure is not the items' (only a question that fails alone is). A call's id
    is its questions' qa_ids joined by ``+`` and ``#attempt``; ``path_of`` learns its path
    (None for a call reading several paths' items)."""

    def calls(shown_by_attempt: list[tuple[int, list[dict[str, Any]]]]) -> dict[int, list[tuple]]:
        by_size: dict[int, list[tuple[LLMRequest, list[dict[str, Any]], int]]] = {}
        for attempt, shown in shown_by_attempt:
            schema = schema_text(difficulty_readings_model(len(shown)).model_json_schema())
            call_id = "+".join(item["qa_id"] for item in shown) + f"#{attempt}"
            path_of[call_id] = shown[0]["path_id"] if len({i["path_id"] for i in shown}) == 1 else None
            by_size.setdefault(len(shown), []).append((LLMRequest(call_id, prompt.render(
                schema=schema, count=len(shown), attempt=attempt, discipline=shown[0]["discipline"],
                questions=format_questions(shown))), shown, attempt))
        return by_size

    def run(by_size: dict[int, list[tuple]], readings: dict[tuple[str, int], dict | None],
            outcomes: list[LLMOutcome]) -> list[tuple[int, list[dict[str, Any]]]]:
        """Asks the calls, fills ``readings``, adds the calls' outcomes to ``outcomes`` (but a
        failed call of several questions: its questions come back, one per call, to be asked again)."""
        failed = []
        for n, sent in by_size.items():
            made = client.run(STAGE_JUDGE, prompt.version_id, [request for request, _, _ in sent],
                              difficulty_readings_model(n))
            by_id = {outcome.item_id: outcome for outcome in made}
            for request, shown, attempt in sent:
                outcome = by_id.get(request.item_id)
                if outcome is not None and outcome.result is not None:
                    readings.update(((item["qa_id"], attempt), reading)
                                    for item, reading in zip(shown, outcome.result.parsed["readings"]))
                elif n > 1:
                    failed.extend((attempt, [item]) for item in shown)
                    continue
                if outcome is not None:
                    outcomes.append(outcome)
        return failed

    def ask(wanted: list[tuple[dict[str, Any], int]]) -> tuple[list[dict | None], list[LLMOutcome]]:
        by_attempt: dict[int, list[dict[str, Any]]] = {}
        for item, attempt in wanted:
            by_attempt.setdefault(attempt, []).append(item)
        readings: dict[tuple[str, int], dict | None] = {}
        outcomes: list[LLMOutcome] = []
        alone = run(calls([(attempt, [items[i] for i in part]) for attempt, items in by_attempt.items()
                           for part in batches(len(items), size)]), readings, outcomes)
        if alone:
            run(calls(alone), readings, outcomes)
        return [readings.get((item["qa_id"], attempt)) for item, attempt in wanted], outcomes

    return ask


def _rewrite_requests(prompt, schema: str, items: list[dict[str, Any]], count: int) -> list[LLMRequest]:
    return [LLMRequest(item["qa_id"], prompt.render(
        schema=schema, current_level=item["difficulty"], target_level=item["target_difficulty"],
        direction="harder" if item["target_difficulty"] > item["difficulty"] else "easier",
        discipline=item["discipline"], kps=", ".join(item["kps_used"]), question=item["question"],
        choices=format_choices(item["choices"]), answer=item["answer"], count=count)) for item in items]


def _to_rewrite(latest: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of the versions just judged (a path's candidates, or its last rewrites), for each path
    none of whose is taken for its level: the one to rewrite, the judged version closest to
    the target (the first on a tie)."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for item in latest:
        by_path.setdefault(item["path_id"], []).append(item)
    off = []
    for versions in by_path.values():
        judged = [v for v in versions if v["difficulty"] is not None]
        if versions[0]["target_difficulty"] is None or not judged or any(v["taken"] for v in versions):
            continue
        off.append(min(judged, key=lambda v: abs(v["difficulty"] - v["target_difficulty"])))
    return off


def _rewritten(client, prompt, off: list[dict[str, Any]], count: int, rewrite_round: int,
               outcomes: list[LLMOutcome]) -> list[dict[str, Any]]:
    """The versions judged off their level, rewritten toward it, ``count`` versions a call (the
    calls' outcomes are added to ``outcomes``); a failed rewrite gives no version."""
    model = versions_model(RewrittenQA, count)
    made = client.run(STAGE_REWRITE, prompt.version_id,
                      _rewrite_requests(prompt, schema_text(model.model_json_schema()), off, count), model)
    outcomes.extend(made)
    by_id = {item["qa_id"]: item for item in off}
    return [{**by_id[outcome.item_id], **fields, "variant": "rewrite", "rewrite_round": rewrite_round,
             "qa_id": stable_id("rewrite", outcome.item_id, outcome.request_key, index),
             "enhanced_from": outcome.item_id}
            for outcome, index, _, fields in _versions(made)]


@llm_writer_asset(checks={
    CHECK_DIFFICULTY_ON_SCALE: "judged difficulties are on the 1-5 scale",
    CHECK_ONE_SELECTED_PER_PATH: "at most one version of each path's item goes on to verification",
})
def enhanced_qa(context: dg.AssetExecutionContext, synthesized_qa: pl.DataFrame, llm: LLMResource,
                warehouse: WarehouseResource, settings: SettingsResource) -> Iterator:
    """Every synthesized QA with its difficulty level: the median of the judge's readings (the
    judge, the generating model, solves each item without its key and grades it on a fixed 1-5
    scale), asked one at a time up to LINKSYN_SYNTHESIS__JUDGE_SAMPLES until they settle what
    the median decides (see `settled_level`). When difficulty is steered and the release holds
    its cells (the closed loop), a version is taken for its target level only when its median
    is the target and a model of the generator's drift and the judge's noise, learned by EM
    from every reading of the partition (core/calibration.py), gives the target at least
    LINKSYN_SYNTHESIS__LEVEL_CONFIDENCE (`difficulty_confidence`); readings go on while it
    doubts. A judge call reads up to LINKSYN_SYNTHESIS__JUDGE_BATCH questions of the
    partition, each on its own reading. When none of a path's versions is taken, the one
    judged closest to its level is rewritten toward it, harder or easier, in
    LINKSYN_SYNTHESIS__CANDIDATES versions (at most LINKSYN_SYNTHESIS__MAX_REWRITES times,
    each rewrite judged again). A walk round's items are done before the next round's, so a
    further round asks nothing again of the items before it. Every version is kept;
    `selected` marks the one that goes on: of those taken for their level, the surest
    (`difficulty_confidence`); a path with none goes no further (the release's next round
    asks for its cell again). In the open loop the version closest to its target goes on.
    The judge's letters (`judge_answers`) are solves the verifier can count."""
    synthesis = settings.value.synthesis
    k, confidence = synthesis.judge_samples, synthesis.level_confidence
    judge, rewrite = load_prompt(STAGE_JUDGE), load_prompt(STAGE_REWRITE)
    client = llm.client(context.log)
    held = settings.value.release.fill_cells and synthesis.steer_difficulty
    observed: list[calibration.Observation] = []  # (asked, readings) of the versions judged so far
    model = [calibration.LevelModel.initial()]  # refitted before every wave of readings, the last one included

    def levels_of(replies: list[dict | None]) -> list[int | None]:
        return [r["level"] if r else None for r in replies]

    def learn(readings: dict[str, list[dict | None]], items: list[dict[str, Any]]) -> None:
        model[0] = calibration.fit([*observed, *((item["target_difficulty"], levels_of(readings[item["qa_id"]]))
                                                 for item in items)])

    path_of: dict[str, str | None] = {}  # call id -> its path (None: a judge call reading several paths)
    ask_judge = _judge_calls(client, judge, synthesis.judge_batch, path_of)

    def judged(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each item with its judge's readings and solves (level: see `placed`)."""
        if held:
            readings, outcomes = _in_waves(
                items, k, ask_judge,
                lambda item, replies: calibration.settled(model[0], item["target_difficulty"], levels_of(replies),
                                                          k, confidence),
                first=1, before_wave=lambda replies: learn(replies, items))
        else:
            readings, outcomes = _in_waves(
                items, k, ask_judge, lambda item, replies: settled_level(levels_of(replies), k), first=first_wave(k))
        judge_outcomes.extend(outcomes)
        rows = []
        for item in items:
            found = [r for r in readings[item["qa_id"]] if r is not None]
            observed.append((item["target_difficulty"], [r["level"] for r in found]))
            rows.append({**item, "readings": found, "judge_levels": [r["level"] for r in found],
                         "judge_answers": [r["answer"] for r in found]})
        return placed(rows)  # the model: fitted on these readings too, before the wave that found them settled

    def placed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows with their level (the median of their readings), whether they are taken for
        their target level, and in the closed loop the level's probability, under the
        partition's model as learned up to their own readings."""
        out = []
        for row in rows:
            levels, target = [r["level"] for r in row["readings"]], row["target_difficulty"]
            level = median_level(levels)
            p = model[0].posterior(target, levels)[level - 1] if held and level else None
            taken = calibration.on_target(model[0], target, levels, confidence) if held else level == target
            rationale = next((r["rationale"] for r in row["readings"] if r["level"] == level), None)
            out.append({**row, "difficulty": level, "difficulty_confidence": p, "difficulty_rationale": rationale,
                        "taken": taken})
        return out

    judge_outcomes: list[LLMOutcome] = []
    rewrite_outcomes: list[LLMOutcome] = []
    versions: dict[str, list[dict[str, Any]]] = {}
    rewrites = synthesis.max_rewrites if synthesis.steer_difficulty else 0
    # a path's versions in a fixed order (its candidates are alike: by id)
    originals = synthesized_qa.sort("round", "path_id", "qa_id", nulls_last=False).to_dicts()
    # a walk round's items are judged and rewritten before the next round's, under the model
    # learned from the rounds before and their own: a further round asks nothing new of them
    for _, group in itertools.groupby(originals, key=lambda o: o["round"]):
        latest = judged([{**o, "variant": "original", "enhanced_from": None, "rewrite_round": 0} for o in group])
        for rewrite_round in range(rewrites + 1):
            for item in latest:
                versions.setdefault(item["path_id"], []).append(item)
            off = _to_rewrite(latest) if rewrite_round < rewrites else []
            if not off:
                break
            latest = judged(_rewritten(client, rewrite, off, synthesis.candidates, rewrite_round + 1,
                                       rewrite_outcomes))

    rows = []
    for path_versions in versions.values():
        target = path_versions[0]["target_difficulty"]
        levels = [v["difficulty"] for v in path_versions]
        if target is None:
            chosen = 0
        elif held:
            chosen = surest_version([v["taken"] for v in path_versions],
                                    [v["difficulty_confidence"] for v in path_versions])
        else:
            chosen = closest_version(levels, target)
        rows.extend({**{key: value for key, value in v.items() if key not in ("readings", "taken")},
                     "selected": index == chosen}
                    for index, v in enumerate(path_versions))
    path_of.update({row["qa_id"]: row["path_id"] for row in rows})  # a rewrite's id is its source's
    llm_tables = LLMTables(warehouse, context)
    failed = sum(llm_tables.record(stage, outcomes, path_of)
                 for stage, outcomes in ((STAGE_JUDGE, judge_outcomes), (STAGE_REWRITE, rewrite_outcomes)))
    enhanced = pl.DataFrame(rows, schema=ENHANCED_SCHEMA)
    chosen = enhanced.filter("selected")
    off_scale = enhanced.filter(pl.col("difficulty").is_not_null() & ~pl.col("difficulty").is_between(1, 5)).height
    selected_per_path = enhanced.group_by("path_id").agg(pl.col("selected").sum())
    yield dg.Output(enhanced, metadata={
        **table_metadata(enhanced, columns.ENHANCED, ["qa_id", "variant", "target_difficulty", "difficulty",
                                                      "selected", "question"]),
        **usage_metadata([*judge_outcomes, *rewrite_outcomes]), "originals": synthesized_qa.height,
        "rewrites": enhanced.filter(pl.col("variant") == "rewrite").height,
        "selected": chosen.height, "paths_never_on_level": selected_per_path.height - chosen.height,
        "unjudged": enhanced.filter(pl.col("difficulty").is_null()).height, "llm_failures": failed,
        "steer_difficulty": synthesis.steer_difficulty, "judge_calls": len(judge_outcomes),
        "readings_per_judge_call": round(sum(len(r["judge_levels"]) for r in rows) / len(judge_outcomes), 2)
        if judge_outcomes else 0.0,
        **({"level_model": dg.MetadataValue.json(model[0].summary())} if held else {}),
    })
    yield from llm_tables.materializations()
    yield llm_tables.yield_check(llm.max_failure_share, llm.low_yield_blocks)
    yield dg.AssetCheckResult(check_name=CHECK_DIFFICULTY_ON_SCALE, passed=off_scale == 0,
                              metadata={"off_scale": off_scale})
    yield dg.AssetCheckResult(check_name=CHECK_ONE_SELECTED_PER_PATH,
                              passed=selected_per_path.filter(pl.col("selected") > 1).is_empty(),
                              metadata={"paths": selected_per_path.height, "selected": chosen.height})


def _verify_request(prompt, schema: str, item: dict[str, Any], attempt: int) -> LLMRequest:
    return LLMRequest(f"{item['qa_id']}#{attempt}", prompt.render(
        schema=schema, attempt=attempt, discipline=item["discipline"], question=item["question"],
        choices=format_choices(item["choices"])))


@llm_writer_asset(checks={
    CHECK_EVERY_ITEM_VERIFIED: "every item got k answers or a settled majority (no unverified)",
})
def verified_qa(context: dg.AssetExecutionContext, enhanced_qa: pl.DataFrame, llm: LLMResource,
                warehouse: WarehouseResource, settings: SettingsResource) -> Iterator:
    """The selected version of each path's item, solved by an independent verifier
    (LINKSYN_SYNTHESIS__VERIFIER_MODEL, default the generating model) without seeing the key,
    k times (LINKSYN_SYNTHESIS__VERIFIER_SAMPLES): a majority of k answers first, the rest
    only while they leave open whether the key can have a majority. When the verifier is the
    judge's model, the judge's solves of the version (`judge_answers`, asked without the key
    too) are its first answers and only the rest are asked. `verdict` says whether a
    majority of the k answers is the key; the release keeps only those that agree."""
    synthesis = settings.value.synthesis
    k = synthesis.verifier_samples
    items = enhanced_qa.filter("selected").to_dicts()
    outcomes: list[LLMOutcome] = []
    answers: dict[str, list[str | None]] = {item["qa_id"]: [] for item in items}
    # the judge solved each reading without the key: when the verifier is the judge's model,
    # those solves are its first answers and only the rest of the k are asked here
    from_judge = synthesis.verifier_model in (None, settings.value.llm.model)
    given = {item["qa_id"]: [{"answer": a} for a in item["judge_answers"] or []] if from_judge else []
             for item in items}
    model = None
    if k and items:
        prompt = load_prompt(STAGE_VERIFY)
        schema = schema_text(VerifierAnswer.model_json_schema())
        client = llm.client(context.log, model=synthesis.verifier_model)
        model = client.model

        def letters(replies: list[dict | None]) -> list[str | None]:
            return [r["answer"] if r else None for r in replies]

        replies, outcomes = _in_waves(
            items, k, _call_each(client, STAGE_VERIFY, prompt.version_id, VerifierAnswer,
                                 lambda item, attempt: _verify_request(prompt, schema, item, attempt)),
            lambda item, so_far: settled(letters(so_far), item["answer"], k), first=first_wave(k), given=given)
        answers = {qa_id: letters(found) for qa_id, found in replies.items()}
    path_of = {f"{item['qa_id']}#{n}": item["path_id"] for item in items for n in range(1, k + 1)}
    llm_tables = LLMTables(warehouse, context)
    failed = llm_tables.record(STAGE_VERIFY, outcomes, path_of)
    rows = [{**item, "verifier_answers": [a for a in answers[item["qa_id"]] if a is not None],
             "verifier_model": model,
             "verdict": verdict(answers[item["qa_id"]], item["answer"], k) if k else NOT_VERIFIED}
            for item in items]
    from_judge_count = sum(min(k, len(given[item["qa_id"]])) for item in items) if k else 0
    verified = pl.DataFrame(rows, schema=VERIFIED_SCHEMA)
    verdicts = dict(verified.group_by("verdict").len().iter_rows())
    yield dg.Output(verified, metadata={
        **table_metadata(verified, columns.VERIFIED, ["qa_id", "answer", "verifier_answers", "verdict"]),
        **usage_metadata(outcomes), "samples_k": k, "verifier_model": model or "", "llm_failures": failed,
        "verdicts": dg.MetadataValue.json(verdicts),
        "calls_per_item": round(len(outcomes) / len(items), 3) if items else 0.0,
        "answers_from_judge": from_judge_count,
    })
    yield from llm_tables.materializations()
    yield llm_tables.yield_check(llm.max_failure_share, llm.low_yield_blocks)
    yield dg.AssetCheckResult(check_name=CHECK_EVERY_ITEM_VERIFIED, passed=verdicts.get("unverified", 0) == 0,
                              severity=dg.AssetCheckSeverity.WARN,
                              metadata={"unverified": verdicts.get("unverified", 0)})
