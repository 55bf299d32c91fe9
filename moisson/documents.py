"""The shape of a document as it flows from raw record to corpus row, defined once.

Every stage keeps every document: a rejected one carries its `reason` (the first step that
rejected it) and a `reason_detail` in words, so nothing disappears silently between the archive and
the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl
import pyarrow as pa

from sources.records import RawRecord, ReadFailure

REASONS = ("extraction", "language", "licence", "opt_out", "quality", "personal_data", "exact_duplicate", "near_duplicate", "takedown")

RAW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("source_kind", pa.string()),
        ("record_key", pa.string()),
        ("locator", pa.string()),
        ("source_position", pa.int64()),  # order the source was read in (`RawRecord.position`): dedup keeps the first
        ("url", pa.string()),
        ("retrieved_at", pa.timestamp("us", tz="UTC")),
        ("content_type", pa.string()),
        ("charset", pa.string()),
        ("content_sha256", pa.string()),
        ("record_title", pa.string()),
        ("record_license", pa.string()),
        ("record_language", pa.string()),
        ("opt_out_headers", pa.string()),
        ("opt_out_site", pa.string()),
        ("payload", pa.large_binary()),
    ]
)

FAILURE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("record", pa.string()),
        ("stage", pa.string()),
        ("error_class", pa.string()),
        ("message", pa.string()),
    ]
)


RAW_FIELDS = {  # column -> RawRecord attribute
    "id": "id", "source": "source", "source_kind": "source_kind", "record_key": "record_key", "locator": "locator",
    "source_position": "position", "url": "url", "retrieved_at": "retrieved_at", "content_type": "content_type", "charset": "charset",
    "content_sha256": "content_sha256", "record_title": "title", "record_license": "license",
    "record_language": "language", "opt_out_headers": "opt_out_headers", "opt_out_site": "opt_out_site",
    "payload": "payload",
}


def raw_records_table(records: Sequence[RawRecord], schema: pa.Schema = RAW_SCHEMA) -> pa.Table:
    """Column by column: row dictionaries cost seconds per thousand megabyte-sized payloads."""
    return pa.Table.from_pydict({name: [getattr(r, RAW_FIELDS[name]) for r in records] for name in schema.names}, schema=schema)


RAW_METADATA_SCHEMA = pa.schema([f for f in RAW_SCHEMA if f.name != "payload"])


def failures_table(failures: Iterable[ReadFailure]) -> pa.Table:
    rows = [{name: getattr(f, name) for name in FAILURE_SCHEMA.names} for f in failures]
    return pa.Table.from_pylist(rows, schema=FAILURE_SCHEMA)


def pending(frame: pl.DataFrame) -> pl.Series:
    """Rows no step has rejected yet."""
    return frame["reason"].is_null()


def rejection_counts(frame: pl.DataFrame) -> dict[str, int]:
    counts = frame.filter(pl.col("reason").is_not_null()).group_by("reason").len().sort("reason")
    return {row["reason"]: row["len"] for row in counts.to_dicts()}
