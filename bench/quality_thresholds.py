"""Derive the per-language and per-script quality thresholds from reference statistics of good text.

The method follows FineWeb-2's idea (per-language thresholds from the statistics of good text in each
language), with English as the anchor, because the English thresholds are the ones whose effect on
junk is known (Gopher, C4, and this project's junk set):

- the reference of a language is the good text of the *tune* half of `bench/filter_sets.py` labelled
  with it (gold article bodies, Moisson's own extraction of good pages, books, UDHR, Leipzig sentences,
  texts written for the project); a script's reference pools the languages written in it;
- for every rule with an upper bound, the English threshold is multiplied by the ratio of the
  language's 90th percentile to English's (a language whose good text sits higher gets a higher
  bound); for a lower bound, the ratio of the 10th percentiles;
- a ratio is kept between 1 and MAX_LOOSENING (1 / MAX_LOOSENING for lower bounds): a language's
  thresholds are never stricter than English's, since a thin reference (UDHR is all some languages
  have) would otherwise close a rule on ordinary news, and never so loose that a rule stops working;
- a language gets an entry of its own only with at least MIN_REFERENCE documents from at least two
  origins; below that it gets its script's, and a script below that the defaults;
- an entry lists only the thresholds that moved by more than 2%.

Run: `.venv/bin/python bench/quality_thresholds.py` prints the table; `--write` rewrites
`moisson/quality_table.py`. The figures that count are `bench/filters.py`'s, on the *report* half.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path
from pprint import pformat

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moisson.quality_languages import LANGUAGE_SCRIPTS, SCRIPT_UNITS  # noqa: E402
from moisson.text_quality import QualityThresholds, quality_signals  # noqa: E402

TABLE = ROOT / "moisson" / "quality_table.py"
MIN_REFERENCE = 12
MAX_LOOSENING = 1.6
UPPER_QUANTILE, LOWER_QUANTILE = 0.9, 0.1
EPSILON = 0.01  # keeps a ratio of near-zero percentiles (repetition in clean prose) near 1
MIN_CHANGE = 0.02
DEFAULTS = QualityThresholds()
UPPER = {  # threshold -> the signal it bounds
    "max_mean_word_length": "mean_word_length",
    "max_symbol_word_ratio": "symbol_word_ratio",
    "max_digit_ratio": "digit_ratio",
    "max_lines_without_terminal_punctuation": "lines_without_terminal_punctuation",
    "max_chars_without_terminal_punctuation": "chars_without_terminal_punctuation",
    "max_duplicate_line_fraction": "duplicate_line_fraction",
    "max_duplicate_line_char_fraction": "duplicate_line_char_fraction",
}
LOWER = {"min_mean_word_length": "mean_word_length", "min_alpha_word_fraction": "alpha_word_fraction"}
NGRAMS = {"max_top_ngram_char_fraction": "top_{n}gram_char_fraction",
          "max_duplicate_ngram_char_fraction": "duplicate_{n}gram_char_fraction"}
UNBOUNDED = {"max_mean_word_length", "min_mean_word_length", "max_symbol_word_ratio"}  # not fractions of a whole
SPACED_ONLY = {"max_mean_word_length", "min_mean_word_length"}  # word length means nothing in unspaced scripts


def _filter_sets():
    spec = importlib.util.spec_from_file_location("bench_filter_sets", Path(__file__).with_name("filter_sets.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def script_key(language: str) -> str:
    return LANGUAGE_SCRIPTS.get(language, "Latn")


def reference_signals(samples) -> dict[str, list[tuple[str, dict[str, float]]]]:
    """language -> (origin, signals) of each good tune document, measured with its script's unit of a word."""
    by_language: dict[str, list[tuple[str, dict[str, float]]]] = defaultdict(list)
    for sample in samples:
        if sample.kind != "good" or sample.split != "tune":
            continue
        entry = SCRIPT_UNITS.get(script_key(sample.language), {})
        by_language[sample.language].append((sample.origin, quality_signals(sample.text, QualityThresholds(**entry))))
    return by_language


def _quantile(rows: list[dict[str, float]], signal: str, q: float) -> float:
    return float(np.quantile([row.get(signal, 0.0) for row in rows], q))


def derive(reference: list[dict[str, float]], anchor: list[dict[str, float]], unspaced: bool) -> dict:
    """The thresholds that move for a reference, against the English anchor."""
    entry: dict = {}

    def ratio(signals: list[str], upper: bool) -> float:
        """Reference over anchor percentile, summed over the signals (one ratio for a family of n-gram sizes,
        so that the limits stay ordered), kept within the loosening allowed."""
        q = UPPER_QUANTILE if upper else LOWER_QUANTILE
        found = sum(_quantile(reference, signal, q) for signal in signals) + EPSILON
        anchored = sum(_quantile(anchor, signal, q) for signal in signals) + EPSILON
        return min(max(found / anchored, 1.0), MAX_LOOSENING) if upper else min(max(found / anchored, 1 / MAX_LOOSENING), 1.0)

    def moved(name: str, default: float, factor: float) -> float | None:
        value = round(default * factor if name in UNBOUNDED else min(default * factor, 1.0), 3)
        return value if abs(value - default) > MIN_CHANGE * default else None

    for name, signal, upper in [*((n, s, True) for n, s in UPPER.items()), *((n, s, False) for n, s in LOWER.items())]:
        if unspaced and name in SPACED_ONLY:
            continue
        value = moved(name, getattr(DEFAULTS, name), ratio([signal], upper))
        if value is not None:
            entry[name] = value
    for name, pattern in NGRAMS.items():
        limits = getattr(DEFAULTS, name)
        factor = ratio([pattern.format(n=n) for n in limits], True)
        if factor > 1 + MIN_CHANGE:
            entry[name] = {n: round(min(limit * factor, 1.0), 3) for n, limit in limits.items()}
    return entry


def derive_table(by_language) -> tuple[dict, dict, dict]:
    anchor = [signals for _, signals in by_language["en"]]
    languages, scripts, counts = {}, {}, {}
    pooled: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for language, rows in by_language.items():
        pooled[script_key(language)].extend(rows)
        counts[language] = (len(rows), len({origin for origin, _ in rows}))
        if language != "en" and len(rows) >= MIN_REFERENCE and counts[language][1] >= 2:
            entry = derive([s for _, s in rows], anchor, script_key(language) in ("Hani", "Kana", "Thai"))
            if entry:
                languages[language] = entry
    for script, rows in pooled.items():
        if script != "Latn" and len(rows) >= MIN_REFERENCE:
            entry = derive([s for _, s in rows], anchor, script in ("Hani", "Kana", "Thai"))
            if entry:
                scripts[script] = entry
    return languages, scripts, counts


def render(languages: dict, scripts: dict, counts: dict) -> str:
    sizes = ", ".join(f"{language} {n}/{origins}" for language, (n, origins) in sorted(counts.items()))
    return f'''"""The quality thresholds that move per language and per script: written by bench/quality_thresholds.py, not by hand.

Derived from the good text of the tune half of bench/filter_sets.py (reference documents/origins per
language: {sizes}). Re-run `.venv/bin/python bench/quality_thresholds.py --write` after changing the rules
or the reference sets, and report with bench/filters.py on the other half.
"""

LANGUAGE_THRESHOLDS = {pformat(languages, width=116, sort_dicts=True)}

SCRIPT_THRESHOLDS = {pformat(scripts, width=116, sort_dicts=True)}
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {TABLE.relative_to(ROOT)}")
    args = parser.parse_args()
    languages, scripts, counts = derive_table(reference_signals(_filter_sets().load_samples("tune")))
    text = render(languages, scripts, counts)
    if args.write:
        TABLE.write_text(text, encoding="utf-8")
        print(f"wrote {TABLE.relative_to(ROOT)}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
