"""Derive moisson/language.py's calibrated tables on the TUNING half of the language-ID sets (bench/langid_data.py).

    .venv/bin/python bench/langid_calibrate.py [--write]   # prints (--write: rewrites in moisson/language.py)
                                                            # FASTTEXT_SURE, MIN_SCORE_BY_LANGUAGE, SHORT_TEXT_...

1. FASTTEXT_SURE (per length regime, per language): the lowest fastText probability from which taking fastText's
   first language without asking lingua costs (almost) nothing: among the tuning texts where fastText's first
   language is L with at least that probability, the answers the shortcut gets wrong but the full cascade gets
   right, minus the reverse, are at most 0.2% of them; with fewer than MIN_EVIDENCE such texts there is no
   evidence and the module's default stays (0.9 for long texts outside a confusion cluster, never otherwise).
2. MIN_SCORE_BY_LANGUAGE / SHORT_TEXT_MIN_SCORE_BY_LANGUAGE (texts of 40 letters or more / fewer): the confidence
   an answer L needs: the highest t on a grid such that the cascade's answers L scored below t are right less
   at most 30% of the time (WRONG_SHARE; at least 10 of them); 0 when no such band exists (then only a text with fewer than
   min_chars letters is 'und'). An answer under the threshold is much more likely wrong than right.
The weights, candidate counts and NON_EU_PENALTY were chosen the same way (on the tuning half, by coordinate search
of macro accuracy over sentences, clauses, word pairs, Leipzig and Gutenberg); this script re-derives the tables.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import langid_data as data  # noqa: E402
from moisson import language  # noqa: E402

SURE_GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995)
SCORE_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
MIN_EVIDENCE = 50
MIN_BELOW = 10
WRONG_SHARE = 0.3  # below the threshold, at most 30% of the answers are right: und is the better answer


def tuning_texts() -> list[tuple[str, str]]:
    rows = (data.udhr_sentences("tune") + data.udhr_clauses("tune") + data.udhr_word_pairs("tune")
            + data.leipzig_sentences("tune") + data.gutenberg_sentences("tune") + data.regional_sentences("tune"))
    return [(label, " ".join(text[: language.PREFIX_CHARS].split())) for label, text in rows]


def sure_tables(rows) -> dict[str, dict[str, float]]:
    seen = defaultdict(list)  # (regime, fastText's first) -> [(probability, gold, full answer)]
    for gold, text in rows:
        if language.count_letters(text) < language.MIN_CHARS:
            continue
        code, _score, _method, facts = language.cascade_decision(text, use_sure=False)
        regime = "short" if facts["short"] else "long"
        seen[(regime, facts["fasttext_top"])].append((facts["fasttext_score"], gold, code))
    tables: dict[str, dict[str, float]] = {"short": {}, "long": {}}
    for (regime, top), items in sorted(seen.items()):
        for t in SURE_GRID:
            kept = [(gold, full) for p, gold, full in items if p >= t]
            if len(kept) < MIN_EVIDENCE:
                break
            lost = sum(gold != top and full == gold for gold, full in kept)
            gained = sum(gold == top and full != top for gold, full in kept)
            if lost - gained <= 0.002 * len(kept):
                tables[regime][top] = t
                break
    return tables


def score_tables(rows) -> tuple[dict[str, float], dict[str, float]]:
    answers = defaultdict(list)  # (short, answer) -> [(score, right)]
    for gold, text in rows:
        letters = language.count_letters(text)
        if letters < language.MIN_CHARS:
            continue
        code, score, _method, _facts = language.cascade_decision(text)
        answers[(letters < language.SHORT_TEXT_LETTERS, code)].append((score, code == gold))
    long_table, short_table = {}, {}
    for (short, code), items in sorted(answers.items()):
        for t in sorted(SCORE_GRID, reverse=True):
            below = [right for score, right in items if score < t]
            if len(below) >= MIN_BELOW and sum(below) < WRONG_SHARE * len(below):
                (short_table if short else long_table)[code] = t
                break
    return long_table, short_table


def write(lines: list[str]) -> None:
    path = Path(language.__file__)
    source = path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        name = line.split(":", 1)[0]
        source = [line if old.startswith(name + ":") else old for old in source]
    path.write_text("\n".join(source) + "\n", encoding="utf-8")


def main() -> int:
    rows = tuning_texts()
    print(f"# {len(rows)} tuning texts")
    language.FASTTEXT_SURE = sure_tables(rows)
    long_table, short_table = score_tables(rows)
    lines = [f"FASTTEXT_SURE: dict[str, dict[str, float]] = {language.FASTTEXT_SURE!r}",
             f"MIN_SCORE_BY_LANGUAGE: dict[str, float] = {long_table!r}",
             f"SHORT_TEXT_MIN_SCORE_BY_LANGUAGE: dict[str, float] = {short_table!r}"]
    print("\n".join(lines))
    if "--write" in sys.argv[1:]:
        write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
