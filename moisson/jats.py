"""JATS (NLM/PMC article XML) → text: title, abstracts, body sections, back-matter prose; references out.

Why these choices: the text a corpus wants from an article is what its authors wrote: the title, the
abstract(s), the body with its section headings, figure and table captions and table cells (they carry
results), and the prose of the back matter (acknowledgements, funding, data availability). The reference
list is a bibliography, not prose, and is left out, as are footnote groups of affiliations, author notes
and journal metadata. For formulas given in several `alternatives`, one form is kept (TeX when present).
JATS files declare an external DTD that is never loaded, so its entities (`&nbsp;`) arrive undefined and
are mapped by the shared parser.
"""

from __future__ import annotations

from lxml import etree

from moisson.xml_text import ParagraphCollector, XmlText, inline_text, local_name, normalise_space, parse_xml

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

BLOCKS = frozenset({
    "sec", "title", "p", "list", "list-item", "def-list", "def-item", "term", "def", "fig", "fig-group",
    "table-wrap", "table-wrap-foot", "caption", "tr", "disp-formula", "disp-quote", "boxed-text", "statement",
    "verse-group", "verse-line", "ack", "app", "app-group", "glossary", "notes", "abstract", "trans-abstract",
    "speech", "attrib", "preformat", "code", "supplementary-material", "fn",
})
SPACED = frozenset({"label", "td", "th", "break", "inline-formula", "xref"})
LEFT_OUT = frozenset({"ref-list", "object-id", "graphic", "media", "inline-graphic", "permissions"})
LEFT_OUT_ABSTRACTS = frozenset({"toc", "teaser", "web-summary"})


def jats_document(data: bytes) -> XmlText:
    """Text, title, language and licence evidence of a JATS article. Raises XmlRefused on non-XML."""
    root = parse_xml(data)
    meta = _first(root, "article-meta")
    title = inline_text(_first(meta, "article-title")) if meta is not None else None
    return XmlText(
        text=jats_text(root, title),
        title=title,
        language=_language(root),
        licence_evidence=_licence_evidence(meta),
    )


def jats_text(root: etree._Element, title: str | None) -> str:
    """Title, abstracts, body, back matter and floats (figures/tables set apart) of the article.

    Sub-articles (eLife decision letters and author responses) are not read: they are not the article.
    """
    collector = ParagraphCollector(BLOCKS, SPACED, _left_out)
    if title:
        collector.paragraphs.append(title)
    meta = _first(root, "article-meta")
    for abstract in _children(meta, "abstract", "trans-abstract"):
        if abstract.get("abstract-type") not in LEFT_OUT_ABSTRACTS:
            collector.add(abstract)
    for part in _children(root, "body", "back", "floats-group"):
        collector.add(part)
    return collector.text()


def _left_out(element: etree._Element, name: str) -> bool:
    """References and non-text objects out; of formula `alternatives`, keep only the first TeX or the first form."""
    if name in LEFT_OUT:
        return True
    if name == "fig" and element.get("specific-use") == "child-fig":
        return True  # eLife "figure supplements": long captions of supplementary figures, not the article's text
    parent = element.getparent()
    if parent is not None and local_name(parent) == "alternatives":
        return element is not _preferred_alternative(parent)
    return False


def _preferred_alternative(alternatives: etree._Element) -> etree._Element | None:
    """TeX, then MathML, then a table, then any form that is not an image (PLOS gives a table's image first)."""
    forms = [child for child in alternatives if local_name(child) and local_name(child) not in LEFT_OUT]
    for preferred in ("tex-math", "math", "table"):
        for form in forms:
            if local_name(form) == preferred:
                return form
    return forms[0] if forms else None


def _first(root: etree._Element | None, name: str) -> etree._Element | None:
    if root is None:
        return None
    for element in root.iter():
        if local_name(element) == name:
            return element
    return None


def _children(parent: etree._Element | None, *names: str) -> list[etree._Element]:
    return [] if parent is None else [child for child in parent if local_name(child) in names]


def _language(root: etree._Element) -> str | None:
    language = root.get(XML_LANG)
    return language.strip() if language else None


def _licence_evidence(meta: etree._Element | None) -> tuple[str, ...]:
    """`license/@xlink:href` and `ali:license_ref` URLs first, then `@license-type` and `license-p` text."""
    urls: list[str] = []
    statements: list[str] = []
    for permissions in _children(meta, "permissions"):
        for element in permissions.iter():
            name = local_name(element)
            if name == "license":
                if element.get(XLINK_HREF):
                    urls.append(element.get(XLINK_HREF).strip())
                if element.get("license-type"):
                    statements.append(f"license-type: {element.get('license-type').strip()}")
            elif name == "license_ref":
                urls.append(normalise_space("".join(element.itertext())))
            elif name == "license-p":
                statements.append(inline_text(element) or "")
            elif name == "copyright-statement":
                statements.append(inline_text(element) or "")
    return tuple(evidence for evidence in dict.fromkeys(urls + statements) if evidence)
