"""MediaWiki dumps: only articles come out, as prose, with their licence evidence; hostile XML stays inert."""

from __future__ import annotations

import bz2
import csv
import io
import shutil
import time
from pathlib import Path

import pytest

from moisson.mediawiki_dump import MAX_PAGE_TEXT_BYTES, DumpRefused, DumpStats, iter_pages
from moisson.wikitext import MAX_WIKITEXT_CHARS, WikitextRefused, lead_section, plain_text

HEADER = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="fr">
  <siteinfo><sitename>Wikipédia</sitename><dbname>frwiki</dbname>
    <base>https://fr.wikipedia.org/wiki/Wikip%C3%A9dia:Accueil_principal</base></siteinfo>
"""

ARTICLE = """Le '''Mont Blanc''' est le plus haut [[sommet (géographie)|sommet]] des [[Alpes]].<ref>IGN, 2020.</ref>
{{Infobox Montagne | nom = Mont Blanc | altitude = 4806}}

== Géographie ==
Il se situe entre la [[France]] et l'[[Italie]].
* premier point
* second point
[[Fichier:Mont Blanc.jpg|vignette|Le mont vu de Chamonix]]
{| class="wikitable"
| cellule || autre
|}
[[Catégorie:Sommet des Alpes]]
[[en:Mont Blanc]]"""

TEMPLATES = """{{Ébauche|montagne}}{{Infobox Pays
| nom = Autriche | capitale = [[Vienne (Autriche)|Vienne]] | population = {{formatnum:9000000}}
}}
L''''Autriche''' est un pays d'Europe centrale.<ref name="a"/>{{Référence nécessaire}}
{{Palette|Pays d'Europe}}
== Notes ==
<references/>"""


def _page(title: str, ns: int, page_id: int, text: str, redirect: str = "", revisions: int = 1) -> str:
    redirect_element = f'<redirect title="{redirect}" />' if redirect else ""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    revision_elements = "".join(
        f"<revision><id>{page_id * 10 + n}</id><timestamp>2024-01-0{n + 1}T00:00:00Z</timestamp>"
        f"<text xml:space=\"preserve\">{'old ' if n < revisions - 1 else ''}{escaped}</text></revision>"
        for n in range(revisions))
    return (f"<page><title>{title}</title><ns>{ns}</ns><id>{page_id}</id>{redirect_element}"
            f"{revision_elements}</page>\n")


def _dump(*pages: str, header: str = HEADER) -> bytes:
    return (header + "".join(pages) + "</mediawiki>\n").encode()


@pytest.fixture()
def small_dump(tmp_path: Path) -> Path:
    path = tmp_path / "frwiki-pages-articles.xml.bz2"
    path.write_bytes(bz2.compress(_dump(
        _page("Mont Blanc", 0, 1, ARTICLE, revisions=2),
        _page("Mont-Blanc", 0, 2, "#REDIRECTION [[Mont Blanc]]", redirect="Mont Blanc"),
        _page("Discussion:Mont Blanc", 1, 3, "Une discussion."),
        _page("Autriche", 0, 4, TEMPLATES))))
    return path


def test_only_articles_come_out_with_licence_evidence(small_dump: Path) -> None:
    stats = DumpStats()
    with small_dump.open("rb") as stream:
        pages = list(iter_pages(stream, stats))
    assert [page.title for page in pages] == ["Mont Blanc", "Autriche"]
    assert (stats.pages, stats.articles, stats.redirects, dict(stats.other_namespaces)) == (4, 2, 1, {1: 1})
    mont_blanc = pages[0]
    assert mont_blanc.page_url == "https://fr.wikipedia.org/wiki/Mont_Blanc"
    assert mont_blanc.history_url == "https://fr.wikipedia.org/w/index.php?title=Mont_Blanc&action=history"
    assert (mont_blanc.dbname, mont_blanc.licence, mont_blanc.revision_id) == ("frwiki", "CC-BY-SA-4.0", 11)
    assert mont_blanc.timestamp == "2024-01-02T00:00:00Z"
    assert not mont_blanc.text.startswith("old "), "the last revision's text, not the first"


def test_plain_xml_is_read_as_well_as_bz2() -> None:
    pages = list(iter_pages(io.BytesIO(_dump(_page("Berlin", 0, 7, "Berlin est une ville.")))))
    assert [(page.title, page.text) for page in pages] == [("Berlin", "Berlin est une ville.")]


def test_article_text_is_prose_only() -> None:
    text = plain_text(ARTICLE)
    assert text.startswith("Le Mont Blanc est le plus haut sommet des Alpes.")
    assert "\n\nGéographie\n\n" in text, "a heading is its own paragraph"
    assert "Il se situe entre la France et l'Italie.\npremier point\nsecond point" in text
    for markup in ("IGN", "Infobox", "4806", "vignette", "Chamonix", "cellule", "Catégorie", "Sommet des Alpes",
                   "en:", "[[", "'''", "{{", "<ref"):
        assert markup not in text


def test_template_heavy_page_keeps_its_sentence_only() -> None:
    assert plain_text(TEMPLATES) == "L'Autriche est un pays d'Europe centrale.\n\nNotes"


def test_inline_templates_that_carry_words_are_kept() -> None:
    assert plain_text("{{nihongo|'''Akira Kurosawa'''|黒澤 明}} was a director.") == "Akira Kurosawa was a director."


def test_lead_section_stops_at_the_first_heading() -> None:
    assert plain_text(lead_section(ARTICLE)) == "Le Mont Blanc est le plus haut sommet des Alpes."


def test_overlong_page_is_a_page_error_not_a_crash() -> None:
    big = "a" * (MAX_PAGE_TEXT_BYTES + 1)
    stats = DumpStats()
    pages = list(iter_pages(io.BytesIO(_dump(_page("Gros", 0, 1, big), _page("Petit", 0, 2, "court."))), stats))
    assert [(page.title, bool(page.error), page.text) for page in pages] == [("Gros", True, ""),
                                                                             ("Petit", False, "court.")]
    assert stats.refused == 1


def test_overlong_wikitext_is_refused() -> None:
    with pytest.raises(WikitextRefused):
        plain_text("x" * (MAX_WIKITEXT_CHARS + 1))


def test_pathological_nesting_is_bounded_in_time() -> None:
    started = time.perf_counter()
    with pytest.raises(WikitextRefused):
        plain_text("{{a|b}" * 10_000)  # unclosed openers: 32 s in the tokenizer without the check
    with pytest.raises(WikitextRefused):
        plain_text("[[b|" * 5000)
    assert plain_text("{{a|" * 30 + "}}" * 30 + "[[b|" * 30 + "]]" * 30 + "x" + "''" * 5000) == "x"
    assert time.perf_counter() - started < 5


def test_billion_laughs_is_not_expanded() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{("&lol%s;" % (n - 1 if n > 1 else "")) * 10}">' for n in range(1, 10))
    doctype = f"<?xml version=\"1.0\"?>\n<!DOCTYPE mediawiki [{entities}]>\n"
    data = doctype.encode() + _dump(_page("Rire", 0, 1, "placeholder")).replace(b"placeholder", b"&lol9;")
    try:
        pages = list(iter_pages(io.BytesIO(data)))
    except DumpRefused:
        return  # refusing the dump is as safe as leaving the entity unexpanded
    assert all("lollollol" not in page.text for page in pages)
    assert all(len(page.text) < 1000 for page in pages)


def test_not_xml_is_refused() -> None:
    with pytest.raises(DumpRefused):
        list(iter_pages(io.BytesIO(b"BZh9 this is not bzip2 nor xml")))


def test_shared_dumps_match_the_page_index(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "documents" / "mediawiki"
    index = list(csv.DictReader((folder / "pages_index.tsv").open(encoding="utf-8"), delimiter="\t"))
    for name in sorted({row["file"] for row in index}):
        copy = tmp_path / Path(name).name
        shutil.copyfile(folder / name, copy)
        with copy.open("rb") as stream:
            pages = list(iter_pages(stream))
        expected = [(row["page_title"], int(row["last_revision_id"]), int(row["text_chars"])) for row in index
                    if row["file"] == name and row["ns"] == "0" and not row["redirect_to"]]
        assert [(page.title, page.revision_id, len(page.text)) for page in pages] == expected, name
        for page in pages[:3]:
            text = plain_text(page.text)
            assert "{{" not in text and "[[" not in text and "<ref" not in text, (name, page.title)


def test_references_are_cut_in_linear_time() -> None:
    assert plain_text("a<ref name=x/> b<ref>c {{cite|d}}</ref> e<REF >f</ref >.") == "a b e."
    started = time.perf_counter()
    with pytest.raises(WikitextRefused):
        plain_text("</ref>" * 100_000 + "<ref>x" * 100_000)
    assert time.perf_counter() - started < 5


TWO_GB_DUMP = r'''
import io
from moisson.mediawiki_dump import DumpStats, iter_pages

PAGE_TEXT = ("Le moulin de la Brune est un moulin à eau de la vallée. " * 3600).encode()  # ~200 kB a page
PAGES = 10_500  # 10,500 x 200 kB: just over 2 GB of XML


class Dump(io.RawIOBase):
    """A 2 GB dump made on the fly: nothing of it is ever on disk or in memory at once."""

    def __init__(self):
        self.pending, self.page = memoryview(b'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">'
                                             b'<siteinfo><dbname>frwiki</dbname><base>https://fr.wikipedia.org/wiki/A'
                                             b'</base></siteinfo>'), 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self.pending:
            if self.page > PAGES:
                return 0
            self.page += 1
            self.pending = memoryview(b"</mediawiki>" if self.page > PAGES else (
                b"<page><title>P%d</title><ns>0</ns><id>%d</id><revision><id>1</id><timestamp>2026-01-01T00:00:00Z"
                b"</timestamp><text>" % (self.page, self.page) + PAGE_TEXT + b"</text></revision></page>"))
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


stats, read = DumpStats(), 0
for page in iter_pages(io.BufferedReader(Dump(), 1 << 20), stats):
    read += len(page.text)
# VmHWM, not ru_maxrss: that one carries over the peak of the process that forked this one (pytest's, on a full run)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(stats.articles, read, peak_kb // 1024)
'''


def test_a_two_gigabyte_dump_streams_in_constant_memory(tmp_path: Path) -> None:
    """The issue's hostile input: 2 GB of dump read page by page; peak memory stays that of a few pages."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", TWO_GB_DUMP], capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    articles, characters, peak_mb = map(int, result.stdout.split())
    assert articles == 10_500 and characters > 2_000_000_000
    assert peak_mb < 400, f"peak RSS {peak_mb} MB while streaming 2 GB"
