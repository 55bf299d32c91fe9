"""Labelled good and junk documents in many languages, to calibrate the quality filter per language and script.

Each `Sample` carries the language as the data labels it (ISO 639-1, never detected), its script, whether it
is good human-written main content or junk, the set it comes from (`origin`) and its split. The split is a
stable hash of the sample's `group` (the page, or the sample itself when it stands alone): every document
made from one page (its gold text, Moisson's extraction of it, its boilerplate) falls in the same half, so
rules tuned on `tune` are reported on pages they never saw. About half the groups are `tune`, half `report`.

Good text (kind "good"), from ../shared/data (read-only, nothing copied into the repository):
- gutenberg: 3-8 consecutive paragraphs of one public-domain book (de, en, es, fr, it), joined by line breaks.
- udhr: consecutive UDHR paragraphs of one of the 24 EU languages, joined into documents of 600-2,500
  characters (articles, with their short list items, as on a web page of the declaration).
- leipzig: randomly drawn sentences of one Leipzig file (news, Wikipedia, web; de, en, es, fr, it), 3-6
  sentences a paragraph, 2-5 paragraphs a document.
- aeb-gold / readability-gold: the hand-checked article body of scrapinghub_aeb, the text of readability's
  expected.html (readerable pages only, not the maintainers' synthetic lorem-ipsum cases).
- aeb-extracted / readability-extracted: what Moisson itself extracts from those same pages
  (`moisson.extraction.extract(payload, "html", "utf-8", url).text`): the text the filter sees in
  production, with its headings, captions and table lines. Cached in bench/.cache/ (keyed by the source
  of the extraction module that runs and the trafilatura and lxml versions).
- written: bench/data/good_written.txt, documents written for this project in languages the shared data
  lacks (news, encyclopedia, forum, recipe, hard-wrapped e-text, short notices).
- websample-gold: when bench/gold/*.json exists (url -> language and snippets, annotated by hand on
  ../shared/data/bench/websample_part*.warc.gz), Moisson's extraction of those pages.

Language labels: `<html lang>` (aeb), the metadata `lang` (readability), else a label set by reading the
page (HAND_LABELS below); pages with neither are left out; four aeb pages declare the wrong language
(LABEL_FIXES). Three aeb gold texts are listings, not prose (NOT_PROSE): their text is in neither set.

Junk (kind "junk"), documents nobody wants in a training corpus:
- aeb-boilerplate / readability-boilerplate: the text lines of a page's full HTML that are not in its gold
  main text (menus, footers, share buttons, bylines, related links), in page order; reader-comment
  sections (class or id naming comments, replies, discussion) are removed first, lines of 20 words or more
  are dropped (they may be teasers or comments: human prose), chunks of up to 120 lines.
- websample-boilerplate: the lines of the nav, header, footer, menu, breadcrumb and cookie/consent elements
  of the websample pages, one document per page, labelled by `<html lang>`.
- generated-*: number tables, code dumps, keyword spam, product grids, calendars, sitemaps, hashtag clouds,
  word salad (spun spam: the language's words in sentence shape, meaning nothing), SEO doorway pages (one
  keyword phrase and place names in the same sentences) and teaser listings (headline, date, a teaser cut
  with an ellipsis, 'more', item after item, cut from the language's real sentences), made with the words of each language's good text
  (seeded, so the same every run).

`load_samples(split)` returns them; `python bench/filter_sets.py` prints counts, `--dump-tune FILE` writes the
tune split as JSONL (one sample a line, every field).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # moisson, when run as a script

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATA = Path(__file__).resolve().parent / "data"
GOLD_DIR = Path(__file__).resolve().parent / "gold"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
WRITTEN = DATA / "good_written.txt"

SPLITS = ("tune", "report")
GOOD, JUNK = "good", "junk"


@dataclass(frozen=True)
class Sample:
    id: str
    language: str
    script: str
    kind: str  # good | junk
    origin: str
    split: str  # tune | report
    text: str
    group: str  # the unit the split follows (a page, a book passage); samples of one group share a split


def split_of(group: str) -> str:
    """'tune' or 'report', from a stable hash of the group (the same on every machine and run)."""
    return SPLITS[hashlib.sha256(group.encode("utf-8")).digest()[0] & 1]


# --- languages and scripts ------------------------------------------------------------------------------------

SCRIPT_OF_LANGUAGE = {
    **dict.fromkeys(("el",), "Greek"),
    **dict.fromkeys(("ru", "uk", "bg", "sr", "mk", "be", "kk", "ky", "tg", "mn"), "Cyrillic"),
    **dict.fromkeys(("zh", "ja", "ko"), "CJK"),
    **dict.fromkeys(("ar", "fa", "ur", "ps"), "Arabic"),
    **dict.fromkeys(("he", "yi"), "Hebrew"),
    **dict.fromkeys(("hi", "mr", "ne"), "Devanagari"),
    "th": "Thai", "hy": "Armenian", "ka": "Georgian",
}


def script_of(language: str) -> str:
    return SCRIPT_OF_LANGUAGE.get(language, "Latin")


def primary(code: str | None) -> str | None:
    code = (code or "").strip().split("-")[0].split("_")[0].lower()
    return code if 2 <= len(code) <= 3 and code.isalpha() else None


LEIPZIG_LANGUAGE = {"deu": "de", "eng": "en", "fra": "fr", "ita": "it", "spa": "es"}

# Pages whose markup declares no language: labelled by reading them (not by a detector).
HAND_LABELS = {
    # scrapinghub_aeb (id prefix)
    "11ea381ad92b": "pt", "cc03ddb5ef7d": "pt", "f6ac15a4d985": "pt",
    **dict.fromkeys(("05844573ca7e", "291a8bf33ee4", "34a7328535ad", "358cc4a08045", "42aad16bde92", "51374560f400",
                     "5caf91b8a442", "63db31a161b3", "65408257dbe4", "7916ecca969f", "7dfc3e359d7c", "9cb8224b660f",
                     "9ebb3af65694", "a6968f427cdb", "aec5deeaada8", "bdb56ac83513", "c00962aabe7b", "d605bdef2cde",
                     "d90bda7ed14d", "db6b0816c612", "e1c7023ee214", "e372e42c0a3d", "eb62ac8425e5", "ecb46e3e489d",
                     "eecd2575093b", "ef2b3f268a67", "ef4e67b66d63"), "en"),
    # readability test pages (page name)
    "gmw": "zh", "qq": "zh", "youth": "zh", "hukumusume": "ja", "la-nacion": "es",
    **dict.fromkeys(("blogger", "bug-1255978", "clean-links", "cnn", "keep-images", "keep-tabular-data",
                     "links-in-tables", "lwn-1", "medium-1", "medium-2", "mercurial", "salon-1",
                     "table-style-attributes", "tmz-1", "topicseed-1", "videos-1", "wapo-1", "wapo-2"), "en"),
}

# Pages whose declared language is wrong (read by hand): the label is the language of the text.
LABEL_FIXES = {"57b4dafd18cf": "de", "ba07d1e64775": "de", "f81c6c05d9cb": "en", "fde930b01859": "en"}

# Gold main contents that are listings, not prose (a standings table, a race calendar, a list of game scores):
# not "good human-written text", so neither good nor junk; their boilerplate stays junk.
NOT_PROSE = {"11ea381ad92b", "cc03ddb5ef7d", "c81e134ed499"}

# readability's crafted edge cases that are not lorem ipsum (those are recognised by their text)
READABILITY_SYNTHETIC = {"reordering-paragraphs", "title-and-h1-discrepancy", "005-unescape-html-entities",
                         "js-link-replacement", "lazy-image-3", "invalid-attributes", "ol"}


# --- reading HTML ----------------------------------------------------------------------------------------------

_BLOCK = {"address", "article", "aside", "blockquote", "body", "br", "dd", "details", "dialog", "div", "dl", "dt",
          "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
          "li", "main", "nav", "ol", "option", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
          "button", "label", "select", "textarea", "caption", "menu", "title"}
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas", "math"}


def _tag(element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def text_lines(element) -> list[str]:
    """The visible text of an element as lines: a line break around every block element, spaces collapsed;
    script, style and similar are skipped. Iterative, so deep pages do not hit the recursion limit."""
    import lxml.etree

    parts: list[str] = []
    skipping = 0
    for event, node in lxml.etree.iterwalk(element, events=("start", "end")):
        tag = _tag(node)
        if event == "start":
            if tag in _SKIP or not tag:
                skipping += 1
                continue
            if skipping:
                continue
            if tag in _BLOCK:
                parts.append("\n")
            parts.append(node.text or "")
        else:
            if tag in _SKIP or not tag:
                skipping -= 1
            elif not skipping and tag in _BLOCK:
                parts.append("\n")
            if not skipping and node is not element:
                parts.append(node.tail or "")
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return [line for line in lines if line]


def parse_html(payload: bytes, charset: str | None = None):
    """The page as an lxml tree; decoded with `charset` when it is known (lxml alone would read a UTF-8 page
    without a <meta charset> as Latin-1), else lxml finds the encoding itself. None if it cannot be parsed."""
    import lxml.html

    markup: bytes | str = payload
    if charset:
        try:
            markup = re.sub(r"^\s*<\?xml[^>]*>", "", payload.decode(charset, "replace"))
        except LookupError:
            markup = payload
    try:
        return lxml.html.document_fromstring(markup)
    except Exception:  # empty or unparseable: no lines
        return None


_COMMENTS = re.compile(r"comment|reply|replies|respond|disqus|discussion|guestbook", re.I)


def drop_comments(tree) -> None:
    """Remove reader-comment sections (class or id naming comments, replies, discussion): people's own
    words, neither the page's main content nor junk, so they belong to neither set."""
    found = [el for el in tree.iter() if isinstance(el.tag, str)
             and _COMMENTS.search(f"{el.get('class') or ''} {el.get('id') or ''}")]
    for element in found:
        if element.getparent() is not None and not any(a in found for a in element.iterancestors()):
            element.drop_tree()


def _tokens(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def outside_gold(page_lines: list[str], gold: str, max_words: int = 20) -> list[str]:
    """The page's lines that are not in the gold text (as a run of whole tokens) and shorter than max_words."""
    gold_tokens = f" {_tokens(gold)} "
    kept = []
    for line in page_lines:
        tokens = _tokens(line)
        if not tokens or f" {tokens} " in gold_tokens or len(line.split()) >= max_words:
            continue
        kept.append(line)
    return kept


# --- shared-data sets ------------------------------------------------------------------------------------------


def _paragraph_documents(paragraphs: list[str], rng: random.Random, low: int, high: int) -> list[list[str]]:
    docs, i = [], 0
    while i < len(paragraphs):
        n = rng.randint(low, high)
        docs.append(paragraphs[i : i + n])
        i += n
    return docs


def gutenberg_samples(per_language: int = 40) -> list[Sample]:
    path = SHARED / "text/gutenberg_5lang/gutenberg_paragraphs_min200chars.tsv.gz"
    books: dict[str, list[tuple[int, str]]] = defaultdict(list)
    languages = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            books[row["book"]].append((int(row["para_idx"]), row["text"]))
            languages[row["book"]] = row["lang"]
    rng = random.Random(1)
    by_language: dict[str, list[Sample]] = defaultdict(list)
    for book in sorted(books):
        paragraphs = [text for _, text in sorted(books[book])]
        for start in sorted(rng.sample(range(max(1, len(paragraphs) - 8)), min(15, len(paragraphs) // 10))):
            chosen = paragraphs[start : start + rng.randint(3, 8)]
            sid = f"gutenberg:{book}:{start}"
            lang = languages[book]
            by_language[lang].append(Sample(sid, lang, script_of(lang), GOOD, "gutenberg", split_of(sid),
                                            "\n".join(chosen), sid))
    out = []
    for lang, samples in sorted(by_language.items()):
        out += random.Random(lang).sample(samples, min(per_language, len(samples)))
    return out


def udhr_samples() -> list[Sample]:
    path = SHARED / "langid/udhr_eu24/udhr_eu24_paragraphs.tsv"
    paragraphs: dict[str, list[str]] = defaultdict(list)
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            paragraphs[row["label"]].append(row["text"])
    out = []
    for lang, rows in sorted(paragraphs.items()):
        rng = random.Random(f"udhr-{lang}")
        doc: list[str] = []
        size, target, part = 0, rng.randint(600, 2500), 0
        for text in rows:
            doc.append(text)
            size += len(text)
            if size >= target:
                sid = f"udhr:{lang}:{part}"
                out.append(Sample(sid, lang, script_of(lang), GOOD, "udhr", split_of(sid), "\n".join(doc), sid))
                doc, size, target, part = [], 0, rng.randint(600, 2500), part + 1
        if doc and size >= 300:
            sid = f"udhr:{lang}:{part}"
            out.append(Sample(sid, lang, script_of(lang), GOOD, "udhr", split_of(sid), "\n".join(doc), sid))
    return out


def leipzig_samples(per_file: int = 10) -> list[Sample]:
    out = []
    for path in sorted((SHARED / "langid/leipzig_10K_5lang").glob("*-sentences.txt.gz")):
        lang = LEIPZIG_LANGUAGE[path.name[:3]]
        name = path.name.split("_10K")[0]
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            sentences = [line.split("\t", 1)[1].strip() for line in handle if "\t" in line]
        rng = random.Random(name)
        pool = rng.sample(sentences, min(len(sentences), per_file * 25))
        for index in range(per_file):
            paragraphs = []
            for _ in range(rng.randint(2, 5)):
                take = rng.randint(3, 6)
                chunk, pool = pool[:take], pool[take:]
                paragraphs.append(" ".join(chunk))
            sid = f"leipzig:{name}:{index}"
            out.append(Sample(sid, lang, script_of(lang), GOOD, "leipzig", split_of(sid), "\n".join(paragraphs), sid))
    return out


@dataclass(frozen=True)
class Page:
    """A real page with gold main text: where it comes from, its label, its HTML and its gold text."""

    set: str  # aeb | readability
    key: str
    url: str | None
    language: str
    html: bytes
    gold: str


def aeb_pages() -> list[Page]:
    folder = SHARED / "extraction/scrapinghub_aeb"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key, entry in sorted(truth.items()):
        html = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        match = re.search(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z_-]+)", html[:20000], re.I)
        lang = primary(match.group(1).decode()) if match else HAND_LABELS.get(key[:12])
        lang = LABEL_FIXES.get(key[:12], lang)
        if lang:
            pages.append(Page("aeb", key[:16], entry.get("url"), lang, html, entry["articleBody"]))
    return pages


def readability_pages() -> list[Page]:
    folder = SHARED / "extraction/readability_testpages"
    pages = []
    with open(folder / "index.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        name = row["page"]
        if row["readerable"] != "True" or name in READABILITY_SYNTHETIC:
            continue
        page_dir = folder / "pages" / name
        expected = parse_html(gzip.decompress((page_dir / "expected.html.gz").read_bytes()), "utf-8")
        gold = "\n".join(text_lines(expected)) if expected is not None else ""
        if not gold or "lorem ipsum" in gold.lower() or "test document title" in gold.lower():
            continue
        lang = primary(row["lang"]) or HAND_LABELS.get(name)
        if lang:
            pages.append(Page("readability", name, None, lang, gzip.decompress((page_dir / "source.html.gz").read_bytes()), gold))
    return pages


def _extraction_fingerprint() -> str:
    import lxml.etree
    import trafilatura

    import moisson.extraction

    source = Path(moisson.extraction.__file__).read_bytes()  # the module that will run, wherever it comes from
    return hashlib.sha256(source + f"{trafilatura.__version__}|{lxml.etree.LXML_VERSION}".encode()).hexdigest()[:16]


def moisson_extract(items: dict[str, tuple[bytes, str | None, str | None]], name: str) -> dict[str, str | None]:
    """id -> Moisson's extracted text (None when extraction fails), cached in bench/.cache/<name>.json under a
    fingerprint of the extraction code and its libraries; only ids missing from the cache are extracted."""
    from moisson.extraction import ExtractionError, extract

    fingerprint = _extraction_fingerprint()
    cache_file = CACHE_DIR / f"{name}-{fingerprint}.json"  # one per extraction code: checkouts do not evict each other
    cached: dict[str, str | None] = {}
    if cache_file.exists():
        try:
            stored = json.loads(cache_file.read_text(encoding="utf-8"))
            if stored.get("fingerprint") == fingerprint:
                cached = stored["texts"]
        except (ValueError, KeyError):
            cached = {}
    missing = [key for key in items if key not in cached]
    for key in missing:
        payload, charset, url = items[key]
        try:
            cached[key] = extract(payload, "html", charset, url).text
        except ExtractionError:
            cached[key] = None
    if missing:
        CACHE_DIR.mkdir(exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"fingerprint": fingerprint, "texts": cached}, ensure_ascii=False), encoding="utf-8")
        tmp.replace(cache_file)
    return {key: cached[key] for key in items}


def page_samples(pages: list[Page]) -> list[Sample]:
    """For each page: its gold text (good), Moisson's extraction (good), its boilerplate lines (junk)."""
    out = []
    if not pages:
        return out
    origin = pages[0].set
    extracted = moisson_extract({p.key: (p.html, "utf-8", p.url) for p in pages}, f"{origin}-extracted")
    for page in pages:
        group, script = f"{origin}:{page.key}", script_of(page.language)
        prose = page.key[:12] not in NOT_PROSE
        if prose:
            out.append(Sample(f"{origin}-gold:{page.key}", page.language, script, GOOD, f"{origin}-gold",
                              split_of(group), page.gold, group))
        if prose and extracted[page.key]:
            out.append(Sample(f"{origin}-extracted:{page.key}", page.language, script, GOOD, f"{origin}-extracted",
                              split_of(group), extracted[page.key], group))
        tree = parse_html(page.html, "utf-8")
        if tree is not None:
            drop_comments(tree)
        body = tree.find("body") if tree is not None else None
        lines = outside_gold(text_lines(body if body is not None else tree), page.gold) if tree is not None else []
        for part, start in enumerate(range(0, len(lines), 120)):
            chunk = lines[start : start + 120]
            if sum(len(line.split()) for line in chunk) >= 40:
                out.append(Sample(f"{origin}-boilerplate:{page.key}:{part}", page.language, script, JUNK,
                                  f"{origin}-boilerplate", split_of(group), "\n".join(chunk), group))
    return out


# --- websample: boilerplate elements, and annotated pages when a gold file exists ----------------------------

_BOILERPLATE_CLASS = re.compile(r"(^|[\s_-])(nav|navbar|navigation|menu|footer|breadcrumbs?|cookies?|consent|gdpr|"
                                r"topbar|header|site-header|site-footer|legal|copyright)($|[\s_-])", re.I)
_BOILERPLATE_TAGS = {"nav", "footer", "header"}


def _websample_records():
    """(url, html bytes, charset, WARC record id) of every HTML response in the websample archives."""
    from warcio.archiveiterator import ArchiveIterator

    for path in sorted((SHARED / "bench").glob("websample_part*.warc.gz")):
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type != "response":
                    continue
                content_type = record.http_headers.get_header("Content-Type") if record.http_headers else ""
                if content_type and "html" not in content_type.lower():
                    continue
                charset = None
                if content_type and "charset=" in content_type.lower():
                    charset = content_type.lower().split("charset=")[-1].split(";")[0].strip(" \"'") or None
                yield (record.rec_headers.get_header("WARC-Target-URI"), record.content_stream().read(), charset,
                       record.rec_headers.get_header("WARC-Record-ID"))


def _boilerplate_of(tree) -> list[str]:
    lines: list[str] = []
    for element in tree.iter():
        tag = _tag(element)
        if not tag:
            continue
        marker = f"{element.get('class') or ''} {element.get('id') or ''} {element.get('role') or ''}"
        if tag in _BOILERPLATE_TAGS or _BOILERPLATE_CLASS.search(marker) or element.get("role") == "navigation":
            if any(_tag(a) in _BOILERPLATE_TAGS or _BOILERPLATE_CLASS.search(f"{a.get('class') or ''} {a.get('id') or ''}")
                   for a in element.iterancestors()):
                continue  # only the outermost boilerplate element
            text = text_lines(element)
            if sum(map(len, text)) <= 4000:  # larger is a page wrapper, not a menu
                lines += text
    return lines


def _html_lang(html: bytes) -> str | None:
    match = re.search(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z_-]+)", html[:20000], re.I)
    return primary(match.group(1).decode()) if match else None


def websample_boilerplate_samples(per_language: int = 30) -> list[Sample]:
    cache_file = CACHE_DIR / "websample-boilerplate.json"
    archives = sorted((SHARED / "bench").glob("websample_part*.warc.gz"))
    if not archives:
        return []
    stamp = [[p.name, p.stat().st_size] for p in archives] + [hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]]
    found = None
    if cache_file.exists():
        stored = json.loads(cache_file.read_text(encoding="utf-8"))
        if stored.get("stamp") == stamp:
            found = stored["pages"]
    if found is None:
        found = []
        for url, html, charset, _record_id in _websample_records():
            lang = _html_lang(html)
            tree = parse_html(html, charset) if lang else None
            if tree is None:
                continue
            drop_comments(tree)
            lines = _boilerplate_of(tree)
            if sum(len(line.split()) for line in lines) >= 40:
                found.append([url, lang, lines[:150]])
        CACHE_DIR.mkdir(exist_ok=True)
        cache_file.write_text(json.dumps({"stamp": stamp, "pages": found}, ensure_ascii=False), encoding="utf-8")
    by_language: dict[str, list[Sample]] = defaultdict(list)
    seen = set()
    for url, lang, lines in found:
        text = "\n".join(lines)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest in seen:  # near-duplicate pages of the archive carry the same boilerplate
            continue
        seen.add(digest)
        group = f"websample:{url}"
        by_language[lang].append(Sample(f"websample-boilerplate:{url}", lang, script_of(lang), JUNK,
                                        "websample-boilerplate", split_of(group), text, group))
    out = []
    for lang, samples in sorted(by_language.items()):
        out += sorted(random.Random(lang).sample(samples, min(per_language, len(samples))), key=lambda s: s.id)
    return out


def _gold_entries() -> dict[str, str]:
    """url or WARC record id -> language label, from bench/gold/*.json. Accepts {"pages": [{"id", "url",
    "language", ...}]} (the multilingual snippet gold), [{"url", "language"}], {url: {"language": ..}},
    {url: [language, ...]} and {url: language}. No folder or no file: nothing."""
    labels: dict[str, str] = {}
    for path in sorted(GOLD_DIR.glob("*.json")) if GOLD_DIR.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("pages"), list):
            data = data["pages"]
        if isinstance(data, list):
            for item in data:
                if not isinstance(item, dict):
                    continue
                lang = item.get("language") or item.get("lang")
                lang = primary(lang) if isinstance(lang, str) else None
                for key in (item.get("url"), item.get("id")):
                    if isinstance(key, str) and lang:
                        labels[key] = lang
            continue
        for url, value in (data.items() if isinstance(data, dict) else []):
            if isinstance(value, dict):
                lang = value.get("language") or value.get("lang")
            elif isinstance(value, (list, tuple)) and value:
                lang = value[0]
            else:
                lang = value
            lang = primary(lang) if isinstance(lang, str) else None
            if isinstance(url, str) and lang:
                labels[url] = lang
    return labels


def _not_prose_urls() -> set[str]:
    truth = SHARED / "extraction/scrapinghub_aeb/ground-truth.json"
    if not truth.exists():
        return set()
    return {entry.get("url") for key, entry in json.loads(truth.read_text(encoding="utf-8")).items() if key[:12] in NOT_PROSE}


def websample_gold_samples() -> list[Sample]:
    """Moisson's extraction of the websample pages named in bench/gold/*.json (by URL or WARC record id) as
    good text, labelled by the gold file. Pages the gold file names that are not in the archives (its own
    written pages) and listings that are not prose are left out."""
    labels = _gold_entries()
    if not labels:
        return []
    skip = _not_prose_urls()
    items, languages = {}, {}
    for url, html, charset, record_id in _websample_records():
        lang = labels.get(url) or labels.get(record_id or "")
        if lang and url not in skip and url not in items:
            items[url], languages[url] = (html, charset, url), lang
    extracted = moisson_extract(items, "websample-gold-extracted")
    out = []
    for url, text in sorted(extracted.items()):
        if text:
            group = f"websample:{url}"
            lang = languages[url]
            out.append(Sample(f"websample-gold:{url}", lang, script_of(lang), GOOD, "websample-gold", split_of(group),
                              text, group))
    return out


# --- documents written for the project --------------------------------------------------------------------------


def written_samples(path: Path = WRITTEN) -> list[Sample]:
    """bench/data/good_written.txt: '#' comment lines at the top, then documents each opened by a line
    '=== <id> <language> <genre> ==='; the text runs to the next such line (blank lines at its ends removed)."""
    out = []
    header = re.compile(r"^=== (\S+) ([a-z]{2,3}) (\S+) ===$")
    current: tuple[str, str, str] | None = None
    lines: list[str] = []

    def close():
        if current:
            sid, lang, genre = current
            text = "\n".join(lines).strip("\n")
            ident = f"written:{lang}:{sid}"
            out.append(Sample(ident, lang, script_of(lang), GOOD, "written", split_of(ident), text, ident))

    for line in path.read_text(encoding="utf-8").splitlines():
        match = header.match(line)
        if match:
            close()
            current, lines = (match.group(1), match.group(2), match.group(3)), []
        elif current:
            lines.append(line)
    close()
    return out


# --- generated junk --------------------------------------------------------------------------------------------

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")


def vocabulary(texts: list[str], size: int = 400) -> list[str]:
    """The most frequent words of a language's good text (for CJK, 2-3 character pieces of its runs), in a
    stable order."""
    counts: Counter[str] = Counter()
    for text in texts:
        for raw in text.split():
            token = "".join(ch for ch in raw if unicodedata.category(ch)[0] in "LM")
            if len(token) < len(raw) / 2 or any(ch.isdigit() for ch in raw):
                continue
            runs = _CJK.findall(token)
            if runs and sum(map(len, runs)) >= len(token) / 2:
                for run in runs:
                    counts.update(run[i : i + 2 + (i % 2)] for i in range(0, max(1, len(run) - 1), 2))
            elif len(token) >= 3:
                counts[token] += 1
    return [word for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]]


def _pick(rng: random.Random, words: list[str], n: int) -> list[str]:
    return [rng.choice(words) for _ in range(n)]


def _title(words: list[str]) -> str:
    return " ".join(words[:1][0][:1].upper() + words[0][1:] if i == 0 else w for i, w in enumerate(words)) if words else ""


def number_table(words: list[str], rng: random.Random) -> str:
    columns = rng.randint(4, 7)
    rows = [" | ".join(_pick(rng, words, columns))]
    for _ in range(rng.randint(25, 45)):
        cells = [" ".join(_pick(rng, words, rng.randint(1, 2)))]
        for _ in range(columns - 1):
            kind = rng.random()
            if kind < 0.3:
                cells.append(f"{rng.uniform(0, 9999):.2f}".replace(".", rng.choice(".,")))
            elif kind < 0.55:
                cells.append(f"{rng.randint(0, 100)}%")
            elif kind < 0.75:
                cells.append(f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2015, 2026)}")
            else:
                cells.append(str(rng.randint(0, 250_000)))
        rows.append(" | ".join(cells))
    return "\n".join(rows)


def code_dump(words: list[str], rng: random.Random) -> str:
    lines = []
    for block in range(rng.randint(4, 8)):
        name = "_".join(_pick(rng, words, 2))
        lines.append(f"// {' '.join(_pick(rng, words, rng.randint(3, 8)))}")
        style = rng.random()
        if style < 0.4:
            lines.append(f"function {name}(a, b) {{")
            for _ in range(rng.randint(3, 7)):
                lines.append(f"  var {rng.choice(words)} = document.querySelector('.{rng.choice(words)}-{block}');")
                lines.append(f"  if (a > {rng.randint(0, 99)}) {{ b.push('{rng.choice(words)}'); }}")
            lines.append("  return b;\n}")
        elif style < 0.7:
            lines.append(f".{name} {{ margin: {rng.randint(0, 40)}px {rng.randint(0, 40)}px; color: #{rng.randint(0, 0xFFFFFF):06x}; }}")
            lines.append(f".{name}:hover {{ display: {rng.choice(['none', 'block', 'flex'])}; z-index: {rng.randint(1, 999)}; }}")
        else:
            items = ", ".join(f'"{rng.choice(words)}": {rng.randint(0, 9999)}' for _ in range(rng.randint(3, 6)))
            lines.append(f"window.__{name} = {{{items}}};")
    return "\n".join(lines)


def keyword_spam(words: list[str], rng: random.Random) -> str:
    keywords = _pick(rng, words, rng.randint(3, 5))
    lines = []
    for _ in range(rng.randint(12, 25)):
        phrase = " ".join(rng.sample(keywords, len(keywords)))
        lines.append(f"{phrase} {rng.choice(keywords)} {rng.choice(keywords)} {' '.join(keywords[:2])} {rng.randint(2020, 2026)}")
    return "\n".join(lines)


def product_grid(words: list[str], rng: random.Random) -> str:
    button, currency = rng.choice(words), rng.choice(["€", "$", "zł", "₽", "¥", "£", "₪", "Kč"])
    lines = []
    for _ in range(rng.randint(12, 24)):
        lines.append(_title(_pick(rng, words, rng.randint(2, 4))))
        price = f"{rng.randint(3, 999)},{rng.randint(0, 99):02d}"
        lines.append(f"{price} {currency}" + (f"  -{rng.randint(5, 70)}%" if rng.random() < 0.3 else ""))
        lines.append(f"{'★' * rng.randint(1, 5)}{'☆' * rng.randint(0, 2)} ({rng.randint(0, 2000)})")
        lines.append(button)
    return "\n".join(lines)


def calendar_page(words: list[str], rng: random.Random) -> str:
    days = [w[:2].title() for w in _pick(rng, words, 7)]
    lines = []
    for month in rng.sample(range(1, 13), rng.randint(2, 3)):
        lines.append(f"{_title([rng.choice(words)])} {rng.randint(2018, 2026)}")
        lines.append(" ".join(days))
        start = rng.randint(0, 6)
        cells = [""] * start + [str(d) for d in range(1, rng.choice([29, 30, 31]) + 1)]
        for week in range(0, len(cells), 7):
            lines.append(" ".join(f"{c:>2}" for c in cells[week : week + 7]))
        for _ in range(rng.randint(2, 5)):
            lines.append(f"{rng.randint(1, 28):02d}.{month:02d}. {rng.randint(8, 20)}:{rng.choice(['00', '30'])} {' '.join(_pick(rng, words, 2))}")
    return "\n".join(lines)


def sitemap(words: list[str], rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(8, 14)):
        section = _title([rng.choice(words)])
        lines.append(section)
        for _ in range(rng.randint(4, 9)):
            leaf = " ".join(_pick(rng, words, rng.randint(1, 3)))
            style = rng.random()
            if style < 0.4:
                lines.append(f"{section} › {leaf}")
            elif style < 0.7:
                lines.append(f"- {leaf}")
            else:
                lines.append(f"https://www.example.org/{rng.choice(words)}/{rng.randint(100, 99999)}")
    return "\n".join(lines)


def hashtag_cloud(words: list[str], rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(6, 12)):
        lines.append(" ".join(f"#{w}" for w in _pick(rng, words, rng.randint(5, 12))))
    return "\n".join(lines)


_UNSPACED_LANGUAGES = {"zh", "ja"}


def _sentence(words: list[str], rng: random.Random, n: int, lang: str) -> str:
    """n words drawn with Zipf-like weights (the vocabulary is sorted by frequency), as one sentence."""
    weights = [1 / (rank + 1) for rank in range(len(words))]
    chosen = rng.choices(words, weights=weights, k=n)
    if lang in _UNSPACED_LANGUAGES:
        return "".join(chosen) + "。"
    text = " ".join(chosen)
    return text[:1].upper() + text[1:] + "."


def word_salad(words: list[str], rng: random.Random, lang: str = "") -> str:
    """Spun or machine-made spam: real words of the language in sentence shape, meaning nothing."""
    paragraphs = []
    for _ in range(rng.randint(3, 6)):
        paragraphs.append(" ".join(_sentence(words, rng, rng.randint(6, 16), lang) for _ in range(rng.randint(3, 6))))
    return "\n".join(paragraphs)


def doorway_page(words: list[str], rng: random.Random, lang: str = "") -> str:
    """An SEO doorway page: one keyword phrase and a list of places poured into the same sentence templates."""
    keyword = " ".join(_pick(rng, words[:150], 2))
    places = _pick(rng, words, rng.randint(8, 14))
    fillers = _pick(rng, words, 6)
    sep = "" if lang in _UNSPACED_LANGUAGES else " "
    end = "。" if lang in _UNSPACED_LANGUAGES else "."
    lines = []
    for place in places:
        a, b, c = rng.sample(fillers, 3)
        lines.append(sep.join([keyword, place, a, b]) + end + " " + sep.join([a, keyword, c, place]) + end
                     + " " + sep.join([keyword, place, b]) + end)
    return "\n".join(lines)


def teaser_listing(sentences: list[str], words: list[str], rng: random.Random, lang: str = "") -> str:
    """A category or search-results page: headline, date and section, a teaser cut off with an ellipsis, a
    'more' link, for item after item; the pieces are cut from the language's real sentences."""
    unspaced = lang in _UNSPACED_LANGUAGES
    more = _title([rng.choice(words)])
    lines = []
    for _ in range(rng.randint(10, 16)):
        headline, teaser = rng.choice(sentences), rng.choice(sentences)
        if unspaced:
            lines.append(headline[: rng.randint(10, 18)].rstrip("。，、"))
            teaser_text = teaser[: rng.randint(35, 60)]
        else:
            lines.append(" ".join(headline.split()[: rng.randint(4, 9)]).rstrip(".,;:"))
            teaser_text = " ".join(teaser.split()[: rng.randint(12, 25)])
        lines.append(f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(2019, 2026)} · {rng.choice(words)}")
        lines.append(teaser_text.rstrip(".,;:。") + rng.choice(["…", "...", " …"]))
        lines.append(more)
    return "\n".join(lines)


_SENTENCE_END = re.compile(r"(?<=[.!?。！？؟])\s*")


def sentences_of(texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        for line in text.splitlines():
            out += [piece.strip() for piece in _SENTENCE_END.split(line) if len(piece.strip()) >= 30]
    return out


GENERATORS = {
    "number-table": number_table, "code": code_dump, "keyword-spam": keyword_spam, "product-grid": product_grid,
    "calendar": calendar_page, "sitemap": sitemap, "hashtags": hashtag_cloud, "word-salad": word_salad,
    "doorway": doorway_page,
}
_TAKES_LANGUAGE = {"word-salad", "doorway"}


def generated_samples(good: list[Sample], per_generator: int = 2) -> list[Sample]:
    texts: dict[str, list[str]] = defaultdict(list)
    for sample in good:
        texts[sample.language].append(sample.text)
    out = []
    for lang in sorted(texts):
        words = vocabulary(texts[lang])
        if len(words) < 20:
            continue
        sentences = sentences_of(texts[lang])
        if len(sentences) >= 10:
            for index in range(per_generator):
                sid = f"generated-teasers:{lang}:{index}"
                out.append(Sample(sid, lang, script_of(lang), JUNK, "generated-teasers", split_of(sid),
                                  teaser_listing(sentences, words, random.Random(sid), lang), sid))
        for name, generator in GENERATORS.items():
            for index in range(per_generator):
                sid = f"generated-{name}:{lang}:{index}"
                out.append(Sample(sid, lang, script_of(lang), JUNK, f"generated-{name}", split_of(sid),
                                  generator(words, random.Random(sid), lang) if name in _TAKES_LANGUAGE
                                  else generator(words, random.Random(sid)), sid))
    return out


# --- all together ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _all_samples() -> tuple[Sample, ...]:
    samples: list[Sample] = []
    if WRITTEN.exists():
        samples += written_samples()
    if SHARED.is_dir():
        samples += gutenberg_samples() + udhr_samples() + leipzig_samples()
        samples += page_samples(aeb_pages()) + page_samples(readability_pages())
        samples += websample_boilerplate_samples() + websample_gold_samples()
    samples += generated_samples([s for s in samples if s.kind == GOOD])
    samples = [s for s in samples if s.text.strip()]
    ids = Counter(s.id for s in samples)
    duplicated = [sid for sid, n in ids.items() if n > 1]
    if duplicated:
        raise ValueError(f"duplicate sample ids: {duplicated[:5]}")
    return tuple(samples)


def load_samples(split: str | None = None) -> list[Sample]:
    """Every sample (split None or 'all'), or those of one split ('tune' or 'report')."""
    if split not in (None, "all", *SPLITS):
        raise ValueError(f"split must be one of tune, report, all, got {split!r}")
    return [s for s in _all_samples() if split in (None, "all") or s.split == split]


def dump_jsonl(samples: list[Sample], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(asdict(sample), ensure_ascii=False) + "\n")


def counts_table(samples: list[Sample]) -> str:
    rows = Counter((s.language, s.script, s.kind) for s in samples)
    languages = sorted({s.language for s in samples})
    lines = [f"{'lang':<5} {'script':<10} {'good':>5} {'junk':>5}"]
    for lang in languages:
        lines.append(f"{lang:<5} {script_of(lang):<10} {rows[(lang, script_of(lang), GOOD)]:>5} {rows[(lang, script_of(lang), JUNK)]:>5}")
    origins = Counter((s.origin, s.kind) for s in samples)
    lines.append("")
    lines += [f"{origin:<32} {kind:<5} {n:>5}" for (origin, kind), n in sorted(origins.items())]
    scripts = Counter((s.script, s.kind) for s in samples)
    lines.append("")
    lines += [f"{script:<12} {kind:<5} {n:>5}" for (script, kind), n in sorted(scripts.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["tune", "report", "all"], default="all")
    parser.add_argument("--dump-tune", type=Path, metavar="FILE", help="write the tune split as JSONL")
    args = parser.parse_args(argv)
    if args.dump_tune:
        tune = load_samples("tune")
        dump_jsonl(tune, args.dump_tune)
        print(f"wrote {len(tune)} tune samples to {args.dump_tune}")
    print(counts_table(load_samples(args.split)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
