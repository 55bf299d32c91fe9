"""moisson/pdf_text.py: PDFs written by hand here (two columns, hyphens, running headers, metadata), and the
encrypted and broken files of ../shared/data/documents/pdf when present."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from moisson import ocr
from moisson.document_text import DocumentOptions, extract_document
from moisson.pdf_text import (PdfEncrypted, PdfError, PdfTooLarge, PdfUnreadable, clean_page_text, pdf_document,
                              unusable_text_reason)
from pdf_samples import glyph_font, identity_h_pdf, make_pdf, mapped_to_unicode, shifted_to_unicode


LEFT = ["Alpha one begins the left column", "alpha two continues it", "alpha three goes on",
        "alpha four is nearly done", "alpha five ends the left column", "alpha six is its last line"]
RIGHT = ["Beta one begins the right column", "beta two continues it", "beta three goes on",
         "beta four is nearly done", "beta five ends the right column", "beta six is its last line"]


def test_two_columns_written_line_by_line_across_are_read_column_by_column():
    rows = [[(72, 700 - 14 * i, left), (330, 700 - 14 * i, right)] for i, (left, right) in enumerate(zip(LEFT, RIGHT))]
    text = pdf_document(make_pdf([[line for row in rows for line in row]])).text
    positions = [text.index(line) for line in LEFT + RIGHT]
    assert positions == sorted(positions), text


def test_single_column_keeps_the_stream_order():
    lines = [(72, 700 - 14 * i, f"line {i} of a single column of text") for i in range(8)]
    text = pdf_document(make_pdf([lines])).text
    assert text.split("\n") == [line for _, _, line in lines]


def test_line_end_hyphen_before_a_lowercase_letter_is_joined_and_others_kept():
    page = [(72, 700, "This is an exam-"), (72, 686, "ple of hyphenation by Jean-"), (72, 672, "Pierre in 2019-"),
            (72, 658, "2020 was the other year.")]
    text = pdf_document(make_pdf([page])).text
    words = text.split()
    assert "example" in words
    assert "exam-" not in text and "exam" not in words
    assert "Jean-Pierre" in text  # PDFium joins these lines itself; the hyphen stays (capital letter after it)
    assert "2019-" in text
    assert "other" in words
    assert "\u00ad" not in text and "\ufffe" not in text


def test_page_text_cleaning_on_text_as_pdfium_gives_it():
    assert clean_page_text("an exam-\nple, Jean-\nPierre, 2019-\n2020") == "an example, Jean-\nPierre, 2019-\n2020"
    assert clean_page_text("adip\ufffeiscing, Ober\ufffeAmmergau") == "adipiscing, Ober-Ammergau"
    assert clean_page_text("o\u00adther e\ufb03cient \u2460 x\u00b2") == "other efficient \u2460 x\u00b2"


BODY = ["On {topic}, chapter {n} opens with its own words", "about {topic}, then a line on the {topic}",
        "and a last line closing chapter {n}"]
TOPICS = {1: "rivers", 2: "mountains", 3: "forests"}


def _report(pages: int) -> bytes:
    return make_pdf([[(72, 760, "Annual Report 2024 - Moisson"),
                      *[(72, 700 - 14 * i, line.format(n=n, topic=TOPICS[n])) for i, line in enumerate(BODY)],
                      (300, 40, str(n))] for n in range(1, pages + 1)])


def test_running_header_and_page_numbers_are_removed_and_page_offsets_point_at_each_page():
    document = pdf_document(_report(3))
    assert "Annual Report" not in document.text
    assert document.text.split() == " ".join(line.format(n=n, topic=TOPICS[n]) for n in (1, 2, 3)
                                             for line in BODY).split()
    assert document.page_count == 3
    for n, start in enumerate(document.page_starts, start=1):
        assert document.text[start:].startswith(f"On {TOPICS[n]}, chapter {n} opens")
        assert document.page_at(start) == n
    assert document.pages_without_text == []


def test_a_raised_run_pdfium_puts_on_its_own_line_goes_back_into_its_line():
    page = [(72, 700, "E = mc"), (103.6, 708, "2"), (109.2, 700, " is the mass-energy equivalence.")]
    assert pdfium.PdfDocument(make_pdf([page]))[0].get_textpage().get_text_range().count("\n") == 2  # PDFium: 3 lines
    assert pdf_document(make_pdf([page])).text == "E = mc2 is the mass-energy equivalence."
    apart = [(72, 700, "E = mc"), (103.6, 708, "2"), (300, 700, "and far away on the line")]
    assert pdf_document(make_pdf([apart])).text == "E = mc\n2\nand far away on the line"  # not right after it


def test_a_bare_number_on_a_single_page_is_content_not_a_page_number():
    single = pdf_document(make_pdf([[(72, 700, "1"), (72, 686, "Witness statement of the day"), (300, 40, "2")]])).text
    assert single.split("\n") == ["1", "Witness statement of the day", "2"]


def test_a_page_without_text_is_listed():
    document = pdf_document(make_pdf([[(72, 700, "Some text on page one")], []]))
    assert document.pages_without_text == [2]
    assert document.page_starts == [0, len(document.text) + 2]


def test_too_many_pages_is_refused():
    with pytest.raises(PdfTooLarge):
        pdf_document(_report(3), max_pages=2)


def test_garbage_and_truncated_files_are_unreadable():
    with pytest.raises(PdfUnreadable):
        pdf_document(b"<html>not a pdf</html>")
    with pytest.raises(PdfUnreadable):
        pdf_document(_report(3)[:40])


XMP = """<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" xmlns:cc="http://creativecommons.org/ns#"
  xmpRights:WebStatement="https://creativecommons.org/licenses/by/4.0/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Rapport annuel</rdf:li></rdf:Alt></dc:title>
<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">CC BY 4.0</rdf:li></rdf:Alt></dc:rights>
<cc:license rdf:resource="https://creativecommons.org/licenses/by-sa/4.0/"/>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def test_title_language_and_licence_evidence_come_from_the_metadata():
    document = pdf_document(make_pdf([[(72, 700, "Bonjour")]], catalog="/Lang (fr-FR)", xmp=XMP))
    assert document.title == "Rapport annuel"
    assert document.language == "fr-FR"
    assert [(e.kind, e.spdx) for e in document.licence_evidence] == [("metadata", "CC-BY-SA-4.0"), ("metadata", "CC-BY-4.0"),
                                                                     ("metadata", "CC-BY-4.0")]
    assert pdf_document(make_pdf([[(72, 700, "Hi")]], info="/Title (Info title)", xmp=XMP)).title == "Info title"
    assert pdf_document(make_pdf([[(72, 700, "Hi")]], info="/Title (10811.exe)")).title is None


def test_xmp_with_an_entity_declaration_is_ignored_not_expanded():
    hostile = XMP.replace('<x:xmpmeta', '<!DOCTYPE x [<!ENTITY e "CC BY 4.0">]><x:xmpmeta').replace(
        "CC BY 4.0", "&e;")
    document = pdf_document(make_pdf([[(72, 700, "Hi")]], xmp=hostile))
    assert document.licence_evidence == []


@pytest.fixture
def pdf_folder(shared_data: Path, tmp_path: Path) -> Path:
    folder = shared_data / "documents" / "pdf"
    for name in ("pdfminer/encryption_rc4-40.pdf", "pdfminer/encryption_aes-256.pdf",
                 "pdfminer/encryption_base.pdf", "pdfjs/poppler-85140-0.pdf", "py-pdf-sample-files/multicolumn.pdf",
                 "docling/right_to_left_01.pdf", "pdfminer/issue-791-non-unicode-cmap.pdf",
                 "pdfminer/issue_566_test_1.pdf", "pdfminer/issue-625-identity-cmap.pdf"):
        shutil.copy(folder / name, tmp_path / Path(name).name)
    return tmp_path


def test_encrypted_files_need_their_password(pdf_folder: Path):
    for name in ("encryption_rc4-40.pdf", "encryption_aes-256.pdf"):
        data = (pdf_folder / name).read_bytes()
        with pytest.raises(PdfEncrypted):
            pdf_document(data)
        assert pdf_document(data, password="foo").text == "Secret!"


def test_truncated_and_fuzzed_shared_files_fail_cleanly(pdf_folder: Path):
    data = (pdf_folder / "encryption_base.pdf").read_bytes()
    with pytest.raises(PdfUnreadable):
        pdf_document(data[: len(data) // 8])
    assert pdf_document((pdf_folder / "poppler-85140-0.pdf").read_bytes(), max_seconds=5).text == ""


def test_latex_two_column_pages_keep_pdfiums_column_order(pdf_folder: Path):
    text = pdf_document((pdf_folder / "multicolumn.pdf").read_bytes()).text
    assert text.index("consectetuer adipiscing elit") < text.index("Nam dui ligula")
    assert "\ufffe" not in text and "adip-" not in text


def test_a_spent_time_budget_stops_the_reading():
    with pytest.raises(PdfTooLarge):
        pdf_document(_report(3), max_seconds=0)


SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank"


def _shifted_page() -> bytes:
    """A page that shows SENTENCE while its text layer says it 29 letters off ('7KH TXLFN EURZQ ...')."""
    return make_pdf([[(72, 700, SENTENCE), (72, 680, SENTENCE.upper())]], to_unicode=shifted_to_unicode(29))


def test_unusable_text_reasons():
    assert unusable_text_reason("3HQČåQtSURVWĜHGN\\QD~þWHFK") is not None  # pdfminer's issue-791 page as PDFium reads it
    assert unusable_text_reason("Peněžní prostředky na účtech") is None
    assert unusable_text_reason("Hello World\nH e l l o W o r l d") is None
    assert unusable_text_reason("\ue000\ue001\ue002\ue003 ab") is not None  # private-use glyphs
    assert unusable_text_reason("ISBN 978-3-16 HTTP TCP") is None  # too few letters to judge
    assert unusable_text_reason("Hello", unmapped_run_share=0.4) is not None
    assert unusable_text_reason("تحسين الإنتاجية وحل المشكلات من خلال البرمجة بلغة R و Python") is None


def test_a_text_layer_of_shifted_letters_is_unusable_and_a_plain_one_is_not():
    shifted = pdf_document(_shifted_page())
    assert "quick" not in shifted.text and shifted.text.startswith("7KH")  # the CMap really garbles it
    assert list(shifted.pages_with_unusable_text) == [1]
    assert "vowels" in shifted.pages_with_unusable_text[1]
    plain = pdf_document(make_pdf([[(72, 700, SENTENCE)]]))
    assert plain.pages_with_unusable_text == {} and SENTENCE in plain.text
    assert pdf_document(_report(3)).pages_with_unusable_text == {}


def test_an_unusable_text_layer_without_ocr_is_kept_and_reported():
    extracted = extract_document(_shifted_page(), "pdf", DocumentOptions(ocr=False))
    assert extracted.text.startswith("7KH")
    [failure] = extracted.page_failures
    assert failure.page == 1 and failure.error_class == "TextLayerUnusable"
    assert failure.message.startswith("text layer unusable, OCR not available")


@pytest.fixture
def tesseract_eng() -> None:
    if ocr.tesseract_version() is None or "eng" not in ocr.installed_languages():
        message = f"tesseract with eng data is not installed ({ocr.install_hint(['eng'])})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}: .ci/run installs it")
        pytest.skip(message)


def test_an_unusable_text_layer_is_read_again_by_ocr(tesseract_eng):
    extracted = extract_document(_shifted_page(), "pdf", DocumentOptions(languages=("en",)))
    assert "quick brown fox" in extracted.text and "7KH" not in extracted.text
    assert extracted.page_failures == [] and extracted.ocr_confidence is not None


def test_only_the_garbled_shared_page_is_unusable(shared_data: Path):
    """Zero false alarms: every page of the 39 born-digital PDFs reads as usable, but for the Japanese CID font
    PDFium cannot load (the Czech page with a non-Unicode CMap is read right from its font's cmap)."""
    passwords = {"2206.01062_pg3.password-1234.pdf": "1234", "encryption_aes-256.pdf": "foo",
                 "encryption_rc4-40.pdf": "foo", "libreoffice-writer-password.pdf": "openpassword"}
    flagged, pages = {}, 0
    for path in sorted((shared_data / "documents" / "pdf").rglob("*.pdf")):
        try:
            document = pdf_document(path.read_bytes(), password=passwords.get(path.name), max_seconds=30)
        except PdfError:
            continue
        pages += document.page_count
        flagged.update({(path.name, page): reason for page, reason in document.pages_with_unusable_text.items()})
    assert set(flagged) == {("simple3.pdf", 1)}, flagged
    assert "no Unicode mapping" in flagged[("simple3.pdf", 1)]
    assert pages > 50


# Helvetica's glyphs for these bytes, a text layer in Arabic: 'L' is a lam-alef ligature glyph mapped to two letters
ARABIC = mapped_to_unicode({"a": "\u0627", "L": "\u0644\u0625", "n": "\u0646", "t": "\u062a", "j": "\u062c",
                            "y": "\u064a", "h": "\u0629", "m": "\u0645", "N": "\u0646", "P": "P", "o": "o", " ": " "})
PRODUCTIVITY, FROM = "\u0627\u0644\u0625\u0646\u062a\u0627\u062c\u064a\u0629", "\u0645\u0646"  # الإنتاجية, من


def test_a_ligature_mapped_to_two_right_to_left_letters_keeps_their_order():
    """Drawn right to left as Word does (last letter first), read back in logical order; PDFium alone gives
    'اإلنتاجية' (the ligature's two letters reversed)."""
    text = pdf_document(make_pdf([[(72, 700, "hyjatnLa")]], to_unicode=ARABIC)).text
    assert text == PRODUCTIVITY


def test_a_change_of_writing_direction_between_words_is_a_space():
    """A mostly Arabic line is read from the right: 'الإنتاجية من Po'; PDFium alone gives 'منPo' at the end."""
    text = pdf_document(make_pdf([[(72, 700, "Po"), (86, 700, "Nm"), (200, 700, "hyjatnLa")]], to_unicode=ARABIC)).text
    assert text.split() == [PRODUCTIVITY, FROM, "Po"]


def test_arabic_word_order_and_ligatures_of_a_word_export(pdf_folder: Path):
    text = pdf_document((pdf_folder / "right_to_left_01.pdf").read_bytes()).text
    assert text.startswith("\u062a\u062d\u0633\u064a\u0646 " + PRODUCTIVITY)  # تحسين الإنتاجية
    assert "Python " + FROM in text and "Python" + FROM not in text


def test_glyph_numbers_without_a_tounicode_map_are_named_by_the_fonts_cmap():
    """An Identity-H CID font with no ToUnicode: PDFium alone returns the glyph numbers as characters."""
    pytest.importorskip("fontTools")
    text = "Peněžní prostředky na účtech"
    font, glyphs = glyph_font(text)
    data = identity_h_pdf(font, [glyphs[char] for char in text])
    assert "Peněžní" not in pdfium.PdfDocument(data)[0].get_textpage().get_text_range()
    document = pdf_document(data)
    assert document.text == text and document.pages_with_unusable_text == {}


def test_shared_files_with_glyph_number_fonts_read_like_pdfminer(pdf_folder: Path):
    assert pdf_document((pdf_folder / "issue-791-non-unicode-cmap.pdf").read_bytes()).text == \
        "Peněžní prostředky na účtech"
    assert pdf_document((pdf_folder / "issue_566_test_1.pdf").read_bytes()).text.endswith("Buyer：黎荣")
    invoice = pdf_document((pdf_folder / "issue-625-identity-cmap.pdf").read_bytes()).text  # flagged, right: kept
    assert "91-504 Łódź" in invoice and "Książę" in invoice
