"""Three jobs: curate one source (a partition), read one shard of a source alone, publish everything curated."""

from __future__ import annotations

import dagster as dg

from assets.partitions import SOURCE_PARTITIONS
from assets.resources import sources_file_from_env
from assets.shards import SHARD_PARTITIONS, SHARDS, shards_complete
from moisson.config import load_config
from pipelines.run_tags import shard_run_config, source_run_config

CURATE_SOURCE = "curate_source"
CURATE_SHARD = "curate_shard"
PUBLISH = "publish"

curate_source_job = dg.define_asset_job(
    CURATE_SOURCE,
    # the shards check is asked for, not run with every source (a record that failed to read is the failure
    # rate check's business, and `moisson run`'s verdict stays what it was)
    selection=dg.AssetSelection.groups("harvest", "curation") - dg.AssetSelection.checks(shards_complete),
    description="Harvest one source and run it through extraction, language, licence and quality.",
    # each run tagged with the host it harvests (moisson/host), for the production queue's limit per host
    config=source_run_config(load_config(sources_file_from_env()), SOURCE_PARTITIONS),
)

curate_shard_job = dg.define_asset_job(
    CURATE_SHARD,
    selection=dg.AssetSelection.assets(SHARDS),
    # tagged with the shard's source and its host, for the production queue's limit per host
    config=shard_run_config(load_config(sources_file_from_env()), SHARD_PARTITIONS),
    description="Read one shard of a source (partition <source>/<shard>) alone into its stage file; the source's "
                "next curate_source run joins it to the others without reading it again.",
)

publish_job = dg.define_asset_job(
    PUBLISH,
    selection=dg.AssetSelection.groups("publication"),
    tags={"moisson/publish": "true"},
    description="Deduplicate across sources and runs, publish the corpus and load the warehouse.",
)
