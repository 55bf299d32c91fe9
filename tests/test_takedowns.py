"""Takedowns and erasure requests: the rules file read and checked, each kind of rule matched, and (end to end) a
published corpus losing every matching document for good."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from e2e import run_moisson, warehouse
from moisson import curation
from moisson.parquet_files import parts
from moisson.publication import CORPUS_SCHEMA, REJECTED_SCHEMA, append_to_tree, ids_in_tree, take_down_published
from pipelines.run_summary import PublicationOutcome

from moisson.takedowns import (TakedownError, add_takedown, first_rules, load_takedowns, matched_counts,
                               parse_takedowns, rule_pairs)

HEADER = "match,value,date,reason\n"
SHA = "ab" * 32


def documents(*rows: tuple[str, str | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"id": pl.String, "url": pl.String, "content_sha256": pl.String}, orient="row")


def matched(rules_text: str, frame: pl.DataFrame) -> list[str]:
    """The ids of `frame` the rules match."""
    details = first_rules(frame, parse_takedowns(HEADER + rules_text))
    return frame.filter(details.is_not_null())["id"].to_list()


# --- reading and checking ---


def test_a_missing_file_means_no_takedowns(tmp_path: Path) -> None:
    assert load_takedowns(tmp_path / "takedowns.csv") == []


def test_rules_are_read_in_order_with_their_line_and_normalised(tmp_path: Path) -> None:
    path = tmp_path / "takedowns.csv"
    path.write_text("\ufeffmatch,value,date,reason\n\ndomain, Example.ORG. ,2026-11-30,\"asked by the publisher,\n"
                    "by letter\"\ncontent_sha256," + SHA.upper() + ",2026-12-01,erasure request (GDPR art. 17)\n",
                    encoding="utf-8")
    first, second = load_takedowns(path)
    assert (first.line, first.match, first.value, first.date) == (3, "domain", "example.org", date(2026, 11, 30))
    assert first.reason == "asked by the publisher,\nby letter"
    assert (second.line, second.value) == (5, SHA)
    assert first.detail == "takedown 2026-11-30 (domain=example.org): asked by the publisher,\nby letter"


def test_the_columns_may_come_in_any_order() -> None:
    (rule,) = parse_takedowns("reason,date,match,value\nasked,2026-01-02,id,abc\n")
    assert (rule.match, rule.value, rule.reason) == ("id", "abc", "asked")


@pytest.mark.parametrize("row, cause", [
    ("title,abc,2026-11-30,asked", "match 'title' is not one of id, url, url_prefix, domain, content_sha256"),
    ("id,,2026-11-30,asked", "empty value"),
    ("id,abc,30/11/2026,asked", "date '30/11/2026' is not an ISO date YYYY-MM-DD"),
    ("id,abc,2026-02-30,asked", "date '2026-02-30'"),
    ("id,abc,2026-11-30,", "empty reason"),
    ("id,abc,2026-11-30", "3 fields, the header has 4"),
    ("domain,https://example.org/,2026-11-30,asked", "is not a host name"),
    ("domain,exa mple.org,2026-11-30,asked", "is not a host name"),
    ("content_sha256,abc123,2026-11-30,asked", "is not a sha256"),
    ("url_prefix,example.org/private,2026-11-30,asked", "is not a URL"),
])
def test_a_bad_row_is_an_error_naming_the_file_the_line_and_the_cause(tmp_path: Path, row: str, cause: str) -> None:
    path = tmp_path / "takedowns.csv"
    path.write_text(HEADER + "id,fine,2026-11-30,ok\n" + row + "\n", encoding="utf-8")
    with pytest.raises(TakedownError) as error:
        load_takedowns(path)
    assert error.value.line == 3
    assert str(error.value).startswith(f"{path}, line 3: ")
    assert cause in str(error.value)


def test_a_wrong_header_or_unreadable_bytes_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "takedowns.csv"
    path.write_text("kind,value,date,reason\n", encoding="utf-8")
    with pytest.raises(TakedownError, match=r"line 1: the header must name the columns match,value,date,reason"):
        load_takedowns(path)
    path.write_bytes(HEADER.encode() + b"id,\xff\xfe,2026-11-30,x\n")
    with pytest.raises(TakedownError, match="cannot be read"):
        load_takedowns(path)


# --- matching ---

FRAME = documents(
    ("d1", "https://example.org/a", "00" * 32),
    ("d2", "https://www.Example.org./b", "01" * 32),
    ("d3", "https://evil-example.org/c", "02" * 32),
    ("d4", "https://example.org.evil.net/d", "03" * 32),
    ("d5", "http://user@deep.sub.example.org:8080/e?q=1", "04" * 32),
    ("d6", "https://other.net/private/page", SHA),
    ("d7", "https://other.net/privatestuff", "05" * 32),
    ("d8", None, None),
)


def test_a_domain_matches_its_host_and_subdomains_not_a_look_alike() -> None:
    assert matched("domain,example.org,2026-11-30,asked\n", FRAME) == ["d1", "d2", "d5"]
    assert matched("domain,EVIL-example.org,2026-11-30,asked\n", FRAME) == ["d3"]
    assert matched("domain,sub.example.org,2026-11-30,asked\n", FRAME) == ["d5"]


def test_a_url_prefix_is_a_plain_string_prefix() -> None:
    assert matched("url_prefix,https://other.net/private/,2026-11-30,asked\n", FRAME) == ["d6"]
    assert matched("url_prefix,https://other.net/private,2026-11-30,asked\n", FRAME) == ["d6", "d7"]


def test_url_id_and_content_hash_match_exactly() -> None:
    assert matched("url,https://example.org/a,2026-11-30,x\n", FRAME) == ["d1"]
    assert matched("url,https://example.org/,2026-11-30,x\n", FRAME) == []
    assert matched("id,d8,2026-11-30,x\n", FRAME) == ["d8"]
    assert matched(f"content_sha256,{SHA.upper()},2026-11-30,x\n", FRAME) == ["d6"]


def test_the_first_rule_in_the_file_gives_the_detail_and_every_rule_counts_its_matches() -> None:
    rules = parse_takedowns(HEADER + "url_prefix,https://other.net/,2026-01-01,first\nid,d6,2026-01-02,second\n"
                                     "domain,nowhere.example,2026-01-03,third\n")
    details = first_rules(FRAME, rules).to_list()
    assert details[5] == "takedown 2026-01-01 (url_prefix=https://other.net/): first"
    assert details[0] is None
    assert matched_counts(FRAME, rules) == [2, 1, 0]


def test_matching_is_linear_in_documents_and_rules() -> None:
    """200,000 documents against 2,000 rules of every kind in about a second: joins, not documents x rules
    comparisons (which would be 400 million)."""
    n = 200_000
    urls = [f"https://h{i % 5000}.site{i % 7}.org/p/{i}" for i in range(n)]
    frame = pl.DataFrame({"id": [f"id{i}" for i in range(n)], "url": urls, "content_sha256": [f"{i:064x}" for i in range(n)]})
    domains = {f"site{i}.org" for i in range(3)} | {f"h{i}.site{i % 7}.org" for i in range(500)}
    prefixes = {f"https://h{i % 5000}.site{i % 7}.org/p/{i}" for i in range(500, 1000)}
    rows = [f"domain,{d},2026-01-01,r" for d in sorted(domains)] + [f"url_prefix,{p},2026-01-01,r" for p in sorted(prefixes)]
    rows += [f"id,id{i},2026-01-01,r" for i in range(1000, 1500)] + [f"content_sha256,{i:064x},2026-01-01,r" for i in range(1500, 2000)]
    rules = parse_takedowns(HEADER + "\n".join(rows))
    started = time.perf_counter()
    pairs = rule_pairs(frame, rules)
    seconds = time.perf_counter() - started
    host = lambda url: url.split("/")[2]  # noqa: E731
    expected = {i for i, url in enumerate(urls)
                if host(url) in domains or ".".join(host(url).split(".")[1:]) in domains
                or any(url.startswith(p) for p in prefixes if p[:30] == url[:30]) or 1000 <= i < 2000}
    assert set(pairs["row"].to_list()) == expected
    assert len(expected) > 80_000
    assert seconds < 5, f"{seconds:.1f}s"


# --- adding a rule ---


def test_add_takedown_creates_the_file_and_appends_validated_rows(tmp_path: Path) -> None:
    path = tmp_path / "data" / "takedowns.csv"
    first = add_takedown(path, "domain", "Example.org", "asked by the publisher, by letter", "2026-11-30")
    second = add_takedown(path, "id", "abc", "erasure request", date(2026, 12, 1))
    assert (first.line, second.line) == (2, 3)
    assert path.read_text(encoding="utf-8") == (HEADER + 'domain,example.org,2026-11-30,"asked by the publisher, by letter"\n'
                                                "id,abc,2026-12-01,erasure request\n")
    assert [r.value for r in load_takedowns(path)] == ["example.org", "abc"]
    today = add_takedown(path, "url", "https://example.org/x", "asked")
    assert today.date == date.today() or (date.today() - today.date).days <= 1


def test_add_takedown_refuses_a_bad_rule_or_a_broken_file_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "takedowns.csv"
    with pytest.raises(TakedownError, match="the new rule cannot be applied: match 'host'"):
        add_takedown(path, "host", "example.org", "asked")
    assert not path.exists()
    path.write_text(HEADER + "id,abc,2026-13-01,asked\n", encoding="utf-8")
    with pytest.raises(TakedownError, match="line 2"):
        add_takedown(path, "id", "def", "asked", "2026-11-30")
    assert path.read_text(encoding="utf-8") == HEADER + "id,abc,2026-13-01,asked\n"


# --- the published trees, the curation step and the shrink guard ---

def published_frame(rows: dict[str, str]) -> pl.DataFrame:
    """Corpus-shaped rows: id -> url."""
    n = len(rows)
    frame = pl.DataFrame({
        "id": list(rows), "text": [f"texte {i}" for i in range(n)], "url": list(rows.values()), "title": ["t"] * n,
        "language": ["fr"] * n, "license": ["CC-BY-4.0"] * n, "source": ["s"] * n,
        "retrieved_at": [datetime(2026, 1, 1, tzinfo=timezone.utc)] * n, "content_sha256": [f"{i:064x}" for i in range(n)],
        "reason": ["quality"] * n, "reason_detail": ["too short"] * n})
    schema = pl.from_arrow(REJECTED_SCHEMA.empty_table()).schema
    return frame.with_columns(pl.lit(None, dtype).alias(name) for name, dtype in schema.items() if name not in frame.columns)


def test_published_rows_move_to_the_takedown_folder_erased_and_their_parts_are_rewritten(tmp_path: Path) -> None:
    corpus, rejected, tmp = tmp_path / "corpus", tmp_path / "rejected", tmp_path / "tmp"
    limits = dict(run_id="r", tmp_dir=tmp, max_rows=2, max_bytes=1 << 20)
    append_to_tree(published_frame({"a": "https://gone.example/1", "b": "https://stay.example/1", "c": "https://gone.example/2"}),
                   corpus, "language", CORPUS_SCHEMA, **limits)
    append_to_tree(published_frame({"q": "https://sub.gone.example/3", "r": "https://stay.example/2"}),
                   rejected, "reason", REJECTED_SCHEMA, **limits)
    rules = parse_takedowns(HEADER + "domain,gone.example,2026-12-01,asked by the site\n")
    taken = take_down_published(corpus, rejected, rules, tmp, max_rows=2, max_bytes=1 << 20)
    assert (taken.corpus, taken.rejected) == (2, 1)
    assert ids_in_tree(corpus) == {"b"} and ids_in_tree(rejected) == {"a", "c", "q", "r"}  # each id once
    assert len(parts(corpus)) == 1  # of the two corpus parts, the one left empty is deleted
    moved = pl.read_parquet(rejected / "takedown" / "*.parquet").sort("id")
    assert moved["id"].to_list() == ["a", "c", "q"]
    assert set(moved["reason"]) == {"takedown"} and moved["text"].null_count() == 3 and moved["title"].null_count() == 3
    assert set(moved["reason_detail"]) == {"takedown 2026-12-01 (domain=gone.example): asked by the site"}
    assert pl.read_parquet(rejected / "quality" / "*.parquet")["id"].to_list() == ["r"]
    again = take_down_published(corpus, rejected, rules, tmp, max_rows=2, max_bytes=1 << 20)
    assert (again.corpus, again.rejected) == (0, 0)  # the takedown folder itself is not moved again


def test_a_takedown_outranks_an_earlier_rejection_and_erases_the_content() -> None:
    frame = published_frame({"a": "https://gone.example/1", "b": "https://stay.example/1"}).with_columns(
        reason=pl.Series([None, None], dtype=pl.String), reason_detail=pl.Series([None, None], dtype=pl.String))
    frame = frame.with_columns(reason=pl.when(pl.col("id") == "a").then(pl.lit("language")).otherwise(None))
    decided = curation.with_status(curation.reject_taken_down(frame, parse_takedowns(HEADER + "domain,gone.example,2026-12-01,x\n")))
    assert decided.select("id", "status", "reason", "text").rows() == [("a", "rejected", "takedown", None),
                                                                     ("b", "kept", None, "texte 1")]


def test_documents_taken_down_are_not_lost_but_an_empty_corpus_still_fails() -> None:
    assert PublicationOutcome(10, 6, 1, 0.0, taken_down=4).problems == []
    assert "shrank from 10 to 5" in PublicationOutcome(10, 5, 1, 0.0, taken_down=4).problems[0]
    assert any("fewer than policy.corpus.min_documents" in p for p in PublicationOutcome(3, 0, 1, 0.0, taken_down=3).problems)


# --- end to end: a real `moisson run` ---

WORDS = ("commune quartier marché bibliothèque conseil habitants rivière jardin école musée théâtre fontaine place "
         "horaires travaux projet séance rendez-vous culture associations sentier forêt village voisins fête saison "
         "récolte vendanges boulangerie mairie chemin pont moulin église château collines vallée printemps automne "
         "hiver été lecture concert exposition atelier randonnée patrimoine histoire archives mémoire rue avenue").split()


def prose(seed: int) -> str:
    """French-looking text of its own: different seeds share no run of five words, so no two are duplicates."""
    rng = random.Random(seed)
    sentences = [" ".join(rng.sample(WORDS, 9)).capitalize() + "." for _ in range(8)]
    return "La commune publie un bulletin. " + " ".join(sentences)


# name -> (source, url); the text is prose(index)
PAGES = {
    "kept": ("site", "https://keep.example/a"),
    "kept-too": ("site", "https://keep.example/b"),
    "look-alike": ("site", "https://evil-news.example/c"),
    "by-id": ("site", "https://ids.example/x"),
    "by-url": ("site", "https://pages.example/exact"),
    "by-prefix-1": ("site", "https://pages.example/private/one"),
    "by-prefix-2": ("site", "https://pages.example/private/two"),
    "by-domain-1": ("site", "https://news.example/1"),
    "by-domain-2": ("site", "https://www.News.example/2"),
    "by-sha": ("site", "https://sha.example/s"),
    "other-by-domain": ("other", "https://archive.news.example/3"),
    "other-kept": ("other", "https://keep.example/other"),
}
TAKEN_DOWN = {name for name in PAGES if name.startswith(("by-", "other-by"))}


def write_source(root: Path, source: str, changed: str | None = None) -> None:
    lines = [{"id": name, "url": url, "text": prose(index) + (" Mise à jour du bulletin." if name == changed else "")}
             for index, (name, (where, url)) in enumerate(PAGES.items()) if where == source]
    (root / f"{source}.jsonl").write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n",
                                         encoding="utf-8")


def write_sources_file(root: Path, sources: Sequence[str] = ("site", "other")) -> Path:
    path = root / f"sources-{'-'.join(sources)}.yaml"
    path.write_text("sources:\n" + "".join(f"  - {{name: {s}, kind: files, paths: ['{s}.jsonl'], license: CC-BY-4.0}}\n"
                                            for s in sources) +
                    "policy:\n  languages: [fr]\n  licenses: {allow: [CC-BY-4.0]}\n  quality: {enabled: false}\n",
                    encoding="utf-8")
    return path


def published(data: Path, folder: str = "corpus", columns: str = "id") -> dict[str, tuple]:
    """name (the JSONL id) -> row, from a published tree (`corpus` or `rejected/takedown`)."""
    pattern = data / folder / ("*.parquet" if folder.startswith("rejected/") else "*/*.parquet")
    if not list(data.glob(str(pattern.relative_to(data)))):
        return {}
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT locator, {columns} FROM read_parquet(?)", [str(pattern)]).fetchall()
    return {_name(row[0]): row[1:] for row in rows}


def _name(locator: str) -> str:
    line = int(locator.rsplit(":", 1)[1])  # file:line
    source = Path(locator.rsplit(":", 1)[0]).stem
    return [name for name, (where, _) in PAGES.items() if where == source][line - 1]


def corpus_files(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.glob("corpus/*/*.parquet"))}


def assert_ran(result) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def takedown_runs(tmp_path_factory) -> dict:
    """Publish both sources; write one rule of each kind and publish again with `site` alone in the sources file."""
    root = tmp_path_factory.mktemp("takedowns")
    for source in ("site", "other"):
        write_source(root, source)
    data = root / "data"
    assert_ran(run_moisson(write_sources_file(root), data))
    first = {name: row for name, row in published(data, columns="id, content_sha256").items()}
    assert set(first) == set(PAGES), "every page is published before the takedowns"
    (data / "takedowns.csv").write_text(
        HEADER + f"id,{first['by-id'][0]},2026-11-30,erasure request from the author\n"
        "url,https://pages.example/exact,2026-11-30,publisher's letter\n"
        "url_prefix,https://pages.example/private/,2026-12-01,private pages published by mistake\n"
        "domain,NEWS.example,2026-12-01,\"the site withdrew its licence, by e-mail\"\n"
        f"content_sha256,{first['by-sha'][1]},2026-12-02,court order\n", encoding="utf-8")
    second = run_moisson(write_sources_file(root, ["site"]), data)
    return {"root": root, "data": data, "first": first, "second": second}


def test_a_takedown_removes_every_matching_document_from_the_corpus(takedown_runs) -> None:
    data, second = takedown_runs["data"], takedown_runs["second"]
    assert_ran(second)  # the corpus shrank by takedown only: not a failure
    assert "taken down" in second.stdout
    assert set(published(data)) == set(PAGES) - TAKEN_DOWN
    moved = published(data, "rejected/takedown", "id, reason, reason_detail, text, title")
    assert set(moved) == TAKEN_DOWN  # the source left out of this run's sources file included
    assert all(reason == "takedown" and text is None and title is None for _, reason, _, text, title in moved.values())
    assert moved["by-prefix-1"][2] == ("takedown 2026-12-01 (url_prefix=https://pages.example/private/): "
                                       "private pages published by mistake")
    assert moved["other-by-domain"][2].startswith("takedown 2026-12-01 (domain=news.example): the site withdrew")


def test_the_warehouse_rejects_them_for_takedown_and_counts_each_rules_documents(takedown_runs) -> None:
    data = takedown_runs["data"]
    ids = {name: row[0] for name, row in takedown_runs["first"].items()}
    with warehouse(data) as con:
        rows = {id_: rest for id_, *rest in con.execute("SELECT id, status, reason, text FROM documents").fetchall()}
        rules = con.execute("SELECT line, match, documents FROM takedowns ORDER BY line").fetchall()
        listed = {row[0] for row in con.execute("SELECT id FROM taken_down").fetchall()}
    assert {name for name, id_ in ids.items() if rows[id_][:2] == ["rejected", "takedown"]} == TAKEN_DOWN
    assert all(rows[ids[name]][2] is None for name in TAKEN_DOWN)  # no content kept for what was taken down
    assert all(rows[ids[name]][:2] == ["kept", None] for name in set(PAGES) - TAKEN_DOWN)
    assert rules == [(2, "id", 1), (3, "url", 1), (4, "url_prefix", 2), (5, "domain", 3), (6, "content_sha256", 1)]
    assert listed == {ids[name] for name in TAKEN_DOWN}


def test_a_later_harvest_does_not_bring_them_back(takedown_runs) -> None:
    root, data = takedown_runs["root"], takedown_runs["data"]
    write_source(root, "site", changed="by-url")  # that page changed: a new id, the same URL
    raw = data / "stages" / "raw_records" / "site.parquet"
    before = raw.stat().st_mtime_ns
    assert_ran(run_moisson(write_sources_file(root), data))
    assert raw.stat().st_mtime_ns > before, "the source was read again"
    assert set(published(data)) == set(PAGES) - TAKEN_DOWN
    with warehouse(data) as con:
        changed = con.execute("SELECT id, status, reason, reason_detail FROM documents WHERE url = 'https://pages.example/exact' "
                              "AND id <> ?", [takedown_runs["first"]["by-url"][0]]).fetchall()
    assert [row[1:3] for row in changed] == [("rejected", "takedown")]
    assert changed[0][0] in _ids(data / "rejected" / "takedown")  # the new copy joins the old one there, erased too
    with duckdb.connect() as con:
        assert con.execute("SELECT count(*), count(text) FROM read_parquet(?)",
                           [str(data / "rejected" / "takedown" / "*.parquet")]).fetchone() == (len(TAKEN_DOWN) + 1, 0)
    assert len(_ids(data / "rejected")) == len(set(_ids(data / "rejected")))  # every id once in the rejected tree


def _ids(folder: Path) -> list[str]:
    with duckdb.connect() as con:
        return [id_ for (id_,) in con.execute("SELECT id FROM read_parquet(?)", [str(folder / "**" / "*.parquet")]).fetchall()]


def test_a_malformed_takedowns_file_fails_the_run_and_publishes_nothing(takedown_runs) -> None:
    root, data = takedown_runs["root"], takedown_runs["data"]
    takedowns = data / "takedowns.csv"
    takedowns.write_text(takedowns.read_text(encoding="utf-8") + "domain,keep.example,2026-11-31,asked\n", encoding="utf-8")
    corpus, stage = corpus_files(data), (data / "stages" / "deduplicated.parquet").read_bytes()
    write_source(root, "other", changed="other-kept")  # something new to publish, which must not be
    result = run_moisson(write_sources_file(root), data)
    assert result.returncode == 1, result.stdout[-3000:]
    assert f"{takedowns}, line 7: date '2026-11-31'" in result.stdout + result.stderr
    assert corpus_files(data) == corpus
    assert (data / "stages" / "deduplicated.parquet").read_bytes() == stage


def test_documents_an_interrupted_publication_already_took_down_are_not_counted_lost(tmp_path: Path) -> None:
    """The corpus step moved the rows out of the files, then the publication stopped before the warehouse: the
    next one finds nothing left to move, but the warehouse still counted them in the corpus before the run."""
    write_source(tmp_path, "site")
    data = tmp_path / "data"
    assert_ran(run_moisson(write_sources_file(tmp_path, ["site"]), data))
    (data / "takedowns.csv").write_text(HEADER + "domain,news.example,2026-12-01,asked\n", encoding="utf-8")
    rules = load_takedowns(data / "takedowns.csv")
    assert take_down_published(data / "corpus", data / "rejected", rules, data / "tmp", 1000, 1 << 30).corpus == 2
    result = run_moisson(write_sources_file(tmp_path, ["site"]), data)
    assert_ran(result)
    assert "(10 before this run, -2, 2 taken down)" in result.stdout


def test_the_takedown_command_appends_a_checked_row(tmp_path, capsys):
    from pipelines.cli import main

    data = tmp_path / "data"
    assert main(["takedown", "--data-dir", str(data), "--match", "domain", "--value", "Example.ORG.",
                 "--reason", "erasure request 42", "--date", "2026-12-01"]) == 0
    assert main(["takedown", "--data-dir", str(data), "--match", "url", "--value", "https://a.example/x",
                 "--reason", "rights holder"]) == 0
    rules = load_takedowns(data / "takedowns.csv")
    assert [(r.match, r.value) for r in rules] == [("domain", "example.org"), ("url", "https://a.example/x")]
    assert "line 2" in capsys.readouterr().out.splitlines()[0]
    assert main(["takedown", "--data-dir", str(data), "--match", "id", "--value", "abc", "--reason", "x",
                 "--date", "2026-02-30"]) == 2
    assert "takedowns.csv" in capsys.readouterr().err and len(load_takedowns(data / "takedowns.csv")) == 2
