"""Run a per-document function over many documents on every core, each call with a time budget.

Extraction is the expensive step and a few pages in a million are pathological (deep nesting,
megabyte lines) and can stall a parser for minutes, so each call gets a budget (SIGALRM in the
worker) and a call that overruns, raises or even kills its worker process costs only its own
document. Workers come from a forkserver, so they start from a clean process (not a fork of a
Dagster process with its threads) with the extraction modules already imported.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import chain, islice
from multiprocessing import forkserver
from typing import Any

INLINE_BELOW = 64  # fewer documents than this: a pool costs more than it saves
CHUNK = 16


class TimeBudgetExceeded(Exception):
    """A document took longer than its budget."""


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
                  chunk: int = CHUNK) -> list[Outcome]:
    """`function(item)` for every item, in order; failures come back as Outcomes, never as exceptions."""
    return list(map_stream(function, items, budget_s, workers, preload, inline_below, chunk))


def map_stream(function: Callable[[Any], Any], items: Iterable[Any], budget_s: float, workers: int | None = None,
               preload: Sequence[str] = (), inline_below: int = INLINE_BELOW, chunk: int = CHUNK,
               chunks_ahead: int | None = None) -> Iterator[Outcome]:
    """`map_documents` over items read lazily, outcomes yielded in order as they are ready.

    Items are handed to the pool while the caller is still producing them (reading an archive,
    fetching a portal), at most `chunks_ahead` chunks in flight, so reading overlaps the work and
    only a few chunks of payloads are ever in memory."""
    workers = workers or default_workers()
    iterator = iter(items)
    head = list(islice(iterator, inline_below))
    if workers == 1 or len(head) < inline_below:
        for item in chain(head, iterator):
            yield _call(function, item, budget_s)
        return
    with _StreamingPool(function, budget_s, workers, preload) as pool:
        in_flight: deque[tuple[list[Any], Future]] = deque()
        for batch in _batched(chain(head, iterator), chunk):
            in_flight.append((batch, pool.submit(batch)))
            while len(in_flight) >= (chunks_ahead or 4 * workers) or (in_flight and in_flight[0][1].done()):
                yield from pool.outcomes(*in_flight.popleft(), in_flight)
        while in_flight:
            yield from pool.outcomes(*in_flight.popleft(), in_flight)


class _StreamingPool:
    """A process pool that replaces itself when a worker dies, re-running the lost chunk one item at a time."""

    def __init__(self, function: Callable[[Any], Any], budget_s: float, workers: int, preload: Sequence[str]):
        self.function, self.budget_s, self.workers, self.preload = function, budget_s, workers, preload
        self.pool = _pool(workers, preload)

    def __enter__(self) -> _StreamingPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, batch: list[Any]) -> Future:
        return self.pool.submit(_call_chunk, self.function, batch, self.budget_s)

    def outcomes(self, batch: list[Any], future: Future, in_flight: deque[tuple[list[Any], Future]]) -> list[Outcome]:
        try:
            return future.result()
        except BrokenProcessPool:  # a worker died (e.g. a parser crash): find the document that did it
            self._replace(in_flight)
            return [_isolated(self.function, item, self.budget_s, self.preload) for item in batch]

    def _replace(self, in_flight: deque[tuple[list[Any], Future]]) -> None:
        """A broken pool fails every chunk still in it: start a fresh one and resend them."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = _pool(self.workers, self.preload)
        for index, (batch, _) in enumerate(in_flight):
            in_flight[index] = (batch, self.submit(batch))


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def start_forkserver(preload: Sequence[str]) -> None:
    """Start the process that workers are forked from, importing `preload` in it, now rather than at the
    first pool: a command can do this first and let it run while it imports the rest of itself."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    forkserver.ensure_running()


def _pool(workers: int, preload: Sequence[str]) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=exit_with_parent)


def exit_with_parent() -> None:
    """Pool initializer: end this process when the process that started it dies.

    A pool's process waits for tasks on a queue whose write end it holds itself, so it never sees its
    parent go: a parent killed mid-run (SIGKILL, OOM) would leave it, and through it the forkserver, running
    for good. The parent's sentinel, a pipe the parent holds open, reads end-of-file when it dies."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_when_gone, args=(parent,), name="exit-with-parent", daemon=True).start()


def _exit_when_gone(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(1)


def _isolated(function: Callable[[Any], Any], item: Any, budget_s: float, preload: Sequence[str]) -> Outcome:
    """One item in a pool of its own, so that a crash is pinned on the document that caused it."""
    with _pool(1, preload) as pool:
        try:
            return pool.submit(_call, function, item, budget_s).result()
        except BrokenProcessPool:
            return Outcome(error_class="WorkerCrashed", message="the worker process died while processing this document")


def _call_chunk(function: Callable[[Any], Any], chunk: list[Any], budget_s: float) -> list[Outcome]:
    return [_call(function, item, budget_s) for item in chunk]


def _call(function: Callable[[Any], Any], item: Any, budget_s: float) -> Outcome:
    try:
        with _time_budget(budget_s):
            return Outcome(value=function(item))
    except TimeBudgetExceeded:
        return Outcome(error_class="TimeBudgetExceeded", message=f"gave up after {budget_s:g} s")
    except Exception as exc:  # one document's failure is data, not a crash of the batch
        return Outcome(error_class=type(exc).__name__, message=" ".join(str(exc).split())[:500] or type(exc).__name__)


class _time_budget:
    """SIGALRM-based limit; only possible in a process's main thread, elsewhere the call runs unbounded."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = seconds > 0 and threading.current_thread() is threading.main_thread()

    def __enter__(self):
        if self.armed:
            self.previous = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc_info):
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False

    @staticmethod
    def _expire(signum, frame):
        raise TimeBudgetExceeded()
