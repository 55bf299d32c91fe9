"""Near duplicates with MinHash and locality-sensitive hashing (datasketch).

Two documents are near duplicates when the Jaccard similarity of their word shingles reaches the
policy threshold. LSH only proposes candidates; each candidate's similarity is then estimated from
the full signatures and checked against the threshold, so that a chance collision in one band
never removes a document.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from datasketch import MinHash, MinHashLSH

WORD = re.compile(r"\w+", re.UNICODE)
# LSH only proposes candidates and every candidate is verified, so false positives cost a comparison
# while false negatives cost a duplicate in the corpus: weigh misses 9:1 in datasketch's optimiser.
LSH_WEIGHTS = (0.1, 0.9)
SCHEME = "affine32"  # datasketch 2's default; stated explicitly so stored signatures are read back the same way


def shingles(text: str, size: int) -> list[bytes]:
    """Word n-grams of the NFKC, case-folded text; a text shorter than one shingle is one shingle."""
    words = WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(words) <= size:
        return [" ".join(words).encode("utf-8", errors="surrogatepass")]
    return [" ".join(words[i : i + size]).encode("utf-8", errors="surrogatepass") for i in range(len(words) - size + 1)]


def signature(text: str, num_perm: int, seed: int, shingle_size: int) -> MinHash:
    minhash = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME)
    minhash.update_batch(shingles(text, shingle_size))
    return minhash


def signature_bytes(minhash: MinHash) -> bytes:
    return minhash.hashvalues.astype("<u8").tobytes()


def signature_from_bytes(data: bytes, num_perm: int, seed: int) -> MinHash:
    values = np.frombuffer(data, dtype="<u8")
    if len(values) != num_perm:
        raise ValueError(f"stored signature has {len(values)} permutations, policy asks for {num_perm}")
    return MinHash(num_perm=num_perm, seed=seed, hashvalues=values.copy(), scheme=SCHEME)


class NearDuplicateIndex:
    """The signatures of every kept document, queryable for verified near duplicates."""

    def __init__(self, threshold: float, num_perm: int):
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=LSH_WEIGHTS)
        self._signatures: dict[str, MinHash] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, doc_id: str, minhash: MinHash) -> None:
        self._lsh.insert(doc_id, minhash)
        self._signatures[doc_id] = minhash

    def most_similar(self, minhash: MinHash) -> tuple[str, float] | None:
        """The kept document most similar to this signature, if any reaches the threshold (ties: smallest id)."""
        best: tuple[float, str] | None = None
        for candidate in self._lsh.query(minhash):
            similarity = minhash.jaccard(self._signatures[candidate])
            if similarity >= self.threshold and (best is None or (-similarity, candidate) < (-best[0], best[1])):
                best = (similarity, candidate)
        return (best[1], round(best[0], 4)) if best else None
