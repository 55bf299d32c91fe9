"""A run's local Ray in a process of its own (moisson/ray_head.py): started before it is needed, joined by address,
its workers started ahead and reused by the run's work whatever its function, and gone, folder and all, when the
run ends or dies (even by SIGKILL, which runs no exit hook)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from moisson import ray_engine
from moisson.execution import map_stream_for
from test_ray_engine import ENGINES, no_raylet_left, raylets  # noqa: F401  (autouse: no Ray left behind)
from test_workers import parse_or_report

PROJECT = Path(__file__).resolve().parents[1]
DIES_WITH_ITS_RAY = """
import os, signal, sys
from moisson import ray_engine
ray_engine.ensure_ray(None, 1)
print(ray_engine._session.keeper.pid, flush=True)
sys.stdin.readline()
os.kill(os.getpid(), signal.SIGKILL)
"""


def gone_within(check, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def running(pid: int) -> bool:
    """A process that is there and not a zombie (an orphan's end is reaped by whatever PID 1 the machine has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def head_folders() -> set[Path]:
    return set(Path("/tmp").glob(f"{ray_engine.TEMP_PREFIX}*"))


def test_the_first_work_finds_the_workers_started_ahead_and_a_second_function_reuses_them():
    ray_engine.start_local_ray(2)
    assert ray_engine._session is None and ray_engine._head is not None  # starting, not joined: nothing waits
    ray_engine.warm_up(["moisson.language"])
    import ray

    [pool] = ray_engine._ActorPools.idle.values()
    started = set(ray.get([actor.ready_ref for actor in pool.actors], timeout=60))
    stream = map_stream_for(ENGINES["ray"])
    first = list(stream(parse_or_report, [f"page {n}" for n in range(12)], 30.0, preload=["moisson.language"]))
    second = list(stream(lambda page: (page.upper(), os.getpid()), ["a", "b", "c", "d"], 30.0,
                         preload=["moisson.language"]))
    assert [o.value[0] for o in first] == [f"page {n}" for n in range(12)]
    assert [o.value[0] for o in second] == ["A", "B", "C", "D"]  # the new function, on the same actors
    assert {o.value[1] for o in first} | {o.value[1] for o in second} <= started


def test_a_run_that_ends_leaves_no_ray_and_no_folder_without_waiting_for_them():
    before = head_folders()
    ray_engine.ensure_ray(None, 1)
    keeper = ray_engine._session.keeper
    assert raylets()
    started = time.monotonic()
    ray_engine.shutdown()
    assert time.monotonic() - started < 5  # the keeper stops the head on its own
    assert gone_within(lambda: keeper.poll() is not None and not raylets())
    assert head_folders() <= before  # its session folder removed by the keeper


def test_a_run_killed_by_sigkill_takes_its_ray_and_folder_along():
    before = head_folders()
    run = subprocess.Popen([sys.executable, "-c", DIES_WITH_ITS_RAY], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True, cwd=PROJECT, env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    keeper = int(run.stdout.readline())
    assert raylets()
    run.stdin.write("\n")
    run.stdin.flush()
    assert run.wait(60) == -signal.SIGKILL
    assert gone_within(lambda: not running(keeper) and not raylets(), 60)
    assert head_folders() <= before


def test_a_local_ray_that_cannot_start_fails_the_call_with_what_it_said(monkeypatch):
    """Its GCS port taken by another program: the head exits, and the error carries the end of its log (the keeper
    passes it on before it removes the folder)."""
    import socket

    import pytest

    from moisson.local_ports import free_ports

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        monkeypatch.setattr(ray_engine, "free_ports", lambda count: [port, *free_ports(count - 1)])
        before = head_folders()
        with pytest.raises(RuntimeError, match="the local Ray did not start") as failed:
            ray_engine.ensure_ray(None, 1)
    assert str(port) in str(failed.value) or "address already in use" in str(failed.value).lower(), str(failed.value)
    assert ray_engine._session is None and ray_engine._head is None
    assert gone_within(lambda: head_folders() <= before and not raylets())
