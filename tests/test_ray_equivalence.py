"""engine: ray gives the corpus engine: local gives (issue 16, item 6): the same sources through a real `moisson run` on
each engine leave the same corpus ids, the same decision for every document and the same rows in every table of the
warehouse, run ids, timestamps and the policy's own `execution` left aside; and a Ray worker killed (SIGKILL) while it
works on a batch loses nothing: its documents run again and the corpus is the local one."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from e2e import run_moisson, start_moisson, warehouse
from test_ray_engine import ENGLISH, FRENCH, html_page, raylets

# columns that name the run or the moment, not the data: left out of the comparison
RUN_COLUMNS = {"run_id", "first_seen_run", "loaded_run_id", "last_run_id"}
DATA_TIMESTAMPS = {"retrieved_at"}  # the archive's own capture dates: data, compared
SUBJECTS = ["Le conseil municipal", "La bibliothèque", "L'association des riverains", "Le club de football",
            "La chorale paroissiale", "Le comité des fêtes", "L'école de musique", "La maison de retraite",
            "Le syndicat des eaux", "La coopérative laitière", "Le musée du vieux moulin", "La troupe de théâtre"]
VERBS = ["prépare", "annonce", "organise", "présente", "finance", "reporte", "accueille", "soutient", "décrit", "ouvre"]
OBJECTS = ["une exposition sur les anciens métiers de la vallée", "la rénovation complète du lavoir communal",
           "un concours de photographies des chemins creux", "la plantation d'une haie de noisetiers le long du canal",
           "un marché de producteurs sous la halle couverte", "une conférence sur les crues centenaires de la rivière",
           "la réouverture du sentier des crêtes après l'hiver", "un atelier de réparation de vélos pour les enfants",
           "la restauration des vitraux de la chapelle Saint-Roch", "un repas partagé pour les nouveaux habitants",
           "un inventaire des vergers abandonnés du plateau", "la création d'un jardin partagé derrière la mairie"]
WHEN = ["dès le mois de mars", "pendant les vacances de printemps", "avant la fin de l'été", "chaque premier samedi",
        "à l'automne prochain", "le jeudi soir", "au début de l'hiver", "dans le courant de l'année"]
GERMAN = ["Die Gemeinde Waldbrunn lädt alle Bürgerinnen und Bürger zum Frühlingsfest auf dem Marktplatz ein, wo Vereine "
          "ihre Arbeit vorstellen und die Kinder der Grundschule ein kleines Theaterstück über den alten Mühlbach zeigen.",
          "Der Gemeinderat hat beschlossen, das alte Waschhaus zu renovieren; die Arbeiten beginnen im September und "
          "das Dach wird mit gebrauchten Ziegeln gedeckt, damit das Gebäude sein ursprüngliches Aussehen behält."]


def bulletin(number: int) -> str:
    """A page of village news in French, its sentences drawn by a seeded generator: distinct from every other."""
    rng = random.Random(number)
    sentences = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}."
                 for _ in range(6)]
    return " ".join([f"Bulletin numéro {number} de la commune de Valbrune."] + sentences)


def kept_pages() -> list[tuple[str, bytes]]:
    """Several languages, an exact copy, a near duplicate, a near-empty page, and enough French bulletins (250)
    for a run to keep its workers busy for seconds: a kill lands while they work."""
    found = [(f"https://valbrune.example/nouvelles/{n}.html", html_page(f"Nouvelles {n}", [FRENCH[n], FRENCH[n + 1]]))
             for n in range(len(FRENCH) - 1)]
    near = FRENCH[0].replace("printemps", "automne")
    found += [("https://valbrune.example/river.html", html_page("River", ENGLISH)),
              ("https://waldbrunn.example/fest.html", html_page("Frühlingsfest", GERMAN)),
              ("https://valbrune.example/vide.html", b"<html><body><p>Ok.</p></body></html>"),
              ("https://valbrune.example/copie.html", found[0][1]),
              ("https://valbrune.example/presque.html", html_page("Nouvelles 0", [near, FRENCH[1]]))]
    found += [(f"https://valbrune.example/bulletin/{n}.html", html_page(f"Bulletin {n}", [bulletin(n)]))
              for n in range(250)]
    return found


def other_licence_pages() -> list[tuple[str, bytes]]:
    return [(f"https://ailleurs.example/{n}.html", html_page(f"Ailleurs {n}", [FRENCH[n + 2], FRENCH[n]]))
            for n in range(3)]


def write_archive(path: Path, pages: list[tuple[str, bytes]]) -> None:
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers,
                                               warc_headers_dict={"WARC-Date": "2026-11-02T10:00:00Z"})
            writer.write_record(record)


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> Path:
    """The archives every run reads (one set of files: a document's id names the archive it was read from)."""
    folder = tmp_path_factory.mktemp("archives")
    write_archive(folder / "crawl.warc.gz", kept_pages())
    write_archive(folder / "elsewhere.warc.gz", other_licence_pages())
    return folder


def sources_file(root: Path, archives: Path, execution: str) -> Path:
    root.mkdir()
    (root / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{name: crawl, kind: warc, paths: ['{archives / 'crawl.warc.gz'}'], license: CC0-1.0}}\n"
        f"  - {{name: elsewhere, kind: warc, paths: ['{archives / 'elsewhere.warc.gz'}'], license: CC-BY-NC-4.0}}\n"
        f"policy:\n  languages: [fr]\n  licenses: {{allow: [CC0-1.0]}}\n  execution: {execution}\n", encoding="utf-8")
    return root / "sources.yaml"


def warehouse_rows(root: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the run's ids and moments; paths under the run's folder and the policy's
    `execution` (the one thing that differs on purpose) neutralised."""
    tables = {}
    with warehouse(root / "data") as con:
        names = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables "
                                               "WHERE table_schema = 'main' ORDER BY 1").fetchall()]
        for table in names:
            columns = [name for (name,) in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                                       "table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                       if name not in RUN_COLUMNS and (not name.endswith("_at") or name in DATA_TIMESTAMPS)]
            listed = ", ".join(f'"{name}"' for name in columns)
            rows = con.execute(f'SELECT {listed} FROM "{table}"').fetchall()
            tables[table] = sorted((tuple(neutral(name, value, root) for name, value in zip(columns, row))
                                    for row in rows), key=repr)
    return tables


def neutral(column: str, value, root: Path):
    if column == "policy" and isinstance(value, str):
        policy = json.loads(value)
        policy.pop("execution", None)
        return json.dumps(policy, sort_keys=True)
    if isinstance(value, str):
        return value.replace(str(root), "<root>")
    return value


def run_on(root: Path, archives: Path, execution: str) -> dict[str, list[tuple]]:
    result = run_moisson(sources_file(root, archives, execution), root / "data", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert ("per-document work on Ray" in result.stderr) == ("ray" in execution)
    return warehouse_rows(root)


@pytest.fixture(scope="module")
def local(archives, tmp_path_factory) -> dict[str, list[tuple]]:
    return run_on(tmp_path_factory.mktemp("runs") / "local", archives, "{engine: local}")


def test_the_sources_are_decided_in_every_way(local):
    """The comparison means something: documents kept and rejected for several reasons, in several languages."""
    documents = local["documents"]
    assert len(documents) == len(kept_pages()) + len(other_licence_pages())
    statuses = {row[1] for row in documents}
    reasons = {row[2] for row in documents}
    assert statuses == {"kept", "rejected"}
    assert {"language", "exact_duplicate", "near_duplicate", "licence", "quality"} <= reasons, reasons
    assert len(local["corpus"]) > 50 and local["failures"] == []


def test_a_run_on_ray_leaves_the_warehouse_of_a_local_run(local, archives, tmp_path):
    on_ray = run_on(tmp_path / "ray", archives,  # near duplicates and the shards' reading on Ray too
                    "{engine: ray, num_cpus: 2, dedup_on_ray_from: 0, read_shards_on_ray: always}")
    assert on_ray.keys() == local.keys()
    assert [table for table in local if on_ray[table] != local[table]] == []


def descendant(pid: int, ancestor: int) -> bool:
    """Is process `pid` a descendant of `ancestor` (a Ray worker of this run, not of another's Ray)?"""
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == ancestor:
            return True
    return False


def kill_a_working_actor(run: subprocess.Popen, killed: list[int]) -> None:
    """SIGKILL the first Ray worker of `run` seen running a batch (Ray titles it `ray::DocumentWorker.run` then)."""
    while run.poll() is None:
        found = subprocess.run(["pgrep", "-f", "ray::DocumentWorker.run"], capture_output=True, text=True).stdout
        for pid in map(int, found.split()):
            if descendant(pid, run.pid) and run.poll() is None:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.02)


def test_a_ray_worker_killed_while_it_works_loses_nothing(local, archives, tmp_path):
    root = tmp_path / "killed"
    run = start_moisson(sources_file(root, archives, "{engine: ray, num_cpus: 2}"), root / "data")
    killed: list[int] = []
    killer = threading.Thread(target=kill_a_working_actor, args=(run, killed), daemon=True)
    killer.start()
    try:
        assert run.wait(timeout=600) == 0
    finally:
        if run.poll() is None:
            run.kill()
        killer.join(10)
    assert killed, "no Ray worker was seen working: the test proves nothing"
    on_ray = warehouse_rows(root)
    assert [table for table in local if on_ray[table] != local[table]] == []


def test_no_raylet_outlives_the_runs():
    deadline = time.monotonic() + 15
    while raylets() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert raylets() == []
