"""Fetching a catalogue's text-bearing resources into the raw store, and turning them into raw records.

Why here, after the catalogue: a file is only worth fetching once we know which dataset it belongs
to and under which licence; every record this yields carries that chain (portal, dataset, resource,
archive member) in its `locator` and `record_key`, and the dataset's licence in `license`.

Incremental without asking: a resource whose catalogue modification date is the one remembered
from its last fetch, and whose bytes are in the raw store, is read from the store, not the network.
Otherwise a conditional GET (ETag / Last-Modified) lets the server answer 304.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from urllib.parse import quote

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from moisson.config import PortalSource
from moisson.layout import DataLayout
from sources.archives import ArchiveRefused, Limits, is_archive, unpack
from sources.catalogue import Dataset, Resource, normalise_format, record_key
from sources.harvest_state import now_iso
from sources.http import FetchError, HttpClient
from sources.raw_store import FetchMemory, RawStore, Remembered
from moisson.formats import sniff_format
from sources.records import RawRecord, ReadFailure, ReadStats, text_charset
from sources.tdm_reservation import SiteOptOuts, opt_out_headers

# the media type a catalogue's format field stands for, when the server sends none
FORMAT_TYPES = {"html": "text/html", "txt": "text/plain", "xml": "application/xml", "pdf": "application/pdf"}
ARCHIVE_TYPES = ("application/zip", "application/x-tar", "application/gzip", "application/x-gzip")


def fetch_documents(source: PortalSource, datasets: list[Dataset], client: HttpClient, layout: DataLayout,
                    stats: ReadStats) -> Iterator[RawRecord | ReadFailure]:
    store = RawStore(layout.raw_store_dir, layout.tmp_dir)
    memory = FetchMemory(layout.fetch_memory_file(source.name), layout.tmp_dir)
    sites = SiteOptOuts(client, layout.tdmrep_dir)
    policy, fetched = source.fetch, 0
    try:
        for dataset in datasets:
            if dataset.deleted:
                stats.skipped["deleted_dataset"] += 1
                continue
            if dataset.license_verdict == "reject" and dataset.license is not None:
                stats.skipped["licence_rejected_dataset"] += 1
                continue
            for resource in dataset.resources:
                if policy.max_resources is not None and fetched >= policy.max_resources:
                    stats.skipped["over_max_resources"] += 1
                    continue
                reason = _not_wanted(resource, source)
                if reason:
                    stats.skipped[reason] += 1
                    continue
                fetched += 1
                yield from _with_site_opt_outs(_records_of(source, dataset, resource, client, store, memory, stats),
                                               sites)
    finally:
        memory.save()


def _with_site_opt_outs(items: Iterator[RawRecord | ReadFailure], sites: SiteOptOuts) -> Iterator[RawRecord | ReadFailure]:
    """Each record with what its site says of mining it (tdmrep.json, robots.txt AI agents), read once per site."""
    for item in items:
        yield replace(item, opt_out_site=sites.of(item.url)) if isinstance(item, RawRecord) and item.url else item


def _not_wanted(resource: Resource, source: PortalSource) -> str | None:
    policy = source.fetch
    if resource.format is not None and resource.format not in policy.formats:
        return f"format_{resource.format}"
    if resource.size is not None and resource.size > policy.max_resource_mb << 20:
        return "too_large"
    return None


def _records_of(source, dataset: Dataset, resource: Resource, client: HttpClient, store: RawStore,
                memory: FetchMemory, stats: ReadStats) -> Iterator[RawRecord | ReadFailure]:
    locator = lineage(dataset, resource)
    try:
        remembered = obtain(source, dataset, resource, client, store, memory, stats)
    except FetchError as exc:
        stats.failures += 1
        yield ReadFailure(source.name, locator, "fetch", exc.error_class, f"{resource.url}: {str(exc)[:400]}")
        return
    payload = store.read(remembered.sha256)
    kind = payload_kind(payload, remembered.content_type, resource.format)
    archive = None if kind else is_archive(payload) if resource.format in ("zip", "tar", None) or (
        remembered.content_type in ARCHIVE_TYPES) else None
    if archive:
        yield from _archive_records(source, dataset, resource, payload, archive, remembered, store, stats)
        return
    if kind is None:
        stats.skipped[f"content_{(remembered.content_type or 'unknown').replace('/', '_')}"] += 1
        return
    yield from _record(source, dataset, resource, None, payload, kind, remembered, stats)


def obtain(source, dataset: Dataset, resource: Resource, client: HttpClient, store: RawStore,
           memory: FetchMemory, stats: ReadStats) -> Remembered:
    """The resource's bytes in the raw store, fetched only if they may have changed."""
    changed_at = resource.modified or dataset.modified
    remembered = memory.get(resource.url)
    if remembered and changed_at and remembered.catalogue_modified == changed_at and store.has(remembered.sha256):
        stats.skipped["unchanged_not_fetched"] += 1
        return remembered
    headers = remembered.conditional_headers() if remembered and store.has(remembered.sha256) else {}
    response = client.get(resource.url, headers, max_bytes=source.fetch.max_resource_mb << 20, respect_robots=True)
    if response.status == 304 and remembered:
        stats.skipped["not_modified"] += 1
        entry = Remembered(**{**vars(remembered), "catalogue_modified": changed_at})
    else:
        digest, new = store.put(response.body)
        stats.skipped["stored_new" if new else "stored_already"] += 1
        entry = Remembered(digest, response.content_type, response.charset, response.headers.get("etag"),
                           response.headers.get("last-modified"), changed_at, now_iso(),
                           opt_out_headers(response.headers))
    memory.remember(resource.url, entry)
    return entry


def _archive_records(source, dataset, resource, payload, archive, remembered, store, stats):
    limits = source.fetch.archives
    bounds = Limits(limits.max_entries, limits.max_total_mb << 20, limits.max_ratio, limits.max_seconds)
    try:
        for member in unpack(payload, archive, bounds):
            if isinstance(member, ArchiveRefused):  # one row per refused member: the failures table keys on the record
                stats.failures += 1
                yield ReadFailure(source.name, lineage(dataset, resource, member.member), "fetch", "ArchiveRefused",
                                  str(member))
                continue
            kind = payload_kind(member.payload, None, normalise_format("/" + member.name))
            if kind is None:
                stats.skipped["archive_member_not_text"] += 1
                continue
            store.put(member.payload)
            yield from _record(source, dataset, resource, member.name, member.payload, kind, remembered, stats)
    except ArchiveRefused as exc:
        stats.failures += 1
        yield ReadFailure(source.name, lineage(dataset, resource), "fetch", "ArchiveRefused", str(exc))


def _record(source, dataset: Dataset, resource: Resource, member: str | None, payload: bytes, kind: str,
            remembered: Remembered, stats: ReadStats) -> Iterator[RawRecord | ReadFailure]:
    locator = lineage(dataset, resource, member)
    if kind == "xml":
        try:
            payload, kind = xml_text(payload), "text"
        except ValueError as exc:
            stats.failures += 1
            yield ReadFailure(source.name, locator, "fetch", "MalformedXml", str(exc)[:400])
            return
    stats.records += 1
    key = record_key(dataset.dataset_id, resource.resource_id, member)
    yield RawRecord(
        source=source.name, source_kind=source.kind, record_key=key, locator=locator,
        content_type=kind, payload=payload, retrieved_at=_when(remembered.fetched_at),
        url=resource.url, charset=trusted_charset(payload, remembered.charset) if member is None else None,
        title=None if kind == "html" else (resource.title or dataset.title),
        license=dataset.license or dataset.license_raw,
        opt_out_headers=remembered.opt_out_headers if member is None else None,
    )


def lineage(dataset: Dataset, resource: Resource, member: str | None = None) -> str:
    """portal#dataset=...&resource=...[&member=...]: from a corpus row back to the catalogue record."""
    text = f"{dataset.portal}#dataset={quote(dataset.dataset_id, safe=':')}&resource={quote(resource.resource_id, safe=':')}"
    return text + (f"&member={quote(member)}" if member else "")


def xml_text(payload: bytes) -> bytes:
    """The character data of an XML document (no DTD, no entities), one element per line."""
    try:
        root = fromstring(payload, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise ValueError(f"XML refused: {exc}") from None
    lines = (" ".join(text.split()) for text in root.itertext())
    return "\n".join(line for line in lines if line).encode("utf-8")


def trusted_charset(payload: bytes, declared: str | None) -> str | None:
    """The server's charset label only when its bytes agree; None lets extraction detect the encoding.

    Servers mislabel: Latin-1 bytes sent as UTF-8 would decode to replacement characters, and UTF-8 bytes
    sent as ISO-8859-1 (which accepts any byte) to mojibake. Valid UTF-8 with non-ASCII bytes is almost
    never a legacy encoding by chance, so it wins over the label; a label its bytes contradict is dropped, and
    so is a label that is not a text encoding (`base64`, `idna`...).
    """
    declared = text_charset(declared)
    if declared and _codec(declared).startswith(("utf-16", "utf-32")):  # ASCII in UTF-16 is valid UTF-8 too
        return declared if _decodes(payload, declared) else None
    if _decodes(payload, "utf-8"):
        return "utf-8"
    return declared if declared and _decodes(payload, declared) else None


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def _decodes(payload: bytes, charset: str) -> bool:
    try:
        payload.decode(charset)
        return True
    except (LookupError, UnicodeDecodeError):
        return False


def payload_kind(payload: bytes, content_type: str | None, declared_format: str | None) -> str | None:
    """What the resource is by its bytes (moisson/formats.py), the server's media type (or, without one, the
    catalogue's format) breaking ties; "xml" for XML of no known document type, read as its character data."""
    hint = content_type or FORMAT_TYPES.get(declared_format or "")
    kind = sniff_format(payload, hint)
    if kind is not None and kind != "mediawiki":
        return kind
    return "xml" if normalise_format(hint) == "xml" and payload.lstrip()[:1] == b"<" else None


def _when(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else datetime.now(timezone.utc)
