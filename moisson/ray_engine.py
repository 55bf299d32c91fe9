"""The per-document work on Ray: the same function, the same outcomes, in the same order as moisson/workers.py.

Why Ray's own API from this pure module, not dagster-ray: the work is handed out from inside
`single_pass.harvest`, while the source is still being read, not at an asset boundary; a Dagster resource
(dagster-ray's `LocalRay` / `RayResource`) would have to be threaded through the assets into code that must
stay Dagster-free, and would still leave the remote calls to write here. What dagster-ray adds (a cluster's
life cycle, Pipes to KubeRay jobs) concerns whole steps, a later increment.

Workers are Ray actors, one per CPU, each importing the extraction modules once (as the forkserver does)
and holding a few documents: the one it works on and the next ones, so it never waits for the driver. An
actor runs its calls in order, so the driver knows which document each one is on and since when (since the
previous one came back, or since it was handed over to an idle actor), without a message from the worker.
Budgets, as in the local pool:
- time: an actor still on a document when its budget is spent is killed (`ray.kill`, the actor form of a
  forced cancel) and replaced; that document's outcome is `TimeBudgetExceeded`, the ones queued behind it go
  to another actor;
- memory: each actor lowers its own RLIMIT_DATA to what it holds once ready plus the budget (Ray's `memory=`
  is a scheduling reservation, never enforced); an allocation past it raises MemoryError in the call, whose
  outcome is `MemoryBudgetExceeded`, and the actor is replaced (its heap may stay grown). The cap is on the
  actor's private data, growth since it was ready, not a call's own growth as the local pool measures, so a
  document that overruns it on an actor that worked before is tried again on a fresh one before it fails;
- a crash: Ray restarts an actor that dies (a parser crash, an OOM kill, a node lost) and runs its calls
  again (`max_restarts`, `max_task_retries` = RETRIES), so a worker killed mid-document loses nothing; a
  document that kills its worker every time is `WorkerCrashed` once the retries are spent.
At most `ahead` items are read from the input and not yet yielded (backpressure: a 2 GB archive is never
submitted at once); the outcomes come back in input order.

Local Ray is started by the first call when none is running and no address is given: node address 127.0.0.1
(Ray 2.60 still listens on every interface: token authentication stays on, with a token of the session),
no dashboard, its session folder under /tmp and nothing under $HOME, stopped when the call ends. With an address, the
call connects to that cluster and disconnects at the end; the cluster must have Moisson installed.
"""

from __future__ import annotations

import logging
import os
import resource
import secrets
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module
from itertools import islice
from typing import Any

from moisson.workers import AHEAD_PER_WORKER, CHUNK, MEMORY_BUDGET_MB, STARTS_BEFORE_GIVING_UP, Outcome, _call

RETRIES = 2  # restarts of a dead actor, and runs again of the calls it held: a killed worker loses nothing
PER_ACTOR = 4  # documents an actor holds: the one it works on and the next ones, already sent
LOCAL_ENVIRONMENT = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_USAGE_STATS_ENABLED", "RAY_worker_niceness")
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
    in flight (default AHEAD_PER_WORKER per actor). `address`/`num_cpus`: see `ray_session`."""
    iterator = iter(items)
    first = list(islice(iterator, 1))
    if not first:
        return
    with ray_session(address, num_cpus) as cpus:
        actors = max(1, min(workers or cpus, cpus))  # an actor beyond the CPUs would wait, holding its documents
        ahead = (chunks_ahead or -(-AHEAD_PER_WORKER * actors // max(chunk, 1))) * max(chunk, 1)
        pool = _ActorPool(function, actors, budget_s, preload, memory_mb if budget_s > 0 else 0, budget_of)
        try:
            yield from pool.map(_chain(first, iterator), ahead)
        finally:
            pool.close()


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[int]:
    """A Ray to submit to, and its CPUs: the one this process is already connected to, else the cluster at `address`,
    else a local Ray of `num_cpus` CPUs (default: every core) started now. What this opened, it closes."""
    import ray

    if ray.is_initialized():
        yield _cpus(ray)
        return
    temp_dir, saved = None, {name: os.environ.get(name) for name in LOCAL_ENVIRONMENT}
    try:
        if address is None:
            temp_dir = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir="/tmp")
            os.environ.update(_local_environment())
            _reload_authentication()
            ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=temp_dir,
                     configure_logging=False, log_to_driver=False, runtime_env={"env_vars": _worker_environment()})
        else:
            ray.init(address=address, configure_logging=False, log_to_driver=False)
        cpus = _cpus(ray)
        print(f"moisson: per-document work on Ray ({address or 'local'}, {cpus} CPUs)", file=sys.stderr, flush=True)
        yield cpus
    finally:
        ray.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if temp_dir is not None:
            _reload_authentication()
            shutil.rmtree(temp_dir, ignore_errors=True)


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


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


class DocumentWorker:
    """One Ray actor: the work function, the modules imported once, and its memory cap (see the module's doc)."""

    def __init__(self, function: Callable[[Any], Any], preload: Sequence[str], memory_mb: float):
        for module in preload:
            import_module(module)
        self.function, self.capped = function, False
        if memory_mb > 0:
            self.capped = _cap_data(memory_mb)

    def ready(self) -> int:
        return os.getpid()

    def run(self, item: Any) -> Outcome:
        outcome = _call(self.function, item)
        if outcome.error_class == "MemoryError" and self.capped:
            return Outcome(error_class="MemoryBudgetExceeded",
                           message="the call grew its worker's memory past its budget: the worker was stopped")
        return outcome


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


class _Actor:
    """The driver's handle on one actor: the calls sent to it, oldest first (the first is the one it runs)."""

    def __init__(self, handle, ready_ref):
        self.handle = handle
        self.calls: deque[tuple[int, Any]] = deque([(-1, ready_ref)])  # (index, ref); -1: the actor getting ready
        self.head_since = time.monotonic()
        self.took_any = False


class _ActorPool:
    """Actors, the items waiting for one, and the ordered stream of outcomes (the driver's single thread does it all:
    Ray's own threads carry the calls)."""

    def __init__(self, function: Callable[[Any], Any], actors: int, budget_s: float, preload: Sequence[str],
                 memory_mb: float, budget_of: Callable[[Any], float] | None):
        import ray

        self.ray = ray
        self.remote = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)(DocumentWorker)
        self.function = function  # passed by value: a restarted actor must not depend on an object-store copy
        self.preload, self.memory_mb = list(preload), memory_mb
        self.budget_s, self.budget_of = budget_s, budget_of
        self.items: dict[int, Any] = {}  # index -> item, until its outcome is in
        self.budgets: dict[int, float] = {}
        self.ready: deque[int] = deque()  # read, not yet sent to an actor
        self.outcomes: dict[int, Outcome] = {}
        self.dead_at_start = 0
        self.actors = [self._start() for _ in range(actors)]

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

    def map(self, items: Iterable[Any], ahead: int) -> Iterator[Outcome]:
        source, handed, yielded, exhausted = iter(items), 0, 0, False
        while True:
            while (outcome := self.outcomes.pop(yielded, None)) is not None:
                yield outcome
                yielded += 1
            while not exhausted and handed - yielded < ahead:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                self.items[handed] = item
                if self.budget_of is not None:
                    self.budgets[handed] = self.budget_of(item)
                self.ready.append(handed)
                handed += 1
            if exhausted and yielded == handed:
                return
            self._dispatch()
            if yielded not in self.outcomes:
                self._wait()

    def _dispatch(self) -> None:
        """Ready items to the actors with room, the least busy first."""
        while self.ready:
            actor = min(self.actors, key=lambda a: len(a.calls))
            if len(actor.calls) >= PER_ACTOR:
                return
            index = self.ready.popleft()
            if not actor.calls:
                actor.head_since = time.monotonic()
            actor.calls.append((index, actor.handle.run.remote(self.items[index])))

    def _wait(self) -> None:
        """Until a call comes back or a budget runs out; settle what happened."""
        heads = {actor.calls[0][1]: actor for actor in self.actors if actor.calls}
        if not heads:
            return
        deadline = min((self._deadline(actor) for actor in heads.values()), default=float("inf"))
        timeout = None if deadline == float("inf") else max(0.0, deadline - time.monotonic())
        done, _ = self.ray.wait(list(heads), num_returns=1, timeout=timeout, fetch_local=True)
        for ref in done:
            self._settle_head(heads[ref])
        now = time.monotonic()
        for actor in list(self.actors):
            if actor.calls and actor.calls[0][0] >= 0 and now >= self._deadline(actor):
                index = actor.calls[0][0]
                budget = self.budgets.get(index, self.budget_s)
                self._replace(actor, Outcome(error_class="TimeBudgetExceeded",
                                             message=f"gave up after {budget:g} s: the worker was stopped"))

    def _deadline(self, actor: _Actor) -> float:
        index = actor.calls[0][0]
        if index < 0 or self.budget_s <= 0:
            return float("inf")
        return actor.head_since + self.budgets.get(index, self.budget_s)

    def _settle_head(self, actor: _Actor) -> None:
        index, ref = actor.calls[0]
        try:
            value = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:  # died more often than it may restart, or at start
            if index < 0:
                self._replace(actor, None, f"the worker could not start: {_first_line(exc)}")
            else:
                self._replace(actor, Outcome(error_class="WorkerCrashed", message="the worker process died "
                                             f"({RETRIES + 1} times) while processing this document"))
            return
        except self.ray.exceptions.RayError as exc:  # the result could not come back: that document's failure
            value = Outcome(error_class=type(exc).__name__, message=_first_line(exc)[:500])
        actor.calls.popleft()
        actor.head_since = time.monotonic()
        if index < 0:
            self.dead_at_start = 0
            return
        if value.error_class == "MemoryBudgetExceeded":  # its heap may stay grown: a fresh actor takes the rest
            self._replace(actor, None)
            if actor.took_any:  # the cap counts what earlier calls left behind: the document's own try is on a fresh one
                self.ready.appendleft(index)
                self._dispatch()
                return
        actor.took_any = True
        self._record(index, value)

    def _record(self, index: int, outcome: Outcome) -> None:
        self.items.pop(index, None)
        self.budgets.pop(index, None)
        self.outcomes[index] = outcome

    def _replace(self, actor: _Actor, outcome: Outcome | None, failed_start: str | None = None) -> None:
        """Kill the actor; its current document gets `outcome` (when given), the ones behind it go back to the front
        of the queue for the others and for the fresh actor started in its place."""
        self.ray.kill(actor.handle, no_restart=True)
        self.actors.remove(actor)
        calls = list(actor.calls)
        if outcome is not None and calls and calls[0][0] >= 0:
            self._record(calls.pop(0)[0], outcome)
        self.ready.extendleft(reversed([index for index, _ in calls if index >= 0]))
        if failed_start is not None:
            self.dead_at_start += 1
            if self.dead_at_start >= STARTS_BEFORE_GIVING_UP:
                raise RuntimeError(f"{self.dead_at_start} Ray workers in a row failed to start: {failed_start}")
        self.actors.append(self._start())
        self._dispatch()


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
