"""From the bytes of a born-digital PDF to one document: its text, where each page starts, title, language, licence.

A PDF is one document, not one per page: a report or a paper is the unit a reader cites and a deduplicator
compares. Page offsets are kept so that a locator `...#page=N` can still point inside it.

PDFium (pypdfium2) reads the text layer: it is fast (a C++ parser, about an order of magnitude above pdfminer.six
on bench/documents.py), tolerant of broken cross-reference tables, and it returns text in content-stream order.
Content-stream order is right for most PDFs (LaTeX and office exports write a column before the next): on
py-pdf's two-column pdfTeX article (multicolumn.pdf) PDFium's order reads the whole left column, then the right
one. Not every producer does, so a page whose stream hops across a vertical gutter line by line is re-ordered by
column (`_column_order`); on the 39 PDFs of ../shared/data/documents/pdf only a Polish invoice (seller and buyer
blocks side by side) meets that test. What PDFium leaves as layout noise is cleaned here: line-end hyphens, soft
hyphens, running headers and footers, bare page numbers, ligature characters. Right-to-left text (Arabic, Hebrew)
is already in reading order from PDFium, but for the letters of one glyph (lam-alef) and the spaces where the
direction changes (`char_by_char_text`), so no bidi library is needed. Characters PDFium read as glyph numbers (a
CID font without ToUnicode) are named from the embedded font's own cmap (`glyph_number_fixes`).

Pages without a text layer are listed, not guessed at: whether to OCR them or reject the document is decided
by the caller. So are pages whose text layer is there but unusable (`unusable_text_reason`): letters that are not
the page's letters (a font whose codes are glyph numbers and no ToUnicode map, read by PDFium as shifted letters:
'3HQČåQtSURVWĜHGN' for 'Peněžní prostředky'), private-use or control characters, or glyphs PDFium cannot map at
all (a CID font it could not load); OCR reads the page as it looks. Hostile input is bounded: a page count limit
checked before any page is read, and an optional time budget checked between pages (one PDFium page call is not
interruptible; the parent process's budget, as for HTML extraction, is the hard limit). PDFium is not thread-safe:
call this from one thread per process (the extraction workers are processes).
"""

from __future__ import annotations

import bisect
import ctypes
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from moisson.extraction import ExtractionError
from moisson.font_cmap import glyph_to_unicode, unicode_to_glyph
from moisson.licence import Evidence, to_spdx

PAGE_SEPARATOR = "\n\n"
FILE_NAME = re.compile(r"^[\w\-. ]+\.(?:exe|txt|docx?|odt|rtf|pdf|tex|dvi|ps|indd|xlsx?|pptx?|html?)$", re.IGNORECASE)
MAX_XMP_BYTES = 1024 * 1024
# PDFium marks a hyphen it judged to be a line-end hyphenation with U+FFFE (and joins the two lines).
PDFIUM_HYPHEN = "\ufffe"
SOFT_HYPHEN = "\u00ad"
# Latin ligatures (U+FB00-FB06) and the Armenian ones after them: NFKC on these only, so that the rest of the
# text (superscripts, full-width forms, compatibility characters with meaning) is left as the PDF has it.
LIGATURES = re.compile("[\ufb00-\ufb06\ufb13-\ufb17\u0132\u0133\u01c4-\u01cc]")
LINE_END_HYPHEN = re.compile(r"(\w)[-\u2010]\n(?=\w)")
BARE_PAGE_NUMBER = re.compile(r"^[\s\-–—|]*(?:(?:page|p\.|seite|página|pagina|strona)\s*)?"
                              r"(?:\d{1,5}|[ivxlcdm]{1,7})(?:\s*(?:/|of|sur|von|de|z)\s*\d{1,5})?[\s\-–—|]*$",
                              re.IGNORECASE)
# How many lines at the top and at the bottom of a page are looked at as a possible running header/footer.
EDGE_LINES = 2
# A line is running (header/footer) when it recurs, digits aside, at the same edge of this share of the pages.
RUNNING_SHARE = 0.5
MIN_PAGES_FOR_RUNNING = 3
SHORT_RUNNING_WORDS = 5
MIN_COLUMN_SEGMENTS = 5
MIN_COLUMN_WIDTH = 0.2  # share of the page width each column's text must span
MAX_FONT_BYTES = 32 * 1024 * 1024  # an embedded font program read for its cmap (a full CJK font: about 20 MB)
# Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan... and their presentation forms
RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
CATALOG_LANG = re.compile(rb"/Lang\s*\(([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3})\)")
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "cc": "http://creativecommons.org/ns#",
}
RDF_RESOURCE = f"{{{NS['rdf']}}}resource"


class PdfError(ExtractionError):
    """The PDF yields no text for a reason worth naming (the document is rejected with reason 'extraction')."""


class PdfEncrypted(PdfError):
    """The PDF needs a password to be read, and none (or a wrong one) was given."""


class PdfUnreadable(PdfError):
    """PDFium cannot open the file: not a PDF, truncated beyond repair, or broken structure."""


class PdfTooLarge(PdfError):
    """More pages than `max_pages`, or reading took longer than `max_seconds`: refused rather than left to run."""


# A page's text layer is unusable when more than this share of its visible characters are private-use, replacement,
# control or unassigned code points (what a font without a Unicode mapping often yields).
MAX_JUNK_SHARE = 0.5
# ... or when its Latin letters are not words of a language: letters shifted by a glyph offset (a font whose codes
# are glyph numbers, read without a Unicode map) are mostly consonants, in words without a vowel. Both must hold:
# fewer than MAX_VOWEL_SHARE vowels (a, e, i, o, u, y, accented or not) among the page's Latin letters, where every
# good page of ../shared/data/documents/pdf has 0.29 or more (the lowest: Arabic with 'Python' and 'R'; prose is
# 0.35-0.45), and at least MIN_VOWELLESS_WORDS of its Latin words of 3+ letters without a vowel, where the good pages
# have 0.20 at most (acronyms: 'KCD', 'PLN', 'HTML'). The Czech page with a non-Unicode CMap, as PDFium alone reads
# it, has (0.09, 0.5) (`glyph_number_fixes` now reads it right from its font); English shifted by 29 places as
# that CMap does, with no font program to read (tests/test_pdf_text.py), has (0.23, 0.5).
MAX_VOWEL_SHARE = 0.25
MIN_VOWELLESS_WORDS = 0.3
MIN_LETTERS_JUDGED = 12
VOWELS = frozenset("aeiouy")
LETTERS = re.compile(r"[^\W\d_]{3,}")
# ... or when this share of its text runs use a font PDFium could not load (no name, no Unicode for any glyph, no
# character on the text page: pdfminer's simple3.pdf, 2 of 6 runs in a Ryumin-Light CID font, not embedded, without
# a font descriptor, with the vertical JIS CMap 'V'; the good pages have 0.004 at most, 4 of 1045 runs).
MAX_UNMAPPED_RUN_SHARE = 0.25


@dataclass(frozen=True)
class PdfText:
    """One PDF as one document.

    `page_starts[i]` is the offset in `text` where page i+1 starts (page i+1's text is
    `text[page_starts[i]:page_starts[i+1]]`, separator included at its end); `pages_without_text` are 1-based
    page numbers whose text layer is empty (image-only pages: OCR them or reject the document);
    `pages_with_unusable_text` maps 1-based page numbers whose text layer is there but garbled to the reason
    (their text is kept in `text`: without OCR it is still the best there is).
    """

    text: str
    page_starts: list[int]
    pages_without_text: list[int]
    title: str | None = None
    language: str | None = None
    licence_evidence: list[Evidence] = field(default_factory=list)
    pages_with_unusable_text: dict[int, str] = field(default_factory=dict)

    @property
    def page_count(self) -> int:
        return len(self.page_starts)

    def page_texts(self) -> list[str]:
        """Each page's text, empty for a page without a text layer (the one OCR may fill)."""
        ends = self.page_starts[1:] + [len(self.text)]
        return [self.text[start:end].removesuffix(PAGE_SEPARATOR).rstrip("\n")
                for start, end in zip(self.page_starts, ends)]

    def page_at(self, offset: int) -> int:
        """The 1-based page holding character `offset`, for a `#page=N` locator."""
        return max(1, bisect.bisect_right(self.page_starts, offset))


def pdf_document(data: bytes, *, password: str | None = None, max_pages: int = 2000,
                 max_seconds: float | None = None) -> PdfText:
    """Read the text layer of a whole PDF; raise a PdfError subclass when it cannot be read."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    document = _open(data, password)
    try:
        count = len(document)
        if count > max_pages:
            raise PdfTooLarge(f"PDF has {count} pages, more than the {max_pages} allowed")
        read = [_page_lines(document, index, deadline) for index in range(count)]
        info = document.get_metadata_dict()
    finally:
        document.close()
    pages = remove_running_lines([lines for lines, _ in read])
    texts = [clean_page_text("\n".join(lines)) for lines in pages]
    text, starts = join_pages(texts)
    xmp = xmp_fields(data)
    title = _title(info.get("Title") or "") or _title(xmp.get("title") or "")
    unusable = {index + 1: reason for index, (page, (_, unmapped)) in enumerate(zip(texts, read))
                if page.strip() and (reason := unusable_text_reason(page, unmapped))}
    return PdfText(text=text, page_starts=starts,
                   pages_without_text=[index + 1 for index, page in enumerate(texts) if not page.strip()],
                   title=title or None, language=_language(data, xmp), licence_evidence=xmp_licence_evidence(xmp),
                   pages_with_unusable_text=unusable)


def unusable_text_reason(text: str, unmapped_run_share: float = 0.0) -> str | None:
    """Why a page's text layer cannot be the page's text (then OCR should read the page), or None when it can.

    The tests are cheap and conservative: a false alarm costs an OCR pass and may lose text, so each threshold
    sits far from every good page measured (see the constants).
    """
    if unmapped_run_share > MAX_UNMAPPED_RUN_SHARE:
        return f"text layer unusable: {unmapped_run_share:.0%} of its text runs use a font with no Unicode mapping"
    visible = [char for char in text if not char.isspace()]
    junk = sum(1 for char in visible if char == "\ufffd" or unicodedata.category(char) in ("Co", "Cc", "Cn", "Cs"))
    if visible and junk > MAX_JUNK_SHARE * len(visible):
        return f"text layer unusable: {junk} of {len(visible)} characters are private-use, control or unassigned"
    latin = [char for char in visible if char.isalpha() and _is_latin(char)]
    if len(latin) >= MIN_LETTERS_JUDGED:
        vowels = sum(1 for char in latin if _is_vowel(char))
        words = [word for word in LETTERS.findall(text) if all(_is_latin(char) for char in word)]
        vowelless = sum(1 for word in words if not any(_is_vowel(char) for char in word))
        if vowels < MAX_VOWEL_SHARE * len(latin) and words and vowelless >= MIN_VOWELLESS_WORDS * len(words):
            return (f"text layer unusable: {vowels} vowels among {len(latin)} Latin letters and {vowelless} of "
                    f"{len(words)} words without one, not a language (a font whose codes are not Unicode)")
    return None


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def _is_vowel(char: str) -> bool:
    return unicodedata.normalize("NFD", char)[0].casefold() in VOWELS


def _title(value: str) -> str | None:
    """A document title, not the file name a print driver put there ('10811.exe', 'Microsoft Word - x.docx')."""
    value = re.sub(r"^Microsoft (?:Word|PowerPoint|Excel) - ", "", " ".join(value.split()))
    return None if not value or FILE_NAME.match(value) else value


def _open(data: bytes, password: str | None) -> pdfium.PdfDocument:
    """Open with PDFium, telling a password problem apart from a broken file."""
    try:
        return pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise PdfEncrypted("PDF is encrypted and no valid password was given") from error
        raise PdfUnreadable(f"PDF cannot be opened: {error}") from error


def _page_lines(document: pdfium.PdfDocument, index: int, deadline: float | None) -> tuple[list[str], float]:
    """The lines of one page, in reading order, and the share of its text runs PDFium could not map to Unicode."""
    if deadline is not None and time.monotonic() > deadline:
        raise PdfTooLarge(f"PDF text took longer than its time budget (stopped at page {index + 1})")
    try:
        page = document[index]
        textpage = page.get_textpage()
    except pdfium.PdfiumError:
        return [], 0.0  # a page PDFium cannot load (a broken page tree) is listed as a page without text
    try:
        unmapped = _unmapped_run_share(page, textpage)
        segments = _segments(textpage)
        ordered = _column_order(segments, page.get_width())
        if ordered is None:
            text = textpage.get_text_range()
            fixes = glyph_number_fixes(textpage)
            if fixes or RIGHT_TO_LEFT.search(text):
                text = char_by_char_text(textpage, fixes)
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            return _rejoin_raised(lines, segments), unmapped
        return _lines_of(ordered), unmapped
    finally:
        textpage.close()
        page.close()


def _unmapped_run_share(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> float:
    """The share of the page's text objects drawn with a font PDFium could not load and that give no Unicode.

    Such glyphs are absent from the text page altogether (no call returns them, not even per character or by
    bounding box), so only the page's objects tell that text is missing. The font's name is asked first (cheap);
    the object's text only for a font without one.
    """
    runs = unmapped = 0
    for position in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        run = pdfium_c.FPDFPage_GetObject(page.raw, position)
        if pdfium_c.FPDFPageObj_GetType(run) != pdfium_c.FPDF_PAGEOBJ_TEXT:
            continue
        runs += 1
        font = pdfium_c.FPDFTextObj_GetFont(run)
        if font and pdfium_c.FPDFFont_GetBaseFontName(font, None, 0) > 1:
            continue
        unmapped += pdfium_c.FPDFTextObj_GetText(run, textpage.raw, None, 0) <= 2  # bytes: the terminator alone
    return unmapped / runs if runs else 0.0


def glyph_number_fixes(textpage: pdfium.PdfTextPage) -> dict[int, str]:
    """The right character for each character PDFium read as a glyph number (index on the text page -> character).

    A CID font with Identity-H codes and no ToUnicode map draws glyph numbers, and PDFium, flagging the character
    (FPDFText_HasUnicodeMapError), returns the number as the character: 'Peněžní' comes out '3HQČåQt'. The font
    program embedded in the PDF maps characters to glyphs (moisson/font_cmap.py); read backwards, it names the
    glyph's character. A font's flagged characters are replaced only when every one of them is a glyph of that map
    and fewer than half are characters the font has at all (a right character is drawn by a glyph the font maps it
    to): on the shared PDFs the Czech and Chinese pages pdfminer.six reads this way qualify (13 of 28 and 0 of 4
    characters in the font), the Polish invoice whose flagged characters are right does not (724 of 724).
    """
    flagged: dict[int, list[int]] = {}
    fonts: dict[int, object] = {}
    for index in range(textpage.count_chars()):
        if pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, index) != 1:
            continue
        run = pdfium_c.FPDFText_GetTextObject(textpage.raw, index)
        font = pdfium_c.FPDFTextObj_GetFont(run) if run else None
        if font:
            key = ctypes.cast(font, ctypes.c_void_p).value or 0
            fonts[key] = font
            flagged.setdefault(key, []).append(index)
    fixes: dict[int, str] = {}
    for key, indexes in flagged.items():
        program = _font_program(fonts[key])
        if not program:
            continue
        to_glyph = unicode_to_glyph(program)
        to_char = glyph_to_unicode(program)
        codes = [pdfium_c.FPDFText_GetUnicode(textpage.raw, index) for index in indexes]
        if all(code in to_char for code in codes) and sum(code in to_glyph for code in codes) < 0.5 * len(codes):
            fixes.update({index: chr(to_char[code]) for index, code in zip(indexes, codes)})
    return fixes


def _font_program(font) -> bytes:
    """The embedded font program (TrueType/OpenType bytes), b'' when there is none or it is too large to read."""
    size = ctypes.c_size_t()
    if not pdfium_c.FPDFFont_GetFontData(font, None, 0, ctypes.byref(size)) or not 0 < size.value <= MAX_FONT_BYTES:
        return b""
    buffer = (ctypes.c_uint8 * size.value)()
    if not pdfium_c.FPDFFont_GetFontData(font, buffer, size.value, ctypes.byref(size)):
        return b""
    return bytes(buffer)


def char_by_char_text(textpage: pdfium.PdfTextPage, fixes: dict[int, str] | None = None) -> str:
    """The page's text character by character, with `fixes` (index -> character) applied and, on a page with
    right-to-left script, its letters in reading order.

    PDFium already puts Arabic and Hebrew in logical (reading) order, but for two things: the characters of one
    glyph mapped to several (a lam-alef ligature, 'لإ'; a whole word drawn as one glyph) come out reversed when they
    are right-to-left ('إل'), and no space is put where the writing direction changes between two words
    ('Pythonمن'). Both are told by the characters' boxes: a reversed group shares one box, and reading neighbours
    across a change of direction lie apart. Control characters a broken font maps its glyphs to become spaces.
    """
    fixes = fixes or {}
    chars: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    for index in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
        pdfium_c.FPDFText_GetCharBox(textpage.raw, index, left, right, bottom, top)
        char = fixes.get(index) or (chr(code) if 0 < code < 0x110000 else " ")
        chars.append(" " if unicodedata.category(char) == "Cc" and char not in "\r\n\t" else char)
        boxes.append((left.value, bottom.value, right.value, top.value))
    if not any(RIGHT_TO_LEFT.match(char) for char in chars):
        return "".join(chars)
    _unreverse_glyph_groups(chars, boxes)
    return "".join(_spaced_at_direction_changes(chars, boxes))


def _unreverse_glyph_groups(chars: list[str], boxes: list[tuple[float, float, float, float]]) -> None:
    """Put back in order the runs of characters that share one glyph's box and hold right-to-left letters."""
    start = 0
    for end in range(1, len(chars) + 1):
        if end < len(chars) and boxes[end] == boxes[start] and boxes[end][2] > boxes[end][0]:
            continue
        group = chars[start:end]
        if len(group) > 1 and any(unicodedata.bidirectional(char) in ("R", "AL") for char in group):
            chars[start:end] = group[::-1]
        start = end


def _spaced_at_direction_changes(chars: list[str], boxes: list[tuple[float, float, float, float]]) -> list[str]:
    """A space between a left-to-right and a right-to-left letter that follow each other in reading order but do not
    touch on the page. Across a change of direction, reading neighbours sit at opposite ends of their words ('n' of
    'Python' and the first letter of 'من' to its left), so this is a word boundary PDFium did not mark, unless
    the two glyphs touch (a one-letter word); the box gaps between the words themselves say nothing, as the space
    glyph is laid out on either side by the bidi algorithm (0.2 pt between 'Python' and 'من' in Word's export)."""
    out: list[str] = []
    for index, char in enumerate(chars):
        before, here = _direction(chars[index - 1]) if index else None, _direction(char)
        if before and here and before != here and _apart(boxes[index - 1], boxes[index]):
            out.append(" ")
        out.append(char)
    return out


def _direction(char: str) -> str | None:
    kind = unicodedata.bidirectional(char)
    return "R" if kind in ("R", "AL") else "L" if kind == "L" else None


def _apart(first: tuple[float, float, float, float], second: tuple[float, float, float, float]) -> bool:
    """Whether two glyphs' boxes leave a horizontal gap wider than a fifth of their height between them."""
    gap = max(first[0], second[0]) - min(first[2], second[2])
    return gap > 0.2 * max(first[3] - first[1], second[3] - second[1], 1.0)


Segment = tuple[float, float, float, float, str]  # left, bottom, right, top, text


def _segments(textpage: pdfium.PdfTextPage) -> list[Segment]:
    """PDFium's text rectangles (one per run of text on a line), each with its text, in content-stream order."""
    segments = []
    for index in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(index)
        text = textpage.get_text_bounded(left, bottom, right, top)
        if text.strip():
            segments.append((left, bottom, right, top, text.replace("\r", "").replace("\n", " ")))
    return segments


RAISED_SEARCH_LINES = 50  # short lines looked at for one raised run
MAX_RAISED_CHARS = 3  # a superscript or subscript PDFium put on a line of its own: '2' of mc², a footnote mark


def _rejoin_raised(lines: list[str], segments: list[Segment]) -> list[str]:
    """Put back into its line a short run PDFium gave a line of its own because a text rise lifted it ('E = mc',
    '2', ' is the ...' for 'E = mc2 is the ...'): a run of at most MAX_RAISED_CHARS characters, off its
    neighbours' baseline, right after the text before it and right before the text after it, which share a line.
    Only the short lines are candidates, each used once, so the work stays linear in the page."""
    short = [index for index in range(1, len(lines) - 1) if 0 < len(lines[index].strip()) <= MAX_RAISED_CHARS]
    if not short:
        return lines
    merged: list[int] = []
    for before, raised, after in zip(segments, segments[1:], segments[2:]):
        if not short or not _is_raised(before, raised, after):
            continue
        for position, index in enumerate(short[:RAISED_SEARCH_LINES]):
            if lines[index].strip() == raised[4].strip() and lines[index - 1].rstrip().endswith(before[4].rstrip()) \
                    and lines[index + 1].lstrip().startswith(after[4].lstrip()):
                merged.append(index)
                del short[:position + 1]
                break
    for index in sorted(merged, reverse=True):
        lines[index - 1:index + 2] = [lines[index - 1] + lines[index].strip() + lines[index + 1]]
    return lines


def _is_raised(before: Segment, raised: Segment, after: Segment) -> bool:
    height = before[3] - before[1]
    same_line = min(before[3], after[3]) - max(before[1], after[1]) > 0.5 * min(height, after[3] - after[1])
    middle = (before[1] + before[3]) / 2
    off_baseline = raised[1] > middle or raised[3] < middle
    close = -1 <= raised[0] - before[2] < 0.5 * height and -1 <= after[0] - raised[2] < 0.5 * height
    short = 0 < len(raised[4].strip()) <= MAX_RAISED_CHARS and any(char.isalnum() for char in raised[4])
    return short and same_line and off_baseline and close


def _column_order(segments: list[Segment], width: float) -> list[Segment] | None:
    """Segments ordered column by column when the page has two columns, else None (keep PDFium's order).

    A gutter is a vertical line in the middle of the page crossed by few segments while at least three lines
    lie fully on each side of it, side by side. Segments crossing it (titles, abstracts, full-width figures'
    captions) cut the page into bands; within a band the left column is read before the right one.
    """
    gutter = _gutter(segments, width)
    if gutter is None:
        return None
    ordered: list[Segment] = []
    band: list[Segment] = []
    for segment in sorted(segments, key=lambda s: (-s[3], s[0])):
        if segment[0] < gutter < segment[2]:
            ordered.extend(_band_order(band, gutter))
            band = []
            ordered.append(segment)
        else:
            band.append(segment)
    ordered.extend(_band_order(band, gutter))
    return ordered


def _gutter(segments: list[Segment], width: float) -> float | None:
    """The x of a gutter whose two sides PDFium's order interleaves, or None.

    Content-stream order is kept whenever it already reads a column before the next (LaTeX, office exports:
    few switches from one side to the other); only a page whose stream hops between the columns line by line
    (switches on most lines) is re-ordered, so a false gutter on a table or a spaced title cannot scramble it.
    """
    if not segments:
        return None
    margin = sorted(s[3] - s[1] for s in segments)[len(segments) // 2]  # a gutter is at least a line high wide
    best: tuple[int, float] | None = None
    for step in range(30, 71):
        x = width * step / 100
        sides = [_side(s, x, margin) for s in segments]
        left, right = sides.count("L"), sides.count("R")
        if min(left, right) < MIN_COLUMN_SEGMENTS or min(_span(segments, sides, "L"), _span(segments, sides, "R")) < \
                MIN_COLUMN_WIDTH * width or sides.count("?") > 2 or sides.count("C") > len(sides) * 0.15:
            continue
        in_columns = [side for side in sides if side in "LR"]
        switches = sum(1 for a, b in zip(in_columns, in_columns[1:]) if a != b)
        if switches >= max(4, min(left, right) // 2) and (best is None or switches > best[0]) \
                and not _crossing_shares_a_line(segments, sides):
            best = (switches, x)
    return None if best is None else best[1]


def _crossing_shares_a_line(segments: list[Segment], sides: list[str]) -> bool:
    """Whether a segment across the gutter has text of a column beside it: then the 'gutter' runs through a
    single-column line broken into runs (font changes, kerning), not between two columns."""
    crossing = [s for s, side in zip(segments, sides) if side == "C"]
    beside = [s for s, side in zip(segments, sides) if side in "LR"]
    return any(min(c[3], b[3]) - max(c[1], b[1]) > 0.5 * (b[3] - b[1]) for c in crossing for b in beside)


def _span(segments: list[Segment], sides: list[str], side: str) -> float:
    """How wide the text on one side of a gutter is: a column of page numbers or labels is no text column."""
    chosen = [s for s, where in zip(segments, sides) if where == side]
    return max(s[2] for s in chosen) - min(s[0] for s in chosen)


def _side(segment: Segment, x: float, margin: float) -> str:
    """L or R of a gutter at x, C across it (full width), ? inside its margin (so not a gutter)."""
    if segment[2] <= x - margin:
        return "L"
    if segment[0] >= x + margin:
        return "R"
    return "C" if segment[0] < x - margin and segment[2] > x + margin else "?"


def _band_order(band: list[Segment], gutter: float) -> list[Segment]:
    """The left column's lines, then the right column's."""
    return _reading_order([s for s in band if s[2] <= gutter]) + _reading_order([s for s in band if s[0] >= gutter])


def _reading_order(segments: list[Segment]) -> list[Segment]:
    """Top to bottom by line (a segment whose middle lies within the line's height joins it), left to right."""
    lines: list[list[Segment]] = []
    for segment in sorted(segments, key=lambda s: -s[3]):
        middle = (segment[1] + segment[3]) / 2
        if lines and lines[-1][0][1] <= middle <= lines[-1][0][3]:
            lines[-1].append(segment)
        else:
            lines.append([segment])
    return [segment for line in lines for segment in sorted(line, key=lambda s: s[0])]


def _lines_of(segments: list[Segment]) -> list[str]:
    """Join consecutive segments on the same baseline into one line."""
    lines: list[str] = []
    previous: Segment | None = None
    for segment in segments:
        same_line = previous is not None and abs(segment[1] - previous[1]) < 0.5 * (segment[3] - segment[1]) \
            and segment[0] >= previous[2] - 1
        if same_line:
            spaced = segment[0] - previous[2] > 0.25 * (segment[3] - segment[1])
            lines[-1] = f"{lines[-1].rstrip()} {segment[4].lstrip()}" if spaced else lines[-1] + segment[4]
        else:
            lines.append(segment[4])
        previous = segment
    return lines


def remove_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop running headers/footers (recurring at the same page edge, digits aside) and bare page numbers.

    A bare number is taken for a page number only in a document of several pages: alone on one page it is as
    likely content PDFium put on a line of its own (the '2' of 'mc²' raised by a text rise, a transcript's line
    numbers), and a one-page document's page number costs one word.
    """
    running = _running_lines(pages) if len(pages) >= MIN_PAGES_FOR_RUNNING else set()
    numbered = len(pages) > 1
    cleaned = []
    for lines in pages:
        content = [index for index, line in enumerate(lines) if line.strip()]
        edges = set(content[:EDGE_LINES] + content[-EDGE_LINES:])
        cleaned.append([line for index, line in enumerate(lines) if index not in edges or not (
            _shape(line) in running or (numbered and BARE_PAGE_NUMBER.match(line)))])
    return cleaned


def _running_lines(pages: list[list[str]]) -> set[str]:
    counts: Counter[str] = Counter()
    for lines in pages:
        content = [line for line in lines if line.strip()]
        counts.update({_shape(line) for line in content[:EDGE_LINES] + content[-EDGE_LINES:]})
    needed = max(2, RUNNING_SHARE * len(pages))
    return {shape for shape, count in counts.items() if count >= needed and shape}


def _shape(line: str) -> str:
    """A short line with its digits blanked, so that 'Report 2024 – page 3' recurs as itself on every page.

    Longer lines must recur as they are: a body line that changes only by a number ('… closing chapter 2')
    is text, and running heads are short.
    """
    words = line.split()
    joined = " ".join(words).casefold()
    return re.sub(r"\d+", "#", joined) if len(words) <= SHORT_RUNNING_WORDS else joined


def clean_page_text(text: str) -> str:
    """Re-join hyphenated words, drop soft hyphens, normalise ligature characters, trim line ends."""
    text = re.sub(PDFIUM_HYPHEN + r"\s*(?=\w)", _pdfium_hyphen, text)
    text = text.replace(PDFIUM_HYPHEN, "-").replace(SOFT_HYPHEN, "")
    text = LINE_END_HYPHEN.sub(_line_end_hyphen, text)
    text = LIGATURES.sub(lambda match: unicodedata.normalize("NFKC", match.group()), text)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip()


def _pdfium_hyphen(match: re.Match[str]) -> str:
    following = match.string[match.end():match.end() + 1]
    return "" if following.islower() else "-"


def _line_end_hyphen(match: re.Match[str]) -> str:
    """'exam-\\nple' becomes 'example'; 'Jean-\\nPierre' or '2019-\\n2020' keep their hyphen (and the break)."""
    following = match.string[match.end():match.end() + 1]
    return match.group(1) if following.islower() else match.group()


def join_pages(texts: list[str]) -> tuple[str, list[int]]:
    """The document's text and the offset where each page starts (an empty page starts where the next does)."""
    starts, parts, offset = [], [], 0
    for text in texts:
        starts.append(offset)
        chunk = text + PAGE_SEPARATOR if text else ""
        parts.append(chunk)
        offset += len(chunk)
    return "".join(parts).rstrip("\n"), starts


def xmp_fields(data: bytes) -> dict[str, str]:
    """Title, language and rights fields of the first XMP packet stored uncompressed (as XMP asks) in the file.

    PDFium has no XMP API, and the packet is meant to be readable without a PDF parser. It is parsed by
    defusedxml: no DTD, no entity expansion, no network.
    """
    start = data.find(b"<x:xmpmeta")
    end = data.find(b"</x:xmpmeta>", start, start + MAX_XMP_BYTES) if start >= 0 else -1
    if end < 0:  # found with two bounded scans, not a regex that could rescan from every opening tag
        return {}
    try:
        root = fromstring(data[start:end + len(b"</x:xmpmeta>")], forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return {}
    fields = {}
    for name, path in (("title", "dc:title"), ("language", "dc:language"), ("rights", "dc:rights"),
                       ("web_statement", "xmpRights:WebStatement"), ("cc_license", "cc:license")):
        value = _xmp_value(root, path)
        if value:
            fields[name] = value
    return fields


def _xmp_value(root, path: str) -> str | None:
    """The value of an XMP property: element text, rdf:resource, an rdf:Alt/Seq/Bag's first item, or an attribute."""
    for element in root.iter(f"{{{NS[path.split(':')[0]]}}}{path.split(':')[1]}"):
        if element.get(RDF_RESOURCE):
            return element.get(RDF_RESOURCE).strip()
        items = [item.text.strip() for item in element.iter(f"{{{NS['rdf']}}}li") if item.text and item.text.strip()]
        if items:
            return items[0]
        if element.text and element.text.strip():
            return element.text.strip()
    prefix, local = path.split(":")
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        value = description.get(f"{{{NS[prefix]}}}{local}")
        if value and value.strip():
            return value.strip()
    return None


def xmp_licence_evidence(xmp: dict[str, str]) -> list[Evidence]:
    """Licence statements from XMP, mapped to SPDX where recognised (the licence module decides what they allow)."""
    return [Evidence(kind="metadata", value=xmp[name], spdx=to_spdx(xmp[name]))
            for name in ("cc_license", "web_statement", "rights") if name in xmp]


def _language(data: bytes, xmp: dict[str, str]) -> str | None:
    """The catalog's /Lang (a BCP 47 tag, in a literal string) or else XMP's dc:language."""
    match = CATALOG_LANG.search(data)
    if match:
        return match.group(1).decode("ascii")
    return xmp.get("language")
