"""MinHash signatures computed in bulk from raw text, bit-identical to datasketch.

datasketch's `MinHash` (scheme "affine32") hashes each shingle with a per-shingle hash function,
mixes it with the MurmurHash3 finalizer, applies `num_perm` affine permutations modulo 2^32 and
keeps the minimum of each. The cost is one Python call per shingle. Here the same arithmetic runs
in numpy over every shingle of a batch at once, and the per-shingle hash is built from word
hashes (each distinct word hashed once, then combined per shingle in vectorised uint32
arithmetic). `shingle_hash32` is that same function on a shingle's bytes, so that
`datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32, scheme="affine32")` fed with
`shingles(text)` gives exactly our signature, and the signatures mix with datasketch's LSH and
tools.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import cache

import numpy as np
import xxhash

WORD = re.compile(r"\w+", re.UNICODE)
SCHEME = "affine32"
COMBINE_PRIME = np.uint32(0x01000193)  # FNV-1a's 32-bit prime
COMBINE_OFFSET = np.uint32(0x811C9DC5)  # FNV-1a's offset basis
FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
MAX_CACHED_WORDS = 2_000_000


def normalise(text: str) -> str:
    """NFKC and case folding: 'Ｆｉｎａｌ' and 'final', 'Straße' and 'STRASSE' shingle alike."""
    return unicodedata.normalize("NFKC", text).casefold()


def words(text: str) -> list[str]:
    return WORD.findall(normalise(text))


def fingerprint(tokens: list[str]) -> str:
    """sha256 of the normalised words: equal fingerprints mean exact duplicates (case, punctuation and spacing aside)."""
    return hashlib.sha256(" ".join(tokens).encode("utf-8", errors="surrogatepass")).hexdigest()


def shingles(text: str, size: int) -> list[bytes]:
    """Word n-grams joined by one space; a text shorter than one shingle is a single shingle."""
    tokens = words(text)
    if len(tokens) <= size:
        return [" ".join(tokens).encode("utf-8", errors="surrogatepass")]
    return [" ".join(tokens[i : i + size]).encode("utf-8", errors="surrogatepass") for i in range(len(tokens) - size + 1)]


def shingle_hash32(shingle: bytes) -> int:
    """The per-shingle hash, on a shingle's bytes: FNV-style combination of the xxh32 of its words."""
    value = int(COMBINE_OFFSET)
    for word in shingle.split(b" "):
        value = ((value * int(COMBINE_PRIME)) & 0xFFFFFFFF) ^ xxhash.xxh32_intdigest(word)
    return value


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters for this seed (same generator, same draws)."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class MinHasher:
    """Signatures for many documents at a time; keeps a cache of word hashes across batches."""

    def __init__(self, num_perm: int = 128, seed: int = 1, shingle_size: int = 5, rows_per_block: int = 1 << 16):
        self.num_perm, self.seed, self.shingle_size = num_perm, seed, shingle_size
        self.a, self.b = permutations(num_perm, seed)
        self.rows_per_block = rows_per_block
        self._word_hashes: dict[str, int] = {}

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """One row of `num_perm` uint32 per text."""
        return self._signatures([words(text) for text in texts])

    def sketch(self, texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """Signatures and exact-duplicate fingerprints, from one tokenisation of each text."""
        tokenised = [words(text) for text in texts]
        return self._signatures(tokenised), [fingerprint(tokens) for tokens in tokenised]

    def shingle_sets(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's distinct shingle hashes, sorted: exact Jaccard similarity without keeping shingles as strings."""
        hashes, owners = self._shingle_hashes([words(text) for text in texts])
        bounds = np.searchsorted(owners, np.arange(len(texts) + 1))
        return [np.unique(hashes[bounds[i] : bounds[i + 1]]) for i in range(len(texts))]

    def _signatures(self, tokenised: list[list[str]]) -> np.ndarray:
        hashes, owners = self._shingle_hashes(tokenised)
        out = np.full((self.num_perm, len(tokenised)), np.iinfo(np.uint32).max, dtype=np.uint32)
        for start in range(0, len(hashes), self.rows_per_block):
            permuted = np.multiply.outer(self.a, _fmix32(hashes[start : start + self.rows_per_block]))
            permuted += self.b[:, None]  # (num_perm, shingles): the reduction runs along contiguous memory
            _min_by_owner(out, owners[start : start + self.rows_per_block], permuted)
        return np.ascontiguousarray(out.T)

    def _shingle_hashes(self, tokenised: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Every shingle hash of the batch, with the index of its text, computed over one flat word array."""
        if not tokenised:
            return np.empty(0, np.uint32), np.empty(0, np.int64)
        flat: list[int] = []
        lengths = np.empty(len(tokenised), dtype=np.int64)
        cache = self._word_hashes
        for index, tokens in enumerate(tokenised):
            tokens = tokens or [""]
            hashes = list(map(cache.get, tokens))
            if None in hashes:  # words never seen: hash them once, then look the document up again
                self._learn({token for token, value in zip(tokens, hashes) if value is None})
                hashes = list(map(cache.__getitem__, tokens))
            flat.extend(hashes)
            lengths[index] = len(tokens)
        word_hashes = np.array(flat, dtype=np.uint32)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        size = self.shingle_size
        full = _combine(np.concatenate((word_hashes, np.zeros(size, np.uint32))), size)[: len(word_hashes)]
        counts = np.maximum(lengths - size + 1, 1)
        owners = np.repeat(np.arange(len(tokenised)), counts)
        positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        hashes = full[positions]
        for index in np.flatnonzero(lengths < size):  # short texts: one shingle of all their words
            first = np.searchsorted(owners, index)
            hashes[first] = _combine(word_hashes[starts[index] : starts[index] + lengths[index]], size)[0]
        return hashes, owners

    def _learn(self, new_words: set[str]) -> None:
        if len(self._word_hashes) > MAX_CACHED_WORDS:
            self._word_hashes.clear()
        for word in new_words:
            self._word_hashes[word] = xxhash.xxh32_intdigest(word.encode("utf-8", errors="surrogatepass"))


def sketch_batch(job: tuple[int, int, int, list[str]]) -> tuple[np.ndarray, list[str]]:
    """`MinHasher.sketch` for (num_perm, seed, shingle_size, texts): the unit of work sent to worker processes,
    which keep one hasher (and its word-hash cache) per setting across batches."""
    num_perm, seed, shingle_size, texts = job
    return _hasher(num_perm, seed, shingle_size).sketch(texts)


@cache
def _hasher(num_perm: int, seed: int, shingle_size: int) -> "MinHasher":
    return MinHasher(num_perm, seed, shingle_size)


def _combine(word_hashes: np.ndarray, size: int) -> np.ndarray:
    """Shingle hashes from word hashes, all positions at once (texts shorter than `size`: one shingle)."""
    count = max(len(word_hashes) - size + 1, 1)
    width = min(size, len(word_hashes))
    value = np.full(count, COMBINE_OFFSET, dtype=np.uint32)
    for offset in range(width):
        value = (value * COMBINE_PRIME) ^ word_hashes[offset : offset + count]
    return value


def _fmix32(values: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = FMIX
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


def _min_by_owner(out: np.ndarray, owners: np.ndarray, permuted: np.ndarray) -> None:
    """Column-wise minimum of `permuted` grouped by owner (owners are sorted), folded into `out`."""
    if len(owners) == 0:
        return
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    reduced = np.minimum.reduceat(permuted, starts, axis=1)
    columns = owners[starts]
    out[:, columns] = np.minimum(out[:, columns], reduced)
