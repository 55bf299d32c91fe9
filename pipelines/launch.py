"""Runs of `moisson run`, made the way the Dagster UI makes them: under the code location's origin.

Why: `JobDefinition.execute_in_process` creates runs that belong to no code location. The UI lists a job's
runs with the filter `job name + tag .dagster/repository=<repository>@<location>` (dagster-graphql's
`Pipeline.runs`, the webapp's job page) and the Overview timeline skips every run without a repository
origin, so the nightly runs of `moisson run` were invisible under `curate_source` and on the timeline.

How, and why this way: the run is created with the location's `RemoteJobOrigin` (which gives it that tag)
and the job is then executed synchronously in this process with `execute_run`, as `dagster job execute` and
`dg launch --job` do (they create runs without an origin, so they would not do). Launching through the
instance's run launcher instead would start a code server and a run worker process: seconds more per run, a
run that is asynchronous to wait for, and the extraction forkserver and the Great Expectations process that
`moisson run` starts early could not be shared with it. The origin is built from names, not loaded: loading
the location would snapshot every asset for nothing. The step executor is the in-process one, as
`execute_in_process` used.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from dagster import DagsterInstance
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.api import execute_run
from dagster._core.execution.job_execution_result import JobExecutionResult
from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS_MODULE = "pipelines.definitions"
# The code location's name where the UI serves it: `code_location_name` in pyproject.toml ([tool.dg.project] for
# `dg dev`, [tool.dagster] for `dagster dev`); tests/test_cli_exit_codes.py queries the runs through the location
# pyproject.toml names, as the UI does.
CODE_LOCATION = "moisson"
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


class LocatedJobs:
    """The code location's jobs, executed in this process, each run recorded under the location."""

    def __init__(self) -> None:
        self.repository = ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs", str(PROJECT_ROOT))
        target = LoadableTargetOrigin(executable_path=sys.executable, module_name=DEFINITIONS_MODULE,
                                      working_directory=str(PROJECT_ROOT))
        self.origin = RemoteRepositoryOrigin(ManagedGrpcPythonEnvCodeLocationOrigin(target, CODE_LOCATION),
                                             SINGLETON_REPOSITORY_NAME)

    @property
    def repository_label(self) -> str:
        """The value of the `.dagster/repository` tag the UI filters a job's runs by: `__repository__@moisson`."""
        return self.origin.get_label()

    def execute(self, instance: DagsterInstance, job_name: str, partition_key: str | None = None,
                run_config: Mapping[str, object] | None = None) -> JobExecutionResult:
        """Create the run (with the partition's tags, as a launch from the UI has) and execute it to its end. The
        partition key is one of the sources file's source names (the CLI checks it first)."""
        job = self.repository.get_reconstructable_job(job_name)
        definition = job.get_definition()
        tags = dict(definition.run_tags)
        config = {**(run_config or {}), **IN_PROCESS}
        if partition_key is not None:
            tags.update(definition.get_tags_for_partition_key(partition_key, selected_asset_keys=None))
            config = {**definition.get_run_config_for_partition_key(partition_key), **config}
        run = instance.create_run_for_job(
            job_def=definition, run_config=config, tags=tags,
            remote_job_origin=self.origin.get_job_origin(job_name), job_code_origin=job.get_python_origin(),
        )
        return execute_run(job, run, instance, raise_on_error=False)
