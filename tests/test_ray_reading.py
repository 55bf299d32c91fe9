"""Shards read on Ray (moisson/ray_reading.py): each local shard read by a Ray task gives exactly the items and
statistics a read here gives, in shard order, and a reading worker SIGKILLed mid-shard loses and doubles nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from moisson.config import ExecutionPolicy, load_config
from moisson.ray_reading import ShardReads, on_ray
from sources import ReadStats
from sources.records import RawRecord
from sources.shards import read_shard, source_shards
from test_ray_engine import no_raylet_left  # noqa: F401  (autouse: no Ray left behind)
from test_shards import SOURCE, project, third_archive

RAY = ExecutionPolicy(engine="ray", num_cpus=2, read_shards_on_ray="always")
TASK_TITLE = b"ray::read_in_task"  # the process title Ray gives a worker while it runs a reading task


def summary(items) -> list[tuple]:
    """What a read gives, comparable: each record's id, position and payload digest; each failure's text."""
    return [(item.id, item.position, item.content_sha256) if isinstance(item, RawRecord) else (type(item).__name__, str(item))
            for item in items]


def reads_here(config, shards) -> tuple[list[list[tuple]], list[str]]:
    stats = [ReadStats() for _ in shards]
    return [summary(read_shard(config, SOURCE, shard, stat)) for shard, stat in zip(shards, stats)], \
        [stat.to_json() for stat in stats]


def test_shards_read_on_ray_give_what_a_read_here_gives_in_order(tmp_path):
    sources = project(tmp_path)
    config = load_config(sources)
    shards = source_shards(config, SOURCE)
    assert len(shards) == 3 and all(on_ray(shard) for shard in shards)
    expected, expected_stats = reads_here(config, shards)

    stats = [ReadStats() for _ in shards]
    reads = ShardReads(config, SOURCE, shards, stats, RAY, batch_items=3)  # several batches per shard
    got = [summary(reads.items(index)) for index in range(len(shards))]
    assert got == expected and sum(map(len, got)) > 20
    assert [stat.to_json() for stat in stats] == expected_stats
    assert reads.submitted == {0, 1, 2} and not reads.started  # every shard went through its task


def test_on_a_ray_of_one_node_auto_reads_the_shards_here(tmp_path):
    """A task reads no faster than the run on the run's own machine, and copies each record once more."""
    sources = project(tmp_path)
    config = load_config(sources)
    shards = source_shards(config, SOURCE)
    expected, _ = reads_here(config, shards)
    reads = ShardReads(config, SOURCE, shards, [ReadStats() for _ in shards], ExecutionPolicy(engine="ray", num_cpus=2))
    assert [summary(reads.items(index)) for index in range(len(shards))] == expected
    assert reads.joined and reads.here and not reads.submitted


def reading_workers() -> list[int]:
    """The pids of the processes running a reading task now."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(TASK_TITLE):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_reading_worker_killed_mid_shard_loses_and_doubles_nothing(tmp_path, caplog):
    sources = project(tmp_path)
    third_archive(tmp_path / "archives" / "web-third.warc", [f"le quartier numéro {n}" for n in range(40)])
    config = load_config(sources)
    shards = [shard for shard in source_shards(config, SOURCE) if shard.key.endswith("web-third.warc")]
    expected, expected_stats = reads_here(config, shards)

    stats = [ReadStats()]
    items = ShardReads(config, SOURCE, shards, stats, RAY, batch_items=2).items(0)
    taken = [next(items) for _ in range(3)]  # the task runs, held a few batches ahead by Ray's backpressure
    deadline = time.monotonic() + 60
    while not (workers := reading_workers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers, "no process runs the reading task"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    rest = list(items)
    assert "its Ray task failed after" in caplog.text  # the shard was read again here, its first records skipped
    assert summary(taken + rest) == expected[0] and len(expected[0]) == 40
    assert [stat.to_json() for stat in stats] == expected_stats


def test_portal_and_remote_shards_stay_on_the_run(tmp_path):
    from sources.shards import Shard

    assert not on_ray(Shard("all", whole=True))
    assert not on_ray(Shard("remote/a.warc.gz", remote=True, urls=("https://example.org/a.warc.gz",)))
    assert on_ray(Shard("archives/a.warc", paths=(tmp_path / "a.warc",)))

