"""The corpus contract's GX suite, run in its own process the way the blocking check runs it."""

import os
import signal
from datetime import datetime, timezone

import polars as pl
import pytest

from moisson.config import Policy
from orphans import processes_left_after_kill
from quality import suite_process

POLICY = Policy.model_validate({"languages": ["fr", "en"], "licenses": {"allow": ["CC-BY-4.0", "CC0-1.0"]}})


def document(doc_id: str, status: str = "kept", licence: str = "CC-BY-4.0", language: str = "fr") -> dict:
    return {"id": doc_id, "status": status, "text": "Le texte du document.", "language": language, "language_score": 0.99,
            "license": licence, "license_evidence": "declared by source: CC-BY-4.0", "source": "s", "source_kind": "warc",
            "retrieved_at": datetime(2026, 11, 1, tzinfo=timezone.utc), "content_sha256": "a" * 64, "n_chars": 21,
            "n_words": 4, "run_id": "r1"}


def stage_file(tmp_path, rows: list[dict]):
    path = tmp_path / "deduplicated.parquet"
    pl.DataFrame(rows).write_parquet(path)
    return path


def test_a_clean_corpus_passes_and_only_kept_documents_are_checked(tmp_path):
    rejected = document("3", status="rejected", licence="unknown", language="it") | {"text": None}
    result = suite_process.validate_kept_documents(stage_file(tmp_path, [document("1"), document("2"), rejected]), POLICY)
    assert result.success and result.checked_rows == 2 and result.failed == {}


def test_a_licence_off_the_allow_list_a_repeated_id_and_a_language_out_of_policy_fail_by_name(tmp_path):
    rows = [document("1"), document("1"), document("2", licence="CC-BY-NC-4.0"), document("3", language="de")]
    result = suite_process.validate_kept_documents(stage_file(tmp_path, rows), POLICY)
    assert not result.success and result.checked_rows == 4
    assert set(result.failed) == {"expect_column_values_to_be_unique(id)", "expect_column_values_to_be_in_set(license)",
                                  "expect_column_values_to_be_in_set(language)"}
    assert "CC-BY-NC-4.0" in result.failed["expect_column_values_to_be_in_set(license)"]


def test_a_dead_validation_process_is_a_clear_error_and_the_next_check_starts_a_new_one(tmp_path):
    path = stage_file(tmp_path, [document("1")])
    assert suite_process.validate_kept_documents(path, POLICY).success  # the process is up, GX imported
    for pid in list(suite_process._validator._processes):
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match="Great Expectations process died while validating .*deduplicated.parquet"):
        suite_process.validate_kept_documents(path, POLICY)
    assert suite_process.validate_kept_documents(path, POLICY).success


VALIDATOR_THEN_WAIT = """
import time
from multiprocessing import forkserver
from quality import suite_process
suite_process.start()
suite_process._validator.submit(int).result()  # the process is up, GX imported
print("PIDS", *suite_process._validator._processes, forkserver._forkserver._forkserver_pid, flush=True)
time.sleep(600)
"""


def test_the_validation_process_ends_when_the_run_that_started_it_is_killed():
    started, left = processes_left_after_kill(VALIDATOR_THEN_WAIT)
    assert len(started) == 2 and left == []
