"""Moisson's bulk MinHash is bit-identical to datasketch's, and its LSH parameters are datasketch's optimum."""

import gzip
import shutil

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from datasketch.lsh import _optimal_param

import polars as pl
import pyarrow as pa
import xxhash

from moisson.minhash import (WORD, MinHasher, _xxh32_strings, fingerprint, shingle_hash32, shingles, word_pattern, words,
                             xxh32_each)
from moisson.near_duplicates import FALSE_NEGATIVE_WEIGHT, FALSE_POSITIVE_WEIGHT, lsh_parameters

EDGE_CASES = ["", "one", "two words", "a b c d e", "Straße ＦＩＮＡＬ Ｔｅｓｔ", "ça déjà vu, l'été — «oui»!", "😀 🙃", "x " * 10_000]


def datasketch_signature(text, num_perm, seed, size):
    minhash = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32, scheme="affine32")
    minhash.update_batch(shingles(text, size))
    return minhash


@pytest.mark.parametrize("num_perm,seed,size", [(128, 1, 5), (64, 42, 3), (256, 7, 1)])
def test_bit_identical_to_datasketch_on_edge_cases(num_perm, seed, size):
    ours = MinHasher(num_perm, seed, size).signatures(EDGE_CASES)
    for text, row in zip(EDGE_CASES, ours):
        assert np.array_equal(row, datasketch_signature(text, num_perm, seed, size).hashvalues)


def test_bit_identical_to_datasketch_on_real_text_and_usable_in_its_lsh(shared_data, tmp_path):
    copy = tmp_path / "p.tsv.gz"
    shutil.copyfile(shared_data / "text" / "gutenberg_5lang" / "gutenberg_paragraphs_min200chars.tsv.gz", copy)
    with gzip.open(copy, "rt", encoding="utf-8") as handle:
        next(handle)
        texts = [line.split("\t")[3] for _, line in zip(range(1000), handle)]
    ours = MinHasher(128, 1, 5).signatures(texts)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    for index, text in enumerate(texts[:400]):
        theirs = datasketch_signature(text, 128, 1, 5)
        assert np.array_equal(ours[index], theirs.hashvalues)
        lsh.insert(str(index), MinHash(num_perm=128, seed=1, hashvalues=ours[index], scheme="affine32"))
    assert str(7) in lsh.query(datasketch_signature(texts[7], 128, 1, 5))


def test_batches_and_cache_do_not_change_signatures():
    texts = [f"document {i} " + "shared words here " * (i % 7) for i in range(50)]
    hasher = MinHasher(128, 1, 5, rows_per_block=17)
    together = hasher.signatures(texts)
    one_by_one = np.vstack([MinHasher(128, 1, 5).signatures([t]) for t in texts])
    assert np.array_equal(together, one_by_one)


def test_polars_splits_words_exactly_like_re_on_every_code_point():
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    # runs of 300 code points, joined by characters of each kind, so every boundary between kinds occurs
    chunks = [every[start : start + 300] + separator for start in range(0, len(every), 300) for separator in (" ", "a", "\u0301")]
    assert pl.Series(chunks).str.extract_all(word_pattern()).to_list() == [WORD.findall(chunk) for chunk in chunks]


def test_xxh32_of_many_strings_at_once_equals_xxhash_at_every_length():
    rng = np.random.default_rng(0)
    strings = [bytes(rng.integers(0, 256, size, dtype=np.uint8)) for size in [*range(70)] * 5 + [16 * 40 + 3, 5000]]
    offsets = np.concatenate(([0], np.cumsum([len(s) for s in strings])))
    expected = [xxhash.xxh32_intdigest(s) for s in strings]
    assert xxh32_each(np.frombuffer(b"".join(strings), np.uint8), offsets).tolist() == expected
    words = pa.array(["", "déjà", "x" * 33, "straße", "naïve", "a" * 16], pa.large_string()).slice(1)  # an offset into the buffers
    assert _xxh32_strings(words).tolist() == [xxhash.xxh32_intdigest(w.encode()) for w in words.to_pylist()]


def test_texts_without_words_and_lone_surrogates_match_datasketch_in_one_batch():
    texts = ["", "Some words, then more words here", "!!! ???", "", "caf\u00e9 \udc80 lone surrogate text", "x"]
    hasher = MinHasher(128, 1, 5)
    sketches = hasher.sketch(texts)
    assert sketches.fingerprints == [fingerprint(words(text)) for text in texts]
    for text, row in zip(texts, sketches.signatures):
        assert np.array_equal(row, datasketch_signature(text, 128, 1, 5).hashvalues)
    without_surrogate = hasher.sketch(texts[:4])  # the polars path, with empty texts between others
    assert np.array_equal(without_surrogate.signatures, sketches.signatures[:4])
    assert without_surrogate.fingerprints == sketches.fingerprints[:4]


def test_sketches_keep_every_shingle_hash_of_each_text_in_order():
    texts = ["one two three four five six seven", "", "short text", "one two three four five six seven eight"]
    sketches = MinHasher(128, 1, 5).sketch(texts)
    expected = [[shingle_hash32(shingle) for shingle in shingles(text, 5)] for text in texts]
    assert sketches.shingle_counts.tolist() == [3, 1, 1, 4]
    assert sketches.shingles.tolist() == [value for hashes in expected for value in hashes]


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_lsh_parameters_are_datasketchs_optimum(threshold, num_perm):
    assert lsh_parameters(threshold, num_perm) == _optimal_param(threshold, num_perm, FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT)
