"""Per-source assets: harvest, extraction, language, licence, quality. One partition per source.

The five assets are one subsettable multi-asset. Materialised together (the nightly job, `moisson
run`), the source is read once and streamed to the extraction workers, which also measure language
and quality, and each stage hands its frame to the next in memory. Materialised alone (say, quality
again after a threshold change), a step reads the previous stage's file. Either way each step writes
its own file with every document in it, rejected ones with their reason, so the graph can be read top
to bottom and any document followed from archive to decision.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

import dagster as dg

from assets.catalogue import catalogue
from assets.partitions import SOURCE_PARTITIONS
from assets.resources import MoissonResource
from assets.shards import report_shards, shards_metadata
from assets.stage_files import describe, describe_failures, read_stage, write_failures, write_stage
from moisson import curation
from moisson.extraction_cache import ExtractionCache
from moisson.sharded_harvest import harvest_source
from moisson.single_pass import stage_payloads
from moisson.workers import Outcome
from sources.captured_sites import read_site_files

SITE_FILES = "site_files"  # side file of raw_records: the rules files the source's archives captured (not records)
RAW_RECORDS, EXTRACTED, LANGUAGE, LICENCE, QUALITY = (
    "raw_records", "extracted_documents", "language_filtered", "licence_filtered", "quality_filtered")
STEPS = (RAW_RECORDS, EXTRACTED, LANGUAGE, LICENCE, QUALITY)
OWNERS = ["team:data-engineering"]


def _spec(key: str, upstream, group: str, kinds: set[str], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(key, deps=[upstream], group_name=group, kinds=kinds, owners=OWNERS, skippable=True,
                        description=description)


SPECS = [
    _spec(RAW_RECORDS, catalogue, "harvest", {"parquet"},
          "Every HTML or plain-text record of the source, with its payload and provenance. Requests, revisits, "
          "metadata and non-text records are skipped and counted; unreadable records are recorded as failures "
          "(source, record, cause) and the rest of the source is read."),
    _spec(EXTRACTED, RAW_RECORDS, "curation", {"parquet", "trafilatura"},
          "Main text, title, page language and licence evidence of each record (HTML: trafilatura, or resiliparse "
          "if policy.extraction.backend says so)."),
    _spec(LANGUAGE, EXTRACTED, "curation", {"parquet", "fasttext"},
          "Language and score of each document (fastText, then lingua where it is unsure); languages outside "
          "the policy are rejected."),
    _spec(LICENCE, LANGUAGE, "curation", {"parquet"},
          "SPDX licence of each document, from its own markup, else its record, else the source's declaration. "
          "Fail-closed: unknown, conflicting or not-allowed licences are rejected."),
    _spec(QUALITY, LICENCE, "curation", {"parquet"},
          "Gopher/C4-style text quality rules (thresholds in the policy); failing documents are rejected."),
]


@dg.multi_asset(specs=SPECS, can_subset=True, partitions_def=SOURCE_PARTITIONS, name="curate_source_documents")
def source_curation(context: dg.AssetExecutionContext, moisson: MoissonResource) -> Iterator[dg.MaterializeResult]:
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    step = _Steps(context, moisson, selected)
    frame = None  # the previous stage's documents, when this run made them
    for key in STEPS:
        if key not in selected:
            frame = None
            continue
        upstream = frame if frame is not None or key == RAW_RECORDS else step.read(STEPS[STEPS.index(key) - 1])
        frame, metadata = getattr(step, key)(upstream)
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)


class _Steps:
    """One method per asset: documents of the previous stage in, this stage's documents and metadata out."""

    def __init__(self, context: dg.AssetExecutionContext, moisson: MoissonResource, selected: set[str]):
        self.context, self.source = context, context.partition_key
        self.layout, self.config = moisson.layout(), moisson.config()
        self.policy = self.config.policy
        self.work = curation.PayloadWork(  # what the extraction workers also measure, for the steps in this run
            extraction=self.policy.extraction,
            language=self.policy.language if LANGUAGE in selected else None,
            quality=self.policy.quality if QUALITY in selected else None,
            documents=curation.document_options(self.policy),
        )
        self.selected = selected
        self.outcomes: dict[str, Outcome] | None = None  # content digest -> the workers' result, once they ran
        self.reused = 0  # of those, how many came from the extraction cache (an earlier run)
        self.cache = ExtractionCache(self.layout.extraction_cache_dir(self.source), self.layout.tmp_dir,
                                     self.work.fingerprints())

    def _keep(self, outcomes: dict[str, Outcome], cached: dict[str, Outcome]) -> None:
        """This pass's outcomes, complete, for the next steps and (the successful ones) for the next run."""
        self.reused = sum(1 for digest, outcome in outcomes.items() if cached.get(digest) is outcome)
        self.outcomes = curation.measure_missing(outcomes, self.work, execution=self.policy.execution)
        self.cache.replace(self.outcomes)

    def read(self, stage: str) -> pl.DataFrame:
        return read_stage(self.layout, stage, self.source)

    def raw_records(self, _: None) -> tuple[pl.DataFrame, dict]:
        """The source read shard by shard (moisson/sharded_harvest.py): only shards changed or failed since their
        last read are read; the raw stage file is their union."""
        stage_file = self.layout.stage_file(RAW_RECORDS, self.source)
        extracting = EXTRACTED in self.selected
        cached = self.cache.load() if extracting else None
        harvested = harvest_source(
            self.config, self.source, self.layout, stage_file, self.layout.stage_file(SITE_FILES, self.source),
            work=self.work if extracting else None, known=cached, on_outcome=self.cache.add,
            budget_s=curation.EXTRACTION_BUDGET_S, preload=curation.WORKER_MODULES, budget_of=self.work.budget,
            execution=self.policy.execution,
        )
        if extracting:
            self._keep(self._outcomes_of(harvested.records, stage_file, cached, harvested.outcomes or {}), cached)
        report_shards(self.context, self.source, harvested)
        records, stats = harvested.records, harvested.stats
        return records, {"dagster/row_count": records.height, **stats.as_metadata(),
                         "files_read": harvested.files_read, **self._failures("harvest", harvested.failures),
                         **shards_metadata(harvested),
                         "inputs_unchanged": not harvested.shards_read}

    def _outcomes_of(self, records: pl.DataFrame, stage_file: Path, cached: dict[str, Outcome],
                     fresh: dict[str, Outcome]) -> dict[str, Outcome]:
        """Every payload's outcome: this pass's (`fresh`), else the cache's, else (failed last time, or made
        another way) extracted again from the stage file."""
        digests = records["content_sha256"].unique(maintain_order=True).to_list()
        known = {digest: fresh.get(digest) or cached.get(digest) for digest in digests}
        missing = [digest for digest, outcome in known.items() if outcome is None]
        new = curation.extract_payloads(stage_payloads(stage_file, missing), self.work, budget_of=self.work.budget,
                                        execution=self.policy.execution) if missing else {}
        return {digest: outcome for digest, outcome in known.items() if outcome is not None} | new

    def extracted_documents(self, raw: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
        if self.outcomes is None:
            cached = self.cache.load()
            self._keep(curation.extract_payloads(raw, self.work, known=cached, budget_of=self.work.budget,
                                                 execution=self.policy.execution), cached)
        documents, failures = curation.extract_documents(raw, self.outcomes)
        return self._write(EXTRACTED, documents), describe(
            documents, rejected_by=["extraction"], **self._failures("extraction", failures), extractions_reused=self.reused)

    def language_filtered(self, documents: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
        guesses = curation.measured(self.outcomes, "language_guess")
        documents = self._write(LANGUAGE, curation.tag_languages(documents, self.policy, guesses))
        return documents, describe(documents, rejected_by=["language"], languages=_counts(documents, "language"))

    def licence_filtered(self, documents: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
        declared = self.config.source(self.source).license
        sites = read_site_files(self.layout.stage_file(SITE_FILES, self.source))
        licensed = curation.with_captured_sites(curation.decide_licences(documents, declared, self.policy), sites)
        decided = curation.decide_opt_outs(licensed, self.policy)
        documents = self._write(LICENCE, decided)
        return documents, describe(documents, rejected_by=["licence", "opt_out"], licences=_counts(documents, "license"),
                                   opt_out=_counts(documents, "opt_out"))

    def quality_filtered(self, documents: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
        verdicts = curation.measured(self.outcomes, "quality_verdict")
        judged = curation.filter_quality(documents, self.policy, verdicts)
        started = time.thread_time()  # what the redaction pass costs, for `make bench` to weigh against the run's CPU
        redacted = curation.redact_personal_data(judged, self.policy)
        personal_data_cpu_s = time.thread_time() - started
        documents = self._write(QUALITY, redacted)
        return documents, describe(documents, rejected_by=["quality", "personal_data"],
                                   personal_data=_personal_data_counts(documents),
                                   personal_data_cpu_s=round(personal_data_cpu_s, 3))

    def _write(self, stage: str, documents: pl.DataFrame) -> pl.DataFrame:
        write_stage(self.layout, stage, self.source, documents)
        return documents

    def _failures(self, stage: str, failures: list) -> dict:
        """Written for the warehouse, logged, and counted and listed (the first ones) in the asset's metadata."""
        write_failures(self.layout, stage, self.source, failures, self.context.run.run_id, self.context.log)
        return describe_failures(failures)


def _personal_data_counts(frame: pl.DataFrame) -> dg.MetadataValue:
    """Identifiers found per type over the source's documents (redacted, counted or rejecting alike)."""
    totals: dict[str, int] = {}
    for counts in frame["personal_data"].drop_nulls():
        for kind, count in json.loads(counts).items():
            totals[kind] = totals.get(kind, 0) + count
    return dg.MetadataValue.json(dict(sorted(totals.items())))


def _counts(frame: pl.DataFrame, column: str) -> dg.MetadataValue:
    counts = frame.filter(pl.col(column).is_not_null()).group_by(column).len().sort("len", descending=True)
    return dg.MetadataValue.json({row[column]: row["len"] for row in counts.to_dicts()})
