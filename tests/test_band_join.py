"""The near-duplicate stage on Ray (engine: ray, moisson.band_join) decides exactly as the local path: planted
variants, a big bucket of templated pages, a store from an earlier run (written by either engine), and a join task
whose worker is killed mid-join and run again."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from moisson import band_join
from moisson.config import ExecutionPolicy
from moisson.deduplication import open_store
from moisson.ray_engine import ray_session
from test_deduplication import POLICY, edited, frame, templated_pages

RAY = ExecutionPolicy(engine="ray", num_cpus=2, dedup_on_ray_from=0)  # small inputs: Ray all the same


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray for the module (starting one costs seconds); every store call reuses it, and it stops after."""
    with ray_session(num_cpus=2):
        yield


def planted(count: int, seed: int, prefix: str) -> list[tuple[str, str, int]]:
    """`count` documents of random words and, for a third of them, variants with 1 to 20 words replaced (Jaccard
    about 0.97 down to 0.5): near duplicates on both sides of the threshold."""
    rng = np.random.default_rng(seed)
    docs = []
    for n in range(count):
        text = " ".join(f"w{w}" for w in rng.integers(0, 5_000, 400))
        docs.append((f"{prefix}{n:04d}", text, int(rng.integers(0, 1_000))))
        if n % 3 == 0:
            words = int(rng.choice([1, 2, 3, 5, 8, 12, 20]))
            docs.append((f"{prefix}{n:04d}v", edited(text, words, f"{prefix}{n}e"), int(rng.integers(0, 1_000))))
    return docs


def runs() -> list[list[tuple[str, str, int]]]:
    """Two runs: the second brings variants of the first's documents, more templated pages, and new documents."""
    first = planted(150, seed=1, prefix="a") + templated_pages(80, first=100)
    stored_variants = [(f"{doc_id}s", edited(text, 2, "s"), minute + 2_000) for doc_id, text, minute in first[:60:3]]
    second = planted(150, seed=2, prefix="b") + templated_pages(70, first=0, prefix="n") + stored_variants
    return [first, second]


def decide(root: Path, engines: list[ExecutionPolicy | None]) -> list[pl.DataFrame]:
    """The decisions of each run into one store, each run on its engine (the store reopened between runs)."""
    texts = {doc_id: text for run in runs() for doc_id, text, _ in run}
    decided = []
    for run, engine in zip(runs(), engines):
        store, _ = open_store(root / "dedup", root / "corpus", POLICY, root / "tmp", lambda ids: {i: texts[i] for i in ids},
                              execution=engine)
        decided.append(store.deduplicate(frame(*run)).sort("id"))
        if engine is not None and engine.engine == "ray":
            assert store.ray_stats.partitions > 1 and store.ray_stats.shuffle_bytes > 0
        if len(decided) == 2:  # stored pairs verified both ways: on the estimate and on the stored texts
            assert store.counts["stored pairs"] > store.counts["counted stored pairs"] > 0
    return decided


def test_below_dedup_on_ray_from_engine_ray_decides_on_the_local_path(ray_cluster, tmp_path):
    """A publication smaller than the threshold starts no Ray task (they would cost more than they save) and
    decides as the local path; at the threshold it goes to Ray."""
    documents = frame(*runs()[0])

    def store(name: str, execution: ExecutionPolicy | None):
        return open_store(tmp_path / name / "dedup", tmp_path / name / "corpus", POLICY, tmp_path / name / "tmp",
                          execution=execution)[0]

    expected = store("local", None).deduplicate(documents).sort("id")
    below = store("below", ExecutionPolicy(engine="ray", num_cpus=2, dedup_on_ray_from=documents.height + 1))
    at = store("at", ExecutionPolicy(engine="ray", num_cpus=2, dedup_on_ray_from=documents.height))
    assert below.deduplicate(documents).sort("id").equals(expected)
    assert not below.on_ray and below.ray_stats.partitions == 0
    assert at.deduplicate(documents).sort("id").equals(expected)
    assert at.on_ray and at.ray_stats.partitions > 1


def test_the_ray_path_decides_as_the_local_path_over_two_runs_and_either_reads_the_others_index(ray_cluster, tmp_path):
    local = decide(tmp_path / "local", [None, None])
    on_ray = decide(tmp_path / "ray", [RAY, RAY])
    mixed = decide(tmp_path / "mixed", [None, RAY])  # an index the local path wrote, joined on Ray
    mixed_back = decide(tmp_path / "back", [RAY, None])  # and the other way round
    near = local[1].filter(pl.col("reason") == "near_duplicate")
    assert near.height > 50 and near["duplicate_of"].str.starts_with("a").any(), "nothing to compare: the test proves little"
    assert local[0].filter(pl.col("reason").is_not_null()).height > 50
    for other in (on_ray, mixed, mixed_back):
        for mine, theirs in zip(local, other):
            assert mine.equals(theirs)


def die_once_then_join(part: band_join.JoinSlice):
    """Kills its own worker the first time it runs the range holding band 0 (a marker file says it did), as an OOM
    kill or a lost node would; run again, it joins."""
    marker = Path(part.spill).parent / "killed-once"
    if part.low == 0 and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return band_join.join_partition(part)


def test_a_join_task_killed_mid_join_is_run_again_and_the_pairs_are_the_same(ray_cluster, tmp_path):
    docs = runs()
    texts = {doc_id: text for run in docs for doc_id, text, _ in run}
    store, _ = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp",
                          lambda ids: {i: texts[i] for i in ids}, execution=RAY)
    store.deduplicate(frame(*docs[0]))
    candidates = store._prepare(frame(*docs[1]).with_columns(position=pl.lit(None, pl.Int64)), first_ordinal=10_000)
    live = np.arange(len(candidates.ids))
    incoming = pl.DataFrame({"band": np.tile(np.arange(store.bands, dtype=np.int16), len(live)),
                             "hash": candidates.bands.reshape(-1), "doc": np.repeat(live, store.bands)})
    args = (incoming, store.bands, store._parts("bands"), store._parts("kept"))
    calm = band_join.candidate_pairs_on_ray(*args, tmp_path / "calm", 4, band_join.RayStats())
    killed = band_join.candidate_pairs_on_ray(*args, tmp_path / "faulty", 4, band_join.RayStats(),
                                              partition=die_once_then_join)
    assert (tmp_path / "faulty" / "killed-once").exists(), "no worker was killed: the test proves nothing"
    assert len(calm[0]) > 0 and len(calm[2]) > 0
    assert np.array_equal(calm[0], killed[0]) and calm[1] == killed[1] and np.array_equal(calm[2], killed[2])


def test_band_ranges_cover_every_band_once():
    for bands in (1, 5, 17, 32):
        for partitions in (1, 2, 4, 40):
            ranges = band_join.band_ranges(bands, partitions)
            covered = [band for low, high in ranges for band in range(low, high + 1)]
            assert covered == list(range(bands)) and len(ranges) == min(bands, partitions)


def test_a_range_task_reads_only_the_row_groups_of_its_bands(tmp_path):
    """Parts are written band after band, one band per row group once they hold BAND_ROW_GROUP documents or more:
    the bytes the range tasks read are then the part's bytes once, not once per range."""
    store, _ = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    count = 70_000
    ids = [f"d{i}" for i in range(count)]
    store.rebuild(pl.DataFrame({"id": ids, "text": [f"text number {i} of the corpus, unique words {i}x {i}y" for i in ids],
                                "retrieved_at": [frame(("x", "", 0))["retrieved_at"][0]] * count}))
    parts = store._parts("bands")
    whole = band_join._stored_read_bytes(parts, [(0, store.bands - 1)])
    assert band_join._stored_read_bytes(parts, band_join.band_ranges(store.bands, 4)) == whole
    assert band_join._stored_read_bytes(parts, [(0, 0)]) < whole / 10


def index_tables(root: Path) -> dict[str, pl.DataFrame]:
    return {kind: pl.read_parquet(root / kind / "*.parquet").sort(pl.all()) for kind in ("kept", "bands")}


def test_an_index_rebuilt_from_the_corpus_on_ray_is_the_local_one(ray_cluster, tmp_path):
    corpus = tmp_path / "corpus" / "en"
    corpus.mkdir(parents=True)
    frame(*runs()[0]).write_parquet(corpus / "part-0.parquet")
    local, _ = open_store(tmp_path / "local", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    on_ray, how = open_store(tmp_path / "ray", tmp_path / "corpus", POLICY, tmp_path / "tmp", execution=RAY)
    assert how.startswith("rebuilt from") and on_ray.ray_stats.worker_peak_rss_mb.get("signatures", 0) > 0
    mine, theirs = index_tables(tmp_path / "local"), index_tables(tmp_path / "ray")
    assert mine["kept"].height == len(runs()[0]) and all(mine[kind].equals(theirs[kind]) for kind in mine)
