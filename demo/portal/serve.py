"""The demo portal: a small CKAN-style and OAI-PMH-style catalogue of the project's own, on 127.0.0.1.

Why a real server: the demo should harvest a portal the way it harvests data.gouv.fr or HAL, over
HTTP, through the same polite client (robots.txt, User-Agent, conditional GET), with no network.
Only the standard library is used, so the server starts in a second even before the venv matters.

    python demo/portal/serve.py [--port 0]

prints `serving http://127.0.0.1:PORT` on its first line (port 0 picks a free one), then serves
until SIGTERM or SIGINT. Routes:

    /robots.txt                        robots.txt
    /api/3/action/package_search       ckan/package_search.json, paged by `start` and `rows`
    /oai?verb=ListRecords&...          oai/page-1.xml, then oai/page-2.xml for its resumptionToken
    /files/<name>                      files/<name>, with an ETag (If-None-Match answers 304), typed by its
                                       extension (PDF, PNG, ODT too), a TEI text as application/tei+xml

`{{BASE}}` in the catalogue and text files is replaced by the server's own address; binary files (PDF, PNG,
ODT) are served as they are. The server ignores the incremental filters (CKAN `fq`, OAI-PMH `from`): a
second harvest sees the same catalogue, which merges into the same state, and unchanged files are not
fetched again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

SITE = Path(__file__).resolve().parent
TYPES = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".xml": "text/xml; charset=utf-8",
         ".json": "application/json", ".pdf": "application/pdf", ".png": "image/png",
         ".odt": "application/vnd.oasis.opendocument.text"}
TEXT_SUFFIXES = frozenset({".html", ".txt", ".xml", ".json"})  # where {{BASE}} may appear
# A TEI text is XML with its own media type (RFC 6129): the portal says so, as a repository that knows its
# files does, so a harvester can pick its TEI reader from the Content-Type. Known by the TEI namespace.
TEI_TYPE, TEI_NAMESPACE = "application/tei+xml; charset=utf-8", b'xmlns="http://www.tei-c.org/ns/1.0"'
FIRST_PAGE, NEXT_TOKEN = "oai/page-1.xml", "valbrune-page-2"
OAI_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-02-01T00:00:00Z</responseDate>
<request>{base}/oai</request><error code="{code}">{message}</error></OAI-PMH>"""

Answer = tuple[int, str, bytes]


class DemoPortal:
    """The routes, over files read once; `base` is the address written into the catalogue."""

    def __init__(self, base: str):
        self.base = base

    def answer(self, path: str, query: dict[str, str]) -> Answer:
        if path == "/robots.txt":
            return self._file("robots.txt", "text/plain; charset=utf-8")
        if path == "/api/3/action/package_search":
            return self._package_search(int(query.get("start", 0)), int(query.get("rows", 10)))
        if path == "/oai":
            return self._oai(query)
        if path.startswith("/files/") and "/" not in path[len("/files/"):]:
            return self._file("files/" + path[len("/files/"):])
        return 404, "text/plain", b"not found"

    def _text(self, name: str) -> str:
        return (SITE / name).read_text(encoding="utf-8").replace("{{BASE}}", self.base)

    def _file(self, name: str, content_type: str | None = None) -> Answer:
        if not (SITE / name).is_file():
            return 404, "text/plain", b"not found"
        suffix = Path(name).suffix
        body = self._text(name).encode() if suffix in TEXT_SUFFIXES else (SITE / name).read_bytes()
        if content_type is None and suffix == ".xml" and TEI_NAMESPACE in body[:2048]:
            content_type = TEI_TYPE
        return 200, content_type or TYPES.get(suffix, "application/octet-stream"), body

    def _package_search(self, start: int, rows: int) -> Answer:
        envelope = json.loads(self._text("ckan/package_search.json"))
        everything = envelope["result"]["results"]
        envelope["result"]["results"] = everything[start:start + rows]
        return 200, TYPES[".json"], json.dumps(envelope, ensure_ascii=False).encode()

    def _oai(self, query: dict[str, str]) -> Answer:
        if query.get("verb") != "ListRecords":
            return self._oai_error("badVerb", "this demo answers ListRecords only")
        token = query.get("resumptionToken")
        if token is None and query.get("metadataPrefix") != "oai_dc":
            return self._oai_error("cannotDisseminateFormat", "only oai_dc")
        if token not in (None, NEXT_TOKEN):
            return self._oai_error("badResumptionToken", f"unknown token {token}")
        return self._file(FIRST_PAGE if token is None else "oai/page-2.xml")

    def _oai_error(self, code: str, message: str) -> Answer:
        return 200, TYPES[".xml"], OAI_ERROR.format(base=self.base, code=code, message=message).encode()


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    server.portal = DemoPortal(f"http://{host}:{server.server_address[1]}")
    return server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        status, content_type, body = self.server.portal.answer(parts.path, dict(parse_qsl(parts.query)))
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if status == 200 and self.headers.get("If-None-Match") == etag:
            status, body = 304, b""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status in (200, 304):
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # the demo's output is Moisson's, not an access log
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port)
    stop = lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"serving {server.portal.base}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
