"""Sensors: new WARC files start their source's curation; finished curation starts publication."""


import hashlib
import json

import dagster as dg

from assets.curation import QUALITY, RAW_RECORDS
from assets.publication import deduplicated
from assets.resources import MoissonResource
from pipelines.jobs import CURATE_SOURCE, curate_source_job, publish_job

ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


@dg.sensor(job=curate_source_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def new_warc_files(context: dg.SensorEvaluationContext, moisson: MoissonResource):
    """Watch the folders of every `warc` source: a new or changed file triggers that source's curation."""
    config = moisson.config()
    seen = json.loads(context.cursor) if context.cursor else {}
    materialised = context.instance.get_materialized_partitions(dg.AssetKey(RAW_RECORDS))
    for source in config.sources:
        if source.kind != "warc":
            continue
        files = [f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in config.resolve_paths(source)]
        digest = hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
        first_look = source.name not in seen
        if seen.get(source.name) != digest and files and not (first_look and source.name in materialised):
            yield dg.RunRequest(run_key=f"{source.name}:{digest}", partition_key=source.name,
                                tags={"moisson/trigger": "new_warc_files"})
        seen[source.name] = digest
    context.update_cursor(json.dumps(seen, sort_keys=True))


@dg.sensor(job=publish_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def publish_after_curation(context: dg.SensorEvaluationContext):
    """Publish once curation has produced something new and no curation run is still going."""
    curated = context.instance.get_latest_materialization_event(dg.AssetKey(QUALITY))
    if curated is None:
        return dg.SkipReason("no source curated yet")
    published = context.instance.get_latest_materialization_event(deduplicated.key)
    if published is not None and published.timestamp > curated.timestamp:
        return dg.SkipReason("nothing curated since the last publication")
    running = context.instance.get_runs_count(dg.RunsFilter(job_name=CURATE_SOURCE, statuses=ACTIVE))
    if running:
        return dg.SkipReason(f"waiting for {running} curation run(s) to finish")
    return dg.RunRequest(run_key=f"publish-after-{curated.run_id}")
