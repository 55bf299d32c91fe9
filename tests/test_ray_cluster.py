"""policy.execution {engine: ray, address: ray://...}: the per-document work goes to the cluster at that address, not
to a Ray of the run's own. The cluster is a Ray head the test starts on 127.0.0.1 (free ports, its own folder under
/tmp, token authentication) and stops by its process id; no process of it is left."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moisson import ray_engine
from moisson.config import ExecutionPolicy
from moisson.execution import map_documents_for
from test_ray_engine import decisions, write_crawl
from test_ray_equivalence import descendant
from test_workers import parse_or_report

RAY = Path(sys.executable).with_name("ray")
AUTHENTICATION = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_naming(text: str) -> list[str]:
    return subprocess.run(["pgrep", "-af", text], capture_output=True, text=True).stdout.splitlines()


@pytest.fixture
def ray_head() -> Iterator[tuple[str, subprocess.Popen]]:
    """A Ray head on 127.0.0.1 with a client server (`ray start --head --block`): its ray:// address and process.
    This process and the runs it starts hold the head's token, as a cluster's users would."""
    port, client = free_port(), free_port()
    folder = tempfile.mkdtemp(prefix="moisson-ray-head-", dir="/tmp")
    saved = {name: os.environ.get(name) for name in AUTHENTICATION}
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    ray_engine._reload_authentication()
    paths = os.pathsep.join(path for path in sys.path if path and os.path.isdir(path))  # Moisson and these tests
    head = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", f"--port={port}", f"--ray-client-server-port={client}",
         "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={folder}",
         "--disable-usage-stats"],
        env=dict(os.environ, PYTHONPATH=paths, RAY_USAGE_STATS_ENABLED="0", RAY_worker_niceness="0"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield f"ray://127.0.0.1:{client}", head
    finally:
        ray_engine.shutdown()
        head.send_signal(signal.SIGTERM)  # the head drains, then stops every process it started
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        ray_engine._reload_authentication()
        deadline = time.monotonic() + 15
        while processes_naming(folder) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = processes_naming(folder)
        subprocess.run(["rm", "-rf", folder], check=False)
        assert left == [], "a process of the Ray head outlived it"


def connect(address: str) -> int:
    """The head answers some seconds after `ray start`: connect as soon as it does."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return ray_engine.ensure_ray(address)
        except (ConnectionError, RuntimeError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_the_work_goes_to_the_cluster_at_the_address(ray_head):
    address, head = ray_head
    assert connect(address) == 2
    outcomes = map_documents_for(ExecutionPolicy(engine="ray", address=address))(
        parse_or_report, [f"page {n}" for n in range(30)], 30.0)
    assert [o.value[0] for o in outcomes] == [f"page {n}" for n in range(30)]
    workers = {o.value[1] for o in outcomes}
    assert workers and all(descendant(pid, head.pid) for pid in workers), "the work ran outside the cluster"
    assert ray_engine._session is not None and ray_engine._session.keeper is None  # joined, not started


def test_a_run_given_the_address_decides_as_a_local_run(ray_head, tmp_path):
    address, _ = ray_head
    connect(address)  # the head is up; the run connects on its own
    ray_engine.shutdown()
    write_crawl(tmp_path / "crawl.warc.gz")
    local, _ = decisions(tmp_path / "crawl.warc.gz", tmp_path / "local", "{engine: local}")
    on_cluster, output = decisions(tmp_path / "crawl.warc.gz", tmp_path / "cluster", f"{{engine: ray, address: '{address}'}}")
    assert f"per-document work on Ray ({address}, 2 CPUs)" in output
    assert on_cluster == local
