"""What every connector yields: raw records ready for extraction, or failures that say what went wrong.

A connector never raises for one bad record: it yields a `ReadFailure` naming the source, the record
and the cause, and goes on. Skipped records (requests, revisits, images...) are counted, not yielded.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class RawRecord:
    """One payload as harvested, before any interpretation of its content."""

    source: str
    source_kind: str
    record_key: str  # stable within the source: WARC-Record-ID, JSONL id or file:line
    locator: str  # where to find it again: file and offset or line
    content_type: str  # 'html' | 'text'
    payload: bytes
    retrieved_at: datetime
    url: str | None = None
    charset: str | None = None
    title: str | None = None  # carried by the input record itself (JSONL)
    license: str | None = None  # carried by the input record itself (JSONL)
    language: str | None = None  # carried by the input record itself (JSONL)
    # its place in the order the source was read (0, 1, 2...: files in order, then byte offset or line within a
    # file; a portal's resources in the order they are fetched), set by `sources.read_source`; deduplication keeps
    # the first occurrence. Not part of the id: the same record read at another place is the same record.
    position: int | None = None
    # the response's header fields that may reserve text and data mining (tdm-reservation, tdm-policy,
    # X-Robots-Tag), as JSON pairs: sources/tdm_reservation.py reads them in the licence stage
    opt_out_headers: str | None = None
    # what the record's site says for all its pages (its tdmrep.json, robots.txt AI agents), as JSON OptOut dicts
    opt_out_site: str | None = None

    @cached_property
    def content_sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()

    @cached_property
    def id(self) -> str:
        """Same input, same id: derived from the source, the record's own key and its exact bytes."""
        key = "\x1f".join((self.source, self.record_key, self.content_sha256))
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class SiteFileCapture:
    """A site's rules file (`/robots.txt`, `/.well-known/tdmrep.json`) as a web archive captured it: not a document,
    but what the site said for all its pages at `captured_at`. The reader yields it beside the records (and counts
    it as skipped, so records harvested = documents decided); sources/captured_sites.py applies it to the source's
    pages from the same origin.

    `body`: the file's first bytes, capped by the reader (a tdmrep.json one byte over MAX_TDMREP_BYTES, so that the
    parser knows it was cut); `problem`: why the capture could not be read in full (a truncated record), else None.
    """

    source: str
    url: str
    kind: str  # 'robots' | 'tdmrep'
    captured_at: datetime
    locator: str
    status: int
    content_type: str
    body: bytes
    problem: str | None = None


@dataclass(frozen=True)
class ReadFailure:
    """A record (or a whole file) that could not be read; the run records it and continues."""

    source: str
    record: str
    stage: str
    error_class: str
    message: str

    def __str__(self) -> str:
        return f"[{self.source}] {self.stage} failed for {self.record}: {self.error_class}: {self.message}"


@dataclass
class ReadStats:
    """What a connector saw, for the asset's metadata: nothing disappears without a count."""

    files: int = 0
    records: int = 0
    skipped: Counter = field(default_factory=Counter)
    failures: int = 0

    def add(self, other: ReadStats) -> None:
        """Count `other`'s reads in these (a shard's into its source's, a task's into the run's)."""
        self.files += other.files
        self.records += other.records
        self.failures += other.failures
        self.skipped.update(other.skipped)

    def as_metadata(self) -> dict[str, int]:
        out = {"files_read": self.files, "records": self.records, "failures": self.failures}
        out.update({f"skipped_{reason}": count for reason, count in sorted(self.skipped.items())})
        return out

    def to_json(self) -> str:
        return json.dumps({"files": self.files, "records": self.records, "skipped": dict(self.skipped),
                           "failures": self.failures})

    @classmethod
    def from_json(cls, text: str) -> ReadStats:
        stored = json.loads(text)
        return cls(stored["files"], stored["records"], Counter(stored["skipped"]), stored["failures"])


PROBE = b"<p>\xe9t\xe9 \x80\xff</p>"  # bytes no codec fit to decode a page may fail on with errors="replace"


def text_charset(label: str | None) -> str | None:
    """The charset label (lowercased) when it names a text encoding that can decode any page; None otherwise.

    Why: the label comes from an archive or a server, and Python's codecs also hold bytes-to-bytes ones
    (`base64`, `zlib`, `rot13`...), text ones that refuse arbitrary bytes (`idna`, `punycode`, `undefined`) and
    Python's own escapes (`unicode_escape`): used to decode a page, they fail or garble a good page. None lets
    extraction detect the encoding instead.
    """
    if not label:
        return None
    try:
        codec = codecs.lookup(label)
        PROBE.decode(codec.name, errors="replace")
    except (LookupError, UnicodeError, TypeError, ValueError):
        return None
    return label.strip().lower() if codec._is_text_encoding and "escape" not in codec.name else None


def display_name(path: Path, relative_to: Path) -> str:
    """A file's name relative to the sources file, so that ids and messages do not depend on where the clone lives."""
    try:
        return str(path.relative_to(relative_to))
    except ValueError:
        return str(path)
