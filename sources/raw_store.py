"""The content-addressed raw store: every fetched payload once, under its sha256.

Why content-addressed: a nightly harvest fetches the same files again and again; storing by hash
means an unchanged file costs nothing new on disk, two resources with the same bytes share one
copy, and a document's `content_sha256` is the way back to the exact bytes it was extracted from.
`FetchMemory` remembers, per URL, the validators (ETag, Last-Modified) for conditional GETs and the
hash of what was stored, so an unchanged resource is not even downloaded again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from moisson.atomic_files import atomic_path, write_text


@dataclass(frozen=True)
class RawStore:
    root: Path  # <data dir>/raw/sha256
    tmp_dir: Path

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, payload: bytes) -> tuple[str, bool]:
        """Store the payload if new; return its sha256 and whether it was new."""
        digest = hashlib.sha256(payload).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest, False
        with atomic_path(target, self.tmp_dir) as temporary:
            temporary.write_bytes(payload)
        return digest, True

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


@dataclass(frozen=True)
class Remembered:
    """What the last successful fetch of a URL returned."""

    sha256: str
    content_type: str
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    catalogue_modified: str | None = None  # the resource's (or dataset's) modification date in the catalogue then
    fetched_at: str | None = None
    opt_out_headers: str | None = None  # the response's opt-out header fields (sources/tdm_reservation.py)

    def conditional_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class FetchMemory:
    """Per-source URL -> Remembered, in one JSON file written atomically, and only when something was remembered:
    a portal is read in catalogue slices, each with its own FetchMemory, and a slice whose resources were all
    unchanged must not rewrite the file of the whole source (41 MB for 100,000 resources)."""

    def __init__(self, path: Path, tmp_dir: Path):
        self.path, self.tmp_dir = path, tmp_dir
        raw = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        self._entries = {url: Remembered(**entry) for url, entry in raw.items()}
        self._changed = False

    def get(self, url: str) -> Remembered | None:
        return self._entries.get(url)

    def remember(self, url: str, entry: Remembered) -> None:
        self._changed |= self._entries.get(url) != entry
        self._entries[url] = entry

    def save(self) -> None:
        if not self._changed:
            return
        self._changed = False
        data = {url: asdict(entry) for url, entry in sorted(self._entries.items())}
        write_text(json.dumps(data, indent=1), self.path, self.tmp_dir)
