"""Per-page CPU of the extraction workers, split into trafilatura's own call and everything else.

What a worker does for each HTML payload (`moisson.curation.PayloadWork`, the default policy): parse the
page, read its licence evidence and title, extract the main text with trafilatura, make the text of its
tables, identify the language, measure quality. The issue that changed the extraction settings asks that
"everything except trafilatura itself" cost no more per page than before, so this bench times
trafilatura's own calls apart (timing wrappers around the real `bare_extraction`, and `xmltotxt` where Moisson
makes the text of trafilatura's extracted tree itself) and reports the rest.

Input: the first --pages HTML responses of ../shared/data/bench/websample_part1.warc.gz. Each checkout runs in
a process of its own, --rounds times in turn (warm-up pass first, CPU time of the calls alone, the smallest
round kept, as the machine is shared). --baseline-ref REV also measures git revision REV (its `moisson` and
`sources` packages exported to a temporary folder) in the same run.

Last line: FIGURE worker_ms_per_page=... trafilatura_ms_per_page=... rest_ms_per_page=...
[baseline_worker_ms_per_page=... baseline_trafilatura_ms_per_page=... baseline_rest_ms_per_page=... rest_ratio=...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WARC = REPO.parent / "shared" / "data" / "bench" / "websample_part1.warc.gz"


def html_payloads(limit: int) -> list[tuple[bytes, str, None, str]]:
    from warcio.archiveiterator import ArchiveIterator

    payloads = []
    with WARC.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response" and "html" in (record.http_headers.get_header("Content-Type") or ""):
                payloads.append((record.content_stream().read(), "html", None,
                                 record.rec_headers.get_header("WARC-Target-URI")))
            if len(payloads) >= limit:
                break
    return payloads


def measure_here(pages: int) -> dict[str, float]:
    """One pass of the default worker over the pages, in this process: ms of CPU per page, all and trafilatura."""
    import trafilatura

    from moisson import extraction
    from moisson.config import Policy
    from moisson.curation import PayloadWork

    spent = [0.0]

    def timed(real):
        def call(*args, **kwargs):
            start = time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - start
        return call

    extraction.trafilatura.bare_extraction = timed(trafilatura.bare_extraction)
    if hasattr(extraction, "xmltotxt"):  # trafilatura's tree to text, called by Moisson after rewriting tables
        extraction.xmltotxt = timed(extraction.xmltotxt)
    policy = Policy(licenses={"allow": ["CC0-1.0"]})
    work = PayloadWork(policy.extraction, policy.language, policy.quality)
    payloads = html_payloads(pages)

    def run() -> float:
        start = time.process_time()
        for item in payloads:
            try:
                work(item)
            except Exception:  # noqa: BLE001 - a page that fails costs what it cost
                pass
        return time.process_time() - start

    run()  # warm-up: imports, models, caches
    spent[0] = 0.0
    total = run()
    return {"worker": 1000 * total / len(payloads), "trafilatura": 1000 * spent[0] / len(payloads)}


def measure_in(pythonpath: Path | None, pages: int) -> dict[str, float]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one-pass", "--pages", str(pages)],
                         check=True, capture_output=True, text=True, env=env, cwd=pythonpath or REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def export(ref: str, folder: Path) -> Path:
    """Git revision `ref`'s `moisson` and `sources` packages, extracted into `folder`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref, "moisson", "sources"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def best(rounds: list[dict[str, float]]) -> dict[str, float]:
    fastest = min(rounds, key=lambda r: r["worker"])
    return fastest | {"rest": fastest["worker"] - fastest["trafilatura"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-ref", metavar="REV", help="also measure this git revision in the same run")
    parser.add_argument("--one-pass", action="store_true", help=argparse.SUPPRESS)  # a subprocess's single pass
    args = parser.parse_args()
    if args.one_pass:
        print(json.dumps(measure_here(args.pages)))
        return 0
    if not WARC.exists():
        print(f"{WARC} is missing: this bench reads ../shared/data", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="moisson-worker-cpu-") as tmp:
        checkouts = {"this checkout": None}
        if args.baseline_ref:
            checkouts[args.baseline_ref] = export(args.baseline_ref, Path(tmp))
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}
        for _ in range(args.rounds):
            for name, path in checkouts.items():
                rounds[name].append(measure_in(path, args.pages))
    results = {name: best(runs) for name, runs in rounds.items()}
    print(f"{'checkout':<16} {'worker ms/page':>15} {'trafilatura':>12} {'everything else':>16}   ({args.pages} pages, "
          f"smallest of {args.rounds} rounds)")
    for name, r in results.items():
        print(f"{name:<16} {r['worker']:>15.2f} {r['trafilatura']:>12.2f} {r['rest']:>16.2f}")
    here = results["this checkout"]
    figure = {"worker_ms_per_page": here["worker"], "trafilatura_ms_per_page": here["trafilatura"],
              "rest_ms_per_page": here["rest"]}
    if args.baseline_ref:
        base = results[args.baseline_ref]
        figure |= {"baseline_worker_ms_per_page": base["worker"], "baseline_trafilatura_ms_per_page": base["trafilatura"],
                   "baseline_rest_ms_per_page": base["rest"], "rest_ratio": here["rest"] / base["rest"]}
    print("FIGURE " + " ".join(f"{key}={value:.3f}" for key, value in figure.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
