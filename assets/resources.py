"""The one resource every asset shares: where the sources file is and where data goes.

Configured once, from the environment (`MOISSON_SOURCES`, `MOISSON_DATA_DIR`), so the UI, the
daemon, the nightly schedule and `moisson run` all see the same settings.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import dagster as dg

from moisson.config import MoissonConfig, load_config
from moisson.layout import DataLayout

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = PROJECT_ROOT / "demo" / "sources.yaml"


def sources_file_from_env() -> Path:
    return Path(os.environ.get("MOISSON_SOURCES") or DEFAULT_SOURCES).resolve()


def data_dir_from_env() -> str:
    """MOISSON_DATA_DIR (default ./data) as an absolute folder, or as given when it is an s3://bucket/prefix."""
    value = os.environ.get("MOISSON_DATA_DIR") or "data"
    return value if value.startswith("s3:") else str(Path(value).resolve())


@cache
def _load(path: str, mtime: float) -> MoissonConfig:
    return load_config(path)


class MoissonResource(dg.ConfigurableResource):
    """Settings of a Moisson deployment: the sources file and the data directory."""

    sources_file: str
    data_dir: str

    @classmethod
    def from_env(cls) -> "MoissonResource":
        return cls(sources_file=str(sources_file_from_env()), data_dir=data_dir_from_env())

    def config(self) -> MoissonConfig:
        path = Path(self.sources_file)
        return _load(str(path), path.stat().st_mtime if path.exists() else 0.0)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """With an s3:// data directory, a step on a machine that never pulled its local copy pulls it first (runs
        launched by the UI or the daemon; `moisson run` pulls itself and hands its steps the local folder)."""
        from moisson.remote_data_dir import ensure_pulled

        ensure_pulled(self.layout(), context.log.info if context.log else lambda message: None)

    def layout(self) -> DataLayout:
        """An s3:// data directory is worked on in its local cache (MOISSON_CACHE_DIR); `moisson run` pulls it before
        and commits it after (moisson/remote_data_dir.py)."""
        return DataLayout.at(self.data_dir)
