"""OAI-PMH harvests replaying Zenodo's recorded ListRecords chain and sickle's hand-written one on 127.0.0.1."""

from __future__ import annotations

import pytest

from harvest_helpers import config_for, harvest
from moisson.layout import DataLayout
from portal_server import PortalServer
from sources.harvest_state import HarvestStateFile
from sources.oai_pmh import OaiError, parse_response


def oai_source(url: str, **extra) -> dict:
    return {"name": "archive", "kind": "oai-pmh", "url": url, "allow_private_addresses": True, **extra}


@pytest.fixture
def zenodo(shared_data):
    with PortalServer() as server:
        url = server.replay("/oai2d", shared_data / "portals/oai-pmh/afuetterer_oaipmh-scythe/list_records")
        yield server, url


def test_resumption_tokens_are_followed_to_the_end_and_deleted_records_marked(tmp_path, zenodo):
    server, url = zenodo
    result = harvest(config_for(oai_source(url)), "archive", DataLayout.at(tmp_path))
    assert result.complete and result.pages == 3 and not result.failures
    assert len(result.datasets) == 9
    deleted = [d.dataset_id for d in result.datasets if d.deleted]
    assert "oai:zenodo.org:8433364" in deleted
    tokens = [q for q in server.requests_to("/oai2d") if "resumptionToken" in q]
    assert len(tokens) == 2 and all(set(q) == {"verb", "resumptionToken"} for q in tokens)


def test_oai_dc_is_mapped_and_rights_resolve_to_one_licence(tmp_path, zenodo):
    _, url = zenodo
    result = harvest(config_for(oai_source(url)), "archive", DataLayout.at(tmp_path))
    record = next(d for d in result.datasets if d.dataset_id == "oai:zenodo.org:8333281")
    assert record.title and record.license == "CC-BY-4.0" and record.license_verdict == "allow"
    assert record.modified == "2023-10-12T01:34:35Z"
    assert any(r.url.startswith("https://doi.org/") for r in record.resources)
    assert "oai:zenodo.org:8333281" in record.identifiers


def test_no_records_match_served_as_422_is_an_empty_harvest_not_a_failure(tmp_path, zenodo):
    server, url = zenodo
    result = harvest(config_for(oai_source(url, **{"from": "2030-01-01"})), "archive", DataLayout.at(tmp_path))
    assert result.complete and result.datasets == [] and result.failures == []


def test_protocol_error_is_recorded_with_its_code(tmp_path, zenodo):
    _, url = zenodo
    result = harvest(config_for(oai_source(url, metadata_prefix="XXX")), "archive", DataLayout.at(tmp_path))
    assert [(f.stage, f.error_class) for f in result.failures] == [("catalogue", "OAI:badArgument")]
    assert "metadataPrefix=XXX" in result.failures[0].record


def test_repeated_identifiers_are_upserted_and_a_header_without_identifier_is_reported(tmp_path, shared_data):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        url = server.replay("/oai", shared_data / "portals/oai-pmh/mloesch_sickle")
        result = harvest(config_for(oai_source(url)), "archive", layout)
    assert result.complete and result.pages == 4
    ids = [d.dataset_id for d in result.datasets]
    assert len(ids) == len(set(ids)) and "oai:test.example.com:1585322" in ids
    assert [f.error_class for f in result.failures] == ["BadRecord"]
    assert "record" in result.failures[0].record


def test_expired_token_on_resume_restarts_from_the_watermark_next_time(tmp_path, zenodo):
    server, url = zenodo
    layout = DataLayout.at(tmp_path)
    states = HarvestStateFile(layout.harvest_state_file("archive"), layout.tmp_dir)
    from sources.harvest_state import HarvestState
    states.save(HarvestState(checkpoint={"token": "XXX", "from": None}, pages_done=1))
    result = harvest(config_for(oai_source(url)), "archive", layout)
    assert [f.error_class for f in result.failures] == ["OAI:badResumptionToken"]
    assert states.load().checkpoint is None and not states.load().in_progress


def test_html_served_for_an_oai_request_is_refused_clearly(shared_data):
    page = (shared_data / "portals/oai-pmh/afuetterer_oaipmh-scythe/identify/01-Identify-200.html").read_bytes()
    with pytest.raises(ValueError, match="DTD|not an OAI-PMH|XML"):
        parse_response(page)


def test_entity_expansion_is_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><OAI-PMH>&lol2;</OAI-PMH>'
    with pytest.raises(ValueError, match="DTD"):
        parse_response(bomb)


def test_truncated_xml_is_a_recorded_failure(tmp_path):
    with PortalServer() as server:
        url = server.file("/oai", "<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'><ListRecords><rec",
                          content_type="text/xml")
        result = harvest(config_for(oai_source(url)), "archive", DataLayout.at(tmp_path))
    assert [f.error_class for f in result.failures] == ["MalformedResponse"] and not result.complete


def test_oai_error_codes_raise_oai_error():
    body = b"<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'><error code='badVerb'>no</error></OAI-PMH>"
    with pytest.raises(OaiError) as caught:
        parse_response(body)
    assert caught.value.code == "badVerb"


def demo_portal_server():
    """The demo portal (demo/portal/serve.py) on a free port: its catalogue's links carry the server's own address."""
    import importlib.util
    import threading
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("demo_portal", Path(__file__).resolve().parents[1] / "demo/portal/serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = module.make_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def document_ids(tmp_path, name: str, kind: str, path: str) -> dict[str, str]:
    """Harvest one demo portal source from a fresh server on a free port; record_key -> document id."""
    from harvest_helpers import fetch

    server = demo_portal_server()
    try:
        base = server.portal.base
        source = {"name": name, "kind": kind, "url": base + path, "allow_private_addresses": True}
        config = config_for(source)
        layout = DataLayout.at(tmp_path / f"data-{base.rsplit(':', 1)[1]}")
        result = harvest(config, name, layout)
        records, failures, _ = fetch(config, name, layout, result.datasets)
    finally:
        server.shutdown()
        server.server_close()
    assert result.complete and not failures and records
    assert all(r.url.startswith(base) for r in records)
    return {r.record_key: r.id for r in records}


@pytest.mark.parametrize("name,kind,path", [("archive", "oai-pmh", "/oai"), ("portal", "ckan", "")])
def test_document_ids_do_not_depend_on_the_address_the_portal_is_served_at(tmp_path, name, kind, path):
    """A second `make demo` on another free port re-identified the OAI-PMH documents (their resource ids hashed
    URLs holding the port) while CKAN's kept theirs."""
    first = document_ids(tmp_path, name, kind, path)
    second = document_ids(tmp_path, name, kind, path)
    assert first == second and len(first) >= 3


def test_links_elsewhere_keep_the_ids_they_had():
    import hashlib

    from sources.oai_pmh import link_id

    doi = "https://doi.org/10.5281/zenodo.8333281"
    assert link_id("https://zenodo.org/oai2d", doi) == hashlib.sha256(doi.encode()).hexdigest()[:16]
    assert link_id("http://127.0.0.1:8001/oai", "http://127.0.0.1:8001/files/a.html?v=2") == link_id(
        "http://127.0.0.1:9002/oai", "http://127.0.0.1:9002/files/a.html?v=2")
    assert link_id("http://127.0.0.1:8001/oai", "http://127.0.0.1:8001/a") != link_id(
        "http://127.0.0.1:8001/oai", "http://127.0.0.1:8002/a")
