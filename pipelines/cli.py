"""`moisson`: the headless entry point. Same Dagster jobs as the UI, executed in-process.

`moisson run --sources FILE --data-dir DIR` curates every source (one Dagster run per source
partition, against the instance in DIR/dagster), then publishes. It exits non-zero when a source,
an asset or a blocking check fails, after doing everything it could.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from moisson.config import ConfigError, load_config
from moisson.layout import DataLayout

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 1, 2, 3
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SHOWN = ("dagster/row_count", "failures", "inputs_unchanged", "extractions_reused", "added", "kept_in_index", "words",
         "documents", "kept", "added_to_corpus", "open_failures")  # the metadata keys the run report prints, besides rejected_* and skipped_*


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="moisson", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="curate every source and publish the corpus")
    run.add_argument("--sources", required=True, type=Path, help="sources YAML file")
    run.add_argument("--data-dir", default=Path("data"), type=Path, help="data directory (default ./data)")
    run.add_argument("--source", action="append", dest="only", metavar="NAME", help="curate only this source (repeatable)")
    run.add_argument("--wait", action="store_true", help="wait for another run on the same data directory instead of exiting")
    check = commands.add_parser("check", help="validate a sources file and say what it would harvest")
    check.add_argument("--sources", required=True, type=Path)
    sql = commands.add_parser("sql", help="query the warehouse (read-only) without installing the duckdb CLI")
    sql.add_argument("query")
    sql.add_argument("--data-dir", default=Path("data"), type=Path)
    args = parser.parse_args(argv)
    if args.command == "sql":
        return _sql(args.query, DataLayout.at(args.data_dir))
    try:
        config = load_config(args.sources)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        for source in config.sources:
            print(f"{source.name} ({source.kind}): {_what_it_reads(config, source)}")
        return 0
    unknown = set(args.only or []) - set(config.source_names)
    if unknown:
        print(f"{args.sources}: no source named {', '.join(sorted(unknown))} (known: {', '.join(config.source_names)})", file=sys.stderr)
        return EXIT_CONFIG
    layout = DataLayout.at(args.data_dir)
    _prepare_environment(args.sources, layout)
    try:
        with data_dir_lock(layout, wait=args.wait):
            return _run(args.only or config.source_names, layout)
    except BlockingIOError:
        print(f"another moisson run is using {layout.root} (lock {layout.lock_file}); "
              "wait for it to finish or pass --wait", file=sys.stderr)
        return EXIT_LOCKED


def _what_it_reads(config, source) -> str:
    if hasattr(source, "url"):
        return f"catalogue at {source.url}, harvested at run time"
    remote = getattr(source, "remote_entries", [])
    extra = f" + {len(remote)} remote location(s) or path list(s), read at run time" if remote else ""
    return f"{len(config.resolve_paths(source))} file(s){extra}"


def _prepare_environment(sources: Path, layout: DataLayout) -> None:
    """Point Dagster and the definitions at this sources file and data directory, before they are imported."""
    layout.dagster_home.mkdir(parents=True, exist_ok=True)
    instance_config = layout.dagster_home / "dagster.yaml"
    if not instance_config.exists():
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", instance_config)
    os.environ["MOISSON_SOURCES"] = str(sources.resolve())
    os.environ["MOISSON_DATA_DIR"] = str(layout.root)
    os.environ["DAGSTER_HOME"] = str(layout.dagster_home)


@contextmanager
def data_dir_lock(layout: DataLayout, wait: bool):
    """One run per data directory at a time: two would interleave writes to the same corpus."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_file, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.seek(0), handle.truncate(), handle.write(f"{os.getpid()}\n"), handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(sources: list[str], layout: DataLayout) -> int:
    from moisson.curation import WORKER_MODULES
    from moisson.workers import start_forkserver

    start_forkserver(WORKER_MODULES)  # the extraction workers' imports run while Dagster's do
    from quality import suite_process

    suite_process.start()  # and so does Great Expectations', for the corpus checks
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.jobs import CURATE_SOURCE, PUBLISH

    started = time.monotonic()
    failed: list[str] = []
    with dg.DagsterInstance.get() as instance:
        curate = defs.resolve_job_def(CURATE_SOURCE)
        for source in sources:
            print(f"==> curating source {source}", flush=True)
            result = curate.execute_in_process(partition_key=source, instance=instance, raise_on_error=False, run_config=QUIET_LOGS)
            _report(result, instance)
            if not result.success:
                failed.append(f"source {source}")
        print("==> publishing: deduplication, corpus, warehouse", flush=True)
        result = defs.resolve_job_def(PUBLISH).execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET_LOGS)
        _report(result, instance)
        if not result.success or _blocking_check_failed(result):
            failed.append("publication")
    _summary(layout, time.monotonic() - started, failed)
    return EXIT_FAILED if failed else 0


def _report(result, instance) -> None:
    seconds = _step_seconds(instance, result.run_id)
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        shown = {k: v.value for k, v in materialization.metadata.items()
                 if k in SHOWN or k.startswith(("rejected_", "skipped_"))}
        # the assets of one step (the per-source curation is one pass) share its time: shown once
        took = f"{seconds.pop(event.step_key):6.1f}s" if event.step_key in seconds else " " * 7
        print(f"    {materialization.asset_key.to_user_string():<20} {took}  {_format(shown)}", flush=True)
    for evaluation in result.get_asset_check_evaluations():
        verdict = "passed" if evaluation.passed else "FAILED"
        print(f"    check {evaluation.check_name:<26} {verdict}", flush=True)
    for event in result.all_events:
        if event.is_step_failure:
            print(f"    FAILED step {event.step_key}: {event.step_failure_data.error.message.strip()}", file=sys.stderr, flush=True)


def _step_seconds(instance, run_id: str) -> dict[str, float]:
    """Wall time of each step of a run, from the instance's event log."""
    started, seconds = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and event.step_key in started:
            seconds[event.step_key] = entry.timestamp - started[event.step_key]
    return seconds


def _blocking_check_failed(result) -> bool:
    return any(not e.passed and e.severity.value == "ERROR" for e in result.get_asset_check_evaluations())


def _format(values: dict) -> str:
    return " ".join(f"{k.removeprefix('dagster/')}={v}" for k, v in values.items())


def _summary(layout: DataLayout, seconds: float, failed: list[str]) -> None:
    corpus = layout.corpus_dir
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'done'} in {seconds:.0f}s")
    print(f"corpus:       {corpus}/<language>/*.parquet (dataset card {layout.dataset_card})")
    print(f"rejected:     {layout.rejected_dir}/<reason>/*.parquet")
    print(f"warehouse:    {layout.warehouse}")
    where = f" --data-dir {layout.root}"
    moisson = _invocation()
    print("\nthree queries to start with (or open the file with any DuckDB client):")
    print(f"  {moisson} sql{where} \"SELECT * FROM rejections_by_reason\"")
    print(f"  {moisson} sql{where} \"SELECT * FROM licence_breakdown\"")
    print(f"  {moisson} sql{where} \"SELECT language, count(*) AS docs, sum(n_words) AS words "
          f"FROM read_parquet('{corpus}/*/*.parquet') GROUP BY 1 ORDER BY 2 DESC\"")


def _invocation() -> str:
    """How the user can call this command again: the venv's script when it is not on PATH."""
    script = Path(sys.argv[0]).resolve()
    on_path = shutil.which("moisson")
    if on_path and Path(on_path).resolve() == script:
        return "moisson"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _sql(query: str, layout: DataLayout) -> int:
    import duckdb

    if not layout.warehouse.exists():
        print(f"no warehouse at {layout.warehouse}: run `moisson run` first", file=sys.stderr)
        return EXIT_FAILED
    with duckdb.connect(str(layout.warehouse), read_only=True) as con:
        try:
            con.sql(query).show(max_width=200, max_rows=50)
        except duckdb.Error as exc:
            print(f"query failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
