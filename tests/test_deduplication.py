import gzip
import shutil
from datetime import datetime, timedelta, timezone

from moisson.config import DedupPolicy
from moisson.deduplication import DedupCandidate, DedupState, deduplicate
from moisson.exact_duplicates import text_fingerprint

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
POLICY = DedupPolicy(threshold=0.8)
BASE = ("The river was restored over three summers by the town and its volunteers, who planted willows, removed "
        "old weirs and rebuilt the gravel beds where trout now spawn again every winter. Fishermen say the water is "
        "clearer than it has been for decades, and the school brings its pupils to count insects twice a year. "
        "The next step is a path along the bank, paid for by the region, with benches and signs about the birds.")


def candidate(doc_id, text, minutes=0):
    return DedupCandidate(doc_id, text, T0 + timedelta(minutes=minutes))


def test_fingerprint_ignores_case_punctuation_and_spacing():
    assert text_fingerprint("Hello,   World!") == text_fingerprint("hello world") != text_fingerprint("hello word")


def test_exact_and_near_duplicates_keep_the_earliest_retrieved():
    near = BASE.replace("three summers", "four summers")
    decisions = deduplicate([candidate("b", BASE.upper(), 5), candidate("a", BASE, 1), candidate("c", near, 9),
                             candidate("d", "A completely different text about bees on city roofs and their honey.", 3)],
                            DedupState(POLICY))
    by_id = {d.id: d for d in decisions}
    assert by_id["a"].reason is None and by_id["d"].reason is None
    assert (by_id["b"].reason, by_id["b"].duplicate_of) == ("exact_duplicate", "a")
    assert (by_id["c"].reason, by_id["c"].duplicate_of) == ("near_duplicate", "a") and by_id["c"].similarity >= 0.8


def test_state_round_trip_makes_dedup_incremental_and_reruns_idempotent():
    state = DedupState(POLICY)
    deduplicate([candidate("a", BASE, 1)], state)
    restored = DedupState.from_table(state.to_table(), POLICY)
    later = deduplicate([candidate("a", BASE, 1), candidate("z", BASE.replace("trout", "salmon"), 0)], restored)
    by_id = {d.id: d for d in later}
    assert by_id["a"].already_kept and by_id["a"].reason is None
    # earlier retrieved, but the corpus already holds its twin: the corpus wins, nothing is removed from it
    assert (by_id["z"].reason, by_id["z"].duplicate_of) == ("near_duplicate", "a")
    assert len(restored) == 1


def test_planted_near_duplicates_in_gutenberg_paragraphs(shared_data, tmp_path):
    """Real paragraphs with a few words changed are found; distinct paragraphs (and translations) are not."""
    copy = tmp_path / "paragraphs.tsv.gz"
    shutil.copyfile(shared_data / "text" / "gutenberg_5lang" / "gutenberg_paragraphs_min200chars.tsv.gz", copy)
    with gzip.open(copy, "rt", encoding="utf-8") as handle:
        next(handle)
        paragraphs = [line.rstrip("\n").split("\t")[3] for _, line in zip(range(3000), handle)]
    originals = [p for p in paragraphs if len(p.split()) >= 120][:150]
    candidates = [candidate(f"o{i}", text, i) for i, text in enumerate(originals)]
    for i, text in enumerate(originals[:50]):
        words = text.split()
        words[len(words) // 2] = "CHANGED"  # one word in the middle: Jaccard about 0.92 on 5-grams
        candidates.append(candidate(f"v{i}", " ".join(words), 1000 + i))
    decisions = {d.id: d for d in deduplicate(candidates, DedupState(POLICY))}
    found = {i for i in range(50) if decisions[f"v{i}"].duplicate_of == f"o{i}"}
    assert len(found) >= 49
    assert all(decisions[f"o{i}"].reason is None for i in range(len(originals)))


def test_a_lost_or_stale_state_is_rebuilt_from_the_published_corpus(tmp_path):
    import polars as pl

    from moisson.deduplication import open_state

    corpus = tmp_path / "corpus" / "en"
    corpus.mkdir(parents=True)
    pl.DataFrame({"id": ["a"], "text": [BASE], "retrieved_at": [T0]}).write_parquet(corpus / "part-0.parquet")
    state_file = tmp_path / "state.parquet"
    state, how = open_state(state_file, tmp_path / "corpus", POLICY)
    assert "rebuilt from 1 corpus documents (no stored state)" == how and "a" in state
    later = deduplicate([candidate("b", BASE.replace("trout", "salmon"), 9)], state)
    assert later[0].duplicate_of == "a"
    state_file.write_bytes(b"")
    pl.from_arrow(state.to_table()).write_parquet(state_file)  # metadata lost: settings unknown, so rebuilt
    assert open_state(state_file, tmp_path / "corpus", POLICY)[1].startswith("rebuilt")
    import pyarrow.parquet as pq

    pq.write_table(state.to_table(), state_file)
    assert open_state(state_file, tmp_path / "corpus", POLICY)[1] == "loaded"
    other = DedupPolicy(threshold=0.8, num_perm=64)
    rebuilt, how = open_state(state_file, tmp_path / "corpus", other)
    assert "signature settings changed" in how and "a" in rebuilt
    assert open_state(tmp_path / "none.parquet", tmp_path / "empty", POLICY)[1] == "new (no stored state, empty corpus)"
