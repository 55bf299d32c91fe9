"""Per-language main-text extraction evaluation: Moisson and trafilatura's settings on three sets.

Sets (every one read in place, read-only):
  aeb          ../shared/data/extraction/scrapinghub_aeb: 181 news pages with gold article bodies; each page's
               language is detected from its gold text (moisson.language.identify_language).
  readability  ../shared/data/extraction/readability_testpages: the reference is the text of `expected.html`
               (its text nodes joined by spaces); language from index.tsv (primary subtag), else detected from the
               reference. Real pages only in the quality figures: the crafted edge cases (source under 5 KB of
               HTML: `ol`, `replace-brs`, `rtl-1`, ...) and `readerable: false` pages are reported apart.
  snippets     bench/gold/multilingual_snippets.json: real pages of ../shared/data/bench/websample_part*.warc.gz
               (by WARC record id) and pages written for this set (bench/gold/pages/), each with 3-6 "with"
               snippets (article sentences that must be in the text) and 3-6 "without" snippets (menus, footers,
               cookie banners, related links, comments that must not be); scored as trafilatura's own evaluation
               does, table pipes read as spaces and whitespace runs collapsed on both sides, a with-snippet found = TP, missing = FN, a
               without-snippet found = FP, missing = TN; precision, recall and F1 from the counts summed over the
               pages of a language (and over all pages for the overall figure). Each page has a `split`:
               `tune` (the half the default was chosen on, with aeb) or `report` (held out).

Shingle scores (aeb, readability) are bench/quality.py's: token 4-gram multiset P/R per page, F1 from the means.
CPU per page = time.process_time() of the extraction call alone (one thread), mean over the pages of all sets.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
AEB = SHARED / "extraction" / "scrapinghub_aeb"
READABILITY = SHARED / "extraction" / "readability_testpages"
WEBSAMPLE = sorted((SHARED / "bench").glob("websample_part*.warc.gz"))
GOLD = REPO / "bench" / "gold" / "multilingual_snippets.json"
WRITTEN_PAGES = REPO / "bench" / "gold" / "pages"
SYNTHETIC_MAX_BYTES = 5000
PIPE_ONLY = re.compile(r"^[\s|:\-]*\|[\s|:\-]*$")
WS = re.compile(r"\s+")


@dataclass
class Page:
    set: str
    id: str
    url: str | None
    html: bytes
    charset: str | None
    language: str
    reference: str | None = None  # gold text (shingle sets)
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    group: str = "quality"  # quality | synthetic | not-readerable (readability); tune | report (snippets)


# ---------------------------------------------------------------- settings


Extractor = Callable[[bytes, str | None, str | None], str | None]


def settings(include_candidates: bool = True) -> dict[str, Extractor]:
    """Name -> f(html bytes, charset, url) -> text or None. Plain trafilatura is given the page decoded as Moisson
    decodes it, so that only the extraction differs."""
    import trafilatura

    from moisson import extraction as mx

    def traf(**kwargs) -> Extractor:
        def run(html: bytes, charset: str | None, url: str | None) -> str | None:
            return trafilatura.extract(mx.decode(html, charset), url=url, **kwargs)
        return run

    def moisson(**kwargs) -> Extractor:
        def run(html: bytes, charset: str | None, url: str | None) -> str | None:
            try:
                return mx.extract(html, "html", charset, url, **kwargs).text
            except mx.ExtractionError:
                return None
        return run

    out = {
        "moisson": moisson(),
        "moisson resiliparse": moisson(backend="resiliparse"),
        "traf default": traf(),
        "traf fast": traf(fast=True),
        "traf precision": traf(favor_precision=True),
        "traf recall": traf(favor_recall=True),
        "traf no-tables": traf(include_tables=False),
        "traf fast no-tables": traf(fast=True, include_tables=False),
        "traf no-comments": traf(include_comments=False),
        "traf fast no-comments": traf(fast=True, include_comments=False),
    }
    if include_candidates:
        for mode in getattr(mx, "TRAFILATURA_MODES", ()):
            if mode != getattr(mx, "DEFAULT_MODE", None):
                out[f"moisson mode={mode}"] = moisson(mode=mode)
    return out


def is_plain_trafilatura(name: str) -> bool:
    return name.startswith("traf ")


# ---------------------------------------------------------------- loaders


def _detect(text: str) -> str:
    from moisson.language import identify_language

    result = identify_language(text[:3000])
    value = getattr(result, "language", result)
    return str(value or "und")


def load_aeb(folder: Path = AEB, limit: int | None = None) -> list[Page]:
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:limit] if limit else sorted(truth)
    return [Page("aeb", i, truth[i]["url"], gzip.decompress((folder / "html" / f"{i}.html.gz").read_bytes()), "utf-8",
                 _detect(truth[i]["articleBody"]), reference=truth[i]["articleBody"]) for i in ids]


def html_text(markup: bytes) -> str:
    import lxml.html

    tree = lxml.html.fromstring(markup.decode("utf-8", errors="replace") or "<p></p>")
    for bad in tree.xpath("//script|//style"):
        bad.drop_tree()
    return " ".join(" ".join(tree.itertext()).split())


def load_readability(folder: Path = READABILITY, limit: int | None = None) -> list[Page]:
    index = {}
    for line in (folder / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        name, lang, _dir, readerable = (line.split("\t") + ["", "", "", ""])[:4]
        index[name] = (lang, readerable == "True")
    pages = []
    for name in sorted(index)[:limit] if limit else sorted(index):
        source = gzip.decompress((folder / "pages" / name / "source.html.gz").read_bytes())
        reference = html_text(gzip.decompress((folder / "pages" / name / "expected.html.gz").read_bytes()))
        lang, readerable = index[name]
        primary = lang.split("-")[0].lower() if re.fullmatch(r"[A-Za-z]{2,3}(-\w+)?", lang or "") else ""
        group = "synthetic" if len(source) < SYNTHETIC_MAX_BYTES else "quality" if readerable else "not-readerable"
        pages.append(Page("readability", name, f"http://fakehost/{name}/", source, "utf-8",
                          primary or _detect(reference), reference=reference, group=group))
    return pages


def websample_records(ids: set[str]) -> dict[str, tuple[str, bytes, str | None]]:
    """WARC record id -> (url, HTTP body, charset) for the wanted response records of the bench archive."""
    from warcio.archiveiterator import ArchiveIterator

    found = {}
    for path in WEBSAMPLE:
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                rid = record.rec_headers.get_header("WARC-Record-ID")
                if record.rec_type != "response" or rid not in ids:
                    continue
                content_type = record.http_headers.get_header("Content-Type") or ""
                charset = re.search(r"charset=([\w.:-]+)", content_type, re.I)
                found[rid] = (record.rec_headers.get_header("WARC-Target-URI"), record.content_stream().read(),
                              charset.group(1) if charset else None)
    return found


def load_snippets(gold: Path = GOLD, limit: int | None = None) -> list[Page]:
    entries = json.loads(gold.read_text(encoding="utf-8"))["pages"]
    entries = entries[:limit] if limit else entries
    records = websample_records({e["id"] for e in entries if e["id"].startswith("<urn:")})
    pages = []
    for e in entries:
        if e["id"].startswith("<urn:"):
            if e["id"] not in records:
                continue
            url, body, charset = records[e["id"]]
        else:
            url, body, charset = e.get("url"), (WRITTEN_PAGES / e["id"]).read_bytes(), "utf-8"
        pages.append(Page("snippets", e["id"], url, body, charset, e["language"], with_=e["with"],
                          without=e["without"], group=e.get("split", "report")))
    return pages


# ---------------------------------------------------------------- scoring


def normalise(text: str | None) -> str:
    """Whitespace runs collapsed, and table pipes read as spaces: `| a | b |` (trafilatura's tables), `a | b` (a
    Markdown row, or a menu's own separators), `a \\| b` (a literal pipe escaped inside a Markdown cell) and `a  b`
    hold the same text, and a snippet must not be found or missed for the way an extractor draws a table."""
    return WS.sub(" ", (text or "").replace("\\|", " ").replace("|", " ")).strip()


def snippet_counts(text: str | None, page: Page) -> tuple[int, int, int, int]:
    """(TP, FN, FP, TN) of one page, as trafilatura's evaluation counts them."""
    flat = normalise(text)
    found_with = sum(normalise(s) in flat for s in page.with_)
    found_without = sum(normalise(s) in flat for s in page.without)
    return found_with, len(page.with_) - found_with, found_without, len(page.without) - found_without


def snippet_prf(counts: list[tuple[int, int, int, int]]) -> tuple[float, float, float]:
    tp, fn, fp, _tn = (sum(c[i] for c in counts) for i in range(4))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def pipe_only_lines(text: str | None) -> int:
    """Lines made only of pipes, dashes, colons and blanks that hold at least one pipe (`| |`, `|---|`)."""
    return sum(1 for line in (text or "").splitlines() if "|" in line and PIPE_ONLY.match(line)
               and not re.fullmatch(r"\s*\|(\s*:?-{3,}:?\s*\|)+\s*", line))


def empty_cell_lines(text: str | None) -> int:
    """Pipe-only lines, the separator row of a Markdown table included only when no header row is above it."""
    lines = (text or "").splitlines()
    bad = 0
    for i, line in enumerate(lines):
        if "|" in line and PIPE_ONLY.match(line):
            is_separator = re.fullmatch(r"\s*\|(\s*:?-{3,}:?\s*\|)+\s*", line) is not None
            header_above = i > 0 and "|" in lines[i - 1] and not PIPE_ONLY.match(lines[i - 1])
            if not (is_separator and header_above):
                bad += 1
    return bad


@dataclass
class Run:
    outputs: dict[str, list[str | None]]  # setting -> text per page
    cpu: dict[str, list[float]]  # setting -> CPU seconds per page


def run_settings(pages: list[Page], extractors: dict[str, Extractor], progress: bool = True) -> Run:
    outputs, cpu = {}, {}
    for name, fn in extractors.items():
        if pages:
            fn(pages[0].html, pages[0].charset, pages[0].url)  # warm-up: imports and caches are not timed
        texts, times = [], []
        for page in pages:
            start = time.process_time()
            try:
                texts.append(fn(page.html, page.charset, page.url))
            except Exception:  # noqa: BLE001 - a crash is an empty output for the evaluation
                texts.append(None)
            times.append(time.process_time() - start)
        outputs[name], cpu[name] = texts, times
        if progress:
            print(f"  {name:<28} {len(pages)} pages, {1000 * sum(times) / max(1, len(pages)):.1f} ms CPU/page",
                  flush=True)
    return Run(outputs, cpu)


def _quality_module():
    """bench/quality.py's scoring, loaded as `bench_quality` (as `quality` it would shadow the project's package)."""
    import importlib.util
    import sys

    if "bench_quality" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_quality", REPO / "bench" / "quality.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_quality"] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_quality"]


def shingle_f1(pages: list[Page], texts: list[str | None]) -> float:
    quality = _quality_module()
    counts = [quality.page_counts(p.reference or "", t) for p, t in zip(pages, texts)]
    return quality.score_extraction(counts, bootstrap=1).f1 if counts else float("nan")


@dataclass
class Evaluation:
    names: list[str]
    table: dict[tuple[str, str], dict[str, float]]  # (set, language) -> setting -> F1
    sizes: dict[tuple[str, str], int]
    overall: dict[str, dict[str, float]]  # figure -> setting -> value
    cpu_ms: dict[str, float]
    pipes: dict[str, dict[str, int]]  # setting -> language -> pipe-only lines (snippet set + websample pages)


def evaluate(pages: list[Page], run: Run, min_pages: int = 3) -> Evaluation:
    names = list(run.outputs)
    table: dict[tuple[str, str], dict[str, float]] = {}
    sizes: dict[tuple[str, str], int] = {}
    overall: dict[str, dict[str, float]] = defaultdict(dict)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, page in enumerate(pages):
        if page.set == "readability" and page.group != "quality":
            groups[("readability " + page.group, "all")].append(i)
            continue
        groups[(page.set, page.language)].append(i)
    for key, idx in sorted(groups.items()):
        if len(idx) < min_pages and not key[0].startswith("readability "):
            continue
        sizes[key] = len(idx)
        table[key] = {}
        for name in names:
            texts = [run.outputs[name][i] for i in idx]
            chosen = [pages[i] for i in idx]
            if key[0] == "snippets":
                table[key][name] = snippet_prf([snippet_counts(t, p) for t, p in zip(texts, chosen)])[2]
            else:
                table[key][name] = shingle_f1(chosen, texts)
    for name in names:
        snippet_idx = [i for i, p in enumerate(pages) if p.set == "snippets"]
        if snippet_idx:
            counts = [snippet_counts(run.outputs[name][i], pages[i]) for i in snippet_idx]
            overall["snippet_f1"][name] = snippet_prf(counts)[2]
            for split in ("tune", "report"):
                part = [snippet_counts(run.outputs[name][i], pages[i]) for i in snippet_idx if pages[i].group == split]
                if part:
                    overall[f"snippet_f1_{split}"][name] = snippet_prf(part)[2]
        shingle_langs = [v[name] for k, v in table.items() if k[0] in ("aeb", "readability")]
        if shingle_langs:
            overall["shingle_f1_macro_languages"][name] = sum(shingle_langs) / len(shingle_langs)
        for set_name in ("aeb", "readability"):
            idx = [i for i, p in enumerate(pages) if p.set == set_name and p.group == "quality"]
            if idx:
                overall[f"{set_name}_shingle_f1"][name] = shingle_f1([pages[i] for i in idx],
                                                                      [run.outputs[name][i] for i in idx])
    cpu_ms = {name: 1000 * sum(run.cpu[name]) / max(1, len(pages)) for name in names}
    pipes: dict[str, dict[str, int]] = {}
    for name in names:
        per_lang: Counter = Counter()
        for page, text in zip(pages, run.outputs[name]):
            per_lang[page.language] += pipe_only_lines(text)
        pipes[name] = dict(per_lang)
    return Evaluation(names, table, sizes, dict(overall), cpu_ms, pipes)


def min_margin(ev: Evaluation, setting: str = "moisson") -> tuple[float, tuple[str, str] | None]:
    """The worst, over (set, language) rows, of `setting`'s F1 minus the best plain-trafilatura setting's F1."""
    worst, where = float("inf"), None
    for key, row in ev.table.items():
        if key[0].startswith("readability "):
            continue
        best = max(v for n, v in row.items() if is_plain_trafilatura(n))
        if row[setting] - best < worst:
            worst, where = row[setting] - best, key
    return worst, where


def print_evaluation(ev: Evaluation) -> None:
    short = {n: n.replace("moisson mode=", "m:").replace("moisson ", "m:").replace("traf ", "t:")[:11] for n in ev.names}
    width = 11
    header = f"{'set':<22} {'lang':<4} {'pages':>5} " + " ".join(f"{short[n]:>{width}}" for n in ev.names)
    print("\nF1 per language (snippet F1 for `snippets`, shingle F1 otherwise; best plain trafilatura marked *)")
    print(header + "\n" + "-" * len(header))
    for key, row in ev.table.items():
        best = max(v for n, v in row.items() if is_plain_trafilatura(n))
        cells = " ".join(f"{row[n]:>{width - 1}.3f}{'*' if is_plain_trafilatura(n) and row[n] == best else ' '}"
                         for n in ev.names)
        print(f"{key[0][:22]:<22} {key[1]:<4} {ev.sizes[key]:>5} {cells}")
    print("-" * len(header))
    for figure, values in ev.overall.items():
        print(f"{figure[:33]:<33}" + " ".join(f"{values.get(n, float('nan')):>{width}.3f}" for n in ev.names))
    print(f"{'CPU ms/page':<33}" + " ".join(f"{ev.cpu_ms[n]:>{width}.1f}" for n in ev.names))
    total_pipes = {n: sum(v.values()) for n, v in ev.pipes.items()}
    print(f"{'pipe-only lines (all sets)':<33}" + " ".join(f"{total_pipes[n]:>{width}d}" for n in ev.names))
    margin, where = min_margin(ev)
    print(f"\nmoisson's least margin over the best plain trafilatura setting: {margin:+.3f} ({where})")


def figures(ev: Evaluation) -> dict[str, float]:
    fig = {}
    if "snippet_f1" in ev.overall:
        fig["snippet_f1"] = ev.overall["snippet_f1"]["moisson"]
        fig["snippet_f1_report"] = ev.overall.get("snippet_f1_report", {}).get("moisson", float("nan"))
    if "shingle_f1_macro_languages" in ev.overall:
        fig["extraction_shingle_f1_macro_languages"] = ev.overall["shingle_f1_macro_languages"]["moisson"]
    fig["extraction_min_margin_vs_best_trafilatura"] = min_margin(ev)[0]
    fig["extraction_cpu_ms_per_page"] = ev.cpu_ms["moisson"]
    fig["trafilatura_fast_cpu_ms_per_page"] = ev.cpu_ms["traf fast"]
    fig["extraction_pipe_only_lines"] = sum(ev.pipes["moisson"].values())
    return fig


def load_all(limit: int | None = None) -> list[Page]:
    pages = load_aeb(limit=limit) + load_readability(limit=limit)
    if GOLD.exists():
        pages += load_snippets(limit=limit)
    return pages


def bench_languages(limit: int | None = None, include_candidates: bool = True) -> Evaluation:
    pages = load_all(limit)
    print(f"\n## Extraction per language: {sum(p.set == 'aeb' for p in pages)} aeb, "
          f"{sum(p.set == 'readability' for p in pages)} readability, {sum(p.set == 'snippets' for p in pages)} "
          f"snippet pages; CPU per page by setting:")
    run = run_settings(pages, settings(include_candidates))
    ev = evaluate(pages, run)
    print_evaluation(ev)
    return ev


def websample_pipe_lines() -> None:
    """Pipe-only lines per language in the texts of every original page of the bench archive: trafilatura as Moisson
    called it before (fast=True, no comments: its `| |` table lines kept) against Moisson now."""
    import trafilatura

    from moisson import extraction as mx

    truth = [line.split("\t") for line in (SHARED / "bench" / "websample_truth.tsv").read_text().splitlines()[1:]]
    records = websample_records({row[2] for row in truth if row[1] == "original"})
    before, after, pages = Counter(), Counter(), Counter()
    for url, body, charset in records.values():
        try:
            now = mx.extract(body, "html", charset, url).text
        except mx.ExtractionError:
            now = ""
        language = _detect(now) if now else "und"
        old = trafilatura.extract(mx.decode(body, charset), url=url, fast=True, include_comments=False) or ""
        pages[language] += 1
        before[language] += pipe_only_lines(old)
        after[language] += pipe_only_lines(now)
    print(f"{'lang':<5} {'pages':>5} {'before':>7} {'after':>6}")
    for language, count in pages.most_common():
        print(f"{language:<5} {count:>5} {before[language]:>7} {after[language]:>6}")
    print(f"{'all':<5} {sum(pages.values()):>5} {sum(before.values()):>7} {sum(after.values()):>6}")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    if "--pipes" in sys.argv:
        websample_pipe_lines()
    else:
        bench_languages()
