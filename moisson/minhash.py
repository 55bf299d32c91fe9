"""MinHash signatures computed in bulk from raw text, bit-identical to datasketch.

datasketch's `MinHash` (scheme "affine32") hashes each shingle with a per-shingle hash function,
mixes it with the MurmurHash3 finalizer, applies `num_perm` affine permutations modulo 2^32 and
keeps the minimum of each. The cost is one Python call per shingle. Here the same arithmetic runs
in numpy over every shingle of a batch at once, and the per-shingle hash is built from word
hashes (xxh32 of each distinct word of the batch, in numpy too, then combined per shingle in
vectorised uint32 arithmetic). A batch is split into words by polars (Rust's regex engine, several times faster than
`re` on long texts) with a character class built from Python's own `\\w`, so the words are exactly
those `re` finds. `shingle_hash32` is that same function on a shingle's bytes, so that
`datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32, scheme="affine32")` fed with
`shingles(text)` gives exactly our signature, and the signatures mix with datasketch's LSH and
tools.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

WORD = re.compile(r"\w+", re.UNICODE)
SCHEME = "affine32"
COMBINE_PRIME = np.uint32(0x01000193)  # FNV-1a's 32-bit prime
COMBINE_OFFSET = np.uint32(0x811C9DC5)  # FNV-1a's offset basis
FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
XXH_PRIMES = tuple(np.uint32(p) for p in (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1))


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
    """Signatures for many documents at a time."""

    def __init__(self, num_perm: int = 128, seed: int = 1, shingle_size: int = 5, rows_per_block: int = 1 << 14):
        self.num_perm, self.seed, self.shingle_size = num_perm, seed, shingle_size
        self.a, self.b = permutations(num_perm, seed)
        self.rows_per_block = rows_per_block

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
        encoded = pc.dictionary_encode(tokens.to_arrow().flatten())  # the distinct words, hashed once each
        indices = pl.from_arrow(encoded.indices).to_numpy()  # through polars: pyarrow's to_numpy imports pandas (0.3 s)
        hashes = _xxh32_strings(encoded.dictionary)[indices]
        empty = np.flatnonzero(lengths == 0)  # one empty word each, at the place its words would be
        hashes = np.insert(hashes, (np.cumsum(lengths) - lengths)[empty], np.uint32(xxhash.xxh32_intdigest(b"")))
        return BatchWords(hashes, np.maximum(lengths, 1), tokens.list.join(" ").to_list())

    @staticmethod
    def _words_by_re(normalised: list[str]) -> BatchWords:
        tokenised = [WORD.findall(text) or [""] for text in normalised]
        flat = [token for tokens in tokenised for token in tokens]
        distinct = list(dict.fromkeys(flat))
        position = {token: i for i, token in enumerate(distinct)}
        encoded = [word.encode("utf-8", errors="surrogatepass") for word in distinct]
        offsets = np.concatenate(([0], np.cumsum([len(word) for word in encoded]))).astype(np.int64)
        distinct_hashes = xxh32_each(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)
        hashes = distinct_hashes[np.array([position[token] for token in flat], dtype=np.int64)]
        return BatchWords(hashes, np.array([len(tokens) for tokens in tokenised], dtype=np.int64),
                          [" ".join(tokens) for tokens in tokenised])

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


def sketch_batch(job: tuple[int, int, int, list[str], bool]) -> Sketches:
    """`MinHasher.sketch` for (num_perm, seed, shingle_size, texts, keep_shingles): the unit of work sent to
    worker processes, which keep one hasher per setting across batches. Without `keep_shingles` (indexing
    a corpus, nothing to verify) the shingle hashes are not sent back."""
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


def xxh32_each(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """xxh32 (seed 0) of each byte string data[offsets[i]:offsets[i + 1]], all at once: the same values as
    `xxhash.xxh32_intdigest`, without a Python call per word. 16-byte stripes, then 4-byte words, then
    bytes, each step over the strings long enough for it."""
    p1, p2, p3, p4, p5 = XXH_PRIMES
    data = np.concatenate((data, np.zeros(16, np.uint8)))  # reads of 4 bytes past a string's end are masked out
    starts, lengths = offsets[:-1].astype(np.int64), np.diff(offsets).astype(np.int64)
    stripes = lengths // 16
    with np.errstate(over="ignore"):
        hashes = _xxh32_stripes(data, starts, stripes) + lengths.astype(np.uint32)
        position, rest = starts + 16 * stripes, lengths - 16 * stripes
        for word in range(3):
            some = np.flatnonzero(rest >= 4 * (word + 1))
            hashes[some] = _rotl(hashes[some] + _read32(data, position[some] + 4 * word) * p3, 17) * p4
        position, rest = position + 4 * (rest // 4), rest % 4
        for byte in range(3):
            some = np.flatnonzero(rest > byte)
            hashes[some] = _rotl(hashes[some] + data[position[some] + byte].astype(np.uint32) * p5, 11) * p1
        hashes ^= hashes >> np.uint32(15)
        hashes *= p2
        hashes ^= hashes >> np.uint32(13)
        hashes *= p3
        hashes ^= hashes >> np.uint32(16)
    return hashes


def _xxh32_stripes(data: np.ndarray, starts: np.ndarray, stripes: np.ndarray) -> np.ndarray:
    """xxh32's state after the 16-byte stripes: 4 accumulators merged for strings of 16 bytes or more, the
    seed plus PRIME5 for shorter ones. Longest strings first, so each round works on a prefix."""
    p1, p2, _, _, p5 = XXH_PRIMES
    hashes = np.full(len(starts), p5, np.uint32)
    order = np.flatnonzero(stripes)
    order = order[np.argsort(-stripes[order], kind="stable")]
    if len(order) == 0:
        return hashes
    seeds = [(int(p1) + int(p2)) & 0xFFFFFFFF, int(p2), 0, -int(p1) & 0xFFFFFFFF]
    lanes = np.repeat(np.array(seeds, dtype=np.uint32)[:, None], len(order), axis=1)
    remaining = stripes[order]
    for stripe in range(int(remaining[0])):
        active = order[: np.count_nonzero(remaining > stripe)]
        for lane in range(4):
            accumulated = lanes[lane, : len(active)] + _read32(data, starts[active] + 16 * stripe + 4 * lane) * p2
            lanes[lane, : len(active)] = _rotl(accumulated, 13) * p1
    hashes[order] = _rotl(lanes[0], 1) + _rotl(lanes[1], 7) + _rotl(lanes[2], 12) + _rotl(lanes[3], 18)
    return hashes


def _xxh32_strings(strings) -> np.ndarray:
    """`xxh32_each` over an Arrow (large) string array, read from its buffers."""
    _, offsets_buffer, data_buffer = strings.buffers()
    wide = strings.type == pa.large_string()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    return xxh32_each(data, offsets)


def _read32(data: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The little-endian uint32 at each byte position."""
    value = data[positions].astype(np.uint32)
    for byte in range(1, 4):
        value |= data[positions + byte].astype(np.uint32) << np.uint32(8 * byte)
    return value


def _rotl(values: np.ndarray, bits: int) -> np.ndarray:
    return (values << np.uint32(bits)) | (values >> np.uint32(32 - bits))


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
