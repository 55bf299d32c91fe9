"""DOCX, ODT and EPUB to text: a zip container read within limits, then the format's own XML read in order.

Why one module for three formats: all three are zip packages of XML, with the same hazards (a zip bomb, member
names that climb out of the package, encrypted members, billion laughs inside a part) and the same output shape
as the TEI/JATS readers (`XmlText`: paragraphs, title, language, licence evidence). The container is read
member by member on demand: bytes are counted while they are inflated, never taken from the zip headers, which
a hostile file sets as it likes.

Choices, made on docling's ground truths (../shared/data/documents/office, epub):
* headings are paragraphs of their own, list items are `- ` lines, one line per item;
* a data table (2+ rows and 2+ columns with text, short cells) is clean Markdown, as the HTML path writes it; a
  merged cell's text is repeated in every column and row it covers, as docling does, so the rows stay aligned;
  any other table is its cells' paragraphs;
* text boxes are kept (after the paragraph that anchors them); comments, headers, footers, footnotes, endnotes
  and deleted revisions are left out: docling leaves them out too, and they repeat or comment on the body;
* numbered list items carry their number (`1. `), counted as Word and LibreOffice count them: the numbers are
  part of the text ("step 3") and docling writes them;
* EPUB: the spine in order, the navigation document and `epub:switch` fallbacks out.

Measured (bench/documents_office.py, 25 files with references): bag-of-words F1 mean 0.990; DOCX 0.993 (19,
en), 1.000 (1, vi), ODT 0.999 (2), EPUB 0.965 (3); the two files under 0.97 differ from their references in
equations only (docling's and pandoc's LaTeX against the equation's own characters here). About 500 docs/s.

Public: `docx_document`, `odt_document`, `epub_document` (bytes → `XmlText`, or an `ExtractionError`:
`ContainerRefused` and its subclasses for the package, "empty text" when there is none), `READERS` by format,
`ZipContainer` and `ZipLimits` for other zip-packaged formats.
"""

from __future__ import annotations

import io
import posixpath
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from lxml import etree

from moisson.extraction import ExtractionError, markdown_table
from moisson.xml_text import ParagraphCollector, XmlRefused, XmlText, local_name, normalise_space, parse_xml

_CHUNK = 64 * 1024
_RATIO_GRACE = 1024 * 1024  # below this many inflated bytes a member may have any ratio (a page of spaces)


# --------------------------------------------------------------------------------------------------- container


class ContainerRefused(ExtractionError):
    """The zip package will not be read: the document is rejected with reason 'extraction'."""


class NotAZip(ContainerRefused):
    """The bytes are not a readable zip archive."""


class TooManyMembers(ContainerRefused):
    """More members than any real document has: a package built to exhaust the reader."""


class TooManyBytes(ContainerRefused):
    """The members read so far inflate past the package's byte budget (counted while inflating)."""


class RatioTooHigh(ContainerRefused):
    """A member inflates far more than text does: a zip bomb, stopped before it is inflated in full."""


class EncryptedMember(ContainerRefused):
    """A member is encrypted: without the password there is no text, and guessing is not our business."""


class OverTime(ContainerRefused):
    """Reading the package took longer than its time budget (checked as members inflate and between parts)."""


class BadPart(ContainerRefused):
    """A part of the package is not XML the safe parser will read (too large, broken beyond recovery, too deep)."""


class MissingPart(ContainerRefused):
    """The package lacks the part its format requires (`word/document.xml`, `content.xml`, the OPF)."""


@dataclass(frozen=True)
class ZipLimits:
    """What one document's package may cost. A long novel as EPUB inflates to ~5 MB, a DOCX report to ~2 MB."""

    max_members: int = 10_000
    max_total_bytes: int = 64 * 1024 * 1024
    max_ratio: float = 200.0  # XML deflates 5-20x; a zip bomb of zeros ~1000x
    # Inflating and parsing 64 MB takes about 2 s; one part's XML parse is not interruptible, so the budget is
    # checked between chunks and parts and the worker's own budget (moisson/workers.py) stays the last word.
    max_seconds: float | None = 20.0


def safe_name(name: str) -> str | None:
    """The member's name as a clean relative path, or None when it tries to leave the package (`../`, `/`, `C:`)."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return None
    clean = posixpath.normpath(name)
    if clean == ".." or clean.startswith("../") or clean == ".":
        return None
    return clean


class ZipContainer:
    """Members of a zip package, inflated on demand within `ZipLimits`; unsafe names are ignored, not read."""

    def __init__(self, data: bytes, limits: ZipLimits = ZipLimits()) -> None:
        try:
            self._archive = zipfile.ZipFile(io.BytesIO(data))
            infos = self._archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise NotAZip(f"not a readable zip: {error}") from None
        if len(infos) > limits.max_members:
            raise TooManyMembers(f"{len(infos)} members, over the limit of {limits.max_members}")
        self.limits = limits
        self.inflated = 0
        self._deadline = None if limits.max_seconds is None else time.monotonic() + limits.max_seconds
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = safe_name(info.filename)
            if name is not None and not info.is_dir():
                self._members.setdefault(name, info)

    def names(self) -> list[str]:
        return list(self._members)

    def has(self, name: str) -> bool:
        return name in self._members

    def read(self, name: str) -> bytes:
        """The member's bytes; MissingPart when absent, a ContainerRefused when it breaks a limit."""
        info = self._members.get(name)
        if info is None:
            raise MissingPart(f"no member {name!r} in the package")
        if info.flag_bits & 0x1:
            raise EncryptedMember(f"member {name!r} is encrypted")
        parts, size = [], 0
        try:
            with self._archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    self._charge(name, len(chunk), size, _consumed(member, info))
                    parts.append(chunk)
        except ContainerRefused:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as error:
            raise ContainerRefused(f"member {name!r} could not be read: {error}") from None
        return b"".join(parts)

    def read_optional(self, name: str) -> bytes | None:
        """The member's bytes, or None when the package does not have it (metadata parts are optional)."""
        return self.read(name) if name in self._members else None

    def check_time(self) -> None:
        """OverTime once the package's time budget is spent: called per chunk and between a format's parts."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise OverTime(f"package read for longer than {self.limits.max_seconds} s")

    def _charge(self, name: str, chunk: int, size: int, compressed: int) -> None:
        self.check_time()
        self.inflated += chunk
        if self.inflated > self.limits.max_total_bytes:
            raise TooManyBytes(f"package inflates past {self.limits.max_total_bytes} bytes (at {name!r})")
        if size > _RATIO_GRACE and size > self.limits.max_ratio * max(compressed, 1):
            raise RatioTooHigh(f"member {name!r} inflates over {self.limits.max_ratio:.0f}x its compressed size")


def _consumed(member: zipfile.ZipExtFile, info: zipfile.ZipInfo) -> int:
    """Compressed bytes read so far: the ratio is judged as the member inflates, not against its whole size,
    so a bomb is stopped after its first megabytes. zipfile keeps the count in `_compress_left` (CPython 3.8+);
    without it, the header's compressed size, which bounds what zipfile reads anyway."""
    left = getattr(member, "_compress_left", None)
    return info.compress_size - left if isinstance(left, int) else info.compress_size


# --------------------------------------------------------------------------------------------------- blocks


class Numbering:
    """DOCX list markers from `word/numbering.xml`: `- ` for bullets, `1. ` for numbered levels, counted in order.

    Why count: a numbered list's numbers are part of its text ("step 3"), docling writes them, and Word does not
    store them: they exist only as a format per level and a counter the reader keeps."""

    def __init__(self, root: etree._Element | None) -> None:
        self._formats: dict[tuple[str, int], tuple[str, int]] = {}
        self._counters: dict[str, list[int]] = {}
        if root is None:
            return
        abstract: dict[str, dict[int, tuple[str, int]]] = {}
        for element in root:
            if local_name(element) == "abstractNum":
                levels = abstract.setdefault(_attribute(element, "abstractNumId") or "", {})
                for level in (e for e in element if local_name(e) == "lvl"):
                    fmt = next((_attribute(e, "val") for e in level if local_name(e) == "numFmt"), None)
                    start = next((_attribute(e, "val") for e in level if local_name(e) == "start"), None)
                    levels[_digits(_attribute(level, "ilvl"), 0)] = (fmt or "bullet", _digits(start, 1))
        for element in root:
            if local_name(element) == "num":
                ref = next((_attribute(e, "val") for e in element if local_name(e) == "abstractNumId"), "")
                for level, value in abstract.get(ref or "", {}).items():
                    self._formats[(_attribute(element, "numId") or "", level)] = value

    def marker(self, num_id: str, level: int) -> str:
        fmt, start = self._formats.get((num_id, level), ("bullet", 1))
        counters = self._counters.setdefault(num_id, [])
        del counters[level + 1:]  # a shallower item restarts the deeper levels
        counters.extend([0] * (level + 1 - len(counters)))
        counters[level] = counters[level] + 1 if counters[level] else start
        return "- " if fmt in {"bullet", "none"} else f"{counters[level]}. "


def _digits(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


@dataclass
class Blocks:
    """Text blocks in reading order: paragraphs, list items (joined by one line) and tables."""

    items: list[tuple[str, str]]  # (kind, text), kind in {"p", "li", "table"}
    numbering: Numbering | None = None  # DOCX list numbering, shared by the nested blocks of cells and boxes

    def nested(self) -> Blocks:
        return Blocks([], self.numbering)

    def add(self, kind: str, text: str) -> None:
        text = text.strip()
        if text:
            self.items.append((kind, text))

    def text(self) -> str:
        out: list[str] = []
        for index, (kind, text) in enumerate(self.items):
            if out:
                previous = self.items[index - 1][0]
                out.append("\n" if kind == "li" and previous == "li" else "\n\n")
            out.append(text)
        return "".join(out)


def add_table(blocks: Blocks, grid: list[list[str]], cell_blocks: list[tuple[str, str]]) -> None:
    """A data table as clean Markdown, else its cells' blocks: the HTML path's rule (`markdown_table`)."""
    markdown = markdown_table(grid)
    if markdown is None:
        blocks.items.extend(cell_blocks)
    else:
        blocks.add("table", "\n".join(markdown))


def cell_line(items: list[tuple[str, str]]) -> str:
    """A cell's blocks on one line for its Markdown row; a table nested in the cell gives its cells' text."""
    parts = []
    for kind, text in items:
        if kind == "table":
            rows = [line for line in text.split("\n") if not line.startswith("|---")]
            text = " ".join(cell.replace("\\|", "|").strip() for row in rows for cell in re.split(r"(?<!\\)\|", row))
        parts.append(normalise_space(text))
    return " ".join(part for part in parts if part)


def _spaces(text: str) -> str:
    """Runs of spaces and tabs as one space, line breaks kept (a `w:br` inside a paragraph is a real line)."""
    lines = (normalise_space(line) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _first_text(root: etree._Element | None, names: set[str]) -> str | None:
    if root is None:
        return None
    for element in root.iter():
        if local_name(element) in names:
            text = normalise_space("".join(element.itertext()))
            if text:
                return text
    return None


def _dublin_core(root: etree._Element | None) -> tuple[str | None, str | None, list[str]]:
    """Title, language and rights statements of a Dublin Core metadata part (core.xml, meta.xml, the OPF)."""
    if root is None:
        return None, None, []
    rights = [normalise_space("".join(e.itertext())) for e in root.iter()
              if local_name(e) in {"rights", "license", "accessRights"}]
    return _first_text(root, {"title"}), _first_text(root, {"language"}), [r for r in rights if r]


def _parse_part(container: ZipContainer, name: str) -> etree._Element | None:
    data = container.read_optional(name)
    return None if data is None else _xml(data, name)


def _xml(data: bytes, name: str) -> etree._Element:
    """parse_xml, its refusal turned into the ExtractionError every caller of a document reader catches."""
    try:
        return parse_xml(data)
    except XmlRefused as error:
        raise BadPart(f"part {name!r}: {error}") from None


def _result(blocks: Blocks, title: str | None, language: str | None, evidence: list[str]) -> XmlText:
    text = blocks.text()
    if not text:
        raise ExtractionError("empty text")
    urls = [e for e in evidence if e.startswith(("http://", "https://"))]
    others = [e for e in evidence if e not in urls]
    return XmlText(text=text, title=title, language=language,
                   licence_evidence=tuple(dict.fromkeys(urls + others)))


# --------------------------------------------------------------------------------------------------- DOCX

# Parts left out of a paragraph's text: deleted and moved-away revisions, field codes, footnote marks, comment
# marks, content-control settings, and the VML copy of a text box that Word writes beside the DrawingML one
# (mc:Fallback).
_DOCX_SKIP = {"delText", "instrText", "Fallback", "footnoteReference", "endnoteReference", "commentReference",
              "del", "moveFrom", "rPr", "pPr", "sdtPr", "sdtEndPr", "delInstrText", "fldData"}


def docx_document(data: bytes, limits: ZipLimits = ZipLimits()) -> XmlText:
    """Text of a DOCX (Transitional or Strict OOXML) body in order, with title, language and rights evidence."""
    container = ZipContainer(data, limits)
    main = _docx_main_part(container)
    root = _xml(container.read(main), main)
    body = next((e for e in root.iter() if local_name(e) == "body"), None)
    blocks = Blocks([], Numbering(_parse_part(container, "word/numbering.xml")))
    if body is not None:
        _docx_blocks(body, blocks)
    title, language, evidence = _dublin_core(_parse_part(container, "docProps/core.xml"))
    evidence += _custom_licence(_parse_part(container, "docProps/custom.xml"))
    return _result(blocks, title, language, evidence)


def _docx_main_part(container: ZipContainer) -> str:
    """`word/document.xml`, or whatever `[Content_Types].xml` names as the main document part."""
    if container.has("word/document.xml"):
        return "word/document.xml"
    types = _parse_part(container, "[Content_Types].xml")
    for element in types.iter() if types is not None else ():
        if "document.main" in (element.get("ContentType") or ""):
            name = safe_name((element.get("PartName") or "").lstrip("/"))
            if name and container.has(name):
                return name
    raise MissingPart("no main document part (word/document.xml)")


def _custom_licence(root: etree._Element | None) -> list[str]:
    """Custom document properties named like a licence or rights statement (`docProps/custom.xml`)."""
    if root is None:
        return []
    found = []
    for prop in root.iter():
        if local_name(prop) == "property" and re.search(r"licen[cs]e|rights|copyright", prop.get("name") or "", re.I):
            value = normalise_space("".join(prop.itertext()))
            if value:
                found.append(value)
    return found


def _docx_blocks(container: etree._Element, blocks: Blocks) -> None:
    """Block-level children in order: paragraphs, tables, and the content of content controls (`w:sdt`)."""
    for child in container:
        name = local_name(child)
        if name == "p":
            _docx_paragraph(child, blocks)
        elif name == "tbl":
            _docx_table(child, blocks)
        elif name in {"sdt", "sdtContent", "customXml", "ins", "smartTag"}:
            _docx_blocks(child, blocks)


def _docx_paragraph(paragraph: etree._Element, blocks: Blocks) -> None:
    parts: list[str] = []
    boxes = blocks.nested()
    _docx_inline(paragraph, parts, boxes)
    text = _spaces("".join(parts))
    marker = _list_marker(paragraph, blocks.numbering) if text else None
    blocks.add("li", marker + text) if marker else blocks.add("p", text)
    blocks.items.extend(boxes.items)


def _list_marker(paragraph: etree._Element, numbering: Numbering | None) -> str | None:
    """The item's marker when the paragraph is in a list (`w:numPr` with a numId other than 0), else None."""
    num_pr = next((e for e in _children(paragraph, "pPr") if local_name(e) == "numPr"), None)
    if num_pr is None:
        return None
    num_id = next((_attribute(e, "val") for e in num_pr if local_name(e) == "numId"), None) or ""
    level = _digits(next((_attribute(e, "val") for e in num_pr if local_name(e) == "ilvl"), None), 0)
    if num_id == "0":
        return None
    return numbering.marker(num_id, min(level, 8)) if numbering is not None else "- "


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in element:
        if local_name(child) == name:
            yield from child


def _docx_inline(element: etree._Element, parts: list[str], boxes: Blocks) -> None:
    """Text of runs in order: `w:t` as is, `w:tab` a space, `w:br` a line; text boxes go to `boxes`."""
    for child in element:
        name = local_name(child)
        if not name or name in _DOCX_SKIP:
            continue
        if name == "t":
            parts.append(child.text or "")
        elif name in {"tab", "ptab"}:
            parts.append(" ")
        elif name in {"br", "cr"}:
            parts.append("\n")
        elif name == "noBreakHyphen":
            parts.append("-")
        elif name == "txbxContent":
            _docx_blocks(child, boxes)
        elif name == "oMathPara" or name == "oMath":
            parts.append(" " + " ".join(t.text or "" for t in child.iter() if local_name(t) == "t") + " ")
        else:
            _docx_inline(child, parts, boxes)


def _docx_table(table: etree._Element, blocks: Blocks) -> None:
    """Rows of cells; `w:gridBefore` skips columns, `w:gridSpan` repeats a cell across its columns, `w:vMerge`
    continues the cell above."""
    grid: list[list[str]] = []
    cell_blocks: list[tuple[str, str]] = []
    for row in (r for r in table if local_name(r) == "tr"):
        before = next((e for e in _children(row, "trPr") if local_name(e) == "gridBefore"), None)
        cells: list[str] = [""] * min(_digits(_attribute(before, "val") if before is not None else None, 0), 64)
        for cell in _children_through(row, "tc", {"sdt", "sdtContent", "customXml"}):
            inner = blocks.nested()
            _docx_blocks(cell, inner)
            text = cell_line(inner.items)
            span = _int_val(cell, "gridSpan", 1)
            if _is_continuation(cell) and grid:
                above = grid[-1]
                text = above[len(cells)] if len(cells) < len(above) else ""
            else:
                cell_blocks += inner.items
            cells += [text] * min(span, 64)
        grid.append(cells)
    add_table(blocks, grid, cell_blocks)


def _children_through(element: etree._Element, wanted: str, wrappers: set[str]) -> Iterator[etree._Element]:
    """The `wanted` children of `element`, also those inside wrapper elements (a DOCX content control around
    cells, ODT header-row groups around rows), in document order."""
    for child in element:
        name = local_name(child)
        if name == wanted:
            yield child
        elif name in wrappers:
            yield from _children_through(child, wanted, wrappers)


def _cell_property(cell: etree._Element, name: str) -> etree._Element | None:
    return next((e for e in _children(cell, "tcPr") if local_name(e) == name), None)


def _int_val(cell: etree._Element, name: str, default: int) -> int:
    element = _cell_property(cell, name)
    value = _attribute(element, "val") if element is not None else None
    return int(value) if value and value.isdigit() and int(value) > 0 else default


def _is_continuation(cell: etree._Element) -> bool:
    element = _cell_property(cell, "vMerge")
    return element is not None and _attribute(element, "val") in {None, "continue"}


def _attribute(element: etree._Element, name: str) -> str | None:
    """An attribute by local name, whatever its namespace (Transitional and Strict OOXML differ there)."""
    for key, value in element.attrib.items():
        if etree.QName(key).localname == name:
            return value
    return None


# --------------------------------------------------------------------------------------------------- ODT

_SVG = "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"  # svg:title, svg:desc: an image's alt text
_ODT_SKIP = {"note", "annotation", "tracked-changes", "bookmark-ref", "sequence-decls", "variable-decls",
             "deletion", "changed-region", "table-of-content-source", "index-title-template"}


def odt_document(data: bytes, limits: ZipLimits = ZipLimits()) -> XmlText:
    """Text of an ODT's `office:text` in order, with title, language and rights from `meta.xml`."""
    container = ZipContainer(data, limits)
    root = _xml(container.read("content.xml"), "content.xml")
    body = next((e for e in root.iter() if local_name(e) == "text" and local_name(e.getparent()) == "body"), None)
    blocks = Blocks([])
    lists = OdtLists([root, _parse_part(container, "styles.xml")])
    if body is not None:
        _odt_blocks(body, blocks, lists, None)
    meta = _parse_part(container, "meta.xml")
    title, language, evidence = _dublin_core(meta)
    evidence += _odt_user_licence(meta)
    return _result(blocks, title, language, evidence)


def _odt_user_licence(root: etree._Element | None) -> list[str]:
    if root is None:
        return []
    return [normalise_space("".join(e.itertext())) for e in root.iter() if local_name(e) == "user-defined"
            and re.search(r"licen[cs]e|rights|copyright", _attribute(e, "name") or "", re.I)]


class OdtLists:
    """List markers of an ODT: `1. ` where the list style numbers the level, `- ` otherwise.

    The style is named on the outermost `text:list` (nested lists inherit it, one level deeper); a list with
    `text:continue-numbering` or `text:continue-list` goes on counting where the last list of its style stopped."""

    def __init__(self, roots: list[etree._Element | None]) -> None:
        self._numbered: dict[str, dict[int, int]] = {}  # style → {level: start} for numbered levels
        self._counters: dict[tuple[str, int], int] = {}
        for root in roots:
            for style in (root.iter() if root is not None else ()):
                if local_name(style) == "list-style":
                    levels = self._numbered.setdefault(_attribute(style, "name") or "", {})
                    for level in style:
                        if local_name(level) == "list-level-style-number" and _attribute(level, "num-format"):
                            start = _digits(_attribute(level, "start-value"), 1)
                            levels[_digits(_attribute(level, "level"), 1)] = start

    def enter(self, element: etree._Element, outer: tuple[str, int] | None) -> tuple[str, int]:
        """(style, level) of a `text:list` inside `outer`; a new top-level list restarts its style's counters."""
        style = _attribute(element, "style-name") or (outer[0] if outer else "")
        level = outer[1] + 1 if outer else 1
        continues = _attribute(element, "continue-numbering") == "true" or _attribute(element, "continue-list")
        if not continues:
            self._counters.pop((style, level), None)
        for key in [key for key in self._counters if key[0] == style and key[1] > level]:
            del self._counters[key]  # deeper levels restart under each item
        return style, level

    def marker(self, context: tuple[str, int]) -> str:
        start = self._numbered.get(context[0], {}).get(context[1])
        if start is None:
            return "- "
        self._counters[context] = self._counters.get(context, start - 1) + 1
        return f"{self._counters[context]}. "


def _odt_blocks(container: etree._Element, blocks: Blocks, lists: OdtLists, context: tuple[str, int] | None,
                marker: str | None = None) -> None:
    """Block children in order; `context` is the list being read, `marker` the current item's, given once."""
    for child in container:
        name = local_name(child)
        if name in {"h", "p"}:
            parts: list[str] = []
            boxes = Blocks([])
            _odt_inline(child, parts, boxes, lists)
            text = _spaces("".join(parts))
            if context is not None and text:
                blocks.add("li", (marker or "") + text)
                marker = None
            else:
                blocks.add("p", text)
            blocks.items.extend(boxes.items)
        elif name == "list":
            inner = lists.enter(child, context)
            for item in (e for e in child if local_name(e) in {"list-item", "list-header"}):
                _odt_blocks(item, blocks, lists, inner, lists.marker(inner) if local_name(item) == "list-item" else "")
        elif name in {"section", "index-body", "table-of-content", "illustration-index", "alphabetical-index",
                      "user-index", "bibliography"}:
            _odt_blocks(child, blocks, lists, context)
        elif name == "table":
            _odt_table(child, blocks, lists)


def _odt_inline(element: etree._Element, parts: list[str], boxes: Blocks, lists: OdtLists) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        name = local_name(child)
        if name and name not in _ODT_SKIP and etree.QName(child).namespace != _SVG:
            if name == "s":
                parts.append(" ")
            elif name == "tab":
                parts.append(" ")
            elif name == "line-break":
                parts.append("\n")
            elif name == "text-box":
                _odt_blocks(child, boxes, lists, None)
            else:
                _odt_inline(child, parts, boxes, lists)
        if child.tail:
            parts.append(child.tail)


def _odt_table(table: etree._Element, blocks: Blocks, lists: OdtLists) -> None:
    """Rows of cells; a spanned cell repeats its text over the cells it covers (across, then down)."""
    grid: list[list[str]] = []
    cell_blocks: list[tuple[str, str]] = []
    for row in _children_through(table, "table-row", {"table-header-rows", "table-rows", "table-row-group"}):
        cells: list[str] = []
        pending = 0
        for cell in row:
            name = local_name(cell)
            if name not in {"table-cell", "covered-table-cell"}:
                continue
            repeat = min(_int_attribute(cell, "number-columns-repeated", 1), 64)
            if name == "covered-table-cell":
                for _ in range(repeat):
                    if pending:
                        pending -= 1
                        cells.append(cells[-1])
                    else:
                        above = grid[-1] if grid else []
                        cells.append(above[len(cells)] if len(cells) < len(above) else "")
                continue
            inner = Blocks([])
            _odt_blocks(cell, inner, lists, None)
            text = cell_line(inner.items)
            cell_blocks += inner.items
            pending = min(_int_attribute(cell, "number-columns-spanned", 1), 64) - 1
            cells += [text] * repeat
        grid.append(cells)
    add_table(blocks, grid, cell_blocks)


def _int_attribute(element: etree._Element, name: str, default: int) -> int:
    value = _attribute(element, name)
    return int(value) if value and value.isdigit() and int(value) > 0 else default


# --------------------------------------------------------------------------------------------------- EPUB

_XHTML_BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre", "div",
                           "section", "article", "figcaption", "caption", "tr", "header", "footer", "aside",
                           "table", "ul", "ol", "dl", "hgroup", "address", "body"})
_XHTML_SPACED = frozenset({"br", "td", "th", "img", "math"})
_XHTML_SKIPPED = {"head", "script", "style", "nav", "rt", "rp", "template"}


def _xhtml_skip(element: etree._Element, name: str) -> bool:
    """Navigation, scripts, ruby readings and `epub:switch` fallbacks out; a table of contents by `epub:type` too."""
    if name in _XHTML_SKIPPED:
        return True
    if name == "default" and local_name(element.getparent()) == "switch":  # the fallback of an `epub:switch`
        return True  # whose `epub:case` (MathML, read here) is kept: both would say the same thing twice
    kind = next((v for k, v in element.attrib.items() if etree.QName(k).localname == "type"), "")
    return "toc" in kind.split() or "landmarks" in kind.split() or "page-list" in kind.split()


def epub_document(data: bytes, limits: ZipLimits = ZipLimits()) -> XmlText:
    """Text of an EPUB (2 or 3): its spine's XHTML documents in order, the navigation document left out."""
    container = ZipContainer(data, limits)
    opf_name = _opf_name(container)
    opf = _xml(container.read(opf_name), opf_name)
    blocks = Blocks([])
    for name in _spine(opf, posixpath.dirname(opf_name)):
        if container.has(name):
            _xhtml_blocks(_xml(container.read(name), name), blocks)
            container.check_time()
    metadata = next((e for e in opf.iter() if local_name(e) == "metadata"), None)
    title, language, evidence = _dublin_core(metadata)
    if metadata is not None:
        evidence += [normalise_space(e.text or "") or (e.get("href") or "") for e in metadata.iter()
                     if local_name(e) in {"meta", "link"}
                     and re.search(r"licen[cs]e|rights", (e.get("property") or "") + (e.get("rel") or ""), re.I)]
    return _result(blocks, title, language, [e for e in evidence if e])


def epub_package_document(data: bytes, limits: ZipLimits = ZipLimits()) -> bytes:
    """An EPUB's package document (OPF) as bytes: where its metadata, TDMRep's reservation among them, lives."""
    container = ZipContainer(data, limits)
    return container.read(_opf_name(container))


def _opf_name(container: ZipContainer) -> str:
    root = _xml(container.read("META-INF/container.xml"), "META-INF/container.xml")
    for element in root.iter():
        if local_name(element) == "rootfile":
            name = safe_name(unquote(element.get("full-path") or ""))
            if name and container.has(name):
                return name
    raise MissingPart("no package document (OPF) named in META-INF/container.xml")


def _spine(opf: etree._Element, base: str) -> list[str]:
    """Member names of the spine's items in reading order, the EPUB 3 navigation document excluded."""
    manifest: dict[str, str] = {}
    for item in opf.iter():
        if local_name(item) == "item" and "nav" not in (item.get("properties") or "").split():
            href = unquote((item.get("href") or "").split("#")[0])
            name = safe_name(posixpath.join(base, href)) if href else None
            if name and item.get("id"):
                manifest[item.get("id")] = name
    spine = [manifest.get(ref.get("idref") or "") for ref in opf.iter() if local_name(ref) == "itemref"]
    return list(dict.fromkeys(name for name in spine if name))


def _xhtml_blocks(root: etree._Element, blocks: Blocks) -> None:
    body = next((e for e in root.iter() if local_name(e) == "body"), root)
    collector = ParagraphCollector(_XHTML_BLOCKS, _XHTML_SPACED, _xhtml_skip)
    collector.add(body)
    for paragraph in collector.paragraphs:
        blocks.add("p", paragraph)


READERS: dict[str, Callable[[bytes], XmlText]] = {"docx": docx_document, "odt": odt_document, "epub": epub_document}
