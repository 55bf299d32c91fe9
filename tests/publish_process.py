"""Run Moisson's Dagster jobs in a process of their own, as the UI's run launcher, a schedule or a sensor does:
against the instance in <data>/dagster, never through `moisson run` (so without the CLI's data-dir lock).

    python tests/publish_process.py SOURCES DATA curate|publish [GO_FILE]

With GO_FILE, the process imports everything, writes DATA/ready-<pid>, then waits for GO_FILE to exist before
running the job: two processes started this way begin their publications at the same moment.
Exit status 0 when the job succeeded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()


def start(sources: Path, data: Path, job: str, go_file: Path | None = None, log: Path | None = None,
          wait_seconds: float | None = None) -> subprocess.Popen:
    """Start the job in a new Python process; its output goes to `log` (read it while it runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOISSON_", "DAGSTER_HOME"))}
    env |= {"MOISSON_SOURCES": str(sources), "MOISSON_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster")}
    if wait_seconds is not None:
        env["MOISSON_PUBLISH_LOCK_WAIT_SECONDS"] = str(wait_seconds)
    (data / "dagster").mkdir(parents=True, exist_ok=True)
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - the child owns it until it exits
    return subprocess.Popen([sys.executable, str(SCRIPT), str(sources), str(data), job, *([str(go_file)] if go_file else [])],
                            stdout=output, stderr=subprocess.STDOUT, env=env, cwd=SCRIPT.parents[1])


def run(sources: Path, data: Path, job: str, timeout: float = 600) -> str:
    """Run the job to its end and return its output; fail with it if the job did not succeed."""
    log = data.parent / f"{data.name}-{job}.log"
    process = start(sources, data, job, log=log)
    if process.wait(timeout=timeout) != 0:
        raise AssertionError(f"{job} failed:\n{log.read_text()[-5000:]}")
    return log.read_text()


def main(sources: str, data: str, job: str, go_file: str | None = None) -> int:
    sys.path.insert(0, str(SCRIPT.parents[1]))
    import dagster as dg

    from pipelines.definitions import defs

    definition = defs.resolve_job_def({"curate": "curate_source", "publish": "publish"}[job])
    with dg.DagsterInstance.get() as instance:
        if go_file:
            (Path(data) / f"ready-{os.getpid()}").touch()
            while not Path(go_file).exists():
                time.sleep(0.01)
        if job == "curate":
            keys = definition.partitions_def.get_partition_keys()
            results = [definition.execute_in_process(partition_key=key, instance=instance, raise_on_error=False) for key in keys]
        else:
            results = [definition.execute_in_process(instance=instance, raise_on_error=False)]
    for result in results:
        for evaluation in result.get_asset_check_evaluations():
            print(f"check {evaluation.check_name} {'passed' if evaluation.passed else 'FAILED'}", flush=True)
        for event in result.all_events:
            if event.is_step_failure:
                print(f"FAILED step {event.step_key}: {event.step_failure_data.error.message.strip()}", flush=True)
    return 0 if all(result.success for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
