"""The near-duplicate stage on Ray (policy.execution.engine: ray): the same decisions as the local path, the work spread.

Each step of `moisson.deduplication` is cut where its result does not depend on the cut:
- signatures and band hashes: Ray tasks over the batches of documents, where the texts are sent (on a cluster, the
  node that reads the shard); each text's signature depends on that text only.
- the band join: one Ray task per range of bands, each running DuckDB over its slice of the new band rows and the
  stored band rows of its range (read from the index parts, which are written band after band, so a task reads the
  row groups of its bands only); then one task reads the ordinals of the stored documents met (one scan of the kept
  ids, not one per range); then each range ranks the stored members of its buckets. A bucket (band, hash) lies in
  one range, so every bucket's pairs, its star and chain past BUCKET_ALL_PAIRS members, and the ranks of its stored
  members are those the single query gives; the driver takes the union (a pair sharing two bands in two ranges is
  one pair). Stored documents are numbered on the driver by (ordinal, id), as the local query numbers them.
- verification: chunks of pairs, each a Ray task with the signatures and shingles of its documents only (and, for
  pairs with stored documents whose estimate is not conclusive, the stored texts, which the driver looks up in the
  corpus as the local path does); a pair's similarity depends on its two documents only.
- components run on the driver over the verified edges only (DuckDB, `near_duplicates.components`): that list is the
  reduced graph, one edge per near duplicate found (about 5,000 edges for 100,000 documents in bench/minhash.py),
  orders of magnitude below the band rows (17 per document).

A task that dies (a worker killed, a node lost) is run again by Ray (RETRIES) with the same input: the result does
not change. Tasks are plain functions of their input, so the driver holds no state a retry could miss.
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq

from moisson.minhash import MinHasher, Sketches, sketch_batch
from moisson.near_duplicates import (NEW_PAIRS, STORED_PAIRS, ShingleSets, band_hashes, conclusive, exact_similarities,
                                     pair_estimates)

RETRIES = 3  # runs again of a task whose worker died: a killed worker loses nothing
PARTITIONS_PER_CPU = 2  # band ranges per CPU: a slow range does not hold the others' CPUs idle
VERIFY_CHUNK = 50_000  # candidate pairs per verification task
TASK_MEMORY = "500MB"  # DuckDB's limit in one join task (it spills past it): two tasks per 2 cores stay under 1 GB
NEW_ROW_BYTES = 2 + 8 + 8  # band (int16), hash (uint64), doc (int64): one new band row sent to its range
MATCHED_SCHEMA = {"band": pl.Int16, "hash": pl.UInt64, "id": pl.String}
ORDINAL_SCHEMA = {"id": pl.String, "ordinal": pl.Int64}


@dataclass(frozen=True)
class JoinSlice:
    """What one band range's task needs: its new band rows, the index parts, and where DuckDB may spill."""

    low: int
    high: int  # inclusive
    band: np.ndarray
    hash: np.ndarray
    doc: np.ndarray
    stored_bands: list[str] | None
    kept: list[str] | None
    spill: str


@dataclass
class RayStats:
    """What the distributed path moved and how big its workers grew, for benchmarks and docs/scale.md."""

    partitions: int = 0  # band ranges of the last join
    new_rows_bytes: int = 0  # new band rows sent to the range tasks (and the matched stored rows sent back to them)
    stored_read_bytes: int = 0  # uncompressed bytes of the stored band row groups the range tasks read
    kept_read_bytes: int = 0  # uncompressed bytes of the kept parts' id and ordinal columns read (once per join)
    result_bytes: int = 0  # pairs, matched stored rows and ordinals sent back to the driver
    worker_peak_rss_mb: dict[str, float] = field(default_factory=dict)  # step -> largest peak RSS of a worker running it

    @property
    def shuffle_bytes(self) -> int:
        return self.new_rows_bytes + self.stored_read_bytes + self.kept_read_bytes + self.result_bytes

    def saw(self, step: str, peaks: Sequence[float]) -> None:
        self.worker_peak_rss_mb[step] = max([self.worker_peak_rss_mb.get(step, 0.0), *peaks])


def _ray():
    import ray

    return ray


def measured(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """`function(*args)` in a Ray task, and the peak RSS (MB) of the worker process that ran it (workers are reused:
    the peak of every task it ran so far)."""
    return function(*args), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_all(function: Callable[..., Any], calls: list[tuple], stats: RayStats, step: str) -> list[Any]:
    """`function(*call)` for each call as Ray tasks (run again when their worker dies), results in call order."""
    remote = _ray().remote(num_cpus=1, max_retries=RETRIES)(measured)
    done = _ray().get([remote.remote(function, *call) for call in calls])
    stats.saw(step, [peak for _, peak in done])
    return [result for result, _ in done]


# ---------------------------------------------------------------- signatures


def sketch_and_band(job: tuple[int, int, int, list[str], bool], bands: int, rows: int) -> tuple[Sketches, np.ndarray]:
    """One batch's sketches and band hashes, in the task that holds its texts."""
    sketches = sketch_batch(job)
    return sketches, band_hashes(sketches.signatures, bands, rows)


def sketches_on_ray(jobs: Sequence[tuple[int, int, int, list[str], bool]], bands: int, rows: int,
                    num_perm: int, stats: RayStats) -> tuple[Sketches, np.ndarray]:
    """`sketch_batch` of every job as Ray tasks, put back in job order, and the band hashes computed beside them."""
    if not jobs:
        return Sketches.concat([], num_perm), np.empty((0, bands), np.uint64)
    done = _run_all(sketch_and_band, [(job, bands, rows) for job in jobs], stats, "signatures")
    return Sketches.concat([sketches for sketches, _ in done], num_perm), np.concatenate([found for _, found in done])


# ---------------------------------------------------------------- band join


def band_ranges(bands: int, partitions: int) -> list[tuple[int, int]]:
    """Contiguous, inclusive ranges of band numbers, as even as can be, at most one per band."""
    partitions = max(1, min(partitions, bands))
    edges = np.linspace(0, bands, partitions + 1).round().astype(int)
    return [(int(low), int(high) - 1) for low, high in zip(edges[:-1], edges[1:]) if high > low]


def _task_connection(spill: str) -> duckdb.DuckDBPyConnection:
    Path(spill).mkdir(parents=True, exist_ok=True)  # DuckDB creates the last folder only, and only once it spills
    return duckdb.connect(config={"memory_limit": TASK_MEMORY, "temp_directory": spill, "threads": 1,
                                  "preserve_insertion_order": False})


def join_partition(part: JoinSlice) -> tuple[np.ndarray, pl.DataFrame]:
    """The band join of one range, first half: pairs of new documents (left < right, by the local path's query
    over this range's rows) and the stored band rows (band, hash, id) of the buckets its new rows fall in."""
    with _task_connection(part.spill) as con:
        con.register("incoming", pl.DataFrame({"band": part.band, "hash": part.hash, "doc": part.doc}))
        new = con.execute(NEW_PAIRS).fetchnumpy()
        pairs = np.column_stack([new["left_doc"], new["right_doc"]]).astype(np.int64).reshape(-1, 2)
        matched = pl.DataFrame(schema=MATCHED_SCHEMA)
        if part.stored_bands is not None:
            found = con.sql("SELECT DISTINCT s.band, s.hash, s.id FROM read_parquet(?) s "
                            "JOIN (SELECT DISTINCT band, hash FROM incoming) USING (band, hash) "
                            f"WHERE s.band BETWEEN {part.low} AND {part.high}", params=[part.stored_bands])
            matched = pl.from_arrow(found.to_arrow_table()).cast(MATCHED_SCHEMA)
    return pairs, matched


def stored_ordinals(kept: list[str], ids: list[str], spill: str) -> pl.DataFrame:
    """id -> ordinal (the smallest, as the local path takes it) of these stored documents: one scan of the kept
    parts' ids for the whole join, not one per range. Ids without a kept row (a crash between the two writes of a
    part) are left out, so their bands match nothing."""
    with _task_connection(spill) as con:
        con.register("wanted", pl.DataFrame({"id": ids}, schema={"id": pl.String}))
        found = con.sql("SELECT id, min(ordinal) AS ordinal FROM read_parquet(?) JOIN wanted USING (id) GROUP BY id",
                        params=[kept])
        return pl.from_arrow(found.to_arrow_table()).cast(ORDINAL_SCHEMA)


def rank_partition(part: JoinSlice, stored: pl.DataFrame) -> pl.DataFrame:
    """The band join of one range, second half: (doc, id) pairs of new documents with the stored members of their
    buckets (band, hash, id, ordinal), a bounded number per big bucket, by the local path's STORED_PAIRS."""
    with _task_connection(part.spill) as con:
        con.register("incoming", pl.DataFrame({"band": part.band, "hash": part.hash, "doc": part.doc}))
        con.register("stored_bands", stored)
        return pl.from_arrow(con.sql(STORED_PAIRS).to_arrow_table()).cast({"doc": pl.Int64, "id": pl.String})


def candidate_pairs_on_ray(incoming: pl.DataFrame, bands: int, stored_bands: list[str] | None, kept: list[str] | None,
                           spill: Path, partitions: int, stats: RayStats,
                           partition: Callable[[JoinSlice], tuple[np.ndarray, pl.DataFrame]] = join_partition,
                           ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The local path's candidate pairs (`DedupStore._candidate_pairs`) from Ray tasks per band range: pairs of new
    documents (sorted, distinct), stored ids numbered by (ordinal, id), pairs (doc, stored number).
    `incoming`: band (int16), hash (uint64), doc (int64) of the live new documents. Three rounds: each range joins
    its new rows with its stored band rows; one task reads the ordinals of the stored documents met; each range
    ranks the stored members of its buckets. `partition` is the first round's task (a test gives one that kills its
    worker once)."""
    ranges = band_ranges(bands, partitions)
    band, hash_, doc = (incoming[name].to_numpy() for name in ("band", "hash", "doc"))
    slices = []
    for low, high in ranges:
        mine = (band >= low) & (band <= high)
        slices.append(JoinSlice(low, high, band[mine], hash_[mine], doc[mine], stored_bands, kept, str(spill / f"range-{low}")))
    done = _run_all(partition, [(part,) for part in slices], stats, "band join")
    new = np.unique(np.concatenate([pairs for pairs, _ in done]).reshape(-1, 2), axis=0)
    stats.partitions = len(ranges)
    stats.new_rows_bytes += len(band) * NEW_ROW_BYTES
    stats.stored_read_bytes += _stored_read_bytes(stored_bands, ranges)
    stats.result_bytes += int(new.nbytes)
    matched = [rows for _, rows in done]
    ids = pl.concat(matched)["id"].unique().sort().to_list()
    if not ids or kept is None:
        return new, [], np.empty((0, 2), np.int64)
    ordinals = _run_all(stored_ordinals, [(kept, ids, str(spill / "ordinals"))], stats, "band join")[0]
    stats.kept_read_bytes += _column_bytes(kept, ("id", "ordinal"))
    ranked = [(part, rows.join(ordinals, on="id")) for part, rows in zip(slices, matched) if rows.height]
    stats.result_bytes += sum(rows.estimated_size() for rows in matched) + ordinals.estimated_size()
    stats.new_rows_bytes += sum(rows.estimated_size() for _, rows in ranked)  # sent again, with their ordinals
    found = pl.concat(_run_all(rank_partition, ranked, stats, "band join")).unique(["doc", "id"])
    stats.result_bytes += found.estimated_size()
    numbered = (ordinals.filter(pl.col("id").is_in(found["id"].implode())).sort("ordinal", "id")
                .with_row_index("node").with_columns(pl.col("node").cast(pl.Int64)))
    pairs = found.join(numbered.select("id", "node"), on="id").sort("doc", "node")
    stored = np.column_stack([pairs["doc"].to_numpy(), pairs["node"].to_numpy()]).astype(np.int64).reshape(-1, 2)
    return new, numbered["id"].to_list(), stored


def _stored_read_bytes(stored_bands: list[str] | None, ranges: list[tuple[int, int]]) -> int:
    """Uncompressed bytes of the stored band row groups the range tasks read: a row group whose band statistics
    overlap a range is read by that range's task (all of them, for a part written before bands were grouped)."""
    total = 0
    for path in stored_bands or []:
        metadata = pq.ParquetFile(path).metadata
        band_column = metadata.schema.to_arrow_schema().get_field_index("band")
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            statistics = row_group.column(band_column).statistics
            low, high = ((statistics.min, statistics.max) if statistics is not None and statistics.has_min_max
                         else (-1, 1 << 15))
            readers = sum(1 for first, last in ranges if first <= high and low <= last)
            total += readers * row_group.total_byte_size
    return total


def _column_bytes(files: list[str] | None, columns: tuple[str, ...]) -> int:
    """Uncompressed bytes of these columns in these Parquet files (what a scan of them decodes)."""
    total = 0
    for path in files or []:
        metadata = pq.ParquetFile(path).metadata
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            total += sum(row_group.column(i).total_uncompressed_size for i in range(row_group.num_columns)
                         if row_group.column(i).path_in_schema in columns)
    return total


# ---------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerifyChunk:
    """Pairs of new documents renumbered among the chunk's own documents, with their signatures and shingles."""

    pairs: np.ndarray
    signatures: np.ndarray
    shingles: np.ndarray
    shingle_counts: np.ndarray
    threshold: float
    num_perm: int
    measure: str


def verify_chunk(chunk: VerifyChunk) -> tuple[np.ndarray, int]:
    """The local path's rule (`DedupStore._new_similarity`) on one chunk: the estimate where it is conclusive, else
    the exact similarity on the shingles; and how many pairs needed the count."""
    similarity = pair_estimates(chunk.signatures, chunk.signatures, chunk.pairs)
    uncertain = ~conclusive(similarity, chunk.threshold, chunk.num_perm, chunk.measure)
    if uncertain.any():
        texts = np.unique(chunk.pairs[uncertain])
        sets = ShingleSets.of(*_gather_shingles(chunk.shingles, chunk.shingle_counts, texts))
        similarity[uncertain] = exact_similarities(sets, sets, np.searchsorted(texts, chunk.pairs[uncertain]),
                                                   chunk.measure)
    return similarity, int(uncertain.sum())


def new_similarity_on_ray(sketches: Sketches, pairs: np.ndarray, threshold: float, num_perm: int,
                          measure: str, stats: RayStats) -> tuple[np.ndarray, int]:
    """Similarity of pairs of new documents, VERIFY_CHUNK pairs per Ray task; and the pairs counted exactly."""
    if len(pairs) == 0:
        return np.empty(0), 0
    chunks = []
    for start in range(0, len(pairs), VERIFY_CHUNK):
        chunk = pairs[start : start + VERIFY_CHUNK]
        docs = np.unique(chunk)
        shingles, counts = _gather_shingles(sketches.shingles, sketches.shingle_counts, docs)
        chunks.append((VerifyChunk(np.searchsorted(docs, chunk), sketches.signatures[docs], shingles, counts,
                                   threshold, num_perm, measure),))
    done = _run_all(verify_chunk, chunks, stats, "verification")
    return np.concatenate([similarity for similarity, _ in done]), sum(counted for _, counted in done)


@dataclass(frozen=True)
class StoredChunk:
    """(new, stored) pairs renumbered within the chunk, the new documents' shingles and the stored texts."""

    pairs: np.ndarray
    shingles: np.ndarray
    shingle_counts: np.ndarray
    stored_texts: list[str]
    hasher: MinHasher
    measure: str


def verify_stored_chunk(chunk: StoredChunk) -> np.ndarray:
    """Exact similarity of each (new, stored) pair of the chunk: the stored texts shingled here, where they were sent."""
    stored_sets = ShingleSets.of(*chunk.hasher.shingle_hashes(chunk.stored_texts))
    new_sets = ShingleSets.of(chunk.shingles, chunk.shingle_counts)
    return exact_similarities(new_sets, stored_sets, chunk.pairs, chunk.measure)


def stored_similarity_on_ray(sketches: Sketches, stored_texts: dict[int, str], pairs: np.ndarray, hasher: MinHasher,
                             measure: str, stats: RayStats) -> np.ndarray:
    """Exact similarity of (new index, stored number) pairs whose estimate was not conclusive, VERIFY_CHUNK pairs
    per Ray task (`DedupStore._stored_exact`, spread)."""
    chunks = []
    for start in range(0, len(pairs), VERIFY_CHUNK):
        chunk = pairs[start : start + VERIFY_CHUNK]
        new, stored = np.unique(chunk[:, 0]), np.unique(chunk[:, 1])
        shingles, counts = _gather_shingles(sketches.shingles, sketches.shingle_counts, new)
        local = np.column_stack([np.searchsorted(new, chunk[:, 0]), np.searchsorted(stored, chunk[:, 1])])
        chunks.append((StoredChunk(local, shingles, counts, [stored_texts[i] for i in stored.tolist()], hasher, measure),))
    return np.concatenate(_run_all(verify_stored_chunk, chunks, stats, "verification"))


def _gather_shingles(shingles: np.ndarray, counts: np.ndarray, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The shingle hashes (with repeats) of the listed texts, back to back, and their counts."""
    starts = np.concatenate(([0], np.cumsum(counts)))
    sizes = counts[texts]
    positions = np.repeat(starts[texts] - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
    return shingles[positions], sizes
