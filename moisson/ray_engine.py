"""The per-document work on Ray: the same function, the same outcomes, in the same order as moisson/workers.py.

Why Ray's own API from this pure module, not dagster-ray (0.4.8, read for this): the work is handed out from inside
`single_pass.harvest`, while the source is still being read, not at an asset boundary. dagster-ray's `LocalRay` is
a resource that calls `ray.init(**ray_init_options)` when a run's step sets it up and disconnects at teardown: the
life cycle `ensure_ray` gives here (once per process, so once per run with the in-process executor), without
threading a resource through the assets into code that must stay Dagster-free, and it cannot set what a local Ray
needs before `ray.init` (the session's authentication token in the environment, read again by Ray's client).
Its other parts move whole steps or runs (`ray_executor`, `RayRunLauncher`, Pipes clients for KubeRay jobs) or
create clusters per run (`KubeRayCluster`): a deployment's choice, not the per-document work's; none is used.

One Ray per process: the first call starts it (or connects to the cluster at the address given) and every later
call, of any source or step, reuses it, and the actors too when the modules and the memory cap are the same (given
the new function, if any); it stops when the process exits (or at `shutdown()`). Starting a local Ray costs 3-7 s:
once per run, not once per source and step, and off the run's critical path: `moisson run` starts it
(`start_local_ray`) before Dagster starts, in a process of its own (`ray start --head`, kept by
moisson/ray_head.py, which stops it and removes its folder when the run ends or dies), joins it when Dagster is up
and starts its workers then (`warm_up`), so they import the extraction modules while the first source is read.

Workers are Ray actors, one per CPU, each importing the extraction modules once (as the forkserver does). A call
carries a batch of documents, sized so that it lasts about BATCH_SECONDS by the seconds per document measured so
far (one call per document spent more on Ray's messages than on small pages), and an actor holds two batches: the
one it works on and the next, so it never waits for the driver. An actor runs its calls in order and notes which
document of its batch it is on and since when; the driver asks it (`progress`, answered by a thread of its own)
only when a document's budget may be spent. The contract is per document, as in the local pool:
- time: an actor on a document past its budget is killed (`ray.kill`, the actor form of a forced cancel) and
  replaced; that document's outcome is `TimeBudgetExceeded`, the others of its batch, and the batch behind it, go
  to the front of the queue. An actor that does not answer `progress` (a call holding the interpreter) is killed
  too and its batch's documents from the one it was last seen on are run again alone, one per call, where the
  driver times each exactly;
- memory: each actor lowers its own RLIMIT_DATA to what it holds once ready plus the budget (Ray's `memory=`
  is a scheduling reservation, never enforced); an allocation past it raises MemoryError in the call: the batch
  stops there, the document's outcome is `MemoryBudgetExceeded` and the actor is replaced (its heap may stay
  grown). The cap is on the actor's private data, growth since it was ready, not a call's own growth as the local
  pool measures, so a document that overruns it on an actor that worked before is tried again alone on a fresh one
  before it fails;
- a crash: an actor that dies (a parser crash, an OOM kill, a node lost) is replaced and its documents are run
  again alone, so a worker killed mid-batch loses nothing; a document that kills its worker RETRIES + 1 times is
  `WorkerCrashed`.
At most `ahead` items are read from the input and not yet yielded (backpressure: a 2 GB archive is never
submitted at once); the outcomes come back in input order (moisson.workers.OrderedOutcomes, shared with the local
pool).

Local Ray: node address 127.0.0.1 (Ray 2.60 still listens on every interface: token authentication stays on, with
a token of the session), free ports rather than Ray's fixed defaults, no dashboard, no log monitor (nothing goes to
the driver's log), its session folder under /tmp and nothing under $HOME. With an address, the process connects to
that cluster, which must have Moisson installed.
"""

from __future__ import annotations

import atexit
import logging
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from itertools import chain, islice
from pathlib import Path
from typing import Any

from moisson.local_ports import free_ports
from moisson.workers import (AHEAD_PER_WORKER, CHUNK, MEMORY_BUDGET_MB, STARTS_BEFORE_GIVING_UP, OrderedOutcomes,
                             Outcome, outcome_of)

RETRIES = 2  # runs again, alone, of a document whose worker died: a killed worker loses nothing
PER_ACTOR = 2  # batches an actor holds: the one it works on and the next, already sent
BATCH_SECONDS = 0.5  # what a call should last: Ray's cost per call (about a millisecond) is then lost in it
FIRST_BATCH = 2  # documents in an actor's first calls, before any was timed
MOST_PER_BATCH = 32
PROGRESS_GRACE_S = 2.0  # an actor that does not say where it is within this long is held stuck
LOCAL_ENVIRONMENT = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_USAGE_STATS_ENABLED", "RAY_worker_niceness")
HEAD_START_SECONDS = 120.0  # for a local Ray to come up, on a loaded machine
TEMP_PREFIX = "moisson-ray-"  # Ray's session folder: short (its socket paths must fit in 107 bytes), under /tmp
log = logging.getLogger(__name__)


def map_stream(function: Callable[[Any], Any], items: Iterable[Any], budget_s: float, workers: int | None = None,
               preload: Sequence[str] = (), inline_below: int = 0, chunk: int = CHUNK,
               chunks_ahead: int | None = None, memory_mb: float = MEMORY_BUDGET_MB,
               budget_of: Callable[[Any], float] | None = None, *, address: str | None = None,
               num_cpus: int | None = None) -> Iterator[Outcome]:
    """`moisson.workers.map_stream` on Ray: `function(item)` per item, outcomes in input order, failures as
    Outcomes. `workers`: actors to run (default and most: the cluster's CPUs); `inline_below` is accepted for the same
    signature and ignored (on Ray the work always goes to the cluster); `chunks_ahead` × `chunk` bounds the items
    in flight (default AHEAD_PER_WORKER per actor). `address`/`num_cpus`: the Ray this process starts or joins on its
    first call (see `ensure_ray`); later calls reuse it whatever they say."""
    iterator = iter(items)
    first = list(islice(iterator, 1))
    if not first:
        return
    cpus = ensure_ray(address, num_cpus)
    actors = max(1, min(workers or cpus, cpus))  # an actor beyond the CPUs would wait, holding its documents
    ahead = (chunks_ahead or -(-AHEAD_PER_WORKER * actors // max(chunk, 1))) * max(chunk, 1)
    pool = _ActorPools.take(function, actors, preload, memory_mb if budget_s > 0 else 0)
    finished = False
    try:
        yield from pool.stream(chain(first, iterator), ahead, budget_s, budget_of)
        finished = True
    finally:
        _ActorPools.give_back(pool, reusable=finished)


# the Ray of this process


@dataclass
class _Session:
    """The Ray this process started or joined: what to undo when it stops."""

    address: str | None
    cpus: int
    keeper: subprocess.Popen | None = None  # of the local Ray this process started (moisson/ray_head.py)
    saved: dict[str, str | None] = field(default_factory=dict)


@dataclass
class _LocalHead:
    """A local Ray starting in the background (`start_local_ray`), not joined yet."""

    keeper: subprocess.Popen
    folder: str  # its session folder, which the keeper removes once the head is gone
    address: str  # its GCS, 127.0.0.1:port
    environment: dict[str, str]  # its token and settings, which the process joining it must hold


_session: _Session | None = None
_head: _LocalHead | None = None


def start_local_ray(num_cpus: int | None = None) -> None:
    """Start this process's local Ray now, in the background, so that its start (3-5 s) overlaps other work (Dagster
    starting, the first source read); the first `ensure_ray` without an address joins it. Nothing if this process
    has a Ray, or one starting, already."""
    global _head
    if _session is not None or _head is not None:
        return
    folder = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir="/tmp")
    environment = _local_environment()
    gcs, client, agent, agent_grpc, metrics, runtime_env = free_ports(6)
    options = [f"--port={gcs}", "--node-ip-address=127.0.0.1", f"--temp-dir={folder}", "--include-dashboard=false",
               "--disable-usage-stats", f"--ray-client-server-port={client}", f"--dashboard-agent-listen-port={agent}",
               f"--dashboard-agent-grpc-port={agent_grpc}", f"--metrics-export-port={metrics}",
               f"--runtime-env-agent-port={runtime_env}", "--include-log-monitor=false",
               *([f"--num-cpus={num_cpus}"] if num_cpus else [])]
    keeper = _spawn_keeper([sys.executable, "-m", "moisson.ray_head", folder, *options],
                           dict(os.environ, **environment, **_worker_environment()))
    _head = _LocalHead(keeper, folder, f"127.0.0.1:{gcs}", environment)
    atexit.unregister(shutdown)
    atexit.register(shutdown)


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> int:
    """The CPUs of the Ray this process works on: the one it is connected to already, else the cluster at `address`,
    else its local Ray of `num_cpus` CPUs (default: every core), started now unless `start_local_ray` started it,
    and stopped when the process exits."""
    import ray

    global _session, _head
    if ray.is_initialized():
        return _cpus(ray)
    if address is None and _head is None:
        start_local_ray(num_cpus)
    head, _head = (_head, None) if address is None else (None, _head)
    session = _Session(address, 0, keeper=head and head.keeper,
                       saved={name: os.environ.get(name) for name in LOCAL_ENVIRONMENT})
    try:
        if head is not None:
            os.environ.update(head.environment)
            _reload_authentication()
            _wait_until_up(head)
            # no runtime_env: the head's environment has what workers need, and its workers started beforehand
            # (one per CPU) serve this process's actors only when no runtime_env sets them apart
            ray.init(address=head.address, configure_logging=False, log_to_driver=False)
        else:
            ray.init(address=address, configure_logging=False, log_to_driver=False)
    except BaseException:
        _undo(session)
        raise
    session.cpus = _cpus(ray)
    _session = session
    atexit.unregister(shutdown)
    atexit.register(shutdown)  # after Ray's own exit hook, so it runs first: the actors, then Ray, then the head
    print(f"moisson: per-document work on Ray ({address or 'local'}, {session.cpus} CPUs)", file=sys.stderr, flush=True)
    return session.cpus


def _wait_until_up(head: _LocalHead, timeout_s: float = HEAD_START_SECONDS) -> None:
    """Until the head wrote its address (`ray start` does once its processes are up); its log's end if it died."""
    written = Path(head.folder) / "ray_current_cluster"
    deadline = time.monotonic() + timeout_s
    while not written.exists():
        if head.keeper.poll() is not None or time.monotonic() > deadline:
            head.keeper.terminate()
            said = head.keeper.communicate(timeout=30)[1] or "(nothing)"
            raise RuntimeError(f"the local Ray did not start within {timeout_s:.0f} s (its keeper exited "
                               f"{head.keeper.returncode}); its log ends with:\n{said}")
        time.sleep(0.05)


def _spawn_keeper(command: list[str], environment: dict[str, str]) -> subprocess.Popen:
    """The keeper, started from a thread that lives as long as it does: the kernel's parent-death signal follows
    the thread that forked, and the caller's thread may end before the run does."""
    started: list[subprocess.Popen] = []
    ready = threading.Event()

    def keep() -> None:
        try:
            started.append(subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        finally:
            ready.set()
        started[0].wait()

    threading.Thread(target=keep, name="moisson-ray-keeper", daemon=True).start()
    ready.wait()
    if not started:
        raise RuntimeError(f"could not start the local Ray's keeper: {command[:4]}")
    return started[0]


def shutdown() -> None:
    """Stop what this process started on Ray (its actors, its local Ray), or leave the cluster it joined. The local
    Ray's keeper is signalled, not waited for: it stops the head and removes its folder on its own. A later call
    starts again."""
    global _session, _head
    head, _head = _head, None
    if head is not None:  # started, never joined
        head.keeper.terminate()
    if _session is None:
        return
    import ray

    _ActorPools.close_all()
    session, _session = _session, None
    ray.shutdown()
    _undo(session)


def _undo(session: _Session) -> None:
    if session.keeper is not None:
        session.keeper.terminate()
    for name, value in session.saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if session.keeper is not None:
        _reload_authentication()


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[int]:
    """A Ray for a `with` block of other work (Ray tasks: the near-duplicate join), and its CPUs: the one this process
    is on already (left running), else one started (or joined) now and stopped at the end of the block (a benchmark
    comparing CPU counts, a test). The idle actors kept for the next documents are stopped first: each holds a CPU
    the block's tasks would otherwise wait for, for good."""
    import ray

    if ray.is_initialized():
        release_idle_workers()
        yield _cpus(ray)
        return
    try:
        yield ensure_ray(address, num_cpus)
    finally:
        shutdown()


def warm_up(preload: Sequence[str], memory_mb: float = MEMORY_BUDGET_MB, *, address: str | None = None,
            num_cpus: int | None = None) -> None:
    """Join this process's Ray now and start one worker per CPU importing `preload`, without a function yet: the
    first `map_stream` of those modules and memory cap takes them ready, its function sent along, instead of
    waiting a second or two for actors to start and import (a run calls this before its first source)."""
    cpus = ensure_ray(address, num_cpus)
    _ActorPools.give_back(_ActorPools.take(None, cpus, preload, memory_mb), reusable=True)


def release_idle_workers() -> None:
    """Stop the actors kept for the next documents (a later call starts them again): Ray tasks about to run on this
    Ray need the CPUs they hold."""
    _ActorPools.close_all()


def seconds_per_document() -> float:
    """What the kept actors measured their documents to take, on average lately (0 when none is kept): what sizes
    their batches (bench/scale.py prints it)."""
    return max((pool.seconds_per_item for pool in _ActorPools.idle.values()), default=0.0)


def _local_environment() -> dict[str, str]:
    """A local Ray's settings, inherited by its processes. Ray 2.60 listens on every interface whatever the node
    address given (it swaps 127.0.0.1 for the reachable address), so its token authentication stays on, with a token
    of this session held in the environment: Ray would otherwise write one to ~/.ray/auth_token. No usage report.
    Workers at the priority of the local pool's (Ray's default is nice 15: on a machine doing anything else, the
    run's own reading and writing included, two workers got the CPU of one, bench/scale.py)."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_worker_niceness": "0"}


def _reload_authentication() -> None:
    """Make this process's Ray read the authentication settings again (it reads them once, then caches them)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _cpus(ray) -> int:
    return int(ray.cluster_resources().get("CPU", 1))


def _worker_environment() -> dict[str, str]:
    """What a local worker needs to import Moisson as this process does (a checkout run without installing)."""
    paths = [path for path in sys.path if path and os.path.isdir(path)]
    return {"PYTHONPATH": os.pathsep.join(paths)}


# the worker


class DocumentWorker:
    """One Ray actor: the work function, the modules imported once, its memory cap, and where it is in its batch
    (see the module's doc)."""

    def __init__(self, function: Callable[[Any], Any] | None, preload: Sequence[str], memory_mb: float):
        for module in preload:
            import_module(module)
        self.function, self.capped = function, False
        self.position, self.since = -1, 0.0
        if memory_mb > 0:
            self.capped = _cap_data(memory_mb)

    def ready(self) -> int:
        return os.getpid()

    def use(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def run(self, items: list[Any]) -> tuple[list[Outcome], float]:
        """The batch's outcomes, in order, and the seconds it took; it stops after a document past the memory cap."""
        started, outcomes = time.monotonic(), []
        for position, item in enumerate(items):
            self.position, self.since = position, time.monotonic()
            outcome = outcome_of(self.function, item)
            if outcome.error_class == "MemoryError" and self.capped:
                outcomes.append(Outcome(error_class="MemoryBudgetExceeded", message="the call grew its worker's "
                                        "memory past its budget: the worker was stopped"))
                break
            outcomes.append(outcome)
        self.position = -1
        return outcomes, time.monotonic() - started

    def progress(self) -> tuple[int, float]:
        """(position in the batch, seconds on that document), or (-1, 0) between batches. Answered by the actor's
        second thread while the first works (its own clock: a cluster's nodes do not share one)."""
        position, since = self.position, self.since
        return position, (time.monotonic() - since) if position >= 0 else 0.0


def _cap_data(memory_mb: float) -> bool:
    """Lower this process's RLIMIT_DATA to its private data now plus `memory_mb`; False where it cannot be read."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            data_kb = next(int(line.split()[1]) for line in status if line.startswith("VmData:"))
    except (OSError, StopIteration, ValueError):
        return False
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = data_kb * 1024 + int(memory_mb * 2**20)
    resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    return True


# the driver


@dataclass
class _Call:
    """A batch sent to an actor: its items' indexes and the call's result reference."""

    indexes: list[int]
    ref: Any


@dataclass
class _Seen:
    """Where the actor said it was in its current batch, and when the driver asked."""

    position: int = 0
    since: float = 0.0  # when the document at `position` started, on the driver's clock
    asked: Any = None  # a progress call not yet answered
    asked_at: float = 0.0


class _Actor:
    """The driver's handle on one actor: the batches sent to it, oldest first (the first is the one it runs)."""

    def __init__(self, handle, ready_ref):
        self.handle = handle
        self.ready_ref: Any = ready_ref  # until the actor is ready
        self.calls: deque[_Call] = deque()
        self.seen = _Seen(since=time.monotonic())
        self.took_any = False

    def head_starts(self) -> None:
        """The batch now first in line starts (the previous one came back, or it was sent to an idle actor)."""
        self.seen = _Seen(since=time.monotonic())


class _ActorPools:
    """The actor pools of this process, kept between calls: an idle pool of the same modules, memory cap and size is
    reused, given the new function if it differs (`warm_up`'s pool has none yet); another kind is stopped first (its
    actors hold the CPUs the new ones need)."""

    idle: dict[tuple, _ActorPool] = {}

    @classmethod
    def take(cls, function: Callable[[Any], Any] | None, actors: int, preload: Sequence[str],
             memory_mb: float) -> _ActorPool:
        key = (tuple(preload), memory_mb, actors)
        pool = cls.idle.pop(key, None)
        if pool is None:
            cls.close_all()
            pool = _ActorPool(function, actors, preload, memory_mb, key)
        elif function is not None:
            pool.use(function)
        return pool

    @classmethod
    def give_back(cls, pool: _ActorPool, reusable: bool) -> None:
        """A pool whose stream ran to its end holds no work: kept. One dropped midway still has calls: stopped."""
        if reusable and pool.actors:
            cls.idle[pool.key] = pool
        else:
            pool.close()

    @classmethod
    def close_all(cls) -> None:
        while cls.idle:
            cls.idle.popitem()[1].close()
class _ActorPool:
    """Actors and, per stream, the items waiting for one (the driver's single thread does it all: Ray's own threads
    carry the calls)."""

    def __init__(self, function: Callable[[Any], Any] | None, actors: int, preload: Sequence[str], memory_mb: float,
                 key: tuple):
        import ray
        from ray import cloudpickle

        self.ray, self.key = ray, key
        self.remote = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0,
                                 concurrency_groups={"watch": 1})(DocumentWorker)
        # passed by value: a fresh actor must not depend on an object-store copy
        self.function, self.pickled = function, cloudpickle.dumps(function)
        self.preload, self.memory_mb = list(preload), memory_mb
        self.seconds_per_item = 0.0  # measured, 0 until a batch came back
        self.dead_at_start = 0
        self.actors = [self._start() for _ in range(actors)]

    def use(self, function: Callable[[Any], Any]) -> None:
        """Give the actors another function (calls to an actor run in order: its next batches use it)."""
        from ray import cloudpickle

        pickled = cloudpickle.dumps(function)
        if pickled == self.pickled:
            return
        self.function, self.pickled, self.seconds_per_item = function, pickled, 0.0
        for actor in self.actors:
            actor.handle.use.remote(function)

    def _start(self) -> _Actor:
        handle = self.remote.remote(self.function, self.preload, self.memory_mb)
        return _Actor(handle, handle.ready.remote())

    def close(self) -> None:
        """Stop the actors, if Ray is still up (a stream dropped at exit is closed after Ray's own shutdown, and a call
        then would start a new Ray)."""
        if self.ray.is_initialized():
            for actor in self.actors:
                self.ray.kill(actor.handle, no_restart=True)
        self.actors = []

    def stream(self, items: Iterable[Any], ahead: int, budget_s: float,
               budget_of: Callable[[Any], float] | None) -> Iterator[Outcome]:
        yield from _Stream(self, budget_s, budget_of).map(items, ahead)

    def batch_size(self, waiting: int) -> int:
        """Documents for the next call: about BATCH_SECONDS of work, and no more than a fair share of those waiting
        (the last ones of a stream are spread over the actors, not left to one)."""
        wanted = FIRST_BATCH if self.seconds_per_item <= 0 else round(BATCH_SECONDS / self.seconds_per_item)
        fair = -(-waiting // (len(self.actors) * PER_ACTOR))
        return max(1, min(wanted, fair, MOST_PER_BATCH))

    def timed(self, items: int, seconds: float) -> None:
        """A batch of `items` took `seconds` in its actor: the estimate follows it (a moving average)."""
        latest = seconds / max(items, 1)
        self.seconds_per_item = latest if self.seconds_per_item <= 0 else 0.7 * self.seconds_per_item + 0.3 * latest


class _Stream(OrderedOutcomes):
    """One `map_stream` call on a pool: the budgets, the items that must run alone (their batch failed around
    them), and the settling of what the actors send back."""

    def __init__(self, pool: _ActorPool, budget_s: float, budget_of: Callable[[Any], float] | None):
        super().__init__(budget_s, budget_of)
        self.pool, self.ray = pool, pool.ray
        self.alone: set[int] = set()  # items to send one per call, where a failure names its own document
        self.crashes: dict[int, int] = {}

    def _wait_for(self, index: int) -> None:
        self._dispatch()
        if index not in self.outcomes:
            self._wait()

    def _dispatch(self) -> None:
        """Ready items to the actors with room, in batches, the least busy first."""
        while self.ready:
            actor = min(self.pool.actors, key=lambda a: len(a.calls))
            if len(actor.calls) >= PER_ACTOR:
                return
            if self.ready[0] in self.alone:
                indexes = [self.ready.popleft()]
            else:
                size = self.pool.batch_size(len(self.ready))
                indexes = []
                while self.ready and len(indexes) < size and self.ready[0] not in self.alone:
                    indexes.append(self.ready.popleft())
            if not actor.calls:
                actor.head_starts()
            actor.calls.append(_Call(indexes, actor.handle.run.remote([self.pending[i] for i in indexes])))

    def _wait(self) -> None:
        """Until a call or a progress report comes back, or a budget may be spent; settle what happened."""
        watched = {}
        for actor in self.pool.actors:
            if actor.ready_ref is not None:
                watched[actor.ready_ref] = actor
            elif actor.calls:
                watched[actor.calls[0].ref] = actor
                if actor.seen.asked is not None:
                    watched[actor.seen.asked] = actor
        if not watched:
            return
        deadline = min(self._deadline(actor) for actor in set(watched.values()))
        timeout = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
        done, _ = self.ray.wait(list(watched), num_returns=1, timeout=timeout, fetch_local=True)
        for ref in done:
            actor = watched[ref]
            if actor not in self.pool.actors:  # replaced while settling another reference
                continue
            if ref == actor.ready_ref:
                self._settle_ready(actor)
            elif ref == actor.seen.asked:
                self._settle_progress(actor)
            else:
                self._settle_batch(actor)
        now = time.monotonic()
        for actor in list(self.pool.actors):
            if actor.calls and actor.ready_ref is None and now >= self._deadline(actor):
                self._overdue(actor, now)

    def _deadline(self, actor: _Actor) -> float:
        """When the actor must next be looked at: its document's budget spent, or its progress answer late."""
        if actor.ready_ref is not None or not actor.calls or self.budget_s <= 0:
            return float("inf")
        if actor.seen.asked is not None:
            return actor.seen.asked_at + PROGRESS_GRACE_S
        call = actor.calls[0]
        return actor.seen.since + self.budget(call.indexes[min(actor.seen.position, len(call.indexes) - 1)])

    def _overdue(self, actor: _Actor, now: float) -> None:
        """A document may be past its budget: a batch of one is, for sure; a longer one is asked where it is."""
        call = actor.calls[0]
        if len(call.indexes) == 1:
            self._replace(actor, failed=(call.indexes[0], self._time_out(call.indexes[0])))
        elif actor.seen.asked is None:
            actor.seen.asked, actor.seen.asked_at = actor.handle.progress.options(concurrency_group="watch").remote(), now
        else:  # no answer: the document it is on holds the interpreter; from the last one seen on, each runs alone
            self.alone.update(call.indexes[actor.seen.position:])
            self._replace(actor)

    def _settle_progress(self, actor: _Actor) -> None:
        try:
            position, seconds = self.ray.get(actor.seen.asked)
        except self.ray.exceptions.RayError:  # the actor died: its batch's result says so
            actor.seen.asked = None
            return
        actor.seen.asked = None
        if position < 0:  # between batches: the batch's own result is on its way; look again a budget later
            actor.seen.since = time.monotonic()
            return
        actor.seen.position, actor.seen.since = position, time.monotonic() - seconds
        index = actor.calls[0].indexes[position]
        if seconds >= self.budget(index):
            self._replace(actor, failed=(index, self._time_out(index)))

    def _time_out(self, index: int) -> Outcome:
        return Outcome(error_class="TimeBudgetExceeded", message=f"gave up after {self.budget(index):g} s: "
                       "the worker was stopped")

    def _settle_ready(self, actor: _Actor) -> None:
        try:
            self.ray.get(actor.ready_ref)
        except self.ray.exceptions.RayActorError as exc:  # died at start: another takes its place
            self._replace(actor, failed_start=_first_line(exc))
            return
        actor.ready_ref = None
        actor.head_starts()
        self.pool.dead_at_start = 0

    def _settle_batch(self, actor: _Actor) -> None:
        call = actor.calls[0]
        try:
            outcomes, seconds = self.ray.get(call.ref)
        except self.ray.exceptions.RayActorError:  # the actor died on one of these: each runs again, alone
            self._crashed(actor, call)
            return
        except self.ray.exceptions.RayError as exc:  # the result could not come back: each runs again, alone
            if len(call.indexes) > 1:
                self.alone.update(call.indexes)
                self._replace(actor)
                return
            outcomes, seconds = [Outcome(error_class=type(exc).__name__, message=_first_line(exc)[:500])], 0.0
        actor.calls.popleft()
        actor.head_starts()
        self.pool.timed(len(outcomes), seconds)
        for position, (index, outcome) in enumerate(zip(call.indexes, outcomes)):
            self.alone.discard(index)
            self.crashes.pop(index, None)
            if outcome.error_class == "MemoryBudgetExceeded":  # the batch stopped here; its heap may stay grown
                if actor.took_any:  # the cap counts what earlier documents left behind: its own try, on a fresh one
                    self.alone.add(index)
                else:
                    self._settle(index, outcome)
                self._requeue(call.indexes[position + (0 if actor.took_any else 1):])
                self._replace(actor)
                return
            actor.took_any = True
            self._settle(index, outcome)

    def _crashed(self, actor: _Actor, call: _Call) -> None:
        if len(call.indexes) == 1:
            index = call.indexes[0]
            self.crashes[index] = self.crashes.get(index, 0) + 1
            if self.crashes[index] > RETRIES:
                self.crashes.pop(index)
                self.alone.discard(index)
                self._replace(actor, failed=(index, Outcome(error_class="WorkerCrashed", message="the worker process "
                                                            f"died ({RETRIES + 1} times) while processing this document")))
                return
        self.alone.update(call.indexes)
        self._replace(actor)

    def _replace(self, actor: _Actor, failed: tuple[int, Outcome] | None = None, failed_start: str | None = None) -> None:
        """Kill the actor; the document `failed` names gets its outcome, every other one it held goes back to the front
        of the queue, for the others and for the fresh actor started in its place."""
        self.ray.kill(actor.handle, no_restart=True)
        self.pool.actors.remove(actor)
        held = [index for call in actor.calls for index in call.indexes]
        if failed is not None:
            held.remove(failed[0])
            self.alone.discard(failed[0])
            self._settle(*failed)
        self._requeue(held)
        if failed_start is not None:
            self.pool.dead_at_start += 1
            if self.pool.dead_at_start >= STARTS_BEFORE_GIVING_UP:
                raise RuntimeError(f"{self.pool.dead_at_start} Ray workers in a row failed to start: {failed_start}")
        self.pool.actors.append(self.pool._start())
        self._dispatch()


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
