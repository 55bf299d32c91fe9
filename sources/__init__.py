"""Connectors: each one knows a protocol or a format and nothing of Dagster.

`read_source` is the single entry point the harvest asset calls.
"""

from __future__ import annotations

from collections.abc import Iterator

from moisson.config import MoissonConfig
from sources.files import read_files
from sources.records import RawRecord, ReadFailure, ReadStats
from sources.warc import read_warc_files

MAX_RECORD_BYTES = 20 * 1024 * 1024
READERS = {"warc": read_warc_files, "files": read_files}


def read_source(config: MoissonConfig, name: str, stats: ReadStats) -> Iterator[RawRecord | ReadFailure]:
    """Every record of one source, in a stable order, with failures inline."""
    source = config.source(name)
    paths = config.resolve_paths(source)
    if not paths:
        stats.failures += 1
        yield ReadFailure(name, ", ".join(source.paths), "harvest", "NoInputFiles",
                          f"no file matches {source.paths} (relative to {config.base_dir})")
        return
    yield from READERS[source.kind](paths, name, stats, MAX_RECORD_BYTES, config.base_dir)


__all__ = ["RawRecord", "ReadFailure", "ReadStats", "read_source"]
