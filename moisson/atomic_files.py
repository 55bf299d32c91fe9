"""Every write is atomic: a temporary file in the data directory, flushed, then renamed into place.

A reader (or a run killed midway) therefore sees either the old file or the new one, never half of
one. Temporary files live in the data directory's tmp/ folder, on the same filesystem as their
destination, so the rename is atomic, and never under the published corpus folder.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


@contextmanager
def atomic_path(destination: Path, tmp_dir: Path):
    """Yield a temporary path; on success it replaces `destination` in one rename."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = tmp_dir / f".{destination.name}.{uuid.uuid4().hex}.tmp"
    try:
        yield temporary
        fsync_file(temporary)
        os.replace(temporary, destination)
        fsync_dir(destination.parent)
    finally:
        temporary.unlink(missing_ok=True)


def write_parquet(table: pa.Table, destination: Path, tmp_dir: Path, **options) -> None:
    """zstd unless `options` (pyarrow's `write_table` keywords, per column if need be) say otherwise."""
    with atomic_path(destination, tmp_dir) as temporary:
        pq.write_table(table, temporary, **({"compression": "zstd"} | options))


@contextmanager
def parquet_writer(destination: Path, tmp_dir: Path, schema: pa.Schema):
    """A Parquet writer for tables too big to hold at once: row groups are written as they come, and the
    file appears at `destination` only when the block ends without error."""
    with atomic_path(destination, tmp_dir) as temporary, pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
        yield writer


def write_text(text: str, destination: Path, tmp_dir: Path) -> None:
    with atomic_path(destination, tmp_dir) as temporary:
        temporary.write_text(text, encoding="utf-8")


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
