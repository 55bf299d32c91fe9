"""The sources file: what to harvest and the policy a document must meet to enter the corpus.

Read once, validated once. Every error names the file, the source and the field, because the
person reading it is a data engineer who wrote the YAML and needs to know which line to fix.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (BaseModel, ConfigDict, Field, IPvAnyAddress, PrivateAttr, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from moisson import language
from moisson.licence import licence_id_problem
from moisson.credentials import check_references, keep_credential_references, seal_literal_credentials
from moisson.quality_languages import script_of, table_entries
from moisson.text_quality import QualityThresholds

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SPDX_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
LICENCE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.-]+$")
# The validation context key under which load_config hands the policy's own licence ids to the sources,
# which are validated before the policy that declares them.
CUSTOM_LICENCES = "custom_licences"


class ConfigError(ValueError):
    """A sources file that cannot be used, with every problem listed in words a user can act on."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SourceBase(_Strict):
    name: str = Field(description="Unique name; also the Dagster partition key.")
    paths: list[str] = Field(min_length=1, description="Paths or glob patterns, relative to the sources file.")
    license: str | None = Field(
        default=None, description="SPDX id the user asserts for documents that carry no licence evidence."
    )
    description: str | None = None
    citation: str | None = Field(default=None, description="How to cite this source, copied into the dataset card.")

    @field_validator("name")
    @classmethod
    def _name_is_a_key(cls, value: str) -> str:
        if not SOURCE_NAME.match(value):
            raise ValueError("must be 1-64 characters of lowercase letters, digits, '-' or '_', starting with a letter or digit")
        return value

    @field_validator("license")
    @classmethod
    def _license_is_spdx(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An id Moisson reads back at run time: a licence no step can read would reject every document
        of the source that carries no licence of its own, as 'unrecognised licence'."""
        if value is not None and not SPDX_LIKE.match(value):
            raise ValueError(f"{value!r} is not an SPDX licence id (e.g. CC-BY-4.0, etalab-2.0, LicenseRef-...)")
        problem = None if value is None else licence_id_problem(value, (info.context or {}).get(CUSTOM_LICENCES, ()))
        if problem:
            raise ValueError(problem)
        return value


def is_url(entry: str) -> bool:
    """A `paths` entry naming a remote location rather than a local path or glob."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", entry))


def is_path_list(entry: str) -> bool:
    """A `paths` entry that lists archives, one per line (Common Crawl's warc.paths.gz), local or remote."""
    return entry.split("?", 1)[0].endswith((".paths", ".paths.gz"))


HEADERS_DESCRIPTION = ("HTTP headers sent with every request to this source's own origins (scheme, host and port of its "
                       "URLs), never to another host nor across a redirect to one; a value may reference ${NAME}, "
                       "expanded from the environment only when the request is sent (Authorization: \"Bearer ${TOKEN}\").")


def _http_header_names(cls, value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name) or name.lower() in ("host", "content-length"):
            raise ValueError(f"{name!r} cannot be sent as a header here")
    return value


class WarcSource(_SourceBase):
    """WARC or WET files (gzip or plain, WARC/1.0 and 1.1), local or over http(s).

    A `paths` entry is a local path or glob, an http(s) URL of one archive, or a path list
    (`*.paths` / `*.paths.gz`, local or a URL) whose lines are joined to `base_url`. Remote archives
    are streamed through the HTTP layer, never held whole in memory or on disk.
    """

    kind: Literal["warc"]
    base_url: str | None = Field(default=None, description="Prefix of the relative lines of the path lists in `paths`.")
    max_archives: int | None = Field(default=None, ge=1,
                                     description="Read only the first N remote archives (path lists run to 90,000 lines).")
    max_archive_mb: int = Field(default=4096, ge=1, description="Streamed size cap per remote archive (decoded).")
    max_archive_minutes: float = Field(default=120.0, gt=0, description="Time budget to stream one remote archive.")
    allow_private_addresses: bool = Field(
        default=False, description="Allow loopback/private addresses (tests and the demo); off by default against SSRF.")
    headers: dict[str, str] = Field(default_factory=dict, repr=False, description=HEADERS_DESCRIPTION)
    _sealed: dict[str, str] = PrivateAttr(default_factory=dict)  # credentials written literally, by reference name

    _headers_are_http = field_validator("headers")(_http_header_names)

    @property
    def sealed_credentials(self) -> dict[str, str]:
        """Credentials written literally in the file, by the `${REDACTED_n}` reference left in their place."""
        return dict(self._sealed)

    @field_validator("paths")
    @classmethod
    def _remote_entries_are_http(cls, value: list[str]) -> list[str]:
        for entry in value:
            if is_url(entry) and not re.match(r"^https?://[^/\s]+", entry):
                raise ValueError(f"{entry!r}: only http(s) URLs can be read")
            if is_url(entry) and any(c in entry.split("?", 1)[0] for c in "*[]"):
                raise ValueError(f"{entry!r}: globs work on local paths only; list remote archives in a path list")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _base_url_goes_with_path_lists(self) -> "WarcSource":
        lists = [entry for entry in self.paths if is_path_list(entry)]
        if lists and self.base_url is None:
            raise ValueError(f"path list {lists[0]!r} needs base_url, the prefix its relative lines are joined to "
                             "(e.g. https://data.commoncrawl.org/)")
        if self.base_url is not None and not lists:
            raise ValueError("base_url is only used with a path list (*.paths or *.paths.gz) in paths")
        return self

    @property
    def remote_entries(self) -> list[str]:
        """Entries read over the network or through a path list, in the order written."""
        return [entry for entry in self.paths if is_url(entry) or is_path_list(entry)]


class FilesSource(_SourceBase):
    """Local files: JSONL (one document per line), MediaWiki dumps (one per article), and files that are one document
    each (HTML, text, PDF, page images, DOCX, ODT, EPUB, TEI, JATS), told apart by their bytes."""

    kind: Literal["files"]


class ArchiveLimits(_Strict):
    """Bounds on a zip or tar resource, so a decompression bomb costs a few reads, not the disk."""

    max_entries: int = Field(default=1000, ge=1)
    max_total_mb: int = Field(default=200, ge=1, description="Sum of the uncompressed sizes.")
    max_ratio: float = Field(default=100.0, gt=1.0, description="Largest uncompressed/compressed size ratio.")
    max_seconds: float = Field(default=30.0, gt=0, description="Time spent decompressing one archive.")


class FetchPolicy(_Strict):
    """Which resources of a catalogue are fetched as documents: text-bearing formats under a size cap."""

    enabled: bool = True
    formats: list[str] = Field(default_factory=lambda: ["html", "txt", "xml", "pdf", "docx", "odt", "epub", "zip", "tar"],
                               description="Resource formats fetched (html, txt, xml, pdf, docx, odt, epub, zip, tar); "
                                           "what a payload is, is then read from its bytes and content type.")
    max_resource_mb: int = Field(default=20, ge=1)
    max_resources: int | None = Field(default=None, ge=0, description="Stop after this many resources per run.")
    archives: ArchiveLimits = ArchiveLimits()


class _PortalSource(_Strict):
    """A catalogue or an archive reached over HTTP(S); shared by every portal kind."""

    name: str = Field(description="Unique name; also the Dagster partition key.")
    url: str = Field(description="The endpoint: CKAN or udata site root, DCAT catalogue URL, OAI-PMH base URL, "
                                 "HAL search API or Gallica SRU endpoint.")
    license: str | None = Field(default=None, description="SPDX id asserted for records whose catalogue gives no licence.")
    description: str | None = None
    citation: str | None = None
    allow_private_addresses: bool = Field(
        default=False, description="Allow loopback/private addresses (tests and the demo); off by default against SSRF.")
    allowed_addresses: list[IPvAnyAddress] = Field(
        default_factory=list, description="Single private addresses reachable while allow_private_addresses is off "
                                          "(an internal mirror); every other private address stays refused.")
    page_size: int = Field(default=100, ge=1, le=1000)
    fetch: FetchPolicy = FetchPolicy()
    headers: dict[str, str] = Field(default_factory=dict, repr=False, description=HEADERS_DESCRIPTION)
    _sealed: dict[str, str] = PrivateAttr(default_factory=dict)  # credentials written literally, by reference name

    _name_is_a_key = field_validator("name")(_SourceBase._name_is_a_key.__func__)
    _license_is_spdx = field_validator("license")(_SourceBase._license_is_spdx.__func__)
    _headers_are_http = field_validator("headers")(_http_header_names)

    @property
    def sealed_credentials(self) -> dict[str, str]:
        """Credentials written literally in the file, by the `${REDACTED_n}` reference left in their place."""
        return dict(self._sealed)

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @property
    def paths(self) -> list[str]:
        return [self.url]


class CkanSource(_PortalSource):
    """A CKAN portal (Action API v3 package_search)."""

    kind: Literal["ckan"]
    q: str | None = None
    fq: str | None = None
    organization: str | None = None


class UdataFilter(_Strict):
    organization: str | None = None
    tag: str | None = None
    license: str | None = Field(default=None, description="udata licence id, e.g. lov2.")


class UdataSource(_PortalSource):
    """A udata portal such as data.gouv.fr (/api/1/datasets/)."""

    kind: Literal["udata"]
    filter: UdataFilter = UdataFilter()


class DcatSource(_PortalSource):
    """A DCAT-AP catalogue in RDF (Turtle, RDF/XML, JSON-LD), paged with hydra."""

    kind: Literal["dcat"]


class OaiPmhSource(_PortalSource):
    """An OAI-PMH 2.0 repository (ListRecords)."""

    kind: Literal["oai-pmh"]
    metadata_prefix: str = "oai_dc"
    set: str | None = None
    from_: str | None = Field(default=None, alias="from")
    until: str | None = None


class HalSource(_PortalSource):
    """HAL, the French open archive (search API, Solr JSON): records and the links to their full-text files."""

    kind: Literal["hal"]
    url: str = Field(default="https://api.archives-ouvertes.fr/search/",
                     description="The search API; a portal's own endpoint is the collection's (…/search/<portal>/).")
    q: str = Field(default="*:*", description="Solr query, e.g. `text:climat` or `*:*`.")
    fq: list[str] = Field(default_factory=list, description="Solr filter queries, all applied (e.g. `docType_s:ART`, "
                                                            "`openAccess_bool:true`); one filter may be written alone.")
    collection: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,100}$",
                                   description="HAL collection code (collCode_s), e.g. `SHS`.")
    portal: str | None = Field(default=None, pattern=r"^[a-z0-9_-]{1,64}$",
                               description="HAL portal (instance), e.g. `inria`: searched at <url><portal>/.")

    @field_validator("fq", mode="before")
    @classmethod
    def _one_filter_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class GallicaSource(_PortalSource):
    """Gallica, the BnF's digital library (SRU searchRetrieve, oai_dc records, text mode of public-domain works)."""

    kind: Literal["gallica"]
    url: str = Field(default="https://gallica.bnf.fr/SRU", description="The SRU endpoint.")
    query: str = Field(min_length=1, description='CQL query, e.g. `dc.language all "fre" and dc.type all "monographie"`.')
    page_size: int = Field(default=50, ge=1, le=50, description="maximumRecords per request (Gallica serves 50 at most).")
    max_records: int | None = Field(default=None, ge=1, description="Stop after this many records (a CQL query can "
                                                                    "match millions).")
    collapsing: bool = Field(default=False, description="Gallica's grouping of a periodical's issues under one "
                                                        "record (`.../date`, no text); off: each issue is a document.")


PORTAL_KINDS = ("ckan", "udata", "dcat", "oai-pmh", "hal", "gallica")
SourceConfig = Annotated[
    Union[WarcSource, FilesSource, CkanSource, UdataSource, DcatSource, OaiPmhSource, HalSource, GallicaSource],
    Field(discriminator="kind"),
]
PortalSource = CkanSource | UdataSource | DcatSource | OaiPmhSource | HalSource | GallicaSource


class HttpConfig(_Strict):
    """How Moisson behaves on other people's servers; one section for every connector."""

    user_agent: str = "Moisson/0.1"
    contact: str = Field(default="https://github.com/moisson/moisson",
                         description="URL (or mailto:) where server operators can reach whoever runs this harvest.")
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_retry_after_seconds: float = Field(default=120.0, ge=0)
    requests_per_second: float = Field(default=1.0, gt=0, description="Per host.")
    max_connections_per_host: int = Field(default=2, ge=1, le=16)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_response_mb: int = Field(default=50, ge=1)
    max_response_seconds: float = Field(default=300.0, gt=0,
                                        description="Whole-response budget: stops a server that drips bytes just inside the timeout.")

    @property
    def full_user_agent(self) -> str:
        return f"{self.user_agent} (+{self.contact})"


class LicencePolicy(_Strict):
    """Which licences may enter the corpus. Every id is checked against the SPDX licence list, the LicenseRef-s
    Moisson produces and `custom`: a misspelt id would match no document and empty the corpus silently."""

    custom: list[str] = Field(
        default_factory=list,
        description="Licence ids of your own (LicenseRef-..., e.g. a company's terms) that sources may declare and the "
                    "allow list may hold; validated first, so the other fields can name them.")
    allow: list[str] = Field(min_length=1, description="SPDX ids that may enter the corpus; anything else is rejected.")
    verdicts: dict[str, Literal["allow", "review", "reject"]] = Field(
        default_factory=dict, description="Override the verdict of a catalogue licence (SPDX id or LicenseRef-).")

    @field_validator("custom")
    @classmethod
    def _custom_are_licence_refs(cls, value: list[str]) -> list[str]:
        bad = [entry for entry in value if not LICENCE_REF.match(entry)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))}: an id of your own is LicenseRef- followed by letters, "
                             "digits, '.' or '-' (SPDX's rule), e.g. LicenseRef-acme-terms")
        return value

    @field_validator("allow")
    @classmethod
    def _allowed_are_known(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return _known_licences(value, info)

    @field_validator("verdicts")
    @classmethod
    def _verdicts_name_known_licences(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        _known_licences(list(value), info)
        return value


def _known_licences(ids: list[str], info: ValidationInfo) -> list[str]:
    """`ids` unchanged when each is a licence Moisson knows; else one error naming every unknown one."""
    custom = (info.data or {}).get("custom") or ()
    problems = [problem for entry in ids if (problem := licence_id_problem(entry, custom))]
    if problems:
        raise ValueError("; ".join(problems))
    return ids


class QualityPolicy(QualityThresholds):
    """The quality thresholds: the defaults, moved per script and language by `moisson.quality_languages`'s table,
    then what the sources file sets: a key here applies to every language, `languages.<code>.<key>` to one."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    languages: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per language (ISO 639 code): thresholds that override the others for it.")
    _chosen: dict[tuple[str | None, str | None], tuple[str, QualityThresholds]] = PrivateAttr(default_factory=dict)

    @field_validator("languages")
    @classmethod
    def _languages_hold_thresholds(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for code, overrides in value.items():
            if not re.fullmatch(r"[a-z]{2,3}", code):
                raise ValueError(f"{code!r} is not an ISO 639 code (use lowercase codes such as fr, el, zh)")
            if not isinstance(overrides, dict):
                raise ValueError(f"language {code!r}: expected a mapping of thresholds, got {overrides!r}")
            try:
                QualityThresholds(**overrides)
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                raise ValueError(f"language {code!r}: {problems}") from None
        return value

    def for_language(self, language: str | None, text: str = "") -> tuple[str, QualityThresholds]:
        """The thresholds for a document in `language` (None or 'und': chosen by the script of `text`), and a
        label naming where they come from ('el', 'script:Hani', 'default'; '+policy' when the policy set some)."""
        script = script_of(language, text)
        key = (language, script)
        if key not in self._chosen:
            self._chosen[key] = self._choose(language, script)
        return self._chosen[key]

    def _choose(self, language: str | None, script: str | None) -> tuple[str, QualityThresholds]:
        entries = table_entries(language, script)
        label = entries[-1][0] if entries else "default"
        everywhere = {name: getattr(self, name) for name in self.model_fields_set - {"enabled", "languages"}}
        mine = self.languages.get(language or "", {})
        if mine:
            label = f"{language}+policy"
        elif everywhere:
            label += "+policy"
        merged = {key: value for _, entry in entries for key, value in entry.items()} | everywhere | mine
        return label, QualityThresholds(**merged)


class DedupPolicy(_Strict):
    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0.0, le=1.0, description="Similarity from which two documents are near duplicates.")
    measure: Literal["jaccard", "containment"] = Field(
        default="jaccard",
        description="jaccard: shared shingles / all shingles of both; containment: shared shingles / shingles of the "
                    "smaller document, which also catches a page whose text mostly stands inside another (a paragraph "
                    "replaced, a teaser of an article).")
    shingle_size: int = Field(default=5, ge=1, le=32, description="Words per shingle.")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations.")
    seed: int = 1


class ExtractionPolicy(_Strict):
    backend: Literal["trafilatura", "resiliparse"] = Field(
        default="trafilatura",
        description="trafilatura: the cleanest main text (its default settings without comments; shingle F1 0.960 on "
                    "scrapinghub_aeb, snippet F1 0.969 on ten languages, bench/extraction_eval.py); resiliparse: about "
                    "three times the pages/s, F1 0.927 and 0.915 (more boilerplate kept), for crawls where extraction "
                    "time is the limit.")
    mode: Literal["default", "fast", "precision", "recall"] = Field(
        default="default",
        description="How trafilatura is called: default (its own default: the best text in every language measured), "
                    "fast (no fallback extractors: about a quarter less CPU per page, and worse on Greek, Polish and "
                    "English pages), precision or recall (its favor_precision / favor_recall).")
    ocr: Literal["auto", "off"] = Field(
        default="auto",
        description="Pages without a text layer (scanned PDF pages, page images): auto reads them with Tesseract when "
                    "it is installed, in the policy's languages, and records them as failures naming the cause when it "
                    "is not; off records them as failures without trying.")
    max_pages: int = Field(default=2000, ge=1, description="Pages read from one PDF; a longer one is refused.")
    max_document_seconds: float = Field(
        default=300.0, gt=0, description="Time a PDF or page image may take, OCR included (a web page or any other "
                                         "document gets 20 s); pages not OCRed within it are failures to retry.")


class LanguagePolicy(_Strict):
    backend: Literal["cascade", "fasttext", "lingua", "langdetect"] = Field(
        default="cascade", description="cascade: fastText, then lingua where fastText is unsure or confuses languages.")
    min_score: Annotated[float, Field(ge=0.0, le=1.0)] | dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] | None = Field(
        default=language.MIN_SCORE,
        description="Below this confidence the language is 'und'. Unset: the per-language table calibrated on held-apart "
                    "data (cascade; 0.3 for the single backends); a number: every language; a mapping such as "
                    "{hr: 0.5}: those languages, the others keep the table.")
    short_text_min_score: Annotated[float, Field(ge=0.0, le=1.0)] | dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] | None = Field(
        default=language.SHORT_TEXT_MIN_SCORE,
        description="The same for a text under 40 letters (0.5 for the single backends when unset).")
    min_chars: int = Field(default=language.MIN_CHARS, ge=0, description="Texts with fewer letters than this are 'und': nothing to tell.")
    prefix_chars: int = Field(default=language.PREFIX_CHARS, ge=100, description="Only this many characters are read to decide.")


class OutputPolicy(_Strict):
    max_file_rows: int = Field(default=50_000, ge=1)
    max_file_mb: int = Field(default=256, ge=1)


class FailurePolicy(_Strict):
    max_rate: float = Field(
        default=0.2, ge=0.0, le=1.0,
        description="Largest share of a source's harvest that may fail (failures / (records + failures)) before its "
                    "failure-rate check fails; the source's good records still go on, and so do the other sources.")


# The asset checks of quality/checks.py, by name (tests/test_cli_exit_codes.py holds the two lists equal). Blocking
# ones stop publication: they cannot be downgraded to warnings.
CHECK_NAMES = ("corpus_contract", "every_record_decided", "corpus_ids_unique", "warehouse_matches_corpus",
               "harvest_failure_rate")
BLOCKING_CHECKS = ("corpus_contract", "every_record_decided")


class CheckPolicy(_Strict):
    """How `moisson run` treats a failed asset check: every failed check fails the run (exit code 1), except
    those listed under `warn`, which are printed as warnings. Why: a check nobody acts on is noise, and a
    nightly run that reports success while a check failed is a lie; so the choice is explicit."""

    warn: list[str] = Field(
        default_factory=list,
        description=f"Non-blocking checks reported as warnings, not failures: {', '.join(CHECK_NAMES[2:])} "
                    "(e.g. harvest_failure_rate for a source known to fail often).")

    @field_validator("warn")
    @classmethod
    def _warn_names_non_blocking_checks(cls, value: list[str]) -> list[str]:
        for name in value:
            if name in BLOCKING_CHECKS:
                raise ValueError(f"{name!r} is a blocking check: when it fails nothing is published, "
                                 "so it cannot be a warning")
            if name not in CHECK_NAMES:
                raise ValueError(f"{name!r} is not a check (checks: {', '.join(CHECK_NAMES)})")
        return value


class CorpusPolicy(_Strict):
    """What the published corpus must hold after `moisson run`, or the run fails (exit code 1).

    Why: a run whose every step succeeded can still leave nothing to train on (an allow list or a language list
    that matches none of the documents) or lose documents (the corpus only grows: a smaller one means part
    files were deleted or lost). Both are measured on the published Parquet files, before and after publication.
    """

    min_documents: int = Field(default=1, ge=0, description="Fewest documents the published corpus may hold after a "
                                                            "run; 0 accepts an empty corpus.")
    max_shrink: float = Field(default=0.0, ge=0.0, le=1.0,
                              description="Largest share of the documents published before the run that may be gone "
                                          "after it (0.0: a single missing document fails the run).")


# sources/tdm_reservation.py's protocol ids (a test holds the two lists equal; config does not import the HTTP layer)
OPT_OUT_PROTOCOLS = ("tdmrep-file", "tdmrep-header", "tdmrep-html", "tdmrep-epub", "tdmrep-pdf", "robots-ai",
                     "x-robots-tag", "meta-robots")


class OptOutPolicy(_Strict):
    """Text and data mining reservations (DSM Directive art. 4): which protocols are read and what they decide."""

    honour: bool = Field(default=True, description="Reject a document whose rights holder reserved text and data "
                                                   "mining (reason opt_out).")
    protocols: list[Literal[OPT_OUT_PROTOCOLS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(OPT_OUT_PROTOCOLS),
        description="TDMRep (tdmrep-file, -header, -html, -epub, -pdf), robots.txt AI agents (robots-ai), "
                    "X-Robots-Tag and meta robots noai (x-robots-tag, meta-robots).")
    unchecked: Literal["reject", "keep"] = Field(
        default="reject", description="A document whose opt-out could not be checked (a signal too large to read, "
                                      "a site's tdmrep.json answering 5xx): reject it (fail-closed) or keep it.")
    licence_overrides: bool = Field(
        default=False, description="An allowed open licence wins over a reservation (off: the reservation wins).")


PersonalDataAction = Literal["redact", "count", "reject"]


class PersonalDataPolicy(_Strict):
    """What happens to each type of identifier: replaced by its placeholder (`redact`), only counted
    (`count`), or the document rejected (`reject`, which also redacts, so a kept copy holds none).
    SIREN/SIRET and IP addresses are counted only by default: a company's public register number is not
    personal data, and an IP address in a technical text is usually a server's."""

    enabled: bool = True
    email: PersonalDataAction = "redact"
    phone: PersonalDataAction = "redact"
    iban: PersonalDataAction = "redact"
    card: PersonalDataAction = "redact"
    national_id: PersonalDataAction = "redact"
    ip: PersonalDataAction = "count"
    business_id: PersonalDataAction = "count"

    def action(self, data_type: str) -> PersonalDataAction:
        return getattr(self, data_type.lower())


class ExecutionPolicy(_Strict):
    """Where the per-document work (extraction, language and quality measurement) runs. `local`: the process pool
    of moisson/workers.py, on this machine's cores (the default). `ray`: Ray tasks on a local Ray started by the run
    (no address) or on an existing cluster (`ray://host:10001`, or `auto` for the cluster this machine belongs to);
    the decisions are the same either way, only the place of the work changes."""

    engine: Literal["local", "ray"] = Field(default="local", description="local (process pool) or ray.")
    address: str | None = Field(default=None, description="Ray cluster to connect to: ray://host:port or auto; "
                                                          "unset: a local Ray is started for the run and stopped after.")
    num_cpus: int | None = Field(default=None, ge=1, description="CPUs of the per-document work (one worker each): "
                                 "the local pool's, or the local Ray's; unset: every core. Not with an address.")
    dedup_on_ray_from: int = Field(default=100_000, ge=0, description="new documents in one publication from which "
                                   "near duplicates are found on Ray too (moisson/band_join.py); below, the local "
                                   "path decides the same, sooner than Ray tasks start (bench/minhash.py --engine ray).")
    read_shards_on_ray: Literal["auto", "always", "never"] = Field(
        default="auto", description="where the shards of local files are read with engine ray (moisson/ray_reading.py): "
        "always in Ray tasks, never (the run's process), or auto: in Ray tasks when the Ray has more than one node. "
        "On one machine the run's process reads as fast and spares copying every record through Ray's object store "
        "(`make bench`'s archive, whole runs on 2 cores: 31.7-32.1 s reading on Ray, 30.7-31.2 s reading here).")

    @field_validator("address")
    @classmethod
    def _address_is_ray(cls, value: str | None) -> str | None:
        if value is not None and value != "auto" and not re.fullmatch(r"ray://[^/\s:]+(:\d{1,5})?", value):
            raise ValueError(f"{value!r} is not a Ray address: write ray://host:port (the cluster's client port, "
                             "10001 by default) or auto")
        return value

    @model_validator(mode="after")
    def _ray_settings_need_ray(self) -> "ExecutionPolicy":
        if self.engine == "local" and self.address is not None:
            raise ValueError("address is a Ray setting: it needs engine: ray")
        if self.address is not None and self.num_cpus is not None:
            raise ValueError("num_cpus sizes a local Ray; a cluster given by address has its own CPUs: leave one unset")
        return self


class Policy(_Strict):
    languages: list[str] | Literal["all"] = "all"
    extraction: ExtractionPolicy = ExtractionPolicy()
    language: LanguagePolicy = LanguagePolicy()
    licenses: LicencePolicy
    quality: QualityPolicy = QualityPolicy()
    dedup: DedupPolicy = DedupPolicy()
    output: OutputPolicy = OutputPolicy()
    failures: FailurePolicy = FailurePolicy()
    checks: CheckPolicy = CheckPolicy()
    corpus: CorpusPolicy = CorpusPolicy()
    opt_out: OptOutPolicy = OptOutPolicy()
    personal_data: PersonalDataPolicy = PersonalDataPolicy()
    execution: ExecutionPolicy = ExecutionPolicy()

    @field_validator("languages")
    @classmethod
    def _languages_are_codes(cls, value):
        if value == "all":
            return value
        if not value:
            raise ValueError("list at least one language code, or write: all")
        bad = [code for code in value if not re.fullmatch(r"[a-z]{2,3}", code)]
        if bad:
            raise ValueError(f"not ISO 639 codes: {bad} (use lowercase codes such as fr, en, de, or 'und')")
        return value

    def keeps_language(self, code: str) -> bool:
        return self.languages == "all" or code in self.languages


class MoissonConfig(_Strict):
    sources: list[SourceConfig] = Field(min_length=1)
    policy: Policy
    http: HttpConfig = HttpConfig()
    base_dir: Path = Field(default=Path("."), exclude=True, description="Folder of the sources file; paths are relative to it.")

    @model_validator(mode="after")
    def _names_unique(self) -> "MoissonConfig":
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice; names are partition keys and must be unique")
            seen.add(source.name)
        return self

    def source(self, name: str) -> "WarcSource | FilesSource | PortalSource":
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"no source named {name!r} (known: {', '.join(self.source_names)})")

    @property
    def source_names(self) -> list[str]:
        return [source.name for source in self.sources]

    def resolve_paths(self, source: WarcSource | FilesSource) -> list[Path]:
        """Expand the source's paths and globs, sorted so that every run reads files in the same order."""
        found: set[Path] = set()
        if source.kind in PORTAL_KINDS:
            return []
        for pattern in source.paths:
            if source.kind == "warc" and (is_url(pattern) or is_path_list(pattern)):
                continue  # read by sources.remote_warc, not as local archives
            # the sources file's folder is a place, not a pattern: `data[1]/` must not match `data1/`
            full = pattern if Path(pattern).is_absolute() else str(Path(glob.escape(str(self.base_dir))) / pattern)
            found.update(Path(p).resolve() for p in glob.glob(full, recursive=True) if Path(p).is_file())
        return sorted(found)


def _describe(error: dict, raw: dict) -> str:
    loc = list(error["loc"])
    where = []
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        index = loc[1]
        entries = raw.get("sources") if isinstance(raw, dict) else None
        name = None
        if isinstance(entries, list) and index < len(entries) and isinstance(entries[index], dict):
            name = entries[index].get("name")
        where.append(f"source {name!r}" if name else f"source #{index + 1}")
        loc = loc[2:]
        if loc and loc[0] in ("warc", "files", *PORTAL_KINDS):  # pydantic's discriminator tag
            loc = loc[1:]
    field = ".".join(str(part) for part in loc)
    if field:
        where.append(f"field {field!r}")
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    elif error["type"] == "union_tag_invalid":
        found = error.get("input", {}).get("kind") if isinstance(error.get("input"), dict) else None
        message = f"unknown kind {found!r}; expected one of: {', '.join(('warc', 'files', *PORTAL_KINDS))}"
    return f"{', '.join(where) or 'top level'}: {message}"


def load_config(path: str | Path) -> MoissonConfig:
    """Read and validate a sources file; raise ConfigError naming the file, source and field of each problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(_read_text(path))
    except FileNotFoundError:
        raise ConfigError(f"{path}: sources file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with 'sources' and 'policy', found {type(raw).__name__}")
    missing: set[str] = set()
    sealed: dict[int, dict[str, str]] = {}
    raw = expand_environment(raw, missing, sealed)
    if missing:
        raise ConfigError(f"{path}: environment variable(s) not set: {', '.join(sorted(missing))} "
                          "(referenced as ${NAME} in the file)")
    try:
        config = MoissonConfig.model_validate({**raw, "base_dir": path.resolve().parent},
                                              context={CUSTOM_LICENCES: _custom_licences(raw)})
    except ValidationError as exc:
        problems = "\n".join(f"  - {_describe(err, raw)}" for err in exc.errors())
        raise ConfigError(f"{path}: invalid sources file\n{problems}") from None
    for index, credentials in sealed.items():
        if credentials and hasattr(config.sources[index], "sealed_credentials"):
            config.sources[index]._sealed = credentials
    return config


def _read_text(path: Path) -> str:
    """The file as UTF-8 (YAML's encoding), or a ConfigError saying where it is not and what to do."""
    try:
        data = path.read_bytes()
    except (IsADirectoryError, PermissionError) as exc:
        raise ConfigError(f"{path}: cannot read the sources file: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{path}: not UTF-8 at byte {exc.start} (line {line}, column {column}): {exc.reason} "
                          f"({data[exc.start:exc.end]!r}); save the file as UTF-8") from None


def _custom_licences(raw: dict) -> list[str]:
    """policy.licenses.custom as written, for the sources' licence validator (the policy itself validates it)."""
    policy = raw.get("policy")
    licences = policy.get("licenses") if isinstance(policy, dict) else None
    custom = licences.get("custom") if isinstance(licences, dict) else None
    return [entry for entry in custom if isinstance(entry, str)] if isinstance(custom, list) else []


def expand_environment(value, missing: set[str], sealed: dict[int, dict[str, str]] | None = None, where: tuple = ()):
    """`${NAME}` in string values replaced from the environment; names not set are added to `missing`.

    Why: one sources file can then serve several machines or a server on a port chosen at run time
    (the demo portal). Only values are expanded, after YAML parsing, so a variable never adds keys.
    Credentials are the exception (moisson.credentials): in a source's URL-valued fields (`url`, `paths`,
    `base_url`) a reference in the userinfo, path, query or fragment is kept as written, and a credential
    written literally there is sealed into `sealed[source index]`; `headers` values keep every reference.
    The HTTP layer expands them when it sends a request, so no string built from the file holds a secret.
    """
    if isinstance(value, dict):
        return {key: expand_environment(item, missing, sealed, (*where, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_environment(item, missing, sealed, (*where, index)) for index, item in enumerate(value)]
    if isinstance(value, str) and where[:1] == ("sources",) and len(where) in (3, 4):
        field = where[2] if len(where) == 3 else f"{where[2]}[]"
        if field == "headers[]":
            return check_references(value, os.environ, missing)
        if field in ("url", "base_url", "paths[]"):
            kept = keep_credential_references(value, os.environ, missing)
            if sealed is None or not is_url(kept):
                return kept
            return seal_literal_credentials(kept, sealed.setdefault(where[1], {}))
    if isinstance(value, str):
        def lookup(match: re.Match) -> str:
            if match[1] not in os.environ:
                missing.add(match[1])
                return match[0]
            return os.environ[match[1]]
        return ENV_REFERENCE.sub(lookup, value)
    return value
