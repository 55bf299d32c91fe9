"""MediaWiki dumps → plain text: F1 against gold abstracts, pages/s per core, and peak memory on a large dump.

Three figures, from ../shared/data/documents/mediawiki/ (see its README.md):

* F1: bag-of-words F1 (Unicode NFC, lower case, `\\w+` tokens) of `plain_text(lead_section(wiki))` against
  DBpedia's gold abstracts. Why the lead section: the golds are abstracts, i.e. the text before the first heading;
  scoring a whole page against them would measure the abstract's length, not extraction. The 8 pairs are English;
  the fr/de/nl dumps have no plain-text reference, so for every language the bench also counts residual markup
  (`{{`, `[[`, `<ref`, `|}`) in the whole-page output of each dump: a check, not an F1.
* pages/s per core: CPU time (process time, so other processes on the machine do not count) of `iter_pages` +
  `plain_text` over each dump, with the mean wikitext size per page: these dumps hold long articles (Anarchism,
  Berlin), so pages/s depends on it; characters/s is the size-independent rate. Each dump is read `--repeat` times
  and the fastest run counts (as `timeit` does): on a shared 2-core machine, other jobs still inflate CPU time
  (cache, frequency, a VM's steal), by up to 2x in one run. `plain_text` alone is printed too: bzip2
  decompression is about half of `iter_pages` + `plain_text` and no wikitext change can make it faster.
* memory: a synthetic dump of `--synthetic-mb` MB of XML (the real pages repeated under new titles, bzip2-written
  streamed into a temporary folder) read by a child process that runs `iter_pages` over all of it and
  `plain_text` on every 50th page; the child's peak RSS (`ru_maxrss`) is the figure.

Usage: .venv/bin/python bench/documents_wiki.py [--synthetic-mb 1024] [--repeat 3]   (exit 2 when the data folder
is missing)
"""

from __future__ import annotations

import argparse
import bz2
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.documents_xml import f1  # noqa: E402
from bench.shared_data import SHARED, require  # noqa: E402
from moisson.mediawiki_dump import DumpStats, WikiPage, iter_pages  # noqa: E402
from moisson.wikitext import lead_section, plain_text  # noqa: E402

WIKI = SHARED / "documents" / "mediawiki"
DUMPS = {"de": "dbpedia-minidumps/dewiki.xml.bz2", "fr": "dbpedia-minidumps/frwiki.xml.bz2",
         "nl": "dbpedia-minidumps/nlwiki.xml.bz2", "en": "gensim/enwiki-latest-pages-articles1-shortened.xml.bz2",
         "en-tables": "gensim/enwiki-table-markup.xml.bz2"}
RESIDUAL_MARKUP = ("{{", "}}", "[[", "]]", "<ref", "{|", "|}")
HEADER = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10">\n<siteinfo>'
          "<dbname>synthwiki</dbname><base>https://xx.wikipedia.org/wiki/Main_Page</base></siteinfo>\n")




def abstract_scores() -> list[float]:
    scores = []
    for wiki in sorted((WIKI / "dbpedia-abstracts").glob("*.wiki")):
        gold = wiki.with_suffix(".gold.txt").read_text(encoding="utf-8")
        score = f1(plain_text(lead_section(wiki.read_text(encoding="utf-8"))), gold, lowercase=True)
        scores.append(score)
        print(f"  en {wiki.stem:28} F1 {score:.3f}")
    return scores


def read_and_convert(name: str, stats: DumpStats) -> list[tuple[WikiPage, str]]:
    with (WIKI / name).open("rb") as stream:
        return [(page, plain_text(page.text)) for page in iter_pages(stream, stats)]


def fastest(repeat: int, work: Callable[[], object]) -> float:
    """CPU seconds of the fastest of `repeat` runs of `work`."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def dump_rates(repeat: int) -> tuple[float, float]:
    """Per dump: pages, skipped, residual markup, pages/s and characters/s per core (fastest of `repeat` runs), and
    `plain_text` alone. Returns the totals' rates of iter_pages + plain_text."""
    total_pages = total_chars = 0
    total_cpu = total_convert = 0.0
    for language, name in DUMPS.items():
        stats = DumpStats()
        pages = read_and_convert(name, stats)
        cpu = fastest(repeat, lambda: read_and_convert(name, DumpStats()))
        convert = fastest(repeat, lambda: [plain_text(page.text) for page, _ in pages])
        chars = sum(len(page.text) for page, _ in pages)
        residue = sum(text.count(mark) for _, text in pages for mark in RESIDUAL_MARKUP)
        print(f"  {language:9} {len(pages):4} articles of {stats.pages:4} pages (redirects {stats.redirects}, "
              f"other namespaces {sum(stats.other_namespaces.values())}), mean {chars / max(len(pages), 1) / 1000:5.1f}"
              f" k chars/page, residual markup {residue}, {len(pages) / cpu:6.1f} pages/s, "
              f"{chars / cpu / 1e6:.2f} M chars/s per core; plain_text alone {len(pages) / convert:6.1f} pages/s")
        total_pages, total_chars = total_pages + len(pages), total_chars + chars
        total_cpu, total_convert = total_cpu + cpu, total_convert + convert
    print(f"  all       {total_pages:4} articles: {total_pages / total_cpu:6.1f} pages/s per core, of which plain_text "
          f"alone {total_pages / total_convert:6.1f} pages/s ({total_convert / total_cpu:.0%} of the CPU time)")
    return total_pages / total_cpu, total_chars / total_cpu


def write_synthetic_dump(path: Path, megabytes: int) -> int:
    """Real pages repeated under new titles until `megabytes` MB of XML, bzip2-compressed as it is written."""
    real: list[WikiPage] = []
    with (WIKI / DUMPS["en"]).open("rb") as stream:
        real = list(iter_pages(stream))
    target, written, count = megabytes * 1_000_000, 0, 0
    with bz2.open(path, "wb", compresslevel=1) as out:
        out.write(HEADER.encode())
        while written < target:
            page = real[count % len(real)]
            element = (f"<page><title>{escape(page.title)} {count}</title><ns>0</ns><id>{count}</id><revision>"
                       f"<id>{count}</id><timestamp>{page.timestamp}</timestamp><text>{escape(page.text)}</text>"
                       "</revision></page>\n").encode()
            out.write(element)
            written, count = written + len(element), count + 1
        out.write(b"</mediawiki>\n")
    return count


def stream_child(path: str) -> None:
    """Run in a child so its peak RSS is the reader's alone."""
    stats = DumpStats()
    with open(path, "rb") as stream:
        for index, page in enumerate(iter_pages(stream, stats)):
            if index % 50 == 0:
                plain_text(page.text)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{stats.articles} {peak:.0f}")


def streaming_memory(megabytes: int) -> tuple[int, float, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "synthwiki-pages-articles.xml.bz2"
        written = write_synthetic_dump(path, megabytes)
        compressed = path.stat().st_size / 1e6
        started = time.perf_counter()
        answer = subprocess.run([sys.executable, __file__, "--stream-child", str(path)], check=True,
                                capture_output=True, text=True).stdout.split()
        elapsed = time.perf_counter() - started
    articles, peak = int(answer[0]), float(answer[1])
    assert articles == written, (articles, written)
    print(f"  synthetic dump: {megabytes} MB XML, {compressed:.0f} MB bz2, {articles} pages read in {elapsed:.0f} s, "
          f"peak RSS {peak:.0f} MB")
    return articles, peak, compressed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-mb", type=int, default=1024, help="size of the synthetic dump's XML, in MB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per dump; the fastest counts")
    parser.add_argument("--stream-child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.stream_child:
        stream_child(arguments.stream_child)
        return
    require("documents_wiki", WIKI / "dbpedia-abstracts", ["*.wiki", "*.gold.txt"])
    require("documents_wiki", WIKI / "dbpedia-minidumps", ["*.xml.bz2"])
    require("documents_wiki", WIKI / "gensim", ["*.xml.bz2"])
    print("F1 of the lead section against DBpedia's gold abstracts (English):")
    scores = abstract_scores()
    print(f"Dumps (iter_pages + plain_text, CPU time of one core, fastest of {max(arguments.repeat, 1)} runs):")
    pages_rate, chars_rate = dump_rates(max(arguments.repeat, 1))
    print("Streaming memory:")
    _, peak, _ = streaming_memory(arguments.synthetic_mb)
    print(f"FIGURE documents_wiki: en abstract F1 min {min(scores):.3f} mean {sum(scores) / len(scores):.3f} over "
          f"{len(scores)}; {pages_rate:.1f} pages/s per core ({chars_rate / 1e6:.2f} M chars/s) on the shared dumps; "
          f"peak RSS {peak:.0f} MB over a {arguments.synthetic_mb} MB dump")


if __name__ == "__main__":
    main()
