"""A real PostgreSQL server for the tests of the production Dagster instance, started and stopped by the test.

Why a real one: dagster-postgres creates its tables, runs its migrations and takes its locks on a server; a
mock would test none of that. The cluster lives in a temporary folder, listens on 127.0.0.1 only on a free
port (its unix socket in that folder too), and is stopped on teardown. Host connections need a password
(scram-sha-256) so the instance's password really travels from the environment; the local socket trusts the
owner, for the fixture's own `createdb`.

PostgreSQL refuses to run as root: under root (CI, containers) the server runs as Debian's `postgres` user,
in a folder outside pytest's private tmp (which that user cannot enter).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "moisson"
PASSWORD = "moisson-test-password"  # a throwaway cluster's password, set through the environment like a real one
UNPRIVILEGED = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    """Where the test server answers; `environment(db)` is what a deployment sets for the Dagster instance."""

    host: str
    port: int
    user: str
    password: str
    bin_dir: Path
    socket_dir: Path
    run_as: str | None

    def create_database(self, name: str) -> str:
        """A fresh database, so each test starts from an empty instance."""
        _run([str(self.bin_dir / "createdb"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, name],
             self.run_as)
        return name

    def environment(self, database: str) -> dict[str, str]:
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_USER": self.user,
                "DAGSTER_PG_PASSWORD": self.password, "DAGSTER_PG_DB": database}


def postgres_bin_dir() -> Path | None:
    """The newest Debian-installed server (/usr/lib/postgresql/<N>/bin), else one whose initdb is on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], run_as: str | None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, user=run_as,
                            cwd="/", env={**os.environ, "LC_ALL": "C"})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
    return result


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}: .ci/run installs Debian's postgresql")
    pytest.skip(reason)


def _unprivileged_user() -> str | None:
    """None when not root; else the user the server runs as (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        _missing(f"running as root and there is no {UNPRIVILEGED!r} user to run PostgreSQL as")
    return UNPRIVILEGED


def start_postgres(root: Path, bin_dir: Path, run_as: str | None) -> PostgresServer:
    """initdb a cluster in `root` and start it on 127.0.0.1 (a free port, the socket in `root`)."""
    data, password_file = root / "data", root / "password"
    password_file.write_text(PASSWORD + "\n")
    if run_as:
        account = pwd.getpwnam(run_as)
        for path in (root, password_file):
            os.chown(path, account.pw_uid, account.pw_gid)
    _run([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={password_file}", "--auth-local=trust",
          "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync"], run_as)
    password_file.unlink()
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "-t", "60", "start"],
         run_as)
    return PostgresServer("127.0.0.1", port, SUPERUSER, PASSWORD, bin_dir, root, run_as)


def stop_postgres(server: PostgresServer) -> None:
    subprocess.run([str(server.bin_dir / "pg_ctl"), "-D", str(server.socket_dir / "data"), "-m", "fast", "-w", "stop"],
                   capture_output=True, timeout=60, user=server.run_as, cwd="/")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session (initdb takes seconds); tests create their own databases in it."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        _missing("PostgreSQL server binaries not found (/usr/lib/postgresql/<N>/bin or initdb on PATH; "
                 "Debian: apt-get install postgresql)")
    run_as = _unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="moisson-postgres-"))
    try:
        server = start_postgres(root, bin_dir, run_as)
    except RuntimeError as error:
        log = root / "server.log"
        detail = log.read_text() if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"{error}\n{detail}") from error
    try:
        yield server
    finally:
        stop_postgres(server)
        shutil.rmtree(root, ignore_errors=True)
