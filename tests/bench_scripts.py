"""Load a script of bench/ in a test, as the bench runs it but under a name of its own."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench_script(file: str) -> ModuleType:
    """bench/<file> as module `bench_<stem>`: as `quality` it would shadow the project's `quality` package. The
    bench folder is on sys.path while it loads (scripts import their neighbours) and taken off again after."""
    name = f"bench_{Path(file).stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    path = list(sys.path)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path[:] = path
    return module
