"""Wikitext to plain article text: what a reader sees in the running prose of a Wikipedia article.

Why a parser and not regular expressions: wikitext nests (a link inside a template inside a reference), and a
regex that strips `{{...}}` either stops at the first `}}` or backtracks badly on hostile pages. mwparserfromhell
(MIT, C tokenizer) builds the tree; this module walks it and keeps only prose:

* templates (infoboxes, navboxes, citation, maintenance banners) are dropped, except a few inline ones that carry
  the article's own words (`{{nihongo|'''Akira Kurosawa'''|...}}`, `{{lang|fr|...}}`, `{{nowrap|...}}`): DBpedia's
  gold abstracts keep those words;
* `<ref>`, `<references/>`, galleries, math, tables, comments are dropped: the gold abstracts have none of them
  (tables are dropped rather than kept as cells: cells are figures and labels, not prose, and the golds drop them);
* file/image links, categories and interlanguage links are dropped; other links become their visible text;
* headings become their own paragraph; list items their own line; bold/italic quotes disappear.

Bounded time: input over `MAX_WIKITEXT_CHARS` is refused (`WikitextRefused`); the tokenizer itself caps nesting
depth (100) and backtracking cycles, so a pathological page degrades to literal text rather than running away.
"""

from __future__ import annotations

import re

import mwparserfromhell
from mwparserfromhell.nodes import (Argument, Comment, ExternalLink, Heading, HTMLEntity, Node, Tag, Template,
                                    Text, Wikilink)
from mwparserfromhell.wikicode import Wikicode

MAX_WIKITEXT_CHARS = 2_000_000  # the longest Wikipedia articles are ~1.5 MB of wikitext
MAX_NODE_DEPTH = 60  # tree depth walked; deeper content is dropped (the tokenizer stops at 100 anyway)
# Brackets `{{` / `[[` open and not yet closed at any point: real articles stay under 10. The tokenizer backtracks
# on every unclosed opener, quadratically: 10,000 unclosed `{{a|b}` took 32 s. Over this, the page is refused.
MAX_OPEN_BRACKETS = 40
BRACKETS = re.compile(r"\{\{|\}\}|\[\[|\]\]")
REF_OPEN = re.compile(r"<ref\b[^<>]*>", re.IGNORECASE)
REF_CLOSE = re.compile(r"</ref\s*>", re.IGNORECASE)
BOLD_ITALIC = re.compile(r"'{5}|'{3}|'{2}")

DROPPED_TAGS = frozenset({"ref", "references", "gallery", "math", "chem", "score", "timeline", "graph",
                          "imagemap", "mapframe", "maplink", "templatedata", "templatestyles", "syntaxhighlight",
                          "source", "table", "noinclude", "includeonly", "hiero", "inputbox", "categorytree",
                          "style", "script", "indicator"})
LINE_TAGS = frozenset({"li", "dt", "dd", "br", "p", "div", "tr", "hr"})
# Namespaces whose links are not prose: files, categories, in every language of the dumps at hand.
NON_PROSE_PREFIXES = frozenset({"file", "image", "media", "category", "fichier", "image", "catégorie", "datei",
                                "bild", "kategorie", "bestand", "afbeelding", "categorie", "archivo", "categoría",
                                "imagen", "ficheiro", "categoria", "arquivo", "file", "immagine", "categoria"})
INLINE_TEMPLATES_FIRST = frozenset({"nihongo", "nowrap", "nobr", "small", "nihongo2", "lang-rtl", "abbr"})
INTERLANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z]{2,10})*$")
MAGIC_WORD = re.compile(r"__[A-ZÀ-Ý]+__")
EMPTY_BRACKETS = re.compile(r"\(\s*[,;:]?\s*\)|\[\s*\]")
SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?)\]])")
SPACES = re.compile(r"[ \t\u00a0]+")
OPEN_PAREN_PUNCT = re.compile(r"\(\s*[,;]\s*")


class WikitextRefused(ValueError):
    """The wikitext is too long to parse within the time budget."""


def plain_text(wikitext: str) -> str:
    """Prose of a page's wikitext: paragraphs separated by a blank line, list items one per line."""
    if len(wikitext) > MAX_WIKITEXT_CHARS:
        raise WikitextRefused(f"wikitext of {len(wikitext)} characters is over the {MAX_WIKITEXT_CHARS} limit")
    _check_nesting(wikitext)
    # Bold/italic quotes are left as text (and removed below): parsed as tags, one unbalanced `''` inside a
    # `<ref>` makes the tokenizer give up on the whole reference, which then leaks into the prose.
    wikitext = _without_references(wikitext)
    if len(REF_OPEN.findall(wikitext)) > MAX_OPEN_BRACKETS:  # unclosed references: quadratic in the tokenizer
        raise WikitextRefused(f"more than {MAX_OPEN_BRACKETS} unclosed <ref> tags")
    code = mwparserfromhell.parse(wikitext, skip_style_tags=True)
    return _tidy("".join(_nodes(code, 0)))


def _check_nesting(wikitext: str) -> None:
    """Refuse markup whose open brackets pile up: the case that makes the tokenizer's time quadratic."""
    depth = {"{{": 0, "[[": 0}
    closer = {"}}": "{{", "]]": "[["}
    for match in BRACKETS.finditer(wikitext):
        token = match.group()
        if token in depth:
            depth[token] += 1
            if depth[token] > MAX_OPEN_BRACKETS:
                raise WikitextRefused(f"more than {MAX_OPEN_BRACKETS} nested or unclosed {token} at {match.start()}")
        elif depth[closer[token]]:
            depth[closer[token]] -= 1


def _without_references(wikitext: str) -> str:
    """`<ref>...</ref>` cut before parsing: they are dropped anyway, and their citation templates cost a third of
    the parse time. One forward pass (each search starts where the last ended, and the first unclosed reference
    stops it), so linear on hostile input; what is left is for the parser."""
    kept, position = [], 0
    while (opening := REF_OPEN.search(wikitext, position)) is not None:
        kept.append(wikitext[position:opening.start()])
        if opening.group().endswith("/>"):
            position = opening.end()
            continue
        closing = REF_CLOSE.search(wikitext, opening.end())
        if closing is None:
            position = opening.start()
            break
        position = closing.end()
    kept.append(wikitext[position:])
    return "".join(kept)


def lead_section(wikitext: str) -> str:
    """Wikitext before the first heading: the part a gold abstract covers."""
    match = re.search(r"^=+[^=\n].*=+\s*$", wikitext, flags=re.MULTILINE)
    return wikitext[:match.start()] if match else wikitext


def _nodes(code: Wikicode, depth: int) -> list[str]:
    """Visible text of each node in order; depth bounds recursion on deeply nested markup."""
    if depth > MAX_NODE_DEPTH:
        return []
    return [_node(node, depth + 1) for node in code.nodes]


def _node(node: Node, depth: int) -> str:
    """One node's visible text (empty for what is not prose)."""
    if isinstance(node, Text):
        return BOLD_ITALIC.sub("", MAGIC_WORD.sub("", node.value))
    if isinstance(node, Wikilink):
        return _link(node, depth)
    if isinstance(node, Tag):
        return _tag(node, depth)
    if isinstance(node, Heading):
        return "\n\n" + "".join(_nodes(node.title, depth)).strip() + "\n\n"
    if isinstance(node, HTMLEntity):
        return node.normalize()
    if isinstance(node, ExternalLink):
        return "".join(_nodes(node.title, depth)) if node.title is not None and node.brackets else ""
    if isinstance(node, Template):
        return _template(node, depth)
    if isinstance(node, (Comment, Argument)):
        return ""
    return ""


def _link(link: Wikilink, depth: int) -> str:
    """A link's visible text; nothing for files, categories and interlanguage links."""
    target = str(link.title).strip()
    prefix, colon, _ = target.lstrip(":").partition(":")
    prefix = prefix.strip().lower()
    if colon and not target.startswith(":") and (prefix in NON_PROSE_PREFIXES or INTERLANGUAGE.match(prefix)):
        return ""
    if colon and target.startswith(":") and prefix in NON_PROSE_PREFIXES:
        return "".join(_nodes(link.text, depth)) if link.text is not None else ""
    if link.text is not None:
        return "".join(_nodes(link.text, depth))
    return "".join(_nodes(link.title, depth)).lstrip(":").split("#")[0] or target


def _tag(tag: Tag, depth: int) -> str:
    """HTML or wiki-markup tag: dropped, a line break, or its contents."""
    name = str(tag.tag).strip().lower()
    if name in DROPPED_TAGS:
        return ""
    inner = "".join(_nodes(tag.contents, depth)) if tag.contents is not None else ""
    if name in ("li", "dt", "dd"):
        return inner if tag.wiki_markup else "\n" + inner  # `* item`: the line break is already in the text
    if name in LINE_TAGS:
        return "\n" + inner + "\n"
    return inner


def _template(template: Template, depth: int) -> str:
    """The few inline templates whose first or last argument is prose; every other template is dropped."""
    name = str(template.name).strip().lower().replace("_", " ")
    positional = [param for param in template.params if not param.showkey]
    if not positional:
        return ""
    if name in INLINE_TEMPLATES_FIRST:
        return "".join(_nodes(positional[0].value, depth))
    if name == "lang" and len(positional) >= 2:
        return "".join(_nodes(positional[1].value, depth))
    if name.startswith("lang-") or name.startswith("langx"):
        return "".join(_nodes(positional[-1].value, depth))
    return ""


def _tidy(text: str) -> str:
    """Whitespace and the punctuation left behind by dropped templates and references."""
    lines = []
    for line in text.split("\n"):
        line = SPACES.sub(" ", line)
        line = OPEN_PAREN_PUNCT.sub("(", line)
        line = EMPTY_BRACKETS.sub("", line)
        line = SPACE_BEFORE_PUNCT.sub(r"\1", SPACES.sub(" ", line)).strip()
        lines.append(line)
    paragraphs = re.split(r"\n{2,}", "\n".join(lines))
    return "\n\n".join(part.strip("\n") for part in paragraphs if part.strip())
