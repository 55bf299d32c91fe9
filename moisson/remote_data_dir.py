"""A data directory on object storage (`--data-dir s3://bucket/prefix`): a local cache, and one commit per run.

Why a local cache: every step writes local files and makes them appear by `os.replace` (moisson/atomic_files.py),
DuckDB's warehouse is one file it updates in place, and the dedup index is appended to part by part; none of that
can happen on a store without rename. So a run on a remote data directory works in a local copy of it, the cache
(`--cache-dir`, else MOISSON_CACHE_DIR, else `.moisson-cache/` in the working directory, one folder per bucket and
prefix), and the store keeps snapshots of that copy.

Why one commit for the whole directory: the corpus, `rejected/`, the card, the warehouse, the stages, the state and
`releases/` must agree with each other (the warehouse describes this corpus, the dedup index the documents it kept).
At the start of a run the cache is made identical to the last commit (`pull`: changed or missing files fetched and
checked against their sha256, files the commit does not name removed); at the end every file of the cache but the
local-only ones is published as one new commit (`push`, through moisson/object_store.py: a versioned prefix, then
`_published.json` in one PUT). `moisson run` commits once more between its curation and its publication (the
corpus is still the last one then), so that a run killed while publishing leaves the next only that to do. A reader of the store sees the directory as the last complete run left it; a run
killed at any point committed nothing, and the next run's pull puts back what was committed. Files unchanged since
the last commit are not uploaded again (the new commit names the objects already there).

One writer: the run holds the location's lease (`_publishing.json`) from its pull to its push, renewed by a thread
of its own, so a second run on another machine is refused (exit 3) instead of overwriting the first one's work, and
a run killed on this host or silent past the lease is taken over.

Local only, never published: `tmp/`, `quarantine/`, `dagster/` (the instance: Postgres in production), the lock
files (`*.lock`) and the sync index.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from moisson.object_store import (SCHEME, UPLOAD_THREADS, Lease, ObjectLocation, ObjectStoreError, PublishedObject,
                                  filesystem, local_sha256, publication_lease, publish_files, published_files,
                                  read_commit)

if TYPE_CHECKING:
    import s3fs

    from moisson.layout import DataLayout

CACHE_DIR_ENV = "MOISSON_CACHE_DIR"
DEFAULT_CACHE_DIR = ".moisson-cache"
SYNC_INDEX = ".moisson-sync.json"
LOCAL_ONLY = frozenset({"tmp", "quarantine", "dagster", SYNC_INDEX})
LOCK_SUFFIX = ".lock"  # flock files (the run's, the publication's, takedowns.csv.lock): held on this machine only
READERS_VIEW = ("warehouse.duckdb", "corpus/", "rejected/")  # what `moisson sql` reads
Log = Callable[[str], None]


@dataclass(frozen=True)
class PullOutcome:
    fetched: int
    unchanged: int
    removed: int
    publication: str | None  # the commit the cache now mirrors; None when nothing was ever committed


def cache_root(location: ObjectLocation, cache_dir: str | Path | None = None) -> Path:
    """The local copy of `location`: <cache dir>/<bucket>/<prefix, '/' quoted>, the cache dir from the argument,
    else MOISSON_CACHE_DIR, else `.moisson-cache` in the working directory. One folder per prefix, never nested:
    the copy of s3://b/x must not hold the copy of s3://b/x/y, which its pull would remove as uncommitted."""
    base = Path(cache_dir or os.environ.get(CACHE_DIR_ENV, "").strip() or DEFAULT_CACHE_DIR)
    return (base / location.bucket / (quote(location.prefix, safe="") or "_")).resolve()


def local_files(root: Path) -> list[tuple[str, Path]]:
    """(relative POSIX path, file) of every file of the cache a commit carries, sorted: all but the local-only ones
    and the lock files."""
    if not root.is_dir():
        return []
    files = []
    for top in sorted(root.iterdir()):
        if top.name in LOCAL_ONLY:
            continue
        candidates = [top] if top.is_file() else sorted(path for path in top.rglob("*") if path.is_file())
        files.extend((path.relative_to(root).as_posix(), path) for path in candidates
                     if not path.name.endswith(LOCK_SUFFIX))
    return sorted(files)


# ------------------------------------------------------------------ pull: the cache made identical to the last commit


def pull(root: Path, location: ObjectLocation, fs: "s3fs.S3FileSystem | None" = None, log: Log = lambda message: None,
         only: tuple[str, ...] | None = None) -> PullOutcome:
    """Make the cache at `root` what the last commit at `location` names (or, with `only`, the paths starting with
    one of those prefixes): missing or different files fetched and checked, files no commit names removed.

    Local-only files are never touched. A fetched file appears by rename, whole, so a pull killed midway leaves the
    cache partly old and partly new, which the next pull completes."""
    fs = fs or filesystem()
    commit = read_commit(location, fs)
    wanted = {entry.path: entry for entry in published_files(location, fs) if _in_scope(entry.path, only)}
    for relative in wanted:
        cache_path(root, relative, location)  # a commit naming a path outside the copy is refused before any fetch
    present = {relative: path for relative, path in local_files(root) if _in_scope(relative, only)}
    digests = Digests(root)
    stale = [entry for relative, entry in sorted(wanted.items())
             if relative not in present or digests.of(relative, present[relative]) != (entry.bytes, entry.sha256)]
    _fetch_all(fs, root, stale)
    for entry in stale:
        digests.known(entry.path, root / entry.path, entry.sha256)
    extra = sorted(set(present) - set(wanted))
    for relative in extra:
        present[relative].unlink()
    _prune_empty_folders(root, {present[relative].parent for relative in extra})
    outcome = PullOutcome(len(stale), len(wanted) - len(stale), len(extra), commit["publication"] if commit else None)
    if only is None:
        digests.save(outcome.publication)
    elif (root / SYNC_INDEX).exists():  # a reader's partial pull: the cache still mirrors the commit it mirrored
        digests.save(mirrored_publication(root))
    if stale or extra:
        log(f"{location}: local copy {root} brought to publication {outcome.publication or '(none yet)'}: "
            f"{outcome.fetched} files fetched, {outcome.removed} not committed removed, {outcome.unchanged} unchanged")
    return outcome


def cache_path(root: Path, relative: str, location: ObjectLocation) -> Path:
    """Where a committed file goes in the copy; ObjectStoreError for a path a commit may not name (absolute, going
    up out of the copy, or into a local-only folder): whoever can write the store must not write elsewhere here."""
    path = PurePosixPath(relative)
    inside = (root / path).resolve()
    if (path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] in LOCAL_ONLY
            or not inside.is_relative_to(root.resolve())):
        raise ObjectStoreError(f"{location}: its commit names {relative!r}, a path outside the data directory's "
                               f"files; nothing fetched into {root}")
    return inside


def _in_scope(relative: str, only: tuple[str, ...] | None) -> bool:
    return only is None or any(relative == prefix or relative.startswith(prefix) for prefix in only)


def _fetch_all(fs: "s3fs.S3FileSystem", root: Path, entries: list[PublishedObject]) -> None:
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        for future in [pool.submit(_fetch, fs, root, entry) for entry in entries]:
            future.result()


def _fetch(fs: "s3fs.S3FileSystem", root: Path, entry: PublishedObject) -> None:
    """One committed object to its place in the cache, by rename once its sha256 is checked."""
    destination = root / entry.path  # checked by `pull` (cache_path) before any fetch
    temporary = root / "tmp" / f".pull-{uuid.uuid4().hex}"
    temporary.parent.mkdir(parents=True, exist_ok=True)
    try:
        try:
            fs.get_file(entry.url[len(SCHEME):], str(temporary))
        except Exception as error:
            raise ObjectStoreError(f"{entry.url}: could not be fetched into {destination}: "
                                   f"{type(error).__name__}: {error}") from error
        size, digest = temporary.stat().st_size, local_sha256(temporary)
        if (size, digest) != (entry.bytes, entry.sha256):
            raise ObjectStoreError(f"{entry.url}: fetched {size} bytes, sha256 {digest}, but its commit says "
                                   f"{entry.bytes} bytes, sha256 {entry.sha256}; {destination} left as it was")
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def _prune_empty_folders(root: Path, folders: set[Path]) -> None:
    """Folders emptied by the removal of uncommitted files, up to the cache's root."""
    for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):
        while folder != root and folder.is_relative_to(root):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


class Digests:
    """The sha256 of the cache's files, remembered with their size and modification time in the sync index, so that
    a pull or a push hashes only the files written since the last one (the rule rsync uses to skip a file), and
    which commit the cache mirrors (`mirrored_publication`)."""

    def __init__(self, root: Path):
        self.root = root
        try:
            index = json.loads((root / SYNC_INDEX).read_text(encoding="utf-8"))
            self.files: dict[str, list] = index["files"] if isinstance(index.get("files"), dict) else {}
        except (FileNotFoundError, ValueError, AttributeError, KeyError):
            self.files = {}
        self.seen: dict[str, list] = {}

    def of(self, relative: str, path: Path) -> tuple[int, str]:
        """(size, sha256) of the file, hashed only when its size or modification time changed since it was recorded."""
        status = path.stat()
        remembered = self.files.get(relative)
        if isinstance(remembered, list) and len(remembered) == 3 and remembered[:2] == [status.st_size, status.st_mtime_ns]:
            digest = remembered[2]
        else:
            digest = local_sha256(path)
        self.seen[relative] = [status.st_size, status.st_mtime_ns, digest]
        return status.st_size, digest

    def known(self, relative: str, path: Path, digest: str) -> None:
        status = path.stat()
        self.seen[relative] = [status.st_size, status.st_mtime_ns, digest]

    def save(self, publication: str | None) -> None:
        from moisson.atomic_files import write_text

        files = {**self.files, **self.seen}
        files = {relative: value for relative, value in files.items() if (self.root / relative).is_file()}
        write_text(json.dumps({"publication": publication, "files": files}, sort_keys=True) + "\n",
                   self.root / SYNC_INDEX, self.root / "tmp")


# ------------------------------------------------------------------ push: the cache committed as one publication


def push(root: Path, location: ObjectLocation, lease: Lease, log: Log = lambda message: None) -> dict | None:
    """Every file of the cache (local-only ones aside) committed at `location` as one publication, under `lease`;
    returns the commit, or None when the cache is exactly what the last commit names (nothing to commit)."""
    files = local_files(root)
    previous = read_commit(location, lease.fs)
    digests = Digests(root)
    fingerprint = {(relative, *digests.of(relative, path)) for relative, path in files}
    if previous is not None and fingerprint == {(e["path"], e["bytes"], e["sha256"]) for e in previous["files"]}:
        log(f"{location}: nothing changed since publication {previous['publication']}; nothing committed")
        digests.save(previous["publication"])
        return None
    if not files:
        log(f"{location}: {root} holds no file to commit; nothing committed")
        return None
    commit = publish_files(files, location, lease, log, digests={relative: digest for relative, _, digest in fingerprint})
    digests.save(commit["publication"])
    return commit


# ------------------------------------------------------------------ a whole command on a remote data directory


class RemoteSession:
    """The lease held, the cache pulled: what a command on a remote data directory works in, and its `push`."""

    def __init__(self, root: Path, location: ObjectLocation, lease: Lease, log: Log):
        self.root, self.location, self.lease, self.log = root, location, lease, log
        self.pulled: PullOutcome | None = None

    def push(self) -> dict | None:
        return push(self.root, self.location, self.lease, self.log)


@contextmanager
def remote_session(layout: "DataLayout", log: Log = lambda message: None) -> Iterator[RemoteSession]:
    """The location's lease for the block (LocationBusy, exit 3, when another run holds it), renewed in the
    background, and the cache pulled to the last commit before the block starts. Nothing is committed unless the
    block calls `push`."""
    from moisson.object_store import parse_location

    if layout.remote is None:
        raise ObjectStoreError(f"{layout.root}: a local data directory, not one on object storage")
    location = parse_location(layout.remote)
    fs = filesystem()
    with publication_lease(location, fs, log) as lease, _renewed(lease, log):
        session = RemoteSession(layout.root, location, lease, log)
        session.pulled = pull(layout.root, location, fs, log)
        yield session


@contextmanager
def _renewed(lease: Lease, log: Log) -> Iterator[None]:
    """A thread renewing `lease` every third of its time while the block runs: a run lasts longer than a lease.
    A renewal that fails is logged; the push renews once more before its commit and refuses to commit then."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease.seconds / 3):
            try:
                lease.renew(force=True)
            except ObjectStoreError as error:
                log(str(error))
                return

    thread = threading.Thread(target=renew, name="moisson-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# ------------------------------------------------------------------ runs launched by the UI, the daemon, a schedule


def ensure_pulled(layout: "DataLayout", log: Log = lambda message: None) -> PullOutcome | None:
    """A cache never pulled (a fresh machine) pulled once, before a step reads it; None when it already was.

    Why only then: runs launched by the UI or the daemon share the cache and run side by side, and a pull removes
    what the last commit does not name, which would include another run's fresh stage files. Such runs therefore
    treat the cache as their working copy; the publish job commits it (`commit_cache`). Under the data directory's
    publication lock, so that two steps starting together on a fresh machine pull it once."""
    from moisson.object_store import parse_location
    from moisson.publication_lock import publication_lock, wait_seconds_from_env

    if layout.remote is None or (layout.root / SYNC_INDEX).exists():
        return None
    with publication_lock(layout.publish_lock_file, "first pull of the local copy", wait_seconds_from_env(), log):
        if (layout.root / SYNC_INDEX).exists():
            return None
        return pull(layout.root, parse_location(layout.remote), log=log)


def commit_cache(layout: "DataLayout", log: Log = lambda message: None) -> dict | None:
    """The cache committed under the location's lease, at the end of a publication launched by the UI or the daemon;
    the commit, or None when nothing changed.

    Refused (ObjectStoreError) when the store holds a commit made since this cache was pulled or last committed (by
    `moisson run` or `moisson release` on another machine): committing this cache would drop that commit's files."""
    from moisson.object_store import parse_location

    if layout.remote is None:
        return None
    location = parse_location(layout.remote)
    fs = filesystem()
    with publication_lease(location, fs, log) as lease:
        current = read_commit(location, fs)
        mirrored = mirrored_publication(layout.root)
        if current is not None and current["publication"] != mirrored:
            raise ObjectStoreError(f"{location}: holds publication {current['publication']}, committed after the one "
                                   f"this machine's copy {layout.root} started from ({mirrored or 'none'}); this "
                                   "publication is not committed there (remove the copy to start again from the "
                                   "store's, or run `moisson run --data-dir` on it)")
        return push(layout.root, location, lease, log)


def mirrored_publication(root: Path) -> str | None:
    """The commit the cache was last pulled from or committed as (its sync index); None when none."""
    try:
        return json.loads((root / SYNC_INDEX).read_text(encoding="utf-8")).get("publication")
    except (FileNotFoundError, ValueError, AttributeError):
        return None


def pull_for_readers(layout: "DataLayout", log: Log = lambda message: None) -> PullOutcome:
    """The warehouse, corpus and rejected files of the last commit in the cache, for `moisson sql` (no lease: a
    reader changes nothing on the store)."""
    from moisson.object_store import parse_location

    if layout.remote is None:
        raise ObjectStoreError(f"{layout.root}: a local data directory, not one on object storage")
    return pull(layout.root, parse_location(layout.remote), log=log, only=READERS_VIEW)
