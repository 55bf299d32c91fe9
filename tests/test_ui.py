"""`make ui` really serves what `make demo` ran: dg dev (webserver + daemon) on 127.0.0.1, the demo portal with it,
the four demo sources as partitions, no warning at start, and Ctrl-C stops all of it."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_SOURCES = ["web-sample", "my-dump", "valbrune-ckan", "valbrune-archive"]
QUERY = """{ assetNodes { assetKey { path } groupName partitionKeys }
  workspaceOrError { ... on Workspace { locationEntries { name } } }
  instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"""
RUN_EVENT = re.compile(r" - [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} - ")  # a run's own log line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def processes_using(data_dir: Path) -> list[str]:
    """Processes whose environment points at this data directory: what the UI started and left running."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"MOISSON_DATA_DIR={data_dir}".encode() in environ.read_bytes().split(b"\0"):
                found.append((environ.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass
    return found


def kill_processes_using(data_dir: Path) -> None:
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"MOISSON_DATA_DIR={data_dir}".encode() in environ.read_bytes().split(b"\0"):
                os.kill(int(environ.parent.name), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def start_make_ui(demo: Path, data: Path, port: int, log: Path) -> subprocess.Popen:
    """`make ui` as a user types it (only the demo's sources file is this test's copy), in its own session so
    that a SIGINT to its process group is the terminal's Ctrl-C."""
    venv = Path(sys.prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOISSON_", "DAGSTER_HOME"))}
    command = ["make", "--no-print-directory", "-o", f"{venv}/.synced", "ui", f"VENV={venv}",
               f"DEMO_SOURCES={demo / 'sources-with-portals.yaml'}", f"DATA_DIR={data}", f"PORT={port}"]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_for_the_ui(make: subprocess.Popen, port: int, log: Path) -> dict:
    deadline, data = time.monotonic() + 300, None
    while time.monotonic() < deadline and make.poll() is None:
        try:
            data = graphql(port, QUERY)
            statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
            if data["assetNodes"] and any(s["daemonType"] == "SENSOR" and s["healthy"] for s in statuses):
                return data
        except OSError:
            pass
        time.sleep(2)
    raise AssertionError(f"the Dagster UI never answered on 127.0.0.1:{port}:\n{log.read_text()[-3000:]}")


@pytest.mark.timeout(600)
def test_make_ui_serves_the_demo_sources_with_the_portal_and_stops_cleanly(demo_copy, tmp_path):
    port, data, log = free_port(), tmp_path / "data", tmp_path / "make-ui.log"
    make = start_make_ui(demo_copy, data, port, log)
    try:
        answer = wait_for_the_ui(make, port, log)
        output = log.read_text()
        portal = int(re.search(r"CKAN at http://127\.0\.0\.1:(\d+)", output)[1])
        assert not refuses_connections(portal)  # the portal sources can be harvested from the UI
    finally:
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        try:
            make.wait(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            kill_processes_using(data)  # dg dev runs in a group of its own: a failed test must not leave it serving
            raise

    nodes = {"/".join(n["assetKey"]["path"]): n for n in answer["assetNodes"]}
    assert nodes["raw_records"]["partitionKeys"] == nodes["catalogue"]["partitionKeys"] == DEMO_SOURCES
    assert nodes["raw_records"]["groupName"] == "harvest" and nodes["quality_filtered"]["groupName"] == "curation"
    assert nodes["corpus"]["groupName"] == "publication" and len(nodes) == 10  # with source_shards
    # the location is named as pyproject.toml says, which is also where `moisson run` records its runs
    assert [entry["name"] for entry in answer["workspaceOrError"]["locationEntries"]] == ["moisson"]
    statuses = {s["daemonType"]: s["healthy"] for s in answer["instance"]["daemonHealth"]["allDaemonStatuses"]}
    assert statuses.get("SCHEDULER") and statuses.get("SENSOR")
    assert (data / "dagster" / "dagster.yaml").exists()  # the instance is the data directory's, as for `moisson run`

    output = log.read_text()
    startup = output[:output.index("Serving dagster-webserver on")]
    warnings = [line for line in startup.splitlines() if "warn" in line.lower() and not RUN_EVENT.search(line)]
    assert warnings == [], "\n".join(warnings)

    assert "demo portal stopped" in output and refuses_connections(port) and refuses_connections(portal)
    deadline = time.monotonic() + 60
    while processes_using(data) and time.monotonic() < deadline:
        time.sleep(1)
    assert processes_using(data) == []  # no code server or run worker outlives `make ui`
