"""Language identification (moisson.language): the EU-24 answered as themselves, regional languages of France,
no guess on nothing, and accuracy floors on the report half of bench/langid_data.py (the cascade's tables are
derived on the other half, so these are held-apart figures)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from moisson import language
from moisson.config import LanguagePolicy
from moisson.language import UNDETERMINED, identify_language
from tests.bench_scripts import load_bench_script



data = load_bench_script("langid_data.py")


@pytest.mark.parametrize(("code", "text"), [
    ("hr", "Svatko ima pravo na život, slobodu i osobnu sigurnost."),
    ("hr", "Hrvatski sabor donio je novi zakon o zaštiti okoliša."),
    ("cs", "Každý má právo na vzdělání a na svobodu projevu."),
    ("cs", "Včera jsme byli v kině a potom jsme šli na večeři."),
    ("sk", "Každý má právo na život, slobodu a osobnú bezpečnosť."),
    ("da", "Alle mennesker er født frie og lige i værdighed og rettigheder."),
    ("da", "Jeg har boet i København i mange år og kan godt lide byen."),
    ("sv", "Alla människor är födda fria och lika i värde och rättigheter."),
    ("sl", "Vsi ljudje se rodijo svobodni in imajo enako dostojanstvo in enake pravice."),
    ("bg", "Всички хора се раждат свободни и равни по достойнство и права."),
    ("ga", "Saolaítear gach duine den chine daonna saor agus comhionann i ndínit agus i gcearta."),
    ("mt", "Kull persuna għandha d-dritt għall-ħajja, il-libertà u s-sigurtà tal-persuna."),
    ("ro", "Toate ființele umane se nasc libere și egale în demnitate și în drepturi."),
])
def test_eu_languages_are_answered_as_themselves(code, text):
    assert identify_language(text).language == code


@pytest.mark.parametrize(("code", "text"), [
    ("sr", "Сва људска бића рађају се слободна и једнака у достојанству и правима."),
    ("ru", "Все люди рождаются свободными и равными в своем достоинстве и правах."),
    ("uk", "Всі люди народжуються вільними і рівними у своїй гідності та правах."),
])
def test_a_clear_non_eu_neighbour_is_still_itself(code, text):
    assert identify_language(text).language == code


@pytest.mark.parametrize(("code", "text"), [
    ("eu", "Gizon-emakume guztiak aske jaiotzen dira, duintasun eta eskubide berberak dituztela."),
    ("ca", "Tots els éssers humans neixen lliures i iguals en dignitat i en drets."),
    ("br", "Dieub ha par an eil d'egile en o dellezegezh hag o gwirioù eo ganet an holl dud."),
])
def test_regional_languages_of_france_that_are_recognised(code, text):
    assert identify_language(text).language == code


def test_the_regional_languages_claimed_are_ones_the_models_know():
    assert set(language.REGIONAL_LANGUAGES_CHECKED) <= set(language.REGIONAL_LANGUAGES_OF_FRANCE)
    labels, _ = language._fasttext_model().predict("x", k=-1, threshold=0.0)
    known = {label.removeprefix("__label__") for label in labels}
    assert set(language.REGIONAL_LANGUAGES_OF_FRANCE) <= known


@pytest.mark.parametrize("text", ["", "ok", "12345 67890 !!! ???", "— … ¿¡ %%% 2024-01-01", "https://t.co/x1"])
def test_nothing_to_go_on_is_und(text):
    assert identify_language(text).language == UNDETERMINED


def test_thresholds_keep_the_policy_keys_and_take_per_language_overrides():
    text = "Hrvatski sabor donio je novi zakon o zaštiti okoliša."
    assert identify_language(text, min_score=1.0).language == UNDETERMINED
    assert identify_language(text, min_score={"hr": 1.0}).language == UNDETERMINED
    assert identify_language(text, min_score={"de": 1.0}).language == "hr"
    policy = LanguagePolicy(min_score={"hr": 0.7}, short_text_min_score=0.6)
    assert policy.min_score == {"hr": 0.7} and LanguagePolicy().min_score is None


def _accuracy(rows):
    hits, und = defaultdict(list), 0
    for label, text in rows:
        answer = identify_language(text).language
        hits[label].append(answer == label)
        und += answer == UNDETERMINED
    per_language = {label: sum(h) / len(h) for label, h in hits.items()}
    return per_language, sum(per_language.values()) / len(per_language), und / len(rows)


def test_eu24_sentences_on_the_report_half(shared_data):
    per_language, macro, und = _accuracy(data.udhr_sentences("report"))
    assert len(per_language) == 24
    assert macro >= 0.985 and min(per_language.values()) >= 0.95 and und <= 0.01, per_language


def test_eu24_word_pairs_on_the_report_half(shared_data):
    rows = data.udhr_word_pairs("report")
    right = sum(identify_language(text).language == label for label, text in rows)
    assert right / len(rows) >= 0.85


def test_leipzig_sentences_on_the_report_half(shared_data):
    per_language, macro, und = _accuracy(data.leipzig_sentences("report", per_file=100))
    assert macro >= 0.98 and und <= 0.01, per_language


def test_regional_sentences_written_for_the_project():
    per_language, _macro, _und = _accuracy(data.regional_sentences("tune") + data.regional_sentences("report"))
    for code in ("eu", "ca", "br"):
        assert per_language[code] >= 0.85, per_language
