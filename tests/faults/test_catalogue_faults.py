"""Catalogue connectors (CKAN, udata, DCAT, OAI-PMH) against hostile portals: every harvest ends, says why, keeps what it got.

The rule under test: a portal that lies about its pages (a loop, a token that never ends), sends a
body that is cut, huge or of the wrong shape, or an XML bomb, costs one recorded failure and never a
hang, a crash, or the records already harvested.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from faults.fault_server import FaultServer, answer, billion_laughs, endless, external_entity
from harvest_helpers import config_for, harvest
from moisson.layout import DataLayout
from sources.harvest_state import HarvestStateFile

JSON = "application/json"
OAI_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            "<responseDate>2026-01-01T00:00:00Z</responseDate><request>x</request><ListRecords>")
OAI_RECORD = ("<record><header><identifier>oai:x:{n}</identifier><datestamp>2026-01-01T00:00:0{d}Z</datestamp></header>"
              "<metadata><oai_dc:dc xmlns:oai_dc='http://www.openarchives.org/OAI/2.0/oai_dc/' "
              "xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:title>T{n}</dc:title></oai_dc:dc></metadata></record>")


@pytest.fixture
def server():
    with FaultServer() as running:
        yield running


def portal(kind: str, url: str, **extra) -> dict:
    return {"name": "hostile", "kind": kind, "url": url, "allow_private_addresses": True, "page_size": 2, **extra}


def run(tmp_path, kind: str, url: str, **extra):
    """No fault here is about time: timeouts far above what a loaded machine takes to answer from 127.0.0.1."""
    config = config_for(portal(kind, url, **extra), http={"max_response_mb": 1, "timeout_seconds": 10})
    return harvest(config, "hostile", DataLayout.at(tmp_path), read_timeout=10, max_seconds_per_response=60,
                   max_bytes=1 << 20)


def package(n: int) -> dict:
    return {"id": f"pkg-{n}", "name": f"p{n}", "license_id": "cc-by-4.0", "metadata_modified": f"2026-01-0{n}T00:00:00",
            "resources": []}


def ckan_page(rows: list[dict], count: int) -> bytes:
    return json.dumps({"success": True, "result": {"count": count, "results": rows}}).encode()


# -- JSON: cut, huge, wrong shape --------------------------------------------------------------


@pytest.mark.parametrize("body,error_class", [
    (b'{"success": true, "result": {"count": 3, "resu', "MalformedResponse"),
    (b"\xff\xfe not json at all", "MalformedResponse"),
    (b'{"success": true, "result": ["a", "list"]}', "MalformedResponse"),
    (b'[1, 2, 3]', "MalformedResponse"),
    (b'{"success": true, "result": {"count": "many", "results": "nope"}}', "MalformedResponse"),
], ids=["cut", "not-utf8", "result-is-a-list", "top-is-a-list", "results-is-a-string"])
def test_ckan_json_cut_or_of_the_wrong_shape_is_one_failure_and_no_crash(tmp_path, server, body, error_class):
    server.route("/api/3/action/package_search", answer(body, content_type=JSON))
    result = run(tmp_path, "ckan", server.base)
    assert [f.error_class for f in result.failures] == [error_class] and not result.complete


def test_ckan_rows_of_the_wrong_shape_are_bad_records_and_the_good_ones_are_kept(tmp_path, server):
    rows = [package(1), "a string", {"no": "id"}, None, package(2)]
    server.route("/api/3/action/package_search", answer(ckan_page(rows, 5), content_type=JSON))
    result = run(tmp_path, "ckan", server.base)
    assert sorted(d.dataset_id for d in result.datasets) == ["pkg-1", "pkg-2"]
    assert [f.error_class for f in result.failures] == ["BadRecord"] * 3 and result.complete


def test_ckan_huge_json_is_refused_at_the_size_cap(tmp_path, server):
    huge = ckan_page([package(1) | {"notes": "x" * (3 << 20)}], 1)
    server.route("/api/3/action/package_search", answer(huge, content_type=JSON))
    result = run(tmp_path, "ckan", server.base)
    assert [f.error_class for f in result.failures] == ["TooLarge"]


def test_ckan_endless_answer_is_refused_at_the_size_cap(tmp_path, server):
    server.route("/api/3/action/package_search", endless(JSON))
    result = run(tmp_path, "ckan", server.base)
    assert [f.error_class for f in result.failures] == ["TooLarge"]


def test_ckan_pagination_that_loops_back_ends_with_a_failure_and_keeps_the_records(tmp_path, server):
    """The portal ignores `start` and claims a million results: without a guard this pages forever."""
    server.route("/api/3/action/package_search", answer(ckan_page([package(1), package(2)], 1_000_000), content_type=JSON))
    result = run(tmp_path, "ckan", server.base)
    assert [d.dataset_id for d in result.datasets] == ["pkg-1", "pkg-2"]
    assert [f.error_class for f in result.failures] == ["PagingLoop"]
    assert server.hits("/api/3/action/package_search") == 4  # the first page, then three that bring nothing new
    state = HarvestStateFile(DataLayout.at(tmp_path).harvest_state_file("hostile"), tmp_path).load()
    assert state.watermark is None and state.checkpoint is None  # never advanced past records not harvested


# -- udata and DCAT paging ---------------------------------------------------------------------


def test_udata_next_page_looping_back_ends_with_a_failure(tmp_path, server):
    def page(handler, query):
        number = int(query.get("page", 1))
        body = {"data": [{"id": f"ds-{number}", "license": "lov2", "last_update": f"2026-01-0{number}"}],
                "next_page": f"{server.base}/api/1/datasets/?page={number % 2 + 1}&page_size=2&sort=-last_update"}
        answer(json.dumps(body).encode(), content_type=JSON)(handler, query)

    server.route("/api/1/datasets/", page)
    result = run(tmp_path, "udata", server.base)
    assert sorted(d.dataset_id for d in result.datasets) == ["ds-1", "ds-2"]
    assert [f.error_class for f in result.failures] == ["PagingLoop"] and server.hits("/api/1/datasets/") <= 3


def test_udata_wrong_shape_is_one_failure(tmp_path, server):
    server.route("/api/1/datasets/", answer(b'{"data": {"not": "a list"}}', content_type=JSON))
    assert [f.error_class for f in run(tmp_path, "udata", server.base).failures] == ["MalformedResponse"]


def test_dcat_hydra_next_looping_back_ends_with_a_failure(tmp_path, server):
    turtle = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<{base}/catalog.ttl> hydra:next <{base}/catalog.ttl> .
<{base}/ds/1> a dcat:Dataset ; dct:identifier "ds-1" ; dct:title "One" .
"""
    url = server.route("/catalog.ttl", answer(turtle.format(base=server.base), content_type="text/turtle"))
    result = run(tmp_path, "dcat", url)
    assert [d.dataset_id for d in result.datasets] == ["ds-1"]
    assert [f.error_class for f in result.failures] == ["PagingLoop"] and server.hits("/catalog.ttl") == 1


@pytest.mark.parametrize("body", [billion_laughs(), external_entity()], ids=["billion-laughs", "external-entity"])
def test_dcat_rdf_xml_with_entities_is_refused(tmp_path, server, body):
    url = server.route("/catalog.rdf", answer(body, content_type="application/rdf+xml"))
    result = run(tmp_path, "dcat", url)
    assert [f.error_class for f in result.failures] == ["MalformedResponse"] and "DTD" in result.failures[0].message


# -- OAI-PMH ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [billion_laughs(), external_entity(), external_entity("http://127.0.0.1:1/secret")],
                         ids=["billion-laughs", "xxe-file", "xxe-http"])
def test_oai_xml_with_entities_is_refused_without_expanding_or_fetching(tmp_path, server, body):
    url = server.route("/oai", answer(body, content_type="text/xml"))
    result = run(tmp_path, "oai-pmh", url)
    assert [f.error_class for f in result.failures] == ["MalformedResponse"] and server.hits("/secret") == 0


def never_ending_tokens(server: FaultServer, new_records: bool):
    """ListRecords that always hands out a fresh resumptionToken (with the same records, or with none)."""

    def page(handler, query):
        token = int(query.get("resumptionToken", 0))
        records = OAI_RECORD.format(n=1, d=1) + OAI_RECORD.format(n=2, d=2) if new_records or token == 0 else ""
        body = OAI_HEAD + records + f"<resumptionToken>{token + 1}</resumptionToken></ListRecords></OAI-PMH>"
        answer(body, content_type="text/xml")(handler, query)

    return server.route("/oai", page)


@pytest.mark.parametrize("new_records", [True, False], ids=["same-records-again", "empty-pages"])
def test_oai_resumption_token_that_never_ends_is_cut_and_nothing_is_lost(tmp_path, server, new_records):
    url = never_ending_tokens(server, new_records)
    result = run(tmp_path, "oai-pmh", url)
    assert sorted(d.dataset_id for d in result.datasets) == ["oai:x:1", "oai:x:2"]
    assert [f.error_class for f in result.failures] == ["PagingLoop"]
    assert server.hits("/oai") == 6  # the first page, then five that bring nothing new
    state = HarvestStateFile(DataLayout.at(tmp_path).harvest_state_file("hostile"), tmp_path).load()
    assert state.watermark is None  # the next run asks again from the start: nothing skipped


def test_oai_token_repeated_is_a_loop(tmp_path, server):
    body = OAI_HEAD + OAI_RECORD.format(n=1, d=1) + "<resumptionToken>same</resumptionToken></ListRecords></OAI-PMH>"
    url = server.route("/oai", answer(body, content_type="text/xml"))
    result = run(tmp_path, "oai-pmh", url)
    assert [d.dataset_id for d in result.datasets] == ["oai:x:1"] and server.hits("/oai") == 2
    assert [f.error_class for f in result.failures] == ["PagingLoop"]


def test_oai_wrong_shape_and_mislabelled_charset(tmp_path, server):
    latin = (OAI_HEAD.replace("UTF-8", "ISO-8859-1") + OAI_RECORD.format(n=1, d=1).replace("T1", "Édition")
             + "</ListRecords></OAI-PMH>").encode("latin-1")
    url = server.route("/oai", answer(latin, content_type="text/xml; charset=utf-8"))  # header lies, prolog is right
    result = run(tmp_path, "oai-pmh", url)
    assert [d.title for d in result.datasets] == ["Édition"] and not result.failures
    server.route("/oai2", answer(b"<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'><Identify/></OAI-PMH>",
                                 content_type="text/xml"))
    result = run(tmp_path / "2", "oai-pmh", server.base + "/oai2")
    assert [f.error_class for f in result.failures] == ["MalformedResponse"]
