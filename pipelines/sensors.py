"""Sensors: new WARC files start their source's curation; finished curation starts publication."""

import hashlib
import json

import dagster as dg

from assets.curation import QUALITY, RAW_RECORDS
from assets.publication import deduplicated
from assets.resources import MoissonResource
from assets.shards import SHARD_PARTITIONS, SHARDS
from moisson.config import MoissonConfig
from pipelines.jobs import CURATE_SOURCE, curate_source_job, publish_job
from sources.shards import partition_key, source_shards

ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


@dg.sensor(job=curate_source_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def new_warc_files(context: dg.SensorEvaluationContext, moisson: MoissonResource) -> dg.SensorResult:
    """Watch the folders of every `warc` source: a new or changed file triggers that source's curation, and its
    new shards become `source_shards` partitions at once (shown missing, each backfillable alone) rather than when
    the run reports them. Gone shards are left to the run, which removes them knowing what it read."""
    config = moisson.config()
    seen = json.loads(context.cursor) if context.cursor else {}
    materialised = context.instance.get_materialized_partitions(dg.AssetKey(RAW_RECORDS))
    registered = set(context.instance.get_dynamic_partitions(SHARDS))
    requests, new_shards = [], []
    for source in config.sources:
        if source.kind != "warc":
            continue
        files = [f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in config.resolve_paths(source)]
        digest = hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
        first_look = source.name not in seen
        if seen.get(source.name) != digest and files:
            new_shards += unregistered_shards(config, source.name, registered)
            if not (first_look and source.name in materialised):
                requests.append(dg.RunRequest(run_key=f"{source.name}:{digest}", partition_key=source.name,
                                              tags={"moisson/trigger": "new_warc_files"}))
        seen[source.name] = digest
    context.update_cursor(json.dumps(seen, sort_keys=True))
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=[
        SHARD_PARTITIONS.build_add_request(new_shards)] if new_shards else None)


def unregistered_shards(config: MoissonConfig, source: str, registered: set[str]) -> list[str]:
    """The partition keys of the source's shards that Dagster does not know yet, in read order."""
    return [key for key in (partition_key(source, shard.key) for shard in source_shards(config, source))
            if key not in registered]


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
