"""Automation follows dependencies, not clocks.

One clock: every night the seed stages (``seed_qa``, ``seed_kps``) run for each discipline
partition. Everything downstream runs when what drives it has been updated, through the
automation condition each asset declares (``runs_after``) and the automation sensor
``linksyn_automation`` (off until turned on in the UI, as the schedule):

    seed_qa, seed_kps ─▶ knowledge_points … walk_plan ─▶ kp_paths … verified_qa ─▶ linkqa_dataset, report
    (schedule, per discipline)   (one run)                  (a run per discipline)   (one run)

An asset waits while anything upstream of it, however far, is still running or queued,
so nothing runs on a graph that is about to change: the path stages start only once the
walk plan is settled on the newest graph, and the release only once every discipline's
verified items are in."""

import dagster as dg

from linksyn_dagster.defs.partitions import discipline_partitions

# what the automation conditions look upstream at: the materializable assets. The side
# tables (external assets: the stage that writes one reports it) change with their writer,
# so the writer stands for them
_MATERIALIZABLE = dg.AssetSelection.all()

# the deepest chain of assets (seed_qa … distribution_report is 11 long): "anything upstream"
# looks this many hops back
_PIPELINE_DEPTH = 12


def _upstream_unsettled(hops: int = _PIPELINE_DEPTH) -> dg.AutomationCondition:
    """True while an asset upstream of the target, up to ``hops`` dependencies back, is
    being materialized (its run is queued or started), or has an update of its own upstream
    it has not yet taken: it is about to change. An upstream asset requested on this tick in
    the target's own run is settled (Dagster runs the run's assets in dependency order);
    one of another partitioning is a run of its own, so it is not."""
    requested = dg.AutomationCondition.will_be_requested()
    behind = dg.AutomationCondition.any_deps_updated().allow(_MATERIALIZABLE).since_last_handled() & ~requested
    busy = dg.AutomationCondition.in_progress() | behind
    for _ in range(hops - 1):
        busy = dg.AutomationCondition.in_progress() | behind | dg.AutomationCondition.any_deps_match(busy).allow(
            _MATERIALIZABLE)
    return dg.AutomationCondition.any_deps_match(busy).allow(_MATERIALIZABLE).with_label(
        "anything upstream in progress or behind")


def runs_after(*driving: str, every_partition: bool = False) -> dg.AutomationCondition:
    """Materialize when one of the ``driving`` dependencies has been updated (or will be in
    the same run), once nothing upstream is in progress and every blocking check of the
    dependencies has passed. An asset's other dependencies are
    upstream of its driving ones (``kp_graph`` reads seeds too, but runs after the KPs), so
    their updates arrive through the driving dependency instead of triggering a run early.

    ``every_partition``: the asset reads every discipline partition of its driving
    dependency; a discipline that never had seeds or paths is absent, not awaited. Else a
    missing driving partition holds the asset back, as Dagster's ``eager`` does."""
    selection = dg.AssetSelection.assets(*driving)
    condition = (
        # ... or a blocking check of a dependency that held it has passed since (re-run alone)
        (dg.AutomationCondition.any_deps_updated().allow(selection)
         | dg.AutomationCondition.all_deps_blocking_checks_passed().newly_true()).since_last_handled()
        & ~_upstream_unsettled()
        & ~dg.AutomationCondition.in_progress()
        # a blocking check that failed (the Neo4j counts, contamination) holds what follows
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    )
    if not every_partition:
        condition = condition & ~dg.AutomationCondition.any_deps_missing().allow(selection)
    return condition.with_label(f"runs after {', '.join(driving)}")


def with_its_asset() -> dg.AutomationCondition:
    """For a blocking check: run with its asset whenever the automation runs the asset (so
    what follows in the same run waits for it), and not otherwise (re-run it in the UI)."""
    return dg.AutomationCondition.any_deps_match(dg.AutomationCondition.will_be_requested()).with_label(
        "with its asset")


seed_stages_job = dg.define_asset_job(
    "seed_stages_job", selection=dg.AssetSelection.assets("seed_qa", "seed_kps"),
    description="Load seeds and extract their knowledge points, one discipline partition per run. Everything "
                "downstream follows through automation conditions.",
)


def seed_stages_schedule(cron: str) -> dg.ScheduleDefinition:
    """The seed stages' schedule on ``cron`` (the setting seeds.schedule_cron)."""

    @dg.schedule(name="nightly_seed_stages_schedule", job=seed_stages_job, cron_schedule=cron,
                 execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED)
    def schedule(context: dg.ScheduleEvaluationContext):
        """Every night, one run per discipline partition, in taxonomy order, keyed by the tick's
        time so a tick never repeats. The graph, paths and release follow when these have updated."""
        tick = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M")
        return [dg.RunRequest(run_key=f"{tick}:{key}", partition_key=key)
                for key in discipline_partitions.get_partition_keys()]

    return schedule


def automation_sensor(interval_s: int) -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates every automation condition, every ``interval_s`` seconds
    (the setting automation_interval_s)."""
    return dg.AutomationConditionSensorDefinition(
        "linksyn_automation", target=dg.AssetSelection.all() | dg.AssetSelection.all_asset_checks(),
        default_status=dg.DefaultSensorStatus.STOPPED, minimum_interval_seconds=interval_s,
        description="Evaluates every asset's automation condition: what runs after what (see runs_after).",
    )
