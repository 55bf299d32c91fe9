"""The shards of every source in Dagster: one dynamic partition per shard, `<source>/<shard>`.

Why dynamic partitions: a source's shards are known only by listing it (its archives, the slices of its files
or of its path lists), and they come and go with its files. The source's run (`curate_source`) lists them,
adds the new ones to the `source_shards` partitions, removes the gone ones, and records a materialisation of
the `source_shards` asset for each shard it read without a failure (or found unchanged and not yet recorded),
and an observation with the failure count for each shard whose read failed.
So the asset's partitions page shows every shard, green once read without failure; a shard whose read
failed stays missing (an earlier success stays green: the check below tells) and is read again, alone, by the next run or by materialising that
one partition (a backfill of one shard), which reads only that shard into its stage file. The source's next
run then finds it up to date and only joins it to the others.

The `shards_complete` check says, per source, which shards are missing, changed or failed: the source's
curation is complete when every shard is. It is run on demand (the asset's Checks tab, or a backfill), not
in every `curate_source` run, so that a record that failed to read does not change `moisson run`'s verdict.
"""

import warnings

import dagster as dg

from assets.partitions import SOURCE_PARTITIONS
from assets.resources import MoissonResource
from moisson.sharded_harvest import SourceHarvest, harvest_shard, shard_status
from sources.shards import partition_key, split_partition_key

SHARDS = "source_shards"  # the asset and its dynamic partitions
SHARD_PARTITIONS = dg.DynamicPartitionsDefinition(name=SHARDS)
RAW_RECORDS = "raw_records"  # as assets/curation.py names it (not imported: curation imports this module)
LISTED = 20  # shard keys listed in metadata; all are counted

# Partitioned checks are a Dagster preview; one source's shards must not decide another's, so we use it knowingly.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message="Specifying a partitions_def on an AssetCheckSpec")


@dg.asset(name=SHARDS, partitions_def=SHARD_PARTITIONS, group_name="shards", kinds={"parquet"},
          owners=["team:data-engineering"],
          description="One shard of a source (an archive, a slice of files; `all` for a portal), read into its own "
                      "stage file. Materialised by the source's curation run for each shard it read without a failure; "
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
        if shard.failures:  # not a materialisation (a backfill of missing shards retries it): an observation saying so
            context.log_event(dg.AssetObservation(asset_key=SHARDS, partition=key, metadata={
                "source": source, "shard": shard.key, "read": shard.read, "failures": shard.failures}))
            continue
        if not (shard.read or key not in recorded):
            continue
        context.log_event(dg.AssetMaterialization(asset_key=SHARDS, partition=key, metadata={
            "source": source, "shard": shard.key, "read": shard.read, "failures": 0}))


def shards_metadata(harvested: SourceHarvest) -> dict:
    """What the source's step says of its shards: how many, which were read, which failed (read again next run)."""
    failed = harvested.shards_failed
    return {"shards": len(harvested.shards), "shards_read": len(harvested.shards_read),
            "shards_failed": len(failed), "shards_complete": not failed,
            **({"failed_shards": dg.MetadataValue.json(failed[:LISTED])} if failed else {}),
            **({"shards_dropped": dg.MetadataValue.json(harvested.dropped[:LISTED])} if harvested.dropped else {})}


SHARD_CHECKS = [shards_complete]
