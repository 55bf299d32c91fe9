"""CKAN harvests against a real local server replaying demo.ckan.org's recorded package_search answer."""

from __future__ import annotations

import json

import pytest

from harvest_helpers import config_for, fake_ckan, fetch, harvest
from moisson.layout import DataLayout
from portal_server import PortalServer
from sources.harvest_state import HarvestStateFile


@pytest.fixture
def packages(shared_data):
    recorded = json.loads((shared_data / "portals/ckan/Amsterdam_dcatd/packages.json").read_text(encoding="utf-8"))
    return recorded["result"]["results"]


def ckan_source(server, **extra):
    return {"name": "demo-ckan", "kind": "ckan", "url": server.base, "allow_private_addresses": True,
            "page_size": 2, **extra}


def test_pages_to_the_end_with_a_stable_sort_and_maps_licences(tmp_path, packages):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        server.handler("/api/3/action/package_search", fake_ckan(packages))
        config = config_for(ckan_source(server))
        result = harvest(config, "demo-ckan", layout)
        queries = server.requests_to("/api/3/action/package_search")
    assert result.complete and result.pages == 2 and not result.failures
    assert [q["start"] for q in queries] == ["0", "2"]
    assert queries[0]["sort"] == "metadata_modified asc, id asc"
    by_name = {d.name: d for d in result.datasets}
    assert len(by_name) == 3
    assert by_name["100-validated-species-of-plants"].license == "LicenseRef-other-open"
    assert by_name["100-validated-species-of-plants"].license_verdict == "review"
    cc = by_name["1617in10-regulation-of-sale-of-overseas-properties-20170426-c"]
    assert (cc.license_raw, cc.license, cc.license_verdict) == ("cc-by", "LicenseRef-CC-BY-unversioned", "review")
    assert cc.resources and cc.resources[0].url.startswith("http")
    assert HarvestStateFile(layout.harvest_state_file("demo-ckan"), layout.tmp_dir).load().watermark == \
        max(p["metadata_modified"] for p in packages)


def test_incremental_run_asks_from_the_watermark_and_fetches_nothing_unchanged(tmp_path, packages):
    layout = DataLayout.at(tmp_path)
    for number, package in enumerate(packages):
        package["resources"] = [{"id": f"r{number}", "url": "", "format": "HTML", "name": "page"}]
    with PortalServer() as server:
        for number, package in enumerate(packages):
            package["resources"][0]["url"] = server.file(f"/docs/{number}.html", f"<p>Document {number}</p>")
        server.file("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        server.handler("/api/3/action/package_search", fake_ckan(packages))
        config = config_for(ckan_source(server, license="CC-BY-4.0"))
        first = harvest(config, "demo-ckan", layout)
        records, failures, _ = fetch(config, "demo-ckan", layout, first.datasets)
        assert len(records) == 3 and not failures
        served_before = len(server.log)
        second = harvest(config, "demo-ckan", layout)
        again, _, stats = fetch(config, "demo-ckan", layout, second.datasets)
        new_requests = server.log[served_before:]
    assert "metadata_modified:[2017-" in new_requests[0][1]["fq"]
    # no document is asked for again; robots.txt is read again once, for the AI-training agents' opt-outs
    assert sorted({path for path, _, _ in new_requests}) == ["/api/3/action/package_search", "/robots.txt"]
    assert [path for path, _, _ in new_requests].count("/robots.txt") == 1
    assert stats.skipped["unchanged_not_fetched"] == 3
    assert sorted(r.id for r in again) == sorted(r.id for r in records)
    assert len(second.datasets) == 3


def test_failure_mid_harvest_is_recorded_and_the_next_run_resumes_from_the_last_page(tmp_path, packages):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        server.handler("/api/3/action/package_search", fake_ckan(packages, fail_at={2}))
        config = config_for(ckan_source(server))
        first = harvest(config, "demo-ckan", layout, max_retries=0)
        state = HarvestStateFile(layout.harvest_state_file("demo-ckan"), layout.tmp_dir).load()
        second = harvest(config, "demo-ckan", layout)
        queries = server.requests_to("/api/3/action/package_search")
    assert not first.complete and len(first.datasets) == 2
    assert [(f.stage, f.error_class) for f in first.failures] == [("catalogue", "HTTP500")]
    assert "start=2" in first.failures[0].record and first.failures[0].source == "demo-ckan"
    assert state.checkpoint["start"] == 2 and state.watermark is None
    assert [q["start"] for q in queries] == ["0", "2", "2"]
    assert second.complete and len({d.dataset_id for d in second.datasets}) == 3


def test_malformed_json_is_a_recorded_failure_and_the_harvest_resumes(tmp_path, packages):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        server.handler("/api/3/action/package_search", fake_ckan(packages, broken_at={2}))
        config = config_for(ckan_source(server))
        first = harvest(config, "demo-ckan", layout)
        second = harvest(config, "demo-ckan", layout)
    assert first.failures[0].error_class == "MalformedResponse" and "malformed JSON" in first.failures[0].message
    assert second.complete and len(second.datasets) == 3


def test_dkan_record_with_a_list_result_and_french_dates_maps_the_etalab_licence(shared_data):
    from moisson.licence import portal_licence
    from sources.ckan import to_dataset

    answer = json.loads((shared_data / "portals/ckan/opendatateam_udata/dkan-french-w-license.json").read_text("utf-8"))
    dataset = to_dataset("https://opendata.hautsdefrance.fr", answer["result"][0], portal_licence)
    assert dataset.license == "LicenseRef-etalab-1.0"
    assert all(r.size is None for r in dataset.resources)
