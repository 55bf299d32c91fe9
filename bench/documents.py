"""Quality per format, measured (issue 14): Moisson's document readers against the references of
../shared/data/documents/, per format and language, with the peer a user would otherwise pick in the same run.

* PDF with a text layer: Moisson (`moisson.document_text.extract_document`: PDFium text layer, and OCR for the
  pages whose layer is missing or unusable, with the file's language as the policy's) against pdfminer.six (the
  usual choice, the FIGURE's peer) and poppler's `pdftotext` when installed (skipped with a note when not).
  Bag-of-words F1 on the born-digital PDFs that have a reference text: both texts NFC-normalised, Markdown markup
  and backslash escapes stripped from docling's references, cut into words (runs of Unicode word characters,
  case kept), F1 on the word multisets. A reference that is only part of the page (an upstream `prefix` /
  `contains` / `line 7` assertion) is scored by recall alone and kept out of the F1 means. The references under
  pdfminer/ are pdfminer.six's own output (its unit tests), so an F1 without them is printed too. Speed: pages
  (PDFium's count, the same for every reader) over CPU seconds of this process and its children (pdftotext,
  tesseract), best of three passes.
  Tuned on: the unusable-text-layer thresholds on every page of the 39 PDFs (the requirement is no false alarm on
  any of them) and a hand-made shifted page; the glyph-number fonts on issue-791, issue_566 and issue-625; the
  right-to-left handling on habibi.pdf and right_to_left_01.pdf; the bare-number rule on text_rise_eol_bug.pdf (the
  `TUNED` set, marked in the table). The F1 over the other files is printed apart.
* Scans: bench/documents_ocr.py's cases and measure (one pass): Moisson's OCR path against pdftoppm + tesseract
  with its defaults, CER per language (the same engine and data: no other engine runs offline here with French).
* TEI, JATS (bench/documents_xml.py), DOCX, ODT, EPUB (bench/documents_office.py), MediaWiki
  (bench/documents_wiki.py): their cases and F1, imported; no peer is measured for those here.

Ends with one `FIGURE documents ...` line. Exit 2 when ../shared/data is absent.

    .venv/bin/python bench/documents.py            (about 3 min; --skip-ocr leaves the scans out)
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.documents_ocr import cpu_seconds  # noqa: E402
from bench.shared_data import SHARED, require  # noqa: E402

PDF = SHARED / "documents" / "pdf"
WORD = re.compile(r"\w+")
PASSES = 3
MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# files looked at while tuning moisson/pdf_text.py for issue 14 (their output or their reference's reading changed
# because of what was seen in them): garbled layers, glyph-number fonts, right-to-left, text rise, Markdown escapes
TUNED = {"pdfminer/issue-791-non-unicode-cmap.pdf", "pdfminer/simple3.pdf", "py-pdf-sample-files/habibi.pdf",
         "docling/right_to_left_01.pdf", "pdfminer/issue_566_test_1.pdf", "pdfminer/issue-625-identity-cmap.pdf",
         "pdfjs/text_rise_eol_bug.pdf", "pdfplumber/scotus-transcript-p1.pdf", "pdfminer/simple5.pdf",
         "docling/table_mislabeled_as_picture.pdf"}


@dataclass(frozen=True)
class Case:
    file: str
    language: str
    reference: str
    partial: bool  # the reference covers only part of the text: recall only


def docling_markdown(path: Path) -> str:
    """docling's Markdown ground truth as plain words: placeholders, table rules and markup dropped."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)
    text = re.sub(r"^\s*\|?[\s:|-]+\|[\s:|-]*$", " ", text, flags=re.MULTILINE)
    text = re.sub(r"[#*|`]", " ", text)
    return MARKDOWN_ESCAPE.sub(r"\1", text)  # '\\_\\_' is '__' (a form's blank line), not words '_' '_'



def odt_text(path: Path) -> str:
    """The text of an ODT's content.xml (defusedxml: no entities), the source of a LibreOffice PDF."""
    from defusedxml.ElementTree import fromstring
    with zipfile.ZipFile(path) as archive:
        root = fromstring(archive.read("content.xml"))
    paragraphs = (node for node in root.iter() if node.tag.endswith(("}p", "}h")))
    return " ".join("".join(node.itertext()) for node in paragraphs)


def cases() -> list[Case]:
    docling = {"2305.03393v1-pg9": "en", "amt_handbook_sample": "en", "code_and_formula": "en",
               "multi_page": "en", "normal_4pages": "ko", "picture_classification": "en",
               "right_to_left_01": "ar", "table_mislabeled_as_picture": "en"}
    found = [Case(f"docling/{name}.pdf", lang, docling_markdown(PDF / f"docling/{name}.groundtruth.md"), False)
             for name, lang in docling.items()]
    languages = {"issue-625-identity-cmap.pdf": "pl", "issue-791-non-unicode-cmap.pdf": "cs",
                 "issue_566_test_1.pdf": "zh", "simple3.pdf": "ja", "issue13226.pdf": "de",
                 "french_diacritics.pdf": "fr"}
    for folder in ("pdfminer", "pdfjs"):
        seen = set()
        for line in (PDF / folder / "expected_text.jsonl").read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if item["file"] in seen:
                continue
            seen.add(item["file"])
            found.append(Case(f"{folder}/{item['file']}", languages.get(item["file"], "en"), item["expected"],
                              item["match"] not in ("equals", "equals_after_strip")))
    found += [
        Case("pdfminer/encryption_base.pdf", "en", "Secret!", False),
        Case("pdfplumber/scotus-transcript-p1.pdf", "en",
             (PDF / "pdfplumber/scotus-transcript-p1.reference.txt").read_text(encoding="utf-8"), False),
        Case("py-pdf-sample-files/habibi.pdf", "ar", "حَبيبي habibi", False),
        Case("py-pdf-sample-files/libre-office-writer.pdf", "en",
             odt_text(PDF / "py-pdf-sample-files/libre-office-writer.source.odt"), False),
    ]
    return found


def words(text: str) -> Counter[str]:
    return Counter(WORD.findall(" ".join(unicodedata.normalize("NFC", text).split())))


def scores(text: str, reference: str) -> tuple[float, float]:
    """(F1, recall) of the words of `text` against those of `reference`."""
    got, want = words(text), words(reference)
    common = sum((got & want).values())
    if not got or not want or not common:
        return 0.0, 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall), recall


Reader = Callable[[bytes, str], str]


def moisson_text(data: bytes, language: str) -> str:
    """What the pipeline stores: the text layer, and OCR (the file's language as the policy's) for pages whose
    layer is missing or unusable."""
    from moisson.document_text import DocumentOptions, extract_document
    return extract_document(data, "pdf", DocumentOptions(languages=(language,), budget_s=300)).text


def pdfminer_text(data: bytes, language: str) -> str:
    from pdfminer.high_level import extract_text
    return extract_text(io.BytesIO(data))


def pdftotext_text(data: bytes, language: str) -> str:
    """poppler's pdftotext with its defaults (reading order by its own layout analysis), UTF-8 out."""
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, timeout=120,
                          check=False)
    return done.stdout.decode("utf-8", "replace")


def page_count(data: bytes) -> int:
    import pypdfium2 as pdfium
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return 0
    try:
        return len(document)
    finally:
        document.close()


@dataclass
class PdfRun:
    texts: dict[str, str]
    seconds: dict[str, float]  # file -> CPU seconds (best pass)


def run(reader: Reader, found: list[Case], payloads: dict[str, bytes]) -> PdfRun:
    """Texts per file and each file's best CPU time (this process and its children); a failure gives ''."""
    result = PdfRun({}, {})
    for _ in range(PASSES):
        for case in found:
            started = cpu_seconds()
            try:
                text = reader(payloads[case.file], case.language)
            except Exception as error:  # a failure scores 0, it must not stop the comparison
                text = ""
                print(f"  {reader.__name__} failed on {case.file}: {type(error).__name__}: {error}", file=sys.stderr)
            seconds = cpu_seconds() - started
            result.texts[case.file] = text
            result.seconds[case.file] = min(seconds, result.seconds.get(case.file, seconds))
    return result


def pdf_report(found: list[Case]) -> dict[str, dict[str, float]]:
    """The PDF table, per file and per language, and each reader's F1 and pages/s (returned for the FIGURE)."""
    import logging
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    payloads = {case.file: (PDF / case.file).read_bytes() for case in found}
    pages = {name: page_count(data) for name, data in payloads.items()}
    readers: dict[str, Reader] = {"moisson": moisson_text, "pdfminer": pdfminer_text}
    if shutil.which("pdftotext"):
        readers["pdftotext"] = pdftotext_text
    else:
        print("pdftotext skipped: poppler-utils is not installed (apt-get install poppler-utils)")
    runs = {name: run(reader, found, payloads) for name, reader in readers.items()}
    names = list(runs)
    print(f"{'file':48} {'lang':4} {'ref':7} " + " ".join(f"{name:>9}" for name in names) + "  tuned")
    full: dict[str, list[float]] = defaultdict(list)
    partial: dict[str, list[float]] = defaultdict(list)
    independent: dict[str, list[float]] = defaultdict(list)  # references not written by pdfminer.six itself
    untuned: dict[str, list[float]] = defaultdict(list)
    by_language: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for case in found:
        row = []
        for name in names:
            f1, recall = scores(runs[name].texts[case.file], case.reference)
            value = recall if case.partial else f1
            row.append(value)
            (partial if case.partial else full)[name].append(value)
            if not case.partial:
                by_language[case.language][name].append(f1)
                if not case.file.startswith("pdfminer/"):
                    independent[name].append(value)
                if case.file not in TUNED:
                    untuned[name].append(value)
        kind = "recall" if case.partial else "F1"
        print(f"{case.file:48} {case.language:4} {kind:7} " + " ".join(f"{value:9.3f}" for value in row)
              + ("  yes" if case.file in TUNED else ""))
    print("\nPDF per language (F1 mean over full references; pages/s per core)")
    summary: dict[str, dict[str, float]] = {}
    for language, values in sorted(by_language.items()):
        files = [case.file for case in found if case.language == language and not case.partial]
        print(f"  pdf  {language:4} n={len(files):2} " + " ".join(
            f"{name}={mean(values[name]):.3f} ({_rate(runs[name], files, pages):6.1f} p/s)" for name in names))
    all_files = [case.file for case in found]
    text_layer = [file for file in all_files if file not in _ocred(found)]
    for name in names:
        summary[name] = {"f1": mean(full[name]), "pages_per_s": _rate(runs[name], all_files, pages),
                         "text_layer_pages_per_s": _rate(runs[name], text_layer, pages)}
        print(f"  {name:9}: F1 {mean(full[name]):.3f} (n={len(full[name])}), not tuned on "
              f"{mean(untuned[name]):.3f} (n={len(untuned[name])}), without pdfminer's own references "
              f"{mean(independent[name]):.3f} (n={len(independent[name])}), partial recall {mean(partial[name]):.3f} "
              f"(n={len(partial[name])}); {sum(pages[f] for f in all_files)} pages in "
              f"{sum(runs[name].seconds.values()):.3f} CPU s = {summary[name]['pages_per_s']:.1f} pages/s per core; "
              f"{summary[name]['text_layer_pages_per_s']:.1f} pages/s on the {len(text_layer)} files Moisson reads "
              "from the text layer alone")
    return summary


def _ocred(found: list[Case]) -> set[str]:
    """The files with a page Moisson sends to OCR (no text layer, or an unusable one)."""
    from moisson.pdf_text import pdf_document
    ocred = set()
    for case in found:
        document = pdf_document((PDF / case.file).read_bytes())
        if document.pages_without_text or document.pages_with_unusable_text:
            ocred.add(case.file)
    return ocred


def _rate(result: PdfRun, files: list[str], pages: dict[str, int]) -> float:
    seconds = sum(result.seconds[file] for file in files)
    return sum(pages[file] for file in files) / seconds if seconds else float("nan")


def scans_report() -> dict[str, float]:
    """bench/documents_ocr.py's cases, one pass: CER per language and pages/s, Moisson and pdftoppm+tesseract."""
    from bench import documents_ocr
    from moisson import ocr
    if ocr.tesseract_version() is None:
        print(f"scans skipped: Tesseract is not installed ({ocr.install_hint(['eng', 'fra'])})")
        return {}
    found = documents_ocr.cases()
    readers = {"moisson": (documents_ocr.moisson_reader(), lambda case: True)}
    if shutil.which("pdftoppm"):
        readers["pdftoppm+tesseract"] = (documents_ocr.peer_read, lambda case: True)
    else:
        print("scan peer skipped: pdftoppm is not installed (apt-get install poppler-utils)")
    runs = documents_ocr.measure(readers, found, 1)
    result: dict[str, float] = {}
    for name, measured in runs.items():
        cer = {language: documents_ocr.rate([measured.scores[c.file] for c in found if c.language == language])
               for language in ("fr", "en")}
        count, seconds = documents_ocr.speed(measured, found)
        print(f"  scan {name:20} CER fr {cer['fr']:6.2%} (n={sum(c.language == 'fr' for c in found)})  "
              f"en {cer['en']:6.2%} (n={sum(c.language == 'en' for c in found)})  {count / seconds:5.2f} pages/s per core")
        if name == "moisson":
            result = {"cer_fr": cer["fr"], "cer_en": cer["en"]}
    return result


def structured_report() -> dict[str, float]:
    """TEI, JATS, DOCX, ODT, EPUB: the cases and F1 of bench/documents_xml.py and bench/documents_office.py."""
    from bench import documents_office, documents_xml
    from moisson.jats import jats_document
    from moisson.office_text import READERS
    from moisson.tei import tei_document
    readers = {"tei": tei_document, "jats": jats_document, **READERS}
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    for kind, language, path, reference in documents_xml.cases() + documents_office.cases():
        data = path.read_bytes()
        started = cpu_seconds()
        text = readers[kind](data).text
        seconds[(kind, language)] += cpu_seconds() - started
        groups[(kind, language)].append(documents_xml.f1(text, reference))
    for (kind, language), values in sorted(groups.items()):
        print(f"  {kind:5} {language:4} n={len(values):2} moisson={mean(values):.3f} "
              f"({len(values) / max(seconds[(kind, language)], 1e-6):6.1f} docs/s per core)")
    by_kind: dict[str, list[float]] = defaultdict(list)
    for (kind, _), values in groups.items():
        by_kind["office" if kind in ("docx", "odt", "epub") else kind].extend(values)
    return {kind: mean(values) for kind, values in by_kind.items()}


def wiki_report() -> tuple[float, float]:
    """bench/documents_wiki.py's lead-section F1 (English gold abstracts) and pages/s over its dumps."""
    from bench import documents_wiki
    scores = documents_wiki.abstract_scores()
    pages_per_s, _ = documents_wiki.dump_rates(1)
    return mean(scores), pages_per_s


def main() -> None:
    require("bench/documents.py", PDF, ["README.md", "docling/*.groundtruth.md", "pdfminer/expected_text.jsonl"])
    print("== PDF with a text layer")
    pdf = pdf_report(cases())
    print("\n== Scans (OCR)")
    scans = {} if "--skip-ocr" in sys.argv else scans_report()
    print("\n== TEI, JATS, DOCX, ODT, EPUB (F1 against their references)")
    structured = structured_report()
    print("\n== MediaWiki (lead-section F1 against DBpedia's gold abstracts; dumps read once)")
    wiki_f1, wiki_rate = wiki_report()
    print(f"FIGURE documents pdf_f1={pdf['moisson']['f1']:.3f} pdf_f1_peer={pdf['pdfminer']['f1']:.3f} "
          f"pdf_pages_per_s={pdf['moisson']['pages_per_s']:.1f} "
          f"pdf_pages_per_s_peer={pdf['pdfminer']['pages_per_s']:.1f} "
          f"ocr_cer_fr={scans.get('cer_fr', float('nan')):.4f} ocr_cer_en={scans.get('cer_en', float('nan')):.4f} "
          f"tei_f1={structured.get('tei', 0.0):.3f} jats_f1={structured.get('jats', 0.0):.3f} "
          f"office_f1={structured.get('office', 0.0):.3f} wiki_f1={wiki_f1:.3f} wiki_pages_per_s={wiki_rate:.1f} "
          f"pdf_pages_per_s_text_layer={pdf['moisson']['text_layer_pages_per_s']:.1f} "
          f"pdf_pages_per_s_text_layer_peer={pdf['pdfminer']['text_layer_pages_per_s']:.1f}")


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    main()
