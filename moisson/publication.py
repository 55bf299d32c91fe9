"""Publishing: the corpus and rejected Parquet trees, and the dataset card beside the corpus.

The trees only grow: a run appends the documents whose id is not in the tree yet, in new part
files. So a re-run adds nothing, and a run killed midway is completed by the next one without a
document written twice. Each part is written to tmp/ and renamed into place, so no partial file is
ever visible under the published folders.

Publications never overlap (the publish steps hold `moisson.publication_lock`), and if two ever did,
they still could not publish a document twice: a part is named after the ids it holds
(`part-<digest of its ids>.parquet`), so two writers of the same rows write the same file, and the
ids present are read again right before appending. A tree that holds an id twice all the same
(left by a version without the lock) is repaired by `remove_repeated_ids`: the earliest copy stays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from moisson.atomic_files import write_parquet
from moisson.parquet_files import duckdb_paths, parts
from moisson.takedowns import REASON as TAKEDOWN
from moisson.takedowns import Takedown, first_rules

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
        ("format", pa.string()),  # what was read: html, text, pdf, docx, odt, epub, tei, jats, image, wikitext
        ("page_starts", pa.list_(pa.int64())),  # paged formats: where each page starts in `text` (page N: index N-1)
    ]
)
REJECTED_SCHEMA = CORPUS_SCHEMA.append(pa.field("reason", pa.string())).append(pa.field("reason_detail", pa.string())).append(
    pa.field("duplicate_of", pa.string())
)


def ids_in_tree(tree: Path, pattern: str = "*/*.parquet") -> set[str]:
    files = parts(tree, pattern)
    if not files:
        return set()
    with duckdb.connect() as con:
        return {row[0] for row in con.execute("SELECT DISTINCT id FROM read_parquet(?)", [duckdb_paths(files)]).fetchall()}


def append_to_tree(
    frame: pl.DataFrame, tree: Path, partition: str, schema: pa.Schema, run_id: str, tmp_dir: Path,
    max_rows: int, max_bytes: int,
) -> int:
    """Write the rows whose id is not yet in the tree, one folder per `partition` value; return how many.

    An id given twice in `frame` is written once. `run_id` is kept for callers; the part names do not
    depend on it (see the module's docstring)."""
    conform_parts(tree, schema, tmp_dir)
    present = ids_in_tree(tree)
    new = frame.filter(~pl.col("id").is_in(list(present))).unique("id", keep="first", maintain_order=True)
    new = new.sort("retrieved_at", "id")
    for (value,), group in new.group_by(partition, maintain_order=True):
        folder = tree / _folder_name(value)
        for part in _bounded_parts(group, max_rows, max_bytes):
            table = part.select(schema.names).to_arrow().cast(schema)
            write_parquet(table, folder / part_name(part["id"].to_list()), tmp_dir)
    return new.height


def conform_parts(tree: Path, schema: pa.Schema, tmp_dir: Path) -> int:
    """Give the parts a version before this one wrote the columns added since (as nulls), atomically: a corpus
    keeps one schema, so `SELECT *` over all its parts works without `union_by_name`. Return the parts rewritten."""
    rewritten = 0
    for path in parts(tree):
        existing = pq.read_schema(path)
        missing = [field for field in schema if field.name not in existing.names]
        if not missing:
            continue
        table = pq.read_table(path)
        for field in missing:
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
        write_parquet(table.select([n for n in schema.names if n in table.column_names] +
                                   [n for n in table.column_names if n not in schema.names]), path, tmp_dir)
        rewritten += 1
    return rewritten


def part_name(ids: list[str]) -> str:
    """The file name of a part holding these ids, in this order: the same rows, the same name, whoever writes them."""
    digest = hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:24]
    return f"part-{digest}.parquet"


def remove_repeated_ids(tree: Path, tmp_dir: Path) -> dict[str, int]:
    """Drop every copy of an id but the first (parts by modification time, then name; rows in order), rewriting
    the parts that held the others (atomically; a part left empty is removed). Return rows removed per part."""
    files = sorted(parts(tree), key=lambda path: (path.stat().st_mtime_ns, path.name))
    if not files:
        return {}
    with duckdb.connect() as con:
        con.register("ranks", pa.table({"filename": [str(f) for f in files], "rank": list(range(len(files)))}))
        repeated = con.execute(REPEATED_COPIES, [duckdb_paths(files)]).fetchall()
    removed = {}
    for filename, rows in repeated:
        _remove_rows(Path(filename), rows, tmp_dir)
        removed[str(Path(filename).relative_to(tree))] = len(rows)
    return removed


# The rows (file, row number) holding a second or later copy of an id, files ranked by `ranks`.
REPEATED_COPIES = """
WITH published AS (
    SELECT id, filename, file_row_number FROM read_parquet(?, filename = true, file_row_number = true)
),
repeated AS (SELECT id FROM published GROUP BY id HAVING count(*) > 1),
copies AS (
    SELECT p.filename, p.file_row_number,
           row_number() OVER (PARTITION BY p.id ORDER BY r.rank, p.file_row_number) AS copy
    FROM published p JOIN repeated USING (id) JOIN ranks r USING (filename)
)
SELECT filename, list(file_row_number ORDER BY file_row_number) FROM copies WHERE copy > 1 GROUP BY filename ORDER BY filename
"""


@dataclass(frozen=True)
class TakenDown:
    """What applying the takedowns did to the published trees: rows that left the corpus, and rows moved from another
    rejected folder (documents rejected earlier for another reason) to `rejected/takedown/`."""

    corpus: int
    rejected: int


ERASED = ("text", "title", "page_starts")  # what a taken-down row loses: the removed content is published nowhere


def take_down_published(corpus_dir: Path, rejected_dir: Path, rules: Sequence[Takedown], tmp_dir: Path,
                        max_rows: int, max_bytes: int) -> TakenDown:
    """Move every published row a takedown rule matches to `rejected/takedown/` (reason `takedown`, the rule in
    `reason_detail`, its text, title and page offsets erased), out of the corpus tree and out of the other
    rejected folders. The parts that held them are rewritten atomically (a part left empty is deleted).

    The rows are written to `rejected/takedown/` first and removed from their parts after: a run killed between
    the two leaves a row in both places, never in neither; the next run removes it again, and the earlier copy
    of an id kept by `remove_repeated_ids` is then moved again, so it converges."""
    if not rules:
        return TakenDown(0, 0)
    conform_parts(corpus_dir, CORPUS_SCHEMA, tmp_dir)
    conform_parts(rejected_dir, REJECTED_SCHEMA, tmp_dir)
    takedown_folder = rejected_dir / TAKEDOWN
    hits = {"corpus": _matching_rows(parts(corpus_dir), rules),
            "rejected": _matching_rows([p for p in parts(rejected_dir) if p.parent != takedown_folder], rules)}
    removed = [_taken_down_rows(path, rows) for found in hits.values() for path, rows in found.items()]
    if removed:
        _append_taken_down(pl.concat(removed, how="diagonal_relaxed"), takedown_folder, tmp_dir, max_rows, max_bytes)
    for found in hits.values():
        for path, rows in found.items():
            _remove_rows(path, list(rows["file_row_number"]), tmp_dir)
    return TakenDown(corpus=sum(rows.height for rows in hits["corpus"].values()),
                     rejected=sum(rows.height for rows in hits["rejected"].values()))


def _matching_rows(files: list[Path], rules: Sequence[Takedown]) -> dict[Path, pl.DataFrame]:
    """Per part, its rows (file_row_number, takedown: the first matching rule's detail) some rule matches."""
    if not files:
        return {}
    with duckdb.connect() as con:
        published = pl.from_arrow(con.sql(
            "SELECT filename, file_row_number, id, url, content_sha256 FROM "
            "read_parquet(?, filename = true, file_row_number = true)", params=[duckdb_paths(files)]).to_arrow_table())
    hits = published.with_columns(takedown=first_rules(published, rules)).filter(pl.col("takedown").is_not_null())
    return {Path(name): rows.select("file_row_number", "takedown")
            for (name,), rows in hits.group_by("filename", maintain_order=True)}


def _taken_down_rows(path: Path, rows: pl.DataFrame) -> pl.DataFrame:
    """The rows of `path` that `rows` names, as rejected rows of reason takedown, content erased."""
    table = pq.read_table(path).take(pa.array(rows["file_row_number"].to_list(), pa.int64()))
    frame = pl.from_arrow(table)
    return frame.with_columns(
        *(pl.lit(None, frame.schema[name]).alias(name) for name in ERASED if name in frame.columns),
        reason=pl.lit(TAKEDOWN), reason_detail=rows["takedown"], duplicate_of=pl.lit(None, pl.String))


def _append_taken_down(frame: pl.DataFrame, folder: Path, tmp_dir: Path, max_rows: int, max_bytes: int) -> None:
    """The rows whose id `folder` does not hold yet, in parts named after their ids (as `append_to_tree` does)."""
    present = ids_in_tree(folder, "*.parquet")
    new = (frame.filter(~pl.col("id").is_in(list(present))).unique("id", keep="first", maintain_order=True)
           .sort("retrieved_at", "id"))
    for part in _bounded_parts(new, max_rows, max_bytes):
        table = part.select(REJECTED_SCHEMA.names).to_arrow().cast(REJECTED_SCHEMA)
        write_parquet(table, folder / part_name(part["id"].to_list()), tmp_dir)


def _remove_rows(path: Path, rows: list[int], tmp_dir: Path) -> None:
    """Rewrite `path` without these row numbers, atomically; delete it when nothing is left."""
    table = pq.read_table(path)
    keep = pc.invert(pc.is_in(pa.array(range(table.num_rows), pa.int64()), pa.array(rows, pa.int64())))
    kept = table.filter(keep)
    if kept.num_rows:
        write_parquet(kept, path, tmp_dir)
    else:
        path.unlink()


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
        files = parts(corpus_dir)
        if not files or not ids:
            return {}
        with duckdb.connect() as con:
            con.register("wanted", pa.table({"id": ids}))
            return dict(con.execute("SELECT id, text FROM read_parquet(?) JOIN wanted USING (id)",
                                    [duckdb_paths(files)]).fetchall())

    return lookup
