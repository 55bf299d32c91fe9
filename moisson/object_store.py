"""Object storage (S3 or any S3-compatible store) through fsspec/s3fs, and atomic publication there.

Why a commit object: a store has no rename, so a folder cannot appear whole the way `os.rename` makes a local one
appear (moisson/release.py, moisson/atomic_files.py). A publication therefore uploads every file under a prefix of
its own, `<location>/versions/<publication>/`, checks each object by reading it back, and only then writes one small
object, `<location>/_published.json`, that lists every object (its path, key, size and sha256). A single PUT replaces
an object whole, so a reader that starts from the commit object sees the previous publication or the new one, never
half of one. Objects no commit names are invisible to readers (`published_files`); a publication killed midway
leaves only such an uncommitted prefix, and the next publication removes it (`collect_garbage`).

Why the previous commit's objects are kept one publication longer: a reader that read the old commit a moment
before the new one was written can still fetch what it names. Files unchanged since the previous publication (same
path, size and sha256) are not uploaded again: the new commit names the object already there.

One writer per location: a publication holds the location's lease, `<location>/_publishing.json`, created only if
absent and renewed as it uploads (a publication starts by collecting what no commit names, which would include
another writer's uploads in progress). A lease whose holder is gone is taken over: its time ran out, or its process
is dead on this host. And the commit object is replaced on condition (If-Match the ETag read when the publication
started, If-None-Match for the first one): a publication never overwrites a commit made after it started.

Where the store is and who may write to it come from the environment only, as boto and s3fs read it:
`MOISSON_S3_ENDPOINT` (else `AWS_ENDPOINT_URL`, else AWS itself), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.
Credentials are never passed, stored, logged or written into a commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import s3fs

SCHEME = "s3://"
COMMIT = "_published.json"
LEASE = "_publishing.json"
LEASE_SECONDS_ENV = "MOISSON_S3_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS = 900.0  # renewed while uploading; a writer silent for this long is taken over
VERSIONS = "versions"
FORMAT = "moisson-publication/1"
ENDPOINT_VARIABLES = ("MOISSON_S3_ENDPOINT", "AWS_ENDPOINT_URL")
BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's rule for bucket names
CHUNK = 1 << 20
UPLOAD_THREADS = 8


class ObjectStoreError(Exception):
    """The store could not be read or written as asked; the message names the location and the cause."""

    exit_code = 1


class LocationBusy(ObjectStoreError):
    """Another publication holds the location's lease."""

    exit_code = 3


class BadSetting(ObjectStoreError):
    """A setting this module cannot use (exit code 2, as a sources file that cannot be used)."""

    exit_code = 2


class BadLocation(BadSetting):
    """Not an `s3://bucket/prefix` this module can use."""


@dataclass(frozen=True)
class ObjectLocation:
    """`s3://bucket/prefix`: a folder on object storage. `prefix` has no leading or trailing slash."""

    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"{SCHEME}{self.path('')}".rstrip("/")

    def path(self, relative: str) -> str:
        """`bucket/prefix/relative`, as s3fs names objects."""
        return "/".join(part for part in (self.bucket, self.prefix, relative) if part)

    def url(self, relative: str) -> str:
        return SCHEME + self.path(relative)

    def child(self, name: str) -> "ObjectLocation":
        _check_relative(name, str(self))
        return ObjectLocation(self.bucket, "/".join(part for part in (self.prefix, name) if part))


@dataclass(frozen=True)
class PublishedObject:
    """One object of a committed publication: `path` inside the published folder, `url` where it is stored."""

    path: str
    url: str
    bytes: int
    sha256: str


def is_object_location(text: str | os.PathLike) -> bool:
    return isinstance(text, str) and text.startswith(SCHEME)


def parse_location(text: str) -> ObjectLocation:
    """`s3://bucket/some/prefix` (a trailing slash is dropped); BadLocation says what is wrong with anything else."""
    if not is_object_location(text):
        raise BadLocation(f"{text!r}: not an object storage location (expected s3://bucket/prefix)")
    bucket, _, prefix = text[len(SCHEME):].partition("/")
    if not BUCKET_PATTERN.fullmatch(bucket) or ".." in bucket:
        raise BadLocation(f"{text!r}: {bucket!r} is not a bucket name (3 to 63 lowercase letters, digits, '.', '-')")
    prefix = prefix.rstrip("/")
    if prefix:
        _check_relative(prefix, text)
    return ObjectLocation(bucket, prefix)


def _check_relative(relative: str, where: str) -> None:
    segments = relative.split("/")
    if any(segment in ("", ".", "..") for segment in segments) or any(ord(c) < 32 or c == "\\" for c in relative):
        raise BadLocation(f"{where!r}: {relative!r} is not a usable key prefix (empty, '.' or '..' segments, "
                          "backslashes or control characters)")


def endpoint_from_env() -> str | None:
    """The S3 endpoint to use: MOISSON_S3_ENDPOINT, else AWS_ENDPOINT_URL, else None (AWS's own)."""
    for name in ENDPOINT_VARIABLES:
        if value := os.environ.get(name, "").strip():
            return value
    return None


def filesystem() -> "s3fs.S3FileSystem":
    """An s3fs filesystem on the endpoint the environment names; botocore reads the credentials there itself.

    No listing cache: a publication lists what it has just written, and a reader must see the latest commit."""
    import s3fs

    return s3fs.S3FileSystem(endpoint_url=endpoint_from_env(), skip_instance_cache=True, use_listings_cache=False,
                             config_kwargs={"connect_timeout": 10, "read_timeout": 120,
                                            "retries": {"max_attempts": 3}})


# ------------------------------------------------------------------ readers


def read_commit(location: ObjectLocation, fs: "s3fs.S3FileSystem | None" = None) -> dict | None:
    """The commit object of `location`, or None when nothing was ever committed there."""
    return _read_commit(location, fs or filesystem())[0]


def _read_commit(location: ObjectLocation, fs: "s3fs.S3FileSystem") -> tuple[dict | None, str | None]:
    """The commit and its ETag. The ETag is taken first: if the commit is replaced between the two requests, the
    ETag is the older one, and a publication that swaps on it is refused rather than overwriting the newer commit."""
    where = location.url(COMMIT)
    try:
        etag = fs.info(location.path(COMMIT)).get("ETag")
        data = fs.cat_file(location.path(COMMIT))
    except FileNotFoundError:
        return None, None
    except Exception as error:  # botocore's connection errors are not OSErrors
        raise _store_error(where, "could not be read", error) from error
    try:
        commit = json.loads(data)
    except ValueError as error:
        raise ObjectStoreError(f"{where}: not a publication commit ({error}); nothing published there is trusted "
                               "until a publication replaces it") from None
    if not isinstance(commit, dict) or commit.get("format") != FORMAT or not isinstance(commit.get("files"), list):
        raise ObjectStoreError(f"{where}: not a {FORMAT} commit (format {commit.get('format') if isinstance(commit, dict) else None!r})")
    return commit, etag


def published_files(location: ObjectLocation | str, fs: "s3fs.S3FileSystem | None" = None) -> list[PublishedObject]:
    """The objects the latest commit at `location` names, sorted by path; [] when nothing was committed.

    Never a listing of the prefix: what no commit names (an upload in progress or killed) is not published."""
    location = parse_location(location) if isinstance(location, str) else location
    commit = read_commit(location, fs)
    if commit is None:
        return []
    return sorted((PublishedObject(entry["path"], location.url(entry["key"]), entry["bytes"], entry["sha256"])
                   for entry in commit["files"]), key=lambda published: published.path)


def verify_published(location: ObjectLocation, fs: "s3fs.S3FileSystem | None" = None) -> list[PublishedObject]:
    """Every committed object read back and hashed; ObjectStoreError names the first one that differs from its commit."""
    fs = fs or filesystem()
    published = published_files(location, fs)
    for entry in published:
        size, digest = _stored_size_and_sha256(fs, entry.url[len(SCHEME):], entry.url)
        if (size, digest) != (entry.bytes, entry.sha256):
            raise ObjectStoreError(f"{entry.url}: {size} bytes, sha256 {digest}, but its commit says {entry.bytes} "
                                   f"bytes, sha256 {entry.sha256}")
    return published


# ------------------------------------------------------------------ publication


def publish_folder(folder: Path, location: ObjectLocation, log: Callable[[str], None] = lambda message: None,
                   after_upload: Callable[[str], None] | None = None, now: datetime | None = None) -> dict:
    """Every file under `folder` published at `location` atomically (see the module's docstring); returns the commit.

    `after_upload(path)` is called after each object is uploaded and read back (tests raise from it to kill a publication midway).
    Nothing is committed unless every object was read back with the size and sha256 of its local file."""
    fs = filesystem()
    files = _local_files(folder)
    if not files:
        raise ObjectStoreError(f"{folder}: no files to publish at {location}")
    with publication_lease(location, fs, log) as lease:
        return _publish(fs, location, files, lease, log, after_upload, now)


def publish_files(files: list[tuple[str, Path]], location: ObjectLocation, lease: "Lease",
                  log: Callable[[str], None] = lambda message: None,
                  after_upload: Callable[[str], None] | None = None, digests: dict[str, str] | None = None) -> dict:
    """`files` ((relative path, local file), sorted by path) published at `location` atomically, under a lease the
    caller already holds (a whole run on a remote data directory holds it from its first read to its last commit,
    moisson/remote_data_dir.py); returns the commit. `digests` (relative path: sha256) spares hashing files whose
    digest the caller already knows; an uploaded object is still read back and checked against it."""
    if not files:
        raise ObjectStoreError(f"no files to publish at {location}")
    for relative, _ in files:
        _check_relative(relative, str(location))
    return _publish(lease.fs, location, files, lease, log, after_upload, None, digests or {})


def _publish(fs: "s3fs.S3FileSystem", location: ObjectLocation, files: list[tuple[str, Path]], lease: "Lease",
             log: Callable[[str], None], after_upload: Callable[[str], None] | None, now: datetime | None,
             digests: dict[str, str] | None = None) -> dict:
    previous, etag = _read_commit(location, fs)
    collect_garbage(location, fs, log)
    publication = _publication_id(now)
    reused = _reusable(previous)
    entries = _upload_all(fs, location, publication, files, reused, lease, after_upload, digests or {})
    lease.renew(force=True)  # still ours right before the commit: nobody took over a publication that stalled
    uploaded = sum(entry["key"].startswith(f"{VERSIONS}/{publication}/") for entry in entries)
    commit = {"format": FORMAT, "publication": publication, "published_at": _timestamp(now),
              "files": entries, "retained": _retained(previous, entries)}
    _swap_commit(fs, location, commit, previous, etag)
    log(f"{location}: publication {publication} committed ({len(entries)} files, {uploaded} uploaded, "
        f"{len(entries) - uploaded} unchanged since the previous one)")
    collect_garbage(location, fs, log)
    return commit


def collect_garbage(location: ObjectLocation, fs: "s3fs.S3FileSystem | None" = None,
                    log: Callable[[str], None] = lambda message: None) -> list[str]:
    """Remove every object under `versions/` that neither the commit nor its predecessor names: the uploads of
    killed publications, and files replaced two publications ago. Returns the removed objects' URLs."""
    fs = fs or filesystem()
    commit = read_commit(location, fs)
    kept = ({entry["key"] for entry in commit["files"]} | set(commit.get("retained", []))) if commit else set()
    base = location.path("") + "/"
    try:
        stored = sorted(fs.find(location.path(VERSIONS)))
    except Exception as error:
        raise _store_error(location.url(VERSIONS), "could not be listed", error) from error
    garbage = [path for path in stored if path.removeprefix(base) not in kept]
    if not garbage:
        return []
    try:
        fs.rm(garbage)
    except Exception as error:
        raise _store_error(location.url(VERSIONS), f"{len(garbage)} objects could not be removed", error) from error
    by_publication: dict[str, int] = {}
    for path in garbage:
        publication = path.removeprefix(base).split("/")[1]
        by_publication[publication] = by_publication.get(publication, 0) + 1
    for publication, count in sorted(by_publication.items()):
        log(f"{location.url(VERSIONS)}/{publication}: {count} objects no commit names (a publication killed midway, "
            "or files replaced two publications ago), removed")
    return [SCHEME + path for path in garbage]


# ------------------------------------------------------------------ one writer per location: a lease object


class Lease:
    """`<location>/_publishing.json`, created only if absent (If-None-Match) and renewed on its ETag (If-Match): the
    one writer allowed at a location. A lease whose holder is gone is taken over: its time ran out (a writer on
    another machine), or its process is dead on this host (a publication killed here a moment ago)."""

    def __init__(self, location: ObjectLocation, fs: "s3fs.S3FileSystem", seconds: float):
        self.location, self.fs, self.seconds = location, fs, seconds
        self.etag: str | None = None
        self.renewed = 0.0
        self._renewing = threading.Lock()  # a run renews from a thread of its own while its uploads renew too

    def body(self) -> bytes:
        holder = {"host": socket.gethostname(), "pid": os.getpid(),
                  "expires_at": time.time() + self.seconds}
        return (json.dumps(holder, sort_keys=True) + "\n").encode()

    def acquire(self, log: Callable[[str], None]) -> None:
        try:
            self._put(mode="create")
            return
        except Exception as error:
            held, etag = self._read()
            if held is None:  # released between the two requests: try once more, on the same condition
                self._put(mode="create")
                return
            if not _stale(held):
                raise LocationBusy(f"{self.location.url(LEASE)}: a publication by pid {held.get('pid')} on "
                                   f"{held.get('host')} holds this location until "
                                   f"{_timestamp(datetime.fromtimestamp(held.get('expires_at', 0), timezone.utc))}; "
                                   "try again later") from error
        self._put(IfMatch=etag)  # taken over: fails if someone else took it over first
        log(f"{self.location.url(LEASE)}: left by pid {held.get('pid')} on {held.get('host')}, whose process is gone "
            "or whose time ran out; taken over")

    def renew(self, force: bool = False) -> None:
        with self._renewing:
            if force or time.monotonic() - self.renewed > self.seconds / 3:
                self._renew()

    def _renew(self) -> None:
        try:
            self._put(IfMatch=self.etag)
        except Exception as error:
            raise ObjectStoreError(f"{self.location.url(LEASE)}: this publication's lease could not be renewed "
                                   "(it was taken over after this publication stalled longer than the lease, or "
                                   f"the store did not answer: {type(error).__name__}); nothing committed") from error

    def release(self) -> None:
        held, etag = self._read()
        if held is not None and etag == self.etag:
            self.fs.rm_file(self.location.path(LEASE))

    def _put(self, **condition) -> None:
        """The ETag kept is the one the store answered to this PUT, not one read after it (another writer's)."""
        answer = self.fs.pipe_file(self.location.path(LEASE), self.body(), **condition)
        etag = answer.get("ETag") if isinstance(answer, dict) else None
        self.etag, self.renewed = etag or self.fs.info(self.location.path(LEASE)).get("ETag"), time.monotonic()

    def _read(self) -> tuple[dict | None, str | None]:
        try:
            etag = self.fs.info(self.location.path(LEASE)).get("ETag")
            held = json.loads(self.fs.cat_file(self.location.path(LEASE)))
        except FileNotFoundError:
            return None, None
        except ValueError:
            held = {}
        return (held if isinstance(held, dict) else {}), etag  # an unreadable lease is stale


@contextmanager
def publication_lease(location: ObjectLocation, fs: "s3fs.S3FileSystem | None" = None,
                      log: Callable[[str], None] = lambda message: None) -> Iterator[Lease]:
    """The location's lease for the block (LocationBusy when another live publication holds it)."""
    fs = fs or filesystem()
    lease = Lease(location, fs, lease_seconds_from_env())
    try:
        lease.acquire(log)
    except ObjectStoreError:
        raise
    except Exception as error:
        raise _store_error(location.url(LEASE), "could not be taken", error) from error
    try:
        yield lease
    finally:
        try:
            lease.release()
        except Exception as error:  # the publication's own outcome matters more; the lease runs out by itself
            log(f"{location.url(LEASE)}: could not be released ({type(error).__name__}: {error}); it runs out in "
                f"{lease.seconds:.0f}s, or as soon as this process has ended for a publication from this host")


def lease_seconds_from_env() -> float:
    """MOISSON_S3_LEASE_SECONDS when set, else DEFAULT_LEASE_SECONDS."""
    value = os.environ.get(LEASE_SECONDS_ENV, "").strip()
    try:
        seconds = float(value) if value else DEFAULT_LEASE_SECONDS
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise BadSetting(f"{LEASE_SECONDS_ENV}={value!r}: not a positive number of seconds")
    return seconds


def _stale(held: dict) -> bool:
    """Its time ran out, or it was taken on this host by a process that no longer runs."""
    if not isinstance(held.get("expires_at"), (int, float)) or held["expires_at"] < time.time():
        return True
    if held.get("host") == socket.gethostname() and isinstance(held.get("pid"), int):
        try:
            os.kill(held["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


def _swap_commit(fs: "s3fs.S3FileSystem", location: ObjectLocation, commit: dict, previous: dict | None,
                 etag: str | None) -> None:
    """The commit object written in one PUT, on condition that it is still the one this publication started from
    (If-Match its ETag, or If-None-Match when there was none): a publication that committed meanwhile is never
    overwritten by one that started before it."""
    data = (json.dumps(commit, sort_keys=True, indent=2) + "\n").encode()
    condition = {"IfMatch": etag} if previous is not None else {"mode": "create"}
    try:
        fs.pipe_file(location.path(COMMIT), data, **condition)
    except Exception as error:
        if _read_commit(location, fs)[0] != previous:
            raise ObjectStoreError(f"{location.url(COMMIT)}: another publication committed while this one was "
                                   "uploading; this one is not committed (its uploads are collected by the next "
                                   "publication)") from error
        raise _store_error(location.url(COMMIT), "could not be written", error) from error


def _upload_all(fs: "s3fs.S3FileSystem", location: ObjectLocation, publication: str, files: list[tuple[str, Path]],
                reused: dict[str, dict], lease: "Lease", after_upload: Callable[[str], None] | None,
                digests: dict[str, str]) -> list[dict]:
    """The commit entries of every file, in path order; UPLOAD_THREADS uploads at a time (a store answers each
    request in milliseconds, so many small files go no faster one by one than the round trips allow)."""
    entries = []
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        futures = [pool.submit(_upload, fs, location, publication, relative, path, reused, after_upload,
                               digests.get(relative))
                   for relative, path in files]
        try:
            for future in futures:
                entries.append(future.result())
                lease.renew()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return entries


def _upload(fs: "s3fs.S3FileSystem", location: ObjectLocation, publication: str, relative: str, path: Path,
            reused: dict[str, dict], after_upload: Callable[[str], None] | None, known: str | None = None) -> dict:
    """The commit entry of one file: the previous publication's object when unchanged, else a new upload, read back."""
    size, digest = path.stat().st_size, known or local_sha256(path)
    before = reused.get(relative)
    if before is not None and (before["bytes"], before["sha256"]) == (size, digest) and _has(fs, location, before):
        return before
    key = f"{VERSIONS}/{publication}/{relative}"
    url = location.url(key)
    try:
        fs.put_file(str(path), location.path(key))
    except Exception as error:
        raise _store_error(url, f"could not be uploaded from {path}", error) from error
    stored = _stored_size_and_sha256(fs, location.path(key), url)
    if stored != (size, digest):
        raise ObjectStoreError(f"{url}: read back as {stored[0]} bytes, sha256 {stored[1]}, but {path} has {size} "
                               f"bytes, sha256 {digest}; nothing committed")
    if after_upload is not None:
        after_upload(relative)
    return {"path": relative, "key": key, "bytes": size, "sha256": digest}


def _has(fs: "s3fs.S3FileSystem", location: ObjectLocation, entry: dict) -> bool:
    try:
        return fs.info(location.path(entry["key"]))["size"] == entry["bytes"]
    except FileNotFoundError:
        return False


def _reusable(commit: dict | None) -> dict[str, dict]:
    return {entry["path"]: entry for entry in commit["files"]} if commit else {}


def _retained(previous: dict | None, entries: list[dict]) -> list[str]:
    """The keys the previous commit named and this one does not: kept for one more publication, for its readers."""
    current = {entry["key"] for entry in entries}
    return sorted({entry["key"] for entry in previous["files"]} - current) if previous else []


def _local_files(folder: Path) -> list[tuple[str, Path]]:
    """(relative POSIX path, file) for every file under `folder`, sorted; a name that is no usable key is refused."""
    if not folder.is_dir():
        raise ObjectStoreError(f"{folder}: not a folder, nothing to publish")
    files = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            relative = path.relative_to(folder).as_posix()
            _check_relative(relative, str(folder))
            files.append((relative, path))
    return files


def _stored_size_and_sha256(fs: "s3fs.S3FileSystem", key: str, url: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    try:
        with fs.open(key, "rb", block_size=8 * CHUNK, cache_type="none") as handle:
            while chunk := handle.read(8 * CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except Exception as error:
        raise _store_error(url, "could not be read back", error) from error
    return size, digest.hexdigest()


def local_sha256(path: Path) -> str:
    """The sha256 of a local file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _store_error(url: str, what: str, error: BaseException) -> ObjectStoreError:
    """The cause in words, with the endpoint (never the credentials)."""
    endpoint = endpoint_from_env() or "AWS's default endpoint"
    hint = " (does the bucket exist?)" if isinstance(error, FileNotFoundError) else ""
    return ObjectStoreError(f"{url}: {what} on {endpoint}: {type(error).__name__}: {error}{hint}")


def _publication_id(now: datetime | None) -> str:
    """Sortable by time, unique: `20261203T170000Z-<12 hex>`."""
    return f"{(now or datetime.now(timezone.utc)).astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"


def _timestamp(now: datetime | None) -> str:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ DuckDB


def register_filesystem(con: "duckdb.DuckDBPyConnection") -> None:
    """DuckDB reads `s3://` through s3fs (its httpfs extension cannot be installed everywhere: fsspec always works)."""
    if not con.filesystem_is_registered("s3"):
        con.register_filesystem(filesystem())


def corpus_relation(con: "duckdb.DuckDBPyConnection", location: ObjectLocation | str,
                    folder: str = "data") -> "duckdb.DuckDBPyRelation":
    """The committed Parquet files under `folder/` at `location` (a release's `data/<language>/*.parquet`) as one
    DuckDB relation on `con`, e.g. `corpus_relation(con, loc).aggregate("language, count(*)")`."""
    from moisson.parquet_files import duckdb_paths

    location = parse_location(location) if isinstance(location, str) else location
    files = [entry.url for entry in published_files(location)
             if entry.path.startswith(f"{folder}/") and entry.path.endswith(".parquet")]
    if not files:
        raise ObjectStoreError(f"{location}: no committed Parquet file under {folder}/ (nothing published there yet?)")
    register_filesystem(con)
    return con.read_parquet(duckdb_paths(files), hive_partitioning=False)
