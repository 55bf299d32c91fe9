"""`moisson check`: what a sources file would harvest, and what in it would make a run produce nothing.

`load_config` already refuses what cannot work (unknown keys, licence ids that no step reads, a file that is
not UTF-8). This adds what only the disk can tell: a path or glob that matches no file is the most common
reason a nightly run publishes nothing, and it is cheap to see before the night.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from moisson.config import PORTAL_KINDS, MoissonConfig, is_path_list, is_url


@dataclass
class SourcesReport:
    """One line per source saying what it reads, the problems (each fails `check`) and notes (that do not)."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_sources(config: MoissonConfig, path: Path) -> SourcesReport:
    report = SourcesReport()
    allowed = {licence.lower() for licence in config.policy.licenses.allow}
    for source in config.sources:
        report.lines.append(f"{source.name} ({source.kind}): {what_it_reads(config, source)}")
        where = f"{path}: source {source.name!r}"
        for pattern in unmatched_patterns(config, source):
            report.problems.append(f"{where}: field 'paths': {pattern!r} matches no file (relative to {config.base_dir})")
        if source.license and source.license.lower() not in allowed:
            report.notes.append(f"{where}: its declared licence {source.license} is not in policy.licenses.allow: "
                                "its documents without a licence of their own will be rejected")
    return report


def what_it_reads(config: MoissonConfig, source) -> str:
    if source.kind in PORTAL_KINDS:
        return f"catalogue at {source.url}, harvested at run time"
    remote = getattr(source, "remote_entries", [])
    extra = f" + {len(remote)} remote location(s) or path list(s), read at run time" if remote else ""
    return f"{len(config.resolve_paths(source))} file(s){extra}"


def unmatched_patterns(config: MoissonConfig, source) -> list[str]:
    """The local paths and globs of a source that match no file, each judged alone, as `run` would read it."""
    if source.kind in PORTAL_KINDS:
        return []
    local = [p for p in source.paths if not (source.kind == "warc" and (is_url(p) or is_path_list(p)))]
    return [pattern for pattern in local
            if not config.resolve_paths(source.model_copy(update={"paths": [pattern]}))]
