"""The Dagster side: definitions load, partitions follow the sources file, schedule and sensors decide right."""

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest

DG = Path(sys.executable).parent / "dg"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def deployment(demo_copy, tmp_path, monkeypatch):
    """Environment of a deployment on a copy of the demo, as `make ui` sets it."""
    monkeypatch.setenv("MOISSON_SOURCES", str(demo_copy / "sources.yaml"))
    monkeypatch.setenv("MOISSON_DATA_DIR", str(tmp_path / "data"))
    return demo_copy, tmp_path / "data"


def dg_check_defs(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`dg check defs` from the project folder, as a user types it there (its venv active, an instance home set)."""
    (tmp_path / "dagster-home").mkdir(exist_ok=True)
    (tmp_path / "dagster-home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster-home"), "VIRTUAL_ENV": sys.prefix, **env}
    return subprocess.run([str(DG), "check", "defs"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_dg_check_defs_loads_the_project_from_its_pyproject(deployment, tmp_path):
    result = dg_check_defs(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "All definitions loaded successfully" in output and "warning" not in output.lower(), output


def test_a_broken_sources_file_fails_dg_check_defs_with_a_clear_error(deployment, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("sources: []\npolicy: {licenses: {allow: [MIT]}}\n")
    result = dg_check_defs(tmp_path, MOISSON_SOURCES=str(broken))
    assert result.returncode != 0 and "broken.yaml: invalid sources file" in result.stdout + result.stderr


def load_definitions():
    """Import the definitions fresh, so they read this test's environment."""
    for name in [m for m in sys.modules if m.startswith(("pipelines", "assets", "quality.checks"))]:
        del sys.modules[name]
    from pipelines import definitions

    return definitions.defs


def test_graph_jobs_partitions_and_checks(deployment):
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"catalogue", "raw_records", "extracted_documents", "language_filtered", "licence_filtered", "quality_filtered",
                    "deduplicated", "corpus", "warehouse", "source_shards"}
    assert graph.get(dg.AssetKey("raw_records")).partitions_def.get_partition_keys() == ["web-sample", "my-dump"]
    assert graph.get(dg.AssetKey("corpus")).partitions_def is None
    checks = {k.name: k for k in graph.asset_check_keys}
    assert {"corpus_contract", "every_record_decided", "corpus_ids_unique", "warehouse_matches_corpus"} <= set(checks)
    assert defs.resolve_job_def("curate_source").partitions_def is not None


def test_nightly_schedule_asks_for_one_run_per_source(deployment):
    from pipelines.schedules import nightly_curation

    load_definitions()
    from pipelines.schedules import nightly_curation

    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 12, 1, 2, tzinfo=timezone.utc))
    requests = list(nightly_curation(context))
    assert [(r.partition_key, r.run_key) for r in requests] == [("web-sample", "2026-12-01:web-sample"),
                                                                  ("my-dump", "2026-12-01:my-dump")]
    assert nightly_curation.cron_schedule == "0 2 * * *"


def test_sensors_start_curation_on_new_warc_files_and_publication_after_it(deployment):
    demo, data = deployment
    defs = load_definitions()
    from assets.resources import MoissonResource
    from pipelines.sensors import new_warc_files, publish_after_curation

    resource = MoissonResource(sources_file=str(demo / "sources.yaml"), data_dir=str(data))
    with dg.instance_for_test() as instance:
        first = dg.build_sensor_context(instance=instance, resources={"moisson": resource})
        requests = new_warc_files(first).run_requests
        assert [r.partition_key for r in requests] == ["web-sample"]
        again = dg.build_sensor_context(instance=instance, cursor=first.cursor, resources={"moisson": resource})
        assert new_warc_files(again).run_requests == []
        (demo / "archives" / "more.warc").write_bytes((demo / "archives" / "web-extra.warc").read_bytes())
        after_new_file = new_warc_files(dg.build_sensor_context(instance=instance, cursor=first.cursor,
                                                                 resources={"moisson": resource})).run_requests
        assert [r.partition_key for r in after_new_file] == ["web-sample"]

        assert isinstance(publish_after_curation(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        result = defs.resolve_job_def("curate_source").execute_in_process(partition_key="my-dump", instance=instance)
        assert result.success
        request = publish_after_curation(dg.build_sensor_context(instance=instance))
        assert isinstance(request, dg.RunRequest)
        assert defs.resolve_job_def("publish").execute_in_process(instance=instance).success
        assert isinstance(publish_after_curation(dg.build_sensor_context(instance=instance)), dg.SkipReason)


def test_a_curation_step_materialised_alone_decides_like_the_single_pass(deployment):
    """The per-source assets run as one streamed pass, or one at a time from the previous stage's file
    (a re-run after a policy change): both must give the same documents."""
    import polars as pl

    demo, data = deployment
    defs = load_definitions()
    from assets.curation import STEPS

    def stage(name: str) -> pl.DataFrame:
        return pl.read_parquet(data / "stages" / name / "web-sample.parquet").sort("id")

    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("curate_source")
        assert job.execute_in_process(partition_key="web-sample", instance=instance).success
        one_pass = {name: stage(name) for name in STEPS[1:]}
        assert one_pass["quality_filtered"]["reason"].null_count() > 0  # some documents kept
        assert one_pass["quality_filtered"]["reason"].drop_nulls().n_unique() >= 2  # and several reasons to reject
        cache = data / "state" / "extractions" / "web-sample"
        extracted = one_pass["extracted_documents"].filter(pl.col("reason").ne_missing("extraction"))["content_sha256"].n_unique()
        # extraction without the cache (extracted here), then with the one it left (nothing extracted)
        for selection, reused in ((STEPS[1:], 0), (STEPS[1:], extracted), (["language_filtered"], None),
                                  (["quality_filtered"], None)):
            (data / "stages" / selection[-1] / "web-sample.parquet").unlink()
            if reused == 0:
                shutil.rmtree(cache)
            result = job.execute_in_process(partition_key="web-sample", instance=instance,
                                            asset_selection=[dg.AssetKey(name) for name in selection])
            assert result.success
            materialised = {e.asset_key.to_user_string(): e.materialization.metadata
                            for e in result.get_asset_materialization_events()}
            assert set(materialised) == set(selection)
            if reused is not None:
                assert materialised["extracted_documents"]["extractions_reused"].value == reused
            for name in selection:
                assert stage(name).equals(one_pass[name]), name


FILTERS = {"extracted_documents": ["extraction"], "language_filtered": ["language"], "licence_filtered": ["licence"],
           "quality_filtered": ["quality"], "deduplicated": ["exact_duplicate", "near_duplicate"]}


def stored_metadata(instance: dg.DagsterInstance, asset: str) -> dict:
    """The asset's last materialisation as the instance stored it (what the UI shows), values unwrapped."""
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def test_row_count_of_a_filter_is_the_documents_it_keeps_beside_what_it_received_and_rejected(deployment):
    import polars as pl

    demo, data = deployment
    defs = load_definitions()
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("curate_source").execute_in_process(partition_key="web-sample", instance=instance).success
        assert defs.resolve_job_def("publish").execute_in_process(instance=instance).success
        raw = pl.read_parquet(data / "stages" / "raw_records" / "web-sample.parquet")
        assert stored_metadata(instance, "raw_records")["dagster/row_count"] == raw.height
        shrinking = []
        for asset, reasons in FILTERS.items():
            path = data / "stages" / "deduplicated.parquet" if asset == "deduplicated" else data / "stages" / asset / "web-sample.parquet"
            stage, metadata = pl.read_parquet(path), stored_metadata(instance, asset)
            survivors = stage.filter(pl.col("reason").is_null()).height
            assert metadata["dagster/row_count"] == survivors, asset
            assert metadata["records_in"] == stage.height == raw.height, asset
            assert metadata["rejected"] == stage.filter(pl.col("reason").is_in(reasons)).height, asset
            shrinking.append(survivors)
        assert shrinking == sorted(shrinking, reverse=True) and shrinking[-1] > 0
        assert len(set(shrinking)) >= 3  # several steps reject something here, so a count of every row would fail


def test_failed_records_are_listed_on_the_asset_with_file_line_stage_and_cause(deployment):
    demo, data = deployment
    notes = demo / "dumps" / "notes.jsonl"
    lines = notes.read_text(encoding="utf-8").splitlines()
    notes.write_text("\n".join(lines + ['{"id": "broken", "text": "an unterminated string'] + lines[:1]) + "\n",
                     encoding="utf-8")
    (demo / "dumps" / "empty.html").write_text("<html><body><script>var nothing;</script></body></html>")
    defs = load_definitions()
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("curate_source").execute_in_process(partition_key="my-dump", instance=instance).success
        harvest, extraction = stored_metadata(instance, "raw_records"), stored_metadata(instance, "extracted_documents")
        for table in (harvest["failed_records"], extraction["failed_records"]):
            assert [column.name for column in table.schema.columns] == ["record", "stage", "error_class", "cause"]
        read = {row["record"]: row for row in (record.data for record in harvest["failed_records"].records)}
        assert harvest["failures"] == len(read) == 3  # the demo's own two bad lines, and this one
        assert read["dumps/notes.jsonl:5"]["error_class"] == "InvalidJSON" and read["dumps/notes.jsonl:7"]["error_class"] == "WrongShape"
        bad_line = read[f"dumps/notes.jsonl:{len(lines) + 1}"]
        assert bad_line["stage"] == "harvest" and bad_line["error_class"] == "InvalidJSON"
        assert "unterminated string" in bad_line["cause"].lower()
        [no_text] = [record.data for record in extraction["failed_records"].records]
        assert extraction["failures"] == 1 and no_text["record"] == "dumps/empty.html" and no_text["stage"] == "extraction"
        assert no_text["error_class"] and no_text["cause"]

        assert defs.resolve_job_def("curate_source").execute_in_process(partition_key="web-sample", instance=instance).success
        clean = stored_metadata(instance, "raw_records")  # a source read without failure lists none
        assert clean["failures"] == 0 and "failed_records" not in clean


def test_the_failure_table_lists_the_first_twenty_and_counts_them_all():
    from assets.stage_files import describe_failures
    from sources.records import ReadFailure

    failures = [ReadFailure("web", f"crawl.warc.gz@{1000 * n}", "harvest", "TruncatedRecord", "x" * 1000) for n in range(45)]
    metadata = describe_failures(failures)
    rows = [record.data for record in metadata["failed_records"].records]
    assert metadata["failures"] == 45 and len(rows) == 20 and rows[19]["record"] == "crawl.warc.gz@19000"
    assert len(rows[0]["cause"]) == 300
    assert describe_failures([]) == {"failures": 0}
