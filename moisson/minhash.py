"""MinHash signatures computed in bulk from raw text, bit-identical to datasketch.

datasketch's `MinHash` (scheme "affine32") hashes each shingle with a per-shingle hash function,
mixes it with the MurmurHash3 finalizer, applies `num_perm` affine permutations modulo 2^32 and
keeps the minimum of each. The cost is one Python call per shingle. Here the same arithmetic runs
in numpy over every shingle of a batch at once, and the per-shingle hash is built from word
hashes (each distinct word hashed once, then combined per shingle in vectorised uint32
arithmetic). A batch is split into words by polars (Rust's regex engine, several times faster than
`re` on long texts) with a character class built from Python's own `\\w`, so the words are exactly
those `re` finds. `shingle_hash32` is that same function on a shingle's bytes, so that
`datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32, scheme="affine32")` fed with
`shingles(text)` gives exactly our signature, and the signatures mix with datasketch's LSH and
tools.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
import pyarrow.compute as pc
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
    return joined_fingerprint(" ".join(tokens))


def joined_fingerprint(joined_words: str) -> str:
    return hashlib.sha256(joined_words.encode("utf-8", errors="surrogatepass")).hexdigest()


@cache
def word_pattern() -> str:
    """`\\w+` for Rust's regex engine, spelled as the ranges of code points Python's `re` matches with `\\w`
    in this interpreter's Unicode version: Rust's own `\\w` differs (it takes combining marks, Python
    does not), and so would the signatures. Found by running `re` over every code point (50 ms)."""
    every_code_point = np.arange(sys.maxunicode + 1, dtype="<u4").tobytes().decode("utf-32-le", errors="surrogatepass")
    ranges = (match.span() for match in WORD.finditer(every_code_point))
    return "[" + "".join(f"\\x{{{start:X}}}-\\x{{{end - 1:X}}}" for start, end in ranges) + "]+"


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


@dataclass(frozen=True)
class BatchWords:
    """The words of a batch of texts, as one flat array of word hashes: a text without words counts one
    empty word, as `shingles` gives it one empty shingle. `joined` holds each text's words joined by
    one space, for fingerprints."""

    hashes: np.ndarray  # uint32, every word of every text in order
    lengths: np.ndarray  # int64, words per text (at least 1)
    joined: list[str]


@dataclass(frozen=True)
class Sketches:
    """What dedup needs of a batch of texts, from one tokenisation: signatures, exact-duplicate
    fingerprints, and every shingle hash (text after text), so that candidate pairs are verified on
    their exact similarity without splitting the texts again."""

    signatures: np.ndarray  # (texts, num_perm) uint32
    fingerprints: list[str]
    shingles: np.ndarray  # uint32, with repeats
    shingle_counts: np.ndarray  # int64, shingles per text

    @staticmethod
    def concat(parts: Sequence["Sketches"], num_perm: int) -> "Sketches":
        if not parts:
            return Sketches(np.empty((0, num_perm), np.uint32), [], np.empty(0, np.uint32), np.empty(0, np.int64))
        return Sketches(np.concatenate([part.signatures for part in parts]), [f for part in parts for f in part.fingerprints],
                        np.concatenate([part.shingles for part in parts]),
                        np.concatenate([part.shingle_counts for part in parts]))


class MinHasher:
    """Signatures for many documents at a time; keeps a cache of word hashes across batches."""

    def __init__(self, num_perm: int = 128, seed: int = 1, shingle_size: int = 5, rows_per_block: int = 1 << 14):
        self.num_perm, self.seed, self.shingle_size = num_perm, seed, shingle_size
        self.a, self.b = permutations(num_perm, seed)
        self.rows_per_block = rows_per_block
        self._word_hashes: dict[str, int] = {}

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """One row of `num_perm` uint32 per text."""
        return self._signatures(*self._shingle_hashes(self.batch_words(texts)), len(texts))

    def sketch(self, texts: Sequence[str]) -> Sketches:
        found = self.batch_words(texts)
        hashes, owners = self._shingle_hashes(found)
        return Sketches(self._signatures(hashes, owners, len(texts)), [joined_fingerprint(joined) for joined in found.joined],
                        hashes, np.bincount(owners, minlength=len(texts)).astype(np.int64))

    def shingle_hashes(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every shingle hash of the texts, text after text (with repeats), and the count of each text's shingles."""
        hashes, owners = self._shingle_hashes(self.batch_words(texts))
        return hashes, np.bincount(owners, minlength=len(texts)).astype(np.int64)

    def batch_words(self, texts: Sequence[str]) -> BatchWords:
        """The words of every text, split in one polars call; texts polars cannot hold (lone surrogates)
        go through `re` instead."""
        normalised = [normalise(text) for text in texts]
        try:
            tokens = pl.Series(normalised, dtype=pl.String).str.extract_all(word_pattern())
        except UnicodeEncodeError:
            return self._words_by_re(normalised)
        lengths = tokens.list.len().to_numpy().astype(np.int64)
        encoded = pc.dictionary_encode(tokens.to_arrow().flatten())
        indices = pl.from_arrow(encoded.indices).to_numpy()  # through polars: pyarrow's to_numpy imports pandas (0.3 s)
        hashes = self._hash_words(encoded.dictionary.to_pylist())[indices]
        empty = np.flatnonzero(lengths == 0)  # one empty word each, at the place its words would be
        hashes = np.insert(hashes, (np.cumsum(lengths) - lengths)[empty], self._hash_words([""]))
        return BatchWords(hashes, np.maximum(lengths, 1), tokens.list.join(" ").to_list())

    def _words_by_re(self, normalised: list[str]) -> BatchWords:
        tokenised = [WORD.findall(text) or [""] for text in normalised]
        flat = [token for tokens in tokenised for token in tokens]
        distinct = list(dict.fromkeys(flat))
        position = {token: i for i, token in enumerate(distinct)}
        hashes = self._hash_words(distinct)[np.array([position[token] for token in flat], dtype=np.int64)]
        return BatchWords(hashes, np.array([len(tokens) for tokens in tokenised], dtype=np.int64),
                          [" ".join(tokens) for tokens in tokenised])

    def _hash_words(self, distinct: list[str]) -> np.ndarray:
        """xxh32 of each word, from the cache when the word was seen in an earlier batch."""
        cache = self._word_hashes
        hashes = list(map(cache.get, distinct))
        if None in hashes:
            self._learn({word for word, value in zip(distinct, hashes) if value is None})
            hashes = list(map(cache.__getitem__, distinct))
        return np.array(hashes, dtype=np.uint32)

    def _signatures(self, hashes: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
        out = np.full((self.num_perm, count), np.iinfo(np.uint32).max, dtype=np.uint32)
        for start in range(0, len(hashes), self.rows_per_block):
            permuted = np.multiply.outer(self.a, _fmix32(hashes[start : start + self.rows_per_block]))
            permuted += self.b[:, None]  # (num_perm, shingles): the reduction runs along contiguous memory
            _min_by_owner(out, owners[start : start + self.rows_per_block], permuted)
        return np.ascontiguousarray(out.T)

    def _shingle_hashes(self, found: BatchWords) -> tuple[np.ndarray, np.ndarray]:
        """Every shingle hash of the batch, with the index of its text, computed over one flat word array."""
        lengths, word_hashes = found.lengths, found.hashes
        if len(lengths) == 0:
            return np.empty(0, np.uint32), np.empty(0, np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        size = self.shingle_size
        full = _combine(np.concatenate((word_hashes, np.zeros(size, np.uint32))), size)[: len(word_hashes)]
        counts = np.maximum(lengths - size + 1, 1)
        owners = np.repeat(np.arange(len(lengths)), counts)
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


def sketch_batch(job: tuple[int, int, int, list[str], bool]) -> Sketches:
    """`MinHasher.sketch` for (num_perm, seed, shingle_size, texts, keep_shingles): the unit of work sent to
    worker processes, which keep one hasher (and its word-hash cache) per setting across batches. Without
    `keep_shingles` (indexing a corpus, nothing to verify) the shingle hashes are not sent back."""
    num_perm, seed, shingle_size, texts, keep_shingles = job
    sketches = _hasher(num_perm, seed, shingle_size).sketch(texts)
    if keep_shingles:
        return sketches
    return Sketches(sketches.signatures, sketches.fingerprints, np.empty(0, np.uint32), np.zeros(len(texts), np.int64))


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
