"""Incremental deduplication against everything already kept, across sources and runs.

The store keeps, for every document in the corpus, its text fingerprint, its MinHash signature and
its LSH band hashes, as Parquet parts that only grow. A run computes those only for its new
documents and joins them, in DuckDB, against the stored ones: exact duplicates by fingerprint,
near-duplicate candidates by band, then verified on the signatures and clustered. The document
kept in a cluster is one already in the corpus if there is one (the corpus never loses a
document), else the earliest retrieved, then the smallest id. Re-running over the same input adds
nothing and removes nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from moisson.atomic_files import write_parquet, write_text
from moisson.config import DedupPolicy
from moisson.exact_duplicates import text_fingerprint
from moisson.minhash import SCHEME, MinHasher
from moisson.near_duplicates import band_hashes, clusters, estimated_jaccard, lsh_parameters

BATCH = 20_000
DECISION_SCHEMA = {"id": pl.String, "reason": pl.String, "duplicate_of": pl.String, "similarity": pl.Float64,
                   "already_kept": pl.Boolean}


@dataclass(frozen=True)
class Candidates:
    """New documents in decision order (earliest retrieved first, then id), with what dedup needs of them."""

    ids: list[str]
    retrieved_at: list
    fingerprints: list[str]
    signatures: np.ndarray


class DedupStore:
    """Fingerprints, signatures and band hashes of every kept document, under one folder."""

    def __init__(self, root: Path, policy: DedupPolicy, tmp_dir: Path):
        self.root, self.policy, self.tmp_dir = root, policy, tmp_dir
        self.bands, self.rows = lsh_parameters(policy.threshold, policy.num_perm)
        self.hasher = MinHasher(policy.num_perm, policy.seed, policy.shingle_size)

    @property
    def settings(self) -> dict[str, object]:
        """What stored signatures and bands depend on: if any of it changes, they are computed again."""
        p = self.policy
        return {"num_perm": p.num_perm, "seed": p.seed, "shingle_size": p.shingle_size, "scheme": SCHEME,
                "bands": self.bands, "rows": self.rows}

    def _parts(self, kind: str) -> str | None:
        folder = self.root / kind
        return str(folder / "*.parquet") if any(folder.glob("*.parquet")) else None

    def is_current(self) -> bool:
        path = self.root / "settings.json"
        return path.exists() and json.loads(path.read_text()) == self.settings

    def kept_count(self) -> int:
        kept = self._parts("kept")
        if kept is None:
            return 0
        with duckdb.connect() as con:
            return con.execute("SELECT count(DISTINCT id) FROM read_parquet(?)", [kept]).fetchone()[0]

    def reset(self) -> None:
        for kind in ("kept", "bands"):
            for part in (self.root / kind).glob("*.parquet"):
                part.unlink()
        write_text(json.dumps(self.settings, sort_keys=True), self.root / "settings.json", self.tmp_dir)

    def deduplicate(self, documents: pl.DataFrame) -> pl.DataFrame:
        """Decide every document (columns id, text, retrieved_at); add the ones kept to the store."""
        if not self.is_current():
            raise RuntimeError(f"dedup store {self.root} was built with other settings; rebuild it first")
        already = self._stored_ids(documents["id"].to_list())
        new = documents.filter(~pl.col("id").is_in(list(already))).sort("retrieved_at", "id")
        candidates = self._prepare(new)
        reasons, duplicate_of, similarity = self._exact(candidates)
        self._near(candidates, reasons, duplicate_of, similarity)
        kept = [i for i, reason in enumerate(reasons) if reason is None]
        self._append(candidates, kept)
        decided = pl.DataFrame({"id": candidates.ids, "reason": reasons, "duplicate_of": duplicate_of,
                                "similarity": similarity, "already_kept": [False] * len(reasons)}, schema=DECISION_SCHEMA)
        previous = pl.DataFrame({"id": sorted(already), "reason": None, "duplicate_of": None, "similarity": None,
                                 "already_kept": True}, schema=DECISION_SCHEMA)
        return pl.concat([previous, decided])

    def rebuild(self, corpus: pl.DataFrame) -> None:
        """Index an existing corpus again (lost store, or new MinHash settings): all of it is kept."""
        self.reset()
        candidates = self._prepare(corpus.sort("retrieved_at", "id"))
        self._append(candidates, list(range(len(candidates.ids))))

    def _stored_ids(self, ids: list[str]) -> set[str]:
        kept = self._parts("kept")
        if kept is None or not ids:
            return set()
        with duckdb.connect() as con:
            con.register("incoming", pa.table({"id": ids}))
            rows = con.execute("SELECT DISTINCT k.id FROM read_parquet(?) k JOIN incoming USING (id)", [kept]).fetchall()
        return {row[0] for row in rows}

    def _prepare(self, new: pl.DataFrame) -> Candidates:
        texts = new["text"].to_list()
        signatures = np.concatenate(
            [self.hasher.signatures(texts[start : start + BATCH]) for start in range(0, len(texts), BATCH)]
        ) if texts else np.empty((0, self.policy.num_perm), np.uint32)
        return Candidates(new["id"].to_list(), new["retrieved_at"].to_list(), [text_fingerprint(t) for t in texts], signatures)

    def _exact(self, candidates: Candidates) -> tuple[list, list, list]:
        count = len(candidates.ids)
        reasons, duplicate_of, similarity = [None] * count, [None] * count, [None] * count
        first_seen = self._stored_fingerprints(candidates.fingerprints)
        for index, fingerprint in enumerate(candidates.fingerprints):
            original = first_seen.setdefault(fingerprint, candidates.ids[index])
            if original != candidates.ids[index]:
                reasons[index], duplicate_of[index], similarity[index] = "exact_duplicate", original, 1.0
        return reasons, duplicate_of, similarity

    def _stored_fingerprints(self, fingerprints: list[str]) -> dict[str, str]:
        kept = self._parts("kept")
        if kept is None or not fingerprints:
            return {}
        with duckdb.connect() as con:
            con.register("incoming", pa.table({"fingerprint": sorted(set(fingerprints))}))
            rows = con.execute(
                "SELECT fingerprint, arg_min(id, (retrieved_at, id)) FROM read_parquet(?) JOIN incoming USING (fingerprint) "
                "GROUP BY fingerprint", [kept]).fetchall()
        return dict(rows)

    def _near(self, candidates: Candidates, reasons: list, duplicate_of: list, similarity: list) -> None:
        """Cluster the new documents with the stored ones by verified candidate pairs."""
        live = np.array([i for i, reason in enumerate(reasons) if reason is None], dtype=np.int64)
        if len(live) == 0:
            return
        new_pairs, old_pairs, old = self._candidate_pairs(candidates, live)
        threshold = self.policy.threshold
        edges, best = [], np.zeros(len(candidates.ids))
        if len(new_pairs):
            sims = estimated_jaccard(candidates.signatures[new_pairs[:, 0]], candidates.signatures[new_pairs[:, 1]])
            for (a, b), s in zip(new_pairs[sims >= threshold], sims[sims >= threshold]):
                edges.append((a, b))
                best[a], best[b] = max(best[a], s), max(best[b], s)
        if len(old_pairs):
            sims = estimated_jaccard(candidates.signatures[old_pairs[:, 0]], old["signatures"][old_pairs[:, 1]])
            offset = len(candidates.ids)
            for (a, o), s in zip(old_pairs[sims >= threshold], sims[sims >= threshold]):
                edges.append((a, offset + o))
                best[a] = max(best[a], s)
        if not edges:
            return
        labels = clusters(edges, len(candidates.ids) + len(old["ids"]))
        keeper = self._keepers(labels, len(candidates.ids), old)
        for index in live:
            representative = keeper[labels[index]]
            if representative != index:
                reasons[index] = "near_duplicate"
                duplicate_of[index] = (candidates.ids[representative] if representative < len(candidates.ids)
                                       else old["ids"][representative - len(candidates.ids)])
                similarity[index] = round(float(best[index]), 4)

    @staticmethod
    def _keepers(labels: np.ndarray, new_count: int, old: dict) -> dict[int, int]:
        """Per cluster, the node kept: a stored document if any (earliest), else the first new one in order."""
        keeper: dict[int, int] = {}
        for node in range(len(labels)):
            label = labels[node]
            current = keeper.get(label)
            if current is None:
                keeper[label] = node
            elif node >= new_count and (current < new_count or old["order"][node - new_count] < old["order"][current - new_count]):
                keeper[label] = node
        return keeper

    def _candidate_pairs(self, candidates: Candidates, live: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        hashes = band_hashes(candidates.signatures[live], self.bands, self.rows)
        incoming = pa.table({
            "band": np.tile(np.arange(self.bands, dtype=np.int16), len(live)),
            "hash": hashes.reshape(-1),
            "doc": np.repeat(live, self.bands),
        })
        with duckdb.connect() as con:
            con.register("incoming", incoming)
            new_pairs = con.execute(
                "SELECT DISTINCT a.doc AS left_doc, b.doc AS right_doc FROM incoming a JOIN incoming b USING (band, hash) "
                "WHERE a.doc < b.doc"
            ).fetchnumpy()
            old = {"ids": [], "order": [], "signatures": np.empty((0, self.policy.num_perm), np.uint32)}
            stored_bands, kept = self._parts("bands"), self._parts("kept")
            old_pairs = np.empty((0, 2), np.int64)
            if stored_bands is not None and kept is not None:
                con.execute(
                    "CREATE TEMP TABLE pairs AS SELECT DISTINCT a.doc, s.id FROM incoming a "
                    "JOIN read_parquet(?) s USING (band, hash)", [stored_bands])
                rows = con.execute(
                    "SELECT k.id, k.retrieved_at, k.signature FROM (SELECT DISTINCT id FROM pairs) p "
                    "JOIN (SELECT DISTINCT ON (id) * FROM read_parquet(?)) k USING (id) ORDER BY k.id", [kept]).fetchall()
                old = {"ids": [r[0] for r in rows], "order": [(r[1], r[0]) for r in rows],
                       "signatures": np.frombuffer(b"".join(r[2] for r in rows), dtype="<u4").reshape(len(rows), -1)
                       if rows else old["signatures"]}
                position = {doc_id: i for i, doc_id in enumerate(old["ids"])}
                old_pairs = np.array([(doc, position[i]) for doc, i in con.execute("SELECT doc, id FROM pairs").fetchall()
                                      if i in position], dtype=np.int64).reshape(-1, 2)
        pairs = np.column_stack([new_pairs["left_doc"], new_pairs["right_doc"]]).astype(np.int64).reshape(-1, 2)
        return pairs, old_pairs, old

    def _append(self, candidates: Candidates, kept: list[int]) -> None:
        """Bands first, then the kept part, which commits the documents (a crash in between only leaves spare bands)."""
        if not kept:
            return
        part = f"part-{uuid.uuid4().hex}.parquet"
        index = np.array(kept, dtype=np.int64)
        signatures = candidates.signatures[index]
        hashes = band_hashes(signatures, self.bands, self.rows)
        ids = [candidates.ids[i] for i in kept]
        write_parquet(pa.table({
            "band": np.tile(np.arange(self.bands, dtype=np.int16), len(ids)),
            "hash": hashes.reshape(-1),
            "id": np.repeat(np.array(ids, dtype=object), self.bands),
        }), self.root / "bands" / part, self.tmp_dir)
        write_parquet(pa.table({
            "id": ids,
            "retrieved_at": pa.array([candidates.retrieved_at[i] for i in kept], pa.timestamp("us", tz="UTC")),
            "fingerprint": [candidates.fingerprints[i] for i in kept],
            "signature": pa.array([row.astype("<u4").tobytes() for row in signatures], pa.binary(4 * self.policy.num_perm)),
        }), self.root / "kept" / part, self.tmp_dir)


def open_store(root: Path, corpus_dir: Path, policy: DedupPolicy, tmp_dir: Path) -> tuple[DedupStore, str]:
    """The store, rebuilt from the published corpus when it is missing or was built with other settings.

    So a lost store, or a change of num_perm, seed, shingle size or threshold, never lets duplicates
    of documents already published back in.
    """
    store = DedupStore(root, policy, tmp_dir)
    if store.is_current():
        return store, f"loaded ({store.kept_count()} documents)"
    reason = "settings changed" if (root / "settings.json").exists() else "no stored index"
    files = list(corpus_dir.glob("*/*.parquet"))
    if not files:
        store.reset()
        return store, f"new ({reason}, empty corpus)"
    corpus = pl.read_parquet(files, columns=["id", "text", "retrieved_at"])
    store.rebuild(corpus)
    return store, f"rebuilt from {corpus.height} corpus documents ({reason})"
