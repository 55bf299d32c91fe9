"""Rules files captured in a web archive: which capture speaks for a page, and what it says (same matching as live)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from sources.captured_sites import CapturedSites, choose_capture, read_site_files, site_files_table
from sources.records import RawRecord, ReadStats, SiteFileCapture
from sources.tdm_reservation import MAX_TDMREP_BYTES
from sources.warc import read_warc_file, site_file_kind

A, B = "https://a.example", "https://b.example"


def at(day: int) -> datetime:
    return datetime(2026, 3, day, tzinfo=timezone.utc)


def capture(url: str, body: str | bytes, day: int, locator: str = "crawl.warc.gz@0", *, status: int = 200,
            content_type: str = "application/json", problem: str | None = None) -> SiteFileCapture:
    kind = "robots" if url.endswith("/robots.txt") else "tdmrep"
    data = body.encode() if isinstance(body, str) else body
    return SiteFileCapture("crawl", url, kind, at(day), locator, status, content_type, data, problem)


def test_the_latest_capture_before_the_page_wins_else_the_earliest_after() -> None:
    captures = [capture(A + "/robots.txt", "", day, f"x@{day}") for day in (5, 10, 20)]
    assert choose_capture(captures, at(12)).locator == "x@10"
    assert choose_capture(captures, at(10)).locator == "x@10"  # captured the same second: before
    assert choose_capture(captures, at(25)).locator == "x@20"
    assert choose_capture(captures, at(1)).locator == "x@5"  # none before: the earliest after
    assert choose_capture([], at(1)) is None


def test_captures_of_the_same_second_before_the_page_the_last_read_wins() -> None:
    captures = [capture(A + "/robots.txt", "", 5, "first"), capture(A + "/robots.txt", "", 5, "second")]
    assert choose_capture(captures, at(6)).locator == "second"
    assert choose_capture(captures, at(4)).locator == "first"


def test_a_later_capture_that_lifts_the_reservation_does_not_speak_for_an_earlier_page() -> None:
    sites = CapturedSites([
        capture(A + "/.well-known/tdmrep.json", '[{"location": "/private/*", "tdm-reservation": 1}]', 5, "a@1"),
        capture(A + "/.well-known/tdmrep.json", '[{"location": "/private/*", "tdm-reservation": 0}]', 20, "a@2"),
    ])
    early, = sites.opt_outs(A + "/private/x.html", at(10))
    late, = sites.opt_outs(A + "/private/x.html", at(25))
    assert (early.status, late.status) == ("reserved", "not_reserved")
    assert early.evidence[-1] == ("tdmrep-file: https://a.example/.well-known/tdmrep.json captured in the archive "
                                  "on 2026-03-05T00:00:00Z (a@1)")


def test_tdmrep_wildcards_and_robots_ai_groups_match_as_live_and_only_their_own_origin() -> None:
    sites = CapturedSites([
        capture(A + "/.well-known/tdmrep.json", '[{"location": "/private/*.html", "tdm-reservation": 1, '
                                                '"tdm-policy": "https://a.example/policy.json"}]', 1),
        capture(B + "/robots.txt", "User-agent: GPTBot\nDisallow: /news/\n\nUser-agent: *\nDisallow: /tmp/\n", 1,
                content_type="text/plain"),
    ])
    reserved, = sites.opt_outs(A + "/private/deep/page.html?x=1", at(2))
    assert reserved.status == "reserved" and reserved.policy_url == "https://a.example/policy.json"
    assert sites.opt_outs(A + "/private/page.pdf", at(2)) == []
    assert sites.opt_outs(A + "/news/page.html", at(2)) == []  # B's robots.txt says nothing about A
    robots, = sites.opt_outs(B + "/news/2026/a.html", at(2))
    assert robots.status == "reserved" and "User-agent: GPTBot — Disallow: /news/" in robots.evidence[0]
    assert sites.opt_outs(B + "/tmp/x.html", at(2)) == []  # the `*` group is not an AI opt-out
    assert sites.opt_outs("https://a.example:8443/private/p.html", at(2)) == []  # another port, another origin


def test_an_html_page_in_place_of_tdmrep_json_is_no_file_and_a_cut_capture_is_unknown_incomplete() -> None:
    page = CapturedSites([capture(A + "/.well-known/tdmrep.json", "<html>home</html>", 1, content_type="text/html")])
    assert page.opt_outs(A + "/private/x", at(2)) == []
    cut = CapturedSites([capture(B + "/robots.txt", "User-agent: GPTBot\nDis", 1, problem="record is 9 bytes short")])
    unknown, = cut.opt_outs(B + "/anything", at(2))
    assert unknown.status == "unknown" and unknown.incomplete and "not read in full" in unknown.evidence[0]
    big = CapturedSites([capture(A + "/.well-known/tdmrep.json", b"[" + b" " * MAX_TDMREP_BYTES + b"]", 1)])
    over, = big.opt_outs(A + "/x", at(2))
    assert over.incomplete and "limit" in over.evidence[0]


def test_the_side_file_round_trips(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    captures = [capture(A + "/.well-known/tdmrep.json", '[{"location": "/*", "tdm-reservation": 1}]', 1)]
    pq.write_table(site_files_table(captures), tmp_path / "s.parquet")
    read = read_site_files(tmp_path / "s.parquet")
    assert len(read) == 1 and read.opt_outs(A + "/p", at(2))[0].status == "reserved"
    assert len(read_site_files(tmp_path / "missing.parquet")) == 0


def test_only_the_exact_paths_are_site_files() -> None:
    assert site_file_kind("https://a.example/robots.txt")[0] == "robots"
    assert site_file_kind("http://a.example:8080/.well-known/tdmrep.json")[0] == "tdmrep"
    for url in ("https://a.example/robots.txt?x=1", "https://a.example/blog/robots.txt", "ftp://a.example/robots.txt",
                "https://a.example/.well-known/tdmrep.json/x", None):
        assert site_file_kind(url) is None, url


def test_the_reader_yields_captures_beside_the_records_and_counts_them_as_skipped(tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, body, status in ((A + "/page", b"<html><body><p>Bonjour</p></body></html>", "200 OK"),
                                  (A + "/robots.txt", b"User-agent: GPTBot\nDisallow: /\n", "200 OK"),
                                  (B + "/robots.txt", b"not found", "404 Not Found")):
            http = StatusAndHeaders(status, [("Content-Type", "text/plain")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    stats = ReadStats()
    items = list(read_warc_file(path, "crawl", stats, 1 << 20, "crawl.warc.gz"))
    assert [type(item) for item in items] == [RawRecord, SiteFileCapture]
    assert items[1].body == b"User-agent: GPTBot\nDisallow: /\n" and items[1].locator.startswith("crawl.warc.gz@")
    assert (stats.records, stats.failures, stats.skipped["site_file_robots"], stats.skipped["http_status_not_2xx"]) \
        == (1, 0, 1, 1)


def test_a_capture_cut_short_is_a_failure_and_still_speaks_unknown_for_its_site(tmp_path: Path) -> None:
    """Fail-closed: a robots.txt whose record ends early might have held an AI agent's group further down."""
    path = tmp_path / "robotstxt.warc"
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/plain")], protocol="HTTP/1.1")
        body = io.BytesIO(b"User-agent: Googlebot\nDisallow: /x/\n" * 20)
        writer.write_record(writer.create_warc_record(B + "/robots.txt", "response", payload=body, http_headers=http))
    path.write_bytes(path.read_bytes()[:-100])
    stats = ReadStats()
    failure, cut = list(read_warc_file(path, "crawl", stats, 1 << 20, "robotstxt.warc"))
    assert (failure.error_class, failure.record) == ("TruncatedRecord", "robotstxt.warc@0")
    assert (stats.records, stats.failures, stats.skipped["site_file_robots"]) == (0, 1, 1)
    unknown, = CapturedSites([cut]).opt_outs(B + "/page.html", cut.captured_at)
    assert (unknown.status, unknown.protocol, unknown.incomplete) == ("unknown", "robots-ai", True)
