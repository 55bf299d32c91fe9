"""A run launcher for tests of the run queue: a dequeued run executes at once, in this process, step by step.

Why: the deployment's launcher starts a run worker process per run, whose default (multiprocess) executor
starts one more process per step; each imports the whole project, about 30 s per curation run of the demo
here against 3 to 8 s in process. What the queue tests check is the instance (which runs leave the queue,
what is stored), not the launcher, so the run is executed with Dagster's in-process executor. The run as stored
keeps the run config it was queued with.
"""

from __future__ import annotations

from dagster._core.execution.api import execute_run
from dagster._core.launcher import LaunchRunContext
from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
from dagster._utils.hosted_user_process import recon_job_from_origin

IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
# the instance file's lines that select this launcher (appended to a copy of the production file)
INSTANCE_LINES = "\nrun_launcher:\n  module: in_process_launcher\n  class: InProcessRunLauncher\n"


class InProcessRunLauncher(SyncInMemoryRunLauncher):
    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        executed = run._replace(run_config={**run.run_config, **IN_PROCESS})
        execute_run(recon_job_from_origin(context.job_code_origin), executed, self._instance)
