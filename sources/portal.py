"""Harvesting a portal: catalogue pages first, persisted page by page, then the catalogue as a whole.

Why in two steps: a harvest of tens of thousands of records takes hours and will one day be
killed midway. Each completed page is written to disk and the checkpoint saved after it, so the
next run resumes from the last completed page; only when the last page is in are the pages merged
into the source's catalogue (upsert by dataset id: a later copy wins, a deleted record is marked,
never erased) and the watermark advanced. Files are fetched only after the catalogue is written.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from moisson.atomic_files import write_parquet, write_text
from moisson.config import MoissonConfig, PortalSource, WarcSource, is_url
from moisson.credentials import Credentials
from moisson.layout import DataLayout
from moisson.licence import portal_licence
from sources import ckan, dcat, gallica, hal, oai_pmh, udata
from sources.catalogue import Dataset, Page, Resource, datasets_table, resources_table
from sources.harvest_state import HarvestState, HarvestStateFile, now_iso
from sources.http import HttpClient, HttpSettings
from sources.records import ReadFailure

CONNECTORS = {"ckan": ckan.harvest, "oai-pmh": oai_pmh.harvest, "udata": udata.harvest, "dcat": dcat.harvest,
              "hal": hal.harvest, "gallica": gallica.harvest}


@dataclass
class CatalogueHarvest:
    """What one catalogue run did, for the asset's metadata and the failures table."""

    datasets: list[Dataset] = field(default_factory=list)  # every dataset known for the source
    failures: list[ReadFailure] = field(default_factory=list)
    pages: int = 0
    harvested: int = 0  # records received this run
    complete: bool = False
    state: HarvestState = field(default_factory=HarvestState)


def http_client(config: MoissonConfig, source: PortalSource | WarcSource) -> HttpClient:
    """The source's HTTP client: the `http:` section's manners, the source's address exceptions and credentials."""
    http = config.http
    return HttpClient(HttpSettings(
        user_agent=http.full_user_agent, connect_timeout=http.timeout_seconds, read_timeout=http.timeout_seconds,
        max_retries=http.max_retries, backoff_seconds=http.backoff_seconds,
        max_retry_after_seconds=http.max_retry_after_seconds, max_redirects=http.max_redirects,
        min_interval_seconds=1.0 / http.requests_per_second, max_connections_per_host=http.max_connections_per_host,
        max_bytes=http.max_response_mb << 20, max_seconds_per_response=http.max_response_seconds,
        allow_private_addresses=source.allow_private_addresses,
        allowed_addresses=frozenset(str(a) for a in getattr(source, "allowed_addresses", ())),
    ), credentials=source_credentials(source))


def source_credentials(source: PortalSource | WarcSource) -> Credentials:
    """What the source may send and where: the references in its URL-valued fields (to each URL's origin), its
    `headers:` (to all of them) and the credentials sealed when the file was read."""
    urls = [entry for entry in source.paths if is_url(entry)] + [getattr(source, "base_url", None) or ""]
    return Credentials([url for url in urls if url], source.headers, source.sealed_credentials)


def harvest_catalogue(config: MoissonConfig, source: PortalSource, layout: DataLayout,
                      client: HttpClient) -> CatalogueHarvest:
    """Page through the source's catalogue from its checkpoint or watermark; merge when the end is reached."""
    store = HarvestStateFile(layout.harvest_state_file(source.name), layout.tmp_dir)
    pages_dir = layout.harvest_pages_dir(source.name)
    state = store.load()
    if not state.in_progress:
        shutil.rmtree(pages_dir, ignore_errors=True)  # left by a run killed after its merge
    result = CatalogueHarvest()
    if not state.reached_end:
        licence_of = lambda values: portal_licence(values, config.policy.licenses.allow, config.policy.licenses.verdicts)
        for page in CONNECTORS[source.kind](source, client, state, licence_of):
            if page.stopped or page.abandoned:  # failures of written pages come back with the merge
                result.failures.extend(page.failures)
            if page.abandoned:
                state = state.abandoned(page.failures[0].message if page.failures else "abandoned")
                break
            if page.stopped:
                state = state.interrupted(page.failures[0].message if page.failures else "stopped")
                break
            _write_page(layout, pages_dir, state.pages_done + 1, page)
            state = state.after_page(page.checkpoint, page.newest)
            store.save(state)
            result.pages += 1
            result.harvested += len(page.datasets)
    known, earlier_failures = _merge(layout, source.name, pages_dir)
    result.failures = earlier_failures + result.failures
    if state.reached_end:
        state = state.completed()
    store.save(state)
    if not state.in_progress:
        shutil.rmtree(pages_dir, ignore_errors=True)
    result.datasets, result.complete, result.state = known, not state.in_progress and state.last_error is None, state
    return result


def _write_page(layout: DataLayout, pages_dir, number: int, page: Page) -> None:
    content = {"harvested_at": now_iso(), "datasets": [d.as_row() for d in page.datasets],
               "failures": [vars(f) for f in page.failures]}
    write_text(json.dumps(content, ensure_ascii=False), pages_dir / f"page-{number:06d}.json", layout.tmp_dir)


def _merge(layout: DataLayout, source: str, pages_dir) -> tuple[list[Dataset], list[ReadFailure]]:
    """The stored catalogue updated with every page of the harvest in progress (later copies win)."""
    known, harvested_at = load_catalogue(layout, source)
    failures: list[ReadFailure] = []
    for path in sorted(pages_dir.glob("page-*.json")):
        content = json.loads(path.read_text(encoding="utf-8"))
        for row in content["datasets"]:
            dataset = Dataset.from_row(row)
            known[dataset.dataset_id] = dataset
            harvested_at[dataset.dataset_id] = content["harvested_at"]
        failures.extend(ReadFailure(**f) for f in content["failures"])
    datasets = [known[key] for key in sorted(known)]
    write_parquet(datasets_table(source, datasets, harvested_at), layout.stage_file("datasets", source), layout.tmp_dir)
    write_parquet(resources_table(source, datasets), layout.stage_file("resources", source), layout.tmp_dir)
    return datasets, failures


def load_catalogue(layout: DataLayout, source: str,
                   keys: Collection[str] | None = None) -> tuple[dict[str, Dataset], dict[str, str]]:
    """The source's catalogue as last written: datasets by id (with their resources) and when each was harvested;
    only the datasets of `keys` when given (a catalogue slice reads its own rows, not the whole catalogue's)."""
    datasets_file, resources_file = layout.stage_file("datasets", source), layout.stage_file("resources", source)
    if not datasets_file.exists():
        return {}, {}
    rows = None if keys is None else [("dataset_id", "in", sorted(keys))]
    resources: dict[str, list[Resource]] = {}
    if resources_file.exists():
        for row in pq.read_table(resources_file, filters=rows).to_pylist():
            resources.setdefault(row["dataset_id"], []).append(Resource(
                **{k: row[k] for k in Resource.__dataclass_fields__}))
    known, harvested_at = {}, {}
    for row in pq.read_table(datasets_file, filters=rows).to_pylist():
        harvested_at[row["dataset_id"]] = row.pop("harvested_at")
        row.pop("source")
        known[row["dataset_id"]] = Dataset(**{**row, "identifiers": tuple(row["identifiers"] or ()),
                                              "resources": tuple(resources.get(row["dataset_id"], ()))})
    return known, harvested_at


def catalogue_keys(layout: DataLayout, source: str) -> list[str]:
    """The dataset ids of the source's stored catalogue in catalogue (reading) order; [] before its first merge.
    Reads one column: the shards of a catalogue of 90,000 datasets are listed without building them."""
    datasets_file = layout.stage_file("datasets", source)
    if not datasets_file.exists():
        return []
    return sorted(pq.read_table(datasets_file, columns=["dataset_id"]).column("dataset_id").to_pylist())
