"""The extraction cache: an earlier run's results come back only when this run would make them the same way."""

import pytest

from moisson.config import ExtractionPolicy, LanguagePolicy, QualityPolicy
from moisson.curation import PayloadWork, measure_missing
from moisson.extraction_cache import fingerprint, load, save
from moisson.workers import Outcome

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


@pytest.fixture
def saved(tmp_path):
    """A cache file holding one extraction as the workers made it, next to one that failed."""
    made = {"page": Outcome(value=work()(ITEM)),
            "timed-out": Outcome(error_class="TimeBudgetExceeded", message="gave up after 20 s")}
    path = tmp_path / "state" / "extractions" / "src.parquet"
    assert save(path, tmp_path / "tmp", made, work().fingerprints()) == 1
    return path, made["page"]


def test_a_saved_extraction_comes_back_as_the_workers_made_it_and_failures_are_not_kept(saved):
    path, page = saved
    assert set(page.value) == {"text", "title", "language_hint", "licence_evidence", "language_guess", "quality_verdict"}
    assert load(path, work().fingerprints()) == {"page": page}  # measurements included, "timed-out" will be retried


def test_another_backend_starts_afresh(saved):
    path, _ = saved
    assert load(path, work(extraction=ExtractionPolicy(backend="resiliparse")).fingerprints()) == {}


def test_a_changed_quality_threshold_measures_quality_again_but_keeps_the_extraction(saved):
    path, page = saved
    stricter = work(quality=QualityPolicy(min_words=5000))
    reused = load(path, stricter.fingerprints())["page"].value
    assert "quality_verdict" not in reused
    assert reused["text"] == page.value["text"] and reused["language_guess"] == page.value["language_guess"]
    assert reused["licence_evidence"] == page.value["licence_evidence"] != []


def test_what_a_reused_extraction_lacks_is_measured_again_from_its_text(saved):
    path, page = saved
    stricter = work(quality=QualityPolicy(min_words=5000))
    complete = measure_missing(load(path, stricter.fingerprints()), stricter, workers=1)["page"].value
    assert (complete["quality_verdict"].passed, complete["quality_verdict"].rule) == (False, "min_words")
    assert page.value["quality_verdict"].passed
    assert {key: complete[key] for key in page.value if key != "quality_verdict"} == {
        key: value for key, value in page.value.items() if key != "quality_verdict"}


def test_an_unreadable_cache_is_no_cache(tmp_path):
    path = tmp_path / "src.parquet"
    path.write_bytes(b"PAR1 cut short by a full disk")
    assert load(path, work().fingerprints()) == {}


def test_a_run_that_does_not_measure_quality_takes_no_stale_verdict(saved):
    path, _ = saved
    without_quality = PayloadWork(language=LanguagePolicy(), quality=None)
    assert "quality_verdict" not in load(path, without_quality.fingerprints())["page"].value


def test_the_fingerprint_follows_the_code_that_made_the_result(tmp_path, monkeypatch):
    module = tmp_path / "cache_probe_extractor.py"
    module.write_text("def extract(page):\n    return page.strip()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = fingerprint({"backend": "x"}, ["cache_probe_extractor"], ["lxml"])
    assert fingerprint({"backend": "x"}, ["cache_probe_extractor"], ["lxml"]) == before
    module.write_text("def extract(page):\n    return page.strip().lower()\n")
    assert fingerprint({"backend": "x"}, ["cache_probe_extractor"], ["lxml"]) != before
    assert fingerprint({"backend": "y"}, ["cache_probe_extractor"], ["lxml"]) != before
