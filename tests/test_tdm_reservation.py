"""TDM opt-outs (sources/tdm_reservation.py): every protocol, the TDMRep report's own examples, precedence,
the per-origin cache against a real server on 127.0.0.1, and hostile files (bounded time)."""

from __future__ import annotations

import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from portal_server import PortalServer
from sources.http import HttpClient, HttpSettings
from sources.robots import RobotsRules
from sources.tdm_reservation import (
    MAX_PATTERN_CHARS, MAX_RULES, MAX_TDMREP_BYTES, NO_SIGNAL, PROTOCOLS, OptOut, TdmRepFile, WellKnownCache, assess,
    check_protocols, combine,
    from_epub_opf, from_headers, from_html, from_pdf, from_xmp, normalise_path, origin_of, robots_ai_from_rules,
    robots_ai_reservation, tdmrep_resolve,
)

LOCAL = frozenset({"127.0.0.1"})

# The report's second example of tdmrep.json (section "TDM File on the Origin Server", Examples), verbatim.
SPEC_EXAMPLE = b"""[
  {"location": "/directory-a/", "tdm-reservation": 1},
  {"location": "/directory-b/html/", "tdm-reservation": 1,
   "tdm-policy": "https://provider.com/policies/policy.json"},
  {"location": "/directory-b/images/*.jpg", "tdm-reservation": 0}
]"""


def status(answer: OptOut | None) -> str | None:
    return None if answer is None else answer.status


# ---------------------------------------------------------------------------------------------------------------
# tdmrep.json rules
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "expected"), [
    ("/directory-a/report.pdf", "reserved"),
    ("/directory-a/", "reserved"),
    ("/directory-a", None),  # the rule's path ends before the path does not: no match
    ("/directory-b/html/index.html", "reserved"),
    ("/directory-b/images/photo.jpg", "not_reserved"),
    ("/directory-b/images/sub/photo.jpg", "not_reserved"),
    ("/directory-b/images/photo.png", None),
    ("/elsewhere.html", None),
    ("/Directory-A/report.pdf", None),  # matching is case sensitive
])
def test_the_reports_example_file(path, expected):
    assert status(TdmRepFile.parse(SPEC_EXAMPLE).match(path)) == expected


def test_the_reports_example_carries_the_policy_of_a_reservation_only():
    rules = TdmRepFile.parse(SPEC_EXAMPLE, "https://provider.com")
    reserved = rules.match("https://provider.com/directory-b/html/a.html")
    assert reserved.policy_url == "https://provider.com/policies/policy.json"
    assert any("rule 2" in line and "/directory-b/html/" in line for line in reserved.evidence)
    assert any("https://provider.com/.well-known/tdmrep.json" in line for line in reserved.evidence)
    assert rules.match("/directory-a/x").policy_url is None


def test_opt_out_of_a_whole_site():
    rules = TdmRepFile.parse(b'[{"location": "/", "tdm-reservation": 1}]')
    assert status(rules.match("/")) == status(rules.match("/any/page?q=1")) == "reserved"


@pytest.mark.parametrize(("location", "path", "matches"), [
    ("/this/path/exactly$", "/this/path/exactly", True),
    ("/this/path/exactly$", "/this/path/exactly/more", False),
    ("/this/path/exactly$", "/this/path/exactly?x=1", False),
    ("/this/*/then", "/this/one/then", True),
    ("/this/*/then", "/this/one/two/then/after", True),
    ("/this/*/then", "/this/then", False),
    ("/*.pdf$", "/a/b.pdf", True),
    ("/*.pdf$", "/a/b.pdf.html", False),
    ("/*.pdf", "/a/b.pdf.html", True),
    ("*/private/", "/x/private/y", True),
    ("/path/foo-%24", "/path/foo-$", True),  # the report's example: a literal $ is written %24
    ("/path/foo-$", "/path/foo-", True),  # ... because a final $ is the anchor
    ("/path/foo-$", "/path/foo-$", False),
    ("/a*b*c$", "/aXbYc", True),
    ("/a*b*c$", "/aXcYb", False),
    ("/a**b", "/aZZb", True),
    ("/caf%C3%A9/", "/café/menu", True),  # percent-encoding is compared in one form
    ("/%7Euser/", "/~user/page", True),  # an encoded unreserved character is decoded first
    ("/a%2Fb", "/a/b", False),  # an encoded reserved character is not
    ("/star*", "/star%2A", True),
    ("/lit%2A", "/lit*", True),  # a literal * in a URL is compared as %2A, never a wildcard
])
def test_location_patterns(location, path, matches):
    rules = TdmRepFile.parse(json.dumps([{"location": location, "tdm-reservation": 1}]).encode())
    assert (rules.match(path) is not None) is matches


def test_the_first_rule_in_sequence_decides():
    rules = TdmRepFile.parse(json.dumps([
        {"location": "/docs/public/", "tdm-reservation": 0},
        {"location": "/docs/", "tdm-reservation": 1},
    ]).encode())
    assert status(rules.match("/docs/public/a.html")) == "not_reserved"
    assert status(rules.match("/docs/private/a.html")) == "reserved"
    reversed_rules = TdmRepFile.parse(json.dumps([
        {"location": "/docs/", "tdm-reservation": 1},
        {"location": "/docs/public/", "tdm-reservation": 0},
    ]).encode())
    assert status(reversed_rules.match("/docs/public/a.html")) == "reserved"


@pytest.mark.parametrize(("value", "expected"), [
    (1, "reserved"), (0, "not_reserved"), ("1", "reserved"), (True, "reserved"),
    ("0", "not_reserved"), (2, "unknown"), ("yes", "unknown"), (None, "unknown"), (False, "unknown"), (0.5, "unknown"),
])
def test_reservation_values_and_protocol_errors(value, expected):
    rule = {"location": "/", "tdm-reservation": value}
    if value is None:
        del rule["tdm-reservation"]
    answer = TdmRepFile.parse(json.dumps([rule]).encode()).match("/a")
    assert answer.status == expected
    assert not answer.incomplete
    if expected == "unknown":
        assert "protocol error" in answer.evidence[0]


def test_a_policy_that_is_not_a_url_is_not_kept():
    rules = TdmRepFile.parse(b'[{"location": "/", "tdm-reservation": 1, "tdm-policy": "javascript:alert(1)"}]')
    assert rules.match("/").policy_url is None


def test_a_location_without_its_leading_slash_is_read_as_meant():
    rules = TdmRepFile.parse(b'[{"location": "books/", "tdm-reservation": 1}, {"location": 3}, "x", {}]')
    assert status(rules.match("/books/a")) == "reserved"
    assert rules.match("/other") is None


@pytest.mark.parametrize(("body", "problem"), [
    (b"{\"location\": \"/\", \"tdm-reservation\": 1}", "not a JSON array"),
    (b"[{\"location\": \"/\", \"tdm-reservation\": 1", "not JSON"),
    (b"\xff\xfe[", "not JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # nesting deep enough to exhaust a recursive parser
    (b" " * (MAX_TDMREP_BYTES + 1), "over the"),
])
def test_an_unreadable_file_leaves_every_path_unknown_and_incomplete(body, problem):
    rules = TdmRepFile.parse(body)
    assert problem in (rules.problem or "")
    answer = rules.match("/anything")
    assert (answer.status, answer.incomplete) == ("unknown", True)


def test_a_file_with_too_many_rules_is_read_up_to_the_cap_and_fails_closed_past_it():
    rules = [{"location": f"/r{i}/", "tdm-reservation": 0} for i in range(MAX_RULES + 5)]
    rules.append({"location": "/", "tdm-reservation": 1})
    parsed = TdmRepFile.parse(json.dumps(rules).encode())
    assert len(parsed.rules) == MAX_RULES
    assert status(parsed.match("/r7/a")) == "not_reserved"
    answer = parsed.match("/elsewhere")
    assert (answer.status, answer.incomplete) == ("unknown", True)


def test_an_over_long_location_is_never_a_silent_miss():
    long = "/a" + "x" * MAX_PATTERN_CHARS + "/"
    parsed = TdmRepFile.parse(json.dumps([{"location": long, "tdm-reservation": 0}]).encode())
    maybe = parsed.match("/a" + "x" * (MAX_PATTERN_CHARS + 5))
    assert (maybe.status, maybe.incomplete) == ("unknown", True)
    assert parsed.match("/b/") is None  # its first characters already differ: certainly no match


def test_hostile_patterns_match_in_bounded_time():
    """Many stars against a long path of the same letter: the shape that makes a backtracking matcher exponential."""
    star_pattern = "/" + "a*" * (MAX_PATTERN_CHARS // 2 - 2) + "b"
    rules = [{"location": "/" + "*a" * 1000 + "$", "tdm-reservation": 1} for _ in range(240)]
    rules += [{"location": star_pattern, "tdm-reservation": 1} for _ in range(240)]
    body = json.dumps(rules).encode()
    assert len(body) < MAX_TDMREP_BYTES
    parsed = TdmRepFile.parse(body)
    path = "/" + "a" * 10_000
    started = time.perf_counter()
    answer = parsed.match(path)
    elapsed = time.perf_counter() - started
    assert status(answer) == "reserved"  # the first rule ends on an "a": it matches
    assert parsed.problem and "wildcards" in parsed.problem  # 480,000 stars: read up to the budget
    missed = parsed.match("/" + "a" * 10_000 + "c")
    assert (missed.status, missed.incomplete) == ("unknown", True)
    assert elapsed < 1.0, f"{elapsed:.2f}s for one path"


def test_a_big_file_parses_and_matches_quickly():
    rules = [{"location": f"/section-{i}/*/page-{i}.html$", "tdm-reservation": i % 2} for i in range(MAX_RULES)]
    body = json.dumps(rules).encode()
    started = time.perf_counter()
    parsed = TdmRepFile.parse(body)
    for i in range(200):
        parsed.match(f"/section-x/{i}/page.html")
    assert time.perf_counter() - started < 5.0
    assert status(parsed.match("/section-9998/a/page-9998.html")) == "not_reserved"


def test_an_over_long_path_is_not_guessed():
    rules = TdmRepFile.parse(b'[{"location": "/*.html$", "tdm-reservation": 0}]')
    answer = rules.match("/" + "a" * 20_000 + ".html")
    assert (answer.status, answer.incomplete) == ("unknown", True)
    assert TdmRepFile.parse(b"[]").match("/" + "a" * 20_000) is None
    robots = robots_ai_reservation("User-agent: GPTBot\nDisallow: /private/\n", "https://a.b/" + "a" * 20_000)
    assert (robots.status, robots.incomplete) == ("unknown", True)
    assert robots_ai_reservation("User-agent: *\nDisallow: /\n", "https://a.b/" + "a" * 20_000) is None


def test_path_normalisation_is_stable():
    assert normalise_path("/a%7eb/%e9") == "/a~b/%E9"
    assert normalise_path(normalise_path("/é $*")) == normalise_path("/é $*")


# ---------------------------------------------------------------------------------------------------------------
# HTTP headers
# ---------------------------------------------------------------------------------------------------------------


def test_the_reports_header_examples():
    plain = from_headers({"Content-type": "image/jpg", "tdm-reservation": "1"})
    assert [(o.protocol, o.status, o.policy_url) for o in plain] == [("tdmrep-header", "reserved", None)]
    with_policy = from_headers({"TDM-Reservation": "1", "TDM-Policy": "https://provider.com/policies/policy.json"})
    assert with_policy[0].policy_url == "https://provider.com/policies/policy.json"


def test_header_values():
    assert status(from_headers({"tdm-reservation": "0"})[0]) == "not_reserved"
    assert status(from_headers({"tdm-reservation": " 0 ", "tdm-policy": "https://x.org/p"})[0]) == "not_reserved"
    assert from_headers({"tdm-reservation": "0", "tdm-policy": "https://x.org/p"})[0].policy_url is None
    assert status(from_headers({"tdm-reservation": "maybe"})[0]) == "unknown"
    assert from_headers({"content-type": "text/html"}) == []


def test_warc_response_headers():
    from io import BytesIO

    from warcio.archiveiterator import ArchiveIterator
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("TDM-Reservation", "1"),
                                       ("TDM-Policy", "https://provider.com/policies/policy.json")], protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record("https://provider.com/a.html", "response",
                                                  payload=BytesIO(b"<p>x</p>"), http_headers=http))
    buffer.seek(0)
    record = next(iter(ArchiveIterator(buffer)))
    [answer] = from_headers(record.http_headers.headers)
    assert (answer.status, answer.policy_url) == ("reserved", "https://provider.com/policies/policy.json")


def test_repeated_header_fields_any_reservation_wins():
    pairs = [("tdm-reservation", "0"), ("Tdm-Reservation", "1")]  # warcio gives repeated fields as pairs
    assert status(from_headers(pairs)[0]) == "reserved"
    assert status(from_headers({"tdm-reservation": "0, 1"})[0]) == "reserved"


@pytest.mark.parametrize(("value", "image", "expected"), [
    ("noai", False, "noai"),
    ("noindex, NoAI", False, "noai"),
    ("googlebot: noai", False, "noai"),
    ("noimageai", False, None),  # images only: a text document is not reserved by it
    ("noimageai", True, "noimageai"),
    ("noindex, nofollow", False, None),
    ("unavailable_after: 25 Jun 2010 15:00:00 PST", False, None),
])
def test_x_robots_tag(value, image, expected):
    found = [o for o in from_headers({"X-Robots-Tag": value}, image=image) if o.protocol == "x-robots-tag"]
    assert (found[0].evidence[0].split()[1] if found else None) == expected


# ---------------------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------------------

SPEC_HTML = b"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="tdm-reservation" content="1">
    <meta name="tdm-policy" content="https://provider.com/policies/policy.json">
    <title>Document title</title>
  </head>
  <body>...</body>
</html>"""


def test_the_reports_html_example_as_bytes_and_as_a_tree():
    for page in (SPEC_HTML, SPEC_HTML.decode(), lxml.html.document_fromstring(SPEC_HTML)):
        [answer] = from_html(page)
        assert (answer.protocol, answer.status) == ("tdmrep-html", "reserved")
        assert answer.policy_url == "https://provider.com/policies/policy.json"


def test_html_meta_values_and_robots():
    assert status(from_html(b'<meta name="TDM-Reservation" content="0">')[0]) == "not_reserved"
    assert from_html(b"<html><head><title>x</title></head><body>tdm-reservation 1</body></html>") == []
    robots = from_html(b'<head><meta name="robots" content="noindex, noai"></head>')
    assert [(o.protocol, o.status) for o in robots] == [("meta-robots", "reserved")]
    assert from_html(b'<meta name="robots" content="noimageai">') == []
    assert status(from_html(b'<meta name="robots" content="noimageai">', image=True)[0]) == "reserved"
    agent = from_html(b'<meta name="GPTBot" content="noai">')
    assert agent[0].protocol == "meta-robots"
    assert from_html(b'<meta name="otherbot" content="noai">', agents=("GPTBot",)) == []


def test_utf16_pages_are_read():
    assert status(from_html(SPEC_HTML.decode().encode("utf-16"))[0]) == "reserved"


def test_conflicting_html_metas_any_reservation_wins():
    page = b'<meta name="tdm-reservation" content="0"><meta name="tdm-reservation" content="1">'
    assert status(from_html(page)[0]) == "reserved"


def test_hostile_html_is_refused_fast_and_fails_closed():
    page = b"<div " + b" ".join(b"a%d=1" % i for i in range(5000)) + b">" + b'<meta name="tdm-reservation" content="0">'
    started = time.perf_counter()
    [answer] = from_html(page)
    assert time.perf_counter() - started < 2.0
    assert (answer.status, answer.incomplete) == ("unknown", True)


# ---------------------------------------------------------------------------------------------------------------
# EPUB and PDF
# ---------------------------------------------------------------------------------------------------------------

EPUB3_OPF = b"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" prefix="tdm: http://www.w3.org/ns/tdmrep#">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:title>Document title</dc:title>
    <meta property="tdm:reservation">1</meta>
    <meta property="tdm:policy">https://provider.com/policies/policy.json</meta>
  </metadata>
</package>"""

EPUB2_OPF = b"""<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0">
  <metadata><meta name="tdm:reservation" content="0"/></metadata>
</package>"""

XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:tdm="{namespace}">
   <tdm:reservation>1</tdm:reservation>
   <tdm:policy>https://provider.com/policies/policy.json</tdm:policy>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""


def test_epub3_and_epub2_package_metadata():
    [three] = from_epub_opf(EPUB3_OPF)
    assert (three.protocol, three.status, three.policy_url) == (
        "tdmrep-epub", "reserved", "https://provider.com/policies/policy.json")
    assert status(from_epub_opf(EPUB2_OPF)[0]) == "not_reserved"
    assert from_epub_opf(b'<package xmlns="http://www.idpf.org/2007/opf"><metadata/></package>') == []


def test_epub_with_a_billion_laughs_is_not_expanded():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
            b'<package><metadata><meta property="tdm:reservation">&d;1</meta></metadata></package>')
    started = time.perf_counter()
    answers = from_epub_opf(bomb)
    assert time.perf_counter() - started < 1.0
    assert all(o.status != "not_reserved" for o in answers)


@pytest.mark.parametrize("namespace", ["http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#"])
def test_xmp_elements(namespace):
    [answer] = from_xmp(XMP.format(namespace=namespace).encode())
    assert (answer.protocol, answer.status, answer.policy_url) == (
        "tdmrep-pdf", "reserved", "https://provider.com/policies/policy.json")


def test_xmp_attribute_form_and_other_namespaces():
    attribute = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                 b'<rdf:Description rdf:about="" xmlns:tdm="http://www.w3.org/ns/tdmrep/" tdm:reservation="0"/>'
                 b'</rdf:RDF></x:xmpmeta>')
    assert status(from_xmp(attribute)[0]) == "not_reserved"
    assert from_xmp(XMP.format(namespace="http://example.org/not-tdm/").encode()) == []


def test_a_pdf_xmp_packet_is_found_in_the_file():
    pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Metadata /Subtype /XML >>\nstream\n" + XMP.format(
        namespace="http://www.w3.org/ns/tdmrep/").encode() + b"\nendstream\nendobj\n%%EOF"
    assert status(from_pdf(pdf)[0]) == "reserved"
    assert from_pdf(b"%PDF-1.4\n%%EOF") == []
    image_packet = XMP.format(namespace="http://ns.example/other/").encode()
    document_packet = XMP.format(namespace="http://www.w3.org/ns/tdmrep/").encode()
    assert status(from_pdf(b"%PDF-1.7\n" + image_packet + b"\n" + document_packet)[0]) == "reserved"
    assert from_pdf(b"<x:xmpmeta><oops") == []  # no end: no packet


def test_unreadable_metadata_is_unknown_only_when_it_mentions_tdmrep():
    too_deep = b"<a>" * 300 + b"</a>" * 300  # over libxml2's nesting limit: refused by parse_xml
    assert from_xmp(too_deep) == [] and from_epub_opf(too_deep) == []
    mentioning = b"<a>" * 300 + b"<tdm:reservation>1</tdm:reservation>" + b"</a>" * 300
    for answers in (from_xmp(mentioning), from_epub_opf(mentioning)):
        assert [(o.status, o.incomplete) for o in answers] == [("unknown", True)]


# ---------------------------------------------------------------------------------------------------------------
# robots.txt groups for AI agents
# ---------------------------------------------------------------------------------------------------------------

ROBOTS = """# a news site
User-agent: *
Disallow: /admin/

User-agent: GPTBot
User-agent: Google-Extended
Disallow: /

User-agent: CCBot
Disallow: /archive/
Allow: /archive/open/

User-agent: anthropic-ai
Disallow: /*.pdf$
"""


@pytest.mark.parametrize(("url", "agents"), [
    ("https://news.example/story.html", ["GPTBot", "Google-Extended"]),
    ("https://news.example/archive/2020/a.html", ["GPTBot", "Google-Extended", "CCBot"]),
    ("https://news.example/files/a.pdf", ["GPTBot", "Google-Extended", "anthropic-ai"]),
])
def test_robots_groups_name_the_agents_that_refuse(url, agents):
    answer = robots_ai_reservation(ROBOTS, url)
    assert answer.status == "reserved"
    assert sorted(line.split("User-agent: ")[1].split(" ")[0] for line in answer.evidence) == sorted(agents)


def test_robots_longest_match_and_the_star_group():
    only_cc = ROBOTS.replace("User-agent: GPTBot\nUser-agent: Google-Extended\nDisallow: /\n", "")
    assert robots_ai_reservation(only_cc, "https://news.example/archive/open/a.html") is None  # Allow is longer
    assert robots_ai_reservation(only_cc, "https://news.example/admin/a.html") is None  # the * group is not AI-specific
    assert robots_ai_reservation(only_cc, "https://news.example/files/a.pdf?x=1") is None  # $ anchors before the query
    assert robots_ai_reservation("User-agent: gptbot/1.0\nDisallow: /x\n", "https://a.b/x/1", ["GPTBot"]).status == "reserved"
    assert robots_ai_reservation("User-agent: GPTBot\nDisallow:\n", "https://a.b/x") is None
    assert robots_ai_reservation(ROBOTS, "https://news.example/story.html", agents=["CCBot"]) is None


def test_robots_from_the_http_layers_rules():
    found = RobotsRules.from_response(200, ROBOTS.encode())
    assert robots_ai_from_rules(found, "https://news.example/a").status == "reserved"
    assert robots_ai_from_rules(RobotsRules.from_response(404, b""), "https://news.example/a") is None
    unreachable = robots_ai_from_rules(RobotsRules.from_response(503, b""), "https://news.example/a")
    assert (unreachable.status, unreachable.incomplete) == ("unknown", True)


def test_hostile_robots_txt_is_bounded():
    robots = "User-agent: GPTBot\n" + "".join(f"Disallow: /{'*a' * 500}{i}$\n" for i in range(400))
    started = time.perf_counter()
    answer = robots_ai_reservation(robots, "https://a.b/" + "a" * 10_000)
    assert time.perf_counter() - started < 1.0
    assert (answer.status, answer.incomplete) == ("unknown", True)  # cut at the wildcard budget: not known
    within_budget = "\n".join(robots.splitlines()[:10])
    assert robots_ai_reservation(within_budget, "https://a.b/" + "a" * 10_000) is None


# ---------------------------------------------------------------------------------------------------------------
# combining and precedence
# ---------------------------------------------------------------------------------------------------------------

RESERVED = OptOut("reserved", "tdmrep-file", ("tdmrep-file: rule 1",))
GRANTED = OptOut("not_reserved", "tdmrep-header", ("tdmrep-header: 0",))
FAILED = OptOut("unknown", "robots-ai", ("robots-ai: 503",), incomplete=True)
ERROR = OptOut("unknown", "tdmrep-html", ("tdmrep-html: protocol error",))


def test_combine_any_reservation_wins():
    combined = combine([GRANTED, None, RESERVED, FAILED])
    assert (combined.status, combined.protocol) == ("reserved", "tdmrep-file")
    assert combined.evidence == RESERVED.evidence


def test_combine_not_reserved_only_when_said_and_nothing_failed():
    assert combine([GRANTED, ERROR, None]).status == "not_reserved"
    failed = combine([GRANTED, FAILED])
    assert (failed.status, failed.incomplete) == ("unknown", True)
    assert combine([ERROR]).status == "unknown" and not combine([ERROR]).incomplete
    assert combine([]) == combine([None, None]) == NO_SIGNAL


def test_tdmrep_resolve_follows_the_reports_processing_priority():
    assert status(tdmrep_resolve(RESERVED, GRANTED, None)) == "not_reserved"  # the header supersedes the file
    assert status(tdmrep_resolve(GRANTED, None, RESERVED)) == "reserved"  # HTML supersedes both
    assert status(tdmrep_resolve(RESERVED, ERROR, None)) == "reserved"  # a protocol error does not reset
    assert tdmrep_resolve(None, None, None) is None


def test_assess_reads_every_signal_given_and_keeps_the_chosen_protocols():
    rules = TdmRepFile.parse(SPEC_EXAMPLE)
    url = "https://provider.com/directory-b/images/a.jpg"
    assert assess(url, well_known=rules).status == "not_reserved"
    everything = assess(url, well_known=rules, headers={"X-Robots-Tag": "noai"}, robots=ROBOTS,
                        html=b'<meta name="tdm-reservation" content="1">')
    assert everything.status == "reserved"
    assert set(everything.protocol.split(",")) == {"x-robots-tag", "robots-ai", "tdmrep-html"}
    only_file = assess(url, well_known=rules, headers={"X-Robots-Tag": "noai"}, robots=ROBOTS, protocols=["tdmrep-file"])
    assert only_file.status == "not_reserved"
    assert assess(url) == NO_SIGNAL
    assert assess(url, pdf=b"%PDF-1.4", epub_opf=EPUB2_OPF).status == "not_reserved"
    with pytest.raises(ValueError, match="tdmrep-files"):
        check_protocols(["tdmrep-files"])
    assert check_protocols(PROTOCOLS) == PROTOCOLS


def test_xhtml_trees_are_read_too():
    tree = lxml.etree.fromstring(b'<html xmlns="http://www.w3.org/1999/xhtml"><head>'
                                 b'<meta name="tdm-reservation" content="1"/></head></html>')
    assert status(from_html(tree)[0]) == "reserved"


def test_as_dict_is_json():
    row = combine([RESERVED, OptOut("reserved", "tdmrep-html", ("h",), "https://p.org/x")]).as_dict()
    assert json.loads(json.dumps(row))["protocol"] == "tdmrep-file,tdmrep-html"
    assert row["policy_url"] == "https://p.org/x"


# ---------------------------------------------------------------------------------------------------------------
# the per-origin cache, against a real server
# ---------------------------------------------------------------------------------------------------------------


def http_client(**overrides) -> HttpClient:
    settings = HttpSettings(**{"min_interval_seconds": 0.0, "backoff_seconds": 0.01, "max_retries": 1,
                               "allowed_addresses": LOCAL, **overrides})
    return HttpClient(settings, sleep=lambda s: None)


def test_the_file_is_fetched_once_per_origin_and_persisted(tmp_path):
    with PortalServer() as server:
        server.file("/.well-known/tdmrep.json", SPEC_EXAMPLE, content_type="application/json")
        cache = WellKnownCache(http_client(), tmp_path / "tdmrep")
        assert status(cache.opt_out(server.base + "/directory-a/x.pdf")) == "reserved"
        assert status(cache.opt_out(server.base + "/directory-b/images/y.jpg")) == "not_reserved"
        assert cache.opt_out(server.base + "/other") is None
        assert len(server.requests_to("/.well-known/tdmrep.json")) == 1
        saved = json.loads(next((tmp_path / "tdmrep").glob("*.json")).read_text())
        assert (saved["origin"], saved["state"]) == (origin_of(server.base), "found")
        assert saved["fetched_at"].endswith("+00:00")
        again = WellKnownCache(http_client(), tmp_path / "tdmrep")  # next run: read from disk
        assert status(again.opt_out(server.base + "/directory-a/x.pdf")) == "reserved"
        assert again.fetches == 0 and len(server.requests_to("/.well-known/tdmrep.json")) == 1
        stale = WellKnownCache(http_client(), tmp_path / "tdmrep", clock=lambda: time.time() + 30 * 86400)
        stale.opt_out(server.base + "/a")
        assert stale.fetches == 1


@pytest.mark.parametrize(("answer", "state"), [(404, "absent"), (410, "absent"), (503, "failed"), (500, "failed"),
                                               (403, "failed")])
def test_no_file_is_silence_and_a_server_error_is_unknown(tmp_path, answer, state):
    with PortalServer() as server:
        server.file("/.well-known/tdmrep.json", b"nope", content_type="text/plain", status=answer)
        cache = WellKnownCache(http_client(), tmp_path)
        result = cache.opt_out(server.base + "/page.html")
        assert cache.entry(server.base + "/x").state == state
        if state == "absent":
            assert result is None
        else:
            assert (result.status, result.incomplete) == ("unknown", True)
            assert f"HTTP {answer}" in result.evidence[0]
        # a failure is asked again by the next run, an absence is not
        WellKnownCache(http_client(), tmp_path).opt_out(server.base + "/page.html")
        expected_requests = {"absent": 1, "failed": 2}[state] * (2 if answer >= 500 else 1)
        assert len(server.requests_to("/.well-known/tdmrep.json")) == expected_requests


def test_concurrent_lookups_share_one_fetch_and_redirects_are_followed(tmp_path):
    with PortalServer() as server:
        def slow_redirect(query, request):
            time.sleep(0.2)
            return 301, {"Location": "/policies/tdmrep.json"}, b""
        server.handler("/.well-known/tdmrep.json", slow_redirect)
        server.file("/policies/tdmrep.json", SPEC_EXAMPLE, content_type="application/json")
        cache = WellKnownCache(http_client(), tmp_path)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(cache.opt_out, [server.base + f"/directory-a/{i}.pdf" for i in range(16)]))
        assert {status(a) for a in answers} == {"reserved"}
        assert cache.fetches == 1 and len(server.requests_to("/.well-known/tdmrep.json")) == 1


def test_a_timeout_is_unknown(tmp_path):
    with PortalServer() as server:
        def slow(query, request):
            time.sleep(1.0)
            return 200, {"Content-Type": "application/json"}, SPEC_EXAMPLE
        server.handler("/.well-known/tdmrep.json", slow)
        cache = WellKnownCache(http_client(read_timeout=0.2, max_retries=0), tmp_path)
        result = cache.opt_out(server.base + "/directory-b/images/a.jpg")
        assert (result.status, result.incomplete) == ("unknown", True)
        assert "Timeout" in result.evidence[0]


def test_a_soft_404_page_is_no_file_but_broken_json_is_unknown(tmp_path):
    with PortalServer() as server:
        server.file("/.well-known/tdmrep.json", "<html><body>Welcome!</body></html>")
        assert WellKnownCache(http_client(), tmp_path / "a").opt_out(server.base + "/x") is None
        server.file("/.well-known/tdmrep.json", b'[{"location": "/", "tdm-reser', content_type="application/json")
        result = WellKnownCache(http_client(), tmp_path / "b").opt_out(server.base + "/x")
        assert (result.status, result.incomplete) == ("unknown", True)


def test_an_oversized_file_is_refused_by_the_http_layer_and_unknown(tmp_path):
    with PortalServer() as server:
        server.file("/.well-known/tdmrep.json", b"[" + b" " * MAX_TDMREP_BYTES + b"]", content_type="application/json")
        result = WellKnownCache(http_client(), tmp_path).opt_out(server.base + "/x")
        assert (result.status, result.incomplete) == ("unknown", True)
        assert "TooLarge" in result.evidence[0]


def test_the_address_guard_applies(tmp_path):
    cache = WellKnownCache(HttpClient(HttpSettings(min_interval_seconds=0.0)), tmp_path)
    result = cache.opt_out("http://127.0.0.1:9/page.html")
    assert (result.status, result.incomplete) == ("unknown", True)
    assert "RefusedAddress" in result.evidence[0]


def test_urls_without_an_origin_server_ask_nothing(tmp_path):
    cache = WellKnownCache(http_client(), tmp_path)
    assert cache.opt_out("file:///data/a.html") is None
    assert cache.opt_out("urn:uuid:1234") is None
    assert cache.fetches == 0


def test_origins_are_told_apart():
    assert origin_of("HTTPS://Example.org:443/a") == "https://example.org"
    assert origin_of("http://example.org:8080/a") == "http://example.org:8080"
    assert origin_of("http://[::1]:81/") == "http://[::1]:81"


# ---------------------------------------------------------------------------------------------------------------
# real files from ../shared/data
# ---------------------------------------------------------------------------------------------------------------


def test_real_epubs_and_pdfs_carry_no_reservation_and_a_written_one_is_read(shared_data: Path, tmp_path):
    documents = shared_data / "documents"
    epubs = sorted((documents / "epub").rglob("*.epub"))
    assert epubs
    for epub in epubs:
        with zipfile.ZipFile(epub) as archive:
            opf_name = next(name for name in archive.namelist() if name.endswith(".opf"))
            opf = archive.read(opf_name)
        assert from_epub_opf(opf) == [], epub.name
        marked = opf.replace(b"</metadata>", b'<meta property="tdm:reservation">1</meta></metadata>', 1)
        assert status(from_epub_opf(marked)[0]) == "reserved", epub.name
    pdfs = sorted((documents / "pdf").rglob("*.pdf"))
    with_xmp = 0
    for pdf in pdfs:
        data = pdf.read_bytes()
        assert all(o.status != "reserved" for o in from_pdf(data)), pdf.name
        if b"<x:xmpmeta" in data and b"</rdf:RDF>" in data:
            with_xmp += 1
            marked = data.replace(b"</rdf:RDF>", b'<rdf:Description rdf:about="" xmlns:tdm="http://www.w3.org/ns/'
                                  b'tdmrep/"><tdm:reservation>1</tdm:reservation></rdf:Description></rdf:RDF>', 1)
            assert [o.status for o in from_pdf(marked)] == ["reserved"], pdf.name
    assert with_xmp >= 8
