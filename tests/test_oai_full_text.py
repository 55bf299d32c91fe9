"""OAI-PMH records' links to full-text files: followed as resources when the record's licence allows it, landing
pages kept as before. HAL's real GetRecord (../shared/data/documents/hal/) is served wrapped as a ListRecords answer;
tests/fixtures/oai/full-text-links.xml is written by the project in the shape of HAL's oai_dc records."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harvest_helpers import config_for, fetch, harvest
from moisson.layout import DataLayout
from portal_server import PortalServer
from sources import resource_fetch
from sources.oai_pmh import is_full_text

FIXTURE = Path(__file__).parent / "fixtures" / "oai" / "full-text-links.xml"


def oai_source(url: str, **extra) -> dict:
    return {"name": "archive", "kind": "oai-pmh", "url": url, "allow_private_addresses": True, **extra}


def serve_fixture(server: PortalServer) -> str:
    body = FIXTURE.read_text(encoding="utf-8").replace("{{BASE}}", server.base)
    return server.file("/oai/hal/", body, content_type="text/xml; charset=utf-8")


def resources_by_record(layout: DataLayout, base: str) -> dict[str, list[tuple[str, str | None]]]:
    found: dict[str, list[tuple[str, str | None]]] = {}
    for row in pq.read_table(layout.stage_file("resources", "archive")).to_pylist():
        found.setdefault(row["dataset_id"], []).append((row["url"].removeprefix(base), row["format"]))
    return {key: sorted(value) for key, value in found.items()}


def test_full_text_links_are_resources_only_when_the_record_allows_them(tmp_path):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        result = harvest(config_for(oai_source(serve_fixture(server))), "archive", layout)
        base = server.base
    assert result.complete and not result.failures
    ids = [r["dataset_id"] for r in pq.read_table(layout.stage_file("datasets", "archive")).to_pylist()]
    assert len(ids) == len(set(ids)) == 4
    found = resources_by_record(layout, base)
    assert found["oai:HAL:hal-04200001v1"] == [("/hal-04200001/document", "pdf"),  # HAL's main-file link
                                               ("/hal-04200001/file/annexe-cartes.pdf", "pdf"),  # a dc:relation
                                               ("https://hal.science/hal-04200001", None)]  # the landing page
    assert found["oai:HAL:hal-04200002v1"] == [("https://hal.science/hal-04200002", None)]  # NC-ND: no file
    assert found["oai:HAL:hal-04200003v1"] == [("https://hal.science/hal-04200003", None)]  # no licence: no file
    assert found["oai:HAL:hal-04200004v2"] == [
        ("/hal-04200004/file/budget.docx", "docx"), ("/hal-04200004/file/chronique.epub", "epub"),
        ("/hal-04200004/file/deliberations.odt", "odt"), ("/hal-04200004/file/notes.txt?download=1", "txt"),
        ("/hal-04200004/file/transcription.xml", "xml"), ("https://hal.science/hal-04200004", None)]


def test_a_record_without_a_licence_follows_the_source_s_asserted_one(tmp_path):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        harvest(config_for(oai_source(serve_fixture(server), license="CC-BY-4.0")), "archive", layout)
        base = server.base
    found = resources_by_record(layout, base)
    assert ("/hal-04200003/file/registre.pdf", "pdf") in found["oai:HAL:hal-04200003v1"]
    assert found["oai:HAL:hal-04200002v1"] == [("https://hal.science/hal-04200002", None)]  # its own NC-ND wins


def test_files_of_allowed_records_are_fetched_once_and_not_again_when_unchanged(tmp_path):
    if "pdf" in getattr(resource_fetch, "NEVER_FETCHED", ()):
        pytest.skip("the fetch step does not fetch PDF files yet (sources/resource_fetch.py NEVER_FETCHED)")
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        url = serve_fixture(server)
        for path in ("/hal-04200001/document", "/hal-04200001/file/annexe-cartes.pdf", "/hal-04200002/document"):
            server.file(path, b"%PDF-1.4 placeholder for " + path.encode(), content_type="application/pdf")
        config = config_for(oai_source(url, fetch={"formats": ["pdf"]}))
        fetch(config, "archive", layout, harvest(config, "archive", layout).datasets)
        mark = len(server.log)
        _, _, again = fetch(config, "archive", layout, harvest(config, "archive", layout).datasets)
        first = [path for path, _, _ in server.log[:mark] if path.startswith("/hal-")]
        later = [path for path, _, _ in server.log[mark:] if path.startswith("/hal-")]
    assert sorted(first) == ["/hal-04200001/document", "/hal-04200001/file/annexe-cartes.pdf"]  # not the NC-ND one
    assert later == [] and again.skipped["unchanged_not_fetched"] == 2


def test_hal_s_recorded_record_wrapped_as_list_records_keeps_its_landing_page(tmp_path, shared_data):
    """HAL's real oai_dc record (2019) has no file link and no dc:rights: one dataset, its landing page as before,
    and no identifier that is not a URL (`hal-00830421`, `ARXIV 1303.0980`) taken for a link."""
    recorded = (shared_data / "documents/hal/dissemin/hal_oai_getrecord_oai_dc.xml").read_text(encoding="utf-8")
    listed = recorded.replace('verb="GetRecord"', 'verb="ListRecords"').replace("<GetRecord ", "<ListRecords ")
    listed = listed.replace("</GetRecord>", "</ListRecords>")
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        url = server.file("/oai/hal/", listed, content_type="text/xml; charset=utf-8")
        result = harvest(config_for(oai_source(url, license="CC-BY-4.0")), "archive", layout)
    assert result.complete and not result.failures and len(result.datasets) == 1
    record = result.datasets[0]
    assert record.dataset_id == "oai:HAL:hal-00830421v1" and record.title.startswith("Wavelet methods")
    assert [r.url for r in record.resources] == ["https://hal.archives-ouvertes.fr/hal-00830421"]
    assert record.landing_page == "https://hal.archives-ouvertes.fr/hal-00830421" and record.license is None


@pytest.mark.parametrize("url,expected", [
    ("https://hal.science/hal-01234567/document", True), ("https://hal.science/hal-01234567v2/document/", True),
    ("https://hal.science/hal-01234567/file/Article.PDF", True), ("https://hal.science/hal-01234567/file/data", True),
    ("https://example.org/report.pdf?download=1", True), ("https://example.org/a/b.epub", True),
    ("https://hal.science/hal-01234567", False), ("https://example.org/page.html", False),
    ("https://example.org/documents", False), ("ftp://example.org/a.pdf", False), ("hal-01234567", False),
])
def test_full_text_links_are_told_by_their_path(url, expected):
    assert is_full_text(url) is expected


def test_gallica_records_over_oai_pmh_are_read_as_the_gallica_connector_reads_them(tmp_path):
    """BnF's OAI-NUM records (fixture written from the BnF's documentation): public domain is the Public Domain Mark,
    the text mode is the one resource of a public-domain document, the ARK page (Gallica's viewer) is not fetched."""
    body = (FIXTURE.parent / "gallica-oai-num.xml").read_text(encoding="utf-8")
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        url = server.file("/oai2/OAIHandler", body.replace("{{BASE}}", server.base), content_type="text/xml")
        result = harvest(config_for(oai_source(url)), "archive", layout)
        base = server.base
    assert result.complete and not result.failures
    by_id = {d.dataset_id: d for d in result.datasets}
    book = by_id["oai:bnf.fr:gallica/ark:/12148/bpt6k4200001"]
    assert (book.license, book.license_raw) == ("CC-PDM-1.0", "domaine public / public domain")
    assert [(r.url, r.format) for r in book.resources] == [(f"{base}/ark:/12148/bpt6k4200001.texteBrut", "html")]
    assert book.landing_page == f"{base}/ark:/12148/bpt6k4200001"
    under_rights = by_id["oai:bnf.fr:gallica/ark:/12148/bpt6k4200002"]
    assert under_rights.license is None and under_rights.resources == ()
    periodical = by_id["oai:bnf.fr:gallica/ark:/12148/cb42000003t/date"]
    assert periodical.license == "CC-PDM-1.0" and periodical.resources == ()  # a calendar of issues has no text


def test_a_link_no_parser_reads_is_no_file_and_the_record_is_kept():
    assert is_full_text("http://[::1/broken.pdf") is False
