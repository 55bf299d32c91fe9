"""DOCX, ODT and EPUB → text: bag-of-words F1 of moisson.office_text against reference texts, and docs/s.

Why bag-of-words F1: the references differ from our output in layout (Markdown headings, tables, images) but not
in words; the word multiset overlap after Unicode NFC measures what was kept and what was lost. References (see
../shared/data/documents/{office,epub}/README.md):

* office/docling/*.docx, *.odt and epub/docling/*.epub: docling's Markdown ground truth, markup stripped
  (headings, emphasis, links, `<!-- image -->`, table pipes and separators, checkbox marks, `$…$` LaTeX kept as
  its words: our text has the equation's characters, docling's LaTeX commands count as misses);
* epub/pandoc/*.epub: pandoc's native AST, the `Str "…"`, inline `Code` and `Math` values joined (its
  metadata block, authors included, counts too: we do not emit authors).
Legacy `.doc` files are not ours (not a zip package) and are left out.

Usage: .venv/bin/python bench/documents_office.py   (exit 2 with one line when the data folder is missing)
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.documents_xml import score_readers  # noqa: E402
from bench.shared_data import SHARED, require  # noqa: E402
from moisson.office_text import READERS  # noqa: E402

DOCUMENTS = SHARED / "documents"
LANGUAGES = {"list_after_num_headers.docx": "vi"}  # the README's language column; English otherwise
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# Words of the AST: `Str "…"`, and the strings of inline code and TeX math (pandoc keeps them as one token each).
NATIVE_STRING = re.compile(r'(?:Str|Code\s*\([^)]*\)|Math\s+\w+)\s+"((?:[^"\\]|\\.)*)"')


def markdown_text(markdown: str) -> str:
    """docling's Markdown as plain text: links to their text, markup and image placeholders out."""
    text = markdown.replace("<!-- image -->", " ")
    text = MARKDOWN_LINK.sub(r"\1", text)
    text = re.sub(r"^#+ ", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\|?\s*-[-| ]*$", " ", text, flags=re.MULTILINE)  # table separator rows
    text = re.sub(r"- \[[ xX]\]", " ", text)  # checkbox marks
    text = text.replace("\\_", "_")
    text = re.sub(r"[*`|]+", " ", text)
    return html.unescape(text)


def native_text(native: str) -> str:
    """The words of a pandoc native AST: every `Str "…"` value, Haskell escapes decoded."""
    return "\n".join(_haskell_unescape(value) for value in NATIVE_STRING.findall(native))


def _haskell_unescape(value: str) -> str:
    return re.sub(r"\\(\d+)|\\(.)", lambda m: chr(int(m.group(1))) if m.group(1) else m.group(2), value)


def cases() -> list[tuple[str, str, Path, str]]:
    """(format, language, file, reference text) for every package with a reference."""
    found = []
    office, epub = DOCUMENTS / "office" / "docling", DOCUMENTS / "epub"
    for path in sorted([*office.glob("*.docx"), *office.glob("*.odt"), *(epub / "docling").glob("*.epub")]):
        truth = path.with_name(path.name + ".groundtruth.md")
        if truth.exists():
            reference = markdown_text(truth.read_text("utf-8"))
            found.append((path.suffix[1:], LANGUAGES.get(path.name, "en"), path, reference))
    for path in sorted((epub / "pandoc").glob("*.epub")):
        native = path.with_suffix(".reference.native")
        if native.exists():
            found.append(("epub", "en", path, native_text(native.read_text("utf-8"))))
    return found


def main() -> int:
    require("documents_office", DOCUMENTS / "office" / "docling", ["*.docx", "*.odt", "*.groundtruth.md"])
    require("documents_office", DOCUMENTS / "epub" / "docling", ["*.epub", "*.groundtruth.md"])
    return score_readers("documents_office", "DOCX/ODT/EPUB", READERS, cases())


if __name__ == "__main__":
    raise SystemExit(main())
