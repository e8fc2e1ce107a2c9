"""Automation follows dependencies, not clocks: Dagster's own evaluator
(``dg.evaluate_automation_conditions``) ticks over the real asset graph, against an
instance where materializations are reported as the runs would report them (no asset
body runs, so no server is needed)."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest
from dagster._core.definitions.asset_checks.asset_check_evaluation import (  # not exported by dagster
    AssetCheckEvaluationTargetMaterializationData)

from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.definitions import build_definitions
from linksyn_dagster.settings import LinkSynSettings

SEED_STAGES = ("seed_qa", "seed_kps")
GRAPH_STAGES = ("knowledge_points", "kp_graph", "walk_plan")
PATH_STAGES = ("kp_paths", "synthesized_qa", "enhanced_qa", "verified_qa")
RELEASE_STAGES = ("linkqa_dataset", "distribution_report")
DEMO = ["law", "physics"]  # the disciplines a finished run materialized


class Ticks:
    """An instance, the daemon's cursor, and what each tick requests."""

    def __init__(self, definitions: dg.Definitions):
        self.definitions = definitions
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor = None
        # the side tables each asset writes (and reports) as it materializes
        self.side_tables: dict[str, list[dg.AssetSpec]] = {}
        for spec in definitions.resolve_all_asset_specs():
            if "written_by" in spec.metadata:
                self.side_tables.setdefault(spec.metadata["written_by"], []).append(spec)
        # the blocking checks an asset evaluates as it materializes (an LLM stage's yield)
        self.own_checks: dict[str, list[dg.AssetCheckSpec]] = {}
        for assets_def in definitions.resolve_asset_graph().assets_defs:
            for spec in assets_def.check_specs:
                if spec.blocking and assets_def.is_materializable:
                    self.own_checks.setdefault(spec.asset_key.to_user_string(), []).append(spec)

    def done(self, keys, partitions=None) -> None:
        """``keys`` materialized (in ``partitions``), with the side tables they write."""
        for key in keys:
            for partition in partitions or [None]:
                self.instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
                for side in self.side_tables.get(key, []):
                    self.instance.report_runless_asset_event(dg.AssetMaterialization(
                        side.key, partition=partition if side.partitions_def else None))
                for spec in self.own_checks.get(key, []):  # they passed
                    self.check(key, spec.name, True, partition if spec.partitions_def else None)

    def check(self, key: str, name: str, passed: bool, partition: str | None = None) -> None:
        """An evaluation of a check. Unpartitioned: runless. A partition's, as a run of its own
        reports it (the instance keeps one per run and partition: a runless second one of a
        partition would collide), naming the materialization it checked, as a run's does:
        Dagster counts it only while that is the partition's latest. (Not for unpartitioned
        checks: an evaluation under a run id the instance has no run for made "the check
        newly passed" depend on timing, 3 ticks in 12 missing it, where runless missed none.)"""
        if partition is None:
            self.instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(asset_key=dg.AssetKey(key), check_name=name, passed=passed))
            return
        (latest,) = self.instance.fetch_materializations(dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(key), asset_partitions=[partition]), limit=1).records
        target = AssetCheckEvaluationTargetMaterializationData(
            storage_id=latest.storage_id, run_id=latest.run_id, timestamp=latest.timestamp)
        evaluation = dg.AssetCheckEvaluation(asset_key=dg.AssetKey(key), check_name=name, passed=passed,
                                             partition=partition, target_materialization_data=target)
        self.instance.report_dagster_event(dg.DagsterEvent(
            dg.DagsterEventType.ASSET_CHECK_EVALUATION.value, job_name="checks", event_specific_data=evaluation),
            run_id=str(uuid.uuid4()))

    def tick(self) -> dict[str, set]:
        result = dg.evaluate_automation_conditions(defs=self.definitions, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        return {key.to_user_string(): set(result.get_requested_partitions(key))
                for key in self.definitions.resolve_asset_graph().materializable_asset_keys
                if result.get_requested_partitions(key)}

    def start_run(self, keys, partition: str | None = None) -> dg.DagsterRun:
        """A run of ``keys`` that has started: Dagster records what it plans to materialize."""
        job = self.definitions.resolve_implicit_global_asset_job_def()
        return self.instance.create_run_for_job(
            job, asset_selection={dg.AssetKey(k) for k in keys}, status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": partition} if partition else None)

    def end_run(self, run: dg.DagsterRun) -> None:
        self.instance.report_dagster_event(
            dg.DagsterEvent(dg.DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name), run_id=run.run_id)


@pytest.fixture
def finished(tmp_path) -> Ticks:
    """A pipeline that has run to the end on the demo's disciplines, and a daemon that has
    seen it (its first ticks)."""
    ticks = Ticks(build_definitions(LinkSynSettings(data_dir=tmp_path / "data")))
    ticks.done(SEED_STAGES, DEMO)
    ticks.done(GRAPH_STAGES)
    ticks.done(PATH_STAGES, DEMO)
    ticks.done(RELEASE_STAGES)
    ticks.tick()
    assert ticks.tick() == {}, "a finished pipeline asks for nothing"
    return ticks


def test_new_seeds_in_one_partition_flow_down_in_dependency_order(finished):
    finished.done(["seed_qa"], ["law"])  # the nightly schedule or a user: new seeds in law
    assert finished.tick() == {"seed_kps": {"law"}}
    finished.done(["seed_kps"], ["law"])
    # the whole graph in one run (Dagster orders it), nothing of the paths or the release yet
    assert finished.tick() == {key: {None} for key in GRAPH_STAGES}
    finished.done(GRAPH_STAGES)
    # every start discipline reads the new plan (a discipline without paths gets an empty slice)
    assert finished.tick() == {key: set(DISCIPLINES) for key in PATH_STAGES}
    finished.done(PATH_STAGES, DISCIPLINES)
    assert finished.tick() == {key: {None} for key in RELEASE_STAGES}
    finished.done(RELEASE_STAGES)
    assert finished.tick() == {}


def test_nothing_runs_on_a_graph_that_is_about_to_change(finished):
    # the graph is being rebuilt (new KPs) when a path run of the old graph finishes late
    graph_run = finished.start_run(GRAPH_STAGES)
    finished.done(["verified_qa"], ["physics"])
    assert finished.tick() == {}, "the release waited while the graph was rebuilt"

    # the graph is done: the paths follow it, and the release still waits for them
    finished.done(GRAPH_STAGES)
    finished.end_run(graph_run)
    assert finished.tick() == {key: set(DISCIPLINES) for key in PATH_STAGES}

    # the path runs are queued: the release waits until the last of them is in
    path_runs = {d: finished.start_run(PATH_STAGES, d) for d in DISCIPLINES}
    for discipline in list(DISCIPLINES)[:-1]:
        finished.done(PATH_STAGES, [discipline])
        finished.end_run(path_runs[discipline])
    assert finished.tick() == {}
    finished.done(PATH_STAGES, list(DISCIPLINES)[-1:])
    finished.end_run(path_runs[list(DISCIPLINES)[-1]])
    assert finished.tick() == {key: {None} for key in RELEASE_STAGES}


def test_seeds_updated_without_their_kps_hold_the_graph_and_what_follows(finished):
    # seed_qa re-loaded in physics while its KP extraction is still to run: kp_graph reads
    # seeds too, but waits for the KPs; the release and report wait for the new graph
    finished.done(["seed_qa"], ["physics"])
    finished.done(["verified_qa"], ["law"])
    assert finished.tick() == {"seed_kps": {"physics"}}
    finished.done(["seed_kps"], ["physics"])
    assert finished.tick() == {key: {None} for key in GRAPH_STAGES}


def test_a_failed_blocking_check_holds_what_follows_until_it_passes(finished):
    # the graph run loaded Neo4j, but its counts check failed: the walk plan was not run
    finished.done(["seed_kps"], ["law"])
    assert finished.tick() == {key: {None} for key in GRAPH_STAGES}
    finished.done(["knowledge_points", "kp_graph"])
    finished.check("kp_graph", "neo4j_counts_match_duckdb", passed=False)
    assert finished.tick() == {}
    # the check re-run alone, after the graph was repaired: the chain goes on
    finished.check("kp_graph", "neo4j_counts_match_duckdb", passed=True)
    assert finished.tick() == {"walk_plan": {None}}


def test_an_llm_stage_that_failed_its_yield_check_holds_its_own_partition_of_what_follows(finished):
    # synthesized_qa re-ran in both disciplines; in law most calls failed (its llm_yield check
    # failed with the materialization): physics goes on, law waits
    finished.done(["synthesized_qa"], ["law", "physics"])
    finished.check("synthesized_qa", "llm_yield", passed=False, partition="law")
    assert finished.tick() == {"enhanced_qa": {"physics"}, "verified_qa": {"physics"}}
    finished.done(["enhanced_qa", "verified_qa"], ["physics"])
    assert finished.tick() == {}
    # law re-run once the endpoint is back (its failed items asked again): law follows
    finished.done(["synthesized_qa"], ["law"])
    assert finished.tick() == {"enhanced_qa": {"law"}, "verified_qa": {"law"}}


def test_anything_upstream_reaches_back_over_the_longest_chain_of_assets(tmp_path):
    """The look-back of ``runs_after`` is a depth fixed when the conditions are built; the
    asset graph's longest chain must fit in it, or an asset would stop waiting on the far
    end of a longer pipeline."""
    from linksyn_dagster.defs.automation import _PIPELINE_DEPTH

    graph = build_definitions(LinkSynSettings(data_dir=tmp_path / "data")).resolve_asset_graph()
    hops: dict[dg.AssetKey, int] = {}  # the conditions look upstream at materializable assets only
    for key in graph.toposorted_asset_keys:
        if graph.get(key).is_materializable:
            hops[key] = max((hops[p] + 1 for p in graph.get(key).parent_keys if p in hops), default=0)
    assert max(hops.values()) == 10  # seed_qa … distribution_report: 11 assets
    assert max(hops.values()) < _PIPELINE_DEPTH
