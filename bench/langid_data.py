"""Language-ID evaluation sets, deterministic and split into a tuning half and a report half.

Thresholds in moisson/language.py are derived on `tune` (bench/langid_calibrate.py); bench/quality.py
and tests/test_language.py report on `report`. A figure measured on `tune` is not evidence.

- UDHR paragraphs in the 24 EU languages (../shared/data/langid/udhr_eu24): each language's paragraphs
  in document order are cut into 16 bands of equal length; even bands are `tune`, odd bands `report`
  (the translations are parallel, so an article falls in the same half in every language, give or take
  one paragraph at a band's edge). Paragraphs are split into sentences at . ! ? ; : followed by a
  space; a sentence needs 3 words. Word pairs: two consecutive words of a sentence (punctuation at
  their edges removed, both with a letter), every pair of the half, then a seeded sample per language.
- Leipzig sentences (de en fr it es) and Gutenberg paragraphs (de en es fr it): a line is `tune` or
  `report` by a stable hash of its text (crc32, even/odd), then a seeded sample.
- bench/data/regional_langid.tsv: sentences in regional languages of France, written for this project
  (see that file's header); `tune`/`report` by the same hash.
"""

from __future__ import annotations

import gzip
import random
import re
import zlib
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
UDHR = SHARED / "langid" / "udhr_eu24" / "udhr_eu24_paragraphs.tsv"
LEIPZIG = SHARED / "langid" / "leipzig_10K_5lang"
GUTENBERG = SHARED / "text" / "gutenberg_5lang" / "gutenberg_paragraphs_min200chars.tsv.gz"
REGIONAL = Path(__file__).resolve().parent / "data" / "regional_langid.tsv"
ISO3_TO_1 = {"deu": "de", "eng": "en", "fra": "fr", "ita": "it", "spa": "es"}
EU24 = tuple("bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv".split())
PARTS = ("tune", "report")
BANDS = 16
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
EDGE = re.compile(r"^[\W_]+|[\W_]+$")
LETTER = re.compile(r"[^\W\d_]")

Labelled = list[tuple[str, str]]  # (label, text)


def half(text: str) -> str:
    return PARTS[zlib.crc32(text.encode("utf-8")) % 2]


def _check(part: str) -> None:
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, not {part!r}")


def udhr_paragraphs(part: str, path: Path = UDHR) -> Labelled:
    _check(part)
    by_label: dict[str, list[str]] = defaultdict(list)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if number == 0 or not line.strip():
            continue
        label, text = line.split("\t", 1)
        by_label[label.strip()].append(text.strip())
    out = []
    for label in sorted(by_label):
        rows = by_label[label]
        for i, text in enumerate(rows):
            if PARTS[(i * BANDS // len(rows)) % 2] == part:
                out.append((label, text))
    return out


def sentences_of(text: str, min_words: int = 3) -> list[str]:
    return [s for s in (s.strip() for s in SENTENCE_END.split(text)) if len(s.split()) >= min_words]


def word_pairs_of(sentence: str) -> list[str]:
    words = [EDGE.sub("", w) for w in sentence.split()]
    words = [w if LETTER.search(w) else "" for w in words]
    return [f"{a} {b}" for a, b in zip(words, words[1:]) if a and b]


def udhr_sentences(part: str) -> Labelled:
    return [(label, s) for label, text in udhr_paragraphs(part) for s in sentences_of(text)]


def udhr_word_pairs(part: str, per_language: int = 200, seed: int = 0) -> Labelled:
    pairs: dict[str, list[str]] = defaultdict(list)
    for label, sentence in udhr_sentences(part):
        pairs[label].extend(word_pairs_of(sentence))
    rng = random.Random(seed)
    out = []
    for label in sorted(pairs):
        unique = sorted(set(pairs[label]))
        out += [(label, p) for p in rng.sample(unique, min(per_language, len(unique)))]
    return out


def leipzig_sentences(part: str, per_file: int = 300, seed: int = 0) -> Labelled:
    _check(part)
    rng = random.Random(seed)
    out = []
    for path in sorted(LEIPZIG.glob("*-sentences.txt.gz")):
        label = ISO3_TO_1[path.name.split("_")[0].split("-")[0]]
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines = [line.rstrip("\n").split("\t", 1)[1] for line in handle if "\t" in line]
        lines = [line for line in lines if half(line) == part]
        out += [(label, line) for line in rng.sample(lines, min(per_file, len(lines)))]
    return out


def gutenberg_sentences(part: str, per_language: int = 300, seed: int = 0) -> Labelled:
    _check(part)
    by_label: dict[str, list[str]] = defaultdict(list)
    with gzip.open(GUTENBERG, "rt", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            label, _book, _idx, text = line.rstrip("\n").split("\t", 3)
            if half(text) == part:
                by_label[label].extend(s for s in sentences_of(text, 4) if len(s) <= 300)
    rng = random.Random(seed)
    return [(label, s) for label in sorted(by_label)
            for s in rng.sample(sorted(by_label[label]), min(per_language, len(by_label[label])))]


def regional_sentences(part: str, path: Path = REGIONAL) -> Labelled:
    """Sentences in regional languages of France written for the project (lines `label<TAB>text`, # comments)."""
    _check(part)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t", 1)
        if half(text) == part:
            out.append((label.strip(), text.strip()))
    return out


def udhr_clauses(part: str, per_language: int = 200, seed: int = 0) -> Labelled:
    """Short texts: the comma-separated pieces of a sentence with 4 to 10 words (how short web sentences read)."""
    pieces: dict[str, set[str]] = defaultdict(set)
    for label, sentence in udhr_sentences(part):
        for piece in sentence.split(","):
            piece = piece.strip()
            if 4 <= len(piece.split()) <= 10:
                pieces[label].add(piece)
    rng = random.Random(seed)
    return [(label, p) for label in sorted(pieces)
            for p in rng.sample(sorted(pieces[label]), min(per_language, len(pieces[label])))]
