"""Shared fixtures: the project's own demo data, and the real files in ../shared/data when present."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, read-only. Absent on a user's clone (skip), required in CI (fail)."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {SHARED_DATA} is missing: CI must provide ../shared/data")
    pytest.skip(f"{SHARED_DATA} not present (it exists only beside the project's CI checkout)")


@pytest.fixture
def tesseract() -> str:
    """Tesseract with English and French data, or a skip (a failure under CI=true, where CI installs them)."""
    from moisson import ocr

    if ocr.tesseract_version() is None or not {"eng", "fra"} <= ocr.installed_languages():
        message = f"tesseract with eng+fra data is not installed ({ocr.install_hint(['eng', 'fra'])})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}: .ci/run installs it")
        pytest.skip(message)
    return ocr.tesseract_version()


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A private copy of the demo folder (sources file, archives, dumps), so tests never touch the repo's."""
    target = tmp_path / "demo"
    shutil.copytree(PROJECT_ROOT / "demo", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target
