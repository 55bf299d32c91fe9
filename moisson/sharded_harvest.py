"""A source harvested shard by shard: only the shards that changed, or failed last time, are read again.

Why: the unit that is skipped when unchanged and retried when it failed is the shard (one archive, one slice of
files), not the source; a source of 3 archives where one changed reads that one. Each shard's records go to its
own stage file (sources/shards.py `shard_file`), whose footer holds the shard's input fingerprint, statistics and
failure count; the source's raw stage file is then the union of its shards' files in shard order
(`single_pass.union_shards`), exactly what reading the source whole would have written, so every later step and
the warehouse read what they always read.

Nothing here knows Dagster: assets/curation.py calls `harvest_source` for a source's run, assets/shards.py calls
`harvest_shard` to read one shard alone (a backfill of one shard partition).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from moisson.atomic_files import write_parquet
from moisson.config import ExecutionPolicy, MoissonConfig
from moisson.layout import DataLayout
from moisson.quarantine import quarantine
from moisson.single_pass import (Harvest, ShardPass, UnreadableShard, harvest_shards, previous_harvest, shard_failures,
                                 stored_inputs, union_shards, unchanged_read)
from moisson.workers import Outcome
from sources.captured_sites import SITE_FILES_SCHEMA, site_files_table
from sources.records import ReadFailure, ReadStats
from sources.shards import Shard, find_shard, read_shard, shard_file, shard_site_file, shards_dir, source_shards

LOG = logging.getLogger(__name__)
SITE_FILE_SKIP = "site_file_"  # prefix of the skipped-record reasons that count captured rules files


@dataclass(frozen=True)
class ShardState:
    """Where one shard stands after a pass: read in it or not, and its last read's failures."""

    key: str
    read: bool  # read in this pass (else unchanged since a read without failure)
    failures: int  # of its last read


@dataclass
class SourceHarvest:
    """One pass over a source's shards."""

    records: pl.DataFrame  # the source's raw records (without payloads), as in its raw stage file
    stats: ReadStats  # the source's read statistics, every shard's summed (unchanged shards' from their last read)
    failures: list[ReadFailure]  # this pass's failures (an unchanged shard had none)
    shards: list[ShardState]
    outcomes: dict[str, Outcome] | None = None  # the workers' outcomes for the payloads read in this pass
    dropped: list[str] = field(default_factory=list)  # shard files removed: their shard is gone from the source
    files_read: int = 0  # files (archives, dumps) this pass opened: those of the shards it read

    @property
    def shards_read(self) -> list[str]:
        return [shard.key for shard in self.shards if shard.read]

    @property
    def shards_failed(self) -> list[str]:
        return [shard.key for shard in self.shards if shard.failures]


def harvest_source(config: MoissonConfig, source: str, layout: DataLayout, stage_file: Path, site_file: Path,
                   work: Callable[[tuple], dict] | None = None, known: Mapping[str, Outcome] | None = None,
                   on_outcome: Callable[[str, Outcome], None] | None = None, **options) -> SourceHarvest:
    """Read the shards that must be read (changed, never read, failed last time, or that cannot tell), in one
    stream to the workers when `work` is given; drop the files of shards gone from the source; write the source's
    raw stage file `stage_file` and captured-rules side file `site_file` from every shard's files. `options`:
    `harvest_shards`'s (budget_s, workers, preload, budget_of, execution)."""
    shards = source_shards(config, source, layout)
    stale = [shard for shard in shards if not _unchanged(layout, source, shard)]
    harvests, outcomes = _read(config, source, layout, stale, work, known, on_outcome, **options)
    dropped = _drop_gone(layout, source, shards)
    files = [shard_file(layout, source, shard.key) for shard in shards]
    inputs = _source_inputs(shards)
    previous = None if stale else previous_harvest(stage_file, inputs)
    if previous is not None and _site_files_count(site_file) == _captured(previous[1]):
        records, stats = previous
    else:
        records, stats = _union(config, source, layout, shards, stage_file, inputs, harvests)
        _write_union_site_files(layout, source, shards, site_file)
    files_read = sum(harvest.stats.files for harvest in harvests.values())
    states = [ShardState(shard.key, shard.key in harvests, shard_failures(path) or 0) for shard, path in zip(shards, files)]
    failures = [failure for harvest in harvests.values() for failure in harvest.failures]
    return SourceHarvest(records, stats, failures, states, outcomes, dropped, files_read)


def harvest_shard(config: MoissonConfig, source: str, key: str, layout: DataLayout) -> tuple[ShardState, list[ReadFailure]]:
    """Read one shard alone into its stage file (a backfill of one shard), unless it is unchanged since a read
    without failure. The source's raw stage file is left alone: the source's next run finds the shard up to date
    and takes it from its file. KeyError when the source has no such shard any more."""
    shard = find_shard(config, source, key, layout)
    if _unchanged(layout, source, shard):
        return ShardState(key, False, 0), []
    harvests, _ = _read(config, source, layout, [shard], None, None, None)
    return ShardState(key, True, len(harvests[key].failures)), harvests[key].failures


def _union(config: MoissonConfig, source: str, layout: DataLayout, shards: list[Shard], stage_file: Path,
           inputs: str | None, harvests: dict[str, Harvest]) -> tuple[pl.DataFrame, ReadStats]:
    """`union_shards`; a shard file that cannot be read back is moved to quarantine and its shard read again
    (without the workers: the source's step extracts what the cache lacks from the stage file)."""
    files = {shard_file(layout, source, shard.key): shard for shard in shards}
    for _ in range(len(shards) + 1):
        try:
            return union_shards(list(files), stage_file, layout.tmp_dir, inputs)
        except UnreadableShard as bad:
            moved = quarantine(bad.path, layout.root)
            LOG.warning("%s; moved to %s; the shard is read again", bad, moved)
            shard = files[bad.path]
            harvests.update(_read(config, source, layout, [shard], None, None, None)[0])
    raise RuntimeError(f"source {source!r}: its shard files stay unreadable after reading them again")


def shard_status(config: MoissonConfig, source: str, layout: DataLayout) -> dict[str, list[str]]:
    """Each of the source's shards, by where it stands on disk: `complete` (read, in its current state, without a
    failure), `failed` (its last read had failures: the next run reads it again), `changed` (its files changed
    since it was read) or `missing` (never read). The source's curation is complete when every shard is."""
    status: dict[str, list[str]] = {"complete": [], "failed": [], "changed": [], "missing": []}
    for shard in source_shards(config, source, layout):
        path = shard_file(layout, source, shard.key)
        failures = shard_failures(path)
        if failures is None:
            status["missing"].append(shard.key)
        elif failures:
            status["failed"].append(shard.key)
        elif shard.fingerprint is not None and stored_inputs(path) != shard.fingerprint:
            status["changed"].append(shard.key)
        else:
            status["complete"].append(shard.key)
    return status


def _read(config: MoissonConfig, source: str, layout: DataLayout, shards: list[Shard], work, known, on_outcome,
          **options) -> tuple[dict[str, Harvest], dict[str, Outcome] | None]:
    """Read `shards`, on Ray when the execution says so (moisson/ray_reading.py: the shards of local files, each a
    task), here otherwise; each shard's captured rules files go beside its records."""
    stats = [ReadStats() for _ in shards]
    reads = _shard_reads(config, source, layout, shards, stats, options.get("execution"))
    passes = [ShardPass(shard.key, reads(index), stats[index], shard_file(layout, source, shard.key), shard.fingerprint)
              for index, shard in enumerate(shards)]
    harvests, outcomes = harvest_shards(passes, layout.tmp_dir, work, known=known, on_outcome=on_outcome, **options)
    for key, harvest in harvests.items():
        path = shard_site_file(layout, source, key)
        if harvest.site_files or path.exists():
            write_parquet(site_files_table(harvest.site_files), path, layout.tmp_dir)
    return harvests, outcomes


def _shard_reads(config: MoissonConfig, source: str, layout: DataLayout, shards: list[Shard], stats: list[ReadStats],
                 execution: ExecutionPolicy | None) -> Callable[[int], Iterable]:
    """Shard i's items, lazily: a shard's read (or its Ray task) starts when the stream reaches it."""
    if execution is not None and execution.engine == "ray":
        from moisson.ray_reading import ShardReads

        return ShardReads(config, source, shards, stats, execution, layout).items

    def here(index: int) -> Iterator:
        yield from read_shard(config, source, shards[index], stats[index], layout)

    return here


def _unchanged(layout: DataLayout, source: str, shard: Shard) -> bool:
    """Read before from these same inputs without a failure, and its captured rules files still beside it (a
    side file lost would lose their reservations without a word: the shard is read again)."""
    stats = unchanged_read(shard_file(layout, source, shard.key), shard.fingerprint)
    return stats is not None and _site_files_count(shard_site_file(layout, source, shard.key)) == _captured(stats)


def _captured(stats: ReadStats) -> int:
    return sum(count for reason, count in stats.skipped.items() if reason.startswith(SITE_FILE_SKIP))


def _site_files_count(path: Path) -> int | None:
    try:
        return pq.read_metadata(path).num_rows if path.exists() else 0
    except (OSError, pa.ArrowException):
        return None


def _write_union_site_files(layout: DataLayout, source: str, shards: list[Shard], site_file: Path) -> None:
    """The source's side file: its shards' captured rules files, in shard order (the order the archives are read,
    which `CapturedSites` breaks date ties by); none written for a source that never had any."""
    parts = [shard_site_file(layout, source, shard.key) for shard in shards]
    tables = [pq.read_table(path) for path in parts if path.exists()]
    if any(table.num_rows for table in tables) or site_file.exists():
        table = pa.concat_tables(tables) if tables else SITE_FILES_SCHEMA.empty_table()
        write_parquet(table, site_file, layout.tmp_dir)


def _drop_gone(layout: DataLayout, source: str, shards: list[Shard]) -> list[str]:
    """Remove the files of shards the source no longer has (an archive deleted, a slice merged), so that the
    union never holds their records; returns the removed file names."""
    folder = shards_dir(layout, source)
    if not folder.exists():
        return []
    kept = {shard_file(layout, source, shard.key).name for shard in shards}
    kept |= {shard_site_file(layout, source, shard.key).name for shard in shards}
    gone = sorted(path for path in folder.glob("*.parquet") if path.name not in kept)
    for path in gone:
        path.unlink(missing_ok=True)
    return [path.name for path in gone]


def _source_inputs(shards: list[Shard]) -> str | None:
    """The source's input fingerprint: its shards' keys and fingerprints; None when one shard cannot tell."""
    if any(shard.fingerprint is None for shard in shards):
        return None
    return hashlib.sha256(repr([(shard.key, shard.fingerprint) for shard in shards]).encode()).hexdigest()[:32]
