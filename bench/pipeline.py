"""End-to-end benchmark: WARC -> deduplicated corpus, Moisson against datatrove, in the same run.

Input: ../shared/data/bench/websample_part{0,1}.warc.gz (2,005 response records, planted exact and
near duplicates listed in websample_truth.tsv). Both systems read the same files (or the same
truncated copies with --limit) on the same machine, one after the other.

Moisson: the real command, `moisson run --sources FILE --data-dir TMP`, as a subprocess, with a
temporary sources file: one `warc` source over the two parts, `license: CC0-1.0` declared on the
source (the pages carry no licence of their own) and allowed, `languages: all`, default quality
thresholds, dedup threshold 0.8. Its decisions are read back from TMP/warehouse.duckdb. It runs twice:
with its default extraction (trafilatura) and, as `moisson-resiliparse`, with the faster extractor the
policy offers (`extraction: {backend: resiliparse}`: about three times the pages/s of trafilatura in
Moisson's extraction call, F1 0.927 instead of 0.962 on scrapinghub_aeb, see bench/quality.py).
Then, as `moisson-again`, the default command once more on the same data directory, as the next
night's run over an unchanged archive would: extractions come from the extraction cache, nothing is
added (FIGURE second_run_s, second_run_share = its wall time / the first run's).

datatrove (the peer, pinned in DATATROVE_PINS, installed by this script into bench/.peers/datatrove):
WarcReader -> Trafilatura (datatrove's defaults: favour_precision=True, 1 s timeout per page) ->
GopherQualityFilter -> JsonlWriter, with MinhashDedupSignature in the same pass, then
MinhashDedupBuckets, MinhashDedupCluster and MinhashDedupFilter (default MinhashConfig: 5-grams,
14 buckets x 8 hashes), LocalPipelineExecutor with 2 tasks and 2 workers (one WARC part per task).

Speed: pages/s = response records in the input / wall seconds of the whole command (process start
to exit, Python start-up and Dagster or datatrove set-up included). Peak RSS = the largest sum of
the resident set sizes of the command's process and all its descendants, sampled every 0.1 s from
/proc (shared pages of forked workers are counted once per process, as `ps` would). CPU seconds = user +
system time of every process of that tree (its last sample): on a machine of C cores, wall >= CPU / C.

Extraction floor: Moisson's extraction call alone, in this process, on one core, over the first 300
distinct payloads, times the number of distinct payloads, divided by the cores: the wall time no
pipeline design removes for trafilatura-quality extraction on this machine (printed with the pages/s
it caps any pipeline at).

Dedup metric (pairwise, on clusters, at URL level):
- Truth clusters: union-find over the truth file's edges `url -> exact_dup_of:URL` and
  `url -> near_dup_of:URL`. Nodes are URLs, not records: the truth lists 6 URLs crawled twice
  (`natural_same_url_recrawl`, both marked `original`, their content not compared), and a pair of
  records sharing a URL says nothing about dedup, so same-URL records are one node.
- Predicted clusters: Moisson: union-find over (rejected document's URL, URL of its `duplicate_of`
  document) for reasons exact_duplicate and near_duplicate. datatrove: documents sharing a
  `minhash_cluster_id` (MinhashDedupCluster(save_cluster_id=True) + MinhashDedupFilter(load_cluster_ids=True)).
- Universe U (per system): URLs that reached that system's dedup step, i.e. survived extraction,
  language, licence and quality filtering (Moisson: kept or rejected as a duplicate; datatrove:
  written by the stage-1 writer after GopherQualityFilter). A page rejected before dedup cannot be
  called a duplicate, so a truth pair with a member outside U is left out rather than counted as
  missed: the figure measures the dedup step, not the filters in front of it.
- Pairs: every unordered pair of distinct URLs in the same cluster, both in U. precision =
  |predicted ∩ truth| / |predicted| (1.0 when nothing is predicted), recall = |predicted ∩ truth| /
  |truth| (1.0 when the truth has no pair in U). Pairs are counted within clusters, so a cluster of
  k pages weighs k(k-1)/2 pairs; with planted duplicates each cluster is an original and its copies.
  Natural duplicates the truth does not list (e.g. two pages of a site sharing a template and a
  short text) count as false positives: the truth file is the only referee.
The same pairs are also scored on the URLs that reached dedup in *both* systems (printed beside).

Options: --data DIR (the input folder; without its files the script stops at once with one line naming
them), --limit N (only the first N response records of each part, via truncated copies in a temp
dir: a smoke run), --skip-peer, --skip-resiliparse, --skip-second-run, --keep (keep the temp dir and print
its path).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import ensure_peer_venv, peer_versions  # noqa: E402
from shared_data import SHARED, require  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = SHARED / "bench"
INPUT_FILES = ["websample_part*.warc.gz", "websample_truth.tsv"]
MOISSON = REPO / ".venv" / "bin" / "moisson"
DATATROVE_PINS = ["datatrove[io,processing]==0.10.1", "lxml_html_clean==0.4.6", "spacy==3.8.18"]
DEDUP_REASONS = ("exact_duplicate", "near_duplicate")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- measuring a process tree


@dataclass
class Measured:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    output_tail: str
    cpu_s: float = 0.0  # user + system seconds of the whole process tree
    # every 0.1 s: (seconds since start, bytes of the log so far, tree RSS bytes, tree CPU seconds so far), so a
    # report can say what each phase the log announces cost (bench/faults_report.py: each source of the run)
    samples: list[tuple[float, int, int, float]] = field(default_factory=list)


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds so far) for every process visible in /proc."""
    table: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def tree_sample(root: int) -> tuple[int, dict[int, float]]:
    """Resident bytes of root and all its descendants right now, and each one's CPU seconds so far."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, cpu, stack = 0, {}, [root]
    while stack:
        pid = stack.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            cpu[pid] = table[pid][1]
        except (OSError, IndexError, ValueError, KeyError):
            pass
        stack.extend(children.get(pid, []))
    return total, cpu


def measure(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> Measured:
    """Run cmd to completion; wall time, peak process-tree RSS (sampled every 0.1 s) and the tree's CPU
    seconds (each process's last sampled user + system time: a process living under 0.1 s may be missed)."""
    peak, cpu, samples = 0, {}, []
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                rss, seconds = tree_sample(proc.pid)
                peak = max(peak, rss)
                cpu.update(seconds)
                samples.append((time.perf_counter() - start, os.fstat(out.fileno()).st_size, rss, sum(cpu.values())))
                stop.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = proc.wait()
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    return Measured(wall, peak / 2**20, returncode, tail, sum(cpu.values()), samples)


# ---------------------------------------------------------------- input


def response_record_ids(path: Path) -> list[str]:
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as stream:
        return [r.rec_headers.get_header("WARC-Record-ID") for r in ArchiveIterator(stream) if r.rec_type == "response"]


def truncated_copy(src: Path, dst: Path, limit: int) -> None:
    """Copy the raw gzip members of src up to and including its limit-th response record.

    Bytes are copied as they are (no re-encoding), so both systems read records identical to the
    originals; the leading warcinfo record is kept.
    """
    from warcio.archiveiterator import ArchiveIterator

    responses, end = 0, 0
    with src.open("rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            is_response = record.rec_type == "response"
            record.content_stream().read()
            records.read_to_end(record)
            end = records.get_record_offset() + records.get_record_length()
            responses += is_response
            if responses >= limit:
                break
    with src.open("rb") as stream, dst.open("wb") as out:
        out.write(stream.read(end))


def prepare_inputs(data: Path, limit: int | None, work: Path) -> list[Path]:
    parts = sorted(data.glob("websample_part*.warc.gz"))
    if limit is None:
        return parts
    folder = work / "input"
    folder.mkdir()
    for part in parts:
        truncated_copy(part, folder / part.name, limit)
    return sorted(folder.glob("*.warc.gz"))


# ---------------------------------------------------------------- truth and metric


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def pairs(self, universe: set[str]) -> set[tuple[str, str]]:
        """Unordered pairs of distinct nodes of universe that share a cluster."""
        clusters: dict[str, list[str]] = {}
        for node in self.parent:
            if node in universe:
                clusters.setdefault(self.find(node), []).append(node)
        out: set[tuple[str, str]] = set()
        for members in clusters.values():
            members.sort()
            out.update((a, b) for i, a in enumerate(members) for b in members[i + 1:])
        return out


def truth_clusters(data: Path, record_ids: set[str]) -> UnionFind:
    """Truth clusters over the URLs of the records present in the input (see module docstring)."""
    uf = UnionFind()
    present_urls: set[str] = set()
    rows = []
    with (data / "websample_truth.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            url, kind, record_id = line.rstrip("\n").split("\t")[:3]
            if record_id in record_ids:
                present_urls.add(url)
                rows.append((url, kind))
    for url, kind in rows:
        uf.find(url)
        if kind.startswith(("exact_dup_of:", "near_dup_of:")):
            original = kind.split(":", 1)[1]
            if original in present_urls:
                uf.union(url, original)
    return uf


def truth_variants(data: Path) -> dict[str, str]:
    """URL -> what was planted (`exact_dup_of`, `near_dup_of para:para_replaced`, ...), to explain misses."""
    out: dict[str, str] = {}
    with (data / "websample_truth.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            url, kind, _rid, variant = line.rstrip("\n").split("\t")[:4]
            if kind != "original":
                out[url] = f"{kind.split(':', 1)[0]} {variant.split('(')[0]}".strip()
    return out


def explain(predicted: UnionFind, truth: UnionFind, universe: set[str], variants: dict[str, str]) -> str:
    """Missed truth pairs by planted variant, and two false-positive pairs, for the report."""
    pred, gold = predicted.pairs(universe), truth.pairs(universe)
    missed: dict[str, int] = {}
    for a, b in gold - pred:
        label = variants.get(a) or variants.get(b) or "same cluster via a third page"
        missed[label] = missed.get(label, 0) + 1
    false = sorted(pred - gold)[:2]
    return f"missed pairs by planted variant {json.dumps(missed)}; false-positive examples {false}"


@dataclass
class DedupScore:
    precision: float
    recall: float
    predicted: int
    truth: int
    common: int


def score(predicted: UnionFind, truth: UnionFind, universe: set[str]) -> DedupScore:
    pred, gold = predicted.pairs(universe), truth.pairs(universe)
    hit = len(pred & gold)
    return DedupScore(hit / len(pred) if pred else 1.0, hit / len(gold) if gold else 1.0, len(pred), len(gold), hit)


@dataclass
class Outcome:
    name: str
    measured: Measured
    kept: int
    reached_dedup: set[str]
    clusters: UnionFind
    detail: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    settings: str = ""
    personal_data_cpu_s: float | None = None  # the redaction pass's CPU, as the run reported it (Moisson only)


# ---------------------------------------------------------------- Moisson


SOURCES_YAML = """\
sources:
  - name: websample
    kind: warc
    paths: {paths}
    license: CC0-1.0
    description: bench/pipeline.py input (real pages, planted duplicates)
policy:
  languages: all
  extraction: {{backend: {backend}{mode}}}
  licenses: {{allow: [CC0-1.0, CC-BY-4.0, CC-BY-SA-4.0, etalab-2.0]}}
  quality: {{enabled: true}}
  dedup: {{enabled: true, threshold: 0.8, measure: {measure}}}
"""


def run_moisson(inputs: list[Path], work: Path, src: Path | None, measure_name: str, backend: str = "trafilatura",
                again: bool = False, mode: str = "default") -> Outcome:
    """Run the installed `moisson` command; with src, on that source tree instead (PYTHONPATH first); `again`:
    once more on the data directory of the earlier run with this backend."""
    name = "moisson" if backend == "trafilatura" else f"moisson-{backend}"
    sources = work / f"{name}-sources.yaml"
    sources.write_text(SOURCES_YAML.format(paths=json.dumps([str(p) for p in inputs]), measure=measure_name, backend=backend,
                                           mode="" if mode == "default" else f", mode: {mode}"))
    data_dir = work / f"{name}-data"
    name += "-again" if again else ""
    cmd = [str(MOISSON), "run", "--sources", str(sources), "--data-dir", str(data_dir)]
    env = dict(os.environ, PYTHONPATH=str(src)) if src else None
    measured = measure(cmd, src or REPO, work / f"{name}.log", env)
    if measured.returncode != 0:
        print(f"{name} run exited {measured.returncode}; last lines:\n{measured.output_tail}", file=sys.stderr)
    outcome = read_moisson_warehouse(name, data_dir / "warehouse.duckdb", measured, sources.read_text(), moisson_versions(src or REPO))
    outcome.personal_data_cpu_s = personal_data_cpu(work / f"{name}.log")
    return outcome


def personal_data_cpu(log: Path) -> float | None:
    """The personal-data pass's CPU seconds over every source, from the run report's quality_filtered lines (the asset
    times its redaction call with the thread's CPU clock); None when the run did not report it."""
    found = re.findall(r"\bpersonal_data_cpu_s=([0-9.]+)", log.read_text(errors="replace")) if log.exists() else []
    return sum(map(float, found)) if found else None


def read_moisson_warehouse(name: str, path: Path, measured: Measured, settings: str, versions: dict[str, str]) -> Outcome:
    import duckdb

    if not path.exists():
        return Outcome(name, measured, 0, set(), UnionFind(), {"no warehouse": 1}, versions, settings)
    con = duckdb.connect(str(path), read_only=True)
    rows = con.sql("SELECT id, url, status, reason, duplicate_of FROM documents").fetchall()
    con.close()
    url_of = {doc_id: url for doc_id, url, *_ in rows}
    clusters, reached, detail = UnionFind(), set(), {}
    for _doc_id, url, status, reason, duplicate_of in rows:
        detail[reason or status] = detail.get(reason or status, 0) + 1
        if status == "kept" or reason in DEDUP_REASONS:
            reached.add(url)
            clusters.find(url)
        if reason in DEDUP_REASONS and duplicate_of in url_of:
            clusters.union(url, url_of[duplicate_of])
    kept = detail.get("kept", 0)
    return Outcome(name, measured, kept, reached, clusters, detail, versions, settings)


def moisson_versions(tree: Path) -> dict[str, str]:
    """Commit of the tree that ran (+uncommitted when its code differs from it) and key library versions."""
    git = ["git", "-C", str(tree)]
    commit = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "moisson", "assets", "sources", "pipelines", "quality", "warehouse"],
                           capture_output=True, text=True).stdout.strip()
    from importlib import metadata

    versions = {"moisson": (commit or f"tree {tree} (not a git checkout)") + ("+uncommitted" if dirty else "")}
    for name in ("trafilatura", "datasketch", "langdetect", "dagster", "duckdb"):
        versions[name] = metadata.version(name)
    return versions


# ---------------------------------------------------------------- datatrove


DATATROVE_SCRIPT = '''\
"""datatrove pipeline written by bench/pipeline.py: WARC -> Trafilatura -> Gopher -> MinHash dedup."""
import json, sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import GopherQualityFilter
from datatrove.pipeline.readers import JsonlReader, WarcReader
from datatrove.pipeline.writers import JsonlWriter

INPUT, WORK, TASKS, WORKERS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
CONFIG = MinhashConfig()

if __name__ == "__main__":
    print("SETTINGS", json.dumps({"minhash": str(CONFIG), "tasks": TASKS, "workers": WORKERS,
          "trafilatura": "favour_precision=True timeout=1 deduplicate=True (datatrove defaults)"}), flush=True)
    LocalPipelineExecutor(pipeline=[
        WarcReader(INPUT, glob_pattern="*.warc.gz"),
        Trafilatura(),
        GopherQualityFilter(),
        JsonlWriter(f"{WORK}/filtered"),
        MinhashDedupSignature(output_folder=f"{WORK}/signatures", config=CONFIG),
    ], tasks=TASKS, workers=WORKERS, logging_dir=f"{WORK}/logs/1-extract-signatures").run()
    LocalPipelineExecutor(pipeline=[
        MinhashDedupBuckets(input_folder=f"{WORK}/signatures", output_folder=f"{WORK}/buckets", config=CONFIG),
    ], tasks=CONFIG.num_buckets, workers=WORKERS, logging_dir=f"{WORK}/logs/2-buckets").run()
    LocalPipelineExecutor(pipeline=[
        MinhashDedupCluster(input_folder=f"{WORK}/buckets", output_folder=f"{WORK}/remove_ids", config=CONFIG,
                            save_cluster_id=True),
    ], tasks=1, logging_dir=f"{WORK}/logs/3-cluster").run()
    LocalPipelineExecutor(pipeline=[
        JsonlReader(f"{WORK}/filtered"),
        MinhashDedupFilter(input_folder=f"{WORK}/remove_ids", exclusion_writer=JsonlWriter(f"{WORK}/removed"),
                           load_cluster_ids=True),
        JsonlWriter(f"{WORK}/kept"),
    ], tasks=TASKS, workers=WORKERS, logging_dir=f"{WORK}/logs/4-filter").run()
'''


def run_datatrove(inputs: list[Path], work: Path) -> Outcome:
    python = ensure_peer_venv("datatrove", DATATROVE_PINS)
    versions = peer_versions(python, ["datatrove", "trafilatura", "spacy", "lxml", "warcio"])
    script = work / "datatrove_pipeline.py"
    script.write_text(DATATROVE_SCRIPT)
    out = work / "datatrove"
    env = dict(os.environ, HF_HUB_OFFLINE="1", DATATROVE_COLORIZE_LOGS="0")
    cmd = [str(python), str(script), str(inputs[0].parent), str(out), str(len(inputs)), "2"]
    measured = measure(cmd, work, work / "datatrove.log", env)
    if measured.returncode != 0:
        print(f"datatrove exited {measured.returncode}; last lines:\n{measured.output_tail}", file=sys.stderr)
    settings = next((line[9:] for line in (work / "datatrove.log").read_text(errors="replace").splitlines()
                     if line.startswith("SETTINGS ")), "?")
    return read_datatrove_output(out, measured, versions, settings)


def _jsonl_docs(folder: Path) -> list[dict]:
    docs = []
    for path in sorted(folder.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            docs.extend(json.loads(line) for line in handle if line.strip())
    return docs


def read_datatrove_output(out: Path, measured: Measured, versions: dict[str, str], settings: str) -> Outcome:
    kept, removed = _jsonl_docs(out / "kept"), _jsonl_docs(out / "removed")
    clusters, reached, by_cluster = UnionFind(), set(), {}
    for doc in kept + removed:
        url = doc["metadata"]["url"]
        reached.add(url)
        clusters.find(url)
        cluster = doc["metadata"].get("minhash_cluster_id", -1)
        if cluster != -1:
            by_cluster.setdefault(cluster, []).append(url)
    for members in by_cluster.values():
        for url in members[1:]:
            clusters.union(url, members[0])
    detail = {"kept": len(kept), "minhash_duplicate": len(removed)} | datatrove_stats(out / "logs")
    return Outcome("datatrove", measured, len(kept), reached, clusters, detail, versions, settings)


def datatrove_stats(logs: Path) -> dict[str, int]:
    """Drops and timeouts of the extraction stage, from datatrove's own stats.json."""
    path = logs / "1-extract-signatures" / "stats.json"
    if not path.exists():
        return {}
    out: dict[str, int] = {}
    for step in json.loads(path.read_text()):
        name = step.get("name", "")
        for key, value in step.get("stats", {}).items():
            if key in ("dropped", "timeout", "broken_process", "clean_error") or key.startswith("dropped_"):
                total = value.get("total", value) if isinstance(value, dict) else value
                out[f"{name.split()[-1].lower()}:{key}"] = int(total)
    return out


# ---------------------------------------------------------------- the extraction floor


FLOOR_SAMPLE = 300


def extraction_floor(inputs: list[Path], work: Path) -> tuple[int, float]:
    """Distinct payloads in the input, and seconds per page of Moisson's extraction call alone, on one core,
    over the first FLOOR_SAMPLE of them: the share of a run that no pipeline design removes, only cores."""
    sys.path.insert(0, str(REPO))
    from moisson.extraction import extract_record
    from sources.records import RawRecord, ReadStats
    from sources.warc import read_warc_files

    distinct: dict[str, tuple] = {}
    for record in read_warc_files(inputs, "bench", ReadStats(), 20 * 2**20, work):
        if isinstance(record, RawRecord):
            distinct.setdefault(record.content_sha256, (record.payload, record.content_type, record.charset, record.url))
    sample = list(distinct.values())[:FLOOR_SAMPLE]
    start = time.process_time()
    for item in sample:
        try:
            extract_record(item)
        except Exception:  # a page without text costs its time all the same
            pass
    return len(distinct), (time.process_time() - start) / max(len(sample), 1)


# ---------------------------------------------------------------- report


def report(records: int, moissons: list[Outcome], peer: Outcome | None, truth: UnionFind, inputs: list[Path],
           floor: tuple[int, float], variants: dict[str, str]) -> None:
    """`moissons`: the default run first, then the other extraction backends and the second run of the default."""
    def common(outcome: Outcome) -> set[str]:  # URLs that reached dedup in this system and in the other one
        other = moissons[0] if outcome is peer else peer
        return outcome.reached_dedup & other.reached_dedup if other else outcome.reached_dedup

    rows = [(outcome, score(outcome.clusters, truth, outcome.reached_dedup), score(outcome.clusters, truth, common(outcome)))
            for outcome in [*moissons, *([peer] if peer else [])]]
    print(f"\ninput: {', '.join(str(p) for p in inputs)} ({records} response records)")
    header = f"{'system':<20} {'pages/s':>8} {'wall s':>8} {'CPU s':>7} {'peak RSS MB':>12} {'kept':>6} {'reached dedup':>14} " \
             f"{'dedup P':>8} {'dedup R':>8} {'pairs pred/truth/hit':>21} {'P,R on common U':>16}"
    print(header + "\n" + "-" * len(header))
    for outcome, own, shared in rows:
        m = outcome.measured
        print(f"{outcome.name:<20} {records / m.wall_s:>8.2f} {m.wall_s:>8.1f} {m.cpu_s:>7.1f} {m.peak_rss_mb:>12.0f} {outcome.kept:>6} "
              f"{len(outcome.reached_dedup):>14} {own.precision:>8.3f} {own.recall:>8.3f} "
              f"{f'{own.predicted}/{own.truth}/{own.common}':>21} {f'{shared.precision:.3f},{shared.recall:.3f}':>16}")
    print("(common U: URLs that reached dedup in this row's system and in the other system, Moisson's default run for datatrove)")
    for outcome, *_ in rows:
        print(f"\n{outcome.name} versions: {json.dumps(outcome.versions)}")
        print(f"{outcome.name} decisions: {json.dumps(dict(sorted(outcome.detail.items())))}")
        print(f"{outcome.name} dedup: {explain(outcome.clusters, truth, outcome.reached_dedup, variants)}")
        print(f"{outcome.name} settings:\n  " + outcome.settings.strip().replace("\n", "\n  "))
        if outcome.measured.returncode != 0:
            print(f"{outcome.name} FAILED (exit {outcome.measured.returncode})")
    distinct, per_page = floor
    cores = len(os.sched_getaffinity(0))
    print(f"\nextraction floor: Moisson's trafilatura call alone takes {per_page * 1000:.1f} ms of CPU per page (one core, "
          f"first {min(distinct, FLOOR_SAMPLE)} distinct pages); {distinct} distinct payloads on {cores} cores = "
          f"{distinct * per_page / cores:.1f} s, i.e. at most {records * cores / (distinct * per_page):.0f} pages/s for any "
          f"pipeline extracting them this way")
    for outcome in moissons:
        if outcome.personal_data_cpu_s is not None:
            print(f"{outcome.name}: the personal-data pass took {outcome.personal_data_cpu_s:.2f} s of CPU, "
                  f"{outcome.personal_data_cpu_s / outcome.measured.cpu_s:.1%} of the run's {outcome.measured.cpu_s:.1f} s (goal <= 10%)")
    print_figure(records, rows, peer, distinct * per_page / cores)


def print_figure(records: int, rows: list, peer: Outcome | None, floor_s: float) -> None:
    """The default run's figures under their historical keys; datatrove's as peer_*; other backends' as <backend>_*;
    the second run of the default as second_run_*."""
    by_name = {outcome.name: (outcome, own) for outcome, own, _ in rows}
    fig: dict[str, float | int] = {}
    peer_pages_per_s = records / peer.measured.wall_s if peer else None
    for name, prefix in (("moisson", ""), ("datatrove", "peer_"), ("moisson-resiliparse", "resiliparse_")):
        if name not in by_name:
            continue
        outcome, own = by_name[name]
        fig[f"{prefix}pages_per_s"] = records / outcome.measured.wall_s
        if peer_pages_per_s and outcome is not peer:
            fig[f"{prefix}ratio"] = fig[f"{prefix}pages_per_s"] / peer_pages_per_s
        fig[f"{prefix}peak_rss_mb"] = outcome.measured.peak_rss_mb
        fig[f"{prefix}cpu_s"] = outcome.measured.cpu_s
        fig[f"{prefix}dedup_precision"], fig[f"{prefix}dedup_recall"] = own.precision, own.recall
        fig[f"{prefix}kept"] = outcome.kept
        if outcome.personal_data_cpu_s is not None:  # the goal: the redaction pass <= 10% of a run's CPU
            fig[f"{prefix}personal_data_cpu_share"] = outcome.personal_data_cpu_s / outcome.measured.cpu_s
    if "moisson-again" in by_name and "moisson" in by_name:
        fig["second_run_s"] = by_name["moisson-again"][0].measured.wall_s
        fig["second_run_share"] = fig["second_run_s"] / by_name["moisson"][0].measured.wall_s
    fig["extraction_floor_s"] = floor_s
    fig["records"] = records
    print("\nFIGURE " + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in fig.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N response records of each part (smoke run)")
    parser.add_argument("--skip-peer", action="store_true", help="do not run datatrove")
    parser.add_argument("--skip-resiliparse", action="store_true", help="do not run Moisson a second time with extraction.backend=resiliparse")
    parser.add_argument("--skip-second-run", action="store_true", help="do not run Moisson's default again on its own data directory")
    parser.add_argument("--dedup-measure", choices=["jaccard", "containment"], default="containment",
                        help="Moisson's near-duplicate measure (policy.dedup.measure); the truth's planted variants "
                             "replace a whole paragraph, which containment measures and Jaccard under-counts")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print where it is")
    parser.add_argument("--mode", default="default", choices=["default", "fast", "precision", "recall"],
                        help="policy.extraction.mode of Moisson's runs (default: default)")
    parser.add_argument("--moisson-src", type=Path, help="run the moisson command on this source tree (e.g. a `git worktree` of a commit)")
    parser.add_argument("--data", type=Path, default=DATA,
                        help=f"the folder holding {' and '.join(INPUT_FILES)} (default: ../shared/data/bench)")
    args = parser.parse_args()
    require("bench/pipeline.py", args.data, INPUT_FILES, "or pass --data DIR")
    work = Path(tempfile.mkdtemp(prefix="moisson-bench-pipeline-"))
    try:
        inputs = prepare_inputs(args.data, args.limit, work)
        record_ids = {rid for path in inputs for rid in response_record_ids(path)}
        truth = truth_clusters(args.data, record_ids)
        peer = None
        if not args.skip_peer:
            peer = run_datatrove(inputs, work)
        src = args.moisson_src and args.moisson_src.resolve()
        backends = ["trafilatura"] + ([] if args.skip_resiliparse else ["resiliparse"])
        moissons = [run_moisson(inputs, work, src, args.dedup_measure, backend, mode=args.mode) for backend in backends]
        if not args.skip_second_run:
            moissons.append(run_moisson(inputs, work, src, args.dedup_measure, again=True, mode=args.mode))
        report(len(record_ids), moissons, peer, truth, inputs, extraction_floor(inputs, work), truth_variants(args.data))
        runs = [*moissons, *([peer] if peer else [])]
        return 0 if all(outcome.measured.returncode == 0 for outcome in runs) else 1
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
