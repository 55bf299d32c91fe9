"""Shards: a source read archive by archive, each skipped when unchanged, retried alone when it failed, visible
and backfillable in Dagster; the source's records and decisions are those of a whole read.

The end-to-end tests drive the real `moisson run` (real Dagster instance under the data directory, real WARC
files) and then open that instance, as the UI would, to see the `source_shards` partitions."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from e2e import corpus_rows, run_moisson
from moisson.config import load_config
from moisson.layout import DataLayout
from moisson.sharded_harvest import shard_status
from moisson.single_pass import harvest
from sources import ReadStats, read_source
from sources.shards import MAX_SLICE_FILES, SLICE_FILES, partition_key, shard_file, source_shards

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOURCE = "web"
THIRD = "archives/web-third.warc"
PROSE = ("La commune de Valbrune publie chaque mois un bulletin sur la vie des quartiers, les travaux en cours et les "
         "rendez-vous culturels. Ce numéro présente {topic}, les horaires des services municipaux et les projets "
         "votés par le conseil lors de sa dernière séance publique, ouverte à tous les habitants du quartier.")


def third_archive(path: Path, topics: list[str]) -> None:
    """A small WARC of French pages under CC BY 4.0, one per topic."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        for topic in topics:
            body = (f'<html lang="fr"><head><title>{topic}</title><link rel="license" '
                    f'href="https://creativecommons.org/licenses/by/4.0/"></head><body><article><h1>{topic}</h1>'
                    f"<p>{PROSE.format(topic=topic)}</p></article></body></html>").encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            url = f"https://valbrune.example/{topic.replace(' ', '-')}"
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))


def project(root: Path) -> Path:
    """The demo's two archives and a third one, as one `warc` source of three files; returns the sources file."""
    (root / "archives").mkdir(parents=True)
    for name in ("web-sample.warc.gz", "web-extra.warc"):
        shutil.copy(PROJECT_ROOT / "demo" / "archives" / name, root / "archives" / name)
    third_archive(root / THIRD, ["la médiathèque", "le marché couvert"])
    policy = (PROJECT_ROOT / "demo" / "sources.yaml").read_text(encoding="utf-8").split("policy:", 1)[1]
    (root / "sources.yaml").write_text(
        f"sources:\n  - {{name: {SOURCE}, kind: warc, paths: ['archives/*.warc.gz', 'archives/*.warc']}}\n"
        f"policy:{policy}", encoding="utf-8")
    return root / "sources.yaml"


def moisson_run(sources: Path, data: Path) -> None:
    result = run_moisson(sources, data)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def instance(data: Path) -> dg.DagsterInstance:
    """The Dagster instance `moisson run` used (its home is under the data directory)."""
    return dg.DagsterInstance.from_config(str(DataLayout.at(data).dagster_home))


def last_harvest(data: Path) -> dict:
    """The metadata of the source's latest raw_records materialisation, as the UI shows it."""
    with instance(data) as dagster:
        event = dagster.get_latest_materialization_event(dg.AssetKey("raw_records"))
        return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def shard_mtimes(sources: Path, data: Path) -> dict[str, int]:
    config, layout = load_config(sources), DataLayout.at(data)
    return {shard.key: shard_file(layout, SOURCE, shard.key).stat().st_mtime_ns for shard in source_shards(config, SOURCE)}


def decisions(data: Path, stage: str) -> list[dict]:
    """A stage file's rows, in file order, without the columns that say when or by which run they were made."""
    table = pq.read_table(DataLayout.at(data).stage_file(stage, SOURCE))
    return table.drop_columns([name for name in table.column_names if name in ("run_id", "curated_at")]).to_pylist()


def shard_definitions(monkeypatch, sources: Path, data: Path):
    """The project's definitions for this sources file and data directory, imported fresh (the partitions are read
    from the environment at import)."""
    monkeypatch.setenv("MOISSON_SOURCES", str(sources))
    monkeypatch.setenv("MOISSON_DATA_DIR", str(data))
    from test_dagster_definitions import load_definitions

    return load_definitions()


def check_shards(defs, dagster: dg.DagsterInstance) -> dg.AssetCheckEvaluation:
    """Run the `shards_complete` check alone for the source, as its Checks tab does (a run of the check with the
    source's partition tag: a job selecting only a check has no partitions of its own)."""
    from assets.shards import shards_complete

    job = dg.define_asset_job("check_shards", selection=dg.AssetSelection.checks(shards_complete))
    checking = dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=[job], resources=defs.resources)
    result = checking.resolve_job_def("check_shards").execute_in_process(instance=dagster,
                                                                         tags={"dagster/partition": SOURCE})
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def test_a_warc_source_of_three_files_is_three_shards_whose_union_is_the_whole_read(tmp_path):
    sources, data = project(tmp_path), tmp_path / "data"
    config = load_config(sources)
    shards = source_shards(config, SOURCE)
    assert [shard.key for shard in shards] == ["archives/web-extra.warc", "archives/web-sample.warc.gz", THIRD]
    assert all(shard.fingerprint for shard in shards) and len({shard.fingerprint for shard in shards}) == 3

    moisson_run(sources, data)

    with instance(data) as dagster:
        keys = [partition_key(SOURCE, shard.key) for shard in shards]
        assert sorted(dagster.get_dynamic_partitions("source_shards")) == sorted(keys)
        assert dagster.get_materialized_partitions(dg.AssetKey("source_shards")) == set(keys)
    metadata = last_harvest(data)
    assert (metadata["shards"], metadata["shards_read"], metadata["shards_failed"]) == (3, 3, 0)
    # the union is byte for byte what one read of the whole source writes (ids, positions, payloads, order)
    whole = tmp_path / "whole.parquet"
    harvest(read_source(config, SOURCE, ReadStats(), DataLayout.at(data)), ReadStats(), whole, tmp_path / "tmp")
    stage = DataLayout.at(data).stage_file("raw_records", SOURCE)
    union = pq.read_table(stage)
    assert union.num_rows > 20 and union.equals(pq.read_table(whole))

    written = stage.stat().st_mtime_ns
    moisson_run(sources, data)  # the next night, nothing changed: no shard read, the union not even rewritten
    metadata = last_harvest(data)
    assert (metadata["shards_read"], metadata["files_read"], metadata["inputs_unchanged"]) == (0, 0, True)
    assert stage.stat().st_mtime_ns == written


def test_a_changed_archive_is_the_only_shard_read_again_and_the_corpus_is_as_from_scratch(tmp_path):
    sources, data = project(tmp_path), tmp_path / "data"
    moisson_run(sources, data)
    before = shard_mtimes(sources, data)

    third_archive(tmp_path / THIRD, ["la piscine municipale", "le jardin partagé"])
    moisson_run(sources, data)

    after = shard_mtimes(sources, data)
    assert [key for key in before if after[key] != before[key]] == [THIRD]
    metadata = last_harvest(data)
    assert (metadata["shards_read"], metadata["inputs_unchanged"]) == (1, False)
    scratch = tmp_path / "scratch"
    moisson_run(sources, scratch)
    for stage in ("raw_records", "quality_filtered"):  # the same records, ids and decisions as a first read
        assert decisions(data, stage) == decisions(scratch, stage), stage
    assert set(corpus_rows(scratch)) <= set(corpus_rows(data))  # the corpus keeps what earlier runs published
    assert any("piscine" in row[1] for row in corpus_rows(data))

    (tmp_path / "archives" / "web-extra.warc").unlink()  # a shard gone from the source is dropped
    moisson_run(sources, data)
    assert not shard_file(DataLayout.at(data), SOURCE, "archives/web-extra.warc").exists()
    with instance(data) as dagster:
        assert partition_key(SOURCE, "archives/web-extra.warc") not in dagster.get_dynamic_partitions("source_shards")
    assert last_harvest(data)["shards_read"] == 0  # the others unchanged: joined, not read


def test_a_failing_shard_is_retried_alone_reported_incomplete_and_backfilled_as_one_partition(tmp_path, monkeypatch):
    sources, data = project(tmp_path), tmp_path / "data"
    (tmp_path / THIRD).write_bytes(b"this is not a web archive\n" * 10)
    moisson_run(sources, data)
    config, layout = load_config(sources), DataLayout.at(data)
    assert shard_status(config, SOURCE, layout)["failed"] == [THIRD]
    before = shard_mtimes(sources, data)

    moisson_run(sources, data)  # nothing changed: the failed shard, and only it, is read again
    after = shard_mtimes(sources, data)
    assert [key for key in before if after[key] != before[key]] == [THIRD]
    metadata = last_harvest(data)
    assert (metadata["shards_read"], metadata["shards_failed"], metadata["shards_complete"]) == (1, 1, False)
    assert metadata["failed_shards"] == [THIRD]

    defs = shard_definitions(monkeypatch, sources, data)
    third = partition_key(SOURCE, THIRD)
    with instance(data) as dagster:
        assert third not in dagster.get_materialized_partitions(dg.AssetKey("source_shards"))
        [observed] = dagster.fetch_observations(dg.AssetRecordsFilter(asset_key=dg.AssetKey("source_shards"),
                                                                      asset_partitions=[third]), limit=1).records
        assert observed.asset_observation.metadata["failures"].value == 1
        incomplete = check_shards(defs, dagster)
        assert not incomplete.passed and THIRD in incomplete.description and "failed" in incomplete.description

        third_archive(tmp_path / THIRD, ["la médiathèque", "le marché couvert"])  # repaired, then backfilled alone
        result = defs.resolve_job_def("curate_shard").execute_in_process(instance=dagster, partition_key=third)
        assert result.success
        [event] = result.get_asset_materialization_events()
        assert event.partition == third and event.materialization.metadata["read"].value is True
        assert [key for key in before if shard_mtimes(sources, data)[key] != after[key]] == [THIRD]
        assert check_shards(defs, dagster).passed

    moisson_run(sources, data)  # the source's run joins the backfilled shard without reading anything
    metadata = last_harvest(data)
    assert (metadata["shards_read"], metadata["shards_failed"], metadata["shards_complete"]) == (0, 0, True)
    assert any("marché couvert" in row[1] for row in corpus_rows(data))


def test_files_are_sliced_by_their_names_so_one_new_file_changes_one_slice(tmp_path):
    (tmp_path / "notes").mkdir()
    names = [f"note-{index:04d}.txt" for index in range(6 * SLICE_FILES)]
    for name in names:
        (tmp_path / "notes" / name).write_text(f"Note {name}.\n", encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: notes, kind: files, paths: ['notes/*.txt'], license: CC0-1.0}\n"
                       "policy: {languages: [fr], licenses: {allow: [CC0-1.0]}}\n", encoding="utf-8")
    before = source_shards(load_config(sources), "notes")
    assert [path.name for shard in before for path in shard.paths] == names  # in read order, each file once
    assert 1 < len(before) < len(names) and max(len(shard.paths) for shard in before) <= MAX_SLICE_FILES
    assert all(shard.key == f"notes/{shard.paths[0].name}" for shard in before)

    (tmp_path / "notes" / "note-0100b.txt").write_text("Une note de plus.\n", encoding="utf-8")
    after = source_shards(load_config(sources), "notes")
    changed = {shard.key for shard in after} ^ {shard.key for shard in before}
    changed |= {a.key for a in after for b in before if a.key == b.key and a.fingerprint != b.fingerprint}
    assert len(changed) == 1 and len(after) == len(before)


def test_a_source_without_files_is_one_shard_that_says_so(tmp_path):
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: empty, kind: warc, paths: ['nothing/*.warc']}\n"
                       "policy: {languages: [fr], licenses: {allow: [CC0-1.0]}}\n", encoding="utf-8")
    [shard] = source_shards(load_config(sources), "empty")
    assert (shard.key, shard.whole, shard.fingerprint) == ("all", True, None)


def test_a_shard_run_is_tagged_with_its_source_and_the_host_it_harvests(tmp_path):
    from assets.shards import SHARD_PARTITIONS
    from pipelines.run_tags import HOST_TAG, SOURCE_TAG, shard_run_config

    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: portal, kind: ckan, url: 'https://data.example.org/catalogue'}\n"
                       "  - {name: local, kind: warc, paths: ['archives/*.warc']}\n"
                       "policy: {languages: [fr], licenses: {allow: [CC0-1.0]}}\n", encoding="utf-8")
    [shard] = source_shards(load_config(sources), "portal")
    assert (shard.key, shard.whole) == ("all", True)
    tags = shard_run_config(load_config(sources), SHARD_PARTITIONS).tags_for_partition_key_fn
    assert tags(partition_key("portal", "all")) == {SOURCE_TAG: "portal", HOST_TAG: "data.example.org"}
    assert tags(partition_key("local", "archives/a.warc")) == {SOURCE_TAG: "local"}


def test_a_shard_file_unreadable_when_joined_is_quarantined_and_its_shard_read_again(tmp_path):
    from moisson.sharded_harvest import harvest_source

    sources, layout = project(tmp_path), DataLayout.at(tmp_path / "data")
    config = load_config(sources)
    stage, site = layout.stage_file("raw_records", SOURCE), layout.stage_file("site_files", SOURCE)
    first = harvest_source(config, SOURCE, layout, stage, site)
    expected = pq.read_table(stage)
    (tmp_path / "archives" / "web-extra.warc").touch()  # another shard changed: the union is rebuilt
    damaged = shard_file(layout, SOURCE, "archives/web-sample.warc.gz")
    body = bytearray(damaged.read_bytes())
    body[100:2000] = bytes(1900)  # its data pages, not its footer: it still looks read and unchanged
    damaged.write_bytes(bytes(body))

    again = harvest_source(config, SOURCE, layout, stage, site)

    assert sorted(again.shards_read) == ["archives/web-extra.warc", "archives/web-sample.warc.gz"]
    assert pq.read_table(stage).equals(expected) and again.records.equals(first.records)
    assert [path.name for path in (layout.root / "quarantine").rglob("*.parquet*")] != []


def test_a_path_list_is_read_in_slices_of_archives_whose_union_is_the_whole_read(shared_data, tmp_path, monkeypatch):
    import gzip

    from moisson.sharded_harvest import harvest_source
    from portal_server import PortalServer
    from sources import shards as shards_module
    from test_remote_warc import CC_SAMPLE, JWARC_CC, WARC_TYPE, copy, sources_file

    monkeypatch.setattr(shards_module, "REMOTE_SLICE", 1)  # every archive ends a slice: one shard per archive
    archives = [copy(shared_data, tmp_path, CC_SAMPLE), copy(shared_data, tmp_path, JWARC_CC)]
    with PortalServer() as server:
        for archive in archives:
            server.file(f"/data/crawl/{archive.name}", archive.read_bytes(), content_type=WARC_TYPE)
        listing = "".join(f"crawl/{archive.name}\n" for archive in archives)
        paths_url = server.file("/data/warc.paths.gz", gzip.compress(listing.encode()), content_type="application/gzip")
        sources = sources_file(tmp_path, paths=[paths_url], base_url=server.base + "/data")
        config, layout = load_config(sources), DataLayout.at(tmp_path / "data")
        shards = source_shards(config, "remote")
        assert [shard.key for shard in shards] == [f"remote/crawl/{archive.name}" for archive in archives]
        stage, site = layout.stage_file("raw_records", "remote"), layout.stage_file("site_files", "remote")
        sharded = harvest_source(config, "remote", layout, stage, site)
        whole_stats = ReadStats()
        harvest(read_source(config, "remote", whole_stats), whole_stats, tmp_path / "whole.parquet", tmp_path / "tmp")
        assert sharded.shards_read == [shard.key for shard in shards] and sharded.stats == whole_stats

        bounded = source_shards(load_config(sources_file(tmp_path, paths=[paths_url], base_url=server.base + "/data",
                                                         max_archives=1)), "remote")
        assert [(shard.key, shard.over_max_archives) for shard in bounded] == [(shards[0].key, 1)]
        server.file("/data/warc.paths.gz", "crawl/../../etc/passwd\n")  # a bad line: the remote archives as one shard
        assert [shard.key for shard in source_shards(config, "remote")] == ["remote"]
    assert pq.read_table(stage).equals(pq.read_table(tmp_path / "whole.parquet"))


def test_a_remote_archives_shard_key_never_holds_its_user_password_or_query():
    from sources.shards import _archive_name

    assert _archive_name("https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-10/x.warc.gz",
                         "https://data.commoncrawl.org/") == "crawl-data/CC-MAIN-2024-10/x.warc.gz"
    key = _archive_name("https://user:pass@h.example/secret/site.warc.gz?token=abc123", None)
    assert key.startswith("h.example/secret/site.warc.gz~") and "pass" not in key and "abc123" not in key
    assert key != _archive_name("https://h.example/secret/site.warc.gz?token=other", None)


def test_a_file_name_dagster_refuses_in_a_partition_key_still_makes_a_stable_unique_key(tmp_path):
    from dagster._core.definitions.partitions.utils.base import raise_error_on_invalid_partition_key_substring

    (tmp_path / "archives").mkdir()
    for name in ("a...warc", "a\tb.warc", "a_b.warc"):
        third_archive(tmp_path / "archives" / name, ["la médiathèque"])
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: odd, kind: warc, paths: ['archives/*.warc']}\n"
                       "policy: {languages: [fr], licenses: {allow: [CC0-1.0]}}\n", encoding="utf-8")
    keys = [shard.key for shard in source_shards(load_config(sources), "odd")]
    raise_error_on_invalid_partition_key_substring([partition_key("odd", key) for key in keys])
    assert len(set(keys)) == 3 and "archives/a_b.warc" in keys
    assert keys == [shard.key for shard in source_shards(load_config(sources), "odd")]
