"""A source read once: each record goes to the raw stage file and, at the same moment, to the workers.

Reading an archive or a portal is mostly decompression and waiting on the network; extraction is
mostly computing. Done one after the other they add up; streamed, the workers extract while the
main process reads, and only the few chunks in flight hold payloads in memory, whatever the size
of the source. The raw stage file is still written whole (payloads included) so that any later
step can be re-run from it alone.

A source is read in shards (sources/shards.py): `harvest_shards` reads those that must be read in one stream to
the workers, each into its own stage file, and `union_shards` joins the shards' files, in shard order, into the
source's raw stage file, which holds exactly what reading the source whole would have written.

A shard of local files that has not changed since the last pass (same files, sizes, modification times, settings
and reader code: its input fingerprint, kept in its stage file's footer) is not read again: that pass read it
without a failure, so its stage file is what reading it would give (`unchanged_read`, moisson/sharded_harvest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from moisson.atomic_files import parquet_writer
from moisson.documents import RAW_METADATA_SCHEMA, RAW_SCHEMA, raw_records_table
from moisson.config import ExecutionPolicy
from moisson.execution import map_stream_for
from moisson.workers import Outcome
from sources.records import RawRecord, ReadFailure, ReadStats, SiteFileCapture

WRITE_EVERY = 256  # records per row group of the raw stage file
INPUTS_KEY, STATS_KEY, FAILURES_KEY = b"moisson.inputs", b"moisson.read_stats", b"moisson.failures"  # stage footer
NUMBERED_KEY = b"moisson.numbered"  # records the pass numbered (repeated ones too): where the next shard's positions start


@dataclass
class Harvest:
    """What one pass over a source produced."""

    records: pl.DataFrame  # the raw records' columns, without payloads (those are in the stage file)
    failures: list[ReadFailure] = field(default_factory=list)
    outcomes: dict[str, Outcome] | None = None  # content digest -> the workers' result, when they ran
    site_files: list[SiteFileCapture] = field(default_factory=list)  # rules files the archives captured (not records)
    stats: ReadStats = field(default_factory=ReadStats)  # what the pass counted (the same object the reader was given)


@dataclass
class ShardPass:
    """One shard to read in a pass: what it yields, the statistics it keeps, where its records go and the shard's
    input fingerprint (kept in that file's footer, for `previous_harvest`)."""

    key: str
    items: Iterable[RawRecord | SiteFileCapture | ReadFailure]
    stats: ReadStats
    stage_file: Path
    inputs: str | None = None


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
    harvests, outcomes = harvest_shards([ShardPass("", items, stats, stage_file, inputs)], tmp_dir, work, budget_s,
                                        workers, preload, known, on_outcome, budget_of, execution)
    return replace(harvests[""], outcomes=outcomes)


def harvest_shards(passes: Sequence[ShardPass], tmp_dir: Path, work: Callable[[tuple], dict] | None = None,
                   budget_s: float = 0, workers: int | None = None, preload: list[str] | None = None,
                   known: Mapping[str, Outcome] | None = None, on_outcome: Callable[[str, Outcome], None] | None = None,
                   budget_of: Callable[[tuple], float] | None = None,
                   execution: ExecutionPolicy | None = None) -> tuple[dict[str, Harvest], dict[str, Outcome] | None]:
    """`harvest` over several shards in one stream to the workers (one pool for all, each payload sent once),
    each shard written to its own stage file with its own statistics and failures. Returns each shard's Harvest
    (by key, without outcomes) and the outcomes of every payload read, when `work` ran (else None)."""
    readers = [_Reader(shard.items, shard.stats, shard.inputs) for shard in passes]

    def records() -> Iterator[RawRecord]:
        for shard, reader in zip(passes, readers):
            yield from reader.write(shard.stage_file, tmp_dir)

    if work is None:
        for _ in records():
            pass
        return {shard.key: reader.result() for shard, reader in zip(passes, readers)}, None
    known = known or {}
    digests: list[str] = []  # in the order the payloads went to the workers, which is the order outcomes come back
    payloads = _payloads(records(), digests, known)
    outcomes: dict[str, Outcome] = {}
    map_stream = map_stream_for(execution)
    for index, outcome in enumerate(map_stream(work, payloads, budget_s, workers, preload or [], budget_of=budget_of)):
        outcomes[digests[index]] = outcome
        if on_outcome is not None:
            on_outcome(digests[index], outcome)
    read = set().union(*(reader.digests for reader in readers))
    reused = {digest: known[digest] for digest in read if digest in known}
    return {shard.key: reader.result() for shard, reader in zip(passes, readers)}, reused | outcomes


def union_shards(shard_files: Sequence[Path], stage_file: Path, tmp_dir: Path,
                 inputs: str | None = None) -> tuple[pl.DataFrame, ReadStats]:
    """The source's raw stage file from its shards' files, in shard order: a record whose id an earlier shard
    holds is dropped (counted as `repeated_record`, as a whole read would), positions follow on from one shard to
    the next, and the footer sums the shards' statistics and failures. Row group by row group: the payloads are
    never all in memory. Returns the records (without payloads) and the summed statistics."""
    stats, ids, offset, failures = ReadStats(), set(), 0, 0
    metadata: list[pa.Table] = []
    with parquet_writer(stage_file, tmp_dir, RAW_SCHEMA) as writer:
        for path in shard_files:
            try:
                shard = pq.ParquetFile(path)
                footer = shard.metadata.metadata or {}
                stats.add(ReadStats.from_json(footer[STATS_KEY].decode()))
                failures += int(footer[FAILURES_KEY])
                for index in range(shard.num_row_groups):
                    table = _new_records(shard.read_row_group(index), ids, offset, stats)
                    if table.num_rows:
                        writer.write_table(table)
                        metadata.append(table.drop_columns(["payload"]))
                offset += int(footer.get(NUMBERED_KEY, shard.metadata.num_rows))
            except (OSError, KeyError, ValueError, pa.ArrowException) as error:
                raise UnreadableShard(path, error) from error
        writer.add_key_value_metadata({INPUTS_KEY: inputs or "", STATS_KEY: stats.to_json(), FAILURES_KEY: str(failures)})
    tables = metadata or [raw_records_table([], RAW_METADATA_SCHEMA)]
    return pl.from_arrow(pa.concat_tables(tables)), stats


class UnreadableShard(ValueError):
    """A shard's stage file could not be read back while joining the shards (cut by a full disk, overwritten):
    reading that shard again rebuilds it."""

    def __init__(self, path: Path, cause: BaseException):
        self.path = path
        super().__init__(f"shard file {path} is unreadable ({type(cause).__name__}: {cause})")


def shard_failures(shard_file: Path) -> int | None:
    """How many failures the shard's last read had, from its file's footer; None when there is no readable file."""
    try:
        footer = pq.read_metadata(shard_file).metadata or {}
        return int(footer[FAILURES_KEY])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


def _new_records(table: pa.Table, ids: set[str], offset: int, stats: ReadStats) -> pa.Table:
    """The rows whose id no earlier row had, with the shard's positions moved past the shards before it."""
    keep = []
    for record_id in table.column("id").to_pylist():
        keep.append(record_id not in ids)
        ids.add(record_id)
    dropped = len(keep) - sum(keep)
    if dropped:
        stats.skipped["repeated_record"] += dropped
        table = table.filter(pa.array(keep))
    if offset:
        position = table.schema.get_field_index("source_position")
        shifted = pc.add(table.column(position), pa.scalar(offset, pa.int64()))
        table = table.set_column(position, table.schema.field(position), shifted)
    return table


def previous_harvest(stage_file: Path, inputs: str | None) -> tuple[pl.DataFrame, ReadStats] | None:
    """The records (without payloads) and read statistics of the last pass, if it read these same `inputs`
    without a failure; None when the source must be read (changed, never read, or read with failures,
    which are retried)."""
    stats = unchanged_read(stage_file, inputs)
    if stats is None:
        return None
    try:
        return pl.from_arrow(pq.read_table(stage_file, columns=RAW_METADATA_SCHEMA.names)), stats
    except (OSError, ValueError, pa.ArrowException):  # unreadable: reading the source again is the cure
        return None


def unchanged_read(stage_file: Path, inputs: str | None) -> ReadStats | None:
    """The read statistics of the last pass, from the stage file's footer alone, if it read these same `inputs`
    without a failure; None when they must be read again."""
    if inputs is None or not stage_file.exists():
        return None
    try:
        footer = pq.read_metadata(stage_file).metadata or {}
        if footer.get(INPUTS_KEY, b"").decode() != inputs or int(footer[FAILURES_KEY]):
            return None
        return ReadStats.from_json(footer[STATS_KEY].decode())
    except (OSError, KeyError, ValueError, pa.ArrowException):  # unreadable: reading the source again is the cure
        return None


def stored_inputs(stage_file: Path) -> str | None:
    """The input fingerprint in the stage file's footer ('' when the pass had none); None when unreadable."""
    try:
        return (pq.read_metadata(stage_file).metadata or {})[INPUTS_KEY].decode()
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


def stage_payloads(stage_file: Path, digests: Iterable[str]) -> pl.DataFrame:
    """The stage file's rows (payloads included) holding these payloads: what to extract again without
    reading the source."""
    wanted = list(digests)
    return pl.scan_parquet(stage_file, glob=False).filter(pl.col("content_sha256").is_in(wanted)).collect()  # by name, not a pattern


def _payloads(records: Iterator[RawRecord], digests: list[str], known: Mapping[str, Outcome]) -> Iterator[tuple]:
    """Each payload not `known` once, though several shards hold it."""
    sent: set[str] = set()
    for record in records:
        if record.content_sha256 not in known and record.content_sha256 not in sent:
            sent.add(record.content_sha256)
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
        self.numbered = 0  # records read, repeated ones included: positions 0..numbered-1 are this pass's

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
                self.numbered += 1
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
                                           FAILURES_KEY: str(len(self.failures)), NUMBERED_KEY: str(self.numbered)})

    def _flush(self, writer, batch: list[RawRecord]) -> None:
        if batch:
            table = raw_records_table(batch)
            writer.write_table(table)
            self.metadata.append(table.drop_columns(["payload"]))
            batch.clear()

    def result(self, outcomes: dict[str, Outcome] | None = None) -> Harvest:
        tables = self.metadata or [raw_records_table([], RAW_METADATA_SCHEMA)]
        return Harvest(records=pl.from_arrow(pa.concat_tables(tables)), failures=self.failures, outcomes=outcomes,
                       site_files=self.site_files, stats=self.stats)
