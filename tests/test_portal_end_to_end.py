"""`moisson run` on a CKAN and an OAI-PMH source served on 127.0.0.1: licence and lineage reach the corpus."""

from __future__ import annotations

import json

import yaml

from e2e import corpus_rows, run_moisson, warehouse
from harvest_helpers import fake_ckan
from portal_server import PortalServer

ARTICLE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>" + "<p>{body}</p>" * 6 +
           "</article></body></html>")
OAI_PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z</responseDate>
<request>{base}</request><ListRecords>{records}</ListRecords></OAI-PMH>"""
OAI_RECORD = """<record><header><identifier>oai:demo:{n}</identifier><datestamp>2026-01-0{n}T00:00:00Z</datestamp></header>
<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>Thesis {n}</dc:title><dc:rights>info:eu-repo/semantics/openAccess</dc:rights>
<dc:rights>https://creativecommons.org/publicdomain/zero/1.0/</dc:rights><dc:identifier>{url}</dc:identifier>
</oai_dc:dc></metadata></record>"""


def sentence(topic: str) -> str:
    return (f"This report about {topic} explains how the city council gathered public opinions, weighed the costs "
            f"and published every decision with the reasons that led to it, so that residents can check the work.")


def test_moisson_run_harvests_portals_with_licence_and_lineage(tmp_path):
    with PortalServer() as server:
        packages = []
        for n, topic in enumerate(["rivers", "schools"]):
            url = server.file(f"/files/{n}.html", ARTICLE.format(title=topic.title(), body=sentence(topic)))
            packages.append({"id": f"pkg-{n}", "name": f"dataset-{n}", "title": f"Dataset {n}", "license_id": "cc-by-4.0",
                             "metadata_modified": f"2026-01-0{n + 1}T10:00:00.000000", "state": "active",
                             "resources": [{"id": f"res-{n}", "url": url, "format": "HTML", "name": topic}]})
        server.handler("/api/3/action/package_search", fake_ckan(packages))
        records = "".join(OAI_RECORD.format(n=n, url=server.file(f"/theses/{n}.html", ARTICLE.format(
            title=f"Thesis {n}", body=sentence(f"thesis {n} on bridges and forests")))) for n in (1, 2))
        server.file("/oai", OAI_PAGE.format(base=server.base, records=records), content_type="text/xml")
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump({
            "sources": [
                {"name": "city-ckan", "kind": "ckan", "url": server.base, "allow_private_addresses": True},
                {"name": "theses", "kind": "oai-pmh", "url": server.base + "/oai", "allow_private_addresses": True},
            ],
            "http": {"requests_per_second": 100, "contact": "https://example.org/moisson-tests"},
            "policy": {"languages": "all", "licenses": {"allow": ["CC-BY-4.0", "CC0-1.0"]},
                       "quality": {"enabled": False}, "dedup": {"enabled": False}},
        }), encoding="utf-8")
        data = tmp_path / "data"
        result = run_moisson(sources, data)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert all("moisson-tests" in request["user-agent"] for _, _, request in server.log)

    rows = corpus_rows(data, "source, license, locator, url")
    assert sorted((r[0], r[1]) for r in rows) == [("city-ckan", "CC-BY-4.0"), ("city-ckan", "CC-BY-4.0"),
                                                   ("theses", "CC0-1.0"), ("theses", "CC0-1.0")]
    assert all("#dataset=" in r[2] and "&resource=" in r[2] for r in rows)
    with warehouse(data) as con:
        lineage = con.execute("SELECT source, dataset_id, resource_id, dataset_license_raw, dataset_license "
                              "FROM document_lineage WHERE status = 'kept' ORDER BY 1, 2").fetchall()
        states = dict(con.execute("SELECT source, watermark FROM harvest_state").fetchall())
        datasets = con.execute("SELECT count(*) FROM datasets").fetchone()[0]
    assert [row[:2] for row in lineage] == [("city-ckan", "pkg-0"), ("city-ckan", "pkg-1"),
                                            ("theses", "oai:demo:1"), ("theses", "oai:demo:2")]
    assert lineage[0][3:] == ("cc-by-4.0", "CC-BY-4.0")
    assert lineage[2][3:] == ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0")
    assert states == {"city-ckan": "2026-01-02T10:00:00.000000", "theses": "2026-01-02T00:00:00Z"} and datasets == 4
    assert json.loads((data / "state" / "harvest" / "theses.json").read_text())["checkpoint"] is None
