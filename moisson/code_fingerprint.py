"""How a stored result was made, hashed: the settings, the code and the library versions behind it.

Two things are kept from one run to the next because redoing them costs the most: what the extraction
workers made of each payload (`extraction_cache`) and what reading a local source gave (`single_pass`).
Either is reused only when it would come out the same, and "the same" is this fingerprint, so that an
edited module, an upgraded library or a changed setting starts afresh without anyone clearing anything.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path


def fingerprint(settings: object, modules: Iterable[str], distributions: Iterable[str]) -> str:
    """Settings (their repr), library versions and module source code, hashed."""
    digest = hashlib.sha256(repr(settings).encode())
    for name in modules:
        digest.update(Path(importlib.util.find_spec(name).origin).read_bytes())
    for name in distributions:
        digest.update(f"{name}=={metadata.version(name)}".encode())
    return digest.hexdigest()[:32]
