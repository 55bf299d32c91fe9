"""Gallica SRU harvests on 127.0.0.1: the real searchRetrieve answers of ../shared/data/documents/gallica/ served as
recorded (paging, oai_dc, ARKs, rights), small SRU answers written here for the edge cases, and the text mode of
public-domain documents from tests/fixtures/gallica/texteBrut.html (written from Gallica's API documentation: no
recording of it exists)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harvest_helpers import config_for, fetch, harvest
from moisson.layout import DataLayout
from portal_server import PortalServer

FIXTURES = Path(__file__).parent / "fixtures" / "gallica"
RECORDED = "documents/gallica/gallica-grapher"
GALLICA = "https://gallica.bnf.fr"
SRU_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><srw:searchRetrieveResponse xmlns:srw="http://www.loc.gov/zing/srw/" '
            'xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:diag="http://www.loc.gov/zing/srw/diagnostic/"><srw:version>1.2</srw:version>')


def sru_answer(total: int, records: list[str], next_position: int | None = None) -> bytes:
    """An SRU 1.2 answer written for these tests, in the shape of Gallica's recorded ones."""
    body = "".join(f"<srw:record><srw:recordSchema>http://www.openarchives.org/OAI/2.0/OAIdc.xsd</srw:recordSchema>"
                   f"<srw:recordData><oai_dc:dc>{r}</oai_dc:dc></srw:recordData></srw:record>" for r in records)
    following = f"<srw:nextRecordPosition>{next_position}</srw:nextRecordPosition>" if next_position else ""
    return (f"{SRU_HEAD}<srw:numberOfRecords>{total}</srw:numberOfRecords><srw:records>{body}</srw:records>"
            f"{following}</srw:searchRetrieveResponse>").encode()


def dc_record(ark: str, *rights: str, title: str = "Un document") -> str:
    return (f"<dc:identifier>{GALLICA}/ark:/12148/{ark}</dc:identifier><dc:title>{title}</dc:title>"
            f"<dc:language>fre</dc:language>" + "".join(f"<dc:rights>{r}</dc:rights>" for r in rights))


def gallica_source(url: str, **extra) -> dict:
    return {"name": "gallica", "kind": "gallica", "url": url, "query": 'dc.type all "fascicule"',
            "allow_private_addresses": True, **extra}


def serve_pages(server: PortalServer, pages: dict[int, bytes]) -> str:
    """The SRU endpoint answering each startRecord with its page (and an empty page past the last)."""
    def answer(query: dict, request: dict):
        body = pages.get(int(query["startRecord"]), sru_answer(0, []))
        return 200, {"Content-Type": "text/xml;charset=UTF-8"}, body

    return server.handler("/SRU", answer)


def recorded(shared_data: Path, name: str, base: str | None = None) -> bytes:
    body = (shared_data / RECORDED / name).read_bytes()
    return body.replace(GALLICA.encode(), base.encode()) if base else body


def datasets(layout: DataLayout) -> list[dict]:
    return pq.read_table(layout.stage_file("datasets", "gallica")).to_pylist()


def test_recorded_answers_are_paged_by_next_record_position_and_land_once(tmp_path, shared_data):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        url = serve_pages(server, {1: recorded(shared_data, "occurrences.xml"), 6: recorded(shared_data, "papers.xml")})
        result = harvest(config_for(gallica_source(url, page_size=10)), "gallica", layout)
        asked = server.requests_to("/SRU")
    assert result.complete and not result.failures
    assert [q["startRecord"] for q in asked] == ["1", "6", "16"]  # the server's nextRecordPosition, then past the end
    assert all(q["operation"] == "searchRetrieve" and q["version"] == "1.2" and q["maximumRecords"] == "10"
               and q["query"] == 'dc.type all "fascicule"' and q["collapsing"] == "false" for q in asked)
    rows = datasets(layout)
    ids = [r["dataset_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 20  # 6 + 15 records, one of them twice in the recorded answer
    public = [r for r in rows if r["license"] == "CC-PDM-1.0"]
    assert len(public) == 5 and all(r["license_raw"] == "domaine public / public domain" for r in public)
    assert all(r["dataset_id"].startswith("ark:/12148/bpt6k") for r in public)
    periodicals = [r for r in rows if r["dataset_id"].endswith("/date")]
    assert len(periodicals) == 15 and all(r["license"] is None and r["license_verdict"] == "reject" for r in periodicals)
    resources = pq.read_table(layout.stage_file("resources", "gallica")).to_pylist()
    assert sorted(r["url"] for r in resources) == sorted(f"{GALLICA}/{r['dataset_id']}.texteBrut" for r in public)
    assert all(r["format"] == "html" for r in resources)


def test_max_records_stops_the_harvest(tmp_path, shared_data):
    with PortalServer() as server:
        url = serve_pages(server, {1: recorded(shared_data, "occurrences.xml"), 6: recorded(shared_data, "papers.xml")})
        result = harvest(config_for(gallica_source(url, max_records=4)), "gallica", DataLayout.at(tmp_path))
        asked = server.requests_to("/SRU")
    assert result.complete and [(q["startRecord"], q["maximumRecords"]) for q in asked] == [("1", "4")]


def test_text_mode_is_fetched_once_and_a_rerun_downloads_nothing_unchanged(tmp_path, shared_data):
    """SRU has no date filter: a re-run pages the whole query again, the catalogue merge keeps one row per ARK, and
    the fetch step's conditional GET gets a 304 for every text already stored: no text is downloaded twice."""
    layout = DataLayout.at(tmp_path)
    text = (FIXTURES / "texteBrut.html").read_bytes()

    def text_mode(query: dict, request: dict):
        if request.get("if-none-match") == '"ocr-1"':
            return 304, {"ETag": '"ocr-1"'}, b""
        return 200, {"Content-Type": "text/html;charset=UTF-8", "ETag": '"ocr-1"'}, text

    with PortalServer() as server:
        url = serve_pages(server, {1: recorded(shared_data, "occurrences.xml", server.base)})
        arks = ["bpt6k34565h", "bpt6k50278259", "bpt6k9734119", "bpt6k1046831", "bpt6k969388g"]
        for ark in arks:
            server.handler(f"/ark:/12148/{ark}.texteBrut", text_mode)
        config = config_for(gallica_source(url))
        records, failures, _ = fetch(config, "gallica", layout, harvest(config, "gallica", layout).datasets)
        mark = len(server.log)
        again, again_failures, stats = fetch(config, "gallica", layout, harvest(config, "gallica", layout).datasets)
        texts = [(path, headers) for path, _, headers in server.log if path.endswith(".texteBrut")]
        later = [(path, headers) for path, _, headers in server.log[mark:] if path.endswith(".texteBrut")]
    assert not failures and not again_failures
    assert len(records) == 5 and all(r.license == "CC-PDM-1.0" and r.content_type == "html" for r in records)
    assert all("#dataset=ark:%2F12148%2Fbpt6k" in r.locator for r in records)  # lineage back to the record
    assert len(texts) == 10 and len(later) == 5  # once per document and run: the duplicate record is merged
    assert all(headers.get("if-none-match") == '"ocr-1"' for _, headers in later)  # answered 304: no body
    assert stats.skipped["not_modified"] == 5


def test_rights_other_than_public_domain_give_no_licence_and_no_text(tmp_path):
    page = sru_answer(4, [dc_record("bpt6k1", "domaine public", "public domain"),
                          dc_record("bpt6k2", "Utilisation soumise à l'autorisation du titulaire des droits"),
                          dc_record("bpt6k3", "domaine public", "restricted use"),
                          dc_record("bpt6k4")])
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        result = harvest(config_for(gallica_source(serve_pages(server, {1: page}))), "gallica", layout)
    by_id = {d.dataset_id: d for d in result.datasets}
    assert by_id["ark:/12148/bpt6k1"].license == "CC-PDM-1.0" and len(by_id["ark:/12148/bpt6k1"].resources) == 1
    for ark in ("bpt6k2", "bpt6k3", "bpt6k4"):
        record = by_id[f"ark:/12148/{ark}"]
        assert record.license is None and record.license_verdict == "reject" and record.resources == ()
    assert by_id["ark:/12148/bpt6k3"].license_raw == "domaine public"  # the evidence is kept, the licence is not


def test_a_diagnostic_names_the_source_the_request_and_the_cause(tmp_path):
    diagnostic = (f"{SRU_HEAD}<srw:numberOfRecords>0</srw:numberOfRecords><srw:diagnostics><diag:diagnostic>"
                  "<diag:uri>info:srw/diagnostic/1/10</diag:uri><diag:message>Query syntax error</diag:message>"
                  "</diag:diagnostic></srw:diagnostics></srw:searchRetrieveResponse>").encode()
    with PortalServer() as server:
        url = server.file("/SRU", diagnostic, content_type="text/xml")
        result = harvest(config_for(gallica_source(url, query="dc.title all (")), "gallica", DataLayout.at(tmp_path))
    assert not result.complete and len(result.failures) == 1
    failure = result.failures[0]
    assert (failure.source, failure.stage, failure.error_class) == ("gallica", "catalogue", "SRU:diagnostic")
    assert "startRecord=1" in failure.record and "Query syntax error" in failure.message


def test_a_record_without_an_ark_is_named_and_the_others_kept(tmp_path):
    page = sru_answer(2, ["<dc:identifier>urn:isbn:0000</dc:identifier><dc:title>no ark</dc:title>",
                          dc_record("bpt6k5", "domaine public")])
    with PortalServer() as server:
        result = harvest(config_for(gallica_source(serve_pages(server, {1: page}))), "gallica", DataLayout.at(tmp_path))
    assert [d.dataset_id for d in result.datasets] == ["ark:/12148/bpt6k5"]
    assert [(f.error_class, f.record.rsplit("#", 1)[1]) for f in result.failures] == [("BadRecord", "record1")]
    assert "ARK" in result.failures[0].message


def test_a_next_position_that_does_not_move_is_a_loop(tmp_path):
    page = sru_answer(99, [dc_record("bpt6k6")], next_position=1)
    with PortalServer() as server:
        result = harvest(config_for(gallica_source(serve_pages(server, {1: page}))), "gallica", DataLayout.at(tmp_path))
    assert [f.error_class for f in result.failures] == ["PagingLoop"] and not result.complete


@pytest.mark.parametrize("body", [b"<html><body>maintenance</body></html>",
                                  b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'])
def test_what_is_not_sru_is_refused_without_expanding_anything(tmp_path, body):
    with PortalServer() as server:
        url = server.file("/SRU", body, content_type="text/xml")
        result = harvest(config_for(gallica_source(url)), "gallica", DataLayout.at(tmp_path))
    assert [f.error_class for f in result.failures] == ["MalformedResponse"] and not result.complete


def test_config_needs_a_query_and_caps_the_page_at_fifty():
    from moisson.config import GallicaSource

    assert GallicaSource(name="g", kind="gallica", query="dc.type all \"monographie\"").url == "https://gallica.bnf.fr/SRU"
    with pytest.raises(ValueError, match="query"):
        GallicaSource(name="g", kind="gallica")
    with pytest.raises(ValueError, match="page_size"):
        GallicaSource(name="g", kind="gallica", query="x", page_size=51)


def test_moisson_run_puts_the_text_of_public_domain_documents_in_the_corpus_with_licence_and_lineage(tmp_path):
    """`moisson run` on a Gallica source served on 127.0.0.1: two public-domain documents and one whose rights are
    not public domain; the corpus holds the two texts, each once, under CC-PDM-1.0, each traced back to its ARK."""
    import yaml

    from e2e import corpus_rows, run_moisson

    template = (FIXTURES / "texteBrut.html").read_text(encoding="utf-8")
    with PortalServer() as server:
        records = [dc_record("bpt6k101", "domaine public", "public domain", title="Le port de Valbrune"),
                   dc_record("bpt6k102", "domaine public", "public domain", title="Les moulins de la Brune"),
                   dc_record("bpt6k103", "Utilisation soumise à autorisation", title="Un livre sous droits")]
        page = sru_answer(3, records).replace(GALLICA.encode(), server.base.encode())
        url = serve_pages(server, {1: page})
        for ark, subject in (("bpt6k101", "le port et ses quais"), ("bpt6k102", "les moulins et le canal")):
            text = template.replace("bpt6k34565h", ark).replace("RAPPORT SUR LE PORT DE VALBRUNE", f"RAPPORT SUR {subject}")
            server.file(f"/ark:/12148/{ark}.texteBrut", text.replace("Le port de Valbrune, situé", f"À Valbrune, {subject}, situé"))
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump({
            "sources": [gallica_source(url)],
            "http": {"requests_per_second": 100, "contact": "https://example.org/moisson-tests"},
            "policy": {"languages": "all", "licenses": {"allow": ["CC-PDM-1.0"]},
                       "quality": {"enabled": False}, "dedup": {"enabled": False}},
        }, allow_unicode=True), encoding="utf-8")
        result = run_moisson(sources, tmp_path / "data")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        texts = [path for path, _, _ in server.log if path.endswith(".texteBrut")]
    assert sorted(texts) == ["/ark:/12148/bpt6k101.texteBrut", "/ark:/12148/bpt6k102.texteBrut"]
    rows = corpus_rows(tmp_path / "data", "license, locator, text")
    assert [r[0] for r in rows] == ["CC-PDM-1.0", "CC-PDM-1.0"]
    assert sorted(r[1].split("#", 1)[1].split("&", 1)[0] for r in rows) == [
        "dataset=ark:%2F12148%2Fbpt6k101", "dataset=ark:%2F12148%2Fbpt6k102"]
    assert all("chenal" in r[2] for r in rows)


def test_a_server_that_ignores_start_record_is_stopped_after_a_few_pages_of_repeats(tmp_path):
    def answer(query: dict, request: dict):
        start = int(query["startRecord"])
        body = sru_answer(10**6, [dc_record("bpt6k7")], next_position=start + 1)  # moves on, same record
        return 200, {"Content-Type": "text/xml"}, body

    with PortalServer() as server:
        url = server.handler("/SRU", answer)
        result = harvest(config_for(gallica_source(url)), "gallica", DataLayout.at(tmp_path))
    assert [f.error_class for f in result.failures] == ["PagingLoop"] and not result.complete
    assert len(server.requests_to("/SRU")) == 4
