"""The one HTTP layer every connector uses: polite, bounded, and safe by default.

Why one layer: politeness and safety are properties of the harvester, not of a protocol. Every
request, whether a CKAN page, an OAI-PMH token or a resource file, goes through `HttpClient.get`,
which
- names itself (User-Agent with the contact URL from the config),
- checks every URL and every redirect hop with the address guard before connecting, and connects
  to the checked address (no re-resolution),
- spaces requests per host (rate limit, robots.txt crawl-delay) and bounds concurrency per host,
- retries 429/5xx and network errors with exponential backoff, honouring Retry-After,
- reads bodies as a stream and stops past a size cap or a total time budget,
- hands very large bodies (web archives) over as a bounded file object (`stream`), never held in memory,
- swaps the source's credential references (`${TOKEN}`) for their values only on the wire, towards the origin
  the sources file named them for, and conceals them again in everything it hands back (moisson.credentials),
- answers with a `Response`, or raises a `FetchError` whose `error_class` says what went wrong.
"""

from __future__ import annotations

import io
import logging
import threading
import weakref
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import urllib3

from moisson.credentials import NO_CREDENTIALS, Credentials, MissingCredential
from sources.address_guard import RefusedAddress, Resolver, Target, check_url, system_resolver
from sources.robots import MAX_ROBOTS_BYTES, RobotsRules

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRIED_ERRORS = frozenset({"Timeout", "ConnectionError", "ConnectionRefused"})  # a server restarting refuses a while
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpSettings:
    """Everything that makes the harvester polite and bounded; built from the sources file's `http:` section."""

    user_agent: str = "Moisson/0.1 (+https://github.com/moisson/moisson)"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_seconds_per_response: float = 300.0
    max_retries: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_retry_after_seconds: float = 120.0
    max_redirects: int = 5
    min_interval_seconds: float = 1.0  # per host
    max_connections_per_host: int = 2
    max_bytes: int = 50 * 1024 * 1024
    allow_private_addresses: bool = False
    allowed_addresses: frozenset[str] = frozenset()  # exceptions to the private-address refusal (a test server)

    @property
    def robots_token(self) -> str:
        """The product token robots.txt groups are matched against ("Moisson/0.1 (...)" -> "moisson")."""
        return self.user_agent.split("/", 1)[0].split()[0].lower()


class FetchError(Exception):
    """A request that did not produce a usable response, after retries; `error_class` names the cause."""

    def __init__(self, error_class: str, url: str, message: str, status: int | None = None):
        super().__init__(f"{message} ({url})")
        self.error_class, self.url, self.message, self.status = error_class, url, message, status

    def scrubbed(self, credentials: Credentials) -> "FetchError":
        """The same error with no credential in its URL or message: what callers store and print."""
        return FetchError(self.error_class, credentials.scrub(self.url), credentials.scrub(self.message), self.status)


@dataclass(frozen=True)
class Response:
    url: str  # final URL, after redirects
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes
    stream: "BodyStream | None" = field(default=None, repr=False, compare=False)  # set by HttpClient.stream only

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return None


@dataclass(frozen=True)
class _Hop:
    """One URL on the wire: the checked target (its URL holds the expanded credentials, sent and never shown), the
    URL as shown (references kept) and the credential headers its origin receives."""

    target: Target
    shown: str
    headers: dict[str, str] = field(repr=False)


@dataclass
class _HostGate:
    """Per-host spacing and concurrency: one instance per host, shared by every thread."""

    slots: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0
    interval: float = 0.0


class HttpClient:
    """Polite GETs; one per source harvest. Thread-safe."""

    def __init__(self, settings: HttpSettings, resolver: Resolver = system_resolver,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 credentials: Credentials = NO_CREDENTIALS):
        self.settings, self._resolver, self._sleep, self._clock = settings, resolver, sleep, clock
        self._credentials = credentials
        if not credentials.empty:
            _LIVE_CREDENTIALS.add(credentials)
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, RobotsRules] = {}
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0

    # -- public -----------------------------------------------------------------------------

    def get(self, url: str, headers: dict[str, str] | None = None, *, max_bytes: int | None = None,
            accept: Callable[[int], bool] = lambda status: 200 <= status < 300 or status == 304,
            respect_robots: bool = False) -> Response:
        """GET with retries and redirects; return the response if `accept(status)`, else raise FetchError."""
        try:
            return self._follow(url, headers or {}, max_bytes or self.settings.max_bytes, accept, respect_robots, None)
        except FetchError as exc:
            raise exc.scrubbed(self._credentials) from None

    @contextmanager
    def stream(self, url: str, headers: dict[str, str] | None = None, *, max_bytes: int | None = None,
               max_seconds: float | None = None, respect_robots: bool = False) -> Iterator[io.BufferedReader]:
        """GET a body too large to hold (a web archive) as a file object; same guard, robots, retries and redirects.

        Only a 2xx answer is streamed. Reading past `max_bytes` (decoded) or `max_seconds` raises FetchError
        from `read`, so a reader fed by this stream stops there; the connection is dropped on exit.
        """
        budget = max_seconds or self.settings.max_seconds_per_response
        try:
            response = self._follow(url, headers or {}, max_bytes or self.settings.max_bytes,
                                    lambda status: 200 <= status < 300, respect_robots, budget)
        except FetchError as exc:
            raise exc.scrubbed(self._credentials) from None
        body = io.BufferedReader(response.stream, buffer_size=CHUNK_BYTES * 4)
        try:
            yield body
        finally:
            body.close()

    def _follow(self, url: str, headers: dict[str, str], limit: int, accept: Callable[[int], bool],
                respect_robots: bool, stream_seconds: float | None) -> Response:
        for _ in range(self.settings.max_redirects + 1):
            hop = self._prepare(url)
            if respect_robots:
                self._check_robots(hop)
            response = self._with_retries(hop, {**headers, **hop.headers}, limit, stream_seconds)
            if response.status in REDIRECT_STATUSES and "location" in response.headers:
                url = urljoin(url, response.headers["location"])  # credentials are re-decided for its origin
                continue
            if accept(response.status):
                return response
            raise FetchError(f"HTTP{response.status}", url, f"server answered {response.status}", response.status)
        raise FetchError("TooManyRedirects", url, f"more than {self.settings.max_redirects} redirects")

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    # -- one URL ----------------------------------------------------------------------------

    def _prepare(self, url: str) -> _Hop:
        """The URL with its origin's credentials, checked by the address guard; `url` itself stays as shown."""
        try:
            wire, credential_headers = self._credentials.prepare(url)
        except MissingCredential as exc:
            raise FetchError("MissingCredential", url, str(exc)) from None
        try:
            target = check_url(wire, self.settings.allow_private_addresses, self._resolver, self.settings.allowed_addresses)
        except RefusedAddress as exc:
            raise FetchError("RefusedAddress", url, str(exc)) from None
        return _Hop(target, url, credential_headers)

    def robots_rules(self, url: str) -> RobotsRules:
        """The robots.txt rules of a URL's origin, fetched once per client (the ones every fetch is checked
        against; also read for the AI-training agents' opt-outs, sources/tdm_reservation.py)."""
        return self._robots_for(self._prepare(url).target)

    def _check_robots(self, hop: _Hop) -> None:
        rules = self._robots_for(hop.target)
        if not rules.allows(self.settings.robots_token, hop.target.url):
            raise FetchError("RobotsDisallowed", hop.shown, rules.reason or "robots.txt disallows this URL")

    def _robots_for(self, target: Target) -> RobotsRules:
        origin = f"{target.scheme}://{target.host}:{target.port}"
        if origin not in self._robots:
            robots_url = f"{target.scheme}://{urlsplit(target.url).netloc}/robots.txt"
            try:
                response = self.get(robots_url, max_bytes=MAX_ROBOTS_BYTES, accept=lambda status: True)
                rules = RobotsRules.from_response(response.status, response.body)
            except FetchError as exc:
                rules = RobotsRules.unreachable(exc.error_class)
            self._robots[origin] = rules
            self._gate(target.host).interval = max(self._gate(target.host).interval,
                                                   rules.crawl_delay(self.settings.robots_token))
        return self._robots[origin]

    def _with_retries(self, hop: _Hop, headers: dict[str, str], limit: int,
                      stream_seconds: float | None = None) -> Response:
        attempt = 0
        while True:
            try:
                response = self._send(hop, headers, limit, stream_seconds)
            except FetchError as exc:
                if exc.error_class not in RETRIED_ERRORS or attempt >= self.settings.max_retries:
                    raise
                self._sleep(self._backoff(attempt))
            else:
                if response.status not in RETRY_STATUSES or attempt >= self.settings.max_retries:
                    return response
                self._sleep(self._wait_before_retry(hop.shown, response, attempt))
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(self.settings.backoff_seconds * (2 ** attempt), self.settings.max_backoff_seconds)

    def _wait_before_retry(self, url: str, response: Response, attempt: int) -> float:
        asked = retry_after_seconds(response.headers.get("retry-after"))
        if asked is None:
            return self._backoff(attempt)
        if asked > self.settings.max_retry_after_seconds:
            raise FetchError(f"HTTP{response.status}", url,
                             f"server asks to retry after {asked:.0f}s, more than the "
                             f"{self.settings.max_retry_after_seconds:.0f}s this harvest waits", response.status)
        return max(asked, self._backoff(attempt) if response.status != 429 else 0.0)

    # -- the wire ---------------------------------------------------------------------------

    def _send(self, hop: _Hop, headers: dict[str, str], limit: int, stream_seconds: float | None) -> Response:
        gate = self._gate(hop.target.host)
        with gate.slots:
            self._wait_turn(gate)
            try:
                return self._exchange(hop, headers, limit, stream_seconds)
            finally:
                with gate.lock:
                    gate.next_at = self._clock() + max(gate.interval, self.settings.min_interval_seconds)

    def _exchange(self, hop: _Hop, headers: dict[str, str], limit: int, stream_seconds: float | None) -> Response:
        target, shown = hop.target, hop.shown
        parts = urlsplit(target.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        all_headers = {"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate",
                       "Host": parts.netloc.rsplit("@", 1)[-1], **headers}
        try:
            raw = self._pool(target).urlopen("GET", path, headers=all_headers, redirect=False, retries=False,
                                             preload_content=False, assert_same_host=False)
        except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: urllib3 makes it a subclass
            raise _connection_failure(exc, target, shown) from None
        except urllib3.exceptions.TimeoutError as exc:
            raise FetchError("Timeout", shown, f"timed out: {exc}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError("ConnectionError", shown, f"{type(exc).__name__}: {exc}") from None
        self.requests_sent += 1
        response_headers = {k.lower(): self._credentials.conceal(v) for k, v in raw.headers.items()}
        if stream_seconds is not None and 200 <= raw.status < 300:
            _refuse_declared_oversize(raw, shown, limit)
            body = BodyStream(raw, shown, limit, self._clock() + stream_seconds, self._clock, self._credentials)
            return Response(self._credentials.scrub(shown), raw.status, response_headers, b"", stream=body)
        if stream_seconds is not None:  # an error page or a redirect on the way to an archive: small, or refused
            limit = min(limit, self.settings.max_bytes)
        try:
            body = self._read_capped(raw, shown, limit)
        finally:
            raw.release_conn()
        return Response(self._credentials.scrub(shown), raw.status, response_headers, self._credentials.conceal_body(body))

    def _read_capped(self, raw: urllib3.BaseHTTPResponse, url: str, limit: int) -> bytes:
        """Read the (decoded) body, stopping past `limit` bytes or the time budget: a bomb or a drip costs little."""
        _refuse_declared_oversize(raw, url, limit)
        deadline = self._clock() + self.settings.max_seconds_per_response
        chunks, size = [], 0
        try:
            # read1, not stream(): stream() blocks until a whole chunk has arrived, so a server dripping one byte
            # per read timeout would never reach the deadline check; read1 returns whatever has arrived.
            while chunk := raw.read1(CHUNK_BYTES, decode_content=True):
                size += len(chunk)
                if size > limit:
                    raw.close()
                    raise FetchError("TooLarge", url, f"body exceeds the cap of {limit} bytes (decoded)")
                if self._clock() > deadline:
                    raw.close()
                    raise FetchError("Timeout", url, f"body not received within {self.settings.max_seconds_per_response}s")
                chunks.append(chunk)
        except urllib3.exceptions.TimeoutError as exc:
            raise FetchError("Timeout", url, f"timed out reading the body: {exc}") from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
            raise FetchError("ConnectionError", url, f"body cut or corrupt: {type(exc).__name__}: {exc}") from None
        return b"".join(chunks)

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.host, target.port, target.address)
        with self._lock:
            if key not in self._pools:
                timeout = urllib3.Timeout(connect=self.settings.connect_timeout, read=self.settings.read_timeout)
                options = dict(port=target.port, timeout=timeout, maxsize=self.settings.max_connections_per_host, block=True)
                if target.scheme == "https":
                    self._pools[key] = urllib3.HTTPSConnectionPool(
                        target.address, server_hostname=target.host, assert_hostname=target.host,
                        cert_reqs="CERT_REQUIRED", **options)
                else:
                    self._pools[key] = urllib3.HTTPConnectionPool(target.address, **options)
            return self._pools[key]

    def _gate(self, host: str) -> _HostGate:
        with self._lock:
            if host not in self._gates:
                self._gates[host] = _HostGate(threading.Semaphore(self.settings.max_connections_per_host))
            return self._gates[host]

    def _wait_turn(self, gate: _HostGate) -> None:
        while True:
            with gate.lock:
                wait = gate.next_at - self._clock()
                if wait <= 0:
                    gate.next_at = self._clock() + max(gate.interval, self.settings.min_interval_seconds)
                    return
            self._sleep(wait)


def _connection_failure(exc: urllib3.exceptions.NewConnectionError, target: Target, shown: str) -> FetchError:
    """No connection made: refused (nothing listens, or a server restarting) is told apart from other network errors."""
    cause = exc.__cause__ or exc
    error_class = "ConnectionRefused" if isinstance(cause, ConnectionRefusedError) else "ConnectionError"
    return FetchError(error_class, shown, f"cannot connect to {target.host}:{target.port}: {cause}")


def _refuse_declared_oversize(raw: urllib3.BaseHTTPResponse, url: str, limit: int) -> None:
    declared = raw.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raw.close()
        raw.release_conn()
        raise FetchError("TooLarge", url, f"declared size {declared} bytes exceeds the cap of {limit}")


class BodyStream(io.RawIOBase):
    """A response body as a forward-only file, under the bounds `get` applies to a body held in memory.

    Why: warcio reads a file object, and a web archive is gigabytes. Every read counts decoded bytes
    against the size cap and checks the time budget (a drip-feeding server costs at most the budget);
    network errors surface as FetchError, the one error type connectors handle.
    """

    def __init__(self, raw: urllib3.BaseHTTPResponse, url: str, limit: int, deadline: float,
                 clock: Callable[[], float], credentials: Credentials = NO_CREDENTIALS):
        super().__init__()
        self._raw, self.url, self._limit, self._deadline, self._clock = raw, url, limit, deadline, clock
        self._credentials = credentials
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._readinto(buffer)
        except FetchError as exc:
            raise exc.scrubbed(self._credentials) from None

    def _readinto(self, buffer) -> int:
        if self._clock() > self._deadline:
            raise FetchError("Timeout", self.url, "body not received within its time budget")
        try:
            data = self._raw.read(len(buffer), decode_content=True)
        except urllib3.exceptions.TimeoutError as exc:
            raise FetchError("Timeout", self.url, f"timed out reading the body: {exc}") from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
            raise FetchError("ConnectionError", self.url, f"body cut or corrupt: {type(exc).__name__}: {exc}") from None
        self.bytes_read += len(data)
        if self.bytes_read > self._limit:
            raise FetchError("TooLarge", self.url, f"body exceeds the cap of {self._limit} bytes (decoded)")
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()  # never hand a half-read connection back to the pool
            self._raw.release_conn()
        super().close()


class _ConcealedInLogs(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string included: the credentials of the clients alive are
    concealed in it, so turning debug logging on at 2 a.m. prints no token. Costs nothing below DEBUG (a logger's
    filters run only for records it emits)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _LIVE_CREDENTIALS:
            message = record.getMessage()
            for credentials in list(_LIVE_CREDENTIALS):
                message = credentials.conceal(message)
            record.msg, record.args = message, ()
        return True


_LIVE_CREDENTIALS: "weakref.WeakSet[Credentials]" = weakref.WeakSet()
logging.getLogger("urllib3.connectionpool").addFilter(_ConcealedInLogs())


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
