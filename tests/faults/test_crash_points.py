"""SIGKILL at five points of one run (fetch, extraction, dedup, Parquet writing, DuckDB load), restart each time:
the result equals an uninterrupted run, no partial file is ever visible in the corpus, the warehouse always opens.

No hook in the product: each point is recognised from outside by a file the run leaves on its way (raw
store entries, a stage file, the first corpus part, the warehouse file), and the run is killed the moment
it appears. Resources are served slowly so the fetch point is reached mid-fetch.
"""

from __future__ import annotations

import json
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import yaml

from e2e import corpus_rows, run_moisson, start_moisson, warehouse
from faults.fault_server import FaultServer, answer, slow
from faults.hostile import TOPICS, article

POINTS = {  # name -> the file whose appearance means the run is in (or just past) that step
    "fetch": lambda data: len(list((data / "raw").rglob("*"))) >= 8,
    "extraction": lambda data: (data / "stages" / "raw_records" / "portal.parquet").exists(),
    "dedup": lambda data: (data / "stages" / "quality_filtered" / "web-sample.parquet").exists()
    and (data / "stages" / "quality_filtered" / "portal.parquet").exists(),
    "parquet-writing": lambda data: any((data / "corpus").glob("*/*.parquet")),
    "duckdb-load": lambda data: (data / "warehouse.duckdb").exists(),
}


def portal_sources(demo: Path, server: FaultServer) -> Path:
    """The demo's sources plus a CKAN portal whose six resources each take 0.3 s to answer."""
    packages = []
    for n, topic in enumerate(TOPICS[:6]):
        url = server.route(f"/files/{n}.html", slow(0.3, answer(article(topic))))
        packages.append({"id": f"pkg-{n}", "name": f"p{n}", "license_id": "cc-by-4.0", "state": "active",
                         "metadata_modified": f"2026-01-01T00:00:0{n}",
                         "resources": [{"id": f"res-{n}", "url": url, "format": "HTML"}]})
    body = json.dumps({"success": True, "result": {"count": len(packages), "results": packages}})
    server.route("/api/3/action/package_search", answer(body, content_type="application/json"))
    config = yaml.safe_load((demo / "sources.yaml").read_text())
    config["sources"] = [s for s in config["sources"] if s["kind"] in ("warc", "files")]
    config["sources"].append({"name": "portal", "kind": "ckan", "url": server.base, "allowed_addresses": ["127.0.0.1"],
                              "page_size": 10})
    config["policy"]["languages"] = "all"
    config["http"] = {"requests_per_second": 100, "max_connections_per_host": 1}
    path = demo / "crash-sources.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def nothing_partial(data: Path) -> None:
    for path in (data / "corpus").rglob("*"):
        if path.is_file():
            assert path.suffix in (".parquet", ".md", ".png"), path  # not a temporary file: those stay in tmp/
            if path.suffix == ".parquet":
                pq.read_metadata(path)
            if path.suffix == ".png":  # the dataset card's plots: whole images
                assert path.read_bytes().startswith(b"\x89PNG") and path.read_bytes().endswith(b"IEND\xaeB`\x82"), path
    if (data / "warehouse.duckdb").exists():
        with duckdb.connect(str(data / "warehouse.duckdb")) as con:
            con.execute("SELECT 1").fetchone()


def test_killed_at_every_step_then_restarted_equals_a_clean_run(demo_copy, tmp_path):
    with ExitStack() as stack:
        server = stack.enter_context(FaultServer())
        sources = portal_sources(demo_copy, server)
        clean = tmp_path / "clean"
        assert run_moisson(sources, clean).returncode == 0
        data, hit = tmp_path / "data", []
        for name, reached in POINTS.items():
            process = start_moisson(sources, data)
            deadline = time.monotonic() + 120
            while not reached(data) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if process.poll() is None:
                hit.append(name)
            process.send_signal(signal.SIGKILL)
            process.wait()
            nothing_partial(data)
        assert hit == list(POINTS), f"the run ended before these points: {set(POINTS) - set(hit)}"
        finished = run_moisson(sources, data)
        assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    nothing_partial(data)
    assert corpus_rows(data) == corpus_rows(clean)
    with warehouse(data) as con, warehouse(clean) as ref:
        query = "SELECT id, status, reason, duplicate_of FROM documents ORDER BY id"
        assert con.execute(query).fetchall() == ref.execute(query).fetchall()
        assert con.execute("SELECT count(*) FROM datasets").fetchone() == ref.execute("SELECT count(*) FROM datasets").fetchone()
