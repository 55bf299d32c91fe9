"""HAL search API harvests on 127.0.0.1: the project's own cursor-paged fixture (tests/fixtures/hal, written in the
shape of HAL's answers: paging, incremental, files, licences) and the real answers in ../shared/data/documents/hal/,
served as they were recorded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harvest_helpers import config_for, fetch, harvest
from moisson.layout import DataLayout
from portal_server import PortalServer
from sources import resource_fetch
from sources.hal import read_answer, search_url

FIXTURES = Path(__file__).parent / "fixtures" / "hal"
RECORDED = ("docs_for_researcher_version_1.json", "docs_for_researcher_version_2.json",
            "docs_with_contributor_identifiers.json", "docs_with_inconsistent_structured_names.json",
            "docs_with_keyword_collision_controlled_concept.json", "docs_with_same_kw_twice.json")
SINCE = re.compile(r"modifiedDate_tdate:\[(?P<since>[^ ]+) TO \*\]")


def hal_source(url: str, **extra) -> dict:
    return {"name": "hal", "kind": "hal", "url": url, "allow_private_addresses": True, **extra}


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica, written by hand (objects, xref offsets, trailer)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    body, offsets = b"%PDF-1.4\n", []
    for number, content in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return body + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


class FakeHal:
    """HAL's search API over a list of documents, as its Solr answers: sort=docid asc, rows, cursorMark (an
    answer past the end repeats the cursor it was sent), fq on modifiedDate_tdate. Files under /<halId>/..."""

    def __init__(self, server: PortalServer, fixture: str):
        self.server, self.docs = server, []
        self.load(fixture)
        self.url = server.handler("/search/", self.answer)

    def load(self, fixture: str) -> None:
        text = (FIXTURES / fixture).read_text(encoding="utf-8").replace("{{BASE}}", self.server.base)
        self.docs = sorted(json.loads(text), key=lambda d: d["docid"])
        for doc in self.docs:
            for url in [doc.get("fileMain_s"), *doc.get("files_s", [])]:
                if url:
                    path = url.removeprefix(self.server.base)
                    self.server.handler(path, lambda query, request, path=path: self.file(path))

    def answer(self, query: dict, request: dict):
        since = SINCE.search(query.get("fq", ""))
        selected = [d for d in self.docs if not since or d["modifiedDate_tdate"] >= since["since"]]
        cursor, rows = query["cursorMark"], int(query["rows"])
        after = -1 if cursor == "*" else int(cursor.removeprefix("AoE"))
        page = [d for d in selected if d["docid"] > after][:rows]
        body = {"responseHeader": {"status": 0, "QTime": 1, "params": query},
                "response": {"numFound": len(selected), "start": 0, "numFoundExact": True, "docs": page},
                "nextCursorMark": f"AoE{page[-1]['docid']}" if page else cursor}
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode()

    @staticmethod
    def file(path: str):
        return 200, {"Content-Type": "application/pdf", "ETag": '"v1"'}, minimal_pdf(f"Valbrune, {path}")

    def searches(self) -> list[dict]:
        return self.server.requests_to("/search/")


def _file_requests(log: list) -> list[str]:
    return [path for path, _, _ in log if path not in ("/search/", "/robots.txt")]


def catalogue(layout: DataLayout, table: str) -> list[dict]:
    return pq.read_table(layout.stage_file(table, "hal")).to_pylist()


def test_cursor_paging_lands_every_record_once_with_its_files_and_licence(tmp_path):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        hal = FakeHal(server, "records.json")
        result = harvest(config_for(hal_source(hal.url, page_size=2)), "hal", layout)
    assert result.complete and not result.failures and result.pages == 4
    cursors = [q["cursorMark"] for q in hal.searches()]
    assert cursors == ["*", "AoE4100002", "AoE4100004", "AoE4100005"]
    assert all(q["sort"] == "docid asc" and q["wt"] == "json" and "fq" not in q for q in hal.searches())
    rows = catalogue(layout, "datasets")
    assert sorted(r["dataset_id"] for r in rows) == ["hal-04100001", "hal-04100002", "hal-04100003", "hal-04100005",
                                                    "tel-04100004"]
    by_id = {r["dataset_id"]: r for r in rows}
    assert (by_id["hal-04100001"]["license"], by_id["hal-04100001"]["license_verdict"]) == ("CC-BY-4.0", "allow")
    assert by_id["hal-04100001"]["license_raw"] == "http://creativecommons.org/licenses/by/4.0/"
    assert by_id["hal-04100002"]["license"] == "LicenseRef-CC-BY-unversioned"  # HAL's CC URL without a version
    assert by_id["tel-04100004"]["license"] == "CC-PDM-1.0"
    assert by_id["hal-04100005"]["license_verdict"] == "reject"
    assert by_id["hal-04100003"]["title"] == "Registre des moulins de Valbrune"  # only a fr_title_s
    files = {}
    for row in catalogue(layout, "resources"):
        files.setdefault(row["dataset_id"], []).append((row["url"].removeprefix(server.base), row["format"], row["title"]))
    assert files["hal-04100001"] == [("/hal-04100001/file/crues-de-la-brune.pdf", "pdf", "main")]  # /document: same file
    assert sorted(files["hal-04100002"]) == [("/hal-04100002/file/orchards-data.pdf", "pdf", None),
                                             ("/hal-04100002/file/orchards.pdf", "pdf", None)]
    assert files["tel-04100004"] == [("/tel-04100004/document", "pdf", "main")]
    assert "hal-04100003" not in files  # a notice: in the catalogue, without a file
    assert result.state.watermark == "2026-01-14T00:00:00Z"


def test_a_rerun_asks_from_the_watermark_and_merges_changed_and_new_records(tmp_path):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        hal = FakeHal(server, "records.json")
        config = config_for(hal_source(hal.url, page_size=2))
        harvest(config, "hal", layout)
        first = len(hal.searches())
        hal.load("records-later.json")
        result = harvest(config, "hal", layout)
        again = hal.searches()[first:]
    assert result.complete and not result.failures
    assert again and all(q.get("fq") == "modifiedDate_tdate:[2026-01-14T00:00:00Z TO *]" for q in again)
    assert result.harvested == 3  # the record at the watermark (inclusive), the modified one, the new one
    rows = catalogue(layout, "datasets")
    ids = [r["dataset_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 6
    changed = next(r for r in rows if r["dataset_id"] == "hal-04100002")
    assert changed["title"].endswith("(revised)") and changed["modified"] == "2026-02-01T11:00:00Z"
    assert result.state.watermark == "2026-02-02T09:00:00Z"


def test_files_are_fetched_once_and_a_rerun_fetches_nothing_unchanged(tmp_path):
    if "pdf" in getattr(resource_fetch, "NEVER_FETCHED", ()):
        pytest.skip("the fetch step does not fetch PDF files yet (sources/resource_fetch.py NEVER_FETCHED)")
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        hal = FakeHal(server, "records.json")
        config = config_for(hal_source(hal.url, page_size=2))
        records, failures, stats = fetch(config, "hal", layout, harvest(config, "hal", layout).datasets)
        mark = len(server.log)
        _, again_failures, again = fetch(config, "hal", layout, harvest(config, "hal", layout).datasets)
    files, refetched = _file_requests(server.log[:mark]), _file_requests(server.log[mark:])
    assert not failures and not again_failures and len(records) == 4
    assert all(r.license in ("CC-BY-4.0", "LicenseRef-CC-BY-unversioned", "CC-PDM-1.0") for r in records)
    # allowed or review records' files once each (the NC-ND record is rejected before any request)
    assert sorted(files) == sorted(set(files)) and "/hal-04100005/file/entretiens.pdf" not in files
    assert "/hal-04100001/file/crues-de-la-brune.pdf" in files and "/hal-04100001/document" not in files
    assert refetched == [] and again.skipped["unchanged_not_fetched"] == stats.skipped["stored_new"] == 4


@pytest.mark.parametrize("recording", RECORDED)
def test_recorded_answers_land_every_record_once(tmp_path, shared_data, recording):
    """The real answers, served byte for byte: none has a nextCursorMark (they were asked without a cursor), so
    the harvest keeps what it got and says when the answer announced more than it gave."""
    layout = DataLayout.at(tmp_path)
    body = (shared_data / "documents/hal/svp-harvester" / recording).read_bytes()
    docs, _, found = read_answer(body)
    with PortalServer() as server:
        url = server.file("/search/", body, content_type="application/json")
        result = harvest(config_for(hal_source(url)), "hal", layout)
    rows = catalogue(layout, "datasets")
    assert sorted(r["dataset_id"] for r in rows) == sorted({d["halId_s"] for d in docs})
    assert all(r["title"] and r["landing_page"].startswith("https://hal.science/") for r in rows)
    incomplete = [f for f in result.failures if f.error_class == "IncompleteListing"]
    assert len(incomplete) == (1 if found > len(docs) else 0) and len(result.failures) == len(incomplete)
    assert all(f.source == "hal" and "/search/" in f.record and str(found) in f.message for f in incomplete)


def test_recorded_change_between_two_harvests_is_merged_and_nothing_erased(tmp_path, shared_data):
    layout = DataLayout.at(tmp_path)
    recorded = shared_data / "documents/hal/svp-harvester"
    with PortalServer() as server:
        url = server.file("/search/", (recorded / RECORDED[0]).read_bytes(), content_type="application/json")
        config = config_for(hal_source(url))
        harvest(config, "hal", layout)
        server.file("/search/", (recorded / RECORDED[1]).read_bytes(), content_type="application/json")
        harvest(config, "hal", layout)
    ids = [r["dataset_id"] for r in catalogue(layout, "datasets")]
    # the search API lists no deletions: a record gone from the answer stays in the catalogue
    assert sorted(ids) == ["1-will-not-change", "2-will-change", "3-will-disappear", "4-will-appear"]


def test_an_error_answer_names_the_source_the_request_and_the_cause(tmp_path):
    error = {"responseHeader": {"status": 400}, "error": {"msg": "undefined field fooo_s", "code": 400}}
    with PortalServer() as server:
        url = server.file("/search/", json.dumps(error), content_type="application/json", status=400)
        result = harvest(config_for(hal_source(url, fq=["fooo_s:1"])), "hal", DataLayout.at(tmp_path))
    assert not result.complete and len(result.failures) == 1
    failure = result.failures[0]
    assert (failure.source, failure.stage, failure.error_class) == ("hal", "catalogue", "MalformedResponse")
    assert "fooo_s" in failure.record and "undefined field fooo_s" in failure.message


def test_a_bad_record_is_named_and_the_others_kept(tmp_path):
    answer = {"response": {"numFound": 2, "docs": [{"docid": 7, "title_s": ["no halId_s"]},
                                                   {"docid": 8, "halId_s": "hal-8", "title_s": [{"x": 1}]},
                                                   {"docid": 9, "halId_s": "hal-9", "title_s": ["ok"]}]},
              "nextCursorMark": "*"}
    with PortalServer() as server:
        url = server.file("/search/", json.dumps(answer), content_type="application/json")
        result = harvest(config_for(hal_source(url)), "hal", DataLayout.at(tmp_path))
    assert [d.dataset_id for d in result.datasets] == ["hal-9"]
    assert [(f.error_class, f.record.rsplit("#", 1)[1]) for f in result.failures] == [
        ("BadRecord", "docid=7"), ("BadRecord", "halId_s=hal-8")]
    assert "halId_s" in result.failures[0].message and "title_s" in result.failures[1].message


def test_a_cursor_that_comes_back_is_a_loop_stopped_and_reported(tmp_path):
    def answer(query, request):
        following = {"*": "A", "A": "B", "B": "A"}[query["cursorMark"]]
        doc = {"docid": len(following), "halId_s": f"hal-{following}", "title_s": ["t"]}
        body = {"response": {"numFound": 9, "docs": [doc]}, "nextCursorMark": following}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    with PortalServer() as server:
        url = server.handler("/search/", answer)
        result = harvest(config_for(hal_source(url)), "hal", DataLayout.at(tmp_path))
    assert [f.error_class for f in result.failures] == ["PagingLoop"] and not result.complete
    assert len(server.requests_to("/search/")) == 3


def test_search_url_carries_portal_collection_filters_and_watermark():
    from moisson.config import HalSource

    source = HalSource(name="hal", kind="hal", portal="tel", collection="SHS", fq=["docType_s:THESE"], page_size=50)
    url = search_url(source, "*", "2026-01-01T00:00:00Z")
    assert url.startswith("https://api.archives-ouvertes.fr/search/tel/?")
    from urllib.parse import parse_qs, urlsplit
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["fq"] == '(docType_s:THESE) AND (collCode_s:"SHS") AND (modifiedDate_tdate:[2026-01-01T00:00:00Z TO *])'
    assert query["rows"] == "50" and query["cursorMark"] == "*" and "fileMain_s" in query["fl"].split(",")


def test_config_defaults_and_refusals():
    from moisson.config import ConfigError, HalSource, MoissonConfig

    source = HalSource(name="hal", kind="hal")
    assert (source.url, source.q, source.fq, source.page_size) == ("https://api.archives-ouvertes.fr/search/", "*:*", [], 100)
    assert HalSource(name="hal", kind="hal", fq="docType_s:ART").fq == ["docType_s:ART"]
    with pytest.raises(ValueError, match="portal"):
        HalSource(name="hal", kind="hal", portal="tel/../x")
    with pytest.raises((ValueError, ConfigError), match="page_size"):
        MoissonConfig.model_validate({"sources": [{"name": "hal", "kind": "hal", "page_size": 0}],
                                      "policy": {"languages": "all", "licenses": {"allow": ["CC0-1.0"]}}})


def test_a_modification_date_that_is_not_a_solr_date_never_reaches_the_watermark(tmp_path):
    answer = {"response": {"numFound": 2, "docs": [
        {"docid": 1, "halId_s": "hal-1", "title_s": ["a"], "modifiedDate_tdate": "2026-01-01T00:00:00Z] OR *:*"},
        {"docid": 2, "halId_s": "hal-2", "title_s": ["b"], "modifiedDate_tdate": "2025-12-31T23:59:59Z"}]},
        "nextCursorMark": "*"}
    with PortalServer() as server:
        url = server.file("/search/", json.dumps(answer), content_type="application/json")
        result = harvest(config_for(hal_source(url)), "hal", DataLayout.at(tmp_path))
    assert result.complete and result.state.watermark == "2025-12-31T23:59:59Z"
    assert {d.dataset_id: d.modified for d in result.datasets} == {"hal-1": None, "hal-2": "2025-12-31T23:59:59Z"}


def test_a_harvest_cut_midway_resumes_from_its_last_cursor(tmp_path):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        hal = FakeHal(server, "records.json")
        answer, failing = hal.answer, {"AoE4100002"}

        def flaky(query: dict, request: dict):
            if query["cursorMark"] in failing:
                return 503, {"Content-Type": "text/plain"}, b"maintenance"
            return answer(query, request)

        server.handler("/search/", flaky)
        config = config_for(hal_source(hal.url, page_size=2))
        cut = harvest(config, "hal", layout)
        failing.clear()
        mark = len(hal.searches())
        resumed = harvest(config, "hal", layout)
        cursors = [q["cursorMark"] for q in hal.searches()[mark:]]
    assert not cut.complete and cut.failures[0].source == "hal" and "AoE4100002" in cut.failures[0].record
    assert cut.state.checkpoint["cursor"] == "AoE4100002"
    assert resumed.complete and cursors[0] == "AoE4100002" and "*" not in cursors
    ids = [r["dataset_id"] for r in catalogue(layout, "datasets")]
    assert len(ids) == len(set(ids)) == 5


def test_moisson_run_puts_each_allowed_pdf_in_the_corpus_once_with_licence_and_lineage(tmp_path):
    """`moisson run` on a HAL source served on 127.0.0.1 with hand-written PDFs: the CC BY 4.0 and public-domain
    records' files reach the corpus once each; the unversioned CC BY one is fetched but not on the allow list, the
    NC-ND one is never fetched; a second run downloads nothing."""
    if "pdf" in getattr(resource_fetch, "NEVER_FETCHED", ()):
        pytest.skip("the fetch step does not fetch PDF files yet (sources/resource_fetch.py NEVER_FETCHED)")
    import yaml

    from e2e import corpus_rows, run_moisson

    with PortalServer() as server:
        hal = FakeHal(server, "records.json")
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump({
            "sources": [hal_source(hal.url, page_size=2)],
            "http": {"requests_per_second": 100, "contact": "https://example.org/moisson-tests"},
            "policy": {"languages": "all", "licenses": {"allow": ["CC-BY-4.0", "CC-PDM-1.0"]},
                       "quality": {"enabled": False}, "dedup": {"enabled": False}},
        }), encoding="utf-8")
        first = run_moisson(sources, tmp_path / "data")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        mark = len(server.log)
        second = run_moisson(sources, tmp_path / "data")
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        files, again = _file_requests(server.log[:mark]), _file_requests(server.log[mark:])
    assert "/hal-04100005/file/entretiens.pdf" not in files and again == []
    rows = corpus_rows(tmp_path / "data", "license, locator, text")
    assert sorted((r[0], r[1].split("#", 1)[1].split("&", 1)[0]) for r in rows) == [
        ("CC-BY-4.0", "dataset=hal-04100001"), ("CC-PDM-1.0", "dataset=tel-04100004")]
    assert sorted(r[2].strip() for r in rows) == ["Valbrune, /hal-04100001/file/crues-de-la-brune.pdf",
                                                   "Valbrune, /tel-04100004/document"]


@pytest.mark.parametrize("value,expected", [
    ("http://creativecommons.org/licenses/by/4.0/", ("CC-BY-4.0", "allow")),
    ("https://creativecommons.org/licenses/by-sa/", ("LicenseRef-CC-BY-SA-unversioned", "review")),
    ("http://creativecommons.org/licenses/by-nc-sa/", ("LicenseRef-CC-BY-NC-unversioned", "reject")),
    ("http://creativecommons.org/licenses/by-nd/", (None, "reject")),  # no family id: unknown, fail-closed
    ("http://hal.archives-ouvertes.fr/licences/publicDomain/", ("CC-PDM-1.0", "allow")),
    ("http://hal.archives-ouvertes.fr/licences/copyright/", (None, "reject")),
    ("http://hal.archives-ouvertes.fr/licences/etalab/", (None, "reject")),  # unversioned Licence Ouverte: unknown
])
def test_hal_licence_urls_map_to_known_ids_or_to_none(value, expected):
    from moisson.licence import portal_licence
    from sources.hal import hal_licence

    licence = hal_licence([value], lambda values: portal_licence(values, ["CC-BY-4.0"]))
    assert (licence.spdx, licence.verdict) == expected and licence.raw == value


def test_a_server_that_ignores_the_cursor_is_stopped_after_a_few_pages_of_repeats(tmp_path):
    def answer(query, request):
        body = {"response": {"numFound": 10**6, "docs": [{"docid": 1, "halId_s": "hal-1", "title_s": ["t"]}]},
                "nextCursorMark": query["cursorMark"] + "x"}  # always a new cursor, always the same record
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    with PortalServer() as server:
        url = server.handler("/search/", answer)
        result = harvest(config_for(hal_source(url)), "hal", DataLayout.at(tmp_path))
    assert [f.error_class for f in result.failures] == ["PagingLoop"] and not result.complete
    assert len(server.requests_to("/search/")) == 4  # the first page, then three of repeats


def test_a_malformed_file_link_is_dropped_and_its_record_kept():
    from moisson.licence import portal_licence
    from sources.hal import to_dataset

    doc = {"docid": 1, "halId_s": "hal-1", "files_s": ["http://[::1/broken.pdf", "https://hal.science/hal-1/file/a.pdf"]}
    dataset = to_dataset("https://api.archives-ouvertes.fr/search/", doc, lambda v: portal_licence(v))
    assert [r.url for r in dataset.resources] == ["https://hal.science/hal-1/file/a.pdf"]
