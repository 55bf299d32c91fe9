"""The corpus suite in a process of its own, which starts importing Great Expectations early.

Importing GX costs about 3.5 s of one core (scipy, altair, SQLAlchemy, pydantic v1 models): most of a
small run's wall time, and in a big run a pause with one core idle. `start()` begins that import in a
separate process as soon as `moisson run` starts, so that it overlaps Dagster's own start-up on the
other core; the corpus contract check then only sends the file to validate. Without `start()` (a run
launched from the UI), the first check starts the process itself, for the cost of importing GX in place.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from moisson.config import Policy
from moisson.workers import exit_with_parent

if TYPE_CHECKING:
    from quality.corpus_suite import SuiteResult

_validator: ProcessPoolExecutor | None = None


def start() -> None:
    """Start the validation process now; it imports GX while the caller goes on."""
    global _validator
    if _validator is None:
        _validator = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"),
                                         initializer=_prepare)
        _validator.submit(int)  # a pool starts its process on the first task, not before


def validate_kept_documents(stage_file: Path, policy: Policy) -> SuiteResult:
    """The suite on the documents of `stage_file` about to be published (status 'kept')."""
    global _validator
    start()
    try:
        return _validator.submit(_validate, str(stage_file), policy).result()
    except BrokenProcessPool as error:
        _validator = None  # the next check starts a fresh process
        raise RuntimeError(f"the Great Expectations process died while validating {stage_file}: {error}") from error


def _validate(stage_file: str, policy: Policy) -> SuiteResult:
    from quality.corpus_suite import validate_corpus_frame  # pandas, like GX, is needed in this process only

    kept = pl.scan_parquet(stage_file, glob=False).filter(pl.col("status") == "kept").collect()  # by name: a data dir may be data[1]
    return validate_corpus_frame(kept.to_pandas(), policy)


def _prepare() -> None:
    """In the validation process: go when the run goes, then import GX (the slow part, done ahead of the check)."""
    exit_with_parent()
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations.expectations  # noqa: F401  (the import is the point)
