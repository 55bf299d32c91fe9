"""Near-duplicate building blocks: clusters found in DuckDB and exact similarities counted in bulk, each
against a plain reference."""

import duckdb
import numpy as np
import polars as pl
import pytest

from moisson.near_duplicates import (BUCKET_ALL_PAIRS, NEW_PAIRS, STORED_PAIRS, ShingleSets, components, conclusive,
                                     exact_similarities, pair_estimates)


def reference_labels(edges: list[tuple[int, int]]) -> dict[int, int]:
    """Each node with an edge -> the smallest node it is connected to, by graph search."""
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    labels: dict[int, int] = {}
    for start in neighbours:
        if start in labels:
            continue
        seen, frontier = {start}, [start]
        while frontier:
            frontier = [n for node in frontier for n in neighbours[node] if n not in seen]
            seen.update(frontier)
        for node in seen:
            labels[node] = min(seen)
    return labels


def duckdb_labels(edges: list[tuple[int, int]]) -> dict[int, int]:
    left, right = (np.array([edge[i] for edge in edges], dtype=np.int64) for i in (0, 1))
    with duckdb.connect() as con:
        nodes, labels = components(con, left, right)
    assert len(nodes) == len(set(nodes.tolist())), "one row per node"
    return dict(zip(nodes.tolist(), labels.tolist()))


@pytest.mark.parametrize("seed", range(8))
def test_components_in_duckdb_equal_a_graph_search_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    nodes = int(rng.integers(2, 400))
    edges = [tuple(int(n) for n in rng.integers(0, nodes, 2)) for _ in range(int(rng.integers(1, nodes)))]
    assert duckdb_labels(edges) == reference_labels(edges)


def test_a_long_chain_numbered_backwards_and_a_star_are_one_cluster_each():
    chain = [(node + 1, node) for node in range(300, 100, -1)]  # the smallest label must travel 200 links
    star = [(1000, leaf) for leaf in range(1001, 1050)] + [(1049, 7)]
    labels = duckdb_labels(chain + star + [(55, 55)])
    assert {labels[node] for node in range(101, 302)} == {101}
    assert {labels[node] for node in range(1000, 1050)} == {7} and labels[7] == 7
    assert labels[55] == 55


def test_exact_similarities_count_shared_shingles_like_python_sets():
    rng = np.random.default_rng(0)
    texts = [set(rng.integers(0, 60, int(rng.integers(1, 40))).tolist()) for _ in range(50)]
    shingles = np.array([value for text in texts for value in list(text) * 2], dtype=np.uint32)  # repeats count once
    sets = ShingleSets.of(shingles, np.array([2 * len(text) for text in texts]))
    pairs = rng.integers(0, len(texts), (300, 2))
    jaccard = exact_similarities(sets, sets, pairs, "jaccard")
    containment = exact_similarities(sets, sets, pairs, "containment")
    for (a, b), j, c in zip(pairs, jaccard, containment):
        shared = len(texts[a] & texts[b])
        assert j == pytest.approx(shared / len(texts[a] | texts[b]))
        assert c == pytest.approx(shared / min(len(texts[a]), len(texts[b])))


def test_only_estimates_far_from_the_threshold_settle_a_pair_and_never_a_low_one_for_containment():
    estimates = np.array([0.95, 0.93, 0.8, 0.67, 0.65, 0.1])
    assert conclusive(estimates, 0.8, 128, "jaccard").tolist() == [True, False, False, False, True, True]
    assert conclusive(estimates, 0.8, 128, "containment").tolist() == [True, False, False, False, False, False]
    assert not conclusive(np.array([0.99]), 0.8, 16, "jaccard").any()  # 16 permutations: too noisy to settle


def test_pair_estimates_are_the_share_of_equal_minhash_values():
    signatures = np.array([[1, 2, 3, 4], [1, 2, 0, 0], [9, 9, 9, 9]], dtype=np.uint32)
    assert pair_estimates(signatures, signatures, np.array([[0, 1], [1, 0], [0, 2], [2, 2]])).tolist() == [0.5, 0.5, 0.0, 1.0]


def new_pairs(incoming: dict[str, np.ndarray], query: str = NEW_PAIRS) -> set[tuple[int, int]]:
    with duckdb.connect() as con:
        con.register("incoming", pl.DataFrame(incoming, schema={"band": pl.Int16, "hash": pl.UInt64, "doc": pl.Int64}))
        found = con.execute(query).fetchall()
    assert len(found) == len(set(found)), "distinct pairs"
    return set(found)


ALL_PAIRS = ("SELECT DISTINCT a.doc, b.doc FROM incoming a JOIN incoming b USING (band, hash) "
             "WHERE a.doc < b.doc")  # the query before buckets were bounded


@pytest.mark.parametrize("seed", range(4))
def test_buckets_up_to_the_limit_propose_every_pair_as_before(seed):
    rng = np.random.default_rng(seed)
    docs, bands = 300, 5
    incoming = {"band": np.tile(np.arange(bands), docs), "hash": rng.integers(0, 40, docs * bands).astype(np.uint64),
                "doc": np.repeat(rng.permutation(docs), bands)}  # 300 docs in 40 buckets per band: about 8 each
    sizes = np.unique(np.column_stack([incoming["band"], incoming["hash"]]), axis=0, return_counts=True)[1]
    assert sizes.max() <= BUCKET_ALL_PAIRS
    assert new_pairs(incoming) == new_pairs(incoming, ALL_PAIRS)


def test_a_bucket_past_the_limit_proposes_a_star_and_a_chain_in_node_order():
    members = np.random.default_rng(0).permutation(np.arange(1000, 3000, 2))  # 1,000 documents in one bucket
    small = np.arange(BUCKET_ALL_PAIRS)  # and a full bucket in another band
    incoming = {"band": np.r_[np.zeros(len(members)), np.ones(len(small))].astype(np.int16),
                "hash": np.r_[np.full(len(members), 7), np.full(len(small), 7)].astype(np.uint64),
                "doc": np.r_[members, small]}
    ordered = sorted(members.tolist())
    star = {(ordered[0], doc) for doc in ordered[1:]}
    chain = set(zip(ordered, ordered[1:]))
    blocks = {(ordered[start], doc) for start in range(0, len(ordered), BUCKET_ALL_PAIRS)
              for doc in ordered[start + 1 : start + BUCKET_ALL_PAIRS]}  # each member with the first of its block
    every_small_pair = {(a, b) for a in small.tolist() for b in small.tolist() if a < b}
    found = new_pairs(incoming)
    assert found == star | chain | blocks | every_small_pair
    assert len(found - every_small_pair) < 3 * len(members)  # linear, against 499,500 pairs for all of them


def stored_pairs(incoming: dict[str, np.ndarray], stored: dict[str, object]) -> set[tuple[int, str]]:
    with duckdb.connect() as con:
        con.register("incoming", pl.DataFrame(incoming, schema={"band": pl.Int16, "hash": pl.UInt64, "doc": pl.Int64}))
        con.register("stored_bands", pl.DataFrame(stored, schema={"band": pl.Int16, "hash": pl.UInt64, "id": pl.String,
                                                                  "ordinal": pl.Int64}))
        found = con.execute(STORED_PAIRS).fetchall()
    assert len(found) == len(set(found)), "distinct pairs"
    return set(found)


def test_new_documents_meet_the_first_and_last_stored_documents_of_a_big_bucket_and_all_of_a_small_one():
    count = 10_000
    ids = [f"s{i:05d}" for i in range(count)]
    ordinals = np.random.default_rng(1).permutation(count)  # the first-occurrence ordinal, not the id, orders them
    small = [f"x{i}" for i in range(BUCKET_ALL_PAIRS)]
    stored = {"band": [0] * count + [1] * len(small), "hash": [5] * count + [5] * len(small), "id": ids + small,
              "ordinal": ordinals.tolist() + list(range(len(small)))}
    incoming = {"band": np.array([0, 0, 0, 1], np.int16), "hash": np.array([5, 5, 6, 5], np.uint64),
                "doc": np.array([0, 1, 2, 3])}
    in_order = [ids[i] for i in np.argsort(ordinals)]
    bounded = set(in_order[:BUCKET_ALL_PAIRS] + in_order[-BUCKET_ALL_PAIRS:])
    assert stored_pairs(incoming, stored) == ({(doc, id_) for doc in (0, 1) for id_ in bounded}
                                              | {(3, id_) for id_ in small})  # doc 2 shares no bucket


# Node numbering in first-occurrence order: what a cluster keeps when positions, dates and ids disagree.

from datetime import datetime, timedelta, timezone

from moisson.config import DedupPolicy
from moisson.deduplication import open_store

TEXT = ("The river was restored over three summers by the town and its volunteers, who planted willows, removed "
        "old weirs and rebuilt the gravel beds where trout now spawn again every winter. Fishermen say the water is "
        "clearer than it has been for decades, and the school brings its pupils to count insects twice a year.")


def decide(tmp_path, ids: list[str], texts: list[str], positions: list[int], minutes: list[int]) -> dict[str, dict]:
    store, _ = open_store(tmp_path / "dedup", tmp_path / "corpus", DedupPolicy(threshold=0.8), tmp_path / "tmp")
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    frame = pl.DataFrame({"id": ids, "text": texts, "retrieved_at": [start + timedelta(minutes=m) for m in minutes],
                          "position": pl.Series(positions, dtype=pl.Int64)})
    return {row["id"]: row for row in store.deduplicate(frame).to_dicts()}


def test_a_chain_keeps_its_first_position_though_retrieved_last_and_with_the_largest_id(tmp_path):
    words = TEXT.split()  # one changed word: Jaccard ~0.88 with its neighbour; the two ends are below 0.8
    middle = words[:15] + ["changed"] + words[16:]
    end = middle[:45] + ["other"] + middle[46:]
    by_id = decide(tmp_path, ["a", "b", "z"], [TEXT, " ".join(middle), " ".join(end)], positions=[2, 1, 0], minutes=[0, 1, 2])
    assert by_id["z"]["reason"] is None
    assert {(row["reason"], row["duplicate_of"]) for i, row in by_id.items() if i != "z"} == {("near_duplicate", "z")}


def test_a_bucket_past_the_limit_keeps_its_first_position(tmp_path):
    count = 3 * BUCKET_ALL_PAIRS  # pages of one template differing by a number: one big bucket
    positions = np.random.default_rng(3).permutation(count).tolist()
    ids = [f"t{i:03d}" for i in range(count)]
    texts = [f"Record {i} of the portal. {TEXT} {TEXT.replace('river', 'stream')}" for i in range(count)]
    by_id = decide(tmp_path, ids, texts, positions, minutes=[-i for i in range(count)])  # the last id retrieved first
    first = ids[positions.index(0)]
    assert [i for i, row in by_id.items() if row["reason"] is None] == [first]
    assert {row["duplicate_of"] for row in by_id.values() if row["reason"]} == {first}
