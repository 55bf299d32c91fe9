"""Wikitext → prose: what a reader sees in an article's running text, in bounded time, and fast enough for a dump.

Each test builds its own wikitext; the last ones read ../shared/data/documents/mediawiki when it is present.
"""

from __future__ import annotations

import re
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.documents_xml import f1
from moisson.mediawiki_dump import iter_pages
from moisson.wikitext import MAX_WIKITEXT_CHARS, WikitextRefused, lead_section, plain_text

WORD = re.compile(r"\w+")
RESIDUAL_MARKUP = ("{{", "}}", "[[", "]]", "<ref", "{|", "|}")

PAGE = """{{Infobox ville
| nom = Lyon | maire = [[Grégory Doucet]] | population = {{formatnum:522250}}
| carte = {{Carte|{{Coord|45|N|4|E}}|taille=200}}
}}{{Voir homonymes|Lyon (homonymie)}}
'''Lyon''' (''Liyon'' en [[arpitan]]) est une [[Commune en France|commune]] française<ref name="insee">{{Lien web
|titre=INSEE|url=https://insee.fr}}</ref> située au [[confluent]] du [[Rhône (fleuve)|Rhône]] et de la [[Saône]].<!--
commentaire caché {{pas un modèle}} -->

== Géographie ==
[[Fichier:Lyon.jpg|vignette|La [[Saône]] vue de [[Fourvière]]]]
Le climat est [[climat océanique|océanique]] &amp; tempéré.
{| class="wikitable"
|+ Températures
|-
| janvier || {{Unité|3|°C}}
|-
| {{Nobr|juillet}} ||
{| class="imbriquée"
| 22
|}
|}
* les pentes de la [[Croix-Rousse]] ;
* la presqu'île.
La formule <math>\\frac{{a}}{b}</math> est dans une balise mathématique.
Un [https://www.lyon.fr site officiel] existe.__NOTOC__

[[Catégorie:Commune du Rhône]]
[[en:Lyon]]"""


def test_page_keeps_only_its_prose() -> None:
    text = plain_text(PAGE)
    assert text.startswith("Lyon (Liyon en arpitan) est une commune française située au confluent du Rhône et de la "
                           "Saône.\n\nGéographie\n\nLe climat est océanique & tempéré.\n"), text
    assert text.endswith("les pentes de la Croix-Rousse;\nla presqu'île.\nLa formule est dans une balise "
                         "mathématique.\nUn site officiel existe."), text
    for leaked in ("Infobox", "Doucet", "522250", "homonymie", "INSEE", "caché", "vignette", "Fourvière",
                   "Températures", "janvier", "juillet", "22", "frac", "Catégorie", "Commune du Rhône", "en:", "NOTOC",
                   "'''", *RESIDUAL_MARKUP):
        assert leaked not in text, leaked


def test_inline_templates_keep_the_words_they_carry() -> None:
    assert plain_text("{{nihongo|'''Akira Kurosawa'''|黒澤 明|Kurosawa Akira}} was a director.") == (
        "Akira Kurosawa was a director.")
    assert plain_text("The motto {{lang|fr|''[[Liberté]], égalité''}} and {{lang-de|Einigkeit}}.") == (
        "The motto Liberté, égalité and Einigkeit.")
    assert plain_text("A {{nowrap|1 000 km}} trip{{citation needed|date=May 2020}}.") == "A 1 000 km trip."


def test_quantities_and_dates_stay_in_their_sentence() -> None:
    assert plain_text("It weighs {{convert|7|kg|lb}}, {{convert|55|to|80|cm|abbr=on}} long.") == (
        "It weighs 7 kg, 55 to 80 cm long.")
    assert plain_text("Lyon compte {{unité|522250|habitants}} au {{date|1|janvier|2020|en France}}.") == (
        "Lyon compte 522250 habitants au 1 janvier 2020.")
    assert plain_text("Le {{lien|Prix Machin}} est remis.{{Lien|fr=Autre|lang=en}}") == "Le Prix Machin est remis."


def test_links_show_their_visible_text() -> None:
    assert plain_text("[[Paris]], [[Paris (Texas)|a town]], [[bus]]es, [[:Catégorie:Villes|les villes]], "
                      "[[Rome#Histoire]].") == "Paris, a town, buses, les villes, Rome."
    assert plain_text("Vu [[Datei:Bild.png|mini|Ein [[Bild]]]] und [[Kategorie:Stadt]] [[nl:Stad]] dort.") == (
        "Vu und dort.")


def test_headings_lists_and_line_tags_break_lines() -> None:
    text = plain_text("Intro.\n=== Histoire ===\n# premier\n# second\nUn<div>deux</div>trois<br/>quatre\n----\nfin")
    assert text == "Intro.\n\nHistoire\n\npremier\nsecond\nUn\ndeux\ntrois\nquatre\n\nfin"


def test_verbatim_tags_keep_their_markup_as_text() -> None:
    assert plain_text("Le code <nowiki>{{pas un modèle}} [[ni un lien]] ''x''</nowiki> reste.") == (
        "Le code {{pas un modèle}} [[ni un lien]] ''x'' reste.")
    assert plain_text("Avant.\n<pre>\nx = {{y}}\n</pre>\nSuite.") == "Avant.\n\nx = {{y}}\n\nSuite."


def test_unclosed_markup_is_read_as_mediawiki_renders_it() -> None:
    assert plain_text("a {{b| c {{d}} e") == "a {{b| c e", "an unclosed {{ is text; what closes inside it goes"
    assert plain_text("Avant.\n{|\n| cellule\nAprès") == "Avant.", "an open table runs to the end of the page"
    assert plain_text("Avant.<!-- jamais fermé\nAprès") == "Avant.", "so does an open comment"
    assert plain_text("{{Infobox\n| a = 1\n|}}Texte.") == "Texte.", "`|}}` ends a template, not a table"
    assert plain_text("{{Boîte|\n{|\n| x\n|}\n}}Texte {{{1}}}.") == "Texte."


def test_dropped_templates_leave_no_husks() -> None:
    assert plain_text("a ''{{foo}}'' b") == "a b", "two italic quote pairs around a template are not bold"
    assert plain_text("Albert Einstein ({{IPA-de|ˈalbɐt}}; 14 March 1879 – 1955), physicist.") == (
        "Albert Einstein (14 March 1879 – 1955), physicist.")
    assert plain_text("Asphalt ({{IPAc-en}}, {{IPAc-en|x}}) is [ ] black.") == "Asphalt is black."


def test_lead_section_is_the_text_before_the_first_heading() -> None:
    assert plain_text(lead_section(PAGE)).startswith("Lyon (Liyon en arpitan) est une commune")
    assert "Géographie" not in plain_text(lead_section(PAGE))
    assert lead_section("no heading at all") == "no heading at all"


def test_overlong_wikitext_is_refused() -> None:
    with pytest.raises(WikitextRefused):
        plain_text("x" * (MAX_WIKITEXT_CHARS + 1))


def test_piled_up_openers_are_refused_quickly() -> None:
    started = time.perf_counter()
    for hostile in ("{{a|b}" * 10_000, "[[b|" * 5000, "</ref>" * 100_000 + "<ref>x" * 100_000):
        with pytest.raises(WikitextRefused):
            plain_text(hostile)
    assert plain_text("{{a|" * 30 + "}}" * 30 + "[[b|" * 30 + "]]" * 30 + "x" + "''" * 5000) == "x"
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("shape", [
    "<!--", "-->", "<math>", "<nowiki>", "<table>", "\n|}", "{|", "|}", "}}", "=", "=\n", "==a", "'", "<a ", "<a",
    "[[a", "[[a|[x]", "]]", "[http://a ", "http://", "\n*#:;", "__A", "( ,", " .", "&amp", "<ref/>", "\n----",
    "{{a|[[b|<ref>{|\n"])
def test_hostile_shapes_cost_one_linear_pass(shape: str) -> None:
    """A megabyte of one repeated opener or closer: converted or refused, in well under a second per megabyte (a
    scan restarting at each unclosed opener takes minutes on these)."""
    started = time.process_time()
    try:
        plain_text(shape * (1_000_000 // len(shape)))
    except WikitextRefused:
        pass
    assert time.process_time() - started < 2, shape


def test_big_template_heavy_page_is_linear_in_time() -> None:
    """A page of 1.5 MB made of the sample page: well under a second per MB even on a slow machine."""
    big = "\n".join([PAGE.replace("[[en:Lyon]]", "")] * (1_500_000 // len(PAGE)))
    started = time.process_time()
    text = plain_text(big)
    assert time.process_time() - started < 3
    assert text.count("Lyon (Liyon en arpitan)") == 1_500_000 // len(PAGE)




def test_lead_sections_match_dbpedia_gold_abstracts(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "documents" / "mediawiki" / "dbpedia-abstracts"
    pairs = sorted(folder.glob("*.wiki"))
    assert len(pairs) == 8
    for wiki in pairs:
        copy = tmp_path / wiki.name
        shutil.copyfile(wiki, copy)
        gold = wiki.with_suffix(".gold.txt").read_text(encoding="utf-8")
        assert f1(plain_text(lead_section(copy.read_text(encoding="utf-8"))), gold, lowercase=True) >= 0.995, wiki.name


def test_shared_dumps_leave_no_markup(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "documents" / "mediawiki"
    names = ["dbpedia-minidumps/frwiki.xml.bz2", "dbpedia-minidumps/dewiki.xml.bz2",
             "dbpedia-minidumps/nlwiki.xml.bz2", "gensim/enwiki-table-markup.xml.bz2"]
    for name in names:
        copy = tmp_path / Path(name).name
        shutil.copyfile(folder / name, copy)
        with copy.open("rb") as stream:
            pages = list(iter_pages(stream))
        assert pages, name
        for page in pages:
            text = plain_text(page.text)
            assert len(text) > 500, (name, page.title)
            assert [mark for mark in RESIDUAL_MARKUP if mark in text] == [], (name, page.title)


def test_every_word_of_a_shared_page_is_one_mwparserfromhell_reads_there_too(shared_data: Path) -> None:
    """The scanner against the well-kept parser: mwparserfromhell's own `strip_code()` reading of each page of the
    shared dumps (fr, de, nl, en) holds the words the scanner emits (precision), bar the few inline templates the
    scanner keeps on purpose (`convert`, `lang`...: strip_code drops every template). A word invented by a scan
    gone wrong would show here; recall is the gold abstracts' test above (strip_code keeps tables, which are cut)."""
    import mwparserfromhell

    precisions = []
    for dump in sorted((shared_data / "documents" / "mediawiki").rglob("*.xml.bz2")):
        with dump.open("rb") as stream:
            for page in iter_pages(stream):
                ours = Counter(WORD.findall(plain_text(page.text)))
                theirs = Counter(WORD.findall(mwparserfromhell.parse(page.text).strip_code()))
                precisions.append((sum((ours & theirs).values()) / max(1, sum(ours.values())), dump.name, page.title))
    assert len(precisions) > 100
    assert min(precisions)[0] >= 0.95, min(precisions)
    assert sum(p for p, _, _ in precisions) / len(precisions) >= 0.99
