"""Exact duplicates: documents whose text is the same once case, punctuation and spacing are ignored.

The same article republished with other boilerplate, or re-encoded with other quotes and spaces, is
the same training example; counting it twice only teaches a model to memorise it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_for_fingerprint(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return NON_WORD.sub(" ", text).strip()


def text_fingerprint(text: str) -> str:
    """sha256 of the normalised text: equal fingerprints mean exact duplicates."""
    normalised = normalise_for_fingerprint(text)
    return hashlib.sha256(normalised.encode("utf-8", errors="surrogatepass")).hexdigest()
