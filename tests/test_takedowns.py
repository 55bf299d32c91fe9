"""Takedowns and erasure requests: the rules file read and checked, each kind of rule matched, and (end to end) a
published corpus losing every matching document for good."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

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
