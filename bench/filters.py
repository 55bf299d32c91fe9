"""Quality-filter calibration bench: per language, how much good text the rules reject and how much junk they catch.

The samples are bench/filter_sets.py's (good human-written text and junk in 30+ languages and 7 scripts,
language labels from the data, split tune/report by a stable hash of the page). For each sample:

- the language Moisson detects (`moisson.language.identify_language(text).language`, as the pipeline
  does) picks the thresholds: `moisson.config.QualityPolicy().for_language(code)` when that method
  exists, else `QualityPolicy()` itself; the row it is counted in is the *label*, not the detection;
- `check_quality(text, thresholds)` gives the verdict ("now"), and `check_quality(text,
  QualityThresholds())` with the old global defaults gives the baseline ("base"), both in one run.

Printed, on the report split unless --split says otherwise: per language (label), per script and per origin:
good n, good falsely rejected % (now, base), junk n, junk rightly rejected % (now, base), the share of
samples whose detected language is the label, and the rules that reject good text most (count, one example
id); then the speed of check_quality (documents/s, this process, one core), a BASELINE line and, last:

FIGURE good_false_rejection=<share of good samples rejected> good_false_rejection_worst=<share>
worst_language=<label> junk_rejection=<share of junk samples rejected> good_languages=<n> scripts=<n>

Shares are pooled over samples (0.xxxx). The worst language is the one with the highest share of good text
rejected among languages with at least --min-good good samples in the split (default 5), so that one
rejected notice in a language with two documents does not decide it. good_languages and scripts count the
languages and scripts with good text in the split.

Options: --split tune|report|all, --dump-tune FILE (the tune split as JSONL, as filter_sets.py does),
--examples N (print the N first rejected good samples per language with the failing rule's detail),
--baseline-ref REV: the baseline column is git revision REV's rules and default policy (its moisson package
exported to a temporary folder, run in a subprocess on the same texts) instead of this checkout's
QualityThresholds(), whose defaults move when the rules are retuned: `--baseline-ref 0750361` compares with the
rules before per-language thresholds. PYTHONPATH=<folder holding another moisson> measures that one instead.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the project last: PYTHONPATH=<another checkout> measures that checkout's rules (e.g. a committed baseline)
sys.path.append(str(Path(__file__).resolve().parents[1]))

import filter_sets  # noqa: E402  (bench/ is on the path above)
from filter_sets import GOOD, JUNK, Sample  # noqa: E402
from shared_data import require  # noqa: E402


@dataclass(frozen=True)
class Outcome:
    sample: Sample
    detected: str
    rule: str | None  # first rule failed with the per-language thresholds; None = kept
    detail: str | None
    base_rule: str | None  # same with the old global QualityThresholds()
    thresholds: str = "global"  # which thresholds for_language chose (its label), 'global' without it

    @property
    def rejected(self) -> bool:
        return self.rule is not None

    @property
    def base_rejected(self) -> bool:
        return self.base_rule is not None


class Thresholds:
    """The thresholds for a detected language: QualityPolicy().for_language(...) if the policy has it, else the
    policy itself. for_language may take (code) or (code, text) and return thresholds or (label, thresholds)."""

    def __init__(self) -> None:
        from moisson.config import QualityPolicy

        self.policy = QualityPolicy()
        method = getattr(self.policy, "for_language", None)
        self.per_language = callable(method)
        self.takes_text = False
        if self.per_language:
            try:
                self.takes_text = len(inspect.signature(method).parameters) >= 2
            except (TypeError, ValueError):
                self.takes_text = False

    def __call__(self, code: str, text: str = "") -> tuple[str, object]:
        """(label of the thresholds, thresholds)."""
        if not self.per_language:
            return "global", self.policy
        chosen = self.policy.for_language(code, text) if self.takes_text else self.policy.for_language(code)
        if isinstance(chosen, tuple):
            return str(chosen[0]), chosen[-1]
        return code, chosen


def evaluate(samples: list[Sample]) -> tuple[list[Outcome], float]:
    """Every sample's outcome, and the seconds check_quality took with the per-language thresholds."""
    from moisson.language import identify_language
    from moisson.text_quality import QualityThresholds, check_quality

    thresholds, baseline = Thresholds(), QualityThresholds()
    outcomes, seconds = [], 0.0
    for sample in samples:
        detected = identify_language(sample.text).language
        label, limits = thresholds(detected, sample.text)
        start = time.perf_counter()
        verdict = check_quality(sample.text, limits)
        seconds += time.perf_counter() - start
        base = check_quality(sample.text, baseline)
        outcomes.append(Outcome(sample, detected, verdict.rule, verdict.detail, base.rule, label))
    return outcomes, seconds


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}" if whole else "    -"


def table(outcomes: list[Outcome], key, title: str, width: int = 10) -> list[str]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[key(outcome.sample)].append(outcome)
    header = (f"{title:<{width}} {'good':>5} {'FR%now':>6} {'FR%base':>7} {'junk':>5} {'JR%now':>6} {'JR%base':>7} "
              f"{'lid%':>5} {'thresholds':<14} rules rejecting good text now (count, example)")
    lines = [header, "-" * len(header)]
    for name in sorted(groups):
        rows = groups[name]
        good = [o for o in rows if o.sample.kind == GOOD]
        junk = [o for o in rows if o.sample.kind == JUNK]
        lid = sum(o.detected == o.sample.language for o in rows)
        rules = Counter(o.rule for o in good if o.rejected)
        example = {o.rule: o.sample.id for o in reversed(good) if o.rejected}
        chosen = Counter(o.thresholds for o in rows).most_common(1)[0][0]
        top = ", ".join(f"{rule} {n} ({example[rule]})" for rule, n in rules.most_common(3))
        lines.append(
            f"{name:<{width}} {len(good):>5} {_pct(sum(o.rejected for o in good), len(good)):>6} "
            f"{_pct(sum(o.base_rejected for o in good), len(good)):>7} {len(junk):>5} "
            f"{_pct(sum(o.rejected for o in junk), len(junk)):>6} {_pct(sum(o.base_rejected for o in junk), len(junk)):>7} "
            f"{_pct(lid, len(rows)):>5} {chosen[:14]:<14} {top}"
        )
    return lines


def figures(outcomes: list[Outcome], baseline: bool = False, min_good: int = 5) -> dict[str, object]:
    """The FIGURE keys for the per-language thresholds (or, with baseline, the old global ones)."""
    rejected = (lambda o: o.base_rejected) if baseline else (lambda o: o.rejected)
    good = [o for o in outcomes if o.sample.kind == GOOD]
    junk = [o for o in outcomes if o.sample.kind == JUNK]
    per_language: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in good:
        per_language[outcome.sample.language].append(outcome)
    rates = {lang: _share(sum(map(rejected, rows)), len(rows)) for lang, rows in per_language.items()
             if len(rows) >= min_good}
    worst = max(sorted(rates), key=rates.__getitem__, default="-")
    return {
        "good_false_rejection": f"{_share(sum(map(rejected, good)), len(good)):.4f}",
        "good_false_rejection_worst": f"{rates.get(worst, 0.0):.4f}",
        "worst_language": worst,
        "junk_rejection": f"{_share(sum(map(rejected, junk)), len(junk)):.4f}",
        "good_languages": len(per_language),
        "scripts": len({o.sample.script for o in good}),
    }


def figure_line(values: dict[str, object], prefix: str = "FIGURE") -> str:
    return prefix + " " + " ".join(f"{key}={value}" for key, value in values.items())


def parse_figure_line(line: str) -> dict[str, str]:
    """The key=value pairs of a FIGURE line (raises ValueError if it is not one)."""
    head, *pairs = line.split()
    if head != "FIGURE" or not pairs or any("=" not in pair for pair in pairs):
        raise ValueError(f"not a FIGURE line: {line!r}")
    return dict(pair.split("=", 1) for pair in pairs)


def report(outcomes: list[Outcome], seconds: float, split: str, min_good: int, examples: int, per_language: bool,
           baseline: str = "QualityThresholds()") -> list[str]:
    good = sum(o.sample.kind == GOOD for o in outcomes)
    lines = [
        f"quality-filter bench: {len(outcomes)} samples ({good} good, {len(outcomes) - good} junk), split {split}; "
        f"thresholds now = {'QualityPolicy().for_language(detected)' if per_language else 'QualityPolicy() (no for_language yet)'}, "
        f"base = {baseline}; FR = good falsely rejected, JR = junk rightly rejected, lid = detected == label",
        "",
    ]
    lines += table(outcomes, lambda s: s.language, "language", 8) + [""]
    lines += table(outcomes, lambda s: s.script, "script", 10) + [""]
    lines += table(outcomes, lambda s: s.origin, "origin", 30) + [""]
    if examples:
        lines.append(f"first {examples} rejected good samples per language (now):")
        shown: Counter[str] = Counter()
        for outcome in outcomes:
            lang = outcome.sample.language
            if outcome.sample.kind == GOOD and outcome.rejected and shown[lang] < examples:
                shown[lang] += 1
                lines.append(f"  {lang} {outcome.sample.id} (detected {outcome.detected}): {outcome.detail}")
        lines.append("")
    speed = len(outcomes) / seconds if seconds else float("inf")
    lines.append(f"speed: check_quality {speed:,.0f} documents/s ({len(outcomes)} documents in {seconds:.2f} s, one core, "
                 f"language detection excluded)")
    lines.append(figure_line(figures(outcomes, baseline=True, min_good=min_good), "BASELINE"))
    lines.append(figure_line(figures(outcomes, min_good=min_good)))
    return lines


def baseline_from_ref(samples: list[Sample], ref: str) -> dict[str, str | None]:
    """id -> first rule failed under the quality rules of git revision `ref` (its moisson package, its default
    policy: QualityPolicy().for_language if it has one, else QualityPolicy()), on these very texts: the
    revision's package is exported to a temporary folder and this script runs there in a subprocess."""
    import io
    import json
    import os
    import subprocess
    import tarfile
    import tempfile
    from dataclasses import asdict

    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", ref, "moisson"], check=True,
                             capture_output=True).stdout
    with tempfile.TemporaryDirectory(prefix="bench-filters-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        samples_file, verdicts_file = Path(tmp) / "samples.jsonl", Path(tmp) / "verdicts.json"
        with open(samples_file, "w", encoding="utf-8") as handle:
            for sample in samples:
                handle.write(json.dumps(asdict(sample), ensure_ascii=False) + "\n")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])))
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--samples-in", str(samples_file),
                        "--verdicts-out", str(verdicts_file)], check=True, env=env, cwd=tmp)
        return json.loads(verdicts_file.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    import json
    from dataclasses import replace

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["tune", "report", "all"], default="report")
    parser.add_argument("--dump-tune", type=Path, metavar="FILE", help="also write the tune split as JSONL")
    parser.add_argument("--min-good", type=int, default=5, help="good samples a language needs to be the worst (5)")
    parser.add_argument("--examples", type=int, default=0, metavar="N", help="print N rejected good samples per language")
    parser.add_argument("--baseline-ref", metavar="REV",
                        help="the baseline is git revision REV's rules and policy (e.g. 0750361, before per-language "
                             "rules) instead of this checkout's QualityThresholds()")
    parser.add_argument("--samples-in", type=Path, help=argparse.SUPPRESS)  # used by --baseline-ref's subprocess
    parser.add_argument("--verdicts-out", type=Path, help=argparse.SUPPRESS)
    # `make bench-quality` passes the same BENCH_ARGS to bench/quality.py and to this script: options meant
    # for the other one are ignored here, with a note, instead of stopping the run
    args, ignored = parser.parse_known_args(argv)
    if ignored:
        print(f"bench/filters.py: ignoring {' '.join(ignored)}", file=sys.stderr)
    if args.samples_in:
        lines = args.samples_in.read_text(encoding="utf-8").splitlines()
        outcomes, _ = evaluate([Sample(**json.loads(line)) for line in lines])
        args.verdicts_out.write_text(json.dumps({o.sample.id: o.rule for o in outcomes}), encoding="utf-8")
        return 0
    if args.dump_tune:
        tune = filter_sets.load_samples("tune")
        filter_sets.dump_jsonl(tune, args.dump_tune)
        print(f"wrote {len(tune)} tune samples to {args.dump_tune}")
    # without the shared data only the written and generated samples remain: figures unlike the published ones
    require("bench/filters.py", filter_sets.SHARED, ["text", "langid", "extraction", "bench"])
    samples = filter_sets.load_samples(args.split)
    outcomes, seconds = evaluate(samples)
    baseline = "QualityThresholds()"
    if args.baseline_ref:
        rules = baseline_from_ref(samples, args.baseline_ref)
        outcomes = [replace(o, base_rule=rules[o.sample.id]) for o in outcomes]
        baseline = f"the rules and default policy of {args.baseline_ref}"
    print("\n".join(report(outcomes, seconds, args.split, args.min_good, args.examples, Thresholds().per_language,
                           baseline)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
