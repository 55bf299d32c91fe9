"""A source read once: each record goes to the raw stage file and, at the same moment, to the workers.

Reading an archive or a portal is mostly decompression and waiting on the network; extraction is
mostly computing. Done one after the other they add up; streamed, the workers extract while the
main process reads, and only the few chunks in flight hold payloads in memory, whatever the size
of the source. The raw stage file is still written whole (payloads included) so that any later
step can be re-run from it alone.

A source of local files that has not changed since the last pass (same files, sizes, modification
times, settings and reader code: `sources.input_fingerprint`, kept in the stage file's footer) is not
read again: that pass read it without a failure, so its stage file is what reading it would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from moisson.atomic_files import parquet_writer
from moisson.documents import RAW_METADATA_SCHEMA, RAW_SCHEMA, raw_records_table
from moisson.config import ExecutionPolicy
from moisson.execution import map_stream_for
from moisson.workers import Outcome
from sources.records import RawRecord, ReadFailure, ReadStats, SiteFileCapture

WRITE_EVERY = 256  # records per row group of the raw stage file
INPUTS_KEY, STATS_KEY, FAILURES_KEY = b"moisson.inputs", b"moisson.read_stats", b"moisson.failures"  # stage footer


@dataclass
class Harvest:
    """What one pass over a source produced."""

    records: pl.DataFrame  # the raw records' columns, without payloads (those are in the stage file)
    failures: list[ReadFailure] = field(default_factory=list)
    outcomes: dict[str, Outcome] | None = None  # content digest -> the workers' result, when they ran
    site_files: list[SiteFileCapture] = field(default_factory=list)  # rules files the archives captured (not records)


def harvest(items: Iterable[RawRecord | SiteFileCapture | ReadFailure], stats: ReadStats, stage_file: Path, tmp_dir: Path,
            work: Callable[[tuple], dict] | None = None, budget_s: float = 0, workers: int | None = None,
            preload: list[str] | None = None, known: Mapping[str, Outcome] | None = None,
            on_outcome: Callable[[str, Outcome], None] | None = None, inputs: str | None = None,
            budget_of: Callable[[tuple], float] | None = None, execution: ExecutionPolicy | None = None) -> Harvest:
    """Write every new record to `stage_file` and, if `work` is given, run it once per distinct payload
    whose outcome is not `known` already (from an earlier run, see `extraction_cache`); `on_outcome` sees
    each new outcome (digest, outcome) as it comes, e.g. to keep it before the pass is over. `inputs`, the
    source's input fingerprint, goes to the stage file's footer with the read statistics (`previous_harvest`).
    `execution` (policy.execution) says which engine runs `work`: the local process pool unless it names Ray."""
    reader = _Reader(items, stats, inputs)
    if work is None:
        for _ in reader.write(stage_file, tmp_dir):
            pass
        return reader.result()
    known = known or {}
    digests: list[str] = []  # in the order the payloads went to the workers, which is the order outcomes come back
    payloads = _payloads(reader.write(stage_file, tmp_dir), digests, known)
    outcomes: dict[str, Outcome] = {}
    map_stream = map_stream_for(execution)
    for index, outcome in enumerate(map_stream(work, payloads, budget_s, workers, preload or [], budget_of=budget_of)):
        outcomes[digests[index]] = outcome
        if on_outcome is not None:
            on_outcome(digests[index], outcome)
    reused = {digest: known[digest] for digest in reader.digests if digest in known}
    return reader.result(reused | outcomes)


def previous_harvest(stage_file: Path, inputs: str | None) -> tuple[pl.DataFrame, ReadStats] | None:
    """The records (without payloads) and read statistics of the last pass, if it read these same `inputs`
    without a failure; None when the source must be read (changed, never read, or read with failures,
    which are retried)."""
    if inputs is None or not stage_file.exists():
        return None
    try:
        footer = pq.read_metadata(stage_file).metadata or {}
        if footer.get(INPUTS_KEY, b"").decode() != inputs:
            return None
        if int(footer[FAILURES_KEY]):
            return None
        stats = ReadStats.from_json(footer[STATS_KEY].decode())
        return pl.from_arrow(pq.read_table(stage_file, columns=RAW_METADATA_SCHEMA.names)), stats
    except (OSError, KeyError, ValueError, pa.ArrowException):  # unreadable: reading the source again is the cure
        return None


def stage_payloads(stage_file: Path, digests: Iterable[str]) -> pl.DataFrame:
    """The stage file's rows (payloads included) holding these payloads: what to extract again without
    reading the source."""
    wanted = list(digests)
    return pl.scan_parquet(stage_file, glob=False).filter(pl.col("content_sha256").is_in(wanted)).collect()  # by name, not a pattern


def _payloads(records: Iterator[RawRecord], digests: list[str], known: Mapping[str, Outcome]) -> Iterator[tuple]:
    for record in records:
        if record.content_sha256 not in known:
            digests.append(record.content_sha256)
            yield record.payload, record.content_type, record.charset, record.url


class _Reader:
    """Reads the source, writes the raw stage file in row groups, yields each record whose payload is new."""

    def __init__(self, items: Iterable[RawRecord | SiteFileCapture | ReadFailure], stats: ReadStats, inputs: str | None = None):
        self.items, self.stats, self.inputs = items, stats, inputs
        self.metadata: list[pa.Table] = []  # the written records without their payloads
        self.failures: list[ReadFailure] = []
        self.site_files: list[SiteFileCapture] = []
        self.ids: set[str] = set()
        self.digests: set[str] = set()

    def write(self, stage_file: Path, tmp_dir: Path) -> Iterator[RawRecord]:
        batch: list[RawRecord] = []
        with parquet_writer(stage_file, tmp_dir, RAW_SCHEMA) as writer:
            for item in self.items:
                if isinstance(item, ReadFailure):
                    self.failures.append(item)
                    continue
                if isinstance(item, SiteFileCapture):
                    self.site_files.append(item)
                    continue
                if item.id in self.ids:
                    self.stats.skipped["repeated_record"] += 1
                    continue
                self.ids.add(item.id)
                batch.append(item)
                if item.content_sha256 not in self.digests:
                    self.digests.add(item.content_sha256)
                    yield item
                if len(batch) >= WRITE_EVERY:
                    self._flush(writer, batch)
            self._flush(writer, batch)
            writer.add_key_value_metadata({INPUTS_KEY: self.inputs or "", STATS_KEY: self.stats.to_json(),
                                           FAILURES_KEY: str(len(self.failures))})

    def _flush(self, writer, batch: list[RawRecord]) -> None:
        if batch:
            table = raw_records_table(batch)
            writer.write_table(table)
            self.metadata.append(table.drop_columns(["payload"]))
            batch.clear()

    def result(self, outcomes: dict[str, Outcome] | None = None) -> Harvest:
        tables = self.metadata or [raw_records_table([], RAW_METADATA_SCHEMA)]
        return Harvest(records=pl.from_arrow(pa.concat_tables(tables)), failures=self.failures, outcomes=outcomes,
                       site_files=self.site_files)
