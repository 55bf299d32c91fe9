"""The production Dagster instance (instance/dagster-postgres.yaml) against a real PostgreSQL started by the tests
(tests/postgres_server.py): its storages are Postgres and its password comes from the environment; the daemon's
own iterations run the nightly schedule, the sensors, a backfill of two sources and the run queue against it
(a source's second run waits for its first, a host's third run for one of its first two); `moisson run` records
its runs there; and docs/deploy agrees with the file."""

from __future__ import annotations

import logging
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster._daemon.sensor import execute_sensor_iteration
from dagster._scheduler.scheduler import launch_scheduled_runs

from e2e import corpus_rows
from in_process_launcher import IN_PROCESS, INSTANCE_LINES
from pipelines.launch import CODE_LOCATION, DEFINITIONS_MODULE
from postgres_server import PASSWORD, PostgresServer, postgres_server  # noqa: F401 (the session fixture)
from test_dagster_definitions import deployment, load_definitions  # noqa: F401 (a fixture and a helper)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_INSTANCE = PROJECT_ROOT / "instance" / "dagster-postgres.yaml"
LIMITS = [{"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
          {"key": "moisson/host", "value": {"applyLimitPerUniqueValue": True}, "limit": 2},
          {"key": "moisson/publish", "value": None, "limit": 1}]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture
def postgres_home(postgres_server: PostgresServer, tmp_path: Path, monkeypatch) -> Path:
    """$DAGSTER_HOME holding the production instance file as shipped, its connection in the environment only."""
    database = postgres_server.create_database(f"dagster_{uuid.uuid4().hex[:12]}")
    for name, value in postgres_server.environment(database).items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copyfile(PRODUCTION_INSTANCE, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_the_instance_file_names_the_connection_only_through_the_environment():
    text = PRODUCTION_INSTANCE.read_text()
    for variable in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        assert f"{{env: {variable}}}" in text, variable
    assert PASSWORD not in text


def test_runs_events_and_schedules_are_stored_in_postgres_and_runs_queue_under_limits(postgres_home, postgres_server):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    with dg.DagsterInstance.from_config(str(postgres_home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert f":{postgres_server.port}/" in instance.run_storage.postgres_url
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 8
        assert [{"key": limit["key"], "value": limit.get("value"), "limit": limit["limit"]}
                for limit in queue.tag_concurrency_limits] == LIMITS
        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job(), run_id=None)
    with dg.DagsterInstance.from_config(str(postgres_home)) as other_process:  # a webserver or daemon elsewhere
        assert other_process.get_run_by_id(run.run_id) is not None


def test_the_password_really_comes_from_the_environment(postgres_home, monkeypatch, caplog):
    """The server checks passwords on 127.0.0.1 (scram-sha-256): a wrong one in the environment is refused."""
    from dagster_postgres.utils import DagsterPostgresException

    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "not-the-password")
    with pytest.raises(DagsterPostgresException):
        dg.DagsterInstance.from_config(str(postgres_home))
    assert "password authentication failed" in caplog.text


def daemon_workspace(instance: dg.DagsterInstance, module: str = DEFINITIONS_MODULE, location: str = CODE_LOCATION):
    """The code location as the daemon loads it (named `moisson`, as pyproject.toml names it), in this process."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name=module, working_directory=str(PROJECT_ROOT)), location_name=location)
    return create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance)


def source_backfill(workspace, sources: list[str]) -> PartitionBackfill:
    """A backfill of curate_source over these sources, as the UI's launch dialog creates it."""
    repository = next(iter(workspace.create_request_context().get_code_location(CODE_LOCATION).get_repositories().values()))
    partition_set = repository.get_partition_set("curate_source_partition_set")
    return PartitionBackfill(backfill_id=f"sources-{uuid.uuid4().hex[:8]}", status=BulkActionStatus.REQUESTED,
                             from_failure=False, tags={"moisson/trigger": "backfill"}, backfill_timestamp=datetime.now().timestamp(),
                             run_config={**QUIET, **IN_PROCESS}, partition_set_origin=partition_set.get_remote_origin(),
                             partition_names=sources)


def runs_by(instance: dg.DagsterInstance, **filters) -> list[dg.DagsterRun]:
    """The runs matching the filters, oldest first."""
    return [record.dagster_run for record in sorted(instance.get_run_records(dg.RunsFilter(**filters)),
                                                    key=lambda record: record.create_timestamp)]


def scheduler_tick(workspace, logger: logging.Logger, at: datetime, times: dict) -> None:
    """One iteration of the scheduler daemon as if the clock read `at`."""
    list(launch_scheduled_runs(workspace, logger, at, times))


def instigator_ticks(instance: dg.DagsterInstance, name: str) -> list:
    state = next(state for state in instance.all_instigator_state() if state.name == name)
    return instance.get_ticks(state.instigator_origin_id, state.selector_id)


def statuses(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> list[dg.DagsterRunStatus]:
    return [instance.get_run_by_id(run.run_id).status for run in runs]


def test_schedule_sensors_and_a_backfill_of_two_sources_run_against_postgres(postgres_home, deployment):
    """The daemon's own iterations (scheduler, sensors, backfills, run queue) against the Postgres instance, with
    the code location loaded as the daemon loads it: the ticks, cursors, runs and materialisations are Postgres'."""
    demo, data = deployment
    defs = load_definitions()
    from pipelines.sensors import publish_after_curation

    logger = logging.getLogger("test_postgres_instance")
    with open(postgres_home / "dagster.yaml", "a") as config:
        config.write(INSTANCE_LINES)  # dequeued runs execute here, at once (in_process_launcher.py)
    SUCCESS, QUEUED = dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.QUEUED
    with dg.DagsterInstance.from_config(str(postgres_home)) as instance, daemon_workspace(instance) as workspace:
        # the nightly schedule: declared running, it ticks at 02:00 Paris and queues one run per source
        times: dict = {}
        scheduler_tick(workspace, logger, datetime(2026, 12, 1, 0, 30, tzinfo=timezone.utc), times)
        assert runs_by(instance) == []
        scheduler_tick(workspace, logger, datetime(2026, 12, 1, 1, 5, tzinfo=timezone.utc), times)
        nightly = runs_by(instance, tags={"moisson/night": "2026-12-01"})
        sources = [run.tags["dagster/partition"] for run in nightly]
        assert sorted(sources) == ["my-dump", "web-sample"] and statuses(instance, nightly) == [QUEUED, QUEUED]
        [tick] = instigator_ticks(instance, "nightly_curation")
        assert tick.status == TickStatus.SUCCESS and sorted(tick.run_ids) == sorted(run.run_id for run in nightly)

        # the sensor daemon's tick: new_warc_files asks for web-sample's curation too; its cursor is kept
        list(execute_sensor_iteration(workspace, logger, None, None))
        [by_sensor] = runs_by(instance, tags={"moisson/trigger": "new_warc_files"})
        assert by_sensor.tags["dagster/partition"] == "web-sample" and statuses(instance, [by_sensor]) == [QUEUED]
        [tick] = instigator_ticks(instance, "new_warc_files")
        assert tick.status == TickStatus.SUCCESS and tick.run_ids == [by_sensor.run_id] and "web-sample" in tick.cursor

        # the queue: one run per source at a time, so the sensor's web-sample run waits for the nightly one
        queue = QueuedRunCoordinatorDaemon(interval_seconds=1)
        list(queue.run_iteration(workspace))
        assert statuses(instance, nightly) == [SUCCESS, SUCCESS] and statuses(instance, [by_sensor]) == [QUEUED]
        list(queue.run_iteration(workspace))
        assert statuses(instance, [by_sensor]) == [SUCCESS]

        # a backfill of the two sources, submitted by the backfill daemon: two sources run in the same pass
        backfill = source_backfill(workspace, sources)
        instance.add_backfill(backfill)
        for _ in range(3):
            list(execute_backfill_iteration(workspace, logger))
        backfilled = runs_by(instance, tags={"dagster/backfill": backfill.backfill_id})
        assert sorted(run.tags["dagster/partition"] for run in backfilled) == sorted(sources)
        assert statuses(instance, backfilled) == [QUEUED, QUEUED]
        list(queue.run_iteration(workspace))
        assert statuses(instance, backfilled) == [SUCCESS, SUCCESS]
        for asset in ("raw_records", "quality_filtered"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(sources)
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
            by_backfill = {(record.partition_key, record.run_id) for record in records
                           if record.run_id in {run.run_id for run in backfilled}}
            assert by_backfill == {(run.tags["dagster/partition"], run.run_id) for run in backfilled}, asset

        # publication follows curation: the sensor reads the materialisations from Postgres
        request = publish_after_curation(dg.build_sensor_context(instance=instance))
        assert isinstance(request, dg.RunRequest)
        assert defs.resolve_job_def("publish").execute_in_process(instance=instance, run_config=QUIET).success
        assert isinstance(publish_after_curation(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        assert {row[0] for row in corpus_rows(data, "source")} == set(sources)


HOSTED_SOURCES = """
sources:
  - {name: portal, kind: ckan, url: "https://Data.Example.org/"}
  - {name: theses, kind: oai-pmh, url: "https://user@archive.example.org:8443/oai"}
  - {name: crawl, kind: warc, paths: ["https://data.commoncrawl.org/crawl-data/a.warc.gz"]}
  - {name: snapshot, kind: warc, paths: ["lists/warc.paths.gz"], base_url: "https://mirror.example.net/"}
  - {name: local, kind: files, paths: ["dumps/*.jsonl"]}
policy:
  licenses: {allow: [CC-BY-4.0]}
"""


def test_the_queue_runs_at_most_two_runs_per_host_at_once(postgres_home):
    """The shipped limit on `moisson/host` (2 per host), applied by the queue daemon to runs a sensor asked for:
    three runs for one host and one for another leave one of the three waiting for the next pass."""
    from queue_probe import HOSTS

    with open(postgres_home / "dagster.yaml", "a") as config:
        config.write(INSTANCE_LINES)
    with (dg.DagsterInstance.from_config(str(postgres_home)) as instance,
          daemon_workspace(instance, "queue_probe", "queue_probe") as workspace):
        list(execute_sensor_iteration(workspace, logging.getLogger("test_postgres_instance"), None, None))
        runs = runs_by(instance)
        assert [run.tags["probe/source"] for run in runs] == list(HOSTS)
        queue = QueuedRunCoordinatorDaemon(interval_seconds=1)
        list(queue.run_iteration(workspace))
        SUCCESS, QUEUED = dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.QUEUED
        assert statuses(instance, runs) == [SUCCESS, SUCCESS, QUEUED, SUCCESS]
        list(queue.run_iteration(workspace))
        assert statuses(instance, runs) == [SUCCESS] * 4


def test_curation_runs_carry_their_crawled_host_as_the_queue_limits_tag(tmp_path):
    """pipelines/run_tags.py: the partitioned config a curate_source job would carry gives each partition's runs
    the `moisson/host` tag the production queue limits (jobs.py does not use it yet)."""
    from moisson.config import load_config
    from pipelines.run_tags import HOST_TAG, source_run_config

    sources = tmp_path / "sources.yaml"
    sources.write_text(HOSTED_SOURCES)
    config = load_config(sources)
    partitions = dg.StaticPartitionsDefinition(config.source_names)

    @dg.asset(partitions_def=partitions)
    def harvested() -> None:
        """Stands for the harvest: the tags come from the job, whatever its assets."""

    job = dg.define_asset_job("curate_source", selection=[harvested], config=source_run_config(config, partitions))
    resolved = dg.Definitions(assets=[harvested], jobs=[job]).resolve_job_def("curate_source")
    hosts = {name: resolved.get_tags_for_partition_key(name, selected_asset_keys=None).get(HOST_TAG)
             for name in config.source_names}
    assert hosts == {"portal": "data.example.org", "theses": "archive.example.org", "crawl": "data.commoncrawl.org",
                     "snapshot": "mirror.example.net", "local": None}
    assert resolved.get_tags_for_partition_key("portal", selected_asset_keys=None)["dagster/partition"] == "portal"


DEPLOY = PROJECT_ROOT / "docs" / "deploy"


def test_the_documented_deployment_uses_this_instance_and_its_limits():
    """docs/deploy is not run by the tests; what can drift from the tested instance file is checked here: the
    compose services mount it and set its five variables, the Helm values repeat its queue limits, and both serve
    the code location under the name `moisson run` records its runs under."""
    import yaml

    instance = yaml.safe_load(PRODUCTION_INSTANCE.read_text())["run_coordinator"]["config"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name in ("code", "webserver", "daemon"):
        service = compose[name]
        assert "../../instance/dagster-postgres.yaml:/opt/dagster/home/dagster.yaml:ro" in service["volumes"], name
        assert {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"} <= set(service["environment"])
        assert service["environment"]["DAGSTER_HOME"] == "/opt/dagster/home"
    assert compose["code"]["command"][-4:] == ["--module-name", DEFINITIONS_MODULE, "--location-name", CODE_LOCATION]
    assert {"ray-head", "ray-worker", "postgres"} <= set(compose)
    [location] = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"]
    assert location["grpc_server"]["location_name"] == CODE_LOCATION

    helm = yaml.safe_load((DEPLOY / "helm" / "dagster-values.yaml").read_text())
    queue = helm["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["tagConcurrencyLimits"] == instance["tag_concurrency_limits"]
    assert queue["maxConcurrentRuns"] == instance["max_concurrent_runs"]
    [user_code] = helm["dagster-user-deployments"]["deployments"]
    assert user_code["name"] == CODE_LOCATION and DEFINITIONS_MODULE in user_code["dagsterApiGrpcArgs"]
    assert "password" not in yaml.safe_dump(helm["postgresql"]).lower()


def test_moisson_run_records_its_runs_in_postgres_when_the_data_directory_names_that_instance(
        postgres_home, demo_copy, tmp_path):
    """`moisson run` opens the instance of DIR/dagster/dagster.yaml and copies the SQLite default there only when
    there is none: with the production file there (and DAGSTER_PG_* set), its runs and materialisations go to
    Postgres, under the code location as the UI's do, and no SQLite storage is created."""
    from e2e import run_moisson

    data = tmp_path / "data"
    (data / "dagster").mkdir(parents=True)
    shutil.copyfile(PRODUCTION_INSTANCE, data / "dagster" / "dagster.yaml")
    result = run_moisson(demo_copy / "sources.yaml", data)  # its environment keeps DAGSTER_PG_*, drops DAGSTER_HOME
    assert result.returncode == 0, result.stdout + result.stderr
    assert not list((data / "dagster").rglob("*.db"))  # no runs.db, no event log shards
    with dg.DagsterInstance.from_config(str(postgres_home)) as instance:
        runs = runs_by(instance)
        assert [(run.job_name, run.tags.get("dagster/partition"), run.status) for run in runs] == [
            ("curate_source", "web-sample", dg.DagsterRunStatus.SUCCESS),
            ("curate_source", "my-dump", dg.DagsterRunStatus.SUCCESS),
            # the demo's malformed JSONL line fails its shard, which the source's run records as a failed run of
            # that shard's partition (assets/shards.py), so the UI shows that partition failed
            ("curate_shard", "my-dump/dumps/bulletin.html", dg.DagsterRunStatus.FAILURE),
            ("publish", None, dg.DagsterRunStatus.SUCCESS)]
        located = runs_by(instance, tags={".dagster/repository": f"__repository__@{CODE_LOCATION}"})  # the UI's filter
        assert [run.run_id for run in located] == [run.run_id for run in runs]
        assert instance.get_materialized_partitions(dg.AssetKey("quality_filtered")) == {"web-sample", "my-dump"}
        assert instance.get_latest_materialization_event(dg.AssetKey("corpus")) is not None
