"""What a payload is, read from its own first bytes, with the declared media type as a tie-breaker.

Why bytes first: a server's Content-Type, a catalogue's format field and a file's name are all claims
made by someone else, and they are wrong often enough to matter (an HTML error page served as
`application/pdf`, a PDF served as `application/octet-stream`, a DOCX named `.zip`). Formats with a
signature (PDF, the zip-packaged office formats, images) are recognised by it whatever is declared;
XML is told apart by its root element (TEI, JATS, a MediaWiki dump, XHTML); only what has no signature
(HTML without a doctype, plain text) falls back on the declared type.

The kinds are the ones the extraction step reads: html, text, pdf, docx, odt, epub, tei, jats, image,
and `mediawiki` (a whole dump, split into pages by its connector before extraction). Anything else is
None: the connector counts it as skipped, never guesses.
"""

from __future__ import annotations

import io
import re
import zipfile

DOCUMENT_KINDS = ("html", "text", "pdf", "docx", "odt", "epub", "tei", "jats", "image", "wikitext")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
PDF_SIGNATURE_WINDOW = 1024  # the PDF reference lets `%PDF-` start anywhere in the first 1024 bytes
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
ODF_TEXT = b"application/vnd.oasis.opendocument.text"
EPUB = b"application/epub+zip"
XML_HEAD_BYTES = 4096
# the first element after the prolog (declaration, comments, processing instructions, doctype)
_PROLOG = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>\s*)*", re.S | re.I)
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
XML_ROOTS = {b"TEI": "tei", b"teiCorpus": "tei", b"article": "jats", b"mediawiki": "mediawiki", b"html": "html"}


def sniff_format(payload: bytes, media_type: str | None = None) -> str | None:
    """The payload's kind (see the module docstring), or None when it is none of them."""
    declared = (media_type or "").split(";", 1)[0].strip().lower()
    if b"%PDF-" in payload[:PDF_SIGNATURE_WINDOW]:
        return "pdf"
    if payload.startswith(IMAGE_SIGNATURES):
        return "image"
    if payload.startswith(b"PK\x03\x04"):
        return zip_document_kind(payload)
    if _looks_like_xml(payload):
        kind = xml_kind(payload)
        if kind is not None:
            return kind
    if declared in HTML_TYPES or _starts_like_html(payload):
        return "html"
    if declared in TEXT_TYPES:  # not any text/*: CSS, JavaScript and CSV are not prose
        return "text" if not _is_binary(payload) else None
    return None


def zip_document_kind(payload: bytes) -> str | None:
    """docx, odt or epub by what the package itself says (its `mimetype` member, its content types); None for
    any other zip (an archive of files, read as such by the archive reader)."""
    if payload[30:38] == b"mimetype":  # ODF and EPUB store their media type first and uncompressed
        declared = payload[38:38 + 64]
        if declared.startswith(ODF_TEXT):
            return "odt"
        if declared.startswith(EPUB):
            return "epub"
    try:
        names = set(zipfile.ZipFile(io.BytesIO(payload)).namelist())  # reads the central directory only
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" in names and any(name.startswith("word/") for name in names):
        return "docx"
    return None


def xml_kind(payload: bytes) -> str | None:
    """tei, jats, mediawiki or html by the root element's local name; None for other XML."""
    head = payload[:XML_HEAD_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    prolog = _PROLOG.match(head)
    root = _ROOT.match(head, prolog.end() if prolog else 0)
    if root is None:
        return None
    kind = XML_ROOTS.get(root.group(2))
    if kind == "jats" and b"<front" not in payload[:1 << 16] and b"JATS" not in head:
        return None  # `<article>` alone is too common a name to be taken for JATS
    return kind


def _looks_like_xml(payload: bytes) -> bool:
    return payload[:XML_HEAD_BYTES].lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").startswith(b"<")


def _starts_like_html(payload: bytes) -> bool:
    head = payload[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")) and b"<html" in payload[:4096].lower()


def _is_binary(payload: bytes) -> bool:
    """NUL bytes in the first kilobytes: no text encoding but UTF-16/32 has them, and those carry a BOM."""
    head = payload[:8192]
    return b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))
