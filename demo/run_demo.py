"""`make demo`: start the demo portal, run `moisson run` on the demo sources and the portal, stop the portal.

Why a script rather than shell in the Makefile: the portal must be stopped whatever happens to the
run (failure, Ctrl-C), and the free port it picks must reach the sources file, which reads it from
MOISSON_DEMO_PORTAL. Exits with `moisson run`'s exit code.

    .venv/bin/python demo/run_demo.py [--data-dir data] [--sources demo/sources-with-portals.yaml]
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEMO = Path(__file__).resolve().parent
SERVER = DEMO / "portal" / "serve.py"
PORTAL_VARIABLE = "MOISSON_DEMO_PORTAL"
# The portal's address is part of what it publishes (resource URLs, OAI-PMH resource ids, lineage), so the
# same port on every run keeps a re-run incremental; any free port when this one is taken.
PREFERRED_PORT = 47815
START_SECONDS, STOP_SECONDS = 30.0, 10.0


@contextmanager
def demo_portal(python: str = sys.executable) -> Iterator[str]:
    """The demo portal's base URL while it runs; the server process is stopped on exit, always."""
    port = PREFERRED_PORT if _is_free(PREFERRED_PORT) else 0
    process = subprocess.Popen([python, str(SERVER), "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        yield _announced_address(process)
    finally:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _announced_address(process: subprocess.Popen) -> str:
    ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("serving http://"):
        raise RuntimeError(f"the demo portal did not start ({SERVER}): {line.strip() or 'no answer'}")
    return line.split()[1]


def run_demo(sources: Path, data_dir: Path, moisson: str) -> int:
    with demo_portal() as portal:
        print(f"==> demo portal (CKAN at {portal}, OAI-PMH at {portal}/oai) started", flush=True)
        code = subprocess.call([moisson, "run", "--sources", str(sources), "--data-dir", str(data_dir)],
                               env={**os.environ, PORTAL_VARIABLE: portal})
    print("==> demo portal stopped", flush=True)
    print("\nfrom a portal document back to its dataset, resource and licence:")
    print(f"  {moisson} sql --data-dir {data_dir} \"SELECT source, dataset_id, resource_id, dataset_license, "
          f"status, reason FROM document_lineage ORDER BY 1, 2, 3\"")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=DEMO / "sources-with-portals.yaml")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--moisson", default=str(Path(sys.executable).parent / "moisson"),
                        help="the moisson command (default: the one beside this Python)")
    args = parser.parse_args(argv)
    return run_demo(args.sources, args.data_dir, _shown(args.moisson))


def _shown(command: str) -> str:
    """The command as the user can type it again from here (relative to the current folder when inside it)."""
    try:
        return str(Path(command).relative_to(Path.cwd()))
    except ValueError:
        return command


if __name__ == "__main__":
    sys.exit(main())
