"""Incremental deduplication: each document is compared with everything already kept, across runs.

The state holds, for every kept document, its text fingerprint and MinHash signature. A run adds
its new documents in a fixed order (earliest retrieved first, then id), so the document kept in a
cluster is chosen deterministically; a document already kept stays kept, so re-running over the
same input adds nothing and removes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from moisson.config import DedupPolicy
from moisson.exact_duplicates import text_fingerprint
from moisson.near_duplicates import SCHEME, NearDuplicateIndex, signature, signature_bytes, signature_from_bytes

STATE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("fingerprint", pa.string()),
        ("signature", pa.binary()),
        ("retrieved_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class DedupCandidate:
    id: str
    text: str
    retrieved_at: datetime


@dataclass(frozen=True)
class DedupDecision:
    id: str
    reason: str | None  # None (kept) | 'exact_duplicate' | 'near_duplicate'
    duplicate_of: str | None = None
    similarity: float | None = None
    already_kept: bool = False


def signature_settings(policy: DedupPolicy) -> dict[str, object]:
    """What stored signatures depend on: if any of it changes, they must be computed again."""
    return {"num_perm": policy.num_perm, "seed": policy.seed, "shingle_size": policy.shingle_size, "scheme": SCHEME}


class DedupState:
    def __init__(self, policy: DedupPolicy):
        self.policy = policy
        self.fingerprints: dict[str, str] = {}
        self.near = NearDuplicateIndex(policy.threshold, policy.num_perm)
        self._rows: dict[str, tuple[str, bytes, datetime]] = {}

    @classmethod
    def from_table(cls, table: pa.Table | None, policy: DedupPolicy) -> "DedupState":
        state = cls(policy)
        if table is not None:
            for row in table.select(STATE_SCHEMA.names).to_pylist():
                minhash = signature_from_bytes(row["signature"], policy.num_perm, policy.seed)
                state.keep(row["id"], row["fingerprint"], minhash, row["retrieved_at"])
        return state

    @classmethod
    def rebuilt(cls, documents: Iterable[DedupCandidate], policy: DedupPolicy) -> "DedupState":
        """The state of an existing corpus, computed again from its texts."""
        state = cls(policy)
        for doc in sorted(documents, key=lambda d: (d.retrieved_at, d.id)):
            minhash = signature(doc.text, policy.num_perm, policy.seed, policy.shingle_size)
            state.keep(doc.id, text_fingerprint(doc.text), minhash, doc.retrieved_at)
        return state

    def to_table(self) -> pa.Table:
        ids = sorted(self._rows)
        columns = list(zip(*(self._rows[i] for i in ids))) or [[], [], []]
        schema = STATE_SCHEMA.with_metadata({"moisson.signatures": json.dumps(signature_settings(self.policy))})
        return pa.table([ids, *columns], schema=schema)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def keep(self, doc_id: str, fingerprint: str, minhash, retrieved_at: datetime) -> None:
        self.fingerprints.setdefault(fingerprint, doc_id)
        self.near.add(doc_id, minhash)
        self._rows[doc_id] = (fingerprint, signature_bytes(minhash), retrieved_at)


def deduplicate(candidates: Iterable[DedupCandidate], state: DedupState) -> list[DedupDecision]:
    """Decide every candidate against the state, adding the ones kept to it."""
    policy = state.policy
    decisions = []
    for doc in sorted(candidates, key=lambda c: (c.retrieved_at, c.id)):
        if doc.id in state:
            decisions.append(DedupDecision(doc.id, None, already_kept=True))
            continue
        fingerprint = text_fingerprint(doc.text)
        original = state.fingerprints.get(fingerprint)
        if original is not None:
            decisions.append(DedupDecision(doc.id, "exact_duplicate", original, 1.0))
            continue
        minhash = signature(doc.text, policy.num_perm, policy.seed, policy.shingle_size)
        match = state.near.most_similar(minhash)
        if match is not None:
            decisions.append(DedupDecision(doc.id, "near_duplicate", match[0], match[1]))
            continue
        state.keep(doc.id, fingerprint, minhash, doc.retrieved_at)
        decisions.append(DedupDecision(doc.id, None))
    return decisions


def open_state(state_file: Path, corpus_dir: Path, policy: DedupPolicy) -> tuple[DedupState, str]:
    """The stored state when it matches the policy; else rebuilt from the published corpus, which it indexes.

    So a lost state file, or a change of num_perm, seed or shingle size, never lets duplicates of
    documents already published back in.
    """
    if state_file.exists():
        table = pq.read_table(state_file)
        stored = json.loads((table.schema.metadata or {}).get(b"moisson.signatures", b"{}"))
        if stored == signature_settings(policy):
            return DedupState.from_table(table, policy), "loaded"
        reason = f"signature settings changed from {stored} to {signature_settings(policy)}"
    else:
        reason = "no stored state"
    if not any(corpus_dir.glob("*/*.parquet")):
        return DedupState(policy), f"new ({reason}, empty corpus)"
    corpus = pl.read_parquet(corpus_dir / "*" / "*.parquet", columns=["id", "text", "retrieved_at"])
    state = DedupState.rebuilt((DedupCandidate(**row) for row in corpus.to_dicts()), policy)
    return state, f"rebuilt from {corpus.height} corpus documents ({reason})"
