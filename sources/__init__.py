"""Connectors: each one knows a protocol or a format and nothing of Dagster.

`read_source` is the single entry point the harvest asset calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from moisson.code_fingerprint import fingerprint
from moisson.config import PORTAL_KINDS, MoissonConfig
from moisson.layout import DataLayout
from sources.files import read_files
from sources.records import RawRecord, ReadFailure, ReadStats, display_name
from sources.warc import read_warc_files

MAX_RECORD_BYTES = 20 * 1024 * 1024
READERS = {"warc": read_warc_files, "files": read_files}
READER_MODULES = ["sources", "sources.warc", "sources.files", "sources.records", "moisson.formats", "moisson.mediawiki_dump"]


def read_source(config: MoissonConfig, name: str, stats: ReadStats,
                layout: DataLayout | None = None) -> Iterator[RawRecord | ReadFailure]:
    """Every record of one source, in a stable order, with failures inline; each record's `position` is its
    place in that order (0, 1, 2...), which deduplication follows to keep the first occurrence.

    Local files are read in sorted path order, each from its start (WARC byte offset, JSONL line), then the
    remote archives in list order. Portal sources read the catalogue the `catalogue` asset wrote under
    `layout` and fetch its resources (datasets by key, each dataset's resources in catalogue order).
    """
    return numbered(_read(config, name, stats, layout))


def numbered(items: Iterable[RawRecord | ReadFailure]) -> Iterator[RawRecord | ReadFailure]:
    """Each record's `position`: its place among the records `items` gives (0, 1, 2...)."""
    position = 0
    for item in items:
        if isinstance(item, RawRecord):
            item = replace(item, position=position)
            position += 1
        yield item


def _read(config: MoissonConfig, name: str, stats: ReadStats, layout: DataLayout | None) -> Iterator[RawRecord | ReadFailure]:
    source = config.source(name)
    if source.kind in PORTAL_KINDS:
        yield from _read_portal(config, source, layout, stats)
        return
    paths = config.resolve_paths(source)
    remote = source.remote_entries if source.kind == "warc" else []
    if not paths and not remote:
        stats.failures += 1
        yield ReadFailure(name, ", ".join(source.paths), "harvest", "NoInputFiles",
                          f"no file matches {source.paths} (relative to {config.base_dir})")
        return
    if paths:
        yield from READERS[source.kind](paths, name, stats, MAX_RECORD_BYTES, config.base_dir)
    if remote:
        yield from read_remote_archives(config, source, stats)


__all__ = ["RawRecord", "ReadFailure", "ReadStats", "input_fingerprint", "read_catalogue_slice", "read_source"]


def input_fingerprint(config: MoissonConfig, name: str) -> str | None:
    """What `read_source` would give for a source of local files depends on: its settings, each file's name, size
    and modification time (as `make` and `rsync` judge a file changed), and the readers' code. None for a source
    that cannot tell without reading it (a portal, a remote archive): that one is read on every run."""
    source = config.source(name)
    if source.kind in PORTAL_KINDS or (source.kind == "warc" and source.remote_entries):
        return None
    try:
        files = [(display_name(path, config.base_dir), path.stat().st_size, path.stat().st_mtime_ns)
                 for path in config.resolve_paths(source)]
    except OSError:  # a file went away while listed: reading the source will say so
        return None
    return fingerprint((source, files, MAX_RECORD_BYTES), READER_MODULES, ["warcio"])


def read_catalogue_slice(config: MoissonConfig, name: str, keys: Sequence[str], stats: ReadStats,
                         layout: DataLayout | None) -> Iterator[RawRecord | ReadFailure]:
    """The records of these datasets of a portal source's stored catalogue (`keys`, in catalogue order), numbered
    from 0, as `read_source` reads them: the slices of the catalogue, read one after the other, give its records.
    A key no longer in the catalogue gives nothing (the catalogue only grows: deleted datasets are marked, not
    dropped, so this happens only when the catalogue file was replaced since the slice was listed)."""
    return numbered(_read_portal(config, config.source(name), layout, stats, keys))


def _read_portal(config: MoissonConfig, source, layout: DataLayout | None, stats: ReadStats,
                 keys: Sequence[str] | None = None):
    from sources.portal import http_client, load_catalogue
    from sources.resource_fetch import fetch_documents

    if layout is None:
        raise ValueError(f"source {source.name!r} is a {source.kind} portal: reading it needs the data directory")
    datasets, _ = load_catalogue(layout, source.name, keys)
    ordered = sorted(datasets) if keys is None else [key for key in keys if key in datasets]
    client = http_client(config, source)
    try:
        yield from fetch_documents(source, [datasets[key] for key in ordered], client, layout, stats)
    finally:
        client.close()


def read_remote_archives(config: MoissonConfig, source, stats: ReadStats):
    """The source's archives over HTTP (URLs and path lists), in list order, through one HTTP client."""
    from sources.portal import http_client
    from sources.remote_warc import read_remote_warcs

    client = http_client(config, source)
    try:
        yield from read_remote_warcs(config, source, client, stats, MAX_RECORD_BYTES)
    finally:
        client.close()
