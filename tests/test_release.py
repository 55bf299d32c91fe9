"""`moisson release`: a published corpus frozen as releases/V, described by a manifest that two releases of the same
data share byte for byte apart from the date, never changed once written, and counting what changed since the
previous release."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from e2e import run_moisson
from moisson.layout import DataLayout
from moisson.publication_lock import publication_lock
from moisson.release import DATED_FILES, release
from pipelines.cli import main
from release_inputs import FRENCH, copy_of, corpus_ids, publish, unpublish, write_notes


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    return publish(tmp_path_factory.mktemp("published") / "input")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_of(data_dir: Path, version: str) -> dict:
    return json.loads((data_dir / "releases" / version / "manifest.json").read_text(encoding="utf-8"))


def test_a_release_holds_the_corpus_files_a_card_the_changes_and_a_manifest_of_every_file(published, tmp_path, capsys):
    data = copy_of(published, tmp_path / "copy")
    assert main(["release", "--data-dir", str(data), "--version", "2026.1"]) == 0
    assert "released 2026.1: 5 documents" in capsys.readouterr().out
    folder = data / "releases" / "2026.1"
    corpus = sorted((data / "corpus").glob("*/*.parquet"))
    for part in corpus:  # byte copies, one folder per language
        assert (folder / "data" / part.parent.name / part.name).read_bytes() == part.read_bytes()
    manifest = manifest_of(data, "2026.1")
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {f["path"] for f in manifest["files"]} == on_disk - {"manifest.json", *DATED_FILES}
    assert manifest["dated_files"] == ["dcat.jsonld", "dcat.ttl", "training-content-summary.json", "training-content-summary.md"]
    assert set(manifest["dated_files"]) <= on_disk
    summary = json.loads((folder / "training-content-summary.json").read_text(encoding="utf-8"))
    assert summary["dataset"]["version"] == "2026.1" and summary["dataset"]["released_at"] == manifest["released_at"]
    assert {"README.md", "RELEASE_NOTES.md", "changes.parquet"} <= on_disk and any(p.startswith("images/") for p in on_disk)
    for entry in manifest["files"]:
        path = folder / entry["path"]
        assert (entry["sha256"], entry["bytes"]) == (sha256(path), path.stat().st_size)
        if path.suffix == ".parquet":
            assert entry["rows"] == pq.ParquetFile(path).metadata.num_rows
    assert sum(e["rows"] for e in manifest["files"] if e["path"].startswith("data/")) == 5
    counts = manifest["counts"]
    assert counts["total"]["documents"] == 5 and counts["total"]["words"] > 0
    assert {k: v["documents"] for k, v in counts["by_language"].items()} == {"fr": 3, "en": 2}
    assert {k: v["documents"] for k, v in counts["by_licence"].items()} == {"CC-BY-4.0": 3, "CC0-1.0": 2}
    assert {k: v["documents"] for k, v in counts["by_source"].items()} == {"notes_fr": 3, "notes_en": 2}
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        [(policy,)] = con.execute("SELECT policy FROM runs").fetchall()
        hashes = sorted({h for (h,) in con.execute("SELECT content_sha256 FROM documents WHERE source = 'notes_en'").fetchall()})
    assert manifest["policy"] == json.loads(policy) and manifest["policy"]["languages"] == ["fr", "en"]
    assert manifest["code"]["version"] == "0.1.0" and len(manifest["code"]["fingerprint"]) == 32
    sources = {s["name"]: s for s in manifest["sources"]}
    assert sources["notes_fr"]["declared_license"] == "CC-BY-4.0" and sources["notes_fr"]["paths"] == ["fr.jsonl"]
    assert sources["notes_fr"]["input"]["documents_seen"] == 3  # the input fingerprint anyone can compute again:
    assert sources["notes_en"]["input"]["content_sha256"] == hashlib.sha256("\n".join(hashes).encode()).hexdigest()
    assert manifest["previous_release"] is None and manifest["changes"] == {"added": 5, "removed": 0, "taken_down": 0}
    changes = pq.read_table(folder / "changes.parquet").to_pylist()
    assert sorted(c["id"] for c in changes) == sorted(corpus_ids(data)) and {c["change"] for c in changes} == {"added"}
    assert "- added: 5" in (folder / "RELEASE_NOTES.md").read_text(encoding="utf-8")
    assert all(not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) for p in folder.rglob("*") if p.is_file())
    assert [p.name for p in (data / "releases").iterdir()] == ["2026.1"]  # no building folder left behind
    assert str(tmp_path) not in "".join(p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.suffix in (".md", ".json", ".ttl", ".jsonld"))


def test_two_releases_of_the_same_data_have_the_same_manifest_but_for_the_date(published, tmp_path):
    first, second = copy_of(published, tmp_path / "a"), copy_of(published, tmp_path / "elsewhere" / "b")
    release(DataLayout.at(first), "1.0", now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    release(DataLayout.at(second), "1.0", now=datetime(2027, 6, 7, 8, 9, 10, tzinfo=timezone.utc))
    texts = [(d / "releases" / "1.0" / "manifest.json").read_text(encoding="utf-8") for d in (first, second)]
    assert texts[0] != texts[1]
    undated = [[line for line in text.splitlines() if '"released_at"' not in line] for text in texts]
    assert undated[0] == undated[1]
    assert '"released_at": "2026-01-02T03:04:05Z"' in texts[0]
    for entry in json.loads(texts[0])["files"]:  # what the manifest hashes is the same, byte for byte
        assert (first / "releases" / "1.0" / entry["path"]).read_bytes() == (second / "releases" / "1.0" / entry["path"]).read_bytes()
    dates = [("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00"), ("2027-06-07T08:09:10Z", "2027-06-07T08:09:10+00:00")]
    for name in DATED_FILES:  # and what it does not hash differs by the date alone
        undated = []
        for data, written in zip((first, second), dates):
            text = (data / "releases" / "1.0" / name).read_text(encoding="utf-8")
            assert any(form in text for form in written), name
            for form in written:
                text = text.replace(form, "DATE")
            undated.append(text)
        assert undated[0] == undated[1], name


def test_a_release_asked_again_is_left_as_it_is_and_never_changes(published, tmp_path, capsys):
    data = copy_of(published, tmp_path / "copy")
    assert main(["release", "--data-dir", str(data), "--version", "v1"]) == 0
    folder = data / "releases" / "v1"
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["release", "--data-dir", str(data), "--version", "v1"]) == 0
    assert "already released and unchanged" in capsys.readouterr().out
    unpublish(data, next(iter(corpus_ids(data))))
    assert main(["release", "--data-dir", str(data), "--version", "v1"]) == 1
    assert "releases never change" in capsys.readouterr().err
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()} == before
    assert [p.name for p in (data / "releases").iterdir()] == ["v1"]
    assert all(part.stat().st_mode & stat.S_IWUSR for part in (data / "corpus").glob("*/*.parquet"))  # corpus untouched


@pytest.mark.parametrize("version", ["../escape", "a/b", "", ".", "..", "-rc", "v 1", "1..2", "é"])
def test_a_version_that_is_no_folder_name_is_refused(published, tmp_path, version, capsys):
    data = copy_of(published, tmp_path / "copy")
    assert main(["release", "--data-dir", str(data), f"--version={version}"]) == 2
    assert "letters, digits" in capsys.readouterr().err
    assert not (data / "releases").exists() and not (tmp_path / "copy" / "escape").exists()


def test_nothing_to_release_says_what_is_missing(published, tmp_path, capsys):
    assert main(["release", "--data-dir", str(tmp_path / "empty"), "--version", "1"]) == 1
    assert "no warehouse" in capsys.readouterr().err
    data = copy_of(published, tmp_path / "copy")
    for part in (data / "corpus").glob("*/*.parquet"):
        part.unlink()
    assert main(["release", "--data-dir", str(data), "--version", "1"]) == 1
    assert "no published corpus" in capsys.readouterr().err
    assert not (data / "releases" / "1").exists()


def test_a_release_waits_for_a_publication_in_progress(published, tmp_path, monkeypatch, capsys):
    data = copy_of(published, tmp_path / "copy")
    monkeypatch.setenv("MOISSON_PUBLISH_LOCK_WAIT_SECONDS", "0")
    with publication_lock(DataLayout.at(data).publish_lock_file, "step corpus of run test", 0):
        assert main(["release", "--data-dir", str(data), "--version", "1"]) == 3
    assert "step corpus of run test" in capsys.readouterr().err
    assert not (data / "releases" / "1").exists()


def test_a_second_release_counts_what_was_added_removed_and_taken_down(published, tmp_path):
    data = copy_of(published, tmp_path / "copy")
    assert main(["release", "--data-dir", str(data), "--version", "1.0"]) == 0
    before = corpus_ids(data)
    by_key = {key.rsplit("=", 1)[-1]: i for i, key in before.items()}
    write_notes(data.parent / "fr.jsonl", "fr", FRENCH)  # one more French note
    (data / "takedowns.csv").write_text(f"match,value,date,reason\nid,{by_key['fr0']},2026-12-01,asked by its author\n",
                                        encoding="utf-8")
    result = run_moisson(data.parent / "sources.yaml", data)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [added] = set(corpus_ids(data)) - set(before)
    assert by_key["fr0"] not in corpus_ids(data)  # the publication applied the takedown
    unpublish(data, by_key["en1"])  # and a document left the corpus another way
    assert main(["release", "--data-dir", str(data), "--version", "1.1"]) == 0
    manifest = manifest_of(data, "1.1")
    assert manifest["previous_release"] == "1.0"
    assert manifest["changes"] == {"added": 1, "removed": 1, "taken_down": 1}
    assert manifest["counts"]["total"]["documents"] == 4  # 3 + 1 French, 2 English, less the two that left
    folder = data / "releases" / "1.1"
    changes = {row["id"]: row["change"] for row in pq.read_table(folder / "changes.parquet").to_pylist()}
    assert changes == {added: "added", by_key["fr0"]: "taken_down", by_key["en1"]: "removed"}
    notes = (folder / "RELEASE_NOTES.md").read_text(encoding="utf-8")
    assert "since release 1.0" in notes and f"`{by_key['fr0']}`" in notes and f"`{by_key['en1']}`" in notes
    assert added not in notes and FRENCH[0][:30] not in notes  # ids only, and only of what left
    assert manifest_of(data, "1.0")["changes"]["added"] == 5  # the first release is as it was
