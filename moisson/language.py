"""Language identification with langdetect, made deterministic and honest about short texts.

langdetect samples randomly: without a fixed seed the same text can get a different language on
each run, which would make the corpus irreproducible. Its cost grows with text length, so only a
bounded prefix is read. Too short or too unsure gives 'und' rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from langdetect import DetectorFactory, LangDetectException, detect_langs

UNDETERMINED = "und"
DetectorFactory.seed = 0


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    score: float
    method: str  # 'langdetect' | 'declared' | 'too-short' | 'low-confidence'


def identify_language(text: str, min_chars: int = 20, min_score: float = 0.5, prefix_chars: int = 2000) -> LanguageGuess:
    sample = text[:prefix_chars]
    if sum(ch.isalpha() for ch in sample) < min_chars:
        return LanguageGuess(UNDETERMINED, 0.0, "too-short")
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return LanguageGuess(UNDETERMINED, 0.0, "too-short")
    score = round(float(best.prob), 4)
    if score < min_score:
        return LanguageGuess(UNDETERMINED, score, "low-confidence")
    return LanguageGuess(best.lang.split("-")[0], score, "langdetect")


def declared_language(code: str) -> LanguageGuess | None:
    """A language the input record states itself (e.g. a JSONL `language` field), trusted like a declared licence."""
    primary = code.strip().split("-")[0].split("_")[0].lower()
    if 2 <= len(primary) <= 3 and primary.isalpha():
        return LanguageGuess(primary, 1.0, "declared")
    return None
