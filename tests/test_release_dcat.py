"""A release's DCAT-AP description: valid RDF in Turtle and JSON-LD (the same graph), and harvested back over HTTP by
Moisson's own `dcat` connector with the datasets, distributions, download URLs and licences the manifest gives."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, PROV, RDFS

from harvest_helpers import config_for, fast_client
from moisson.licence import portal_licence
from moisson.release_dcat import release_graph, write_dcat
from pipelines.cli import main
from release_inputs import copy_of, publish
from sources import dcat
from sources.harvest_state import HarvestState

SPDX = "http://spdx.org/licenses/"
FRA = URIRef("http://publications.europa.eu/resource/authority/language/FRA")


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A published corpus (French CC BY 4.0, English CC0) released as 1.0 without a base URL."""
    data = publish(tmp_path_factory.mktemp("released") / "input")
    assert main(["release", "--data-dir", str(data), "--version", "1.0"]) == 0
    return data


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(released):
    """The data directory over HTTP on 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(released)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def harvest_back(url: str) -> list:
    source = config_for({"name": "releases", "kind": "dcat", "url": url, "allow_private_addresses": True}).source("releases")
    licence_of = lambda values: portal_licence(values, ["CC-BY-4.0", "CC0-1.0"])  # noqa: E731
    pages = list(dcat.harvest(source, fast_client(), HarvestState(), licence_of))
    assert all(not page.failures for page in pages), [f.message for page in pages for f in page.failures]
    return [dataset for page in pages for dataset in page.datasets]


@pytest.mark.parametrize("name", ["dcat.ttl", "dcat.jsonld"])
def test_the_dcat_connector_harvests_a_release_back_as_its_manifest_says(released, served, name):
    manifest = json.loads((released / "releases" / "1.0" / "manifest.json").read_text(encoding="utf-8"))
    folder = f"{served}/releases/1.0/"
    [dataset] = harvest_back(folder + name)
    assert dataset.dataset_id == "moisson-release-1.0" and dataset.title == "Moisson corpus, release 1.0"
    assert dataset.landing_page == folder + "README.md"
    data_files = [f for f in manifest["files"] if f["path"].startswith("data/")]
    languages = sorted(manifest["counts"]["by_language"])
    assert sorted(r.resource_id for r in dataset.resources) == [f"1.0/{language}" for language in languages]
    for resource in dataset.resources:  # one distribution per language, its files where the manifest puts them
        language = resource.resource_id.split("/")[1]
        files = [f for f in data_files if f["path"].split("/")[1] == language]
        assert resource.url in {folder + f["path"] for f in files}
        assert resource.size == sum(f["bytes"] for f in files)
        with urllib.request.urlopen(resource.url) as response:
            assert hashlib.sha256(response.read()).hexdigest() in {f["sha256"] for f in files}
        assert resource.checksum == (files[0]["sha256"] if len(files) == 1 else None)
    # French under CC BY, English under CC0: the release as a whole has no one licence, and the connector says so
    assert len(manifest["counts"]["by_licence"]) == 2 and dataset.license is None


def test_each_distribution_states_its_licence_and_the_mixed_release_says_it_is_mixed(released, served):
    manifest = json.loads((released / "releases" / "1.0" / "manifest.json").read_text(encoding="utf-8"))
    url = f"{served}/releases/1.0/dcat.ttl"
    with urllib.request.urlopen(url) as response:
        graph = Graph().parse(data=response.read(), format="turtle", publicID=url)
    [dataset] = graph.subjects(DCAT.distribution, None, unique=True)
    for distribution in graph.objects(dataset, DCAT.distribution):
        language = str(graph.value(distribution, DCTERMS.identifier)).split("/")[1]
        [licence] = manifest["counts"]["by_language_licence"][language]
        assert set(graph.objects(distribution, DCTERMS.license)) == {URIRef(SPDX + licence)}
    assert graph.value(dataset, DCTERMS.license) is None
    rights = str(graph.value(graph.value(dataset, DCTERMS.rights), RDFS.label))
    assert "Mixed licences" in rights and "CC-BY-4.0 (3 documents)" in rights and "CC0-1.0 (2 documents)" in rights
    assert FRA in set(graph.objects(dataset, DCTERMS.language))
    derived = set(graph.objects(dataset, PROV.wasDerivedFrom))
    assert {str(graph.value(node, DCTERMS.title)) for node in derived} == {"notes_fr", "notes_en"}


def test_turtle_and_json_ld_are_the_same_graph(released, served):
    graphs = []
    for name, fmt in (("dcat.ttl", "turtle"), ("dcat.jsonld", "json-ld")):
        url = f"{served}/releases/1.0/{name}"
        with urllib.request.urlopen(url) as response:
            graphs.append(Graph().parse(data=response.read(), format=fmt, publicID=url))
    assert len(graphs[0]) > 40 and isomorphic(graphs[0], graphs[1])
    text = (released / "releases" / "1.0" / "dcat.ttl").read_text(encoding="utf-8")
    assert "invalid" not in text and str(released) not in text  # no placeholder, no local path: relative IRIs


def manifest_for(licences: dict[str, dict[str, int]]) -> dict:
    """A manifest's fields the DCAT description reads: language -> licence -> documents."""
    by_licence: dict[str, dict] = {}
    for per_language in licences.values():
        for licence, n in per_language.items():
            by_licence.setdefault(licence, {"documents": 0, "words": 0})["documents"] += n
    return {
        "version": "2.0", "released_at": "2026-01-01T00:00:00Z",
        "files": [{"path": f"data/{language}/part-1.parquet", "bytes": 10, "sha256": "0" * 64, "rows": 1}
                  for language in licences],
        "counts": {"total": {"documents": 3, "words": 30},
                   "by_language": {language: {"documents": sum(v.values()), "words": 0} for language, v in licences.items()},
                   "by_licence": by_licence,
                   "by_language_licence": {language: {lic: {"documents": n, "words": 0} for lic, n in v.items()}
                                           for language, v in licences.items()}},
        "sources": [{"name": "portal", "kind": "dcat"}],
    }


def test_one_licence_for_the_whole_release_comes_back_through_the_connector():
    graph = release_graph(manifest_for({"fr": {"etalab-2.0": 2}, "de": {"etalab-2.0": 1}}),
                          [{"source": "portal", "dataset_id": "d1", "title": "Budget", "landing_page": "https://data.example/d1"}],
                          "https://releases.example/2.0/")
    parsed = Graph().parse(data=graph.serialize(format="turtle"), format="turtle")
    [dataset] = dcat.to_datasets("https://releases.example/2.0/dcat.ttl", parsed, lambda values: portal_licence(values))
    assert dataset.license == "etalab-2.0"
    assert {r.url for r in dataset.resources} == {"https://releases.example/2.0/data/fr/part-1.parquet",
                                                  "https://releases.example/2.0/data/de/part-1.parquet"}
    node = URIRef("https://releases.example/2.0/#dataset")
    assert URIRef("https://data.example/d1") in set(parsed.objects(node, PROV.wasDerivedFrom))


def test_a_language_under_several_licences_claims_none_of_them():
    graph = release_graph(manifest_for({"fr": {"CC-BY-4.0": 1, "CC0-1.0": 1}}), [], "https://releases.example/2.0/")
    distribution = URIRef("https://releases.example/2.0/#distribution-fr")
    assert graph.value(distribution, DCTERMS.license) is None
    label = graph.value(graph.value(distribution, DCTERMS.rights), RDFS.label)
    assert isinstance(label, Literal) and "CC-BY-4.0 (1 documents)" in label and "CC0-1.0 (1 documents)" in label
    [dataset] = dcat.to_datasets("https://releases.example/2.0/dcat.ttl", graph, lambda values: portal_licence(values))
    assert dataset.license is None  # fail-closed: nothing says one licence


def test_with_a_base_url_every_iri_is_absolute(tmp_path):
    manifest = manifest_for({"fr": {"CC-BY-4.0": 3}}) | {"previous_release": "1.9"}
    write_dcat(tmp_path, manifest, [], "https://releases.example/corpus/2.0", tmp_path / "tmp")
    graph = Graph().parse(tmp_path / "dcat.jsonld", format="json-ld")
    urls = {str(u) for u in graph.objects(None, DCAT.downloadURL)}
    assert urls == {"https://releases.example/corpus/2.0/data/fr/part-1.parquet"}
    previous = URIRef("http://www.w3.org/ns/dcat#previousVersion")
    assert str(graph.value(URIRef("https://releases.example/corpus/2.0/#dataset"), previous)) == \
        "https://releases.example/corpus/1.9/#dataset"
    assert isomorphic(graph, Graph().parse(tmp_path / "dcat.ttl", format="turtle"))


def test_without_a_base_url_the_files_name_the_previous_release_beside_them_and_do_not_vary(tmp_path):
    manifest = manifest_for({"fr": {"CC-BY-4.0": 1, "CC0-1.0": 2}, "de": {"etalab-2.0": 1}}) | {"previous_release": "1.9"}
    datasets = [{"source": "portal", "dataset_id": f"d{i}", "title": f"T{i}", "landing_page": f"https://x.example/{i}"}
                for i in range(5)]
    (tmp_path / "inputs.json").write_text(json.dumps([manifest, datasets]), encoding="utf-8")
    written = []
    for attempt, seed in (("a", "1"), ("b", "2")):  # rdflib's order of sets follows the hash seed
        code = ("import json, sys; from pathlib import Path; from moisson.release_dcat import write_dcat; "
                "m, d = json.loads(Path(sys.argv[1]).read_text()); write_dcat(Path(sys.argv[2]), m, d, None, Path(sys.argv[3]))")
        subprocess.run([sys.executable, "-c", code, str(tmp_path / "inputs.json"), str(tmp_path / attempt), str(tmp_path / "tmp")],
                       check=True, env={**os.environ, "PYTHONHASHSEED": seed}, cwd=Path(__file__).parents[1])
        written.append([(tmp_path / attempt / name).read_bytes() for name in ("dcat.ttl", "dcat.jsonld")])
    assert written[0] == written[1]
    previous = URIRef("http://www.w3.org/ns/dcat#previousVersion")
    for name, fmt in (("dcat.ttl", "turtle"), ("dcat.jsonld", "json-ld")):
        graph = Graph().parse(tmp_path / "a" / name, format=fmt, publicID=f"https://h.example/releases/2.0/{name}")
        assert str(graph.value(URIRef("https://h.example/releases/2.0/#dataset"), previous)) == \
            "https://h.example/releases/1.9/#dataset"
        assert len(set(graph.objects(None, PROV.wasDerivedFrom))) == 6  # the source and the five datasets
