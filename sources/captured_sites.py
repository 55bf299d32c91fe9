"""The rules files a web archive captured (`/robots.txt`, `/.well-known/tdmrep.json`), applied to the archive's pages.

Why: Moisson never contacts an archived site (the page may have changed, the site may be gone, and the archive is
what is published from), so the live `SiteOptOuts` does not apply to a `warc` source. But crawls capture those files
too (Common Crawl ships its robots.txt captures in separate "robotstxt" WARC files, which a source can list beside
its pages), and what the site said at crawl time is the best evidence of its reservation. The reader keeps them in a
side file (`stages/site_files/<source>.parquet`, see `sources/warc.py`); this module reads them back and answers, for
one page, what its origin's captured files say, with the same matching as the live ones (`TdmRepFile.match`,
`robots_ai_reservation`).

Which capture, when a site's file was captured several times: the latest one captured at or before the page (what
the site said when the page was crawled), else the earliest one after it (the closest statement we have; a site
that reserves later usually reserved before, and no statement at all would say nothing). Captures of the same
second: before the page, the one read last (a crawler that fetched the file twice uses the second answer); after
it, the one read first. Archive order is the source's read order (files sorted by path, then byte offset).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import polars as pl
import pyarrow as pa

from sources.records import SiteFileCapture
from sources.tdm_reservation import (DEFAULT_AI_AGENTS, UNKNOWN, OptOut, WellKnownEntry, entry_from_response,
                                     origin_of, robots_ai_reservation)

PROTOCOL_OF = {"tdmrep": "tdmrep-file", "robots": "robots-ai"}

SITE_FILES_SCHEMA = pa.schema([
    ("source", pa.string()),
    ("url", pa.string()),
    ("origin", pa.string()),
    ("kind", pa.string()),  # 'robots' | 'tdmrep'
    ("captured_at", pa.timestamp("us", tz="UTC")),
    ("locator", pa.string()),
    ("status", pa.int32()),
    ("content_type", pa.string()),
    ("body", pa.large_binary()),
    ("problem", pa.string()),
])


def site_files_table(captures: Sequence[SiteFileCapture]) -> pa.Table:
    """The side file's rows, in the order the archives were read (`CapturedSites` breaks date ties by it)."""
    columns = {name: [getattr(c, name) for c in captures] for name in SITE_FILES_SCHEMA.names if name != "origin"}
    columns["origin"] = [origin_of(c.url) for c in captures]
    return pa.Table.from_pydict(columns, schema=SITE_FILES_SCHEMA)


def read_site_files(path: Path) -> "CapturedSites":
    """The side file's captures (none when the source has no side file: not a `warc` source, or nothing captured).
    An unreadable file is an error naming it: its reservations would otherwise be lost without a word."""
    if not path.exists():
        return CapturedSites(())
    try:
        rows = pl.read_parquet(path).to_dicts()
    except Exception as error:  # polars raises several types for a damaged file
        raise ValueError(f"captured site files {path}: unreadable ({error}); read the source again") from error
    return CapturedSites(SiteFileCapture(**{k: v for k, v in row.items() if k != "origin"}) for row in rows)


def choose_capture(captures: Sequence[SiteFileCapture], at: datetime) -> SiteFileCapture | None:
    """The latest capture at or before `at`, else the earliest after it (see the module docstring). `captures`:
    one origin's file of one kind, sorted by `captured_at` (stable: archive order within a date)."""
    if not captures:
        return None
    dates = [capture.captured_at for capture in captures]
    before = bisect.bisect_right(dates, at)
    return captures[before - 1] if before else captures[0]


class CapturedSites:
    """Every origin's captured rules files, by (origin, kind), ready to answer for one page (`opt_outs`)."""

    def __init__(self, captures: Iterable[SiteFileCapture], agents: Iterable[str] = DEFAULT_AI_AGENTS):
        self.agents = tuple(agents)
        self._by: dict[tuple[str, str], list[SiteFileCapture]] = {}
        for capture in captures:
            self._by.setdefault((origin_of(capture.url), capture.kind), []).append(capture)
        for found in self._by.values():
            found.sort(key=lambda capture: capture.captured_at)  # stable: archive order kept within a date
        self._tdmrep = lru_cache(maxsize=4096)(self._tdmrep_entry)

    def __len__(self) -> int:
        return sum(len(found) for found in self._by.values())

    def opt_outs(self, url: str | None, at: datetime) -> list[OptOut]:
        """What the page's origin's captured files say about `url` (crawled at `at`): nothing, or an OptOut per
        file that speaks (a matching tdmrep.json rule, a robots.txt group of an AI agent disallowing it, or a file
        that could not be read in full), each with a line naming the capture, its date and its record."""
        if not url or not self._by:
            return []
        try:
            origin = origin_of(url)
        except ValueError:
            return []
        found = []
        for kind in ("tdmrep", "robots"):
            capture = choose_capture(self._by.get((origin, kind), []), at)
            answer = self._answer(capture, url) if capture is not None else None
            if answer is not None:
                found.append(_with_capture(answer, capture))
        return found

    def _answer(self, capture: SiteFileCapture, url: str) -> OptOut | None:
        protocol = PROTOCOL_OF[capture.kind]
        if capture.problem:
            return OptOut(UNKNOWN, protocol, (f"{protocol}: {capture.url} not read in full ({capture.problem})",),
                          incomplete=True)
        if capture.kind == "robots":
            return robots_ai_reservation(capture.body, url, self.agents)
        return self._tdmrep(capture).opt_out(url)

    @staticmethod
    def _tdmrep_entry(capture: SiteFileCapture) -> WellKnownEntry:
        """Read as the live cache reads a fetched file: an HTML page in its place is no file."""
        return entry_from_response(origin_of(capture.url), capture.captured_at.isoformat(), capture.status,
                                    capture.content_type, capture.body)


def _with_capture(answer: OptOut, capture: SiteFileCapture) -> OptOut:
    when = capture.captured_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"{answer.protocol}: {capture.url} captured in the archive on {when} ({capture.locator})"
    return OptOut(answer.status, answer.protocol, (*answer.evidence, line), answer.policy_url, answer.incomplete)
