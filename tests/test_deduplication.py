import gzip
import shutil
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from moisson.config import DedupPolicy
from moisson.deduplication import DedupStore, open_store
from moisson.exact_duplicates import text_fingerprint

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
POLICY = DedupPolicy(threshold=0.8)
BASE = ("The river was restored over three summers by the town and its volunteers, who planted willows, removed "
        "old weirs and rebuilt the gravel beds where trout now spawn again every winter. Fishermen say the water is "
        "clearer than it has been for decades, and the school brings its pupils to count insects twice a year. "
        "The next step is a path along the bank, paid for by the region, with benches and signs about the birds.")
OTHER = "A completely different text about bees on city roofs, the honey they make and the beekeepers who care."


def frame(*docs):
    return pl.DataFrame({"id": [d[0] for d in docs], "text": [d[1] for d in docs],
                         "retrieved_at": [T0 + timedelta(minutes=d[2]) for d in docs]})


def decisions(store, *docs):
    return {row["id"]: row for row in store.deduplicate(frame(*docs)).to_dicts()}


@pytest.fixture
def store(tmp_path):
    created, _ = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    return created


def test_fingerprint_ignores_case_punctuation_and_spacing():
    assert text_fingerprint("Hello,   World!") == text_fingerprint("hello world") != text_fingerprint("hello word")


def test_exact_and_near_duplicates_keep_the_earliest_retrieved(store):
    near = BASE.replace("three summers", "four summers")
    by_id = decisions(store, ("b", BASE.upper(), 5), ("a", BASE, 1), ("c", near, 9), ("d", OTHER, 3))
    assert by_id["a"]["reason"] is None and by_id["d"]["reason"] is None
    assert (by_id["b"]["reason"], by_id["b"]["duplicate_of"]) == ("exact_duplicate", "a")
    assert (by_id["c"]["reason"], by_id["c"]["duplicate_of"]) == ("near_duplicate", "a") and by_id["c"]["similarity"] >= 0.8
    assert store.kept_count() == 2


def test_a_chain_of_near_duplicates_is_one_cluster_that_keeps_one_document(store):
    words = BASE.split()  # about 90 words: one changed word costs 5 shingles, Jaccard ~0.89; two cost ~0.79
    middle = words[:20] + ["changed"] + words[21:]
    end = middle[:60] + ["other"] + middle[61:]
    by_id = decisions(store, ("a", BASE, 1), ("b", " ".join(middle), 2), ("c", " ".join(end), 3))
    kept = [i for i, row in by_id.items() if row["reason"] is None]
    assert kept == ["a"] and {by_id["b"]["duplicate_of"], by_id["c"]["duplicate_of"]} == {"a"}


def test_incremental_runs_compare_with_the_store_and_reruns_change_nothing(store, tmp_path):
    decisions(store, ("a", BASE, 10), ("d", OTHER, 3))
    reopened, how = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    assert how == "loaded (2 documents)"
    again = decisions(reopened, ("a", BASE, 10), ("d", OTHER, 3), ("z", BASE.replace("trout", "salmon"), 0))
    assert again["a"]["already_kept"] and again["a"]["reason"] is None and again["d"]["already_kept"]
    # retrieved earlier, but its twin is already published: the corpus never loses a document
    assert (again["z"]["reason"], again["z"]["duplicate_of"]) == ("near_duplicate", "a")
    assert reopened.kept_count() == 2


def test_a_new_document_between_two_stored_ones_is_a_duplicate_of_the_earliest_and_both_stay(tmp_path):
    words = BASE.split()  # as above: one changed word is Jaccard ~0.89, two are ~0.79, below the threshold
    middle = words[:20] + ["changed"] + words[21:]
    end = middle[:60] + ["other"] + middle[61:]
    for kept_texts in (None, lambda ids: {"a": BASE, "c": " ".join(end)}):  # signature estimates, then exact
        store, _ = open_store(tmp_path / str(kept_texts), tmp_path / "corpus", POLICY, tmp_path / "tmp", kept_texts)
        first = decisions(store, ("a", BASE, 5), ("c", " ".join(end), 1))
        assert first["a"]["reason"] is None and first["c"]["reason"] is None
        second = decisions(store, ("b", " ".join(middle), 0))  # retrieved first, but a and c are published
        assert (second["b"]["reason"], second["b"]["duplicate_of"]) == ("near_duplicate", "c")
        assert store.kept_count() == 2


def test_a_lost_or_stale_store_is_rebuilt_from_the_published_corpus(tmp_path):
    corpus = tmp_path / "corpus" / "en"
    corpus.mkdir(parents=True)
    frame(("a", BASE, 1)).write_parquet(corpus / "part-0.parquet")
    store, how = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    assert how == "rebuilt from 1 corpus documents (no stored index)"
    assert decisions(store, ("b", BASE.replace("trout", "salmon"), 9))["b"]["duplicate_of"] == "a"
    other = DedupPolicy(threshold=0.8, num_perm=64)
    rebuilt, how = open_store(tmp_path / "dedup", tmp_path / "corpus", other, tmp_path / "tmp")
    assert how == "rebuilt from 1 corpus documents (settings changed)" and rebuilt.kept_count() == 1
    assert open_store(tmp_path / "d2", tmp_path / "empty", POLICY, tmp_path / "tmp")[1] == "new (no stored index, empty corpus)"


def test_planted_near_duplicates_in_gutenberg_paragraphs(shared_data, tmp_path, store):
    """Real paragraphs with one word changed are found; distinct paragraphs are not merged."""
    copy = tmp_path / "paragraphs.tsv.gz"
    shutil.copyfile(shared_data / "text" / "gutenberg_5lang" / "gutenberg_paragraphs_min200chars.tsv.gz", copy)
    with gzip.open(copy, "rt", encoding="utf-8") as handle:
        next(handle)
        paragraphs = [line.rstrip("\n").split("\t")[3] for _, line in zip(range(3000), handle)]
    originals = [p for p in paragraphs if len(p.split()) >= 120][:150]
    docs = [(f"o{i:03d}", text, i) for i, text in enumerate(originals)]
    for i, text in enumerate(originals[:50]):
        words = text.split()
        words[len(words) // 2] = "CHANGED"  # one word in the middle: Jaccard about 0.92 on 5-grams
        docs.append((f"v{i:03d}", " ".join(words), 1000 + i))
    by_id = decisions(store, *docs)
    found = sum(by_id[f"v{i:03d}"]["duplicate_of"] == f"o{i:03d}" for i in range(50))
    assert found == 50
    assert all(by_id[f"o{i:03d}"]["reason"] is None for i in range(len(originals)))


def test_containment_catches_a_replaced_paragraph_that_jaccard_misses(tmp_path):
    paragraphs = [BASE, OTHER * 2, "A third paragraph about the library's new opening hours on Sunday mornings for families."]
    original = "\n".join(paragraphs)
    variant = "\n".join([BASE, "Here a short new paragraph replaces the long one about bees and honey.", paragraphs[2]])
    for measure, expected in (("jaccard", None), ("containment", "near_duplicate")):
        policy = DedupPolicy(threshold=0.8, measure=measure)  # Jaccard 0.66, containment 0.83
        store, _ = open_store(tmp_path / measure, tmp_path / "corpus", policy, tmp_path / "tmp")
        by_id = {row["id"]: row for row in store.deduplicate(frame(("a", original, 1), ("b", variant, 2))).to_dicts()}
        assert by_id["b"]["reason"] == expected, measure


def templated_pages(count: int, first: int = 0, prefix: str = "t") -> list[tuple[str, str, int]]:
    """Pages of one template that differ by a record number: every pair is a near duplicate (Jaccard ~0.9)."""
    return [(f"{prefix}{i:04d}", f"Record {prefix}{first + i} of the portal. {BASE} {BASE.replace('river', 'stream')}", first + i)
            for i in range(count)]


def test_a_bucket_of_templated_pages_is_bounded_and_still_one_cluster_that_keeps_the_earliest(store):
    count = 400
    pages = templated_pages(count)
    pages[-1] = (pages[-1][0], pages[-1][1], -5)  # the earliest retrieved is the last id
    by_id = decisions(store, *pages)
    assert [i for i, row in by_id.items() if row["reason"] is None] == ["t0399"]
    assert {row["duplicate_of"] for row in by_id.values() if row["reason"]} == {"t0399"}
    assert store.counts["new pairs"] <= 3 * count * store.bands  # two stars and a chain per band, at most
    assert store.counts["new pairs"] < count * (count - 1) // 2 // 10  # all pairs: 79,800


def test_a_new_page_meets_a_bounded_number_of_stored_pages_of_its_template(tmp_path):
    corpus = tmp_path / "corpus" / "en"
    corpus.mkdir(parents=True)
    stored = 600  # published without dedup, so all kept: 600 stored documents in the same buckets
    frame(*templated_pages(stored, first=10)).write_parquet(corpus / "part-0.parquet")
    store, how = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    assert how == f"rebuilt from {stored} corpus documents (no stored index)"
    by_id = decisions(store, *templated_pages(3, first=-10, prefix="n"))  # retrieved before every stored one
    assert {(row["reason"], row["duplicate_of"]) for row in by_id.values()} == {("near_duplicate", "t0000")}
    assert store.counts["stored pairs"] <= 3 * 2 * 32 * store.bands and store.counts["stored pairs"] < 3 * stored // 2
    assert store.kept_count() == stored


LONG = " ".join(f"w{i}" for i in range(400))  # 396 distinct 5-word shingles


def edited(text: str, words: int, tag: str) -> str:
    """`words` words replaced, 20 apart: each costs 5 shingles (Jaccard (396 - 5k) / (396 + 5k))."""
    tokens = text.split()
    for k in range(words):
        tokens[10 + 20 * k] = f"{tag}{k}"
    return " ".join(tokens)


def test_stored_pairs_count_shingles_only_when_the_estimate_is_not_conclusive(tmp_path):
    other = " ".join(f"z{i}" for i in range(400))
    texts = {"a": LONG, "b": other, "x": edited(LONG, 1, "x"), "y": edited(other, 6, "y")}  # Jaccard 0.975, 0.859
    asked: list[str] = []

    def kept_texts(ids):
        asked.extend(ids)
        return {i: texts[i] for i in ids}

    store, _ = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp", kept_texts)
    decisions(store, ("a", texts["a"], 1), ("b", texts["b"], 2))
    by_id = decisions(store, ("x", texts["x"], 3), ("y", texts["y"], 4))
    assert store.counts["stored pairs"] == 2
    assert asked == ["b"] and store.counts["counted stored pairs"] == 1  # x meets a with a conclusive estimate (>= 0.94): a's text is never read
    assert (by_id["x"]["reason"], by_id["x"]["duplicate_of"]) == ("near_duplicate", "a") and by_id["x"]["similarity"] >= 0.94
    assert (by_id["y"]["reason"], by_id["y"]["duplicate_of"]) == ("near_duplicate", "b")
    assert by_id["y"]["similarity"] == round((396 - 30) / (396 + 30), 4)  # exact count, not the estimate


def test_an_uncertain_stored_pair_without_its_text_falls_back_to_the_estimate(tmp_path):
    store, _ = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp", lambda ids: {})
    decisions(store, ("b", LONG, 1))
    by_id = decisions(store, ("y", edited(LONG, 6, "y"), 2))
    assert by_id["y"]["reason"] == "near_duplicate" and by_id["y"]["similarity"] != round(366 / 426, 4)


def test_incremental_decisions_equal_a_run_from_scratch(tmp_path):
    bases = [" ".join(f"{letter}{i}" for i in range(400)) for letter in "abcdef"]
    docs = [(f"o{n}", text, n) for n, text in enumerate(bases)]
    for n, words in enumerate((1, 3, 6, 8, 9, 12, 20, 2, 7, 10, 5, 4)):  # Jaccard 0.975 down to 0.6
        docs.append((f"v{n:02d}", edited(bases[n % len(bases)], words, f"v{n}e"), 10 + n))
    texts = {doc_id: text for doc_id, text, _ in docs}
    lookup = lambda ids: {i: texts[i] for i in ids}  # noqa: E731
    scratch, _ = open_store(tmp_path / "scratch", tmp_path / "corpus", POLICY, tmp_path / "tmp", lookup)
    once = decisions(scratch, *docs)
    store, _ = open_store(tmp_path / "incremental", tmp_path / "corpus", POLICY, tmp_path / "tmp", lookup)
    split = {}
    for part in (docs[:9], docs[9:14], docs[14:]):
        split |= decisions(store, *part)
    assert {i for i, row in once.items() if row["reason"]} >= {"v00", "v01", "v02"}  # some near duplicates at all
    for doc_id, row in once.items():
        assert (split[doc_id]["reason"], split[doc_id]["duplicate_of"]) == (row["reason"], row["duplicate_of"]), doc_id
        assert split[doc_id]["similarity"] == row["similarity"], doc_id


# First occurrence: documents read from real sources (`read_source` numbers each record in read order) and
# decided by `deduplicate_documents`, as the `deduplicated` asset does, sources in the sources file's order.

import io
import json
import os

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from moisson.config import load_config
from moisson.curation import deduplicate_documents
from moisson.documents import raw_records_table
from sources import RawRecord, ReadStats, read_source

MTIME = datetime(2026, 3, 15, 12, tzinfo=timezone.utc).timestamp()
NEAR = BASE.replace("three summers", "four summers")  # Jaccard about 0.89 with BASE


def dump(path, lines: dict[int, tuple[str, str]], mtime: float = MTIME):
    """A JSONL file with (id, text) on the given line numbers (others: unrelated notes), modified at `mtime`."""
    last = max(lines)
    rows = [lines.get(n, (f"n{n}", f"Note {n}: {OTHER} Number {n} of the series, about hive {n}.")) for n in range(1, last + 1)]
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in rows), encoding="utf-8")
    os.utime(path, (mtime, mtime))


def warc(path, records: list[tuple[str, str, str]]):
    """A WARC of text/plain responses (url, WARC-Date, text), in this order of byte offsets."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, date, text in records:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/plain; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(text.encode()),
                                                          warc_headers_dict={"WARC-Date": date}, http_headers=headers))


def sources(tmp_path, *entries: str):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + "".join(f"  - {entry}\n" for entry in entries) + "policy: {licenses: {allow: [CC0-1.0]}}\n")
    return load_config(path)


def curate(config, store, **texts_by_key):
    """Every source read and deduplicated; the decisions by record key (JSONL id, else URL)."""
    frames = []
    for name in config.source_names:
        records = [r for r in read_source(config, name, ReadStats()) if isinstance(r, RawRecord)]
        frames.append(pl.from_arrow(raw_records_table(records)))
    documents = pl.concat(frames).with_columns(
        text=pl.col("payload").cast(pl.String), reason=pl.lit(None, pl.String), reason_detail=pl.lit(None, pl.String)
    ).drop("payload")
    decided = deduplicate_documents(documents, store, config.source_names)
    key = pl.coalesce(pl.col("record_key").str.extract(r"#id=(.*)$"), pl.col("url"))
    names = dict(zip(decided["id"], decided.select(key)[:, 0]))
    return {names[row["id"]]: (row["reason"], names.get(row["duplicate_of"], row["duplicate_of"]))
            for row in decided.to_dicts()}


def test_a_dump_whose_lines_share_a_time_keeps_its_first_line_not_the_smallest_hash(store, tmp_path):
    dump(tmp_path / "notes.jsonl", {1: ("original", BASE), 3: ("variant", NEAR), 5: ("capitals", BASE.upper())})
    decided = curate(sources(tmp_path, "{name: dump, kind: files, paths: [notes.jsonl], license: CC0-1.0}"), store)
    assert decided["original"] == (None, None)
    assert decided["capitals"] == ("exact_duplicate", "original")
    assert decided["variant"] == ("near_duplicate", "original")


def test_a_copy_that_comes_first_is_the_one_kept(store, tmp_path):
    dump(tmp_path / "notes.jsonl", {1: ("capitals", BASE.upper()), 3: ("variant", NEAR), 5: ("original", BASE)})
    decided = curate(sources(tmp_path, "{name: dump, kind: files, paths: [notes.jsonl], license: CC0-1.0}"), store)
    assert decided["capitals"] == (None, None)
    assert decided["original"] == ("exact_duplicate", "capitals")
    assert decided["variant"] == ("near_duplicate", "capitals")


def test_a_web_archive_keeps_the_record_at_the_smaller_offset_even_if_retrieved_later(store, tmp_path):
    (tmp_path / "crawl").mkdir()
    warc(tmp_path / "crawl" / "a.warc.gz", [
        ("https://x.org/river", "2026-03-02T10:00:00Z", BASE),
        ("https://x.org/bees", "2026-03-02T10:00:00Z", OTHER),
        ("https://mirror.x.org/RIVER", "2026-03-01T09:00:00Z", BASE.upper()),  # the same day's crawl, clock behind
        ("https://mirror.x.org/river-2", "2026-03-02T10:00:00Z", NEAR),
    ])
    decided = curate(sources(tmp_path, "{name: web, kind: warc, paths: ['crawl/*.warc.gz'], license: CC0-1.0}"), store)
    assert decided["https://x.org/river"] == (None, None) and decided["https://x.org/bees"] == (None, None)
    assert decided["https://mirror.x.org/RIVER"] == ("exact_duplicate", "https://x.org/river")
    assert decided["https://mirror.x.org/river-2"] == ("near_duplicate", "https://x.org/river")


def test_two_files_are_read_in_order_and_two_sources_in_the_sources_file_order(tmp_path):
    (tmp_path / "dumps").mkdir()
    dump(tmp_path / "dumps" / "a.jsonl", {4: ("a-original", BASE)})
    dump(tmp_path / "dumps" / "b.jsonl", {1: ("b-capitals", BASE.upper()), 2: ("b-variant", NEAR)})
    one = "{name: dumps, kind: files, paths: ['dumps/*.jsonl'], license: CC0-1.0}"
    store, _ = open_store(tmp_path / "one", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    decided = curate(sources(tmp_path, one), store)
    assert decided["a-original"] == (None, None)  # a.jsonl is read before b.jsonl, whatever the lines
    assert decided["b-capitals"] == ("exact_duplicate", "a-original")
    assert decided["b-variant"] == ("near_duplicate", "a-original")

    b_first = ["{name: b, kind: files, paths: ['dumps/b.jsonl'], license: CC0-1.0}",
               "{name: a, kind: files, paths: ['dumps/a.jsonl'], license: CC0-1.0}"]
    store, _ = open_store(tmp_path / "two", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    decided = curate(sources(tmp_path, *b_first), store)
    assert decided["b-capitals"] == (None, None)  # source b is listed first
    assert decided["a-original"] == ("exact_duplicate", "b-capitals")
    assert decided["b-variant"] == ("near_duplicate", "b-capitals")


def test_a_published_document_stays_when_an_earlier_placed_duplicate_arrives_later_and_reruns_change_nothing(store, tmp_path):
    config = sources(tmp_path, "{name: dump, kind: files, paths: [notes.jsonl], license: CC0-1.0}")
    dump(tmp_path / "notes.jsonl", {5: ("capitals", BASE.upper())})
    assert curate(config, store)["capitals"] == (None, None)
    # the next dump has the original and a variant on the lines before it: the published copy stays
    dump(tmp_path / "notes.jsonl", {1: ("original", BASE), 2: ("variant", NEAR), 5: ("capitals", BASE.upper())})
    second = curate(config, store)
    assert second["capitals"] == (None, None)
    assert second["original"] == ("exact_duplicate", "capitals")
    assert second["variant"] == ("near_duplicate", "capitals")
    kept = store.kept_count()
    reopened, how = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    assert how == f"loaded ({kept} documents)"
    assert curate(config, reopened) == second and reopened.kept_count() == kept


def test_positions_beat_retrieval_dates_and_hashes_and_documents_without_one_come_after(store):
    docs = frame(("z", BASE, 9), ("a", BASE.upper(), 1), ("m", NEAR, 0), ("b", NEAR.upper(), -5))
    by_id = {row["id"]: row for row in store.deduplicate(docs.with_columns(
        position=pl.Series([0, 1, 2, None], dtype=pl.Int64))).to_dicts()}
    assert by_id["z"]["reason"] is None
    assert (by_id["a"]["reason"], by_id["a"]["duplicate_of"]) == ("exact_duplicate", "z")
    assert (by_id["m"]["reason"], by_id["m"]["duplicate_of"]) == ("near_duplicate", "z")
    assert (by_id["b"]["reason"], by_id["b"]["duplicate_of"]) == ("exact_duplicate", "m")


def test_a_later_duplicate_of_several_published_ones_names_the_first_published(store):
    words = BASE.split()  # one changed word is Jaccard ~0.89, two are ~0.79: a and c are not duplicates
    middle = " ".join(words[:20] + ["changed"] + words[21:])
    end = " ".join((words[:20] + ["changed"] + words[21:])[:60] + ["other"] + words[61:])
    first = store.deduplicate(frame(("c", end, 0), ("a", BASE, 5)).with_columns(position=pl.Series([1, 0])))
    assert first["reason"].is_null().all()
    second = {row["id"]: row for row in store.deduplicate(frame(("b", middle, -9)).with_columns(position=pl.Series([0]))).to_dicts()}
    assert (second["b"]["reason"], second["b"]["duplicate_of"]) == ("near_duplicate", "a")  # a came first, c later


def index_of_format_1(root):
    """Turn a store into what it was before ordinals: no `ordinal` in its kept parts, no `format` in its settings."""
    for part in (root / "kept").glob("*.parquet"):
        pl.read_parquet(part).drop("ordinal").write_parquet(part)
    settings = json.loads((root / "settings.json").read_text())
    del settings["format"]
    (root / "settings.json").write_text(json.dumps(settings, sort_keys=True))


def test_an_index_without_ordinals_is_rebuilt_from_the_corpus(store, tmp_path):
    decisions(store, ("a", BASE, 1), ("d", OTHER, 2))
    corpus = tmp_path / "corpus" / "en"
    corpus.mkdir(parents=True)
    frame(("a", BASE, 1), ("d", OTHER, 2)).write_parquet(corpus / "part-0.parquet")
    index_of_format_1(tmp_path / "dedup")
    reopened, how = open_store(tmp_path / "dedup", tmp_path / "corpus", POLICY, tmp_path / "tmp")
    assert how == "rebuilt from 2 corpus documents (index format changed)" and reopened.kept_count() == 2
    assert pl.read_parquet(tmp_path / "dedup" / "kept").sort("ordinal")["id"].to_list() == ["a", "d"]
    by_id = decisions(reopened, ("a", BASE, 1), ("b", BASE.upper(), 0), ("n", NEAR, 0))
    assert by_id["a"]["already_kept"]
    assert by_id["b"]["duplicate_of"] == "a" and by_id["n"]["duplicate_of"] == "a"


def test_a_rebuild_after_a_settings_change_keeps_the_first_occurrence_order(store, tmp_path):
    words = BASE.split()
    middle = " ".join(words[:20] + ["changed"] + words[21:])
    end = " ".join((words[:20] + ["changed"] + words[21:])[:60] + ["other"] + words[61:])
    store.deduplicate(frame(("c", end, 0), ("a", BASE, 5)).with_columns(position=pl.Series([1, 0])))
    corpus = tmp_path / "corpus" / "en"
    corpus.mkdir(parents=True)
    frame(("c", end, 0), ("a", BASE, 5), ("x", OTHER, -1)).write_parquet(corpus / "part-0.parquet")  # x: not in the index
    other = DedupPolicy(threshold=0.8, seed=7)
    rebuilt, how = open_store(tmp_path / "dedup", tmp_path / "corpus", other, tmp_path / "tmp")
    assert how == "rebuilt from 3 corpus documents (settings changed)"
    assert pl.read_parquet(tmp_path / "dedup" / "kept").sort("ordinal")["id"].to_list() == ["a", "c", "x"]
    by_id = {row["id"]: row for row in rebuilt.deduplicate(frame(("b", middle, -9))).to_dicts()}
    assert (by_id["b"]["reason"], by_id["b"]["duplicate_of"]) == ("near_duplicate", "a")
