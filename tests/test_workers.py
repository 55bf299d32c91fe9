"""The per-document pool: order kept, failures as data, a time budget per call, a crash pinned on its document."""

import os
import time

from moisson.workers import INLINE_BELOW, map_documents, map_stream
from orphans import processes_left_after_kill


def square_or_fail(item):
    if item == "boom":
        raise ValueError("bad input")
    if item == "slow":
        time.sleep(30)
    if item == "crash":
        os._exit(3)  # what a segfaulting parser does to its worker
    return item * item


def test_inline_calls_keep_order_and_turn_errors_and_overruns_into_outcomes():
    outcomes = map_documents(square_or_fail, [2, "boom", 3, "slow"], budget_s=0.5, workers=1)
    assert [o.value for o in outcomes] == [4, None, 9, None]
    assert (outcomes[1].error_class, outcomes[1].message) == ("ValueError", "bad input")
    assert outcomes[3].error_class == "TimeBudgetExceeded"


def test_pool_keeps_order_and_pins_a_crash_on_the_document_that_caused_it():
    items = list(range(INLINE_BELOW)) + ["crash", "slow", "boom", 7]
    outcomes = map_documents(square_or_fail, items, budget_s=1.0, workers=2)
    assert [o.value for o in outcomes[:INLINE_BELOW]] == [i * i for i in range(INLINE_BELOW)]
    assert [o.error_class for o in outcomes[INLINE_BELOW:]] == ["WorkerCrashed", "TimeBudgetExceeded", "ValueError", None]
    assert outcomes[-1].value == 49


def test_stream_reads_items_lazily_keeps_order_and_survives_a_crash_mid_stream():
    produced = []

    def items():
        for n in range(200):
            produced.append(n)
            yield "crash" if n == 150 else n

    stream = map_stream(square_or_fail, items(), budget_s=5.0, workers=2, chunk=4, chunks_ahead=3)
    first = next(stream)
    assert first.value == 0
    assert len(produced) < 200  # the pool started before the input was read to its end
    rest = list(stream)
    assert [o.value for o in rest[:149]] == [n * n for n in range(1, 150)]
    assert rest[149].error_class == "WorkerCrashed"
    assert [o.value for o in rest[150:]] == [n * n for n in range(151, 200)]


POOL_THEN_WAIT = """
import time
from multiprocessing import forkserver
from moisson import workers
pool = workers._pool(2, [])
list(pool.map(abs, [1, 2]))  # both workers up, their initializer run
print("PIDS", *pool._processes, forkserver._forkserver._forkserver_pid, flush=True)
time.sleep(600)
"""


def test_workers_and_the_forkserver_end_when_the_process_that_started_them_is_killed():
    """A run killed mid-way (SIGKILL, OOM) must not leave its workers, nor the forkserver, running for good."""
    started, left = processes_left_after_kill(POOL_THEN_WAIT)
    assert len(started) >= 2 and left == []
