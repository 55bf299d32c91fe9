"""Peer tools in their own virtual environments under bench/.peers/ (gitignored).

Peers (datatrove, other language identifiers) pin dependencies that clash with the project's
(datatrove 0.10.1 wants trafilatura < 1.12, the project runs 2.x), so each one gets a venv of its
own, created with the machine's python3.11 and pip from PyPI, and reused while its pins are
unchanged. A marker file holds the pins it was built with: change a pin and the venv is rebuilt.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parent / ".peers"
MARKER = "bench-pins.json"


def peer_python(name: str) -> Path:
    return PEERS_DIR / name / "bin" / "python"


def ensure_peer_venv(name: str, pins: list[str], python: str = "python3.11") -> Path:
    """Create (or reuse) bench/.peers/<name> with exactly these pip requirements; return its python.

    Raises RuntimeError with pip's last lines when the install fails, so callers can skip the peer
    and say why instead of crashing the whole benchmark.
    """
    venv = PEERS_DIR / name
    marker = venv / MARKER
    if marker.exists() and json.loads(marker.read_text()) == pins and peer_python(name).exists():
        return peer_python(name)
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"[peers] creating {venv} with {' '.join(pins)}", file=sys.stderr, flush=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [str(peer_python(name)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        shutil.rmtree(venv, ignore_errors=True)
        raise RuntimeError(f"pip install {' '.join(pins)} failed:\n{tail}")
    marker.write_text(json.dumps(pins))
    return peer_python(name)


def peer_versions(python: Path, packages: list[str]) -> dict[str, str]:
    """Installed versions of packages inside a peer venv (missing ones come back as 'absent')."""
    code = (
        "import json, sys\nfrom importlib import metadata\nout = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: out[name] = metadata.version(name)\n"
        "    except metadata.PackageNotFoundError: out[name] = 'absent'\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run([str(python), "-c", code, *packages], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)
