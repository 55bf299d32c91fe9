"""The per-document work on Ray (policy.execution.engine: ray): the same outcomes and decisions as the local process
pool, a page past its time budget stopped without stopping the others, a worker killed mid-document retried with
nothing lost, the input read only as far as the bound on work in flight, and no Ray process left behind."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from e2e import run_moisson, warehouse
from moisson import ray_engine, workers
from moisson.config import ExecutionPolicy
from moisson.execution import map_documents_for, map_stream_for
from test_workers import STUCK_IN_C, nap, parse_or_report

ENGINES = {"local": ExecutionPolicy(), "ray": ExecutionPolicy(engine="ray", num_cpus=2)}


def raylets() -> list[str]:
    found = subprocess.run(["pgrep", "-a", "raylet"], capture_output=True, text=True).stdout
    return found.splitlines()


@pytest.fixture(autouse=True)
def no_raylet_left():
    """Every test stops the Ray it started (a run's process stops its own at exit): no raylet outlives it (shutting
    down takes a moment)."""
    yield
    ray_engine.shutdown()
    deadline = time.monotonic() + 15
    while raylets() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert raylets() == [], "a raylet outlived the test"


def double_or_hang(item: int) -> int:
    if item == 3:
        time.sleep(60)  # a page whose extraction never ends
    return item * 2


def die_once_then_double(item: tuple[int, str]) -> int:
    """Kills its own worker process the first time it sees item 5 (a marker file says it did), as an OOM kill or a
    node lost would; the second time it works."""
    number, marker = item
    if number == 5 and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return number * 2


def grow(item: int) -> int:
    if item == 1:
        hog = bytearray(600 * 2**20)  # 600 MB, past a 100 MB budget
        return len(hog)
    return item


def test_the_local_engine_is_todays_pool_itself():
    assert map_stream_for(None) is workers.map_stream
    assert map_stream_for(ExecutionPolicy()) is workers.map_stream
    assert map_documents_for(ExecutionPolicy(engine="local")) is workers.map_documents


def test_a_page_past_its_budget_is_stopped_and_the_others_come_back_in_order_within_the_bound():
    read, yielded, most_ahead = 0, 0, 0

    def numbers():
        nonlocal read
        for number in range(24):
            read += 1
            yield number

    outcomes = []
    started = time.monotonic()
    for outcome in map_stream_for(ExecutionPolicy(engine="ray", num_cpus=2))(double_or_hang, numbers(), 3.0,
                                                                             chunk=4, chunks_ahead=2):
        outcomes.append(outcome)
        yielded += 1
        most_ahead = max(most_ahead, read - yielded)
    assert time.monotonic() - started < 50  # the hanging page did not hold the run for its 60 s
    assert outcomes[3].error_class == "TimeBudgetExceeded" and "3 s" in outcomes[3].message
    assert [o.value for i, o in enumerate(outcomes) if i != 3] == [2 * i for i in range(24) if i != 3]
    assert most_ahead <= 8  # chunks_ahead x chunk: the input is read as the outcomes are taken, not all at once


def test_a_worker_killed_mid_document_is_restarted_and_nothing_is_lost(tmp_path):
    marker = tmp_path / "killed-once"
    items = [(number, str(marker)) for number in range(12)]
    outcomes = map_documents_for(ExecutionPolicy(engine="ray", num_cpus=2))(die_once_then_double, items, 30.0)
    assert marker.exists(), "the worker was never killed: the test proves nothing"
    assert [o.error_class for o in outcomes] == [None] * 12
    assert [o.value for o in outcomes] == [2 * number for number in range(12)]


def test_a_call_past_its_memory_budget_fails_alone():
    with ray_engine.ray_session(num_cpus=1):
        outcomes = list(ray_engine.map_stream(grow, range(4), 30.0, memory_mb=100))
    assert outcomes[1].error_class == "MemoryBudgetExceeded"
    assert [o.value for i, o in enumerate(outcomes) if i != 1] == [0, 2, 3]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_page_stuck_in_c_code_among_quick_ones_fails_alone_and_the_rest_keep_their_order(engine):
    """On Ray the stuck page sits inside a batch: its actor is killed, its batch mates run again."""
    items = [f"page {n}" for n in range(40)]
    items[17] = STUCK_IN_C
    started = time.monotonic()
    outcomes = map_documents_for(ENGINES[engine])(parse_or_report, items, 3.0, 2)
    assert time.monotonic() - started < 60
    assert outcomes[17].error_class == "TimeBudgetExceeded"
    assert [o.value[0] for i, o in enumerate(outcomes) if i != 17] == [item for i, item in enumerate(items) if i != 17]


def backtrack_or_echo(item: str) -> str:
    """One item runs a regular expression that backtracks for hours inside C code holding the interpreter's lock:
    its actor cannot even say where it is (`progress` waits for the lock)."""
    if item == "backtrack":
        re.match(r"(a+)+$", "a" * 64 + "b")
    return item


def test_a_batch_whose_worker_cannot_say_where_it_is_runs_again_one_by_one_and_only_the_culprit_fails():
    items = [f"page {n}" for n in range(30)]
    items[12] = "backtrack"
    started = time.monotonic()
    outcomes = map_documents_for(ENGINES["ray"])(backtrack_or_echo, items, 2.0, 2)
    assert time.monotonic() - started < 60
    assert outcomes[12].error_class == "TimeBudgetExceeded"
    assert [o.value for i, o in enumerate(outcomes) if i != 12] == [item for i, item in enumerate(items) if i != 12]


def crash_on_it(item: str) -> str:
    if item == "crash":
        os._exit(3)  # what a segfaulting parser does to its worker, every time
    return item.upper()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_document_that_kills_its_worker_every_time_fails_alone(engine):
    items = [f"page {n}" for n in range(30)]
    items[9] = "crash"
    outcomes = map_documents_for(ENGINES[engine])(crash_on_it, items, 30.0, 2)
    assert outcomes[9].error_class == "WorkerCrashed"
    assert [o.value for i, o in enumerate(outcomes) if i != 9] == [item.upper() for i, item in enumerate(items) if i != 9]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_item_with_its_own_budget_may_take_longer_on_either_engine(engine):
    budgets = {"scan": 30.0, "page": 1.5}
    items = [("page", 0)] * 6 + [("scan", 3), ("page", 3), ("page", 0)]
    outcomes = map_documents_for(ENGINES[engine])(nap, items, 1.5, 2, budget_of=lambda item: budgets[item[0]])
    assert [o.value for o in outcomes[:7]] == ["page"] * 6 + ["scan"]
    assert outcomes[7].error_class == "TimeBudgetExceeded" and "1.5 s" in outcomes[7].message
    assert outcomes[8].value == "page"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_call_past_its_memory_budget_fails_alone_on_either_engine(engine):
    outcomes = map_documents_for(ENGINES[engine])(grow, list(range(6)), 30.0, 2, memory_mb=100)
    assert outcomes[1].error_class == "MemoryBudgetExceeded"
    assert [o.value for i, o in enumerate(outcomes) if i != 1] == [0, 2, 3, 4, 5]


def test_one_ray_serves_every_call_of_a_process_and_its_workers_are_reused():
    """A run's sources and steps share the Ray started by the first call (3-7 s saved per call) and the actors of the
    same work; they stop at `shutdown` (at the process's exit in a run)."""
    stream = map_stream_for(ENGINES["ray"])
    first = {o.value[1] for o in stream(parse_or_report, [f"page {n}" for n in range(20)], 30.0)}
    session = ray_engine._session
    second = {o.value[1] for o in stream(parse_or_report, [f"page {n}" for n in range(20)], 30.0)}
    assert session is not None and ray_engine._session is session
    assert second == first and len(first) == 2
    ray_engine.shutdown()
    assert ray_engine._session is None


def test_num_cpus_caps_the_local_pool_too():
    """`{engine: local, num_cpus: 1}`: one worker, whatever the machine (bench/scale.py compares 1 and 2)."""
    one = ExecutionPolicy(num_cpus=1)
    outcomes = list(map_stream_for(one)(parse_or_report, [f"page {n}" for n in range(12)], 30.0))
    assert [o.value[0] for o in outcomes] == [f"page {n}" for n in range(12)]
    assert len({o.value[1] for o in outcomes}) == 1
    listed = map_documents_for(one)(parse_or_report, [f"page {n}" for n in range(12)], 30.0)
    assert len({o.value[1] for o in listed}) == 1


def one_cpu_task(number: int) -> int:
    return number + 1


def test_ray_tasks_after_the_documents_get_the_cpus_the_idle_workers_held():
    """The near-duplicate join runs Ray tasks of a CPU each in `ray_session`, after the per-document work whose actors
    are kept for the next source: they must not wait for those actors' CPUs (they would, for ever)."""
    list(map_stream_for(ENGINES["ray"])(parse_or_report, [f"page {n}" for n in range(8)], 30.0))
    with ray_engine.ray_session() as cpus:
        import ray

        task = ray.remote(num_cpus=1)(one_cpu_task)
        assert ray.get([task.remote(n) for n in range(2 * cpus)], timeout=60) == list(range(1, 2 * cpus + 1))


def html_page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>".encode()


FRENCH = [
    "La commune de Valbrune organise chaque printemps une fête des jardins où les habitants échangent des graines, "
    "des boutures et des conseils sur la culture des légumes anciens, sous les tilleuls de la place du marché.",
    "Cette année, la bibliothèque municipale accueille une exposition sur l'histoire des vergers de la vallée et sur "
    "les variétés de pommes que les anciens cultivaient avant la guerre, avec des photographies prêtées par les familles.",
    "Le conseil municipal a voté la rénovation du lavoir, fermé depuis dix ans : les travaux commenceront en septembre "
    "et la toiture sera refaite en tuiles de récupération pour garder l'aspect d'origine du bâtiment.",
    "Les enfants de l'école primaire ont planté une haie de noisetiers le long du chemin de halage, accompagnés par "
    "deux bénévoles de l'association des amis de la rivière qui leur ont expliqué le rôle des oiseaux.",
    "Le marché du samedi matin s'agrandit : trois nouveaux producteurs de fromage, de miel et de pain au levain "
    "s'installent sous la halle, et la mairie prête désormais des tables aux artisans qui débutent.",
    "Une conférence sur les crues de la rivière aura lieu à la salle des fêtes ; un hydrologue de l'université y "
    "présentera les relevés anciens conservés aux archives départementales et les repères gravés sur les ponts.",
    "La fanfare municipale cherche des musiciens amateurs pour compléter ses pupitres de cuivres : les répétitions "
    "ont lieu le jeudi soir dans l'ancienne école, et les instruments peuvent être prêtés aux débutants.",
]
ENGLISH = [
    "The river trail follows the old towpath for twelve kilometres, past the lock keeper's cottage and the mill that "
    "still grinds flour on Saturdays, before it climbs through the beech woods towards the ridge.",
    "Walkers are asked to keep dogs on a lead near the nesting grounds in spring and to close the gates behind them, "
    "as sheep graze the meadows along the water and the lambs are easily frightened by strangers.",
]


def pages() -> list[tuple[str, bytes]]:
    """Kept French pages, an English one (language), a near-empty one (language: too short), a copy (duplicate)."""
    found = [(f"https://valbrune.example/jardins/{n}.html", html_page(f"Valbrune, nouvelle {n}", [FRENCH[n], FRENCH[n + 1]]))
             for n in range(len(FRENCH) - 1)]
    found.append(("https://valbrune.example/river.html", html_page("River", ENGLISH)))
    found.append(("https://valbrune.example/vide.html", b"<html><body><p>Ok.</p></body></html>"))
    found.append(("https://valbrune.example/copie.html", found[0][1]))
    return found


def write_crawl(path: Path) -> None:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, body in pages():
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))


def decisions(crawl: Path, root: Path, execution: str) -> tuple[list[tuple], str]:
    """A real `moisson run` over the crawl with this policy.execution: the warehouse's decisions, and what it said.
    (The crawl is the same file for every run: a document's id names the archive it was read from.)"""
    root.mkdir()
    (root / "sources.yaml").write_text(
        f"sources:\n  - {{name: crawl, kind: warc, paths: ['{crawl}'], license: CC0-1.0}}\n"
        f"policy:\n  languages: [fr]\n  licenses: {{allow: [CC0-1.0]}}\n  execution: {execution}\n", encoding="utf-8")
    result = run_moisson(root / "sources.yaml", root / "data")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with warehouse(root / "data") as con:
        rows = con.execute("SELECT id, status, reason, reason_detail, language FROM documents ORDER BY id").fetchall()
    return rows, result.stdout + result.stderr


def test_a_run_on_ray_decides_every_document_as_the_local_pool_does(tmp_path):
    write_crawl(tmp_path / "crawl.warc.gz")
    local, local_output = decisions(tmp_path / "crawl.warc.gz", tmp_path / "local", "{engine: local}")
    on_ray, ray_output = decisions(tmp_path / "crawl.warc.gz", tmp_path / "ray", "{engine: ray, num_cpus: 2}")
    assert "per-document work on Ray" not in local_output
    assert "per-document work on Ray" in ray_output, ("engine: ray never reached the workers: the curation asset must "
                                                      "hand policy.execution to harvest, extract_payloads and measure_missing")
    assert on_ray == local
    reasons = {reason for _, _, reason, _, _ in local}
    assert {None, "language", "exact_duplicate"} <= reasons and len(local) == len(pages())  # decided in several ways
