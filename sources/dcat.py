"""DCAT / DCAT-AP catalogues in RDF (Turtle, RDF/XML, JSON-LD), paged with hydra (`next`, legacy `nextPage`).

Why these precautions: RDF parsers are built to follow links. Pages are parsed by `offline_rdf`,
which refuses DTDs and entities, refuses JSON-LD contexts named by reference (anywhere in the page)
and seals the parse so that it cannot open a URL or a file: no request leaves the HTTP layer. A page
refused for its contexts is a failure naming them; its datasets are skipped (a context left out
changes what terms mean, licences included), and the harvest goes on to the next page when the page
still says where it is.

Licence levels (DCAT-AP puts licences on the catalogue, the dataset and each distribution): the most
specific level that says something decides, dataset, then its distributions (which must all state one, and
agree), then the catalogue; contradictory values, or distributions of which some are silent, give no licence
(fail-closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from moisson.config import DcatSource
from moisson.licence import PortalLicence
from sources.catalogue import Dataset, Page, Resource, byte_size, normalise_format
from sources.harvest_state import HarvestState
from sources.http import FetchError, HttpClient
from sources.offline_rdf import RemoteContext, load_json, parse_graph, parse_sealed, without_remote_contexts
from sources.records import ReadFailure

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
FORMATS = {"text/turtle": "turtle", "application/x-turtle": "turtle", "application/rdf+xml": "xml",
           "application/ld+json": "json-ld", "application/json": "json-ld", "text/n3": "n3"}
EXTENSIONS = {".ttl": "turtle", ".rdf": "xml", ".xml": "xml", ".jsonld": "json-ld", ".json": "json-ld", ".n3": "n3"}
LicenceOf = Callable[[list[str | None]], PortalLicence]


def harvest(source: DcatSource, client: HttpClient, state: HarvestState, licence_of: LicenceOf) -> Iterator[Page]:
    url = (state.checkpoint or {}).get("next") or source.url
    visited: set[str] = set()
    while url:
        if url in visited:
            yield Page([], [ReadFailure(source.name, url, "catalogue", "PagingLoop", "hydra:next points back to a page already read")])
            return
        visited.add(url)
        try:
            response = client.get(url, headers={"Accept": "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8"})
            graph = parse_graph(response.body, rdf_format(response.content_type, url), url)
        except RemoteContext as exc:
            next_url = next_page_despite_contexts(response.body, url)
            yield Page([], [ReadFailure(source.name, url, "catalogue", "RemoteContextRefused",
                                        f"{exc}; the page's datasets are skipped")], {"next": next_url} if next_url else None)
            url = next_url
            continue
        except (FetchError, ValueError) as exc:
            error_class = exc.error_class if isinstance(exc, FetchError) else "MalformedResponse"
            yield Page([], [ReadFailure(source.name, url, "catalogue", error_class, str(exc)[:500])], stopped=True)
            return
        bad: list[tuple[str, str]] = []
        datasets = list(to_datasets(source.url, graph, licence_of, bad))
        failures = [ReadFailure(source.name, f"{url}#{node[:200]}", "catalogue", "BadRecord", why) for node, why in bad]
        next_url = next_page(graph)
        newest = max((d.modified for d in datasets if d.modified), default=None)
        yield Page(datasets, failures, {"next": next_url} if next_url else None, newest)
        url = next_url


def rdf_format(content_type: str, url: str) -> str:
    if content_type in FORMATS:
        return FORMATS[content_type]
    path = url.split("?", 1)[0].lower()
    return next((fmt for ext, fmt in EXTENSIONS.items() if path.endswith(ext)), "turtle")


def next_page_despite_contexts(body: bytes, url: str) -> str | None:
    """The next page's URL read from a JSON-LD page with its context references dropped, if it still says it."""
    try:
        return next_page(parse_sealed(without_remote_contexts(load_json(body)), "json-ld", url))
    except ValueError:
        return None


def next_page(graph: Graph) -> str | None:
    for predicate in (HYDRA.next, HYDRA.nextPage):
        for value in graph.objects(None, predicate):
            return str(value)
    return None


def to_datasets(portal: str, graph: Graph, licence_of: LicenceOf,
                bad: list[tuple[str, str]] | None = None) -> Iterator[Dataset]:
    """The page's datasets; one that cannot be read is skipped and, given `bad`, listed there (node, why)."""
    catalogue_licences = [_text(graph, v) for c in graph.subjects(RDF.type, DCAT.Catalog) for v in graph.objects(c, DCTERMS.license)]
    for node in sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=str):
        try:
            dataset = _dataset(portal, graph, node, catalogue_licences, licence_of)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            if bad is not None:
                bad.append((str(node), f"{type(exc).__name__}: {str(exc)[:300]}"))
            continue
        yield dataset


def _dataset(portal: str, graph: Graph, node, catalogue_licences: list[str | None], licence_of: LicenceOf) -> Dataset:
    distributions = sorted(graph.objects(node, DCAT.distribution), key=str)
    own = [_text(graph, v) for v in graph.objects(node, DCTERMS.license)]
    licence = licence_of(own or _distribution_licences(graph, distributions) or catalogue_licences)
    identifier = _literal(graph, node, DCTERMS.identifier) or str(node)
    return Dataset(
        portal=portal,
        dataset_id=identifier,
        title=_literal(graph, node, DCTERMS.title),
        description=_literal(graph, node, DCTERMS.description),
        publisher=_publisher(graph, node),
        language=_literal(graph, node, DCTERMS.language),
        created=_literal(graph, node, DCTERMS.issued),
        modified=_literal(graph, node, DCTERMS.modified),
        landing_page=_literal(graph, node, DCAT.landingPage) or (str(node) if isinstance(node, URIRef) else None),
        license_raw=licence.raw,
        license=licence.spdx,
        license_verdict=licence.verdict,
        identifiers=tuple(dict.fromkeys([identifier] + ([str(node)] if isinstance(node, URIRef) else []))),
        resources=tuple(r for d in distributions for r in _resources(graph, d)),
    )


def _distribution_licences(graph: Graph, distributions: list) -> list[str | None]:
    """The distributions' licences, when each of them states one; a distribution that states none could hold
    anything, so a dataset whose distributions do not all speak gets none from them (fail-closed)."""
    per_distribution = [[_text(graph, v) for v in graph.objects(d, DCTERMS.license)] for d in distributions]
    if any(not values for values in per_distribution):
        return []
    return [value for values in per_distribution for value in values]


def _resources(graph: Graph, node) -> list[Resource]:
    """One resource per file: a distribution may list several `dcat:downloadURL`s (a release's parts, say); without
    one, its `dcat:accessURL`."""
    urls = sorted(str(v) for v in graph.objects(node, DCAT.downloadURL)) or \
        [url for url in [_literal(graph, node, DCAT.accessURL)] if url]
    if not urls:
        return []
    media_type = _literal(graph, node, DCAT.mediaType)
    fmt = _literal(graph, node, DCTERMS["format"])
    identifier = _literal(graph, node, DCTERMS.identifier) or (str(node) if isinstance(node, URIRef) else None)
    single = len(urls) == 1  # then the distribution's size and checksum are the file's
    checksum = next((_literal(graph, c, SPDX.checksumValue) for c in graph.objects(node, SPDX.checksum)), None)
    return [Resource(
        resource_id=(identifier or url) if single else f"{identifier}#{url}" if identifier else url,
        url=url, title=_literal(graph, node, DCTERMS.title),
        format=normalise_format(_last_segment(fmt), _last_segment(media_type), media_type, url),
        media_type=media_type, size=byte_size(_literal(graph, node, DCAT.byteSize)) if single else None,
        checksum=checksum if single else None, modified=_literal(graph, node, DCTERMS.modified),
    ) for url in urls]


def _publisher(graph: Graph, node) -> str | None:
    publisher = graph.value(node, DCTERMS.publisher)
    if publisher is None:
        return None
    return _literal(graph, publisher, FOAF.name) or _text(graph, publisher)


def _literal(graph: Graph, node, predicate) -> str | None:
    values = list(graph.objects(node, predicate))
    if not values:
        return None
    preferred = [v for v in values if isinstance(v, Literal) and v.language in (None, "en")] or values
    return _text(graph, sorted(preferred, key=str)[0])


def _text(graph: Graph, value) -> str | None:
    """A URI or literal as text; a blank node by its label, title or identifier."""
    if isinstance(value, BNode):
        for predicate in (RDFS.label, DCTERMS.title, DCTERMS.identifier):
            label = graph.value(value, predicate)
            if label is not None:
                return str(label)
        return None
    return str(value) if value is not None else None


def _last_segment(value: str | None) -> str | None:
    return value.rstrip("/").rsplit("/", 1)[-1] if value and value.startswith("http") else value
