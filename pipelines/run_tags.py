"""The host a source's curation run fetches from, as the run tag `moisson/host`, for the run queue's limit per host.

Why a tag: the production instance (instance/dagster-postgres.yaml) limits the runs in progress per unique value
of `moisson/host`, so a nightly schedule or a backfill of many sources served by the same portal, OAI-PMH
endpoint or WARC server never sends it more than that many harvests at once. The source's own limit needs no
tag of ours: its runs carry `dagster/partition` (the partition key is the source's name).

Why on the job's partitioned config: every way a curate_source run is made (the UI's launch and backfill
dialogs, the backfill daemon, the schedule's and the sensors' run requests, `moisson run` through
pipelines/launch.py) takes the partition's tags from the job, so one place sets them for all.

The host is the endpoint's for portal sources (`url`) and, for WARC sources read over the network, the path
lists' `base_url` or else the first remote entry's. A portal that links documents on other hosts is tagged with
its endpoint only: the tag limits the harvests, the per-host politeness of each request is the HTTP client's.
Local files are fetched from no host: no tag, no host limit.

A run of one shard (`curate_shard`, partition `<source>/<shard>`) carries its source's host tag too, and
`moisson/source`, so that a backfill of many shards of one portal or WARC server keeps to the same per-host limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import dagster as dg

from moisson.config import MoissonConfig, is_url

HOST_TAG = "moisson/host"


def crawled_host(source: object) -> str | None:
    """The host name (lowercase, without user or port) the source is harvested from over HTTP, or None (local
    files; an archive on object storage, which has no crawl politeness to keep)."""
    if getattr(source, "kind", None) == "warc":
        remote = [entry for entry in source.remote_entries if is_url(entry)]
        candidates = [source.base_url] if source.base_url else remote
    elif hasattr(source, "url"):
        candidates = [source.url]
    else:
        candidates = []
    for candidate in candidates:
        parts = urlsplit(candidate)
        if parts.scheme in ("http", "https") and parts.hostname:
            return parts.hostname
    return None


def host_tags(config: MoissonConfig) -> dict[str, dict[str, str]]:
    """Each source's extra run tags: `{HOST_TAG: host}` when it is fetched from a host, else none."""
    hosts = {source.name: crawled_host(source) for source in config.sources}
    return {name: ({HOST_TAG: host} if host else {}) for name, host in hosts.items()}


def source_run_config(config: MoissonConfig, partitions: dg.PartitionsDefinition) -> dg.PartitionedConfig:
    """The curate_source job's partitioned config: no run config of its own, the host tag per source."""
    tags: Mapping[str, dict[str, str]] = host_tags(config)
    return dg.PartitionedConfig(partitions_def=partitions, run_config_for_partition_key_fn=lambda key: {},
                                tags_for_partition_key_fn=lambda key: dict(tags.get(key, {})))


SOURCE_TAG = "moisson/source"


def shard_run_config(config: MoissonConfig, partitions: dg.PartitionsDefinition) -> dg.PartitionedConfig:
    """The curate_shard job's partitioned config: no run config, the shard's source (`moisson/source`) and that
    source's host tag; a partition key whose source the sources file no longer has gets the source tag only."""
    from sources.shards import split_partition_key

    tags: Mapping[str, dict[str, str]] = host_tags(config)

    def tags_for(key: str) -> dict[str, str]:
        source, _ = split_partition_key(key)
        return {SOURCE_TAG: source, **tags.get(source, {})}

    return dg.PartitionedConfig(partitions_def=partitions, run_config_for_partition_key_fn=lambda key: {},
                                tags_for_partition_key_fn=tags_for)
