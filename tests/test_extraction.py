"""Extraction: tables reach the text as paragraphs or clean Markdown, and per-language quality floors."""


import pytest

from moisson.extraction import DEFAULT_MODE, TRAFILATURA_MODES, extract
from tests.bench_scripts import load_bench_script

ARTICLE = ("Το δημοτικό συμβούλιο ενέκρινε χθες το σχέδιο για τη νέα βιβλιοθήκη της πόλης, που θα στεγαστεί στο "
           "παλιό σχολείο της πλατείας. Οι εργασίες αναμένεται να ξεκινήσουν την άνοιξη.")
ARTICLE_2 = ("Ο δήμαρχος δήλωσε ότι η βιβλιοθήκη θα είναι ανοιχτή και τα Σάββατα, ώστε να την επισκέπτονται οι "
             "μαθητές και οι εργαζόμενοι που δεν έχουν χρόνο τις καθημερινές.")

LAYOUT = f"""<html lang="el"><head><title>Βιβλιοθήκη</title></head><body>
<table width="100%"><tr><td width="150"><a href="/">Αρχική</a><br><a href="/news">Ειδήσεις</a></td>
<td valign="top"><h1>Νέα βιβλιοθήκη στην πλατεία</h1><p>{ARTICLE}</p><p>{ARTICLE_2}</p></td><td></td></tr>
<tr><td></td><td></td><td></td></tr></table></body></html>"""

DATA = """<html><body><article><h1>Rainfall in October</h1>
<p>October ended with rainfall far above the average at almost every station of the province, the wettest month
in thirty years according to the regional weather service, which published the figures on Monday.</p>
<table><thead><tr><th>Station</th><th>Rain (mm)</th><th></th></tr></thead>
<tbody><tr><td>North Valley</td><td>312</td><td></td></tr><tr><td></td><td></td><td></td></tr>
<tr><td>East Plain</td><td>198</td><td></td></tr><tr><td>South | Coast</td><td>256</td><td></td></tr></tbody></table>
<p>The rain fell in two intense episodes, in the middle and at the end of the month, which swelled the rivers
without causing serious flooding, although several mountain roads stayed closed because of landslides.</p>
</article></body></html>"""


def _pipe_only(text: str) -> list[str]:
    return [line for line in text.splitlines() if "|" in line and not line.replace("|", "").replace("-", "").strip()
            and set(line.replace(" ", "")) != {"|", "-"}]


@pytest.mark.parametrize("mode", TRAFILATURA_MODES)
def test_an_article_laid_out_in_a_table_comes_out_as_its_paragraphs(mode):
    text = extract(LAYOUT.encode(), "html", "utf-8", mode=mode).text
    assert ARTICLE in text.splitlines() and ARTICLE_2 in text.splitlines()
    assert "|" not in text


@pytest.mark.parametrize("mode", TRAFILATURA_MODES)
def test_a_data_table_comes_out_as_clean_markdown(mode):
    lines = extract(DATA.encode(), "html", "utf-8", mode=mode).text.splitlines()
    start = lines.index("| Station | Rain (mm) |")
    assert lines[start:start + 5] == ["| Station | Rain (mm) |", "|---|---|", "| North Valley | 312 |",
                                      "| East Plain | 198 |", "| South \\| Coast | 256 |"]
    assert not _pipe_only("\n".join(lines))


def test_the_default_is_one_of_the_modes():
    assert DEFAULT_MODE in TRAFILATURA_MODES


def _extraction_eval():
    return load_bench_script("extraction_eval.py")


# floors a little under what the default measured on these pages (bench/extraction_eval.py): a regression guard
SNIPPET_FLOORS = {"el": 0.93, "pl": 0.9, "de": 0.9, "zh": 0.9}


def test_per_language_snippet_f1_on_real_pages_is_not_below_a_floor(shared_data):
    ee = _extraction_eval()
    pages = [p for p in ee.load_snippets() if p.language in SNIPPET_FLOORS and p.id.startswith("<urn:")]
    by_language = {}
    for page in pages:
        text = extract(page.html, "html", page.charset, page.url).text
        by_language.setdefault(page.language, []).append(ee.snippet_counts(text, page))
        assert not ee.pipe_only_lines(text)
    for language, counts in by_language.items():
        assert len(counts) >= 15
        assert ee.snippet_prf(counts)[2] >= SNIPPET_FLOORS[language], language


def test_the_policy_chooses_the_mode_and_the_cache_knows_it():
    """`policy.extraction.mode` reaches the workers; extractions made another way are not reused."""
    from pydantic import ValidationError

    from moisson.config import ExtractionPolicy
    from moisson.curation import PayloadWork

    assert ExtractionPolicy().mode == DEFAULT_MODE
    fast, default = PayloadWork(ExtractionPolicy(mode="fast")), PayloadWork(ExtractionPolicy())
    assert fast.fingerprints().extraction != default.fingerprints().extraction
    page = ("<html><body><nav><a href='/'>Home</a></nav><article><p>" + "Une phrase complète sur la ville. " * 20
            + "</p></article></body></html>").encode()
    assert "Une phrase complète" in fast((page, "html", "utf-8", "https://example.org/a"))["text"]
    with pytest.raises(ValidationError):
        ExtractionPolicy(mode="fastest")
