"""The hostile scenario: portals that misbehave on every route, and local archives that are broken.

Shared by the pipeline fault test and bench/faults_report.py, so the figure printed by the report is
the one the test asserts. `build` starts two fault servers (one whose robots.txt forbids everything),
writes broken and pathological WARC files and a sources file pointing the pipeline at all of it,
and returns what must come out: the documents that must reach the corpus (nothing lost) and the
failure each failing fault must leave in the warehouse (everything said).
"""

from __future__ import annotations

import io
import json
import tarfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from faults.fault_server import (FaultServer, answer, billion_laughs, drip, endless, gzip_bomb, redirect,
                                 reset_mid_body, sequence, truncated, zip_bomb)

TOPICS = ["rivers", "bridges", "schools", "forests", "harbours", "libraries", "orchards", "railways", "markets",
          "lighthouses", "vineyards", "museums", "canals", "glaciers", "bakeries", "observatories", "meadows",
          "windmills", "quarries", "archives", "gardens", "tunnels", "islands", "valleys"]


def article(topic: str) -> str:
    sentence = (f"This report about {topic} explains how the council of the {topic} district gathered opinions, "
                f"weighed the costs of every option concerning {topic} and published each decision with its reasons. ")
    return (f"<html><head><title>On {topic}</title></head><body><article><h1>On {topic}</h1>"
            + "".join(f"<p>{sentence}Paragraph {n} adds a detail only this page about {topic} has.</p>" for n in range(5))
            + "</article></body></html>")


@dataclass(frozen=True)
class Fault:
    name: str  # what is injected
    expect: str  # "document": survived (retried), its document present; "decided": kept or rejected; else an error class
    record: str = ""  # a substring of the failure's `record` (its dataset, its file) that names where it happened


@dataclass
class Scenario:
    sources_file: Path
    faults: list[Fault] = field(default_factory=list)
    expected_urls: set[str] = field(default_factory=set)  # must be in the corpus: nothing lost
    decided_urls: set[str] = field(default_factory=set)  # pathological pages: decided (kept or rejected), never lost
    servers: list[FaultServer] = field(default_factory=list)

    @property
    def failing(self) -> list[Fault]:
        """Faults that must leave a row in the warehouse's failures table."""
        return [f for f in self.faults if f.expect not in ("document", "decided")]


def build(root: Path, stack: ExitStack) -> Scenario:
    """Start the servers (closed by `stack`), write the inputs under `root`, return the scenario."""
    portal = stack.enter_context(FaultServer())
    fenced = stack.enter_context(FaultServer())  # same address, another origin: robots.txt forbids everything
    escape = stack.enter_context(FaultServer(host="127.0.0.2"))  # must never be reached
    scenario = Scenario(root / "sources.yaml", servers=[portal, fenced, escape])
    topics = iter(TOPICS)
    resources: list[tuple[str, str, str]] = []  # (url, format, name); resource n is dataset pkg-n

    def good(name: str, fault=None, expect: str = "document") -> None:
        topic = next(topics)
        url = portal.route(f"/files/{name}.html", fault or answer(article(topic)))
        resources.append((url, "html", name))
        if expect == "document":
            scenario.expected_urls.add(url)
        if fault is not None:
            scenario.faults.append(Fault(name, expect, f"dataset=pkg-{len(resources) - 1:02d}&"))

    def bad(name: str, fault, expect: str, fmt: str = "html", on=None) -> None:
        url = (on or portal).route(f"/files/{name}.{fmt}", fault)
        resources.append((url, fmt, name))
        scenario.faults.append(Fault(name, expect, f"dataset=pkg-{len(resources) - 1:02d}&"))

    body = article("the reset").encode()
    good("plain-1")
    good("plain-2")
    good("burst-500-502-503-then-ok", sequence(answer("down", 500), answer("bad gateway", 502), answer(article(next(topics)))))
    good("429-retry-after-then-ok", sequence(answer("slow down", 429, headers={"Retry-After": "1"}), answer(article(next(topics)))))
    good("reset-once-then-ok", sequence(reset_mid_body(body), answer(article(next(topics)))))
    good("latin1-labelled-utf8", answer(article("the café façade of Noël").encode("latin-1")))
    good("utf8-labelled-iso-8859-1", answer(article("Zürich und Köln").encode(), content_type="text/html; charset=iso-8859-1"))
    good("invalid-utf8", answer(article("broken bytes").encode() .replace(b"broken", b"br\xff\xfeoken")))
    bad("reset-mid-body", reset_mid_body(body), "ConnectionError")
    bad("truncated-body", truncated(body), "ConnectionError")
    bad("slow-drip", drip(body, every=0.05), "Timeout")
    bad("server-errors-forever", answer("down", 503), "HTTP503")
    bad("429-too-long", answer("busy", 429, headers={"Retry-After": "86400"}), "HTTP429")
    bad("endless-page", endless(), "TooLarge")
    bad("gzip-bomb", answer(gzip_bomb(32 << 20), headers={"Content-Encoding": "gzip"}), "TooLarge")
    portal.route("/loop-a", redirect("/loop-b"))
    portal.route("/loop-b", redirect("/loop-a"))
    bad("redirect-loop", redirect("/loop-a"), "TooManyRedirects")
    for n in range(12):
        portal.route(f"/chain/{n}", redirect(f"/chain/{n + 1}"))
    bad("redirect-chain", redirect("/chain/0"), "TooManyRedirects")
    escape.route("/admin", answer("internal"))
    bad("redirect-to-127.0.0.2", redirect(f"http://127.0.0.2:{escape.port}/admin"), "RefusedAddress")
    bad("zip-bomb", answer(zip_bomb(8 << 20), content_type="application/zip"), "ArchiveRefused", fmt="zip")
    bad("xml-billion-laughs", answer(billion_laughs(), content_type="text/xml"), "MalformedXml", fmt="xml")
    fenced.route("/robots.txt", answer("User-agent: *\nDisallow: /\n", content_type="text/plain"))
    bad("robots-forbid-all", answer(article("hidden")), "RobotsDisallowed", on=fenced)
    traversal = portal.route("/files/traversal.tar", answer(_tar({"../escape.txt": "x", "/etc/evil.txt": "x",
                                                                 "ok/inside.txt": _text("the archive member")}),
                                                           content_type="application/x-tar"))
    resources.append((traversal, "tar", "traversal"))
    scenario.expected_urls.add(traversal)  # its one safe member
    where = f"dataset=pkg-{len(resources) - 1:02d}&"
    scenario.faults += [Fault("tar-member-../", "ArchiveRefused", where + "resource=res-" + f"{len(resources) - 1:02d}&member=../escape.txt"),
                        Fault("tar-member-absolute", "ArchiveRefused", where + "resource=res-" + f"{len(resources) - 1:02d}&member=/etc/evil.txt")]

    packages = [{"id": f"pkg-{n:02d}", "name": name, "title": name, "license_id": "cc-by-4.0", "state": "active",
                 "metadata_modified": f"2026-01-01T00:00:{n:02d}", "resources": [{"id": f"res-{n:02d}", "url": url,
                                                                                  "format": fmt, "name": name}]}
                for n, (url, fmt, name) in enumerate(resources)]
    def package_search(handler, query):
        start, rows = int(query.get("start", 0)), int(query.get("rows", 10))
        page = {"success": True, "result": {"count": len(packages), "results": packages[start:start + rows]}}
        answer(json.dumps(page), content_type="application/json")(handler, query)

    # the catalogue API itself fails twice before answering
    portal.route("/api/3/action/package_search", sequence(answer("down", 503), answer("down", 502), package_search))
    scenario.faults.append(Fault("catalogue-503-502-then-ok", "document"))

    archives = root / "archives"
    scenario.expected_urls |= _warcs(archives, scenario)
    scenario.sources_file.write_text(yaml.safe_dump({
        "sources": [
            {"name": "hostile-portal", "kind": "ckan", "url": portal.base, "allowed_addresses": ["127.0.0.1"],
             "page_size": 10, "fetch": {"max_resource_mb": 1, "archives": {"max_total_mb": 2, "max_ratio": 50}}},
            {"name": "healthy-archive", "kind": "warc", "paths": ["archives/good.warc.gz"], "license": "CC-BY-4.0"},
            {"name": "broken-archives", "kind": "warc", "license": "CC-BY-4.0",
             "paths": [f"archives/{name}" for name in ("cut.warc.gz", "middle.warc.gz", "empty.warc.gz", "fake.warc.gz",
                                                       "pathological.warc.gz")]},
        ],
        "http": {"requests_per_second": 500, "timeout_seconds": 0.5, "max_retries": 2, "backoff_seconds": 0.01,
                 "max_retry_after_seconds": 5, "max_response_seconds": 1.0, "max_redirects": 5,
                 "contact": "https://example.org/moisson-fault-tests"},
        "policy": {"languages": "all", "licenses": {"allow": ["CC-BY-4.0"]}, "quality": {"enabled": False},
                   "dedup": {"enabled": False}, "failures": {"max_rate": 0.4}},
    }, sort_keys=False), encoding="utf-8")
    return scenario


def _text(topic: str) -> str:
    return f"A plain text note about {topic}, long enough to be a document of its own. " * 5


def _tar(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _warc(path: Path, pages: list[tuple[str, bytes, str]]) -> list[int]:
    """Write (url, payload, content type) responses; return each record's offset."""
    offsets = []
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, payload, content_type in pages:
            offsets.append(handle.tell())
            headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(payload),
                                                          http_headers=headers))
    return offsets


def _warcs(folder: Path, scenario: Scenario) -> set[str]:
    """Good, cut, corrupt, empty, fake and pathological archives; returns the URLs that must reach the corpus."""
    folder.mkdir(parents=True)
    html = "text/html; charset=utf-8"
    page = lambda name: (f"https://archive.example/{name}", article(f"{name} in the archive").encode(), html)  # noqa: E731
    expected = set()
    good = [page(f"good-{n}") for n in range(3)]
    _warc(folder / "good.warc.gz", good)
    expected |= {url for url, _, _ in good}

    cut = [page(f"cut-{n}") for n in range(3)]
    offsets = _warc(folder / "cut.warc.gz", cut)
    (folder / "cut.warc.gz").write_bytes((folder / "cut.warc.gz").read_bytes()[: offsets[2] + 40])
    expected |= {cut[0][0], cut[1][0]}
    scenario.faults.append(Fault("warc-truncated-member", "*", "cut.warc.gz@"))

    middle = [page(f"middle-{n}") for n in range(4)]
    offsets = _warc(folder / "middle.warc.gz", middle)
    data = bytearray((folder / "middle.warc.gz").read_bytes())
    data[offsets[1] + 20: offsets[1] + 40] = b"\0" * 20
    (folder / "middle.warc.gz").write_bytes(bytes(data))
    expected |= {middle[0][0], middle[2][0], middle[3][0]}
    scenario.faults.append(Fault("warc-corrupt-record-in-the-middle", "*", "middle.warc.gz@"))

    (folder / "empty.warc.gz").write_bytes(b"")
    scenario.faults.append(Fault("warc-empty-file", "NotAWebArchive", "empty.warc.gz@"))
    (folder / "fake.warc.gz").write_bytes(b"this is a plain text file wearing a .warc.gz name\n" * 20)
    scenario.faults.append(Fault("not-a-warc-named-warc-gz", "NotAWebArchive", "fake.warc.gz@"))

    pathological = [
        ("https://archive.example/deep-nesting", b"<html><body>" + b"<div>" * 100_000 + b"<p>deep</p>" + b"</div>" * 100_000
         + b"</body></html>", html),
        ("https://archive.example/megabyte-line", b"<html><body><p>" + b"word " * 250_000 + b"</p></body></html>", html),
        ("https://archive.example/binary-as-html", b"<html><body>" + bytes(range(256)) * 2000 + b"</body></html>", html),
    ]
    _warc(folder / "pathological.warc.gz", pathological)
    scenario.decided_urls |= {url for url, _, _ in pathological}
    scenario.faults += [Fault(f"html-{url.rsplit('/', 1)[1]}", "decided") for url, _, _ in pathological]
    return expected
