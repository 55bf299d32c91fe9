"""Web archives over HTTP(S): archive URLs and path lists (Common Crawl's `warc.paths.gz`), streamed.

Why a module of its own: a remote archive is found (a URL, or a line of a path list joined to the
source's `base_url`), then streamed through the one HTTP layer (address guard, robots.txt, rate
limit, retries, a size cap and a time budget per archive) straight into the WARC reader. Nothing
is spooled: an archive is read once, forward, and a broken record ends that archive with a
failure naming its URL and byte offset (see `sources.warc.read_warc_stream`).
"""

from __future__ import annotations

import glob
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from moisson.config import MoissonConfig, WarcSource, is_path_list, is_url
from sources.http import FetchError, HttpClient
from sources.records import RawRecord, ReadFailure, ReadStats
from sources.warc import read_warc_stream

GZIP_MAGIC = b"\x1f\x8b"
MAX_PATH_LIST_BYTES = 64 << 20  # decompressed; Common Crawl's warc.paths (90,000 lines) is about 12 MB


class BadPathList(ValueError):
    """A path list that cannot be used as a whole (not text, too large once decompressed)."""


def read_remote_warcs(config: MoissonConfig, source: WarcSource, client: HttpClient, stats: ReadStats,
                      max_record_bytes: int) -> Iterator[RawRecord | ReadFailure]:
    """Every record of the source's remote archives, in the order the entries and path lists give them."""
    for location in archive_urls(config, source, client, stats):
        if isinstance(location, ReadFailure):
            yield location
            continue
        stats.files += 1
        yield from read_remote_warc(source, location, client, stats, max_record_bytes)


def read_remote_warc(source: WarcSource, url: str, client: HttpClient, stats: ReadStats,
                     max_record_bytes: int) -> Iterator[RawRecord | ReadFailure]:
    try:
        with client.stream(url, max_bytes=source.max_archive_mb << 20, max_seconds=source.max_archive_minutes * 60,
                           respect_robots=True) as body:
            yield from read_warc_stream(body, source.name, stats, max_record_bytes, url)
    except FetchError as exc:  # before the first byte: refused, robots, HTTP error, declared size too large
        stats.failures += 1
        yield ReadFailure(source.name, f"{url}@0", "harvest", exc.error_class, str(exc)[:500])


def archive_urls(config: MoissonConfig, source: WarcSource, client: HttpClient,
                 stats: ReadStats) -> Iterator[str | ReadFailure]:
    """Archive URLs from the source's URL entries and path lists, up to `max_archives`; bad lines as failures."""
    given = 0
    for entry in source.remote_entries:
        for location in _expand(config, source, entry, client):
            if isinstance(location, ReadFailure):
                stats.failures += 1
                yield location
            elif source.max_archives is not None and given >= source.max_archives:
                stats.skipped["over_max_archives"] += 1
            else:
                given += 1
                yield location


def _expand(config: MoissonConfig, source: WarcSource, entry: str, client: HttpClient) -> Iterator[str | ReadFailure]:
    if not is_path_list(entry):
        yield entry
        return
    for found in _path_lists(config, source, entry, client):
        if isinstance(found, ReadFailure):
            yield found
            continue
        name, text = found
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                yield archive_url(source.base_url or "", line)
            except ValueError as exc:
                yield ReadFailure(source.name, f"{name}:{number}", "harvest", "BadPathListLine", str(exc))


def _path_lists(config: MoissonConfig, source: WarcSource, entry: str,
                client: HttpClient) -> Iterator[tuple[str, str] | ReadFailure]:
    """(name, text) of each path list an entry names: a URL, or a local path or glob relative to the sources file."""
    if is_url(entry):
        try:
            yield entry, path_list_text(client.get(entry).body)
        except (FetchError, BadPathList) as exc:
            yield from _failed_list(source, entry, exc)
        return
    full = entry if Path(entry).is_absolute() else str(Path(glob.escape(str(config.base_dir))) / entry)  # the folder is no pattern
    found = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
    if not found:
        yield from _failed_list(source, entry, BadPathList(f"no file matches {entry} (relative to {config.base_dir})"))
    for path in found:
        try:
            yield entry if len(found) == 1 else str(path), path_list_text(path.read_bytes())
        except BadPathList as exc:
            yield from _failed_list(source, str(path), exc)


def _failed_list(source: WarcSource, entry: str, exc: Exception) -> Iterator[ReadFailure]:
    error_class = exc.error_class if isinstance(exc, FetchError) else "BadPathList"
    yield ReadFailure(source.name, entry, "harvest", error_class, str(exc)[:500])


def path_list_text(body: bytes) -> str:
    """A path list's text, gunzipped when it is gzip (servers may already have decoded it), bounded in size."""
    if body.startswith(GZIP_MAGIC):
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = inflater.decompress(body, MAX_PATH_LIST_BYTES + 1)
        except zlib.error as exc:
            raise BadPathList(f"corrupt gzip: {exc}") from None
    if len(body) > MAX_PATH_LIST_BYTES:
        raise BadPathList(f"more than {MAX_PATH_LIST_BYTES >> 20} MB of paths once decompressed")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPathList(f"not UTF-8 text ({exc}); is it really a path list?") from None


def archive_url(base_url: str, line: str) -> str:
    """A path-list line as a URL: an http(s) URL as is, else a relative path appended to base_url.

    Appended, not urljoin'ed: a line such as `//other.host/x` or `/x` must not leave the base's host
    or path, and `..` segments are refused for the same reason.
    """
    if is_url(line):
        if urlsplit(line).scheme not in ("http", "https"):
            raise ValueError(f"{line[:200]!r}: only http(s) URLs can be read")
        return line
    if any(ch.isspace() or ord(ch) < 32 for ch in line) or ".." in line.split("/"):
        raise ValueError(f"{line[:200]!r} is not a relative archive path")
    return base_url.rstrip("/") + "/" + line.lstrip("/")
