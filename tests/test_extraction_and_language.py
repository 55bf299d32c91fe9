import gzip
import shutil

import pytest

from moisson.extraction import ExtractionError, extract
from moisson.language import identify_language

ARTICLE = " ".join(["La médiathèque ouvre désormais le dimanche matin pour les familles du quartier."] * 6)
PAGE = f"""<!doctype html><html lang="fr-FR"><head><title>Horaires | Ville</title>
<link rel="license" href="https://creativecommons.org/licenses/by-sa/4.0/deed.fr"></head>
<body><nav><a href="/">Accueil</a> <a href="/agenda">Agenda</a></nav>
<article><h1>Nouveaux horaires</h1><p>{ARTICLE}</p><p>Une deuxième phrase, différente de la première.</p></article>
<footer>© Ville — <a href="/mentions">Mentions légales</a></footer></body></html>"""


def test_html_main_text_title_language_hint_and_licence_evidence():
    doc = extract(PAGE.encode("utf-8"), "html", "utf-8", "https://ville.example/horaires")
    assert doc.text.startswith("Nouveaux horaires\nLa médiathèque ouvre")
    assert "Accueil" not in doc.text and "Mentions légales" not in doc.text
    assert doc.title and doc.language_hint == "fr"
    assert [(e.kind, e.spdx) for e in doc.licence_evidence] == [("rel-license", "CC-BY-SA-4.0")]


def test_declared_charset_is_honoured():
    doc = extract(PAGE.encode("iso-8859-1", errors="replace"), "html", "iso-8859-1")
    assert "médiathèque" in doc.text


def test_plain_text_passes_through_cleaned():
    doc = extract("  first line \r\n\r\n\x00second line\n".encode(), "text")
    assert doc.text == "first line\nsecond line" and doc.licence_evidence == []


@pytest.mark.parametrize("payload", [b"", b"<html><head><title>t</title></head><body></body></html>", b"   \n"])
def test_pages_without_text_raise_extraction_errors(payload):
    with pytest.raises(ExtractionError):
        extract(payload, "html" if payload.strip() else "text")


def test_language_is_deterministic_and_short_text_is_undetermined():
    text = "Die Wetterstationen in den Bergen messen seit vielen Jahren Temperatur und Niederschlag."
    guesses = {identify_language(text) for _ in range(5)}
    assert len(guesses) == 1 and next(iter(guesses)).language == "de"
    assert identify_language("ok").language == "und" and identify_language("ok").method == "too-short"
    assert identify_language("12345 67890 !!! ???").language == "und"


def test_language_accuracy_on_leipzig_sentences(shared_data, tmp_path):
    """langdetect on real sentences of the five main languages: a floor, to catch a broken setup."""
    files = {"de": "deu_news_2023", "en": "eng_wikipedia_2016", "fr": "fra_news_2023", "it": "ita_news_2023", "es": "spa_news_2023"}
    for lang, stem in files.items():
        copy = tmp_path / f"{stem}.txt.gz"
        shutil.copyfile(shared_data / "langid" / "leipzig_10K_5lang" / f"{stem}_10K-sentences.txt.gz", copy)
        with gzip.open(copy, "rt", encoding="utf-8") as handle:
            sentences = [line.split("\t", 1)[1].strip() for _, line in zip(range(200), handle)]
        right = sum(identify_language(s).language == lang for s in sentences)
        assert right / len(sentences) >= 0.9, (lang, right)
