"""Hostile-run report: the pipeline against the fault scenario, and what it cost in documents and memory.

The scenario is tests/faults/hostile.py, the one the fault suite asserts: a CKAN portal on 127.0.0.1
whose resources reset connections, drip, truncate, lie about their length, answer 5xx bursts and
429s, loop redirects, redirect to 127.0.0.2, send gzip/zip bombs, tar traversal, XML entity bombs,
mislabelled charsets and invalid UTF-8, plus a second origin whose robots.txt forbids everything,
and local archives that are cut, corrupt in the middle, empty, not archives at all, or full of
pathological HTML.

Runs: the real `moisson run` twice on the same data directory (the second one retries every open
failure, as the nightly run would). Measured on the first: peak RSS = the largest sum of the
resident sets of the command and all its descendants, sampled every 0.1 s from /proc.

Figures:
- faults: faults injected; survived: faults after which the run still completed and published;
- documents expected: the good documents the scenario holds (must reach the corpus), present: how
  many did, lost = expected - present (must be 0);
- recorded: failing faults that left a row in the warehouse's `failures` table naming their record
  and the expected error class (faults survived by retrying leave no row, by design: nothing failed).

Usage: .venv/bin/python bench/faults_report.py [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import duckdb  # noqa: E402

from faults.hostile import build  # noqa: E402
from pipeline import measure  # noqa: E402  (bench/pipeline.py: process-tree RSS sampling)

MOISSON = Path(sys.executable).parent / "moisson"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="moisson-faults-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOISSON_", "DAGSTER_HOME"))}
    try:
        with ExitStack() as stack:
            scenario = build(work, stack)
            command = [str(MOISSON), "run", "--sources", str(scenario.sources_file), "--data-dir", str(work / "data")]
            first = measure(command, work, work / "run1.log", env)
            second = measure(command, work, work / "run2.log", env)
        runs = [first, second]
        completed = sum((work / "data" / "warehouse.duckdb").exists() and m.returncode in (0, 1) for m in runs)
        with duckdb.connect(str(work / "data" / "warehouse.duckdb"), read_only=True) as con:
            kept = {r[0] for r in con.execute("SELECT DISTINCT url FROM corpus").fetchall()}
            decided = {r[0] for r in con.execute("SELECT DISTINCT url FROM documents").fetchall()}
            failures = con.execute("SELECT record, error_class, retry_count FROM failures").fetchall()
            runs_rows = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        print(f"hostile scenario in {work}")
        print(f"{'fault':44} {'expected':18} observed")
        recorded = 0
        for fault in scenario.faults:
            if fault.expect == "document":
                observed = "document present" if _document_of(fault, scenario, kept) else "DOCUMENT MISSING"
            elif fault.expect == "decided":
                url = f"https://archive.example/{fault.name.removeprefix('html-')}"
                observed = "decided" if url in decided else "NOT DECIDED"
            else:
                hits = [(r, c) for r, c, _ in failures if fault.record in r and fault.expect in ("*", c)]
                recorded += bool(hits)
                observed = f"failure row: {hits[0][1]}" if hits else "NOT RECORDED"
            print(f"{fault.name:44} {fault.expect:18} {observed}")
        lost = len(scenario.expected_urls - kept)
        undecided = len(scenario.decided_urls - decided)
        survived = len(scenario.faults) if completed == len(runs) and not lost and not undecided else 0
        print()
        print(f"{'faults injected':44} {len(scenario.faults)}")
        print(f"{'runs completed':44} {completed} of {len(runs)} (exit codes {[m.returncode for m in runs]}, "
              f"{runs_rows} publications), wall {first.wall_s:.1f} s + {second.wall_s:.1f} s")
        print(f"{'documents expected / present':44} {len(scenario.expected_urls)} / {len(scenario.expected_urls & kept)}")
        print(f"{'documents lost':44} {lost}")
        print(f"{'pathological pages decided':44} {len(scenario.decided_urls) - undecided} of {len(scenario.decided_urls)}")
        print(f"{'failing faults recorded':44} {recorded} of {len(scenario.failing)} "
              f"({len(failures)} failure rows, max retry_count {max((r for *_, r in failures), default=0)})")
        print(f"{'peak RSS, first run (process tree)':44} {first.peak_rss_mb:.0f} MB")
        print(f"FIGURE faults={len(scenario.faults)} survived={survived} lost={lost} recorded={recorded} "
              f"peak_rss_mb={first.peak_rss_mb:.0f}")
        return 0 if lost == 0 and recorded == len(scenario.failing) and survived else 1
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _document_of(fault, scenario, kept: set[str]) -> bool:
    """A retried fault's document: the catalogue fault stands for the whole portal, a file fault for its own URL."""
    if fault.name.startswith("catalogue"):
        return any(url.startswith(scenario.servers[0].base) for url in kept)
    return any(url.endswith(f"/files/{fault.name}.html") for url in kept)


if __name__ == "__main__":
    sys.exit(main())
