"""Load a publication into the DuckDB warehouse: documents, sources, runs and failures, in one transaction.

Loads are delete-then-insert by key, so loading the same run twice changes nothing, and a load
killed midway is rolled back by DuckDB when the file is next opened.

One source's unreadable catalogue, harvest state or failures file must not keep every other source
out of the warehouse: each is read before the transaction starts; one that cannot be read is moved to
the data directory's quarantine folder, its source's previous rows stay, and the load records a
failure naming the file (stage `warehouse`, error class `CorruptFile`) and reports it in
`WarehouseLoad.unreadable`, for the caller to fail the run once everything else is in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from moisson.config import MoissonConfig
from moisson.documents import FAILURE_SCHEMA
from moisson.parquet_files import duckdb_path
from moisson.quarantine import CorruptFile, quarantine
from moisson.takedowns import REASON as TAKEDOWN
from moisson.takedowns import Takedown, first_rules, matched_counts

DOCUMENT_COLUMNS = (
    "id, status, reason, reason_detail, duplicate_of, similarity, text, url, title, language, language_score, "
    "language_method, language_hint, license, license_evidence, source, source_kind, locator, record_key, content_type, "
    "retrieved_at, content_sha256, n_chars, n_words, quality_signals, run_id, first_seen_run, format, page_starts, "
    "ocr_confidence, opt_out, opt_out_evidence, personal_data"
)

STAGE_INCOMING = """
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT i.*, ? AS run_id, coalesce(d.first_seen_run, ?) AS first_seen_run
FROM (SELECT DISTINCT ON (id) * FROM read_parquet(?)) AS i LEFT JOIN documents AS d USING (id)
"""
REPLACE_DOCUMENTS = f"""
DELETE FROM documents WHERE id IN (SELECT id FROM incoming);
INSERT INTO documents ({DOCUMENT_COLUMNS}) SELECT {DOCUMENT_COLUMNS} FROM incoming;
"""
UPSERT_SOURCE = """
INSERT OR REPLACE INTO sources (name, kind, paths, declared_license, description, citation, last_run_id, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
STAGE_FAILURES = """
CREATE OR REPLACE TEMP TABLE incoming_failures AS
SELECT DISTINCT ON (source, record, stage) source, record, stage, error_class, message, run_id FROM failure_rows
"""
UPSERT_FAILURES = """
INSERT INTO failures AS f (source, record, stage, error_class, message, run_id, first_seen_at, last_seen_at, retry_count, next_retry_at)
SELECT source, record, stage, error_class, message, run_id, $now, $now, 0, $next_retry FROM incoming_failures
ON CONFLICT (source, record, stage) DO UPDATE SET
    error_class = excluded.error_class,
    message = excluded.message,
    retry_count = CASE WHEN f.run_id = excluded.run_id THEN f.retry_count ELSE f.retry_count + 1 END,
    run_id = excluded.run_id,
    last_seen_at = CASE WHEN f.run_id = excluded.run_id THEN f.last_seen_at ELSE $now END,
    next_retry_at = $next_retry,
    resolved_at = NULL
"""
RESOLVE_FAILURES = """
UPDATE failures SET resolved_at = $now, next_retry_at = NULL
WHERE resolved_at IS NULL AND source IN (SELECT unnest($sources))
  AND (source, record, stage) NOT IN (SELECT (source, record, stage) FROM incoming_failures)
"""
NEWLY_KEPT = """
SELECT count(*) FROM incoming WHERE status = 'kept' AND id NOT IN (SELECT id FROM documents WHERE status = 'kept')
"""
RECORD_RUN = """
INSERT OR REPLACE INTO runs (run_id, started_at, finished_at, sources_file, policy, documents_seen, kept, rejected,
                             added_to_corpus, failures, user_agent)
SELECT ?, ?, ?, ?, ?, count(*), count(*) FILTER (WHERE status = 'kept'), count(*) FILTER (WHERE status = 'rejected'), ?,
       (SELECT count(*) FROM incoming_failures), ?
FROM incoming
"""


CATALOGUE_TABLES = ("datasets", "resources")  # replaced per source by name: DELETE, then INSERT BY NAME from the file's rows
CATALOGUE_KEYS = {"datasets": {"source", "dataset_id"}, "resources": {"source", "dataset_id", "resource_id"}}
# a takedown outranks every other decision, and what it names keeps no content in the warehouse either
TAKE_DOWN = f"""
UPDATE documents SET status = 'rejected', reason = '{TAKEDOWN}', reason_detail = t.detail, duplicate_of = NULL,
       similarity = NULL, text = NULL, title = NULL, page_starts = NULL
FROM takedown_hits AS t WHERE documents.id = t.id
"""
# the corpus as the warehouse knew it before this load, so that what a takedown removed from it is counted even
# when an interrupted publication had already moved it out of the corpus files
WAS_KEPT = "CREATE OR REPLACE TEMP TABLE was_kept AS SELECT id FROM documents WHERE status = 'kept'"
KEPT_TAKEN_DOWN = f"SELECT count(*) FROM documents JOIN was_kept USING (id) WHERE reason = '{TAKEDOWN}'"
UPSERT_HARVEST_STATE = """
INSERT OR REPLACE INTO harvest_state (source, watermark, checkpoint, pages_done, last_completed_at, last_error, loaded_run_id)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""


@dataclass(frozen=True)
class Publication:
    run_id: str
    started_at: datetime
    documents_file: Path
    failure_files: list[Path]
    catalogue_files: dict[str, tuple[Path, Path]] = field(default_factory=dict)  # source -> (datasets, resources)
    harvest_state_files: dict[str, Path] = field(default_factory=dict)  # source -> state/harvest/<source>.json
    data_root: Path | None = None  # unreadable files go to <data_root>/quarantine/; None: beside the warehouse
    takedowns: Sequence[Takedown] = ()  # the rules of takedowns.csv, applied to every document of the warehouse


@dataclass(frozen=True)
class WarehouseLoad:
    counts: dict[str, int]
    unreadable: list[CorruptFile]  # files moved to quarantine by this load: their sources' rows were not refreshed


@dataclass
class Inputs:
    """What the load reads besides the documents, read (and checked) before the transaction starts."""

    failures: pa.Table
    catalogues: dict[tuple[str, str], pa.Table]  # (source, table) -> rows
    harvest_states: dict[str, dict]
    unreadable: list[tuple[str, str, CorruptFile]]  # (source, file relative to the data directory, error)
    failures_unknown: set[str] = field(default_factory=set)  # sources whose failures file was unreadable


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(_sql("schema.sql"))
    con.execute(_sql("views.sql"))
    return con


def load_publication(warehouse: Path, config: MoissonConfig, publication: Publication) -> WarehouseLoad:
    now = datetime.now(timezone.utc)
    next_retry = now + timedelta(days=1)
    con = connect(warehouse)
    try:
        tables = {table: _columns(con, table) for table in CATALOGUE_TABLES}
        inputs = _read_inputs(publication, tables, publication.data_root or warehouse.parent)
        con.execute("BEGIN TRANSACTION")
        con.execute(STAGE_INCOMING, [publication.run_id, publication.run_id, duckdb_path(publication.documents_file)])
        added_to_corpus = con.execute(NEWLY_KEPT).fetchone()[0]
        if publication.takedowns:
            con.execute(WAS_KEPT)
        con.execute(REPLACE_DOCUMENTS)
        taken_down = _apply_takedowns(con, publication.takedowns, publication.run_id)
        kept_taken_down = con.execute(KEPT_TAKEN_DOWN).fetchone()[0] if publication.takedowns else 0
        for source in config.sources:
            con.execute(UPSERT_SOURCE, [source.name, source.kind, json.dumps(source.paths), source.license,
                                        source.description, source.citation, publication.run_id, now])
        _load_failures(con, inputs, publication.run_id, config.source_names, now, next_retry)
        _load_catalogues(con, inputs, publication.run_id)
        con.execute(RECORD_RUN, [publication.run_id, publication.started_at, now, str(config.base_dir),
                                 config.policy.model_dump_json(), added_to_corpus, config.http.full_user_agent])
        con.execute("COMMIT")
        counts = {**_counts(con), "added_to_corpus": added_to_corpus, "taken_down": taken_down,
                  "kept_taken_down": kept_taken_down}
        return WarehouseLoad(counts, [error for _, _, error in inputs.unreadable])
    except Exception:
        _rollback(con)
        raise
    finally:
        con.close()


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:  # no transaction open: the failure came before it
        pass


def _read_inputs(publication: Publication, tables: dict[str, set[str]], data_root: Path) -> Inputs:
    """Every failures file, catalogue and harvest state, each checked; an unreadable one is quarantined."""
    inputs = Inputs(pa.table({}), {}, {}, [])

    def set_aside(source: str, path: Path, cause: Exception, consequence: str) -> None:
        record = str(path.relative_to(data_root)) if path.is_relative_to(data_root) else str(path)
        inputs.unreadable.append((source, record, CorruptFile(path, quarantine(path, data_root), cause, consequence)))

    failures = []
    for path in publication.failure_files:
        try:
            failures.append(_failures_rows(path))
        except (OSError, pa.ArrowException, ValueError) as error:
            set_aside(path.stem, path, error, f"the failures it listed for source {path.stem!r} stay as they were")
            inputs.failures_unknown.add(path.stem)
    for source, paths in publication.catalogue_files.items():
        for table, path in zip(CATALOGUE_TABLES, paths):
            if not path.exists():
                continue
            try:
                inputs.catalogues[(source, table)] = _catalogue_rows(path, tables[table], CATALOGUE_KEYS[table])
            except (OSError, pa.ArrowException, ValueError) as error:
                set_aside(source, path, error, f"the warehouse keeps source {source!r}'s previous {table}; "
                                               "its next harvest rebuilds the file")
    for source, path in publication.harvest_state_files.items():
        if not path.exists():
            continue
        try:
            inputs.harvest_states[source] = _harvest_state(path)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            set_aside(source, path, error, f"the warehouse keeps source {source!r}'s previous harvest_state; "
                                           "its next harvest starts from the beginning")
    inputs.failures = pa.concat_tables([pa.table({n: pa.array([], pa.string()) for n in [*FAILURE_SCHEMA.names, "run_id"]}),
                                        *failures], promote_options="permissive")
    return inputs


def _failures_rows(path: Path) -> pa.Table:
    table = pq.read_table(path)
    missing = {*FAILURE_SCHEMA.names, "run_id"} - set(table.column_names)
    if missing:
        raise ValueError(f"not a failures file: no column {', '.join(sorted(missing))}")
    return table.select([*FAILURE_SCHEMA.names, "run_id"]).cast(
        pa.schema([*FAILURE_SCHEMA, pa.field("run_id", pa.string())]))


def _catalogue_rows(path: Path, columns: set[str], keys: set[str]) -> pa.Table:
    table = pq.read_table(path)
    unknown, missing = set(table.column_names) - columns, keys - set(table.column_names)
    if unknown or missing:
        raise ValueError(f"not a catalogue file: {'unknown column ' + ', '.join(sorted(unknown)) if unknown else ''}"
                         f"{'; ' if unknown and missing else ''}{'no column ' + ', '.join(sorted(missing)) if missing else ''}")
    return table


def _harvest_state(path: Path) -> dict:
    state = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict):
        raise ValueError("not a JSON object")
    return state


def _columns(con, table: str) -> set[str]:
    return {row[0] for row in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()}


def _apply_takedowns(con, rules: Sequence[Takedown], run_id: str) -> int:
    """Reject every document a rule matches (sources that did not run this time included) and replace the
    `takedowns` table with the rules and how many documents each matches. Return the documents taken down."""
    con.execute("DELETE FROM takedowns")
    if not rules:
        return 0
    documents = pl.from_arrow(con.sql("SELECT id, url, content_sha256 FROM documents").to_arrow_table())
    hits = documents.select("id").with_columns(detail=first_rules(documents, rules)).filter(pl.col("detail").is_not_null())
    con.register("takedown_hits", hits.to_arrow())
    try:
        con.execute(TAKE_DOWN)
    finally:
        con.unregister("takedown_hits")
    con.executemany("INSERT INTO takedowns VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [[r.line, r.match, r.value, r.date, r.reason, n, run_id]
                     for r, n in zip(rules, matched_counts(documents, rules))])
    return hits.height


def _load_failures(con, inputs: Inputs, run_id: str, sources: list[str], now: datetime, next_retry: datetime) -> None:
    """The sources' failures, and one for each file this load could not read (record: its path)."""
    unreadable = pa.Table.from_pylist(
        [{"source": source, "record": record, "stage": "warehouse", "error_class": "CorruptFile",
          "message": str(error), "run_id": run_id} for source, record, error in inputs.unreadable],
        schema=inputs.failures.schema)
    con.register("failure_rows", pa.concat_tables([inputs.failures, unreadable]))
    try:
        con.execute(STAGE_FAILURES)
    finally:
        con.unregister("failure_rows")
    con.execute(UPSERT_FAILURES, {"now": now, "next_retry": next_retry})
    # a source whose failures file was unreadable: its open failures cannot be told resolved, so they stay open
    con.execute(RESOLVE_FAILURES, {"now": now, "sources": [s for s in sources if s not in inputs.failures_unknown]})


def _load_catalogues(con, inputs: Inputs, run_id: str) -> None:
    """Each portal source's catalogue replaces its previous one (it is cumulative: nothing is lost), and its harvest state."""
    for (source, table), rows in inputs.catalogues.items():
        con.register("catalogue_rows", rows)
        try:
            con.execute(f"DELETE FROM {table} WHERE source = ?", [source])
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM catalogue_rows")
        finally:
            con.unregister("catalogue_rows")
    for source, state in inputs.harvest_states.items():
        con.execute(UPSERT_HARVEST_STATE, [source, state.get("watermark"), json.dumps(state.get("checkpoint")),
                                           state.get("pages_done"), state.get("last_completed_at"),
                                           state.get("last_error"), run_id])


def _counts(con) -> dict[str, int]:
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'kept'), (SELECT count(*) FROM failures WHERE resolved_at IS NULL) FROM documents"
    ).fetchone()
    return {"documents": row[0], "kept": row[1], "open_failures": row[2]}


def _sql(name: str) -> str:
    return files("warehouse").joinpath(name).read_text(encoding="utf-8")
