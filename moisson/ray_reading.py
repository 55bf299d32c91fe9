"""Shards read on Ray: each shard of local archives or files is read by a Ray task, wherever Ray places it, and
its records stream back to the run in batches, in order.

Why: reading is decompressing and parsing archives (gzip, WARC, JSONL), work that grows with the input as the
extraction does; on one process it would cap a cluster at the speed of one core. A shard's read is a plain
function of its arguments (`sources.shards.read_shard`), so it runs in a task as it runs here.

Why the records come back to the run rather than each task writing its shard's stage file: the run writes the
stage files in its data directory (a local disk, or its local copy of an `s3://` one) and hands each new payload
to the per-document workers once; a task on another machine can reach neither. The batches travel through Ray's
object store (shared memory on one machine); a Ray streaming generator runs at most BACKPRESSURE batches ahead of
the run, and only the next `ahead` shards are read at once, so a 90,000-archive source is never all in flight.

What stays on the run's process: the shards of remote archives (fetched under per-host rate limits that one
process holds, sources/http.py) and of portals and OAI-PMH sources (their harvest state lives in the data
directory): `on_ray` says which. And every shard when the run joined its cluster through Ray Client (`ray://`),
which has no streaming generators (a driver on a cluster node, `address: auto`, reads on the cluster), or when
`policy.execution.read_shards_on_ray` says so: `auto`, the default, reads on Ray when it has more than one node.

Faults: a task that dies (its worker killed, its node lost), that fails, or whose node does not see the shard's
files (a cluster without the shared file system): the run reads that shard itself, from its start, and skips the
records it already has. A shard's read is deterministic, so nothing is lost or given twice, and an error the
shard's input really holds is raised here as a local read would raise it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from moisson.config import ExecutionPolicy, MoissonConfig
from moisson.layout import DataLayout
from sources.records import RawRecord, ReadFailure, ReadStats, SiteFileCapture
from sources.shards import Shard, read_shard

BATCH_ITEMS = 256  # records per batch, at most
BATCH_BYTES = 8 << 20  # payload bytes per batch, about: a batch of large pages is cut sooner
BACKPRESSURE = 4  # batches a task may produce before the run takes them
Item = RawRecord | SiteFileCapture | ReadFailure
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotHere:
    """What a task says when its node does not see a file of the shard: the run reads the shard itself."""

    path: str


def on_ray(shard: Shard) -> bool:
    """Shards of local files only (see the module docstring for why the others stay here)."""
    return bool(shard.paths) and not (shard.remote or shard.whole)


def read_in_task(config: MoissonConfig, source: str, shard: Shard, batch_items: int = BATCH_ITEMS) -> Iterator[Any]:
    """The task's body: the shard's items in batches, then its read statistics."""
    missing = next((path for path in shard.paths if not os.path.exists(path)), None)
    if missing is not None:
        yield NotHere(str(missing))
        return
    stats, batch, size = ReadStats(), [], 0
    for item in read_shard(config, source, shard, stats):
        batch.append(item)
        size += len(item.payload) if isinstance(item, RawRecord) else 0
        if len(batch) >= batch_items or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
    yield stats


class ShardReads:
    """The items of a source's shards, read on Ray where `on_ray` allows, here otherwise. `items(i)` is shard i's
    items, to be taken in shard order; it adds the shard's read statistics to `stats[i]` once it is exhausted."""

    def __init__(self, config: MoissonConfig, source: str, shards: Sequence[Shard], stats: Sequence[ReadStats],
                 execution: ExecutionPolicy, layout: DataLayout | None = None, batch_items: int = BATCH_ITEMS) -> None:
        self.config, self.source, self.shards, self.stats = config, source, list(shards), list(stats)
        self.layout = layout  # for the shards read here (a portal's catalogue and harvest state)
        self.execution, self.batch_items = execution, batch_items
        self.started: dict[int, Any] = {}  # shard index -> its task's generator of batch references, not taken yet
        self.submitted: set[int] = set()  # shard indexes whose task was started, taken or not
        self.ahead = 0  # shards read at once besides the one taken: the Ray's CPUs, known once it is started
        self.joined = self.here = False  # joined the Ray; read every shard here all the same
        self.task: Any = None

    def items(self, index: int) -> Iterator[Item]:
        shard = self.shards[index]
        if on_ray(shard) and not self.joined:
            self._join_ray()
        if not on_ray(shard) or self.here:
            return read_shard(self.config, self.source, shard, self.stats[index], self.layout)
        return self._from_task(index)

    def _from_task(self, index: int) -> Iterator[Item]:
        import ray

        self._start_through(index)
        batches, given = self.started.pop(index), 0
        try:
            for reference in batches:
                value = ray.get(reference)
                if isinstance(value, NotHere):
                    log.warning("shard %r of source %r: the Ray node does not see %s; read here", self.shards[index].key,
                                self.source, value.path)
                    break
                if isinstance(value, ReadStats):
                    self.stats[index].add(value)
                    return
                for item in value:
                    yield item
                    given += 1
        except ray.exceptions.RayError as error:
            log.warning("shard %r of source %r: its Ray task failed after %d records (%s); read here from its start, "
                        "the records already given skipped", self.shards[index].key, self.source, given,
                        str(error).splitlines()[0] if str(error) else type(error).__name__)
        yield from self._read_here(index, given)

    def _read_here(self, index: int, skip: int) -> Iterator[Item]:
        stats = ReadStats()
        yield from islice(read_shard(self.config, self.source, self.shards[index], stats), skip, None)
        self.stats[index].add(stats)

    def _read_here_on_this_ray(self, ray) -> bool:
        """Through Ray Client (`ray://`), which has no streaming generators; with `read_shards_on_ray: never`; or,
        with `auto`, on a Ray of one node, where a task reads no faster than the run and copies every record once
        more (bench/scale.py)."""
        if ray.util.client.ray.is_connected() or self.execution.read_shards_on_ray == "never":
            return True
        return self.execution.read_shards_on_ray == "auto" and sum(node["Alive"] for node in ray.nodes()) < 2

    def _start_through(self, index: int) -> None:
        """Start the tasks of this shard and of the next `ahead` ones, those not started yet."""
        for later in range(index, min(index + self.ahead + 1, len(self.shards))):
            if later not in self.submitted and on_ray(self.shards[later]):
                self.started[later] = self.task.remote(self.config, self.source, self.shards[later], self.batch_items)
                self.submitted.add(later)

    def _join_ray(self) -> None:
        import ray

        from moisson.ray_engine import ensure_ray

        self.ahead, self.joined = ensure_ray(self.execution.address, self.execution.num_cpus), True
        self.here = self._read_here_on_this_ray(ray)
        if self.here:
            return
        self.task = ray.remote(read_in_task).options(
            num_cpus=0,  # the per-document actors hold every CPU; reading is what feeds them
            max_retries=0,  # a failed task's shard is read here instead (see the module docstring)
            scheduling_strategy="SPREAD", num_returns="streaming",
            _generator_backpressure_num_objects=BACKPRESSURE)
