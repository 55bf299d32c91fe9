"""CKAN Action API: `package_search` paged with rows/start and a stable sort, incremental by metadata_modified.

Why this shape: `package_search` is the one CKAN call that pages through a whole portal with
filters. Sorting by `metadata_modified asc, id asc` makes pages stable, and a dataset modified
while we page moves to the end, where we meet it again (ids are de-duplicated, the later copy
wins). The watermark is the newest `metadata_modified` of the last complete harvest; the next one
asks `fq=metadata_modified:[WATERMARK TO *]` (inclusive: a dataset at the watermark is seen twice,
never missed).
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from moisson.config import CkanSource
from moisson.licence import PortalLicence
from sources.catalogue import Dataset, Page, Resource, byte_size, load_page_json, normalise_format, row_id, text_field
from sources.harvest_state import HarvestState
from sources.http import FetchError, HttpClient
from sources.records import ReadFailure

SORT = "metadata_modified asc, id asc"
MAX_STALE_PAGES = 3  # pages in a row bringing no dataset not already met by this run
LicenceOf = Callable[[list[str | None]], PortalLicence]


def harvest(source: CkanSource, client: HttpClient, state: HarvestState, licence_of: LicenceOf) -> Iterator[Page]:
    checkpoint = state.checkpoint or {"start": 0, "since": state.watermark}
    start, since = checkpoint["start"], checkpoint.get("since")
    seen: set[str] = set()  # ids met by this run: pages of nothing new mean the portal ignores `start`
    stale = 0
    while True:
        url = search_url(source, start, since)
        try:
            result = _result(client.get(url).body)
        except (FetchError, ValueError) as exc:
            yield Page([], [_failure(source, url, exc)], stopped=True)
            return
        rows = result["results"]
        datasets, failures = [], []
        for row in rows:
            try:
                datasets.append(to_dataset(source.url, row, licence_of))
            except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
                failures.append(ReadFailure(source.name, f"{url}#{row_id(row)}", "catalogue", "BadRecord",
                                            f"{type(exc).__name__}: {str(exc)[:300]}"))
        # one page of repeats happens (a dataset modified while we page moves to the end); several in a row
        # mean the portal ignores `start` and would be paged forever: stop, the watermark stays where it was
        stale = stale + 1 if datasets and seen.issuperset(d.dataset_id for d in datasets) else 0
        if stale >= MAX_STALE_PAGES:
            yield Page([], [ReadFailure(source.name, url, "catalogue", "PagingLoop",
                                        f"{stale} pages in a row repeat datasets already harvested by this run")],
                       stopped=True, abandoned=True)
            return
        seen.update(d.dataset_id for d in datasets)
        start += len(rows)
        done = not rows or start >= result["count"]
        newest = max((d.modified for d in datasets if d.modified), default=None)
        yield Page(datasets, failures, None if done else {"start": start, "since": since}, newest)
        if done:
            return


def search_url(source: CkanSource, start: int, since: str | None) -> str:
    filters = [f for f in (source.fq, f"organization:{source.organization}" if source.organization else None) if f]
    if since:
        filters.append(f"metadata_modified:[{solr_date(since)} TO *]")
    query = {"rows": source.page_size, "start": start, "sort": SORT}
    if source.q:
        query["q"] = source.q
    if filters:
        query["fq"] = " AND ".join(filters)
    return f"{source.url.rstrip('/')}/api/3/action/package_search?{urlencode(query)}"


def solr_date(value: str) -> str:
    """CKAN's metadata_modified (2017-08-05T03:19:33.886925) as a Solr date, truncated to the second (inclusive)."""
    return value[:19].replace(" ", "T") + "Z"


def _result(body: bytes) -> dict:
    envelope = load_page_json(body)
    if not isinstance(envelope, dict) or not envelope.get("success") or not isinstance(envelope.get("result"), dict):
        error = envelope.get("error") if isinstance(envelope, dict) else None
        raise ValueError(f"not a successful package_search answer: {reprlib.repr(error or envelope)[:200]}")
    result = envelope["result"]
    if not isinstance(result.get("results") or [], list):
        raise ValueError(f"package_search 'results' is a {type(result['results']).__name__}, not a list")
    try:
        count = int(result.get("count") or 0)
    except (TypeError, ValueError):
        raise ValueError(f"package_search 'count' is not a number: {str(result.get('count'))[:50]!r}") from None
    return {**result, "results": result.get("results") or [], "count": count}


def _failure(source: CkanSource, url: str, exc: Exception) -> ReadFailure:
    error_class = exc.error_class if isinstance(exc, FetchError) else "MalformedResponse"
    return ReadFailure(source.name, url, "catalogue", error_class, str(exc)[:500])


def to_dataset(portal: str, row: dict, licence_of: LicenceOf) -> Dataset:
    """One package dict (package_show's `result`) as a catalogue record."""
    licence = licence_of([row.get("license_id")]) if row.get("license_id") else None
    if licence is None or licence.spdx is None:
        licence = licence_of([row.get("license_url"), row.get("license_title"), row.get("license_id")])
    organization = row.get("organization") or {}
    if not isinstance(organization, dict):
        raise ValueError(f"field 'organization' holds a {type(organization).__name__}, not an object")
    base = portal.rstrip("/")
    dataset_id, name = text_field(row, "id", required=True), text_field(row, "name")
    return Dataset(
        portal=base,
        dataset_id=dataset_id,
        name=name,
        title=text_field(row, "title"),
        description=text_field(row, "notes"),
        publisher=(text_field(organization, "title") or text_field(organization, "name") or text_field(row, "author")
                   or text_field(row, "maintainer")),
        language=_language(row),
        created=text_field(row, "metadata_created"),
        modified=text_field(row, "metadata_modified"),
        landing_page=f"{base}/dataset/{name or dataset_id}",
        license_raw=licence.raw,
        license=licence.spdx,
        license_verdict=licence.verdict,
        deleted=row.get("state") in ("deleted", "withdrawn"),
        resources=tuple(_resource(r) for r in row.get("resources") or [] if isinstance(r, dict) and r.get("url")),
    )


def _resource(row: dict) -> Resource:
    url, media_type = text_field(row, "url", required=True), text_field(row, "mimetype")
    return Resource(
        resource_id=text_field(row, "id") or url,
        url=url,
        title=text_field(row, "name"),
        format=normalise_format(text_field(row, "format"), media_type, url),
        media_type=media_type,
        size=byte_size(row.get("size")),
        checksum=text_field(row, "hash") or None,
        modified=text_field(row, "last_modified") or text_field(row, "created"),
    )


def _language(row: dict) -> str | None:
    value = row.get("language")
    if isinstance(value, list):
        return ",".join(v for v in value if isinstance(v, str)) or None
    return text_field(row, "language") or None
