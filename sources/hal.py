"""HAL search API (Solr JSON): every record of a query, cursor-paged, incremental by `modifiedDate_tdate`, with the
links to its full-text files.

Why the search API and not HAL's OAI-PMH: OAI-PMH's oai_dc gives a landing page and, at best, one file link
in a free-text identifier; the search API names the main file (`fileMain_s`), every file (`files_s`) and the
licence (`licence_s`, a URL) as fields. Why these rules:
- paging by `cursorMark` with `sort=docid asc` (docid is the index's unique key): deep `start` offsets are
  slow on Solr and skip or repeat records when the index changes while we page; a cursor does neither.
  The list ends when the answer's `nextCursorMark` is the one we sent, or no document comes back;
- an answer without `nextCursorMark` is a server that does not page by cursor (a proxy, an old mirror,
  a recorded answer): its documents are kept, and if it announced more (`numFound`) than it gave, that
  is reported (IncompleteListing) instead of guessed at;
- the watermark is the newest `modifiedDate_tdate` of the last complete harvest; the next one asks
  `fq=modifiedDate_tdate:[W TO *]` (inclusive: a record at the watermark is seen twice, never missed);
- a record is a dataset whose id is its `halId_s` (stable across versions; the docid is not shown to
  readers); its resources are its files (`files_s`, or `fileMain_s` when that is all there is: the two
  name the main file twice), declared `pdf` unless the URL says otherwise, since what a file is, is then
  read from its bytes. A notice (no file) has no resource but is in the catalogue all the same;
- HAL writes licences as URLs, some of them its own or without a version: those are translated to the
  ids the licence module knows (unversioned CC -> the catalogue families `cc-by`...), everything else
  goes to `licence_of` as given; an unknown licence is no licence (fail-closed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlencode, urlsplit

from moisson.config import HalSource
from moisson.licence import PortalLicence
from sources.catalogue import Dataset, Page, Resource, load_page_json, normalise_format
from sources.harvest_state import HarvestState
from sources.http import FetchError, HttpClient
from sources.oai_pmh import link_id
from sources.records import ReadFailure

FIELDS = ("docid", "halId_s", "uri_s", "title_s", "subTitle_s", "abstract_s", "language_s", "licence_s",
          "fileMain_s", "files_s", "openAccess_bool", "submitType_s", "docType_s", "modifiedDate_tdate",
          "producedDate_tdate", "publicationDate_tdate", "authFullName_s", "doiId_s", "*_title_s", "*_abstract_s")
SORT = "docid asc"
FIRST_CURSOR = "*"
MAX_STALE_PAGES = 3  # pages in a row bringing no record not already met: a server that ignores the cursor
MAX_TEXT = 100_000  # characters kept of a title or an abstract: a record is not a document
# A Solr date as HAL writes it: what the watermark query is built from, so nothing else may pass for one.
SOLR_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$")
LicenceOf = Callable[[list[str | None]], PortalLicence]

# HAL's licence vocabulary (its deposit form) as the ids or URLs the licence module reads.
HAL_LICENCES = {
    "hal.archives-ouvertes.fr/licences/publicdomain": "https://creativecommons.org/publicdomain/mark/1.0/",
    "hal.archives-ouvertes.fr/licences/copyright": None,  # all rights reserved
}
UNVERSIONED_CC = re.compile(r"^https?://(?:www\.)?creativecommons\.org/licen[cs]es/(?P<elements>[a-z-]+)/?$")
CC_FAMILIES = {"by": "cc-by", "by-sa": "cc-by-sa", "by-nc": "cc-nc", "by-nc-sa": "cc-nc", "by-nc-nd": "cc-nc"}


def harvest(source: HalSource, client: HttpClient, state: HarvestState, licence_of: LicenceOf) -> Iterator[Page]:
    checkpoint = state.checkpoint or {"cursor": FIRST_CURSOR, "since": state.watermark, "received": 0}
    cursor, since, received = checkpoint["cursor"], checkpoint.get("since"), checkpoint.get("received", 0)
    asked, seen, stale = set(), set(), 0  # cursors and records met by this run: a listing must end
    while True:
        url = search_url(source, cursor, since)
        try:
            docs, next_cursor, found = read_answer(client.get(url, accept=lambda status: status < 500).body)
        except (FetchError, ValueError) as exc:
            error_class = exc.error_class if isinstance(exc, FetchError) else "MalformedResponse"
            yield Page([], [ReadFailure(source.name, url, "catalogue", error_class, str(exc)[:500])], stopped=True)
            return
        asked.add(cursor)
        datasets, failures = _datasets(source, url, docs, licence_of)
        received += len(docs)
        done = not docs or next_cursor is None or next_cursor == cursor
        if next_cursor is None and found is not None and found > received:
            failures.append(ReadFailure(source.name, url, "catalogue", "IncompleteListing",
                                        f"the answer announced {found} records and gave {received}, without a "
                                        "nextCursorMark to ask for the rest (the server does not page by cursor)"))
        stale = stale + 1 if datasets and seen.issuperset(d.dataset_id for d in datasets) else 0
        seen.update(d.dataset_id for d in datasets)
        loop = (f"nextCursorMark {next_cursor[:80]!r} was already followed by this run" if next_cursor in asked else
                f"{stale} pages in a row bring only records already harvested" if stale >= MAX_STALE_PAGES else None)
        if not done and loop:
            yield Page([], [ReadFailure(source.name, url, "catalogue", "PagingLoop", loop)], stopped=True,
                       abandoned=True)
            return
        newest = max((d.modified for d in datasets if d.modified), default=None)
        yield Page(datasets, failures, None if done else {"cursor": next_cursor, "since": since, "received": received},
                   newest)
        if done:
            return
        cursor = next_cursor


def search_url(source: HalSource, cursor: str, since: str | None) -> str:
    """The search request for one page: the source's query and filters, the watermark, the cursor."""
    filters = list(source.fq)
    if source.collection:
        filters.append(f"collCode_s:{_solr_term(source.collection)}")
    if since:
        filters.append(f"modifiedDate_tdate:[{since} TO *]")
    query = {"q": source.q, "wt": "json", "fl": ",".join(FIELDS), "sort": SORT, "rows": source.page_size,
             "cursorMark": cursor}
    if filters:  # one fq, filters intersected: the same as several fq for Solr, and one key for every proxy
        query["fq"] = " AND ".join(f"({f})" for f in filters) if len(filters) > 1 else filters[0]
    base = source.url if source.url.endswith("/") else source.url + "/"
    if source.portal:
        base += f"{source.portal.strip('/')}/"
    return f"{base}?{urlencode(query)}"


def _solr_term(value: str) -> str:
    """A collection code as one Solr term (quoted: a code with a `-` or `:` stays one term)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_answer(body: bytes) -> tuple[list, str | None, int | None]:
    """The documents, the next cursor and numFound of a search answer; ValueError for an error or a non-answer."""
    answer = load_page_json(body)
    if not isinstance(answer, dict):
        raise ValueError(f"not a HAL search answer (a JSON {type(answer).__name__})")
    if "error" in answer:
        error = answer["error"]
        message = error.get("msg") if isinstance(error, dict) else error
        raise ValueError(f"HAL search error: {str(message)[:300]}")
    response = answer.get("response")
    if not isinstance(response, dict) or not isinstance(response.get("docs"), list):
        raise ValueError("not a HAL search answer (no response.docs list)")
    found = response.get("numFound")
    next_cursor = answer.get("nextCursorMark")
    return (response["docs"], next_cursor if isinstance(next_cursor, str) and next_cursor else None,
            found if isinstance(found, int) and not isinstance(found, bool) else None)


def _datasets(source: HalSource, url: str, docs: list, licence_of: LicenceOf) -> tuple[list[Dataset], list]:
    datasets, failures = [], []
    for position, doc in enumerate(docs):
        try:
            datasets.append(to_dataset(source.url, doc, licence_of))
        except (TypeError, ValueError, AttributeError) as exc:
            failures.append(ReadFailure(source.name, f"{url}#{_doc_id(doc, position)}", "catalogue", "BadRecord",
                                        f"{type(exc).__name__}: {str(exc)[:300]}"))
    return datasets, failures


def _doc_id(doc: object, position: int) -> str:
    """A record's name for an error message: its halId_s or docid, else its place on the page."""
    if isinstance(doc, dict):
        for key in ("halId_s", "docid"):
            if isinstance(doc.get(key), (str, int)) and not isinstance(doc.get(key), bool):
                return f"{key}={str(doc[key])[:200]}"
    return f"doc{position + 1}"


def to_dataset(portal: str, doc: dict, licence_of: LicenceOf) -> Dataset:
    """One search-API document as a catalogue record, its files as resources under the record's licence."""
    if not isinstance(doc, dict):
        raise ValueError(f"a document is a {type(doc).__name__}, not an object")
    hal_id = _text(doc, "halId_s")
    if not hal_id:
        raise ValueError("document without halId_s")
    licence = hal_licence(_texts(doc, "licence_s"), licence_of)
    languages = _texts(doc, "language_s")
    doi = _text(doc, "doiId_s")
    return Dataset(
        portal=portal,
        dataset_id=hal_id,
        name=_text(doc, "docid"),
        title=_bounded(_localised(doc, "title_s", languages)),
        description=_bounded(_localised(doc, "abstract_s", languages)),
        publisher=", ".join(_texts(doc, "authFullName_s")[:20]) or None,
        language=",".join(languages) or None,
        created=_text(doc, "producedDate_tdate") or _text(doc, "publicationDate_tdate"),
        modified=solr_date(doc, "modifiedDate_tdate"),
        landing_page=_text(doc, "uri_s"),
        license_raw=licence.raw,
        license=licence.spdx,
        license_verdict=licence.verdict,
        identifiers=tuple(i for i in (hal_id, _text(doc, "uri_s"), f"doi:{doi}" if doi else None) if i),
        resources=tuple(files(portal, doc)),
    )


def files(portal: str, doc: dict) -> Iterator[Resource]:
    """The record's files, each once: `files_s` names every file of the deposit, the main one included, and
    `fileMain_s` is most often a second address of that main file (`<record>/document`), so it is a resource
    of its own only when `files_s` is empty; it marks which named file is the main one (title `main`)."""
    main, named = _text(doc, "fileMain_s"), list(dict.fromkeys(_texts(doc, "files_s")))
    main_named = main if main in named else (named[0] if main and len(named) == 1 else None)
    for url in named or ([main] if main else []):
        if _is_link(url):
            title = "main" if url in (main, main_named) else None
            yield Resource(resource_id=link_id(portal, url), url=url, title=title, format=normalise_format(url) or "pdf",
                           modified=solr_date(doc, "modifiedDate_tdate"))


def _is_link(url: str) -> bool:
    """An http(s) URL a parser reads: a malformed file link is dropped, its record kept."""
    try:
        return url.startswith(("http://", "https://")) and bool(urlsplit(url).netloc)
    except ValueError:
        return False


def hal_licence(values: list[str], licence_of: LicenceOf) -> PortalLicence:
    """The record's licence from HAL's licence URLs (HAL's own and unversioned ones translated), the raw value as
    HAL gave it."""
    translated = {value: _translate(value) for value in values}
    licence = licence_of([t for t in translated.values() if t] or values)
    raw = next((value for value, target in translated.items() if target), values[0] if values else None)
    return PortalLicence(raw, licence.spdx, licence.verdict)


def _translate(value: str) -> str | None:
    """A HAL licence URL as a value the licence module reads (None: HAL's 'all rights reserved')."""
    key = value.strip().lower().split("://", 1)[-1].removeprefix("www.").rstrip("/")
    if key in HAL_LICENCES:
        return HAL_LICENCES[key]
    match = UNVERSIONED_CC.match(value.strip().lower())
    if match:
        return CC_FAMILIES.get(match["elements"])
    return value


def solr_date(doc: dict, key: str) -> str | None:
    """A date field when it is a Solr date; None otherwise (it would end up in the next run's `fq`)."""
    value = _text(doc, key)
    return value if value and SOLR_DATE.match(value) else None


def _localised(doc: dict, field: str, languages: list[str]) -> str | None:
    """`title_s` when asked for, else the `<lang>_title_s` of the record's language, else the first one given."""
    plain = _texts(doc, field)
    if plain:
        return plain[0]
    for language in languages:
        localised = _texts(doc, f"{language}_{field}")
        if localised:
            return localised[0]
    return next((values[0] for key in doc if key.endswith(f"_{field}") and (values := _texts(doc, key))), None)


def _text(doc: dict, key: str) -> str | None:
    """A single-valued field as text (the first of a list); ValueError naming the field when it is not text."""
    values = _texts(doc, key)
    return values[0] if values else None


def _texts(doc: dict, key: str) -> list[str]:
    value = doc.get(key)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ValueError(f"field {key!r} holds a {type(item).__name__}, not text")
        if str(item).strip():
            out.append(str(item).strip())
    return out


def _bounded(text: str | None) -> str | None:
    return text[:MAX_TEXT] if text else text
