"""PDF text layer: Moisson's module (moisson/pdf_text.py, PDFium) against pdfminer.six, on the same files, same run.

Why: a PDF extractor is chosen on two numbers, how much of the right text it returns and how many pages a core
reads per second, and both only mean something next to a peer measured the same way. The files are the
born-digital PDFs of ../shared/data/documents/pdf/ that have a reference text (its README.md says which).

Text score: bag-of-words F1. Both texts are NFC-normalised, whitespace collapsed, Markdown markup stripped from
docling's references, then cut into words (maximal runs of Unicode word characters, case kept); F1 is computed on
the multisets of words. A reference that is only part of the page (an upstream `prefix`/`contains`/`line 7`
assertion, the literal parts of a LaTeX source) is scored by recall alone and kept out of the F1 means. The
references under pdfminer/ are pdfminer.six's own output (its unit tests), so an F1 without them is printed too.
Speed: CPU seconds (process time) of the best of three passes over every file, pages divided by that time.

    .venv/bin/python bench/documents.py
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shared_data import SHARED, require  # noqa: E402

PDF = SHARED / "documents" / "pdf"
WORD = re.compile(r"\w+")
PASSES = 3


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
    return re.sub(r"[#*|`]", " ", text)


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


def moisson_text(data: bytes) -> tuple[str, int]:
    from moisson.pdf_text import pdf_document
    document = pdf_document(data)
    return document.text, document.page_count


def pdfminer_text(data: bytes) -> tuple[str, int]:
    from pdfminer.high_level import extract_text
    from pdfminer.pdfpage import PDFPage
    pages = sum(1 for _ in PDFPage.get_pages(io.BytesIO(data)))
    return extract_text(io.BytesIO(data)), pages


def run(extractor: Callable[[bytes], tuple[str, int]], payloads: dict[str, bytes]) -> tuple[dict[str, str], float, int]:
    """Texts per file, the best pass's CPU seconds, pages read (failures give empty text)."""
    best, texts, pages = float("inf"), {}, 0
    for _ in range(PASSES):
        pages, started = 0, time.process_time()
        for name, data in payloads.items():
            try:
                texts[name], count = extractor(data)
            except Exception as error:  # a failure scores 0, it must not stop the comparison
                texts[name], count = "", 0
                print(f"  {extractor.__name__} failed on {name}: {type(error).__name__}: {error}", file=sys.stderr)
            pages += count
        best = min(best, time.process_time() - started)
    return texts, best, pages


def main() -> None:
    require("bench/documents.py", PDF, ["README.md", "docling/*.groundtruth.md", "pdfminer/expected_text.jsonl"])
    import logging
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    selected = cases()
    payloads = {case.file: (PDF / case.file).read_bytes() for case in selected}
    results = {name: run(extractor, payloads) for name, extractor in
               (("moisson", moisson_text), ("pdfminer", pdfminer_text))}
    print(f"{'file':48} {'lang':4} {'ref':7} {'moisson':>8} {'pdfminer':>8}")
    by_language: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    full: dict[str, list[float]] = defaultdict(list)
    partial: dict[str, list[float]] = defaultdict(list)
    independent: dict[str, list[float]] = defaultdict(list)  # references not written by pdfminer.six itself
    for case in selected:
        row = []
        for name, (texts, _, _) in results.items():
            f1, recall = scores(texts[case.file], case.reference)
            value = recall if case.partial else f1
            row.append(value)
            (partial if case.partial else full)[name].append(value)
            if not case.partial and not case.file.startswith("pdfminer/"):
                independent[name].append(value)
            if not case.partial:
                by_language[case.language][name].append(f1)
        kind = "recall" if case.partial else "F1"
        print(f"{case.file:48} {case.language:4} {kind:7} {row[0]:8.3f} {row[1]:8.3f}")
    print("\nper language (F1 mean over full references)")
    for language, values in sorted(by_language.items()):
        print(f"  {language:4} n={len(values['moisson']):2} " +
              " ".join(f"{name}={mean(values[name]):.3f}" for name in results))
    print("\n" + " ".join(f"{name}: F1 {mean(full[name]):.3f} (n={len(full[name])}), partial recall "
                          f"{mean(partial[name]):.3f} (n={len(partial[name])}), {pages} pages in {seconds:.3f} s CPU "
                          f"= {pages / seconds:.1f} pages/s/core;" for name, (_, seconds, pages) in results.items()))
    print("F1 without the pdfminer/ references (pdfminer.six's own output): " +
          " ".join(f"{name}={mean(independent[name]):.3f}" for name in results) + f" (n={len(independent['moisson'])})")
    speed = {name: pages / seconds for name, (_, seconds, pages) in results.items()}
    print(f"FIGURE pdf_f1={mean(full['moisson']):.3f} pdf_f1_not_pdfminer_refs={mean(independent['moisson']):.3f} "
          f"pdf_recall_partial={mean(partial['moisson']):.3f} "
          f"pdf_pages_per_s={speed['moisson']:.1f} pdfminer_f1={mean(full['pdfminer']):.3f} "
          f"pdfminer_f1_not_pdfminer_refs={mean(independent['pdfminer']):.3f} "
          f"pdfminer_recall_partial={mean(partial['pdfminer']):.3f} pdfminer_pages_per_s={speed['pdfminer']:.1f}")


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    main()
