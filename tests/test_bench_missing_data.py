"""The benches `make bench`, `make bench-quality` and `make bench-filters` run stop with one clear line when their
data is not there: on a clone without ../shared, a user must read which folder is missing, not a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_bench(script: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=600)


def assert_one_clear_line(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0]


def test_the_pipeline_bench_names_the_folder_it_needs(tmp_path):
    result = run_bench(BENCH / "pipeline.py", "--data", str(tmp_path), "--skip-peer")
    assert_one_clear_line(result, str(tmp_path), "websample_part*.warc.gz", "websample_truth.tsv", "--data")


@pytest.fixture
def clone_without_shared(tmp_path):
    """The bench scripts as they sit in a clone whose parent folder holds no `shared/`."""
    bench = tmp_path / "clone" / "bench"
    shutil.copytree(BENCH, bench, ignore=shutil.ignore_patterns(".peers", "__pycache__"))
    return bench


@pytest.mark.parametrize("script, args, needles", [
    ("pipeline.py", ["--skip-peer"], ["shared/data/bench does not exist", "../shared/data"]),
    ("quality.py", ["--skip-peers"], ["shared/data/extraction/scrapinghub_aeb does not exist", "--extraction-set"]),
    ("quality.py", ["--skip-extraction", "--skip-peers"], ["shared/data/langid/udhr_eu24 does not exist", "--langid-set"]),
    ("filters.py", [], ["shared/data does not exist", "../shared/data"]),
])
def test_each_make_bench_target_stops_cleanly_on_a_clone_without_shared(clone_without_shared, script, args, needles):
    assert_one_clear_line(run_bench(clone_without_shared / script, *args), str(clone_without_shared.parents[1]), *needles)

