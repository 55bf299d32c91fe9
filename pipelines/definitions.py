"""Everything Moisson shows in Dagster, assembled in one place."""

from __future__ import annotations

import dagster as dg

from assets import catalogue, curation, publication, shards
from assets.resources import MoissonResource
from pipelines.jobs import curate_shard_job, curate_source_job, publish_job
from pipelines.schedules import nightly_curation
from pipelines.sensors import new_warc_files, publish_after_curation
from quality.checks import CHECKS

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([catalogue, curation, publication, shards]),
    asset_checks=[*CHECKS, *shards.SHARD_CHECKS],
    jobs=[curate_source_job, curate_shard_job, publish_job],
    schedules=[nightly_curation],
    sensors=[new_warc_files, publish_after_curation],
    resources={"moisson": MoissonResource.from_env()},
)
