"""PDFs written by hand for tests: text pages in Helvetica, metadata, XMP, pages without a text layer."""

from __future__ import annotations

from moisson.ocr import pdf_file


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def shifted_to_unicode(shift: int) -> str:
    """A ToUnicode CMap that maps each printable byte to the character `shift` places before it: what a text
    layer looks like when a font's codes are glyph numbers and nothing maps them to Unicode ('Peněžní' read as
    '3HQČåQt', 29 places off, on pdfminer's issue-791 sample)."""
    ranges = "\n".join(f"<{code:02X}> <{code:02X}> <{code - shift:04X}>" for code in range(0x21, 0x7F))
    return (f"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Shifted def /CMapType 2 def\n"
            f"1 begincodespacerange <00> <FF> endcodespacerange\n{0x7F - 0x21} beginbfrange\n{ranges}\nendbfrange\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end")


def mapped_to_unicode(mapping: dict[str, str]) -> str:
    """A ToUnicode CMap giving each listed byte (a one-character key) its text, one or several characters: the
    page draws Helvetica's glyphs for those bytes while its text layer says, e.g., Arabic (what a ligature glyph
    such as lam-alef, mapped to two letters, looks like to a reader)."""
    lines = "\n".join(f"<{ord(key):02X}> <{text.encode('utf-16-be').hex().upper()}>" for key, text in mapping.items())
    return (f"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Mapped def /CMapType 2 def\n"
            f"1 begincodespacerange <00> <FF> endcodespacerange\n{len(mapping)} beginbfchar\n{lines}\nendbfchar\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end")


def make_pdf(pages: list[list[tuple[float, float, str]]], *, info: str = "", catalog: str = "",
             xmp: str | None = None, to_unicode: str | None = None) -> bytes:
    """A minimal PDF: each page a list of (x, y, text) drawn in Helvetica 10 pt, in the order given.

    The order given is the content-stream order, so a test can write a two-column page line by line across
    both columns, as some producers do, and check that the reader still reads a column before the next.
    `to_unicode` is a ToUnicode CMap given to the font (e.g. `shifted_to_unicode(29)`): the page then looks
    right and its text layer says something else.
    """
    objects: list[bytes] = []
    page_ids = [4 + 2 * index for index in range(len(pages))]
    xmp_id = 4 + 2 * len(pages)
    cmap_id = xmp_id + (xmp is not None)
    metadata = f" /Metadata {xmp_id} 0 R" if xmp is not None else ""
    objects.append(f"<< /Type /Catalog /Pages 2 0 R{metadata} {catalog} >>".encode())
    objects.append(f"<< /Type /Pages /Kids [{' '.join(f'{i} 0 R' for i in page_ids)}] /Count {len(pages)} >>"
                   .encode())
    cmap = f" /ToUnicode {cmap_id} 0 R" if to_unicode is not None else ""
    objects.append(f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding{cmap} >>".encode())
    for index, lines in enumerate(pages):
        stream = "BT /F1 10 Tf " + " ".join(f"1 0 0 1 {x} {y} Tm ({_escape(text)}) Tj" for x, y, text in lines) + " ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       f" /Contents {page_ids[index] + 1} 0 R >>".encode())
        objects.append(f"<< /Length {len(stream.encode('cp1252'))} >>\nstream\n{stream}\nendstream".encode("cp1252"))
    if xmp is not None:
        body = xmp.encode()
        objects.append(b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(body) + body + b"\nendstream")
    if to_unicode is not None:
        objects.append(b"<< /Length %d >>\nstream\n" % len(to_unicode) + to_unicode.encode() + b"\nendstream")
    info_id = len(objects) + 1
    objects.append(f"<< {info} >>".encode())
    return pdf_file(objects, b"/Info %d 0 R " % info_id)


def glyph_font(text: str) -> tuple[bytes, dict[str, int]]:
    """A TrueType font program drawing a box for each distinct character of `text`, with its cmap, and each
    character's glyph number (built with fontTools, which the dev dependencies bring through fpdf2)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    import io

    chars = list(dict.fromkeys(text))
    names = [".notdef"] + [f"g{index}" for index in range(1, len(chars) + 1)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(char): names[index + 1] for index, char in enumerate(chars)})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        for x, y in ((50, 0), (50, 700), (450, 700), (450, 0)):
            (pen.lineTo if (x, y) != (50, 0) else pen.moveTo)((x, y))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (500, 50) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Boxes", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue(), {char: index + 1 for index, char in enumerate(chars)}


def identity_h_pdf(font: bytes, glyphs: list[int]) -> bytes:
    """One page drawing `glyphs` (glyph numbers, as 2-byte Identity-H codes) in an embedded TrueType CID font with
    no ToUnicode map: the text layer of a PDF whose font speaks glyph numbers only."""
    codes = "".join(f"{glyph:04X}" for glyph in glyphs)
    stream = f"BT /F1 12 Tf 72 700 Td <{codes}> Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEE+Boxes /Encoding /Identity-H /DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEE+Boxes /CIDSystemInfo << /Registry (Adobe) "
        b"/Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R /CIDToGIDMap /Identity /DW 500 >>",
        b"<< /Type /FontDescriptor /FontName /ABCDEE+Boxes /Flags 4 /FontBBox [0 -200 1000 800] /ItalicAngle 0 "
        b"/Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 /FontFile2 8 0 R >>",
        b"<< /Length %d /Length1 %d >>\nstream\n" % (len(font), len(font)) + font + b"\nendstream",
    ]
    return pdf_file(objects)
