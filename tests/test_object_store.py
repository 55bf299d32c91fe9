"""Object storage against a real S3 server (SeaweedFS on 127.0.0.1, tests/s3_server.py): atomic publication by a
commit object written last, readers that see committed objects only, garbage left by a killed publication
collected by the next, a release published with `moisson release --to`, and DuckDB reading the corpus there."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from moisson.object_store import (COMMIT, VERSIONS, BadLocation, ObjectLocation, ObjectStoreError, collect_garbage,
                                  corpus_relation, filesystem, parse_location, publish_folder, published_files,
                                  read_commit, verify_published)
from s3_server import s3_server  # noqa: F401  (the fixture, used by name)


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
