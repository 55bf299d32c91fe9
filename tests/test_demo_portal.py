"""`make demo`'s wrapper end to end: the demo portal is started, harvested with licence and lineage, and stopped."""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from e2e import MOISSON, corpus_rows, warehouse

PORTAL_SOURCES = ("valbrune-ckan", "valbrune-archive")


def load_run_demo(demo: Path):
    spec = importlib.util.spec_from_file_location("run_demo", demo / "run_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refuses_connections(base: str) -> bool:
    host, port = base.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, int(port))) != 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_demo_script(demo: Path, data: Path, moisson: Path = MOISSON, portal_port: int = 0) -> subprocess.CompletedProcess:
    """demo/run_demo.py as `make demo` runs it, its portal on `portal_port` (0: any free one, never a fixed one:
    tests run side by side)."""
    return subprocess.run([sys.executable, str(demo / "run_demo.py"), "--data-dir", str(data), "--moisson", str(moisson),
                           "--portal-port", str(portal_port)], capture_output=True, text=True, timeout=600)


def test_make_demo_harvests_the_demo_portal_with_licence_and_lineage(demo_copy, tmp_path):
    data, portal_port = tmp_path / "data", free_port()
    result = run_demo_script(demo_copy, data, portal_port=portal_port)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for shown in ("corpus:", "warehouse:", "three queries", "demo portal stopped", "FROM document_lineage"):
        assert shown in result.stdout
    base = re.search(r"CKAN at (http://127\.0\.0\.1:\d+)", result.stdout)[1]
    assert refuses_connections(base)

    kept = sorted((r[0], r[1], r[2]) for r in corpus_rows(data, "source, license, language") if r[0] in PORTAL_SOURCES)
    assert kept == [("valbrune-archive", "CC-BY-4.0", "en"), ("valbrune-archive", "CC-BY-SA-4.0", "fr"),
                    ("valbrune-archive", "CC0-1.0", "de"), ("valbrune-ckan", "CC-BY-4.0", "en"),
                    ("valbrune-ckan", "etalab-2.0", "fr"), ("valbrune-ckan", "etalab-2.0", "fr")]
    with warehouse(data) as con:
        lineage = con.execute(
            "SELECT source, dataset_id, resource_id, dataset_license_raw, license, status, reason, locator "
            "FROM document_lineage ORDER BY 1, 2, 3").fetchall()
        datasets = dict(con.execute("SELECT dataset_id, license_verdict || CASE WHEN deleted THEN '/deleted' ELSE '' END "
                                    "FROM datasets").fetchall())
        portal_documents = con.execute("SELECT count(*) FROM documents WHERE source IN ?", [list(PORTAL_SOURCES)]).fetchone()[0]
        pages = dict(con.execute("SELECT source, watermark FROM harvest_state").fetchall())
    assert [row[:7] for row in lineage] == [
        ("valbrune-archive", "oai:valbrune-archive:101", lineage[0][2],
         "https://creativecommons.org/licenses/by-sa/4.0/deed.fr", "CC-BY-SA-4.0", "kept", None),
        ("valbrune-archive", "oai:valbrune-archive:102", lineage[1][2], "https://creativecommons.org/licenses/by/4.0/",
         "CC-BY-4.0", "kept", None),
        ("valbrune-archive", "oai:valbrune-archive:103", lineage[2][2],
         "https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0", "kept", None),
        ("valbrune-ckan", "valbrune-0001", "budget-2025-page", "lov2", "etalab-2.0", "kept", None),
        ("valbrune-ckan", "valbrune-0001", "budget-2025-rules", "lov2", "etalab-2.0", "kept", None),
        ("valbrune-ckan", "valbrune-0002", "river-summary", "cc-by-4.0", "CC-BY-4.0", "kept", None),
        ("valbrune-ckan", "valbrune-0003", "radwege-bericht", "odc-odbl", "ODbL-1.0", "rejected", "licence"),
        ("valbrune-ckan", "valbrune-0004", "library-hours", "cc-by", "LicenseRef-CC-BY-unversioned", "rejected", "licence"),
    ]
    assert all(row[7].startswith(f"{base}#dataset=") or row[7].startswith(f"{base}/oai#dataset=") for row in lineage)
    assert portal_documents == len(lineage)  # every portal document traces back to its resource and dataset
    # rejected or withdrawn in the catalogue: recorded there, never fetched, so no document
    assert datasets["valbrune-0005"] == "reject" and datasets["oai:valbrune-archive:104"] == "reject"
    assert datasets["valbrune-0006"] == "allow/deleted" and datasets["oai:valbrune-archive:105"] == "reject/deleted"
    assert pages == {"valbrune-ckan": "2026-01-10T09:00:00.000000", "valbrune-archive": "2026-01-16T08:00:00Z"}

    again = run_demo_script(demo_copy, data, portal_port=portal_port)  # the same port: nothing new, nothing refetched
    assert again.returncode == 0 and base in again.stdout, again.stdout[-3000:] + again.stderr[-3000:]
    assert "added=0" in again.stdout and "rejected_added=0" in again.stdout
    assert "skipped_unchanged_not_fetched=5" in again.stdout and "skipped_unchanged_not_fetched=3" in again.stdout


def test_the_portal_is_stopped_when_the_run_fails(demo_copy, tmp_path):
    run_demo = load_run_demo(demo_copy)
    failing = tmp_path / "moisson"
    failing.write_text(f"#!{sys.executable}\nimport os, sys, urllib.request\n"
                       "urllib.request.urlopen(os.environ['MOISSON_DEMO_PORTAL'] + '/robots.txt').read()\n"
                       "print('portal seen at', os.environ['MOISSON_DEMO_PORTAL']); sys.exit(1)\n")
    failing.chmod(0o755)
    result = run_demo_script(demo_copy, tmp_path / "data", failing)
    assert result.returncode == 1 and "portal seen at" in result.stdout, result.stdout + result.stderr
    assert refuses_connections(re.search(r"portal seen at (\S+)", result.stdout)[1])
    with pytest.raises(RuntimeError, match="boom"):
        with run_demo.demo_portal(port=0) as base:
            assert b"Disallow: /private/" in urllib.request.urlopen(base + "/robots.txt").read()
            raise RuntimeError("boom")
    assert refuses_connections(base)


def test_the_demo_portal_pages_oai_pmh_with_a_resumption_token_and_pages_ckan(demo_copy):
    run_demo = load_run_demo(demo_copy)
    with run_demo.demo_portal(port=0) as base:
        first = urllib.request.urlopen(base + "/oai?verb=ListRecords&metadataPrefix=oai_dc").read().decode()
        second = urllib.request.urlopen(base + "/oai?verb=ListRecords&resumptionToken=valbrune-page-2").read().decode()
        stale = urllib.request.urlopen(base + "/oai?verb=ListRecords&resumptionToken=nope").read().decode()
        page = json.loads(urllib.request.urlopen(base + "/api/3/action/package_search?rows=4&start=4").read())
    assert "valbrune-page-2</resumptionToken>" in first and f"{base}/files/moulins-de-la-brune.html" in first
    assert 'status="deleted"' in second and "<resumptionToken" in second and "valbrune-page-2<" not in second
    assert 'code="badResumptionToken"' in stale
    assert page["result"]["count"] == 6 and [d["id"] for d in page["result"]["results"]] == ["valbrune-0005", "valbrune-0006"]
    assert "{{BASE}}" not in json.dumps(page)


def test_the_portal_takes_any_free_port_when_its_own_is_taken(demo_copy):
    run_demo = load_run_demo(demo_copy)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with run_demo.demo_portal(port=port) as base:
            assert not base.endswith(f":{port}")
            assert b"Disallow: /private/" in urllib.request.urlopen(base + "/robots.txt").read()
    assert refuses_connections(base)
