"""One pass over a source: the raw stage file gets every record, the workers each distinct payload once."""

import os
from datetime import datetime, timezone

import polars as pl
import pytest

from moisson.config import load_config
from moisson.single_pass import WRITE_EVERY, harvest, previous_harvest, stage_payloads
from moisson.workers import INLINE_BELOW, Outcome
from sources import input_fingerprint
from sources.records import RawRecord, ReadFailure, ReadStats

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def record(key: str, text: str) -> RawRecord:
    return RawRecord("src", "files", key, f"dump.jsonl:{key}", "text", text.encode(), WHEN, url=f"https://example.org/{key}")


def shout(item: tuple) -> dict:
    payload = item[0]
    if payload == b"bad":
        raise ValueError("cannot read this one")
    return {"text": payload.decode().upper()}


def source(count: int) -> list:
    items = [record(str(n), f"text {n % (count // 2)}") for n in range(count)]  # every payload twice
    items.insert(3, ReadFailure("src", "dump.jsonl:3b", "harvest", "JSONDecodeError", "line 4 is not JSON"))
    items.append(items[0])  # the same record read again
    items.append(record("bad", "bad"))
    return items


@pytest.mark.parametrize("workers", [1, 2])
def test_every_record_is_written_and_each_payload_worked_once(tmp_path, workers):
    count = max(2 * INLINE_BELOW, WRITE_EVERY + 10)  # a pool, and more than one row group
    stats, stage = ReadStats(), tmp_path / "stages" / "raw.parquet"
    result = harvest(source(count), stats, stage, tmp_path / "tmp", work=shout, budget_s=5, workers=workers)

    written = pl.read_parquet(stage)
    assert written.height == count + 1 and written["record_key"].n_unique() == count + 1
    assert written.filter(pl.col("record_key") == "7")["payload"].item() == b"text 7"
    assert result.records.columns == [c for c in written.columns if c != "payload"]
    assert result.records["id"].to_list() == written["id"].to_list()
    assert stats.skipped["repeated_record"] == 1
    assert [f.record for f in result.failures] == ["dump.jsonl:3b"]

    assert len(result.outcomes) == count // 2 + 1  # distinct payloads only
    by_key = dict(zip(written["record_key"], written["content_sha256"]))
    assert result.outcomes[by_key["5"]].value == {"text": "TEXT 5"}
    assert result.outcomes[by_key["bad"]].error_class == "ValueError"


def test_without_work_the_records_are_only_written(tmp_path):
    result = harvest(source(10), ReadStats(), tmp_path / "raw.parquet", tmp_path / "tmp")
    assert result.outcomes is None and result.records.height == 11


def test_a_source_that_breaks_midway_leaves_no_stage_file(tmp_path):
    def broken():
        yield record("1", "one")
        raise OSError("disk gone")

    stage = tmp_path / "raw.parquet"
    with pytest.raises(OSError):
        harvest(broken(), ReadStats(), stage, tmp_path / "tmp", work=shout, workers=1)
    assert not stage.exists() and not list((tmp_path / "tmp").iterdir())


def test_payloads_whose_outcome_is_known_do_not_go_to_the_workers(tmp_path):
    items = [record(str(n), f"text {n}") for n in range(6)]
    digests = [item.content_sha256 for item in items]
    earlier = Outcome(value={"text": "FROM AN EARLIER RUN"})
    known = {digests[1]: earlier, digests[4]: earlier, "digest of a payload this source no longer has": earlier}
    worked: list[bytes] = []

    def work(item: tuple) -> dict:
        worked.append(item[0])
        return shout(item)

    result = harvest(items, ReadStats(), tmp_path / "raw.parquet", tmp_path / "tmp", work=work, workers=1, known=known)
    assert sorted(worked) == [b"text 0", b"text 2", b"text 3", b"text 5"]
    assert set(result.outcomes) == set(digests)  # the known ones included, the stale one left out
    assert result.outcomes[digests[4]] is earlier and result.outcomes[digests[5]].value == {"text": "TEXT 5"}


def test_a_pass_over_unchanged_inputs_is_taken_from_its_stage_file(tmp_path):
    stage, items = tmp_path / "raw.parquet", [record(str(n), f"text {n}") for n in range(5)]
    stats = ReadStats(files=1, records=7)
    stats.skipped["warc_request"] = 2
    first = harvest(items, stats, stage, tmp_path / "tmp", inputs="inputs-1")
    records, stored = previous_harvest(stage, "inputs-1")
    assert records.equals(first.records) and stored == stats
    assert previous_harvest(stage, "inputs-2") is None  # a file changed, or a setting
    assert previous_harvest(stage, None) is None  # a source that cannot tell (a portal): always read
    assert previous_harvest(tmp_path / "never-written.parquet", "inputs-1") is None
    assert stage_payloads(stage, [items[3].content_sha256])["payload"].to_list() == [b"text 3"]


def test_a_pass_with_failures_is_read_again(tmp_path):
    stage = tmp_path / "raw.parquet"
    harvest(source(10), ReadStats(), stage, tmp_path / "tmp", inputs="inputs-1")
    assert previous_harvest(stage, "inputs-1") is None  # its failures are retried by reading the source


def test_the_input_fingerprint_follows_the_files_the_settings_and_stays_none_for_what_must_be_read(tmp_path):
    (tmp_path / "archives").mkdir()
    archive = tmp_path / "archives" / "a.warc.gz"
    archive.write_bytes(b"not read here")
    sources = tmp_path / "sources.yaml"

    def fingerprints(license: str = "CC0-1.0") -> dict[str, str | None]:
        sources.write_text(f"""
sources:
  - {{name: local, kind: warc, paths: ["archives/*.warc.gz"], license: {license}}}
  - {{name: remote, kind: warc, paths: ["https://archive.example.org/a.warc.gz"]}}
  - {{name: portal, kind: ckan, url: "https://data.example.org"}}
policy: {{languages: [fr], licenses: {{allow: [CC0-1.0]}}}}
""")
        config = load_config(sources)
        return {name: input_fingerprint(config, name) for name in ("local", "remote", "portal")}

    first = fingerprints()
    assert first["local"] is not None and first["remote"] is None and first["portal"] is None
    assert fingerprints() == first
    assert fingerprints(license="CC-BY-4.0")["local"] != first["local"]  # a setting of the source
    os.utime(archive, ns=(archive.stat().st_atime_ns, archive.stat().st_mtime_ns + 1))
    touched = fingerprints()["local"]
    assert touched != first["local"]
    (tmp_path / "archives" / "b.warc.gz").write_bytes(b"")
    assert fingerprints()["local"] != touched  # a new file
