"""Read web archives (WARC 1.0/1.1, WET, legacy ARC; gzip or plain) into raw records.

Only pages worth extracting become records: HTML and plain-text responses, resources and WET
conversions with a 2xx status. Everything else (requests, revisits, metadata, images, redirects)
is skipped and counted. A corrupt or truncated record is reported with its file and byte offset and
the reader re-synchronises on the next record, so one bad record never costs the rest of the file.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import DecompressingBufferedReader

from moisson.formats import sniff_format
from sources.records import RawRecord, ReadFailure, ReadStats, SiteFileCapture, display_name, text_charset
from sources.robots import MAX_ROBOTS_BYTES
from sources.tdm_reservation import MAX_TDMREP_BYTES, WELL_KNOWN_PATH, opt_out_headers

PAYLOAD_RECORD_TYPES = {"response", "resource", "conversion"}
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_LINE = re.compile(rb"(?:^|\n)WARC/\d\.\d+\r?\n")
RESYNC_WINDOW = 1 << 20
HEADER_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never in a sound WARC header
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_HEADER_LINE = 64 << 10  # one WARC, ARC or HTTP header line (servers refuse lines of 8-16 KiB)
MAX_HEADER_BLOCK = 1 << 20  # a record's header lines together: WARC header, then HTTP header
# A site's rules files, captured by the crawl (Common Crawl ships its robots.txt captures in "robotstxt" WARC files):
# path -> (kind, bytes kept). Not documents: what the site said for all its pages (sources/captured_sites.py).
SITE_FILES = {"/robots.txt": ("robots", MAX_ROBOTS_BYTES), WELL_KNOWN_PATH: ("tdmrep", MAX_TDMREP_BYTES + 1)}


def read_warc_files(
    paths: list[Path], source: str, stats: ReadStats, max_record_bytes: int, relative_to: Path
) -> Iterator[RawRecord | SiteFileCapture | ReadFailure]:
    for path in paths:
        stats.files += 1
        yield from read_warc_file(path, source, stats, max_record_bytes, display_name(path, relative_to))


def read_warc_file(
    path: Path, source: str, stats: ReadStats, max_record_bytes: int, name: str
) -> Iterator[RawRecord | SiteFileCapture | ReadFailure]:
    """Yield the file's records; on a broken record, report it and resume at the next record boundary."""
    gzipped = _is_gzip(path)
    with path.open("rb") as handle:
        if not _record_begins_at(handle, 0, gzipped):
            stats.failures += 1
            yield ReadFailure(source, f"{name}@0", "harvest", "NotAWebArchive",
                              "file does not start with a WARC or ARC record (is it really a web archive?)")
            return
        position = 0
        while position is not None:
            handle.seek(position)
            iterator = BoundedArchiveIterator(handle)
            try:
                for record in iterator:
                    yield from _to_raw_record(record, source, stats, max_record_bytes, f"{name}@{iterator.offset}")
                end = path.stat().st_size
                if iterator.offset < end:  # warcio ends quietly on a record cut short at the end of the file
                    stats.failures += 1
                    yield ReadFailure(source, f"{name}@{iterator.offset}", "harvest", "TruncatedRecord",
                                      f"the file ends inside a record ({end - iterator.offset} bytes left unread)")
                return
            except Exception as exc:  # warcio raises many types on bad input; each one is a record failure
                failed_at = iterator.offset if iterator.offset >= position else position
                stats.failures += 1
                yield ReadFailure(source, f"{name}@{failed_at}", "harvest", type(exc).__name__, _one_line(exc))
                position = _next_record_start(handle, failed_at + 1, gzipped)


def read_warc_stream(
    stream, source: str, stats: ReadStats, max_record_bytes: int, name: str
) -> Iterator[RawRecord | SiteFileCapture | ReadFailure]:
    """Yield the records of a forward-only archive (an HTTP body); on a broken record, report it and stop.

    Why stop rather than resync: resynchronising means seeking back and scanning, and a streamed body
    cannot seek. Spooling a multi-gigabyte archive to disk for a rare corrupt record would double the
    I/O of every remote harvest, so the failure is recorded (archive URL and byte offset) and the
    records before it are kept. `stream` must offer `peek` (an io.BufferedReader).
    """
    head = stream.peek(4096)[:4096]
    if not _starts_a_record(head, head.startswith(GZIP_MAGIC)):
        stats.failures += 1
        yield ReadFailure(source, f"{name}@0", "harvest", "NotAWebArchive",
                          "body does not start with a WARC or ARC record (is it really a web archive?)")
        return
    iterator, last = BoundedArchiveIterator(stream), 0
    try:
        for record in iterator:
            last = iterator.offset
            yield from _to_raw_record(record, source, stats, max_record_bytes, f"{name}@{last}")
        received = getattr(getattr(stream, "raw", None), "bytes_read", iterator.offset)
        if iterator.offset < received:  # warcio ends quietly on a record cut short at the end
            stats.failures += 1
            yield ReadFailure(source, f"{name}@{iterator.offset}", "harvest", "TruncatedRecord",
                              f"the archive ends inside a record ({received - iterator.offset} bytes left unread)")
    except Exception as exc:  # warcio's many error types, or the HTTP layer's FetchError (cap, timeout, cut)
        stats.failures += 1
        failed_at = max(iterator.offset, last)  # warcio's offset is unreliable once a record broke
        yield ReadFailure(source, f"{name}@{failed_at}", "harvest", getattr(exc, "error_class", type(exc).__name__),
                          f"{_one_line(exc)}; the rest of this remote archive is not read (a stream cannot resync)")


class RecordHeaderTooLarge(ValueError):
    """A header line, or a record's header lines together, longer than any sound archive writes: the record is
    reported and skipped without reading the rest of the line into memory."""


class HeaderBoundedReader(DecompressingBufferedReader):
    """warcio's reader, with every line it reads bounded.

    Why: warcio parses headers with `readline()`, which gathers a line however long it is; one 1 GiB line in a
    1 MB `.warc.gz` cost 3 GiB of memory. Header lines (WARC, ARC, HTTP, chunk sizes) are the only lines warcio
    reads; payloads are read with `read()`, which also ends a header block.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_bytes = 0

    def read(self, length=None):
        self.header_bytes = 0
        return super().read(length)

    def readline(self, length=None):
        limit = MAX_HEADER_LINE + 1 if length is None else min(length, MAX_HEADER_LINE + 1)
        parts, size = [], 0
        while size < limit:  # warcio's readline may stop short of `length` at a buffer boundary: ask again
            part = super().readline(limit - size)
            if not part:
                break
            parts.append(part)
            size += len(part)
            if part.endswith(b"\n"):
                break
        if size > MAX_HEADER_LINE:
            raise RecordHeaderTooLarge(f"a header line longer than {MAX_HEADER_LINE} bytes; the record is skipped")
        self.header_bytes += size
        if self.header_bytes > MAX_HEADER_BLOCK:
            raise RecordHeaderTooLarge(f"header lines longer than {MAX_HEADER_BLOCK} bytes in all; the record is skipped")
        return b"".join(parts)


class BoundedArchiveIterator(ArchiveIterator):
    """warcio's ArchiveIterator (ARC records converted to WARC) reading through a HeaderBoundedReader."""

    def __init__(self, fileobj):
        super().__init__(fileobj, arc2warc=True)
        self.reader = HeaderBoundedReader(self.fh, block_size=self.reader.block_size)


class DamagedRecordHeader(ValueError):
    """A record's WARC header holds binary bytes or a length that is not a number: its bytes are damaged (say, a
    corrupt gzip member that still inflates, into the members after it), and trusting it would swallow the
    records that follow. Raised, it makes the reader report the record and resume at the next one."""


def _check_header(record) -> None:
    damaged = [name for name, value in record.rec_headers.headers if HEADER_CONTROL_CHARS.search(value)]
    if damaged:
        raise DamagedRecordHeader(f"binary bytes in the record's {damaged[0]} header")
    length = record.rec_headers.get_header("Content-Length")
    if length is not None and not length.strip().isdigit():
        raise DamagedRecordHeader(f"the record's Content-Length is not a number: {length[:40]!r}")


def _to_raw_record(record, source: str, stats: ReadStats, max_record_bytes: int, locator: str) -> Iterator[RawRecord | SiteFileCapture | ReadFailure]:
    _check_header(record)
    record_type = record.rec_type
    if record_type not in PAYLOAD_RECORD_TYPES:
        stats.skipped[record_type or "unknown"] += 1
        return
    if record.http_headers is not None and record_type == "response":
        status = record.http_headers.get_statuscode() or ""
        if not status.startswith("2"):
            stats.skipped["http_status_not_2xx"] += 1
            return
        content_type = record.http_headers.get_header("Content-Type") or ""
        site_file = site_file_kind(record.rec_headers.get_header("WARC-Target-URI"))
        if site_file is not None:
            yield from _site_file(record, site_file, source, stats, locator, _status_code(status), content_type)
            return
    else:
        content_type = record.rec_headers.get_header("Content-Type") or ""
    if record_type == "conversion" and not content_type:
        content_type = "text/plain"
    payload = record.content_stream().read(max_record_bytes + 1)
    if len(payload) > max_record_bytes:
        stats.failures += 1
        yield ReadFailure(source, locator, "harvest", "PayloadTooLarge", f"payload exceeds {max_record_bytes} bytes; skipped")
        return
    missing = getattr(record.raw_stream, "limit", 0)
    if missing > 0:
        stats.failures += 1
        yield ReadFailure(source, locator, "harvest", "TruncatedRecord", f"record is {missing} bytes shorter than its Content-Length; skipped")
        return
    kind = _payload_kind(content_type, payload)
    if kind is None:
        stats.skipped["not_html_or_text"] += 1
        return
    stats.records += 1
    headers = record.rec_headers
    yield RawRecord(
        source=source,
        source_kind="warc",
        record_key=headers.get_header("WARC-Record-ID") or locator,
        locator=locator,
        content_type=kind,
        payload=payload,
        retrieved_at=parse_warc_date(headers.get_header("WARC-Date")),
        url=headers.get_header("WARC-Target-URI"),
        charset=_charset(content_type),
        opt_out_headers=opt_out_headers(record.http_headers.headers) if record.http_headers is not None else None,
    )


def site_file_kind(url: str | None) -> tuple[str, int] | None:
    """(kind, bytes kept) when `url` is an http(s) site's `/robots.txt` or `/.well-known/tdmrep.json` itself (exact
    path, no query: `/robots.txt?x=1` is some page's answer, not the file crawlers read), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query:
        return None
    return SITE_FILES.get(parts.path)


def _site_file(record, site_file: tuple[str, int], source: str, stats: ReadStats, locator: str, status: int,
               content_type: str) -> Iterator[SiteFileCapture | ReadFailure]:
    """A captured rules file, kept (its first bytes, capped) beside the records and counted as skipped: it is not
    a document, and records harvested must equal documents decided. A capture cut short is still yielded, with its
    problem, so that the site's pages are `unknown`/incomplete rather than silently unreserved."""
    kind, cap = site_file
    stats.skipped[f"site_file_{kind}"] += 1
    body = record.content_stream().read(cap)
    missing = getattr(record.raw_stream, "limit", 0) if len(body) < cap else 0  # a read stopped at the cap leaves bytes
    problem = None
    if missing > 0:
        problem = f"record is {missing} bytes shorter than its Content-Length"
        stats.failures += 1
        yield ReadFailure(source, locator, "harvest", "TruncatedRecord", f"{problem}; the site file is not read in full")
    headers = record.rec_headers
    yield SiteFileCapture(source, headers.get_header("WARC-Target-URI").strip(), kind,
                          parse_warc_date(headers.get_header("WARC-Date")), locator, status, content_type, body, problem)


def _status_code(status: str) -> int:
    return int(status[:3]) if status[:3].isdigit() else 200  # a 2xx reason phrase we cannot read: still a 2xx


def _payload_kind(content_type: str, payload: bytes) -> str | None:
    """What the payload is by its bytes and Content-Type (moisson/formats.py). Images are not documents in a
    web archive (photos, logos, icons: OCR on them would cost the crawl's time for no text); wiki dumps are
    not fetched as pages."""
    kind = sniff_format(payload, content_type)
    return None if kind in ("image", "mediawiki") else kind


def _charset(content_type: str) -> str | None:
    """The Content-Type's charset when it names a text encoding (`charset=base64` does not: detection decides)."""
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.IGNORECASE)
    return text_charset(match.group(1)) if match else None


def parse_warc_date(value: str | None) -> datetime:
    """WARC-Date as an aware UTC datetime; archives in the wild carry invalid dates, so degrade to the day, then the epoch."""
    if not value:
        return EPOCH
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except ValueError:
        match = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
        if match:
            try:
                return datetime(*map(int, match.groups()), tzinfo=timezone.utc)
            except ValueError:
                pass
        return EPOCH


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(3) == GZIP_MAGIC


def _next_record_start(handle, start: int, gzipped: bool) -> int | None:
    """Scan forward for the next byte offset where a WARC record really begins."""
    offset = start
    while True:
        handle.seek(offset)
        window = handle.read(RESYNC_WINDOW)
        if not window:
            return None
        for candidate in _candidates(window, gzipped):
            if _record_begins_at(handle, offset + candidate, gzipped):
                return offset + candidate
        offset += max(len(window) - 16, 1)


def _candidates(window: bytes, gzipped: bool) -> Iterator[int]:
    if gzipped:
        index = window.find(GZIP_MAGIC)
        while index != -1:
            yield index
            index = window.find(GZIP_MAGIC, index + 1)
    else:
        for match in WARC_LINE.finditer(window):
            yield match.start() + (1 if window[match.start() : match.start() + 1] == b"\n" else 0)


def _record_begins_at(handle, offset: int, gzipped: bool) -> bool:
    handle.seek(offset)
    return _starts_a_record(handle.read(4096), gzipped)


def _starts_a_record(head: bytes, gzipped: bool) -> bool:
    if gzipped:
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error:
            return False
    return head.startswith((b"WARC/", b"filedesc://"))



def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:500] or type(exc).__name__
