"""The Dagster side: definitions load, partitions follow the sources file, schedule and sensors decide right."""

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest

DAGSTER = Path(sys.executable).parent / "dagster"


@pytest.fixture
def deployment(demo_copy, tmp_path, monkeypatch):
    """Environment of a deployment on a copy of the demo, as `make ui` sets it."""
    monkeypatch.setenv("MOISSON_SOURCES", str(demo_copy / "sources.yaml"))
    monkeypatch.setenv("MOISSON_DATA_DIR", str(tmp_path / "data"))
    return demo_copy, tmp_path / "data"


def test_definitions_validate_with_the_dagster_cli(deployment):
    result = subprocess.run([str(DAGSTER), "definitions", "validate", "-m", "pipelines.definitions"],
                            capture_output=True, text=True, timeout=180, env=os.environ.copy())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_a_broken_sources_file_fails_definitions_with_a_clear_error(deployment, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("sources: []\npolicy: {licenses: {allow: [MIT]}}\n")
    env = {**os.environ, "MOISSON_SOURCES": str(broken)}
    result = subprocess.run([str(DAGSTER), "definitions", "validate", "-m", "pipelines.definitions"],
                            capture_output=True, text=True, timeout=180, env=env)
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
                    "deduplicated", "corpus", "warehouse"}
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
        requests = list(new_warc_files(first))
        assert [r.partition_key for r in requests] == ["web-sample"]
        again = dg.build_sensor_context(instance=instance, cursor=first.cursor, resources={"moisson": resource})
        assert list(new_warc_files(again)) == []
        (demo / "archives" / "more.warc").write_bytes((demo / "archives" / "web-extra.warc").read_bytes())
        after_new_file = list(new_warc_files(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources={"moisson": resource})))
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
