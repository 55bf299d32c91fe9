"""Helpers for the end-to-end tests: run the real `moisson` console script and read what it published."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb

MOISSON = Path(sys.executable).parent / "moisson"


def run_moisson(sources: Path, data_dir: Path, *extra: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOISSON_", "DAGSTER_HOME"))}
    return subprocess.run([str(MOISSON), "run", "--sources", str(sources), "--data-dir", str(data_dir), *extra],
                          capture_output=True, text=True, timeout=timeout, env=env)


def start_moisson(sources: Path, data_dir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOISSON_", "DAGSTER_HOME"))}
    return subprocess.Popen([str(MOISSON), "run", "--sources", str(sources), "--data-dir", str(data_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def corpus_rows(data_dir: Path, columns: str = "id, text, language, license, source") -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            f"SELECT {columns} FROM read_parquet(?, hive_partitioning = false) ORDER BY id",
            [str(data_dir / "corpus" / "*" / "*.parquet")],
        ).fetchall()


def warehouse(data_dir: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)


def expected_decisions(demo: Path, portal: str | None = None) -> dict[str, dict]:
    """expected.tsv's rows: those of demo/sources.yaml, or with `portal` (the demo portal's address) those of the
    documents it serves, keyed by their URL there."""
    with (demo / "expected.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if portal is None:
        return {row["key"]: row for row in rows if row["kind"] != "ckan"}
    return {row["key"].replace("{{BASE}}", portal): row for row in rows if row["kind"] == "ckan"}


def document_key(url: str | None, record_key: str, source_kind: str) -> str:
    """The key expected.tsv uses: the URL, else `jsonl:<id>`, else the dump file's name."""
    if url:
        return url
    if "#id=" in record_key:
        return "jsonl:" + record_key.split("#id=", 1)[1]
    return Path(record_key).name
