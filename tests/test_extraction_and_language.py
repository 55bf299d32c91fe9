import gzip
import random
import shutil

import pytest

from moisson.config import ExtractionPolicy
from moisson.curation import PayloadWork
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


LIST_PAGE = PAGE.replace("<p>Une deuxième", "<ul><li>Premier point des horaires</li><li>Second point</li></ul><p>Une deuxième")


def test_resiliparse_backend_keeps_the_article_drops_the_boilerplate_and_still_reads_the_licence():
    doc = extract(PAGE.encode("utf-8"), "html", "utf-8", "https://ville.example/horaires", backend="resiliparse")
    assert doc.text.startswith("Nouveaux horaires\nLa médiathèque ouvre")
    assert "Accueil" not in doc.text and "Mentions légales" not in doc.text
    assert doc.title == "Horaires | Ville" and doc.language_hint == "fr"
    assert [(e.kind, e.spdx) for e in doc.licence_evidence] == [("rel-license", "CC-BY-SA-4.0")]


def test_the_workers_extract_with_the_backend_the_policy_names():
    """The backends differ on lists inside an article (resiliparse takes them for navigation): the workers' text
    must be the configured backend's."""
    item = (LIST_PAGE.encode("utf-8"), "html", "utf-8", "https://ville.example/horaires")
    by_default = PayloadWork()(item)["text"]
    with_resiliparse = PayloadWork(extraction=ExtractionPolicy(backend="resiliparse"))(item)["text"]
    assert "Premier point des horaires" in by_default and "Premier point des horaires" not in with_resiliparse
    assert with_resiliparse == extract(*item, backend="resiliparse").text


def test_resiliparse_finding_no_main_content_falls_back_to_trafilatura():
    page = f"<html><head><title>t</title></head><body><div class='sidebar'><p>{ARTICLE}</p></div></body></html>"
    assert extract(page.encode(), "html", "utf-8", backend="resiliparse").text == ARTICLE


def test_markup_nested_without_end_does_not_reach_resiliparse():
    """50,000 nested <div> (fewer than the tags a page may have) would take resiliparse long (16,000: 5 s, and the
    cost grows with the square); lxml caps the nesting and trafilatura answers at once."""
    page = "<html><body>" + "<div>" * 50_000 + f"<p>{ARTICLE}</p>" + "</div>" * 50_000 + "</body></html>"
    with pytest.raises(ExtractionError, match="no main text"):
        extract(page.encode(), "html", "utf-8", backend="resiliparse")


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


@pytest.mark.parametrize("backend", ["cascade", "fasttext", "lingua", "langdetect"])
def test_every_backend_is_deterministic_and_does_not_guess_on_nothing(backend):
    text = "Die Wetterstationen in den Bergen messen seit vielen Jahren Temperatur und Niederschlag."
    guesses = {identify_language(text, backend=backend) for _ in range(5)}
    assert len(guesses) == 1 and next(iter(guesses)).language == "de"
    assert identify_language("ok", backend=backend).language == "und"
    assert identify_language("12345 67890 !!! ???", backend=backend).language == "und"


def test_cascade_separates_the_languages_fasttext_confuses():
    croatian = "Svatko ima pravo na život, slobodu i osobnu sigurnost. Nitko ne smije biti podvrgnut mučenju."
    slovak = "Každý má právo na život, slobodu a osobnú bezpečnosť. Nikoho nemožno mučiť ani podrobovať krutému zaobchádzaniu."
    assert identify_language(croatian).language == "hr"
    assert identify_language(slovak).language == "sk"
    assert identify_language("Kull persuna għandha d-dritt għall-ħajja, il-libertà u s-sigurtà tal-persuna.").language == "mt"


def test_language_accuracy_on_real_sentences_and_eu24_paragraphs(shared_data, tmp_path):
    """The cascade on real sentences of five languages and on UDHR paragraphs in the 24 EU languages."""
    files = {"de": "deu_news_2023", "en": "eng_news-typical_2016", "fr": "fra_news_2023", "it": "ita_news_2023", "es": "spa_news_2023"}
    for lang, stem in files.items():
        copy = tmp_path / f"{stem}.txt.gz"
        shutil.copyfile(shared_data / "langid" / "leipzig_10K_5lang" / f"{stem}_10K-sentences.txt.gz", copy)
        with gzip.open(copy, "rt", encoding="utf-8") as handle:
            lines = [line.split("\t", 1)[1].strip() for line in handle]
        sentences = random.Random(0).sample(lines, 300)  # the files are sorted: the first lines are all numbers
        right = sum(identify_language(s).language == lang for s in sentences)
        assert right / len(sentences) >= 0.95, (lang, right)
    udhr = tmp_path / "udhr.tsv"
    shutil.copyfile(shared_data / "langid" / "udhr_eu24" / "udhr_eu24_paragraphs.tsv", udhr)
    rows = [line.rstrip("\n").split("\t", 1) for line in udhr.read_text(encoding="utf-8").splitlines()[1:]]
    per_language: dict[str, list[bool]] = {}
    for label, text in rows:
        per_language.setdefault(label, []).append(identify_language(text).language == label)
    accuracy = {label: sum(hits) / len(hits) for label, hits in per_language.items()}
    assert len(accuracy) == 24 and sum(accuracy.values()) / 24 >= 0.98, accuracy
