"""`make ui`'s command really serves the asset graph: dagster dev (webserver + daemon) on 127.0.0.1."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

DAGSTER = Path(sys.executable).parent / "dagster"
QUERY = """{ assetNodes { assetKey { path } groupName }
  instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


@pytest.mark.timeout(300)
def test_dagster_dev_serves_the_asset_graph_and_runs_the_daemon(demo_copy, tmp_path):
    port, home = free_port(), tmp_path / "data" / "dagster"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())
    env = {**os.environ, "DAGSTER_HOME": str(home), "MOISSON_SOURCES": str(demo_copy / "sources.yaml"),
           "MOISSON_DATA_DIR": str(tmp_path / "data")}
    server = subprocess.Popen([str(DAGSTER), "dev", "-h", "127.0.0.1", "-p", str(port), "-m", "pipelines.definitions"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, data = time.monotonic() + 180, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                data = graphql(port, QUERY)
                statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
                if any(s["daemonType"] == "SCHEDULER" and s["healthy"] for s in statuses):
                    break
            except OSError:
                pass
            time.sleep(2)
        assert data is not None, "the Dagster UI never answered on 127.0.0.1"
        nodes = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in data["assetNodes"]}
        assert nodes["raw_records"] == "harvest" and nodes["quality_filtered"] == "curation"
        assert nodes["catalogue"] == "harvest" and nodes["corpus"] == "publication" and len(nodes) == 9
        statuses = {s["daemonType"]: s["healthy"] for s in data["instance"]["daemonHealth"]["allDaemonStatuses"]}
        assert statuses.get("SCHEDULER") and statuses.get("SENSOR")
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
