"""`moisson run` tells the truth: its exit code and summary, its runs under their job in the Dagster UI,
and `moisson sql` reading only the data directory. Through the real `moisson` command, on the demo data
plus sources written here that cannot produce what they should.

Three runs on one data directory (each costs 10-30 s):
1. the demo archive, a source whose paths match nothing, an unreadable archive, a source most of whose
   records fail, under an allow list that matches no document: exit 1, each named in the summary;
2. the archive and the failing source again, the failure-rate check downgraded to a warning, the demo's
   allow list: exit 0;
3. a published part file deleted, and the archive's documents no longer allowed: the corpus shrank, exit 1.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from e2e import MOISSON, run_moisson

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_ALLOW = ["CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "etalab-2.0"]


def sources_file(root: Path, allow: list[str], warn: list[str] | None = None) -> Path:
    config = {
        "sources": [
            {"name": "web-sample", "kind": "warc", "paths": ["archives/*.warc.gz", "archives/*.warc"]},
            {"name": "nothing", "kind": "files", "paths": ["nothing/*.jsonl"], "license": "CC0-1.0"},
            {"name": "garbage", "kind": "warc", "paths": ["garbage/*.warc.gz"]},
            {"name": "flaky", "kind": "files", "paths": ["flaky/*.jsonl"], "license": "CC0-1.0"},
        ],
        "policy": {"languages": ["fr", "en", "de"], "licenses": {"allow": allow},
                   **({"checks": {"warn": warn}} if warn else {})},
    }
    path = root / "sources.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def build_inputs(root: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "demo" / "archives", root / "archives")
    (root / "garbage").mkdir()
    (root / "garbage" / "junk.warc.gz").write_bytes(b"this is not a web archive\n" * 40)
    (root / "flaky").mkdir()
    good = {"id": "good", "url": "https://example.org/good", "text": "A line of plain English prose. " * 20}
    lines = [json.dumps(good), "{not json", "[1, 2, 3]", json.dumps({"id": "no-text"})]
    (root / "flaky" / "notes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("exit-codes")
    build_inputs(root)
    data = root / "data"
    first = run_moisson(sources_file(root, allow=["MIT"]), data)
    second = run_moisson(sources_file(root, allow=DEMO_ALLOW, warn=["harvest_failure_rate"]), data,
                         "--source", "web-sample", "--source", "flaky")
    published = sorted((data / "corpus").glob("*/*.parquet"))
    removed = published[0]
    removed.unlink()
    third = run_moisson(sources_file(root, allow=["MIT"]), data)
    return root, data, (first, second, third), removed


def summary_of(result: subprocess.CompletedProcess) -> dict[str, str]:
    """Each summary line that gives a verdict: `source nothing` / `publication` -> the verdict after it."""
    block = result.stdout.split("==> summary\n", 1)[1]
    return dict(re.findall(r"^((?:source \S+)|publication): (.*)$", block, flags=re.MULTILINE))


def test_sources_that_produce_nothing_fail_the_run_and_the_summary_names_each(runs):
    root, data, (first, _, _), _ = runs
    assert first.returncode == 1, first.stdout[-3000:] + first.stderr[-3000:]
    verdicts = summary_of(first)
    assert verdicts["source web-sample"] == "ok"
    assert verdicts["source nothing"].startswith(
        f"FAILED: no input: no file matches ['nothing/*.jsonl'] (relative to {root})")
    assert verdicts["source garbage"].startswith(
        "FAILED: unreadable: all 1 record(s) failed, first garbage/junk.warc.gz@0: NotAWebArchive")
    assert verdicts["source flaky"].startswith("FAILED: harvest_failure_rate check failed: source 'flaky': 3 of 4 records failed")
    # an allow list of real ids that matches no document: every step succeeds, the corpus is empty
    assert verdicts["publication"] == "FAILED: the corpus holds 0 document(s), fewer than policy.corpus.min_documents (1)"
    assert first.stdout.rstrip().splitlines()[-1].startswith("FAILED in ")
    assert "source nothing, source garbage, source flaky, publication" in first.stdout.rstrip().splitlines()[-1]


def test_the_summary_counts_records_decisions_failures_and_checks_per_source(runs):
    _, _, (first, _, _), _ = runs
    block = first.stdout.split("==> summary\n", 1)[1]
    web = block.split("source web-sample: ok\n", 1)[1].splitlines()[:2]
    assert re.fullmatch(r"    records 30, kept 0, rejected 30 \(extraction 1, .*licence \d+.*\), failures 1 \(extraction 1\)", web[0]), web
    assert web[1] == "    checks: harvest_failure_rate passed"
    flaky = block.split("source flaky: ", 1)[1].splitlines()[1]
    assert flaky == "    records 1, kept 0, rejected 1 (licence 1), failures 3 (harvest 3)"
    assert "    corpus 0 documents (0 before this run, +0)" in block


def test_a_warned_check_does_not_fail_the_run_and_the_run_can_succeed(runs):
    _, _, (_, second, _), _ = runs
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    verdicts = summary_of(second)
    assert set(verdicts) == {"source web-sample", "source flaky", "publication"}
    assert verdicts["source flaky"].startswith("ok (warning: harvest_failure_rate check failed: source 'flaky'")
    assert verdicts["publication"] == "ok"
    assert second.stdout.rstrip().splitlines()[-1].startswith("done in ")


def test_a_corpus_that_shrank_fails_the_run(runs):
    _, _, (_, second, third), removed = runs
    published = int(re.search(r"    corpus (\d+) documents", second.stdout.split("==> summary", 1)[1])[1])
    assert third.returncode == 1
    verdict = summary_of(third)["publication"]
    assert re.search(rf"the corpus shrank from {published} to \d+ documents \(\d+\.\d% lost, policy.corpus.max_shrink 0.0%\)",
                     verdict), verdict
    assert not removed.exists()


def test_runs_of_moisson_run_are_listed_under_their_job_and_on_the_timeline_as_the_ui_queries_them(runs):
    """The job page's query (dagster-graphql's Pipeline.runs: job name + the repository label of the location the
    UI serves, read from pyproject.toml as `dagster dev` and `dg dev` read it) and the timeline's (runs with a
    repository origin) find every run `moisson run` made."""
    _, data, _, _ = runs
    found = ui_queries(data)
    curate_runs = found["curate_source"]
    assert len(curate_runs) == 4 + 2 + 4  # one per source curated, three runs
    assert sorted({tag["value"] for run in curate_runs for tag in run["tags"] if tag["key"] == "dagster/partition"}) == \
        ["flaky", "garbage", "nothing", "web-sample"]
    assert len(found["publish"]) == 3
    assert found["timeline"] and all(origin == ("__repository__", "moisson") for origin in found["timeline"])


JOB_RUNS = """query JobRuns($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) {
    __typename
    ... on Pipeline { runs { runId status tags { key value } } }
  }
}"""
TIMELINE = """query Timeline {
  runsOrError { ... on Runs { results { runId repositoryOrigin { repositoryName repositoryLocationName } } } }
}"""

UI_QUERY_SCRIPT = """
import json, sys
from pathlib import Path
from dagster import DagsterInstance
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget, PyProjectFileTarget
from dagster_graphql.test.utils import execute_dagster_graphql

job_runs, timeline = sys.argv[1], sys.argv[2]
# the location as the UI serves it (name from pyproject.toml), loaded in this process instead of a code server
origins = [InProcessCodeLocationOrigin(o.loadable_target_origin, location_name=o.location_name)
           for o in PyProjectFileTarget(str(Path("pyproject.toml").resolve())).create_origins()]
found = {}
with DagsterInstance.get() as instance, WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origins)) as workspace:
    context = workspace.create_request_context()
    location = origins[0].location_name
    for job in ("curate_source", "publish"):
        selector = {"repositoryLocationName": location, "repositoryName": "__repository__", "pipelineName": job}
        answer = execute_dagster_graphql(context, job_runs, {"selector": selector})
        assert answer.errors is None, answer.errors
        found[job] = answer.data["pipelineOrError"]["runs"]
    answer = execute_dagster_graphql(context, timeline)
    found["timeline"] = [(r["repositoryOrigin"] or {}).get("repositoryName") and
                         (r["repositoryOrigin"]["repositoryName"], r["repositoryOrigin"]["repositoryLocationName"])
                         for r in answer.data["runsOrError"]["results"]]
print(json.dumps(found))
"""


def ui_queries(data: Path) -> dict:
    """Run the UI's GraphQL queries against the data directory's instance and the project's code location, in
    a process of its own (the definitions read MOISSON_SOURCES when they are imported)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MOISSON_")},
           "DAGSTER_HOME": str(data / "dagster"), "MOISSON_DATA_DIR": str(data),
           "MOISSON_SOURCES": str(data.parent / "sources.yaml")}
    result = subprocess.run([str(MOISSON.parent / "python"), "-c", UI_QUERY_SCRIPT, JOB_RUNS, TIMELINE],
                            capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    found["timeline"] = [tuple(origin) if origin else None for origin in found["timeline"]]
    return found


def test_moisson_sql_reads_the_warehouse_and_the_corpus_and_nothing_else(runs, tmp_path):
    root, data, (_, second, _), _ = runs
    examples = re.findall(r"^  \S+ sql --data-dir \S+ \"(.*)\"$", second.stdout, flags=re.MULTILINE)
    assert len(examples) == 3 and "read_parquet(" in examples[2]
    for query in examples:  # the queries the run suggests all work
        result = sql(data, query)
        assert result.returncode == 0 and "│" in result.stdout, result.stderr
    outside = tmp_path / "outside.csv"
    outside.write_text("secret\nvalue\n")
    for query in ("SELECT * FROM read_text('/etc/passwd')", f"SELECT * FROM read_csv('{outside}')"):
        result = sql(data, query)
        assert result.returncode == 1 and "Cannot access file" in result.stderr
        assert f"reads files under {data}" in result.stderr and "value" not in result.stdout
    target = data / "corpus" / "fr" / "part-written-by-sql.parquet"
    for query in (f"COPY (SELECT 1 AS id) TO '{target}'", f"SELECT 1; COPY (SELECT 1 AS id) TO '{tmp_path / 'x.csv'}'",
                  f"ATTACH '{tmp_path / 'other.duckdb'}'", "SET enable_external_access = true"):
        result = sql(data, query)
        assert result.returncode == 1 and "query refused: `moisson sql` only reads" in result.stderr, query
    assert not target.exists() and not (tmp_path / "x.csv").exists() and not (tmp_path / "other.duckdb").exists()


def sql(data: Path, query: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(MOISSON), "sql", "--data-dir", str(data), query], capture_output=True, text=True, timeout=120)
