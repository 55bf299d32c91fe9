"""The markup limits read a page the way libxml2 does, refuse what would stall it, and pass every real page."""

import gzip
import time

import lxml.html
import pytest
from warcio.archiveiterator import ArchiveIterator

from moisson.extraction import TooComplex, extract, extract_record
from moisson.markup_limits import MAX_ATTRIBUTES, MAX_ATTRIBUTES_PER_ELEMENT, MAX_TAGS, excess
from moisson.workers import map_documents

LIMIT = MAX_ATTRIBUTES_PER_ELEMENT
TEXT = "<p>" + "Le conseil municipal a voté le budget de la nouvelle bibliothèque du quartier. " * 5 + "</p>"


def page(body: str) -> str:
    return f"<html><head><title>t</title></head><body>{TEXT}{body}<p>fin</p></body></html>"


def attributes(n: int, form: str = "a{n}") -> str:
    return " ".join(form.format(n=i) for i in range(n))


def most_attributes_libxml2_sees(markup: str) -> int:
    return max(len(element.attrib) for element in lxml.html.document_fromstring(markup).iter())


# Each written the way an HTML5 tokenizer reads it; libxml2 (the parser that would pay) is the referee.
CASES = {
    "plain": page(f"<div {attributes(LIMIT + 40)}>x</div>"),
    "just under": page(f"<div {attributes(LIMIT - 1, 'a{n}=v')}>x</div>"),
    "quoted < and > in values": page("<div " + attributes(LIMIT + 40, 'a{n}="<b c d>"') + ">x</div>"),
    "no space after a quoted value": page("<div " + "".join(f'a{i}="x"' for i in range(LIMIT + 40)) + ">x</div>"),
    "spaces around =": page("<div " + attributes(LIMIT + 40, "a{n} = 'x'") + ">x</div>"),
    "slashes as separators": page("<div/" + "/".join(f"a{i}" for i in range(LIMIT + 40)) + ">x</div>"),
    "on a script tag": page(f"<script {attributes(LIMIT + 40)}>var a = 1;</script>"),
    "inside a script": page(f"<script>if (a <b {attributes(LIMIT + 40)}) go();</script>"),
    "inside a script, upper case": page(f"<SCRIPT>x<div {attributes(LIMIT + 40)}></SCRIPT>"),
    "inside a script past a lookalike end": page(f"<script>x</scripts><div {attributes(LIMIT + 40)}></script>"),
    "after a script": page(f"<script>x</script ><div {attributes(LIMIT + 40)}>x</div>"),
    "inside a style, a title, a textarea": page("".join(f"<{t}><div {attributes(LIMIT + 40)}></{t}>"
                                                        for t in ("style", "title", "textarea"))),
    "a long-s lookalike of script": page(f"<ſcript><div {attributes(LIMIT + 40)}></script>"),
    "inside a comment": page(f"<!-- <div {attributes(LIMIT + 40)}> -->"),
    "after a comment that ends at once": page(f"<!--><div {attributes(LIMIT + 40)}>x</div> -->"),
    "after a comment ended by --!>": page(f"<!-- x --!><div {attributes(LIMIT + 40)}>x</div>"),
    "on an end tag": page(f"<div>x</div {attributes(LIMIT + 40)}>"),
}


@pytest.mark.parametrize("name", CASES)
def test_an_element_with_too_many_attributes_is_found_wherever_libxml2_would_build_it(name):
    markup = CASES[name]
    refused = excess(markup)
    assert (refused is not None) == (most_attributes_libxml2_sees(markup) >= LIMIT), refused
    if refused is not None:
        assert f"{LIMIT + 40:,} attributes" in refused


def test_too_many_tags_are_refused_and_counted():
    assert excess(page("<p>x</p>" * (MAX_TAGS - 10))) is None
    six_around = MAX_TAGS + 1 + 6  # html, head, title, body and two paragraphs
    assert excess(page("<p>x" * (MAX_TAGS + 1))) == f"{six_around:,} tags, more than the {MAX_TAGS:,} a page may have"


def test_too_many_attributes_in_all_are_refused_and_counted():
    """Elements just under the per-element limit, by the thousand: 8,500 of them in 10 MB took 1.7 GB."""
    elements = MAX_ATTRIBUTES // (LIMIT - 1) + 1
    many = "".join(f"<div {attributes(LIMIT - 1)}>x</div>" for _ in range(elements))
    total = elements * (LIMIT - 1)
    assert excess(page(many)) == f"{total:,} attributes, more than the {MAX_ATTRIBUTES:,} a page may have"
    hidden = page(f"<script>{many}</script>")  # script text: no element, no attribute, for libxml2 as for the count
    assert excess(hidden) is None and most_attributes_libxml2_sees(hidden) == 0


def test_the_scan_takes_linear_time_on_markup_built_against_it():
    """Unclosed quotes, tags inside attribute names, endless comments and scripts: each character read once."""
    hostile = ['<div a="' * 400_000, "<a <a " * 400_000, "<!--" + "-" * 2_000_000, "<script>" + "</scrip" * 300_000,
               ("<div " + "a " * (LIMIT - 1) + "<") * 8_000]
    for markup in hostile:
        started = time.process_time()
        excess(markup)
        assert time.process_time() - started < 5, markup[:20]  # ~20 ms each; quadratic would be hours


@pytest.mark.parametrize("attribute_count", [120_000, 200_000])
def test_the_issue_page_is_refused_before_parsing_instead_of_taking_minutes(attribute_count):
    """1.1 MB with 120,000 attributes on one element took 36 s to extract (and was kept); 200,000, minutes."""
    payload = page(f"<div {attributes(attribute_count)}>x</div>").encode()
    started = time.process_time()
    with pytest.raises(TooComplex, match=f"{attribute_count:,} attributes on one <div> element"):
        extract(payload, "html", "utf-8")
    assert time.process_time() - started < 10
    outcome, = map_documents(extract_record, [(payload, "html", None, "https://example.org/big")], budget_s=20, workers=1)
    assert outcome.error_class == "TooComplex" and f"{attribute_count:,} attributes" in outcome.message


def test_the_limits_apply_to_the_text_that_is_parsed_whatever_its_encoding():
    """Without a charset, UTF-16 bytes are decoded before parsing: the scan reads the decoded text, not the bytes."""
    payload = page(f"<div {attributes(LIMIT + 40)}>x</div>").encode("utf-16")
    with pytest.raises(TooComplex):
        extract(payload, "html", None)
    assert extract(page("<div a=1>x</div>").encode("utf-16"), "html", None).text


def real_pages(root):
    for path in sorted((root / "extraction" / "scrapinghub_aeb" / "html").iterdir()):
        yield path.name, gzip.decompress(path.read_bytes())
    for path in sorted((root / "extraction" / "readability_testpages" / "pages").glob("*/source.html.gz")):
        yield path.parent.name, gzip.decompress(path.read_bytes())
    for path in sorted((root / "bench").glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response" and "html" in (record.http_headers.get_header("Content-Type") or ""):
                    yield record.rec_headers.get_header("WARC-Target-URI"), record.content_stream().read()


def test_no_real_page_is_refused(shared_data):
    from trafilatura.utils import decode_file

    refused, count = [], 0
    for name, payload in real_pages(shared_data):
        count += 1
        if (reason := excess(decode_file(payload))) is not None:
            refused.append((name, reason))
    assert count > 2000 and refused == []
