"""A hostile HTTP server on 127.0.0.1: each route misbehaves in one named way, on the wire.

Why a server of our own and not mocks: the faults that hurt a harvester live below the HTTP API
(a connection reset after half a body, a Content-Length that lies, a body that drips one byte at a
time, a chunked body that never ends). Only real sockets show whether the client survives them.

A route is a `Fault`: a callable that receives the request handler (to write raw bytes) and the
query. Every request is logged by path, so tests assert what was (and was not) fetched, and what each
path cost to answer is counted (`served`: requests, bytes written, seconds until the answer ended or the
client hung up), so the faults report can say what each fault cost the harvester on the wire.
"""

from __future__ import annotations

import gzip
import io
import socket
import struct
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

Fault = Callable[[BaseHTTPRequestHandler, dict[str, str]], None]


class FaultServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Fault] = {}
        self.log: list[str] = []
        self.served: dict[str, Served] = {}  # path -> what answering it cost
        self._served_lock = threading.Lock()
        self._server = _QuietServer((host, 0), self._request_handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.stopping = threading.Event()  # ends endless and dripping bodies when the server stops

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def route(self, path: str, fault: Fault) -> str:
        self.routes[path] = fault
        return self.base + path

    def hits(self, path: str) -> int:
        return self.log.count(path)

    def cost(self, url_prefix: str) -> "Served":
        """Requests, bytes and seconds spent answering every path whose URL starts with url_prefix."""
        total = Served()
        with self._served_lock:
            for path, served in self.served.items():
                if (self.base + path).startswith(url_prefix):
                    total.add(served.requests, served.bytes, served.seconds)
        return total

    def _count(self, path: str, sent: int, seconds: float) -> None:
        with self._served_lock:
            self.served.setdefault(path, Served()).add(1, sent, seconds)

    def _request_handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                server.log.append(parts.path)
                fault = server.routes.get(parts.path, answer(b"no such route", status=404))
                self.wfile = counter = _CountingWriter(self.wfile)
                start = time.monotonic()
                try:
                    fault(self, dict(parse_qsl(parts.query, keep_blank_values=True)) | {"_stopping": server.stopping})
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
                    self.close_connection = True
                finally:
                    server._count(parts.path, counter.written, time.monotonic() - start)
                    self.wfile = counter.stream  # a kept-alive connection's next request is counted afresh

            def log_message(self, *args):
                pass

        return Handler


@dataclass
class Served:
    """What answering some requests cost the server: how many, bytes written (head and body), seconds."""

    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def add(self, requests: int, sent: int, seconds: float) -> None:
        self.requests += requests
        self.bytes += sent
        self.seconds += seconds


class _CountingWriter:
    """The handler's output stream, counting what goes through it (bytes the client was sent or offered)."""

    def __init__(self, stream) -> None:
        self.stream, self.written = stream, 0

    def write(self, data: bytes) -> int:
        written = self.stream.write(data)
        self.written += len(data)
        return written

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client hanging up on a fault is the point of the fault, not an error worth a traceback."""


# -- well-behaved answers, the base of every fault -----------------------------------------


def send_head(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()


def answer(body: bytes | str, status: int = 200, content_type: str = "text/html; charset=utf-8",
           headers: dict[str, str] | None = None) -> Fault:
    data = body.encode("utf-8") if isinstance(body, str) else body

    def fault(handler, query):
        send_head(handler, status, {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})})
        handler.wfile.write(data)

    return fault


def sequence(*faults: Fault) -> Fault:
    """The n-th request gets the n-th fault; the last one repeats (a burst, then recovery)."""
    calls = iter(range(1 << 30))

    def fault(handler, query):
        n = next(calls)
        faults[min(n, len(faults) - 1)](handler, query)

    return fault


# -- faults on the wire ---------------------------------------------------------------------


def reset_mid_body(body: bytes, content_type: str = "text/html") -> Fault:
    """Half the declared body, then a TCP reset (SO_LINGER 0): the client sees ECONNRESET mid-read."""

    def fault(handler, query):
        send_head(handler, 200, {"Content-Type": content_type, "Content-Length": str(len(body))})
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.close_connection = True

    return fault


def truncated(body: bytes, content_type: str = "text/html") -> Fault:
    """A Content-Length larger than what is sent, then a clean close: a body cut short."""

    def fault(handler, query):
        send_head(handler, 200, {"Content-Type": content_type, "Content-Length": str(len(body) * 2)})
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
        handler.close_connection = True

    return fault


def short_length(body: bytes, content_type: str = "text/html") -> Fault:
    """A Content-Length smaller than the body, on a kept-alive connection: the rest pollutes the next answer."""

    def fault(handler, query):
        send_head(handler, 200, {"Content-Type": content_type, "Content-Length": str(len(body) // 2)})
        handler.wfile.write(body)

    return fault


def drip(body: bytes, every: float, content_type: str = "text/html") -> Fault:
    """One byte every `every` seconds: each read is quick enough, the whole answer never is."""

    def fault(handler, query):
        send_head(handler, 200, {"Content-Type": content_type, "Content-Length": str(len(body))})
        for byte in body:
            if query["_stopping"].wait(every):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    return fault


def endless(content_type: str = "text/html; charset=utf-8") -> Fault:
    """A chunked body that never ends (until the client hangs up or the server stops)."""
    chunk = b"<p>" + b"and again " * 400 + b"</p>\n"
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"

    def fault(handler, query):
        send_head(handler, 200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        while not query["_stopping"].is_set():
            handler.wfile.write(framed)

    return fault


def redirect(location: str, status: int = 302) -> Fault:
    return answer(b"", status=status, headers={"Location": location})


# -- hostile payloads -----------------------------------------------------------------------


def gzip_bomb(decoded_bytes: int) -> bytes:
    """A gzip stream of zeros: a few kilobytes on the wire, `decoded_bytes` once inflated."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as handle:
        block = b"\0" * (1 << 20)
        for _ in range(decoded_bytes >> 20):
            handle.write(block)
    return out.getvalue()


def zip_bomb(member_bytes: int, members: int = 1) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(members):
            archive.writestr(f"page{n}.txt", b"A" * member_bytes)
    return out.getvalue()


def billion_laughs(levels: int = 9) -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, levels + 1)]
    return (f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{"".join(entities)}]>\n'
            f'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">&lol{levels};</OAI-PMH>').encode()


def external_entity(target: str = "file:///etc/passwd") -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "{target}">]>\n'
            '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">&xxe;</OAI-PMH>').encode()


def slow(seconds: float, then: Fault) -> Fault:
    """Say nothing for `seconds` (past the read timeout), then answer; nothing at all if the server stops first."""

    def fault(handler, query):
        if not query["_stopping"].wait(seconds):
            then(handler, query)

    return fault
