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
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
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
    workers = workers or default_workers()
    if workers == 1 or len(items) < inline_below:
        return [_call(function, item, budget_s) for item in items]
    chunks = [list(items[start : start + chunk]) for start in range(0, len(items), chunk)]
    results: list[list[Outcome] | None] = [None] * len(chunks)
    with _pool(workers, preload) as pool:
        futures = [pool.submit(_call_chunk, function, chunk, budget_s) for chunk in chunks]
        for index, future in enumerate(futures):
            try:
                results[index] = future.result()
            except BrokenProcessPool:
                results[index] = None  # a worker died (e.g. a parser crash): redo this chunk one by one below
    for index, chunk in enumerate(chunks):
        if results[index] is None:
            results[index] = [_isolated(function, item, budget_s, preload) for item in chunk]
    return [outcome for chunk_results in results for outcome in chunk_results]


def _pool(workers: int, preload: Sequence[str]) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


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
