"""Exact duplicates: documents whose text is the same once case, punctuation and spacing are ignored.

The same article republished with other boilerplate, or re-encoded with other quotes and spaces, is
the same training example; counting it twice only teaches a model to memorise it. The words are
the ones MinHash shingles (NFKC, case-folded, `\\w+`), so both dedup steps see the same text.
"""

from __future__ import annotations

from moisson.minhash import fingerprint, words


def text_fingerprint(text: str) -> str:
    """sha256 of the normalised words: equal fingerprints mean exact duplicates."""
    return fingerprint(words(text))
