"""moisson/font_cmap.py: the cmap of font programs built here with fontTools (a dev dependency, through fpdf2),
and hostile bytes."""

from __future__ import annotations

import pytest

from moisson.font_cmap import glyph_to_unicode, unicode_to_glyph

pytest.importorskip("fontTools")
from pdf_samples import glyph_font  # noqa: E402


def test_the_bmp_cmap_is_read_both_ways():
    font, glyphs = glyph_font("Peněžní prostředky")
    assert unicode_to_glyph(font) == {ord(char): glyph for char, glyph in glyphs.items()}
    assert glyph_to_unicode(font) == {glyph: ord(char) for char, glyph in glyphs.items()}


def test_characters_beyond_the_bmp_come_from_the_format_12_table():
    font, glyphs = glyph_font("a\U0001d538z")
    assert unicode_to_glyph(font)[0x1D538] == glyphs["\U0001d538"]
    assert glyph_to_unicode(font)[glyphs["z"]] == ord("z")


def test_truncated_or_foreign_bytes_give_an_empty_map():
    font, _ = glyph_font("abc")
    for cut in (0, 5, 12, 40, len(font) // 3, len(font) - 7):
        assert isinstance(unicode_to_glyph(font[:cut]), dict)
    assert unicode_to_glyph(b"") == {} and unicode_to_glyph(b"%PDF-1.4 not a font at all") == {}
    assert unicode_to_glyph(b"\x00\x01\x00\x00\xff\xff" + b"\x00" * 30) == {}  # 65535 tables announced, none there


def test_a_cmap_announcing_huge_overlapping_ranges_is_read_in_bounded_time():
    """A format 12 table of 100,000 groups each claiming all of Unicode: the reader stops, it does not loop for ever."""
    import struct
    import time

    groups = 100_000
    subtable = struct.pack(">HHIII", 12, 0, 16 + 12 * groups, 0, groups) + struct.pack(">III", 0, 0x10FFFF, 1) * groups
    cmap = struct.pack(">HHHHI", 0, 1, 3, 10, 12) + subtable
    font = struct.pack(">IHHHH", 0x00010000, 1, 16, 0, 0) + struct.pack(">4sIII", b"cmap", 0, 28, len(cmap)) + cmap
    started = time.process_time()
    mapping = unicode_to_glyph(font)
    assert time.process_time() - started < 2.0
    assert len(mapping) <= 400_000
