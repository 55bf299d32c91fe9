"""Text and data mining reservations through a whole run: what an archived response's headers and a document's own
metadata say is recorded for every document with its evidence, and a reservation keeps the document out of the
corpus under the default policy, whatever its licence."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from e2e import corpus_rows, run_moisson, warehouse
from moisson.config import OPT_OUT_PROTOCOLS
from pdf_samples import make_pdf
from sources.tdm_reservation import PROTOCOLS

BY = "https://creativecommons.org/licenses/by/4.0/"
PROSE = ("La commune de Valbrune publie chaque mois un bulletin sur la vie des quartiers, les travaux en cours et les "
         "rendez-vous culturels. Ce numéro présente {topic}, les horaires des services municipaux et les projets "
         "votés par le conseil lors de sa dernière séance publique, ouverte à tous les habitants.")
TDM_XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:tdm="http://www.w3.org/ns/tdmrep/" xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"
 tdm:reservation="1" xmpRights:WebStatement="https://creativecommons.org/licenses/by/4.0/"/></rdf:RDF></x:xmpmeta>"""


def page(topic: str, head: str = "") -> bytes:
    return (f'<html lang="fr"><head><title>{topic}</title><link rel="license" href="{BY}">{head}</head>'
            f"<body><article><h1>{topic}</h1><p>{PROSE.format(topic=topic)}</p></article></body></html>").encode()


# url -> (extra response headers, body, content type); every one is under CC BY 4.0
CAPTURES = {
    "https://valbrune.example/header": ([("tdm-reservation", "1"), ("tdm-policy", "https://valbrune.example/tdm.json")],
                                        page("la médiathèque"), "text/html"),
    "https://valbrune.example/meta": ([], page("le marché couvert", '<meta name="tdm-reservation" content="1">'),
                                      "text/html"),
    "https://valbrune.example/noai": ([("X-Robots-Tag", "noai, noimageai")], page("la piscine"), "text/html"),
    "https://valbrune.example/open": ([("tdm-reservation", "0")], page("le jardin partagé"), "text/html"),
    "https://valbrune.example/silent": ([], page("la fête du quartier"), "text/html"),
    "https://valbrune.example/rapport.pdf": ([], make_pdf([[(72, 720 - 14 * i, line) for i, line in enumerate(
        PROSE.format(topic="le rapport annuel").split(". "))]], xmp=TDM_XMP), "application/pdf"),
}
RESERVED = {"https://valbrune.example/header": "tdmrep-header", "https://valbrune.example/meta": "tdmrep-html",
            "https://valbrune.example/noai": "x-robots-tag", "https://valbrune.example/rapport.pdf": "tdmrep-pdf"}


def archive(path: Path) -> None:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, (headers, body, content_type) in CAPTURES.items():
            http = StatusAndHeaders("200 OK", [("Content-Type", content_type), *headers], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))


def run(root: Path, opt_out: str = "", write=archive) -> Path:
    """`write(archive_path)` fills archives/crawl.warc.gz (and may add other archives beside it)."""
    (root / "archives").mkdir(parents=True)
    write(root / "archives" / "crawl.warc.gz")
    (root / "sources.yaml").write_text(
        "sources:\n  - {name: crawl, kind: warc, paths: ['archives/*.warc.gz']}\n"
        "policy:\n  languages: [fr]\n  licenses: {allow: [CC-BY-4.0]}\n  quality: {enabled: false}\n"
        f"  dedup: {{enabled: false}}\n{opt_out}", encoding="utf-8")
    result = run_moisson(root / "sources.yaml", root / "data")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root / "data"


@pytest.fixture(scope="module")
def honoured(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("honoured"))


def test_every_reservation_keeps_its_document_out_with_the_protocol_that_said_so(honoured) -> None:
    with warehouse(honoured) as con:
        rows = {url: tuple(rest) for url, *rest in con.execute(
            "SELECT url, status, reason, license, opt_out, opt_out_evidence FROM documents").fetchall()}
    for url, protocol in RESERVED.items():
        status, reason, licence, opt_out, evidence = rows[url]
        assert (status, reason, licence, opt_out) == ("rejected", "opt_out", "CC-BY-4.0", "reserved"), url
        assert evidence.startswith(protocol), (url, evidence)
    assert rows["https://valbrune.example/open"][:2] == ("kept", None)
    assert rows["https://valbrune.example/open"][3] == "not_reserved"
    assert rows["https://valbrune.example/silent"][3] == "unknown"
    assert sorted(url for url, in corpus_rows(honoured, "url")) == ["https://valbrune.example/open",
                                                                     "https://valbrune.example/silent"]


def test_the_tdm_policy_link_is_kept_as_evidence(honoured) -> None:
    with warehouse(honoured) as con:
        evidence, = con.execute("SELECT opt_out_evidence FROM documents WHERE url LIKE '%/header'").fetchone()
    assert evidence == ("tdmrep-header: HTTP header tdm-reservation='1'; "
                        "tdmrep-header: tdm-policy=https://valbrune.example/tdm.json")


def test_a_policy_that_does_not_honour_reservations_keeps_them_and_still_records_them(tmp_path) -> None:
    data = run(tmp_path, "  opt_out: {honour: false}\n")
    assert len(corpus_rows(data, "url")) == len(CAPTURES)
    with warehouse(data) as con:
        assert con.execute("SELECT count(*) FROM documents WHERE opt_out = 'reserved'").fetchone()[0] == len(RESERVED)


def test_the_policys_protocol_ids_are_the_readers() -> None:
    assert OPT_OUT_PROTOCOLS == PROTOCOLS


def test_a_sites_tdmrep_file_and_its_robots_ai_agents_reserve_what_they_match(tmp_path) -> None:
    """A portal's site reserves /reserved/* in its tdmrep.json and keeps GPTBot out of /private/ in robots.txt:
    documents there carry the reservation to the licence stage, the others the site's silence."""
    import polars as pl

    from harvest_helpers import config_for, fetch
    from moisson.config import Policy
    from moisson.curation import decide_opt_outs
    from moisson.layout import DataLayout
    from portal_server import PortalServer
    from sources.catalogue import Dataset, Resource

    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        server.file("/.well-known/tdmrep.json", '[{"location": "/reserved/*", "tdm-reservation": 1}]',
                    content_type="application/json")
        server.file("/robots.txt", "User-agent: GPTBot\nDisallow: /private/\n\nUser-agent: *\nAllow: /\n",
                    content_type="text/plain")
        urls = {name: server.file(f"/{name}/page.html", page(name)) for name in ("reserved", "private", "open")}
        dataset = Dataset(portal=server.base, dataset_id="d", title="Pages", modified="2026-01-01",
                          license_raw="cc-by-4.0", license="CC-BY-4.0", license_verdict="allow",
                          resources=tuple(Resource(name, url, format="html") for name, url in urls.items()))
        config = config_for({"name": "site", "kind": "ckan", "url": server.base, "allow_private_addresses": True})
        records, failures, _ = fetch(config, "site", layout, [dataset])
        asked = [path for path, _, _ in server.log]
    assert not failures and asked.count("/.well-known/tdmrep.json") == 1  # once for the site, not per page
    policy = Policy.model_validate({"languages": ["fr"], "licenses": {"allow": ["CC-BY-4.0"]}})
    rows = pl.DataFrame([{"url": r.url, "opt_out_site": r.opt_out_site, "opt_out_headers": r.opt_out_headers,
                          "opt_out_signals": None, "license": "CC-BY-4.0", "reason": None, "reason_detail": None}
                         for r in records])
    decided = {row["url"].rsplit("/", 2)[1]: row for row in decide_opt_outs(rows, policy).to_dicts()}
    assert decided["reserved"]["opt_out"] == "reserved" and decided["reserved"]["opt_out_evidence"].startswith("tdmrep-file")
    assert decided["private"]["opt_out"] == "reserved" and "GPTBot" in decided["private"]["opt_out_evidence"]
    assert decided["open"]["opt_out"] == "unknown" and decided["open"]["reason"] is None
    assert {decided[name]["reason"] for name in ("reserved", "private")} == {"opt_out"}


# Two archived sites whose rules files the crawl captured: Valbrune's tdmrep.json (after its pages, in the same archive)
# reserves /private/*, Montfleur's robots.txt (in a separate "robotstxt" archive, as Common Crawl ships them) keeps
# GPTBot out of /news/. url -> reserved by
SITE_PAGES = {"https://valbrune.example/private/rapport.html": "tdmrep-file",
              "https://valbrune.example/public/agenda.html": None,
              "https://montfleur.example/news/conseil.html": "robots-ai",
              "https://montfleur.example/culture/exposition.html": None}
TDMREP_URL, ROBOTS_URL = "https://valbrune.example/.well-known/tdmrep.json", "https://montfleur.example/robots.txt"


def archived_sites(path: Path) -> None:
    def response(writer: WARCWriter, url: str, body: bytes, content_type: str, date: str) -> None:
        http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                      warc_headers_dict={"WARC-Date": date}))

    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url in SITE_PAGES:
            response(writer, url, page(url.rsplit("/", 1)[1].removesuffix(".html")), "text/html", "2026-03-10T08:00:00Z")
        response(writer, TDMREP_URL, b'[{"location": "/private/*", "tdm-reservation": 1}]', "application/json",
                 "2026-03-11T09:30:00Z")
    with (path.parent / "robotstxt.warc.gz").open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        response(writer, ROBOTS_URL, b"User-agent: GPTBot\nDisallow: /news/\n\nUser-agent: *\nAllow: /\n",
                 "text/plain", "2026-03-09T07:00:00Z")


def test_rules_files_captured_in_the_archive_reserve_the_pages_of_their_site(tmp_path) -> None:
    """The crawl's own captures of a site's tdmrep.json and robots.txt decide as a live site's would: wherever they sit
    in the archives, with evidence naming the capture and its date; they are neither documents nor failures."""
    data = run(tmp_path, write=archived_sites)
    with warehouse(data) as con:
        rows = {url: rest for url, *rest in con.execute(
            "SELECT url, status, reason, opt_out, opt_out_evidence FROM documents").fetchall()}
        failures = con.execute("SELECT count(*) FROM failures WHERE resolved_at IS NULL").fetchone()[0]
    assert set(rows) == set(SITE_PAGES)  # the rules files are not documents
    for url, protocol in SITE_PAGES.items():
        status, reason, opt_out, evidence = rows[url]
        if protocol is None:
            assert (status, reason) == ("kept", None), (url, evidence)
        else:
            assert (status, reason, opt_out) == ("rejected", "opt_out", "reserved"), url
            assert evidence.startswith(protocol), evidence
    assert rows["https://valbrune.example/private/rapport.html"][3] == (
        "tdmrep-file: https://valbrune.example/.well-known/tdmrep.json rule 1 location='/private/*' "
        "tdm-reservation=1; tdmrep-file: https://valbrune.example/.well-known/tdmrep.json captured in the archive "
        "on 2026-03-11T09:30:00Z (archives/crawl.warc.gz@" + rows["https://valbrune.example/private/rapport.html"][3]
        .rsplit("@", 1)[1])
    assert "montfleur.example/robots.txt captured in the archive on 2026-03-09T07:00:00Z (archives/robotstxt.warc.gz@" \
        in rows["https://montfleur.example/news/conseil.html"][3]
    assert failures == 0
    assert sorted(url for url, in corpus_rows(data, "url")) == sorted(u for u, p in SITE_PAGES.items() if p is None)

    # the archives unchanged, the side file lost: the source is read again rather than its reservations forgotten
    (data / "stages" / "site_files" / "crawl.parquet").unlink()
    again = run_moisson(tmp_path / "sources.yaml", data)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert (data / "stages" / "site_files" / "crawl.parquet").exists()
    with warehouse(data) as con:
        assert con.execute("SELECT count(*) FROM documents WHERE reason = 'opt_out'").fetchone()[0] == 2
