"""Two jobs: curate one source (a partition), then publish everything curated."""

from __future__ import annotations

import dagster as dg

CURATE_SOURCE = "curate_source"
PUBLISH = "publish"

curate_source_job = dg.define_asset_job(
    CURATE_SOURCE,
    selection=dg.AssetSelection.groups("harvest", "curation"),
    description="Harvest one source and run it through extraction, language, licence and quality.",
)

publish_job = dg.define_asset_job(
    PUBLISH,
    selection=dg.AssetSelection.groups("publication"),
    tags={"moisson/publish": "true"},
    description="Deduplicate across sources and runs, publish the corpus and load the warehouse.",
)
