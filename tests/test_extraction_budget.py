"""Every way a page reaches extraction holds the per-page budget: a pass over a source, a stage materialised
alone, measurements taken again; and the issue's page is rejected, with the reason, instead of stalling a worker."""

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import lxml.html
import polars as pl

from moisson.config import LanguagePolicy
from moisson.curation import PayloadWork, extract_documents, extract_payloads, measure_missing
from moisson.documents import raw_records_table
from moisson.extraction import extract_record
from moisson.single_pass import harvest
from moisson.workers import Outcome
from sources.records import RawRecord, ReadStats

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)
STUCK = b"<html><body><p>the page whose parse never ends</p></body></html>"
ARTICLE = ("<html><body><article><h1>La bibliotheque</h1><p>" + "Le conseil municipal a vote hier le budget de la "
           "nouvelle bibliotheque du quartier, qui ouvrira ses portes au printemps prochain. " * 4
           + "</p></article></body></html>")


def never_ending_parse() -> None:
    """A million attributes on one element: libxml2 runs for hours in C code, where no signal handler runs."""
    lxml.html.document_fromstring("<div " + " ".join(f"a{n}" for n in range(1_000_000)) + ">x</div>")


def extract_or_stall(item: tuple) -> dict:
    if item[0] == STUCK:
        never_ending_parse()
    return extract_record(item)


@dataclass(frozen=True)
class StallingMeasures(PayloadWork):
    """The language measurement of one text stalls in C code."""

    def measure(self, doc: dict) -> dict:
        if doc["text"] == "stall":
            never_ending_parse()
        return super().measure(doc)


def record(key: str, payload: bytes, content_type: str = "html") -> RawRecord:
    return RawRecord("src", "warc", key, f"crawl.warc.gz:{key}", content_type, payload, WHEN,
                     url=f"https://example.org/{key}", charset="utf-8")


def page(n: int) -> bytes:
    return ARTICLE.replace("La bibliotheque", f"La bibliotheque numero {n}").encode()


def test_a_pass_over_a_source_holds_the_budget(tmp_path):
    records = [record("1", page(1)), record("stuck", STUCK), record("2", page(2))]
    started = time.monotonic()
    result = harvest(records, ReadStats(), tmp_path / "raw.parquet", tmp_path / "tmp", work=extract_or_stall,
                     budget_s=2, workers=1)
    outcomes = [result.outcomes[r.content_sha256] for r in records]
    assert [o.error_class for o in outcomes] == [None, "TimeBudgetExceeded", None]
    assert "numero 2" in outcomes[2].value["text"]
    assert time.monotonic() - started < 2 + 60  # the parse alone lasts hours


def test_a_stage_materialised_alone_holds_the_budget():
    """`extract_payloads` runs when extraction is materialised without the pass that read the source."""
    raw = pl.from_arrow(raw_records_table([record("1", page(1)), record("stuck", STUCK)]))
    started = time.monotonic()
    outcomes = extract_payloads(raw, work=extract_or_stall, budget_s=2, workers=1)
    assert [outcomes[digest].error_class for digest in raw["content_sha256"]] == [None, "TimeBudgetExceeded"]
    assert time.monotonic() - started < 2 + 60


def test_measurements_taken_again_hold_the_budget():
    """`measure_missing` measures the texts of extractions reused from an earlier run."""
    work = StallingMeasures(language=LanguagePolicy())
    reused = {"a": Outcome(value={"text": "Le conseil municipal a voté le budget de la bibliothèque du quartier."}),
              "b": Outcome(value={"text": "stall"})}
    started = time.monotonic()
    measured = measure_missing(reused, work, budget_s=2, workers=1)
    assert measured["a"].value["language_guess"].language == "fr"
    assert measured["b"].error_class == "TimeBudgetExceeded"
    assert time.monotonic() - started < 2 + 60


def test_the_issue_page_is_rejected_for_extraction_with_its_reason_and_the_others_kept():
    """1.1 MB, 120,000 attributes on one element: 36 s of extraction, then kept as a success; now refused unparsed."""
    hostile = ("<html><body><div " + " ".join(f"a{n}=x" for n in range(120_000)) + ">x</div>"
               + ARTICLE[len("<html><body>"):]).encode()
    raw = pl.from_arrow(raw_records_table([record("1", page(1)), record("hostile", hostile), record("2", page(2))]))
    started = time.process_time()
    documents, failures = extract_documents(raw, budget_s=20, workers=1)
    assert documents["reason"].to_list() == [None, "extraction", None]
    detail = documents["reason_detail"][1]
    assert detail.startswith("TooComplex: ") and "120,000 attributes on one <div> element" in detail
    assert [(f.record, f.error_class) for f in failures] == [("crawl.warc.gz:hostile", "TooComplex")]
    assert json.loads(documents["licence_evidence"][0]) == [] and "numero 2" in documents["text"][2]
    assert time.process_time() - started < 10  # the parent's own CPU: the scan ran in a worker, in milliseconds
