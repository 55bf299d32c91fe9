"""Incremental deduplication against everything already kept, across sources and runs.

The store keeps, for every document in the corpus, its text fingerprint, its MinHash signature and
its LSH band hashes, as Parquet parts that only grow. A run computes those only for its new
documents and joins them, in DuckDB, against the stored ones: exact duplicates by fingerprint,
near-duplicate candidates by band (a linear number of them in the huge buckets of templated pages).
Candidate pairs are verified (shared shingles counted, unless the signatures settle it) and
clustered by connected components, in DuckDB again. Re-running over the same input adds nothing and
removes nothing.

The document kept in a cluster is one already in the corpus if there is one (the corpus never loses a
document), else the first occurrence: the smallest `position` the caller gives (`deduplicate_documents`
numbers the documents by the sources file's order of sources, then each source's read order: file, then
byte offset or line), then the earliest retrieved, then the smallest id. Documents without a position
come after those with one. So a re-typed copy later in a dump is the duplicate, whatever its hash.

Every stored document has an `ordinal`, its place in that order over the store's whole history: a run's
new documents are numbered after every stored one, in the run's order. The stored ones are compared, and
the graph numbered, by ordinal, so the first occurrence is the smallest node of a cluster and the document
a new duplicate is said to duplicate is the first published one. An index without ordinals (INDEX_FORMAT
1) is rebuilt from the corpus; a rebuild keeps the ordinals the old index had and numbers the documents it
did not know after them, by retrieved_at then id (the corpus does not carry the read order).

An index file that cannot be read (a `settings.json` that is not JSON, a part cut or overwritten) is
moved to the data directory's quarantine folder and the index is rebuilt from the corpus, which it
can always be; a lost `decided` part only costs its documents being decided again. `open_store` says
which file it moved. Documents published twice (by publications that overlapped before they took a
lock) are indexed once.

With `policy.execution.engine: ray` the signatures, the band join (per band range) and the verification run as Ray
tasks (`moisson.band_join`), with the same decisions and the same index: either engine reads what the other wrote.
Band rows are written band after band, so that a join of a band range reads the row groups of its bands only.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from moisson import band_join
from moisson.atomic_files import write_parquet, write_text
from moisson.config import DedupPolicy, ExecutionPolicy
from moisson.minhash import SCHEME, MinHasher, Sketches, sketch_batch
from moisson.near_duplicates import (NEW_PAIRS, STORED_PAIRS, ShingleSets, band_hashes, candidate_jaccard, components,
                                     conclusive, exact_similarities, lsh_parameters, pair_estimates)
from moisson.parquet_files import duckdb_paths, parts, read_frame
from moisson.quarantine import quarantine
from moisson.workers import map_documents

BATCH = 5_000  # texts per signature job: big enough to amortise the pool, small enough to spread
BAND_ROW_GROUP = 1 << 16  # rows: a part of that many documents or more holds one band per row group
DUCKDB_MEMORY = "1GB"  # past this, DuckDB spills joins to the store's tmp folder: the index never has to fit in memory
TextLookup = Callable[[list[str]], dict[str, str]]  # ids of kept documents -> their texts
INDEX_FORMAT = 2  # 2: kept parts carry `ordinal`; an index of another format is rebuilt from the corpus
LOG = logging.getLogger(__name__)
PART_COLUMNS = {"kept": {"id", "fingerprint", "signature"}, "bands": {"band", "hash", "id"},
                "decided": {"id", "reason", "duplicate_of", "similarity"}}  # what a part must hold to be read
DECISION_SCHEMA = {"id": pl.String, "reason": pl.String, "duplicate_of": pl.String, "similarity": pl.Float64,
                   "already_kept": pl.Boolean}


@dataclass(frozen=True)
class Candidates:
    """New documents in decision order (position, then earliest retrieved, then id), with what dedup needs of them."""

    ids: list[str]
    retrieved_at: pl.Series  # Datetime("us", "UTC")
    ordinals: np.ndarray  # int64, increasing: each one's place after every stored document
    sketches: Sketches
    bands: np.ndarray  # (documents, bands) uint64


@dataclass(frozen=True)
class CandidatePairs:
    """Documents sharing a band (all pairs of a bucket, or a star and a chain past BUCKET_ALL_PAIRS members):
    pairs of new ones (indices, left < right), and pairs (new index, stored number) with stored ones,
    numbered in (ordinal, id) order."""

    new: np.ndarray
    stored_ids: list[str]
    stored: np.ndarray


@dataclass(frozen=True)
class NearGraph:
    """Verified candidate pairs as edges between nodes: stored documents first, numbered in (ordinal, id)
    order, then the new ones in decision order, so the smallest node of a cluster is the one it keeps."""

    stored_ids: list[str]
    left: np.ndarray
    right: np.ndarray
    similarity: np.ndarray


class DedupStore:
    """Fingerprints, signatures and band hashes of every kept document, under one folder."""

    def __init__(self, root: Path, policy: DedupPolicy, tmp_dir: Path, kept_texts: TextLookup | None = None,
                 execution: ExecutionPolicy | None = None):
        """`kept_texts` finds the texts of kept documents, so candidate pairs whose signature estimate is not
        conclusive are verified on their exact similarity; without it, on the estimate. `execution` with engine
        ray runs signatures, the band join and the verification as Ray tasks (moisson.band_join): same decisions."""
        self.root, self.policy, self.tmp_dir, self.kept_texts = root, policy, tmp_dir, kept_texts
        self.execution = execution or ExecutionPolicy()
        self.ray_stats = band_join.RayStats()  # what the last `deduplicate` on Ray moved, and its workers' peak RSS
        self._cpus = 1  # of the Ray session of the current call: the band join runs PARTITIONS_PER_CPU ranges per CPU
        self.on_ray = False  # whether the current call runs on Ray (engine ray, and enough documents: `_engine`)
        self.bands, self.rows = lsh_parameters(candidate_jaccard(policy), policy.num_perm)
        self.hasher = MinHasher(policy.num_perm, policy.seed, policy.shingle_size)
        self.seconds: dict[str, float] = {}  # wall time of each phase of the last `deduplicate`, for benchmarks and logs
        self.counts: dict[str, int] = {}  # candidate and verified pairs of the last `deduplicate`, likewise

    @contextmanager
    def _timed(self, phase: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - started

    @property
    def settings(self) -> dict[str, object]:
        """What stored signatures and bands depend on: if any of it changes, they are computed again."""
        p = self.policy
        return {"num_perm": p.num_perm, "seed": p.seed, "shingle_size": p.shingle_size, "scheme": SCHEME,
                "bands": self.bands, "rows": self.rows, "measure": p.measure, "format": INDEX_FORMAT}

    def _parts(self, kind: str) -> list[str] | None:
        """The parts of one kind, as a `read_parquet` parameter (each file by name: see moisson.parquet_files)."""
        files = parts(self.root / kind, "*.parquet")
        return duckdb_paths(files) if files else None

    def is_current(self) -> bool:
        return _stored_settings(self.root / "settings.json") == self.settings

    def unreadable_files(self) -> list[tuple[Path, str]]:
        """Files of the index that cannot be read back, with why: settings.json that is not a JSON object, parts
        whose footer, columns or ids cannot be read."""
        found = []
        settings = self.root / "settings.json"
        if settings.exists():
            try:
                if not isinstance(json.loads(settings.read_text(encoding="utf-8")), dict):
                    found.append((settings, "not a JSON object"))
            except (OSError, UnicodeDecodeError, ValueError) as error:
                found.append((settings, f"{type(error).__name__}: {error}"))
        for kind, columns in PART_COLUMNS.items():
            for part in parts(self.root / kind, "*.parquet"):
                why = _unreadable_part(part, columns)
                if why:
                    found.append((part, why))
        return found

    def kept_count(self) -> int:
        kept = self._parts("kept")
        if kept is None:
            return 0
        with self._connect() as con:
            return con.execute("SELECT count(DISTINCT id) FROM read_parquet(?)", [kept]).fetchone()[0]

    def _engine(self, documents: int):
        """The run's Ray (the one the per-document work started, else started now and kept for the run), its idle
        actors stopped first because the join's tasks need the CPUs they hold; or nothing on the local path, taken
        also on engine ray below `dedup_on_ray_from` documents, where starting Ray tasks costs more than they save."""
        self.on_ray = self.execution.engine == "ray" and documents >= self.execution.dedup_on_ray_from
        if not self.on_ray:
            return nullcontext(0)
        from moisson.ray_engine import ensure_ray, release_idle_workers

        cpus = ensure_ray(self.execution.address, self.execution.num_cpus)
        release_idle_workers()
        return nullcontext(cpus)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB that spills to the store's tmp folder, so joins over a large index run out of core."""
        spill = self.tmp_dir / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)  # DuckDB creates the last folder only, and only once it spills
        return duckdb.connect(config={"memory_limit": DUCKDB_MEMORY, "temp_directory": str(spill),
                                      "preserve_insertion_order": False})

    def reset(self) -> None:
        for kind in PART_COLUMNS:
            for part in parts(self.root / kind, "*.parquet"):
                part.unlink()
        write_text(json.dumps(self.settings, sort_keys=True), self.root / "settings.json", self.tmp_dir)

    def deduplicate(self, documents: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
        """Decide every document (columns id, text, retrieved_at, optional position); add the ones kept to the store.

        Among new documents the first occurrence wins: smallest position (none comes last), then earliest
        retrieved, then smallest id; any stored document wins over them.

        Documents decided by an earlier run get that decision back (kept stays kept, a duplicate
        stays a duplicate of the same document). Given a LazyFrame, only the ids are read first: the
        texts of documents already decided are never loaded, which makes a re-run cheap.
        """
        if not self.is_current():
            raise RuntimeError(f"dedup store {self.root} was built with other settings; rebuild it first")
        self.seconds, self.counts, self.ray_stats = {}, {}, band_join.RayStats()
        documents = documents.lazy()
        with self._timed("earlier decisions"):
            known = self._known_decisions(documents.select("id").collect()["id"].to_list())
            if "position" not in documents.collect_schema().names():
                documents = documents.with_columns(position=pl.lit(None, pl.Int64))
            new = (documents.filter(~pl.col("id").is_in(known["id"].implode()))
                   .sort("position", "retrieved_at", "id", nulls_last=True).collect())
        with self._engine(new.height) as self._cpus:
            return pl.concat([known, self._decide(new)])

    def _decide(self, new: pl.DataFrame) -> pl.DataFrame:
        """The decisions of the documents no earlier run decided, inside the engine's session."""
        with self._timed("signatures"):
            candidates = self._prepare(new, first_ordinal=self._next_ordinal() if new.height else 0)
        with self._timed("exact duplicates"):
            reasons, duplicate_of, similarity = self._exact(candidates)
        self._near(candidates, reasons, duplicate_of, similarity)
        with self._timed("appends"):
            decided = pl.DataFrame({"id": candidates.ids, "reason": reasons, "duplicate_of": duplicate_of,
                                    "similarity": similarity, "already_kept": [False] * len(reasons)}, schema=DECISION_SCHEMA)
            self._append(candidates, [i for i, reason in enumerate(reasons) if reason is None], decided)
        return decided

    def rebuild(self, corpus: pl.DataFrame) -> None:
        """Index an existing corpus again (lost store, or new MinHash settings): all of it is kept, in the order
        of the ordinals the old index gave it, then (documents it did not know) by retrieved_at and id."""
        earlier = self._stored_ordinals()
        self.reset()
        corpus = corpus.unique("id", keep="first", maintain_order=True)  # a document published twice is indexed once
        ordered = (corpus.join(earlier, on="id", how="left")
                   .sort("earlier", "retrieved_at", "id", nulls_last=True).drop("earlier"))
        with self._engine(ordered.height):
            candidates = self._prepare(ordered, keep_shingles=False)
        self._append(candidates, list(range(len(candidates.ids))), pl.DataFrame(schema=DECISION_SCHEMA))

    def _stored_ordinals(self) -> pl.DataFrame:
        """id -> ordinal of the stored documents (columns id, earlier); empty when the index has none (older format)."""
        empty = pl.DataFrame(schema={"id": pl.String, "earlier": pl.Int64})
        kept = self._parts("kept")
        if kept is None:
            return empty
        with self._connect() as con:
            try:
                found = con.sql("SELECT id, min(ordinal) AS earlier FROM read_parquet(?) GROUP BY id", params=[kept])
                return pl.from_arrow(found.to_arrow_table()).cast(empty.schema)
            except duckdb.Error:  # no ordinal column: an index of format 1
                return empty

    def _next_ordinal(self) -> int:
        """The ordinal after every stored document's: where this run's documents are numbered from."""
        kept = self._parts("kept")
        if kept is None:
            return 0
        with self._connect() as con:
            return con.execute("SELECT coalesce(max(ordinal) + 1, 0) FROM read_parquet(?)", [kept]).fetchone()[0]

    def _known_decisions(self, ids: list[str]) -> pl.DataFrame:
        """Earlier decisions about these ids: kept (from the kept parts) or duplicate (from the decided parts)."""
        kept, decided = self._parts("kept"), self._parts("decided")
        found = [pl.DataFrame(schema=DECISION_SCHEMA)]
        if ids and (kept or decided):
            with self._connect() as con:
                con.register("incoming", pl.DataFrame({"id": ids}, schema={"id": pl.String}))
                if kept:
                    found.append(pl.from_arrow(con.sql(
                        "SELECT DISTINCT id, NULL::VARCHAR AS reason, NULL::VARCHAR AS duplicate_of, NULL::DOUBLE AS similarity, "
                        "true AS already_kept FROM read_parquet(?) JOIN incoming USING (id)", params=[kept]).to_arrow_table()))
                if decided:
                    found.append(pl.from_arrow(con.sql(
                        "SELECT DISTINCT ON (id) id, reason, duplicate_of, similarity, false AS already_kept "
                        "FROM read_parquet(?) JOIN incoming USING (id)", params=[decided]).to_arrow_table()))
        known = pl.concat([frame.cast(DECISION_SCHEMA) for frame in found])
        return known.unique("id", keep="first", maintain_order=True)  # kept wins over an older duplicate decision

    def _prepare(self, new: pl.DataFrame, keep_shingles: bool = True, first_ordinal: int = 0) -> Candidates:
        """Signatures, fingerprints (and the shingle hashes, to verify pairs) of the new documents (in decision
        order, numbered from `first_ordinal`), in batches spread over every core."""
        texts = new["text"].to_list()
        p = self.policy
        jobs = [(p.num_perm, p.seed, p.shingle_size, texts[start : start + BATCH], keep_shingles)
                for start in range(0, len(texts), BATCH)]
        if self.on_ray:
            sketches, bands = band_join.sketches_on_ray(jobs, self.bands, self.rows, p.num_perm, self.ray_stats)
        else:
            sketches = Sketches.concat(self._sketch_locally(jobs), p.num_perm)
            bands = band_hashes(sketches.signatures, self.bands, self.rows)
        return Candidates(new["id"].to_list(), _utc_microseconds(new["retrieved_at"]),
                          np.arange(first_ordinal, first_ordinal + new.height, dtype=np.int64), sketches, bands)

    @staticmethod
    def _sketch_locally(jobs: list) -> list[Sketches]:
        parts = []
        for outcome in map_documents(sketch_batch, jobs, budget_s=0, preload=["moisson.minhash"], inline_below=2, chunk=1):
            if not outcome.ok:
                raise RuntimeError(f"MinHash signatures failed: {outcome.error_class}: {outcome.message}")
            parts.append(outcome.value)
        return parts

    def _exact(self, candidates: Candidates) -> tuple[list, list, list]:
        count = len(candidates.ids)
        reasons, duplicate_of, similarity = [None] * count, [None] * count, [None] * count
        fingerprints = candidates.sketches.fingerprints
        first_seen = self._stored_fingerprints(fingerprints)
        for index, fingerprint in enumerate(fingerprints):
            original = first_seen.setdefault(fingerprint, candidates.ids[index])
            if original != candidates.ids[index]:
                reasons[index], duplicate_of[index], similarity[index] = "exact_duplicate", original, 1.0
        return reasons, duplicate_of, similarity

    def _stored_fingerprints(self, fingerprints: list[str]) -> dict[str, str]:
        kept = self._parts("kept")
        if kept is None or not fingerprints:
            return {}
        with self._connect() as con:
            con.register("incoming", pl.DataFrame({"fingerprint": sorted(set(fingerprints))}, schema={"fingerprint": pl.String}))
            rows = con.execute(
                "SELECT fingerprint, arg_min(id, (ordinal, id)) FROM read_parquet(?) JOIN incoming USING (fingerprint) "
                "GROUP BY fingerprint", [kept]).fetchall()
        return dict(rows)

    def _near(self, candidates: Candidates, reasons: list, duplicate_of: list, similarity: list) -> None:
        """Cluster the new documents with the stored ones by verified candidate pairs, in DuckDB."""
        live = np.array([i for i, reason in enumerate(reasons) if reason is None], dtype=np.int64)
        if len(live) == 0:
            return
        with self._connect() as con:
            with self._timed("candidate pairs"):
                pairs = self._candidate_pairs(con, candidates, live)
            with self._timed("verification"):
                graph = self._verify(con, candidates, pairs)
            self.counts |= {"new pairs": len(pairs.new), "stored pairs": len(pairs.stored), "verified pairs": len(graph.left)}
            if len(graph.left) == 0:
                return
            with self._timed("clusters"):
                nodes, labels = components(con, graph.left, graph.right)
        best = np.zeros(len(graph.stored_ids) + len(candidates.ids))
        np.maximum.at(best, graph.left, graph.similarity)
        np.maximum.at(best, graph.right, graph.similarity)
        offset = len(graph.stored_ids)
        for node, label in zip(nodes.tolist(), labels.tolist()):
            if node >= offset and label != node:  # a stored document stays, even if linked to an earlier one
                reasons[node - offset] = "near_duplicate"
                duplicate_of[node - offset] = graph.stored_ids[label] if label < offset else candidates.ids[label - offset]
                similarity[node - offset] = round(float(best[node]), 4)

    def _candidate_pairs(self, con: duckdb.DuckDBPyConnection, candidates: Candidates, live: np.ndarray) -> CandidatePairs:
        """Pairs sharing a band, among the new documents and with the stored ones: equi-joins in DuckDB."""
        incoming = pl.DataFrame({  # polars, not pyarrow, from numpy: pyarrow would import pandas
            "band": np.tile(np.arange(self.bands, dtype=np.int16), len(live)),
            "hash": candidates.bands[live].reshape(-1),
            "doc": np.repeat(live, self.bands),
        })
        if self.on_ray:
            new, stored_ids, stored = band_join.candidate_pairs_on_ray(
                incoming, self.bands, self._parts("bands"), self._parts("kept"), self.tmp_dir / "band-join",
                band_join.PARTITIONS_PER_CPU * max(1, self._cpus), self.ray_stats)
            return CandidatePairs(new, stored_ids, stored)
        con.register("incoming", incoming)
        new = con.execute(NEW_PAIRS).fetchnumpy()  # bounded in big buckets: a star and a chain
        stored_ids, stored = self._stored_pairs(con)
        return CandidatePairs(np.column_stack([new["left_doc"], new["right_doc"]]).astype(np.int64).reshape(-1, 2),
                              stored_ids, stored)

    def _verify(self, con: duckdb.DuckDBPyConnection, candidates: Candidates, pairs: CandidatePairs) -> NearGraph:
        """The candidate pairs whose similarity reaches the threshold, as edges between node numbers."""
        offset = len(pairs.stored_ids)
        left = np.concatenate([offset + pairs.new[:, 0], offset + pairs.stored[:, 0]])
        right = np.concatenate([offset + pairs.new[:, 1], pairs.stored[:, 1]])
        similarity = np.concatenate([self._new_similarity(candidates, pairs.new),
                                     self._stored_similarity(con, candidates, pairs.stored_ids, pairs.stored)])
        verified = similarity >= self.policy.threshold
        return NearGraph(pairs.stored_ids, left[verified], right[verified], similarity[verified])

    def _stored_pairs(self, con: duckdb.DuckDBPyConnection) -> tuple[list[str], np.ndarray]:
        """Stored documents sharing a band with a new one, numbered in (ordinal, id) order, and the
        pairs (new document, stored number), a bounded number per new document and bucket (STORED_PAIRS).
        Bands of a document whose kept part never got written (a crash between the two writes) match nothing."""
        stored_bands, kept = self._parts("bands"), self._parts("kept")
        if stored_bands is None or kept is None:
            return [], np.empty((0, 2), np.int64)
        con.execute("CREATE TEMP TABLE matched AS SELECT DISTINCT s.band, s.hash, s.id FROM read_parquet(?) s "
                    "JOIN (SELECT DISTINCT band, hash FROM incoming) USING (band, hash)", [stored_bands])
        con.execute("CREATE TEMP TABLE ordinals AS SELECT id, min(ordinal) AS ordinal FROM read_parquet(?) "
                    "WHERE id IN (SELECT id FROM matched) GROUP BY id", [kept])
        con.execute("CREATE TEMP TABLE stored_bands AS SELECT band, hash, id, ordinal FROM matched JOIN ordinals USING (id)")
        con.execute(f"CREATE TEMP TABLE stored_pairs AS {STORED_PAIRS}")
        con.execute(
            "CREATE TEMP TABLE stored AS SELECT id, (row_number() OVER (ORDER BY ordinal, id) - 1)::BIGINT AS node "
            "FROM ordinals WHERE id IN (SELECT id FROM stored_pairs)")
        ids = [row[0] for row in con.execute("SELECT id FROM stored ORDER BY node").fetchall()]
        pairs = con.execute("SELECT p.doc, s.node FROM stored_pairs p JOIN stored s USING (id)").fetchnumpy()
        return ids, np.column_stack([pairs["doc"], pairs["node"]]).astype(np.int64).reshape(-1, 2)

    def _new_similarity(self, candidates: Candidates, pairs: np.ndarray) -> np.ndarray:
        """Similarity of pairs of new documents: exact, on the shingles their signatures were made of, unless
        the Jaccard estimate is conclusive (then the estimate)."""
        signatures, p = candidates.sketches.signatures, self.policy
        if self.on_ray:
            similarity, self.counts["counted new pairs"] = band_join.new_similarity_on_ray(
                candidates.sketches, pairs, p.threshold, p.num_perm, p.measure, self.ray_stats)
            return similarity
        similarity = pair_estimates(signatures, signatures, pairs)
        uncertain = ~conclusive(similarity, p.threshold, p.num_perm, p.measure)
        self.counts["counted new pairs"] = int(uncertain.sum())
        if uncertain.any():
            texts = np.unique(pairs[uncertain])
            sets = self._shingle_sets(candidates, texts)
            similarity[uncertain] = exact_similarities(sets, sets, np.searchsorted(texts, pairs[uncertain]), p.measure)
        return similarity

    def _stored_similarity(self, con: duckdb.DuckDBPyConnection, candidates: Candidates, stored_ids: list[str],
                           pairs: np.ndarray) -> np.ndarray:
        """Similarity of (new, stored) pairs, by the rule of `_new_similarity`: the Jaccard estimate from the
        stored signatures (one read for all of them) where it is conclusive; else exact, on the stored text
        (`kept_texts`, asked only for those pairs), or the estimate when that text is not found (which
        never exceeds the containment either)."""
        if len(pairs) == 0:
            return np.empty(0)
        p = self.policy
        stored = np.unique(pairs[:, 1])
        signatures = self._stored_signatures(con, [stored_ids[i] for i in stored])
        similarity = pair_estimates(candidates.sketches.signatures, signatures,
                                    np.column_stack([pairs[:, 0], np.searchsorted(stored, pairs[:, 1])]))
        uncertain = ~conclusive(similarity, p.threshold, p.num_perm, p.measure)
        self.counts["counted stored pairs"] = 0
        if not uncertain.any() or self.kept_texts is None:
            return similarity
        wanted = np.unique(pairs[uncertain, 1])
        found = self.kept_texts([stored_ids[i] for i in wanted])
        with_text = np.zeros(len(stored_ids), dtype=bool)
        with_text[wanted] = [found.get(stored_ids[i]) is not None for i in wanted.tolist()]
        exact = uncertain & with_text[pairs[:, 1]]
        self.counts["counted stored pairs"] = int(exact.sum())
        if exact.any():
            stored_texts = {i: found[stored_ids[i]] for i in np.unique(pairs[exact, 1]).tolist()}
            if self.on_ray:
                similarity[exact] = band_join.stored_similarity_on_ray(
                    candidates.sketches, stored_texts, pairs[exact], self.hasher, p.measure, self.ray_stats)
            else:
                similarity[exact] = self._stored_exact(candidates, stored_texts, pairs[exact])
        return similarity

    def _stored_exact(self, candidates: Candidates, stored_texts: dict[int, str], pairs: np.ndarray) -> np.ndarray:
        """Exact similarity of (new, stored number) pairs, the stored texts shingled again."""
        texts = np.unique(pairs[:, 1])
        stored_sets = ShingleSets.of(*self.hasher.shingle_hashes([stored_texts[i] for i in texts.tolist()]))
        new_texts = np.unique(pairs[:, 0])
        new_sets = self._shingle_sets(candidates, new_texts)
        local = np.column_stack([np.searchsorted(new_texts, pairs[:, 0]), np.searchsorted(texts, pairs[:, 1])])
        return exact_similarities(new_sets, stored_sets, local, self.policy.measure)

    @staticmethod
    def _shingle_sets(candidates: Candidates, texts: np.ndarray) -> ShingleSets:
        """The distinct shingles of these new documents (sorted indices), from the hashes their workers sent back."""
        sketches = candidates.sketches
        starts = np.concatenate(([0], np.cumsum(sketches.shingle_counts)))
        sizes = sketches.shingle_counts[texts]
        positions = np.repeat(starts[texts] - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
        return ShingleSets.of(sketches.shingles[positions], sizes)

    def _stored_signatures(self, con: duckdb.DuckDBPyConnection, ids: list[str]) -> np.ndarray:
        """Signatures of stored documents, in the order of `ids`, from the kept parts: one join for all of them."""
        con.register("wanted", pl.DataFrame({"id": ids, "row": np.arange(len(ids))}, schema={"id": pl.String, "row": pl.Int64}))
        rows = con.execute("SELECT any_value(k.signature) FROM read_parquet(?) k JOIN wanted w USING (id) "
                           "GROUP BY w.row ORDER BY w.row", [self._parts("kept")]).fetchall()
        return np.frombuffer(b"".join(row[0] for row in rows), dtype="<u4").reshape(len(rows), -1)

    def _append(self, candidates: Candidates, kept: list[int], decided: pl.DataFrame) -> None:
        """Bands first, then the kept part, which commits the documents (a crash in between only leaves
        spare bands), then the duplicate decisions, which only save work on a re-run."""
        part = f"part-{uuid.uuid4().hex}.parquet"
        self._append_kept(candidates, kept, part)
        duplicates = decided.filter(pl.col("reason").is_not_null()).drop("already_kept")
        if duplicates.height:
            write_parquet(duplicates.to_arrow(), self.root / "decided" / part, self.tmp_dir)

    def _append_kept(self, candidates: Candidates, kept: list[int], part: str) -> None:
        if not kept:
            return
        index = np.array(kept, dtype=np.int64)
        ids = pl.Series("id", [candidates.ids[i] for i in kept], dtype=pl.String)
        bands = pl.DataFrame({  # band after band: a row group's band statistics let a join of a band range skip the others
            "band": np.repeat(np.arange(self.bands, dtype=np.int16), len(ids)),
            "hash": candidates.bands[index].T.reshape(-1),
            "id": ids.gather(np.tile(np.arange(len(ids)), self.bands)),
        }).to_arrow()
        # random hashes and signatures neither compress nor make useful dictionaries, and trying costs more than the write
        write_parquet(bands, self.root / "bands" / part, self.tmp_dir, use_dictionary=["band"],
                      row_group_size=max(len(ids), BAND_ROW_GROUP))
        signatures = np.ascontiguousarray(candidates.sketches.signatures[index], dtype="<u4")
        width = signatures.shape[1] * 4
        documents = pl.DataFrame({
            "id": ids,
            "retrieved_at": candidates.retrieved_at.gather(index),
            "ordinal": candidates.ordinals[index],
            "fingerprint": pl.Series([candidates.sketches.fingerprints[i] for i in kept], dtype=pl.String),
        }).to_arrow().append_column("signature", pa.Array.from_buffers(  # one buffer, no Python bytes per document
            pa.binary(), len(kept), [None, pa.py_buffer(np.arange(0, (len(kept) + 1) * width, width, dtype=np.int32)),
                                     pa.py_buffer(signatures)]))
        write_parquet(documents, self.root / "kept" / part, self.tmp_dir, use_dictionary=False,
                    compression={"id": "zstd", "retrieved_at": "zstd", "ordinal": "zstd", "fingerprint": "zstd",
                                 "signature": "none"})


def _utc_microseconds(retrieved_at: pl.Series) -> pl.Series:
    """The kept part's retrieved_at type, from aware or naive (taken as UTC) datetimes of any precision."""
    zone = getattr(retrieved_at.dtype, "time_zone", None)
    utc = retrieved_at.dt.convert_time_zone("UTC") if zone else retrieved_at.dt.replace_time_zone("UTC")
    return utc.cast(pl.Datetime("us", "UTC"))


def open_store(root: Path, corpus_dir: Path, policy: DedupPolicy, tmp_dir: Path,
               kept_texts: TextLookup | None = None, data_root: Path | None = None,
               execution: ExecutionPolicy | None = None) -> tuple[DedupStore, str]:
    """The store, rebuilt from the published corpus when it is missing, was built with other settings, is of
    another INDEX_FORMAT or has a file that cannot be read (moved to `<data_root>/quarantine/` first;
    `data_root` defaults to the store's parent folder).

    So a lost or damaged store, or a change of num_perm, seed, shingle size or threshold, never lets
    duplicates of documents already published back in, and never stops a publication.
    """
    store = DedupStore(root, policy, tmp_dir, kept_texts, execution)
    moved = _quarantine_unreadable(store, data_root or root.parent)
    if store.is_current() and not any(kind != "decided" for kind, _ in moved):
        loaded = f"loaded ({store.kept_count()} documents)"
        return store, loaded + (f"; {_moved(moved)}" if moved else "")
    reason = _moved(moved) if moved else _stale_reason(root / "settings.json", store.settings)
    files = parts(corpus_dir)
    if not files:
        store.reset()
        return store, f"new ({reason}, empty corpus)"
    corpus = read_frame(files, columns=["id", "text", "retrieved_at"])
    store.rebuild(corpus)
    return store, f"rebuilt from {corpus['id'].n_unique()} corpus documents ({reason})"


def _quarantine_unreadable(store: DedupStore, data_root: Path) -> list[tuple[str, str]]:
    """Move the store's unreadable files to quarantine; (kind of file, what was done) for each, logged."""
    moved = []
    for path, why in store.unreadable_files():
        target = quarantine(path, data_root)
        kind = path.parent.name if path.suffix == ".parquet" else "settings"
        LOG.warning("dedup index file %s is unreadable (%s): moved to %s", path, why, target)
        moved.append((kind, f"{path} unreadable ({why}), moved to {target}"))
    return moved


def _moved(moved: list[tuple[str, str]]) -> str:
    return "; ".join(what for _, what in moved)


def _stored_settings(path: Path) -> dict | None:
    """settings.json as written, or None when it is missing or unreadable (see `unreadable_files`)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return stored if isinstance(stored, dict) else None


def _unreadable_part(part: Path, columns: set[str]) -> str | None:
    """Why a part of the index cannot be used, or None: its footer and its ids are read, as every query reads them."""
    try:
        schema = pq.read_schema(part)
        missing = columns - set(schema.names)
        if missing:
            return f"no column {', '.join(sorted(missing))}"
        pq.read_table(part, columns=["id"])
    except (OSError, pa.ArrowException) as error:
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else 'unreadable'}"
    return None


def _stale_reason(path: Path, settings: dict[str, object]) -> str:
    stored = _stored_settings(path)
    if stored is None:
        return "no stored index"
    if stored.get("format") != settings["format"] and {**stored, "format": settings["format"]} == settings:
        return "index format changed"
    return "settings changed"
