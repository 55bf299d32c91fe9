"""Where the benchmarks' input lives, and one clear line when it is not there.

Why: the benchmarks read data that is not in the repository (`../shared/data/`, beside the clone). On a
clone without it, a bench used to die in a traceback deep inside a loader, which `make` then wrapped in
its own error: a user could not tell that nothing was wrong but a missing folder. Every bench checks its
input at its entry point instead and stops with the folder and the files it needs.
"""

from __future__ import annotations

import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
EXIT_MISSING_DATA = 2


def require(script: str, folder: Path, patterns: list[str], hint: str = "") -> None:
    """Stop the bench with one line on stderr (exit 2) unless `folder` holds a file for every glob in `patterns`."""
    missing = [pattern for pattern in patterns if not (folder.is_dir() and any(folder.glob(pattern)))]
    if not missing:
        return
    where = "does not exist" if not folder.is_dir() else f"holds no {', '.join(missing)}"
    print(f"{script}: missing bench data: {folder} {where} (it should hold {', '.join(patterns)}, from the shared "
          f"data folder ../shared/data beside the repository{'; ' + hint if hint else ''})", file=sys.stderr)
    raise SystemExit(EXIT_MISSING_DATA)
