"""Safe XML parsing and block-aware text collection shared by the TEI and JATS readers.

Why one module: TEI and JATS are both hostile-input XML with the same two hazards (entity expansion and
DTD/network fetches) and the same output shape (paragraphs, a title, a language, licence evidence). The
parser here never loads a DTD, never touches the network, never expands a declared entity in text, and drops
the internal DTD subset before parsing, so a billion-laughs document has no entity to expand at all. Entity
references left undefined (JATS `&nbsp;`, TEI `&mdash;` declared in a DTD that is never loaded) are kept by the
recovering parser as entity nodes and turned into their character when the name is an HTML/XML one.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

MAX_XML_BYTES = 64 * 1024 * 1024  # a novel in TEI is ~1 MB, a JATS article ~300 kB: 64 MB is far beyond either

_PROLOG_WINDOW = 64 * 1024  # the DOCTYPE sits before the root element, within the first bytes
_INTERNAL_SUBSET = re.compile(rb"(<!DOCTYPE\s[^\[>]*)\[.*?\]\s*>", re.DOTALL)
_SPACES = re.compile(r"\s+")


class XmlRefused(ValueError):
    """The bytes are not XML this reader will parse (too large, not well-formed beyond recovery, no root)."""


@dataclass(frozen=True)
class XmlText:
    """Text of a structured document and the metadata read from its own markup.

    `text`: paragraphs separated by one blank line, headings as paragraphs of their own.
    `licence_evidence`: what the document says about its licence (URLs first, then statements), to be
    judged by the licence module: the reader reports, it does not decide.
    """

    text: str
    title: str | None
    language: str | None
    licence_evidence: tuple[str, ...]


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML bytes: bounded size, no DTD, no network, no entity expansion.

    The parser recovers from ordinary damage (undefined entities, a truncated end) because a best-effort text
    is worth more than none, but refuses a document that hit libxml2's resource limits (more than 256 levels
    of nesting, entity amplification): recovering there would silently return a document cut short.
    """
    if len(data) > MAX_XML_BYTES:
        raise XmlRefused(f"XML document of {len(data)} bytes is over the {MAX_XML_BYTES}-byte limit")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             recover=True, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(_without_internal_subset(data), parser)
    except etree.XMLSyntaxError as error:
        raise XmlRefused(f"not XML: {error}") from error
    if root is None:
        raise XmlRefused("not XML: no root element could be read")
    for error in parser.error_log:
        if error.type_name == "ERR_RESOURCE_LIMIT":  # nesting over 256 levels, entity amplification
            raise XmlRefused(f"XML over the parser's resource limits: {error.message}")
    return root


def _without_internal_subset(data: bytes) -> bytes:
    """Drop `[ ... ]` from the DOCTYPE: entity declarations there are the only way to a billion laughs."""
    head = data[:_PROLOG_WINDOW]
    match = _INTERNAL_SUBSET.search(head)
    if match is None:
        return data
    return data[:match.start()] + match.group(1) + b">" + data[match.end():]


def local_name(element: etree._Element) -> str:
    """Tag without namespace: TEI is namespaced, JATS mostly not, and readers match both the same way."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def entity_character(entity: etree._Entity) -> str:
    """The character of an undefined named entity (`&nbsp;` → no-break space); unknown names give nothing."""
    name = entity.name
    return html.entities.html5.get(f"{name};", "")


def normalise_space(text: str) -> str:
    """One space for every run of whitespace (including no-break spaces), no leading or trailing space."""
    return _SPACES.sub(" ", text).strip()


Skip = Callable[[etree._Element, str], bool]


class ParagraphCollector:
    """Walks elements in document order and cuts the text into paragraphs at block elements.

    `blocks`: elements that start and end a paragraph. `spaced`: elements whose end must not glue two words
    (table cells, labels, line breaks). `skip(element, name)`: subtrees left out (their tail text stays).
    """

    def __init__(self, blocks: frozenset[str], spaced: frozenset[str], skip: Skip) -> None:
        self.blocks = blocks
        self.spaced = spaced
        self.skip = skip
        self.paragraphs: list[str] = []
        self._buffer: list[str] = []

    def add(self, element: etree._Element) -> None:
        """Collect `element` and its subtree (not its tail)."""
        self._walk(element)
        self.flush()

    def flush(self) -> None:
        """Close the paragraph being built, if it holds any text."""
        paragraph = normalise_space("".join(self._buffer))
        self._buffer.clear()
        if paragraph:
            self.paragraphs.append(paragraph)

    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    def _walk(self, element: etree._Element) -> None:
        if isinstance(element, etree._Entity):
            self._buffer.append(entity_character(element))
            return
        name = local_name(element)
        if not name or self.skip(element, name):
            return
        block = name in self.blocks
        if block:
            self.flush()
        if element.text:
            self._buffer.append(element.text)
        for child in element:
            self._walk(child)
            if child.tail:
                self._buffer.append(child.tail)
        if block:
            self.flush()
        elif name in self.spaced and element.get("break") != "no":  # TEI <lb break="no"/> is inside a word
            self._buffer.append(" ")


def inline_text(element: etree._Element | None) -> str | None:
    """All text under `element` on one line (entities mapped, line breaks as spaces), or None when empty."""
    if element is None:
        return None
    collector = ParagraphCollector(frozenset(), frozenset({"lb", "break"}), lambda _element, _name: False)
    collector.add(element)
    return " ".join(collector.paragraphs) or None
