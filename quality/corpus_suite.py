"""The corpus contract as a Great Expectations suite, built from the policy.

GX 1.x runs here on a pandas frame (the documents about to be published, or a sample of them):
GX on DuckDB through SQLAlchemy fails every expectation in this stack, and the dagster-ge
integration is pinned to GX < 1. great_expectations takes seconds to import, so it is imported
only here, and the check calls this in a process of its own (`quality.suite_process`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import pandas as pd

from moisson.config import Policy

REQUIRED_COLUMNS = ["id", "text", "language", "language_score", "license", "license_evidence", "source",
                    "source_kind", "retrieved_at", "content_sha256", "n_chars", "n_words", "run_id"]
SAMPLE_ROWS = 200_000


@dataclass(frozen=True)
class SuiteResult:
    success: bool
    checked_rows: int
    failed: dict[str, str]  # expectation -> what was wrong


def validate_corpus_frame(frame: pd.DataFrame, policy: Policy) -> SuiteResult:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    if len(frame) > SAMPLE_ROWS:
        frame = frame.sample(SAMPLE_ROWS, random_state=0)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    batch = (
        context.data_sources.add_pandas("moisson")
        .add_dataframe_asset("corpus")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name="corpus_contract")
    for column in REQUIRED_COLUMNS:
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="license", value_set=list(policy.licenses.allow)))
    if policy.languages != "all":
        suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="language", value_set=list(policy.languages)))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="language_score", min_value=0.0, max_value=1.0))
    suite.add_expectation(gxe.ExpectColumnValueLengthsToEqual(column="content_sha256", value=64))
    result = batch.validate(suite)
    failed = {
        f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})":
            f"{r.result.get('unexpected_count')} unexpected, e.g. {r.result.get('partial_unexpected_list', [])[:3]}"
        for r in result.results if not r.success
    }
    return SuiteResult(bool(result.success), len(frame), failed)
