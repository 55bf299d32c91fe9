"""Object storage against a real S3 server (SeaweedFS on 127.0.0.1, tests/s3_server.py): atomic publication by a
commit object written last, readers that see committed objects only, garbage left by a killed publication
collected by the next, a release published with `moisson release --to`, and DuckDB reading the corpus there."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from moisson.object_store import (COMMIT, LEASE, VERSIONS, BadLocation, LocationBusy, ObjectLocation, ObjectStoreError, collect_garbage,
                                  corpus_relation, filesystem, parse_location, publish_folder, published_files,
                                  read_commit, verify_published)
from moisson.parquet_files import duckdb_paths, parts
from pipelines.cli import main
from release_inputs import copy_of, corpus_ids, publish, unpublish
from s3_server import free_ports, s3_server  # noqa: F401  (the fixture, used by name)


class Killed(Exception):
    """Raised from the upload hook: the publication stops there, as if its process had been killed."""


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder


def stored_keys(location: ObjectLocation) -> set[str]:
    fs = filesystem()
    base = location.path("") + "/"
    return {key.removeprefix(base) for key in fs.find(location.path(""))}


FILES = {"data/fr/part-a.parquet": b"PAR1 french rows", "data/en/part-b.parquet": b"PAR1 english rows" * 1000,
         "README.md": "# Corpus\n\nété\n".encode(), "manifest.json": b"{}\n"}


@pytest.mark.parametrize("text, bucket, prefix", [("s3://corpus-bucket/a/b/", "corpus-bucket", "a/b"),
                                                  ("s3://corpus.bucket", "corpus.bucket", "")])
def test_a_location_is_a_bucket_and_a_prefix(text, bucket, prefix):
    location = parse_location(text)
    assert (location.bucket, location.prefix) == (bucket, prefix)
    assert str(location) == text.rstrip("/") and location.child("v1").url("x") == f"{text.rstrip('/')}/v1/x"


@pytest.mark.parametrize("text", ["/data", "s3:/b/x", "s3://B/x", "s3://ab", "s3://bucket//x", "s3://bucket/a/../b",
                                  "s3://bucket/./a", "gs://bucket/a"])
def test_what_is_no_location_is_refused_with_the_reason(text):
    with pytest.raises(BadLocation, match="s3://bucket/prefix|bucket name|usable key prefix"):
        parse_location(text)


def test_a_folder_published_is_read_back_identical_from_its_commit(s3_server, tmp_path):  # noqa: F811
    folder = write_folder(tmp_path / "folder", FILES)
    location = parse_location(s3_server.location("published"))
    assert published_files(location) == []  # nothing committed yet
    commit = publish_folder(folder, location)
    published = published_files(location)
    assert [entry.path for entry in published] == sorted(FILES)
    fs = filesystem()
    for entry in published:
        data = fs.cat_file(entry.url)
        assert data == FILES[entry.path]
        assert (entry.bytes, entry.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert entry.url.startswith(f"{location}/{VERSIONS}/{commit['publication']}/")
    assert json.loads(fs.cat_file(location.path(COMMIT))) == commit == read_commit(location)
    assert verify_published(location) == published
    assert stored_keys(location) == {COMMIT} | {f"{VERSIONS}/{commit['publication']}/{path}" for path in FILES}


def test_a_publication_killed_before_its_commit_is_invisible_and_collected_by_the_next(s3_server, tmp_path):  # noqa: F811
    location = parse_location(s3_server.location("killed"))
    first = publish_folder(write_folder(tmp_path / "one", FILES), location)
    changed = {**FILES, "data/fr/part-a.parquet": b"PAR1 other french rows", "data/fr/part-c.parquet": b"PAR1 new"}
    uploaded = []

    def kill_after_two(path: str) -> None:
        uploaded.append(path)
        if len(uploaded) == 2:
            raise Killed(path)

    with pytest.raises(Killed):
        publish_folder(write_folder(tmp_path / "two", changed), location, after_upload=kill_after_two)
    orphan = {key.split("/")[1] for key in stored_keys(location) if key.startswith(VERSIONS)} - {first["publication"]}
    assert len(orphan) == 1  # the killed publication's objects are in the store...
    assert read_commit(location) == first  # ...but no reader sees them: the commit is the first publication's
    assert {entry.path: filesystem().cat_file(entry.url) for entry in published_files(location)} == FILES

    removed = []
    third = publish_folder(tmp_path / "two", location, log=removed.append)
    assert any(next(iter(orphan)) in line and "removed" in line for line in removed)
    assert {entry.path: filesystem().cat_file(entry.url) for entry in published_files(location)} == changed
    prefixes = {key.split("/")[1] for key in stored_keys(location) if key.startswith(VERSIONS)}
    assert prefixes == {first["publication"], third["publication"]}  # the killed one gone, the previous kept for readers
    reused = {entry["path"] for entry in third["files"] if entry["key"].startswith(f"{VERSIONS}/{first['publication']}/")}
    assert reused == {"data/en/part-b.parquet", "README.md", "manifest.json"}  # unchanged files not uploaded again


def test_files_replaced_two_publications_ago_are_collected_and_unchanged_ones_stay(s3_server, tmp_path):  # noqa: F811
    location = parse_location(s3_server.location("superseded"))
    commits = []
    for n in range(4):
        files = {**FILES, "data/fr/part-a.parquet": f"PAR1 version {n}".encode()}
        commits.append(publish_folder(write_folder(tmp_path / str(n), files), location))
    first, *_, before_last, last = [c["publication"] for c in commits]
    expected = {COMMIT, f"{VERSIONS}/{before_last}/data/fr/part-a.parquet",  # named by the previous commit: kept
                f"{VERSIONS}/{last}/data/fr/part-a.parquet"}
    expected |= {f"{VERSIONS}/{first}/{path}" for path in FILES if path != "data/fr/part-a.parquet"}  # never changed
    assert stored_keys(location) == expected
    assert filesystem().cat_file(next(e.url for e in published_files(location) if e.path == "data/fr/part-a.parquet")) \
        == b"PAR1 version 3"
    assert set(verify_published(location)) == set(published_files(location))
    assert collect_garbage(location) == []


def test_a_corrupt_commit_is_refused_with_its_name(s3_server):  # noqa: F811
    location = parse_location(s3_server.location("corrupt"))
    filesystem().pipe_file(location.path(COMMIT), b"{not json")
    with pytest.raises(ObjectStoreError, match=f"{location}/{COMMIT}: not a publication commit"):
        published_files(location)


def test_a_missing_bucket_is_named_in_the_error(s3_server, tmp_path):  # noqa: F811
    folder = write_folder(tmp_path / "folder", FILES)
    with pytest.raises(ObjectStoreError, match="s3://no-such-bucket-here/x"):
        publish_folder(folder, parse_location("s3://no-such-bucket-here/x"))


def test_duckdb_reads_committed_parquet_through_fsspec(s3_server, tmp_path):  # noqa: F811
    folder = tmp_path / "folder"
    (folder / "data" / "fr").mkdir(parents=True)
    (folder / "data" / "en").mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 'fr' AS language, range AS n FROM range(3)) TO '{folder}/data/fr/p.parquet'")
        con.execute(f"COPY (SELECT 'en' AS language, range AS n FROM range(2)) TO '{folder}/data/en/p.parquet'")
    location = parse_location(s3_server.location("duckdb"))
    publish_folder(folder, location)
    with duckdb.connect() as con:
        counts = corpus_relation(con, location).aggregate("language, count(*)", "language").fetchall()
    assert sorted(counts) == [("en", 2), ("fr", 3)]


KILLED_PUBLICATION = """
import os, signal, sys
from pathlib import Path
from moisson.object_store import parse_location, publish_folder
uploaded = []
def kill_after_two(path):
    uploaded.append(path)
    if len(uploaded) == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # no except or finally block runs: as a machine that goes down
publish_folder(Path(sys.argv[1]), parse_location(sys.argv[2]), after_upload=kill_after_two)
"""


def test_a_process_killed_midway_publishes_nothing_and_its_uploads_are_collected(s3_server, tmp_path):  # noqa: F811
    location = parse_location(s3_server.location("sigkill"))
    folder = write_folder(tmp_path / "folder", FILES)
    killed = subprocess.run([sys.executable, "-c", KILLED_PUBLICATION, str(folder), str(location)],
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    left = stored_keys(location)  # some objects (uploads run side by side) and the dead process's lease, no commit
    assert 2 <= len(left - {LEASE}) <= len(FILES) and LEASE in left and COMMIT not in left
    assert published_files(location) == [] and read_commit(location) is None
    lines = []
    commit = publish_folder(folder, location, log=lines.append)  # at once: the lease's process is gone
    assert any("taken over" in line for line in lines) and any("removed" in line for line in lines)
    assert stored_keys(location) == {COMMIT} | {f"{VERSIONS}/{commit['publication']}/{path}" for path in FILES}


# ------------------------------------------------------------------ `moisson release --to`, after a real `moisson run`


@pytest.fixture(scope="module")
def published_corpus(tmp_path_factory) -> Path:
    return publish(tmp_path_factory.mktemp("published") / "input")


def local_language_counts(data_dir: Path) -> list[tuple[str, int]]:
    with duckdb.connect() as con:
        return sorted(con.execute("SELECT language, count(*) FROM read_parquet(?) GROUP BY 1",
                                  [duckdb_paths(parts(data_dir / "corpus"))]).fetchall())


def test_moisson_release_to_publishes_the_release_atomically_checked_against_its_manifest(
        s3_server, published_corpus, tmp_path, capsys):  # noqa: F811
    data = copy_of(published_corpus, tmp_path / "copy")
    to = s3_server.location("releases")
    assert main(["release", "--data-dir", str(data), "--version", "2026.1", "--to", to]) == 0
    out = capsys.readouterr().out
    assert f"published 2026.1 at {to}/2026.1" in out
    folder, location = data / "releases" / "2026.1", parse_location(f"{to}/2026.1")
    published = published_files(location)
    local = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert [entry.path for entry in published] == local
    fs = filesystem()
    for entry in published:  # byte for byte the local release
        assert fs.cat_file(entry.url) == (folder / entry.path).read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    by_path = {entry.path: entry for entry in published}
    assert all(by_path[f["path"]].sha256 == f["sha256"] for f in manifest["files"])

    with duckdb.connect() as con:  # DuckDB over the corpus on S3 counts what the local corpus holds
        remote = sorted(corpus_relation(con, location).aggregate("language, count(*)", "language").fetchall())
        [(words,)] = corpus_relation(con, location).aggregate("sum(n_words)").fetchall()
    assert remote == local_language_counts(data) == [("en", 2), ("fr", 3)]
    assert words == manifest["counts"]["total"]["words"]

    commit = read_commit(location)
    assert main(["release", "--data-dir", str(data), "--version", "2026.1", "--to", to]) == 0  # asked again
    assert f"{to}/2026.1: already published and unchanged" in capsys.readouterr().out
    assert read_commit(location) == commit


def test_a_different_release_under_the_same_name_is_never_published_over_the_first(
        s3_server, published_corpus, tmp_path, capsys):  # noqa: F811
    to = s3_server.location("releases")
    first = copy_of(published_corpus, tmp_path / "first")
    assert main(["release", "--data-dir", str(first), "--version", "1.0", "--to", to]) == 0
    commit = read_commit(parse_location(f"{to}/1.0"))
    other = copy_of(published_corpus, tmp_path / "other")
    unpublish(other, next(iter(corpus_ids(other))))
    capsys.readouterr()
    assert main(["release", "--data-dir", str(other), "--version", "1.0", "--to", to]) == 1
    err = capsys.readouterr().err
    assert "releases never change" in err and "not published at" in err
    assert (other / "releases" / "1.0" / "manifest.json").is_file()  # the local release is made all the same
    assert read_commit(parse_location(f"{to}/1.0")) == commit


def test_an_unusable_or_unreachable_location_is_said_with_the_right_exit_code(
        s3_server, published_corpus, tmp_path, monkeypatch, capsys):  # noqa: F811
    data = copy_of(published_corpus, tmp_path / "copy")
    assert main(["release", "--data-dir", str(data), "--version", "1", "--to", "s3://Not_A_Bucket/x"]) == 2
    assert "not a bucket name" in capsys.readouterr().err
    assert not (data / "releases" / "1").exists()  # nothing made for a location that cannot be used
    closed = free_ports(1)[0]
    monkeypatch.setenv("MOISSON_S3_ENDPOINT", f"http://127.0.0.1:{closed}")
    assert main(["release", "--data-dir", str(data), "--version", "1", "--to", s3_server.location("down")]) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{closed}" in err and "run the same command again to retry" in err
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in err


def test_a_publication_never_overwrites_a_commit_made_after_it_started(s3_server, tmp_path):  # noqa: F811
    location = parse_location(s3_server.location("swap"))
    publish_folder(write_folder(tmp_path / "zero", FILES), location)
    fs, later, once = filesystem(), [], threading.Lock()

    def another_writer_commits(path: str) -> None:  # one that ignores the lease: the commit's condition still holds
        with once:
            if not later:
                later.append({**read_commit(location), "publication": "a-writer-that-ignored-the-lease"})
                fs.pipe_file(location.path(COMMIT), json.dumps(later[0]).encode())

    with pytest.raises(ObjectStoreError, match="another publication committed while this one was uploading"):
        publish_folder(write_folder(tmp_path / "earlier", {**FILES, "README.md": b"# earlier\n"}), location,
                       after_upload=another_writer_commits)
    assert read_commit(location) == later[0]


def test_one_writer_at_a_time_and_a_lease_whose_holder_is_gone_is_taken_over(s3_server, tmp_path, monkeypatch):  # noqa: F811
    location = parse_location(s3_server.location("lease"))
    folder = write_folder(tmp_path / "folder", FILES)
    fs = filesystem()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a live process on this host holds the lease: refused, exit code 3 (busy)
        held = {"host": socket.gethostname(), "pid": sleeper.pid, "expires_at": time.time() + 600}
        fs.pipe_file(location.path(LEASE), json.dumps(held).encode())
        with pytest.raises(LocationBusy, match=f"pid {sleeper.pid} on") as busy:
            publish_folder(folder, location)
        assert busy.value.exit_code == 3 and read_commit(location) is None
    finally:
        sleeper.kill()
        sleeper.wait()
    lines = []  # its process gone: taken over at once, and released at the end
    publish_folder(folder, location, log=lines.append)
    assert any("taken over" in line for line in lines) and not fs.exists(location.path(LEASE))
    held = {"host": "another-machine", "pid": 1, "expires_at": time.time() - 1}  # time ran out
    fs.pipe_file(location.path(LEASE), json.dumps(held).encode())
    publish_folder(folder, location)
    assert not fs.exists(location.path(LEASE))


def test_a_publication_that_stalled_past_its_lease_commits_nothing(s3_server, tmp_path, monkeypatch):  # noqa: F811
    location = parse_location(s3_server.location("stalled"))
    monkeypatch.setenv("MOISSON_S3_LEASE_SECONDS", "1")
    later, stalled = [], threading.Lock()

    def stall_then_another_publishes(path: str) -> None:
        with stalled:  # every upload stops here (they run side by side): nothing renews the lease meanwhile
            if not later:
                time.sleep(1.5)  # the lease runs out; another writer takes it over and commits
                later.append(publish_folder(write_folder(tmp_path / "later", FILES), location))

    with pytest.raises(ObjectStoreError, match="lease could not be renewed .it was taken over"):
        publish_folder(write_folder(tmp_path / "stalled", {**FILES, "README.md": b"# stalled\n"}), location,
                       after_upload=stall_then_another_publishes)
    assert read_commit(location) == later[0]
