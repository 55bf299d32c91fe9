"""`moisson sql`: the warehouse, and the data directory's files, queried read-only.

Why restricted: the command is offered to anyone who can run `moisson`, often on a shared server next to
the published corpus, and DuckDB's SQL can read any file the process can (`read_text('/etc/passwd')`) and
write anywhere (`COPY ... TO 'corpus/fr/part-x.parquet'` would overwrite a published part). So the
warehouse is opened read-only, DuckDB's external access is switched off with only the data directory
allowed (the corpus Parquet files stay queryable: `read_parquet('<data>/corpus/*/*.parquet')`), the
configuration is locked so a query cannot switch it back, and only statements that read are run
(SELECT, EXPLAIN, PRAGMA; COPY, ATTACH, INSTALL, SET, EXPORT... are refused before anything runs).
"""

from __future__ import annotations

import sys

from moisson.layout import DataLayout

READING_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA"})
EXIT_FAILED = 1


def run_query(query: str, layout: DataLayout) -> int:
    """Print the query's result (50 rows at most); 1 with a message on stderr when it cannot or may not run."""
    import duckdb

    if not layout.warehouse.exists():
        print(f"no warehouse at {layout.warehouse}: run `moisson run` first", file=sys.stderr)
        return EXIT_FAILED
    with open_read_only(layout) as con:
        try:
            refused = refused_statements(con, query)
            if refused:
                print(f"query refused: `moisson sql` only reads ({', '.join(sorted(READING_STATEMENTS))}); "
                      f"this query has {', '.join(refused)}", file=sys.stderr)
                return EXIT_FAILED
            result = con.sql(query)
            if result is not None:
                result.show(max_width=200, max_rows=50)
        except duckdb.PermissionException as exc:
            print(f"query failed: {exc}\n(`moisson sql` reads files under {layout.root} only)", file=sys.stderr)
            return EXIT_FAILED
        except duckdb.Error as exc:
            print(f"query failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
    return 0


def open_read_only(layout: DataLayout):
    """The warehouse, read-only, able to read files under the data directory and nowhere else, for good."""
    import duckdb

    con = duckdb.connect(str(layout.warehouse), read_only=True)
    # DuckDB takes allowed_directories only once the database is open, and only while external access is on
    con.execute("SET allowed_directories = ?", [[str(layout.root) + "/"]])  # the '/': not <data>2 as a prefix
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def refused_statements(con, query: str) -> list[str]:
    """The kinds of statement in `query` that are not plain reads, in the order written (e.g. ['COPY'])."""
    kinds = [str(statement.type).rpartition(".")[2] for statement in con.extract_statements(query)]
    return [kind for kind in dict.fromkeys(kinds) if kind not in READING_STATEMENTS]
