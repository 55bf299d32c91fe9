"""OCR of scanned PDFs: Moisson's module (moisson/ocr.py: PDFium render + Tesseract) against pdftoppm + tesseract.

Why: issue 14's goal is a character error rate (CER) of at most 5% on clean scans in French and English. The files
are the image-only PDFs of ../shared/data/documents/pdf_scanned/ (its README.md says which reference serves which
file, and how each page is turned or skewed).

The peer is what a user would script by hand with the same engine: poppler's `pdftoppm -r 300 -gray` then
`tesseract PAGE stdout -l LANG` with its defaults (page segmentation 3, no orientation detection). It is the same
Tesseract and the same language data, so the comparison isolates Moisson's own choices (PDFium rendering, TSV text
rebuild, OSD on poor pages); no OCR engine of another kind runs offline here with French data (EasyOCR, PaddleOCR
and docling's OCR download their models at run time). The two Tesseract outputs recorded in OCRmyPDF's test cache
(Tesseract 5.5.1) are scored too, as printed baselines.

CER: Levenshtein distance (characters) / reference length, after Unicode NFC and whitespace collapsed to single
spaces; case, punctuation, apostrophes and diacritics kept. A multi-page file sums distances and lengths over its
pages. Speed: pages / CPU seconds (this process and its children: rendering and every tesseract run); each file
is read by both sides back to back, twice, and its best time kept.

    .venv/bin/python bench/documents_ocr.py [--passes N]
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shared_data import SHARED, require  # noqa: E402

SCANNED = SHARED / "documents" / "pdf_scanned"
DPI = 300


@dataclass(frozen=True)
class Case:
    file: str
    language: str            # ISO 639-1, as a policy names it
    references: list[str]    # one per page
    layout: str              # what the page tests: turned, skewed, columns
    clean: bool              # an upright, unskewed scan: what the issue's goal is about


def cases() -> list[Case]:
    docling_sentence = " ".join((SCANNED / "docling/ocr_test.groundtruth.md").read_text(encoding="utf-8").split())
    nemotron = [line for line in (SCANNED / "docling/nemotron_multipage.reference.txt").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    linn = (SCANNED / "ocrmypdf/linn.reference.txt").read_text(encoding="utf-8")
    french = (SCANNED / "ocrmypdf/francais.reference.txt").read_text(encoding="utf-8")
    found = [Case("docling/ocr_test.pdf", "en", [docling_sentence], "upright", True)]
    for degrees in (90, 180, 270):
        reference = (SCANNED / f"docling/ocr_test_rotated_{degrees}.groundtruth.md").read_text(encoding="utf-8")
        found.append(Case(f"docling/ocr_test_rotated_{degrees}.pdf", "en", [reference], f"turned {degrees}", False))
    found += [
        Case("docling/nemotron_multipage.pdf", "en", nemotron, "pages at 0, 180, 90, 270", False),
        Case("ocrmypdf/linn.pdf", "en", [linn], "upright, two columns", True),
        Case("ocrmypdf/cardinal.pdf", "en", [linn] * 4, "pages at 0, 90, 180, 270", False),
        Case("ocrmypdf/skew.pdf", "en", [linn], "skewed", False),
        Case("ocrmypdf/francais.pdf", "fr", [french], "upright", True),
    ]
    return found


def normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance, bit-parallel (Myers 1999, Hyyrö 2001): one pass over `b` with `a` as bit vectors, so a
    4,500-character page costs milliseconds in pure Python where the textbook table costs seconds."""
    if not a or not b:
        return len(a) + len(b)
    positions: dict[str, int] = {}
    for index, char in enumerate(a):
        positions[char] = positions.get(char, 0) | (1 << index)
    mask, top = (1 << len(a)) - 1, 1 << (len(a) - 1)
    plus, minus, score = mask, 0, len(a)
    for char in b:
        equal = positions.get(char, 0)
        vertical = equal | minus
        horizontal = ((((equal & plus) + plus) & mask) ^ plus) | equal
        h_plus = minus | (~(horizontal | plus) & mask)
        h_minus = plus & horizontal
        score += 1 if h_plus & top else -1 if h_minus & top else 0
        h_plus = ((h_plus << 1) | 1) & mask
        h_minus = (h_minus << 1) & mask
        plus = h_minus | (~(vertical | h_plus) & mask)
        minus = h_plus & vertical
    return score


def errors(texts: list[str], references: list[str]) -> tuple[int, int]:
    """(edit distance, reference characters) summed over pages."""
    pairs = [(normalised(text), normalised(reference)) for text, reference in zip(texts, references, strict=True)]
    return sum(levenshtein(text, reference) for text, reference in pairs), sum(len(ref) for _, ref in pairs)


def word_errors(texts: list[str], references: list[str]) -> tuple[int, int]:
    """(word edit distance, reference words) summed over pages: each distinct word becomes one character."""
    codes: dict[str, str] = {}
    total = length = 0
    for text, reference in zip(texts, references, strict=True):
        encoded = ["".join(codes.setdefault(word, chr(0xF0000 + len(codes))) for word in normalised(side).split())
                   for side in (text, reference)]
        total += levenshtein(*encoded)
        length += len(encoded[1])
    return total, length


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


Reader = Callable[[Path, int, str], list[str]]


def moisson_reader(english_fallback: bool = True) -> Reader:
    from moisson import ocr

    def read(path: Path, pages: int, language: str) -> list[str]:
        languages = ocr.tesseract_languages([language], english_fallback=english_fallback)
        found = ocr.ocr_pdf_pages(path.read_bytes(), list(range(1, pages + 1)), languages, dpi=DPI, max_seconds=600)
        return [page.text for page in found]
    return read


def peer_read(path: Path, pages: int, language: str) -> list[str]:
    """pdftoppm + tesseract with its defaults, the same languages as Moisson's policy mapping."""
    from moisson import ocr

    languages = ocr.tesseract_languages([language])
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", str(path), f"{folder}/page"], check=True)
        images = sorted(Path(folder).glob("page*.pgm"))
        return [subprocess.run(["tesseract", str(image), "stdout", "-l", languages], capture_output=True,
                               check=True, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}).stdout.decode()
                for image in images]


@dataclass
class Run:
    scores: dict[str, tuple[int, int]]   # file -> (edit distance, reference characters)
    words: dict[str, tuple[int, int]]    # file -> (word edit distance, reference words)
    seconds: dict[str, float]            # file -> CPU seconds


Readers = dict[str, tuple[Reader, Callable[[Case], bool]]]  # name -> (reader, which cases it reads)


def measure(readers: Readers, found: list[Case], passes: int) -> dict[str, Run]:
    """Each file read by every reader back to back (the machine's load then weighs on both alike), `passes` times;
    a file's CPU time is its best pass (Tesseract's own time varies by a fifth from one run to the next here)."""
    runs = {name: Run({}, {}, {}) for name in readers}
    for _ in range(passes):
        for case in found:
            for name, (reader, wanted) in readers.items():
                if not wanted(case):
                    continue
                started = cpu_seconds()
                texts = reader(SCANNED / case.file, len(case.references), case.language)
                seconds = cpu_seconds() - started
                runs[name].seconds[case.file] = min(seconds, runs[name].seconds.get(case.file, seconds))
                runs[name].scores[case.file] = errors(texts, case.references)
                runs[name].words[case.file] = word_errors(texts, case.references)
    return runs


def speed(run: Run, found: list[Case]) -> tuple[int, float]:
    """(pages, CPU seconds) over the cases of `found` that this run read."""
    read = [case for case in found if case.file in run.seconds]
    return sum(len(case.references) for case in read), sum(run.seconds[case.file] for case in read)


def rate(pairs: list[tuple[int, int]]) -> float:
    """CER over several pages: distances summed over reference characters summed (NaN when there is none)."""
    characters = sum(length for _, length in pairs)
    return sum(distance for distance, _ in pairs) / characters if characters else float("nan")


def versions() -> str:
    from moisson import ocr
    import pypdfium2.version as pdfium_version

    packages = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}, ",
                               "tesseract-ocr-eng", "tesseract-ocr-fra"], capture_output=True, text=True).stdout
    poppler = subprocess.run(["pdftoppm", "-v"], capture_output=True, text=True).stderr.splitlines()[:1] \
        if shutil.which("pdftoppm") else ["pdftoppm absent"]
    return (f"tesseract {ocr.tesseract_version()}, pypdfium2 {pdfium_version.PYPDFIUM_INFO}, {poppler[0]}; "
            f"language data (tessdata_fast models): {packages.rstrip(', ')}")


def main() -> None:
    passes = int(sys.argv[sys.argv.index("--passes") + 1]) if "--passes" in sys.argv else 2
    require("documents_ocr.py", SCANNED, ["docling/*.pdf", "ocrmypdf/*.pdf", "ocrmypdf/*.reference.txt"])
    from moisson import ocr

    if ocr.tesseract_version() is None:
        print(f"documents_ocr.py: Tesseract is not installed ({ocr.install_hint(['eng', 'fra'])})", file=sys.stderr)
        raise SystemExit(2)
    found = cases()
    print(versions())
    print(f"render {DPI} dpi grayscale; OMP_THREAD_LIMIT=1; CPU time = this process + children, "
          f"best of {passes} passes\n")
    readers = {"moisson": (moisson_reader(), lambda case: True),
               "moisson fra only": (moisson_reader(english_fallback=False), lambda case: case.language == "fr")}
    if shutil.which("pdftoppm"):
        readers["pdftoppm+tesseract"] = (peer_read, lambda case: True)
    else:
        print("peer skipped: pdftoppm is not installed (apt-get install poppler-utils)\n")
    ocr.installed_languages()  # asked once, before any timing
    report(found, measure(readers, found, passes))


def report(found: list[Case], runs: dict[str, Run]) -> None:
    names = list(runs)
    print("CER per file (CPU seconds)")
    print(f"{'file':36} {'lang':4} {'pages':>5} {'layout':26} " + " ".join(f"{name:>20}" for name in names))
    for case in found:
        cells = [f"{rate([runs[name].scores[case.file]]):10.2%} ({runs[name].seconds[case.file]:5.1f})"
                 if case.file in runs[name].scores else f"{'-':>20}" for name in names]
        print(f"{case.file:36} {case.language:4} {len(case.references):5} {case.layout:26} " + " ".join(cells))
    print()
    summary: dict[str, dict[str, float]] = {}
    upright = [case for case in found if case.clean]
    for name, run in runs.items():
        by = {key: rate([run.scores[c.file] for c in found if c.file in run.scores and test(c)]) for key, test in (
            ("fr", lambda c: c.language == "fr"), ("en", lambda c: c.language == "en"),
            ("en_clean", lambda c: c.language == "en" and c.clean))}
        pages, seconds = speed(run, found)
        clean_pages, clean_seconds = speed(run, upright)
        summary[name] = {**by, "pages_per_s": pages / seconds, "clean_pages_per_s": clean_pages / clean_seconds}
        wer = {language: rate([run.words[c.file] for c in found if c.file in run.words and c.language == language])
               for language in ("fr", "en")}
        print(f"{name:20} CER fr {by['fr']:6.2%}  en {by['en']:6.2%}  en clean {by['en_clean']:6.2%}  "
              f"WER fr {wer['fr']:6.2%}  en {wer['en']:6.2%}  "
              f"{pages:2} pages in {seconds:5.1f} CPU s = {pages / seconds:5.2f} pages/s per core "
              f"(upright pages: {clean_pages / clean_seconds:5.2f})")
    recorded(found)
    ours, other = summary["moisson"], summary.get("pdftoppm+tesseract")
    peer_part = (f" peer_cer_fr={other['fr']:.4f} peer_cer_en={other['en']:.4f} "
                 f"peer_pages_per_s={other['pages_per_s']:.2f} "
                 f"peer_pages_per_s_upright={other['clean_pages_per_s']:.2f}") if other else ""
    print(f"FIGURE ocr_cer_fr={ours['fr']:.4f} ocr_cer_en={ours['en']:.4f} ocr_cer_en_clean={ours['en_clean']:.4f} "
          f"ocr_cer_fr_fra_only={summary['moisson fra only']['fr']:.4f} pages_per_s={ours['pages_per_s']:.2f} "
          f"pages_per_s_upright={ours['clean_pages_per_s']:.2f}"
          + peer_part)


def recorded(found: list[Case]) -> None:
    """The Tesseract 5.5.1 outputs of OCRmyPDF's test cache, scored the same way (not run here)."""
    references = {case.file: case.references[0] for case in found}
    for name, file, note in (("skew.tesseract-eng.txt", "ocrmypdf/skew.pdf", "-l eng"),
                             ("francais.tesseract-deu.txt", "ocrmypdf/francais.pdf", "-l deu, the wrong language")):
        path = SCANNED / "ocrmypdf" / name
        if path.exists():
            score = rate([errors([path.read_text(encoding="utf-8")], [references[file]])])
            print(f"recorded {name:28} ({note}): CER {score:6.2%}")


if __name__ == "__main__":
    start = time.monotonic()
    main()
    print(f"# {time.monotonic() - start:.0f} s wall", file=sys.stderr)
