"""Publications launched outside `moisson run` (UI, schedule, sensor) never duplicate a document.

Two publications that overlapped once appended every document twice to the append-only corpus (54 rows for
27 ids), and every later run failed `corpus_ids_unique`. The publish steps now hold a lock of their own;
these tests start real publications in processes of their own against one data directory.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from e2e import corpus_rows, warehouse
from moisson.dataset_card import corpus_counts
from moisson.layout import DataLayout
from moisson.publication import CORPUS_SCHEMA, append_to_tree, ids_in_tree, remove_repeated_ids
from moisson.publication_lock import PublicationBusy, publication_lock
from publish_process import run, start

DOCUMENTS = 27
WORDS = ("river meadow lantern harbour orchard granite valley beacon willow thunder copper maple saddle island "
         "quarry violet hollow falcon marble canyon ember fountain glacier hazel juniper kettle ledger mosaic "
         "nectar oyster pepper quiver ribbon silver timber umber velvet walnut yonder zephyr anchor bramble").split()


def notes(count: int = DOCUMENTS) -> str:
    """Distinct documents of random words: none is a near duplicate of another."""
    rng = random.Random(13)
    return "".join(json.dumps({"id": f"n{n:02d}", "url": f"https://example.org/{n}",
                               "text": " ".join(rng.choice(WORDS) for _ in range(80))}) + "\n" for n in range(count))


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> tuple[Path, Path]:
    """A sources file and a data directory whose source is curated and not yet published."""
    root = tmp_path_factory.mktemp("curated")
    (root / "notes.jsonl").write_text(notes())
    sources = root / "sources.yaml"
    sources.write_text(yaml.safe_dump({
        "sources": [{"name": "notes", "kind": "files", "paths": ["notes.jsonl"], "license": "CC0-1.0"}],
        "policy": {"languages": "all", "licenses": {"allow": ["CC0-1.0"]}, "quality": {"enabled": False}},
    }))
    run(sources, root / "data", "curate")
    return sources, root / "data"


@pytest.fixture
def data_dir(curated, tmp_path) -> tuple[Path, Path]:
    sources, data = curated
    return sources, Path(shutil.copytree(data, tmp_path / "data"))


def test_two_publications_started_at_once_publish_every_document_once(data_dir, tmp_path):
    sources, data = data_dir
    go = tmp_path / "go"
    processes = [start(sources, data, "publish", go_file=go, log=tmp_path / f"publish-{n}.log") for n in range(2)]
    deadline = time.monotonic() + 300
    while len(list(data.glob("ready-*"))) < 2 and time.monotonic() < deadline and all(p.poll() is None for p in processes):
        time.sleep(0.05)
    go.touch()  # both have imported everything: they start their publications together
    codes = [process.wait(timeout=600) for process in processes]
    logs = [(tmp_path / f"publish-{n}.log").read_text() for n in range(2)]
    assert codes == [0, 0], "\n".join(log[-3000:] for log in logs)

    ids = [row[0] for row in corpus_rows(data, "id")]
    assert len(ids) == len(set(ids)) == DOCUMENTS
    with warehouse(data) as con:
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM corpus").fetchone() == (DOCUMENTS, DOCUMENTS)
        assert con.execute("SELECT count(*), sum(added_to_corpus) FROM runs").fetchone() == (2, DOCUMENTS)
    assert corpus_counts(data / "corpus")["total"][0][0] == DOCUMENTS


def test_a_publication_waits_while_another_holds_the_lock_then_publishes(data_dir, tmp_path):
    """The overlap forced: the test holds the lock as a running publication would; the one started meanwhile
    publishes nothing until it is released, says whom it waits for, then publishes each document once."""
    sources, data = data_dir
    layout, log = DataLayout.at(data), tmp_path / "publish.log"
    with publication_lock(layout.publish_lock_file, "the test's publication", wait_seconds=0):
        process = start(sources, data, "publish", log=log)
        deadline = time.monotonic() + 300
        while "waiting for the publication lock" not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "waiting for the publication lock" in log.read_text() and "the test's publication" in log.read_text()
        time.sleep(1.0)  # it keeps waiting: nothing is decided, published or loaded meanwhile
        assert process.poll() is None
        assert not layout.deduplicated.exists() and not list(layout.corpus_dir.glob("*/*.parquet"))
        assert not layout.warehouse.exists()
    assert process.wait(timeout=600) == 0, log.read_text()[-3000:]
    assert "publication lock" in log.read_text() and "acquired after waiting" in log.read_text()
    ids = [row[0] for row in corpus_rows(data, "id")]
    assert len(ids) == len(set(ids)) == DOCUMENTS


def test_a_publication_that_cannot_get_the_lock_in_time_fails_clearly_and_publishes_nothing(data_dir, tmp_path):
    sources, data = data_dir
    layout, log = DataLayout.at(data), tmp_path / "publish.log"
    with publication_lock(layout.publish_lock_file, "a long publication", wait_seconds=0):
        process = start(sources, data, "publish", log=log, wait_seconds=1)
        assert process.wait(timeout=600) == 1
    output = log.read_text()
    assert "another publication holds" in output and str(layout.publish_lock_file) in output and "a long publication" in output
    assert not layout.deduplicated.exists() and not list(layout.corpus_dir.glob("*/*.parquet"))


def test_the_lock_excludes_a_second_holder_until_released(tmp_path):
    lock = tmp_path / "publish.lock"
    with publication_lock(lock, "first", wait_seconds=0) as waited:
        assert waited < 1.0
        with pytest.raises(PublicationBusy, match="first"):
            with publication_lock(lock, "second", wait_seconds=0.3):
                pass
    with publication_lock(lock, "second", wait_seconds=0):
        assert "second" in lock.read_text()


def corpus_frame(ids: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame({"id": ids, "text": [f"text of {i}" for i in ids], "language": ["en"] * len(ids),
                          "retrieved_at": [datetime(2026, 1, 1, tzinfo=timezone.utc)] * len(ids), "n_words": [3] * len(ids)})
    return frame.with_columns(*(pl.lit(None).alias(c) for c in CORPUS_SCHEMA.names if c not in frame.columns))


def test_two_writers_of_the_same_rows_write_the_same_part(tmp_path, monkeypatch):
    """Even if the lock were bypassed: a writer that read the tree before the other wrote (both saw it empty)
    writes the same file names, so the same rows land once."""
    tree, frame = tmp_path / "corpus", corpus_frame([f"d{n}" for n in range(DOCUMENTS)])
    limits = dict(tmp_dir=tmp_path / "tmp", max_rows=10, max_bytes=1 << 20)
    assert append_to_tree(frame, tree, "language", CORPUS_SCHEMA, run_id="run-a", **limits) == DOCUMENTS
    monkeypatch.setattr("moisson.publication.ids_in_tree", lambda tree: set())  # the second writer's stale view
    append_to_tree(frame, tree, "language", CORPUS_SCHEMA, run_id="run-b", **limits)
    with duckdb.connect() as con:
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT id) FROM read_parquet(?)",
                                     [str(tree / "*" / "*.parquet")]).fetchone()
    assert (rows, distinct) == (DOCUMENTS, DOCUMENTS) and len(list(tree.glob("en/*.parquet"))) == 3


def test_a_corpus_left_with_every_document_twice_is_repaired_without_losing_one(tmp_path):
    """What two overlapping publications left before the lock: each part written twice under other names."""
    tree, frame = tmp_path / "corpus", corpus_frame([f"d{n}" for n in range(DOCUMENTS)])
    append_to_tree(frame, tree, "language", CORPUS_SCHEMA, run_id="run-a", tmp_dir=tmp_path / "tmp", max_rows=10, max_bytes=1 << 20)
    originals = sorted(tree.glob("en/*.parquet"))
    for part in originals:
        shutil.copy(part, part.with_name(f"part-other-run-{part.name}"))
    assert corpus_counts(tree)["total"][0][0] == DOCUMENTS  # counted once already, before the repair
    removed = remove_repeated_ids(tree, tmp_path / "tmp")
    assert sum(removed.values()) == DOCUMENTS and all(name.startswith("en/part-other-run-") for name in removed)
    assert sorted(tree.glob("en/*.parquet")) == originals and ids_in_tree(tree) == set(frame["id"])
    with duckdb.connect() as con:
        assert con.execute("SELECT count(*) FROM read_parquet(?)", [str(tree / "*" / "*.parquet")]).fetchone()[0] == DOCUMENTS
    assert remove_repeated_ids(tree, tmp_path / "tmp") == {}


def test_the_publish_job_repairs_a_corpus_published_twice_and_its_checks_pass(data_dir, tmp_path):
    sources, data = data_dir
    run(sources, data, "publish")
    for part in list((data / "corpus").glob("*/*.parquet")):  # as the overlapping publications left it
        shutil.copy(part, part.with_name(f"part-0000-{part.name}"))
    assert len(corpus_rows(data, "id")) == 2 * DOCUMENTS
    log = run(sources, data, "publish")
    assert "check corpus_ids_unique passed" in log and "check warehouse_matches_corpus passed" in log
    ids = [row[0] for row in corpus_rows(data, "id")]
    assert len(ids) == len(set(ids)) == DOCUMENTS
    with warehouse(data) as con:
        assert con.execute("SELECT count(*) FROM corpus").fetchone()[0] == DOCUMENTS
