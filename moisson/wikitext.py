"""Wikitext to plain article text: what a reader sees in the running prose of a Wikipedia article.

Why linear passes and not a parse tree: a dump is millions of pages of 50-150 k characters, and building
mwparserfromhell's tree (Python objects for every node) ran at ~45 pages/s per core, ten times its own C tokenizer.
Nearly everything that tree held is thrown away: templates, references, tables are most of a page's markup and none
of its prose. So each construct is handled by one forward scan (C regular expressions find the next marker, Python
only keeps a depth count), in the order MediaWiki's own preprocessor uses, outermost spans first:

1. comments, then `<ref>`, then the tags whose content is not prose (`<math>`, `<gallery>`, `<table>`...) are cut;
   `<nowiki>`/`<pre>` content is kept but escaped, so no later pass reads markup in it; list markers and bold/italic
   quotes go too, while their line starts and pairs are intact;
2. templates `{{...}}` and tables `{|...|}` are cut by one bracket-depth scanner, except a few inline templates that
   carry the article's own words (`{{nihongo|'''Akira Kurosawa'''|...}}`, `{{lang|fr|...}}`, `{{nowrap|...}}`):
   DBpedia's gold abstracts keep those words (tables are dropped rather than kept as cells: cells are figures and
   labels, not prose, and the golds drop them);
3. file/image links, categories and interlanguage links are dropped; other links become their visible text (inner
   links first, so a caption's links are resolved before its file link is dropped);
4. headings become their own paragraph, list items their own line; magic words, bare URLs and HTML tags disappear
   (line-level tags become line breaks); entities are decoded last, then spaces and the `( , )` husks of dropped
   templates are tidied.

Speed: ~800 pages/s per core on the shared dumps (mean 55 k characters a page), where bzip2 decompression of the
dump alone runs at ~500. Each pattern starts with a literal where it can: the regex engine then jumps to
candidates, where an alternation or a `^` makes it try every position, several times slower.

Bounded time: input over `MAX_WIKITEXT_CHARS` is refused (`WikitextRefused`), and so are piles of unclosed openers
(`{{`, `[[`, `<ref>`, nested tables), the input that made a backtracking parser quadratic. Every scan starts where
the last one ended, and a search that finds no closer stops the scan, so hostile markup costs a few linear passes.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

MAX_WIKITEXT_CHARS = 2_000_000  # the longest Wikipedia articles are ~1.5 MB of wikitext
# Templates and tables open at once, and `[[` or `<ref>` left unclosed: real articles stay under 10. Piles of
# unclosed openers made the backtracking tokenizer used before quadratic (10,000 unclosed `{{a|b}` took
# mwparserfromhell 32 s); over this bound the page is refused, which also bounds the scanner's stack and the
# number of link passes.
MAX_OPEN_BRACKETS = 40
TABLE_INDENT_SEEN = 64  # characters looked back for the line start before `{|` / `|}`: bounded on one-line pages
# Case spelled out rather than re.IGNORECASE: the literal `<` prefix lets the engine skip to candidates.
REF_OPEN = re.compile(r"<[rR][eE][fF]\b[^<>]*>")
REF_CLOSE = re.compile(r"</[rR][eE][fF]\s*>")

DROPPED_TAGS = frozenset({"ref", "references", "gallery", "math", "chem", "ce", "score", "timeline", "graph",
                          "imagemap", "mapframe", "maplink", "templatedata", "templatestyles", "syntaxhighlight",
                          "source", "table", "noinclude", "includeonly", "hiero", "inputbox", "categorytree",
                          "style", "script", "indicator"})
VERBATIM_TAGS = frozenset({"nowiki", "pre"})  # content shown as typed: kept, with its markup characters escaped
BLOCK_OPEN = re.compile(r"<(%s)(?:\s[^<>]*?)?(/?)>" % "|".join(sorted(DROPPED_TAGS | VERBATIM_TAGS)), re.IGNORECASE)
VERBATIM_ESCAPES = {ord(char): f"&#{ord(char)};" for char in "{}[]|'<>=*#:;_-~/"}

# `{{`, `}}`, and a table's `{|` / `|}`, which count only at the start of a line (checked after the match: a
# `^`-anchored alternative would make every position of the page a candidate, four times slower). Braces bind
# first, as in MediaWiki's preprocessor: `|}}` is a template's last (empty) parameter and its end.
STRUCTURE = re.compile(r"\{[{|]|\}\}|\|\}(?!\})")
# `{{{1|default}}}`: a template's own parameter, pasted into an article by mistake; shows nothing worth keeping.
# Cut before templates (innermost ones, no braces inside), or its three braces would be read as `{{` + `{`.
PARAMETER = re.compile(r"\{\{\{[^{}]*\}\}\}")
ARGUMENT_MARKS = re.compile(r"\{\{|\}\}|\[\[|\]\]|\||=")
# Inline templates whose positional arguments are the sentence's own words, and which of them a reader sees (joined
# by a space): a name, a quoted foreign word, a quantity. Dropping them leaves holes in sentences ("is  long").
# Mid-sentence in the shared dumps: {{convert}} 351 times on the English pages, {{unité}} 74 on the French ones.
FIRST, SECOND, LAST, ALL = slice(0, 1), slice(1, 2), slice(-1, None), slice(0, None)
WORD_ARGUMENTS = {"nihongo": FIRST, "nihongo2": FIRST, "nowrap": FIRST, "nobr": FIRST, "small": FIRST,
                  "lang-rtl": FIRST, "abbr": FIRST, "lang": SECOND, "transl": LAST,
                  "convert": slice(0, 2), "cvt": slice(0, 2),  # value and unit: `5 km` (the conversion is not kept)
                  "unité": ALL, "nombre": ALL, "date": slice(0, 3), "lien": FIRST, "citation": FIRST,
                  "incise": FIRST}
WORD_ARGUMENTS_PREFIXES = ("lang-", "langx")  # {{lang-de|Einigkeit}}, {{langx|de|Einigkeit}}: the last argument
RANGE_WORDS = frozenset({"to", "-", "–", "and", "or", "by", "x", "×", "+/-", "±"})  # {{convert|5|to|10|km}}

# Three forms, so that the common ones cost the callback nothing but a group lookup: 1. `[[target]]` with no `:`
# or `#` (its text is the target), 2. `[[target|label]]` with no `:` in the target, 3. any other link (namespaces,
# sections). A label may hold single brackets (`[…]` in a caption), not `[[` or `]]`.
LABEL = r"[^\[\]]*(?:(?:\[(?!\[)|\](?!\]))[^\[\]]*)*"
LINK = re.compile(rf"\[\[(?:([^\[\]|\n:#]*)\]\]|[^\[\]|\n:]*\|({LABEL})\]\]|([^\[\]|\n]*)(?:\|({LABEL}))?\]\])")
# Namespaces whose links are not prose: files, categories, in every language of the dumps at hand.
NON_PROSE_PREFIXES = frozenset({"file", "image", "media", "category", "fichier", "catégorie", "datei", "bild",
                                "kategorie", "bestand", "afbeelding", "categorie", "archivo", "categoría", "imagen",
                                "ficheiro", "categoria", "arquivo", "immagine"})
INTERLANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z]{2,10})*$")
# The label stops at a `[` as well as at `]` or a line end: a scan for `]` never passes the next candidate `[`, so
# unclosed links cost one pass, not one pass each.
EXTERNAL_LINK = re.compile(r"\[(?:https?:|ftp:|mailto:|//)[^\s\[\]<>\"]*(?:[ \t]+([^\]\n\[]*))?\]", re.IGNORECASE)
BARE_URL = re.compile(r"(?:https?|ftp)://[^\s\[\]<>\"{}|]+")

# Line-level patterns start with a literal newline (the text gets one in front) rather than `^` in MULTILINE mode:
# a literal prefix lets the regex engine skip to candidates instead of trying every position.
# A heading starts and ends with `=`: one candidate per line and one backtrack from its end, so linear, where a lazy
# title between `=+` runs is quadratic on a long line of `=`.
HEADING = re.compile(r"\n=[^\n]*=[ \t]*(?=\n|$)")
LIST_MARKERS = re.compile(r"\n(?:[*#:;]+|-{4,})")
LINE_TAG = re.compile(r"</?(?:li|dt|dd|br|p|div|tr|hr)\b[^<>]*>", re.IGNORECASE)
OTHER_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
BOLD_ITALIC = re.compile(r"''(?:'(?:'')?)?")  # 5, 3 or 2 quotes; written with a literal prefix
MAGIC_WORD = re.compile(r"__[A-ZÀ-Ý]+__")

# Husks of dropped templates: `( , )` goes, `(, x` becomes `(x`. Each pattern starts with a literal: an alternation
# of `\(` and `\[` costs the engine every position of the text, seven times slower.
PARENTHESIS_HUSK = re.compile(r"\((?: *(?:[,;:] *)*\)| *(?:[,;] *)+)")
EMPTY_SQUARE_BRACKETS = re.compile(r"\[ *\]")
# Spaces before punctuation or a line end go, other runs become one space.
SPACES = re.compile(r" (?: *(?=[,.;:!?)\]\n])|( +))")
LINE_START_SPACES = re.compile(r"\n +")
BLANK_LINES = re.compile(r"\n\n\n+")


class WikitextRefused(ValueError):
    """The wikitext is too long, or its openers pile up too deep, to convert within the time budget."""


def plain_text(wikitext: str) -> str:
    """Prose of a page's wikitext: paragraphs separated by a blank line, list items one per line."""
    if len(wikitext) > MAX_WIKITEXT_CHARS:
        raise WikitextRefused(f"wikitext of {len(wikitext)} characters is over the {MAX_WIKITEXT_CHARS} limit")
    text = _without_references(_without_comments(wikitext))
    if len(REF_OPEN.findall(text)) > MAX_OPEN_BRACKETS:  # unclosed references: refused, as other piled openers
        raise WikitextRefused(f"more than {MAX_OPEN_BRACKETS} unclosed <ref> tags")
    text = _line_markup(_without_blocks(text))
    if "{{{" in text:
        text = PARAMETER.sub("", text)
    text = _links(_without_templates(text))
    if text.count("[[") > MAX_OPEN_BRACKETS:
        raise WikitextRefused(f"more than {MAX_OPEN_BRACKETS} unclosed [[")
    return _tidy(html.unescape(_inline_markup(_external_links(text))))


def lead_section(wikitext: str) -> str:
    """Wikitext before the first heading: the part a gold abstract covers."""
    match = re.search(r"^=+[^=\n].*=+\s*$", wikitext, flags=re.MULTILINE)
    return wikitext[:match.start()] if match else wikitext


def _without_comments(wikitext: str) -> str:
    """`<!-- -->` cut first, as MediaWiki does: a commented-out `{{` or `<ref>` must not open anything. An unclosed
    comment hides the rest of the page, as it does on the rendered page."""
    kept, position = [], 0
    while (start := wikitext.find("<!--", position)) != -1:
        kept.append(wikitext[position:start])
        end = wikitext.find("-->", start + 4)
        position = len(wikitext) if end == -1 else end + 3
    kept.append(wikitext[position:])
    return "".join(kept)


def _without_references(wikitext: str) -> str:
    """`<ref>...</ref>` cut early: they are dropped anyway, and their citation templates are a third of a page's
    markup. One forward pass (each search starts where the last ended, and the first unclosed reference stops it),
    so linear on hostile input."""
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


def _without_blocks(wikitext: str) -> str:
    """Tags whose content is not prose cut with their content; `<nowiki>`/`<pre>` content escaped. An opener with no
    closer is left as text (the tag pass removes it), and its name is not searched for again: linear."""
    kept, position, unclosed = [], 0, set()
    while (opening := BLOCK_OPEN.search(wikitext, position)) is not None:
        name = opening.group(1).lower()
        kept.append(wikitext[position:opening.start()])
        position = opening.end()
        if opening.group(2) or name in unclosed:
            continue
        closing = _closing_tag(wikitext, name, position)
        if closing is None:
            unclosed.add(name)
            continue
        if name in VERBATIM_TAGS:
            kept.append(wikitext[position:closing.start()].translate(VERBATIM_ESCAPES))
        position = closing.end()
    kept.append(wikitext[position:])
    return "".join(kept)


@lru_cache(maxsize=64)
def _tag_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){name}(?:\s[^<>]*?)?\s*(/?)>", re.IGNORECASE)


def _closing_tag(wikitext: str, name: str, start: int) -> re.Match[str] | None:
    """The closer matching an opener of `name` (same-name tags nest, as tables do; verbatim content does not)."""
    depth = 1
    for match in _tag_pattern(name).finditer(wikitext, start):
        if match.group(1):
            depth -= 1
            if depth == 0:
                return match
        elif not match.group(2) and name not in VERBATIM_TAGS:
            depth += 1
    return None


def _without_templates(wikitext: str) -> str:
    """Outermost templates and tables cut; the inline templates that carry prose replaced by their words."""
    kept, position = [], 0
    for start, end, kind in _outermost_spans(wikitext):
        kept.append(wikitext[position:start])
        if kind == "{{":
            kept.append(_template_words(wikitext[start + 2:end - 2]))
        position = end
    kept.append(wikitext[position:])
    return "".join(kept)


def _outermost_spans(wikitext: str) -> list[tuple[int, int, str]]:
    """(start, end, "{{" or "{|") of each outermost template or table, in order, by one depth-counting scan.

    An unclosed `{{` is text, as in MediaWiki: the constructs closed inside it stay outermost. A table left open
    runs to the end of the page (MediaWiki closes it there). One pass either way: a closed pair replaces the pairs
    it contains, which are the last ones found."""
    stack: list[tuple[str, int]] = []
    spans: list[tuple[int, int, str]] = []
    for match in STRUCTURE.finditer(wikitext):
        token = match.group()
        if token[0] == "{":
            if token == "{|" and not _at_line_start(wikitext, match.start(), " \t:"):
                continue
            if len(stack) >= MAX_OPEN_BRACKETS:
                raise WikitextRefused(f"more than {MAX_OPEN_BRACKETS} nested templates and tables at {match.start()}")
            stack.append((token, match.start()))
            continue
        opener = "{{" if token == "}}" else "{|"
        if opener == "{|" and not _at_line_start(wikitext, match.start(), " \t"):
            continue
        depth = next((index for index in range(len(stack) - 1, -1, -1) if stack[index][0] == opener), -1)
        if depth < 0:
            continue  # a closer with nothing open: stray text
        start = stack[depth][1]
        del stack[depth:]
        while spans and spans[-1][0] >= start:
            spans.pop()
        spans.append((start, match.end(), opener))
    table = next((start for kind, start in stack if kind == "{|"), None)
    if table is not None:
        while spans and spans[-1][0] >= table:
            spans.pop()
        spans.append((table, len(wikitext), "{|"))
    return spans


def _at_line_start(wikitext: str, index: int, indent: str) -> bool:
    """Only `indent` characters between the line start and `index` (a bounded look back)."""
    line_start = wikitext.rfind("\n", max(0, index - TABLE_INDENT_SEEN), index) + 1
    if line_start == 0 and index > TABLE_INDENT_SEEN:
        return False
    return not wikitext[line_start:index].strip(indent)


def _template_words(body: str) -> str:
    """The words an inline template shows (WORD_ARGUMENTS); "" for every other template."""
    name = body.partition("|")[0].strip().lower().replace("_", " ")
    shown = WORD_ARGUMENTS.get(name) or (LAST if name.startswith(WORD_ARGUMENTS_PREFIXES) else None)
    if shown is None:
        return ""  # most templates: no need to split their arguments
    positional = [value.strip() for value, keyed in _arguments(body)[1:] if not keyed]
    if name in ("convert", "cvt") and len(positional) >= 4 and positional[1] in RANGE_WORDS:
        shown = slice(0, 4)
    return " ".join(_without_templates(value) for value in positional[shown])


def _arguments(body: str) -> list[tuple[str, bool]]:
    """A template body split at its own `|` (not those of nested templates or links): (text, has a `key=`)."""
    arguments, depth, start, keyed = [], 0, 0, False
    for match in ARGUMENT_MARKS.finditer(body):
        mark = match.group()
        if mark in ("{{", "[["):
            depth += 1
        elif mark in ("}}", "]]"):
            depth = max(depth - 1, 0)
        elif depth == 0 and mark == "|":
            arguments.append((body[start:match.start()], keyed))
            start, keyed = match.end(), False
        elif depth == 0:
            keyed = True
    arguments.append((body[start:], keyed))
    return arguments


def _links(text: str) -> str:
    """Links replaced by their visible text, innermost first, so a caption's links go before its file link."""
    for _ in range(MAX_OPEN_BRACKETS):  # one pass per nesting level: deeper is left, and refused when it piles up
        if "[[" not in text:
            break
        text, count = LINK.subn(_link_text, text)
        if not count:
            break
    return text


def _link_text(link: re.Match[str]) -> str:
    """A link's visible text; nothing for files, categories and interlanguage links."""
    form = link.lastindex
    if form == 1 or form == 2:
        return link[form]
    target, label = link[3].strip(), link[4]
    if ":" in target:
        prefix = target.lstrip(":").partition(":")[0].strip().lower()
        if not target.startswith(":") and (prefix in NON_PROSE_PREFIXES or INTERLANGUAGE.match(prefix)):
            return ""
        if target.startswith(":") and prefix in NON_PROSE_PREFIXES:
            return label or ""
    if label is not None:
        return label
    return target.lstrip(":").split("#")[0] or target


def _external_links(text: str) -> str:
    """`[url label]` becomes its label; a bracketed URL without one, and a bare URL, are not prose."""
    if "[" in text:
        text = EXTERNAL_LINK.sub(lambda link: link.group(1) or "", text)
    return BARE_URL.sub("", text) if "://" in text else text


def _line_markup(text: str) -> str:
    """List markers, rules and bold/italic quotes removed before templates are cut: a dropped template must not
    leave a `;` at a line start to be read as a marker, nor join the italic quotes around it into bold ones."""
    return BOLD_ITALIC.sub("", LIST_MARKERS.sub("\n", "\n" + text))


def _inline_markup(text: str) -> str:
    """Headings as paragraphs, line-level tags as line breaks, other tags and magic words removed."""
    text = HEADING.sub(lambda heading: "\n\n\n" + heading.group().strip().strip("=").strip() + "\n\n", "\n" + text)
    if "<" in text:
        text = OTHER_TAG.sub("", LINE_TAG.sub("\n", text))
    return MAGIC_WORD.sub("", text) if "__" in text else text


def _tidy(text: str) -> str:
    """Whitespace and the punctuation left behind by dropped templates and references: single spaces, none at a
    line's ends or before punctuation, no `( , )` husks, paragraphs one blank line apart. Whole-text passes that
    each start with a literal (per-line loops cost a third of the conversion)."""
    text = PARENTHESIS_HUSK.sub(_husk, text.replace("\t", " ").replace("\u00a0", " "))
    if "[" in text:
        text = EMPTY_SQUARE_BRACKETS.sub("", text)
    text = LINE_START_SPACES.sub("\n", SPACES.sub(_space, text))
    return BLANK_LINES.sub("\n\n", text).strip()


def _husk(match: re.Match[str]) -> str:
    return "" if match.group().endswith(")") else "("


def _space(match: re.Match[str]) -> str:
    return " " if match.group(1) else ""
