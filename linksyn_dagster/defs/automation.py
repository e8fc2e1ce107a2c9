"""Jobs and schedules: a nightly run per discipline partition for the per-discipline stages;
the global assets follow through their eager automation conditions."""


import dagster as dg

from linksyn_dagster.defs.partitions import discipline_partitions

# the stages in pipeline order (linksyn demo/run materializes them in this order)
SEED_STAGES = ["seed_qa", "seed_kps"]
GRAPH_STAGES = ["knowledge_points", "kp_graph", "walk_plan"]
PATH_STAGES = ["kp_paths", "synthesized_qa", "enhanced_qa", "verified_qa"]
RELEASE_STAGES = ["linkqa_dataset", "distribution_report"]

seed_stages_job = dg.define_asset_job(
    "seed_stages_job", selection=dg.AssetSelection.assets(*SEED_STAGES),
    description="Load seeds and extract their knowledge points, one discipline partition per run.",
)
path_stages_job = dg.define_asset_job(
    "path_stages_job", selection=dg.AssetSelection.assets(*PATH_STAGES),
    description="Walk the KP graph and synthesize, steer and verify QA, one start-discipline partition per run.",
)
global_stages_job = dg.define_asset_job(
    "global_stages_job",
    selection=dg.AssetSelection.assets(*GRAPH_STAGES, *RELEASE_STAGES),
    description="The cross-discipline assets: canonical KPs, the Neo4j graph, the walk plan, the release and "
                "its report.",
)


def one_run_per_discipline(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """A run request per partition, in taxonomy order, keyed by day so a tick never repeats."""
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return [dg.RunRequest(run_key=f"{day}:{key}", partition_key=key)
            for key in discipline_partitions.get_partition_keys()]


@dg.schedule(job=seed_stages_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def nightly_seed_stages_schedule(context: dg.ScheduleEvaluationContext):
    """Every night, one run per discipline partition (a backfill of the seed stages)."""
    return one_run_per_discipline(context)


@dg.schedule(job=path_stages_job, cron_schedule="0 4 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def nightly_path_stages_schedule(context: dg.ScheduleEvaluationContext):
    """Every night after the seed stages, one run per start discipline: walk, synthesize, steer, verify."""
    return one_run_per_discipline(context)
