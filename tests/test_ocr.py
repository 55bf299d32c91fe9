"""OCR with Tesseract (moisson/ocr.py) on pages the tests draw themselves.

The OCR tests need the `tesseract` command and its eng+fra data: skipped on a machine without them, failed under
CI=true (.ci/run installs them). Header checks, TSV parsing and the "not installed" messages run everywhere.
"""

from __future__ import annotations

import math
import random
import struct
import time
import unicodedata
import zlib

import pytest

from moisson import ocr
from moisson.extraction import ExtractionError
from pdf_samples import pdf_file

FRENCH = ["Le garçon évite la fenêtre", "à côté de l'église où", "Noël déçu mange des crêpes"]


# --- inputs drawn here --------------------------------------------------------------------------------------

def text_pdf(lines: list[str], *, turn: int = 0, size: int = 26, skew: float = 0.0) -> bytes:
    """A one-page PDF (A5) with `lines` in Helvetica, drawn turned `turn` degrees (0, 90, 180) on the page, or
    rising by `skew` degrees: no /Rotate key, so the page must be OCRed as it lies, like a badly fed scan."""
    width, height = 420, 595
    cos, sin = math.cos(math.radians(skew)), math.sin(math.radians(skew))
    matrix = {0: (round(cos, 5), round(sin, 5), round(-sin, 5), round(cos, 5), 30, height - 120),
              180: (-1, 0, 0, -1, width - 40, 80), 90: (0, 1, -1, 0, 60, 40)}[turn]
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    body = "".join(f"({line}) Tj T* " for line in escaped)
    stream = (f"BT /F1 {size} Tf {size + 10} TL {' '.join(map(str, matrix))} Tm {body}ET").encode("cp1252")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R "
        f"/Resources << /Font << /F1 5 0 R >> >> >>".encode(),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    return pdf_file(objects)


def page_image(pdf: bytes, dpi: int = 300) -> tuple[bytearray, int, int]:
    """The page as grayscale pixels (width x height, no padding), rendered as moisson.ocr renders it."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    bitmap = document[0].render(scale=dpi / 72, grayscale=True)
    pgm = ocr.pgm_bytes(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride)
    size = (bitmap.width, bitmap.height)
    document.close()
    header = b"P5\n%d %d\n255\n" % size
    return bytearray(pgm[len(header):]), *size


def pgm(pixels: bytes | bytearray, width: int, height: int) -> bytes:
    return ocr.pgm_bytes(bytes(pixels), width, height, width)


def normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def character_error_rate(text: str, reference: str) -> float:
    """Levenshtein distance over the reference's length (a small DP: the texts here are one page)."""
    previous = list(range(len(reference) + 1))
    for i, char in enumerate(text, start=1):
        current = [i]
        for j, expected in enumerate(reference, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != expected)))
        previous = current
    return previous[-1] / max(len(reference), 1)


def png_header(width: int, height: int) -> bytes:
    """The first bytes of a PNG declaring width x height: all a decompression bomb needs to show."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IDAT\x78\x9c"


# --- text recovered -----------------------------------------------------------------------------------------

def test_french_page_is_read_with_its_diacritics(tesseract):
    # French data alone: with English beside it, short lines ("à côté de l'église où") may be read as English
    # words without accents ("a cote ... ou"); bench/documents_ocr.py measures that cost on francais.pdf.
    pages = ocr.ocr_pdf_pages(text_pdf(FRENCH), [1], "fra")
    assert [page.page for page in pages] == [1]
    text = normalised(pages[0].text)
    accented = {"garçon", "évite", "fenêtre", "côté", "l'église", "où", "Noël", "déçu", "crêpes"}
    assert accented <= set(text.split())
    assert character_error_rate(text, " ".join(FRENCH)) <= 0.05
    assert 80 <= pages[0].confidence <= 100


def test_languages_of_a_policy_map_to_installed_tesseract_data(tesseract):
    assert ocr.tesseract_languages(["fr"]) == "fra+eng"
    assert ocr.tesseract_languages(["fr", "de", "xx"]) == "fra+deu+eng"
    assert ocr.tesseract_languages(["en"]) == "eng"
    assert ocr.tesseract_languages(["fr", "en"], english_fallback=False) == "fra+eng"
    assert ocr.tesseract_languages(["fr"], english_fallback=False) == "fra"
    everything = ocr.tesseract_languages("all").split("+")
    assert everything[-1] == "eng" and len(everything) <= ocr.MAX_ALL_LANGUAGES
    assert set(everything) <= ocr.installed_languages()


def test_image_bytes_give_paragraphs_apart_and_a_word_count(tesseract):
    pixels, width, height = page_image(text_pdf(["Premier paragraphe ici", "", "", "Second paragraphe"]))
    reading = ocr.ocr_image(pgm(pixels, width, height), "fra", dpi=300)
    assert reading.text.split("\n\n") == ["Premier paragraphe ici", "Second paragraphe"]
    assert reading.words == 5


def test_noise_lowers_the_confidence(tesseract):
    pixels, width, height = page_image(text_pdf(FRENCH))
    clean = ocr.ocr_image(pgm(pixels, width, height), "fra+eng", dpi=300)
    noisy_pixels = bytearray(pixels)
    rng = random.Random(14)
    for index in rng.sample(range(len(noisy_pixels)), len(noisy_pixels) * 2 // 5):
        noisy_pixels[index] = 255 - noisy_pixels[index]
    noisy = ocr.ocr_image(pgm(noisy_pixels, width, height), "fra+eng", dpi=300)
    assert 0 <= noisy.confidence < clean.confidence - 15 <= 100


def test_blank_page_has_no_text_and_zero_confidence(tesseract):
    reading = ocr.ocr_image(pgm(b"\xff" * 400 * 300, 400, 300), "eng")
    assert reading == ocr.OcrText(text="", confidence=0.0, words=0)


@pytest.mark.parametrize("turn", [90, 180])
def test_turned_page_is_read_upright(tesseract, turn):
    lines = ["The quick brown fox jumps", "over the lazy dog while", "seven wizards quietly judge"]
    pdf = text_pdf(lines, turn=turn)
    sideways = ocr.ocr_image(ocr._render(__import__("pypdfium2").PdfDocument(pdf)[0], 300 / 72, 0), "eng", dpi=300)
    assert sideways.confidence < ocr.POOR_CONFIDENCE  # as a reader without orientation detection sees it
    [page] = ocr.ocr_pdf_pages(pdf, [1], "eng")
    assert normalised(page.text) == normalised(" ".join(lines))
    assert page.confidence > 85


def test_skewed_page_is_straightened(tesseract, monkeypatch):
    lines = ["pack my box with five", "dozen liquor jugs said", "the quick brown fox who", "jumps over the lazy dog",
             "while seven wizards judge"]
    pdf = text_pdf(lines, size=18, skew=4.0)
    turns = []
    render = ocr._render
    monkeypatch.setattr(ocr, "_render", lambda page, scale, rotation, deskew=0.0: turns.append(deskew) or
                        render(page, scale, rotation, deskew))
    [page] = ocr.ocr_pdf_pages(pdf, [1], "eng")
    assert len(turns) == 2 and 3.0 < turns[1] < 5.0  # rising text (PDF y up) is turned clockwise back to level
    assert normalised(page.text) == normalised(" ".join(lines))


def test_skew_is_estimated_from_word_boxes():
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
    rows = [f"5\t1\t1\t1\t{line}\t{word}\t{100 * word}\t{100 * line + 5 * word}\t80\t30\t90\tmot"
            for line in range(1, 4) for word in range(1, 6)]
    assert ocr.estimate_skew(header + "\n".join(rows)) == pytest.approx(math.degrees(math.atan(0.05)))
    assert ocr.estimate_skew(header + "\n".join(rows[:10])) is None  # two lines: too little to tell


def png(pixels: bytes | bytearray, width: int, height: int, colour: str = "grey") -> bytes:
    """A PNG of 8-bit grey pixels, stored as grey, RGB or a 256-grey palette (filter 0 on every row)."""
    kind = {"grey": 0, "rgb": 2, "palette": 3}[colour]
    samples = bytes(value for grey in pixels for value in (grey,) * 3) if colour == "rgb" else bytes(pixels)
    row = len(samples) // height
    rows = b"".join(b"\x00" + samples[y * row:(y + 1) * row] for y in range(height))
    palette = bytes(value for grey in range(256) for value in (grey,) * 3) if colour == "palette" else b""

    def chunk(name: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + name + data + struct.pack(">I", zlib.crc32(name + data))
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, kind, 0, 0, 0))
    middle = chunk(b"PLTE", palette) if palette else b""
    data = zlib.compress(rows)
    idat = chunk(b"IDAT", data[:len(data) // 2]) + chunk(b"IDAT", data[len(data) // 2:])  # split, as encoders do
    return b"\x89PNG\r\n\x1a\n" + header + middle + idat + chunk(b"IEND", b"")


@pytest.mark.parametrize("colour", ["grey", "rgb", "palette"])
def test_png_scan_is_read_through_a_pdf_page(tesseract, colour):
    pixels, width, height = page_image(text_pdf(FRENCH), dpi=150)
    reading = ocr.ocr_scan(png(pixels, width, height, colour), "fra")
    assert ocr.image_pdf(png(pixels, width, height, colour)) is not None
    assert {"garçon", "fenêtre", "crêpes"} <= set(normalised(reading.text).split())
    assert reading.confidence > 80 and reading.words == len(reading.text.split())


# A 16 x 16 greyscale JPEG of four 8 x 8 squares (black, white / white, black), written for this test with
# libjpeg-turbo's cjpeg -quality 95 -grayscale: there is no JPEG encoder in the test environment.
CHECKERBOARD_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb00430002010101010102010101020202020204030202020205040403"
    "04060506060605060606070908060709070606080b08090a0a0a0a0a06080b0c0b0a0c090a0a0affc0000b08001000100101"
    "1100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000020103030204030505"
    "04040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a8384858687"
    "88898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2"
    "e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fe7febfbfca2bf803affd9")


def test_jpeg_scan_is_placed_undecoded_in_a_pdf_page():
    import pypdfium2 as pdfium

    pdf = ocr.image_pdf(CHECKERBOARD_JPEG)
    assert CHECKERBOARD_JPEG in pdf  # copied, not re-encoded
    bitmap = pdfium.PdfDocument(pdf)[0].render(scale=ocr.SCAN_DPI / 72, grayscale=True)
    pixels = bytes(bitmap.buffer)
    assert (bitmap.width, bitmap.height) == (16, 16)
    corners = [pixels[y * bitmap.stride + x] for y, x in ((2, 2), (2, 13), (13, 2), (13, 13))]
    assert corners[0] < 30 and corners[1] > 225 and corners[2] > 225 and corners[3] < 30


def test_upside_down_png_scan_is_turned(tesseract):
    lines = ["The quick brown fox jumps", "over the lazy dog while", "seven wizards quietly judge"]
    pixels, width, height = page_image(text_pdf(lines, turn=180))
    image = png(pixels, width, height)
    assert ocr.ocr_image(image, "eng").confidence < ocr.POOR_CONFIDENCE  # read as it lies
    assert normalised(ocr.ocr_scan(image, "eng").text) == normalised(" ".join(lines))


def test_scan_pdf_cannot_hold_is_read_as_it_lies(tesseract):
    pixels, width, height = page_image(text_pdf(["Premier paragraphe ici"]), dpi=150)
    image = pgm(pixels, width, height)
    assert ocr.image_pdf(image) is None
    assert normalised(ocr.ocr_scan(image, "fra").text) == "Premier paragraphe ici"


# --- failures named -----------------------------------------------------------------------------------------

def test_missing_language_data_says_what_to_install(tesseract):
    code = next(code for code in ("ell", "fin", "hun", "mlt", "bre") if code not in ocr.installed_languages())
    iso = next(iso for iso, tesseract_code in ocr.TESSERACT_CODES.items() if tesseract_code == code)
    with pytest.raises(ocr.OcrUnavailable, match=f"apt-get install tesseract-ocr tesseract-ocr-{code}"):
        ocr.tesseract_languages([iso])
    with pytest.raises(ocr.OcrUnavailable, match=f"tesseract-ocr-{code}"):
        ocr.ocr_image(pgm(b"\xff" * 100, 10, 10), code)
    assert issubclass(ocr.OcrUnavailable, ExtractionError)


def test_missing_tesseract_says_what_to_install(monkeypatch):
    monkeypatch.setattr(ocr, "tesseract_version", lambda: None)
    with pytest.raises(ocr.OcrUnavailable, match="apt-get install tesseract-ocr"):
        ocr.tesseract_languages(["fr"])
    with pytest.raises(ocr.OcrUnavailable, match="not installed"):
        ocr.ocr_pdf_pages(text_pdf(["x"]), [1], "eng")


def test_timeout_kills_tesseract(tesseract):
    pixels, width, height = page_image(text_pdf(FRENCH * 4, size=12))
    started = time.monotonic()
    with pytest.raises(ocr.OcrTimeout, match="longer than"):
        ocr.ocr_image(pgm(pixels, width, height), "fra+eng", max_seconds=0.05)
    assert time.monotonic() - started < 5


def test_memory_limit_applies_to_tesseract(tesseract, monkeypatch):
    monkeypatch.setattr(ocr, "MEMORY_LIMIT", 16 * 1024 ** 2)  # too little to load a language model
    pixels, width, height = page_image(text_pdf(FRENCH))
    with pytest.raises(ocr.OcrFailed, match="exited with"):
        ocr.ocr_image(pgm(pixels, width, height), "fra")


def test_pdf_time_budget_covers_all_pages(tesseract, monkeypatch):
    clock = iter([0.0, 0.0, 100.0, 100.0])
    monkeypatch.setattr(ocr.time, "monotonic", lambda: next(clock, 1000.0))
    with pytest.raises(ocr.OcrTimeout, match="stopped at page 1"):
        ocr.ocr_pdf_pages(text_pdf(["x"]), [1], "eng", max_seconds=10)


def test_tesseract_failure_carries_its_exit_code_and_stderr(tesseract):
    truncated = pgm(b"\x00" * 100, 10, 10)[:-90]  # the header promises 100 pixels, 10 follow
    with pytest.raises(ocr.OcrFailed, match=r"(?s)exited with code 1: .*pnm"):
        ocr.ocr_image(truncated, "eng")


def test_page_outside_the_pdf_is_refused(tesseract):
    with pytest.raises(ocr.OcrError, match="page 2 is not in the PDF"):
        ocr.ocr_pdf_pages(text_pdf(["x"]), [2], "eng")


# --- hostile images refused unread (no tesseract needed) ----------------------------------------------------

@pytest.fixture
def no_tesseract_run(monkeypatch):
    """Any attempt to run tesseract fails the test: the refusal must come from the header alone."""
    def forbidden(*args, **kwargs):
        raise AssertionError("tesseract was run on an image that should have been refused")
    monkeypatch.setattr(ocr, "_run", forbidden)
    monkeypatch.setattr(ocr.subprocess, "run", forbidden)


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc2" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xda"


def tiff_header(width: int, height: int, pages: int = 1, order: str = "<") -> bytes:
    out = bytearray((b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8))
    for page in range(pages):
        start = len(out)
        following = start + 2 + 2 * 12 + 4 if page + 1 < pages else 0
        out += struct.pack(order + "H", 2)
        out += struct.pack(order + "HHII", 256, 4, 1, width)
        out += struct.pack(order + "HHIHH", 257, 3, 1, height, 0)
        out += struct.pack(order + "I", following)
    return bytes(out)


@pytest.mark.parametrize("bomb", [png_header(100_000, 100_000), jpeg_header(65_000, 65_000),
                                  tiff_header(50_000, 50_000), tiff_header(4000, 4000, pages=4, order=">"),
                                  b"P5\n# a comment\n70000 70000\n255\n"])
def test_decompression_bomb_is_refused_from_its_header(no_tesseract_run, bomb):
    with pytest.raises(ocr.ImageTooLarge, match="more than"):
        ocr.ocr_image(bomb, "eng")
    with pytest.raises(ocr.ImageTooLarge, match="more than"):
        ocr.ocr_scan(bomb, "eng")


def test_header_sizes_are_read_exactly():
    assert ocr.image_pixels(png_header(2480, 3508)) == 2480 * 3508
    assert ocr.image_pixels(jpeg_header(640, 480)) == 640 * 480
    assert ocr.image_pixels(tiff_header(300, 200, pages=3, order=">")) == 3 * 300 * 200
    assert ocr.image_pixels(b"P4 12 7\n") == 84


def test_unknown_or_looping_images_are_refused(no_tesseract_run):
    with pytest.raises(ocr.OcrFailed, match="not an image"):
        ocr.ocr_image(b"GIF89a....", "eng")
    looping = bytearray(tiff_header(10, 10))
    looping[-4:] = struct.pack("<I", 8)  # the directory points back at itself
    with pytest.raises(ocr.OcrFailed, match="broken directory chain"):
        ocr.ocr_image(bytes(looping), "eng")


def test_huge_pdf_page_is_rendered_within_the_pixel_budget(monkeypatch):
    import pypdfium2 as pdfium

    pdf = text_pdf(["x"]).replace(b"/MediaBox [0 0 420 595]", b"/MediaBox [0 0 14400 14400]")
    page = pdfium.PdfDocument(pdf)[0]
    scale = ocr._scale(page, 300, ocr.MAX_PIXELS)
    assert (14400 * scale) ** 2 <= ocr.MAX_PIXELS and scale < 300 / 72


def test_tsv_rebuilds_lines_and_paragraphs_and_averages_word_confidence():
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t",
        "5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tUne",
        "5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t80\tligne",
        "5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t70\tsuite",
        "5\t1\t1\t2\t1\t1\t0\t0\t1\t1\t60\tAutre",
        "5\t1\t2\t1\t1\t1\t0\t0\t1\t1\t95\t ",
        "5\t1\t2\t1\t1\t2\t0\t0\t1\t1\t50\tbloc",
    ]
    reading = ocr.parse_tsv("\n".join([header, *rows]))
    assert reading.text == "Une ligne\nsuite\n\nAutre\n\nbloc"
    assert reading.words == 5 and reading.confidence == 70.0


# --- real scans and PDFs from ../shared/data (skipped without it, required under CI=true) --------------------

def test_french_scan_is_read_within_the_issue_goal(tesseract, shared_data, tmp_path):
    folder = shared_data / "documents" / "pdf_scanned" / "ocrmypdf"
    pdf = tmp_path / "francais.pdf"
    pdf.write_bytes((folder / "francais.pdf").read_bytes())
    reference = (folder / "francais.reference.txt").read_text(encoding="utf-8")
    [page] = ocr.ocr_pdf_pages(pdf.read_bytes(), [1], ocr.tesseract_languages(["fr"]))
    assert character_error_rate(normalised(page.text), normalised(reference)) <= 0.05  # 1.5% measured
    assert "cænogénèse" in page.text and "Moÿ" in page.text


def test_upside_down_scan_is_turned(tesseract, shared_data):
    folder = shared_data / "documents" / "pdf_scanned" / "docling"
    reference = (folder / "ocr_test_rotated_180.groundtruth.md").read_text(encoding="utf-8")
    [page] = ocr.ocr_pdf_pages((folder / "ocr_test_rotated_180.pdf").read_bytes(), [1], "eng")
    assert normalised(page.text) == normalised(reference)


def test_encrypted_pdf_needs_its_password(tesseract, shared_data):
    pdf = (shared_data / "documents" / "pdf" / "pdfminer" / "encryption_aes-256.pdf").read_bytes()
    with pytest.raises(ocr.OcrError, match="(?i)password"):
        ocr.ocr_pdf_pages(pdf, [1], "eng")
    [page] = ocr.ocr_pdf_pages(pdf, [1], "eng", password="foo")
    assert "Secret!" in page.text
