"""One partition per source, so a failing source never blocks the others and each can be backfilled alone."""

from __future__ import annotations

import dagster as dg

from assets.resources import sources_file_from_env
from moisson.config import load_config

SOURCE_PARTITIONS = dg.StaticPartitionsDefinition(load_config(sources_file_from_env()).source_names)
