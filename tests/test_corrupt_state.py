"""Corrupt state and stage files: rebuilt when they can be, quarantined and named when they cannot, and never a
reason to keep every other source out of the warehouse or to stop every later publication."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
import yaml

from e2e import corpus_rows, run_moisson, warehouse
from harvest_helpers import fake_ckan
from moisson.config import DedupPolicy
from moisson.deduplication import open_store
from moisson.layout import DataLayout
from portal_server import PortalServer
from publish_process import start
from sources.harvest_state import HarvestState, HarvestStateFile

GARBAGE = b"\x00this is not what was written here\xff" * 20
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
POLICY = DedupPolicy(threshold=0.8)
TEXTS = [" ".join(f"{word}{n}" for word in ("river", "meadow", "lantern", "harbour", "orchard", "granite", "valley", "beacon",
                                               "willow", "thunder", "copper", "maple", "saddle", "island")) * 3 for n in range(4)]


def quarantined(data: Path, relative: str) -> list[Path]:
    """What quarantine holds of the file that was at `relative` in the data directory."""
    where = data / "quarantine" / relative
    return sorted(where.parent.glob(where.name + ".*")) if where.parent.exists() else []


@pytest.fixture
def published(tmp_path) -> tuple[Path, Path, Path]:
    """A data directory whose corpus holds four documents and whose dedup index knows them, as publications leave it."""
    corpus = tmp_path / "corpus" / "en"
    corpus.mkdir(parents=True)
    frame = pl.DataFrame({"id": [f"d{n}" for n in range(4)], "text": TEXTS,
                          "retrieved_at": [T0 + timedelta(minutes=n) for n in range(4)]})
    frame.write_parquet(corpus / "part-a.parquet")
    store, how = open_store(tmp_path / "state" / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp", data_root=tmp_path)
    assert how == "rebuilt from 4 corpus documents (no stored index)"
    store.deduplicate(pl.DataFrame({"id": ["copy"], "text": [TEXTS[0]], "retrieved_at": [T0 + timedelta(days=1)]}))
    return tmp_path, tmp_path / "state" / "dedup", tmp_path / "corpus"


def decide_copy_of_first(store) -> dict:
    return store.deduplicate(pl.DataFrame({"id": ["late-copy"], "text": [TEXTS[0].upper()],
                                           "retrieved_at": [T0 + timedelta(days=2)]})).to_dicts()[0]


@pytest.mark.parametrize("damaged", ["settings.json", "kept", "bands"])
def test_a_corrupt_dedup_index_file_is_quarantined_and_the_index_rebuilt_from_the_corpus(published, damaged):
    data, root, corpus = published
    path = root / damaged if damaged == "settings.json" else sorted((root / damaged).glob("*.parquet"))[0]
    path.write_bytes(GARBAGE)
    store, how = open_store(root, corpus, POLICY, data / "tmp", data_root=data)
    relative = str(path.relative_to(data))
    assert how.startswith("rebuilt from 4 corpus documents") and str(path) in how and "unreadable" in how
    moved = quarantined(data, relative)
    assert len(moved) == 1 and moved[0].read_bytes() == GARBAGE and str(moved[0]) in how
    assert store.kept_count() == 4 and store.is_current()
    decision = decide_copy_of_first(store)  # the rebuilt index still knows every published document
    assert (decision["reason"], decision["duplicate_of"]) == ("exact_duplicate", "d0")
    again, how = open_store(root, corpus, POLICY, data / "tmp", data_root=data)
    assert how == "loaded (4 documents)"


def test_a_corrupt_decided_part_is_quarantined_without_a_rebuild(published):
    """Earlier duplicate decisions only save work: losing them costs a decision again, not the index."""
    data, root, corpus = published
    part = sorted((root / "decided").glob("*.parquet"))[0]
    part.write_bytes(GARBAGE)
    store, how = open_store(root, corpus, POLICY, data / "tmp", data_root=data)
    assert how.startswith("loaded (4 documents)") and str(part) in how
    assert len(quarantined(data, str(part.relative_to(data)))) == 1
    decided = store.deduplicate(pl.DataFrame({"id": ["copy"], "text": [TEXTS[0]], "retrieved_at": [T0]})).to_dicts()[0]
    assert (decided["reason"], decided["duplicate_of"]) == ("exact_duplicate", "d0")


def test_an_index_of_a_corpus_published_twice_counts_each_document_once(published):
    data, root, corpus = published
    (corpus / "en" / "part-b.parquet").write_bytes((corpus / "en" / "part-a.parquet").read_bytes())  # every document twice
    (root / "settings.json").unlink()
    store, how = open_store(root, corpus, POLICY, data / "tmp", data_root=data)
    assert how == "rebuilt from 4 corpus documents (no stored index)" and store.kept_count() == 4


def test_a_corrupt_harvest_state_is_quarantined_and_the_harvest_starts_again(tmp_path):
    layout = DataLayout.at(tmp_path)
    path = layout.harvest_state_file("portal")
    path.parent.mkdir(parents=True)
    path.write_text('{"watermark": "2026-01-01", "checkpoint": {"start": 4')  # cut mid-write
    state = HarvestStateFile(path, layout.tmp_dir).load()
    moved = quarantined(tmp_path, "state/harvest/portal.json")
    assert len(moved) == 1 and moved[0].read_text().startswith('{"watermark"') and not path.exists()
    assert (state.watermark, state.checkpoint, state.in_progress) == (None, None, False)
    assert str(path) in state.last_error and str(moved[0]) in state.last_error
    assert HarvestStateFile(path, layout.tmp_dir).load() == HarvestState()


ARTICLE = "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>" + "<p>{body}</p>" * 6 + "</article></body></html>"


def sentence(topic: str) -> str:
    return (f"This report about {topic} explains how the city council gathered public opinions, weighed the costs "
            f"and published every decision with the reasons that led to it, so that residents can check the work.")


def test_corrupt_catalogue_and_harvest_state_files_do_not_keep_the_other_sources_out_of_the_warehouse(tmp_path):
    """Two portal sources published; then one's harvest state and the other's catalogue stage are overwritten.
    A publication loads what it can, keeps the previous rows of what it cannot read, records a failure naming
    each file, moves them to quarantine, and fails once; the next run harvests both catalogues whole again."""
    with PortalServer() as server:
        for name in ("east", "west"):
            packages = []
            for n, topic in enumerate(["rivers", "schools"]):
                url = server.file(f"/{name}/files/{n}.html", ARTICLE.format(title=f"{name} {topic}", body=sentence(f"{name} {topic}")))
                packages.append({"id": f"{name}-{n}", "name": f"{name}-{n}", "title": f"{name} {n}", "license_id": "cc-by-4.0",
                                 "metadata_modified": f"2026-01-0{n + 1}T10:00:00.000000", "state": "active",
                                 "resources": [{"id": f"res-{n}", "url": url, "format": "HTML", "name": topic}]})
            server.handler(f"/{name}/api/3/action/package_search", fake_ckan(packages))
        sources = tmp_path / "sources.yaml"
        sources.write_text(yaml.safe_dump({
            "sources": [{"name": name, "kind": "ckan", "url": f"{server.base}/{name}", "allow_private_addresses": True}
                        for name in ("east", "west")],
            "http": {"requests_per_second": 100, "contact": "https://example.org/moisson-tests"},
            "policy": {"languages": "all", "licenses": {"allow": ["CC-BY-4.0"]}, "quality": {"enabled": False}},
        }), encoding="utf-8")
        data = tmp_path / "data"
        first = run_moisson(sources, data)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        before = corpus_rows(data, "id, source")
        layout = DataLayout.at(data)
        layout.harvest_state_file("east").write_bytes(GARBAGE)
        layout.stage_file("datasets", "west").write_bytes(GARBAGE)

        log = tmp_path / "publish.log"  # a publication alone, as the sensor launches it after curation
        assert start(sources, data, "publish", log=log).wait(timeout=600) == 1
        output = log.read_text()
        for relative in ("state/harvest/east.json", "stages/datasets/west.parquet"):
            moved = quarantined(data, relative)
            assert len(moved) == 1 and moved[0].read_bytes() == GARBAGE
            assert str(data / relative) in output and str(moved[0]) in output
        with warehouse(data) as con:
            failures = con.execute("SELECT source, record, error_class FROM failures WHERE stage = 'warehouse' "
                                   "AND resolved_at IS NULL ORDER BY source").fetchall()
            assert failures == [("east", "state/harvest/east.json", "CorruptFile"),
                                ("west", "stages/datasets/west.parquet", "CorruptFile")]
            assert con.execute("SELECT source, count(*) FROM datasets GROUP BY 1 ORDER BY 1").fetchall() == [("east", 2), ("west", 2)]
            assert con.execute("SELECT source, watermark IS NOT NULL FROM harvest_state ORDER BY 1").fetchall() == \
                [("east", True), ("west", True)]
            assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2  # the rest was loaded and committed
        assert corpus_rows(data, "id, source") == before

        served = len(server.log)
        again = run_moisson(sources, data)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        for name in ("east", "west"):  # both catalogues harvested whole again, not from their watermark
            queries = [q for path, q, _ in server.log[served:] if path == f"/{name}/api/3/action/package_search"]
            assert queries and "metadata_modified:[" not in queries[0].get("fq", ""), (name, queries)
    assert pl.read_parquet(layout.stage_file("datasets", "west")).height == 2
    assert json.loads(layout.harvest_state_file("east").read_text())["watermark"] == "2026-01-02T10:00:00.000000"
    with warehouse(data) as con:
        assert con.execute("SELECT count(*) FROM failures WHERE stage = 'warehouse' AND resolved_at IS NULL").fetchone()[0] == 0
        assert con.execute("SELECT source, count(*) FROM datasets GROUP BY 1 ORDER BY 1").fetchall() == [("east", 2), ("west", 2)]
    assert corpus_rows(data, "id, source") == before


def notes_source(folder, lines: str):
    """A sources file reading one JSONL file of these lines, every licence CC0, quality off."""
    (folder / "notes.jsonl").write_text(lines)
    sources = folder / "sources.yaml"
    sources.write_text(yaml.safe_dump({
        "sources": [{"name": "notes", "kind": "files", "paths": ["notes.jsonl"], "license": "CC0-1.0"}],
        "policy": {"languages": "all", "licenses": {"allow": ["CC0-1.0"]}, "quality": {"enabled": False}},
    }))
    return sources


def test_a_corrupt_dedup_index_does_not_stop_the_next_run_and_loses_nothing(tmp_path):
    sources = notes_source(tmp_path, "".join(json.dumps({"id": f"n{n}", "text": text}) + "\n"
                                             for n, text in enumerate(TEXTS + [TEXTS[1]])))
    data = tmp_path / "data"
    first = run_moisson(sources, data)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    before = corpus_rows(data)
    assert len(before) == 4
    settings = data / "state" / "dedup" / "settings.json"
    kept = sorted((data / "state" / "dedup" / "kept").glob("*.parquet"))[0]
    settings.write_bytes(GARBAGE)
    kept.write_bytes(GARBAGE)
    again = run_moisson(sources, data)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert str(settings) in again.stderr and str(kept) in again.stderr and "rebuilt from 4 corpus documents" in again.stderr
    assert len(quarantined(data, "state/dedup/settings.json")) == 1
    assert len(quarantined(data, str(kept.relative_to(data)))) == 1
    assert corpus_rows(data) == before
    with warehouse(data) as con:
        assert con.execute("SELECT status, reason, count(*) FROM documents GROUP BY ALL ORDER BY 1").fetchall() == \
            [("kept", None, 4), ("rejected", "exact_duplicate", 1)]


def test_a_corrupt_failures_file_keeps_its_source_s_open_failures_open_and_loads_the_rest(tmp_path):
    sources = notes_source(tmp_path, "".join(json.dumps({"id": f"n{n}", "text": text}) + "\n"
                                             for n, text in enumerate(TEXTS)) + "{not json\n")
    data = tmp_path / "data"
    first = run_moisson(sources, data)
    with warehouse(data) as con:
        assert con.execute("SELECT record FROM failures WHERE resolved_at IS NULL").fetchall() == [("notes.jsonl:5",)], first.stdout
    failures_file = DataLayout.at(data).failures_file("harvest", "notes")
    failures_file.write_bytes(GARBAGE)
    log = tmp_path / "publish.log"
    assert start(sources, data, "publish", log=log).wait(timeout=600) == 1
    assert str(failures_file) in log.read_text()
    assert len(quarantined(data, "stages/failures/harvest/notes.parquet")) == 1
    with warehouse(data) as con:
        open_failures = con.execute("SELECT record, error_class FROM failures WHERE resolved_at IS NULL ORDER BY 1").fetchall()
        assert open_failures == [("notes.jsonl:5", "InvalidJSON"), ("stages/failures/harvest/notes.parquet", "CorruptFile")]
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2 and con.execute("SELECT count(*) FROM corpus").fetchone()[0] == 4
