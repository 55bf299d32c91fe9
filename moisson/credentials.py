"""Credentials in a sources file: written as `${NAME}`, kept as that reference in every string Moisson builds,
stores or prints, and swapped for its value only on the wire, towards the origin the sources file used it for.

Why a reference rather than redaction: a token expanded when the file is read flows into every URL built from the
source URL, and from there into the corpus `locator`, the stages, the warehouse, the console and Dagster's logs;
redacting each of those after the fact would miss the next one. A reference kept in the strings cannot leak, and
only the HTTP layer (`sources.http`, the one thing that sends requests) swaps it for its value, for the names the
sources file used, towards the origin (scheme, host, port) it used them for: a catalogue that writes
`?token=${TOKEN}` into a resource URL on its own host gets the reference back, never the token.

In a URL-valued field (a portal's `url`, a warc source's remote `paths` entries and `base_url`):
- a reference in the scheme, host or port is expanded when the file is read (`url: "${PORTAL}/oai"` names a server);
- a reference in the userinfo, path, query or fragment is kept; userinfo becomes an `Authorization: Basic` header
  sent to that origin;
- a credential written literally (a userinfo password, the value of a query parameter such as `token`, `api_key` or
  `X-Amz-Signature`) is sealed when the file is read: replaced by a `${REDACTED_n}` reference whose value only the
  source's HTTP client holds.
A source's `headers:` values keep their references too and are sent only to the source's own origins.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# the same reference percent-encoded once (`conceal_body` writes it so, and so does a connector's urlencode of
# `${NAME}`) or twice (urlencode of a concealed OAI-PMH resumptionToken): each stands for the value, expanded alike
ANY_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|%24%7B([A-Za-z_][A-Za-z0-9_]*)%7D"
                           r"|%2524%257B([A-Za-z_][A-Za-z0-9_]*)%257D", re.IGNORECASE)
SEALED_PREFIX = "REDACTED_"
REDACTED = "REDACTED"
SECRET_PARAMETERS = frozenset({
    "token", "access_token", "auth_token", "id_token", "refresh_token", "private_token", "api_token", "apitoken",
    "api_key", "apikey", "api-key", "key", "access_key", "secret", "client_secret", "secret_key", "password",
    "passwd", "pwd", "auth", "sig", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
    "x-goog-signature", "x-goog-credential", "awsaccesskeyid",
})
URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
MIN_CONCEALED_CHARS = 4  # shorter values would rewrite ordinary words of a message
MIN_CONCEALED_BODY_CHARS = 8  # and of a document
DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


class MissingCredential(LookupError):
    """A reference the sources file granted whose environment variable is no longer set when a request is sent."""


# -- reading the sources file -------------------------------------------------------------------------------------

def keep_credential_references(value: str, environ: Mapping[str, str], missing: set[str]) -> str:
    """`value` with the references in its scheme, host and port expanded, those in credential positions kept.

    A reference is in a credential position when it follows the authority (path, query, fragment) or stands in
    the userinfo (an `@` follows it before the authority ends). A value that is not a URL (a local path) has no
    credential position: every reference is expanded. Every name, kept or not, must be set (`missing`).
    """
    parts, probe, last = [], "", 0
    for match in REFERENCE.finditer(value):
        literal = value[last:match.start()]
        parts.append(literal)
        probe += literal
        if match[1] not in environ:
            missing.add(match[1])
        if _credential_position(probe, value[match.end():]):
            parts.append(match[0])
            probe += "x"  # stands for the kept reference while positions are judged
        else:
            expanded = environ.get(match[1], match[0])
            parts.append(expanded)
            probe += expanded
        last = match.end()
    parts.append(value[last:])
    return "".join(parts)


def check_references(value: str, environ: Mapping[str, str], missing: set[str]) -> str:
    """`value` unchanged (a header value is expanded only when sent), each name it references checked to be set."""
    missing.update(name for name in REFERENCE.findall(value) if name not in environ)
    return value


def _credential_position(before: str, after: str) -> bool:
    scheme_end = before.find("://")
    if scheme_end < 0:
        return False
    if any(mark in before[scheme_end + 3:] for mark in "/?#"):
        return True
    return "@" in re.split(r"[/?#]", after, maxsplit=1)[0]


def seal_literal_credentials(url: str, sealed: dict[str, str]) -> str:
    """`url` with each credential written literally replaced by a new `${REDACTED_n}` reference, kept in `sealed`.

    Sealed: a userinfo password, and the value of a query parameter named like a secret (SECRET_PARAMETERS). The
    value is kept as written (percent-encoded), so the request sent is byte for byte the one the file describes.
    """
    if "://" not in url:
        return url
    return _rewrite_credentials(url, lambda value: None if ANY_REFERENCE.search(value) else _seal(value, sealed))


def _seal(value: str, sealed: dict[str, str]) -> str:
    name = next(f"{SEALED_PREFIX}{n}" for n in range(1, len(sealed) + 2) if f"{SEALED_PREFIX}{n}" not in sealed)
    sealed[name] = value
    return "${" + name + "}"


def _is_secret_parameter(name: str) -> bool:
    return unquote_plus(name).strip().lower() in SECRET_PARAMETERS


def _rewrite_credentials(url: str, replace: Callable[[str], str | None], parameter_suffix: bool = False) -> str:
    """`url` with its userinfo password and the values of its secret-named query parameters passed through
    `replace` (None leaves one as it is): one reading of a URL's parts for sealing and for redacting alike.
    `parameter_suffix`: the URL was found in prose, so closing brackets and stops after a value are not the value's."""
    scheme, _, rest = url.partition("://")
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        user, password = userinfo.split(":", 1)
        if password and (replaced := replace(password)) is not None:
            authority = f"{user}:{replaced}@{host}"
    path, question, query = tail.partition("?")
    if question:
        query, hash_, fragment = query.partition("#")
        pairs = (_rewrite_parameter(pair, replace, parameter_suffix) for pair in query.split("&"))
        query = "&".join(pairs) + hash_ + fragment
    return f"{scheme}://{authority}{path}{question}{query}"


def _rewrite_parameter(pair: str, replace: Callable[[str], str | None], parameter_suffix: bool) -> str:
    name, equals, value = pair.partition("=")
    suffix = ""
    if parameter_suffix:  # "(see URL)": the bracket is not the value's
        value, suffix = re.fullmatch(r"(.*?)([).,;\]]*)", value).groups()
    if equals and value and _is_secret_parameter(name) and (replaced := replace(value)) is not None:
        return f"{name}={replaced}{suffix}"
    return pair


# -- what leaves Moisson as text ----------------------------------------------------------------------------------

def redact_credentials(text: str) -> str:
    """Every URL in `text` with a literal userinfo password and the values of secret-named query parameters
    replaced by REDACTED; references are left as they are (they hold nothing). For text shown or stored only:
    a redacted URL no longer works."""
    return URL_IN_TEXT.sub(lambda match: _rewrite_credentials(match[0], _redacted, parameter_suffix=True), text)


def _redacted(value: str) -> str | None:
    return None if ANY_REFERENCE.fullmatch(value) else REDACTED


# -- the wire -----------------------------------------------------------------------------------------------------

def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, default port filled in; None when the URL has none."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        return scheme, parts.hostname.lower(), parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        return None


@dataclass
class _Grant:
    """What the sources file lets one origin receive."""

    names: set[str] = field(default_factory=set)  # references expanded in URLs to this origin
    userinfos: list[str] = field(default_factory=list)  # as written (references kept); the first is the default
    headers: dict[str, str] = field(default_factory=dict)  # values as written (references kept)


class Credentials:
    """What one source may send, and to which origin; held by that source's HTTP client, never written anywhere.

    Built from the source's URL-valued fields (references kept), its `headers:` and its sealed literal
    credentials; the environment is read here, when the client is made, not when the file is read.
    """

    def __init__(self, urls: Iterable[str] = (), headers: Mapping[str, str] | None = None,
                 sealed: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None):
        environ = os.environ if environ is None else environ
        self._sealed = dict(sealed or {})
        self._grants: dict[Origin, _Grant] = {}
        declared: set[str] = set()
        for url in urls:
            origin = origin_of(url)
            if origin is None:
                continue
            grant = self._grants.setdefault(origin, _Grant())
            names = {_name(match) for match in ANY_REFERENCE.finditer(url)}
            grant.names |= names
            declared |= names
            userinfo = _canonical(urlsplit(url).netloc.rpartition("@")[0])
            if userinfo and userinfo not in grant.userinfos:
                grant.userinfos.append(userinfo)
        for grant in self._grants.values():
            grant.headers.update(headers or {})
        for value in (headers or {}).values():
            declared |= set(REFERENCE.findall(value))
        self._values = {name: self._sealed[name] if name in self._sealed else environ[name]
                        for name in declared if name in self._sealed or name in environ}
        self._concealed = self._variants()

    def __repr__(self) -> str:
        return f"Credentials(origins={sorted(self._grants)!r}, names={sorted(self._values)!r})"

    @property
    def empty(self) -> bool:
        return not self._grants

    def prepare(self, url: str) -> tuple[str, dict[str, str]]:
        """The URL to send (references granted to its origin expanded, declared userinfo taken out) and the headers
        that go with it (Authorization from the userinfo, the source's `headers:`); nothing for another origin.
        Raises MissingCredential when a granted name has no value any more."""
        grant = self._grants.get(origin_of(url))  # type: ignore[arg-type]
        if grant is None:
            return url, {}
        scheme, _, rest = url.partition("://")
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        authority, tail = rest[:end], rest[end:]
        userinfo, at, host = authority.rpartition("@")
        headers: dict[str, str] = {}
        if at and _canonical(userinfo) not in grant.userinfos:
            return url, {}  # someone else's credentials: the address guard refuses the URL
        if userinfo or grant.userinfos:
            headers["Authorization"] = self._basic(_canonical(userinfo) or grant.userinfos[0], grant)
        if at:
            authority = host
        path, question, query = tail.partition("?")
        wire = f"{scheme}://{authority}{self._expand(path, grant, safe='/')}{question}{self._expand(query, grant, safe='')}"
        for name, value in grant.headers.items():
            headers[name] = REFERENCE.sub(lambda match: self._value(match[1]), value)
        return wire, headers

    def conceal(self, text: str) -> str:
        """`text` with every value of this source's credentials (raw, percent-encoded, Basic) replaced by its reference."""
        for variant, name in self._concealed:
            if len(variant) >= MIN_CONCEALED_CHARS:
                text = text.replace(variant, "${" + name + "}")
        return text

    def conceal_body(self, body: bytes) -> bytes:
        """A response body with the credentials it echoes (a `next` link repeating the query string) replaced by
        their percent-encoded reference, which stays valid in any URL, JSON, XML or Turtle and is expanded again
        when the link is followed to the same origin. Short values are left: they would rewrite ordinary words."""
        if not self._concealed:
            return body
        for variant, name in self._concealed:
            if len(variant) >= MIN_CONCEALED_BODY_CHARS:
                body = body.replace(variant.encode("utf-8"), f"%24%7B{name}%7D".encode("ascii"))
        return body

    def scrub(self, text: str) -> str:
        """For text shown or stored (an error, a final URL): credentials concealed, literal ones redacted."""
        return redact_credentials(self.conceal(text))

    # -- inside ---------------------------------------------------------------------------------------------------

    def _value(self, name: str) -> str:
        if name not in self._values:
            raise MissingCredential(f"environment variable {name} is not set (referenced as ${{{name}}} in the "
                                    "sources file)")
        return self._values[name]

    def _expand(self, text: str, grant: _Grant, safe: str) -> str:
        def swap(match: re.Match) -> str:
            name = _name(match)
            if name not in grant.names:
                return match[0]
            value = self._value(name)
            return value if name in self._sealed else quote(value, safe=safe)
        return ANY_REFERENCE.sub(swap, text)

    def _basic(self, userinfo: str, grant: _Grant) -> str:
        user, _, password = userinfo.partition(":")
        pair = f"{unquote(self._expand(user, grant, ''))}:{unquote(self._expand(password, grant, ''))}"
        return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

    def _variants(self) -> list[tuple[str, str]]:
        """Every form a credential may take in text, longest first (so a longer form is replaced whole)."""
        forms: dict[str, str] = {}
        for name, value in self._values.items():
            for form in (value, quote(value, safe=""), quote(value, safe="/"), quote_plus(value), unquote(value),
                         unquote_plus(value)):
                forms.setdefault(form, name)
        for grant in self._grants.values():
            for userinfo in grant.userinfos:
                try:
                    forms.setdefault(self._basic(userinfo, grant).removeprefix("Basic "), "BASIC_AUTH")
                except MissingCredential:
                    pass
        return sorted(((form, name) for form, name in forms.items() if form), key=lambda item: -len(item[0]))


def _name(match: re.Match) -> str:
    return match[1] or match[2] or match[3]


def _canonical(text: str) -> str:
    """References written one way: `%24%7BNAME%7D` (a percent-encoded reference) as `${NAME}`."""
    return ANY_REFERENCE.sub(lambda match: "${" + _name(match) + "}", text)


NO_CREDENTIALS = Credentials()
