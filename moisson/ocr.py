"""OCR of scanned pages with the Tesseract command line: image bytes in, text and a confidence out.

Why a subprocess and not a binding: Tesseract is a C++ engine fed hostile images. Run as its own process it gets a
wall-clock timeout, an address-space limit and one thread (OMP_THREAD_LIMIT=1: the pipeline already runs one worker
per core, and OpenMP threads inside each would fight them), and a crash in Leptonica kills that process only. The
CLI is also what Debian ships (`apt-get install tesseract-ocr tesseract-ocr-fra`): no wheel, no model download.

Why TSV output: it carries each word's confidence, so the mean word confidence (0-100) is recorded as the page's
quality signal, and its block/paragraph/line numbers rebuild the text with paragraphs apart.

Why headers are read here: Tesseract decodes whatever it is given. A 100,000 x 100,000 PNG of a few kilobytes
(a decompression bomb) would take gigabytes before any limit bites, so the width and height are read from the
PNG/JPEG/TIFF/PNM header and an image beyond the pixel budget is refused without being decoded.

PDF pages are rendered with PDFium (pypdfium2) to 8-bit grayscale and written as PGM bytes (there is no Pillow):
Tesseract binarises internally, so colour adds nothing but three times the bytes.

Orientation: a page scanned sideways or upside down OCRs to noise at low confidence. When a page's confidence is
poor, Tesseract's orientation detection (`--psm 0`, osd.traineddata, shipped with tesseract-ocr) is asked which
way is up; the page is rendered again turned that way (PDFium rotates for free) and the better of the two readings
is kept. Skew: Tesseract's line finder follows a skewed page, but reads it worse (a 2-degree skew: CER 4.6%
against 1.0% upright, bench/documents_ocr.py). The skew is estimated from the first reading's word boxes, and a page
skewed by more than a degree is rendered again straightened (PDFium draws it through a rotation matrix) and read
again; the reading with the better confidence is kept. A scanned page image gets the same treatment through
`ocr_scan`, which places a JPEG or PNG as it is in a one-page PDF; `ocr_image` reads an image as it lies.
"""

from __future__ import annotations

import functools
import math
import os
import re
import resource
import shutil
import struct
import subprocess
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from moisson.extraction import ExtractionError

TESSERACT = "tesseract"
# ISO 639-1 (the policy's language codes) -> Tesseract's traineddata names (ISO 639-2/T).
# The 24 official EU languages, then regional languages of EU states.
TESSERACT_CODES: dict[str, str] = {
    "bg": "bul", "cs": "ces", "da": "dan", "de": "deu", "el": "ell", "en": "eng", "es": "spa", "et": "est",
    "fi": "fin", "fr": "fra", "ga": "gle", "hr": "hrv", "hu": "hun", "it": "ita", "lt": "lit", "lv": "lav",
    "mt": "mlt", "nl": "nld", "pl": "pol", "pt": "por", "ro": "ron", "sk": "slk", "sl": "slv", "sv": "swe",
    "ca": "cat", "eu": "eus", "gl": "glg", "cy": "cym", "br": "bre", "oc": "oci",
}
# languages "all" picks first when many are installed: Tesseract tries every model on every word, so time grows
# with each language added and accuracy drops as models compete; a few cover the common case.
ALL_LANGUAGES_PREFERENCE = ("fra", "deu", "spa", "ita", "nld", "por", "pol")
MAX_ALL_LANGUAGES = 3
FALLBACK = "eng"

MAX_PIXELS = 40_000_000          # an A3 page at 300 dpi is 17.4 Mpx; A4 is 8.7 Mpx
MAX_TIFF_PAGES = 64              # Tesseract OCRs every page of a multi-page TIFF: their pixels add up
MEMORY_LIMIT = 2 * 1024 ** 3     # address space of one tesseract process (peak RSS measured: 80 MB for an A4
                                 # page at 300 dpi, 210 MB for 34 Mpx): a tenfold margin, yet bounded
DEFAULT_SECONDS = 120.0
POOR_CONFIDENCE = 60.0           # below this mean word confidence, a page may be turned: ask OSD
MIN_OSD_CONFIDENCE = 1.0         # OSD's orientation confidence below which its answer is a guess
MIN_SKEW, MAX_SKEW = 1.0, 15.0   # degrees: below, the word-box estimate is noise (an unskewed page reads up to
                                 # 0.4); above, it is no scan skew but text set at an angle
LANGUAGES_PATTERN = re.compile(r"[a-z][a-z_]{1,15}(\+[a-z][a-z_]{1,15})*")


class OcrError(ExtractionError):
    """The page yields no OCR text for a reason worth naming (the document is rejected with reason 'extraction')."""


class OcrUnavailable(OcrError):
    """Tesseract, or its data for the wanted languages, is not installed: the message says what to install."""


class OcrFailed(OcrError):
    """Tesseract ran and failed (exit code and the end of its stderr), or the input is not an image it may read."""


class OcrTimeout(OcrError):
    """OCR took longer than its time budget: the process was killed."""


class ImageTooLarge(OcrError):
    """The image's header declares more pixels than the budget: refused without being decoded."""


@dataclass(frozen=True)
class OcrText:
    """One image's text; `confidence` is the mean of Tesseract's word confidences (0-100, 0 when no word)."""

    text: str
    confidence: float
    words: int


@dataclass(frozen=True)
class OcrPage:
    """One PDF page's OCR text; `page` is 1-based, as in a `#page=N` locator."""

    page: int
    text: str
    confidence: float


# --- what is installed ---------------------------------------------------------------------------------------

@functools.cache
def tesseract_version() -> str | None:
    """'5.3.0', or None when the tesseract command is not on PATH (cached: asked once per process)."""
    if shutil.which(TESSERACT) is None:
        return None
    try:
        done = subprocess.run([TESSERACT, "--version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(rb"tesseract v?(\d[\w.\-]*)", done.stdout + done.stderr)
    return match.group(1).decode() if match else None


@functools.cache
def installed_languages() -> frozenset[str]:
    """Tesseract's recognition languages installed here ('eng', 'fra', ...); 'osd' is not one. Empty without it."""
    if tesseract_version() is None:
        return frozenset()
    try:
        done = subprocess.run([TESSERACT, "--list-langs"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    lines = (done.stdout + done.stderr).decode("utf-8", "replace").splitlines()
    return frozenset(line.strip() for line in lines if re.fullmatch(r"[a-z][a-z_]*", line.strip())) - {"osd"}


def install_hint(codes: Iterable[str] = ()) -> str:
    """The apt-get command that brings Tesseract and the given languages' data (Debian's package names)."""
    packages = ["tesseract-ocr"] + [f"tesseract-ocr-{code.replace('_', '-').lower()}" for code in codes]
    return "apt-get install " + " ".join(packages)


def _require_tesseract() -> None:
    if tesseract_version() is None:
        raise OcrUnavailable(f"Tesseract is not installed (scanned pages need OCR): {install_hint(['eng'])}")


def tesseract_languages(policy_languages: list[str] | str, *, english_fallback: bool = True) -> str:
    """The `-l` argument for a policy's languages ('fra+eng'): those installed, English added as the fallback.

    The fallback reads English passages of a French report, at a cost: short French lines may then be read as
    English words without their accents ('à côté ... où' -> 'a cote ... ou'; on francais.pdf the CER goes from
    0.3% with 'fra' to 1.5% with 'fra+eng', bench/documents_ocr.py). `english_fallback=False` leaves it out.

    "all" means the installed ones among the EU map, capped at a few (each language costs time on every word).
    Raises OcrUnavailable when Tesseract is absent, or when none of the policy's languages has its data installed:
    OCRing French with the English model alone loses every accent, so that is a failure to fix, not a fallback.
    """
    _require_tesseract()
    installed = installed_languages()
    if policy_languages == "all":
        wanted = _by_preference(TESSERACT_CODES.values())
        chosen = [code for code in wanted if code in installed and code != FALLBACK][:MAX_ALL_LANGUAGES - 1]
    else:
        wanted = _unique(TESSERACT_CODES[code] for code in policy_languages if code in TESSERACT_CODES)
        chosen = [code for code in wanted if code in installed and code != FALLBACK]
        if wanted and not chosen and FALLBACK not in wanted:
            raise OcrUnavailable(f"no Tesseract language data for {'+'.join(wanted)}: {install_hint(wanted)}")
    if FALLBACK in installed and (english_fallback or FALLBACK in wanted or not chosen):
        chosen.append(FALLBACK)
    if not chosen:
        raise OcrUnavailable(f"no Tesseract language data installed: {install_hint(['eng'])}")
    return "+".join(chosen)


def _by_preference(codes: Iterable[str]) -> list[str]:
    rank = {code: index for index, code in enumerate(ALL_LANGUAGES_PREFERENCE)}
    return sorted(_unique(codes), key=lambda code: rank.get(code, len(rank)))


def _unique(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))


def _check_languages(languages: str) -> None:
    """Refuse a malformed `-l` value, or one naming data that is not installed, before running anything."""
    _require_tesseract()
    if not LANGUAGES_PATTERN.fullmatch(languages):
        raise OcrUnavailable(f"not a Tesseract language list: {languages!r} (expected e.g. 'fra+eng')")
    missing = [code for code in languages.split("+") if code not in installed_languages()]
    if missing:
        raise OcrUnavailable(f"no Tesseract language data for {'+'.join(missing)}: {install_hint(missing)}")


# --- image headers ------------------------------------------------------------------------------------------

def image_pixels(image: bytes) -> int:
    """Pixels the image will decode to, read from its header only (all pages of a TIFF). OcrFailed if unknown."""
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_pixels(image)
    if image.startswith(b"\xff\xd8"):
        return _jpeg_pixels(image)
    if image[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_pixels(image)
    if re.match(rb"P[1-6]\s", image[:3]):
        return _pnm_pixels(image)
    raise OcrFailed("not an image OCR reads (PNG, JPEG, TIFF, PNM are)")


def _png_pixels(image: bytes) -> int:
    if len(image) < 24 or image[12:16] != b"IHDR":
        raise OcrFailed("PNG without an IHDR header")
    width, height = struct.unpack(">II", image[16:24])
    return width * height


# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic...): not DHT (C4), JPG (C8), DAC (CC).
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_pixels(image: bytes) -> int:
    """Walk the marker segments up to the first start-of-frame, which holds height and width."""
    offset = 2
    while offset + 4 <= len(image):
        if image[offset] != 0xFF:
            raise OcrFailed("JPEG with a broken marker sequence")
        marker = image[offset + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # fill byte or standalone marker
            offset += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", image[offset + 2:offset + 4])[0]
        if marker in SOF_MARKERS and offset + 9 <= len(image):
            height, width = struct.unpack(">HH", image[offset + 5:offset + 9])
            return width * height
        if marker == 0xDA or length < 2:
            break
        offset += 2 + length
    raise OcrFailed("JPEG without a frame header")


def _tiff_pixels(image: bytes) -> int:
    """Sum width x height over the IFD chain (a bounded number of pages; a loop in the chain is refused)."""
    order = "<" if image[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", image[4:8])[0]
    total, seen = 0, set()
    while offset and len(seen) < MAX_TIFF_PAGES + 1:
        if offset in seen or offset + 2 > len(image):
            raise OcrFailed("TIFF with a broken directory chain")
        seen.add(offset)
        width, height, offset = _tiff_directory(image, order, offset)
        total += width * height
    if len(seen) > MAX_TIFF_PAGES:
        raise ImageTooLarge(f"TIFF with more than {MAX_TIFF_PAGES} pages")
    return total


def _tiff_directory(image: bytes, order: str, offset: int) -> tuple[int, int, int]:
    """(width, height, next directory offset) of one TIFF image file directory."""
    count = struct.unpack(order + "H", image[offset:offset + 2])[0]
    end = offset + 2 + 12 * count
    if end + 4 > len(image):
        raise OcrFailed("TIFF directory beyond the end of the file")
    size = {}
    for entry in range(offset + 2, end, 12):
        tag, kind = struct.unpack(order + "HH", image[entry:entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT (3) or LONG (4), left-justified in the value
            form, length = ("H", 2) if kind == 3 else ("I", 4)
            size[tag] = struct.unpack(order + form, image[entry + 8:entry + 8 + length])[0]
    if 256 not in size or 257 not in size:
        raise OcrFailed("TIFF page without a width or height")
    return size[256], size[257], struct.unpack(order + "I", image[end:end + 4])[0]


def _pnm_pixels(image: bytes) -> int:
    """P1-P6: magic, then width and height as decimal tokens, '#' comments allowed between them."""
    header = re.sub(rb"#[^\n]*(\n|$)", b" ", image[2:1024])
    numbers = re.findall(rb"\d+", header)[:2]
    if len(numbers) < 2:
        raise OcrFailed("PNM without a width and height")
    return int(numbers[0]) * int(numbers[1])


def pgm_bytes(pixels: bytes | memoryview, width: int, height: int, stride: int) -> bytes:
    """An 8-bit grayscale buffer (rows `stride` bytes apart) as a binary PGM (P5), which Tesseract reads."""
    view = memoryview(pixels).cast("B")
    rows = view if stride == width else b"".join(view[row * stride:row * stride + width] for row in range(height))
    return b"P5\n%d %d\n255\n" % (width, height) + bytes(rows)


# --- running tesseract --------------------------------------------------------------------------------------

def ocr_image(image: bytes, languages: str, max_seconds: float = DEFAULT_SECONDS, *, dpi: int | None = None,
              max_pixels: int = MAX_PIXELS) -> OcrText:
    """OCR one PNG/JPEG/TIFF/PNM image with Tesseract (`languages` as 'fra+eng', see tesseract_languages).

    Refused before Tesseract runs: an unknown format (OcrFailed), more than `max_pixels` declared in the header
    (ImageTooLarge), missing language data (OcrUnavailable). `dpi` tells Tesseract the scan resolution when known.
    """
    pixels = image_pixels(image)
    if pixels > max_pixels:
        raise ImageTooLarge(f"image of {pixels:,} pixels, more than the {max_pixels:,} allowed")
    _check_languages(languages)
    return parse_tsv(_tsv(image, languages, max_seconds, dpi))


def _tsv(image: bytes, languages: str, max_seconds: float, dpi: int | None) -> str:
    arguments = ["-l", languages, "--psm", "3"] + (["--dpi", str(dpi)] if dpi else []) + ["tsv"]
    return _run(arguments, image, max_seconds)


def _run(arguments: list[str], image: bytes, max_seconds: float) -> str:
    """tesseract stdin stdout ARGS, bounded in time and memory, one thread, no shell; its stdout as text."""
    if max_seconds <= 0:
        raise OcrTimeout("OCR time budget already spent")
    command = [TESSERACT, "stdin", "stdout", *arguments]
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(command, input=image, capture_output=True, timeout=max_seconds, check=False,
                              env=environment, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired as error:
        raise OcrTimeout(f"OCR took longer than {max_seconds:g} s (killed)") from error
    except OSError as error:
        raise OcrUnavailable(f"cannot run tesseract ({error}): {install_hint(['eng'])}") from error
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip()[-400:]
        raise OcrFailed(f"tesseract exited with {_exit_reason(done.returncode)}: {tail}")
    return done.stdout.decode("utf-8", "replace")


def _limit_memory() -> None:
    """In the child, before exec: cap its address space, so a huge or crafted image fails instead of swapping."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _exit_reason(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"code {code}"


def parse_tsv(tsv: str) -> OcrText:
    """Text and mean word confidence from Tesseract's TSV: lines of a paragraph on their own lines, paragraphs
    (and blocks) apart by a blank line. Words with confidence -1 are layout rows, not words."""
    paragraphs: dict[tuple[int, int, int], dict[int, list[str]]] = {}
    confidences: list[float] = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        confidence = float(cells[10])
        if confidence < 0:
            continue
        confidences.append(confidence)
        key = (int(cells[1]), int(cells[2]), int(cells[3]))
        paragraphs.setdefault(key, {}).setdefault(int(cells[4]), []).append(cells[11].strip())
    text = "\n\n".join("\n".join(" ".join(words) for words in lines.values()) for lines in paragraphs.values())
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrText(text=unicodedata.normalize("NFC", text), confidence=round(mean, 2), words=len(confidences))


def estimate_skew(tsv: str) -> float | None:
    """The text lines' slope in degrees, clockwise positive (y grows downwards), from Tesseract's word boxes:
    the median over lines of at least 4 words of the least-squares slope of the words' bottoms. None when fewer
    than 3 such lines (too little text to tell). Word bottoms move with descenders, hence many words and a median."""
    lines: dict[tuple[str, ...], list[tuple[float, float]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip() or float(cells[10]) < 0:
            continue
        left, top, width, height = (int(cell) for cell in cells[6:10])
        lines.setdefault(tuple(cells[1:5]), []).append((left + width / 2, top + height))
    slopes = sorted(slope for words in lines.values() if len(words) >= 4 and (slope := _slope(words)) is not None)
    if len(slopes) < 3:
        return None
    middle = len(slopes) // 2
    median = slopes[middle] if len(slopes) % 2 else (slopes[middle - 1] + slopes[middle]) / 2
    return math.degrees(math.atan(median))


def _slope(points: list[tuple[float, float]]) -> float | None:
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else None


def detect_rotation(image: bytes, max_seconds: float = 30.0) -> tuple[int, float] | None:
    """(degrees to turn the image clockwise to make it upright, OSD's confidence), or None when OSD cannot tell
    (too few characters on the page, or osd.traineddata missing)."""
    try:
        report = _run(["--psm", "0", "-l", "osd"], image, max_seconds)
    except OcrFailed:
        return None  # "Too few characters", or no osd data: the page is left as it is
    rotate = re.search(r"Rotate:\s*(\d+)", report)
    confidence = re.search(r"Orientation confidence:\s*([\d.]+)", report)
    if not rotate or not confidence:
        return None
    return int(rotate.group(1)) % 360, float(confidence.group(1))


# --- PDF pages ----------------------------------------------------------------------------------------------

def ocr_pdf_pages(pdf: bytes, pages: list[int], languages: str, password: str | None = None, dpi: int = 300,
                  max_seconds: float = DEFAULT_SECONDS, *, max_pixels: int = MAX_PIXELS) -> list[OcrPage]:
    """OCR the given 1-based pages of a PDF (typically PdfText.pages_without_text), within `max_seconds` in all.

    Each page is rendered at `dpi` (lowered for a page so large that it would pass `max_pixels`), in grayscale,
    turned upright when its first reading is poor and OSD says it lies sideways or upside down, and straightened
    when its lines slope by more than MIN_SKEW degrees. Raises OcrUnavailable, OcrFailed, OcrTimeout, or OcrError
    for a PDF that cannot be opened (wrong password) or a page number outside it.
    """
    _check_languages(languages)
    deadline = time.monotonic() + max_seconds
    document = _open(pdf, password)
    try:
        count = len(document)
        for number in pages:
            if not 1 <= number <= count:
                raise OcrError(f"page {number} is not in the PDF ({count} pages)")
        return [_ocr_page(document[number - 1], number, languages, dpi, deadline, max_pixels) for number in pages]
    finally:
        document.close()


def _open(pdf: bytes, password: str | None) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(pdf, password=password)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise OcrError("PDF is encrypted and no valid password was given") from error
        raise OcrError(f"PDF cannot be opened for OCR: {error}") from error


def _ocr_page(page: pdfium.PdfPage, number: int, languages: str, dpi: int, deadline: float,
              max_pixels: int) -> OcrPage:
    """Read the page as rendered; if poorly, try it turned the way OSD says; then straighten a skewed reading."""
    scale = _scale(page, dpi, max_pixels)
    attempt = Attempt(page, scale, languages, round(72 * scale), deadline, number)
    best = attempt.read(0, 0.0)
    if best.text.confidence < POOR_CONFIDENCE:
        best = _upright(attempt, best)
    if best.skew is not None and MIN_SKEW <= abs(best.skew) <= MAX_SKEW:
        best = max(best, attempt.read(best.rotation, -best.skew), key=lambda reading: reading.text.confidence)
    return OcrPage(page=number, text=best.text.text, confidence=best.text.confidence)


@dataclass(frozen=True)
class Reading:
    """One OCR pass over a page rendered turned `rotation` degrees clockwise (and perhaps straightened); `skew`
    is the slope its lines still show (estimate_skew), `image` what Tesseract read."""

    text: OcrText
    image: bytes
    rotation: int
    skew: float | None


@dataclass(frozen=True)
class Attempt:
    """What every pass over one page shares: the page, its resolution, languages and the time left."""

    page: pdfium.PdfPage
    scale: float
    languages: str
    dpi: int
    deadline: float
    number: int

    def read(self, rotation: int, deskew: float) -> Reading:
        image = _render(self.page, self.scale, rotation, deskew)
        tsv = _tsv(image, self.languages, _remaining(self.deadline, self.number), self.dpi)
        return Reading(parse_tsv(tsv), image, rotation, estimate_skew(tsv))


def _upright(attempt: Attempt, reading: Reading) -> Reading:
    """Ask OSD which way is up; if the page is turned, read it again upright and keep the better reading."""
    orientation = detect_rotation(reading.image, min(30.0, _remaining(attempt.deadline, attempt.number)))
    if orientation is None or orientation[0] == 0 or orientation[1] < MIN_OSD_CONFIDENCE:
        return reading
    turned = attempt.read(orientation[0], 0.0)
    return turned if turned.text.confidence > reading.text.confidence else reading


def _scale(page: pdfium.PdfPage, dpi: int, max_pixels: int) -> float:
    """PDFium's scale for `dpi`, lowered so that the bitmap stays within the pixel budget."""
    width, height = page.get_size()
    scale = dpi / 72
    area = max(width * height, 1.0)
    if area * scale * scale > max_pixels:
        scale = (max_pixels / area) ** 0.5
    return scale


def _render(page: pdfium.PdfPage, scale: float, rotation: int, deskew: float = 0.0) -> bytes:
    """The page as 8-bit grayscale PGM bytes, turned `rotation` + `deskew` degrees clockwise about its centre.
    A right-angle turn is PDFium's own; a small angle goes through a transformation matrix, so the straightened
    page is drawn from the PDF at full quality rather than resampled from pixels."""
    if deskew:
        bitmap = _render_turned(page, scale, rotation + deskew, swap=rotation in (90, 270))
    else:
        bitmap = page.render(scale=scale, rotation=rotation, grayscale=True)
    try:
        return pgm_bytes(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride)
    finally:
        bitmap.close()


def _render_turned(page: pdfium.PdfPage, scale: float, degrees: float, swap: bool) -> pdfium.PdfBitmap:
    """Render through FPDF_RenderPageBitmapWithMatrix: scale, then turn about the page centre onto a bitmap of
    the page's size (swapped for a quarter turn); the corners a small turn pushes out are page margin."""
    source_width, source_height = page.get_width() * scale, page.get_height() * scale
    width, height = math.ceil(source_width), math.ceil(source_height)
    if swap:
        width, height = height, width
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    centre_x, centre_y = source_width / 2, source_height / 2
    matrix = pdfium_c.FS_MATRIX(cos * scale, sin * scale, -sin * scale, cos * scale,
                                width / 2 - (cos * centre_x - sin * centre_y),
                                height / 2 - (sin * centre_x + cos * centre_y))
    bitmap = pdfium.PdfBitmap.new_native(width, height, pdfium_c.FPDFBitmap_Gray)
    bitmap.fill_rect((255, 255, 255, 255), 0, 0, width, height)
    pdfium_c.FPDF_RenderPageBitmapWithMatrix(bitmap, page, matrix, pdfium_c.FS_RECTF(0, 0, width, height),
                                             pdfium_c.FPDF_GRAYSCALE | pdfium_c.FPDF_ANNOT)
    return bitmap


def _remaining(deadline: float, number: int) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise OcrTimeout(f"OCR took longer than its time budget (stopped at page {number})")
    return left


# --- scanned page images --------------------------------------------------------------------------------------

def ocr_scan(image: bytes, languages: str, max_seconds: float = DEFAULT_SECONDS, *,
             max_pixels: int = MAX_PIXELS) -> OcrText:
    """OCR a scanned page image, turned upright and straightened like a PDF page when it is a JPEG or PNG.

    Why through a PDF: turning an image means decoding it, and there is no image library here. A JPEG or PNG
    stream can be placed in a one-page PDF as it is (PDF's DCTDecode and FlateDecode with PNG predictors are the
    same encodings), so PDFium decodes and turns it. TIFF, PNM, and PNGs that PDF cannot hold as they are
    (interlaced, or with an alpha channel) are read by `ocr_image`, as they lie. The header's pixel budget is
    checked first either way.
    """
    pixels = image_pixels(image)
    if pixels > max_pixels:
        raise ImageTooLarge(f"image of {pixels:,} pixels, more than the {max_pixels:,} allowed")
    pdf = image_pdf(image)
    if pdf is None:
        return ocr_image(image, languages, max_seconds, max_pixels=max_pixels)
    [page] = ocr_pdf_pages(pdf, [1], languages, dpi=SCAN_DPI, max_seconds=max_seconds, max_pixels=max_pixels)
    return OcrText(text=page.text, confidence=page.confidence, words=len(page.text.split()))


SCAN_DPI = 300  # the page size given to an image, so that rendering at this resolution gives its own pixels back


def image_pdf(image: bytes) -> bytes | None:
    """A one-page PDF showing a JPEG or PNG at SCAN_DPI with its compressed data copied, not decoded; None for
    an image PDF cannot hold as it is."""
    placed = _jpeg_xobject(image) if image.startswith(b"\xff\xd8") else (
        _png_xobject(image) if image.startswith(b"\x89PNG\r\n\x1a\n") else None)
    if placed is None:
        return None
    width, height, dictionary, data = placed
    page_width, page_height = width * 72 / SCAN_DPI, height * 72 / SCAN_DPI
    content = f"q {page_width:.4f} 0 0 {page_height:.4f} 0 0 cm /Im0 Do Q".encode()
    return pdf_file([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_width:.4f} {page_height:.4f}] /Contents 4 0 R "
        f"/Resources << /XObject << /Im0 5 0 R >> >> >>".encode(),
        _stream(b"", content),
        _stream(b"/Type /XObject /Subtype /Image " + dictionary, data),
    ])


def _jpeg_xobject(image: bytes) -> tuple[int, int, bytes, bytes] | None:
    """JPEG as DCTDecode: width, height and component count from the frame header."""
    offset = 2
    while offset + 4 <= len(image):
        marker = image[offset + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            offset += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", image[offset + 2:offset + 4])[0]
        if marker in SOF_MARKERS and offset + 10 <= len(image):
            height, width, components = struct.unpack(">HHB", image[offset + 5:offset + 10])
            space = {1: b"/DeviceGray", 3: b"/DeviceRGB"}.get(components)
            if space is None or not width or not height:
                return None  # CMYK JPEGs store inverted values depending on the encoder: read them as they are
            return width, height, b"/Width %d /Height %d /ColorSpace %s /BitsPerComponent 8 /Filter /DCTDecode" % (
                width, height, space), image
        if marker == 0xDA or length < 2:
            return None
        offset += 2 + length
    return None


PNG_COLOURS = {0: (1, b"/DeviceGray"), 2: (3, b"/DeviceRGB")}  # colour type -> (components, colour space)


def _png_xobject(image: bytes) -> tuple[int, int, bytes, bytes] | None:
    """PNG as FlateDecode with PNG predictors: the IDAT chunks joined, as PDF reads them (PDF 1.7, 7.4.4.4)."""
    chunks = _png_chunks(image)
    if chunks is None or b"IHDR" not in chunks or b"IDAT" not in chunks:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][:13])
    if interlace or not width or not height:
        return None
    if colour == 3 and b"PLTE" in chunks:
        palette = chunks[b"PLTE"]
        components, space = 1, b"[/Indexed /DeviceRGB %d <%s>]" % (len(palette) // 3 - 1, palette.hex().encode())
    elif colour in PNG_COLOURS:
        components, space = PNG_COLOURS[colour]
    else:
        return None  # grey or colour with alpha: PDF wants the alpha apart
    dictionary = (b"/Width %d /Height %d /ColorSpace %s /BitsPerComponent %d /Filter /FlateDecode "
                  b"/DecodeParms << /Predictor 15 /Colors %d /BitsPerComponent %d /Columns %d >>"
                  % (width, height, space, depth, components, depth, width))
    return width, height, dictionary, chunks[b"IDAT"]


def _png_chunks(image: bytes) -> dict[bytes, bytes] | None:
    """Chunk type -> data (IDAT chunks joined); None for a chunk running past the end of the file."""
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset + 8 <= len(image):
        length, kind = struct.unpack(">I4s", image[offset:offset + 8])
        if offset + 12 + length > len(image):
            return None
        data = image[offset + 8:offset + 8 + length]
        chunks[kind] = chunks.get(kind, b"") + data if kind == b"IDAT" else data
        offset += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n" % (dictionary, len(data)) + data + b"\nendstream"


def pdf_file(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF file of the given objects (numbered from 1, the first the catalogue), with its cross-reference table;
    `trailer` adds entries to the trailer dictionary (an /Info reference). The tests draw their PDFs with it too."""
    out = bytearray(b"%PDF-1.5\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, table)
    return bytes(out)
