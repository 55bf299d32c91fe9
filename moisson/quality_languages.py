"""Quality thresholds per language and per script: one table, derived from good text of each language.

Gopher's thresholds were set on English. Good Greek has longer words than good English, good Chinese
repeats more character sequences, good Polish uses more digits in dates and numbers: one set of
numbers rejects good text in one language and lets junk through in another. FineWeb-2 answered with
per-language thresholds computed from reference statistics of good text in each language; so does
this table. `bench/quality_thresholds.py` measures every signal on the tuning half of the good text
of `bench/filters.py` and writes the entries below: for each upper-bound rule, the English threshold
is moved by the ratio of the language's reference quantile to English's (a language whose good text
sits higher on that signal gets a higher bound), within bounds so that a thin sample cannot open a
rule wide or close it shut. Figures are reported on the other half.

Which entry decides a document: the defaults of `QualityThresholds`, then the entry of the text's
script, then the entry of its language (detected or declared), then what the policy sets
(`policy.quality.<key>` for every language, `policy.quality.languages.<code>.<key>` for one).
A language without an entry gets its script's; a script without one gets the defaults.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from moisson.quality_table import LANGUAGE_THRESHOLDS, SCRIPT_THRESHOLDS

SCRIPT_CHARACTERS = {
    "Grek": "\u0370-\u03ff\u1f00-\u1fff",
    "Cyrl": "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f",
    "Arab": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Hebr": "\u0590-\u05ff\ufb1d-\ufb4f",
    "Hani": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "Kana": "\u3040-\u30ff\u31f0-\u31ff",
    "Hang": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "Thai": "\u0e00-\u0e7f",
    "Deva": "\u0900-\u097f",
    "Geor": "\u10a0-\u10ff",
    "Armn": "\u0530-\u058f",
    "Latn": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
}
_SCRIPT_OF_CHARACTER = re.compile("|".join(f"(?P<{name}>[{chars}])" for name, chars in SCRIPT_CHARACTERS.items()))
SCRIPT_SAMPLE_CHARS = 2000  # the dominant script of a page shows in its first few thousand characters

SCRIPT_UNITS: dict[str, dict[str, Any]] = {
    # a Chinese word is about 1.5 Han characters; Japanese mixes kanji and kana, about 2; Thai words are longer
    "Hani": {"unspaced_characters_per_word": 1.5},
    "Kana": {"unspaced_characters_per_word": 2.0},
    "Thai": {"unspaced_characters_per_word": 4.0},
    # Korean is spaced, but a Hangul character is a whole syllable of two or three letters: its words are half as
    # long in characters as Latin ones (about three syllables), so the word-length bounds are halved
    "Hang": {"min_mean_word_length": 1.5, "max_mean_word_length": 6.0},
}
"""What a word is in scripts whose characters are not letters (unspaced scripts, Hangul syllables): set by hand,
from how the scripts are written, under every other entry of the script."""


def dominant_script(text: str) -> str | None:
    """The script most letters of the text's beginning are written in (Japanese: 'Kana' as soon as there is
    kana among its Han characters), or None for a text without letters of a known script."""
    counts = Counter(match.lastgroup for match in _SCRIPT_OF_CHARACTER.finditer(text, 0, SCRIPT_SAMPLE_CHARS))
    if not counts:
        return None
    if counts["Kana"] and counts["Kana"] + counts["Hani"] >= max(counts.values()):
        return "Kana"
    return counts.most_common(1)[0][0]


def table_entries(language: str | None, script: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The entries that apply, least specific first, each with its label ('script:Hani', 'el')."""
    entries = []
    if script in SCRIPT_UNITS or script in SCRIPT_THRESHOLDS:
        entries.append((f"script:{script}", SCRIPT_UNITS.get(script, {}) | SCRIPT_THRESHOLDS.get(script, {})))
    if language in LANGUAGE_THRESHOLDS:
        entries.append((language, LANGUAGE_THRESHOLDS[language]))
    return entries


LANGUAGE_SCRIPTS = {
    **dict.fromkeys(["el"], "Grek"),
    **dict.fromkeys(["bg", "ru", "uk", "be", "mk", "sr", "kk", "ky", "mn", "tg", "tt", "ba", "cv", "sah"], "Cyrl"),
    **dict.fromkeys(["ar", "fa", "ur", "ps", "ug", "ckb", "sd"], "Arab"),
    **dict.fromkeys(["he", "yi"], "Hebr"),
    **dict.fromkeys(["zh", "yue", "wuu"], "Hani"),
    **dict.fromkeys(["ja"], "Kana"),
    **dict.fromkeys(["ko"], "Hang"),
    **dict.fromkeys(["th"], "Thai"),
    **dict.fromkeys(["hi", "mr", "ne", "sa"], "Deva"),
    **dict.fromkeys(["ka"], "Geor"),
    **dict.fromkeys(["hy"], "Armn"),
}
"""The script a language is written in, when it is not Latin: known without reading the text."""


def script_of(language: str | None, text: str) -> str | None:
    """The script of a document: its language's (Latin unless listed), else, for a document whose language is
    unknown, the one most of its letters are written in."""
    if language in LANGUAGE_SCRIPTS:
        return LANGUAGE_SCRIPTS[language]
    if (language and language != "und") or text[:SCRIPT_SAMPLE_CHARS].isascii():
        return "Latn"
    return dominant_script(text)
