"""The AI Act public summary of training content: its figures on a real run's warehouse (sizes, languages, dates,
opt-out rejections, domains), the top 10% of domains on a crafted warehouse, every query as `moisson sql` runs it,
and the same summary twice."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import yaml

from e2e import MOISSON, run_moisson
from harvest_helpers import fake_ckan
from moisson.config import Policy
from moisson.layout import DataLayout
from moisson.parquet_files import parts
from moisson.training_summary import (NOT_APPLICABLE, SUMMARY_QUERIES, SummaryError, build_summary,
                                      render_summary_markdown, size_bin, write_summary)
from pipelines.warehouse_sql import run_query
from portal_server import PortalServer
from test_opt_out import page
from warehouse.load import connect

FACTS = {"version": "2026.1", "released_at": "2026-12-01T00:00:00+00:00", "dataset_name": "Valbrune"}
ENGLISH = ("<html lang='en'><head><title>{topic}</title><link rel='license' "
           "href='https://creativecommons.org/licenses/by/4.0/'></head><body><article><h1>{topic}</h1><p>The town of "
           "Valbrune publishes a monthly newsletter about life in its neighbourhoods, the works under way and the "
           "cultural events. This issue presents {topic}, the opening hours of the municipal services and the "
           "projects the council voted at its last public meeting, open to every inhabitant.</p></article></body>"
           "</html>")
# url -> (WARC-Date, extra response headers, body)
CAPTURES = {
    "https://www.alpha.example/a": ("2024-03-01T10:00:00Z", [], page("la médiathèque et ses nouveaux horaires")),
    "https://alpha.example/b": ("2024-03-02T10:00:00Z", [], page("le marché couvert du samedi matin")),
    "https://beta.example/c": ("2024-02-10T08:30:00Z", [], page("la piscine")),
    "https://gamma.example/en": ("2024-03-05T09:15:00Z", [], ENGLISH.format(topic="the community garden").encode()),
    "https://beta.example/reserved": ("2024-03-04T12:00:00Z", [("tdm-reservation", "1")], page("le jardin partagé")),
}


def archive(path: Path) -> None:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, (date, headers, body) in CAPTURES.items():
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), *headers], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                          warc_headers_dict={"WARC-Date": date}))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A real `moisson run` on a small web archive (four pages kept: three sites, fr and en; one reserved) and a
    CKAN portal served on 127.0.0.1 (one dataset, one page)."""
    root = tmp_path_factory.mktemp("summary")
    (root / "archives").mkdir()
    archive(root / "archives" / "crawl.warc.gz")
    with PortalServer() as server:
        url = server.file("/files/budget.html", page("le budget participatif de la commune"))
        server.handler("/api/3/action/package_search", fake_ckan([{
            "id": "pkg-budget", "name": "budget", "title": "Budget participatif", "license_id": "cc-by-4.0",
            "metadata_modified": "2026-01-01T10:00:00.000000", "state": "active",
            "resources": [{"id": "res-budget", "url": url, "format": "HTML", "name": "budget"}]}]))
        (root / "sources.yaml").write_text(yaml.safe_dump({
            "sources": [{"name": "crawl", "kind": "warc", "paths": ["archives/*.warc.gz"]},
                        {"name": "city", "kind": "ckan", "url": server.base, "allow_private_addresses": True}],
            "http": {"requests_per_second": 100, "user_agent": "MoissonSummaryTest/2.0", "contact": "https://example.org/c"},
            "policy": {"languages": ["fr", "en"], "licenses": {"allow": ["CC-BY-4.0"]}, "quality": {"enabled": False},
                       "dedup": {"enabled": False}}}), encoding="utf-8")
        result = run_moisson(root / "sources.yaml", root / "data")
        (root / "portal").write_text(server.base, encoding="utf-8")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root / "data"


def portal(data: Path) -> str:
    return (data.parent / "portal").read_text(encoding="utf-8")


def corpus(data: Path, language: str = "*") -> list[Path]:
    return parts(data / "corpus", f"{language}/*.parquet")


def published(data: Path, source_kind: str = "warc") -> dict[str, tuple]:
    """url -> (language, n_words, n_chars) of the published documents of that kind of source."""
    with duckdb.connect() as con:
        return {url: rest for url, *rest in con.execute(
            "SELECT url, language, n_words, n_chars FROM read_parquet(?) WHERE source_kind = ?",
            [[str(p) for p in corpus(data)], source_kind]).fetchall()}


def test_the_summary_of_a_real_run_holds_its_figures(data) -> None:
    summary = build_summary(data / "warehouse.duckdb", corpus(data), FACTS)
    web, fetched = published(data), published(data, "ckan")
    assert sorted(web) == sorted(url for url in CAPTURES if not url.endswith("/reserved")) and len(fetched) == 1
    general = summary["general_information"]
    text = general["modalities"]["text"]
    assert text["tokens"] == sum(words for _, words, _ in [*web.values(), *fetched.values()]) > 0
    assert text["size_bin"] == "Less than 1 billion tokens" and text["documents"] == 5
    assert "n_words" in text["token_count_method"]
    assert general["earliest_collection_date"] == "2024-02-10T08:30:00+00:00"
    with duckdb.connect() as con:
        fetched_at, = con.execute("SELECT retrieved_at FROM read_parquet(?) WHERE source_kind = 'ckan'",
                                  [[str(p) for p in corpus(data)]]).fetchone()
    assert general["latest_collection_date"] == fetched_at.astimezone(timezone.utc).isoformat()
    assert general["latest_collection_month"] == fetched_at.astimezone(timezone.utc).strftime("%m/%Y")
    assert {r["language"]: (r["documents"], r["words"]) for r in general["languages"]} == {
        "fr": (4, sum(w for lang, w, _ in [*web.values(), *fetched.values()] if lang == "fr")),
        "en": (1, sum(w for lang, w, _ in web.values() if lang == "en"))}
    assert general["model_identification"] == NOT_APPLICABLE

    sources = summary["list_of_data_sources"]
    public = sources["publicly_available_datasets"]
    assert public["used"] and [(s["source"], s["kind"], s["paths"]) for s in public["sources"]] == [
        ("city", "ckan", [portal(data)])]
    assert [(d["dataset_id"], d["title"], d["landing_page"], d["license"], d["documents"])
            for d in public["datasets"]] == [
        ("pkg-budget", "Budget participatif", f"{portal(data)}/dataset/budget", "CC-BY-4.0", 1)]

    crawled = sources["data_crawled_and_scraped_from_online_sources"]
    assert crawled["used"] and crawled["documents"] == 4  # the web archive's pages, not the portal's
    assert [(s["source"], s["paths"], s["documents"]) for s in crawled["web_archives"]] == [
        ("crawl", ["archives/*.warc.gz"], 4)]
    period = crawled["collection_period"]
    assert (period["from"], period["to"]) == ("2024-02-10T08:30:00+00:00", "2024-03-05T09:15:00+00:00")
    assert (period["from_month"], period["to_month"]) == ("02/2024", "03/2024")  # the reserved page, later, is out
    # the run's own user agent, recorded by the warehouse, not Moisson's default
    assert crawled["crawlers"][0]["name"] == "MoissonSummaryTest/2.0 (+https://example.org/c)"
    assert "runs.user_agent" in crawled["crawlers"][0]["stated_by"]
    assert crawled["behaviour"]["opt_outs"]["honoured"] is True
    chars: dict[str, int] = {}
    for url, (_, _, n_chars) in web.items():
        host = url.split("/")[2].removeprefix("www.")
        chars[host] = chars.get(host, 0) + n_chars
    top = crawled["most_relevant_domain_names"]
    assert top["domains_in_crawled_documents"] == 3  # www.alpha and alpha are one domain
    largest = max(chars, key=lambda host: (chars[host], host))
    assert [(d["domain"], d["characters"]) for d in top["domains"]] == [(largest, chars[largest])]  # ceil(0.3) = 1

    rights = summary["data_processing_aspects"]["respect_of_reservation_of_rights"]
    assert rights["rejected_for_opt_out"] == 1
    assert rights["rejected_for_opt_out_by_protocol"] == [{"protocol": "tdmrep-header", "documents": 1}]
    assert {(r["opt_out"], r["status"]): r["documents"] for r in rights["opt_out_status"]} == {
        ("unknown", "kept"): 5, ("reserved", "rejected"): 1}


def test_a_release_of_some_files_counts_only_their_documents_as_kept(data) -> None:
    summary = build_summary(data / "warehouse.duckdb", corpus(data, "en"), FACTS)
    general = summary["general_information"]
    assert [(r["language"], r["documents"]) for r in general["languages"]] == [("en", 1)]
    assert general["latest_collection_date"] == general["earliest_collection_date"] == "2024-03-05T09:15:00+00:00"
    assert summary["list_of_data_sources"]["publicly_available_datasets"]["datasets"] == []
    assert summary["data_processing_aspects"]["respect_of_reservation_of_rights"]["rejected_for_opt_out"] == 1


def test_the_same_release_gives_the_same_summary_and_files(data, tmp_path) -> None:
    first = build_summary(data / "warehouse.duckdb", corpus(data), FACTS)
    second = build_summary(data / "warehouse.duckdb", list(reversed(corpus(data))), FACTS)
    assert json.dumps(first) == json.dumps(second)
    paths = write_summary(first, tmp_path / "a", tmp_path / "tmp")
    again = write_summary(second, tmp_path / "b", tmp_path / "tmp")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    markdown = paths[1].read_text(encoding="utf-8")
    for heading in ("## 1. General information", "### 2.1 Publicly available datasets",
                    "### 2.3 Data crawled and scraped from online sources",
                    "### 3.1 Respect of reservation of rights from text and data mining exception or limitation",
                    "### 3.2 Removal of illegal content"):
        assert heading in markdown
    assert "**Less than 1 billion tokens**" in markdown and "| tdmrep-header | 1 |" in markdown
    assert json.loads(paths[0].read_text(encoding="utf-8")) == first


def test_every_query_runs_as_moisson_sql_runs_it(data, capsys) -> None:
    layout = DataLayout.at(data)
    for name, query in SUMMARY_QUERIES.items():
        assert run_query(query, layout) == 0, (name, capsys.readouterr().err)
    result = subprocess.run([str(MOISSON), "sql", "--data-dir", str(data), SUMMARY_QUERIES["top_domains"]],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout


def test_a_release_document_missing_from_the_warehouse_is_an_error(data, tmp_path) -> None:
    extra = tmp_path / "extra.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 'not-loaded' AS id) TO '{extra}' (FORMAT parquet)")
    with pytest.raises(SummaryError, match="1 document.*not-loaded"):
        build_summary(data / "warehouse.duckdb", [*corpus(data), extra], FACTS)
    with pytest.raises(SummaryError, match="no warehouse"):
        build_summary(tmp_path / "none.duckdb", [], FACTS)


# A crafted warehouse: known sizes per domain, a portal dataset, personal data counts, rejections.

def crafted(path: Path, domains: int) -> Path:
    """`domains` web domains, domain i holding (i + 1) * 100 characters; a bigger rejected domain that must not count;
    one portal document from a dataset with a landing page."""
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    rows = [(f"w{i}", "kept", None, f"https://site{i:02d}.example/page", "fr", "crawl", "warc", (i + 1) * 100, i + 1,
             start + timedelta(days=i), None, None, None) for i in range(domains)]
    rows += [("big", "rejected", "opt_out", "https://huge.example/", "fr", "crawl", "warc", 10**6, 10**5, start, None,
              "reserved", "tdmrep-html: <meta>"),
             ("pd", "kept", None, "https://files.portal.example/r.txt", "de", "portal", "ckan", 50, 7, start,
              '{"EMAIL": 2, "PHONE": 1}', "not_reserved", None),
             ("pd2", "rejected", "personal_data", None, "de", "portal", "ckan", 10, 2, start, '{"IBAN": 1}', None,
              None)]
    con = connect(path)
    con.executemany("INSERT INTO documents (id, status, reason, url, language, source, source_kind, n_chars, n_words, "
                    "retrieved_at, personal_data, opt_out, opt_out_evidence, record_key) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*row, "res-1" if row[0] == "pd" else None) for row in rows])
    con.execute("INSERT INTO sources (name, kind, paths) VALUES ('crawl', 'warc', '[\"a.warc.gz\"]'), "
                "('portal', 'ckan', '[\"https://portal.example\"]')")
    con.execute("INSERT INTO datasets (source, portal, dataset_id, title, landing_page, license) VALUES "
                "('portal', 'https://portal.example', 'ds-1', 'Budget | 2024', 'https://portal.example/dataset/ds-1', "
                "'etalab-2.0'), ('portal', 'https://portal.example', 'ds-2', 'Unused', NULL, NULL)")
    con.execute("INSERT INTO resources (source, portal, dataset_id, resource_id, record_key, url) VALUES "
                "('portal', 'https://portal.example', 'ds-1', 'r1', 'res-1', 'https://files.portal.example/r.txt')")
    policy = Policy.model_validate({"licenses": {"allow": ["CC-BY-4.0"]}, "personal_data": {"iban": "reject"}})
    con.execute("INSERT INTO runs (run_id, finished_at, policy) VALUES ('r1', ?, ?)", [start, policy.model_dump_json()])
    con.close()
    return path


@pytest.mark.parametrize(("domains", "listed"), [(20, 2), (21, 3), (5, 1), (1, 1)])
def test_the_most_relevant_domains_are_the_top_tenth_by_characters(tmp_path, domains, listed) -> None:
    summary = build_summary(crafted(tmp_path / "w.duckdb", domains), [], FACTS)
    top = summary["list_of_data_sources"]["data_crawled_and_scraped_from_online_sources"]["most_relevant_domain_names"]
    assert top["domains_in_crawled_documents"] == domains
    assert [(d["domain"], d["characters"]) for d in top["domains"]] == [
        (f"site{i:02d}.example", (i + 1) * 100) for i in range(domains - 1, domains - 1 - listed, -1)]


def test_the_crafted_warehouse_fills_public_datasets_personal_data_and_rejections(tmp_path) -> None:
    summary = build_summary(crafted(tmp_path / "w.duckdb", 20), [], FACTS)
    public = summary["list_of_data_sources"]["publicly_available_datasets"]
    assert public["used"] and [s["source"] for s in public["sources"]] == ["portal"]
    assert public["sources"][0]["paths"] == ["https://portal.example"]
    assert [(d["dataset_id"], d["landing_page"], d["documents"]) for d in public["datasets"]] == [
        ("ds-1", "https://portal.example/dataset/ds-1", 1)]
    processing = summary["data_processing_aspects"]
    assert processing["personal_data"]["identifiers_in_kept_documents"] == [
        {"type": "EMAIL", "documents": 1, "identifiers": 2}, {"type": "PHONE", "documents": 1, "identifiers": 1}]
    assert processing["personal_data"]["rejected_for_personal_data"] == 1
    assert processing["personal_data"]["policy"]["iban"] == "reject"
    assert processing["respect_of_reservation_of_rights"]["rejected_for_opt_out_by_protocol"] == [
        {"protocol": "tdmrep-html", "documents": 1}]
    assert summary["general_information"]["modalities"]["text"]["tokens"] == sum(range(1, 21)) + 7
    assert "| Budget \\| 2024 |" in render_summary_markdown(summary)


def test_the_size_bins_are_the_templates() -> None:
    assert size_bin(0) == size_bin(999_999_999) == "Less than 1 billion tokens"
    assert size_bin(10**9) == size_bin(10**13 - 1) == "1 billion to 10 trillion tokens"
    assert size_bin(10**13) == "More than 10 trillion tokens"
