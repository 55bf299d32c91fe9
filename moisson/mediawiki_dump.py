"""Articles of a MediaWiki XML dump (`pages-articles*.xml[.bz2]`), streamed page by page at constant memory.

Why streamed: a Wikipedia dump is tens of GB of XML; building the tree would need that much memory. lxml's
`iterparse` hands over each `<page>` when it ends; the page is read, then cleared and detached from the root so
memory stays at one page. Why these parser settings: the dump is input from the network like any other, so no
entity expansion (a billion laughs in the DOCTYPE stays unexpanded), no DTD loading, no network; `huge_tree` stays
off, which makes libxml2 refuse a single text node over 10 MB (a dump-level error, `DumpRefused`).

What comes out: only articles (namespace 0) that are not redirects, with the last revision's wikitext, and the
page URL and history URL (the licence evidence: Wikipedia text is CC BY-SA 4.0, attribution is the history).
What is skipped is counted in `DumpStats`. A page whose text is over `MAX_PAGE_TEXT_BYTES` comes out with
`error` set and no text: one bad page does not stop a dump.
"""

from __future__ import annotations

import bz2
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import quote, urlsplit

from lxml import etree

MAX_PAGE_TEXT_BYTES = 4_000_000  # the longest articles are ~1.5 MB; longer is a list or a vandalised page
BZIP2_MAGIC = b"BZh"
LICENCE = "CC-BY-SA-4.0"
ARTICLE_NAMESPACE = 0


class DumpRefused(ValueError):
    """The stream is not a readable MediaWiki dump (not XML, or over libxml2's limits)."""


@dataclass(frozen=True)
class SiteInfo:
    """The dump's wiki: its database name and the URL prefixes pages and histories are reached at."""

    dbname: str = ""
    base_url: str = ""

    def page_url(self, title: str) -> str:
        """`https://fr.wikipedia.org/wiki/Antoine_Meillet` from the base URL's `/wiki/` prefix."""
        prefix = self._article_prefix()
        return prefix + _title_in_url(title) if prefix else ""

    def history_url(self, title: str) -> str:
        """`https://fr.wikipedia.org/w/index.php?title=Antoine_Meillet&action=history`: the authors, as evidence."""
        if not self.base_url:
            return ""
        parts = urlsplit(self.base_url)
        script = "/w/index.php" if "/wiki/" in parts.path else parts.path.rsplit("/", 1)[0] + "/index.php"
        return f"{parts.scheme}://{parts.netloc}{script}?title={_title_in_url(title)}&action=history"

    def _article_prefix(self) -> str:
        """The base URL (the main page's) up to and including its last `/`."""
        return self.base_url.rsplit("/", 1)[0] + "/" if "/" in self.base_url else ""


@dataclass(frozen=True)
class WikiPage:
    """One article: last revision's wikitext and what a record of it needs (ids, time, URLs, licence)."""

    title: str
    page_id: int
    namespace: int
    revision_id: int
    timestamp: str
    text: str
    page_url: str
    history_url: str
    dbname: str
    licence: str = LICENCE
    error: str = ""  # set (and text empty) when the page was refused, e.g. over the size cap


@dataclass
class DumpStats:
    """What the reader saw and skipped, so a run can say why a dump of N pages gave M articles."""

    pages: int = 0
    articles: int = 0
    redirects: int = 0
    other_namespaces: Counter[int] = field(default_factory=Counter)
    refused: int = 0


def iter_pages(stream: BinaryIO, stats: DumpStats | None = None) -> Iterator[WikiPage]:
    """Articles of a dump, plain XML or bzip2 (told by the `BZh` magic), in document order."""
    stats = stats if stats is not None else DumpStats()
    site = SiteInfo()
    try:
        for _, element in etree.iterparse(_decompressed(stream), events=("end",), resolve_entities=False,
                                          no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
                                          remove_pis=True):
            name = etree.QName(element).localname
            if name == "siteinfo":
                site = _site(element)
                _release(element)
            elif name == "revision":
                _keep_revision_text_only(element)
            elif name == "page":
                page = _page(element, site, stats)
                _release(element)
                if page is not None:
                    yield page
    except (etree.XMLSyntaxError, OSError, EOFError) as error:  # OSError, EOFError: broken bzip2 stream
        raise DumpRefused(f"not a readable MediaWiki dump: {error}") from error


def _decompressed(stream: BinaryIO) -> BinaryIO:
    """The stream itself, or a bzip2 reader over it (multi-stream dumps included)."""
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
    if buffered.peek(3)[:3] == BZIP2_MAGIC:  # type: ignore[union-attr]
        return bz2.BZ2File(buffered)  # type: ignore[return-value]
    return buffered


def _site(element: etree._Element) -> SiteInfo:
    """`<dbname>` and `<base>` of `<siteinfo>`."""
    return SiteInfo(dbname=_child_text(element, "dbname"), base_url=_child_text(element, "base"))


def _page(element: etree._Element, site: SiteInfo, stats: DumpStats) -> WikiPage | None:
    """The article in a `<page>`, or None (counted) for redirects and other namespaces."""
    stats.pages += 1
    title = _child_text(element, "title")
    namespace = int(_child_text(element, "ns") or _namespace_from_title(title))
    if namespace != ARTICLE_NAMESPACE:
        stats.other_namespaces[namespace] += 1
        return None
    if _child(element, "redirect") is not None:
        stats.redirects += 1
        return None
    revision = _last_child(element, "revision")
    text = _child_text(revision, "text") if revision is not None else ""
    error = ""
    if len(text) > MAX_PAGE_TEXT_BYTES:
        error, text = f"page text of {len(text)} characters is over the {MAX_PAGE_TEXT_BYTES} limit", ""
        stats.refused += 1
    else:
        stats.articles += 1
    return WikiPage(title=title, page_id=int(_child_text(element, "id") or 0), namespace=namespace,
                    revision_id=int((_child_text(revision, "id") if revision is not None else "") or 0),
                    timestamp=_child_text(revision, "timestamp") if revision is not None else "", text=text,
                    page_url=site.page_url(title), history_url=site.history_url(title), dbname=site.dbname,
                    error=error)


def _namespace_from_title(title: str) -> int:
    """Old dumps have no `<ns>`: a title with a `Prefix:` is taken as outside the articles (conservative)."""
    return 0 if ":" not in title else -1


def _keep_revision_text_only(revision: etree._Element) -> None:
    """Full-history dumps hold thousands of revisions per page: drop each earlier one's text as soon as the next
    revision is complete, so a page costs one revision's text in memory."""
    previous = revision.getprevious()
    while previous is not None:
        before = previous.getprevious()
        if etree.QName(previous).localname == "revision":
            previous.getparent().remove(previous)
        previous = before


def _release(element: etree._Element) -> None:
    """Free a finished element and the siblings before it: what keeps iterparse at constant memory."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _child(element: etree._Element, name: str) -> etree._Element | None:
    """First child named `name` in any export-schema namespace (0.8, 0.10, 0.11 differ only by URI)."""
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return child
    return None


def _last_child(element: etree._Element, name: str) -> etree._Element | None:
    """Last child named `name`: the dump lists revisions oldest first."""
    found = None
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            found = child
    return found


def _child_text(element: etree._Element, name: str) -> str:
    """Text of the first child named `name`, empty when absent."""
    child = _child(element, name)
    return (child.text or "") if child is not None else ""


def _title_in_url(title: str) -> str:
    """MediaWiki's URL form of a title: spaces as underscores, the rest percent-encoded."""
    return quote(title.replace(" ", "_"), safe="/:(),'!*@;$")
