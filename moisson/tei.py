"""TEI P5 → text: the body in reading order, headings kept, editorial layers out.

Why these choices: a corpus wants the author's running text. The `teiHeader` is metadata (read here for the
title, the language and the licence, never emitted as text); notes, running heads (`fw`) and variant readings
(`rdg`) are editorial or typographic layers that would break sentences in the middle; of `choice` pairs we keep
the corrected, regularised or expanded form. Of an apparatus entry (`app`) only the lemma — the base text —
stays, so removing the apparatus does not remove words of the text itself. Page breaks (`pb`) and milestones
carry no text. Front and back matter (title pages, dedications, endnotes) are left out when a `body` exists:
ELTeC's own plain-text exports make the same cut, and the reference texts follow it.
"""

from __future__ import annotations

from lxml import etree

from moisson.xml_text import ParagraphCollector, XmlText, inline_text, local_name, normalise_space, parse_xml

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

BLOCKS = frozenset({
    "div", "div1", "div2", "div3", "div4", "div5", "div6", "div7", "head", "p", "ab", "lg", "l", "list", "item",
    "label", "table", "row", "sp", "speaker", "stage", "trailer", "closer", "opener", "salute", "signed",
    "dateline", "byline", "epigraph", "argument", "floatingText", "figure", "figDesc", "titlePage",
    "docTitle", "titlePart", "docAuthor", "docImprint", "docDate", "castList", "castItem", "postscript",
})
SPACED = frozenset({"lb", "cb", "cell", "space", "gap"})
LEFT_OUT = frozenset({
    "teiHeader", "note", "fw", "pb", "milestone", "rdg", "rdgGrp", "wit", "witDetail", "sic", "orig", "abbr",
    "facsimile", "standOff", "interpGrp", "interp", "link", "linkGrp", "join", "alt", "certainty",
})


def tei_document(data: bytes) -> XmlText:
    """Text, title, language and licence evidence of a TEI document. Raises XmlRefused on non-XML."""
    root = parse_xml(data)
    header = _first(root, "teiHeader")
    return XmlText(
        text=tei_text(root),
        title=_title(header),
        language=_language(root, header),
        licence_evidence=_licence_evidence(header),
    )


def tei_text(root: etree._Element) -> str:
    """Paragraphs of every `body` under `text` (nested `group`s included), or of `text` when no body."""
    text = root if local_name(root) == "text" else _first(root, "text")
    scope = text if text is not None else root
    bodies = [element for element in scope.iter() if local_name(element) == "body" and not _inside_left_out(element)]
    collector = ParagraphCollector(BLOCKS, SPACED, _left_out)
    for part in bodies or [scope]:
        collector.add(part)
    return collector.text()


def _left_out(element: etree._Element, name: str) -> bool:
    return name in LEFT_OUT


def _inside_left_out(element: etree._Element) -> bool:
    """A `body` inside a note is left out with it; one inside another `body` is read with that one."""
    names = [local_name(ancestor) for ancestor in element.iterancestors()]
    return any(name in LEFT_OUT or name == "body" for name in names)


def _first(root: etree._Element, name: str) -> etree._Element | None:
    """First descendant (or self) with that local name: TEI files come with and without the TEI namespace."""
    for element in root.iter():
        if local_name(element) == name:
            return element
    return None


def _path(element: etree._Element | None, *names: str) -> list[etree._Element]:
    """Children along a path of local names, namespace-blind."""
    current = [] if element is None else [element]
    for name in names:
        current = [child for parent in current for child in parent if local_name(child) == name]
    return current


def _title(header: etree._Element | None) -> str | None:
    """The main title of `fileDesc/titleStmt` (the one typed "main" when several are given)."""
    titles = _path(header, "fileDesc", "titleStmt", "title")
    main = [title for title in titles if title.get("type") == "main"] or titles
    return inline_text(main[0]) if main else None


def _language(root: etree._Element, header: etree._Element | None) -> str | None:
    """`xml:lang` of `text`, then of the root, then the first `langUsage/language/@ident`."""
    text = _first(root, "text")
    for element in (text, root):
        if element is not None and element.get(XML_LANG):
            return element.get(XML_LANG).strip()
    for language in _path(header, "profileDesc", "langUsage", "language"):
        if language.get("ident"):
            return language.get("ident").strip()
    return None


def _licence_evidence(header: etree._Element | None) -> tuple[str, ...]:
    """`availability`'s licence targets, then licence and availability statements, in document order."""
    targets: list[str] = []
    statements: list[str] = []
    for availability in _path(header, "fileDesc", "publicationStmt", "availability"):
        if availability.get("status"):
            statements.append(f"status: {availability.get('status')}")
        for element in availability.iter():
            if local_name(element) == "licence" and element.get("target"):
                targets.append(element.get("target").strip())
        statement = normalise_space(" ".join(availability.itertext()))
        if statement:
            statements.append(statement)
    return tuple(dict.fromkeys(targets + statements))
