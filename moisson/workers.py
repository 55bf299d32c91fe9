"""Run a per-document function over many documents on every core, each call with a time budget that holds.

Extraction is the expensive step and a few pages in a million are pathological (a hundred thousand
attributes on one element, millions of tags) and can stall a parser for minutes. A budget can only be
enforced from outside the call: a signal in the worker is not handled while libxml2 runs, and when it
is, the Python code around the parser (trafilatura) catches the exception and parses again. So the
parent process watches: each worker tells it which document it starts and when, and a worker still on
one document when its budget is spent is killed (SIGKILL) and replaced; that document's outcome is
`TimeBudgetExceeded`, the documents queued behind it go to another worker. A call that grows its
worker's resident memory by more than its memory budget (read from /proc ten times a second) is stopped
the same way (`MemoryBudgetExceeded`). A call that raises, or that kills its worker (a parser crash),
likewise costs only its own document (`WorkerCrashed`).

Workers come from a forkserver, so they start from a clean process (not a fork of a Dagster process with
its threads) with the extraction modules already imported, and a replacement costs a fork, not the
imports. Each worker holds a few documents, the one it works on and the next ones, so it never waits for
the parent between documents (those behind a stuck one go to another worker once it is stopped); the
rest wait in the parent, read ahead of the workers up to a bound, and outcomes come back in input order. Without a budget, a small
input is processed in the calling process (a pool would cost more than it saves); with one, even a
single document goes to a worker, as only a worker can be stopped.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import pickle
import select
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

INLINE_BELOW = 64  # without a budget, fewer documents than this: a pool costs more than it saves
# documents a worker holds: the one it works on and the next ones, so it never waits for the parent, even when
# the parent's threads are not scheduled for a while on a loaded machine (make bench: with 2, pages/s were a
# quarter lower than the former pool's in runs taken in turn; with 8, the same); behind a stuck one, they wait
# until it is stopped, then go to another worker
CHUNK = 8
# documents in flight (read, outcome not yet yielded) per worker, by default: room for the others to go on
# while one page takes seconds, as the outcomes come back in order (as many as the former pool's 4 chunks of 16)
AHEAD_PER_WORKER = 64
STARTS_BEFORE_GIVING_UP = 3  # workers in a row that die before taking a document: the pool itself is broken
MEMORY_BUDGET_MB = 1024  # with a time budget, how much a call may grow its worker's resident memory
MEMORY_CHECK_EVERY_S = 0.1  # how often the resident memory of a worker on a call is read, when it is watched
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
PIPE_BYTES = 2**20


class TimeBudgetExceeded(Exception):
    """A document took longer than its budget (the outcome's error_class names this class)."""


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error_class: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_class is None


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def map_documents(function: Callable[[Any], Any], items: Sequence[Any], budget_s: float,
                  workers: int | None = None, preload: Sequence[str] = (), inline_below: int = INLINE_BELOW,
                  chunk: int = CHUNK, memory_mb: float = MEMORY_BUDGET_MB,
                  budget_of: Callable[[Any], float] | None = None) -> list[Outcome]:
    """`function(item)` for every item, in order; failures come back as Outcomes, never as exceptions."""
    return list(map_stream(function, items, budget_s, workers, preload, inline_below, chunk, memory_mb=memory_mb,
                           budget_of=budget_of))


def map_stream(function: Callable[[Any], Any], items: Iterable[Any], budget_s: float, workers: int | None = None,
               preload: Sequence[str] = (), inline_below: int = INLINE_BELOW, chunk: int = CHUNK,
               chunks_ahead: int | None = None, memory_mb: float = MEMORY_BUDGET_MB,
               budget_of: Callable[[Any], float] | None = None) -> Iterator[Outcome]:
    """`map_documents` over items read lazily, outcomes yielded in order as they are ready.

    Items are handed to the workers while the caller is still producing them (reading an archive,
    fetching a portal), so reading overlaps the work; at most `chunks_ahead` × `chunk` items are in flight
    (default AHEAD_PER_WORKER per worker), so only those payloads are ever in memory. A worker holds `chunk`
    items at a time. `budget_s` <= 0: no budget, of time or memory; otherwise a call may also grow its worker's
    resident memory by `memory_mb` at most (<= 0: no memory budget). `budget_of(item)`, when given, is an item's own
    time budget (a scanned PDF to OCR needs minutes where a web page gets seconds); `budget_s` the rest's."""
    workers = workers or default_workers()
    iterator = iter(items)
    head = list(islice(iterator, inline_below if budget_s <= 0 else workers))
    if not head:
        return
    if budget_s <= 0 and (workers == 1 or len(head) < inline_below):
        for item in chain(head, iterator):
            yield outcome_of(function, item)
        return
    ahead = (chunks_ahead or -(-AHEAD_PER_WORKER * workers // max(chunk, 1))) * max(chunk, 1)
    memory_bytes = memory_mb * 2**20 if budget_s > 0 and memory_mb > 0 and _resident_bytes(os.getpid()) else 0
    with _SupervisedPool(function, budget_s, min(workers, len(head)), preload, max(chunk, 1), memory_bytes,
                         budget_of) as pool:
        yield from pool.map(chain(head, iterator), ahead)


def start_forkserver(preload: Sequence[str]) -> None:
    """Start the process that workers are forked from, importing `preload` in it, now rather than at the
    first pool: a command can do this first and let it run while it imports the rest of itself."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    forkserver.ensure_running()


def exit_with_parent() -> None:
    """In a worker: end this process when the process that started it dies.

    A worker waits for work on a pipe, and a pool's process on a queue whose write end it holds itself, so
    neither sees its parent go: a parent killed mid-run (SIGKILL, OOM) would leave it, and through it the
    forkserver, running for good. The parent's sentinel, a pipe the parent holds open, reads end-of-file
    when it dies. (Also a ProcessPoolExecutor initializer: quality/suite_process.py.)"""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_when_gone, args=(parent,), name="exit-with-parent", daemon=True).start()


def _exit_when_gone(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(1)


def outcome_of(function: Callable[[Any], Any], item: Any) -> Outcome:
    """`function(item)` as an Outcome: what a worker of either engine sends back for one document."""
    try:
        return Outcome(value=function(item))
    except Exception as exc:  # one document's failure is data, not a crash of the batch
        return Outcome(error_class=type(exc).__name__, message=" ".join(str(exc).split())[:500] or type(exc).__name__)


def _serve(function: Callable[[Any], Any], tasks: Connection, results: Connection) -> None:
    """A worker's life: take an item, say that it starts (and when), work, send the outcome; until the parent
    closes the task pipe. The start message is what lets the parent time the call."""
    exit_with_parent()
    while True:
        try:
            message = tasks.recv_bytes()
        except (EOFError, OSError):
            return
        index = int.from_bytes(message[:8], "little")
        # CLOCK_MONOTONIC: one clock for every process; and the resident memory the call starts from
        results.send(("start", index, (time.monotonic(), _resident_bytes(os.getpid()))))
        try:
            outcome = outcome_of(function, pickle.loads(message[8:]))
        except Exception as exc:  # an item that does not unpickle here
            outcome = Outcome(error_class=type(exc).__name__,
                              message=f"the item could not be read by the worker: {exc}"[:500])
        try:
            results.send(("done", index, outcome))
        except Exception as exc:  # a result that does not pickle: the pipe is untouched, say why instead
            results.send(("done", index, Outcome(error_class=type(exc).__name__,
                                                 message=f"the result could not be sent back: {exc}"[:500])))


class OrderedOutcomes:
    """What both engines share (this module's pool and moisson/ray_engine.py's actors): items numbered in input
    order, the ones read and not yet handed to a worker, the outcomes not yet yielded, and the stream that yields
    them in order while reading the input only `ahead` items past the last one yielded. An engine says how an item
    is admitted (`_admit`) and how to wait for an outcome (`_wait_for`); `_settle` and `_requeue` are how its
    workers' results and losses come back. `changed` guards the shared state (the local pool's supervisor thread
    writes it; re-entrant, so a settle inside a held lock is fine)."""

    def __init__(self, budget_s: float, budget_of: Callable[[Any], float] | None):
        self.budget_s, self.budget_of = budget_s, budget_of
        self.changed = threading.Condition()
        self.pending: dict[int, Any] = {}  # index -> what goes to a worker, until its outcome is in
        self.budgets: dict[int, float] = {}  # index -> its own time budget, when it has one
        self.ready: deque[int] = deque()  # items read and not yet handed to a worker, oldest first
        self.outcomes: dict[int, Outcome] = {}

    def map(self, items: Iterable[Any], ahead: int) -> Iterator[Outcome]:
        """The outcomes of `items`, in input order, at most `ahead` items read past the last one yielded."""
        source, handed, yielded, exhausted = iter(items), 0, 0, False
        while True:
            for outcome in self._take(yielded):
                yield outcome
                yielded += 1
            if not exhausted and handed - yielded < ahead:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    continue
                self._admit(handed, item)
                handed += 1
                continue
            if exhausted and yielded == handed:
                return
            self._wait_for(yielded)

    def _take(self, start: int) -> list[Outcome]:
        """The outcomes ready from index `start` on, in order, without gaps."""
        ready = []
        with self.changed:
            while (outcome := self.outcomes.pop(start + len(ready), None)) is not None:
                ready.append(outcome)
        return ready

    def _admit(self, index: int, item: Any) -> None:
        """Item `index` is read: it waits for a worker (an engine may encode it, or hand it over at once)."""
        with self.changed:
            self.pending[index] = item
            if self.budget_of is not None:
                self.budgets[index] = self.budget_of(item)
            self.ready.append(index)

    def _wait_for(self, index: int) -> None:
        """Block until item `index`'s outcome may be in (or a while passed): the engine works meanwhile."""
        raise NotImplementedError

    def budget(self, index: int) -> float:
        return self.budgets.get(index, self.budget_s)

    def _settle(self, index: int, outcome: Outcome) -> None:
        with self.changed:
            self.pending.pop(index, None)
            self.budgets.pop(index, None)
            self.outcomes[index] = outcome
            self.changed.notify_all()

    def _requeue(self, indexes: Iterable[int]) -> None:
        """Items a worker held and did not finish (it died or was stopped): first in line again, in input order."""
        with self.changed:
            self.ready.extendleft(reversed(list(indexes)))


class _Worker:
    """The parent's handle on one worker process: its pipes, the items handed to it and which one it is on.

    Items are written to the worker by a thread of its own: a write of a large payload blocks until the
    worker reads it, and neither the supervisor nor the other workers may wait for that."""

    def __init__(self, context, function: Callable[[Any], Any]):
        task_reader, self.tasks = context.Pipe(duplex=False)
        self.results, result_writer = context.Pipe(duplex=False)
        for pipe in (self.tasks, self.results):
            _widen(pipe)
        self._said = select.poll()  # Connection.poll() builds a selector per call: a tenth of a ms per message
        self._said.register(self.results.fileno(), select.POLLIN)
        self.process = context.Process(target=_serve, args=(function, task_reader, result_writer), daemon=True,
                                       name="moisson-worker")
        try:
            self.process.start()
        finally:  # the worker has its own copies; the parent's would hide the worker's death from the pipes
            task_reader.close()
            result_writer.close()
        self.assigned: deque[int] = deque()  # items handed over, outcome not yet back; the first may be running
        self.running: int | None = None
        self.started_at = 0.0
        self.budget_s = 0.0  # the time budget of the item it is on
        self.resident_at_start = 0
        self.took_any = False
        self._outbox: deque[bytes | None] = deque()
        self._ready = threading.Semaphore(0)
        self._feeder = threading.Thread(target=self._feed, name="moisson-worker-feeder", daemon=True)
        self._feeder.start()

    def has_said_more(self) -> bool:
        """Is there a message (or the end of the pipe) to read from the worker?"""
        return bool(self._said.poll(0))

    def hand(self, index: int, message: bytes) -> None:
        self.assigned.append(index)
        self._outbox.append(message)
        self._ready.release()

    def _feed(self) -> None:
        while True:
            self._ready.acquire()
            message = self._outbox.popleft()
            if message is None:
                return
            try:
                self.tasks.send_bytes(message)
            except (OSError, ValueError):  # the worker is gone: the supervisor hands its items to another
                return

    def stop(self, kill: bool) -> None:
        """Let the worker finish and exit (it reads end-of-file once idle), or kill it now."""
        if kill and self.process.is_alive():
            self.process.kill()  # a write the feeder is blocked in then fails at once
        self._outbox.append(None)
        self._ready.release()
        self._feeder.join(None if kill else 5)
        if self._feeder.is_alive():  # still writing to a worker that does not read: end both
            self.process.kill()
            self._feeder.join()
        self.tasks.close()
        self.process.join(None if kill else 5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.results.close()


class _SupervisedPool(OrderedOutcomes):
    """Worker processes, a supervisor thread that times them and replaces the ones that die or overrun,
    and the ordered stream of outcomes.

    The caller's thread reads the input into a queue of items ready to go, up to the in-flight bound; the
    supervisor thread reads what the workers say and hands each worker its next items from that queue, so a
    worker is timed (and killed), and fed, even while the caller is busy elsewhere: reading a slow archive,
    writing a row group of the stage file. Shared state is guarded by one condition."""

    def __init__(self, function: Callable[[Any], Any], budget_s: float, workers: int, preload: Sequence[str],
                 per_worker: int, memory_bytes: float = 0, budget_of: Callable[[Any], float] | None = None):
        super().__init__(budget_s, budget_of)  # pending: index -> the pickled item
        self.function, self.per_worker, self.memory_bytes = function, per_worker, memory_bytes
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(list(preload))
        self.failure: BaseException | None = None
        self.closing = False
        self.dead_at_start = 0
        self.workers: list[_Worker] = []
        try:
            for _ in range(workers):
                self.workers.append(_Worker(self.context, function))
        except BaseException:
            self._close_workers(kill=True)
            raise
        self._wake_reader, self._wake_writer = os.pipe()  # wakes the supervisor when the pool closes
        self.selector = selectors.DefaultSelector()  # kept, not rebuilt at each wake: the supervisor wakes per document
        self.selector.register(self._wake_reader, selectors.EVENT_READ)
        for worker in self.workers:
            self._watch(worker)
        self.next_memory_check = 0.0
        self.supervisor = threading.Thread(target=self._supervise, name="moisson-worker-supervisor", daemon=True)
        self.supervisor.start()

    def __enter__(self) -> _SupervisedPool:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        with self.changed:
            self.closing = True
        os.write(self._wake_writer, b"x")
        self.supervisor.join()
        self.selector.close()
        self._close_workers(kill=exc_type is not None or bool(self.pending))
        os.close(self._wake_reader)
        os.close(self._wake_writer)

    def _close_workers(self, kill: bool) -> None:
        for worker in self.workers:
            worker.stop(kill)

    # the caller's side

    def _wait_for(self, index: int) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.failure is not None or index in self.outcomes, timeout=5)
            if self.failure is not None:
                raise RuntimeError("the worker pool broke down") from self.failure

    def _admit(self, index: int, item: Any) -> None:
        try:
            message = index.to_bytes(8, "little") + bytes(ForkingPickler.dumps(item, pickle.HIGHEST_PROTOCOL))
        except Exception as exc:  # an item that cannot be sent is that item's failure
            self._settle(index, Outcome(error_class=type(exc).__name__, message=f"cannot be sent to a worker: {exc}"[:500]))
            return
        with self.changed:
            if self.budget_of is not None:
                self.budgets[index] = self.budget_of(item)
            self.pending[index] = message
            self.ready.append(index)
            self._dispatch()

    def _dispatch(self) -> None:
        """Ready items to the workers with room, the least busy first. (Caller holds the condition.)"""
        while self.ready:
            worker = min(self.workers, key=lambda w: len(w.assigned), default=None)
            if worker is None or len(worker.assigned) >= self.per_worker:
                return
            index = self.ready.popleft()
            worker.hand(index, self.pending[index])

    # the supervisor's side

    def _supervise(self) -> None:
        try:
            while not self._watch_once():
                pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
            with self.changed:
                self.failure = exc
                self.changed.notify_all()

    def _watch(self, worker: _Worker) -> None:
        self.selector.register(worker.results, selectors.EVENT_READ, worker)
        self.selector.register(worker.process.sentinel, selectors.EVENT_READ, worker)

    def _watch_once(self) -> bool:
        """Wait for a worker to speak or die, or for the next deadline; act on it. True once the pool closes."""
        with self.changed:
            if self.closing:
                return True
        deadlines = [worker.started_at + worker.budget_s for worker in self.workers if worker.running is not None]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines and self.budget_s > 0 else None
        if deadlines and self.memory_bytes:
            timeout = max(0.0, min(timeout if timeout is not None else MEMORY_CHECK_EVERY_S,
                                   self.next_memory_check - time.monotonic()))
        woken: dict[_Worker, bool] = {}  # worker -> has it died
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                os.read(self._wake_reader, 64)
            else:
                woken[key.data] = woken.get(key.data, False) or key.fileobj == key.data.process.sentinel
        for worker, died in woken.items():
            self._read(worker)
            if died:
                ended = _how_it_ended(worker.process.exitcode)
                self._replace(worker, "WorkerCrashed", f"the worker process died ({ended}) while processing this document")
        check_memory = bool(self.memory_bytes) and time.monotonic() >= self.next_memory_check
        if check_memory:
            self.next_memory_check = time.monotonic() + MEMORY_CHECK_EVERY_S
        for worker in list(self.workers):
            if (overrun := self._overrun(worker, check_memory)) is not None:
                worker.process.kill()
                worker.process.join()
                self._read(worker)  # it may have finished just in time
                self._replace(worker, *overrun)
        return False

    def _overrun(self, worker: _Worker, check_memory: bool) -> tuple[str, str] | None:
        """(error class, message) if the call the worker is on has spent its time or memory budget."""
        if worker.running is None or self.budget_s <= 0:
            return None
        if time.monotonic() >= worker.started_at + worker.budget_s:
            return "TimeBudgetExceeded", f"gave up after {worker.budget_s:g} s: the worker was stopped"
        if check_memory and _resident_bytes(worker.process.pid) - worker.resident_at_start > self.memory_bytes:
            return ("MemoryBudgetExceeded", f"the call grew its worker's memory by more than "
                    f"{self.memory_bytes / 2**20:g} MB: the worker was stopped")
        return None

    def _read(self, worker: _Worker) -> None:
        """Everything the worker has said so far."""
        try:
            while worker.has_said_more():
                kind, index, detail = worker.results.recv()
                with self.changed:
                    if kind == "start":
                        worker.running, worker.took_any = index, True
                        worker.started_at, worker.resident_at_start = detail
                        worker.budget_s = self.budget(index)
                    else:
                        worker.assigned.remove(index)
                        worker.running = None
                        self._settle(index, detail)
                        self._dispatch()
        except (EOFError, OSError):  # the worker is gone; what it had not said is settled by _replace
            pass

    def _replace(self, worker: _Worker, error_class: str, message: str) -> None:
        """A worker died or was killed: its current document fails with `error_class`, the ones queued behind
        it go back to the front of the ready queue, for the new worker or another."""
        self.selector.unregister(worker.results)
        self.selector.unregister(worker.process.sentinel)
        with self.changed:
            self.workers.remove(worker)
            if worker.running is not None:
                worker.assigned.remove(worker.running)
                self._settle(worker.running, Outcome(error_class=error_class, message=message))
            self._requeue(worker.assigned)
            self.dead_at_start = 0 if worker.took_any else self.dead_at_start + 1
        worker.stop(kill=True)
        if self.dead_at_start >= STARTS_BEFORE_GIVING_UP:
            raise RuntimeError(f"{self.dead_at_start} worker processes in a row died before taking a document "
                               f"({_how_it_ended(worker.process.exitcode)})")
        fresh = _Worker(self.context, self.function)
        self._watch(fresh)
        with self.changed:
            self.workers.append(fresh)
            self._dispatch()


def _widen(pipe: Connection) -> None:
    """Let a pipe hold a whole page (1 MiB, Linux's default cap, instead of 64 KiB): a page written in one go is
    in the pipe before its worker asks for it, where a page written in pieces makes the worker wait for the
    parent's writing thread to get the interpreter back (up to 5 ms) between pieces."""
    try:
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (OSError, AttributeError):  # another system, or a lower cap: pieces it is
        pass


def _resident_bytes(pid: int | None) -> int:
    """A process's resident memory (0 where /proc cannot tell, and no memory budget is then held)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "still running"
    return f"signal {-exitcode}" if exitcode < 0 else f"exit code {exitcode}"
