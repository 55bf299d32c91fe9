"""Read local dumps: JSONL (one document per line), MediaWiki XML dumps (one document per article), and files
that are one document each: HTML, plain text, PDF, page images, DOCX, ODT, EPUB, TEI, JATS.

What a file is comes from its bytes (moisson/formats.py), with its name's type only as a tie-breaker for
formats without a signature (HTML, plain text): a PDF named `.txt` is read as a PDF. A MediaWiki dump
(`pages-articles*.xml.bz2`, told by the bzip2 magic or its `<mediawiki>` root) is streamed page by page at
constant memory, whatever its size; any other file is read whole, up to the record limit.

A JSONL line that is not valid JSON (cut, nested too deep), has no string `text`, or is longer than
the record limit is reported with its file and line number and the rest of the file is read; a line
is read with a bounded read, so an oversize one costs a few times the limit in memory, never its size.
The file's modification time stands for when it was retrieved, since a dump carries no capture date
of its own.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from moisson.formats import sniff_format, xml_kind
from moisson.mediawiki_dump import DumpRefused, DumpStats, iter_pages
from sources.records import RawRecord, ReadFailure, ReadStats, display_name

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIX_TYPES = {".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".html": "text/html",
                ".htm": "text/html", ".xhtml": "application/xhtml+xml"}
HEAD_BYTES = 8192  # enough of a file to tell a dump from a document
SKIP_BLOCK = 1 << 20  # bytes read at a time while skipping the rest of an oversize line


def read_files(
    paths: list[Path], source: str, stats: ReadStats, max_record_bytes: int, relative_to: Path
) -> Iterator[RawRecord | ReadFailure]:
    for path in paths:
        stats.files += 1
        name = display_name(path, relative_to)
        try:
            if path.suffix.lower() in JSONL_SUFFIXES:
                yield from _read_jsonl(path, name, source, stats, max_record_bytes)
            elif _is_wiki_dump(path):
                yield from _read_wiki_dump(path, name, source, stats)
            else:
                yield from _read_whole_file(path, name, source, stats, max_record_bytes)
        except OSError as exc:
            stats.failures += 1
            yield ReadFailure(source, name, "harvest", type(exc).__name__, str(exc))


def _is_wiki_dump(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    return head.startswith(b"BZh") or xml_kind(head) == "mediawiki"


def _read_whole_file(path: Path, name: str, source: str, stats: ReadStats, max_record_bytes: int) -> Iterator[RawRecord | ReadFailure]:
    if path.stat().st_size > max_record_bytes:
        stats.failures += 1
        yield ReadFailure(source, name, "harvest", "PayloadTooLarge", f"file exceeds {max_record_bytes} bytes; skipped")
        return
    payload = path.read_bytes()
    declared = SUFFIX_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    kind = sniff_format(payload, declared)
    if kind is None or kind == "mediawiki":
        stats.skipped["unsupported_file_type"] += 1
        stats.failures += 1
        yield ReadFailure(source, name, "harvest", "UnsupportedFileType",
                          f"neither its bytes nor its name ({path.suffix or 'no extension'}) say it is one of JSONL, "
                          "HTML, text, PDF, image, DOCX, ODT, EPUB, TEI, JATS or a MediaWiki dump")
        return
    stats.records += 1
    yield RawRecord(
        source=source,
        source_kind="files",
        record_key=name,
        locator=name,
        content_type=kind,
        payload=payload,
        retrieved_at=_modified_at(path),
    )


def _read_wiki_dump(path: Path, name: str, source: str, stats: ReadStats) -> Iterator[RawRecord | ReadFailure]:
    """One record per article (redirects and other namespaces skipped and counted), its wikitext as the payload:
    the text is made by the extraction workers, on every core, like any other document's."""
    dump = DumpStats()
    with path.open("rb") as handle:
        try:
            for page in iter_pages(handle, dump):
                locator = f"{name}#pageid={page.page_id}"
                if page.error:
                    stats.failures += 1
                    yield ReadFailure(source, locator, "harvest", "PageRefused", page.error)
                    continue
                stats.records += 1
                yield RawRecord(source=source, source_kind="files", record_key=locator, locator=locator,
                                content_type="wikitext", payload=page.text.encode("utf-8"),
                                retrieved_at=_revision_time(page.timestamp) or _modified_at(path),
                                url=page.page_url or None, title=page.title, license=page.licence)
        except DumpRefused as exc:
            stats.failures += 1
            yield ReadFailure(source, f"{name}#page {dump.pages + 1}", "harvest", "DumpRefused", str(exc))
    stats.skipped["wiki_redirect"] += dump.redirects
    stats.skipped["wiki_other_namespace"] += sum(dump.other_namespaces.values())


def _revision_time(timestamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def _read_jsonl(path: Path, name: str, source: str, stats: ReadStats, max_record_bytes: int) -> Iterator[RawRecord | ReadFailure]:
    retrieved_at = _modified_at(path)
    with path.open("rb") as handle:
        for line_number, line in enumerate(_bounded_lines(handle, max_record_bytes), start=1):
            if line is not None and not line.strip():
                continue
            locator = f"{name}:{line_number}"
            item, problem = _parse_line(line, max_record_bytes)
            if problem:
                stats.failures += 1
                yield ReadFailure(source, locator, "harvest", *problem)
                continue
            stats.records += 1
            native_id = item.get("id")
            yield RawRecord(
                source=source,
                source_kind="files",
                record_key=f"{name}#id={native_id}" if native_id is not None else locator,
                locator=locator,
                content_type="text",
                payload=item["text"].encode("utf-8", errors="surrogatepass"),
                retrieved_at=retrieved_at,
                url=_optional_str(item.get("url")),
                title=_optional_str(item.get("title")),
                license=_optional_str(item.get("license")),
                language=_optional_str(item.get("language")),
            )


def _bounded_lines(handle: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """Each line without its line ending, or None for a line longer than `max_bytes`.

    Why not `for line in handle`: that reads a line whole before its length can be checked, so one
    600 MiB line costs 600 MiB. Here at most `max_bytes` + 2 bytes are held; the rest of an oversize
    line is read in blocks and dropped.
    """
    while line := handle.readline(max_bytes + 2):
        if line.endswith(b"\n") or len(line) < max_bytes + 2:  # a whole line (the last may have no line ending)
            content = line[:-2] if line.endswith(b"\r\n") else line[:-1] if line.endswith(b"\n") else line
            yield content if len(content) <= max_bytes else None
            continue
        while (rest := handle.readline(SKIP_BLOCK)) and not rest.endswith(b"\n"):
            pass
        yield None


def _parse_line(line: bytes | None, max_record_bytes: int) -> tuple[dict, None] | tuple[None, tuple[str, str]]:
    if line is None:
        return None, ("PayloadTooLarge", f"line exceeds {max_record_bytes} bytes; skipped")
    try:
        item = json.loads(line)
    except RecursionError:
        return None, ("InvalidJSON", "not valid JSON: nested deeper than the JSON reader allows")
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        return None, ("InvalidJSON", f"not valid JSON: {exc}")
    problem = _shape_problem(item)
    return (None, problem) if problem else (item, None)


def _shape_problem(item: object) -> tuple[str, str] | None:
    if not isinstance(item, dict):
        return ("WrongShape", f"expected a JSON object, found {type(item).__name__}")
    if not isinstance(item.get("text"), str):
        return ("WrongShape", "no string 'text' field")
    for key in ("url", "title", "license", "language"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            return ("WrongShape", f"'{key}' must be a string, found {type(value).__name__}")
    if item.get("id") is not None and not isinstance(item["id"], (str, int)):
        return ("WrongShape", "'id' must be a string or an integer")
    return None


def _optional_str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _modified_at(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).replace(microsecond=0)

