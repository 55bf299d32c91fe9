"""Asset checks: what must hold before, and after, a corpus is published.

The contract check on `deduplicated` is blocking: if a document about to be published lacks a
licence, has one outside the allow list, or is in a language the policy does not keep, the corpus
and the warehouse are not updated.
"""


import warnings

import duckdb
import polars as pl

import dagster as dg

from assets.curation import RAW_RECORDS
from assets.partitions import SOURCE_PARTITIONS
from assets.publication import corpus, deduplicated, warehouse
from assets.resources import MoissonResource
from moisson.documents import REASONS
from moisson.publication_lock import publication_lock, wait_seconds_from_env
from moisson.parquet_files import duckdb_list_literal, parts, read_frame, scan_frame
from quality import suite_process


@dg.asset_check(asset=deduplicated, blocking=True, description="GX suite: required columns, unique ids, licence allow list, policy languages.")
def corpus_contract(moisson: MoissonResource) -> dg.AssetCheckResult:
    layout, policy = moisson.layout(), moisson.config().policy
    kept = scan_frame(layout.deduplicated).filter(pl.col("status") == "kept").select(pl.len()).collect().item()
    if not kept:
        return dg.AssetCheckResult(passed=True, metadata={"checked_rows": 0})
    result = suite_process.validate_kept_documents(layout.deduplicated, policy)
    return dg.AssetCheckResult(
        passed=result.success,
        metadata={"checked_rows": result.checked_rows, "failed_expectations": dg.MetadataValue.json(result.failed)},
    )


@dg.asset_check(asset=deduplicated, blocking=True, description="Every harvested record has a decision: nothing dropped silently.")
def every_record_decided(moisson: MoissonResource) -> dg.AssetCheckResult:
    """Per source: records harvested = documents decided. A source whose later stages failed this
    time still has its previous, complete chain published, so it is reported as stale, not counted."""
    config, layout = moisson.config(), moisson.layout()
    decided = read_frame(layout.deduplicated, columns=["source", "status", "reason"])
    per_source, stale = {}, []
    for source in config.source_names:
        raw, curated = layout.stage_file("raw_records", source), layout.stage_file("quality_filtered", source)
        if not curated.exists():
            continue
        if raw.stat().st_mtime > curated.stat().st_mtime:
            stale.append(source)
            continue
        harvested = scan_frame(raw).select(pl.len()).collect().item()
        per_source[source] = (harvested, decided.filter(pl.col("source") == source).height)
    lost = {s: h - d for s, (h, d) in per_source.items() if h != d}
    undecided = decided.filter(~pl.col("status").is_in(["kept", "rejected"])).height
    undecided += decided.filter((pl.col("status") == "rejected") & ~pl.col("reason").is_in(list(REASONS))).height
    return dg.AssetCheckResult(
        passed=not lost and undecided == 0,
        metadata={"harvested_vs_decided": dg.MetadataValue.json(per_source), "lost": dg.MetadataValue.json(lost),
                  "stale_sources": dg.MetadataValue.json(stale), "undecided": undecided},
    )


@dg.asset_check(asset=corpus, description="Published ids are unique across all part files, and every part is readable.")
def corpus_ids_unique(moisson: MoissonResource) -> dg.AssetCheckResult:
    with _between_publications(moisson, "check corpus_ids_unique"), duckdb.connect() as con:
        total, distinct = con.execute(f"SELECT count(*), count(DISTINCT id) FROM {_published_ids(moisson)}").fetchone()
    return dg.AssetCheckResult(passed=total == distinct, metadata={"rows": total, "distinct_ids": distinct})


@dg.asset_check(asset=warehouse, description="The warehouse's kept documents are exactly the published corpus.")
def warehouse_matches_corpus(moisson: MoissonResource) -> dg.AssetCheckResult:
    published = _published_ids(moisson)
    with (_between_publications(moisson, "check warehouse_matches_corpus"),
          duckdb.connect(str(moisson.layout().warehouse), read_only=True) as con):
        only_in_one = con.execute(
            f"SELECT count(*) FROM ((SELECT id FROM corpus EXCEPT SELECT id FROM {published}) "
            f"UNION ALL (SELECT id FROM {published} EXCEPT SELECT id FROM corpus))"
        ).fetchone()[0]
        bad_status = con.execute(
            "SELECT count(*) FROM documents WHERE (status = 'rejected') <> (reason IS NOT NULL)"
        ).fetchone()[0]
    return dg.AssetCheckResult(
        passed=only_in_one == 0 and bad_status == 0,
        metadata={"ids_in_only_one_of_corpus_and_warehouse": only_in_one, "status_reason_mismatches": bad_status},
    )


def _between_publications(moisson: MoissonResource, holder: str):
    """The publication lock, so that a check reads one publication whole: another run's publish step may be
    rewriting the corpus or holding the warehouse (DuckDB refuses to open a file another process writes)."""
    layout = moisson.layout()
    return publication_lock(layout.publish_lock_file, holder, wait_seconds_from_env())


def _published_ids(moisson: MoissonResource) -> str:
    """The corpus part files as a DuckDB relation of ids; none yet (every document rejected so far) is no rows,
    not an error."""
    files = parts(moisson.layout().corpus_dir)
    if not files:
        return "(SELECT NULL::VARCHAR AS id WHERE false)"
    return f"read_parquet({duckdb_list_literal(files)})"  # each file by name: see moisson.parquet_files


# Partitioned checks are a Dagster preview; one failing source must not fail the others' check, so we use it knowingly.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message="Specifying a partitions_def on an AssetCheckSpec")


@dg.asset_check(asset=RAW_RECORDS, partitions_def=SOURCE_PARTITIONS, blocking=False,
                description="The source's harvest failure rate is within policy.failures.max_rate (per source).")
def harvest_failure_rate(context: dg.AssetCheckExecutionContext, moisson: MoissonResource) -> dg.AssetCheckResult:
    """failures / (records + failures) for one source, catalogue and harvest failures counted.

    Not blocking: a source that fails too often is flagged in the UI and by `moisson run`, while its
    good records, and every other source, still go on to the corpus."""
    source, layout, policy = context.partition_key, moisson.layout(), moisson.config().policy.failures
    records = _rows(layout.stage_file("raw_records", source))
    failures = {stage: _rows(layout.failures_file(stage, source)) for stage in ("catalogue", "harvest")}
    failed = sum(failures.values())
    rate = failed / (records + failed) if records + failed else 0.0
    return dg.AssetCheckResult(
        passed=rate <= policy.max_rate,
        metadata={"failure_rate": round(rate, 4), "max_rate": policy.max_rate, "records": records,
                  **{f"failures_{stage}": count for stage, count in failures.items()}},
        description=None if rate <= policy.max_rate else
        f"source {source!r}: {failed} of {records + failed} records failed ({rate:.0%}), more than the policy's {policy.max_rate:.0%}",
    )


def _rows(path) -> int:
    return scan_frame(path).select(pl.len()).collect().item() if path.exists() else 0


CHECKS = [corpus_contract, every_record_decided, corpus_ids_unique, warehouse_matches_corpus, harvest_failure_rate]
