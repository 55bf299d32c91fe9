"""Two jobs: curate one source (a partition), then publish everything curated."""

from __future__ import annotations

import dagster as dg

from assets.partitions import SOURCE_PARTITIONS
from assets.resources import sources_file_from_env
from moisson.config import load_config
from pipelines.run_tags import source_run_config

CURATE_SOURCE = "curate_source"
PUBLISH = "publish"

curate_source_job = dg.define_asset_job(
    CURATE_SOURCE,
    selection=dg.AssetSelection.groups("harvest", "curation"),
    description="Harvest one source and run it through extraction, language, licence and quality.",
    # each run tagged with the host it harvests (moisson/host), for the production queue's limit per host
    config=source_run_config(load_config(sources_file_from_env()), SOURCE_PARTITIONS),
)

publish_job = dg.define_asset_job(
    PUBLISH,
    selection=dg.AssetSelection.groups("publication"),
    tags={"moisson/publish": "true"},
    description="Deduplicate across sources and runs, publish the corpus and load the warehouse.",
)
