"""The extraction cache: an earlier run's results come back only when this run would make them the same way."""

from datetime import datetime, timezone

import pytest

from moisson.code_fingerprint import fingerprint
from moisson.config import ExtractionPolicy, LanguagePolicy, QualityPolicy
from moisson.curation import PayloadWork, measure_missing
from moisson.extraction_cache import ExtractionCache
from moisson.single_pass import harvest
from moisson.workers import INLINE_BELOW, Outcome
from sources.records import RawRecord, ReadStats

PARAGRAPHS = (
    "La bibliothèque municipale ouvre ses archives numérisées au public. Les registres paroissiaux, les plans "
    "cadastraux et les journaux locaux du dix-neuvième siècle sont désormais consultables en ligne, librement et "
    "gratuitement, sous licence ouverte.",
    "Chaque document est accompagné de sa notice, de sa date et de la cote sous laquelle il est conservé, afin que "
    "les chercheurs puissent le citer et le retrouver dans les fonds originaux de la ville.",
    "Les habitants sont invités à signaler les erreurs de transcription et à proposer des documents de famille, "
    "qui rejoindront la collection après vérification par les archivistes.",
)
PAGE = ("<html lang='fr'><head><title>Archives ouvertes</title>"
        "<link rel='license' href='https://creativecommons.org/licenses/by/4.0/'></head>"
        "<body><nav><a href='/'>Accueil</a></nav><article>"
        + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS) + "</article></body></html>").encode()
ITEM = (PAGE, "html", "utf-8", "https://archives.example.fr/ouvertes")


def work(extraction: ExtractionPolicy = ExtractionPolicy(), quality: QualityPolicy = QualityPolicy()) -> PayloadWork:
    return PayloadWork(extraction=extraction, language=LanguagePolicy(), quality=quality)


def cache(root, made_by: PayloadWork, checkpoint_every: int = 2000) -> ExtractionCache:
    return ExtractionCache(root / "state" / "extractions" / "src", root / "tmp", made_by.fingerprints(), checkpoint_every)


def load(root, made_by: PayloadWork) -> dict[str, Outcome]:
    return cache(root, made_by).load()


@pytest.fixture
def saved(tmp_path):
    """A cache holding one extraction as the workers made it; the failed one beside it is not kept."""
    made = {"page": Outcome(value=work()(ITEM)),
            "timed-out": Outcome(error_class="TimeBudgetExceeded", message="gave up after 20 s")}
    assert cache(tmp_path, work()).replace(made) == 1
    return tmp_path, made["page"]


def test_a_saved_extraction_comes_back_as_the_workers_made_it_and_failures_are_not_kept(saved):
    root, page = saved
    assert set(page.value) == {"text", "title", "language_hint", "licence_evidence", "format", "page_starts",
                               "page_failures", "ocr_confidence", "opt_out", "language_guess", "quality_verdict"}
    assert load(root, work()) == {"page": page}  # measurements included, "timed-out" will be retried


def test_a_pass_that_reused_everything_leaves_the_cache_as_it_was(saved):
    root, page = saved
    folder = root / "state" / "extractions" / "src"
    before = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    again = cache(root, work())
    outcomes = again.load()
    failed = Outcome(error_class="ExtractionError", message="no main text found in the page")
    assert again.replace(outcomes | {"empty-page": failed}) == 1  # what it gave back, and a failure (never kept)
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == before  # not written again
    assert again.replace({}) == 0  # the source lost its page: the cache follows
    assert load(root, work()) == {}


def test_another_backend_starts_afresh(saved):
    root, _ = saved
    assert load(root, work(extraction=ExtractionPolicy(backend="resiliparse"))) == {}


def test_a_changed_quality_threshold_measures_quality_again_but_keeps_the_extraction(saved):
    root, page = saved
    stricter = work(quality=QualityPolicy(min_words=5000))
    reused = load(root, stricter)["page"].value
    assert "quality_verdict" not in reused
    assert reused["text"] == page.value["text"] and reused["language_guess"] == page.value["language_guess"]
    assert reused["licence_evidence"] == page.value["licence_evidence"] != []


def test_what_a_reused_extraction_lacks_is_measured_again_from_its_text(saved):
    root, page = saved
    stricter = work(quality=QualityPolicy(min_words=5000))
    complete = measure_missing(load(root, stricter), stricter, workers=1)["page"].value
    assert (complete["quality_verdict"].passed, complete["quality_verdict"].rule) == (False, "min_words")
    assert page.value["quality_verdict"].passed
    assert {key: complete[key] for key in page.value if key != "quality_verdict"} == {
        key: value for key, value in page.value.items() if key != "quality_verdict"}


def test_an_unreadable_part_is_no_cache_and_the_next_pass_replaces_it(saved):
    root, page = saved
    broken = root / "state" / "extractions" / "src" / "part-9999999999999999999-cut.parquet"
    broken.write_bytes(b"PAR1 cut short by a full disk")
    assert load(root, work()) == {"page": page}
    cache(root, work()).replace({"page": page})
    assert not broken.exists() and load(root, work()) == {"page": page}


def test_a_run_that_does_not_measure_quality_takes_no_stale_verdict(saved):
    root, _ = saved
    without_quality = PayloadWork(language=LanguagePolicy(), quality=None)
    assert "quality_verdict" not in load(root, without_quality)["page"].value


def test_the_fingerprint_follows_the_code_that_made_the_result(tmp_path, monkeypatch):
    module = tmp_path / "cache_probe_extractor.py"
    module.write_text("def extract(page):\n    return page.strip()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = fingerprint({"backend": "x"}, ["cache_probe_extractor"], ["lxml"])
    assert fingerprint({"backend": "x"}, ["cache_probe_extractor"], ["lxml"]) == before
    module.write_text("def extract(page):\n    return page.strip().lower()\n")
    assert fingerprint({"backend": "x"}, ["cache_probe_extractor"], ["lxml"]) != before
    assert fingerprint({"backend": "y"}, ["cache_probe_extractor"], ["lxml"]) != before


def test_a_pass_that_breaks_midway_leaves_its_checkpointed_extractions_to_the_next_run(tmp_path):
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    records = [RawRecord("src", "files", str(n), f"notes.txt:{n}", "text", f"note number {n}".encode(), when)
               for n in range(INLINE_BELOW + 11)]  # past what map_stream reads ahead, so outcomes come before the break

    def source_that_breaks():
        yield from records
        raise OSError("the disk holding the archive went away")

    midway = cache(tmp_path, work(), checkpoint_every=10)
    with pytest.raises(OSError):
        harvest(source_that_breaks(), ReadStats(), tmp_path / "raw.parquet", tmp_path / "tmp", work=work(), workers=1,
                known=midway.load(), on_outcome=midway.add)
    kept = load(tmp_path, work())
    assert set(kept) == {record.content_sha256 for record in records[:70]}  # 7 parts of 10; 5 were pending
    assert kept[records[42].content_sha256].value["text"] == "note number 42"

    again = cache(tmp_path, work(), checkpoint_every=10)
    worked: list[bytes] = []

    def counting(item: tuple) -> dict:
        worked.append(item[0])
        return work()(item)

    result = harvest(records, ReadStats(), tmp_path / "raw.parquet", tmp_path / "tmp", work=counting, workers=1,
                     known=again.load(), on_outcome=again.add)
    assert worked == [record.payload for record in records[70:]]
    again.replace(result.outcomes)
    assert len(list((tmp_path / "state" / "extractions" / "src").glob("part-*.parquet"))) == 1
    assert set(load(tmp_path, work())) == {record.content_sha256 for record in records}


def test_a_pdfs_pages_and_page_failures_come_back_from_the_cache(tmp_path):
    """A reused PDF keeps where its pages start and the page it could not read: the next run records it again."""
    from pdf_samples import make_pdf

    pdf = make_pdf([[(72, 700, "Premier paragraphe du rapport.")], [], [(72, 700, "Dernier paragraphe.")]])
    document = work()((pdf, "pdf", None, None))
    assert document["format"] == "pdf" and document["page_starts"][2] > 0 and document["page_failures"][0]["page"] == 2
    cache(tmp_path, work()).replace({"report": Outcome(value=document)})
    assert load(tmp_path, work()) == {"report": Outcome(value=document)}
