"""The hostile scenario: portals that misbehave on every route, and local archives that are broken.

Shared by the pipeline fault test and bench/faults_report.py, so the figure printed by the report is
the one the test asserts. `build` starts the fault servers (one whose robots.txt forbids everything,
one that counts requests nothing should make), writes broken and pathological files and a sources
file pointing the pipeline at all of it, and returns what must come out: the documents that must
reach the corpus (nothing lost), the failure each failing fault must leave in the warehouse
(everything said), and, per fault, where its cost can be read (`urls`: what the servers spent
answering it; `source`: a source of its own, whose share of the run is the fault's).

The faults of the first scenario are always built. Each hole of issue 13 adds its own faults
(`HOLES`), most of them in a source of their own; `build(..., holes=...)` chooses which, so the test
suite asserts the holes whose fix has landed while the report shows every one.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import secrets
import tarfile
import zlib
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from faults.fault_server import (FaultServer, answer, billion_laughs, drip, endless, gzip_bomb, redirect,
                                 reset_mid_body, sequence, truncated, zip_bomb)

TOPICS = ["rivers", "bridges", "schools", "forests", "harbours", "libraries", "orchards", "railways", "markets",
          "lighthouses", "vineyards", "museums", "canals", "glaciers", "bakeries", "observatories", "meadows",
          "windmills", "quarries", "archives", "gardens", "tunnels", "islands", "valleys"]
HTML = "text/html; charset=utf-8"
TOKEN_VARIABLE = "HOSTILE_PORTAL_TOKEN"  # not MOISSON_*: the tests' runs drop those from the environment
HEALTHY_SOURCE = "healthy-archive"  # three good pages: what curating a source costs when nothing is wrong

HOLES = {  # issue 13's holes, each with the faults that show it closed
    "jsonld-contexts": "a DCAT JSON-LD catalogue's remote @context (term definition, @import, type-scoped) is never fetched",
    "secrets-in-urls": "a ${TOKEN} in a source URL is never written to the data directory or printed",
    "extraction-budget": "a page over the extraction budget is rejected within the budget + 2 s",
    "warc-header-size": "a WARC header line is capped before warcio reads it whole",
    "archive-member-bytes": "refused and unknown tar members count against the archive limits",
    "nested-json": "deeply nested JSON fails its page or line, not the source",
    "jsonl-line-size": "an oversize JSONL line is not read whole",
    "warc-charset-label": "a bogus charset label (base64, zlib, rot13) does not fail a good page",
    "6to4-addresses": "a 6to4 address (2002::/16) is refused like the loopback it embeds",
}


def article(topic: str) -> str:
    sentence = (f"This report about {topic} explains how the council of the {topic} district gathered opinions, "
                f"weighed the costs of every option concerning {topic} and published each decision with its reasons. ")
    return (f"<html><head><title>On {topic}</title></head><body><article><h1>On {topic}</h1>"
            + "".join(f"<p>{sentence}Paragraph {n} adds a detail only this page about {topic} has.</p>" for n in range(5))
            + "</article></body></html>")


@dataclass(frozen=True)
class Bound:
    """A cost the report checks on a fault's own source (the tests do not: wall clock and memory on a loaded
    machine are the bench's business), each beyond what the healthy archive's source (three good pages) cost in
    the same run: wall seconds, CPU seconds, and the process tree's peak RSS while the source was curated."""

    extra_s: float | None = None
    extra_cpu_s: float | None = None
    extra_rss_mb: float | None = None


@dataclass(frozen=True)
class Fault:
    name: str  # what is injected
    # "document": survived (retried), its documents present; "decided": kept or rejected; "no request": nothing
    # asked its urls; "secret absent": the scenario's secret is nowhere in the data directory or the output;
    # else the error class of the failure row it must leave ("*": any class)
    expect: str
    record: str = ""  # a substring of the failure's `record` (its dataset, its file) that names where it happened
    hole: str = ""  # the issue-13 hole it checks; "" for the faults of the first scenario
    documents: tuple[str, ...] = ()  # URLs that must reach the corpus (or be decided) despite the fault
    urls: tuple[str, ...] = ()  # URL prefixes of the routes serving it: their requests, bytes and seconds
    source: str = ""  # the source it has to itself, whose share of the run is what the fault cost
    message: str = ""  # a word the failure's message must hold
    input_bytes: int = 0  # size of a hostile local file
    bound: Bound | None = None


@dataclass
class Scenario:
    sources_file: Path
    faults: list[Fault] = field(default_factory=list)
    expected_urls: set[str] = field(default_factory=set)  # must be in the corpus: nothing lost
    decided_urls: set[str] = field(default_factory=set)  # pathological pages: decided (kept or rejected), never lost
    servers: list[FaultServer] = field(default_factory=list)  # portal, fenced, escape, contexts
    env: dict[str, str] = field(default_factory=dict)  # variables the run needs (the secret in a source URL)
    secret: str = ""

    @property
    def failing(self) -> list[Fault]:
        """Faults that must leave a row in the warehouse's failures table."""
        return [f for f in self.faults if f.expect not in ("document", "decided", "no request", "secret absent")]

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)
        (self.decided_urls if fault.expect == "decided" else self.expected_urls).update(fault.documents)


def build(root: Path, stack: ExitStack, holes: frozenset[str] | set[str] = frozenset(HOLES)) -> Scenario:
    """Start the servers (closed by `stack`), write the inputs under `root`, return the scenario with the faults
    of the first scenario and those of `holes` (default: every hole)."""
    unknown = set(holes) - set(HOLES)
    if unknown:
        raise ValueError(f"unknown holes {sorted(unknown)}; known: {sorted(HOLES)}")
    portal = stack.enter_context(FaultServer())
    fenced = stack.enter_context(FaultServer())  # same address, another origin: robots.txt forbids everything
    escape = stack.enter_context(FaultServer(host="127.0.0.2"))  # must never be reached
    contexts = stack.enter_context(FaultServer())  # JSON-LD contexts no parse may fetch: counts the requests
    scenario = Scenario(root / "sources.yaml", servers=[portal, fenced, escape, contexts])
    sources = [_hostile_portal(portal, fenced, escape, scenario, holes),
               {"name": HEALTHY_SOURCE, "kind": "warc", "paths": ["archives/good.warc.gz"], "license": "CC-BY-4.0"},
               {"name": "broken-archives", "kind": "warc", "license": "CC-BY-4.0",
                "paths": [f"archives/{name}" for name in ("cut.warc.gz", "middle.warc.gz", "empty.warc.gz",
                                                          "fake.warc.gz", "pathological.warc.gz")]}]
    _warcs(root / "archives", scenario)
    for hole, add_faults in HOLE_FAULTS.items():
        if hole in holes:
            sources += add_faults(root, portal, contexts, scenario)
    scenario.sources_file.write_text(yaml.safe_dump({
        "sources": sources,
        # timeouts with room for a loaded machine (a good page from 127.0.0.1 must not time out); the slow drip
        # (72 s for its page) outlasts them 36 times
        "http": {"requests_per_second": 500, "timeout_seconds": 2.0, "max_retries": 2, "backoff_seconds": 0.01,
                 "max_retry_after_seconds": 5, "max_response_seconds": 2.0, "max_redirects": 5,
                 "contact": "https://example.org/moisson-fault-tests"},
        "policy": {"languages": "all", "licenses": {"allow": ["CC-BY-4.0"]}, "quality": {"enabled": False},
                   "dedup": {"enabled": False}, "failures": {"max_rate": 0.4}},
    }, sort_keys=False), encoding="utf-8")
    return scenario


# ---------------------------------------------------------------- the first scenario


def _hostile_portal(portal: FaultServer, fenced: FaultServer, escape: FaultServer, scenario: Scenario,
                    holes: frozenset[str] | set[str]) -> dict:
    """A CKAN portal whose resources misbehave on the wire, one dataset each; returns its source."""
    topics = iter(TOPICS)
    resources: list[tuple[str, str, str]] = []  # (url, format, name); resource n is dataset pkg-n

    def where() -> str:
        return f"dataset=pkg-{len(resources) - 1:02d}&"

    def good(name: str, fault=None) -> str:
        url = portal.route(f"/files/{name}.html", fault or answer(article(next(topics))))
        resources.append((url, "html", name))
        if fault is None:
            scenario.expected_urls.add(url)
        else:
            scenario.add(Fault(name, "document", where(), documents=(url,), urls=(url,)))
        return url

    def bad(name: str, fault, expect: str, fmt: str = "html", on=None, also: tuple[str, ...] = (), hole: str = "") -> None:
        url = (on or portal).route(f"/files/{name}.{fmt}", fault)
        resources.append((url, fmt, name))
        scenario.add(Fault(name, expect, where(), hole=hole, urls=(url, *also)))

    body = article("the reset").encode()
    firsts = [good("plain-1"), good("plain-2")]
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
    bad("redirect-loop", redirect("/loop-a"), "TooManyRedirects", also=(f"{portal.base}/loop-",))
    for n in range(12):
        portal.route(f"/chain/{n}", redirect(f"/chain/{n + 1}"))
    bad("redirect-chain", redirect("/chain/0"), "TooManyRedirects", also=(f"{portal.base}/chain/",))
    escape.route("/admin", answer("internal"))
    bad("redirect-to-127.0.0.2", redirect(f"http://127.0.0.2:{escape.port}/admin"), "RefusedAddress",
        also=(f"{escape.base}/",))
    if "6to4-addresses" in holes:  # 2002:7f00:1:: is 6to4 for 127.0.0.1
        bad("redirect-to-6to4-2002:7f00:1::", redirect(f"http://[2002:7f00:1::]:{escape.port}/admin"), "RefusedAddress",
            hole="6to4-addresses")
    bad("zip-bomb", answer(zip_bomb(8 << 20), content_type="application/zip"), "ArchiveRefused", fmt="zip")
    bad("xml-billion-laughs", answer(billion_laughs(), content_type="text/xml"), "MalformedXml", fmt="xml")
    fenced.route("/robots.txt", answer("User-agent: *\nDisallow: /\n", content_type="text/plain"))
    bad("robots-forbid-all", answer(article("hidden")), "RobotsDisallowed", on=fenced)
    traversal = portal.route("/files/traversal.tar", answer(_tar({"../escape.txt": "x", "/etc/evil.txt": "x",
                                                                 "ok/inside.txt": _text("the archive member")}),
                                                           content_type="application/x-tar"))
    resources.append((traversal, "tar", "traversal"))
    member = where() + "resource=res-" + f"{len(resources) - 1:02d}&member="
    scenario.add(Fault("tar-member-../", "ArchiveRefused", member + "../escape.txt", documents=(traversal,), urls=(traversal,)))
    scenario.add(Fault("tar-member-absolute", "ArchiveRefused", member + "/etc/evil.txt", documents=(traversal,)))

    packages = [_package(f"pkg-{n:02d}", name, url, fmt, n) for n, (url, fmt, name) in enumerate(resources)]
    # the catalogue API itself fails twice before answering
    search = portal.route("/api/3/action/package_search",
                          sequence(answer("down", 503), answer("down", 502), _package_search(packages)))
    scenario.add(Fault("catalogue-503-502-then-ok", "document", documents=tuple(firsts), urls=(search,)))
    return {"name": "hostile-portal", "kind": "ckan", "url": portal.base, "allowed_addresses": ["127.0.0.1"],
            "page_size": 10, "fetch": {"max_resource_mb": 1, "archives": {"max_total_mb": 2, "max_ratio": 50}}}


def _package(identifier: str, name: str, url: str, fmt: str, n: int = 0) -> dict:
    return {"id": identifier, "name": name, "title": name, "license_id": "cc-by-4.0", "state": "active",
            "metadata_modified": f"2026-01-01T00:00:{n:02d}",
            "resources": [{"id": identifier.replace("pkg", "res"), "url": url, "format": fmt, "name": name}]}


def _package_search(packages: list[dict]):
    def fault(handler, query):
        start, rows = int(query.get("start", 0)), int(query.get("rows", 10))
        page = {"success": True, "result": {"count": len(packages), "results": packages[start:start + rows]}}
        answer(json.dumps(page), content_type="application/json")(handler, query)

    return fault


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


def _warc_bytes(pages: list[tuple[str, bytes, str]]) -> tuple[bytes, list[int]]:
    """(url, payload, content type) responses as a gzipped WARC, and each record's offset."""
    handle, offsets = io.BytesIO(), []
    writer = WARCWriter(handle, gzip=True)
    for url, payload, content_type in pages:
        offsets.append(handle.tell())
        headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=headers))
    return handle.getvalue(), offsets


def _warc(path: Path, pages: list[tuple[str, bytes, str]]) -> list[int]:
    """Write (url, payload, content type) responses; return each record's offset."""
    data, offsets = _warc_bytes(pages)
    path.write_bytes(data)
    return offsets


def _page(name: str, content_type: str = HTML) -> tuple[str, bytes, str]:
    return f"https://archive.example/{name}", article(f"{name} in the archive").encode(), content_type


def _warcs(folder: Path, scenario: Scenario) -> None:
    """Good, cut, corrupt, empty, fake and pathological archives."""
    folder.mkdir(parents=True)
    good = [_page(f"good-{n}") for n in range(3)]
    _warc(folder / "good.warc.gz", good)
    scenario.expected_urls.update(url for url, _, _ in good)

    cut = [_page(f"cut-{n}") for n in range(3)]
    offsets = _warc(folder / "cut.warc.gz", cut)
    (folder / "cut.warc.gz").write_bytes((folder / "cut.warc.gz").read_bytes()[: offsets[2] + 40])
    scenario.add(Fault("warc-truncated-member", "*", "cut.warc.gz@", documents=(cut[0][0], cut[1][0])))

    middle = [_page(f"middle-{n}") for n in range(4)]
    offsets = _warc(folder / "middle.warc.gz", middle)
    data = bytearray((folder / "middle.warc.gz").read_bytes())
    data[offsets[1] + 20: offsets[1] + 40] = b"\0" * 20
    (folder / "middle.warc.gz").write_bytes(bytes(data))
    scenario.add(Fault("warc-corrupt-record-in-the-middle", "*", "middle.warc.gz@",
                       documents=(middle[0][0], middle[2][0], middle[3][0])))

    (folder / "empty.warc.gz").write_bytes(b"")
    scenario.add(Fault("warc-empty-file", "NotAWebArchive", "empty.warc.gz@"))
    (folder / "fake.warc.gz").write_bytes(b"this is a plain text file wearing a .warc.gz name\n" * 20)
    scenario.add(Fault("not-a-warc-named-warc-gz", "NotAWebArchive", "fake.warc.gz@"))

    pathological = [
        ("https://archive.example/deep-nesting", b"<html><body>" + b"<div>" * 100_000 + b"<p>deep</p>" + b"</div>" * 100_000
         + b"</body></html>", HTML),
        ("https://archive.example/megabyte-line", b"<html><body><p>" + b"word " * 250_000 + b"</p></body></html>", HTML),
        ("https://archive.example/binary-as-html", b"<html><body>" + bytes(range(256)) * 2000 + b"</body></html>", HTML),
    ]
    _warc(folder / "pathological.warc.gz", pathological)
    for url, _, _ in pathological:
        scenario.add(Fault(f"html-{url.rsplit('/', 1)[1]}", "decided", documents=(url,)))


# ---------------------------------------------------------------- issue 13's holes, one function each
# Each adds its faults to the scenario and returns the sources that hold them.


def _jsonld_contexts(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """Three DCAT JSON-LD catalogues, each naming a remote context where the old check did not look: inside a
    term definition, in an `@import`, and scoped to a type. No parse may ask the context server for anything."""
    vocabulary = {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/"}
    sources = []
    for kind in ("term", "import", "type"):
        context = contexts.route(f"/ctx/{kind}.jsonld", answer(json.dumps({"@context": {"title": "dct:title"}}),
                                                               content_type="application/ld+json"))
        local = {"term": {**vocabulary, "distribution": {"@id": "dcat:distribution", "@context": context}},
                 "import": {"@version": 1.1, "@import": context, **vocabulary},
                 "type": {**vocabulary, "Dataset": {"@id": "dcat:Dataset", "@context": context}}}[kind]
        catalogue = {"@context": local, "@id": f"https://catalogue.example/{kind}",
                     "@type": "Dataset" if kind == "type" else "dcat:Dataset", "dct:title": f"Scoped context ({kind})",
                     "distribution" if kind == "term" else "dcat:distribution":
                         {"@id": f"https://catalogue.example/{kind}/d", "dcat:downloadURL": f"{portal.base}/files/plain-1.html"}}
        url = portal.route(f"/dcat/{kind}.jsonld", answer(json.dumps(catalogue), content_type="application/ld+json"))
        name = f"dcat-context-{kind}"
        sources.append({"name": name, "kind": "dcat", "url": url, "allowed_addresses": ["127.0.0.1"]})
        scenario.add(Fault(f"jsonld-remote-context-{kind}", "no request", hole="jsonld-contexts", urls=(context,),
                           source=name))
    return sources


def _secret_in_url(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """A remote WARC whose URL carries a token from the environment, and a second one that is not there (so the
    URL reaches the failures table too): the token must be written nowhere and printed nowhere."""
    scenario.secret = f"tok{secrets.token_hex(12)}"
    scenario.env[TOKEN_VARIABLE] = scenario.secret
    page = _page("behind-a-token")
    data, _ = _warc_bytes([page])
    portal.route("/secret/site.warc.gz", answer(data, content_type="application/warc"))
    scenario.add(Fault("token-in-source-url-query", "secret absent", hole="secrets-in-urls", documents=(page[0],),
                       urls=(f"{portal.base}/secret/",), source="token-archive"))
    query = f"?token=${{{TOKEN_VARIABLE}}}"
    return [{"name": "token-archive", "kind": "warc", "license": "CC-BY-4.0", "allow_private_addresses": True,
             "paths": [f"{portal.base}/secret/site.warc.gz{query}", f"{portal.base}/secret/gone.warc.gz{query}"]}]


def _attribute_flood(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """A 1.1 MB page whose one element has 120,000 attributes (libxml2 checks each against all the others), beside
    a good page: rejected for extraction within the 20 s budget + 2 s, the good page kept."""
    attributes = "".join(f" a{n}=1" for n in range(120_000))
    flood = ("https://archive.example/120k-attributes",
             f"<html><body><div{attributes}><p>{_text('an element with too many attributes')}</p></div></body></html>".encode(),
             HTML)
    neighbour = _page("beside-the-flood")
    path = root / "archives" / "flood.warc.gz"
    offsets = _warc(path, [neighbour, flood])
    scenario.add(Fault("html-120k-attributes-1.1MB", "*", f"flood.warc.gz@{offsets[1]}", hole="extraction-budget",
                       documents=(neighbour[0],), source="attribute-flood", input_bytes=path.stat().st_size,
                       bound=Bound(extra_s=22)))
    return [{"name": "attribute-flood", "kind": "warc", "paths": ["archives/flood.warc.gz"], "license": "CC-BY-4.0"}]


HUGE_LINE = 256 << 20


def _huge_header_line(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """A record whose WARC header holds one 256 MiB line of spaces (a 1 MB gzip member), between two good records:
    a failure row, both neighbours kept, and the line never held whole (peak RSS less than half of it above a
    healthy source's)."""
    before, after = _page("before-the-huge-header"), _page("after-the-huge-header")
    first, _ = _warc_bytes([before])
    last, _ = _warc_bytes([after])
    path = root / "archives" / "header-line.warc.gz"
    path.write_bytes(first + _huge_header_member() + last)
    scenario.add(Fault("warc-header-line-256MiB", "*", f"header-line.warc.gz@{len(first)}", hole="warc-header-size",
                       documents=(before[0], after[0]), source="warc-header-line", input_bytes=path.stat().st_size,
                       bound=Bound(extra_rss_mb=HUGE_LINE / 2**21)))
    return [{"name": "warc-header-line", "kind": "warc", "paths": ["archives/header-line.warc.gz"], "license": "CC-BY-4.0"}]


def _huge_header_member() -> bytes:
    payload = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + article("a huge header").encode()
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # a gzip member of its own, as a .warc.gz holds records
    parts = [compressor.compress(b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://archive.example/huge-header\r\n"
                                 b"WARC-Date: 2026-01-01T00:00:00Z\r\n"
                                 b"WARC-Record-ID: <urn:uuid:6b1c1d64-0000-4000-8000-000000000001>\r\nX-Padding: ")]
    block = b" " * (1 << 20)
    parts += [compressor.compress(block) for _ in range(HUGE_LINE >> 20)]
    parts.append(compressor.compress(b"\r\nContent-Type: application/http; msgtype=response\r\n"
                                     + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload + b"\r\n\r\n"))
    return b"".join(parts) + compressor.flush()


def _refused_tar_members(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """A 10 KB .tar.bz2 of a `../` member and a member of an unknown type, 4 GiB of zeros each: refused members
    are skipped, and skipping decompresses. The archive limit (2 MB) must stop it, in a few seconds of CPU."""
    bomb = portal.route("/bz2/files/refused-members.tar.bz2", answer(_tar_bz2_of_refused_members(),
                                                                     content_type="application/x-bzip2"))
    neighbour = portal.route("/bz2/files/beside-the-tar.html", answer(article("the tar's neighbour")))
    packages = [_package("bz2-00", "refused-members", bomb, "tar"), _package("bz2-01", "beside", neighbour, "html", 1)]
    portal.route("/bz2/api/3/action/package_search", _package_search(packages))
    scenario.add(Fault("tar-bz2-8GiB-of-refused-members", "ArchiveRefused", "dataset=bz2-00&", hole="archive-member-bytes",
                       documents=(neighbour,), urls=(bomb,), source="tar-bz2-members", message="limit",
                       bound=Bound(extra_cpu_s=10)))
    return [{"name": "tar-bz2-members", "kind": "ckan", "url": f"{portal.base}/bz2", "allowed_addresses": ["127.0.0.1"],
             "fetch": {"archives": {"max_total_mb": 2, "max_ratio": 50}}}]


ZERO_STREAM = 64 << 20  # bz2 makes 79 bytes of 64 MiB of zeros, and reads concatenated streams as one


def _tar_bz2_of_refused_members(each: int = 4 << 30) -> bytes:
    zeros = bz2.compress(b"\0" * ZERO_STREAM, 9)
    streams = []
    for name, kind in (("../outside/big.bin", tarfile.REGTYPE), ("unknown-type.bin", b"Z")):
        info = tarfile.TarInfo(name)
        info.size, info.type = each, kind
        streams.append(bz2.compress(info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")))
        streams += [zeros] * (each // ZERO_STREAM)
    streams.append(bz2.compress(b"\0" * 2 * tarfile.BLOCKSIZE))  # end of archive
    return b"".join(streams)


NESTING = 100_000  # far past Python's recursion limit (1,000)


def _nested(depth: int = NESTING) -> str:
    return "[" * depth + "]" * depth


def _nested_json(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """JSON nested 100,000 deep in a CKAN page, a udata page and a JSONL line, each after good data: the bad page
    or line is a failure row, what came before it (and the JSONL lines after) reach the corpus."""
    ckan_good = portal.route("/nested-ckan/files/first.html", answer(article("the first CKAN page")))
    packages = [_package("nested-00", "first", ckan_good, "html")]

    def ckan_pages(handler, query):
        if int(query.get("start", 0)) == 0:
            page = json.dumps({"success": True, "result": {"count": 2, "results": packages}})
        else:
            page = '{"success": true, "result": {"count": 2, "results": [{"id": "deep", "extras": ' + _nested() + "}]}}"
        answer(page, content_type="application/json")(handler, query)

    portal.route("/nested-ckan/api/3/action/package_search", ckan_pages)
    udata_good = portal.route("/nested-udata/files/first.html", answer(article("the first udata page")))
    datasets = f"{portal.base}/nested-udata/api/1/datasets/"

    def udata_pages(handler, query):
        if query.get("page", "1") == "1":
            row = {"id": "nested-first", "title": "first", "license": "cc-by-4.0", "last_update": "2026-01-01T00:00:00",
                   "resources": [{"id": "first-page", "url": udata_good, "format": "html", "title": "first"}]}
            page = json.dumps({"data": [row], "next_page": f"{datasets}?page=2"})
        else:
            page = '{"data": [{"id": "deep", "extras": ' + _nested() + "}], \"next_page\": null}"
        answer(page, content_type="application/json")(handler, query)

    portal.route("/nested-udata/api/1/datasets/", udata_pages)
    lines = _jsonl(root / "dumps" / "nested.jsonl", ["first line", None, "third line"],
                   lambda: '{"text": "deep", "extras": ' + _nested() + "}")
    scenario.add(Fault("ckan-page-nested-100k-deep", "*", "nested-ckan/api/3/action/package_search?rows=1&start=1",
                       hole="nested-json", documents=(ckan_good,), source="nested-ckan"))
    scenario.add(Fault("udata-page-nested-100k-deep", "*", "nested-udata/api/1/datasets/?page=2", hole="nested-json",
                       documents=(udata_good,), source="nested-udata"))
    scenario.add(Fault("jsonl-line-nested-100k-deep", "*", "nested.jsonl:2", hole="nested-json", documents=lines,
                       source="nested-jsonl"))
    return [{"name": "nested-ckan", "kind": "ckan", "url": f"{portal.base}/nested-ckan", "allowed_addresses": ["127.0.0.1"],
             "page_size": 1},
            {"name": "nested-udata", "kind": "udata", "url": f"{portal.base}/nested-udata", "allowed_addresses": ["127.0.0.1"],
             "page_size": 1},
            {"name": "nested-jsonl", "kind": "files", "paths": ["dumps/nested.jsonl"], "license": "CC-BY-4.0"}]


def _jsonl(path: Path, texts: list[str | None], bad_line) -> tuple[str, ...]:
    """A JSONL file of good lines (a text each) with `bad_line()` where texts holds None; the good lines' URLs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    urls = []
    with path.open("w", encoding="utf-8") as handle:
        for n, text in enumerate(texts, start=1):
            if text is None:
                handle.write(bad_line() + "\n")
                continue
            urls.append(f"https://dump.example/{path.stem}/{n}")
            handle.write(json.dumps({"text": _text(f"the {text} of {path.name}"), "url": urls[-1]}) + "\n")
    return tuple(urls)


def _long_jsonl_line(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """A 30 MiB JSONL line (the record cap is 20 MiB) between two good ones: a failure row, the rest read."""
    path = root / "dumps" / "long-line.jsonl"
    lines = _jsonl(path, ["first line", None, "third line"], lambda: json.dumps({"text": "word " * (6 << 20)}))
    scenario.add(Fault("jsonl-line-30MiB", "PayloadTooLarge", "long-line.jsonl:2", hole="jsonl-line-size", documents=lines,
                       source="long-jsonl-line", input_bytes=path.stat().st_size))
    return [{"name": "long-jsonl-line", "kind": "files", "paths": ["dumps/long-line.jsonl"], "license": "CC-BY-4.0"}]


def _charset_labels(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """Good pages whose HTTP header names a codec that is no character set: read as the bytes say, kept."""
    pages = [_page(f"charset-{label}", f"text/html; charset={label}") for label in ("base64", "zlib", "rot13")]
    _warc(root / "archives" / "charset-labels.warc.gz", pages)
    for url, _, content_type in pages:
        scenario.add(Fault(f"warc-{content_type.rsplit(' ', 1)[1]}", "document", hole="warc-charset-label",
                           documents=(url,), source="charset-labels"))
    return [{"name": "charset-labels", "kind": "warc", "paths": ["archives/charset-labels.warc.gz"], "license": "CC-BY-4.0"}]


def _no_source(root: Path, portal: FaultServer, contexts: FaultServer, scenario: Scenario) -> list[dict]:
    """Holes whose faults live in the hostile portal itself (see _hostile_portal)."""
    return []


HOLE_FAULTS = {"jsonld-contexts": _jsonld_contexts, "secrets-in-urls": _secret_in_url,
               "extraction-budget": _attribute_flood, "warc-header-size": _huge_header_line,
               "archive-member-bytes": _refused_tar_members, "nested-json": _nested_json,
               "jsonl-line-size": _long_jsonl_line, "warc-charset-label": _charset_labels, "6to4-addresses": _no_source}


# ---------------------------------------------------------------- what came out


@dataclass(frozen=True)
class Verdict:
    fault: Fault
    observed: str
    survived: bool


def judge(scenario: Scenario, data: Path, output: str) -> list[Verdict]:
    """Each fault against what the run left in `data` and printed (`output`): survived or not, and what was seen."""
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        kept = {r[0] for r in con.execute("SELECT DISTINCT url FROM corpus").fetchall()}
        decided = {r[0] for r in con.execute("SELECT DISTINCT url FROM documents").fetchall()}
        failures = con.execute("SELECT record, error_class, message FROM failures").fetchall()
    verdicts = []
    for fault in scenario.faults:
        lost = [url for url in fault.documents if url not in (decided if fault.expect == "decided" else kept)]
        observed, survived = _observed(fault, scenario, data, output, failures)
        if lost:
            observed, survived = f"{observed}; {len(lost)} DOCUMENT(S) LOST", False
        verdicts.append(Verdict(fault, observed, survived))
    return verdicts


def _observed(fault: Fault, scenario: Scenario, data: Path, output: str, failures: list[tuple]) -> tuple[str, bool]:
    if fault.expect == "document":
        return "documents present", True
    if fault.expect == "decided":
        return "decided", True
    if fault.expect == "no request":
        asked = sum(server.cost(url).requests for server in scenario.servers for url in fault.urls)
        return (f"{asked} REQUEST(S)", False) if asked else ("0 requests", True)
    if fault.expect == "secret absent":
        leaks = secret_leaks(data, output, scenario.secret)
        return (f"SECRET IN {len(leaks)} PLACE(S): {', '.join(leaks[:4])}", False) if leaks else ("absent everywhere", True)
    hits = [(record, error_class, message) for record, error_class, message in failures
            if fault.record in record and fault.expect in ("*", error_class)]
    if hits and all(fault.message not in (message or "") for *_, message in hits):
        return f"failure row: {hits[0][1]}, WITHOUT '{fault.message}' IN ITS MESSAGE", False
    return (f"failure row: {hits[0][1]}", True) if hits else ("NOT RECORDED", False)


def secret_leaks(data: Path, output: str, secret: str) -> list[str]:
    """Where the secret appears: the run's output, the bytes of any file of the data directory, and the text of
    every Parquet file, warehouse table and gzip file (compressed on disk, their bytes alone would hide it)."""
    places = ["the run's output"] if secret in output else []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        if secret.encode() in raw or secret in _decoded_text(path, raw):
            places.append(str(path.relative_to(data)))
    return places


def _decoded_text(path: Path, raw: bytes) -> str:
    try:
        if path.suffix == ".parquet":
            with duckdb.connect() as con:
                return str(con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall())
        if path.suffix == ".duckdb":
            with duckdb.connect(str(path), read_only=True) as con:
                tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                                    "WHERE table_type = 'BASE TABLE'").fetchall()]
                return str([con.execute(f'SELECT * FROM "{table}"').fetchall() for table in tables])
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw).decode("utf-8", errors="replace")
    except (duckdb.Error, OSError, EOFError, zlib.error):
        return ""
    return ""
