"""Removal requests (takedowns and erasure requests): the rules in `<data-dir>/takedowns.csv`, read and matched.

A rights holder or a data subject asks for documents to leave the corpus; the request becomes one row of
`takedowns.csv` (`match,value,date,reason`), and every publication applies every row: matching documents are
rejected with reason `takedown`, leave the published corpus, and never come back from a later harvest.

The file is validated as a whole before anything is published: a row that cannot be applied (an unknown
`match`, a date that is not `YYYY-MM-DD`, an empty value or reason) is a `TakedownError` naming the file, the
line and the cause, and the publication fails. Fail-closed: a corpus must never be published while a removal
request cannot be honoured. A missing file means no takedowns.

What a rule matches, per `match`:
- `id`: the document id (stable: the same input always gets the same id, so the rule also keeps it out later);
- `url`: the document's URL, exactly;
- `url_prefix`: every URL starting with the value, as a plain string (`https://example.org/private/`);
- `domain`: every URL whose host is the value or one of its subdomains, case-insensitive
  (`example.org` matches `www.example.org`, not `evil-example.org`);
- `content_sha256`: the sha256 of the document's bytes as read (the corpus column `content_sha256`).

Matching is vectorised (polars joins, one per kind, per domain label count and per prefix length), so its cost
grows with the documents, not with documents times rules. No Dagster here.
"""

from __future__ import annotations

import csv
import fcntl
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from moisson.atomic_files import write_text

MATCH_KINDS = ("id", "url", "url_prefix", "domain", "content_sha256")
COLUMNS = ("match", "value", "date", "reason")
REASON = "takedown"  # the rejection reason (moisson.documents.REASONS)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SHA256 = re.compile(r"[0-9a-f]{64}")
HOST_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?")
# scheme://[userinfo@]host: the host in brackets (IPv6) or up to the port, path, query or fragment
URL_HOST = r"^[A-Za-z][A-Za-z0-9+.\-]*://(?:[^/?#@]*@)?(\[[^\]/]*\]|[^/?#:]+)"


class TakedownError(ValueError):
    """A takedowns file that cannot be applied as written: which file, which line, why."""

    def __init__(self, path: Path | str, line: int | None, cause: str):
        self.path, self.line, self.cause = Path(path), line, cause
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {cause}")


@dataclass(frozen=True)
class Takedown:
    """One removal request: documents whose `match` is `value` leave the corpus."""

    line: int  # where it is written in the file (1 is the header); 0 for a rule not read from a file
    match: str
    value: str  # normalised: a domain in lower case without a trailing dot, a content hash in lower case
    date: date
    reason: str

    @property
    def detail(self) -> str:
        """The rejection's reason_detail: `takedown 2026-11-30 (url_prefix=https://x/y/): <reason>`."""
        return f"{REASON} {self.date.isoformat()} ({self.match}={self.value}): {self.reason}"


def load_takedowns(path: Path) -> list[Takedown]:
    """The rules of the takedowns file, in file order; none when it does not exist.

    Raises TakedownError (file, line, cause) on anything that cannot be applied: the caller must then publish nothing."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte order mark is not part of the header
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise TakedownError(path, None, f"cannot be read: {error}") from None
    return parse_takedowns(text, path)


def parse_takedowns(text: str, path: Path | str = "takedowns.csv") -> list[Takedown]:
    """Rules from the file's text (`path` only names it in errors). Blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rules: list[Takedown] = []
    header: list[str] | None = None
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1  # a quoted field may span lines: report where the row starts
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = _header(row, path, line)
                continue
            if len(row) != len(header):
                raise TakedownError(path, line, f"{len(row)} fields, the header has {len(header)} ({','.join(COLUMNS)})")
            fields = dict(zip(header, row))
            try:
                rules.append(validated(fields["match"], fields["value"], fields["date"], fields["reason"], line))
            except ValueError as error:
                raise TakedownError(path, line, str(error)) from None
    except csv.Error as error:
        raise TakedownError(path, reader.line_num, f"not valid CSV: {error}") from None
    return rules


def _header(row: list[str], path: Path | str, line: int) -> list[str]:
    names = [cell.strip().lower() for cell in row]
    if sorted(names) != sorted(COLUMNS):
        raise TakedownError(path, line, f"the header must name the columns {','.join(COLUMNS)}, not {','.join(row)}")
    return names


def validated(match: str, value: str, when: str, reason: str, line: int = 0) -> Takedown:
    """One rule, checked and normalised; ValueError says what is wrong with it."""
    match, value, when, reason = match.strip(), value.strip(), when.strip(), reason.strip()
    if match not in MATCH_KINDS:
        raise ValueError(f"match {match!r} is not one of {', '.join(MATCH_KINDS)}")
    if not value:
        raise ValueError(f"empty value: a {match} rule must say which documents it removes")
    if not DATE.fullmatch(when):
        raise ValueError(f"date {when!r} is not an ISO date YYYY-MM-DD")
    try:
        day = date.fromisoformat(when)
    except ValueError as error:
        raise ValueError(f"date {when!r}: {error}") from None
    if not reason:
        raise ValueError("empty reason: say why the documents are removed (who asked, on what grounds)")
    return Takedown(line, match, _normalised(match, value), day, reason)


def _normalised(match: str, value: str) -> str:
    if match == "domain":
        host = value.lower().rstrip(".")
        if "/" in host or ":" in host or "@" in host:
            raise ValueError(f"domain {value!r} is not a host name (write example.org; a URL belongs in url or url_prefix)")
        if not all(HOST_LABEL.fullmatch(label) for label in host.split(".")):
            raise ValueError(f"domain {value!r} is not a host name (letters, digits, '-' and '.' only)")
        return host
    if match == "content_sha256":
        digest = value.lower()
        if not SHA256.fullmatch(digest):
            raise ValueError(f"content_sha256 {value!r} is not a sha256 in hexadecimal (64 characters 0-9a-f)")
        return digest
    if match in ("url", "url_prefix") and not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", value):
        raise ValueError(f"{match} {value!r} is not a URL (it must start with its scheme, as https://)")
    return value


# --- matching -------------------------------------------------------------------------------------------------


def rule_pairs(documents: pl.DataFrame, rules: Sequence[Takedown]) -> pl.DataFrame:
    """Every (row, rule) pair where rule number `rule` (its index in `rules`) matches row number `row` of
    `documents` (columns id, url, content_sha256; a missing column matches nothing)."""
    empty = pl.DataFrame(schema={"row": pl.UInt32, "rule": pl.UInt32})
    if not rules or documents.height == 0:
        return empty
    keys = _document_keys(documents)
    table = pl.DataFrame({"rule": list(range(len(rules))), "match": [r.match for r in rules],
                          "key": [r.value for r in rules]}, schema={"rule": pl.UInt32, "match": pl.String, "key": pl.String})
    pieces = [empty]
    for kind, column in (("id", "id"), ("url", "url"), ("content_sha256", "sha256")):
        wanted = table.filter(pl.col("match") == kind)
        if wanted.height:
            pieces.append(keys.select("row", key=pl.col(column)).join(wanted.select("key", "rule"), on="key").select("row", "rule"))
    domains = table.filter(pl.col("match") == "domain").with_columns(labels=pl.col("key").str.count_matches(r"\.") + 1)
    for labels in domains["labels"].unique().sort().to_list():
        suffix = pl.col("host").str.extract(rf"(?:^|\.)((?:[^.]+\.){{{labels - 1}}}[^.]+)$", 1)
        wanted = domains.filter(pl.col("labels") == labels).select("key", "rule")
        pieces.append(keys.select("row", key=suffix).join(wanted, on="key").select("row", "rule"))
    prefixes = table.filter(pl.col("match") == "url_prefix").with_columns(length=pl.col("key").str.len_chars())
    for length in prefixes["length"].unique().sort().to_list():
        wanted = prefixes.filter(pl.col("length") == length).select("key", "rule")
        pieces.append(keys.select("row", key=pl.col("url").str.slice(0, length)).join(wanted, on="key").select("row", "rule"))
    return pl.concat(pieces).unique().sort("row", "rule")


def _document_keys(documents: pl.DataFrame) -> pl.DataFrame:
    """The columns rules compare, one row per document, numbered: ids and URLs as they are, the host of the
    URL in lower case without a trailing dot, the content hash in lower case."""
    text = {name: (pl.col(name).cast(pl.String) if name in documents.columns else pl.lit(None, pl.String))
            for name in ("id", "url", "content_sha256")}
    return documents.select(
        id=text["id"], url=text["url"], sha256=text["content_sha256"].str.to_lowercase(),
        host=text["url"].str.extract(URL_HOST, 1).str.to_lowercase().str.strip_chars_end("."),
    ).with_row_index("row")


def first_rules(documents: pl.DataFrame, rules: Sequence[Takedown]) -> pl.Series:
    """Per row of `documents`, the reason_detail of the first rule (in file order) that matches it, else null."""
    details = pl.DataFrame({"rule": list(range(len(rules))), "takedown": [r.detail for r in rules]},
                           schema={"rule": pl.UInt32, "takedown": pl.String})
    first = rule_pairs(documents, rules).group_by("row").agg(pl.col("rule").min()).join(details, on="rule")
    rows = pl.DataFrame({"row": pl.arange(0, documents.height, dtype=pl.UInt32, eager=True)})
    return rows.join(first, on="row", how="left").sort("row")["takedown"]


def matched_counts(documents: pl.DataFrame, rules: Sequence[Takedown]) -> list[int]:
    """How many rows of `documents` each rule matches (a document matched by two rules counts for both)."""
    counts = dict(rule_pairs(documents, rules).group_by("rule").len().iter_rows())
    return [counts.get(index, 0) for index in range(len(rules))]


# --- writing --------------------------------------------------------------------------------------------------


def add_takedown(path: Path, match: str, value: str, reason: str, when: str | date | None = None,
                 tmp_dir: Path | None = None) -> Takedown:
    """Append one rule to the takedowns file (created with its header if missing), atomically.

    The rule is validated first, and so is the file as it stands: a file that could not be applied is not
    made longer, it must be repaired. The date defaults to today (UTC). Concurrent calls are serialised by a
    lock file beside it, so none loses another's row. Raises TakedownError (naming the file) or ValueError."""
    day = when.isoformat() if isinstance(when, date) else (when or datetime.now(timezone.utc).date().isoformat())
    try:
        rule = validated(match, value, day, reason)
    except ValueError as error:
        raise TakedownError(path, None, f"the new rule cannot be applied: {error}") from None
    tmp_dir = tmp_dir or path.parent / "tmp"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = path.read_text(encoding="utf-8-sig") if path.exists() else ""
        parse_takedowns(existing, path)
        if not existing.strip():
            existing = ",".join(COLUMNS) + "\n"
        elif not existing.endswith("\n"):
            existing += "\n"
        row = io.StringIO()
        csv.writer(row, lineterminator="\n").writerow([rule.match, rule.value, rule.date.isoformat(), rule.reason])
        write_text(existing + row.getvalue(), path, tmp_dir)
    return Takedown(_next_line(existing), rule.match, rule.value, rule.date, rule.reason)


def _next_line(text: str) -> int:
    """The line number the row appended after `text` (ending with a newline) starts on."""
    return text.count("\n") + 1
