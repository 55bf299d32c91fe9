"""The character map of a TrueType/OpenType font program: which Unicode character each glyph draws.

Why: a PDF may draw text with a CID font whose codes are glyph numbers (Identity-H) and give no ToUnicode map;
PDFium then returns the glyph numbers as if they were characters ('3HQČåQt' for 'Peněžní'). The font program
embedded in the PDF still has its own `cmap` table (character -> glyph), which read backwards gives each glyph's
character, as pdfminer.six does. Only the `cmap` table is read, with every offset and count checked against the
data and a cap on the mappings, so a hostile font costs bounded time and memory; no font library is needed.
"""

from __future__ import annotations

import struct

MAX_MAPPINGS = 200_000  # more characters than any font maps (Unicode's assigned ones: about 150,000)
MAX_CODES_VISITED = 400_000  # codes looked at in all, mapped or not: overlapping or repeated ranges cannot loop long
# subtables in order of preference: (platform, encoding, format)
PREFERRED = ((3, 10, 12), (0, 4, 12), (0, 6, 12), (3, 1, 4), (0, 3, 4), (0, 2, 4), (0, 1, 4), (0, 0, 4))


def unicode_to_glyph(font: bytes) -> dict[int, int]:
    """The font's Unicode cmap (code point -> glyph number), {} when it has none this reader understands."""
    subtables = _subtables(font)
    for platform, encoding, wanted in PREFERRED:
        offset = subtables.get((platform, encoding))
        if offset is None or offset + 2 > len(font):
            continue
        kind = struct.unpack_from(">H", font, offset)[0]
        if kind == wanted == 12:
            return _format_12(font, offset)
        if kind == wanted == 4:
            return _format_4(font, offset)
    return {}


def glyph_to_unicode(font: bytes) -> dict[int, int]:
    """Each glyph's character, read backwards from the cmap (the lowest code point when several map to a glyph)."""
    reverse: dict[int, int] = {}
    for code, glyph in sorted(unicode_to_glyph(font).items()):
        if glyph:
            reverse.setdefault(glyph, code)
    return reverse


def _subtables(font: bytes) -> dict[tuple[int, int], int]:
    """(platform, encoding) -> absolute offset of each subtable of the `cmap` table."""
    if len(font) < 12:
        return {}
    count = struct.unpack_from(">H", font, 4)[0]
    cmap = None
    for index in range(count):
        record = 12 + 16 * index
        if record + 16 > len(font):
            return {}
        tag, _, offset, length = struct.unpack_from(">4sIII", font, record)
        if tag == b"cmap":
            cmap = offset if offset + min(length, 4) <= len(font) else None
            break
    if cmap is None or cmap + 4 > len(font):
        return {}
    found = {}
    for index in range(struct.unpack_from(">H", font, cmap + 2)[0]):
        record = cmap + 4 + 8 * index
        if record + 8 > len(font):
            break
        platform, encoding, offset = struct.unpack_from(">HHI", font, record)
        found.setdefault((platform, encoding), cmap + offset)
    return found


def _format_4(font: bytes, offset: int) -> dict[int, int]:
    """Segment mapping to delta values (the usual BMP subtable)."""
    if offset + 14 > len(font):
        return {}
    segments = struct.unpack_from(">H", font, offset + 6)[0] // 2
    ends_at = offset + 14
    starts_at = ends_at + 2 * segments + 2
    deltas_at = starts_at + 2 * segments
    ranges_at = deltas_at + 2 * segments
    if ranges_at + 2 * segments > len(font):
        return {}
    ends = struct.unpack_from(f">{segments}H", font, ends_at)
    starts = struct.unpack_from(f">{segments}H", font, starts_at)
    deltas = struct.unpack_from(f">{segments}h", font, deltas_at)
    ranges = struct.unpack_from(f">{segments}H", font, ranges_at)
    mapping: dict[int, int] = {}
    visited = 0
    for segment, (start, end, delta, range_offset) in enumerate(zip(starts, ends, deltas, ranges)):
        visited += max(0, min(end, 0xFFFE) + 1 - start)
        if visited > MAX_CODES_VISITED:
            return mapping
        for code in range(start, min(end, 0xFFFE) + 1):
            if range_offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                at = ranges_at + 2 * segment + range_offset + 2 * (code - start)
                if at + 2 > len(font):
                    break
                glyph = struct.unpack_from(">H", font, at)[0]
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                mapping[code] = glyph
            if len(mapping) >= MAX_MAPPINGS:
                return mapping
    return mapping


def _format_12(font: bytes, offset: int) -> dict[int, int]:
    """Segmented coverage (characters beyond the BMP)."""
    if offset + 16 > len(font):
        return {}
    groups = struct.unpack_from(">I", font, offset + 12)[0]
    mapping: dict[int, int] = {}
    visited = 0
    for index in range(groups):
        at = offset + 16 + 12 * index
        if at + 12 > len(font):
            break
        start, end, glyph = struct.unpack_from(">III", font, at)
        end = min(end, 0x10FFFF)
        visited += max(0, end + 1 - start)
        if visited > MAX_CODES_VISITED:
            return mapping
        for code in range(start, end + 1):
            mapping[code] = glyph + code - start
            if len(mapping) >= MAX_MAPPINGS:
                return mapping
    return mapping
