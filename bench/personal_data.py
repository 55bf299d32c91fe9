"""Personal-data detection (moisson/personal_data.py): precision and recall per type and per language on the
labelled set's `test` split (or `--split dev`, the one the rules were tuned on), then its cost.

Scoring: a predicted span counts as right only when its type, start and end equal a labelled span's;
anything else is a false positive of the predicted type (a number redacted that is not personal data, or
labelled with another type), and a labelled span without that exact prediction is missed.

Cost: CPU µs per kB of text (best of 3) of `find_personal_data` on the demo corpus's texts (the pages of
demo/archives extracted by Moisson, demo/dumps), on ordinary prose (Gutenberg paragraphs in five
languages, from ../shared/data/text when present) and on web pages (the first 300 of the shared
websample, when present), with the CPU of Moisson's extraction of those same pages beside, whose ratio
is the share of a run's extraction work that detection adds.

Run: .venv/bin/python bench/personal_data.py [--split dev|test] [--errors] [--skip-speed] [--show-web]
Ends with `FIGURE personal_data precision_min=... recall_min=... us_per_kb_prose=... us_per_kb_demo=...`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moisson.personal_data import DATA_TYPES, find_personal_data  # noqa: E402

DATA = ROOT / "bench" / "data" / "personal_data"
SHARED = ROOT.parent / "shared" / "data"
PROSE = SHARED / "text" / "gutenberg_5lang" / "gutenberg_paragraphs_min200chars.tsv.gz"
WEBSAMPLE = SHARED / "bench" / "websample_part0.warc.gz"


def load(split: str) -> list[dict]:
    with open(DATA / f"{split}.jsonl", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def score(records: list[dict], show_errors: bool) -> tuple[Counter, Counter, Counter]:
    """True positives, false positives and misses, keyed by (type, language) and (type, '*')."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for record in records:
        gold = {(s["type"], s["start"], s["end"]) for s in record["spans"]}
        found = {(s.type, s.start, s.end) for s in find_personal_data(record["text"], record["language"])}
        for key, counter in ((gold & found, tp), (found - gold, fp), (gold - found, fn)):
            for data_type, start, end in key:
                counter[data_type, record["language"]] += 1
                counter[data_type, "*"] += 1
                if show_errors and counter is not tp:
                    kind = "FP" if counter is fp else "FN"
                    print(f"  {kind} {record['id']} {data_type} {record['text'][start:end]!r}")
    return tp, fp, fn


def ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def report(tp: Counter, fp: Counter, fn: Counter, languages: list[str]) -> tuple[float, float]:
    print(f"{'type':<12} {'lang':<5} {'gold':>5} {'found':>6} {'precision':>9} {'recall':>7}")
    precisions, recalls = [], []
    for data_type in DATA_TYPES:
        for language in ["*", *languages]:
            key = (data_type, language)
            gold, found = tp[key] + fn[key], tp[key] + fp[key]
            if not gold and not found:
                continue
            precision, recall = ratio(tp[key], found), ratio(tp[key], gold)
            print(f"{data_type if language == '*' else '':<12} {language:<5} {gold:>5} {found:>6} {precision:>9.3f} {recall:>7.3f}")
            if language == "*":
                precisions.append(precision)
                recalls.append(recall)
    print(f"{'(languages)':<12}")
    for language in languages:
        t = sum(v for (_, lang), v in tp.items() if lang == language)
        p = sum(v for (_, lang), v in fp.items() if lang == language)
        n = sum(v for (_, lang), v in fn.items() if lang == language)
        print(f"{'all':<12} {language:<5} {t + n:>5} {t + p:>6} {ratio(t, t + p):>9.3f} {ratio(t, t + n):>7.3f}")
    return min(precisions), min(recalls)


def cpu_us_per_kb(texts: list[tuple[str, str]], call: Callable[[str, str], object], passes: int = 3) -> float:
    size = sum(len(text.encode("utf-8")) for text, _ in texts) / 1000
    best = float("inf")
    for _ in range(passes):
        start = time.process_time()
        for text, language in texts:
            call(text, language)
        best = min(best, time.process_time() - start)
    return best * 1e6 / size if size else 0.0


def warc_pages(path: Path, limit: int) -> list[tuple[bytes, str]]:
    from warcio.archiveiterator import ArchiveIterator
    pages = []
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response" and "html" in (record.http_headers.get_header("Content-Type") or ""):
                pages.append((record.content_stream().read(), record.rec_headers.get_header("WARC-Target-URI")))
                if len(pages) >= limit:
                    break
    return pages


def extracted(pages: list[tuple[bytes, str]]) -> tuple[list[tuple[str, str]], float]:
    """Moisson's extraction of each page (text, language 'und': detection then tries international phone
    numbers only, its cheapest and least helped case is not the point here) and its CPU seconds."""
    from moisson.extraction import extract
    from moisson.language import identify_language
    texts, start = [], time.process_time()
    for payload, url in pages:
        result = extract(payload, "html", None, url)
        if result.text:
            texts.append(result.text)
    seconds = time.process_time() - start
    return [(text, identify_language(text).language) for text in texts], seconds


def costs(show_web: bool) -> dict[str, float]:
    figures: dict[str, float] = {}
    demo_pages = [page for name in ("web-sample.warc.gz", "web-extra.warc")
                  for page in warc_pages(ROOT / "demo" / "archives" / name, 1000)]
    demo_texts, _ = extracted(demo_pages)
    demo_texts += [((ROOT / "demo" / "dumps" / "letter.txt").read_text(encoding="utf-8"), "fr")]
    figures["us_per_kb_demo"] = cpu_us_per_kb(demo_texts, find_personal_data)
    print(f"demo corpus: {len(demo_texts)} texts, {sum(len(t) for t, _ in demo_texts) / 1000:.0f} kB, "
          f"{figures['us_per_kb_demo']:.1f} µs/kB")
    if PROSE.exists():
        with gzip.open(PROSE, "rt", encoding="utf-8") as rows:
            next(rows)
            prose = [(line.rstrip("\n").split("\t")[3], line.split("\t")[0]) for _, line in zip(range(3000), rows)]
        figures["us_per_kb_prose"] = cpu_us_per_kb(prose, find_personal_data)
        print(f"prose (Gutenberg): {len(prose)} paragraphs, {sum(len(t) for t, _ in prose) / 1000:.0f} kB, "
              f"{figures['us_per_kb_prose']:.1f} µs/kB")
    if WEBSAMPLE.exists():
        web_texts, extraction_s = extracted(warc_pages(WEBSAMPLE, 300))
        detection_us = cpu_us_per_kb(web_texts, find_personal_data)
        size_kb = sum(len(t.encode("utf-8")) for t, _ in web_texts) / 1000
        figures["us_per_kb_web"] = detection_us
        found: Counter = Counter()
        for text, language in web_texts:
            for span in find_personal_data(text, language):
                found[span.type] += 1
                if show_web:
                    print(f"  {language} {span.type:<11} {text[max(0, span.start - 30):span.start]!r} [{span.value}]")
        print(f"websample: found per type (unlabelled; read them with --show-web): {dict(found)}")
        figures["share_of_extraction"] = detection_us * size_kb / 1e6 / extraction_s
        print(f"websample: {len(web_texts)} pages, {size_kb:.0f} kB of text, detection {detection_us:.1f} µs/kB, "
              f"extraction {extraction_s * 1e6 / size_kb:.0f} µs/kB of text: detection = "
              f"{100 * figures['share_of_extraction']:.1f} % of extraction CPU")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--errors", action="store_true", help="list every false positive and miss")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--show-web", action="store_true", help="print what is found in the websample's pages, to read")
    args = parser.parse_args()
    records = load(args.split)
    languages = sorted({r["language"] for r in records})
    print(f"labelled set {DATA} split {args.split}: {len(records)} texts, {sum(len(r['spans']) for r in records)} spans")
    tp, fp, fn = score(records, args.errors)
    precision_min, recall_min = report(tp, fp, fn, languages)
    figures = {} if args.skip_speed else costs(args.show_web)
    tail = " ".join(f"{key}={value:.3g}" for key, value in figures.items())
    print(f"FIGURE personal_data split={args.split} precision_min={precision_min:.3f} recall_min={recall_min:.3f} {tail}")


if __name__ == "__main__":
    main()
