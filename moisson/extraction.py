"""From a raw payload to a document's main text, title, page language hint and licence evidence.

HTML goes through a main-content extractor, which drops navigation, footers and other boilerplate
that would otherwise make every page of a site look alike to the deduplicator. Two are offered:
trafilatura (the default: the best text, F1 0.962 on scrapinghub_aeb at about 80 pages/s per core)
and resiliparse (its own call about ten times faster, the whole page about three times with the lxml
parse below; F1 0.927: more boilerplate gets through, the trade DCLM made for web-scale pools). Either
way the licence evidence is read from the full lxml tree *before* extraction, because licences live in
exactly the footers and heads that extraction throws away.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Literal

import lxml.etree
import trafilatura
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLParserException
from trafilatura.utils import decode_file, load_html

from moisson.licence import Evidence, evidence_from_html

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_HTML_BYTES = 10 * 1024 * 1024

Backend = Literal["trafilatura", "resiliparse"]
# Main content only; no alt texts, list bullets or comment sections: each cost precision on scrapinghub_aeb
# (F1 0.898 with resiliparse's defaults, 0.927 with these; bench/quality.py).
RESILIPARSE_OPTIONS = {"main_content": True, "alt_texts": False, "list_bullets": False, "comments": False}
# resiliparse's parser keeps any nesting and its main-content pass is quadratic in it (16,000 nested <div>: 5 s,
# 100,000: minutes). libxml2 stops nesting at 256, so an lxml tree this deep comes from markup that nests without
# end, which real pages never do (51 levels at most in websample): trafilatura, working on that tree, reads it.
TOO_DEEP_FOR_RESILIPARSE = lxml.etree.XPath("boolean(/*" + "/*" * 200 + ")")


class ExtractionError(ValueError):
    """The payload holds no usable text; the document is rejected with reason 'extraction'."""


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None = None
    language_hint: str | None = None
    licence_evidence: list[Evidence] = field(default_factory=list)


def extract(payload: bytes, content_type: str, charset: str | None = None, url: str | None = None,
            backend: Backend = "trafilatura") -> Extracted:
    if content_type == "html":
        return extract_html(payload, charset, url, backend)
    if content_type == "text":
        return Extracted(text=_require_text(clean_text(decode(payload, charset))))
    raise ExtractionError(f"unsupported content type {content_type!r}")


def extract_html(payload: bytes, charset: str | None = None, url: str | None = None,
                 backend: Backend = "trafilatura") -> Extracted:
    if len(payload) > MAX_HTML_BYTES:
        raise ExtractionError(f"HTML payload of {len(payload)} bytes exceeds {MAX_HTML_BYTES}")
    # resiliparse reads text; trafilatura, given bytes without a charset, guesses the encoding itself
    markup = decode(payload, charset) if backend == "resiliparse" or _known_codec(charset) else payload
    tree = load_html(markup)
    if tree is None:
        raise ExtractionError("not parseable as HTML")
    evidence = evidence_from_html(tree)
    language_hint = _primary_subtag(tree.get("lang") or tree.get("xml:lang"))
    page_title = _page_title(tree)
    main_text = _resiliparse_text(markup) if backend == "resiliparse" and not TOO_DEEP_FOR_RESILIPARSE(tree) else ""
    if not main_text.strip():  # resiliparse's heuristics find no main content on ~1% of pages; trafilatura often does
        main_text = _trafilatura_text(tree, url)
    if not main_text.strip():
        raise ExtractionError("no main text found in the page")
    return Extracted(
        text=_require_text(clean_text(main_text)),
        title=page_title,
        language_hint=language_hint,
        licence_evidence=evidence,
    )


def _trafilatura_text(tree, url: str | None) -> str:
    # fast (no fallback extractors) and without comments: on scrapinghub_aeb F1 0.962 at about 80 pages/s per core,
    # against 0.960 at 55 for trafilatura's defaults without comments (bench/quality.py). Metadata extraction (dates,
    # authors) would halve the speed again; the title is read directly.
    result = trafilatura.bare_extraction(tree, url=url, fast=True, with_metadata=False, include_comments=False)
    return "" if result is None else result.text or ""


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
    if not charset:
        return False
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True


def _primary_subtag(lang: str | None) -> str | None:
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


def extract_record(item: tuple[bytes, str, str | None, str | None], backend: Backend = "trafilatura") -> dict:
    """`extract` on a (payload, content_type, charset, url) tuple, as plain data: what worker processes return."""
    doc = extract(*item, backend=backend)
    return {
        "text": doc.text,
        "title": doc.title,
        "language_hint": doc.language_hint,
        "licence_evidence": [{"kind": e.kind, "value": e.value, "spdx": e.spdx} for e in doc.licence_evidence],
    }
