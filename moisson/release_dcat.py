"""A release described in DCAT-AP (Turtle and JSON-LD), so that data portals and Moisson's own `dcat` connector
can list it: a catalogue, the release as one dataset, one distribution per language.

Licences are said only where they are true: a distribution (or the dataset) gets `dct:license` with the SPDX
licence URI when all its documents share that licence; when they do not, it gets `dct:rights`, a statement
listing the licences and saying that each document carries its own (the corpus's `license` column).

Without a base URL the IRIs are relative (`./#dataset`, `data/fr/part-00000.parquet`), resolved against
wherever the file is served or read from; `./` is used rather than `#...` so that both files, side by side,
name the same things. rdflib writes absolute IRIs only, so the graph is built under a placeholder root that
is then written as `./`.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urljoin

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, XSD

from moisson.atomic_files import write_text

# ISO 639-1 (the corpus's language codes) -> the EU Publications Office language authority's codes (ISO 639-3
# based): the 24 official EU languages, regional languages of EU states, then the others language detection names.
EU_LANGUAGE_CODES = dict(pair.split(":") for pair in (
    "bg:BUL cs:CES da:DAN de:DEU el:ELL en:ENG es:SPA et:EST fi:FIN fr:FRA ga:GLE hr:HRV hu:HUN it:ITA lt:LIT "
    "lv:LAV mt:MLT nl:NLD pl:POL pt:POR ro:RON sk:SLK sl:SLV sv:SWE "
    "ca:CAT eu:EUS gl:GLG cy:CYM br:BRE oc:OCI co:COS lb:LTZ fy:FRY gd:GLA "
    "af:AFR ar:ARA be:BEL bn:BEN bs:BOS eo:EPO fa:FAS he:HEB hi:HIN hy:HYE id:IND is:ISL ja:JPN ka:KAT kk:KAZ "
    "ko:KOR la:LAT mk:MKD ms:MSA nb:NOB nn:NNO no:NOR ru:RUS sq:SQI sr:SRP sw:SWA ta:TAM th:THA tr:TUR uk:UKR "
    "ur:URD vi:VIE zh:ZHO").split())
PLACEHOLDER_ROOT = "http://moisson-release-root.invalid/"
EU_LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")
EU_FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
SPDX_LICENCE = Namespace("http://spdx.org/licenses/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
PARQUET_MEDIA_TYPE = URIRef("http://www.iana.org/assignments/media-types/application/vnd.apache.parquet")
CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "owl": str(OWL), "prov": str(PROV), "rdfs": str(RDFS),
           "spdx": str(SPDX), "xsd": str(XSD)}
DCAT_VERSION = URIRef(str(DCAT) + "version")  # DCAT 3's dcat:version and dcat:previousVersion;
DCAT_PREVIOUS_VERSION = URIRef(str(DCAT) + "previousVersion")  # rdflib's DCAT namespace predates them
NOT_SPDX = ("LicenseRef-", "unknown")


def write_dcat(release_dir: Path, manifest: dict, datasets: list[dict], base_url: str | None, tmp_dir: Path) -> None:
    """release_dir/dcat.ttl and dcat.jsonld, the same graph in both."""
    root = base_url.rstrip("/") + "/" if base_url else PLACEHOLDER_ROOT
    graph = release_graph(manifest, datasets, root)
    turtle = graph.serialize(format="turtle")
    document = _sorted_lists(json.loads(graph.serialize(format="json-ld", context=CONTEXT)))
    if not base_url:
        turtle = turtle.replace(f"<{PLACEHOLDER_ROOT}", "<./")
        document = _relative_ids(document)
    write_text(turtle, release_dir / "dcat.ttl", tmp_dir)
    write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", release_dir / "dcat.jsonld", tmp_dir)


def release_graph(manifest: dict, datasets: list[dict], root: str) -> Graph:
    graph = Graph()
    for prefix, namespace in CONTEXT.items():
        graph.bind(prefix, namespace)
    version, counts = manifest["version"], manifest["counts"]
    catalogue, dataset = URIRef(root + "#catalog"), URIRef(root + "#dataset")
    title = f"Moisson corpus, release {version}"
    graph.add((catalogue, RDF.type, DCAT.Catalog))
    graph.add((catalogue, DCTERMS.title, Literal(f"Moisson corpus releases: {version}", lang="en")))
    graph.add((catalogue, DCTERMS.description, Literal("The release of a Moisson corpus described in DCAT-AP.", lang="en")))
    graph.add((catalogue, DCAT.dataset, dataset))
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.identifier, Literal(f"moisson-release-{version}")))
    graph.add((dataset, DCTERMS.title, Literal(title, lang="en")))
    graph.add((dataset, DCTERMS.description, Literal(_description(counts), lang="en")))
    graph.add((dataset, DCAT_VERSION, Literal(version)))
    graph.add((dataset, OWL.versionInfo, Literal(version)))
    graph.add((dataset, DCTERMS.issued, Literal(manifest["released_at"], datatype=XSD.dateTime)))
    graph.add((dataset, DCAT.landingPage, URIRef(root + "README.md")))
    if manifest.get("previous_release"):
        graph.add((dataset, DCAT_PREVIOUS_VERSION, _beside(root, quote(manifest["previous_release"], safe="") + "/#dataset")))
    for language in sorted(counts["by_language"]):
        graph.add((dataset, DCTERMS.language, language_term(language)))
    _licence(graph, dataset, root + "#rights", counts["by_licence"])
    files = [f for f in manifest["files"] if f["path"].startswith("data/")]
    for language in sorted(counts["by_language"]):
        _distribution(graph, dataset, root, version, language, counts.get("by_language_licence", {}).get(language, {}),
                      [f for f in files if f["path"].split("/")[1] == language])
    _derived_from(graph, dataset, root, manifest["sources"], datasets)
    return graph


def language_term(code: str) -> URIRef | Literal:
    """The EU language authority's IRI for an ISO 639-1 code; the code itself when it has none."""
    authority = EU_LANGUAGE_CODES.get(code)
    return EU_LANGUAGE[authority] if authority else Literal(code)


def _beside(root: str, relative: str) -> URIRef:
    """An IRI in the folder next to this release's (releases/<other>/...): `../` kept as written under the
    placeholder root (it is written relative), resolved against a real base URL."""
    return URIRef(root + "../" + relative if root == PLACEHOLDER_ROOT else urljoin(root, "../" + relative))


def _description(counts: dict) -> str:
    total = counts["total"]
    return (f"{total['documents']} documents ({total['words']} words) in {len(counts['by_language'])} language(s), "
            "each with its licence (SPDX id), the evidence for it, its source and where it was found. "
            "Parquet files, one folder per language; manifest.json lists every file with its sha256.")


def _distribution(graph: Graph, dataset: URIRef, root: str, version: str, language: str, licences: dict,
                  files: list[dict]) -> None:
    node = URIRef(root + "#distribution-" + quote(language, safe=""))
    graph.add((dataset, DCAT.distribution, node))
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.identifier, Literal(f"{version}/{language}")))
    graph.add((node, DCTERMS.title, Literal(f"Documents in {language}", lang="en")))
    graph.add((node, DCTERMS.language, language_term(language)))
    graph.add((node, DCAT.accessURL, URIRef(root + "data/" + quote(language, safe="") + "/")))  # DCAT-AP: mandatory
    graph.add((node, DCAT.mediaType, PARQUET_MEDIA_TYPE))
    graph.add((node, DCTERMS["format"], EU_FILE_TYPE.PARQUET))
    graph.add((node, DCAT.byteSize, Literal(sum(f["bytes"] for f in files), datatype=XSD.nonNegativeInteger)))
    for file in files:
        graph.add((node, DCAT.downloadURL, URIRef(root + quote(file["path"]))))
    if len(files) == 1:  # DCAT-AP's checksum is the distribution's file's; with several files, manifest.json has each
        checksum = URIRef(root + "#checksum-" + quote(language, safe=""))
        graph.add((node, SPDX.checksum, checksum))
        graph.add((checksum, RDF.type, SPDX.Checksum))
        graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        graph.add((checksum, SPDX.checksumValue, Literal(files[0]["sha256"], datatype=XSD.hexBinary)))
    _licence(graph, node, root + "#rights-" + quote(language, safe=""), licences)


def _licence(graph: Graph, node: URIRef, rights_iri: str, licences: dict) -> None:
    """dct:license when one SPDX licence covers every document under `node`, else a dct:rights statement."""
    names = sorted(licences)
    if len(names) == 1 and not names[0].startswith(NOT_SPDX):
        licence = SPDX_LICENCE[names[0]]
        graph.add((node, DCTERMS.license, licence))
        graph.add((licence, RDF.type, DCTERMS.LicenseDocument))
        return
    if not names:
        return
    listed = ", ".join(f"{name} ({licences[name]['documents']} documents)" for name in names)
    rights = URIRef(rights_iri)
    graph.add((node, DCTERMS.rights, rights))
    graph.add((rights, RDF.type, DCTERMS.RightsStatement))
    graph.add((rights, RDFS.label, Literal(
        f"Mixed licences: each document carries its own, in its `license` column (SPDX id): {listed}.", lang="en")))


def _derived_from(graph: Graph, dataset: URIRef, root: str, sources: list[dict], datasets: list[dict]) -> None:
    for source in sources:
        node = URIRef(root + "#source-" + quote(source["name"], safe=""))
        graph.add((dataset, PROV.wasDerivedFrom, node))
        graph.add((node, RDF.type, PROV.Entity))
        graph.add((node, DCTERMS.title, Literal(source["name"])))
        if source.get("kind"):
            graph.add((node, DCTERMS.type, Literal(source["kind"])))
        if source.get("description"):
            graph.add((node, DCTERMS.description, Literal(source["description"])))
    for harvested in datasets:
        node = _harvested_iri(harvested)
        graph.add((dataset, PROV.wasDerivedFrom, node))
        graph.add((node, RDF.type, PROV.Entity))
        graph.add((node, DCTERMS.identifier, Literal(harvested["dataset_id"])))
        if harvested.get("title"):
            graph.add((node, DCTERMS.title, Literal(harvested["title"])))
        graph.add((node, DCTERMS.source, URIRef(root + "#source-" + quote(harvested["source"], safe=""))))


def _harvested_iri(harvested: dict) -> URIRef:
    """The dataset's landing page when it has one; else a URN naming the source and the portal's id."""
    page = harvested.get("landing_page") or ""
    if page.startswith(("http://", "https://")):
        return URIRef(quote(page, safe=":/?#[]@!$&'()*+,;=%~"))
    return URIRef(f"urn:moisson:dataset:{quote(harvested['source'], safe='')}:{quote(harvested['dataset_id'], safe='')}")


def _sorted_lists(value: object) -> object:
    """rdflib writes JSON-LD arrays in the order of a hash: sorted, the file is the same from one run to the next
    (no `@list` is written, so no order carries meaning)."""
    if isinstance(value, dict):
        return {key: _sorted_lists(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted((_sorted_lists(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _relative_ids(value: object) -> object:
    """JSON-LD with every placeholder-rooted IRI written relative to the file (`./...`)."""
    if isinstance(value, dict):
        return {key: _relative_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_relative_ids(item) for item in value]
    if isinstance(value, str) and value.startswith(PLACEHOLDER_ROOT):
        return "./" + value.removeprefix(PLACEHOLDER_ROOT)
    return value
