"""What a page's markup would cost the HTML parser, read from its text in one linear pass before any parse.

Two shapes of markup make parsing a page of a few megabytes cost minutes and gigabytes, and real pages
are nowhere near either (measured on 2,481 real pages: the bench's web sample, the extraction sets, the
WARC samples and the demo archives):

- many attributes on one element: libxml2 checks each new attribute against every one before it, so an
  element with n attributes costs n² (a <div> with 120,000 attributes in 1.1 MB: 36 s for one extraction,
  which parses the page up to three times; 120,000 boolean attributes: 68 s). The real pages have at most
  70 attributes on one element;
- many tags: every element costs up to 4 kB and tens of µs once trafilatura has walked its tree (1.3 million
  <p> in 10 MB: 2.3 GB, 60 s of CPU; 650,000 links: 2 GB; 200,000 links: 0.9 GB). The real pages have at
  most 56,852 tags (a 1.7 MB radio log), the median page 743;
- many attributes in all: each costs 0.7 to 1.3 kB (8,500 elements with 255 attributes each in 10 MB:
  1.7 GB). The real pages have at most 34,112. Only a page of a million characters or more can hold more
  than the limit, and only such a page is counted (2 ms per 100 kB: too dear for every page).

Deep nesting costs nothing (libxml2 stops nesting at 256 levels), nor do long lines, entities or
unclosed tags. The time budget of the workers (moisson/workers.py) stops whatever these limits miss;
the limits make the common attack cost a millisecond instead of a killed worker, and say why.

The attributes of each start tag are counted the way an HTML5 tokenizer (libxml2 2.14's) reads them:
quoted values may hold `<` and `>`, a value may follow its name with spaces around `=`, attributes
may follow a quoted value without a space, and the text of <script>, <style>, <textarea>, <title> and
the other raw-text elements, and comments, hold no tags. Every quantifier is possessive and the scan
is anchored, so it reads each character once whatever the input: the scan cannot itself be made slow.
ASCII rules only (re.A), as in HTML: a Unicode space is no separator to the parser, and `ſ` is no `s`
(under Unicode case folding `<ſcript>` would hide what follows it from the count).
"""

from __future__ import annotations

import re

MAX_ATTRIBUTES_PER_ELEMENT = 256  # 3.7 times the most seen on a real page; 256² comparisons: nothing
MAX_TAGS = 100_000  # 1.8 times the most seen on a real page; 200,000 links cost 0.9 GB and 9 s of CPU
MAX_ATTRIBUTES = 300_000  # on the whole page: 9 times the most seen on a real page; 500,000 with values: 0.8 GB
COUNT_ATTRIBUTES_FROM = 2 * MAX_ATTRIBUTES  # characters: a shorter page cannot hold more (two characters each)

_SEPARATOR = r"[\s/]*+"
_ATTRIBUTE = r"""(?>[^\s/>][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]++)?)?+)"""
_TAG_NAME = r"<[A-Za-z][^\s/>]*+"
_RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")


def _light_markup(limit: int) -> re.Pattern[str]:
    """Matches, from the start, markup none of whose start tags has `limit` attributes or more: where the match
    stops short of the end, a start tag with too many attributes begins. (One `<` then the alternatives, the
    raw-text elements only behind a look at their first letter: a third faster than trying each in turn.)"""
    attributes = f"(?:{_SEPARATOR}{_ATTRIBUTE}){{0,{limit - 1}}}+(?!{_SEPARATOR}{_ATTRIBUTE})"
    raw_text = "|".join(f"(?i:{name})(?=[\\s/>]){attributes}{_SEPARATOR}>(?:[^<]++|<(?!/(?i:{name})[\\s/>]))*+"
                        for name in _RAW_TEXT)
    plain_text = f"(?i:plaintext)(?=[\\s/>]){attributes}{_SEPARATOR}>.*+"  # the rest of the page is text
    first_letters = "".join(sorted({c for name in (*_RAW_TEXT, "plaintext") for c in name[0] + name[0].upper()}))
    start_tag = f"[A-Za-z][^\\s/>]*+{attributes}"
    comment = "!--(?:-?>|(?:[^-]++|-(?!-!?>))*+(?:--!?>)?)"  # <!--> and <!---> end at once, as in HTML5
    markup = f"[^<]++|<(?:(?=[{first_letters}])(?:{raw_text}|{plain_text})|{start_tag}|{comment}|(?![A-Za-z]))"
    return re.compile(f"(?:{markup})*+", re.S | re.A)


def _markup_tokens() -> re.Pattern[str]:
    """Text, comments, raw-text elements and start tags, one match each, read as `_light_markup` reads them; the
    attributes of a start tag in a group named after its kind (raw-text elements by name, `attributes` the rest)."""
    raw_text = "|".join(f"<(?i:{name})(?=[\\s/>])(?P<{name}>(?:{_SEPARATOR}{_ATTRIBUTE})*+){_SEPARATOR}>?"
                        f"(?:[^<]++|<(?!/(?i:{name})[\\s/>]))*+" for name in _RAW_TEXT)
    plain_text = f"<(?i:plaintext)(?=[\\s/>])(?P<plaintext>(?:{_SEPARATOR}{_ATTRIBUTE})*+).*+"
    comment = "<!--(?:-?>|(?:[^-]++|-(?!-!?>))*+(?:--!?>)?)"
    start_tag = f"{_TAG_NAME}(?P<attributes>(?:{_SEPARATOR}{_ATTRIBUTE})*+)"
    return re.compile(f"[^<]++|{raw_text}|{plain_text}|{comment}|{start_tag}|<", re.S | re.A)


_LIGHT = _light_markup(MAX_ATTRIBUTES_PER_ELEMENT)
_TOKENS = _markup_tokens()
_START_TAG = re.compile(f"{_TAG_NAME}(?:{_SEPARATOR}{_ATTRIBUTE})*+", re.A)
_ONE_ATTRIBUTE = re.compile(f"{_SEPARATOR}{_ATTRIBUTE}", re.A)
_NAME = re.compile(_TAG_NAME, re.A)


def excess(markup: str) -> str | None:
    """What in `markup` is beyond what a parse may cost, in words (with the measured value), or None."""
    # every start tag, comment or doctype opens with a '<' not followed by '/': an upper bound, and free
    tags = markup.count("<") - markup.count("</")
    if tags > MAX_TAGS:
        return f"{tags:,} tags, more than the {MAX_TAGS:,} a page may have"
    if len(markup) >= COUNT_ATTRIBUTES_FROM and (attributes := _attribute_count(markup)) > MAX_ATTRIBUTES:
        return f"{attributes:,} attributes, more than the {MAX_ATTRIBUTES:,} a page may have"
    stop = _LIGHT.match(markup).end()
    if stop < len(markup):
        name_end = _NAME.match(markup, stop).end()
        count = len(_ONE_ATTRIBUTE.findall(markup, name_end, _START_TAG.match(markup, stop).end()))
        name = markup[stop + 1:name_end][:40]
        return (f"{count:,} attributes on one <{name}> element (at character {stop:,}), more than the "
                f"{MAX_ATTRIBUTES_PER_ELEMENT:,} an element may have")
    return None


def _attribute_count(markup: str) -> int:
    """The attributes of every start tag (a loop in Python over the tags: for large pages only)."""
    count = 0
    for token in _TOKENS.finditer(markup):
        if token.lastgroup is not None:
            start, end = token.span(token.lastgroup)
            if end > start:
                count += len(_ONE_ATTRIBUTE.findall(markup, start, end))
    return count
