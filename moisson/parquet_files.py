"""Parquet files handed to DuckDB and polars by name, never as patterns.

Why: both libraries read a path as a glob pattern, even a path listed in full, so a data directory named
`data[1]` reads `data1`'s files (`[1]` is a character class), and `data*` reads every sibling's. Files
are therefore listed with pathlib (which takes its root literally and applies the pattern only below it),
and each path goes to DuckDB with its pattern characters bracketed (`[[]` matches `[` and nothing else)
and to polars with globbing turned off.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

DUCKDB_PATTERN_CHARACTERS = frozenset("[*?{}")  # a lone `]` is already literal


def parts(folder: Path, pattern: str = "*/*.parquet") -> list[Path]:
    """The files under `folder` matching `pattern`, sorted; `folder` itself is taken literally."""
    return sorted(path for path in folder.glob(pattern) if path.is_file())


def duckdb_path(path: Path | str) -> str:
    """`path` as DuckDB's file readers match it literally."""
    return "".join(f"[{c}]" if c in DUCKDB_PATTERN_CHARACTERS else c for c in str(path))


def duckdb_paths(paths: list[Path] | list[str]) -> list[str]:
    """A list to pass as a parameter of `read_parquet(?)`: each file read once, none read as a pattern."""
    return [duckdb_path(path) for path in paths]


def duckdb_list_literal(paths: list[Path] | list[str]) -> str:
    """The same list written into SQL (for a query that cannot take a parameter, such as a view's text)."""
    return "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in duckdb_paths(paths)) + "]"


def read_frame(path: Path | list[Path], **options) -> pl.DataFrame:
    """polars' `read_parquet` on exactly these files."""
    return pl.read_parquet(_polars_source(path), glob=False, **options)


def scan_frame(path: Path | list[Path], **options) -> pl.LazyFrame:
    """polars' `scan_parquet` on exactly these files."""
    return pl.scan_parquet(_polars_source(path), glob=False, **options)


def _polars_source(path: Path | list[Path]) -> str | list[str]:
    return [str(p) for p in path] if isinstance(path, list) else str(path)
