"""The whole pipeline through the real `moisson` command, on the bundled demo data."""

import fcntl
import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml

from e2e import corpus_rows, document_key, expected_decisions, run_moisson, start_moisson, warehouse
from moisson.publication import CORPUS_SCHEMA

REQUIRED = ["id", "text", "url", "title", "language", "language_score", "license", "license_evidence", "source",
            "source_kind", "retrieved_at", "content_sha256", "n_chars", "n_words", "run_id"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One run over a private copy of the demo; several tests read what it published."""
    root = tmp_path_factory.mktemp("demo-run")
    demo = Path(shutil.copytree(Path(__file__).parents[1] / "demo", root / "demo"))
    data = root / "data"
    result = run_moisson(demo / "sources.yaml", data)
    assert result.returncode == 0, result.stdout + result.stderr
    return demo, data, result


def test_every_document_gets_the_expected_decision(demo_run):
    demo, data, _ = demo_run
    assert_expected_decisions(demo, data)


def test_the_faster_extractor_decides_the_demo_alike_and_the_run_records_it(tmp_path):
    """extraction.backend=resiliparse on the demo: same decisions; the warehouse's runs keep the policy that made them."""
    demo = Path(shutil.copytree(Path(__file__).parents[1] / "demo", tmp_path / "demo"))
    config = yaml.safe_load((demo / "sources.yaml").read_text())
    config["policy"]["extraction"] = {"backend": "resiliparse"}
    (demo / "sources.yaml").write_text(yaml.safe_dump(config))
    result = run_moisson(demo / "sources.yaml", tmp_path / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    assert_expected_decisions(demo, tmp_path / "data")
    with warehouse(tmp_path / "data") as con:
        policy = json.loads(con.execute("SELECT policy FROM runs").fetchone()[0])
    assert policy["extraction"] == {"backend": "resiliparse", "mode": "default", "ocr": "auto", "max_pages": 2000,
                                    "max_document_seconds": 300.0}  # defaults too


def assert_expected_decisions(demo: Path, data: Path) -> None:
    expected = expected_decisions(demo)
    with warehouse(data) as con:
        rows = con.execute("SELECT id, url, record_key, source_kind, status, reason, language, license, duplicate_of FROM documents").fetchall()
    keys = {row[0]: document_key(row[1], row[2], row[3]) for row in rows}
    assert sorted(keys.values()) == sorted(expected)
    for doc_id, url, record_key, kind, status, reason, language, licence, duplicate_of in rows:
        want = expected[keys[doc_id]]
        assert (status, reason or "") == (want["status"], want["reason"]), keys[doc_id]
        assert (language or "") == want["language"], keys[doc_id]  # an unreadable document has no language
        if want["license"]:
            assert licence == want["license"], keys[doc_id]
        assert (keys[duplicate_of] if duplicate_of else "") == want["duplicate_of"], keys[doc_id]


def test_corpus_contract(demo_run):
    _, data, _ = demo_run
    files = sorted((data / "corpus").glob("*/*.parquet"))
    assert {f.parent.name for f in files} == {"fr", "en", "de"}
    for path in files:
        meta = pq.ParquetFile(path).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        table = pq.read_table(path)
        assert table.schema.names[: len(REQUIRED)] == REQUIRED and table.schema.equals(CORPUS_SCHEMA)
        assert set(table.column("language").to_pylist()) == {path.parent.name}
    rows = corpus_rows(data, ", ".join(REQUIRED))
    assert len(rows) == 21 and all(all(v is not None for k, v in zip(REQUIRED, row) if k not in ("url", "title")) for row in rows)
    assert len({row[0] for row in rows}) == 21
    assert {row[6] for row in rows} <= {"CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "etalab-2.0"}
    assert not list((data / "corpus").rglob("*.tmp"))


def test_hugging_face_datasets_reads_the_corpus_and_its_card(demo_run):
    datasets = pytest.importorskip("datasets")
    _, data, _ = demo_run
    everything = datasets.load_dataset("parquet", data_files=str(data / "corpus" / "*" / "*.parquet"), split="train")
    assert everything.num_rows == 21 and "license_evidence" in everything.column_names
    french = datasets.load_dataset(str(data / "corpus"), "fr", split="train")
    assert set(french["language"]) == {"fr"} and french.num_rows == 7


def test_dataset_card_describes_the_corpus(demo_run):
    _, data, _ = demo_run
    card = (data / "corpus" / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert sorted(front["language"]) == ["de", "en", "fr"]
    assert {c["config_name"] for c in front["configs"]} == {"default", "fr", "en", "de"}
    assert "| CC-BY-4.0 |" in card and "web-sample" in card and "threshold: 0.8" in card
    assert "Cite as: Moisson demo web archive" in card


def test_rejected_documents_are_kept_beside_the_corpus_with_their_reason(demo_run):
    _, data, _ = demo_run
    reasons = {p.name for p in (data / "rejected").iterdir()}
    assert reasons == {"extraction", "language", "licence", "quality", "exact_duplicate", "near_duplicate"}
    table = pq.read_table(data / "rejected" / "near_duplicate")
    assert table.num_rows == 4 and all(table.column("duplicate_of").to_pylist())
    assert all(t for t in table.column("text").to_pylist())


def test_warehouse_tables_and_views(demo_run):
    _, data, _ = demo_run
    with warehouse(data) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 40
        assert con.execute("SELECT count(*) FROM corpus").fetchone()[0] == 21
        by_reason = dict(con.execute("SELECT reason, sum(documents) FROM rejections_by_reason GROUP BY 1").fetchall())
        assert by_reason == {"licence": 5, "quality": 5, "exact_duplicate": 3, "near_duplicate": 4, "language": 1,
                             "extraction": 1}
        licences = con.execute("SELECT license, documents FROM licence_breakdown WHERE status = 'kept'").fetchall()
        assert sum(n for _, n in licences) == 21
        assert [r[0] for r in con.execute("SELECT name FROM sources ORDER BY name").fetchall()] == ["my-dump", "web-sample"]
        run = con.execute("SELECT documents_seen, kept, rejected, added_to_corpus, failures FROM runs").fetchall()
        assert run == [(40, 21, 19, 21, 3)]
        failures = con.execute("SELECT source, record, stage, error_class FROM failures ORDER BY source, record").fetchall()
        assert failures[:2] == [("my-dump", "dumps/notes.jsonl:5", "harvest", "InvalidJSON"),
                                ("my-dump", "dumps/notes.jsonl:7", "harvest", "WrongShape")]
        # the archive's PDF has no page: read as a PDF now, it is a failure with its place in the archive
        (source, record, stage, error), = failures[2:]
        assert (source, stage, error) == ("web-sample", "extraction", "PdfUnreadable")
        assert re.fullmatch(r"archives/web-sample\.warc\.gz[:@#].*\d+", record), record


def test_cli_prints_where_things_are_and_queries_to_try(demo_run):
    _, data, result = demo_run
    assert str(data / "warehouse.duckdb") in result.stdout and "rejections_by_reason" in result.stdout
    assert "dumps/notes.jsonl:5" in result.stdout + result.stderr  # the failure is a clear log line


def test_rerun_adds_nothing_and_a_new_archive_is_deduplicated_against_the_corpus(demo_run, tmp_path):
    shared_demo, data, _ = demo_run
    demo = Path(shutil.copytree(shared_demo, tmp_path / "demo"))  # its files keep their times: the same inputs
    data2 = tmp_path / "data"
    shutil.copytree(data, data2)
    before = corpus_rows(data2)
    files_before = sorted(p.name for p in (data2 / "corpus").glob("*/*.parquet"))
    again = run_moisson(demo / "sources.yaml", data2)
    assert again.returncode == 0, again.stderr
    assert reused_extractions(again.stdout) == extracted_payloads(data)
    # the archive, read without a failure, is not read again; the dump had failures, which are retried
    assert report_values(again.stdout, "inputs_unchanged") == {"web-sample": "True", "my-dump": "False"}
    assert corpus_rows(data2) == before
    assert sorted(p.name for p in (data2 / "corpus").glob("*/*.parquet")) == files_before
    with warehouse(data2) as con:
        assert con.execute("SELECT count(*), sum(added_to_corpus) FROM runs").fetchone() == (2, 21)
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 40
        assert con.execute("SELECT max(retry_count) FROM failures").fetchone()[0] == 1
    decided = pl.read_parquet(data2 / "stages" / "quality_filtered" / "web-sample.parquet")

    archive = sorted((demo / "archives").glob("*.warc.gz"))[0]  # touched: the archive is read again
    os.utime(archive, ns=(archive.stat().st_atime_ns, archive.stat().st_mtime_ns + 1_000_000_000))
    third = run_moisson(demo / "sources.yaml", data2)
    assert third.returncode == 0, third.stderr
    assert report_values(third.stdout, "inputs_unchanged")["web-sample"] == "False"
    assert pl.read_parquet(data2 / "stages" / "quality_filtered" / "web-sample.parquet").equals(decided)
    assert corpus_rows(data2) == before


def test_after_a_threshold_change_cached_extractions_give_what_a_fresh_run_gives(demo_run, tmp_path):
    """The quality threshold changes: the next run takes every extraction from the cache, measures quality
    again, and decides each document exactly as a run on an empty data directory does."""
    demo, data, _ = demo_run
    cached, fresh = tmp_path / "cached", tmp_path / "fresh"
    shutil.copytree(data, cached)
    config = yaml.safe_load((demo / "sources.yaml").read_text())
    config["policy"].setdefault("quality", {})["min_words"] = 120
    stricter = demo / "stricter.yaml"  # beside the sources file: its paths are relative to it
    stricter.write_text(yaml.safe_dump(config))
    reused = {}
    for data_dir in (cached, fresh):
        result = run_moisson(stricter, data_dir)
        assert result.returncode == 0, result.stdout + result.stderr
        reused[data_dir.name] = reused_extractions(result.stdout)
    assert reused == {"cached": extracted_payloads(data), "fresh": {source: 0 for source in extracted_payloads(data)}}

    def decisions(data_dir: Path) -> pl.DataFrame:
        columns = ["id", "text", "language", "license", "reason", "reason_detail", "quality_signals"]
        return pl.concat([pl.read_parquet(path, columns=columns) for path in
                          sorted((data_dir / "stages" / "quality_filtered").glob("*.parquet"))]).sort("id")

    assert decisions(cached).equals(decisions(fresh))
    assert decisions(cached).filter(pl.col("reason_detail").str.starts_with("min_words")).height > \
        decisions(data).filter(pl.col("reason_detail").str.starts_with("min_words")).height


def test_another_extractor_on_an_unchanged_archive_extracts_again_from_the_stage_file(demo_run, tmp_path):
    """The archive is not read again, yet none of its cached extractions fits the new backend: every page is
    extracted again from the raw stage file's payloads, and decided as a run on an empty data directory does."""
    demo, data, _ = demo_run
    shutil.copytree(data, tmp_path / "data")
    config = yaml.safe_load((demo / "sources.yaml").read_text())
    config["policy"]["extraction"] = {"backend": "resiliparse"}
    faster = demo / "faster.yaml"
    faster.write_text(yaml.safe_dump(config))
    result = run_moisson(faster, tmp_path / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    assert report_values(result.stdout, "inputs_unchanged")["web-sample"] == "True"
    assert reused_extractions(result.stdout)["web-sample"] == 0
    assert_expected_decisions(demo, tmp_path / "data")


def reused_extractions(report: str) -> dict[str, int]:
    """source -> extractions_reused, from the run report's per-source sections."""
    return {source: int(value) for source, value in report_values(report, "extractions_reused").items()}


def report_values(report: str, key: str) -> dict[str, str]:
    """source -> the value the run report prints for `key` in that source's section."""
    sources = re.findall(r"==> curating source (\S+)", report)
    return dict(zip(sources, re.findall(rf"\b{key}=(\S+)", report), strict=True))


def extracted_payloads(data: Path) -> dict[str, int]:
    """source -> distinct payloads extracted without failure, from the extraction stage files."""
    return {path.stem: pl.read_parquet(path).filter(pl.col("reason").ne_missing("extraction"))["content_sha256"].n_unique()
            for path in (data / "stages" / "extracted_documents").glob("*.parquet")}


def test_killed_run_then_restart_equals_a_clean_run(demo_run, tmp_path):
    demo, clean, _ = demo_run
    data = tmp_path / "data"
    marks = [data / "stages" / "quality_filtered" / "web-sample.parquet", data / "stages" / "deduplicated.parquet"]
    for mark in marks:  # kill after curation of the first source, then right after deduplication
        process = start_moisson(demo / "sources.yaml", data)
        deadline = time.monotonic() + 120
        while not mark.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finished = run_moisson(demo / "sources.yaml", data)
    assert finished.returncode == 0, finished.stderr
    assert corpus_rows(data) == corpus_rows(clean)
    assert not list((data / "corpus").rglob("*.tmp"))
    with warehouse(data) as con, warehouse(clean) as ref:
        query = "SELECT id, status, reason, duplicate_of FROM documents ORDER BY id"
        assert con.execute(query).fetchall() == ref.execute(query).fetchall()


def lock_is_held(lock_file) -> bool:
    """The first run holds its lock (not merely created the file): probed without taking it for long."""
    if not lock_file.exists():
        return False
    with open(lock_file, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_a_second_run_on_the_same_data_dir_exits_with_a_clear_message(demo_run, tmp_path):
    demo, _, _ = demo_run
    data = tmp_path / "data"
    first = start_moisson(demo / "sources.yaml", data)
    try:
        deadline = time.monotonic() + 300
        while not lock_is_held(data / ".moisson.lock") and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_moisson(demo / "sources.yaml", data)
        assert second.returncode == 3 and "another moisson run is using" in second.stderr
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0


def test_config_errors_stop_before_anything_runs(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - {name: x, kind: warc, paths: [a], licence: MIT}\npolicy: {licenses: {allow: [MIT]}}\n")
    result = run_moisson(bad, tmp_path / "data")
    assert result.returncode == 2 and "source 'x'" in result.stderr and "'licence'" in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_run_where_every_document_is_rejected_publishes_an_empty_corpus_and_passes(tmp_path):
    """Nothing kept is a result when the policy says so (`corpus.min_documents: 0`): the corpus checks must not fail
    for want of part files."""
    (tmp_path / "notes.jsonl").write_text(json.dumps({"id": "1", "text": "Too short to be a document.", "url": "https://ex.org/1"}) + "\n")
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": [{"name": "notes", "kind": "files", "paths": ["notes.jsonl"], "license": "CC0-1.0"}],
                                       "policy": {"languages": "all", "licenses": {"allow": ["CC0-1.0"]}, "corpus": {"min_documents": 0}}}))
    result = run_moisson(sources, tmp_path / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check corpus_ids_unique          passed" in result.stdout
    assert "check warehouse_matches_corpus   passed" in result.stdout
    with warehouse(tmp_path / "data") as con:
        assert con.execute("SELECT status, reason FROM documents").fetchall() == [("rejected", "quality")]
        assert con.execute("SELECT count(*) FROM corpus").fetchone()[0] == 0
