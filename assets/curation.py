"""Per-source assets: harvest, extraction, language, licence, quality. One partition per source.

Each asset reads the previous stage's file for its source, applies one step, and writes its own
file: every document is kept in every file, rejected ones with their reason, so the graph can be
read top to bottom and any document followed from archive to decision.
"""


import polars as pl

import dagster as dg

from assets.catalogue import catalogue
from assets.partitions import SOURCE_PARTITIONS
from assets.resources import MoissonResource
from assets.stage_files import describe, read_stage, write_failures, write_stage
from moisson import curation
from moisson.documents import raw_records_table
from sources import RawRecord, ReadStats, read_source

COMMON = dict(partitions_def=SOURCE_PARTITIONS, owners=["team:data-engineering"])


@dg.asset(deps=[catalogue], group_name="harvest", kinds={"parquet"}, **COMMON)
def raw_records(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """Every HTML or plain-text record of the source, with its payload and provenance.

    Requests, revisits, metadata and non-text records are skipped and counted; unreadable records
    are recorded as failures (source, record, cause) and the rest of the source is read.
    """
    source = context.partition_key
    layout, stats = moisson.layout(), ReadStats()
    records, failures, seen = [], [], set()
    for item in read_source(moisson.config(), source, stats, layout):
        if not isinstance(item, RawRecord):
            failures.append(item)
        elif item.id in seen:
            stats.skipped["repeated_record"] += 1
        else:
            seen.add(item.id)
            records.append(item)
    write_stage(layout, "raw_records", source, raw_records_table(records))
    write_failures(layout, "harvest", source, failures, context.run.run_id, context.log)
    return dg.MaterializeResult(metadata={"dagster/row_count": len(records), **stats.as_metadata()})


@dg.asset(deps=[raw_records], group_name="curation", kinds={"parquet", "trafilatura"}, **COMMON)
def extracted_documents(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """Main text, title, page language and licence evidence of each record (trafilatura for HTML)."""
    source, layout = context.partition_key, moisson.layout()
    documents, failures = curation.extract_documents(read_stage(layout, "raw_records", source))
    write_stage(layout, "extracted_documents", source, documents)
    write_failures(layout, "extraction", source, failures, context.run.run_id, context.log)
    return dg.MaterializeResult(metadata=describe(documents, failures=len(failures)))


@dg.asset(deps=[extracted_documents], group_name="curation", kinds={"parquet", "langdetect"}, **COMMON)
def language_filtered(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """Language and score of each document (seeded langdetect); languages outside the policy are rejected."""
    source, layout = context.partition_key, moisson.layout()
    documents = curation.tag_languages(read_stage(layout, "extracted_documents", source), moisson.config().policy)
    write_stage(layout, "language_filtered", source, documents)
    return dg.MaterializeResult(metadata=describe(documents, languages=_counts(documents, "language")))


@dg.asset(deps=[language_filtered], group_name="curation", kinds={"parquet"}, **COMMON)
def licence_filtered(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """SPDX licence of each document, from its own markup, else its record, else the source's declaration.

    Fail-closed: unknown, conflicting or not-allowed licences are rejected.
    """
    source, layout, config = context.partition_key, moisson.layout(), moisson.config()
    documents = curation.decide_licences(
        read_stage(layout, "language_filtered", source), config.source(source).license, config.policy
    )
    write_stage(layout, "licence_filtered", source, documents)
    return dg.MaterializeResult(metadata=describe(documents, licences=_counts(documents, "license")))


@dg.asset(deps=[licence_filtered], group_name="curation", kinds={"parquet"}, **COMMON)
def quality_filtered(context: dg.AssetExecutionContext, moisson: MoissonResource) -> dg.MaterializeResult:
    """Gopher/C4-style text quality rules (thresholds in the policy); failing documents are rejected."""
    source, layout = context.partition_key, moisson.layout()
    documents = curation.filter_quality(read_stage(layout, "licence_filtered", source), moisson.config().policy)
    write_stage(layout, "quality_filtered", source, documents)
    return dg.MaterializeResult(metadata=describe(documents))


def _counts(frame: pl.DataFrame, column: str) -> dg.MetadataValue:
    counts = frame.filter(pl.col(column).is_not_null()).group_by(column).len().sort("len", descending=True)
    return dg.MetadataValue.json({row[column]: row["len"] for row in counts.to_dicts()})
