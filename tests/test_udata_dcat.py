"""udata pages following next_page to the watermark, and DCAT catalogues following hydra links, on 127.0.0.1."""

from __future__ import annotations

import json

from harvest_helpers import config_for, harvest
from moisson.layout import DataLayout
from portal_server import PortalServer


def test_udata_follows_next_page_and_stops_at_the_watermark(tmp_path, shared_data):
    recorded = json.loads((shared_data / "portals/udata/datagouv_datagouv_client/dataset_metadata.json").read_text("utf-8"))
    older = {**recorded, "id": "older", "last_update": "2020-01-01T00:00:00+00:00", "deleted": "2024-01-01"}
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        second = server.base + "/api/1/datasets/page2"
        server.file("/api/1/datasets/", json.dumps({"data": [recorded], "page": 1, "next_page": second}),
                    content_type="application/json")
        server.file("/api/1/datasets/page2", json.dumps({"data": [older], "page": 2, "next_page": second + "/3"}),
                    content_type="application/json")
        oldest = {**older, "id": "oldest", "last_update": "2019-01-01T00:00:00+00:00", "deleted": None}
        server.file("/api/1/datasets/page2/3", json.dumps({"data": [oldest], "page": 3, "next_page": None}),
                    content_type="application/json")
        config = config_for({"name": "dgf", "kind": "udata", "url": server.base, "allow_private_addresses": True})
        first = harvest(config, "dgf", layout)
        again = harvest(config, "dgf", layout)
        pages = [p for p, _, _ in server.log]
    assert first.complete and {d.dataset_id for d in first.datasets} == {"5d13a8b6634f41070a43dff3", "older", "oldest"}
    main = next(d for d in first.datasets if d.dataset_id == "5d13a8b6634f41070a43dff3")
    assert (main.license_raw, main.license, main.license_verdict) == ("lov2", "etalab-2.0", "allow")
    assert next(d for d in first.datasets if d.dataset_id == "older").deleted
    assert pages.count("/api/1/datasets/page2/3") == 1  # the second run stopped at the first record older than the watermark
    assert again.complete and again.harvested == 1 and len(again.datasets) == 3


def test_dcat_follows_hydra_next_and_legacy_next_page(tmp_path, shared_data):
    folder = shared_data / "portals/dcat/opendatateam_udata"
    for style in ("partial", "paged"):
        with PortalServer() as server:
            for page in (1, 2):
                body = (folder / f"{style}-collection-{page}.jsonld").read_text("utf-8")
                server.file(f"/{style}/catalog.jsonld", "")  # replaced below by a query-aware handler
            pages = {str(n): (folder / f"{style}-collection-{n}.jsonld").read_text("utf-8").replace(
                "http://data.test.org", server.base + f"/{style}") for n in (1, 2)}
            server.handler(f"/{style}/catalog.jsonld", lambda q, r, pages=pages: (
                200, {"Content-Type": "application/ld+json"}, pages[q.get("page", "1")].encode()))
            config = config_for({"name": "cat", "kind": "dcat", "url": server.base + f"/{style}/catalog.jsonld",
                                 "allow_private_addresses": True})
            result = harvest(config, "cat", DataLayout.at(tmp_path / style))
        assert result.complete and result.pages == 2 and len(result.datasets) == 4, style
        assert all(d.license is None and d.license_verdict == "reject" for d in result.datasets)


def test_dcat_licence_levels_and_bad_turtle(tmp_path, shared_data):
    folder = shared_data / "portals/dcat/ckan_ckanext-dcat"
    with PortalServer() as server:
        server.file("/sweden.rdf", (folder / "dataset_sweden.rdf").read_bytes(), content_type="application/rdf+xml")
        server.file("/broken.ttl", (folder / "dataset.ttl").read_bytes(), content_type="text/turtle")
        sweden = config_for({"name": "se", "kind": "dcat", "url": server.base + "/sweden.rdf", "allow_private_addresses": True})
        broken = config_for({"name": "bad", "kind": "dcat", "url": server.base + "/broken.ttl", "allow_private_addresses": True})
        se = harvest(sweden, "se", DataLayout.at(tmp_path / "se"))
        bad = harvest(broken, "bad", DataLayout.at(tmp_path / "bad"))
    assert [(d.license, d.license_verdict) for d in se.datasets] == [("CC-BY-NC-3.0", "reject")]
    assert [f.error_class for f in bad.failures] == ["MalformedResponse"] and "healthdcatap" in bad.failures[0].message


DISTRIBUTIONS_TTL = """
@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://x/d1> a dcat:Dataset ; dct:identifier "d1" ; dcat:distribution <http://x/d1/all>, <http://x/d1/notes> .
<http://x/d1/all> dct:license <https://creativecommons.org/licenses/by/4.0/> ;
    dcat:downloadURL <http://x/part-2.parquet>, <http://x/part-1.parquet> .
<http://x/d1/notes> dcat:accessURL <http://x/notes.html> .
<http://x/d2> a dcat:Dataset ; dct:identifier "d2" ; dcat:distribution <http://x/d2/a>, <http://x/d2/b> .
<http://x/d2/a> dct:license <https://creativecommons.org/licenses/by/4.0/> ; dcat:downloadURL <http://x/a.txt> .
<http://x/d2/b> dct:license <http://creativecommons.org/licenses/by/4.0/> ; dcat:downloadURL <http://x/b.txt> .
"""


def test_dcat_gives_a_resource_per_download_url_and_no_licence_when_a_distribution_is_silent():
    from rdflib import Graph

    from moisson.licence import portal_licence
    from sources.dcat import to_datasets

    graph = Graph().parse(data=DISTRIBUTIONS_TTL, format="turtle")
    d1, d2 = to_datasets("http://x/", graph, lambda values: portal_licence(values, ["CC-BY-4.0"]))
    assert [r.url for r in d1.resources] == ["http://x/part-1.parquet", "http://x/part-2.parquet", "http://x/notes.html"]
    assert len({r.resource_id for r in d1.resources}) == 3
    # one distribution says CC-BY-4.0, the other nothing: what the silent one holds is not known
    assert (d1.license, d1.license_verdict) == (None, "reject")
    assert (d2.license, d2.license_verdict) == ("CC-BY-4.0", "allow")
