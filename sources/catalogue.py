"""Catalogue records: the datasets and resources a portal describes, before any file is fetched.

Why a record of its own: the chain a data engineer must be able to follow is portal -> dataset ->
resource -> file -> licence. Catalogue records carry the first three links and the licence, and are
kept even when a dataset is deleted or withdrawn upstream (it is marked, not erased), so a corpus
row extracted from it last year can still be traced back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import pyarrow as pa

DATASET_SCHEMA = pa.schema([
    ("source", pa.string()), ("portal", pa.string()), ("dataset_id", pa.string()), ("name", pa.string()),
    ("title", pa.string()), ("description", pa.string()), ("publisher", pa.string()), ("language", pa.string()),
    ("created", pa.string()), ("modified", pa.string()), ("landing_page", pa.string()),
    ("license_raw", pa.string()), ("license", pa.string()), ("license_verdict", pa.string()),
    ("identifiers", pa.list_(pa.string())), ("deleted", pa.bool_()), ("harvested_at", pa.string()),
])
RESOURCE_SCHEMA = pa.schema([
    ("source", pa.string()), ("portal", pa.string()), ("dataset_id", pa.string()), ("resource_id", pa.string()),
    ("record_key", pa.string()), ("url", pa.string()), ("title", pa.string()), ("format", pa.string()),
    ("media_type", pa.string()), ("size", pa.int64()), ("checksum", pa.string()), ("modified", pa.string()),
    ("deleted", pa.bool_()),
])


@dataclass(frozen=True)
class Resource:
    resource_id: str
    url: str
    title: str | None = None
    format: str | None = None  # normalised: html, txt, xml, pdf, zip, tar, csv, ... or None when unknown
    media_type: str | None = None
    size: int | None = None
    checksum: str | None = None
    modified: str | None = None


@dataclass(frozen=True)
class Dataset:
    portal: str
    dataset_id: str
    title: str | None = None
    name: str | None = None
    description: str | None = None
    publisher: str | None = None
    language: str | None = None
    created: str | None = None
    modified: str | None = None
    landing_page: str | None = None
    license_raw: str | None = None
    license: str | None = None
    license_verdict: str = "reject"
    identifiers: tuple[str, ...] = ()
    deleted: bool = False
    resources: tuple[Resource, ...] = field(default_factory=tuple)

    def as_row(self) -> dict:
        row = asdict(self)
        row["resources"] = [asdict(r) for r in self.resources]
        row["identifiers"] = list(self.identifiers)
        return row

    @classmethod
    def from_row(cls, row: dict) -> "Dataset":
        resources = tuple(Resource(**r) for r in row.get("resources") or [])
        return cls(**{**row, "resources": resources, "identifiers": tuple(row.get("identifiers") or ())})


def record_key(dataset_id: str, resource_id: str, member: str | None = None) -> str:
    """The key a document from this resource (and archive member) carries; without a member, the `resources` table's
    join key, which a member's key extends with `!member`.

    Unambiguous, so one document has one lineage: `dataset/resource` as before when the dataset id holds no `/`
    and neither id holds `!` (CKAN and udata ids, OAI identifiers: the ids already published stay the same);
    otherwise `/` then each id length-prefixed (`/3:a/b1:c` for dataset `a/b`, resource `c`), which no key of
    the first form can equal, since those never start with `/`.
    """
    if dataset_id and "/" not in dataset_id and "!" not in dataset_id + resource_id:
        key = f"{dataset_id}/{resource_id}"
    else:
        key = f"/{len(dataset_id)}:{dataset_id}{len(resource_id)}:{resource_id}"
    return f"{key}!{member}" if member else key


def datasets_table(source: str, datasets: Iterable[Dataset], harvested_at: dict[str, str]) -> pa.Table:
    rows = []
    for d in datasets:
        row = {name: getattr(d, name, None) for name in DATASET_SCHEMA.names if name not in ("source", "harvested_at")}
        row.update(source=source, identifiers=list(d.identifiers), harvested_at=harvested_at.get(d.dataset_id))
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=DATASET_SCHEMA)


def resources_table(source: str, datasets: Iterable[Dataset]) -> pa.Table:
    rows = [
        {"source": source, "portal": d.portal, "dataset_id": d.dataset_id, "resource_id": r.resource_id,
         "record_key": record_key(d.dataset_id, r.resource_id), "url": r.url, "title": r.title, "format": r.format,
         "media_type": r.media_type, "size": r.size, "checksum": r.checksum, "modified": r.modified, "deleted": d.deleted}
        for d in datasets for r in d.resources
    ]
    return pa.Table.from_pylist(rows, schema=RESOURCE_SCHEMA)


FORMAT_ALIASES = {
    "htm": "html", "html": "html", "text/html": "html", "xhtml": "html", "application/xhtml+xml": "html",
    "txt": "txt", "text": "txt", "text/plain": "txt", "plain text": "txt",
    "xml": "xml", "text/xml": "xml", "application/xml": "xml",
    "pdf": "pdf", "application/pdf": "pdf",
    "zip": "zip", "application/zip": "zip", "application/x-zip-compressed": "zip",
    "tar": "tar", "application/x-tar": "tar", "tgz": "tar", "tar.gz": "tar", "application/gzip": "tar",
    "csv": "csv", "text/csv": "csv", "json": "json", "application/json": "json",
    "docx": "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "odt": "odt", "application/vnd.oasis.opendocument.text": "odt",
    "epub": "epub", "application/epub+zip": "epub",
}
EXTENSIONS = {".html": "html", ".htm": "html", ".txt": "txt", ".xml": "xml", ".pdf": "pdf", ".zip": "zip",
              ".tar": "tar", ".tgz": "tar", ".tar.gz": "tar", ".csv": "csv", ".json": "json",
              ".docx": "docx", ".odt": "odt", ".epub": "epub"}


def normalise_format(*hints: str | None) -> str | None:
    """A short format name from a catalogue's format field, media type or URL; None when nothing tells."""
    for hint in hints:
        if not hint:
            continue
        key = hint.strip().lower().split(";", 1)[0].strip().lstrip(".")
        if key in FORMAT_ALIASES:
            return FORMAT_ALIASES[key]
        path = key.split("?", 1)[0].split("#", 1)[0]
        for ext in sorted(EXTENSIONS, key=len, reverse=True):
            if path.endswith(ext) and "/" in path:
                return EXTENSIONS[ext]
    return None


MAX_BYTE_SIZE = (1 << 63) - 1  # the `size` column is int64


def text_field(row: dict, key: str, required: bool = False) -> str | None:
    """A field of a portal's JSON record as text (numbers written out); ValueError naming the field otherwise.

    Why strict: the JSON is untyped, and a dict where a title belongs would reach the string columns
    of the catalogue tables and fail the source's merge at every run (its page is stored already).
    Failing the one record names the field and keeps the others.
    """
    value = row.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if value is None and not required:
        return None
    raise ValueError(f"field {key!r} holds {'nothing' if value is None else 'a ' + type(value).__name__}, not text")


def row_id(row: object) -> str:
    """A record's id for an error message: short, and never the whole (perhaps hostile) value."""
    native = row.get("id") if isinstance(row, dict) else None
    return str(native)[:200] if isinstance(native, (str, int)) else "?"


def load_page_json(body: bytes) -> object:
    """A catalogue page's JSON; ValueError for bad JSON, bad UTF-8 or nesting too deep to read."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("malformed JSON: nested deeper than the JSON reader allows") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed JSON: {exc}") from None


def byte_size(value: object) -> int | None:
    """A declared file size in bytes, or None when it is not a number an int64 column can hold."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value) if not isinstance(value, int) else value
    except (ValueError, OverflowError):
        return None
    return int(number) if 0 <= number <= MAX_BYTE_SIZE else None


@dataclass
class Page:
    """One page of a catalogue harvest, as a connector yields it.

    `checkpoint` says how to ask for the page after this one (None: this was the last page);
    `stopped` says the harvest could not go on (the page itself failed): the driver keeps the
    previous checkpoint, so the next run retries exactly this page.
    """

    datasets: list[Dataset]
    failures: list = field(default_factory=list)  # ReadFailure
    checkpoint: dict | None = None
    newest: str | None = None  # newest modification date on the page, for the watermark
    stopped: bool = False
    abandoned: bool = False  # the harvest in progress cannot be resumed (expired token): restart from the watermark
