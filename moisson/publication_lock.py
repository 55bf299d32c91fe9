"""One publication step at a time per data directory, whoever launched it.

Why the publish steps take it themselves: `moisson run` locks the data directory for its whole run,
but a publication launched from the UI, the nightly schedule or a sensor never goes through the CLI,
and two publications that overlapped once appended every document twice to the append-only corpus.
The three publish steps (deduplicated, corpus, warehouse) may run in separate processes, so each one
holds an exclusive `flock` on `DataLayout.publish_lock_file` for the whole of its work: reading the
index or the corpus, deciding, appending, loading. Publication stays correct between the steps because
each step re-reads what is published under the lock (the corpus append skips ids already there).

A file of its own, not the CLI's `.moisson.lock`: flock belongs to an open file description, so a
process opening the CLI's lock file a second time would wait on itself.

The wait is bounded and logged: a step that cannot get the lock in time fails with a message naming
the lock file and the holder, rather than hanging a schedule forever.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

WAIT_ENV = "MOISSON_PUBLISH_LOCK_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 2 * 3600.0  # longer than a publication of a large corpus takes; a schedule never hangs past it
POLL_SECONDS = 0.2
REPORT_EVERY_SECONDS = 60.0


class PublicationBusy(RuntimeError):
    """Another publication held the lock for longer than this step would wait."""


def wait_seconds_from_env() -> float:
    """`MOISSON_PUBLISH_LOCK_WAIT_SECONDS` when set (0: do not wait at all), else DEFAULT_WAIT_SECONDS."""
    value = os.environ.get(WAIT_ENV, "").strip()
    if not value:
        return DEFAULT_WAIT_SECONDS
    try:
        return max(0.0, float(value))
    except ValueError:
        raise ValueError(f"{WAIT_ENV}={value!r}: not a number of seconds") from None


@contextmanager
def publication_lock(lock_file: Path, holder: str, wait_seconds: float,
                     log: Callable[[str], None] = lambda message: None) -> Iterator[float]:
    """Hold the publication lock for the block; yield how many seconds it waited for it.

    `holder` (say, the step and the run id) is written into the lock file, so a step left waiting
    can say whom it waits for."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+", encoding="utf-8") as handle:
        waited = _acquire(handle, lock_file, wait_seconds, log)
        handle.seek(0), handle.truncate(), handle.write(f"{holder} (pid {os.getpid()})\n"), handle.flush()
        try:
            yield waited
        finally:
            handle.seek(0), handle.truncate(), handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle, lock_file: Path, wait_seconds: float, log: Callable[[str], None]) -> float:
    started = time.monotonic()
    reported = None
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            waited = time.monotonic() - started
            if reported is not None:
                log(f"publication lock {lock_file} acquired after waiting {waited:.1f}s")
            return waited
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise PublicationBusy(
                f"another publication holds {lock_file} ({_holder(lock_file)}) and did not finish within "
                f"{wait_seconds:.0f}s: nothing was published by this step; run it again once that one is over "
                f"(or raise {WAIT_ENV})")
        if reported is None or waited - reported >= REPORT_EVERY_SECONDS:
            log(f"waiting for the publication lock {lock_file}, held by {_holder(lock_file)} "
                f"({waited:.0f}s so far, at most {wait_seconds:.0f}s)")
            reported = waited
        time.sleep(POLL_SECONDS)


def _holder(lock_file: Path) -> str:
    try:
        return lock_file.read_text(encoding="utf-8").strip() or "a process that did not say"
    except OSError:
        return "unknown holder"
