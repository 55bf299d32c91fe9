"""Text-and-data-mining opt-outs for one document, read from every signal a rights holder can give, fail-closed.

Why: the DSM Directive (art. 4(3)) lets rights holders reserve text and data mining "in an appropriate manner,
such as machine-readable means", and the AI Act (art. 53(1)(c)) obliges model providers to honour those
reservations. A corpus that promises to honour them must read every machine-readable form in use and keep, for
every document, what it found and where. This module reads; the policy (moisson.policy, wired by the lead)
decides what a reservation does to a document.

Signals read, each named by a protocol id (`PROTOCOLS`) the policy can select:

- `tdmrep-header`: the `tdm-reservation` / `tdm-policy` HTTP response header fields (TDMRep final Community Group
  report, 10 May 2024, https://www.w3.org/community/reports/tdmrep/ , section "TDM Header Field in HTTP Responses");
- `tdmrep-file`: the origin's `/.well-known/tdmrep.json` rules (section "TDM File on the Origin Server", and
  "Use of regular expressions": `*` and a final `$` as in robots.txt), fetched once per origin (`WellKnownCache`);
- `tdmrep-html`: `<meta name="tdm-reservation">` / `<meta name="tdm-policy">` (section "TDM Metadata in HTML Content");
- `tdmrep-epub`: `<meta property="tdm:reservation">` (EPUB 3) or `<meta name="tdm:reservation" content>` (EPUB 2) in
  the package document (section "TDM Metadata in EPUB files");
- `tdmrep-pdf`: XMP `tdm:reservation` / `tdm:policy` in the namespace `http://www.w3.org/ns/tdmrep/` (section
  "TDM Metadata in PDF files");
- `robots-ai`: a robots.txt group that names an AI-training user agent (`DEFAULT_AI_AGENTS`, configurable) and
  disallows the URL (RFC 9309 groups and longest-match precedence);
- `x-robots-tag` and `meta-robots`: the `noai` directive (and `noimageai` for images) in the `X-Robots-Tag`
  header or `<meta name="robots">` (or a meta named after an AI agent).

Statuses (`OptOut.status`): `reserved` (a signal reserves mining), `not_reserved` (a signal says explicitly that
mining is not reserved: only TDMRep's `tdm-reservation: 0` does), `unknown` (nothing said, a value the protocol
calls an error, or a signal we could not read). An `unknown` that comes from a signal we could not check (a 5xx,
a timeout, a tdmrep.json we cannot parse or had to cut) has `incomplete=True`: a reservation may be hiding there,
so it must never pass for `not_reserved` (fail-closed).

Why `combine` lets any reservation win, where TDMRep's "Processing priority" lets a later technique supersede an
earlier one (file < header < HTML < EPUB/PDF): a reservation is a rights holder's statement, and two statements that
disagree about the same document mean one of them is misconfigured; taking the one that keeps the document out
loses one document, taking the other may publish someone's work against their terms. `tdmrep_resolve` applies the
report's order exactly, for a policy that wants it.

Hostile input: every reader is bounded (bytes, rules, pattern length, path length, and a budget of MAX_WILDCARDS
stars per file, so one path costs at most that many forward scans whatever the file); XML is parsed without DTDs,
entities or network (moisson.xml_text.parse_xml); patterns are matched by a forward scan of their literal
segments, never by a regular expression built from them. Whatever a bound cuts off answers `unknown`/incomplete,
never silence.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

import lxml.etree
import lxml.html

from moisson.markup_limits import excess
from moisson.xml_text import XmlRefused, local_name, parse_xml
from sources.http import FetchError, HttpClient
from sources.robots import MAX_ROBOTS_BYTES, RobotsRules

Status = Literal["reserved", "not_reserved", "unknown"]
RESERVED: Status = "reserved"
NOT_RESERVED: Status = "not_reserved"
UNKNOWN: Status = "unknown"

PROTOCOLS = ("tdmrep-file", "tdmrep-header", "tdmrep-html", "tdmrep-epub", "tdmrep-pdf",
             "robots-ai", "x-robots-tag", "meta-robots")

# User agents whose robots.txt groups are AI-training opt-outs (product tokens, compared case-insensitively).
DEFAULT_AI_AGENTS = ("GPTBot", "ChatGPT-User", "OAI-SearchBot", "CCBot", "Google-Extended", "anthropic-ai",
                     "ClaudeBot", "Claude-Web", "Applebot-Extended", "Bytespider", "PerplexityBot",
                     "meta-externalagent", "FacebookBot", "cohere-ai", "Diffbot", "Omgilibot", "Amazonbot")

# Directives of X-Robots-Tag / meta robots that reserve AI use (DeviantArt's proposal, now common): `noai` for the
# content, `noimageai` for images only, so a text document is reserved by `noai` alone unless the caller says it
# is an image.
TEXT_AI_DIRECTIVES = frozenset({"noai"})
IMAGE_AI_DIRECTIVES = frozenset({"noai", "noimageai"})

WELL_KNOWN_PATH = "/.well-known/tdmrep.json"
MAX_TDMREP_BYTES = 1024 * 1024  # the spec's examples are 200 bytes; a site with a rule per folder: a few kB
MAX_RULES = 10_000
MAX_WILDCARDS = 10_000  # stars in all of a file's patterns: each costs one scan step per path (legit files: a few)
MAX_PATTERN_CHARS = 2048  # longer locations are matched by their first 2048 characters, fail-closed (see _Pattern)
MAX_PATH_CHARS = 16_384  # a longer URL path is not matched: `unknown`/incomplete (servers refuse past ~8 kB)
MAX_VALUE_CHARS = 2048  # a policy URL or a header value, quoted back at most this long
MAX_QUOTED_CHARS = 200
MAX_HTML_BYTES = 8 * 1024 * 1024
MAX_XMP_BYTES = 1024 * 1024
MAX_XMP_PACKETS = 32
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600  # a persisted tdmrep.json older than this is fetched again

_PATH_SAFE = "/?&=;:@!,'()+%-._~#[]"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_TDMREP_NAMESPACE = re.compile(r"^https?://www\.w3\.org/ns/tdm(rep)?[/#]?$")


# -------------------------------------------------------------------------------------------------------------
# The answer
# -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptOut:
    """What one protocol (or `combine`, several) says about mining one document, with the words that said it.

    `evidence`: human-readable lines, each starting with the protocol id, quoting what was read (bounded).
    `policy_url`: the TDMRep `tdm-policy` of a reservation (how to ask for a licence), else None.
    `incomplete`: the status is `unknown` because a signal could not be checked (see the module docstring).
    """

    status: Status
    protocol: str
    evidence: tuple[str, ...] = ()
    policy_url: str | None = None
    incomplete: bool = False

    def as_dict(self) -> dict[str, object]:
        """The warehouse row: plain JSON types, evidence as a list."""
        return {"status": self.status, "protocol": self.protocol, "evidence": list(self.evidence),
                "policy_url": self.policy_url, "incomplete": self.incomplete}


NO_SIGNAL = OptOut(UNKNOWN, "", ("no opt-out signal found",))


def combine(opt_outs: Iterable[OptOut | None]) -> OptOut:
    """One document's status from every protocol's answer (None: the protocol was silent).

    Any reservation wins (all reservations are kept as evidence); else a signal that could not be checked keeps
    the document `unknown` and `incomplete`, even beside an explicit `not_reserved` (what we could not read might
    have been a reservation); else an explicit `not_reserved`; else `unknown`.
    """
    answers = [o for o in opt_outs if o is not None]
    for wanted in (lambda o: o.status == RESERVED, lambda o: o.incomplete, lambda o: o.status == NOT_RESERVED):
        deciding = [o for o in answers if wanted(o)]
        if deciding:
            return _merged(deciding[0].status, deciding)
    return _merged(UNKNOWN, answers) if answers else NO_SIGNAL


def _merged(status: Status, deciding: list[OptOut]) -> OptOut:
    protocols = ",".join(dict.fromkeys(o.protocol for o in deciding if o.protocol))
    evidence = tuple(dict.fromkeys(line for o in deciding for line in o.evidence))
    policy = next((o.policy_url for o in deciding if o.policy_url), None) if status == RESERVED else None
    return OptOut(status, protocols, evidence, policy, incomplete=any(o.incomplete for o in deciding))


def tdmrep_resolve(file: OptOut | None, header: OptOut | None, content: OptOut | None) -> OptOut | None:
    """TDMRep's own order (section "Processing priority"), for a policy that wants the report's reading rather than
    `combine`'s: header values supersede the file's, content metadata (HTML, EPUB, PDF) supersedes both, and a step
    that says nothing (None, or a protocol error, which means "unset") does not reset the current value. A later
    explicit 0 therefore supersedes an earlier 1, and an earlier file we could not read.
    """
    current: OptOut | None = None
    for step in (file, header, content):
        if step is not None and (step.status != UNKNOWN or step.incomplete or current is None):
            current = step
    return current


# -------------------------------------------------------------------------------------------------------------
# Values
# -------------------------------------------------------------------------------------------------------------


def _reservation(value: object, protocol: str, where: str, policy: object = None) -> OptOut:
    """One `tdm-reservation` value (section "tdm-reservation"): 1 reserved, 0 not reserved, else a protocol error.

    The report says a protocol error means "unset". Read asymmetrically, fail-closed: a value whose intent is
    clearly a reservation (the string "1" in JSON, `true`) counts as one; only 0 (the number, or the text "0" of a
    header or a meta tag) grants anything.
    """
    quoted = _quote(value)
    if _is_one(value):
        url = _policy_url(policy)
        lines = [f"{protocol}: {where} tdm-reservation={quoted}"] + ([f"{protocol}: tdm-policy={url}"] if url else [])
        return OptOut(RESERVED, protocol, tuple(lines), url)
    if _is_zero(value):
        return OptOut(NOT_RESERVED, protocol, (f"{protocol}: {where} tdm-reservation={quoted}",))
    return OptOut(UNKNOWN, protocol, (f"{protocol}: {where} tdm-reservation={quoted} is a protocol error: "
                                      f"treated as unset (TDMRep, section tdm-reservation)",))


def _is_one(value: object) -> bool:
    if value is True:
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in {"1", "true"}


def _is_zero(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == 0
    return isinstance(value, str) and value.strip() == "0"


def _policy_url(value: object) -> str | None:
    """A `tdm-policy` value kept as evidence when it looks like an absolute http(s) URL; the policy itself is
    not fetched (being unable to read it "is not considered a protocol error", section tdm-policy)."""
    if not isinstance(value, str):
        return None
    url = value.strip()[:MAX_VALUE_CHARS]
    return url if url.lower().startswith(("http://", "https://")) and not any(c.isspace() for c in url) else None


def _quote(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "…"


# -------------------------------------------------------------------------------------------------------------
# HTTP headers (live fetches and WARC response records)
# -------------------------------------------------------------------------------------------------------------


def from_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]], *, image: bool = False) -> list[OptOut]:
    """The TDMRep header fields and the X-Robots-Tag AI directives of one HTTP response.

    `headers`: a mapping (any case) or (name, value) pairs, as warcio's `http_headers.headers` gives them; repeated
    fields are all read. Several `tdm-reservation` values (a repeated field, or "1, 0" folded): any 1 reserves.
    """
    fields: dict[str, list[str]] = {}
    for name, value in (headers.items() if isinstance(headers, Mapping) else headers):
        fields.setdefault(name.strip().lower(), []).append(str(value)[:MAX_VALUE_CHARS])
    found = []
    values = [v.strip() for raw in fields.get("tdm-reservation", []) for v in raw.split(",") if v.strip()]
    if values:
        policy = next((v.strip() for v in fields.get("tdm-policy", []) if _policy_url(v)), None)
        answers = [_reservation(v, "tdmrep-header", "HTTP header", policy) for v in values[:100]]
        found.append(combine(answers) if len(answers) > 1 else answers[0])
    robots = " , ".join(fields.get("x-robots-tag", []))
    if robots:
        directive = _ai_directive(robots, image)
        if directive:
            found.append(OptOut(RESERVED, "x-robots-tag", (f"x-robots-tag: {directive} in {_quote(robots.strip())}",)))
    return found


OPT_OUT_HEADERS = frozenset({"tdm-reservation", "tdm-policy", "x-robots-tag"})


def opt_out_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> str | None:
    """The response's header fields that can carry an opt-out, as JSON pairs for a record to carry (None: none).

    Why only these: a record keeps what a later stage reads, not a whole response's headers (cookies, tokens)."""
    pairs = [[name.strip().lower(), str(value)[:MAX_VALUE_CHARS]]
             for name, value in (headers.items() if isinstance(headers, Mapping) else headers)
             if name.strip().lower() in OPT_OUT_HEADERS]
    return json.dumps(pairs[:100], ensure_ascii=False) if pairs else None


def _ai_directive(value: str, image: bool) -> str | None:
    """`noai` (or, for an image, `noimageai`) among the comma-separated directives, with or without an
    `agent:` prefix (a directive aimed at one crawler still states the rights holder's choice)."""
    wanted = IMAGE_AI_DIRECTIVES if image else TEXT_AI_DIRECTIVES
    tokens = {token.rsplit(":", 1)[-1].strip().lower() for token in re.split(r"[,\s]+", value) if token}
    return next((d for d in sorted(wanted) if d in tokens), None)


# -------------------------------------------------------------------------------------------------------------
# HTML
# -------------------------------------------------------------------------------------------------------------


def from_html(page: lxml.html.HtmlElement | bytes | str, *, image: bool = False,
              agents: Iterable[str] = DEFAULT_AI_AGENTS) -> list[OptOut]:
    """`<meta name="tdm-reservation">` / `tdm-policy` (section "TDM Metadata in HTML Content") and `noai` in
    `<meta name="robots">` or a meta named after an AI agent (`<meta name="GPTBot" content="noai">`).

    A parsed tree is read as is; bytes are parsed here (at most MAX_HTML_BYTES, markup within moisson.markup_limits).
    """
    if isinstance(page, lxml.etree._ElementTree):
        page = page.getroot()
    tree = page if isinstance(page, lxml.etree._Element) else _parse_html(page)
    if isinstance(tree, OptOut):
        return [tree]
    metas = [(str(m.get("name") or "").strip().lower(), str(m.get("content") or ""))
             for m in tree.iter("meta", "{http://www.w3.org/1999/xhtml}meta")]
    found = []
    reservations = [content for name, content in metas if name == "tdm-reservation"]
    if reservations:
        policy = next((c for name, c in metas if name == "tdm-policy" and _policy_url(c)), None)
        answers = [_reservation(c, "tdmrep-html", "<meta>", policy) for c in reservations[:100]]
        found.append(combine(answers) if len(answers) > 1 else answers[0])
    robot_names = {"robots"} | {a.lower() for a in agents}
    for name, content in metas:
        directive = _ai_directive(content, image) if name in robot_names else None
        if directive:
            found.append(OptOut(RESERVED, "meta-robots", (f'meta-robots: <meta name="{name}" content={_quote(content)}>',)))
            break
    return found


def _parse_html(data: bytes | str) -> lxml.html.HtmlElement | OptOut:
    if isinstance(data, bytes):
        encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
        data = data[:MAX_HTML_BYTES].decode(encoding, errors="replace")
    text = data
    text = text[:MAX_HTML_BYTES]
    problem = excess(text)
    if problem is None:
        try:
            return lxml.html.document_fromstring(text or "<html></html>")
        except (lxml.etree.ParserError, ValueError) as error:
            problem = f"not parseable: {error}"
    return OptOut(UNKNOWN, "tdmrep-html", (f"tdmrep-html: page not read ({problem})",), incomplete=True)


# -------------------------------------------------------------------------------------------------------------
# EPUB package document and PDF XMP
# -------------------------------------------------------------------------------------------------------------


def from_epub_opf(xml: bytes) -> list[OptOut]:
    """`tdm:reservation` / `tdm:policy` in an EPUB package document (section "TDM Metadata in EPUB files"): EPUB 3
    `<meta property="tdm:reservation">1</meta>`, EPUB 2 `<meta name="tdm:reservation" content="1"/>`. They cover
    every resource in the package. The `tdm` prefix is not checked against the package's `prefix` attribute:
    a publisher who wrote the property and forgot the declaration still meant it (fail-closed)."""
    root = _parse_xml(xml, "tdmrep-epub")
    if root is None or isinstance(root, OptOut):
        return [root] if root else []
    values: dict[str, list[str]] = {"tdm:reservation": [], "tdm:policy": []}
    for element in root.iter():
        if not isinstance(element.tag, str) or local_name(element) != "meta":
            continue
        prop, name = (element.get("property") or "").strip(), (element.get("name") or "").strip()
        if prop in values:
            values[prop].append("".join(element.itertext()).strip())
        elif name in values:
            values[name].append((element.get("content") or "").strip())
    return _package_answer(values["tdm:reservation"], values["tdm:policy"], "tdmrep-epub", "OPF <meta>")


def from_xmp(xml: bytes) -> list[OptOut]:
    """XMP `tdm:reservation` / `tdm:policy` (section "TDM Metadata in PDF files"), as elements or as attributes
    of `rdf:Description`. The report's namespace is `http://www.w3.org/ns/tdmrep/`; the `#` form of the EPUB
    prefix and `http://www.w3.org/ns/tdm/` are accepted too, as files carry all three."""
    root = _parse_xml(xml, "tdmrep-pdf")
    if root is None or isinstance(root, OptOut):
        return [root] if root else []
    values: dict[str, list[str]] = {"reservation": [], "policy": []}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        namespace, _, name = element.tag[1:].partition("}") if element.tag.startswith("{") else ("", "", element.tag)
        if name in values and _TDMREP_NAMESPACE.match(namespace):
            items = [li for li in element.iter() if isinstance(li.tag, str) and local_name(li) == "li"]
            values[name].append(("".join(items[0].itertext()) if items else "".join(element.itertext())).strip())
        for attribute, value in element.attrib.items():
            namespace, _, name = attribute[1:].partition("}") if attribute.startswith("{") else ("", "", attribute)
            if name in values and _TDMREP_NAMESPACE.match(namespace):
                values[name].append(value.strip())
    return _package_answer(values["reservation"], values["policy"], "tdmrep-pdf", "XMP")


def from_pdf(data: bytes) -> list[OptOut]:
    """The TDMRep XMP properties of a PDF's metadata packets, found by bounded byte scans (XMP packets are stored
    uncompressed so that a reader without a PDF parser can find them). Every packet is read, up to MAX_XMP_PACKETS:
    the document's packet need not be the first (images carry their own), and a reservation in any of them counts.
    No packet: nothing to say."""
    answers: list[OptOut] = []
    start = data.find(b"<x:xmpmeta")
    for _ in range(MAX_XMP_PACKETS):
        end = data.find(b"</x:xmpmeta>", start, start + MAX_XMP_BYTES) if start >= 0 else -1
        if end < 0:
            break
        answers.extend(from_xmp(data[start:end + len(b"</x:xmpmeta>")]))
        start = data.find(b"<x:xmpmeta", end)
    return [combine(answers)] if len(answers) > 1 else answers


def _parse_xml(xml: bytes, protocol: str) -> lxml.etree._Element | OptOut | None:
    """The parsed metadata; or, when it cannot be parsed, `unknown`/incomplete if it mentions TDMRep at all (it may
    hold a reservation we cannot read) and None if it does not (it cannot hold one)."""
    try:
        return parse_xml(xml)
    except XmlRefused as error:
        if b"tdm" not in xml.lower():
            return None
        return OptOut(UNKNOWN, protocol, (f"{protocol}: metadata not read ({str(error)[:MAX_QUOTED_CHARS]})",),
                      incomplete=True)


def _package_answer(reservations: list[str], policies: list[str], protocol: str, where: str) -> list[OptOut]:
    if not reservations:
        return []
    policy = next((p for p in policies if _policy_url(p)), None)
    answers = [_reservation(v, protocol, where, policy) for v in reservations[:100]]
    return [combine(answers) if len(answers) > 1 else answers[0]]


# -------------------------------------------------------------------------------------------------------------
# Path patterns: tdmrep.json locations and robots.txt rules
# -------------------------------------------------------------------------------------------------------------


def normalise_path(path: str, *, pattern: bool = False) -> str:
    """A path (with its query) in the form patterns are compared in (section "TDM File on the Origin Server"):
    percent-encoded unreserved characters decoded, other escapes upper-cased, `$` and `*` and non-ASCII encoded,
    so that a pattern's `%24` matches a literal `$` and a literal `*` in a URL is never a wildcard. In a pattern
    (`pattern=True`) every `*` is a wildcard and stays as it is."""
    path = _PERCENT.sub(_unescape_unreserved, path)
    return quote(path, safe=_PATH_SAFE + "*" if pattern else _PATH_SAFE)


def _unescape_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


@dataclass(frozen=True)
class _Pattern:
    """A robots.txt-style pattern (draft-koster-rep 2.2.3, RFC 9309 2.2.3): `*` is any run of characters, a final
    `$` anchors the end, anything else is literal and the pattern matches a prefix of the path.

    Matched without backtracking: the literal segments between stars are found left to right, each at its
    leftmost place after the previous one (leftmost is always the best choice when the only wildcard is `*`),
    so a path costs one forward scan per segment whatever the pattern. A location longer than MAX_PATTERN_CHARS
    is kept cut (`cut=True`): the cut pattern matches every path the full one would, so a miss is certain and a
    hit is only "maybe" (the caller fails closed).
    """

    source: str
    segments: tuple[str, ...]
    anchored: bool
    cut: bool = False

    @classmethod
    def parse(cls, location: str) -> "_Pattern":
        cut = len(location) > MAX_PATTERN_CHARS
        text = location[:MAX_PATTERN_CHARS]
        anchored = text.endswith("$") and not cut
        body = normalise_path(text[:-1] if anchored else text, pattern=True)
        return cls(location[:MAX_QUOTED_CHARS], tuple(body.split("*")), anchored, cut)

    @property
    def length(self) -> int:
        """Specificity, for robots.txt's longest-match rule: the characters of the pattern."""
        return len(self.source)

    def matches(self, path: str) -> bool:
        """`path` already normalised (normalise_path)."""
        first, *rest = self.segments
        if not path.startswith(first):
            return False
        if not rest:
            return not self.anchored or len(path) == len(first)
        position = len(first)
        for segment in rest[:-1]:
            found = path.find(segment, position)
            if found < 0:
                return False
            position = found + len(segment)
        last = rest[-1]
        if self.anchored:
            return len(path) - len(last) >= position and path.endswith(last)
        return path.find(last, position) >= 0


def _path_of(url_or_path: str) -> str | None:
    """The path and query of a URL (or a path as given), normalised: what rules are matched against. None for a
    path over MAX_PATH_CHARS: cut, it could match a `$`-anchored rule the whole path does not (or miss one it
    does), so callers answer `unknown`/incomplete instead of guessing."""
    if url_or_path.startswith("/"):
        path = url_or_path.split("#", 1)[0]
    else:
        parts = urlsplit(url_or_path)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return normalise_path(path) if len(path) <= MAX_PATH_CHARS else None


def _path_too_long(protocol: str) -> OptOut:
    return OptOut(UNKNOWN, protocol, (f"{protocol}: URL path over {MAX_PATH_CHARS} characters, not matched",),
                  incomplete=True)


# -------------------------------------------------------------------------------------------------------------
# /.well-known/tdmrep.json
# -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TdmRepRule:
    pattern: _Pattern
    reservation: object  # the raw value: 1, 0, or what the file says (a protocol error)
    policy: object
    index: int


@dataclass(frozen=True)
class TdmRepFile:
    """An origin's tdmrep.json, parsed once and matched against every path fetched from the origin.

    `problem`: why the file could not be read in full (too large, not JSON, not an array, more than MAX_RULES
    rules): a path no readable rule decides is then `unknown`/incomplete instead of unset.
    """

    rules: tuple[TdmRepRule, ...] = ()
    problem: str | None = None
    origin: str = ""

    @classmethod
    def parse(cls, data: bytes, origin: str = "") -> "TdmRepFile":
        if len(data) > MAX_TDMREP_BYTES:
            return cls((), f"{len(data)} bytes, over the {MAX_TDMREP_BYTES}-byte limit", origin)
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            return cls((), f"not JSON ({str(error)[:MAX_QUOTED_CHARS]})", origin)
        if not isinstance(document, list):
            return cls((), f"not a JSON array but a {type(document).__name__}", origin)
        rules: list[TdmRepRule] = []
        wildcards = 0
        for index, item in enumerate(document[:MAX_RULES]):
            rule = _rule(item, index)
            if rule is None:
                continue
            wildcards += len(rule.pattern.segments) - 1
            if wildcards > MAX_WILDCARDS:
                return cls(tuple(rules), f"over {MAX_WILDCARDS} wildcards: read up to rule {index}", origin)
            rules.append(rule)
        problem = f"{len(document)} rules, only the first {MAX_RULES} read" if len(document) > MAX_RULES else None
        return cls(tuple(rules), problem, origin)

    def match(self, path: str) -> OptOut | None:
        """The first rule in sequence whose location matches (the report: "The most specific match is the first in
        sequence"), as an OptOut; None when no rule matches and the file was read in full ("unset").

        `path`: a path (with its query) or a whole URL of this origin.
        """
        wanted = _path_of(path)
        if wanted is None:
            return _path_too_long("tdmrep-file") if self.rules or self.problem else None
        for rule in self.rules:
            if not rule.pattern.matches(wanted):
                continue
            where = f"{self._name()} rule {rule.index + 1} location={_quote(rule.pattern.source)}"
            if rule.pattern.cut:
                return OptOut(UNKNOWN, "tdmrep-file", (f"tdmrep-file: {where} is over {MAX_PATTERN_CHARS} "
                                                       f"characters and may match: not decided",), incomplete=True)
            return _reservation(rule.reservation, "tdmrep-file", where, rule.policy)
        if self.problem:
            return OptOut(UNKNOWN, "tdmrep-file", (f"tdmrep-file: {self._name()} not read in full ({self.problem})",),
                          incomplete=True)
        return None

    def _name(self) -> str:
        return f"{self.origin}{WELL_KNOWN_PATH}" if self.origin else "tdmrep.json"


def _rule(item: object, index: int) -> TdmRepRule | None:
    """One rule; `location` and `tdm-reservation` are mandatory (section "TDM File on the Origin Server"). A rule
    without a location can match nothing; one without a reservation value keeps it as a protocol error."""
    if not isinstance(item, dict) or not isinstance(item.get("location"), str) or not item["location"].strip():
        return None
    location = item["location"].strip()
    location = location if location.startswith(("/", "*")) else "/" + location  # "directory-a/": the intent is clear
    return TdmRepRule(_Pattern.parse(location), item.get("tdm-reservation"), item.get("tdm-policy"), index)


# -------------------------------------------------------------------------------------------------------------
# robots.txt groups for AI-training agents
# -------------------------------------------------------------------------------------------------------------


def robots_ai_reservation(robots_txt: str | bytes, url: str,
                          agents: Iterable[str] = DEFAULT_AI_AGENTS) -> OptOut | None:
    """`reserved` when a robots.txt group naming one of `agents` disallows `url`; None otherwise.

    Groups and precedence as RFC 9309 (section 2.2): groups naming the same agent are merged, the longest matching
    rule wins and `Allow` wins a tie, `*` and a final `$` as in tdmrep.json. Only groups that name the agent count:
    the `*` group speaks to every crawler, so it says nothing about AI training in particular (and the harvest's
    own robots check, sources/http.py, already obeys it).
    """
    text = robots_txt.decode("utf-8", errors="replace") if isinstance(robots_txt, bytes) else robots_txt
    groups, cut = _robots_groups(text[:MAX_ROBOTS_BYTES])
    path = _path_of(url)
    named = [agent for agent in agents if agent.lower() in groups]
    if path is None:
        return _path_too_long("robots-ai") if named or cut else None
    refusing = []
    for agent in named:
        verdict = _longest_match(groups[agent.lower()], path)
        if verdict is not None and not verdict[0]:
            refusing.append(f"robots-ai: User-agent: {agent} — Disallow: {verdict[1].source}")
    if refusing:
        return OptOut(RESERVED, "robots-ai", tuple(refusing))
    if cut:  # a group past the budget might name an AI agent: not known
        return OptOut(UNKNOWN, "robots-ai", (f"robots-ai: robots.txt over {MAX_WILDCARDS} wildcards, not read in full",),
                      incomplete=True)
    return None


def robots_ai_from_rules(rules: RobotsRules, url: str, agents: Iterable[str] = DEFAULT_AI_AGENTS) -> OptOut | None:
    """The same from the HttpClient's cached RobotsRules: an unreachable robots.txt (5xx, network error) is
    `unknown`/incomplete, a missing one (4xx) says nothing."""
    if rules.disallow_all:
        return OptOut(UNKNOWN, "robots-ai", (f"robots-ai: {rules.reason}",), incomplete=True)
    return robots_ai_reservation("\n".join(rules.lines), url, agents) if rules.lines else None


def _robots_groups(text: str) -> tuple[dict[str, list[tuple[bool, _Pattern]]], bool]:
    """agent token (lower case) -> its merged (allow, pattern) rules; and whether the file was cut short (more than
    MAX_WILDCARDS stars in its rules: past that, matching one URL would cost more than any real file needs)."""
    groups: dict[str, list[tuple[bool, _Pattern]]] = {}
    agents: list[str] = []
    in_rules = False
    wildcards = 0
    for raw in text.splitlines():
        name, _, value = raw.split("#", 1)[0].partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "user-agent":
            if in_rules:
                agents, in_rules = [], False
            token = value.split("/", 1)[0].split()[0].lower() if value.split() else ""
            agents.append(token)
            groups.setdefault(token, [])
        elif name in ("allow", "disallow"):
            in_rules = True
            if value:  # an empty Disallow allows everything: no rule
                rule = (name == "allow", _Pattern.parse(value))
                wildcards += len(rule[1].segments) - 1
                if wildcards > MAX_WILDCARDS:
                    return groups, True
                for agent in agents:
                    groups[agent].append(rule)
        elif name:
            in_rules = True
    return groups, False


def _longest_match(rules: list[tuple[bool, _Pattern]], path: str) -> tuple[bool, _Pattern] | None:
    best: tuple[bool, _Pattern] | None = None
    for allow, pattern in rules:
        if pattern.matches(path) and (best is None or pattern.length > best[1].length
                                      or (pattern.length == best[1].length and allow)):
            best = (allow, pattern)
    return best


# -------------------------------------------------------------------------------------------------------------
# One document, every protocol
# -------------------------------------------------------------------------------------------------------------


def check_protocols(names: Iterable[str]) -> tuple[str, ...]:
    """The protocol ids a policy names (`policy.opt_out.protocols`), refused early when one is misspelt: a typo
    would otherwise switch a protocol off without a word."""
    chosen = tuple(dict.fromkeys(names))
    unknown = [name for name in chosen if name not in PROTOCOLS]
    if unknown:
        raise ValueError(f"unknown opt-out protocol(s) {', '.join(unknown)}; known: {', '.join(PROTOCOLS)}")
    return chosen


def assess(url: str, *, headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
           html: lxml.html.HtmlElement | bytes | str | None = None, epub_opf: bytes | None = None,
           pdf: bytes | None = None, well_known: "WellKnownCache | TdmRepFile | None" = None,
           robots: RobotsRules | str | bytes | None = None, protocols: Iterable[str] = PROTOCOLS,
           agents: Iterable[str] = DEFAULT_AI_AGENTS, image: bool = False) -> OptOut:
    """Every signal given for one document, read and combined (`combine`), keeping only `protocols`.

    Pass what the stage has: the response headers (live fetch or WARC record), the page or the package document or
    the PDF bytes, the origin's tdmrep.json (the live cache, or a file read from the same archive) and its
    robots.txt (the HttpClient's RobotsRules, or the text). A protocol whose input is missing says nothing.
    """
    chosen = set(check_protocols(protocols))
    agents = tuple(agents)
    answers: list[OptOut | None] = []
    if "tdmrep-file" in chosen and well_known is not None:
        answers.append(well_known.opt_out(url) if isinstance(well_known, WellKnownCache) else well_known.match(url))
    if headers is not None:
        answers.extend(from_headers(headers, image=image))
    if html is not None:
        answers.extend(from_html(html, image=image, agents=agents))
    if epub_opf is not None:
        answers.extend(from_epub_opf(epub_opf))
    if pdf is not None:
        answers.extend(from_pdf(pdf))
    if "robots-ai" in chosen and robots is not None:
        answers.append(robots_ai_from_rules(robots, url, agents) if isinstance(robots, RobotsRules)
                       else robots_ai_reservation(robots, url, agents))
    return combine(a for a in answers if a is not None and a.protocol in chosen)


# -------------------------------------------------------------------------------------------------------------
# The per-origin cache of tdmrep.json
# -------------------------------------------------------------------------------------------------------------


@dataclass
class WellKnownEntry:
    """What one origin's `/.well-known/tdmrep.json` answered: `found` (a file, maybe with a problem), `absent`
    (404/410, or a page that is not the file: the origin "does not implement this protocol"), or `failed`
    (5xx, timeout, refused address, too large: not known, so not `absent`)."""

    origin: str
    state: Literal["found", "absent", "failed"]
    fetched_at: str
    detail: str = ""
    body: str = ""  # the file as received, when found (kept so that the rules can be re-read and audited)
    file: TdmRepFile = field(default_factory=TdmRepFile)

    def opt_out(self, url: str) -> OptOut | None:
        if self.state == "found":
            return self.file.match(url)
        if self.state == "failed":
            return OptOut(UNKNOWN, "tdmrep-file", (f"tdmrep-file: {self.origin}{WELL_KNOWN_PATH} not checked "
                                                   f"({self.detail})",), incomplete=True)
        return None

    def as_json(self) -> dict[str, str]:
        return {"origin": self.origin, "state": self.state, "fetched_at": self.fetched_at, "detail": self.detail,
                "body": self.body}


class SiteOptOuts:
    """What the sites a source fetches from say for all their pages: their `/.well-known/tdmrep.json` (fetched once
    per origin, kept under `folder`) and the robots.txt groups of AI-training agents (the HTTP client's own copy).

    `of(url)` is one JSON list of OptOut dicts, for a record to carry to the licence stage (None: the sites said
    nothing). A fetch that failed is there too, `unknown` and incomplete: the policy decides (fail-closed)."""

    def __init__(self, http: HttpClient, folder: Path, agents: Iterable[str] = DEFAULT_AI_AGENTS):
        self.http, self.well_known, self.agents = http, WellKnownCache(http, folder), tuple(agents)

    def of(self, url: str) -> str | None:
        found = [self.well_known.opt_out(url), self._robots(url)]
        signals = [signal.as_dict() for signal in found if signal is not None]
        return json.dumps(signals, ensure_ascii=False) if signals else None

    def _robots(self, url: str) -> OptOut | None:
        try:
            return robots_ai_from_rules(self.http.robots_rules(url), url, self.agents)
        except FetchError as exc:  # the address guard refused the origin: nothing was read there
            return OptOut(UNKNOWN, "robots-ai", (f"robots-ai: {exc.error_class}",), incomplete=True)


class WellKnownCache:
    """Each origin's tdmrep.json, fetched once through the project's HttpClient (its manners, address guard and
    size caps), kept in memory and persisted as `<folder>/<origin digest>.json` with the fetch time.

    A persisted `found` or `absent` answer younger than `max_age_seconds` is reused by the next run; a `failed`
    one is kept for this run only (asked again next run: the origin may be back). Thread-safe: concurrent
    lookups for one origin wait for a single fetch.
    """

    def __init__(self, http: HttpClient, folder: Path, *, max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
                 clock: Callable[[], float] = time.time):
        self.http, self.folder, self.max_age_seconds, self._clock = http, Path(folder), max_age_seconds, clock
        self._entries: dict[str, WellKnownEntry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def opt_out(self, url: str) -> OptOut | None:
        """The tdmrep.json answer for one document URL (None: the origin has no file, no rule matches, or the URL
        is not an http(s) URL with a host, so has no origin server to ask)."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        return self.entry(url).opt_out(url)

    def entry(self, url: str) -> WellKnownEntry:
        origin = origin_of(url)
        with self._lock:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            if origin not in self._entries:
                self._entries[origin] = self._load(origin) or self._fetch(origin)
            return self._entries[origin]

    def _fetch(self, origin: str) -> WellKnownEntry:
        self.fetches += 1
        now = datetime.fromtimestamp(self._clock(), timezone.utc).isoformat(timespec="seconds")
        try:
            response = self.http.get(origin + WELL_KNOWN_PATH, max_bytes=MAX_TDMREP_BYTES, accept=lambda status: True)
        except FetchError as error:
            entry = WellKnownEntry(origin, "failed", now, f"{error.error_class}: {error.message}"[:MAX_QUOTED_CHARS])
        else:
            entry = entry_from_response(origin, now, response.status, response.content_type, response.body)
        self._save(entry)
        return entry

    def _load(self, origin: str) -> WellKnownEntry | None:
        path = self._path(origin)
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            fetched = datetime.fromisoformat(saved["fetched_at"]).timestamp()
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if saved.get("origin") != origin or saved.get("state") not in ("found", "absent"):
            return None
        if self._clock() - fetched > self.max_age_seconds:
            return None
        body = str(saved.get("body", ""))
        file = TdmRepFile.parse(body.encode("utf-8"), origin) if saved["state"] == "found" else TdmRepFile()
        return WellKnownEntry(origin, saved["state"], saved["fetched_at"], str(saved.get("detail", "")), body, file)

    def _save(self, entry: WellKnownEntry) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(entry.origin)
        temporary = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")  # runs may share the folder
        temporary.write_text(json.dumps(entry.as_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        temporary.replace(path)

    def _path(self, origin: str) -> Path:
        return self.folder / f"{sha256(origin.encode()).hexdigest()[:32]}.json"


def entry_from_response(origin: str, now: str, status: int, content_type: str, body: bytes) -> WellKnownEntry:
    """One answer for `/.well-known/tdmrep.json`, fetched live or captured in an archive (sources/captured_sites.py).

    404 and 410 mean no file; any other non-2xx means not known (fail-closed). A 2xx that is an HTML page and
    not a JSON array (a site answering every path with its home page) is no file either: the report says an origin
    that does not serve the representation "does not implement this protocol"."""
    if status in (404, 410):
        return WellKnownEntry(origin, "absent", now, f"HTTP {status}")
    if not 200 <= status < 300:
        return WellKnownEntry(origin, "failed", now, f"HTTP {status}")
    text = body.decode("utf-8", errors="replace")
    if "html" in content_type and not text.lstrip("\ufeff \t\r\n").startswith("["):
        return WellKnownEntry(origin, "absent", now, f"HTTP {status} {content_type}: a page, not the file")
    file = TdmRepFile.parse(body, origin)
    return WellKnownEntry(origin, "found", now, f"HTTP {status}, {len(file.rules)} rules", text, file)


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased, default ports dropped: the unit a tdmrep.json speaks for."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")
