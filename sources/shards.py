"""A source as shards: the units of work that are read, retried and skipped alone.

Why: a national source is tens of thousands of archives. Read as one unit, one changed file or one broken
download means reading it all again; read as shards, only that shard is. Each shard has a key that stays the
same from one run to the next (a file's name, never its place in a listing) and its own input fingerprint, and
the shards of a source, read one after the other in shard order, give exactly the records `read_source` gives,
in the same order.

- `warc` with local archives: one shard per archive, keyed by the file's name relative to the sources file.
- `files`: slices of about `SLICE_FILES` files in sorted order. A slice ends after a file whose name hashes to
  a boundary (content-defined slicing, as rsync and restic cut files into chunks): adding or removing one file
  changes one slice, not every slice after it as "files 0-63, 64-127..." would. A slice is keyed by its first
  file's name and holds at most `MAX_SLICE_FILES` files.
- `warc` archives read over HTTP (URLs, path lists): slices of about `REMOTE_SLICE` archive URLs, cut by URL as
  files are by name, keyed `remote/<first archive's path>`. The path lists are fetched to list them (once per
  listing). They are read on every run, as before (no fingerprint: a URL does not say its archive is unchanged),
  but each slice is a partition of its own and can be backfilled alone. A path list that cannot be fetched, or
  has a bad line, makes the remote archives one shard, `remote`, which reads them as before and reports it.
- portals and OAI-PMH sources (every kind in `PORTAL_KINDS`): catalogue slices. The `catalogue` step lists the
  source's datasets into its stored catalogue (stages/datasets, stages/resources; OAI-PMH records too: each record
  is a dataset there, its full text a resource), and reading fetches each dataset's resources, datasets in key
  order. A slice is a run of about `SLICE_DATASETS` consecutive datasets of that catalogue, cut by dataset key as
  `files` slices are by name (one dataset added changes one slice), keyed `datasets/<first dataset's key>`.
  The catalogue's paging itself is not sliced: its harvest state (sources/harvest_state.py) already resumes from
  the last completed page and asks only for what changed since the watermark, and it is saved by the catalogue
  step alone; reading a slice, alone or not, never touches it.
  Slices are listed from the stored catalogue, so they need the data directory (`layout`): without it, before the
  catalogue's first merge (the source's run lists its shards after its `catalogue` step), for an empty catalogue
  and for a source with `fetch.max_resources` (a budget counted across the whole catalogue in reading order, which
  a slice read alone cannot know the rest of), the source is one shard, `all`, read by `read_source` as before.
  No fingerprint: a slice is read on every run (as the whole source was), but is a partition of its own, read
  again alone by a backfill. Its read is not a function of the stored catalogue: every record carries the
  opt-outs its site states now (robots.txt, fetched by every read's client, and tdmrep.json, kept for a week:
  `opt_out_site`), and a resource whose catalogue entry has no modification date is asked for again on every read
  (a conditional GET whose answer can change while the catalogue does not). Skipping an unchanged slice would
  keep a site's newly stated opt-out out of the corpus.
  Each slice read loads the source's fetch memory (sources/raw_store.py `FetchMemory`, one file per source) and
  rewrites it when it fetched something (0.43 s to load, 1.3 s to write for 100,000 resources): read one after the
  other, as today, every slice sees the others' entries; read at once, the last to finish would win and a
  resource another slice fetched be asked for again, conditionally, on the next run.

A shard's read is a plain function of (config, source, shard): it can run in another process or on another
machine (the Ray engine's place for it is `read_shard`), and its stage file is `shard_file`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from moisson.code_fingerprint import fingerprint
from moisson.config import PORTAL_KINDS, MoissonConfig
from moisson.layout import DataLayout
from sources.records import RawRecord, ReadFailure, ReadStats, SiteFileCapture, display_name

REMOTE_SLICE = 16  # remote archives per slice, on average (a Common Crawl WARC is ~1 GB; `shard_archives` is asked for)
SLICE_DATASETS = 256  # datasets per catalogue slice, on average: each slice read loads the source's fetch memory
# (a 40 MB file for 100,000 resources: 0.43 s; rewritten only when it fetched something) and asks each site for its
# robots.txt once
SLICE_FILES = 64  # files per slice of a `files` source, on average (a sources-file key `shard_files` is asked for)
MAX_SLICE_FILES = 4 * SLICE_FILES  # a run of names that never hash to a boundary still ends a slice here (`_cut`)
REMOTE, WHOLE, DATASETS = "remote", "all", "datasets"  # the keys (prefixes) of the shards that are not local files
NOT_IN_KEYS = re.compile(r"\.\.\.+|[\x00-\x1f\x7f]")  # what Dagster refuses in a partition key ("...", control characters)
SEPARATOR = "/"  # between source and shard in a Dagster partition key: "<source>/<shard>"


@dataclass(frozen=True)
class Shard:
    """One unit of reading. `fingerprint` is None when the shard cannot tell it is unchanged without reading it
    (remote archives, portals): such a shard is read on every run."""

    key: str
    paths: tuple[Path, ...] = ()  # the local files it reads, in read order
    remote: bool = False  # the source's archives over HTTP: `urls`, or all of them when `urls` is empty
    urls: tuple[str, ...] = ()
    over_max_archives: int = 0  # archives past the source's max_archives, counted as skipped by the last slice
    whole: bool = False  # the whole source, as `read_source` reads it (a portal not yet sliced, a source with no input)
    datasets: tuple[str, ...] = ()  # a catalogue slice: its datasets' keys, in catalogue order
    fingerprint: str | None = None


def source_shards(config: MoissonConfig, name: str, layout: DataLayout | None = None) -> list[Shard]:
    """The source's shards in read order; their records, concatenated, are the source's. `layout`: the data
    directory, where a portal's stored catalogue is (without it a portal is one shard, `all`)."""
    source = config.source(name)
    if source.kind in PORTAL_KINDS:
        return catalogue_slices(source, layout)
    paths = config.resolve_paths(source)
    remote = source.kind == "warc" and bool(source.remote_entries)
    if not paths and not remote:
        return [Shard(WHOLE, whole=True)]  # reading it says "no input files", as it always did
    groups = [[path] for path in paths] if source.kind == "warc" else _slices(paths, config.base_dir)
    code = _reader_code()
    shards = [Shard(_readable_key(display_name(group[0], config.base_dir)), tuple(group),
                    fingerprint=_files_fingerprint(config, source, group, code)) for group in groups]
    return shards + (_remote_shards(config, source) if remote else [])


def read_shard(config: MoissonConfig, name: str, shard: Shard, stats: ReadStats,
               layout: DataLayout | None = None) -> Iterator[RawRecord | SiteFileCapture | ReadFailure]:
    """The shard's records, numbered from 0 within the shard (`position`), failures inline. A plain function of its
    arguments, so that it can run wherever the shard is sent."""
    import sources

    if shard.whole:
        return sources.read_source(config, name, stats, layout)
    if shard.datasets:
        return sources.read_catalogue_slice(config, name, shard.datasets, stats, layout)
    source = config.source(name)
    if shard.remote and not shard.urls:
        return sources.numbered(sources.read_remote_archives(config, source, stats))
    if shard.remote:
        return sources.numbered(_read_remote_slice(config, source, shard, stats))
    reader = sources.READERS[source.kind]
    return sources.numbered(reader(list(shard.paths), name, stats, sources.MAX_RECORD_BYTES, config.base_dir))


def shard_file(layout: DataLayout, source: str, key: str) -> Path:
    """Where a shard's raw records are kept: a readable name, made safe for a file system, and a short hash of
    the key so that two keys that read alike (`a/b.warc`, `a_b.warc`) never share a file."""
    return shards_dir(layout, source) / f"{file_stem(key)}.parquet"


def shard_site_file(layout: DataLayout, source: str, key: str) -> Path:
    """The rules files (robots.txt, tdmrep.json) the shard's archives captured, beside its records."""
    return shards_dir(layout, source) / f"{file_stem(key)}.site_files.parquet"


def shards_dir(layout: DataLayout, source: str) -> Path:
    return layout.shards_dir(source)


def file_stem(key: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._")[:80] or "shard"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def partition_key(source: str, key: str) -> str:
    """The shard's Dagster partition key: `<source>/<shard>` (a source name holds no `/`)."""
    return f"{source}{SEPARATOR}{key}"


def split_partition_key(partition: str) -> tuple[str, str]:
    """(source, shard key) of a partition key made by `partition_key`."""
    source, separator, key = partition.partition(SEPARATOR)
    if not separator or not key:
        raise ValueError(f"shard partition {partition!r} is not of the form <source>/<shard>")
    return source, key


def find_shard(config: MoissonConfig, source: str, key: str, layout: DataLayout | None = None) -> Shard:
    """The source's shard of that key; a clear error when the source no longer has it."""
    shards = source_shards(config, source, layout)
    for shard in shards:
        if shard.key == key:
            return shard
    known = ", ".join(shard.key for shard in shards[:10])
    raise KeyError(f"source {source!r} has no shard {key!r} any more (its shards: {known}"
                   f"{', ...' if len(shards) > 10 else ''})")


def _readable_key(name: str) -> str:
    """`name` as a Dagster partition key can be: Dagster refuses "..." and control characters in one (a file may
    be called `a...warc`). Such a name is made readable and a short hash of it keeps it unique and stable."""
    cleaned = NOT_IN_KEYS.sub("_", name)
    return name if cleaned == name else f"{cleaned}~{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _slices(paths: list[Path], base_dir: Path) -> list[list[Path]]:
    return _cut(paths, lambda path: display_name(path, base_dir), SLICE_FILES)


def _cut(items: list, name_of, size: int) -> list[list]:
    """Consecutive slices of `items`, each ending after an item whose name hashes to a boundary (one in `size`), or
    at 4 x `size` items: an item added or removed changes its own slice only."""
    slices: list[list] = [[]]
    for item in items:
        slices[-1].append(item)
        digest = int(hashlib.sha256(name_of(item).encode()).hexdigest()[:8], 16)
        if len(slices[-1]) >= 4 * size or digest % size == size - 1:
            slices.append([])
    return [group for group in slices if group]


def catalogue_slices(source, layout: DataLayout | None) -> list[Shard]:
    """A portal source's catalogue slices, in catalogue order; one `all` shard when it cannot be sliced (see the
    module's docstring: no data directory, no catalogue yet, or a resource budget over the whole catalogue)."""
    from sources.portal import catalogue_keys

    keys = catalogue_keys(layout, source.name) if layout is not None and source.fetch.max_resources is None else []
    if not keys:
        return [Shard(WHOLE, whole=True)]
    groups = _cut(keys, lambda key: key, SLICE_DATASETS)
    return [Shard(_readable_key(f"{DATASETS}/{group[0]}"), datasets=tuple(group)) for group in groups]


def _remote_shards(config: MoissonConfig, source) -> list[Shard]:
    """Slices of the source's archive URLs, in list order; one `remote` shard when listing them failed."""
    from sources.portal import http_client
    from sources.remote_warc import archive_urls

    stats = ReadStats()
    client = http_client(config, source)
    try:
        listed = list(archive_urls(config, source, client, stats))
    finally:
        client.close()
    urls = [url for url in listed if isinstance(url, str)]
    if len(urls) < len(listed) or not urls:  # a list unreachable or a bad line: reading says so, as before
        return [Shard(REMOTE, remote=True)]
    groups = _cut(urls, lambda url: url, REMOTE_SLICE)
    shards = [Shard(_readable_key(f"{REMOTE}/{_archive_name(group[0], source.base_url)}"), remote=True, urls=tuple(group))
              for group in groups]
    if len({shard.key for shard in shards}) < len(shards):  # an archive listed twice at the start of two slices
        return [Shard(REMOTE, remote=True)]
    shards[-1] = replace(shards[-1], over_max_archives=stats.skipped["over_max_archives"])
    return shards


def _archive_name(url: str, base_url: str | None) -> str:
    """The archive's path below the path lists' base (Common Crawl's `crawl-data/CC-MAIN-.../x.warc.gz`), else its
    host and path. Never its user, password or query, which may carry a credential (or a reference to one): a
    query is stood for by a short hash of the URL, so that two URLs that differ by it keep two keys."""
    parts = urlsplit(url)
    base = urlsplit(base_url.rstrip("/") + "/") if base_url else None
    if base is not None and (parts.hostname, parts.port) == (base.hostname, base.port) and parts.path.startswith(base.path):
        name = parts.path[len(base.path):]
    else:
        name = f"{parts.hostname}{parts.path}"
    return name + (f"~{hashlib.sha256(url.encode()).hexdigest()[:8]}" if parts.query or parts.fragment else "")


def _read_remote_slice(config: MoissonConfig, source, shard: Shard,
                       stats: ReadStats) -> Iterator[RawRecord | SiteFileCapture | ReadFailure]:
    """The slice's archives, in order, through one HTTP client, as `sources.read_remote_archives` reads them."""
    import sources
    from sources.portal import http_client
    from sources.remote_warc import read_remote_warc

    if shard.over_max_archives:
        stats.skipped["over_max_archives"] += shard.over_max_archives
    client = http_client(config, source)
    try:
        for url in shard.urls:
            stats.files += 1
            yield from read_remote_warc(source, url, client, stats, sources.MAX_RECORD_BYTES)
    finally:
        client.close()


def _reader_code() -> str:
    """The readers' code and library versions, hashed once per listing (not once per shard of 90,000)."""
    import sources

    return fingerprint(sources.MAX_RECORD_BYTES, sources.READER_MODULES, ["warcio"])


def _files_fingerprint(config: MoissonConfig, source, paths: list[Path], code: str) -> str | None:
    """As `sources.input_fingerprint`, over the shard's files only: the source's settings, each file's name, size
    and modification time (as `make` and `rsync` judge a file changed), and the readers' code."""
    try:
        files = [(display_name(path, config.base_dir), path.stat().st_size, path.stat().st_mtime_ns) for path in paths]
    except OSError:  # a file went away while listed: reading the shard will say so
        return None
    return hashlib.sha256(repr((source, files, code)).encode()).hexdigest()[:32]
