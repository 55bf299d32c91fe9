"""Gallica (BnF) SRU `searchRetrieve` 1.2: every record of a CQL query, paged by startRecord, oai_dc mapped, and the
text mode (`<ark>.texteBrut`) of the public-domain documents as their full text.

Why these rules (from the SRU 1.2 standard and from Gallica's recorded answers):
- paging follows the answer's `nextRecordPosition` (Gallica numbers its records from 0 in some answers and
  from 1 in others: the server's own next position is the one to trust), and stops when it is absent,
  when a page brings no record, past `numberOfRecords`, or at the source's `max_records`; a next position
  that does not move forward is a loop, stopped and reported;
- a record is identified by its ARK (`ark:/12148/...`), never by the host that served it, so a mirror or
  a test server gives the same ids; a record without an ARK is reported (BadRecord) and the page goes on;
- rights: Gallica writes `domaine public` / `public domain` for works in the public domain, which is what
  the Public Domain Mark states: such a record gets `CC-PDM-1.0` (the policy decides whether it may enter
  the corpus), its `dc:rights` kept as the raw evidence. Any other statement, or a PD statement beside one
  that is not, leaves the record without a licence (fail-closed), and without a resource;
- only a document (an ARK without a path after it) has a text mode; a periodical's `.../date` record is
  a calendar of issues and has none. Gallica groups a periodical's issues under such a record unless asked
  not to (`collapsing=false`, the default here), so each issue comes as a document with its own text. The
  text mode answers an HTML page of the OCRed text (format html);
- SRU has no filter on modification dates: every run pages the whole query. Unchanged records are
  merged unchanged (upsert by ARK); unchanged files are not downloaded again, since the fetch step sends a
  conditional GET (ETag / Last-Modified) for what it stored before;
- XML is parsed without DTDs or entity expansion (defusedxml).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlencode, urlsplit
from xml.etree.ElementTree import Element

from moisson.config import GallicaSource
from moisson.licence import PortalLicence
from sources.catalogue import Dataset, Page, Resource
from sources.harvest_state import HarvestState
from sources.http import FetchError, HttpClient
from sources.oai_pmh import xml_answer
from sources.records import ReadFailure

SRW = "{http://www.loc.gov/zing/srw/}"
DIAG = "{http://www.loc.gov/zing/srw/diagnostic/}"
DC = "{http://purl.org/dc/elements/1.1/}"
ARK_PATH = re.compile(r"^/(?P<ark>ark:/\d+/[A-Za-z0-9]+)(?P<rest>/.*)?$")
PUBLIC_DOMAIN_STATEMENTS = frozenset({"domaine public", "public domain"})
PUBLIC_DOMAIN_MARK = "https://creativecommons.org/publicdomain/mark/1.0/"
TEXT_MODE = "texteBrut"
FIRST_RECORD = 1
MAX_STALE_PAGES = 3  # pages in a row bringing no record not already met by this run
MAX_TEXT = 100_000  # characters kept of a title or a description: a record is not a document
LicenceOf = Callable[[list[str | None]], PortalLicence]


class SruError(Exception):
    """An SRU diagnostic (a query the server refuses): the harvest cannot go on with this query."""


def harvest(source: GallicaSource, client: HttpClient, state: HarvestState, licence_of: LicenceOf) -> Iterator[Page]:
    checkpoint = state.checkpoint or {"start": FIRST_RECORD, "received": 0}
    start, received = checkpoint["start"], checkpoint.get("received", 0)
    seen, stale = set(), 0  # records met by this run: pages of nothing new mean the server ignores startRecord
    while True:
        url = search_url(source, start, _page_size(source, received))
        try:
            root = parse_response(client.get(url, accept=lambda status: status < 500).body)
            records, total, next_position = read_page(root)
        except (FetchError, SruError, ValueError) as exc:
            error_class = (exc.error_class if isinstance(exc, FetchError)
                           else "SRU:diagnostic" if isinstance(exc, SruError) else "MalformedResponse")
            yield Page([], [ReadFailure(source.name, url, "catalogue", error_class, str(exc)[:500])], stopped=True)
            return
        datasets, failures = _datasets(source, url, records, licence_of)
        received += len(records)
        following = next_position if next_position is not None else start + len(records)
        done = (not records or next_position is None or (total is not None and following > total)
                or (source.max_records is not None and received >= source.max_records))
        stale = stale + 1 if datasets and seen.issuperset(d.dataset_id for d in datasets) else 0
        seen.update(d.dataset_id for d in datasets)
        loop = (f"nextRecordPosition {following} does not move past startRecord {start}" if following <= start else
                f"{stale} pages in a row bring only records already harvested" if stale >= MAX_STALE_PAGES else None)
        if not done and loop:
            yield Page([], [ReadFailure(source.name, url, "catalogue", "PagingLoop", loop)], stopped=True,
                       abandoned=True)
            return
        yield Page(datasets, failures, None if done else {"start": following, "received": received})
        if done:
            return
        start = following


def _page_size(source: GallicaSource, received: int) -> int:
    left = source.max_records - received if source.max_records is not None else source.page_size
    return max(1, min(source.page_size, left))


def search_url(source: GallicaSource, start: int, size: int) -> str:
    query = {"operation": "searchRetrieve", "version": "1.2", "query": source.query, "startRecord": start,
             "maximumRecords": size, "collapsing": "true" if source.collapsing else "false"}
    return f"{source.url}{'&' if '?' in source.url else '?'}{urlencode(query)}"


def parse_response(body: bytes) -> Element:
    """The searchRetrieveResponse element; SruError for a diagnostic, ValueError for anything that is not SRU."""
    root = xml_answer(body, f"{SRW}searchRetrieveResponse", "SRU searchRetrieve")
    diagnostic = root.find(f"{SRW}diagnostics/{DIAG}diagnostic")
    if diagnostic is not None:
        parts = (diagnostic.findtext(f"{DIAG}{name}") for name in ("uri", "message", "details"))
        raise SruError(" ".join(p.strip() for p in parts if p and p.strip())[:500] or "diagnostic without a message")
    return root


def read_page(root: Element) -> tuple[list[Element], int | None, int | None]:
    """The page's oai_dc records, numberOfRecords and nextRecordPosition (None when absent or not a number)."""
    records = [data[0] for data in root.iterfind(f"{SRW}records/{SRW}record/{SRW}recordData") if len(data)]
    return records, _number(root.findtext(f"{SRW}numberOfRecords")), _number(root.findtext(f"{SRW}nextRecordPosition"))


def _number(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def _datasets(source: GallicaSource, url: str, records: list[Element], licence_of: LicenceOf):
    datasets, failures = [], []
    for position, record in enumerate(records):
        try:
            datasets.append(to_dataset(source.url, record, licence_of))
        except ValueError as exc:
            failures.append(ReadFailure(source.name, f"{url}#record{position + 1}", "catalogue", "BadRecord", str(exc)))
    return datasets, failures


def to_dataset(portal: str, dc: Element, licence_of: LicenceOf) -> Dataset:
    """One oai_dc record as a catalogue record; the text mode as its resource when it is in the public domain."""
    values = lambda name: [" ".join(v.split()) for e in dc.iter(f"{DC}{name}") if (v := e.text) and v.strip()]
    identifiers = values("identifier")
    arks = [(url, match) for url in identifiers if (match := _ark(url))]
    if not arks:
        raise ValueError(f"record without a Gallica ARK identifier (identifiers: {identifiers[:3]!r})"[:400])
    landing, match = next(((u, m) for u, m in arks if not m["rest"]), arks[0])
    licence = gallica_licence(values("rights"), licence_of)
    return Dataset(
        portal=portal,
        dataset_id=match["ark"] + (match["rest"] or ""),
        title=(_first(values("title")) or "")[:MAX_TEXT] or None,
        description=" ".join(values("description"))[:MAX_TEXT] or None,
        publisher=_first(values("publisher")) or _first(values("creator")),
        language=_first(values("language")),
        created=_first(values("date")),
        landing_page=landing,
        license_raw=licence.raw,
        license=licence.spdx,
        license_verdict=licence.verdict,
        identifiers=tuple(identifiers),
        resources=document_text(identifiers, values("rights")),
    )


def document_text(identifiers: list[str], rights: list[str]) -> tuple[Resource, ...]:
    """The text mode of the document a record describes, when its rights say public domain; nothing otherwise
    (a periodical's `/date` record, a record without an ARK, any other rights)."""
    if not is_public_domain(rights):
        return ()
    document = next((url for url in identifiers if (match := _ark(url)) and not match["rest"]), None)
    return (text_mode(document),) if document else ()


def text_mode(document_url: str) -> Resource:
    """The document's plain-text mode: Gallica answers an HTML page holding the OCRed text of every page."""
    return Resource(resource_id=TEXT_MODE, url=f"{document_url.rstrip('/')}.{TEXT_MODE}", title="texteBrut",
                    format="html", media_type="text/html")


def gallica_licence(rights: list[str], licence_of: LicenceOf) -> PortalLicence:
    """Public Domain Mark when every dc:rights statement says public domain; otherwise what the statements map to
    (usually nothing: Gallica's other statements are not licences)."""
    if is_public_domain(rights):
        mark = licence_of([PUBLIC_DOMAIN_MARK])
        return PortalLicence(" / ".join(rights), mark.spdx, mark.verdict)
    return licence_of(rights)


def is_public_domain(rights: list[str]) -> bool:
    """Every dc:rights statement says public domain (and there is at least one)."""
    return bool(rights) and all(r.strip().casefold() in PUBLIC_DOMAIN_STATEMENTS for r in rights)


def _ark(url: str) -> re.Match | None:
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL any parser reads: not an ARK
        return None
    return ARK_PATH.match(parts.path) if parts.scheme in ("http", "https") else None


def _first(values: list[str]) -> str | None:
    return values[0] if values else None
