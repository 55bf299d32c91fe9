"""udata (data.gouv.fr) `/api/1/datasets/`: pages followed by `next_page`, newest first, stopping at the watermark.

Why newest first: udata sorts on `-last_update`, so an incremental run reads from the top and
stops at the first dataset older than the watermark (the newest `last_update` of the last complete
harvest). A dataset updated while we page jumps to the top, past our position: it is newer than
this run's watermark, so the next run reads it. `deleted` and `archived` datasets are marked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from moisson.config import UdataSource
from moisson.licence import PortalLicence
from sources.catalogue import Dataset, Page, Resource, normalise_format
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
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                failures.append(ReadFailure(source.name, f"{url}#{row.get('id') if isinstance(row, dict) else '?'}",
                                            "catalogue", "BadRecord", f"{type(exc).__name__}: {exc}"))
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
    try:
        envelope = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed JSON: {exc}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), list):
        raise ValueError("not a udata page (expected an object with a 'data' list)")
    return envelope


def to_dataset(portal: str, row: dict, licence_of: LicenceOf) -> Dataset:
    licence = licence_of([row.get("license")])
    organization = row.get("organization") or row.get("owner") or {}
    return Dataset(
        portal=portal.rstrip("/"),
        dataset_id=str(row["id"]),
        name=row.get("slug"),
        title=row.get("title"),
        description=row.get("description"),
        publisher=organization.get("name") if isinstance(organization, dict) else None,
        created=row.get("created_at"),
        modified=row.get("last_update") or row.get("last_modified"),
        landing_page=row.get("page"),
        license_raw=licence.raw,
        license=licence.spdx,
        license_verdict=licence.verdict,
        deleted=bool(row.get("deleted") or row.get("archived")),
        resources=tuple(_resource(r) for r in row.get("resources") or [] if isinstance(r, dict) and r.get("url")),
    )


def _resource(row: dict) -> Resource:
    checksum = row.get("checksum") or {}
    return Resource(
        resource_id=str(row.get("id") or row["url"]),
        url=row["url"],
        title=row.get("title"),
        format=normalise_format(row.get("format"), row.get("mime"), row["url"]),
        media_type=row.get("mime"),
        size=row.get("filesize") if isinstance(row.get("filesize"), int) else None,
        checksum=f"{checksum.get('type')}:{checksum.get('value')}" if checksum.get("value") else None,
        modified=row.get("last_modified"),
    )
