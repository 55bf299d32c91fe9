"""From the payload of a document that is not a web page (PDF, scan, office file, TEI, JATS, wiki page) to
the same `Extracted` an HTML page gives, so that every later step treats all formats alike.

Why one place: each format has its reader (moisson/pdf_text.py, office_text.py, tei.py, jats.py,
wikitext.py, ocr.py); what they share is decided here once: licence evidence from the file's own
metadata becomes `metadata` evidence, pages without a text layer go to OCR when the policy and the
machine allow it, and a page that could not be read is reported (`page_failures`), never silently left
empty. A document none of whose pages could be read is an `ExtractionError` naming the cause.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from moisson import ocr
from moisson.extraction import Extracted, ExtractionError, PageFailure, primary_subtag
from moisson.jats import jats_document
from moisson.licence import Evidence, to_spdx
from moisson.office_text import READERS as OFFICE_READERS
from moisson.office_text import epub_package_document
from moisson.pdf_text import join_pages, pdf_document
from moisson.tei import tei_document
from moisson.wikitext import plain_text
from moisson.xml_text import XmlText
from sources.tdm_reservation import from_epub_opf, from_pdf

URL = re.compile(r"https?://[^\s<>\"']+")
XML_READERS = {"tei": tei_document, "jats": jats_document} | OFFICE_READERS
# of the worker's budget per document (moisson/curation.py), the share OCR may take before the pages left are
# reported as not read: the document then keeps what was read instead of being killed with nothing
OCR_SHARE_OF_BUDGET = 0.6


@dataclass(frozen=True)
class DocumentOptions:
    """What a reader needs from the policy, as plain data a worker process receives."""

    ocr: bool = True
    languages: tuple[str, ...] = ()  # the policy's languages, () for all: OCR's language models
    max_pages: int = 2000
    budget_s: float = 20.0


@dataclass
class _Pages:
    texts: list[str]
    failures: list[PageFailure] = field(default_factory=list)
    confidences: list[tuple[int, float]] = field(default_factory=list)  # (characters, mean word confidence) per OCRed page


def extract_document(payload: bytes, kind: str, options: DocumentOptions = DocumentOptions()) -> Extracted:
    if kind == "pdf":
        return _pdf(payload, options)
    if kind == "image":
        return _image(payload, options)
    if kind in XML_READERS:
        return _structured(XML_READERS[kind](payload), kind, _content_opt_out(payload, kind))
    if kind == "wikitext":
        return Extracted(text=_required(plain_text(payload.decode("utf-8")), kind), format=kind)
    raise ExtractionError(f"unsupported content type {kind!r}")


def _structured(document: XmlText, kind: str, opt_out: list[dict]) -> Extracted:
    return Extracted(text=_required(document.text, kind), title=document.title,
                     language_hint=primary_subtag(document.language), format=kind,
                     licence_evidence=metadata_evidence(document.licence_evidence), opt_out=opt_out)


def _content_opt_out(payload: bytes, kind: str) -> list[dict]:
    """TDM reservations a file states in its own metadata (TDMRep: an EPUB's package document, a PDF's XMP)."""
    if kind == "pdf":
        signals = from_pdf(payload)
    elif kind == "epub":
        signals = from_epub_opf(epub_package_document(payload))
    else:
        return []
    return [signal.as_dict() for signal in signals]


def metadata_evidence(statements: Iterable[str]) -> list[Evidence]:
    """A file's licence statements as evidence: the ones that name a licence; when none does, the first one, so
    that a statement nobody can read still keeps the document out (fail-closed) rather than being ignored.

    Why not all of them: TEI's `availability` says `status: free` and a sentence beside its `licence` target;
    the sentence restates the target in words, and requiring it to map would reject most well-licensed texts.
    A sentence that is not a licence name but holds licence URLs ("Licence Ouverte 2.0 https://www.etalab...")
    speaks through them: all must map, and to one licence, or the sentence stays unreadable."""
    pieces = [Evidence("metadata", value, _statement_licence(value)) for value in statements if value.strip()]
    named = [piece for piece in pieces if piece.spdx is not None]
    return named or pieces[:1]


def _statement_licence(statement: str) -> str | None:
    if (named := to_spdx(statement)) is not None:
        return named
    urls = [url.rstrip(").,;]") for url in URL.findall(statement)]
    licences = {to_spdx(url) for url in urls}
    return licences.pop() if len(licences) == 1 and None not in licences else None


def _pdf(payload: bytes, options: DocumentOptions) -> Extracted:
    started = time.monotonic()
    document = pdf_document(payload, max_pages=options.max_pages, max_seconds=options.budget_s * OCR_SHARE_OF_BUDGET)
    pages = _Pages(document.page_texts())
    to_read = sorted(set(document.pages_without_text) | set(document.pages_with_unusable_text))
    if to_read:
        remaining = options.budget_s * OCR_SHARE_OF_BUDGET - (time.monotonic() - started)
        _read_scanned_pages(payload, to_read, pages, options, remaining, document.pages_with_unusable_text)
    text, starts = join_pages(pages.texts)
    if not text.strip():
        raise _nothing_read(pages.failures, len(pages.texts))
    return Extracted(text=text, title=document.title, language_hint=primary_subtag(document.language), format="pdf",
                     licence_evidence=metadata_evidence(e.value for e in document.licence_evidence),
                     page_starts=starts, page_failures=pages.failures, ocr_confidence=_mean_confidence(pages),
                     opt_out=_content_opt_out(payload, "pdf"))


def _read_scanned_pages(payload: bytes, numbers: list[int], pages: _Pages, options: DocumentOptions,
                        seconds: float, unusable: dict[int, str] | None = None) -> None:
    """OCR the pages without a text layer or with an unusable one (`unusable`: page -> why), one by one until the
    time share is spent; report every page not read.

    A page whose text layer is unusable keeps that text when OCR cannot replace it (not available, failed, found
    nothing): garbled words are still all there is, and the failure row says why they are suspect.
    """
    unusable = unusable or {}
    why_not = _why_no_ocr(options)
    deadline = time.monotonic() + seconds
    for number in numbers:
        if why_not is None and time.monotonic() >= deadline:
            why_not = ("OcrTimeBudgetSpent", f"not OCRed: the document's OCR time ({seconds:.0f} s) was spent on earlier pages")
        if why_not is not None:
            pages.failures.append(_not_read(number, unusable, *why_not))
            continue
        try:
            [page] = ocr.ocr_pdf_pages(payload, [number], _languages(options), None,
                                        max_seconds=max(1.0, deadline - time.monotonic()))
        except ExtractionError as exc:
            pages.failures.append(_not_read(number, unusable, type(exc).__name__, str(exc)[:300]))
            continue
        if page.text.strip():
            pages.texts[number - 1] = page.text.strip()
            pages.confidences.append((len(page.text), page.confidence))
        else:
            pages.failures.append(_not_read(number, unusable, "NoTextFound", "OCR found no text on the page"))


def _not_read(number: int, unusable: dict[int, str], error_class: str, message: str) -> PageFailure:
    """The failure row of a page OCR did not read; for a page with an unusable text layer, kept as it is, it says so
    first ('text layer unusable, OCR not available: ...'), so that its suspect text can be found and read again."""
    if number not in unusable:
        return PageFailure(number, error_class, message)
    cause = message.removeprefix("no text layer, and ")
    message = f"text layer unusable, OCR not available ({error_class}: {cause}); kept as is. {unusable[number]}"
    return PageFailure(number, "TextLayerUnusable", message[:500])


def _image(payload: bytes, options: DocumentOptions) -> Extracted:
    why_not = _why_no_ocr(options)
    if why_not is not None:
        raise ExtractionError(f"a page image needs OCR: {why_not[1]}")
    result = ocr.ocr_scan(payload, _languages(options), max_seconds=options.budget_s * OCR_SHARE_OF_BUDGET)
    return Extracted(text=_required(result.text, "image"), format="image", ocr_confidence=round(result.confidence, 2),
                     page_starts=[0])


def _why_no_ocr(options: DocumentOptions) -> tuple[str, str] | None:
    if not options.ocr:
        return "OcrOff", "no text layer, and OCR is off (policy extraction.ocr: off)"
    if ocr.tesseract_version() is None:
        return "OcrUnavailable", ("no text layer, and Tesseract is not installed: apt-get install tesseract-ocr "
                                  "and the language data (tesseract-ocr-fra, ...), then run again")
    return None


def _languages(options: DocumentOptions) -> str:
    """The policy's languages, English only when the policy has it: an English model beside French reads short
    French lines as English words without their accents (CER 1.5% against 0.3%, bench/documents_ocr.py), and a
    text in a language the policy does not keep is rejected anyway. With `languages: all`, a few and English."""
    if not options.languages:
        return ocr.tesseract_languages("all")
    return ocr.tesseract_languages(list(options.languages), english_fallback=False)


def _mean_confidence(pages: _Pages) -> float | None:
    """Mean OCR confidence (0-100) over the OCRed pages, weighted by their characters; None when nothing was OCRed."""
    chars = sum(n for n, _ in pages.confidences)
    return round(sum(n * c for n, c in pages.confidences) / chars, 2) if chars else None


def _nothing_read(failures: list[PageFailure], count: int) -> ExtractionError:
    if failures:
        first = failures[0]
        return ExtractionError(f"no text on any of the {count} pages; page {first.page}: {first.message}")
    return ExtractionError(f"no text on any of the {count} pages")


def _required(text: str, kind: str) -> str:
    if not text.strip():
        raise ExtractionError(f"no text found in the {kind} document")
    return text
