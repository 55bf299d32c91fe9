"""Reading and writing the per-source stage files that connect the assets, and describing them in the UI."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

import dagster as dg

from moisson.atomic_files import write_parquet
from moisson.documents import failures_table, rejection_counts
from moisson.layout import DataLayout
from sources.records import ReadFailure

PREVIEW_COLUMNS = ["id", "url", "title", "language", "license", "reason", "reason_detail"]


def read_stage(layout: DataLayout, stage: str, source: str) -> pl.DataFrame:
    path = layout.stage_file(stage, source)
    if not path.exists():
        raise FileNotFoundError(f"{stage} has not been materialised for source {source!r} yet ({path}); run its upstream assets first")
    return pl.read_parquet(path)


def write_stage(layout: DataLayout, stage: str, source: str, frame: pl.DataFrame | pa.Table) -> None:
    table = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
    write_parquet(table, layout.stage_file(stage, source), layout.tmp_dir)


def write_failures(layout: DataLayout, stage: str, source: str, failures: list[ReadFailure], run_id: str, log) -> None:
    """Failures are data (the warehouse's `failures` table) and also one clear line each in the run log."""
    for failure in failures:
        log.warning(str(failure))
    table = failures_table(failures).append_column("run_id", pa.array([run_id] * len(failures), pa.string()))
    write_parquet(table, layout.failures_file(stage, source), layout.tmp_dir)


def describe(frame: pl.DataFrame, **extra) -> dict:
    """Row counts, rejections by reason and a preview: what a data engineer checks first in the UI."""
    rejected = rejection_counts(frame) if "reason" in frame.columns else {}
    metadata = {
        "dagster/row_count": frame.height,
        "kept_so_far": frame.height - sum(rejected.values()),
        **{f"rejected_{reason}": count for reason, count in rejected.items()},
        **extra,
    }
    columns = [c for c in PREVIEW_COLUMNS if c in frame.columns]
    if columns and frame.height:
        preview = frame.select(columns).head(10).with_columns(pl.col(pl.String).str.slice(0, 80))
        metadata["preview"] = dg.MetadataValue.md(_markdown_table(preview))
    return metadata


def _markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    rows = ("| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |" for row in frame.iter_rows())
    return header + "\n".join(rows)
