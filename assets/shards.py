"""The shards of every source in Dagster: one dynamic partition per shard, `<source>/<shard>`.

Why dynamic partitions: a source's shards are known only by listing it (its archives, the slices of its files
or of its path lists), and they come and go with its files. The source's run (`curate_source`) lists them,
adds the new ones to the `source_shards` partitions, removes the gone ones, and records a materialisation of
the `source_shards` asset for each shard it read without a failure (or found unchanged and not yet recorded),
and, for each shard whose read failed, an observation with the failure count and a failed `curate_shard` run of
that partition (`record_failed_shard`).
So the asset's partitions page shows every shard: green once read without failure, red (failed) when its latest
read failed, even if an earlier read had succeeded, and green again once a read succeeds: the source's next run,
which reads failed shards again, or materialising that one partition (a backfill of one shard), which reads only
that shard into its stage file. The source's next run then finds it up to date and only joins it to the others.

Why a recorded run: Dagster (1.13, open source) says a partition failed only when its latest planned
materialisation belongs to a run that failed (dagster/_core/storage/partition_status_cache.py); the
`ASSET_FAILED_TO_MATERIALIZE` event is not stored by its SQLite or Postgres storage (`can_store_asset_failure_events`
is False) and an observation changes no status. The source's run must not fail for one bad shard (`moisson run`'s
verdict stays the failure rate check's), so the shard's failure is written as a run of its own: `curate_shard` on
that partition, planned then failed, tagged with the source's run that read it (`moisson/read_by_run`). It executes
nothing. To retry the shard alone, materialise the partition or re-execute that run with "all steps" (a real
`curate_shard` run of the partition; "from failure" is refused: the recorded run has no plan).

The `shards_complete` check says, per source, which shards are missing, changed or failed: the source's
curation is complete when every shard is. It is run on demand (the asset's Checks tab, or a backfill), not
in every `curate_source` run, so that a record that failed to read does not change `moisson run`'s verdict.
"""

import warnings

import dagster as dg
from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent

from assets.partitions import SOURCE_PARTITIONS
from assets.resources import MoissonResource
from moisson.sharded_harvest import ShardState, SourceHarvest, harvest_shard, shard_status
from pipelines.run_tags import SOURCE_TAG
from sources.shards import partition_key, split_partition_key

SHARDS = "source_shards"  # the asset and its dynamic partitions
SHARD_PARTITIONS = dg.DynamicPartitionsDefinition(name=SHARDS)
RAW_RECORDS = "raw_records"  # as assets/curation.py names it (not imported: curation imports this module)
SHARD_JOB = "curate_shard"  # as pipelines/jobs.py names it (not imported: jobs imports this module)
READ_BY_TAG = "moisson/read_by_run"  # on a recorded failed shard run: the source's run that read the shard
LISTED = 20  # shard keys listed in metadata; all are counted

# Partitioned checks are a Dagster preview; one source's shards must not decide another's, so we use it knowingly.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message="Specifying a partitions_def on an AssetCheckSpec")


@dg.asset(name=SHARDS, partitions_def=SHARD_PARTITIONS, group_name="shards", kinds={"parquet"},
          owners=["team:data-engineering"],
          description="One shard of a source (an archive, a slice of files or of a portal's catalogue), read into "
                      "its own stage file. Materialised by the source's curation run for each shard it read without a failure; "
                      "materialise a partition to read that shard alone (the source's next run joins it).")
def source_shards(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    source, key = split_partition_key(context.partition_key)
    config, layout = moisson.config(), moisson.layout()
    if source not in config.source_names:
        raise dg.Failure(f"shard {context.partition_key!r}: the sources file has no source {source!r} any more")
    try:
        state, failures = harvest_shard(config, source, key, layout)
    except KeyError as gone:
        raise dg.Failure(str(gone.args[0])) from None
    for failure in failures:
        context.log.warning(str(failure))
    metadata = {"source": source, "shard": key, "read": state.read, "failures": state.failures}
    if failures:  # the partition stays failed; the records read are kept, and the next run reads the shard again
        raise dg.Failure(f"shard {context.partition_key!r}: {len(failures)} failure(s), first: {failures[0]}",
                         metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(asset=RAW_RECORDS, partitions_def=SOURCE_PARTITIONS, blocking=False,
                description="Every shard of the source is read in its current state without a failure (per source).")
def shards_complete(context: dg.AssetCheckExecutionContext, moisson: MoissonResource) -> dg.AssetCheckResult:
    source = context.partition_key
    status = shard_status(moisson.config(), source, moisson.layout())
    incomplete = {kind: keys for kind, keys in status.items() if kind != "complete" and keys}
    return dg.AssetCheckResult(
        passed=not incomplete,
        metadata={"shards": sum(map(len, status.values())), **{f"shards_{kind}": len(keys) for kind, keys in status.items()},
                  **{f"{kind}_shards": dg.MetadataValue.json(keys[:LISTED]) for kind, keys in incomplete.items()}},
        description=None if not incomplete else f"source {source!r} incomplete: " + "; ".join(
            f"{kind} {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}" for kind, keys in incomplete.items()),
    )


def report_shards(context: dg.AssetExecutionContext, source: str, harvested: SourceHarvest) -> None:
    """Make the source's shards the `source_shards` partitions (new ones added, gone ones removed) and record a
    materialisation for each shard this run read without a failure, and for each unchanged one Dagster has none of
    (a new instance over an old data directory)."""
    instance = context.instance
    keys = [partition_key(source, shard.key) for shard in harvested.shards]
    existing = set(instance.get_dynamic_partitions(SHARDS))
    instance.add_dynamic_partitions(SHARDS, [key for key in keys if key not in existing])
    for gone in sorted(key for key in existing if key.startswith(partition_key(source, "")) and key not in keys):
        instance.delete_dynamic_partition(SHARDS, gone)
    recorded = instance.get_materialized_partitions(dg.AssetKey(SHARDS))
    for shard, key in zip(harvested.shards, keys):
        if shard.failures:  # not a materialisation: an observation saying why, and the partition marked failed
            context.log_event(dg.AssetObservation(asset_key=SHARDS, partition=key, metadata={
                "source": source, "shard": shard.key, "read": shard.read, "failures": shard.failures}))
            if shard.read:
                record_failed_shard(instance, context.run, source, shard)
            continue
        if not (shard.read or key not in recorded):
            continue
        context.log_event(dg.AssetMaterialization(asset_key=SHARDS, partition=key, metadata={
            "source": source, "shard": shard.key, "read": shard.read, "failures": 0}))


def record_failed_shard(instance: dg.DagsterInstance, read_by: dg.DagsterRun, source: str,
                        shard: ShardState) -> dg.DagsterRun:
    """Mark the shard's partition failed in Dagster's partition status: a `curate_shard` run of that partition,
    recorded (not executed) as planned then failed, since Dagster derives a failed partition from a failed run
    only (module docstring). `read_by` is the source's run that read the shard: its tags and logs say more."""
    key = partition_key(source, shard.key)
    run = instance.create_run(
        job_name=SHARD_JOB, run_id=None, run_config=None, status=dg.DagsterRunStatus.NOT_STARTED,
        # never retried by the daemon (run_retries), which could not re-execute a run without a plan
        tags={"dagster/partition": key, SOURCE_TAG: source, READ_BY_TAG: read_by.run_id, "dagster/max_retries": "0"},
        root_run_id=None, parent_run_id=None, step_keys_to_execute=None, execution_plan_snapshot=None,
        job_snapshot=None, parent_job_snapshot=None, asset_selection={dg.AssetKey(SHARDS)}, asset_check_selection=None,
        resolved_op_selection=None, op_selection=None, remote_job_origin=_shard_job_origin(read_by),
        job_code_origin=None, asset_graph=None)
    instance.report_dagster_event(DagsterEvent.build_asset_materialization_planned_event(
        SHARD_JOB, SHARDS, AssetMaterializationPlannedData(dg.AssetKey(SHARDS), partition=key)), run.run_id)
    instance.report_run_failed(run, f"shard {key!r}: {shard.failures} failure(s) reading it in run "
                                    f"{read_by.run_id} of {read_by.job_name} (its logs name them); the source's next "
                                    f"run reads it again, or materialise this partition")
    return run


def _shard_job_origin(read_by: dg.DagsterRun):
    """The source run's code location with the shard job's name, so the recorded run is listed under the same
    location as the runs that read shards (None for runs made outside a code location, as in tests)."""
    origin = read_by.remote_job_origin
    return origin._replace(job_name=SHARD_JOB) if origin is not None else None


def shards_metadata(harvested: SourceHarvest) -> dict:
    """What the source's step says of its shards: how many, which were read, which failed (read again next run)."""
    failed = harvested.shards_failed
    return {"shards": len(harvested.shards), "shards_read": len(harvested.shards_read),
            "shards_failed": len(failed), "shards_complete": not failed,
            **({"failed_shards": dg.MetadataValue.json(failed[:LISTED])} if failed else {}),
            **({"shards_dropped": dg.MetadataValue.json(harvested.dropped[:LISTED])} if harvested.dropped else {})}


SHARD_CHECKS = [shards_complete]
