"""Hostile catalogues and files against the readers: nothing fetched past the HTTP layer, one bad record costs one failure.

Servers are real (127.0.0.1, free ports) and count every request; files are written by the tests.
- DCAT JSON-LD naming `@context` documents anywhere (top level, list, term definition, type-scoped,
  node, nested, `@import`, relative, `file:`, a server that never answers): zero requests, no file
  read, the page a failure naming the context, the pages around it harvested.
- JSON nested deeper than Python's reader allows, in CKAN, udata, DCAT and JSONL: a failure, not a crash.
- A JSONL line far over the record limit: skipped in constant memory; a cut line: its real cause.
- Addresses Python's `is_global` lets through (6to4, site-local, NAT64 to private space...): refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from faults.fault_server import FaultServer, answer, slow
from harvest_helpers import config_for, harvest
from moisson.layout import DataLayout
from sources.address_guard import RefusedAddress, check_url, is_public, non_public_reason
from sources import offline_rdf
from sources.files import read_files
from sources.offline_rdf import ReachedOut, parse_sealed, remote_contexts, sealed
from sources.records import RawRecord, ReadFailure, ReadStats

DCAT, DCT, HYDRA = "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/", "http://www.w3.org/ns/hydra/core#"
CC_BY = "http://creativecommons.org/licenses/by/4.0/"
PREFIXES = {"dcat": DCAT, "dct": DCT}
NESTED = 100_000  # levels: far past Python's recursion limit


@pytest.fixture
def servers():
    """The portal, a server holding the contexts (must never be asked) and one that never answers in time."""
    with FaultServer() as portal, FaultServer() as contexts, FaultServer() as silent:
        for name in ("ctx", "term", "type", "node", "nested", "import", "list"):
            contexts.route(f"/{name}.jsonld", answer(json.dumps({"@context": {"title": "http://leak.example/t"}}),
                                                     content_type="application/ld+json"))
        silent.route("/ctx.jsonld", slow(30, answer("{}", content_type="application/ld+json")))
        yield portal, contexts, silent


def dcat_page(n: int, next_url: str | None, context: dict | list | str | None = None, **dataset) -> dict:
    """One catalogue page in JSON-LD: a dataset `ds-n`, the link to the next page written as a full IRI."""
    graph = [{"@id": f"http://example.org/ds/{n}", "@type": ["dcat:Dataset", "Dataset"], "dct:identifier": f"ds-{n}",
              "title": f"Dataset {n}", "dct:license": {"@id": CC_BY}, **dataset}]  # the terms hostile contexts scope
    if next_url:
        graph.append({"@id": f"http://example.org/catalog/{n}", f"{HYDRA}next": {"@id": next_url}})
    return {"@context": context if context is not None else dict(PREFIXES), "@graph": graph}


def hostile_pages(contexts: str, silent: str) -> dict[str, tuple[str, object]]:
    """Each way JSON-LD names a context by reference: (the reference, how the page carries it)."""
    inline = dict(PREFIXES)
    return {
        "term definition": (f"{contexts}/term.jsonld", {**inline, "title": {"@id": "dct:title", "@context": f"{contexts}/term.jsonld"}}),
        "type-scoped": (f"{contexts}/type.jsonld", {**inline, "Dataset": {"@id": "dcat:Dataset", "@context": f"{contexts}/type.jsonld"}}),
        "import": (f"{contexts}/import.jsonld", {**inline, "@version": 1.1, "@import": f"{contexts}/import.jsonld"}),
        "context in context": (f"{contexts}/nested.jsonld", {**inline, "@context": f"{contexts}/nested.jsonld"}),
        "file": ("file:///etc/passwd", {**inline, "title": {"@id": "dct:title", "@context": "file:///etc/passwd"}}),
        "never answers": (f"{silent}/ctx.jsonld", {**inline, "@version": 1.1, "@import": f"{silent}/ctx.jsonld"}),
        "top-level list": (f"{contexts}/list.jsonld", [f"{contexts}/list.jsonld", inline]),
        "list in a list": (f"{contexts}/list.jsonld", [inline, [[f"{contexts}/list.jsonld"]]]),
        "relative": ("ctx.jsonld", [inline, "ctx.jsonld"]),
    }


def test_dcat_json_ld_naming_contexts_anywhere_fetches_nothing_and_the_rest_is_harvested(tmp_path, servers):
    portal, contexts, silent = servers
    hostile = hostile_pages(contexts.base, silent.base)
    url = lambda n: f"{portal.base}/catalog.jsonld?page={n}"  # noqa: E731
    pages = [dcat_page(0, url(1))]
    for n, (_, context) in enumerate(hostile.values(), start=1):
        pages.append(dcat_page(n, url(n + 1), context))
    pages.append(dcat_page(len(pages), None))
    node = {"@id": "http://example.org/ds/node", "@type": "dcat:Dataset", "@context": f"{contexts.base}/node.jsonld"}
    pages[-2]["@graph"].append(node)  # and one more, on a node inside a page
    portal.route("/catalog.jsonld", lambda handler, query: answer(
        json.dumps(pages[int(query.get("page", 0))]), content_type="application/ld+json")(handler, query))
    config = config_for({"name": "cat", "kind": "dcat", "url": url(0), "allow_private_addresses": True})

    result = harvest(config, "cat", DataLayout.at(tmp_path))

    assert contexts.log == [] and silent.log == [] and "/ctx.jsonld" not in portal.log
    assert result.complete and sorted(d.dataset_id for d in result.datasets) == ["ds-0", f"ds-{len(pages) - 1}"]
    assert [d.license for d in result.datasets] == ["CC-BY-4.0", "CC-BY-4.0"]
    refused = {f.record: f for f in result.failures}
    assert {f.error_class for f in refused.values()} == {"RemoteContextRefused"} and len(refused) == len(hostile)
    for n, (reference, _) in enumerate(hostile.values(), start=1):
        assert reference in refused[url(n)].message and "never fetched" in refused[url(n)].message
    assert f"{contexts.base}/node.jsonld" in refused[url(len(hostile))].message


def test_the_walk_finds_every_context_reference_whatever_its_place():
    for reference, context in hostile_pages("http://c.example", "http://s.example").values():
        assert remote_contexts(dcat_page(1, None, context)) == [reference]
    inline_only = dcat_page(1, None, [dict(PREFIXES), {"title": {"@id": "dct:title", "@context": {"x": "http://x/"}}}])
    assert remote_contexts(inline_only) == []
    deep: object = {"@context": "http://c.example/deep"}
    for _ in range(NESTED):
        deep = [deep]
    assert remote_contexts(deep) == ["http://c.example/deep"]  # an explicit stack, no recursion limit


def test_a_sealed_parse_opens_no_url_and_no_file_even_past_the_walk(tmp_path, servers):
    """The second lock alone: rdflib given the hostile pages directly is refused at its first attempt to reach out."""
    _, contexts, silent = servers
    secret = tmp_path / "context.jsonld"
    secret.write_text(json.dumps({"@context": {"title": "http://leak.example/title"}}))
    documents = {name: dcat_page(1, None, context) for name, (_, context) in hostile_pages(contexts.base, silent.base).items()}
    documents["local file"] = dcat_page(1, None, {**PREFIXES, "@import": secret.as_uri()})
    refusals = {}
    for name, document in documents.items():
        try:
            parse_sealed(json.dumps(document), "json-ld", "http://portal.example/catalog.jsonld")
        except ValueError as exc:
            refusals[name] = str(exc)
    assert set(refusals) == set(documents)
    assert all("tried to reach out (urllib.Request" in why or "tried to reach out (open" in why for why in refusals.values())
    assert str(secret) in refusals["local file"] and "/etc/passwd" in refusals["file"]
    assert contexts.log == [] and silent.log == []


def test_the_seal_holds_on_the_parsing_thread_only(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    other: list[str] = []
    with sealed():
        with pytest.raises(ReachedOut):
            (tmp_path / "f.txt").read_text()
        reader = threading.Thread(target=lambda: other.append((tmp_path / "f.txt").read_text()))
        reader.start()
        reader.join()
    assert other == ["x"] and (tmp_path / "f.txt").read_text() == "x"


def test_a_fresh_process_imports_the_parsers_it_needs_under_the_seal():
    """rdflib imports each parser on first use, inside the sealed parse: reading its own modules must stay allowed."""
    script = (
        "from sources.offline_rdf import parse_graph\n"
        "ttl = b'@prefix d: <http://purl.org/dc/terms/> . <http://a> d:title \"t\" .'\n"
        "xml = (b'<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:d=\"http://purl.org/dc/terms/\">'\n"
        "       b'<rdf:Description rdf:about=\"http://a\"><d:title>t</d:title></rdf:Description></rdf:RDF>')\n"
        "jsonld = b'{\"@id\": \"http://a\", \"http://purl.org/dc/terms/title\": \"t\"}'\n"
        "print([len(parse_graph(body, fmt, 'http://c/')) for body, fmt in ((ttl, 'turtle'), (xml, 'xml'), (jsonld, 'json-ld'))])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 1, 1]"


# -- nesting deeper than the JSON reader allows -------------------------------------------------


def nested_json(depth: int = NESTED) -> str:
    return "[" * depth + "]" * depth


def test_jsonl_line_nested_too_deep_is_one_failure_and_the_file_goes_on(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(f'{{"text": "a"}}\n{{"text": {nested_json()}}}\n{{"text": "b"}}\n')
    records, failures = read(path, max_record_bytes=1 << 20)
    assert [r.payload for r in records] == [b"a", b"b"]
    assert [(f.record, f.error_class) for f in failures] == [("d.jsonl:2", "InvalidJSON")]
    assert "nested deeper" in failures[0].message


def ckan_answer(pages: dict[int, str]):
    def fault(handler, query):
        answer(pages[int(query.get("start", 0))], content_type="application/json")(handler, query)
    return fault


def ckan_page(rows: list, count: int) -> str:
    return json.dumps({"success": True, "result": {"count": count, "results": rows}})


def package(n: int, **fields) -> dict:
    return {"id": f"pkg-{n}", "name": f"p{n}", "license_id": "cc-by-4.0", "metadata_modified": f"2026-01-0{n}T00:00:00",
            "resources": [], **fields}


def run(tmp_path: Path, kind: str, url: str, name: str = "hostile"):
    config = config_for({"name": name, "kind": kind, "url": url, "allow_private_addresses": True, "page_size": 2})
    return harvest(config, name, DataLayout.at(tmp_path))


def test_ckan_page_nested_too_deep_is_a_failure_and_the_pages_before_are_kept(tmp_path):
    with FaultServer() as server:
        deep = '{"success": true, "result": {"count": 3, "results": [' + nested_json() + "]}}"
        server.route("/api/3/action/package_search", ckan_answer({0: ckan_page([package(1), package(2)], 3), 2: deep}))
        result = run(tmp_path, "ckan", server.base)
    assert [d.dataset_id for d in result.datasets] == ["pkg-1", "pkg-2"] and not result.complete
    assert [f.error_class for f in result.failures] == ["MalformedResponse"]
    assert "start=2" in result.failures[0].record and "nested deeper" in result.failures[0].message


def test_ckan_records_holding_the_wrong_types_fail_alone_and_the_catalogue_is_written(tmp_path):
    """A list 500 deep where a title belongs, an object for a URL, a size no int64 holds: before, the merge crashed."""
    deep_title = json.loads(nested_json(500))
    rows = [package(1, title=deep_title), package(2, resources=[{"url": {"a": 1}}]), package(3),
            package(4, resources=[{"id": "r", "url": "https://x.example/f.txt", "size": 10 ** 30}])]
    with FaultServer() as server:
        server.route("/api/3/action/package_search", ckan_answer({0: ckan_page(rows[:2], 4), 2: ckan_page(rows[2:], 4)}))
        result = run(tmp_path, "ckan", server.base)
    assert result.complete and [d.dataset_id for d in result.datasets] == ["pkg-3", "pkg-4"]
    assert result.datasets[1].resources[0].size is None
    assert [(f.error_class, f.record.rsplit("#", 1)[1]) for f in result.failures] == [("BadRecord", "pkg-1"), ("BadRecord", "pkg-2")]
    assert "'title' holds a list" in result.failures[0].message and "'url' holds a dict" in result.failures[1].message


def test_udata_page_nested_too_deep_is_a_failure_not_a_crash(tmp_path):
    with FaultServer() as server:
        server.route("/api/1/datasets/", answer('{"data": ' + nested_json() + "}", content_type="application/json"))
        result = run(tmp_path, "udata", server.base)
    assert [f.error_class for f in result.failures] == ["MalformedResponse"] and "nested deeper" in result.failures[0].message


@pytest.mark.parametrize("content_type,body", [
    ("application/ld+json", nested_json()),
    ("text/turtle", "@prefix : <http://x/> . :a :p " + "[ :p " * NESTED + ":b" + " ]" * NESTED + " ."),
], ids=["json-ld", "turtle"])
def test_dcat_page_nested_too_deep_is_a_failure_not_a_crash(tmp_path, content_type, body):
    with FaultServer() as server:
        url = server.route("/catalog", answer(body, content_type=content_type))
        result = run(tmp_path, "dcat", url)
    assert [f.error_class for f in result.failures] == ["MalformedResponse"]
    assert "nested deeper" in result.failures[0].message or "RecursionError" in result.failures[0].message


def test_dcat_byte_size_no_integer_holds_is_left_out(tmp_path):
    turtle = (f"@prefix dcat: <{DCAT}> . @prefix dct: <{DCT}> .\n<http://example.org/ds> a dcat:Dataset ; "
              f"dct:identifier \"ds\" ; dcat:distribution [ dcat:downloadURL <https://x.example/f.txt> ; "
              f"dcat:byteSize \"{'9' * 400}\" ] .\n")
    with FaultServer() as server:
        result = run(tmp_path, "dcat", server.route("/catalog.ttl", answer(turtle, content_type="text/turtle")))
    assert result.complete and [r.size for r in result.datasets[0].resources] == [None]


def test_dcat_page_of_too_many_triples_or_too_deep_xml_is_refused_before_memory_runs_out(tmp_path, monkeypatch):
    """rdflib holds about 1.3 KB per triple: 400 KB of Turtle list took 540 MB before the bound."""
    monkeypatch.setattr(offline_rdf, "MAX_TRIPLES", 1_000)  # the mechanism, at a size a test affords
    many = "@prefix : <http://x/> . :a :p (" + " 1" * 2_000 + " ) ."
    deep = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:x="http://x/">'
            + "<rdf:Description><x:p>" * 2_000 + "</x:p></rdf:Description>" * 2_000 + "</rdf:RDF>")
    with FaultServer() as server:
        server.route("/many.ttl", answer(many, content_type="text/turtle"))
        server.route("/deep.rdf", answer(deep, content_type="application/rdf+xml"))
        results = [run(tmp_path / name, "dcat", f"{server.base}/{name}") for name in ("many.ttl", "deep.rdf")]
    assert [[f.error_class for f in r.failures] for r in results] == [["MalformedResponse"], ["MalformedResponse"]]
    assert "more than 1000 triples" in results[0].failures[0].message
    assert "nested deeper than 100 elements" in results[1].failures[0].message


# -- JSONL: a line far over the limit, a cut line ------------------------------------------------


def read(path: Path, max_record_bytes: int) -> tuple[list[RawRecord], list[ReadFailure]]:
    items = list(read_files([path], "dump", ReadStats(), max_record_bytes, path.parent))
    return [i for i in items if isinstance(i, RawRecord)], [i for i in items if isinstance(i, ReadFailure)]


def test_jsonl_line_far_over_the_limit_is_skipped_in_constant_memory(tmp_path):
    """48 MiB in one line against a 1 MiB limit: the reader holds a few times the limit, never the line."""
    line_bytes, limit = 48 << 20, 1 << 20
    path = tmp_path / "big.jsonl"
    with path.open("wb") as out:
        out.write(b'{"text": "before"}\n{"text": "')
        for _ in range(line_bytes >> 20):
            out.write(b"x" * (1 << 20))
        out.write(b'"}\n{"text": "after"}\n')
    tracemalloc.start()
    try:
        records, failures = read(path, max_record_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.payload for r in records] == [b"before", b"after"] and records[1].locator == "big.jsonl:3"
    assert [(f.record, f.error_class) for f in failures] == [("big.jsonl:2", "PayloadTooLarge")]
    assert peak < 8 * limit, f"peak {peak} bytes for a {line_bytes}-byte line"  # reading the line whole: 48 MiB


@pytest.mark.parametrize("content,limit,kept", [
    (b'{"text": "12345"}\n', 17, [b"12345"]),  # exactly the limit, newline apart
    (b'{"text": "12345"}\r\n', 17, [b"12345"]),
    (b'{"text": "12345"}', 17, [b"12345"]),  # last line, no line ending
    (b'{"text": "123456"}\r\n', 17, []),
    (b'{"text": "123456"}', 17, []),
], ids=["lf", "crlf", "eof", "crlf-over", "eof-over"])
def test_jsonl_limit_counts_the_line_without_its_ending(tmp_path, content, limit, kept):
    path = tmp_path / "d.jsonl"
    after = [b"next"] if content.endswith(b"\n") else []  # a line follows unless this one ends the file
    path.write_bytes(content + b"".join(b'{"text": "%s"}\n' % text for text in after))
    records, failures = read(path, max_record_bytes=limit)
    assert [r.payload for r in records] == kept + after
    assert [f.error_class for f in failures] == ([] if kept else ["PayloadTooLarge"])


def test_jsonl_cut_line_is_reported_as_cut_with_file_and_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"text": "a"}\r\n{"text": "cut\n{"text": "b"}\n{"text": "cut again')
    records, failures = read(path, max_record_bytes=1 << 20)
    assert [r.payload for r in records] == [b"a", b"b"]
    assert [f.record for f in failures] == ["d.jsonl:2", "d.jsonl:4"]
    for failure in failures:
        assert "Unterminated string" in failure.message and "control character" not in failure.message


# -- the address guard: what Python's is_global lets through ----------------------------------


@pytest.mark.parametrize("address,reason", [
    ("2002:7f00:1::1", "6to4"), ("2002:808:808::1", "6to4"), ("fec0::1", "site-local"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ""), ("64:ff9b::7f00:1", "127.0.0.1"), ("64:ff9b::a00:1", "10.0.0.1"),
    ("64:ff9b:1::808:808", ""), ("::127.0.0.1", ""), ("::8.8.8.8", ""), ("::ffff:0:7f00:1", ""), ("3fff::1", "documentation"),
    ("5f00::1", ""), ("192.0.0.8", "IETF"), ("192.88.99.1", "6to4"),
])
def test_guard_refuses_addresses_python_calls_global(address, reason):
    assert not is_public(address)
    with pytest.raises(RefusedAddress, match="non-public address") as refused:
        check_url("https://portal.example/", resolver=lambda host, port: [address])
    assert reason in str(refused.value)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_guard_accepts_public_addresses_and_nat64_to_a_public_one(address):
    assert non_public_reason(address) is None
    assert check_url("https://portal.example/", resolver=lambda host, port: [address]).address == address
