"""Load a publication into the DuckDB warehouse: documents, sources, runs and failures, in one transaction.

Loads are delete-then-insert by key, so loading the same run twice changes nothing, and a load
killed midway is rolled back by DuckDB when the file is next opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path

import duckdb

from moisson.config import MoissonConfig

DOCUMENT_COLUMNS = (
    "id, status, reason, reason_detail, duplicate_of, similarity, text, url, title, language, language_score, "
    "language_method, language_hint, license, license_evidence, source, source_kind, locator, record_key, content_type, "
    "retrieved_at, content_sha256, n_chars, n_words, quality_signals, run_id, first_seen_run"
)

STAGE_INCOMING = """
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT i.*, ? AS run_id, coalesce(d.first_seen_run, ?) AS first_seen_run
FROM read_parquet(?) AS i LEFT JOIN documents AS d USING (id)
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
SELECT DISTINCT ON (source, record, stage) * FROM read_parquet(?, union_by_name = true)
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
INSERT OR REPLACE INTO runs
SELECT ?, ?, ?, ?, ?, count(*), count(*) FILTER (WHERE status = 'kept'), count(*) FILTER (WHERE status = 'rejected'), ?,
       (SELECT count(*) FROM incoming_failures)
FROM incoming
"""


REPLACE_CATALOGUE = {
    "datasets": ("DELETE FROM datasets WHERE source = ?", "INSERT INTO datasets BY NAME SELECT * FROM read_parquet(?)"),
    "resources": ("DELETE FROM resources WHERE source = ?", "INSERT INTO resources BY NAME SELECT * FROM read_parquet(?)"),
}
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


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(_sql("schema.sql"))
    con.execute(_sql("views.sql"))
    return con


def load_publication(warehouse: Path, config: MoissonConfig, publication: Publication) -> dict[str, int]:
    now = datetime.now(timezone.utc)
    next_retry = now + timedelta(days=1)
    con = connect(warehouse)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(STAGE_INCOMING, [publication.run_id, publication.run_id, str(publication.documents_file)])
        added_to_corpus = con.execute(NEWLY_KEPT).fetchone()[0]
        con.execute(REPLACE_DOCUMENTS)
        for source in config.sources:
            con.execute(UPSERT_SOURCE, [source.name, source.kind, json.dumps(source.paths), source.license,
                                        source.description, source.citation, publication.run_id, now])
        _load_failures(con, publication.failure_files, config.source_names, now, next_retry)
        _load_catalogues(con, publication)
        con.execute(RECORD_RUN, [publication.run_id, publication.started_at, now, str(config.base_dir),
                                 config.policy.model_dump_json(), added_to_corpus])
        con.execute("COMMIT")
        return {**_counts(con), "added_to_corpus": added_to_corpus}
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def _load_failures(con, failure_files: list[Path], sources: list[str], now: datetime, next_retry: datetime) -> None:
    if failure_files:
        con.execute(STAGE_FAILURES, [[str(p) for p in failure_files]])
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE incoming_failures AS SELECT * FROM failures WHERE false")
    con.execute(UPSERT_FAILURES, {"now": now, "next_retry": next_retry})
    con.execute(RESOLVE_FAILURES, {"now": now, "sources": sources})


def _load_catalogues(con, publication: Publication) -> None:
    """Each portal source's catalogue replaces its previous one (it is cumulative: nothing is lost), and its harvest state."""
    for source, files in publication.catalogue_files.items():
        for table, path in zip(("datasets", "resources"), files):
            if path.exists():
                delete, insert = REPLACE_CATALOGUE[table]
                con.execute(delete, [source])
                con.execute(insert, [str(path)])
    for source, path in publication.harvest_state_files.items():
        if path.exists():
            state = json.loads(path.read_text(encoding="utf-8"))
            con.execute(UPSERT_HARVEST_STATE, [source, state.get("watermark"), json.dumps(state.get("checkpoint")),
                                               state.get("pages_done"), state.get("last_completed_at"),
                                               state.get("last_error"), publication.run_id])


def _counts(con) -> dict[str, int]:
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'kept'), (SELECT count(*) FROM failures WHERE resolved_at IS NULL) FROM documents"
    ).fetchone()
    return {"documents": row[0], "kept": row[1], "open_failures": row[2]}


def _sql(name: str) -> str:
    return files("warehouse").joinpath(name).read_text(encoding="utf-8")
