"""Helpers for the portal harvest tests: a sources config pointing at the local server, and a fake CKAN."""

from __future__ import annotations

import json

from moisson.config import MoissonConfig
from moisson.layout import DataLayout
from sources.http import HttpClient, HttpSettings
from sources.portal import harvest_catalogue
from sources.records import RawRecord, ReadFailure, ReadStats
from sources.resource_fetch import fetch_documents

POLICY = {"languages": "all", "licenses": {"allow": ["CC0-1.0", "CC-BY-4.0", "etalab-2.0"]}}


def config_for(*sources: dict, **top) -> MoissonConfig:
    return MoissonConfig.model_validate({"sources": list(sources), "policy": POLICY, **top})


def fast_client(**overrides) -> HttpClient:
    settings = {"min_interval_seconds": 0.0, "backoff_seconds": 0.01, "max_retries": 1,
                "allowed_addresses": frozenset({"127.0.0.1"}), **overrides}
    return HttpClient(HttpSettings(**settings))


def harvest(config: MoissonConfig, name: str, layout: DataLayout, **client):
    return harvest_catalogue(config, config.source(name), layout, fast_client(**client))


def fetch(config: MoissonConfig, name: str, layout: DataLayout, datasets, **client):
    stats = ReadStats()
    items = list(fetch_documents(config.source(name), datasets, fast_client(**client), layout, stats))
    return [i for i in items if isinstance(i, RawRecord)], [i for i in items if isinstance(i, ReadFailure)], stats


def fake_ckan(packages: list[dict], fail_at: set[int] | None = None, broken_at: set[int] | None = None):
    """package_search over `packages`: rows/start, sort by metadata_modified then id, fq on metadata_modified."""
    fail_at, broken_at = fail_at if fail_at is not None else set(), broken_at if broken_at is not None else set()

    def handler(query: dict, request: dict):
        start, rows = int(query.get("start", 0)), int(query.get("rows", 10))
        if start in fail_at:
            fail_at.discard(start)
            return 500, {}, b"injected failure"
        if start in broken_at:
            broken_at.discard(start)
            return 200, {"Content-Type": "application/json"}, b'{"success": true, "result": {"count": 3, "resu'
        selected = sorted(packages, key=lambda p: (p["metadata_modified"], p["id"]))
        fq = query.get("fq", "")
        if "metadata_modified:[" in fq:
            since = fq.split("metadata_modified:[", 1)[1].split(" TO", 1)[0].rstrip("Z")
            selected = [p for p in selected if p["metadata_modified"][:19] >= since]
        page = selected[start:start + rows]
        body = {"help": "", "success": True, "result": {"count": len(selected), "results": page}}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    return handler
