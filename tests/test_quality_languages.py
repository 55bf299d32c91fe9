"""Quality thresholds per language and script: which entry decides, how the policy overrides it, and that the
pipeline judges a document by its own language."""

from __future__ import annotations

import json

import polars as pl
import pytest
from pydantic import ValidationError

from moisson import quality_languages
from moisson.config import Policy, QualityPolicy
from moisson.curation import PayloadWork, filter_quality, judge_quality
from moisson.quality_languages import dominant_script, script_of
from moisson.text_quality import QualityThresholds

GREEK = "Η βιβλιοθήκη του δήμου άνοιξε ξανά τις πόρτες της μετά από δεκαοκτώ μήνες εργασιών."
CHINESE = "图书馆今年扩建了阅览室，增加了两百个座位，周末的开放时间也延长到晚上九点。"
JAPANESE = "図書館は今年、閲覧室を広げて、週末の開館時間を夜九時まで延ばしました。"


def test_the_script_of_a_text_is_read_from_its_letters() -> None:
    assert dominant_script(GREEK) == "Grek"
    assert dominant_script(CHINESE) == "Hani"
    assert dominant_script(JAPANESE) == "Kana"  # kana among the kanji: Japanese, not Chinese
    assert dominant_script("Привет, как дела? " * 3 + "ok") == "Cyrl"
    assert dominant_script("1234 5678 !!!") is None


def test_a_known_language_gives_its_script_without_reading_the_text() -> None:
    assert script_of("el", "") == "Grek"
    assert script_of("fr", CHINESE) == "Latn"  # the language decides; the text is read only when it is unknown
    assert script_of("und", CHINESE) == "Hani"
    assert script_of(None, GREEK) == "Grek"


def test_entries_apply_from_the_least_to_the_most_specific(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quality_languages, "SCRIPT_THRESHOLDS", {"Grek": {"max_digit_ratio": 0.3, "min_words": 40}})
    monkeypatch.setattr(quality_languages, "LANGUAGE_THRESHOLDS", {"el": {"min_words": 30}})
    label, el = QualityPolicy().for_language("el", GREEK)
    assert label == "el"
    assert (el.max_digit_ratio, el.min_words) == (0.3, 30)  # the script's, then the language's on top
    label, unknown = QualityPolicy().for_language("und", GREEK)
    assert label == "script:Grek" and unknown.min_words == 40
    label, everywhere = QualityPolicy(min_words=10).for_language("el", GREEK)
    assert label == "el+policy" and everywhere.min_words == 10  # a key set in the policy applies to every language
    label, mine = QualityPolicy(min_words=10, languages={"el": {"min_words": 70}}).for_language("el", GREEK)
    assert mine.min_words == 70 and mine.max_digit_ratio == 0.3
    assert QualityPolicy().for_language("fr", "Bonjour")[0] == "default"


def test_unspaced_scripts_count_words_as_groups_of_characters() -> None:
    _, zh = QualityPolicy().for_language("zh", CHINESE)
    _, ja = QualityPolicy().for_language("ja", JAPANESE)
    assert zh.unspaced_characters_per_word == 1.5 and ja.unspaced_characters_per_word == 2.0


def test_language_overrides_are_validated_with_the_language_named() -> None:
    with pytest.raises(ValidationError, match="language 'el': min_word"):
        QualityPolicy(languages={"el": {"min_word": 20}})
    with pytest.raises(ValidationError, match="language 'el': max_digit_ratio"):
        QualityPolicy(languages={"el": {"max_digit_ratio": 3}})
    with pytest.raises(ValidationError, match="not an ISO 639 code"):
        QualityPolicy(languages={"Greek": {"min_words": 20}})


def test_the_verdict_says_which_thresholds_judged_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quality_languages, "LANGUAGE_THRESHOLDS", {"el": {"min_words": 5}})
    short = GREEK + " Οι αναγνώστες βρίσκουν τώρα μια μεγάλη φωτεινή αίθουσα στον πρώτο όροφο."
    greek = judge_quality(short, QualityPolicy(), "el")
    assert greek.passed and greek.thresholds == "el" and greek.language == "el"
    default = judge_quality(short, QualityPolicy(), "fr")
    assert not default.passed and default.rule == "min_words" and default.thresholds == "default"


def test_workers_judge_quality_by_the_language_they_guessed() -> None:
    policy = Policy(licenses={"allow": ["CC0-1.0"]}, quality={"min_words": 10, "languages": {"de": {"min_words": 500}}})
    work = PayloadWork(language=policy.language, quality=policy.quality)
    text = ("Die neue Buslinie verbindet seit Montag die fünf Dörfer im oberen Tal mit der Kreisstadt. "
            "Sie fährt werktags im Stundentakt, am Wochenende viermal am Tag.")
    measured = work.measure({"text": text})
    assert measured["language_guess"].language == "de"
    assert measured["quality_verdict"].language == "de" and measured["quality_verdict"].rule == "min_words"


def test_a_declared_language_is_judged_again_by_its_own_thresholds() -> None:
    """A worker judged the text as the language it guessed; a record that declares another language is judged
    again, by that language's thresholds, in the main process."""
    policy = Policy(licenses={"allow": ["CC0-1.0"]}, quality={"min_words": 10, "languages": {"de": {"min_words": 500}}})
    text = "Kurzer Text, aber mit genug Wörtern für zehn Wörter und noch ein paar mehr dazu."
    as_guessed = judge_quality(text, policy.quality, "en")
    documents = pl.DataFrame({"content_sha256": ["a", "b"], "text": [text, text], "language": ["en", "de"],
                              "reason": [None, None], "reason_detail": [None, None]},
                             schema_overrides={"reason": pl.String, "reason_detail": pl.String})
    decided = filter_quality(documents, policy, {"a": as_guessed, "b": as_guessed})
    assert decided["reason"].to_list() == [None, "quality"]
    assert "[de+policy thresholds]" in decided["reason_detail"][1]
    assert json.loads(decided["quality_signals"][0])["thresholds"] == "default+policy"


def test_thresholds_of_the_table_are_valid() -> None:
    for code, entry in quality_languages.LANGUAGE_THRESHOLDS.items():
        QualityThresholds(**entry)
        assert code == code.lower() and 2 <= len(code) <= 3
    for script, entry in {**quality_languages.SCRIPT_THRESHOLDS, **quality_languages.SCRIPT_UNITS}.items():
        QualityThresholds(**entry)
        assert script in quality_languages.SCRIPT_CHARACTERS
