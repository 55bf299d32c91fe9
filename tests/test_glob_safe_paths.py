"""A data directory whose path holds glob characters reads its own files only.

DuckDB and polars take a path, even one listed in full, as a pattern: `data[1]/stages/x.parquet` matched
`data1/stages/x.parquet`, so a run in `data[1]` curated, deduplicated and published another directory's files.
"""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest
import yaml

from e2e import run_moisson, warehouse
from moisson.parquet_files import duckdb_list_literal, duckdb_path, duckdb_paths, parts, read_frame, scan_frame

NAMES = ["data[1]", "data*", "data?", "data{1,2}", "it's [x]"]


@pytest.mark.parametrize("name", NAMES)
def test_duckdb_and_polars_read_the_named_files_only(tmp_path, name):
    for folder, value in (("data1", "other"), ("data2", "other"), ("dataX", "other"), (name, "own")):
        (tmp_path / folder / "en").mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"id": [f"{folder}-{n}" for n in range(2)], "value": [value] * 2}).write_parquet(
            tmp_path / folder / "en" / "part.parquet")
    files = parts(tmp_path / name)
    assert files == [tmp_path / name / "en" / "part.parquet"]
    with duckdb.connect() as con:
        assert {row[0] for row in con.execute("SELECT value FROM read_parquet(?)", [duckdb_paths(files)]).fetchall()} == {"own"}
        assert con.execute(f"SELECT count(*) FROM read_parquet({duckdb_list_literal(files)})").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM read_parquet(?)", [duckdb_path(files[0])]).fetchone()[0] == 2
    assert set(read_frame(files[0])["value"]) == {"own"} and read_frame(files).height == 2
    assert scan_frame(files[0]).select(pl.len()).collect().item() == 2


def notes(texts: list[str], prefix: str) -> str:
    return "".join(json.dumps({"id": f"{prefix}{n}", "url": f"https://example.org/{prefix}/{n}", "text": text}) + "\n"
                   for n, text in enumerate(texts))


def paragraph(topic: str) -> str:
    return (f"This long note about {topic} tells how the town council gathered the opinions of its residents, weighed "
            f"the costs of every option against the benefits, published each decision with the reasons behind it, "
            f"and asked the regional auditors to check the accounts of the {topic} works before the next election.")


def test_a_run_in_a_data_directory_named_with_a_glob_reads_only_its_own_files(tmp_path):
    """`data1` is published first; `data[1]`, whose name as a pattern matches `data1`, must curate, deduplicate,
    publish, load and check its own documents: one shares a text with a document of `data1` and is still new there."""
    sources_dir = tmp_path / "sources"
    shared = paragraph("harbour dredging")
    runs = {"data1": [shared, paragraph("orchard grafting"), paragraph("granite quarries")],
            "data[1]": [shared, paragraph("willow baskets")]}
    for data_name, texts in runs.items():
        folder = sources_dir / data_name.replace("[", "_").replace("]", "_")
        folder.mkdir(parents=True)
        (folder / "notes.jsonl").write_text(notes(texts, prefix="own-" if data_name == "data[1]" else "other-"))
        (folder / "sources.yaml").write_text(yaml.safe_dump({
            "sources": [{"name": "notes", "kind": "files", "paths": ["notes.jsonl"], "license": "CC0-1.0"}],
            "policy": {"languages": "all", "licenses": {"allow": ["CC0-1.0"]}, "quality": {"enabled": False}},
        }))
        result = run_moisson(folder / "sources.yaml", tmp_path / data_name)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "check corpus_ids_unique          passed" in result.stdout
        assert "check warehouse_matches_corpus   passed" in result.stdout

    own = tmp_path / "data[1]"
    published = read_frame(parts(own / "corpus"))
    assert sorted(published["id"].to_list()) == sorted(published["id"].unique().to_list()) and published.height == 2
    assert set(published["text"]) == set(runs["data[1]"]) and published["url"].str.contains("/own-/").all()
    with warehouse(own) as con:
        assert con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'kept') FROM documents").fetchone() == (2, 2)
        assert con.execute("SELECT added_to_corpus FROM runs").fetchall() == [(2,)]
    with warehouse(tmp_path / "data1") as con:  # and the other directory was left alone
        assert con.execute("SELECT count(*) FROM corpus").fetchone()[0] == 3
