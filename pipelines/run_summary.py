"""The verdict of a `moisson run`: per source and for the publication, from what the run left on disk.

Why from the data files (the stage and failure Parquet files, the published corpus) and the check
evaluations, not from asset metadata: they are what the corpus is made of, whatever an asset chooses to
report, and they say what the person reading the summary can open and check. A run fails (exit code 1)
when any source did not produce what it should or the publication is not what it should be:

- a source with no input (no file matched its paths, or it gave no record at all);
- an unreadable source (every record it gave failed);
- a curation or publication step that failed;
- a failed asset check (`harvest_failure_rate` when a source's failures pass `policy.failures.max_rate`),
  unless `policy.checks.warn` lists it;
- a published corpus holding fewer than `policy.corpus.min_documents` documents, or that lost more than
  `policy.corpus.max_shrink` of the documents it held before the run. Documents removed by a takedown
  (`takedowns.csv`, the corpus asset's `taken_down`) are not lost: the corpus was asked to shed them. An empty
  corpus still fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from moisson.config import BLOCKING_CHECKS, MoissonConfig
from moisson.layout import DataLayout

FAILURE_STAGES = ("catalogue", "harvest", "extraction")
NO_INPUT = "NoInputFiles"


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    description: str | None = None
    warning: bool = False  # failed, but policy.checks.warn lists it

    def __str__(self) -> str:
        """As the summary's checks line shows it: `harvest_failure_rate FAILED (warning)`."""
        return f"{self.name} {'passed' if self.passed else 'FAILED'}{' (warning)' if self.warning else ''}"

    @property
    def problem(self) -> str:
        """As a verdict gives it: `harvest_failure_rate check failed: source 'flaky': 3 of 4 records failed...`."""
        return f"{self.name} check failed" + (f": {self.description}" if self.description else "")


@dataclass
class SourceOutcome:
    """What one source's curation run produced, and whether that is what a source should produce."""

    name: str
    records: int | None  # None: the source's records were not harvested in this run
    kept: int | None
    rejected: dict[str, int]
    failures: dict[str, int]  # stage -> failed records
    failed_steps: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    no_input: str | None = None  # why no file was read
    first_failure: str | None = None
    after_dedup: bool = False  # kept/rejected are the final decisions (the publication ran)

    @property
    def problems(self) -> list[str]:
        found = [f"curation failed: {step}" for step in self.failed_steps]
        failed = sum(self.failures.get(stage, 0) for stage in ("catalogue", "harvest"))
        if self.no_input:
            found.append(f"no input: {self.no_input}")
        elif self.records == 0 and failed == 0:
            found.append("no input: the source gave no record")
        elif self.records == 0:
            found.append(f"unreadable: all {failed} record(s) failed, first {self.first_failure}")
        found += [check.problem for check in self.checks if not check.passed and not check.warning]
        return found

    @property
    def verdict(self) -> str:
        problems = self.problems
        if problems:
            return "FAILED: " + "; ".join(problems)
        warnings = [check.problem for check in self.checks if check.warning]
        return "ok" + (f" (warning: {'; '.join(warnings)})" if warnings else "")

    def lines(self) -> list[str]:
        rejected = sum(self.rejected.values())
        by_reason = f" ({', '.join(f'{reason} {n}' for reason, n in self.rejected.items())})" if rejected else ""
        failed = sum(self.failures.values())
        by_stage = f" ({', '.join(f'{stage} {n}' for stage, n in self.failures.items() if n)})" if failed else ""
        counts = (f"records {_count(self.records)}, kept {_count(self.kept)}, rejected {rejected}{by_reason}, "
                  f"failures {failed}{by_stage}" + ("" if self.after_dedup or self.kept is None else
                                                     " (before deduplication: the publication did not run)"))
        checks = ", ".join(map(str, self.checks)) or "none ran"
        return [f"source {self.name}: {self.verdict}", f"    {counts}", f"    checks: {checks}"]


@dataclass
class PublicationOutcome:
    """What the publication run did to the corpus, and whether the corpus is what the policy asks for."""

    corpus_before: int
    corpus_after: int
    min_documents: int
    max_shrink: float
    failed_steps: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    taken_down: int = 0  # documents the publication removed from the corpus because a takedown rule matched them

    @property
    def problems(self) -> list[str]:
        found = [f"publication failed: {step}" for step in self.failed_steps]
        blocked = [c.name for c in self.checks if not c.passed and c.name in BLOCKING_CHECKS]
        if blocked:
            found.append(f"nothing published: the blocking {', '.join(blocked)} check failed")
        found += [check.problem for check in self.checks
                  if not check.passed and not check.warning and check.name not in BLOCKING_CHECKS]
        if self.corpus_after < self.min_documents:
            found.append(f"the corpus holds {self.corpus_after} document(s), fewer than policy.corpus.min_documents "
                         f"({self.min_documents})")
        lost = self.corpus_before - self.corpus_after - self.taken_down
        if lost > 0 and lost / self.corpus_before > self.max_shrink:
            taken = f", {self.taken_down} taken down" if self.taken_down else ""
            found.append(f"the corpus shrank from {self.corpus_before} to {self.corpus_after} documents{taken} "
                         f"({lost / self.corpus_before:.1%} lost, policy.corpus.max_shrink {self.max_shrink:.1%}); it "
                         "only grows, so published part files were deleted or lost")
        return found

    def lines(self) -> list[str]:
        verdict = "FAILED: " + "; ".join(self.problems) if self.problems else "ok"
        change = self.corpus_after - self.corpus_before
        taken = f", {self.taken_down} taken down" if self.taken_down else ""
        return [f"publication: {verdict}",
                f"    corpus {self.corpus_after} documents ({self.corpus_before} before this run, {change:+d}{taken})",
                f"    checks: {', '.join(map(str, self.checks)) or 'none ran'}"]


@dataclass
class RunSummary:
    sources: list[SourceOutcome]
    publication: PublicationOutcome

    @property
    def failed(self) -> list[str]:
        """What failed, in a few words each: `source empty`, `publication`."""
        return [f"source {s.name}" for s in self.sources if s.problems] + (["publication"] if self.publication.problems else [])

    def lines(self) -> list[str]:
        return ["==> summary", *(line for source in self.sources for line in source.lines()), *self.publication.lines()]


def corpus_documents(layout: DataLayout) -> int:
    """Documents in the published corpus, from the Parquet footers (each file named, never a pattern)."""
    return sum(pq.ParquetFile(path).metadata.num_rows
               for path in sorted(layout.corpus_dir.glob("*/*.parquet")) if path.is_file())


def published_before(layout: DataLayout) -> int:
    """What the corpus held before this run's publication: its files, or what the last publication recorded in
    the warehouse when that is more (part files deleted since: a publication re-adds only the documents it
    keeps again, so the files alone would hide the loss)."""
    import duckdb

    recorded = 0
    if layout.warehouse.exists():
        try:
            with duckdb.connect(str(layout.warehouse), read_only=True) as con:
                recorded = con.execute("SELECT count(*) FROM corpus").fetchone()[0]
        except duckdb.Error:  # no warehouse yet, or one another process is writing: the files alone then
            recorded = 0
    return max(corpus_documents(layout), recorded)


def source_outcome(layout: DataLayout, config: MoissonConfig, name: str, result, publish_run_id: str | None) -> SourceOutcome:
    """The outcome of source `name`'s curation run `result` (an ExecutionResult), read from the files it wrote.

    Kept and rejected counts are the final decisions (deduplication included) when the publication of this
    run wrote them (`publish_run_id`), else the curation's."""
    harvested = "raw_records" in _materialized(result)
    failures = {stage: _failure_rows(layout, stage, name, result.run_id) for stage in FAILURE_STAGES}
    listed = [row for stage in FAILURE_STAGES for row in failures[stage]]
    decided, after_dedup = _decisions(layout, name, publish_run_id) if harvested else ({}, False)
    warn = set(config.policy.checks.warn)
    return SourceOutcome(
        name=name,
        records=_rows(layout.stage_file("raw_records", name)) if harvested else None,
        kept=decided.pop("kept", 0) if harvested else None,
        rejected=decided,
        failures={stage: len(rows) for stage, rows in failures.items()},
        failed_steps=_failed_steps(result),
        checks=_checks(result, warn),
        no_input=next((row["message"] for row in listed if row["error_class"] == NO_INPUT), None),
        first_failure=next((f"{row['record']}: {row['error_class']}: {row['message']}" for row in listed), None),
        after_dedup=after_dedup,
    )


def publication_outcome(config: MoissonConfig, result, before: int, after: int) -> PublicationOutcome:
    corpus = config.policy.corpus
    return PublicationOutcome(before, after, corpus.min_documents, corpus.max_shrink, _failed_steps(result),
                              _checks(result, set(config.policy.checks.warn)), _taken_down(result))


def _taken_down(result) -> int:
    """Documents this publication removed from the corpus by takedown (0 when it did not run): the larger of what
    the corpus asset moved out of the files (`taken_down`) and what the warehouse held as kept and now rejects for
    takedown (`kept_taken_down`), as the count before the run is the larger of the two (`published_before`)."""
    if result is None:
        return 0
    counts = [0]
    for event in result.get_asset_materialization_events():
        key = {"corpus": "taken_down", "warehouse": "kept_taken_down"}.get(event.asset_key.to_user_string())
        value = event.materialization.metadata.get(key) if key else None
        if value is not None:
            counts.append(int(value.value))
    return max(counts)


def _materialized(result) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def _failed_steps(result) -> list[str]:
    return [f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
            for event in result.all_events if event.is_step_failure]


def _checks(result, warn: set[str]) -> list[CheckOutcome]:
    return [CheckOutcome(e.check_name, e.passed, e.description, warning=not e.passed and e.check_name in warn)
            for e in result.get_asset_check_evaluations()]


def _rows(path) -> int:
    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0


def _failure_rows(layout: DataLayout, stage: str, source: str, run_id: str) -> list[dict]:
    """This run's failures of one stage; a file another run wrote (a stage this run did not reach) counts none."""
    path = layout.failures_file(stage, source)
    if not path.exists():
        return []
    rows = pq.read_table(path).to_pylist()
    return [row for row in rows if row.get("run_id") in (None, run_id)]


def _decisions(layout: DataLayout, source: str, publish_run_id: str | None) -> tuple[dict[str, int], bool]:
    """{'kept': n, <reason>: n, ...} for the source, and whether deduplication decided them."""
    deduplicated = layout.deduplicated
    if publish_run_id and deduplicated.exists():
        table = pq.read_table(deduplicated, columns=["source", "status", "reason", "run_id"])
        if publish_run_id in set(table.column("run_id").to_pylist()):  # written by this run's publication
            rows = [row for row in table.to_pylist() if row["source"] == source]
            return _tally(row["reason"] if row["status"] == "rejected" else None for row in rows), True
    path = layout.stage_file("quality_filtered", source)
    if not path.exists():
        return {}, False
    return _tally(pq.read_table(path, columns=["reason"]).column("reason").to_pylist()), False


def _tally(reasons) -> dict[str, int]:
    counts: dict[str, int] = {"kept": 0}
    for reason in reasons:
        key = reason or "kept"
        counts[key] = counts.get(key, 0) + 1
    return {"kept": counts.pop("kept"), **dict(sorted(counts.items()))}


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def summarise(layout: DataLayout, config: MoissonConfig, curated: Sequence[tuple[str, object]], publish,
              before: int, after: int) -> RunSummary:
    """The summary of a run that curated `curated` ((source, result) pairs), then ran `publish`."""
    publish_run_id = publish.run_id if publish is not None else None
    return RunSummary([source_outcome(layout, config, name, result, publish_run_id) for name, result in curated],
                      publication_outcome(config, publish, before, after))
