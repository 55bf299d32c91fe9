"""Publishing: the corpus and rejected Parquet trees, and the dataset card beside the corpus.

The trees only grow: a run appends the documents whose id is not in the tree yet, in new part
files named after the run. So a re-run adds nothing, and a run killed midway is completed by the
next one without a document written twice. Each part is written to tmp/ and renamed into place,
so no partial file is ever visible under the published folders.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from moisson.atomic_files import write_parquet

CORPUS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.large_string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("language", pa.string()),
        ("language_score", pa.float64()),
        ("license", pa.string()),
        ("license_evidence", pa.string()),
        ("source", pa.string()),
        ("source_kind", pa.string()),
        ("retrieved_at", pa.timestamp("us", tz="UTC")),
        ("content_sha256", pa.string()),
        ("n_chars", pa.int64()),
        ("n_words", pa.int64()),
        ("run_id", pa.string()),
        ("locator", pa.string()),
    ]
)
REJECTED_SCHEMA = CORPUS_SCHEMA.append(pa.field("reason", pa.string())).append(pa.field("reason_detail", pa.string())).append(
    pa.field("duplicate_of", pa.string())
)


def ids_in_tree(tree: Path) -> set[str]:
    if not any(tree.glob("*/*.parquet")):
        return set()
    pattern = str(tree / "*" / "*.parquet")
    with duckdb.connect() as con:
        return {row[0] for row in con.execute("SELECT id FROM read_parquet(?)", [pattern]).fetchall()}


def append_to_tree(
    frame: pl.DataFrame, tree: Path, partition: str, schema: pa.Schema, run_id: str, tmp_dir: Path,
    max_rows: int, max_bytes: int,
) -> int:
    """Write the rows whose id is not yet in the tree, one folder per `partition` value; return how many."""
    present = ids_in_tree(tree)
    new = frame.filter(~pl.col("id").is_in(list(present))).sort("retrieved_at", "id")
    for (value,), group in new.group_by(partition, maintain_order=True):
        folder = tree / _folder_name(value)
        for number, part in enumerate(_bounded_parts(group, max_rows, max_bytes)):
            table = part.select(schema.names).to_arrow().cast(schema)
            write_parquet(table, folder / f"part-{run_id}-{number:05d}.parquet", tmp_dir)
    return new.height


def _bounded_parts(frame: pl.DataFrame, max_rows: int, max_bytes: int):
    sizes = frame["text"].str.len_bytes().fill_null(0).to_list()
    start, total = 0, 0
    for index, size in enumerate(sizes):
        if index > start and (index - start >= max_rows or total + size > max_bytes):
            yield frame.slice(start, index - start)
            start, total = index, 0
        total += size
    if start < frame.height:
        yield frame.slice(start)


def _folder_name(value: str | None) -> str:
    return value if value else "unknown"


def corpus_texts(corpus_dir: Path) -> Callable[[list[str]], dict[str, str]]:
    """Look up published texts by id: deduplication verifies candidate pairs against them exactly."""

    def lookup(ids: list[str]) -> dict[str, str]:
        files = [str(path) for path in corpus_dir.glob("*/*.parquet")]
        if not files or not ids:
            return {}
        with duckdb.connect() as con:
            con.register("wanted", pa.table({"id": ids}))
            return dict(con.execute("SELECT id, text FROM read_parquet(?) JOIN wanted USING (id)", [files]).fetchall())

    return lookup
