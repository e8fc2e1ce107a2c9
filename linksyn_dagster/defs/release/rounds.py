"""Further rounds from the Dagster UI: when a release misses cells, the sensor
``next_round_sensor`` re-materializes the walk plan with the release's request appended to
its rounds (run config, as ``linksyn run`` passes it), and the automation conditions take
the new paths through synthesis, judging and verification to the next release, which
decides again. The round limit is the newest walk plan's (``max_rounds`` in its
``walk_params``: its run config, else LINKSYN_RELEASE__MAX_ROUNDS), and each round it
launches carries that limit on. The decision itself is ``core.control.next_rounds``."""

import dagster as dg

from linksyn_dagster.core.control import next_rounds
from linksyn_dagster.core.quotas import plan_max_rounds
from linksyn_dagster.defs.release.assets import NEXT_ROUND, PLAN_ROUNDS_READ
from linksyn_dagster.resources.settings import SettingsResource

WALK_PLAN = dg.AssetKey("walk_plan")

next_round_job = dg.define_asset_job(
    "next_round_job", selection=dg.AssetSelection.assets(WALK_PLAN),
    description="The walk plan walks on for the cells the release misses (run config: the rounds so far and "
                "the release's request, with the plan's path budget and round limit).",
)


@dg.asset_sensor(asset_key=dg.AssetKey("linkqa_dataset"), job=next_round_job,
                 default_status=dg.DefaultSensorStatus.STOPPED)
def next_round_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry,
                      settings: SettingsResource):
    """After each release: if its cells fall short and the newest walk plan's round limit
    allows, walk one more round for what it asks. A release built from an older walk plan
    than the newest does not decide (its successor will), and a round is asked once per
    walk plan."""
    release = asset_event.asset_materialization.metadata
    latest = context.instance.fetch_materializations(WALK_PLAN, limit=1).records
    if not latest:
        return dg.SkipReason("no walk plan yet")
    plan_event = latest[0]
    plan = plan_event.asset_materialization.metadata["walk_params"].value
    rounds = plan.get("rounds", [])
    read = release.get(PLAN_ROUNDS_READ)
    config = settings.value.release
    max_rounds = plan_max_rounds(plan, default=config.max_rounds)
    walked, why = next_rounds(rounds, release[NEXT_ROUND].value if NEXT_ROUND in release else {},
                              rounds_read=read.value if read is not None else -1,
                              max_rounds=max_rounds, held=config.fill_cells)
    if walked is None:
        return dg.SkipReason(why)
    return dg.RunRequest(
        # one request per walk plan and round: a release materialized again asks nothing new
        run_key=f"walk_plan:{plan_event.storage_id}:round:{len(walked)}",
        # the plan's own path budget and round limit: a launchpad's paths_total (and round 0 with
        # it) and max_rounds stay
        run_config={"ops": {"walk_plan": {"config": {"rounds": walked, "paths_total": plan["paths_total"],
                                                     "max_rounds": max_rounds}}}},
        tags={"linksyn/round": str(len(walked))})
