"""Portal sources read as catalogue slices, against a CKAN portal served on 127.0.0.1.

What must hold: the slices, read one after the other, give exactly what `read_source` gives (ids, positions,
payloads, failures, statistics); one dataset added changes one slice; a slice whose read failed is read again
alone (a backfill of its partition) without touching the harvest state; no catalogue yet, no data directory or a
resource budget over the whole catalogue: one `all` shard, as before."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest

import moisson.sharded_harvest as sharded_harvest
import sources
import sources.shards as shards
from harvest_helpers import config_for, fake_ckan, harvest
from moisson.layout import DataLayout
from portal_server import PortalServer
from sources.records import RawRecord, ReadFailure, ReadStats
from sources.shards import partition_key, read_shard, source_shards, split_partition_key

SOURCE = "slices"
DATASETS = 40
SLICE = 6  # datasets per slice here, on average: 40 datasets give several slices
FAST = {"requests_per_second": 1000, "max_retries": 0, "backoff_seconds": 0, "timeout_seconds": 5}
BROKEN = 17  # the dataset whose second resource answers 500 while `failing` holds it
RESOURCES = DATASETS + sum(1 for number in range(DATASETS) if number % 3 == 0 or number == BROKEN)  # 55


@pytest.fixture(autouse=True)
def small_slices(monkeypatch):
    monkeypatch.setattr(shards, "SLICE_DATASETS", SLICE)


class Portal:
    """A CKAN portal of `DATASETS` datasets, each with an HTML page (every third with a text file too); dataset
    `BROKEN`'s text file answers 500 while `failing` is set."""

    def __init__(self, server: PortalServer):
        self.server, self.failing = server, True
        self.packages = [self.package(number) for number in range(DATASETS)]
        server.file("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        server.handler("/api/3/action/package_search", fake_ckan(self.packages))

    def package(self, number: int) -> dict:
        page = self.server.file(f"/docs/{number}.html", f"<html><body><p>Document {number}: "
                                f"{'une phrase de plus. ' * 10}</p></body></html>")
        resources = [{"id": f"page-{number}", "url": page, "format": "HTML", "name": "page"}]
        if number % 3 == 0 or number == BROKEN:
            resources.append({"id": f"text-{number}", "url": self.text(number), "format": "TXT", "name": "text"})
        return {"id": f"ds-{number:03d}", "name": f"dataset-{number}", "title": f"Dataset {number}",
                "metadata_modified": f"2026-01-{1 + number % 28:02d}T00:00:{number % 60:02d}", "license_id": "cc-by",
                "resources": resources}

    def text(self, number: int) -> str:
        body = f"Texte {number}. {'Encore une ligne. ' * 8}".encode()
        if number != BROKEN:
            return self.server.file(f"/docs/{number}.txt", body, content_type="text/plain; charset=utf-8")
        return self.server.handler(f"/docs/{number}.txt", lambda query, request: (
            (500, {}, b"down") if self.failing else (200, {"Content-Type": "text/plain; charset=utf-8"}, body)))

    def config(self, **fetch):
        return config_for({"name": SOURCE, "kind": "ckan", "url": self.server.base, "allow_private_addresses": True,
                           "page_size": 50, "license": "CC-BY-4.0", **({"fetch": fetch} if fetch else {})}, http=FAST)

    def fetched(self, since: int) -> list[str]:
        return sorted(path for path, _, _ in self.server.log[since:] if path.startswith("/docs/"))


def read_items(items) -> tuple[list[tuple], list[tuple]]:
    """What a read gave, comparable: each record's id, position, payload digest and key; each failure."""
    records, failures = [], []
    for item in items:
        if isinstance(item, RawRecord):
            records.append((item.id, item.position, hashlib.sha256(item.payload).hexdigest(), item.record_key,
                            item.license, item.opt_out_site))
        elif isinstance(item, ReadFailure):
            failures.append((item.record, item.stage, item.error_class))
    return records, failures


def renumbered(records: list[tuple]) -> list[tuple]:
    """Slices number their records from 0; the source's positions are their places in the concatenation."""
    return [(record[0], place, *record[2:]) for place, record in enumerate(records)]


def test_the_slices_read_in_order_give_exactly_what_the_source_gives(tmp_path):
    layout = DataLayout.at(tmp_path / "data")
    with PortalServer() as server:
        portal = Portal(server)
        config = portal.config()
        assert harvest(config, SOURCE, layout).complete
        list(sources.read_source(config, SOURCE, ReadStats(), layout))  # fetched once: both reads below are alike
        whole_stats = ReadStats()
        whole = read_items(sources.read_source(config, SOURCE, whole_stats, layout))
        slices = source_shards(config, SOURCE, layout)
        sliced_stats, records, failures = ReadStats(), [], []
        for shard in slices:
            stats = ReadStats()
            shard_records, shard_failures = read_items(read_shard(config, SOURCE, shard, stats, layout))
            assert [record[1] for record in shard_records] == list(range(len(shard_records)))
            records += shard_records
            failures += shard_failures
            sliced_stats.add(stats)

    assert len(slices) > 2 and all(shard.fingerprint is None and not shard.whole for shard in slices)
    keys = [key for shard in slices for key in shard.datasets]
    assert keys == [f"ds-{number:03d}" for number in range(DATASETS)]  # every dataset once, in catalogue order
    assert [shard.key for shard in slices] == [f"datasets/{shard.datasets[0]}" for shard in slices]
    assert len(whole[0]) == RESOURCES - 1 and len(whole[1]) == 1  # all but the broken text file, a failure
    assert (renumbered(records), failures) == whole
    assert sliced_stats == whole_stats
    assert all(split_partition_key(partition_key(SOURCE, shard.key)) == (SOURCE, shard.key) for shard in slices)


def test_one_dataset_added_changes_one_slice(tmp_path):
    layout = DataLayout.at(tmp_path / "data")
    with PortalServer() as server:
        portal = Portal(server)
        config = portal.config()
        harvest(config, SOURCE, layout)
        before = source_shards(config, SOURCE, layout)
        added = portal.package(DATASETS)
        added.update(id="ds-020a", metadata_modified="2026-02-01T00:00:00")  # between ds-020 and ds-021
        portal.packages.append(added)
        harvest(config, SOURCE, layout)
        after = source_shards(config, SOURCE, layout)

    changed_before = [(s.key, s.datasets) for s in before if s not in after]
    changed_after = [(s.key, s.datasets) for s in after if s not in before]
    assert len(changed_before) == len(changed_after) == 1
    [(key, datasets)] = changed_after
    assert "ds-020a" in datasets and set(datasets) - {"ds-020a"} == set(changed_before[0][1])


def test_a_failed_slice_is_read_again_alone_and_the_harvest_state_is_left_alone(tmp_path):
    layout = DataLayout.at(tmp_path / "data")
    stage, site = layout.stage_file("raw_records", SOURCE), layout.stage_file("site_files", SOURCE)
    with PortalServer() as server:
        portal = Portal(server)
        config = portal.config()
        harvest(config, SOURCE, layout)
        state_file = layout.harvest_state_file(SOURCE)
        state = state_file.read_bytes()
        first = sharded_harvest.harvest_source(config, SOURCE, layout, stage, site)
        [failed] = first.shards_failed
        slice_of_broken = next(s for s in source_shards(config, SOURCE, layout) if f"ds-{BROKEN:03d}" in s.datasets)
        portal.failing = False
        served = len(server.log)
        shard_state, failures = sharded_harvest.harvest_shard(config, SOURCE, failed, layout)
        alone = portal.fetched(served)
        status = sharded_harvest.shard_status(config, SOURCE, layout)
        again = sharded_harvest.harvest_source(config, SOURCE, layout, stage, site)
        whole = read_items(sources.read_source(config, SOURCE, ReadStats(), layout))
        memory = json.loads(layout.fetch_memory_file(SOURCE).read_text(encoding="utf-8"))
        unioned = list(zip(*pq.read_table(stage, columns=["id", "source_position", "content_sha256"]).to_pydict().values()))

    assert len(first.shards) > 2 and len(first.shards_read) == len(first.shards) and first.records.height == RESOURCES - 1
    assert failed == slice_of_broken.key and first.failures[0].error_class == "HTTP500"
    assert shard_state.read and shard_state.failures == 0 and not failures
    assert alone == [f"/docs/{BROKEN}.txt"]  # only the failed resource is asked for again: the rest is stored
    assert status["complete"] == [s.key for s in first.shards] and not status["failed"]
    assert not again.shards_failed and again.records.height == RESOURCES
    assert not whole[1] and again.records["id"].to_list() == [record[0] for record in whole[0]]
    assert unioned == [(record[0], record[1], record[2]) for record in whole[0]]  # the raw stage file: ids, places, bytes
    assert state_file.read_bytes() == state  # reading slices never writes the catalogue's harvest state
    assert len(memory) == RESOURCES  # every resource remembered, whichever slice fetched it


def test_a_portal_that_cannot_be_sliced_is_one_shard(tmp_path):
    layout = DataLayout.at(tmp_path / "data")
    with PortalServer() as server:
        portal = Portal(server)
        config = portal.config()
        before_catalogue = source_shards(config, SOURCE, layout)
        harvest(config, SOURCE, layout)
        without_layout = source_shards(config, SOURCE)
        budgeted = source_shards(portal.config(max_resources=10), SOURCE, layout)
    for listed in (before_catalogue, without_layout, budgeted):
        assert [(shard.key, shard.whole) for shard in listed] == [("all", True)]


def test_an_oai_pmh_source_is_sliced_by_record_as_its_records_are_stored_datasets(tmp_path, monkeypatch):
    from test_portal_end_to_end import ARTICLE, OAI_PAGE, OAI_RECORD, sentence

    monkeypatch.setattr(shards, "SLICE_DATASETS", 2)
    layout = DataLayout.at(tmp_path / "data")
    with PortalServer() as server:
        records = "".join(OAI_RECORD.format(n=n, url=server.file(f"/theses/{n}.html", ARTICLE.format(
            title=f"Thesis {n}", body=sentence(f"thesis {n}")))) for n in range(1, 10))
        server.file("/oai", OAI_PAGE.format(base=server.base, records=records), content_type="text/xml")
        config = config_for({"name": "theses", "kind": "oai-pmh", "url": server.base + "/oai",
                             "allow_private_addresses": True}, http=FAST)
        harvest(config, "theses", layout)
        whole = read_items(sources.read_source(config, "theses", ReadStats(), layout))
        slices = source_shards(config, "theses", layout)
        sliced = [read_items(read_shard(config, "theses", shard, ReadStats(), layout)) for shard in slices]

    assert len(slices) > 1 and slices[0].key == "datasets/oai:demo:1"
    assert len(whole[0]) == 9 and not whole[1]
    assert (renumbered([record for part in sliced for record in part[0]]), []) == whole
