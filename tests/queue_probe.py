"""A code location for the run queue's test of the per-host limit: a job that does nothing, and a sensor asking for
four runs tagged with the host they would harvest, as curation runs are (pipelines/run_tags.py). Real curation runs
of portal sources would need the portals; the queue decides on the tags alone."""

from __future__ import annotations

import dagster as dg

HOSTS = {"portal-a": "data.example.org", "portal-b": "data.example.org", "portal-c": "data.example.org",
         "archive": "archive.example.org"}


@dg.op
def harvest_nothing() -> None:
    """Stands for a harvest: the queue, not the work, is under test."""


@dg.job
def probe() -> None:
    harvest_nothing()


@dg.sensor(job=probe, default_status=dg.DefaultSensorStatus.RUNNING)
def hosted_sources(context: dg.SensorEvaluationContext):
    for source, host in HOSTS.items():
        yield dg.RunRequest(run_key=source, tags={"moisson/host": host, "probe/source": source})


defs = dg.Definitions(jobs=[probe], sensors=[hosted_sources])
