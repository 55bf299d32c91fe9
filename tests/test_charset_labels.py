"""A charset label that is not a text encoding (`base64`, `zlib`, `rot13`, `idna`) is ignored, never used as a codec.

Python's codecs include bytes-to-bytes ones: `payload.decode("base64")` raises, and a good page labelled so by a
hostile or broken archive failed extraction. The label is dropped where it is read (WARC, HTTP) and ignored by
extraction (stages written before), so the encoding is detected instead.
"""

from __future__ import annotations

import io

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from moisson.extraction import decode, extract
from sources.records import RawRecord, ReadStats, text_charset
from sources.resource_fetch import trusted_charset
from sources.warc import read_warc_file

BOGUS = ["base64", "zlib", "rot13", "hex", "uu", "quopri", "bz2", "idna", "punycode", "undefined", "unicode_escape",
         "no-such-charset"]
PAGE = ("<html><head><title>Été</title></head><body><article><p>"
        + "Un été au bord de la rivière, raconté par ceux qui l'ont vécu, avec assez de texte pour compter. " * 6
        + "</p></article></body></html>")


@pytest.mark.parametrize("label", BOGUS)
def test_a_label_that_is_not_a_text_encoding_is_dropped_by_the_warc_reader_and_the_page_is_extracted(tmp_path, label):
    path = tmp_path / "labelled.warc.gz"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        headers = StatusAndHeaders("200 OK", [("Content-Type", f"text/html; charset={label}")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("https://example.org/ete", "response", http_headers=headers,
                                                      payload=io.BytesIO(PAGE.encode("utf-8"))))
    items = list(read_warc_file(path, "test", ReadStats(), 1 << 20, path.name))
    assert len(items) == 1 and isinstance(items[0], RawRecord) and items[0].charset is None
    assert "Un été au bord de la rivière" in extract(items[0].payload, "html", items[0].charset).text


@pytest.mark.parametrize("label", BOGUS)
def test_extraction_ignores_such_a_label_in_stages_written_before(label):
    assert "Un été au bord" in extract(PAGE.encode("utf-8"), "html", label).text
    assert "Un été au bord" in extract(PAGE.encode("latin-1"), "html", label).text
    assert decode("Été".encode("utf-8"), label) == "Été"


@pytest.mark.parametrize("label", BOGUS)
def test_a_server_label_that_is_not_a_text_encoding_is_dropped(label):
    assert text_charset(label) is None
    assert trusted_charset(PAGE.encode("latin-1"), label) is None
    assert trusted_charset(PAGE.encode("utf-8"), label) == "utf-8"


def test_real_labels_are_kept():
    assert [text_charset(label) for label in ("UTF-8", "iso-8859-1", "windows-1252", "Shift_JIS", "utf-16")] == [
        "utf-8", "iso-8859-1", "windows-1252", "shift_jis", "utf-16"]
    assert trusted_charset(PAGE.encode("latin-1"), "ISO-8859-1") == "iso-8859-1"
