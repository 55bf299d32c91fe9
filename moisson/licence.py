"""Licence evidence for a document, mapped to SPDX ids, decided fail-closed.

Why fail-closed: the corpus promises that every document in it may be redistributed under an open
licence. A wrong "yes" puts someone's work into a training set against their terms and cannot be
taken back once the corpus is published; a wrong "no" only loses one document. So every doubt
resolves to 'unknown', and 'unknown' is never on the allow list: no evidence, evidence we cannot
read, and evidence that contradicts itself all keep the document out.

Why this precedence: the page speaks for itself more precisely than anyone speaking about it.
  1. document evidence, strongest form first: `rel="license"` links (the markup Creative Commons
     hands out to licensors), JSON-LD `license`, licence `<meta>` tags, then plain links to a
     Creative Commons licence (weakest: a page may link to a licence without being under it);
  2. `record_license`, a licence field carried by the input record itself (a dump or JSONL line);
  3. `declared`, the source default the user asserts for a whole source.
Only the highest tier present decides, and within it every piece must map and agree; a record licence
that contradicts the document's own evidence is a conflict too (an archive saying CC BY about a PDF whose
metadata says CC BY-NC), not a tier the document outranks. When the page
carries licence evidence we cannot read, we do not fall back to the record or the source default:
the page says something about its terms, and asserting the default over it would be a guess.

Ported ("jurisdiction") Creative Commons licences are legally distinct from the unported ones, so
`/licenses/by/3.0/fr/` never maps to CC-BY-3.0: it maps to the SPDX id where SPDX defines one
(CC-BY-3.0-DE, ...) and otherwise to `LicenseRef-CC-BY-3.0-FR`, which no default allow list holds.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

import lxml.etree
import lxml.html

UNKNOWN = "unknown"
NO_EVIDENCE = "no licence evidence and no declared licence"

# Longest string to_spdx will read: no licence id, name or URL comes near it, and it bounds the work
# done on hostile input.
MAX_VALUE_CHARS = 2000
# Longest raw value quoted back in an evidence line or a rejection detail.
MAX_QUOTED_CHARS = 200

# ---------------------------------------------------------------------------------------------
# SPDX ids this module can return (canonical capitalisation, checked against SPDX list 3.28).
# ---------------------------------------------------------------------------------------------

CC_ELEMENT_SETS = ("BY", "BY-SA", "BY-ND", "BY-NC", "BY-NC-SA", "BY-NC-ND")
CC_UNPORTED_VERSIONS = ("1.0", "2.0", "2.5", "3.0", "4.0")
CC_VERSIONS = ("1.0", "2.0", "2.1", "2.5", "3.0", "4.0")  # 2.1 exists only as ports (jp, es, ...)
CC_UNPORTED_SPDX = tuple(f"CC-{elements}-{version}" for elements in CC_ELEMENT_SETS for version in CC_UNPORTED_VERSIONS)

# Every ported Creative Commons licence SPDX defines; other ports become LicenseRef-CC-...
CC_PORTED_SPDX = (
    "CC-BY-2.5-AU",
    "CC-BY-3.0-AT",
    "CC-BY-3.0-AU",
    "CC-BY-3.0-DE",
    "CC-BY-3.0-IGO",
    "CC-BY-3.0-NL",
    "CC-BY-3.0-US",
    "CC-BY-NC-3.0-DE",
    "CC-BY-NC-ND-3.0-DE",
    "CC-BY-NC-ND-3.0-IGO",
    "CC-BY-NC-SA-2.0-DE",
    "CC-BY-NC-SA-2.0-FR",
    "CC-BY-NC-SA-2.0-UK",
    "CC-BY-NC-SA-3.0-DE",
    "CC-BY-NC-SA-3.0-IGO",
    "CC-BY-ND-3.0-DE",
    "CC-BY-SA-2.0-UK",
    "CC-BY-SA-2.1-JP",
    "CC-BY-SA-3.0-AT",
    "CC-BY-SA-3.0-DE",
    "CC-BY-SA-3.0-IGO",
)

OTHER_SPDX = (
    # Creative Commons public domain tools, and the one SPDX-listed CC 1.0 licence without BY.
    "CC0-1.0",
    "CC-PDM-1.0",
    "CC-PDDC",
    "CC-SA-1.0",
    # Open data licences.
    "etalab-2.0",
    "ODbL-1.0",
    "ODC-By-1.0",
    "PDDL-1.0",
    "OGL-UK-1.0",
    "OGL-UK-2.0",
    "OGL-UK-3.0",
    "OGL-Canada-2.0",
    "DL-DE-BY-2.0",
    "DL-DE-ZERO-2.0",
    "NLOD-1.0",
    "NLOD-2.0",
    "CDLA-Permissive-1.0",
    "CDLA-Permissive-2.0",
    "CDLA-Sharing-1.0",
    # Documentation.
    "GFDL-1.1-only",
    "GFDL-1.1-or-later",
    "GFDL-1.2-only",
    "GFDL-1.2-or-later",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GFDL-1.1-invariants-only",
    "GFDL-1.1-invariants-or-later",
    "GFDL-1.1-no-invariants-only",
    "GFDL-1.1-no-invariants-or-later",
    "GFDL-1.2-invariants-only",
    "GFDL-1.2-invariants-or-later",
    "GFDL-1.2-no-invariants-only",
    "GFDL-1.2-no-invariants-or-later",
    "GFDL-1.3-invariants-only",
    "GFDL-1.3-invariants-or-later",
    "GFDL-1.3-no-invariants-only",
    "GFDL-1.3-no-invariants-or-later",
    # Common software licences (text found in code documentation and READMEs).
    "MIT",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "MPL-2.0",
    "Unlicense",
    "0BSD",
)

SPDX_IDS = frozenset(CC_UNPORTED_SPDX + CC_PORTED_SPDX + OTHER_SPDX)

# Deprecated SPDX ids, read the way SPDX defines them.
DEPRECATED_SPDX = {
    "GFDL-1.1": "GFDL-1.1-only",
    "GFDL-1.2": "GFDL-1.2-only",
    "GFDL-1.3": "GFDL-1.3-only",
}

ETALAB_1 = "LicenseRef-etalab-1.0"  # Licence Ouverte 1.0 (2011) is not in the SPDX list.

# Identifiers from data portals that are neither SPDX ids nor names (data.gouv.fr ids), as _key() spells them.
PORTAL_ALIASES = {
    "lov2": "etalab-2.0",
    "fr lo": ETALAB_1,
}

# ---------------------------------------------------------------------------------------------
# Names. Patterns apply to the normalised key (see _key): lower case, no accents, every run of
# punctuation and spaces turned into one space, dots and '+' kept ("CC-BY-SA 3.0" -> "cc by sa 3.0").
# ---------------------------------------------------------------------------------------------

_V = r"(?:version |v ?)?"  # optional "version " / "v" before a version number
_LICENCE = r"licen[cs]e"
_LO = rf"(?:etalab )?licence ouverte(?: open {_LICENCE})?(?: (?:d )?etalab)?"
_FDL = rf"(?:gfdl|gnu fdl|(?:gnu )?free documentation {_LICENCE})"

NAME_PATTERNS: tuple[tuple[str, str], ...] = (
    (rf"(?:creative commons )?(?:cc0|cc zero)(?: {_V}1\.0)?(?: universal)?(?: public domain dedication)?(?: {_LICENCE})?", "CC0-1.0"),
    (rf"creative commons zero(?: {_V}1\.0)?(?: universal)?(?: public domain dedication)?(?: {_LICENCE})?", "CC0-1.0"),
    (rf"(?:creative commons |cc )?(?:public domain mark|pdm)(?: {_V}1\.0)?", "CC-PDM-1.0"),
    (rf"{_LO}(?: {_V}2(?:\.0)?)?(?: etalab)?", "etalab-2.0"),
    (rf"{_LO} {_V}1(?:\.0)?(?: etalab)?", ETALAB_1),
    (rf"etalab(?: open {_LICENCE})? {_V}2(?:\.0)?", "etalab-2.0"),
    (rf"etalab(?: open {_LICENCE})? {_V}1(?:\.0)?", ETALAB_1),
    (rf"(?:open data commons )?(?:open database {_LICENCE}|(?:odc )?odbl)(?: odbl)?(?: {_V}1\.0)?", "ODbL-1.0"),
    (rf"(?:open data commons attribution {_LICENCE}|odc by|odc attribution)(?: {_V}1\.0)?", "ODC-By-1.0"),
    (rf"(?:open data commons public domain dedication and {_LICENCE}|(?:odc )?pddl)(?: {_V}1\.0)?", "PDDL-1.0"),
    (rf"(?:uk )?(?:open government {_LICENCE}|ogl)(?: uk)?(?: for public sector information)? {_V}(?P<v>[123])(?:\.0)?", "OGL-UK-{v}.0"),
    (_FDL, "GFDL-1.3-or-later"),
    (rf"{_FDL} {_V}(?P<v>1\.[123])(?: or (?:any )?later(?: version)?|\+)", "GFDL-{v}-or-later"),
    (rf"{_FDL} {_V}(?P<v>1\.[123])(?: only)?", "GFDL-{v}-only"),
    (rf"(?:the )?(?:mit|expat)(?: {_LICENCE})?", "MIT"),
    (rf"(?:the )?apache(?: software)?(?: {_LICENCE})? ?{_V}2(?:\.0)?", "Apache-2.0"),
)
_NAME_PATTERNS = tuple((re.compile(pattern), spdx) for pattern, spdx in NAME_PATTERNS)

# Creative Commons names ("CC BY-NC-SA 4.0", "Creative Commons Attribution-ShareAlike 3.0 Unported").
CC_NAME_PHRASES = (
    ("non commercial", "noncommercial"),
    ("no derivative works", "noderivatives"),
    ("no derivatives", "noderivatives"),
    ("no derivs", "noderivatives"),
    ("share alike", "sharealike"),
)
CC_NAME_ELEMENTS = {
    "by": "BY",
    "attribution": "BY",
    "nc": "NC",
    "noncommercial": "NC",
    "nd": "ND",
    "noderivatives": "ND",
    "noderivs": "ND",
    "sa": "SA",
    "sharealike": "SA",
}
CC_NAME_UNPORTED = frozenset({"", "international", "unported", "generic"})
CC_NAME_TRAILING = frozenset({"license", "licence", "public", "deed", "legal", "code", "legalcode"})
CC_JURISDICTION_NAMES = {
    "australia": "au",
    "austria": "at",
    "belgium": "be",
    "brazil": "br",
    "canada": "ca",
    "england and wales": "uk",
    "england wales": "uk",
    "france": "fr",
    "germany": "de",
    "italy": "it",
    "japan": "jp",
    "luxembourg": "lu",
    "netherlands": "nl",
    "new zealand": "nz",
    "poland": "pl",
    "portugal": "pt",
    "scotland": "scotland",
    "spain": "es",
    "switzerland": "ch",
    "united states": "us",
}
_CC_JURISDICTION = re.compile(r"[a-z]{2}|igo|scotland")
_CC_NAME_VERSION = re.compile(r"v?(?P<major>[1-4])(?:\.(?P<minor>\d))?")

# ---------------------------------------------------------------------------------------------
# URLs, by host (without "www."), then by lower-cased path segments.
# ---------------------------------------------------------------------------------------------

# Path element of a creativecommons.org/licenses/ URL. 1.0 had licences without BY, and spelt
# BY-NC-ND "by-nd-nc".
CC_URL_ELEMENTS = {
    "by": "BY",
    "by-sa": "BY-SA",
    "by-nd": "BY-ND",
    "by-nc": "BY-NC",
    "by-nc-sa": "BY-NC-SA",
    "by-nc-nd": "BY-NC-ND",
    "by-nd-nc": "BY-NC-ND",
    "sa": "SA",
    "nd": "ND",
    "nc": "NC",
    "nd-nc": "NC-ND",
    "nc-nd": "NC-ND",
    "nc-sa": "NC-SA",
}
CC_PUBLIC_DOMAIN_TOOLS = {("zero", "1.0"): "CC0-1.0", ("mark", "1.0"): "CC-PDM-1.0"}
# Last segment of a licence URL that names a rendering, not a licence: deed.fr, legalcode.de, rdf.
_CC_URL_SUFFIX = re.compile(r"(?:deed|legalcode)(?:\.[a-z0-9_@-]+)*|rdf|index\.html?")

ETALAB_PAGES = {
    ("licence-ouverte-open-licence",): "etalab-2.0",
    ("pages", "licence_ouverte_open_licence-5899923.html"): ETALAB_1,  # the 2011 page (Licence Ouverte 1.0)
}
ETALAB_PDFS = {
    "etalab-licence-ouverte-v2.0.pdf": "etalab-2.0",
    "etalab-open-licence-v2.0.pdf": "etalab-2.0",
    "licence_ouverte.pdf": ETALAB_1,
    "open_licence.pdf": ETALAB_1,
}
ODC_LICENCES = {"odbl": "ODbL-1.0", "by": "ODC-By-1.0", "pddl": "PDDL-1.0"}
ODC_TRAILERS = ((), ("1-0",), ("1.0",), ("summary",), ("1-0", "summary"), ("1.0", "summary"), ("index.html",))
OGL_VERSIONS = {"1": "OGL-UK-1.0", "2": "OGL-UK-2.0", "3": "OGL-UK-3.0"}
GNU_FDL_PAGES = {
    "fdl": "GFDL-1.3-or-later",  # the current-version page, like the bare name 'GFDL'
    "fdl-1.3": "GFDL-1.3-only",
    "fdl-1.2": "GFDL-1.2-only",
    "fdl-1.1": "GFDL-1.1-only",
}
OSI_SLUGS = {"mit": "MIT", "mit-license": "MIT", "apache-2-0": "Apache-2.0", "apache2.0": "Apache-2.0"}
APACHE_PAGES = frozenset({"license-2.0", "license-2.0.html", "license-2.0.txt"})

_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?//(?P<host>[^/?#\s]*)(?P<path>[^?#\s]*)")
_BARE_HOST_URL = re.compile(r"(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/")
_LICENSE_REF = re.compile(r"licenseref-[a-z0-9.-]+", re.IGNORECASE)
_PARENTHESIS = re.compile(r"\(([^()]*)\)")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_WRAPPING = " \t\r\n\"'<>\u201c\u201d\u2018\u2019\u00ab\u00bb"

# ---------------------------------------------------------------------------------------------
# HTML evidence.
# ---------------------------------------------------------------------------------------------

# "metadata": the licence a document file states in its own metadata (PDF XMP rights, TEI availability, JATS
# license, office document properties), the file's own word like a page's rel="license"
DOCUMENT_TIERS = ("metadata", "rel-license", "json-ld", "meta", "cc-link")
TIERS = DOCUMENT_TIERS + ("record", "declared")
TIER_LABELS = {
    "metadata": "document metadata",
    "rel-license": "rel-license",
    "json-ld": "json-ld",
    "meta": "meta",
    "cc-link": "cc-link",
    "record": "record license",
    "declared": "declared by source",
}
LICENCE_REL_TOKENS = frozenset({"license", "cc:license"})
# <meta name|property> that carry a licence: Dublin Core (both the HTML "." and the RDFa ":" spelling).
LICENCE_META_NAMES = frozenset(
    {"license", "dc.rights", "dc:rights", "dcterms.license", "dcterms:license", "dcterms.rights", "dcterms:rights"}
)
JSON_LD_LICENCE_KEYS = frozenset({"license", "schema:license", "http://schema.org/license", "https://schema.org/license"})
JSON_LD_REFERENCE_KEYS = ("url", "@id", "name")


@dataclass(frozen=True)
class Evidence:
    kind: str  # 'rel-license' | 'json-ld' | 'meta' | 'cc-link' | 'declared' (source default) | 'record' (input record field)
    value: str  # the raw href/content/text found
    spdx: str | None  # mapped id, None when unrecognised


@dataclass(frozen=True)
class LicenceDecision:
    license: str  # SPDX id, or 'unknown'
    evidence: str  # one human-readable line naming what decided
    allowed: bool
    detail: str | None  # why rejected; None when allowed


# ---------------------------------------------------------------------------------------------
# to_spdx
# ---------------------------------------------------------------------------------------------


def to_spdx(value: str) -> str | None:
    """The SPDX id (or LicenseRef-) for a licence URL, id or name; None when not recognised. Never raises."""
    if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
        return None
    text = _clean(value)
    if not text:
        return None
    if _LICENSE_REF.fullmatch(text):
        return "LicenseRef-" + text[len("LicenseRef-") :]
    whole = _from_plain(text)
    if whole is not None or "(" not in text:
        return whole
    return _from_parenthesised(text)


def _clean(value: str) -> str:
    return unicodedata.normalize("NFKC", value).translate(_DASHES).strip(_WRAPPING)


def _from_parenthesised(text: str) -> str | None:
    """'Creative Commons Attribution 4.0 International (CC BY 4.0)': every part must map, to one id."""
    parts = [_PARENTHESIS.sub(" ", text), *_PARENTHESIS.findall(text)]
    found = {_from_plain(part.strip(_WRAPPING)) for part in parts if part.strip(_WRAPPING)}
    if len(found) == 1 and None not in found:
        return found.pop()
    return None


def _from_plain(text: str) -> str | None:
    lowered = text.lower()
    if _URL.match(lowered) or _BARE_HOST_URL.match(lowered):
        return _from_url(lowered)
    return _from_name(_key(text))


def _key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"(?:[^\w.+\u00a9]|_)+", " ", plain).strip(" .")


def _from_name(key: str) -> str | None:
    if not key:
        return None
    known = _SPDX_BY_KEY.get(key)
    if known is not None:
        return known
    for pattern, spdx in _NAME_PATTERNS:
        match = pattern.fullmatch(key)
        if match:
            return spdx.format(**match.groupdict())
    return _cc_from_name(key)


def _cc_from_name(key: str) -> str | None:
    for phrase, word in CC_NAME_PHRASES:
        key = key.replace(phrase, word)
    words = key.split()
    if words[:2] == ["creative", "commons"]:
        words = words[2:]
    elif words[:1] == ["cc"]:
        words = words[1:]
    elif words[:1] != ["attribution"]:  # the deed title: "Attribution-ShareAlike 4.0 International"
        return None
    elements = []
    while words and words[0] in CC_NAME_ELEMENTS:
        elements.append(CC_NAME_ELEMENTS[words.pop(0)])
    if words[:1] == ["version"]:
        words.pop(0)
    version = _CC_NAME_VERSION.fullmatch(words.pop(0)) if words else None
    if version is None:
        return None
    while words and words[-1] in CC_NAME_TRAILING:
        words.pop()
    rest = " ".join(words)
    if rest in CC_NAME_UNPORTED:
        jurisdiction = None
    else:
        jurisdiction = CC_JURISDICTION_NAMES.get(rest, rest)
    return _cc_id(_cc_elements(elements), f"{version['major']}.{version['minor'] or '0'}", jurisdiction)


def _cc_elements(elements: list[str]) -> str | None:
    """Canonical element string in SPDX order (BY, NC, ND, SA), or None for an impossible combination."""
    chosen = set(elements)
    if not chosen or len(chosen) != len(elements) or {"ND", "SA"} <= chosen:
        return None
    return "-".join(element for element in ("BY", "NC", "ND", "SA") if element in chosen)


def _cc_id(elements: str | None, version: str, jurisdiction: str | None) -> str | None:
    if elements is None or version not in CC_VERSIONS:
        return None
    if not elements.startswith("BY") and version != "1.0":  # only 1.0 had licences without BY
        return None
    if jurisdiction is None:
        candidate = f"CC-{elements}-{version}"
        if candidate in SPDX_IDS:
            return candidate
        return f"LicenseRef-{candidate}" if version == "1.0" else None  # 2.1 was never unported
    if version == "4.0" or not _CC_JURISDICTION.fullmatch(jurisdiction):  # 4.0 has no ports
        return None
    candidate = f"CC-{elements}-{version}-{jurisdiction.upper()}"
    return candidate if candidate in SPDX_IDS else f"LicenseRef-{candidate}"


def _split_url(lowered: str) -> tuple[str, list[str]] | None:
    match = _URL.match(lowered) or _URL.match("//" + lowered)
    if match is None:
        return None
    host = match["host"].rpartition("@")[2].partition(":")[0].rstrip(".")
    host = host.removeprefix("www.")
    return host, [segment for segment in match["path"].split("/") if segment]


def _from_url(lowered: str) -> str | None:
    parts = _split_url(lowered)
    if parts is None:
        return None
    host, segments = parts
    parser = _URL_PARSERS.get(host)
    return parser(segments) if parser else None


def _creativecommons_url(segments: list[str]) -> str | None:
    if segments[:1] == ["publicdomain"]:
        tool, trailer = tuple(segments[1:3]), segments[3:]
        return CC_PUBLIC_DOMAIN_TOOLS.get(tool) if _is_cc_rendering(trailer) else None
    if segments[:1] != ["licenses"] or len(segments) < 2:
        return None
    if segments[1] == "publicdomain":
        return "CC-PDDC" if _is_cc_rendering(segments[2:]) else None
    if len(segments) < 3:
        return None
    elements, version, trailer = CC_URL_ELEMENTS.get(segments[1]), segments[2], segments[3:]
    jurisdiction = None
    if trailer and not _CC_URL_SUFFIX.fullmatch(trailer[0]):
        jurisdiction, trailer = trailer[0], trailer[1:]
    if not _is_cc_rendering(trailer):
        return None
    return _cc_id(elements, version, jurisdiction)


def _is_cc_rendering(trailer: list[str]) -> bool:
    return not trailer or (len(trailer) == 1 and _CC_URL_SUFFIX.fullmatch(trailer[0]) is not None)


def _etalab_url(segments: list[str]) -> str | None:
    page = ETALAB_PAGES.get(tuple(segments))
    if page is not None:
        return page
    if segments[:2] == ["wp-content", "uploads"]:
        return ETALAB_PDFS.get(segments[-1])
    return None


def _opendatacommons_url(segments: list[str]) -> str | None:
    if len(segments) < 2 or segments[0] != "licenses" or tuple(segments[2:]) not in ODC_TRAILERS:
        return None
    return ODC_LICENCES.get(segments[1])


def _nationalarchives_url(segments: list[str]) -> str | None:
    if len(segments) == 4 and segments[:3] == ["doc", "open-government-licence", "version"]:
        return OGL_VERSIONS.get(segments[3])
    return None


def _gnu_url(segments: list[str]) -> str | None:
    if segments[:-1] not in (["licenses"], ["licenses", "old-licenses"], ["copyleft"]):
        return None
    page = re.sub(r"\.(?:html|txt|en\.html)$", "", segments[-1])
    return GNU_FDL_PAGES.get(page)


def _opensource_url(segments: list[str]) -> str | None:
    if len(segments) != 2 or segments[0] not in ("licenses", "license"):
        return None
    slug = re.sub(r"\.(?:php|html)$", "", segments[1])
    return OSI_SLUGS.get(slug) or _SPDX_BY_KEY.get(_key(slug))


def _apache_url(segments: list[str]) -> str | None:
    return "Apache-2.0" if len(segments) == 2 and segments[0] == "licenses" and segments[1] in APACHE_PAGES else None


def _spdx_url(segments: list[str]) -> str | None:
    if len(segments) != 2 or segments[0] != "licenses":
        return None
    return _SPDX_BY_KEY.get(_key(re.sub(r"\.(?:html|json)$", "", segments[1])))


_URL_PARSERS = {
    "creativecommons.org": _creativecommons_url,
    "etalab.gouv.fr": _etalab_url,
    "opendatacommons.org": _opendatacommons_url,
    "nationalarchives.gov.uk": _nationalarchives_url,
    "gnu.org": _gnu_url,
    "opensource.org": _opensource_url,
    "apache.org": _apache_url,
    "spdx.org": _spdx_url,
}


def _spdx_by_key() -> dict[str, str]:
    table: dict[str, str] = {}
    for spdx in sorted(SPDX_IDS):
        table[_key(spdx)] = spdx
    for deprecated, spdx in DEPRECATED_SPDX.items():
        table[_key(deprecated)] = spdx
    table.update(PORTAL_ALIASES)
    return table


_SPDX_BY_KEY = _spdx_by_key()
_CANONICAL_BY_LOWER = {spdx.lower(): spdx for spdx in SPDX_IDS}  # completed by the SPDX list below

# ---------------------------------------------------------------------------------------------
# evidence_from_html
# ---------------------------------------------------------------------------------------------


EVIDENCE_CANDIDATES = lxml.etree.XPath(  # the HTML parser lower-cases tag and attribute names
    "//a[@rel or @itemprop or contains(@href, 'creativecommons.org') or contains(@href, 'CREATIVECOMMONS.ORG')]"
    " | //link[@rel or @itemprop] | //meta | //script[@type]"
)


def evidence_from_html(tree: lxml.html.HtmlElement) -> list[Evidence]:
    """Every piece of licence evidence in the page, in document order. Malformed JSON-LD is skipped."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    found: list[Evidence] = []
    # only the elements that can carry evidence, in document order: a page has hundreds of plain links
    for element in EVIDENCE_CANDIDATES(root):
        if not isinstance(element.tag, str):  # comments, processing instructions
            continue
        tag = element.tag.rpartition("}")[2].lower()
        if tag in ("a", "link"):
            found.extend(_link_evidence(element, tag))
        if tag in ("meta", "link", "a"):
            found.extend(_meta_evidence(element, tag))
        if tag == "script":
            found.extend(_json_ld_evidence(element))
    return found


def _link_evidence(element: lxml.html.HtmlElement, tag: str) -> list[Evidence]:
    href = (element.get("href") or "").strip()
    rel_tokens = set((element.get("rel") or "").lower().split())
    if rel_tokens & LICENCE_REL_TOKENS:
        text = " ".join(element.text_content().split()) if tag == "a" else ""
        return _rel_license_evidence(href, text)
    if tag == "a" and _is_cc_licence_link(href):
        return [Evidence("cc-link", href, to_spdx(href))]
    return []


def _rel_license_evidence(href: str, text: str) -> list[Evidence]:
    """The href is read first; the link text counts when the href is unreadable or says something else."""
    candidates = [(value, to_spdx(value)) for value in (href, text) if value]
    mapped = [(value, spdx) for value, spdx in candidates if spdx is not None]
    if not mapped:
        return [Evidence("rel-license", candidates[0][0], None)] if candidates else []
    distinct: dict[str, str] = {}
    for value, spdx in mapped:
        distinct.setdefault(spdx, value)
    return [Evidence("rel-license", value, spdx) for spdx, value in distinct.items()]


def _is_cc_licence_link(href: str) -> bool:
    parts = _split_url(href.lower()) if href else None
    if parts is None:
        return False
    host, segments = parts
    return host == "creativecommons.org" and len(segments) >= 2 and segments[0] in ("licenses", "publicdomain")


def _meta_evidence(element: lxml.html.HtmlElement, tag: str) -> list[Evidence]:
    names = {(element.get(attribute) or "").strip().lower() for attribute in ("name", "property")}
    itemprops = set((element.get("itemprop") or "").lower().split())
    is_meta_licence = tag == "meta" and bool(names & LICENCE_META_NAMES)
    if not (is_meta_licence or "license" in itemprops):  # schema.org microdata is metadata too
        return []
    value = (element.get("content") or element.get("href") or "").strip()
    return [Evidence("meta", value, to_spdx(value))] if value else []


def _json_ld_evidence(element: lxml.html.HtmlElement) -> list[Evidence]:
    script_type = (element.get("type") or "").split(";")[0].strip().lower()
    if script_type != "application/ld+json" or not element.text:
        return []
    try:
        data = json.loads(element.text)
    except (ValueError, RecursionError):
        return []
    return [Evidence("json-ld", value.strip(), to_spdx(value)) for value in _json_ld_licences(data) if value.strip()]


def _json_ld_licences(data: object) -> list[str]:
    """Values of every `license` key, however deep (lists, @graph, nested objects), in document order.

    Iterative, so a deeply nested document that json.loads accepted cannot exhaust the stack here.
    """
    found: list[str] = []
    stack: list[tuple[object, bool]] = [(data, False)]
    while stack:
        node, is_licence = stack.pop()
        if isinstance(node, str):
            if is_licence:
                found.append(node)
        elif isinstance(node, list):
            stack.extend((item, is_licence) for item in reversed(node))
        elif isinstance(node, dict):
            reference = _json_ld_reference(node) if is_licence else None
            if reference is not None:
                found.append(reference)
            else:
                stack.extend((value, key in JSON_LD_LICENCE_KEYS) for key, value in reversed(node.items()))
    return found


def _json_ld_reference(node: dict[str, object]) -> str | None:
    """A licence given as an object ({"@id": ...}, {"url": ...}, {"name": ...})."""
    for key in JSON_LD_REFERENCE_KEYS:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


# ---------------------------------------------------------------------------------------------
# decide_licence
# ---------------------------------------------------------------------------------------------


def decide_licence(
    evidence: list[Evidence], record_license: str | None, declared: str | None, allow: Collection[str]
) -> LicenceDecision:
    """Decide one document's licence from the highest tier of evidence present; fail-closed."""
    pieces = list(evidence)
    strange = sorted({piece.kind for piece in pieces} - set(TIERS))
    if strange:
        raise ValueError(f"unknown evidence kind(s): {', '.join(strange)}")
    for kind, value in (("record", record_license), ("declared", declared)):
        if value is not None and value.strip():
            pieces.append(Evidence(kind, value.strip(), asserted_spdx(value)))
    for tier in TIERS:
        in_tier = [piece for piece in pieces if piece.kind == tier]
        if in_tier:
            return _cross_checked(_decide_tier(in_tier, allow), tier, pieces)
    return LicenceDecision(UNKNOWN, "none", False, NO_EVIDENCE)


def _cross_checked(decision: LicenceDecision, tier: str, pieces: list[Evidence]) -> LicenceDecision:
    """A document's own evidence decides, but it must not contradict the licence its record carries (an archive's
    or a catalogue's statement about this very file): two parties disagreeing about one file is a doubt, and
    a doubt keeps it out."""
    record = next((piece for piece in pieces if piece.kind == "record"), None)
    if tier not in DOCUMENT_TIERS or record is None or record.spdx is None or decision.license == UNKNOWN:
        return decision
    if _canonical(record.spdx).lower() == decision.license.lower():
        return LicenceDecision(decision.license, f"{decision.evidence}; {_describe(record)}", decision.allowed,
                               decision.detail)
    return LicenceDecision(UNKNOWN, f"{decision.evidence}; {_describe(record)}", False,
                           f"conflicting evidence: the document says {decision.license}, its record {_canonical(record.spdx)}")


def _decide_tier(pieces: list[Evidence], allow: Collection[str]) -> LicenceDecision:
    line = "; ".join(dict.fromkeys(_describe(piece) for piece in pieces))
    unreadable = [piece for piece in pieces if piece.spdx is None]
    if unreadable:
        return LicenceDecision(UNKNOWN, line, False, f"unrecognised licence '{_quote(unreadable[0].value)}'")
    ids = list(dict.fromkeys(_canonical(piece.spdx) for piece in pieces if piece.spdx is not None))
    if len(ids) > 1:
        return LicenceDecision(UNKNOWN, line, False, "conflicting evidence: " + " vs ".join(ids))
    licence = ids[0]
    if licence.lower() not in {allowed.strip().lower() for allowed in allow}:
        return LicenceDecision(licence, line, False, f"{licence} is not on the allow list")
    return LicenceDecision(licence, line, True, None)


def _describe(piece: Evidence) -> str:
    label, value = TIER_LABELS[piece.kind], _quote(piece.value)
    if piece.spdx is None:
        return f"{label}: {value} -> unrecognised"
    if value == piece.spdx:
        return f"{label}: {value}"
    return f"{label}: {value} -> {piece.spdx}"


def _canonical(spdx: str) -> str:
    return _CANONICAL_BY_LOWER.get(spdx.lower(), spdx)


def _quote(value: str) -> str:
    """A raw value on one line and of bounded length, for evidence lines and details."""
    flat = " ".join(value.split())
    return flat if len(flat) <= MAX_QUOTED_CHARS else flat[: MAX_QUOTED_CHARS - 1] + "\u2026"



# ---------------------------------------------------------------------------------------------
# Portal licences: the ids, titles and URLs catalogues use, with a verdict per licence.
#
# Why apart from to_spdx: portal ids such as "cc-by" (no version) or "other-open" name a family
# or a promise, not a licence text. to_spdx rightly refuses "CC BY" found in a web page; a
# catalogue that says "cc-by" says the same thing, so it maps to a LicenseRef- that no default
# allow list holds, with the verdict "review": a human decides, the policy can then allow it.
# Verdicts: allow (an open licence), review (probably open, needs a decision), reject (not open).
# ---------------------------------------------------------------------------------------------

ALLOW, REVIEW, REJECT = "allow", "review", "reject"
VERDICTS = (ALLOW, REVIEW, REJECT)

# data.gouv.fr (udata) register ids and CKAN's default licence ids, lower case.
PORTAL_LICENCE_IDS: dict[str, str | None] = {
    "lov2": "etalab-2.0",
    "fr-lo": ETALAB_1,
    "cc-zero": "CC0-1.0",
    "cc0": "CC0-1.0",
    "odc-by": "ODC-By-1.0",
    "odc-odbl": "ODbL-1.0",
    "odc-pddl": "PDDL-1.0",
    "cc-by": "LicenseRef-CC-BY-unversioned",
    "cc-by-sa": "LicenseRef-CC-BY-SA-unversioned",
    "cc-nc": "LicenseRef-CC-BY-NC-unversioned",
    "uk-ogl": "LicenseRef-OGL-UK-unversioned",
    "gfdl": "GFDL-1.3-or-later",
    "other-open": "LicenseRef-other-open",
    "other-pd": "LicenseRef-other-pd",
    "other-at": "LicenseRef-other-at",
    "other-nc": "LicenseRef-other-nc",
    "other-closed": "LicenseRef-other-closed",
    "notspecified": None,
    "not-specified": None,
}
# opendefinition.org/licenses/<id> is how CKAN and udata link their default ids.
OPENDEFINITION_HOSTS = frozenset({"opendefinition.org", "www.opendefinition.org"})
# EU Publications Office licence authority table: http://publications.europa.eu/resource/authority/licence/<CODE>
EU_LICENCE_PATH = "/resource/authority/licence/"
_EU_CC = re.compile(r"CC_(BY(?:SA|NC|ND|NCSA|NCND)?)_(\d)_(\d)")
EU_CC_ELEMENTS = {"BY": "BY", "BYSA": "BY-SA", "BYNC": "BY-NC", "BYND": "BY-ND", "BYNCSA": "BY-NC-SA", "BYNCND": "BY-NC-ND"}
EU_LICENCE_CODES = {
    "CC0": "CC0-1.0", "CC0_1_0": "CC0-1.0", "PDM": "CC-PDM-1.0",
    "ODC_BY": "ODC-By-1.0", "ODC_BL": "ODbL-1.0", "ODC_ODBL": "ODbL-1.0", "ODC_PDDL": "PDDL-1.0",
    "OGL_3_0": "OGL-UK-3.0", "ETALAB_2_0": "etalab-2.0", "LO_2_0": "etalab-2.0",
    "APACHE_2_0": "Apache-2.0", "MIT": "MIT", "GFDL_1_3": "GFDL-1.3-only",
    "COM_REUSE": "LicenseRef-EU-COM-REUSE",
}
# Values in licence fields that speak of access, not of a licence (OAI-PMH dc:rights): not evidence.
ACCESS_STATUS_PREFIX = "info:eu-repo/semantics/"
# Verdicts of ids that are not plainly open; every other mapped id is open ('allow').
LICENCE_VERDICTS = {
    "LicenseRef-CC-BY-unversioned": REVIEW,
    "LicenseRef-CC-BY-SA-unversioned": REVIEW,
    "LicenseRef-OGL-UK-unversioned": REVIEW,
    "LicenseRef-other-open": REVIEW,
    "LicenseRef-other-pd": REVIEW,
    "LicenseRef-other-at": REVIEW,
    "LicenseRef-EU-COM-REUSE": REVIEW,
    "LicenseRef-CC-BY-NC-unversioned": REJECT,
    "LicenseRef-other-nc": REJECT,
    "LicenseRef-other-closed": REJECT,
}


@dataclass(frozen=True)
class PortalLicence:
    raw: str | None  # the value the catalogue gave, as given (the first that maps, else the first)
    spdx: str | None  # SPDX id or LicenseRef-, None when unknown
    verdict: str  # allow | review | reject


def portal_licence_id(value: str) -> str | None:
    """SPDX id (or LicenseRef-) for one catalogue licence id, title or URL; None when unknown. Never raises."""
    if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
        return None
    text = _clean(value)
    lowered = text.lower()
    if lowered in PORTAL_LICENCE_IDS:
        return PORTAL_LICENCE_IDS[lowered]
    parts = _split_url(lowered) if (_URL.match(lowered) or _BARE_HOST_URL.match(lowered)) else None
    if parts is not None and parts[0] in {h.removeprefix("www.") for h in OPENDEFINITION_HOSTS}:
        host, segments = parts
        if len(segments) >= 2 and segments[0] == "licenses":
            return PORTAL_LICENCE_IDS.get(segments[1], to_spdx(segments[1]))
    if EU_LICENCE_PATH in lowered:
        return _eu_licence(text.rstrip("/").rsplit("/", 1)[-1].upper())
    return to_spdx(text)


def _eu_licence(code: str) -> str | None:
    match = _EU_CC.fullmatch(code)
    if match:
        return _cc_id(EU_CC_ELEMENTS[match[1]], f"{match[2]}.{match[3]}", None)
    return EU_LICENCE_CODES.get(code)


def portal_licence(values: list[str | None], allow: Collection[str] = (),
                   overrides: dict[str, str] | None = None) -> PortalLicence:
    """One licence for a catalogue record from every value it gives (id, title, URL, dc:rights...).

    Access statements (info:eu-repo/semantics/openAccess) are not licences and are ignored. Values
    that map must agree; if they do not, the record's licence is unknown (fail-closed).
    """
    given = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    licences = [v for v in given if not v.lower().startswith(ACCESS_STATUS_PREFIX)]
    mapped = {v: portal_licence_id(v) for v in licences}
    ids = list(dict.fromkeys(_canonical(s) for s in mapped.values() if s))
    raw = next((v for v in licences if mapped[v]), licences[0] if licences else (given[0] if given else None))
    spdx = ids[0] if len(ids) == 1 else None
    return PortalLicence(raw, spdx, licence_verdict(spdx, allow, overrides))


def licence_verdict(spdx: str | None, allow: Collection[str] = (), overrides: dict[str, str] | None = None) -> str:
    """allow / review / reject for a licence: the policy's allow list and overrides first, then the table."""
    if spdx is None:
        return REJECT
    if spdx.lower() in {a.strip().lower() for a in allow}:
        return ALLOW
    for key, verdict in (overrides or {}).items():
        if key.lower() == spdx.lower():
            return verdict
    if spdx in LICENCE_VERDICTS:
        return LICENCE_VERDICTS[spdx]
    if "-NC" in spdx or "-ND" in spdx:
        return REJECT
    return ALLOW if spdx in SPDX_IDS or spdx == ETALAB_1 else REVIEW


# ---------------------------------------------------------------------------------------------
# Licence ids a sources file may name: a source's `license`, the policy's allow list and verdicts.
#
# Why check them: an id nobody can produce is accepted silently and then matches nothing: an allow
# list reading `CC-BY` rejects every document, a source declaring `Creative-Commons-Whatever` has
# every undocumented document rejected as "unrecognised licence". The full SPDX licence list comes
# from `packaging` (PyPA's PEP 639 implementation, which ships it and validates licence expressions
# against it; already installed with Dagster). Its table is a private module, so it is read in one
# place; `canonicalize_license_expression` is the public face of the same list.
# ---------------------------------------------------------------------------------------------

from packaging.licenses._spdx import LICENSES as _SPDX_LIST  # noqa: E402  {lower-case id: {id, deprecated}}
from packaging.licenses._spdx import VERSION as SPDX_LIST_VERSION  # noqa: E402

# Every LicenseRef- this module can produce, besides the Creative Commons ones matched by _CC_LICENCE_REF.
LICENCE_REFS = frozenset(
    {ETALAB_1, *LICENCE_VERDICTS}
    | {ref for ref in (*PORTAL_LICENCE_IDS.values(), *EU_LICENCE_CODES.values()) if ref and ref.startswith("LicenseRef-")}
)
_CC_LICENCE_REF = re.compile(r"LicenseRef-CC-(?P<elements>[A-Z-]+?)-(?P<version>\d\.\d)(?:-(?P<jurisdiction>[A-Z]{2}|IGO|SCOTLAND))?")
_VERSION_SUFFIX = re.compile(r"\d+(?:\.\d+)*")
_CANONICAL_BY_LOWER.update({entry["id"].lower(): entry["id"] for entry in _SPDX_LIST.values() if not entry["deprecated"]})


def asserted_spdx(value: str) -> str | None:
    """A licence asserted by a source or a record: what to_spdx reads, or else any id of the SPDX list.

    Why wider than to_spdx: a person who writes `license: EUPL-1.2` means that licence; a web page's
    stray text is read more cautiously. Deprecated SPDX ids stay unrecognised (`GPL-2.0`: only, or
    or-later?); the sources file is refused for them with the ids to use instead."""
    found = to_spdx(value)
    if found is not None or not isinstance(value, str):
        return found
    entry = _SPDX_LIST.get(_clean(value).lower())
    return entry["id"] if entry and not entry["deprecated"] else None


def known_licence_id(value: str, custom: Collection[str] = ()) -> str | None:
    """`value` as the licence id it names (SPDX capitalisation), when Moisson can produce or read it: an SPDX
    list id that is not deprecated, a LicenseRef- of this module, or one of `custom` (the policy's own). None
    otherwise."""
    lowered = value.strip().lower()
    entry = _SPDX_LIST.get(lowered)
    if entry is not None:
        return None if entry["deprecated"] else entry["id"]
    for ref in (*LICENCE_REFS, *custom):
        if ref.lower() == lowered:
            return ref
    match = _CC_LICENCE_REF.fullmatch(value.strip())
    if match and _cc_id(match["elements"], match["version"], (match["jurisdiction"] or "").lower() or None) == value.strip():
        return value.strip()
    return None


def licence_id_problem(value: str, custom: Collection[str] = ()) -> str | None:
    """Why `value` cannot be used as a licence id in a sources file, with the closest ids; None when it can."""
    if known_licence_id(value, custom) is not None:
        return None
    entry = _SPDX_LIST.get(value.strip().lower())
    if entry is not None:
        instead = _successors(entry["id"])
        use = f"; use {' or '.join(instead)}" if instead else ""
        return f"{value!r} is deprecated in the SPDX licence list (its meaning is ambiguous){use}"
    closest = closest_licence_ids(value, custom)
    hint = f" (did you mean {' or '.join(closest)}?)" if closest else ""
    if value.strip().lower().startswith("licenseref-"):
        hint += "; a LicenseRef- of your own is declared under policy.licenses.custom"
    return f"{value!r} is not a licence id of the SPDX list {SPDX_LIST_VERSION} nor a LicenseRef- Moisson knows{hint}"


def closest_licence_ids(value: str, custom: Collection[str] = (), limit: int = 2) -> list[str]:
    """The ids a typo most likely meant: the latest version of the family named (`CC-BY` -> CC-BY-4.0, `CC0` ->
    CC0-1.0), else what a catalogue id or a licence name maps to (`lov2` -> etalab-2.0), else the nearest
    spellings, Moisson's usual licences first."""
    import difflib

    lowered = value.strip().lower()
    usual = sorted(SPDX_IDS | LICENCE_REFS | set(custom))
    everything = usual + sorted(e["id"] for e in _SPDX_LIST.values() if not e["deprecated"] and e["id"] not in SPDX_IDS)
    versions = [spdx for spdx in everything
                if spdx.lower().startswith(lowered + "-") and _VERSION_SUFFIX.fullmatch(spdx[len(lowered) + 1:])]
    if versions:
        return [max(versions, key=lambda spdx: [int(n) for n in spdx[len(lowered) + 1:].split(".")])]
    mapped = portal_licence_id(value)  # a catalogue id or a licence name: `lov2`, `odc-odbl`
    if mapped is not None and known_licence_id(mapped, custom):
        return [mapped]
    for candidates in (usual, everything):
        by_lower = {spdx.lower(): spdx for spdx in candidates}
        close = difflib.get_close_matches(lowered, list(by_lower), n=limit, cutoff=0.6)
        if close:
            return [by_lower[match] for match in close]
    return []


def _successors(deprecated: str) -> list[str]:
    """The ids that replaced a deprecated one: `GPL-3.0` -> GPL-3.0-only, GPL-3.0-or-later."""
    stem = deprecated.removesuffix("+").lower()
    return [e["id"] for key, e in sorted(_SPDX_LIST.items())
            if not e["deprecated"] and key in (f"{stem}-only", f"{stem}-or-later")]
