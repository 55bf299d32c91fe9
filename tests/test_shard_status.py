"""Shard partitions tell the truth in Dagster: a shard whose latest read failed shows failed (even after an earlier
success), green again once read; a new WARC file's shard is a partition as soon as the sensor sees the file.

The status is read as the UI reads it: `get_status_by_partition` answers from the asset status cache that the
asset's partitions page and the backfill dialog use (dagster/_core/storage/partition_status_cache.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
from dagster._core.test_utils import freeze_time
from dagster._daemon.sensor import execute_sensor_iteration

from e2e import run_moisson
from test_postgres_instance import daemon_workspace
from test_shards import instance, shard_definitions, third_archive

SOURCE = "web"
FIRST, SECOND = "archives/first.warc", "archives/second.warc"
MATERIALIZED, FAILED = dg.AssetPartitionStatus.MATERIALIZED, dg.AssetPartitionStatus.FAILED
UI_QUERY = """{ assetNodeOrError(assetKey: {path: ["source_shards"]}) { ... on AssetNode {
  assetPartitionStatuses { ... on DefaultPartitionStatuses { materializedPartitions failedPartitions
                                                              unmaterializedPartitions materializingPartitions } }
  partitionStats { numMaterialized numFailed numPartitions } } } }"""


def two_archives(root: Path) -> Path:
    """A `warc` source of two small archives of five pages each (one failed read among them stays under the
    policy's failure rate, so `moisson run` succeeds); returns the sources file."""
    (root / "archives").mkdir(parents=True)
    third_archive(root / FIRST, [f"la médiathèque, salle {room}" for room in range(5)])
    third_archive(root / SECOND, [f"la piscine municipale, bassin {pool}" for pool in range(5)])
    policy = (Path(__file__).resolve().parents[1] / "demo" / "sources.yaml").read_text(encoding="utf-8")
    (root / "sources.yaml").write_text(f"sources:\n  - {{name: {SOURCE}, kind: warc, paths: ['archives/*.warc']}}\n"
                                       f"policy:{policy.split('policy:', 1)[1]}", encoding="utf-8")
    return root / "sources.yaml"


def moisson_run(sources: Path, data: Path) -> None:
    result = run_moisson(sources, data)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def statuses(data: Path, *shards: str) -> list[dg.AssetPartitionStatus | None]:
    from assets.shards import SHARD_PARTITIONS, SHARDS
    from sources.shards import partition_key

    keys = [partition_key(SOURCE, shard) for shard in shards]
    with instance(data) as dagster:
        status = dagster.get_status_by_partition(dg.AssetKey(SHARDS), keys, SHARD_PARTITIONS)
    return [status[key] for key in keys]


def ui_partitions(data: Path) -> dict:
    """The asset's partitions as the UI's partitions page asks for them (its GraphQL query, answered in this process
    by the webserver's schema over the code location loaded as the daemon and webserver load it)."""
    from dagster_graphql.test.utils import execute_dagster_graphql

    with instance(data) as dagster, daemon_workspace(dagster) as workspace:
        answer = execute_dagster_graphql(workspace.create_request_context(), UI_QUERY).data["assetNodeOrError"]
    return {**answer["assetPartitionStatuses"], **answer["partitionStats"]}


def test_a_shard_whose_read_fails_after_a_success_shows_failed_then_green_once_read_again(tmp_path, monkeypatch):
    sources, data = two_archives(tmp_path), tmp_path / "data"
    moisson_run(sources, data)
    assert statuses(data, FIRST, SECOND) == [MATERIALIZED, MATERIALIZED]
    good = (tmp_path / SECOND).read_bytes()

    (tmp_path / SECOND).write_bytes(b"this is not a web archive\n" * 10)  # the next download is broken
    moisson_run(sources, data)  # the run succeeds (one bad shard is no reason to stop a night's curation)
    assert statuses(data, FIRST, SECOND) == [MATERIALIZED, FAILED]
    shard_definitions(monkeypatch, sources, data)  # the UI's code location reads the environment
    assert ui_partitions(data) == {"materializedPartitions": [f"{SOURCE}/{FIRST}"], "failedPartitions": [f"{SOURCE}/{SECOND}"],
                                   "unmaterializedPartitions": [], "materializingPartitions": [],
                                   "numMaterialized": 1, "numFailed": 1, "numPartitions": 2}
    with instance(data) as dagster:  # the failed run that says so names the partition and the run that read it
        [recorded] = dagster.get_runs(dg.RunsFilter(job_name="curate_shard"))
        [source_run] = dagster.get_runs(dg.RunsFilter(job_name="curate_source"), limit=1)
        assert recorded.status == dg.DagsterRunStatus.FAILURE
        assert recorded.tags["dagster/partition"] == f"{SOURCE}/{SECOND}"
        assert recorded.tags["moisson/read_by_run"] == source_run.run_id and recorded.tags["dagster/max_retries"] == "0"
        [failure] = [event for event in dagster.all_logs(recorded.run_id) if event.dagster_event
                     and event.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE]
        assert "1 failure(s)" in failure.message and source_run.run_id in failure.message

    moisson_run(sources, data)  # still broken: read again, still failed, one more failed run
    assert statuses(data, FIRST, SECOND) == [MATERIALIZED, FAILED]

    (tmp_path / SECOND).write_bytes(good)  # repaired: the source's next run reads it without failure
    moisson_run(sources, data)
    assert statuses(data, FIRST, SECOND) == [MATERIALIZED, MATERIALIZED]
    assert (ui_partitions(data)["numMaterialized"], ui_partitions(data)["failedPartitions"]) == (2, [])
    with instance(data) as dagster:
        assert len(dagster.get_runs(dg.RunsFilter(job_name="curate_shard"))) == 2


def test_a_failed_shard_goes_green_when_its_one_partition_is_backfilled(tmp_path, monkeypatch):
    sources, data = two_archives(tmp_path), tmp_path / "data"
    good = (tmp_path / SECOND).read_bytes()
    (tmp_path / SECOND).write_bytes(b"this is not a web archive\n" * 10)  # broken from the first read on
    moisson_run(sources, data)
    assert statuses(data, FIRST, SECOND) == [MATERIALIZED, FAILED]

    (tmp_path / SECOND).write_bytes(good)
    defs = shard_definitions(monkeypatch, sources, data)
    with instance(data) as dagster:
        result = defs.resolve_job_def("curate_shard").execute_in_process(instance=dagster,
                                                                         partition_key=f"{SOURCE}/{SECOND}")
        assert result.success
    assert statuses(data, FIRST, SECOND) == [MATERIALIZED, MATERIALIZED]


def test_the_sensor_registers_a_new_warc_files_shard_at_once_and_it_can_be_backfilled_alone(tmp_path, monkeypatch):
    """The sensor daemon's own iterations over the code location: the dynamic partitions it adds are applied by the
    daemon, as in production (before it submits the run)."""
    sources, data = two_archives(tmp_path), tmp_path / "data"
    moisson_run(sources, data)
    defs = shard_definitions(monkeypatch, sources, data)
    third = f"{SOURCE}/archives/third.warc"
    with instance(data) as dagster, daemon_workspace(dagster) as workspace:
        sensor_tick(workspace, datetime.now(timezone.utc))  # already curated, every shard known: nothing to do
        assert dagster.get_runs() and sensor_runs(dagster) == []
        assert sorted(dagster.get_dynamic_partitions("source_shards")) == [f"{SOURCE}/{FIRST}", f"{SOURCE}/{SECOND}"]

        third_archive(tmp_path / "archives" / "third.warc", ["le conseil municipal"])
        sensor_tick(workspace, datetime.now(timezone.utc) + timedelta(minutes=1))  # past its 30 s interval
        [run] = sensor_runs(dagster)
        assert (run.tags["dagster/partition"], run.status) == (SOURCE, dg.DagsterRunStatus.QUEUED)
        assert third in dagster.get_dynamic_partitions("source_shards")  # before its run reads it
    assert statuses(data, "archives/third.warc", FIRST) == [None, MATERIALIZED]  # missing: visible, not yet read

    with instance(data) as dagster:  # backfilled alone, before the source's run
        assert defs.resolve_job_def("curate_shard").execute_in_process(instance=dagster, partition_key=third).success
    assert statuses(data, "archives/third.warc", FIRST) == [MATERIALIZED, MATERIALIZED]


def test_the_sensor_asks_for_the_new_shards_only_and_never_removes_one(tmp_path, monkeypatch):
    sources, data = two_archives(tmp_path), tmp_path / "data"
    moisson_run(sources, data)
    shard_definitions(monkeypatch, sources, data)
    from assets.resources import MoissonResource
    from pipelines.sensors import new_warc_files

    resource = MoissonResource(sources_file=str(sources), data_dir=str(data))
    with instance(data) as dagster:
        with dg.build_sensor_context(instance=dagster, resources={"moisson": resource}) as first:
            looked = new_warc_files(first)
        assert (looked.run_requests, looked.dynamic_partitions_requests) == ([], [])

        third_archive(tmp_path / "archives" / "third.warc", ["le conseil municipal"])
        (tmp_path / FIRST).unlink()  # a gone shard stays until the source's run, which knows what it read, drops it
        with dg.build_sensor_context(instance=dagster, cursor=first.cursor, resources={"moisson": resource}) as again:
            result = new_warc_files(again)
        assert [request.partition_key for request in result.run_requests] == [SOURCE]
        [added] = result.dynamic_partitions_requests
        assert (added.partitions_def_name, list(added.partition_keys)) == ("source_shards", [f"{SOURCE}/archives/third.warc"])


def sensor_tick(workspace, at: datetime) -> None:
    """One iteration of the sensor daemon as if the clock read `at`."""
    with freeze_time(at):
        list(execute_sensor_iteration(workspace, logging.getLogger("test_shard_status"), None, None))


def sensor_runs(dagster: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return list(dagster.get_runs(dg.RunsFilter(tags={"moisson/trigger": "new_warc_files"})))
