"""Everything Moisson shows in Dagster, assembled in one place."""

from __future__ import annotations

import dagster as dg

from assets import catalogue, curation, publication
from assets.resources import MoissonResource
from pipelines.jobs import curate_source_job, publish_job
from pipelines.schedules import nightly_curation
from pipelines.sensors import new_warc_files, publish_after_curation
from quality.checks import CHECKS

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([catalogue, curation, publication]),
    asset_checks=CHECKS,
    jobs=[curate_source_job, publish_job],
    schedules=[nightly_curation],
    sensors=[new_warc_files, publish_after_curation],
    resources={"moisson": MoissonResource.from_env()},
)
