"""`make demo` and `make ui`: the demo portal, started for `moisson run` or for the Dagster UI, and stopped after.

`make demo` starts the demo portal, runs `moisson run` on the demo sources and the portal, and stops the portal;
it exits with `moisson run`'s exit code. `make ui` (`--ui`) serves the Dagster UI (`dg dev`: webserver and
daemon) on the same sources file and data directory, with the demo portal running when the sources file reads
it (${MOISSON_DEMO_PORTAL}), until Ctrl-C; then the UI stops, and the portal after it.

Why a script rather than shell in the Makefile: the portal must be stopped whatever happens to the run or
the UI (failure, Ctrl-C), and the free port it picks must reach the sources file, which reads it from
MOISSON_DEMO_PORTAL.

    .venv/bin/python demo/run_demo.py [--data-dir data] [--sources demo/sources-with-portals.yaml]
    .venv/bin/python demo/run_demo.py --ui [--data-dir data] [--sources ...] [--host 127.0.0.1] [--port 3000]
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

DEMO = Path(__file__).resolve().parent
PROJECT_ROOT = DEMO.parent
SERVER = DEMO / "portal" / "serve.py"
PORTAL_VARIABLE = "MOISSON_DEMO_PORTAL"
# The portal's address is part of what it publishes (resource URLs, OAI-PMH resource ids, lineage), so the
# same port on every run keeps a re-run incremental; any free port when this one is taken.
PREFERRED_PORT = 47815
START_SECONDS, STOP_SECONDS = 30.0, 10.0
UI_STOP_SECONDS = 120.0  # dg dev stops its webserver, daemon and code servers, each given a minute


@contextmanager
def demo_portal(python: str = sys.executable, port: int = PREFERRED_PORT) -> Iterator[str]:
    """The demo portal's base URL while it runs, on `port` when it is free; the server process is stopped on exit,
    always."""
    process, address = _start_portal(python, port) if port and _is_free(port) else (None, "")
    if not address.startswith("serving http://"):  # taken, even between the probe and the server's bind: any port
        if process is not None:
            _stop(process)
        process, address = _start_portal(python, 0)
    try:
        if not address.startswith("serving http://"):
            raise RuntimeError(f"the demo portal did not start ({SERVER}): {address.strip() or 'no answer'}")
        yield address.split()[1]
    finally:
        _stop(process)


def _start_portal(python: str, port: int) -> tuple[subprocess.Popen, str]:
    """The server and the first line it printed (`serving http://127.0.0.1:PORT`, or nothing if it stopped)."""
    process = subprocess.Popen([python, str(SERVER), "--port", str(port)], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
    return process, process.stdout.readline() if ready else ""


def _stop(process: subprocess.Popen) -> None:
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


def run_demo(sources: Path, data_dir: Path, moisson: str, portal_port: int = PREFERRED_PORT) -> int:
    with demo_portal(port=portal_port) as portal:
        print(f"==> demo portal (CKAN at {portal}, OAI-PMH at {portal}/oai) started", flush=True)
        code = subprocess.call([moisson, "run", "--sources", str(sources), "--data-dir", str(data_dir)],
                               env={**os.environ, PORTAL_VARIABLE: portal})
    print("==> demo portal stopped", flush=True)
    print("\nfrom a portal document back to its dataset, resource and licence:")
    print(f"  {moisson} sql --data-dir {data_dir} \"SELECT source, dataset_id, resource_id, dataset_license, "
          f"status, reason FROM document_lineage ORDER BY 1, 2, 3\"")
    return code


def serve_ui(sources: Path, data_dir: Path, host: str, port: int, portal_port: int = PREFERRED_PORT) -> int:
    """The Dagster UI on this sources file and data directory, as `moisson run` sees them, until Ctrl-C."""
    from moisson.layout import DataLayout
    from pipelines.cli import _prepare_environment

    if not sources.is_file():
        print(f"no sources file at {sources}", file=sys.stderr)
        return 2
    _prepare_environment(sources, DataLayout.at(data_dir))  # DAGSTER_HOME=<data dir>/dagster, MOISSON_SOURCES, ..._DATA_DIR
    env = {**os.environ, "VIRTUAL_ENV": sys.prefix}  # dg checks that the project's venv is the active one
    with demo_portal(port=portal_port) if _reads_portal(sources) else nullcontext() as portal:
        if portal:
            env[PORTAL_VARIABLE] = portal
            print(f"==> demo portal (CKAN at {portal}, OAI-PMH at {portal}/oai) started", flush=True)
        print(f"==> Dagster UI on http://{host}:{port} (Ctrl-C stops it)", flush=True)
        code = _until_interrupted([str(Path(sys.executable).parent / "dg"), "dev", "-h", host, "-p", str(port)], env)
    if portal:
        print("==> demo portal stopped", flush=True)
    return code


def _reads_portal(sources: Path) -> bool:
    return "${" + PORTAL_VARIABLE + "}" in sources.read_text(encoding="utf-8")


def _until_interrupted(command: list[str], env: dict[str, str]) -> int:
    """Run `dg dev` from the project folder (where its pyproject.toml says what to load) until it exits or this
    script is interrupted (Ctrl-C, SIGTERM); then ask it once to stop, wait, and stop what it leaves running.

    Why its own process group: dg dev stops its webserver and daemon when it gets one SIGINT; the terminal's
    Ctrl-C, sent to the whole foreground group, would also reach them directly and cut that short, and a second
    SIGINT would interrupt dg's own shutdown. So Ctrl-C reaches this script, which passes it on once.
    """
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, process_group=0)
    previous = signal.signal(signal.SIGTERM, _as_keyboard_interrupt)
    try:
        try:
            return _wait_interruptibly(process)
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
        try:
            return process.wait(UI_STOP_SECONDS)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # too slow, or Ctrl-C again: stop it now
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait()
    finally:
        _stop_group(process.pid)
        signal.signal(signal.SIGTERM, previous)


def _wait_interruptibly(process: subprocess.Popen) -> int:
    """`process.wait()` that Ctrl-C and SIGTERM can end. Why not a plain wait: the demo portal serves from threads of
    this process, the kernel may hand a signal to one of them, and a main thread blocked in waitpid would then never
    run its handler; waiting in short slices lets the main thread see the signal within a fraction of a second."""
    while True:
        try:
            return process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue


def _stop_group(group: int) -> None:
    """What the UI started and dg dev leaves behind (code servers, the worker of a run in progress): SIGTERM, on
    which a run worker records its run as failed, then SIGKILL for whatever is still there after STOP_SECONDS.
    Its stage files are written atomically, so an interrupted run leaves nothing half-written."""
    for stop in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + STOP_SECONDS
        try:
            os.killpg(group, stop)
            while time.monotonic() < deadline:
                os.killpg(group, 0)  # raises once the group is empty
                time.sleep(0.2)
        except ProcessLookupError:
            return
        except KeyboardInterrupt:  # Ctrl-C while waiting: SIGKILL now
            continue


def _as_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=DEMO / "sources-with-portals.yaml")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--moisson", default=str(Path(sys.executable).parent / "moisson"),
                        help="the moisson command (default: the one beside this Python)")
    parser.add_argument("--ui", action="store_true", help="serve the Dagster UI (dg dev) instead of running moisson")
    parser.add_argument("--host", default="127.0.0.1", help="the UI's address (--ui)")
    parser.add_argument("--port", type=int, default=3000, help="the UI's port (--ui)")
    parser.add_argument("--portal-port", type=int, default=PREFERRED_PORT,
                        help=f"the demo portal's port when it is free (default {PREFERRED_PORT}; 0: any free port)")
    args = parser.parse_args(argv)
    if args.ui:
        return serve_ui(args.sources, args.data_dir, args.host, args.port, args.portal_port)
    return run_demo(args.sources, args.data_dir, _shown(args.moisson), args.portal_port)


def _shown(command: str) -> str:
    """The command as the user can type it again from here (relative to the current folder when inside it)."""
    try:
        return str(Path(command).relative_to(Path.cwd()))
    except ValueError:
        return command


if __name__ == "__main__":
    sys.exit(main())
