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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from moisson.atomic_files import write_parquet, write_text
from moisson.workers import map_documents
from moisson.config import DedupPolicy
from moisson.minhash import SCHEME, MinHasher, sketch_batch
from moisson.near_duplicates import (band_hashes, candidate_jaccard, clusters, estimated_jaccard, exact_containment,
                                     exact_jaccard, lsh_parameters)

BATCH = 5_000  # texts per signature job: big enough to amortise the pool, small enough to spread
TextLookup = Callable[[list[str]], dict[str, str]]  # ids of kept documents -> their texts
DECISION_SCHEMA = {"id": pl.String, "reason": pl.String, "duplicate_of": pl.String, "similarity": pl.Float64,
                   "already_kept": pl.Boolean}


@dataclass(frozen=True)
class Candidates:
    """New documents in decision order (earliest retrieved first, then id), with what dedup needs of them."""

    ids: list[str]
    retrieved_at: list
    texts: list[str]
    fingerprints: list[str]
    signatures: np.ndarray


class DedupStore:
    """Fingerprints, signatures and band hashes of every kept document, under one folder."""

    def __init__(self, root: Path, policy: DedupPolicy, tmp_dir: Path, kept_texts: TextLookup | None = None):
        """`kept_texts` finds the texts of kept documents, so candidate pairs are verified on their exact
        Jaccard similarity; without it, on the similarity estimated from the signatures."""
        self.root, self.policy, self.tmp_dir, self.kept_texts = root, policy, tmp_dir, kept_texts
        self.bands, self.rows = lsh_parameters(candidate_jaccard(policy), policy.num_perm)
        self.hasher = MinHasher(policy.num_perm, policy.seed, policy.shingle_size)

    @property
    def settings(self) -> dict[str, object]:
        """What stored signatures and bands depend on: if any of it changes, they are computed again."""
        p = self.policy
        return {"num_perm": p.num_perm, "seed": p.seed, "shingle_size": p.shingle_size, "scheme": SCHEME,
                "bands": self.bands, "rows": self.rows, "measure": p.measure}

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
        for kind in ("kept", "bands", "decided"):
            for part in (self.root / kind).glob("*.parquet"):
                part.unlink()
        write_text(json.dumps(self.settings, sort_keys=True), self.root / "settings.json", self.tmp_dir)

    def deduplicate(self, documents: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
        """Decide every document (columns id, text, retrieved_at); add the ones kept to the store.

        Documents decided by an earlier run get that decision back (kept stays kept, a duplicate
        stays a duplicate of the same document). Given a LazyFrame, only the ids are read first: the
        texts of documents already decided are never loaded, which makes a re-run cheap.
        """
        if not self.is_current():
            raise RuntimeError(f"dedup store {self.root} was built with other settings; rebuild it first")
        documents = documents.lazy()
        known = self._known_decisions(documents.select("id").collect()["id"].to_list())
        new = documents.filter(~pl.col("id").is_in(known["id"].implode())).sort("retrieved_at", "id").collect()
        candidates = self._prepare(new)
        reasons, duplicate_of, similarity = self._exact(candidates)
        self._near(candidates, reasons, duplicate_of, similarity)
        decided = pl.DataFrame({"id": candidates.ids, "reason": reasons, "duplicate_of": duplicate_of,
                                "similarity": similarity, "already_kept": [False] * len(reasons)}, schema=DECISION_SCHEMA)
        self._append(candidates, [i for i, reason in enumerate(reasons) if reason is None], decided)
        return pl.concat([known, decided])

    def rebuild(self, corpus: pl.DataFrame) -> None:
        """Index an existing corpus again (lost store, or new MinHash settings): all of it is kept."""
        self.reset()
        candidates = self._prepare(corpus.sort("retrieved_at", "id"))
        self._append(candidates, list(range(len(candidates.ids))), pl.DataFrame(schema=DECISION_SCHEMA))

    def _known_decisions(self, ids: list[str]) -> pl.DataFrame:
        """Earlier decisions about these ids: kept (from the kept parts) or duplicate (from the decided parts)."""
        kept, decided = self._parts("kept"), self._parts("decided")
        found = [pl.DataFrame(schema=DECISION_SCHEMA)]
        if ids and (kept or decided):
            with duckdb.connect() as con:
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

    def _prepare(self, new: pl.DataFrame) -> Candidates:
        """Signatures and fingerprints of the new documents, in batches spread over every core."""
        texts = new["text"].to_list()
        p = self.policy
        jobs = [(p.num_perm, p.seed, p.shingle_size, texts[start : start + BATCH]) for start in range(0, len(texts), BATCH)]
        signatures, fingerprints = [np.empty((0, p.num_perm), np.uint32)], []
        for outcome in map_documents(sketch_batch, jobs, budget_s=0, preload=["moisson.minhash"], inline_below=2, chunk=1):
            if not outcome.ok:
                raise RuntimeError(f"MinHash signatures failed: {outcome.error_class}: {outcome.message}")
            signatures.append(outcome.value[0])
            fingerprints += outcome.value[1]
        return Candidates(new["id"].to_list(), new["retrieved_at"].to_list(), texts, fingerprints, np.concatenate(signatures))

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
            con.register("incoming", pl.DataFrame({"fingerprint": sorted(set(fingerprints))}, schema={"fingerprint": pl.String}))
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
            sims = self._verify(new_pairs, candidates.signatures, candidates.signatures, candidates.texts, candidates.texts)
            for (a, b), s in zip(new_pairs[sims >= threshold], sims[sims >= threshold]):
                edges.append((a, b))
                best[a], best[b] = max(best[a], s), max(best[b], s)
        if len(old_pairs):
            old_texts = None
            if self.kept_texts is not None:
                found = self.kept_texts(old["ids"])
                old_texts = [found.get(doc_id) for doc_id in old["ids"]]
            sims = self._verify(old_pairs, candidates.signatures, old["signatures"], candidates.texts, old_texts)
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

    def _verify(self, pairs: np.ndarray, left_signatures: np.ndarray, right_signatures: np.ndarray,
                left_texts: list[str], right_texts: list[str | None] | None) -> np.ndarray:
        """Similarity of each candidate pair, exact on the shingle sets when both texts are at hand. Without
        the texts: the Jaccard estimate from the signatures, which never exceeds the containment either."""
        similarity = estimated_jaccard(left_signatures[pairs[:, 0]], right_signatures[pairs[:, 1]])
        if right_texts is None:
            return similarity
        measure = exact_containment if self.policy.measure == "containment" else exact_jaccard
        left_ids, right_ids = np.unique(pairs[:, 0]), np.unique(pairs[:, 1])
        left = dict(zip(left_ids, self.hasher.shingle_sets([left_texts[i] for i in left_ids])))
        usable = [i for i in right_ids if right_texts[i] is not None]
        right = dict(zip(usable, self.hasher.shingle_sets([right_texts[i] for i in usable])))
        for number, (a, b) in enumerate(pairs):
            if b in right:
                similarity[number] = measure(left[a], right[b])
        return similarity

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
        incoming = pl.DataFrame({  # polars, not pyarrow, from numpy: pyarrow would import pandas (a second of start-up)
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
        signatures = candidates.signatures[index]
        hashes = band_hashes(signatures, self.bands, self.rows)
        ids = [candidates.ids[i] for i in kept]
        write_parquet(pl.DataFrame({
            "band": np.tile(np.arange(self.bands, dtype=np.int16), len(ids)),
            "hash": hashes.reshape(-1),
            "id": pl.Series(ids, dtype=pl.String).gather(np.repeat(np.arange(len(ids)), self.bands)),
        }).to_arrow(), self.root / "bands" / part, self.tmp_dir)
        write_parquet(pl.DataFrame({
            "id": ids,
            "retrieved_at": pl.Series([candidates.retrieved_at[i] for i in kept], dtype=pl.Datetime("us", "UTC")),
            "fingerprint": [candidates.fingerprints[i] for i in kept],
            "signature": pl.Series([row.astype("<u4").tobytes() for row in signatures], dtype=pl.Binary),
        }).to_arrow(), self.root / "kept" / part, self.tmp_dir)


def open_store(root: Path, corpus_dir: Path, policy: DedupPolicy, tmp_dir: Path,
               kept_texts: TextLookup | None = None) -> tuple[DedupStore, str]:
    """The store, rebuilt from the published corpus when it is missing or was built with other settings.

    So a lost store, or a change of num_perm, seed, shingle size or threshold, never lets duplicates
    of documents already published back in.
    """
    store = DedupStore(root, policy, tmp_dir, kept_texts)
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
