"""The per-document pool: order kept, failures as data, a time budget per call, a crash pinned on its document."""

import os
import time

import lxml.html

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


# One element with a million attributes: libxml2 compares each new attribute with every one before it, so the
# parse runs for hours inside C code (120,000 took 36 s, and the cost grows with the square), where no signal
# handler runs. Built in the worker: 8 MB need not cross the pipe.
STUCK_IN_C = "a page whose parse never ends"


def parse_or_report(item):
    """What a worker does with each item: parse the pathological page, or say which process it is."""
    if item == STUCK_IN_C:
        page = "<html><body><div " + " ".join(f"a{n}" for n in range(1_000_000)) + ">x</div></body></html>"
        lxml.html.document_fromstring(page)
        return "parsed"
    return item, os.getpid()


def test_a_call_stuck_in_c_code_is_stopped_at_its_budget_and_its_worker_replaced():
    """Even a small input goes to a worker when there is a budget: only a worker can be stopped."""
    started = time.monotonic()
    outcomes = map_documents(parse_or_report, ["before", STUCK_IN_C, "after", "last"], budget_s=2, workers=1)
    elapsed = time.monotonic() - started
    assert [o.error_class for o in outcomes] == [None, "TimeBudgetExceeded", None, None]
    assert "2 s" in outcomes[1].message
    assert [o.value[0] for o in outcomes if o.ok] == ["before", "after", "last"]
    first_pid, later_pid = outcomes[0].value[1], outcomes[2].value[1]
    assert first_pid != later_pid and later_pid == outcomes[3].value[1]  # killed, replaced once, and on it went
    assert first_pid != os.getpid() and elapsed < 2 + 60  # a generous bound: the parse alone takes hours


def test_in_a_pool_a_stuck_call_costs_its_own_document_and_the_rest_keep_their_order():
    items = [f"page {n}" for n in range(2 * INLINE_BELOW)]
    items[5] = items[INLINE_BELOW + 3] = STUCK_IN_C
    started = time.monotonic()
    outcomes = list(map_stream(parse_or_report, items, budget_s=2, workers=2, chunks_ahead=8))
    elapsed = time.monotonic() - started
    stuck = [n for n, o in enumerate(outcomes) if not o.ok]
    assert stuck == [5, INLINE_BELOW + 3]
    assert all(outcomes[n].error_class == "TimeBudgetExceeded" for n in stuck)
    assert [o.value[0] for o in outcomes if o.ok] == [item for item in items if item != STUCK_IN_C]
    assert len({o.value[1] for o in outcomes if o.ok}) >= 3  # two workers, and at least one replacement
    assert elapsed < 2 * 2 + 90


def hoard(item):
    """Hold 400 MB for a while (what a tree of a million elements costs), or say which process this is."""
    if item == "hoard":
        held = b"x" * (400 * 2**20)
        time.sleep(30)
        return len(held)
    return item, os.getpid()


def test_a_call_that_grows_its_worker_past_the_memory_budget_is_stopped():
    started = time.monotonic()
    outcomes = map_documents(hoard, ["before", "hoard", "after"], budget_s=60, workers=1, memory_mb=200)
    assert [o.error_class for o in outcomes] == [None, "MemoryBudgetExceeded", None]
    assert "200 MB" in outcomes[1].message
    assert outcomes[0].value[1] != outcomes[2].value[1]  # a fresh worker, not one with 400 MB still held
    assert time.monotonic() - started < 25  # stopped, not waited for: the call alone lasts 30 s


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
pool = workers._SupervisedPool(abs, 60, 2, [], 2)
list(pool.map([-1, -2, -3, -4], 8))  # both workers up and working
print("PIDS", *(w.process.pid for w in pool.workers), forkserver._forkserver._forkserver_pid, flush=True)
time.sleep(600)
"""


def test_workers_and_the_forkserver_end_when_the_process_that_started_them_is_killed():
    """A run killed mid-way (SIGKILL, OOM) must not leave its workers, nor the forkserver, running for good."""
    started, left = processes_left_after_kill(POOL_THEN_WAIT)
    assert len(started) >= 2 and left == []


def nap(item):
    kind, seconds = item
    time.sleep(seconds)
    return kind


def test_an_item_with_its_own_budget_may_take_longer_and_the_rest_keep_theirs():
    """A scanned PDF gets minutes to be OCRed where a page gets seconds: the budget is the item's, not the pool's."""
    budgets = {"scan": 30.0, "page": 1.5}
    outcomes = map_documents(nap, [("scan", 3), ("page", 3), ("page", 0)], budget_s=1.5, workers=2,
                             budget_of=lambda item: budgets[item[0]])
    assert outcomes[0].value == "scan"
    assert outcomes[1].error_class == "TimeBudgetExceeded" and "1.5 s" in outcomes[1].message
    assert outcomes[2].value == "page"
