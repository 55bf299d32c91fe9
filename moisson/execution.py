"""Which engine runs the per-document work: the choice made once, from `policy.execution`, at the call sites.

The local process pool (moisson/workers.py) is the default and is returned as it is, so `engine: local` runs
exactly today's code; `engine: ray` returns the Ray engine (moisson/ray_engine.py) with the pool's signature,
its cluster settings bound. Ray is imported only when it is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from moisson import workers
from moisson.config import ExecutionPolicy
from moisson.workers import Outcome

MapStream = Callable[..., Iterator[Outcome]]


def map_stream_for(execution: ExecutionPolicy | None) -> MapStream:
    """A function with `moisson.workers.map_stream`'s signature and contract, running on the chosen engine."""
    if execution is None or execution.engine == "local":
        return _at_most(workers.map_stream, execution and execution.num_cpus)
    from moisson import ray_engine

    return partial(ray_engine.map_stream, address=execution.address, num_cpus=execution.num_cpus)


def map_documents_for(execution: ExecutionPolicy | None) -> Callable[..., list[Outcome]]:
    """`moisson.workers.map_documents` on the chosen engine: every outcome, in order, as a list."""
    if execution is None or execution.engine == "local":
        return _at_most(workers.map_documents, execution and execution.num_cpus)
    stream = map_stream_for(execution)

    def map_documents(function: Callable[[Any], Any], items: Sequence[Any], budget_s: float, workers: int | None = None,
                      preload: Sequence[str] = (), **options: Any) -> list[Outcome]:
        return list(stream(function, items, budget_s, workers, preload, **options))

    return map_documents


def _at_most(map_function: Callable[..., Any], cpus: int | None) -> Callable[..., Any]:
    """The local pool's function with at most `cpus` workers (`policy.execution.num_cpus`; None: as it is)."""
    if cpus is None:
        return map_function

    def on_fewer_cores(function: Callable[[Any], Any], items: Any, budget_s: float, workers: int | None = None,
                       *args: Any, **options: Any) -> Any:
        return map_function(function, items, budget_s, min(workers or cpus, cpus), *args, **options)

    return on_fewer_cores
