"""OAI-PMH 2.0 `ListRecords`: resumptionToken to the end, incremental by datestamp, oai_dc mapped.

Why these rules (from the protocol and from real servers):
- a list ends when a page has no resumptionToken, or an empty one; never from `cursor` or
  `completeListSize`, which servers get wrong;
- `noRecordsMatch` is an empty result, not a failure, and real servers (Zenodo) send protocol
  errors with HTTP 422 instead of 200: the body decides, not the status;
- a deleted record (`<header status="deleted">`) is kept in the catalogue, marked deleted;
- the same identifier may come back on a later page: the later copy wins (upsert);
- a header without an identifier is a bad record: reported, and the page goes on;
- XML is parsed without DTDs or entity expansion (defusedxml): a hostile server cannot make us
  expand a billion laughs or read local files;
- a document's id must not depend on the address the repository is served at: a link on the
  endpoint's own origin is identified by its path, not by a URL that holds the host and port;
- a `dc:identifier` or `dc:relation` that points to a full-text file (a path ending .pdf, .docx, .odt,
  .epub, .xml or .txt, or HAL's `/document` and `/file/...` links) is a resource only when the record
  allows it: its licence's verdict is `allow` (or it has none and the source asserts one whose verdict is):
  a repository's PDFs are its authors' works, and a record that does not license them is not fetched. Other
  http(s) identifiers (landing pages) stay resources whatever the licence, as before;
- a Gallica record (BnF's OAI-NUM repository, `oai:bnf.fr:gallica/...`) is read as `kind: gallica` reads
  it: `domaine public` is the Public Domain Mark, and its one resource is the document's text mode, only
  when it is in the public domain; its ARK page is Gallica's viewer, not a text, and stays the landing page.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlencode, urlsplit, urlunsplit
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from moisson.config import OaiPmhSource
from moisson.licence import PortalLicence
from sources import gallica
from sources.catalogue import EXTENSIONS, Dataset, Page, Resource, normalise_format
from sources.harvest_state import HarvestState
from sources.http import FetchError, HttpClient
from sources.records import ReadFailure

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
EMPTY_RESULT = "noRecordsMatch"
STALE_TOKEN = "badResumptionToken"
MAX_STALE_PAGES = 5  # pages in a row, each with a resumptionToken, bringing no record not already met: a list that never ends
LicenceOf = Callable[[list[str | None]], PortalLicence]
FULL_TEXT_SUFFIXES = (".pdf", ".docx", ".odt", ".epub", ".xml", ".txt")
GALLICA_RECORD = "oai:bnf.fr:gallica/"  # a record of the BnF's OAI-NUM repository: a Gallica document
HAL_FILE_PATH = re.compile(r"/(?:document|file/[^/]+)/?$")  # HAL: <record>/document (main file), <record>/file/<name>


class OaiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


def harvest(source: OaiPmhSource, client: HttpClient, state: HarvestState, licence_of: LicenceOf) -> Iterator[Page]:
    checkpoint = state.checkpoint or {"token": None, "from": state.watermark or source.from_}
    token = checkpoint.get("token")
    asked, seen, stale = set(), set(), 0  # tokens and identifiers met by this run: a list must end
    while True:
        if token is not None and token in asked:
            yield _loop(source, token, f"resumptionToken {token[:80]!r} was already followed by this run")
            return
        asked.add(token)
        url = list_records_url(source, token, checkpoint.get("from"))
        try:
            root = parse_response(client.get(url, accept=lambda status: status < 500).body)
            records, next_token = _list_records(root)
        except OaiError as exc:
            if exc.code == EMPTY_RESULT:
                yield Page([], [], None)
                return
            failure = ReadFailure(source.name, url, "catalogue", f"OAI:{exc.code}", str(exc)[:500])
            # an expired token cannot be retried: the next run starts again from the watermark
            yield Page([], [failure], stopped=True, abandoned=exc.code == STALE_TOKEN and token is not None)
            return
        except (FetchError, ValueError) as exc:
            error_class = exc.error_class if isinstance(exc, FetchError) else "MalformedResponse"
            yield Page([], [ReadFailure(source.name, url, "catalogue", error_class, str(exc)[:500])], stopped=True)
            return
        datasets, failures = [], []
        for position, record in enumerate(records):
            try:
                datasets.append(to_dataset(source.url, record, licence_of, source.license))
            except ValueError as exc:
                failures.append(ReadFailure(source.name, f"{url}#record{position + 1}", "catalogue", "BadRecord", str(exc)))
        stale = stale + 1 if not records or (datasets and seen.issuperset(d.dataset_id for d in datasets)) else 0
        if next_token and stale >= MAX_STALE_PAGES:
            yield _loop(source, url, f"{stale} pages in a row without a new record, and still a resumptionToken")
            return
        seen.update(d.dataset_id for d in datasets)
        newest = max((d.modified for d in datasets if d.modified), default=None)
        next_checkpoint = {"token": next_token, "from": checkpoint.get("from")} if next_token else None
        yield Page(datasets, failures, next_checkpoint, newest)
        if not next_token:
            return
        token = next_token


def _loop(source: OaiPmhSource, where: str, why: str) -> Page:
    """A list that would never end: stop, keep the pages already written, and leave the watermark where it was
    (datestamps are not ordered, so advancing it could skip records this run never reached)."""
    return Page([], [ReadFailure(source.name, where, "catalogue", "PagingLoop", why)], stopped=True, abandoned=True)


def list_records_url(source: OaiPmhSource, token: str | None, since: str | None) -> str:
    if token:
        query = {"verb": "ListRecords", "resumptionToken": token}
    else:
        query = {"verb": "ListRecords", "metadataPrefix": source.metadata_prefix}
        query.update({k: v for k, v in (("set", source.set), ("from", since), ("until", source.until)) if v})
    return f"{source.url}{'&' if '?' in source.url else '?'}{urlencode(query)}"


def xml_answer(body: bytes, root_tag: str, protocol: str) -> Element:
    """An XML API answer's root element, parsed without DTD or entities; ValueError naming what it is instead."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise ValueError(f"not well-formed XML (or forbidden DTD/entities): {exc}") from None
    if root.tag != root_tag:
        raise ValueError(f"not an {protocol} response (root element {root.tag[:80]!r})")
    return root


def parse_response(body: bytes) -> Element:
    """The OAI-PMH root element; raise OaiError for protocol errors, ValueError for anything that is not OAI-PMH."""
    root = xml_answer(body, f"{OAI}OAI-PMH", "OAI-PMH")
    error = root.find(f"{OAI}error")
    if error is not None:
        raise OaiError(error.get("code") or "unknown", (error.text or "").strip())
    return root


def _list_records(root: Element) -> tuple[list[Element], str | None]:
    container = root.find(f"{OAI}ListRecords")
    if container is None:
        raise ValueError("OAI-PMH response without ListRecords")
    token = container.find(f"{OAI}resumptionToken")
    text = (token.text or "").strip() if token is not None else ""
    return container.findall(f"{OAI}record"), text or None


def to_dataset(portal: str, record: Element, licence_of: LicenceOf, asserted: str | None = None) -> Dataset:
    """One record as a catalogue record; `asserted` is the source's own licence, for records that give none."""
    header = record.find(f"{OAI}header")
    identifier = (header.findtext(f"{OAI}identifier") or "").strip() if header is not None else ""
    if not identifier:
        raise ValueError("record header has no identifier (invalid OAI-PMH)")
    dc = record.find(f"{OAI}metadata/*")
    values = (lambda name: [v.strip() for e in dc.iter(f"{DC}{name}") if (v := e.text) and v.strip()]) if dc is not None else (lambda name: [])
    identifiers, rights = values("identifier"), values("rights")
    from_gallica = identifier.startswith(GALLICA_RECORD)
    licence = gallica.gallica_licence(rights, licence_of) if from_gallica else licence_of(rights)
    resources = (gallica.document_text(identifiers, rights) if from_gallica else
                 tuple(_resources(portal, identifiers, values("relation"), _allows(licence, asserted, licence_of))))
    return Dataset(
        portal=portal,
        dataset_id=identifier,
        title=_first(values("title")),
        description=_first(values("description")),
        publisher=_first(values("publisher")) or _first(values("creator")),
        language=_first(values("language")),
        created=_first(values("date")),
        modified=(header.findtext(f"{OAI}datestamp") or "").strip() or None,
        landing_page=next((i for i in identifiers if i.startswith(("http://", "https://"))), None),
        license_raw=licence.raw,
        license=licence.spdx,
        license_verdict=licence.verdict,
        identifiers=tuple(identifiers),
        deleted=header.get("status") == "deleted",
        resources=resources,
    )


def _allows(licence: PortalLicence, asserted: str | None, licence_of: LicenceOf) -> bool:
    """Whether the record licenses its files: its own licence is allowed, or it has none and the source's is."""
    if licence.spdx is not None:
        return licence.verdict == "allow"
    return asserted is not None and licence_of([asserted]).verdict == "allow"


def _resources(endpoint: str, identifiers: list[str], relations: list[str], allowed: bool) -> Iterator[Resource]:
    """Links to documents: http(s) identifiers and relations that name a file; full-text files only when allowed."""
    files = [r for r in relations if is_full_text(r) or any(_path(r).endswith(ext) for ext in EXTENSIONS)]
    for url in dict.fromkeys(identifiers + files):
        if not url.startswith(("http://", "https://")):
            continue
        full_text = is_full_text(url)
        if full_text and not allowed:
            continue
        yield Resource(resource_id=link_id(endpoint, url), url=url,
                       format=normalise_format(url) or ("pdf" if full_text else None))


def is_full_text(url: str) -> bool:
    """A link to a full-text file, by its path: a document file's extension, or HAL's file links."""
    if not url.startswith(("http://", "https://")):
        return False
    path = _path(url)
    return path.endswith(FULL_TEXT_SUFFIXES) or bool(HAL_FILE_PATH.search(path))


def _path(url: str) -> str:
    """A link's path in lower case; empty for a value no URL parser reads (it is then no file link)."""
    try:
        return urlsplit(url.strip()).path.lower()
    except ValueError:
        return ""


def link_id(endpoint: str, url: str) -> str:
    """A link's resource id, the same wherever the repository is served.

    A link on the endpoint's own origin (scheme, host, port) is identified by its path and query: the same
    repository moved to another port or host name (a second `make demo`, a new domain) keeps its documents'
    ids. A link elsewhere (a DOI resolver, a publisher) by its whole URL, as before.
    """
    target = urlsplit(url)
    identity = urlunsplit(("", "", target.path or "/", target.query, "")) if _origin(target) == _origin(
        urlsplit(endpoint)) else url
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _origin(parts) -> tuple[str, str | None, int | None] | None:
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:  # a port that is not a number: no origin to share
        return None
    return parts.scheme.lower(), parts.hostname, port


def _first(values: list[str]) -> str | None:
    return values[0] if values else None
