"""Unreadable files moved aside, never deleted, never left where they block every later run.

Why: a state or stage file cut by a full disk, or overwritten by hand, used to fail every publication
(a corrupt dedup index, a corrupt harvest state blocked the warehouse for all sources). What can be
rebuilt is rebuilt after the bad file is moved here; what cannot is left for a person to look at,
under `<data>/quarantine/<its path in the data directory>.<UTC time>`, and the error names both paths.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path


class CorruptFile(ValueError):
    """A file Moisson wrote could not be read back; it has been moved to quarantine."""

    def __init__(self, path: Path, moved_to: Path, cause: BaseException | str, consequence: str):
        self.path, self.moved_to = path, moved_to
        self.cause = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else cause
        super().__init__(f"{path} is unreadable ({_first_line(self.cause)}); moved to {moved_to}; {consequence}")


def quarantine(path: Path, data_root: Path) -> Path:
    """Move `path` under `<data_root>/quarantine/`, keeping its path relative to the data directory; return where."""
    try:
        relative = path.resolve().relative_to(data_root.resolve())
    except ValueError:  # not under the data directory: keep its name only
        relative = Path(path.name)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = data_root / "quarantine" / relative.parent / f"{relative.name}.{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)
    return target


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line[:300]
