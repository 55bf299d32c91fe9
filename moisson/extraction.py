"""From a raw payload to a document's main text, title, page language hint and licence evidence.

HTML goes through a main-content extractor, which drops navigation, footers and other boilerplate
that would otherwise make every page of a site look alike to the deduplicator. Two are offered:
trafilatura (the default: the best text) and resiliparse (its own call about ten times faster, the
whole page about three times with the lxml parse below; more boilerplate gets through, the trade DCLM
made for web-scale pools). trafilatura runs with its own default settings, comments and metadata
off (mode "default"), chosen per language on bench/extraction_eval.py's sets (scrapinghub_aeb,
Readability's test pages, 157 annotated pages in ten languages): snippet F1 0.969 against 0.953 for
`fast=True`, the former setting, which lost most on Greek, Polish and German pages; shingle F1 macro
over languages 0.913 (0.898); about 24 ms of CPU per page instead of 16. Tables are rewritten before
the text is made: a data table as clean Markdown, a layout table as its cells' paragraphs, never
`| |` lines. Either way the licence evidence is read from the full lxml tree *before* extraction,
because licences live in exactly the footers and heads that extraction throws away.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import lxml.etree
import trafilatura
from lxml.etree import Element
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLParserException
from trafilatura.utils import decode_file, load_html
from trafilatura.xml import xmltotxt

from moisson import markup_limits
from moisson.licence import Evidence, evidence_from_html
from sources.tdm_reservation import from_html

if TYPE_CHECKING:
    from moisson.document_text import DocumentOptions

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_HTML_BYTES = 10 * 1024 * 1024

Backend = Literal["trafilatura", "resiliparse"]
# How trafilatura is called (always without comments and metadata): "fast" skips its fallback extractors
# (readability, justext), "default" is trafilatura's own default, "precision"/"recall" its favor_* settings.
# (A fast pass followed by the full one on pages whose fast text looks poor was measured too: whatever the
# trigger, the pages it sends on cost both passes, so it is dearer than "default" before it is as good.)
TrafilaturaMode = Literal["fast", "default", "precision", "recall"]
TRAFILATURA_MODES: tuple[str, ...] = ("fast", "default", "precision", "recall")
DEFAULT_MODE: TrafilaturaMode = "default"
_MODE_OPTIONS = {"fast": {"fast": True}, "default": {}, "precision": {"favor_precision": True},
                 "recall": {"favor_recall": True}}
# Main content only; no alt texts, list bullets or comment sections: each cost precision on scrapinghub_aeb
# (F1 0.898 with resiliparse's defaults, 0.927 with these; bench/quality.py).
RESILIPARSE_OPTIONS = {"main_content": True, "alt_texts": False, "list_bullets": False, "comments": False}
# resiliparse's parser keeps any nesting and its main-content pass is quadratic in it (16,000 nested <div>: 5 s,
# 100,000: minutes). libxml2 stops nesting at 256, so an lxml tree this deep comes from markup that nests without
# end, which real pages never do (51 levels at most in websample): trafilatura, working on that tree, reads it.
TOO_DEEP_FOR_RESILIPARSE = lxml.etree.XPath("boolean(/*" + "/*" * 200 + ")")


class ExtractionError(ValueError):
    """The payload holds no usable text; the document is rejected with reason 'extraction'."""


class TooComplex(ExtractionError):
    """The page's markup is beyond what a parse may cost (moisson/markup_limits.py): refused unparsed."""


@dataclass(frozen=True)
class PageFailure:
    """A page of a document that could not be read (no text layer and no OCR, OCR failed): the document keeps its
    other pages, and the run records this one as a failure with a `#page=N` locator."""

    page: int
    error_class: str
    message: str


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None = None
    language_hint: str | None = None
    licence_evidence: list[Evidence] = field(default_factory=list)
    format: str = "html"  # the kind read (moisson/formats.py): html, text, pdf, docx, odt, epub, tei, jats, image, wikitext
    page_starts: list[int] | None = None  # paged formats: the offset in `text` where each page starts
    page_failures: list[PageFailure] = field(default_factory=list)
    ocr_confidence: float | None = None  # mean Tesseract word confidence (0-100) of the OCRed text, a quality signal
    opt_out: list[dict] = field(default_factory=list)  # TDM reservations the content states (sources/tdm_reservation.py)


def extract(payload: bytes, content_type: str, charset: str | None = None, url: str | None = None,
            backend: Backend = "trafilatura", mode: TrafilaturaMode | None = None,
            documents: DocumentOptions | None = None) -> Extracted:
    if content_type == "html":
        return extract_html(payload, charset, url, backend, mode)
    if content_type == "text":
        return Extracted(text=_require_text(clean_text(decode(payload, charset))), format="text")
    from moisson.document_text import DocumentOptions, extract_document  # its readers import this module's errors

    return extract_document(payload, content_type, documents or DocumentOptions())


def extract_html(payload: bytes, charset: str | None = None, url: str | None = None,
                 backend: Backend = "trafilatura", mode: TrafilaturaMode | None = None) -> Extracted:
    if len(payload) > MAX_HTML_BYTES:
        raise ExtractionError(f"HTML payload of {len(payload)} bytes exceeds {MAX_HTML_BYTES}")
    # without a charset, trafilatura's own guess (what its load_html would make of the bytes, decompressed if
    # they are, within its size cap): the limits are checked on the text that is parsed
    markup = decode(payload, charset) if backend == "resiliparse" or _known_codec(charset) else decode_file(payload)
    if (excess := markup_limits.excess(markup)) is not None:
        raise TooComplex(f"the page has {excess}: refused before parsing, which would take minutes or gigabytes")
    tree = load_html(markup)
    if tree is None:
        raise ExtractionError("not parseable as HTML")
    evidence = evidence_from_html(tree)
    opt_out = [signal.as_dict() for signal in from_html(tree)]
    language_hint = primary_subtag(tree.get("lang") or tree.get("xml:lang"))
    page_title = _page_title(tree)
    main_text = _resiliparse_text(markup) if backend == "resiliparse" and not TOO_DEEP_FOR_RESILIPARSE(tree) else ""
    if not main_text.strip():  # resiliparse's heuristics find no main content on ~1% of pages; trafilatura often does
        main_text = _trafilatura_text(tree, url, mode or DEFAULT_MODE)
    if not main_text.strip():
        raise ExtractionError("no main text found in the page")
    return Extracted(
        text=_require_text(clean_text(main_text)),
        title=page_title,
        language_hint=language_hint,
        licence_evidence=evidence,
        opt_out=opt_out,
    )


def _trafilatura_text(tree, url: str | None, mode: TrafilaturaMode = DEFAULT_MODE) -> str:
    # Without comments and metadata (dates, authors: half the speed again; the title is read directly).
    # Tables are rewritten before the text is made (see _rewrite_tables).
    # output_format "xml": trafilatura returns the extracted tree without making its text, which is made here
    # once, after the tables are rewritten (as "python" it would make it too, for nothing on a page with tables).
    result = trafilatura.bare_extraction(tree, url=url, with_metadata=False, include_comments=False,
                                         output_format="xml", **_MODE_OPTIONS[mode])
    if result is None or result.body is None:
        return ""
    if result.body.find(".//table") is not None:
        _rewrite_tables(result.body)
    return xmltotxt(result.body, False)


# A table is data (kept as Markdown) when it has 2+ rows and 2+ columns with text and its cells are short;
# otherwise it lays a page out, and each cell with text becomes paragraphs of its own.
DATA_CELL_MAX_CHARS = 160
BLOCKS = {"p", "list", "head", "quote", "table", "code", "figure", "graphic"}


def _cell_text(cell) -> str:
    return " ".join(" ".join(cell.itertext()).split())


def _rewrite_tables(body) -> None:
    """trafilatura writes a table's rows as `| cell | cell |` lines, empty cells and layout tables included: an
    article laid out in a table then reads as junk. Each table (innermost first) becomes either clean Markdown
    (a data table: header row, separator row, one line per row, no empty row or column) or its cells' paragraphs
    (a layout table)."""
    for table in reversed(list(body.iter("table"))):
        parent = table.getparent()
        if parent is None:
            continue
        rows = [row for row in table.iter("row") if _nearest(row, "table") is table]
        markdown = markdown_table([[_cell_text(cell) for cell in row if cell.tag == "cell"] for row in rows])
        if markdown is not None:
            replacement = [_paragraph(line) for line in markdown]
        else:
            replacement = [block for row in rows for cell in row if cell.tag == "cell" for block in _hoist(cell)]
        _replace(table, replacement)


def markdown_table(grid: list[list[str]]) -> list[str] | None:
    """A table's rows of cell texts as clean Markdown lines (header, separator, one line per row, no empty row or
    column) when it holds data; None when it lays out a page (one column, one row with data, or long cells), whose
    cells are then read as paragraphs. One rule for every format that has tables (HTML, DOCX, ODT)."""
    grid = [row for row in grid if any(row)]
    width = max((len(row) for row in grid), default=0)
    columns = [c for c in range(width) if any(c < len(row) and row[c] for row in grid)]
    is_data = (len(grid) >= 2 and len(columns) >= 2
               and max(len(text) for row in grid for text in row) <= DATA_CELL_MAX_CHARS
               and sum(1 for row in grid if sum(1 for text in row if text) >= 2) >= 2)
    if not is_data:
        return None
    lines = []
    for number, row in enumerate(grid):
        cells = [(row[c] if c < len(row) else "").replace("|", "\\|") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + "---|" * len(columns))
    return lines


def _nearest(element, tag: str):
    return next((a for a in element.iterancestors() if a.tag == tag), None)


def _paragraph(text: str):
    p = Element("p")
    p.text = text
    return p


def _hoist(cell) -> list:
    """A layout cell's content as block elements: its own blocks as they are, loose text and inline children in
    paragraphs between them; nothing for a cell without text."""
    blocks, pending = [], _paragraph(cell.text or "")
    for child in list(cell):
        if child.tag in BLOCKS:
            if _cell_text(pending):
                blocks.append(pending)
            tail, child.tail = child.tail, None
            blocks.append(child)
            pending = _paragraph(tail or "")
        else:
            pending.append(child)
    if _cell_text(pending):
        blocks.append(pending)
    return blocks


def _replace(element, replacement: list) -> None:
    parent, tail = element.getparent(), element.tail
    index = parent.index(element)
    parent.remove(element)
    for offset, block in enumerate(replacement):
        parent.insert(index + offset, block)
    if tail and tail.strip():
        after = _paragraph(tail)
        parent.insert(index + len(replacement), after)


def _resiliparse_text(markup: str) -> str:
    try:
        return extract_plain_text(markup, **RESILIPARSE_OPTIONS)
    except HTMLParserException as error:
        raise ExtractionError(f"resiliparse could not parse the page: {error}") from error


def decode(payload: bytes, charset: str | None) -> str:
    """Bytes to text: the declared charset when it is a real codec, else UTF-8, else detection."""
    if _known_codec(charset):
        return payload.decode(charset, errors="replace")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return decode_file(payload)


def clean_text(text: str) -> str:
    text = CONTROL_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _require_text(text: str) -> str:
    if not text:
        raise ExtractionError("empty text")
    return text


def _known_codec(charset: str | None) -> bool:
    """A label naming a text encoding that decodes any page; `base64`, `rot13` (bytes-to-bytes codecs) or `idna`
    would fail a good page. The same rule as `sources.records.text_charset`, for stages written before it."""
    if not charset:
        return False
    try:
        codec = codecs.lookup(charset)
        b"<p>\xe9t\xe9 \x80\xff</p>".decode(codec.name, errors="replace")
    except (LookupError, UnicodeError, TypeError, ValueError):
        return False
    return codec._is_text_encoding and "escape" not in codec.name


def primary_subtag(lang: str | None) -> str | None:
    if not lang:
        return None
    primary = lang.strip().split("-")[0].split("_")[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _page_title(tree) -> str | None:
    """The page's own title: og:title, else <title>, else the first <h1>."""
    for query in ('//head/meta[@property="og:title"]/@content', "//head/title//text()", "//h1//text()"):
        found = " ".join(" ".join(tree.xpath(query)[:1]).split())
        if found:
            return found[:1000]
    return None


def extract_record(item: tuple[bytes, str, str | None, str | None], backend: Backend = "trafilatura",
                   mode: TrafilaturaMode | None = None, documents: DocumentOptions | None = None) -> dict:
    """`extract` on a (payload, content_type, charset, url) tuple, as plain data: what worker processes return."""
    doc = extract(*item, backend=backend, mode=mode, documents=documents)
    return {
        "text": doc.text,
        "title": doc.title,
        "language_hint": doc.language_hint,
        "licence_evidence": [{"kind": e.kind, "value": e.value, "spdx": e.spdx} for e in doc.licence_evidence],
        "format": doc.format,
        "page_starts": doc.page_starts,
        "page_failures": [vars(f) for f in doc.page_failures],
        "ocr_confidence": doc.ocr_confidence,
        "opt_out": doc.opt_out,
    }
