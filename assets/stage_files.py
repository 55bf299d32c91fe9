"""Reading and writing the per-source stage files that connect the assets, and describing them in the UI."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pyarrow as pa

import dagster as dg

from moisson.atomic_files import write_parquet
from moisson.documents import failures_table, rejection_counts
from moisson.layout import DataLayout
from moisson.parquet_files import read_frame
from sources.records import ReadFailure

PREVIEW_COLUMNS = ["id", "url", "title", "language", "license", "reason", "reason_detail"]
FAILURES_SHOWN, CAUSE_CHARS = 20, 300  # the first failures, in read order, are listed on the asset; all are in the warehouse
FAILURE_COLUMNS = dg.TableSchema(columns=[
    dg.TableColumn("record", description="where: file:line, file@byte offset, URL or dataset/resource"),
    dg.TableColumn("stage", description="catalogue, harvest, fetch or extraction"),
    dg.TableColumn("error_class"),
    dg.TableColumn("cause"),
])


def read_stage(layout: DataLayout, stage: str, source: str) -> pl.DataFrame:
    path = layout.stage_file(stage, source)
    if not path.exists():
        raise FileNotFoundError(f"{stage} has not been materialised for source {source!r} yet ({path}); run its upstream assets first")
    return read_frame(path)  # by name, never as a pattern (a data directory may be called data[1])


def write_stage(layout: DataLayout, stage: str, source: str, frame: pl.DataFrame | pa.Table) -> None:
    table = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
    write_parquet(table, layout.stage_file(stage, source), layout.tmp_dir)


def write_failures(layout: DataLayout, stage: str, source: str, failures: list[ReadFailure], run_id: str, log) -> None:
    """Failures are data (the warehouse's `failures` table) and also one clear line each in the run log."""
    for failure in failures:
        log.warning(str(failure))
    table = failures_table(failures).append_column("run_id", pa.array([run_id] * len(failures), pa.string()))
    write_parquet(table, layout.failures_file(stage, source), layout.tmp_dir)


def describe(frame: pl.DataFrame, rejected_by: Sequence[str] | None = None, **extra) -> dict:
    """Counts and a preview: what a data engineer checks first in the UI.

    A stage file holds every document the step was handed, those rejected here or earlier included (each with
    its reason), so `dagster/row_count` is the documents still in (no reason yet), `records_in` the stage's rows,
    `rejected` those rejected for one of this step's reasons (`rejected_by`), and `rejected_<reason>` every
    rejection so far by reason."""
    rejected = rejection_counts(frame) if "reason" in frame.columns else {}
    metadata = {
        "dagster/row_count": frame.height - sum(rejected.values()),
        "records_in": frame.height,
        **({"rejected": sum(rejected.get(reason, 0) for reason in rejected_by)} if rejected_by is not None else {}),
        **{f"rejected_{reason}": count for reason, count in rejected.items()},
        **extra,
    }
    columns = [c for c in PREVIEW_COLUMNS if c in frame.columns]
    if columns and frame.height:
        preview = frame.select(columns).head(10).with_columns(pl.col(pl.String).str.slice(0, 80))
        metadata["preview"] = dg.MetadataValue.md(_markdown_table(preview))
    return metadata


def describe_failures(failures: Sequence[ReadFailure]) -> dict:
    """The failure count, and the first failures as a table (record: file and line or byte offset, or URL; stage;
    error class; cause), so a failed record can be found from the asset's page without opening the warehouse."""
    metadata: dict = {"failures": len(failures)}
    if failures:
        shown = failures[:FAILURES_SHOWN]
        records = [dg.TableRecord({"record": f.record, "stage": f.stage, "error_class": f.error_class,
                                   "cause": f.message[:CAUSE_CHARS]}) for f in shown]
        metadata["failed_records"] = dg.MetadataValue.table(records, FAILURE_COLUMNS)
    return metadata


def _markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    rows = ("| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |" for row in frame.iter_rows())
    return header + "\n".join(rows)
