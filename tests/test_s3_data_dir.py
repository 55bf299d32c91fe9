"""A whole data directory on object storage (`--data-dir s3://...`), against a real S3 server (SeaweedFS on
127.0.0.1, tests/s3_server.py): the demo gives the corpus a local directory gives, runs again idempotently, from a
fresh machine (no cache) alike, `moisson release` and `moisson sql` work there, and a run killed at any point
leaves the last commit whole and readable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from e2e import MOISSON, corpus_rows, run_moisson, warehouse
from moisson.layout import DataLayout
from moisson.object_store import (COMMIT, LEASE, VERSIONS, LocationBusy, ObjectStoreError, filesystem,
                                  parse_location, read_commit, verify_published)
from moisson import remote_data_dir
from moisson.object_store import local_sha256
from moisson.remote_data_dir import SYNC_INDEX, pull, remote_session
from s3_server import RequestGate, s3_server  # noqa: F401  (the fixture, used by name)

DEMO = Path(__file__).parents[1] / "demo"
DECISIONS = ("SELECT id, status, reason, reason_detail, duplicate_of, language, license, source, content_sha256, "
             "n_words FROM documents ORDER BY id")
ADDED = ("La commune a publié hier le compte rendu du conseil municipal, qui a voté le budget des écoles primaires. "
         "Les travaux de la médiathèque commenceront au printemps, après la consultation des habitants du quartier. "
         "Le maire rappelle que la collecte des déchets verts reprend chaque mardi matin jusqu'à la fin de l'automne. "
         "Une réunion publique sur le plan local d'urbanisme se tiendra le mois prochain à la salle des fêtes.")
VIEWS = ("rejections_by_reason", "licence_breakdown", "language_breakdown", "source_summary", "duplicate_clusters")


def remote_run(sources: Path, location: str, cache: Path, *extra: str, **options) -> subprocess.CompletedProcess:
    return run_moisson(sources, location, "--cache-dir", str(cache), *extra, **options)  # type: ignore[arg-type]


def moisson(*args: str, without: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Another `moisson` command, with the test's environment (the S3 endpoint and key) but the variables `without`
    names, no MOISSON_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOISSON_", "DAGSTER_HOME")) and k not in without}
    return subprocess.run([str(MOISSON), *args], capture_output=True, text=True, timeout=300, env=env)


def cache_of(location: str, cache: Path) -> Path:
    return DataLayout.at(location, cache).root


def warehouse_rows(data: Path) -> dict[str, list[tuple]]:
    with warehouse(data) as con:
        rows = {"documents": con.execute(DECISIONS).fetchall()}
        for view in VIEWS:
            rows[view] = sorted(con.execute(f"SELECT * FROM {view}").fetchall(), key=repr)
    return rows


# ------------------------------------------------------------------ pull and push, without a run


def test_the_cache_is_committed_whole_and_pulled_back_identical(s3_server, tmp_path, monkeypatch):  # noqa: F811
    location = s3_server.location("sync")
    layout = DataLayout.at(location, tmp_path / "cache")
    root = layout.root
    for local_only in ("tmp/x", "dagster/runs.db", "quarantine/bad.parquet", ".moisson.lock"):
        (root / local_only).parent.mkdir(parents=True, exist_ok=True)
        (root / local_only).write_bytes(b"local")
    (root / "stages").mkdir()
    (root / "stages" / "left-by-a-killed-run.parquet").write_bytes(b"never committed")
    with remote_session(layout) as session:
        assert (session.pulled.publication, session.pulled.removed) == (None, 1)  # the cache mirrors the store
        (root / "corpus" / "fr").mkdir(parents=True)
        (root / "corpus" / "fr" / "part-1.parquet").write_bytes(b"corpus bytes")
        (root / "warehouse.duckdb").write_bytes(b"warehouse bytes")
        commit = session.push()
    assert all((root / local_only).read_bytes() == b"local" for local_only in ("tmp/x", "dagster/runs.db"))
    assert sorted(entry["path"] for entry in commit["files"]) == ["corpus/fr/part-1.parquet", "warehouse.duckdb"]

    fresh = DataLayout.at(location, tmp_path / "fresh")
    outcome = pull(fresh.root, parse_location(location))
    assert (outcome.fetched, outcome.publication) == (2, commit["publication"])
    assert (fresh.root / "corpus" / "fr" / "part-1.parquet").read_bytes() == b"corpus bytes"

    (fresh.root / "warehouse.duckdb").write_bytes(b"half written")  # a run killed here
    (fresh.root / "corpus" / "de").mkdir()
    (fresh.root / "corpus" / "de" / "part-2.parquet").write_bytes(b"never committed")
    hashed = []
    monkeypatch.setattr(remote_data_dir, "local_sha256", lambda path: hashed.append(path.name) or local_sha256(path))
    outcome = pull(fresh.root, parse_location(location))
    # the files untouched since the last pull are not read again (a fetched file is, to check it)
    assert [name for name in hashed if not name.startswith(".pull-")] == ["warehouse.duckdb"]
    assert (outcome.fetched, outcome.removed, outcome.unchanged) == (1, 1, 1)
    assert (fresh.root / "warehouse.duckdb").read_bytes() == b"warehouse bytes"
    assert not (fresh.root / "corpus" / "de").exists()
    assert (fresh.root / SYNC_INDEX).exists()

    with remote_session(fresh) as session:
        assert session.push() is None  # nothing changed: no new commit
    assert read_commit(parse_location(location))["publication"] == commit["publication"]


def test_a_commit_naming_a_path_outside_the_copy_is_refused_before_any_fetch(s3_server, tmp_path):  # noqa: F811
    """Whoever can write the store must not write elsewhere on this machine: a tampered `_published.json` naming
    `../`, an absolute path or a local-only folder makes the pull fail, and nothing is fetched."""
    location = s3_server.location("tampered")
    layout = DataLayout.at(location, tmp_path / "cache")
    with remote_session(layout) as session:
        (layout.root / "warehouse.duckdb").write_bytes(b"warehouse bytes")
        commit = session.push()
    fs, place = filesystem(), parse_location(location)
    commit_key = place.url(COMMIT)[len("s3://"):]
    for hostile in ("../../outside.txt", "/tmp/outside.txt", "dagster/dagster.yaml"):
        tampered = dict(commit, files=[dict(commit["files"][0], path=hostile)])
        fs.pipe(commit_key, json.dumps(tampered).encode())
        fresh = tmp_path / f"fresh-{len(hostile)}"
        with pytest.raises(ObjectStoreError, match="outside the data directory"):
            pull(fresh, place)
        assert not (tmp_path / "outside.txt").exists() and not list(fresh.rglob("*.duckdb"))
        assert not (fresh / "dagster").exists()


def test_a_second_writer_is_refused_while_a_run_holds_the_location(s3_server, tmp_path):  # noqa: F811
    location = s3_server.location("busy")
    layout = DataLayout.at(location, tmp_path / "one")
    (layout.root).mkdir(parents=True)
    (layout.root / "takedowns.csv").write_text("x\n")
    with remote_session(layout):
        with pytest.raises(LocationBusy), remote_session(DataLayout.at(location, tmp_path / "two")):
            pass
    with remote_session(DataLayout.at(location, tmp_path / "two")) as session:  # released: taken
        assert session.pulled.fetched == 0


def test_nested_locations_have_separate_local_copies(tmp_path):
    outer, inner = DataLayout.at("s3://bucket/x", tmp_path), DataLayout.at("s3://bucket/x/y", tmp_path)
    assert not inner.root.is_relative_to(outer.root) and outer.root.parent == inner.root.parent == tmp_path / "bucket"
    assert str(inner) == "s3://bucket/x/y"


def test_takedown_on_object_storage_commits_and_waits_for_no_one(s3_server, tmp_path):  # noqa: F811
    location = s3_server.location("takedown")
    request = ("takedown", "--data-dir", location, "--match", "domain", "--value", "example.org", "--reason",
               "asked by the site", "--date", "2026-12-03", "--cache-dir")
    with remote_session(DataLayout.at(location, tmp_path / "other-machine")):
        busy = moisson(*request, str(tmp_path / "cache"))
    assert busy.returncode == 3, busy.stdout + busy.stderr
    assert "holds this location" in busy.stderr and read_commit(parse_location(location)) is None
    done = moisson(*request, str(tmp_path / "cache"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert [entry.path for entry in verify_published(parse_location(location))] == ["takedowns.csv"]


def test_a_run_longer_than_its_lease_keeps_it(s3_server, tmp_path, monkeypatch):  # noqa: F811
    """The lease is renewed in the background: past its time, a second writer is still refused."""
    monkeypatch.setenv("MOISSON_S3_LEASE_SECONDS", "1.5")
    location = s3_server.location("renewed")
    with remote_session(DataLayout.at(location, tmp_path / "one")) as session:
        (session.root / "takedowns.csv").write_text("x\n")
        time.sleep(4)
        with pytest.raises(LocationBusy), remote_session(DataLayout.at(location, tmp_path / "two")):
            pass
        assert session.push()["files"][0]["path"] == "takedowns.csv"


def test_a_bad_remote_data_dir_is_a_setting_error(tmp_path):
    result = moisson("sql", "SELECT 1", "--data-dir", "s3://Not_A_Bucket/x", "--cache-dir", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "not a bucket name" in result.stderr


# ------------------------------------------------------------------ the demo on object storage


@pytest.fixture(scope="module")
def demo_runs(s3_server, tmp_path_factory):  # noqa: F811
    """The demo run on a local directory, then three times on one s3:// data directory: a first run, the same run
    again (idempotent), and a run from an empty cache (a fresh machine)."""
    root = tmp_path_factory.mktemp("s3-demo")
    demo = Path(shutil.copytree(DEMO, root / "demo"))
    sources = demo / "sources.yaml"
    local = run_moisson(sources, root / "local")
    assert local.returncode == 0, local.stdout + local.stderr
    location = s3_server.location("demo")
    runs = [remote_run(sources, location, root / "cache"), remote_run(sources, location, root / "cache")]
    commits = [read_commit(parse_location(location))]
    runs.append(remote_run(sources, location, root / "fresh-machine"))
    commits.append(read_commit(parse_location(location)))
    for result in runs:
        assert result.returncode == 0, result.stdout + result.stderr
    return {"root": root, "sources": sources, "local": root / "local", "location": location, "runs": runs,
            "commits": commits}


def test_the_demo_on_object_storage_gives_the_local_corpus_decisions_and_warehouse(demo_runs):
    location, root = demo_runs["location"], demo_runs["root"]
    cache = cache_of(location, root / "cache")
    assert corpus_rows(cache) == corpus_rows(demo_runs["local"])
    assert len(corpus_rows(cache)) == 21
    assert warehouse_rows(cache) == warehouse_rows(demo_runs["local"])
    assert f"committed at {location}: publication" in demo_runs["runs"][0].stdout

    published = {entry.path for entry in verify_published(parse_location(location))}  # every object read back
    assert "warehouse.duckdb" in published and "corpus/README.md" in published
    assert any(path.startswith("stages/") for path in published) and any(path.startswith("state/") for path in published)
    assert not any(path.split("/")[0] in ("tmp", "dagster", "quarantine") for path in published)


def test_the_corpus_is_read_from_the_store_itself_through_duckdb(demo_runs):
    """What the commit names is the corpus: DuckDB reads it there (through s3fs), without the cache."""
    from moisson.object_store import published_files, register_filesystem
    from moisson.parquet_files import duckdb_paths

    files = [entry.url for entry in published_files(demo_runs["location"])
             if entry.path.startswith("corpus/") and entry.path.endswith(".parquet")]
    with duckdb.connect() as con:
        register_filesystem(con)
        ids = con.read_parquet(duckdb_paths(files), hive_partitioning=False).order("id").select("id").fetchall()
    assert [row[0] for row in ids] == [row[0] for row in corpus_rows(demo_runs["local"])]


def test_a_second_run_on_object_storage_changes_no_corpus_file(demo_runs):
    first, second = demo_runs["commits"][0], demo_runs["commits"][1]
    corpus = lambda commit: {(e["path"], e["sha256"]) for e in commit["files"] if e["path"].startswith("corpus/")}  # noqa: E731
    assert corpus(first) and corpus(first) == corpus(second)
    run = demo_runs["runs"][1].stdout
    assert "corpus 21 documents (21 before this run, +0)" in run, run


def test_a_fresh_machine_gives_the_same_corpus(demo_runs):
    location, root = demo_runs["location"], demo_runs["root"]
    assert corpus_rows(cache_of(location, root / "fresh-machine")) == corpus_rows(demo_runs["local"])
    assert warehouse_rows(cache_of(location, root / "fresh-machine")) == warehouse_rows(demo_runs["local"])


def test_sql_and_release_on_object_storage(demo_runs, tmp_path):
    location = demo_runs["location"]
    nowhere = moisson("sql", "SELECT 1", "--data-dir", location, "--cache-dir", str(tmp_path),
                      "--s3-endpoint", "http://127.0.0.1:9")  # the flag wins over the environment
    assert nowhere.returncode == 1 and "127.0.0.1:9" in nowhere.stderr, nowhere.stderr
    sql = moisson("sql", "SELECT count(*) AS kept FROM corpus", "--data-dir", location, "--cache-dir", str(tmp_path),
                  "--s3-endpoint", os.environ["AWS_ENDPOINT_URL"], without=("AWS_ENDPOINT_URL",))
    assert sql.returncode == 0, sql.stderr
    assert "21" in sql.stdout
    assert (cache_of(location, tmp_path) / "warehouse.duckdb").exists()
    assert not (cache_of(location, tmp_path) / "stages").exists()  # a reader fetches what it reads only

    release = moisson("release", "--data-dir", location, "--version", "2026.12.03", "--cache-dir", str(tmp_path))
    assert release.returncode == 0, release.stdout + release.stderr
    assert "released 2026.12.03: 21 documents" in release.stdout
    published = {entry.path for entry in verify_published(parse_location(location))}
    assert "releases/2026.12.03/manifest.json" in published
    assert any(path.startswith("releases/2026.12.03/data/") for path in published)

    again = moisson("release", "--data-dir", location, "--version", "2026.12.03", "--cache-dir", str(tmp_path / "other"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already released and unchanged" in again.stdout


# ------------------------------------------------------------------ runs killed at any point


def start_remote_run(sources: Path, location: str, cache: Path, endpoint: str) -> subprocess.Popen:
    """`moisson run` in a process group of its own, so that SIGKILL takes its workers too (as a machine lost would)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOISSON_", "DAGSTER_HOME"))}
    env["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.Popen([str(MOISSON), "run", "--sources", str(sources), "--data-dir", location, "--cache-dir",
                             str(cache)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)


def kill_when(process: subprocess.Popen, condition: Callable[[], bool], timeout: float = 120.0) -> bool:
    """SIGKILL the run's process group as soon as `condition` holds; False when the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
            return True
        time.sleep(0.02)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    return False


def uploads_in_progress(location: str) -> Callable[[], bool]:
    """An object under versions/ that the commit does not name: a push under way, not committed yet."""
    where, fs = parse_location(location), filesystem()

    def check() -> bool:
        commit = read_commit(where, fs)
        named = {entry["key"] for entry in commit["files"]} | set(commit.get("retained", [])) if commit else set()
        base = where.path("") + "/"
        try:
            stored = {path.removeprefix(base) for path in fs.find(where.path(VERSIONS))}
        except FileNotFoundError:
            return False
        return bool(stored - named)

    return check


def published_corpus(commit: dict | str) -> set[tuple[str, str]]:
    """(path, sha256) of what readers are served: the corpus, its card, rejected/ and the warehouse."""
    commit = read_commit(parse_location(commit)) if isinstance(commit, str) else commit
    return {(entry["path"], entry["sha256"]) for entry in commit["files"]
            if entry["path"].startswith(("corpus/", "rejected/", "warehouse.duckdb"))}


def written_since(folder: Path, pattern: str, started: float) -> Callable[[], bool]:
    """A file matching `pattern` under `folder` written by the run under test (the cache it starts from is a copy
    with the first run's times)."""
    def check() -> bool:
        try:
            return any(path.stat().st_mtime > started for path in folder.glob(pattern))
        except FileNotFoundError:
            return False

    return check


KILL_POINTS = {  # the run's own writes, in the order it makes them
    "during harvest": lambda cache, started, gate: written_since(cache, "stages/raw_records/*.parquet", started),
    "mid-publication": lambda cache, started, gate: written_since(cache, "stages/deduplicated.parquet", started),
    "between corpus and warehouse": lambda cache, started, gate: written_since(cache, "corpus/*/*.parquet", started),
    "before the commit": lambda cache, started, gate: gate.held.is_set,
}
HELD_COMMIT = {"before the commit": 2}  # the final commit's request is held (the first is the curation's checkpoint)


def test_a_run_killed_at_any_point_leaves_the_last_commit_whole_and_the_next_run_completes(s3_server, tmp_path):  # noqa: F811
    demo = Path(shutil.copytree(DEMO, tmp_path / "demo"))
    sources, location = demo / "sources.yaml", s3_server.location("killed")
    first = remote_run(sources, location, tmp_path / "cache")
    assert first.returncode == 0, first.stdout + first.stderr
    committed = read_commit(parse_location(location))
    before = corpus_rows(cache_of(location, tmp_path / "cache"))
    extra = demo / "dumps" / "added.jsonl"  # the next runs have one more document to publish
    extra.write_text(json.dumps({"id": "added-1", "text": ADDED, "license": "CC-BY-4.0"}, ensure_ascii=False) + "\n",
                     encoding="utf-8")

    killed = []
    commit_request = "/" + parse_location(location).path(COMMIT)
    for point, condition in KILL_POINTS.items():
        cache = tmp_path / f"cache-{len(killed)}"
        shutil.copytree(tmp_path / "cache", cache)  # the machine that ran the first run
        started = time.time()
        with RequestGate(s3_server.endpoint, "PUT", commit_request, nth=HELD_COMMIT.get(point, 0)) as gate:
            process = start_remote_run(sources, location, cache, gate.endpoint)
            if kill_when(process, condition(cache_of(location, cache), started, gate)):
                killed.append(point)
        assert published_corpus(location) == published_corpus(committed), f"killed {point}: the corpus changed"
        verify_published(parse_location(location))  # every object the commit names is there, whole
        if point == "before the commit":  # the new corpus was uploaded, only its commit was missing
            assert uploads_in_progress(location)()
        if point == "during harvest":
            assert read_commit(parse_location(location)) == committed  # nothing committed before the curation ends
        else:  # the curation's stages were committed before the publication started (the checkpoint)
            assert read_commit(parse_location(location))["publication"] != committed["publication"]
    assert killed == list(KILL_POINTS), f"the run ended before these kill points: {set(KILL_POINTS) - set(killed)}"

    after_kill = remote_run(sources, location, tmp_path / "cache-0")  # the cache the first kill left, half written
    assert after_kill.returncode == 0, after_kill.stdout + after_kill.stderr
    rows = corpus_rows(cache_of(location, tmp_path / "cache-0"))
    assert len(rows) == len(before) + 1
    assert any(row[1] == ADDED for row in rows)
    fresh = DataLayout.at(location, tmp_path / "fresh")
    pull(fresh.root, parse_location(location))
    assert corpus_rows(fresh.root) == rows
    fs = filesystem()
    assert not fs.exists(parse_location(location).path(LEASE))  # released
    assert fs.exists(parse_location(location).path(COMMIT))


def test_an_unreachable_store_fails_the_run_with_the_endpoint_and_commits_nothing(tmp_path, monkeypatch):
    from s3_server import free_ports

    (port,) = free_ports(1)
    demo = Path(shutil.copytree(DEMO, tmp_path / "demo"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "made-up")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "made-up-secret")
    result = remote_run(demo / "sources.yaml", "s3://moisson-tests/nowhere", tmp_path / "cache", timeout=180)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"127.0.0.1:{port}" in result.stderr
    assert "made-up-secret" not in result.stdout + result.stderr
    assert ObjectStoreError.exit_code == 1


# ------------------------------------------------------------------ runs launched as the daemon or the UI launch them

DAEMON_LIKE = """
import sys
from dagster import DagsterInstance
from pipelines.cli import QUIET_LOGS
from pipelines.jobs import CURATE_SOURCE, PUBLISH
from pipelines.launch import LocatedJobs

jobs = LocatedJobs()
with DagsterInstance.get() as instance:
    for source in sys.argv[1:]:
        assert jobs.execute(instance, CURATE_SOURCE, source, QUIET_LOGS).success, source
    published = jobs.execute(instance, PUBLISH, None, QUIET_LOGS)
    assert published.success
    for event in published.get_asset_materialization_events():
        committed = event.event_specific_data.materialization.metadata.get("committed_publication")
        if committed is not None:
            print("committed", committed.value)
"""


def launched_by_the_daemon(sources: Path, location: str, cache: Path, home: Path) -> subprocess.CompletedProcess:
    """curate_source for each demo source then publish, with MOISSON_DATA_DIR=s3://... as a deployment sets it: no
    `moisson run` around them to pull or commit."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).parents[1] / "instance" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOISSON_", "DAGSTER_HOME"))}
    env |= {"MOISSON_SOURCES": str(sources), "MOISSON_DATA_DIR": location, "MOISSON_CACHE_DIR": str(cache),
            "DAGSTER_HOME": str(home)}
    return subprocess.run([str(MOISSON.parent / "python"), "-c", DAEMON_LIKE, "web-sample", "my-dump"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).parents[1])


def test_a_publication_launched_by_the_daemon_commits_its_local_copy(s3_server, tmp_path):  # noqa: F811
    demo = Path(shutil.copytree(DEMO, tmp_path / "demo"))
    sources, location = demo / "sources.yaml", s3_server.location("daemon")
    first = launched_by_the_daemon(sources, location, tmp_path / "cache", tmp_path / "home")
    assert first.returncode == 0, first.stdout + first.stderr
    committed = read_commit(parse_location(location))
    assert f"committed {committed['publication']}" in first.stdout
    assert len(corpus_rows(cache_of(location, tmp_path / "cache"))) == 21

    on_a_fresh_machine = launched_by_the_daemon(sources, location, tmp_path / "fresh", tmp_path / "home2")
    assert on_a_fresh_machine.returncode == 0, on_a_fresh_machine.stdout + on_a_fresh_machine.stderr
    assert corpus_rows(cache_of(location, tmp_path / "fresh")) == corpus_rows(cache_of(location, tmp_path / "cache"))

    stale = launched_by_the_daemon(sources, location, tmp_path / "cache", tmp_path / "home")  # the store moved on
    assert stale.returncode != 0
    assert "committed after the one this machine's copy" in stale.stderr
    assert read_commit(parse_location(location))["publication"] != committed["publication"]
