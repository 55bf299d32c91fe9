"""Start worker processes in a script, kill the script with SIGKILL, and see which of its processes outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def processes_left_after_kill(script: str, wait_s: float = 30) -> tuple[list[int], list[int]]:
    """`script` prints `PIDS <pid> ...` once its processes are up, then waits. Returns (those pids, those still
    running `wait_s` after the script was killed); survivors are then killed, so a failing test leaves none."""
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = process.stdout.readline()
    finally:
        process.kill()
        process.wait()
    assert line.startswith("PIDS "), f"the script printed {line!r}"
    pids = [int(pid) for pid in line.split()[1:]]
    deadline = time.monotonic() + wait_s
    while (alive := [pid for pid in pids if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    return pids, alive


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit is reaped by init, whenever init gets to it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
