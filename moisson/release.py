"""`moisson release`: the published corpus frozen as `releases/V/`, described so that anyone can check it.

A release holds the corpus Parquet files as they were published (byte copies, `data/<language>/`), the
dataset card, the AI Act training content summary, the changes since the previous release
(`changes.parquet`, `RELEASE_NOTES.md`), a manifest, and a DCAT-AP description (moisson/release_dcat.py).

Why the manifest is canonical: two releases of the same data must be comparable by their manifests
alone, so it holds nothing that depends on the wall clock or on where the data directory is, except
the one `released_at` line (JSON with sorted keys, every list in a stable order). The files that state
the release date (the DCAT description, the AI Act summary) are named in `dated_files`, not hashed.
The same rule lets a release be asked for twice: the second time the manifest is rebuilt and compared,
and a release that would come out different is refused, since a release never changes once written.

Why the publication lock: a run publishing while the corpus is copied would give a release whose files
match no moment of the corpus. Why a folder renamed into place: nobody ever sees half a release.

`upload_release` (`moisson release --to s3://bucket/prefix`) publishes a finished release on object storage with
the same guarantee, by a commit object written last (moisson/object_store.py), and checks every object it names
against the manifest.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from moisson.atomic_files import fsync_dir, fsync_file, write_parquet, write_text
from moisson.dataset_card import write_dataset_card
from moisson.layout import DataLayout
from moisson.object_store import ObjectLocation, parse_location, publish_folder, read_commit, verify_published
from moisson.parquet_files import duckdb_paths, parts
from moisson.publication_lock import publication_lock, wait_seconds_from_env
from moisson.release_dcat import write_dcat
from moisson.training_summary import build_summary, render_summary_markdown

VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MANIFEST, CHANGES, NOTES = "manifest.json", "changes.parquet", "RELEASE_NOTES.md"
DCAT_FILES = ("dcat.jsonld", "dcat.ttl")
SUMMARY_FILES = ("training-content-summary.json", "training-content-summary.md")
# Files that state the release date: named by the manifest, not hashed, or two releases of the same data would
# have different manifests (the manifest cannot hash itself either).
DATED_FILES = (*DCAT_FILES, *SUMMARY_FILES)
CODE_PACKAGES = ("moisson", "pipelines", "assets", "quality", "sources", "warehouse")
CHANGES_SCHEMA = pa.schema([("id", pa.string()), ("change", pa.string())])
SOURCE_COLUMNS = ("name", "kind", "paths", "declared_license", "description", "citation")  # not the run ids or dates

# Each id counted once, even in a corpus that holds one twice (moisson.publication.remove_repeated_ids).
PUBLISHED = "(SELECT DISTINCT ON (id) id, language, license, source, n_words FROM read_parquet($files))"
COUNTS = "SELECT {key}, count(*), coalesce(sum(n_words), 0) FROM " + PUBLISHED + " GROUP BY 1 ORDER BY 1"
LANGUAGE_LICENCE = "SELECT language, license, count(*), coalesce(sum(n_words), 0) FROM " + PUBLISHED + " GROUP BY 1, 2"
INPUTS = """
WITH seen AS (SELECT source, count(*) AS documents FROM documents GROUP BY source),
     hashes AS (SELECT source, sha256(string_agg(h, chr(10) ORDER BY h)) AS digest
                FROM (SELECT DISTINCT source, content_sha256 AS h FROM documents WHERE content_sha256 IS NOT NULL)
                GROUP BY source)
SELECT source, documents, coalesce(digest, sha256('')) FROM seen LEFT JOIN hashes USING (source) ORDER BY source
"""


class ReleaseError(Exception):
    """The release could not be made; nothing under releases/ was changed."""

    exit_code = 1


class BadVersion(ReleaseError):
    exit_code = 2


@dataclass(frozen=True)
class Outcome:
    path: Path
    created: bool  # False: the same release was already there, unchanged
    manifest: dict


@dataclass(frozen=True)
class Upload:
    location: ObjectLocation  # <to>/<version>
    created: bool  # False: the same release was already published there (every object read back and checked)
    objects: int


def release(layout: DataLayout, version: str, base_url: str | None = None, now: datetime | None = None,
            log: Callable[[str], None] = lambda message: None) -> Outcome:
    """Freeze the published corpus as releases/<version>; refuse (ReleaseError) to change an existing one."""
    check_version(version)
    if not layout.warehouse.is_file():
        raise ReleaseError(f"{layout.warehouse}: no warehouse: run `moisson run` on {layout.root} first")
    with publication_lock(layout.publish_lock_file, f"moisson release {version}", wait_seconds_from_env(), log):
        corpus_files = parts(layout.corpus_dir)
        if not corpus_files:
            raise ReleaseError(f"{layout.corpus_dir}: no published corpus (no <language>/*.parquet): nothing to release")
        _remove_unfinished(layout.releases_dir, log)
        target = layout.releases_dir / version
        existing = read_manifest(target) if target.exists() else None
        staging = layout.releases_dir / f".building-{version}-{uuid.uuid4().hex}"
        try:
            if existing is not None:
                manifest = _build(layout, version, corpus_files, staging, existing.get("released_at", ""), link=True)
                return _compare(target, existing, manifest)
            manifest = _build(layout, version, corpus_files, staging, _timestamp(now), link=False)
            _publish(layout, staging, target, manifest, base_url)
        except (duckdb.Error, RuntimeError, ValueError, OSError) as error:  # the card's, the summary's, the queries'
            raise ReleaseError(f"could not be made, nothing was written: {error}") from error
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    log(f"release {version}: {target}, {len(manifest['files'])} files in its manifest")
    return Outcome(target, True, manifest)


def _publish(layout: DataLayout, staging: Path, target: Path, manifest: dict, base_url: str | None) -> None:
    """The manifest and the DCAT files written, every file made read-only, and the folder renamed into place."""
    write_text(_canonical_json(manifest), staging / MANIFEST, layout.tmp_dir)
    write_dcat(staging, manifest, _catalogue(layout.warehouse), base_url, layout.tmp_dir)
    _freeze(staging)
    if target.exists():  # rename() would replace an empty folder: a release is never replaced
        raise ReleaseError(f"{target} appeared while the release was built: releases never change; nothing written")
    os.rename(staging, target)  # the release appears whole or not at all
    fsync_dir(layout.releases_dir)


def _remove_unfinished(releases_dir: Path, log: Callable[[str], None]) -> None:
    """Building folders left by a release that was killed (under the lock, no other release is building)."""
    for folder in sorted(releases_dir.glob(".building-*")) if releases_dir.is_dir() else []:
        log(f"{folder}: left by an interrupted release, removed")
        shutil.rmtree(folder)


def check_version(version: str) -> None:
    if not VERSION_PATTERN.fullmatch(version) or version in {".", ".."} or ".." in version:
        raise BadVersion(f"release version {version!r}: letters, digits, '.', '_' and '-' only, starting with a "
                         "letter or digit (it names the folder releases/<version>)")


def read_manifest(release_dir: Path) -> dict:
    path = release_dir / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReleaseError(f"{path}: unreadable release manifest ({error}): releases never change, "
                           "so this one is left as it is; choose another version") from None


def without_date(manifest: dict) -> dict:
    return {key: value for key, value in manifest.items() if key != "released_at"}


def _compare(target: Path, existing: dict, manifest: dict) -> Outcome:
    if without_date(existing) != without_date(manifest):
        changed = sorted(k for k in set(existing) | set(manifest) if existing.get(k) != manifest.get(k))
        raise ReleaseError(f"{target} exists and the corpus has changed since ({', '.join(changed)} differ): "
                           "releases never change; release it under a new version")
    return Outcome(target, False, existing)


# ------------------------------------------------------------------ a release published on object storage


def upload_release(release_dir: Path, to: str, log: Callable[[str], None] = lambda message: None) -> Upload:
    """releases/V published atomically at `<to>/V` (moisson/object_store.py: objects first, commit object last), then
    every object named by the commit checked against manifest.json: the store holds exactly the release, hashed.

    A release already published there is never replaced: it is read back whole and must match the local one."""
    location = parse_location(to).child(release_dir.name)
    manifest = read_manifest(release_dir)
    local = {path.relative_to(release_dir).as_posix(): file_sha256(path)
             for path in sorted(release_dir.rglob("*")) if path.is_file()}
    created = read_commit(location) is None
    if created:  # each object is read back and hashed before the commit names it
        published = {entry["path"]: entry["sha256"] for entry in publish_folder(release_dir, location, log)["files"]}
    else:  # already there: read back whole now
        published = {entry.path: entry.sha256 for entry in verify_published(location)}
    if published != local:
        differ = sorted(path for path in set(published) | set(local) if published.get(path) != local.get(path))
        raise ReleaseError(f"{location} already holds a release {release_dir.name} with other files "
                           f"({', '.join(differ[:5])}{' ...' if len(differ) > 5 else ''} differ): releases never "
                           "change; publish it under another location")
    _check_against_manifest(location, published, manifest)
    return Upload(location, created, len(published))


def _check_against_manifest(location: ObjectLocation, published: dict[str, str], manifest: dict) -> None:
    """Every file the manifest hashes is published with that sha256, and nothing else is but the manifest and the
    dated files it names."""
    expected = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    wrong = sorted(path for path, digest in expected.items() if published.get(path) != digest)
    extra = sorted(set(published) - set(expected) - {MANIFEST, *manifest.get("dated_files", [])})
    if wrong or extra or MANIFEST not in published:
        raise ReleaseError(f"{location}: the published objects do not match {MANIFEST} (missing or different: "
                           f"{wrong or 'none'}; not in the manifest: {extra or 'none'})")


# ------------------------------------------------------------------ what the release holds


def _build(layout: DataLayout, version: str, corpus_files: list[Path], staging: Path, released_at: str,
           link: bool) -> dict:
    """Every file of the release but the manifest and the DCAT files, written into `staging`; returns the manifest.

    `link`: the data files are hard links, not copies (the release is only being compared with one made earlier)."""
    staging.mkdir(parents=True)
    data_files = _copy_corpus(corpus_files, layout.corpus_dir, staging / "data", link)
    previous = previous_release(layout.releases_dir, version, released_at)
    with duckdb.connect(str(layout.warehouse), read_only=True) as warehouse:
        policy, sources = _policy(warehouse), _sources(warehouse)
        changes = _changes(warehouse, data_files, previous)
    counts = _counts(data_files)
    write_parquet(pa.Table.from_pylist(changes, CHANGES_SCHEMA), staging / CHANGES, layout.tmp_dir)
    write_text(release_notes(version, previous, changes), staging / NOTES, layout.tmp_dir)
    changed = {kind: sum(1 for c in changes if c["change"] == kind) for kind in ("added", "removed", "taken_down")}
    summary = {"version": version, "previous_version": previous.name if previous else None, "changes": changed,
               "files": len(data_files), "rows": counts["total"]["documents"]}
    _write_card(staging, data_files, layout, policy, sources, summary)
    _write_training_summary(staging, data_files, layout, {"version": version, "released_at": released_at})
    files = [_entry(path, path.relative_to(staging).as_posix()) for path in sorted(staging.rglob("*"))
             if path.is_file() and path.name not in DATED_FILES]
    return {
        "version": version,
        "released_at": released_at,
        "previous_release": previous.name if previous else None,
        "files": sorted(files, key=lambda f: f["path"]),
        "dated_files": sorted(DATED_FILES),
        "policy": policy,
        "code": code_version(),
        "sources": sources,
        "counts": counts,
        "changes": changed,
    }


def _entry(path: Path, relative: str) -> dict:
    entry = {"path": relative, "bytes": path.stat().st_size, "sha256": file_sha256(path)}
    if path.suffix == ".parquet":
        entry["rows"] = pq.ParquetFile(path).metadata.num_rows
    return entry


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def code_version() -> dict:
    """The package version, and a fingerprint of the code that made the release: a release says which code made it.

    The fingerprint is the sha256 of every module's path and bytes (and the warehouse's SQL), in path order: read
    from the files rather than through moisson.code_fingerprint, whose module lookup imports each package (Dagster
    with the assets), which a release does not need."""
    digest, files = hashlib.sha256(), _code_files()
    for relative, path in files:
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return {"package": "moisson", "version": metadata.version("moisson"), "fingerprint": digest.hexdigest()[:32],
            "files": len(files)}


def _code_files() -> list[tuple[str, Path]]:
    files = []
    for package in CODE_PACKAGES:
        spec = importlib.util.find_spec(package)  # a top-level package: found, not imported
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        files += [(f"{package}/{p.relative_to(root).as_posix()}", p) for p in root.rglob("*") if p.suffix in (".py", ".sql")]
    return sorted(files)


def _policy(warehouse: duckdb.DuckDBPyConnection) -> dict:
    """The policy of the latest run, the one that decided what the corpus holds now."""
    row = warehouse.execute("SELECT policy FROM runs ORDER BY started_at DESC NULLS LAST, run_id DESC LIMIT 1").fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def _sources(warehouse: duckdb.DuckDBPyConnection) -> list[dict]:
    """Each source as declared, and a fingerprint of its input: how many documents the warehouse has seen from it
    (kept or rejected), and the sha256 of their distinct `content_sha256` values, sorted, joined by newlines."""
    declared = {row[0]: dict(zip(SOURCE_COLUMNS, row)) for row in warehouse.execute(
        f"SELECT {', '.join(SOURCE_COLUMNS)} FROM sources ORDER BY name").fetchall()}
    seen = {name: (documents, digest) for name, documents, digest in warehouse.execute(INPUTS).fetchall()}
    sources = []
    for name in sorted(set(declared) | set(seen)):
        source = declared.get(name, {"name": name})
        if isinstance(source.get("paths"), str):
            source["paths"] = json.loads(source["paths"])
        documents, digest = seen.get(name, (0, hashlib.sha256(b"").hexdigest()))
        sources.append({**source, "input": {"documents_seen": documents, "content_sha256": digest}})
    return sources


def _counts(corpus_files: list[Path]) -> dict:
    with duckdb.connect() as con:
        grouped = {name: {value if value is not None else "unknown": {"documents": n, "words": int(words)}
                          for value, n, words in con.execute(COUNTS.format(key=key), {"files": duckdb_paths(corpus_files)}).fetchall()}
                   for name, key in (("by_language", "language"), ("by_licence", "license"), ("by_source", "source"))}
        crossed: dict[str, dict] = {}
        for language, licence, n, words in con.execute(LANGUAGE_LICENCE, {"files": duckdb_paths(corpus_files)}).fetchall():
            crossed.setdefault(language or "unknown", {})[licence or "unknown"] = {"documents": n, "words": int(words)}
    total = {"documents": sum(v["documents"] for v in grouped["by_source"].values()),
             "words": sum(v["words"] for v in grouped["by_source"].values())}
    return {**grouped, "by_language_licence": crossed, "total": total}


# ------------------------------------------------------------------ changes since the previous release


def previous_release(releases_dir: Path, version: str, released_at: str) -> Path | None:
    """The release made last before this one (by release date, then version), if any."""
    earlier = []
    for folder in sorted(releases_dir.glob("*")) if releases_dir.is_dir() else []:
        if folder.name.startswith(".") or folder.name == version or not (folder / MANIFEST).is_file():
            continue
        made = read_manifest(folder).get("released_at", "")
        if (made, folder.name) < (released_at, version):
            earlier.append((made, folder.name, folder))
    return max(earlier)[2] if earlier else None


def _changes(warehouse: duckdb.DuckDBPyConnection, corpus_files: list[Path], previous: Path | None) -> list[dict]:
    """added, removed and taken_down ids (disjoint: a taken-down id is not also counted as removed), sorted."""
    now = _ids(corpus_files)
    before = _ids(parts(previous / "data")) if previous else set()
    removed = sorted(before - now)
    taken_down = _taken_down(warehouse, removed)
    rows = [{"id": i, "change": "added"} for i in sorted(now - before)]
    rows += [{"id": i, "change": "taken_down" if i in taken_down else "removed"} for i in removed]
    return sorted(rows, key=lambda row: (row["change"], row["id"]))


def _ids(files: list[Path]) -> set[str]:
    return {i for path in files for i in pq.read_table(path, columns=["id"]).column("id").to_pylist()}


def _taken_down(warehouse: duckdb.DuckDBPyConnection, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    removed = pa.table({"id": ids})  # noqa: F841  (read by the query below, by name)
    return {row[0] for row in warehouse.execute(
        "SELECT d.id FROM documents d JOIN removed r USING (id) WHERE d.reason = 'takedown'").fetchall()}


def release_notes(version: str, previous: Path | None, changes: list[dict]) -> str:
    """What changed, counted, and the ids that left the corpus (ids only: never the text of a removed document)."""
    by_kind = {kind: [c["id"] for c in changes if c["change"] == kind] for kind in ("added", "removed", "taken_down")}
    since = f"since release {previous.name}" if previous else "first release: every document is added"
    lines = [f"# Release {version}\n", f"Changes {since}.\n",
             f"- added: {len(by_kind['added'])}",
             f"- removed (no longer in the corpus, not by a takedown): {len(by_kind['removed'])}",
             f"- taken down (removal or erasure requests): {len(by_kind['taken_down'])}\n",
             "Every change, with the added ids too, is in `changes.parquet` (columns `id`, `change`).\n"]
    for kind, heading in (("taken_down", "Taken down"), ("removed", "Removed")):
        if by_kind[kind]:
            lines += [f"## {heading}\n", *(f"- `{i}`" for i in by_kind[kind]), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# ------------------------------------------------------------------ the card and the training content summary


def _write_card(staging: Path, data_files: list[Path], layout: DataLayout, policy: dict, sources: list[dict],
                summary: dict) -> None:
    write_dataset_card(staging, data_files, layout.warehouse, policy, sources, layout.tmp_dir, summary)


def _write_training_summary(staging: Path, data_files: list[Path], layout: DataLayout, facts: dict) -> None:
    summary = build_summary(layout.warehouse, data_files, facts)
    write_text(_canonical_json(summary), staging / SUMMARY_FILES[0], layout.tmp_dir)
    write_text(render_summary_markdown(summary), staging / SUMMARY_FILES[1], layout.tmp_dir)


# ------------------------------------------------------------------ the catalogue records the DCAT file derives from


def _catalogue(warehouse_path: Path) -> list[dict]:
    """The harvested datasets still listed upstream, for prov:wasDerivedFrom."""
    with duckdb.connect(str(warehouse_path), read_only=True) as warehouse:
        rows = warehouse.execute(
            "SELECT source, portal, dataset_id, title, landing_page, license FROM datasets WHERE NOT deleted "
            "ORDER BY source, dataset_id").fetchall()
    return [dict(zip(("source", "portal", "dataset_id", "title", "landing_page", "license"), row)) for row in rows]


# ------------------------------------------------------------------ files


def _copy_corpus(corpus_files: list[Path], corpus_dir: Path, data_dir: Path, link: bool) -> list[Path]:
    """Byte copies of the corpus files under data_dir/<language>/, flushed to disk; their paths, sorted."""
    copies = []
    for source in corpus_files:
        copy = data_dir / source.relative_to(corpus_dir)
        copy.parent.mkdir(parents=True, exist_ok=True)
        if link:
            os.link(source, copy)
        else:
            shutil.copyfile(source, copy)
            fsync_file(copy)
        copies.append(copy)
    return sorted(copies)


def _freeze(folder: Path) -> None:
    """Every file read-only: a release is not edited in place by mistake."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _timestamp(now: datetime | None) -> str:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
