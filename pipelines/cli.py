"""`moisson`: the headless entry point. Same Dagster jobs as the UI, executed in-process.

`moisson run --sources FILE --data-dir DIR` curates every source (one Dagster run per source
partition, against the instance in DIR/dagster, recorded under the code location as the UI's are),
then publishes. After doing everything it could, it prints a summary per source and for the
publication, and exits 1 when a source or the publication did not produce what it should (see
pipelines/run_summary.py), 2 for a sources file that cannot be used, 3 when the data directory is busy.
`moisson check` validates a sources file and says what it would read; `moisson sql` queries the warehouse;
`moisson release` freezes the published corpus as releases/VERSION (moisson/release.py), and with `--to
s3://bucket/prefix` publishes it there too (moisson/object_store.py); `moisson takedown`
adds a removal request that the next publication applies (moisson/takedowns.py).

Every `--data-dir` may be `s3://bucket/prefix` on an S3-compatible store: the command works in a local copy pulled to
the store's last commit and, unless it only reads (`sql`), commits that copy whole at its end, holding the location's
lease meanwhile (moisson/remote_data_dir.py); a command killed before its commit changes nothing there.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from moisson.config import ConfigError, MoissonConfig, load_config
from moisson.layout import DataLayout
from moisson.parquet_files import duckdb_path
from moisson.remote_data_dir import CACHE_DIR_ENV
from moisson.takedowns import MATCH_KINDS
from pipelines.sources_check import check_sources
from pipelines.warehouse_sql import run_query

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 1, 2, 3
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SHOWN = ("dagster/row_count", "failures", "inputs_unchanged", "extractions_reused", "added", "kept_in_index", "words",
         "documents", "kept", "added_to_corpus", "open_failures", "personal_data_cpu_s", "taken_down")  # the metadata keys the run report prints, besides rejected_* and skipped_*


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in DATA_DIR_COMMANDS:  # commands on a data directory alone, without a sources file
        layout = _layout(args)
        if layout is None:
            return EXIT_CONFIG
        return _on_data_dir(args, layout)
    try:
        config = load_config(args.sources)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        return _check(config, args.sources)
    unknown = set(args.only or []) - set(config.source_names)
    if unknown:
        print(f"{args.sources}: no source named {', '.join(sorted(unknown))} (known: {', '.join(config.source_names)})", file=sys.stderr)
        return EXIT_CONFIG
    layout = _layout(args)
    if layout is None:
        return EXIT_CONFIG
    _prepare_environment(args.sources, layout)
    try:
        with data_dir_lock(layout, wait=args.wait):
            if layout.remote:
                return _remote(layout, lambda session: _run(config, args.only or config.source_names, layout,
                                                            checkpoint=session.push))
            return _run(config, args.only or config.source_names, layout)
    except BlockingIOError:
        print(f"another moisson run is using {layout.root} (lock {layout.lock_file}); "
              "wait for it to finish or pass --wait", file=sys.stderr)
        return EXIT_LOCKED


def _layout(args: argparse.Namespace) -> DataLayout | None:
    """The data directory the arguments name (a folder or s3://bucket/prefix); None, said on stderr, when unusable.
    `--s3-endpoint` goes where every reader of the store looks for it (the run's steps and their workers too)."""
    from moisson.object_store import ENDPOINT_VARIABLES, BadLocation

    if args.s3_endpoint:
        os.environ[ENDPOINT_VARIABLES[0]] = args.s3_endpoint
    try:
        return DataLayout.at(args.data_dir, args.cache_dir)
    except BadLocation as error:
        print(f"--data-dir {error}", file=sys.stderr)
        return None


def _on_data_dir(args: argparse.Namespace, layout: DataLayout) -> int:
    """A data-directory command; on object storage, `sql` reads a fresh copy of the published files and the others
    change the last commit's copy and commit it (moisson/remote_data_dir.py)."""
    command = DATA_DIR_COMMANDS[args.command]
    if not layout.remote:
        return command(args, layout)
    try:
        with data_dir_lock(layout, wait=False):
            if args.command in READING_COMMANDS:
                return _remote_read(layout, lambda: command(args, layout))
            return _remote(layout, lambda session: command(args, layout))
    except BlockingIOError:
        print(f"a moisson command is using the local copy {layout.root} of {layout.remote} (lock {layout.lock_file}); "
              "try again when it has finished", file=sys.stderr)
        return EXIT_LOCKED


def _remote(layout: DataLayout, work) -> int:
    """`work(session)` in the cache pulled to the last commit under the location's lease, then the cache committed
    when `work` finished (whatever its exit code: the store then holds what a local data directory would)."""
    from moisson.object_store import ObjectStoreError
    from moisson.remote_data_dir import remote_session

    say = lambda message: print(message, flush=True)  # noqa: E731
    try:
        with remote_session(layout, say) as session:
            code = work(session)
            commit = session.push()
    except ObjectStoreError as error:
        print(f"{layout.remote}: {error} (nothing committed by this command; the last commit stands)", file=sys.stderr)
        return error.exit_code
    if commit is not None:
        print(f"committed at {layout.remote}: publication {commit['publication']} ({len(commit['files'])} files)",
              flush=True)
    return code


def _remote_read(layout: DataLayout, work) -> int:
    from moisson.object_store import ObjectStoreError
    from moisson.remote_data_dir import pull_for_readers

    try:
        pull_for_readers(layout, lambda message: print(message, file=sys.stderr, flush=True))
    except ObjectStoreError as error:
        print(f"{layout.remote}: {error}", file=sys.stderr)
        return error.exit_code
    return work()


def _check(config: MoissonConfig, path: Path) -> int:
    report = check_sources(config, path)
    print("\n".join(report.lines))
    for note in report.notes:
        print(f"note: {note}")
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    if report.problems:
        print(f"{path}: {len(report.problems)} problem(s): a run would read nothing from what they name", file=sys.stderr)
        return EXIT_FAILED
    print(f"{path}: ok")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moisson", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="curate every source and publish the corpus")
    run.add_argument("--sources", required=True, type=Path, help="sources YAML file")
    run.add_argument("--data-dir", default="data", help="data directory (default ./data), or s3://BUCKET/PREFIX on "
                     "object storage (endpoint and key from MOISSON_S3_ENDPOINT or AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, "
                     "AWS_SECRET_ACCESS_KEY), worked on in a local copy and committed at the end of the run")
    run.add_argument("--source", action="append", dest="only", metavar="NAME", help="curate only this source (repeatable)")
    run.add_argument("--wait", action="store_true", help="wait for another run on the same data directory instead of exiting")
    check = commands.add_parser("check", help="validate a sources file and say what it would harvest (exit 2: "
                                               "unusable file, 1: a path matching no file)")
    check.add_argument("--sources", required=True, type=Path)
    sql = commands.add_parser("sql", help="query the warehouse read-only (files under the data directory only) "
                                          "without installing the duckdb CLI")
    sql.add_argument("query")
    sql.add_argument("--data-dir", default="data")
    release = commands.add_parser("release", help="freeze the published corpus as releases/VERSION (files, card, "
                                                  "manifest, changes, DCAT-AP); a release never changes once written")
    release.add_argument("--data-dir", default="data")
    release.add_argument("--version", required=True, help="the release's name: letters, digits, '.', '_', '-'")
    release.add_argument("--base-url", help="where the release folder will be served (absolute IRIs in the DCAT "
                                            "files); without it they are relative to the files")
    release.add_argument("--to", metavar="s3://BUCKET/PREFIX", help="also publish the release atomically at "
                         "s3://BUCKET/PREFIX/VERSION (endpoint and key from MOISSON_S3_ENDPOINT or AWS_ENDPOINT_URL, "
                         "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and check every object against manifest.json")
    takedown = commands.add_parser("takedown", help="add a removal request to DATA_DIR/takedowns.csv; the next "
                                                    "publication applies it")
    takedown.add_argument("--data-dir", default="data")
    takedown.add_argument("--match", required=True, choices=MATCH_KINDS)
    takedown.add_argument("--value", required=True, help="the id, URL, URL prefix, domain or content sha256")
    takedown.add_argument("--reason", required=True, help="who asked, on what grounds")
    takedown.add_argument("--date", help="YYYY-MM-DD, when the request was made (default: today, UTC)")
    for command in (run, sql, release, takedown):
        command.add_argument("--cache-dir", help="with an s3:// data directory: where its local copy is kept "
                             f"(default ${CACHE_DIR_ENV}, else ./.moisson-cache)")
        command.add_argument("--s3-endpoint", metavar="URL", help="the S3-compatible store's address (default "
                             "$MOISSON_S3_ENDPOINT, else $AWS_ENDPOINT_URL, else AWS); the key still comes from the "
                             "environment only")
    return parser


def _takedown(args: argparse.Namespace, layout: DataLayout) -> int:
    from moisson.takedowns import TakedownError, add_takedown

    try:
        rule = add_takedown(layout.takedowns_file, args.match, args.value, args.reason, args.date, layout.tmp_dir)
    except TakedownError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    print(f"{layout.takedowns_file}, line {rule.line}: {rule.detail} (the next `moisson run` applies it)")
    return 0


def _release(args: argparse.Namespace, layout: DataLayout) -> int:
    from moisson.object_store import BadLocation, parse_location
    from moisson.publication_lock import PublicationBusy
    from moisson.release import ReleaseError, release

    version, base_url = args.version, args.base_url
    if args.to:
        try:
            parse_location(args.to)  # before the release is made: a location that cannot be used changes nothing
        except BadLocation as error:
            print(f"release {version}: --to {error}", file=sys.stderr)
            return EXIT_CONFIG
    try:
        outcome = release(layout, version, base_url, log=lambda message: print(message, flush=True))
    except ReleaseError as error:
        print(f"release {version}: {error}", file=sys.stderr)
        return error.exit_code
    except PublicationBusy as busy:
        print(f"release {version}: {busy}", file=sys.stderr)
        return EXIT_LOCKED
    if outcome.created:
        counts = outcome.manifest["counts"]["total"]
        print(f"released {version}: {counts['documents']} documents, {counts['words']} words in {outcome.path}")
    else:
        print(f"{outcome.path}: already released and unchanged (nothing written)")
    return _upload_release(outcome.path, args.to) if args.to else 0


def _upload_release(release_dir: Path, to: str) -> int:
    from moisson.object_store import ObjectStoreError
    from moisson.release import ReleaseError, upload_release

    try:
        upload = upload_release(release_dir, to, log=lambda message: print(message, flush=True))
    except (ReleaseError, ObjectStoreError) as error:
        print(f"release {release_dir.name}: not published at {to} ({release_dir} is complete; run the same command "
              f"again to retry): {error}", file=sys.stderr)
        return error.exit_code
    if upload.created:
        print(f"published {release_dir.name} at {upload.location}: {upload.objects} objects, committed, each sha256 "
              "checked against manifest.json")
    else:
        print(f"{upload.location}: already published and unchanged (every object read back and checked)")
    return 0


def _prepare_environment(sources: Path, layout: DataLayout) -> None:
    """Point Dagster and the definitions at this sources file and data directory, before they are imported."""
    layout.dagster_home.mkdir(parents=True, exist_ok=True)
    instance_config = layout.dagster_home / "dagster.yaml"
    if not instance_config.exists():
        shutil.copyfile(PROJECT_ROOT / "instance" / "dagster.yaml", instance_config)
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


def _run(config: MoissonConfig, sources: list[str], layout: DataLayout, checkpoint=None) -> int:
    """Curate every source, then publish. `checkpoint()`, on object storage, commits the curation's stages and state
    before the publication starts (the corpus is still the last one then): a run killed while publishing leaves
    the next one only the publication to do."""
    from moisson.curation import WORKER_MODULES
    from moisson.workers import start_forkserver

    start_forkserver(WORKER_MODULES)  # the extraction workers' imports run while Dagster's do
    execution = config.policy.execution
    if execution.engine == "ray" and execution.address is None:
        from moisson.ray_engine import start_local_ray

        start_local_ray(execution.num_cpus)  # and the local Ray starts while Dagster does (the steps join it)
    from quality import suite_process

    suite_process.start()  # and so does Great Expectations', for the corpus checks
    import dagster as dg

    from pipelines.jobs import CURATE_SOURCE, PUBLISH
    from pipelines.launch import LocatedJobs
    from pipelines.run_summary import corpus_documents, published_before, summarise

    if execution.engine == "ray":  # its workers import the extraction modules while the first source is read
        from moisson.ray_engine import warm_up

        warm_up(WORKER_MODULES, address=execution.address, num_cpus=execution.num_cpus)
    started = time.monotonic()
    jobs, curated = LocatedJobs(), []
    with dg.DagsterInstance.get() as instance:
        for source in sources:
            print(f"==> curating source {source}", flush=True)
            result = jobs.execute(instance, CURATE_SOURCE, source, QUIET_LOGS)
            _report(result, instance)
            curated.append((source, result))
        if checkpoint is not None:
            checkpoint()
        print("==> publishing: deduplication, corpus, warehouse", flush=True)
        before = published_before(layout)
        published = jobs.execute(instance, PUBLISH, None, QUIET_LOGS)
        _report(published, instance)
        summary = summarise(layout, config, curated, published, before, corpus_documents(layout))
    _where_things_are(layout)
    print("\n" + "\n".join(summary.lines()))
    seconds = time.monotonic() - started
    if summary.failed:
        print(f"FAILED in {seconds:.0f}s: {', '.join(summary.failed)} (see above)", flush=True)
        return EXIT_FAILED
    print(f"done in {seconds:.0f}s: every source and the publication ok", flush=True)
    return 0


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


def _format(values: dict) -> str:
    return " ".join(f"{k.removeprefix('dagster/')}={v}" for k, v in values.items())


def _where_things_are(layout: DataLayout) -> None:
    corpus = layout.corpus_dir
    print(f"\ncorpus:       {corpus}/<language>/*.parquet (dataset card {layout.dataset_card})")
    print(f"rejected:     {layout.rejected_dir}/<reason>/*.parquet")
    print(f"warehouse:    {layout.warehouse}")
    where = f" --data-dir {layout}"
    moisson = _invocation()
    print("\nthree queries to start with (or open the file with any DuckDB client):")
    print(f"  {moisson} sql{where} \"SELECT * FROM rejections_by_reason\"")
    print(f"  {moisson} sql{where} \"SELECT * FROM licence_breakdown\"")
    print(f"  {moisson} sql{where} \"SELECT language, count(*) AS docs, sum(n_words) AS words "
          f"FROM read_parquet('{duckdb_path(corpus)}/*/*.parquet') GROUP BY 1 ORDER BY 2 DESC\"")
    print("\nfreeze it as a release (manifest, DCAT-AP, AI Act summary of training content):")
    print(f"  {moisson} release{where} --version {datetime.now(timezone.utc):%Y.%m.%d}")


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


if __name__ == "__main__":
    sys.exit(main())


READING_COMMANDS = frozenset({"sql"})
DATA_DIR_COMMANDS = {
    "sql": lambda args, layout: run_query(args.query, layout),
    "release": _release,
    "takedown": _takedown,
}
