"""Near duplicates: banded LSH over MinHash signatures, candidate pairs verified, clusters by components.

Bands are hashed in bulk with numpy; candidate pairs come from an equi-join on (band, hash), which
DuckDB runs out of core, so the index of a large corpus never has to sit in memory as Python
objects; a bucket of more than BUCKET_ALL_PAIRS documents (templated pages) proposes a linear number
of pairs instead of all of them. Every candidate pair, new or stored, is verified on its signature estimate when that is
conclusive (`conclusive`), else on its exact similarity (shared shingles, all pairs at once in numpy), so that a chance collision in one band never removes a document, and documents
linked by verified pairs form one cluster, found in DuckDB too, which keeps exactly one document.

Which one is a matter of numbering: nodes are numbered in first-occurrence order (stored documents by
their ordinal, then the new ones in decision order: sources file order, read position, retrieved_at, id;
see `moisson.deduplication`), and a cluster keeps its smallest node, so the components, the star and
chain of a big bucket and the stored documents a new one meets all follow that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb
import numpy as np
import polars as pl

# LSH only proposes candidates and every candidate is verified, so a false positive costs one
# comparison while a false negative costs a duplicate in the corpus: misses weigh 49 to 1. For a
# threshold of 0.8 and 128 permutations that is 17 bands of 7 rows: a pair at exactly 0.8 becomes a
# candidate with probability 0.98 (0.87 with equal weights), a pair at 0.3 with probability 0.004.
FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT = 0.02, 0.98
BAND_MIX = np.uint64(0x9E3779B97F4A7C15)


@cache
def lsh_parameters(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and negative probability mass.

    The same optimisation as datasketch's MinHashLSH (integrating the S-curve below and above the
    threshold), with weights that favour recall because candidates are verified.
    """
    best, best_error = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            error = (FALSE_POSITIVE_WEIGHT * _probability_mass(0.0, threshold, bands, rows, above=False)
                     + FALSE_NEGATIVE_WEIGHT * _probability_mass(threshold, 1.0, bands, rows, above=True))
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


def _probability_mass(low: float, high: float, bands: int, rows: int, above: bool) -> float:
    similarity = np.linspace(low, high, 201)
    candidate = 1.0 - (1.0 - similarity ** rows) ** bands
    curve = 1.0 - candidate if above else candidate
    return float(np.trapezoid(curve, similarity))


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(documents, bands) uint64: each band's `rows` values folded into one 64-bit hash (in place: no
    uint64 copy of the signatures)."""
    values = signatures[:, : bands * rows].reshape(len(signatures), bands, rows)
    folded = np.zeros((len(signatures), bands), dtype=np.uint64)
    for row in range(rows):
        folded ^= values[:, :, row]
        folded *= BAND_MIX
        folded ^= folded >> np.uint64(29)
    return folded


def estimated_jaccard(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Row-wise share of equal MinHash values: the unbiased estimate of the Jaccard similarity."""
    return (left == right).mean(axis=1)


def pair_estimates(left: np.ndarray, right: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """`estimated_jaccard` of each pair (row of `left`, row of `right`), a bounded number of pairs at a time."""
    result = np.empty(len(pairs))
    for start in range(0, len(pairs), PAIRS_AT_ONCE):
        chunk = pairs[start : start + PAIRS_AT_ONCE]
        result[start : start + len(chunk)] = estimated_jaccard(left[chunk[:, 0]], right[chunk[:, 1]])
    return result


CONCLUSIVE_DEVIATIONS = 4.0


def conclusive(estimates: np.ndarray, threshold: float, num_perm: int, measure: str) -> np.ndarray:
    """The pairs whose Jaccard estimate settles the decision without counting shared shingles: more than 4
    standard deviations of the estimate (at the threshold) above it, or below it for Jaccard. With 128
    permutations and 0.8 that is >= 0.94 (a pair at 0.8 gets there with probability 3e-6) or <= 0.66
    (1e-4; LSH itself misses 2% of them). A containment can be high while the Jaccard is low, so for
    containment only a high estimate settles (containment >= Jaccard). Near-identical pages (templates,
    boilerplate) then cost one signature comparison per pair instead of a count of their shingles."""
    margin = CONCLUSIVE_DEVIATIONS * np.sqrt(threshold * (1 - threshold) / num_perm)
    settled = estimates >= threshold + margin
    if measure != "containment":
        settled |= estimates <= threshold - margin
    return settled


@dataclass(frozen=True)
class ShingleSets:
    """Distinct shingle hashes of some texts, sorted, back to back: text i owns values[offsets[i]:offsets[i + 1]]."""

    values: np.ndarray  # uint32
    offsets: np.ndarray  # int64, one more than texts

    @staticmethod
    def of(shingles: np.ndarray, counts: np.ndarray) -> ShingleSets:
        """From every shingle hash of each text, text after text, with repeats: one sort for all texts."""
        owners = np.repeat(np.arange(len(counts), dtype=np.uint64), counts)
        keys = np.sort((owners << np.uint64(32)) | shingles.astype(np.uint64))
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]  # not np.unique: its hash table is 5x slower here
        offsets = np.searchsorted(keys >> np.uint64(32), np.arange(len(counts) + 1, dtype=np.uint64))
        return ShingleSets((keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets.astype(np.int64))

    def sizes(self, texts: np.ndarray) -> np.ndarray:
        return self.offsets[texts + 1] - self.offsets[texts]

    def gathered(self, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The values of each listed text back to back, and for each value the position of its text in the list."""
        sizes = self.sizes(texts)
        starts = np.repeat(self.offsets[texts] - np.cumsum(sizes) + sizes, sizes)
        return self.values[starts + np.arange(sizes.sum())], np.repeat(np.arange(len(texts), dtype=np.uint64), sizes)


PAIRS_AT_ONCE = 20_000  # bounds the memory of one overlap count (about 6 MB per 1,000 pairs of 1 KB texts)


def exact_similarities(left: ShingleSets, right: ShingleSets, pairs: np.ndarray, measure: str) -> np.ndarray:
    """Exact Jaccard similarity (or containment: shared over the smaller set) of each pair (left text, right text).

    Shared shingles are counted for all pairs at once: the keys (pair, shingle) of both sides are
    sorted together, and a key found twice is a shingle the pair shares (each side is distinct)."""
    result = np.empty(len(pairs))
    for start in range(0, len(pairs), PAIRS_AT_ONCE):
        chunk = pairs[start : start + PAIRS_AT_ONCE]
        # each side is already sorted (pair by pair, values sorted within): a stable sort only merges two runs
        keys = np.sort(np.concatenate([_pair_keys(left, chunk[:, 0]), _pair_keys(right, chunk[:, 1])]), kind="stable")
        shared = np.bincount((keys[1:][keys[1:] == keys[:-1]] >> np.uint64(32)).astype(np.int64), minlength=len(chunk))
        left_sizes, right_sizes = left.sizes(chunk[:, 0]), right.sizes(chunk[:, 1])
        if measure == "containment":
            result[start : start + len(chunk)] = shared / np.minimum(left_sizes, right_sizes)
        else:
            result[start : start + len(chunk)] = shared / (left_sizes + right_sizes - shared)
    return result


def _pair_keys(sets: ShingleSets, texts: np.ndarray) -> np.ndarray:
    values, pair = sets.gathered(texts)
    return (pair << np.uint64(32)) | values.astype(np.uint64)


def candidate_jaccard(policy) -> float:
    """The Jaccard similarity LSH must reach to propose a pair that may pass the policy's threshold.

    Containment t between documents whose sizes differ by up to 1.5x means a Jaccard of at least
    t / (2.5 - t): 0.47 for t = 0.8.
    """
    if policy.measure == "containment":
        return policy.threshold / (2.5 - policy.threshold)
    return policy.threshold


# A bucket of templated pages holds nearly all of them: all its pairs would be quadratic (3,000 pages, 4.5
# million pairs per band). Past BUCKET_ALL_PAIRS members, a bucket proposes only a star and a chain in node
# order: each member with the bucket's first (the one its cluster keeps, when they are near duplicates),
# with the one before it, and with the first of its block of BUCKET_ALL_PAIRS members in that order (so
# that if pages drift away from the first one, the smallest label still reaches them in a few dozen
# rounds of COMPONENTS, not one round per member along the chain). Every member shares a band of identical MinHash values with all the others,
# so they are near duplicates of their neighbours with high probability; the verification still rejects
# any pair below the threshold. Smaller buckets propose every pair, as before.
BUCKET_ALL_PAIRS = 32

# Pairs of new documents (`incoming`: band, hash, doc; doc in decision order), left < right. Only the rows
# of buckets with two members or more go through the self-join or the windows: most buckets hold one.
NEW_PAIRS = f"""
WITH shared AS MATERIALIZED (
    SELECT i.band, i.hash, i.doc, s.size FROM incoming i
    JOIN (SELECT band, hash, count(*) AS size FROM incoming GROUP BY band, hash HAVING count(*) > 1) s USING (band, hash)
),
small AS (SELECT band, hash, doc FROM shared WHERE size <= {BUCKET_ALL_PAIRS}),
ordered AS (
    SELECT band, hash, doc, lag(doc) OVER (PARTITION BY band, hash ORDER BY doc) AS previous,
           min(doc) OVER (PARTITION BY band, hash) AS first,
           (row_number() OVER (PARTITION BY band, hash ORDER BY doc) - 1) // {BUCKET_ALL_PAIRS} AS block
    FROM shared WHERE size > {BUCKET_ALL_PAIRS}
),
big AS (SELECT doc, previous, first, min(doc) OVER (PARTITION BY band, hash, block) AS block_first FROM ordered)
SELECT DISTINCT left_doc, right_doc FROM (
    SELECT a.doc AS left_doc, b.doc AS right_doc FROM small a JOIN small b USING (band, hash) WHERE a.doc < b.doc
    UNION ALL SELECT previous, doc FROM big WHERE previous IS NOT NULL
    UNION ALL SELECT first, doc FROM big WHERE first < doc
    UNION ALL SELECT block_first, doc FROM big WHERE block_first < doc AND block_first > first
)
"""

# Pairs (new doc, stored id) of new documents with stored ones (`stored_bands`: band, hash, id, ordinal,
# one row per stored document and band): in a bucket of more than BUCKET_ALL_PAIRS stored documents, a
# new one meets only the first BUCKET_ALL_PAIRS in ordinal order (the first occurrences, which its cluster
# names) and the last BUCKET_ALL_PAIRS (its neighbours in node order, new documents numbered after every
# stored one).
STORED_PAIRS = f"""
WITH ranked AS (
    SELECT band, hash, id, row_number() OVER (bucket ORDER BY ordinal, id) AS from_first,
           row_number() OVER (bucket ORDER BY ordinal DESC, id DESC) AS from_last
    FROM stored_bands WINDOW bucket AS (PARTITION BY band, hash)
)
SELECT DISTINCT a.doc, r.id FROM incoming a JOIN ranked r USING (band, hash)
WHERE r.from_first <= {BUCKET_ALL_PAIRS} OR r.from_last <= {BUCKET_ALL_PAIRS}
"""

# Each node starts with the smallest node among itself and its neighbours; then, round after round, the
# nodes whose label just dropped offer it to their neighbours, which take it if it is smaller. USING KEY
# keeps one row per node (the latest label) instead of every round's rows; it stops when no label drops.
# Rounds = the longest path a smallest label travels: 2 or 3 for the stars near duplicates make.
COMPONENTS = """
WITH RECURSIVE
    links(node, other) AS (SELECT a, b FROM edges UNION ALL SELECT b, a FROM edges),
    components(node, label) USING KEY (node) AS (
        SELECT node, min(least(node, other)) FROM links GROUP BY node
        UNION
        SELECT l.other, min(c.label)
        FROM components c JOIN links l ON l.node = c.node JOIN recurring.components r ON r.node = l.other
        GROUP BY l.other
        HAVING min(c.label) < any_value(r.label)
    )
SELECT node, label FROM components
"""


def components(con: duckdb.DuckDBPyConnection, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of the graph with edges (left[i], right[i]), in DuckDB: each node that has an
    edge, and its label, the smallest node of its component. Number the nodes so that the smallest is
    the one a cluster keeps."""
    con.register("edges", pl.DataFrame({"a": left, "b": right}, schema={"a": pl.Int64, "b": pl.Int64}))
    try:
        found = con.execute(COMPONENTS).fetchnumpy()
    finally:
        con.unregister("edges")
    return np.asarray(found["node"], dtype=np.int64), np.asarray(found["label"], dtype=np.int64)
