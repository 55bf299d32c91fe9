"""What the extraction workers made of each payload in the last run, so that the next run extracts only what is new.

A nightly harvest reads mostly the payloads it read the night before, and extraction is nearly all of
a run's cost: keyed by payload digest (as within a run, where identical payloads are extracted once),
an earlier result is reused when it was made the same way. "The same way" is a fingerprint of the
settings, the versions of the libraries and the source code of the modules that made it, so that a
new backend, a trafilatura upgrade or an edited extraction module starts afresh without anyone having
to remember to clear anything. The language and quality measurements have fingerprints of their own:
changing a quality threshold re-measures quality, not the extraction. Failed extractions are never
kept: the next run tries them again.

One folder per source. While a pass runs, new extractions are saved in parts as they come, so that a
run killed after hours resumes where it stopped; after the pass, one part with that source's current
payloads only replaces the others, so the cache never grows beyond the source itself.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from moisson.atomic_files import write_parquet
from moisson.language import LanguageGuess
from moisson.text_quality import QualityVerdict
from moisson.workers import Outcome

LOG = logging.getLogger(__name__)
CHECKPOINT_EVERY = 1000  # new extractions per part while a pass runs: what a killed run can lose
MEASURES = {"language_guess": LanguageGuess, "quality_verdict": QualityVerdict}  # what workers may add to a document
# large_string: a big source's texts pass the 2 GiB a plain string column can hold
SCHEMA = pa.schema([
    ("content_sha256", pa.string()), ("text", pa.large_string()), ("title", pa.large_string()),
    ("language_hint", pa.string()), ("licence_evidence", pa.large_string()),
    ("format", pa.string()), ("page_starts", pa.list_(pa.int64())), ("page_failures", pa.large_string()),
    ("ocr_confidence", pa.float64()), ("opt_out", pa.large_string()),
    *[(name, pa.large_string()) for name in MEASURES],
])
DOCUMENT_COLUMNS = [field.name for field in SCHEMA if field.name not in MEASURES]


@dataclass(frozen=True)
class Fingerprints:
    """How the cached values were made; None for a measurement this run does not take."""

    extraction: str
    language_guess: str | None = None
    quality_verdict: str | None = None


class ExtractionCache:
    """One source's cache: a folder of Parquet parts. While a pass runs, every `checkpoint_every` new
    extractions become a part of their own, so that a run killed midway loses at most that many; when the
    pass is over, one part holding exactly its outcomes replaces them all."""

    def __init__(self, folder: Path, tmp_dir: Path, current: Fingerprints, checkpoint_every: int = CHECKPOINT_EVERY):
        self.folder, self.tmp_dir, self.current, self.checkpoint_every = folder, tmp_dir, current, checkpoint_every
        self.pending: dict[str, Outcome] = {}
        self.loaded: tuple[list[Path], dict[str, Outcome]] = ([], {})  # the parts `load` read, and what it gave

    def load(self) -> dict[str, Outcome]:
        """digest -> the outcome an earlier run's workers returned, with the measurements made as this run
        would make them (the others are left out, to be taken again)."""
        parts, outcomes = self._parts(), {}
        for part in parts:  # oldest first: a later part's outcome for a digest wins
            outcomes.update(self._read(part))
        self.loaded = (parts, outcomes)
        return outcomes

    def add(self, digest: str, outcome: Outcome) -> None:
        """An outcome of the pass in progress: kept, with the ones before it, once enough have come."""
        if outcome.ok:
            self.pending[digest] = outcome
            if len(self.pending) >= self.checkpoint_every:
                self._write(self.pending)
                self.pending = {}

    def replace(self, outcomes: Mapping[str, Outcome]) -> int:
        """The pass is over: its successful outcomes become the whole cache; returns how many."""
        earlier, successful = self._parts(), {digest: outcome for digest, outcome in outcomes.items() if outcome.ok}
        self.pending = {}
        if self._holds_already(earlier, successful):  # the nightly re-run over the same input: nothing to rewrite
            return len(successful)
        kept = self._write(successful)
        for part in earlier:
            part.unlink(missing_ok=True)
        return kept

    def _holds_already(self, parts: list[Path], outcomes: Mapping[str, Outcome]) -> bool:
        """Is the cache one part that `load` read, and are `outcomes` exactly what it gave (the same objects)?"""
        loaded_parts, loaded = self.loaded
        return (len(parts) == 1 and parts == loaded_parts and outcomes.keys() == loaded.keys()
                and all(outcome is loaded[digest] for digest, outcome in outcomes.items()))

    def _parts(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.parquet"))

    def _read(self, part: Path) -> dict[str, Outcome]:
        try:
            stored = _stored_fingerprints(part)
            if stored.extraction != self.current.extraction:
                return {}
            reusable = [name for name in MEASURES
                        if getattr(self.current, name) and getattr(stored, name) == getattr(self.current, name)]
            table = pq.read_table(part, columns=[*DOCUMENT_COLUMNS, *reusable])
        except (OSError, pa.ArrowException) as error:  # a cache is an economy: an unreadable part is no cache
            LOG.warning("extraction cache part %s is unreadable (%s): its payloads are extracted again", part, error)
            return {}
        return {row.pop("content_sha256"): Outcome(value=_document(row, reusable)) for row in table.to_pylist()}

    def _write(self, outcomes: Mapping[str, Outcome]) -> int:
        rows = [_row(digest, outcome.value, self.current) for digest, outcome in outcomes.items() if outcome.ok]
        table = pa.Table.from_pylist(rows, schema=SCHEMA).replace_schema_metadata(
            {f"moisson.{name}": value or "" for name, value in dataclasses.asdict(self.current).items()})
        write_parquet(table, self.folder / f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet", self.tmp_dir)
        return len(rows)


def _stored_fingerprints(path: Path) -> Fingerprints:
    stored = pq.read_schema(path).metadata or {}
    values = {field.name: stored.get(f"moisson.{field.name}".encode(), b"").decode() or None
              for field in dataclasses.fields(Fingerprints)}
    return Fingerprints(**values)


def _row(digest: str, document: dict, current: Fingerprints) -> dict:
    row = {"content_sha256": digest, "text": document["text"], "title": document["title"],
           "language_hint": document["language_hint"],
           "licence_evidence": json.dumps(document["licence_evidence"], ensure_ascii=False),
           "format": document.get("format"), "page_starts": document.get("page_starts"),
           "page_failures": json.dumps(document.get("page_failures", []), ensure_ascii=False),
           "ocr_confidence": document.get("ocr_confidence"),
           "opt_out": json.dumps(document.get("opt_out", []), ensure_ascii=False)}
    for name in MEASURES:
        if getattr(current, name) and name in document:
            row[name] = json.dumps(dataclasses.asdict(document[name]), ensure_ascii=False)
    return row


def _document(row: dict, reusable: list[str]) -> dict:
    document = {**row, "licence_evidence": json.loads(row["licence_evidence"]),
                "page_failures": json.loads(row["page_failures"] or "[]"), "opt_out": json.loads(row["opt_out"] or "[]")}
    for name in reusable:
        measured = document.pop(name)
        if measured is not None:
            document[name] = MEASURES[name](**json.loads(measured))
    return document
