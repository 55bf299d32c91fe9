"""The nightly run: every source is curated (one run per partition); publication follows (see sensors)."""


import dagster as dg

from assets.partitions import SOURCE_PARTITIONS
from pipelines.jobs import curate_source_job

NIGHTLY_CRON = "0 2 * * *"


@dg.schedule(job=curate_source_job, cron_schedule=NIGHTLY_CRON, execution_timezone="Europe/Paris",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def nightly_curation(context: dg.ScheduleEvaluationContext):
    """Curate every source each night; each source is its own run, so one failure never blocks the others."""
    night = context.scheduled_execution_time.strftime("%Y-%m-%d")
    for source in SOURCE_PARTITIONS.get_partition_keys():
        yield dg.RunRequest(run_key=f"{night}:{source}", partition_key=source, tags={"moisson/night": night})
