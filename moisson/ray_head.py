"""The local Ray of one run, in a process of its own: `python -m moisson.ray_head <folder> <ray start options>`.

Why a process of its own rather than `ray.init()` in the run: a Ray started by `ray.init()` costs 3-5 s of the run's
critical path to start and 1-2 s to stop. Started as a head (`ray start --head --block`) by this keeper when the
run begins, it comes up while Dagster starts and the first source is read, and the run joins it by address (a
fraction of a second) when the first document needs it; at the end the run only signals the keeper and leaves.

The keeper's duties: die with the run (the kernel sends it SIGTERM when its parent dies, even by SIGKILL:
PR_SET_PDEATHSIG), stop the head on SIGTERM (`ray start --block` stops every Ray process it started when it is
terminated), and remove the head's folder (Ray's session files, sockets and logs) once the head is gone.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_SECONDS = 20.0  # for the head to stop its processes before it is killed
LOG_TAIL = 4000  # characters of the head's log passed on when it failed


def die_with_parent() -> None:
    """SIGTERM to this process when its parent dies (Linux); if the parent is gone already, now."""
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str]) -> int:
    folder, options = Path(argv[0]), argv[1:]
    head: subprocess.Popen | None = None
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        if head is not None and head.poll() is None:
            head.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    die_with_parent()
    try:
        with (folder / "head.log").open("ab") as log:
            head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", *options],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if stopping:  # the run was gone before the head started
                head.terminate()
            try:
                head.wait()
            except BaseException:
                head.terminate()
                raise
            finally:
                try:
                    head.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    head.kill()
                    head.wait()
        if stopping:
            return 0
        print((folder / "head.log").read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:], file=sys.stderr)
        return head.returncode or 1  # the head ended on its own: what it said goes to the run, before the folder goes
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
