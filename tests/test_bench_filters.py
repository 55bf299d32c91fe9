"""bench/filter_sets.py and bench/filters.py: the quality-filter calibration sets load, cover the languages and
scripts they promise, split stably, and the bench's FIGURE line parses."""

import json
import random

import pytest

from moisson.text_quality import QualityThresholds, check_quality
from tests.bench_scripts import load_bench_script



sets = load_bench_script("filter_sets.py")
bench = load_bench_script("filters.py")


@pytest.fixture(scope="module")
def samples(shared_data):
    return sets.load_samples()


def test_the_sets_cover_twenty_languages_and_five_scripts_with_good_text(samples):
    good = [s for s in samples if s.kind == sets.GOOD]
    assert len({s.language for s in good}) >= 20
    assert {"Latin", "Greek", "Cyrillic", "CJK"} <= {s.script for s in good}
    assert {"Arabic", "Hebrew"} & {s.script for s in good}
    origins = {s.origin for s in samples}
    assert {"gutenberg", "udhr", "leipzig", "aeb-gold", "aeb-extracted", "readability-gold", "readability-extracted",
            "written", "aeb-boilerplate", "websample-boilerplate", "generated-number-table"} <= origins
    assert len({s.language for s in samples if s.kind == sets.JUNK}) >= 20


def test_samples_are_well_formed_and_ids_unique(samples):
    assert len({s.id for s in samples}) == len(samples)
    for s in samples:
        assert s.kind in (sets.GOOD, sets.JUNK) and s.split in sets.SPLITS and s.text.strip()
        assert s.script == sets.script_of(s.language) and 2 <= len(s.language) <= 3


def test_splits_are_stable_disjoint_and_about_half(samples):
    tune, report = sets.load_samples("tune"), sets.load_samples("report")
    assert {s.id for s in tune}.isdisjoint({s.id for s in report})
    assert len(tune) + len(report) == len(samples)
    assert 0.4 < len(tune) / len(samples) < 0.6
    assert all(s.split == sets.split_of(s.group) for s in samples)
    # the gold text, the extraction and the boilerplate of one page are on the same side
    by_group = {}
    for s in samples:
        assert by_group.setdefault(s.group, s.split) == s.split


def test_the_split_is_a_fixed_function_of_the_group():
    assert [sets.split_of(f"page-{i}") for i in range(6)] == [sets.split_of(f"page-{i}") for i in range(6)]
    assert sets.split_of("aeb:0123") in sets.SPLITS
    shares = [sets.split_of(f"g{i}") == "tune" for i in range(2000)]
    assert 0.45 < sum(shares) / len(shares) < 0.55


def test_dump_tune_writes_the_tune_split(samples, tmp_path):
    target = tmp_path / "tune.jsonl"
    sets.main(["--dump-tune", str(target)])
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert rows and {row["split"] for row in rows} == {"tune"}
    assert set(rows[0]) >= {"id", "language", "script", "kind", "origin", "split", "text"}


def test_written_documents_parse():
    written = sets.written_samples()
    assert len({s.language for s in written}) >= 10
    assert all(len(s.text) >= 80 and "===" not in s.text for s in written)
    assert {"zh", "ja", "el", "ru", "uk", "ar", "he", "pl"} <= {s.language for s in written}


WORDS = ("maison jardin rivière montagne village école marché fenêtre lumière chemin voiture histoire musique "
         "travail famille soleil saison voyage livre table").split()


@pytest.mark.parametrize("name", sorted(set(sets.GENERATORS) - {"word-salad"}))
def test_generated_junk_is_rejected_by_todays_rules(name):
    generator = sets.GENERATORS[name]
    rng = random.Random(name)
    text = generator(WORDS, rng, "fr") if name in sets._TAKES_LANGUAGE else generator(WORDS, rng)
    assert len(text.split()) >= 40  # a page-sized chunk, not one word
    assert not check_quality(text, QualityThresholds()).passed


def test_a_number_table_is_rejected_for_its_shape():
    verdict = check_quality(sets.number_table(WORDS, random.Random(0)), QualityThresholds())
    assert verdict.rule in {"max_digit_ratio", "min_alpha_word_fraction", "max_lines_without_terminal_punctuation"}


def test_boilerplate_keeps_the_lines_outside_the_gold():
    lines = ["Home", "News", "The mayor opened the bridge on Monday.", "Share this article", "Contact us"]
    gold = "The mayor opened the bridge on Monday. It had been closed for two years."
    assert sets.outside_gold(lines, gold) == ["Home", "News", "Share this article", "Contact us"]


def test_text_lines_break_at_blocks_and_skip_scripts():
    tree = sets.parse_html(b"<html><body><nav><a>Home</a><a>News</a></nav><script>var a = 1;</script>"
                           b"<p>One <b>bold</b> word.</p><ul><li>A</li><li>B</li></ul></body></html>", "utf-8")
    assert sets.text_lines(tree.find("body")) == ["HomeNews", "One bold word.", "A", "B"]


def test_a_gold_file_of_websample_pages_adds_their_extracted_text(shared_data, tmp_path, monkeypatch):
    url, _html, _charset, record_id = next(sets._websample_records())
    (tmp_path / "pages.json").write_text(json.dumps({url: {"language": "en", "with_snippets": [], "without_snippets": []}}))
    monkeypatch.setattr(sets, "GOLD_DIR", tmp_path)
    added = sets.websample_gold_samples()
    assert [s.id for s in added] == [f"websample-gold:{url}"] and added[0].kind == sets.GOOD
    # the multilingual snippet gold's layout: {"pages": [{"id": <WARC record id>, "url", "language", ...}]}
    (tmp_path / "pages.json").write_text(json.dumps({"about": "...", "pages": [
        {"id": record_id, "url": "https://elsewhere.example/", "language": "fr", "with": [], "without": []},
        {"id": "xx-00-article.html", "url": "https://example.org/xx-00-article.html", "language": "fr"}]}))
    added = sets.websample_gold_samples()
    assert [(s.id, s.language) for s in added] == [(f"websample-gold:{url}", "fr")]
    monkeypatch.setattr(sets, "GOLD_DIR", tmp_path / "absent")
    assert sets.websample_gold_samples() == []


def test_the_bench_prints_a_figure_line_that_parses(samples):
    subset = [s for s in sets.load_samples("report") if s.origin in {"written", "generated-number-table"}]
    outcomes, seconds = bench.evaluate(subset)
    lines = bench.report(outcomes, seconds, "report", 1, 1, bench.Thresholds().per_language)
    figure = bench.parse_figure_line(lines[-1])
    assert set(figure) == {"good_false_rejection", "good_false_rejection_worst", "worst_language", "junk_rejection",
                           "good_languages", "scripts"}
    for key in ("good_false_rejection", "good_false_rejection_worst", "junk_rejection"):
        assert 0.0 <= float(figure[key]) <= 1.0 and len(figure[key].split(".")[1]) == 4
    assert int(figure["good_languages"]) >= 5 and int(figure["scripts"]) >= 3
    assert lines[-2].startswith("BASELINE ")
    with pytest.raises(ValueError):
        bench.parse_figure_line("BASELINE a=1")


def test_a_baseline_from_a_git_revision_judges_the_same_texts():
    subset = [s for s in sets.written_samples() if s.language in {"fr", "zh"}][:3]
    subset.append(sets.Sample("gen:x", "fr", "Latin", sets.JUNK, "generated-number-table", "tune",
                              sets.number_table(WORDS, random.Random(1)), "gen:x"))
    rules = bench.baseline_from_ref(subset, "HEAD")
    assert set(rules) == {s.id for s in subset}
    assert rules["gen:x"] is not None  # the number table is rejected under HEAD's rules too


def test_reader_comments_are_neither_good_nor_junk():
    tree = sets.parse_html(b"<html><body><nav>Home</nav><div id='comments'><p>Lovely place, thanks!</p></div>"
                           b"<footer>Contact</footer></body></html>", "utf-8")
    sets.drop_comments(tree)
    assert sets.text_lines(tree.find("body")) == ["Home", "Contact"]
