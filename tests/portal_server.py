"""A real HTTP server on 127.0.0.1 for harvester tests: static files, recorded OAI-PMH replays and handlers.

Routes match on the path; a handler gets the query (single values) and the request headers and
returns (status, headers, body). Every request is logged, so tests can assert what was (not) fetched.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

Answer = tuple[int, dict[str, str], bytes]
Handler = Callable[[dict[str, str], dict[str, str]], Answer]


class PortalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.log: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._request_handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "PortalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- routes -------------------------------------------------------------------------

    def file(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8",
             status: int = 200, headers: dict[str, str] | None = None) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = lambda query, request: (status, {"Content-Type": content_type, **(headers or {})}, data)
        return self.base + path

    def handler(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.base + path

    def replay(self, path: str, recording: Path, rewrite: dict[str, str] | None = None) -> str:
        """Serve an index.json recording (ListRecords...) at `path`, matching on the query as a dict."""
        index = json.loads((recording / "index.json").read_text(encoding="utf-8"))["responses"]
        answers = {}
        for entry in index.values():
            body = (recording / entry["file"]).read_bytes()
            for old, new in (rewrite or {}).items():
                body = body.replace(old.encode(), new.encode())
            content_type = entry["headers"].get("content-type", ["text/xml"])[0]
            answers[_key(entry["query"])] = (entry["status"], {"Content-Type": content_type}, body)
        self.routes[path] = lambda query, request: answers.get(_key(query), (404, {}, b"not recorded"))
        return self.base + path

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [query for p, query, _ in self.log if p == path]

    # -- plumbing -----------------------------------------------------------------------

    def _request_handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                request = {k.lower(): v for k, v in self.headers.items()}
                server.log.append((parts.path, query, request))
                route = server.routes.get(parts.path)
                status, headers, body = route(query, request) if route else (404, {}, b"no such route")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        return Handler


def _key(query: dict[str, str]) -> tuple:
    return tuple(sorted(query.items()))
