"""`warc` sources over http(s): real archives from ../shared/data/warc served on 127.0.0.1 and streamed."""

from __future__ import annotations

import gzip
import io
import shutil
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from moisson.config import ConfigError, load_config
from portal_server import PortalServer
from sources import read_source
from sources.records import RawRecord, ReadFailure, ReadStats
from sources.remote_warc import archive_url
from sources.warc import read_warc_file

CC_SAMPLE = "chatnoir-eu_chatnoir-resiliparse/resiliparse_cc-main-2020-34_sample.warc.gz"
JWARC_CC = "iipc_jwarc/jwarc_cc.warc.gz"
WARC_TYPE = "application/warc"


def sources_file(tmp_path: Path, **source) -> Path:
    import yaml

    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({
        "sources": [{"name": "remote", "kind": "warc", "allow_private_addresses": True, **source}],
        "http": {"requests_per_second": 1000, "backoff_seconds": 0.01, "max_retries": 1},
        "policy": {"licenses": {"allow": ["CC0-1.0"]}},
    }), encoding="utf-8")
    return path


def read_remote(sources: Path) -> tuple[list[RawRecord], list[ReadFailure], ReadStats]:
    stats = ReadStats()
    items = list(read_source(load_config(sources), "remote", stats))
    return [i for i in items if isinstance(i, RawRecord)], [i for i in items if isinstance(i, ReadFailure)], stats


def local_records(path: Path) -> list[RawRecord]:
    return [i for i in read_warc_file(path, "remote", ReadStats(), 20 << 20, path.name) if isinstance(i, RawRecord)]


def copy(shared_data: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / Path(name).name
    shutil.copyfile(shared_data / "warc" / name, target)
    return target


def test_an_archive_url_is_streamed_into_the_same_records_as_the_local_file(shared_data, tmp_path):
    archive = copy(shared_data, tmp_path, CC_SAMPLE)
    with PortalServer() as server:
        url = server.file("/crawl/sample.warc.gz", archive.read_bytes(), content_type=WARC_TYPE)
        records, failures, stats = read_remote(sources_file(tmp_path, paths=[url]))
        assert [path for path, _, _ in server.log] == ["/robots.txt", "/crawl/sample.warc.gz"]
    expected = local_records(archive)
    assert failures == [] and stats.files == 1 and len(records) == len(expected) == 16
    assert [(r.record_key, r.content_sha256, r.url) for r in records] == [
        (r.record_key, r.content_sha256, r.url) for r in expected]
    assert [r.locator for r in records] == [r.locator.replace(archive.name, url) for r in expected]


def test_a_path_list_is_joined_to_base_url_and_bounded_by_max_archives(shared_data, tmp_path):
    first, second = copy(shared_data, tmp_path, CC_SAMPLE), copy(shared_data, tmp_path, JWARC_CC)
    listing = f"# two archives and a line that tries to leave the base\ncrawl/{first.name}\n\ncrawl/../../etc/passwd\n/crawl/{second.name}\n"
    with PortalServer() as server:
        server.file(f"/data/crawl/{first.name}", first.read_bytes(), content_type=WARC_TYPE)
        server.file(f"/data/crawl/{second.name}", second.read_bytes(), content_type=WARC_TYPE)
        paths_url = server.file("/data/warc.paths.gz", gzip.compress(listing.encode()), content_type="application/gzip")
        records, failures, stats = read_remote(sources_file(tmp_path, paths=[paths_url], base_url=server.base + "/data"))
        fetched = [path for path, _, _ in server.log if path.endswith(".warc.gz")]
        assert fetched == [f"/data/crawl/{first.name}", f"/data/crawl/{second.name}"]
        bounded, _, bounded_stats = read_remote(sources_file(tmp_path, paths=[paths_url], base_url=server.base + "/data",
                                                              max_archives=1))
    assert len(records) == len(local_records(first)) + len(local_records(second)) and stats.files == 2
    assert [(f.record, f.error_class) for f in failures] == [(f"{paths_url}:4", "BadPathListLine")]
    assert len(bounded) == 16 and bounded_stats.files == 1 and bounded_stats.skipped["over_max_archives"] == 1


def test_a_local_path_list_names_remote_archives(shared_data, tmp_path):
    archive = copy(shared_data, tmp_path, JWARC_CC)
    with PortalServer() as server:
        server.file(f"/cc/{archive.name}", archive.read_bytes(), content_type=WARC_TYPE)
        (tmp_path / "mine.paths").write_text(f"cc/{archive.name}\n", encoding="utf-8")
        records, failures, _ = read_remote(sources_file(tmp_path, paths=["mine.paths"], base_url=server.base))
    assert failures == [] and len(records) == len(local_records(archive)) > 0
    assert records[0].locator.startswith(f"{server.base}/cc/{archive.name}@")


def big_warc(pages: int) -> bytes:
    """An uncompressed WARC of repetitive pages: large once decoded, tiny gzip-encoded on the wire."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False)
    for n in range(pages):
        body = f"<html><body><p>Page {n}. {'Rivers and bridges of the valley. ' * 600}</p></body></html>".encode()
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(f"https://example.org/{n}", "response",
                                                      payload=io.BytesIO(body), http_headers=headers))
    return out.getvalue()


def test_the_streamed_size_cap_stops_an_archive_after_the_records_before_it(tmp_path):
    archive = big_warc(100)  # about 2 MB decoded
    assert len(archive) > 2 << 20 - 1 and len(gzip.compress(archive)) < 1 << 20
    with PortalServer() as server:
        url = server.file("/big.warc", gzip.compress(archive), content_type=WARC_TYPE, headers={"Content-Encoding": "gzip"})
        records, failures, _ = read_remote(sources_file(tmp_path, paths=[url], max_archive_mb=1))
    assert 0 < len(records) < 100
    assert [f.error_class for f in failures] == ["TooLarge"] and failures[0].record.startswith(f"{url}@")
    assert "not read" in failures[0].message


def test_a_declared_size_over_the_cap_is_refused_before_reading(tmp_path):
    with PortalServer() as server:
        url = server.file("/big.warc", big_warc(100), content_type=WARC_TYPE)
        records, failures, stats = read_remote(sources_file(tmp_path, paths=[url], max_archive_mb=1))
    assert records == [] and [(f.record, f.error_class) for f in failures] == [(f"{url}@0", "TooLarge")]
    assert stats.failures == 1


def test_a_broken_remote_archive_is_reported_with_its_url_and_offset(shared_data, tmp_path):
    archive = copy(shared_data, tmp_path, "broken/warcio_example-bad-non-chunked.warc.gz")
    with PortalServer() as server:
        url = server.file("/" + archive.name, archive.read_bytes(), content_type=WARC_TYPE)
        _, failures, _ = read_remote(sources_file(tmp_path, paths=[url]))
    assert [(f.record, f.error_class) for f in failures] == [(url + "@0", "ArchiveLoadFailed")]


def test_an_archive_cut_short_keeps_the_records_before_the_cut(shared_data, tmp_path):
    archive = copy(shared_data, tmp_path, CC_SAMPLE)
    cut = archive.read_bytes()[:len(archive.read_bytes()) // 2]
    with PortalServer() as server:
        url = server.file("/cut.warc.gz", cut, content_type=WARC_TYPE)
        records, failures, _ = read_remote(sources_file(tmp_path, paths=[url]))
    assert 0 < len(records) < 16 and len(failures) == 1
    offset = int(failures[0].record.rsplit("@", 1)[1])
    assert failures[0].record.startswith(url + "@") and int(records[-1].locator.rsplit("@", 1)[1]) <= offset < len(cut)


def test_not_a_web_archive_and_private_addresses_are_refused(tmp_path):
    with PortalServer() as server:
        url = server.file("/page.warc.gz", "<html>not an archive</html>")
        _, failures, _ = read_remote(sources_file(tmp_path, paths=[url]))
        assert [f.error_class for f in failures] == ["NotAWebArchive"]
        _, refused, _ = read_remote(sources_file(tmp_path, paths=[url], allow_private_addresses=False))
        assert [f.error_class for f in refused] == ["RefusedAddress"] and len(server.log) == 2  # robots + page


@pytest.mark.parametrize("source,message", [
    ({"paths": ["https://data.commoncrawl.org/warc.paths.gz"]}, "needs base_url"),
    ({"paths": ["archives/*.warc.gz"], "base_url": "https://data.commoncrawl.org/"}, "only used with a path list"),
    ({"paths": ["https://example.org/crawl/*.warc.gz"]}, "globs work on local paths only"),
    ({"paths": ["ftp://example.org/a.warc.gz"]}, "only http(s) URLs"),
    ({"paths": ["x.paths"], "base_url": "file:///etc"}, "not an http(s) URL"),
])
def test_remote_locations_are_validated(tmp_path, source, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(sources_file(tmp_path, **source))


def test_path_list_lines_stay_under_the_base_url():
    assert archive_url("https://data.commoncrawl.org/", "crawl-data/a.warc.gz") == "https://data.commoncrawl.org/crawl-data/a.warc.gz"
    assert archive_url("https://h.example/prefix", "//evil.example/x") == "https://h.example/prefix/evil.example/x"
    for line in ("a/../../b", "a b", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            archive_url("https://h.example/", line)


MEASURE_REMOTE = """
import json, resource, sys
from moisson.config import load_config
from sources import read_source
from sources.portal import http_client  # imported before the measure: read_source imports it on first use
from sources.records import RawRecord, ReadStats
from sources.remote_warc import read_remote_warcs
config = load_config(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
items = list(read_source(config, "remote", ReadStats()))
print(json.dumps({"grew_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "urls": [i.url for i in items if isinstance(i, RawRecord)],
                  "failures": [[i.record, i.error_class, i.message] for i in items if not isinstance(i, RawRecord)]}))
"""


def test_a_header_line_of_256_mib_in_a_remote_archive_costs_little_memory(tmp_path):
    """Streamed, the reader cannot resync: the record before is kept, the failure names the URL and offset."""
    import json
    import subprocess
    import sys

    from hostile_archives import long_header_warc

    data, offset = long_header_warc(256)
    with PortalServer() as server:
        url = server.file("/long.warc.gz", data, content_type=WARC_TYPE)
        child = subprocess.run([sys.executable, "-c", MEASURE_REMOTE, str(sources_file(tmp_path, paths=[url]))],
                               capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=600)
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout)
    assert seen["urls"] == ["https://example.org/before"]
    assert [f[:2] for f in seen["failures"]] == [[f"{url}@{offset}", "RecordHeaderTooLarge"]]
    assert "header line longer than 65536 bytes" in seen["failures"][0][2]
    assert seen["grew_kib"] < 64 << 10, f"reading grew the process by {seen['grew_kib'] >> 10} MiB"
