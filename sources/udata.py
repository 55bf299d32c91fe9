"""udata (data.gouv.fr) `/api/1/datasets/`: pages followed by `next_page`, newest first, stopping at the watermark.

Why newest first: udata sorts on `-last_update`, so an incremental run reads from the top and
stops at the first dataset older than the watermark (the newest `last_update` of the last complete
harvest). A dataset updated while we page jumps to the top, past our position: it is newer than
this run's watermark, so the next run reads it. `deleted` and `archived` datasets are marked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from moisson.config import UdataSource
from moisson.licence import PortalLicence
from sources.catalogue import Dataset, Page, Resource, byte_size, load_page_json, normalise_format, row_id, text_field
from sources.harvest_state import HarvestState
from sources.http import FetchError, HttpClient
from sources.records import ReadFailure

LicenceOf = Callable[[list[str | None]], PortalLicence]


def harvest(source: UdataSource, client: HttpClient, state: HarvestState, licence_of: LicenceOf) -> Iterator[Page]:
    checkpoint = state.checkpoint or {"next": first_page_url(source), "since": state.watermark}
    url, since, visited = checkpoint["next"], checkpoint.get("since"), set()
    while url:
        if url in visited:
            yield Page([], [ReadFailure(source.name, url, "catalogue", "PagingLoop", "next_page points back to a page already read")])
            return
        visited.add(url)
        try:
            envelope = _envelope(client.get(url, headers={"Accept": "application/json"}).body)
        except (FetchError, ValueError) as exc:
            error_class = exc.error_class if isinstance(exc, FetchError) else "MalformedResponse"
            yield Page([], [ReadFailure(source.name, url, "catalogue", error_class, str(exc)[:500])], stopped=True)
            return
        datasets, failures, reached_watermark = [], [], False
        for row in envelope["data"]:
            try:
                dataset = to_dataset(source.url, row, licence_of)
            except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
                failures.append(ReadFailure(source.name, f"{url}#{row_id(row)}", "catalogue", "BadRecord",
                                            f"{type(exc).__name__}: {str(exc)[:300]}"))
                continue
            if since and dataset.modified and dataset.modified < since:
                reached_watermark = True
                break
            datasets.append(dataset)
        next_url = None if reached_watermark else envelope.get("next_page")
        newest = max((d.modified for d in datasets if d.modified), default=None)
        yield Page(datasets, failures, {"next": next_url, "since": since} if next_url else None, newest)
        url = next_url


def first_page_url(source: UdataSource) -> str:
    query = {"page": 1, "page_size": source.page_size, "sort": "-last_update"}
    query.update({k: v for k, v in source.filter.model_dump().items() if v})
    return f"{source.url.rstrip('/')}/api/1/datasets/?{urlencode(query)}"


def _envelope(body: bytes) -> dict:
    envelope = load_page_json(body)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), list):
        raise ValueError("not a udata page (expected an object with a 'data' list)")
    return envelope


def to_dataset(portal: str, row: dict, licence_of: LicenceOf) -> Dataset:
    licence = licence_of([row.get("license")])
    organization = row.get("organization") or row.get("owner") or {}
    return Dataset(
        portal=portal.rstrip("/"),
        dataset_id=text_field(row, "id", required=True),
        name=text_field(row, "slug"),
        title=text_field(row, "title"),
        description=text_field(row, "description"),
        publisher=text_field(organization, "name") if isinstance(organization, dict) else None,
        created=text_field(row, "created_at"),
        modified=text_field(row, "last_update") or text_field(row, "last_modified"),
        landing_page=text_field(row, "page"),
        license_raw=licence.raw,
        license=licence.spdx,
        license_verdict=licence.verdict,
        deleted=bool(row.get("deleted") or row.get("archived")),
        resources=tuple(_resource(r) for r in row.get("resources") or [] if isinstance(r, dict) and r.get("url")),
    )


def _resource(row: dict) -> Resource:
    checksum = row.get("checksum") or {}
    if not isinstance(checksum, dict):
        raise ValueError(f"field 'checksum' holds a {type(checksum).__name__}, not an object")
    url, media_type, digest = text_field(row, "url", required=True), text_field(row, "mime"), text_field(checksum, "value")
    return Resource(
        resource_id=text_field(row, "id") or url,
        url=url,
        title=text_field(row, "title"),
        format=normalise_format(text_field(row, "format"), media_type, url),
        media_type=media_type,
        size=byte_size(row.get("filesize")) if isinstance(row.get("filesize"), int) else None,
        checksum=f"{text_field(checksum, 'type')}:{digest}" if digest else None,
        modified=text_field(row, "last_modified"),
    )
