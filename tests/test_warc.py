"""WARC reading against the real files in ../shared/data/warc and archives written here with warcio."""

import io
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from sources.records import RawRecord, ReadFailure, ReadStats
from sources.warc import parse_warc_date, read_warc_file

PAGE = "<html lang='en'><body><p>Page number {n} with enough text to matter.</p></body></html>"


def read(path: Path):
    stats = ReadStats()
    items = list(read_warc_file(path, "test", stats, 1 << 20, path.name))
    return [i for i in items if isinstance(i, RawRecord)], [i for i in items if isinstance(i, ReadFailure)], stats


def write_archive(path: Path, pages: int, gzip: bool = True, variant: int = 0) -> list[int]:
    """A WARC of `pages` HTML responses plus one request and one image; returns each page's offset. The same
    `variant` gives the same bytes (record ids and dates fixed), so a test that damages them is repeatable."""
    offsets = []

    def fixed(n: object) -> dict[str, str]:
        return {"WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{variant}/{n}')}>",
                "WARC-Date": "2026-01-01T00:00:00Z"}

    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzip)
        for n in range(pages):
            offsets.append(handle.tell())
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            record = writer.create_warc_record(f"https://example.org/{n}", "response", warc_headers_dict=fixed(n),
                                               payload=io.BytesIO(PAGE.format(n=n).encode()), http_headers=headers)
            writer.write_record(record)
        image = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("https://example.org/a.png", "response", warc_headers_dict=fixed("png"),
                                                      payload=io.BytesIO(b"\x89PNG...."), http_headers=image))
        writer.write_record(writer.create_warc_record("https://example.org/0", "request", warc_headers_dict=fixed("request"),
                                                      payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
    return offsets


@pytest.mark.parametrize("gzip", [True, False])
def test_reads_pages_and_counts_what_it_skips(tmp_path, gzip):
    path = tmp_path / ("a.warc.gz" if gzip else "a.warc")
    write_archive(path, 3, gzip=gzip)
    records, failures, stats = read(path)
    assert [r.url for r in records] == [f"https://example.org/{n}" for n in range(3)]
    assert all(r.content_type == "html" and r.charset == "utf-8" for r in records)
    assert records[1].payload == PAGE.format(n=1).encode()
    assert failures == [] and stats.skipped == {"not_html_or_text": 1, "request": 1}


@pytest.mark.parametrize("variant", range(100))
def test_a_corrupt_record_in_the_middle_is_reported_and_the_rest_is_read(tmp_path, variant):
    """Zeros inside page 1's deflate stream: mostly an inflate error, but for some bytes (9 of these 100 variants
    here) the member still inflates, into the members after it, as a record with a binary header: that record is
    reported too, never trusted, so pages 2 and 3 are not swallowed by it."""
    path = tmp_path / "broken.warc.gz"
    offsets = write_archive(path, 4, variant=variant)
    data = bytearray(path.read_bytes())
    data[offsets[1] + 20 : offsets[1] + 40] = b"\x00" * 20  # inside the deflate stream of page 1
    path.write_bytes(bytes(data))
    records, failures, _ = read(path)
    assert [r.url for r in records] == ["https://example.org/0", "https://example.org/2", "https://example.org/3"]
    assert len(failures) == 1
    assert failures[0].record == f"broken.warc.gz@{offsets[1]}" and failures[0].source == "test"


def test_a_truncated_archive_keeps_every_complete_record(tmp_path):
    path = tmp_path / "cut.warc.gz"
    offsets = write_archive(path, 3)
    path.write_bytes(path.read_bytes()[: offsets[2] + 30])
    records, failures, _ = read(path)
    assert [r.url for r in records] == ["https://example.org/0", "https://example.org/1"]
    assert len(failures) == 1 and failures[0].record == f"cut.warc.gz@{offsets[2]}"


def test_a_file_that_is_not_an_archive_is_one_clear_failure(tmp_path):
    path = tmp_path / "notes.warc.gz"
    path.write_bytes(b"just some text, not a WARC\n" * 10)
    records, failures, _ = read(path)
    assert records == [] and failures[0].error_class == "NotAWebArchive" and failures[0].record == "notes.warc.gz@0"
    (tmp_path / "empty.warc").write_bytes(b"")
    assert read(tmp_path / "empty.warc")[1][0].error_class == "NotAWebArchive"


def test_warc_dates_degrade_gracefully():
    assert parse_warc_date("2026-03-01T10:00:00Z") == datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
    assert parse_warc_date("2020-08-04T10:13:27.123456Z").microsecond == 123456
    assert parse_warc_date("2008-10-294T05:21:46-0700") == datetime(2008, 10, 29, tzinfo=timezone.utc)
    assert parse_warc_date(None).year == 1970


# Real archives: (file, html records, text records, a skipped kind that must be counted)
REAL = [
    ("chatnoir-eu_chatnoir-resiliparse/resiliparse_cc-main-2020-34_sample.warc.gz", 16, 0, ("request", 17)),
    ("webrecorder_pywb/pywb_iana.warc.gz", 16, 0, ("revisit", 123)),
    ("webrecorder_warcio/warcio_example.warc", 1, 0, ("revisit", 1)),
    ("webrecorder_warcio/warcio_example-iana.org-chunked.warc", 1, 0, ("request", 1)),
    ("commoncrawl_whirlwind-python/commoncrawl_whirlwind.warc.wet.gz", 0, 1, ("warcinfo", 1)),
    ("openzim_warc2zim/warc2zim_kiwix-with-redirects_warc1.1.warc.gz", 3, 0, ("http_status_not_2xx", 3)),
    ("chatnoir-eu_chatnoir-resiliparse/resiliparse_clueweb09-quirk_warc0.18.warc.gz", 29, 0, ("warcinfo", 1)),
    ("webrecorder_warcio/warcio_example.arc.gz", 1, 0, ("warcinfo", 1)),
]


@pytest.mark.parametrize("name,html,text,skipped", REAL, ids=[r[0].split("/")[-1] for r in REAL])
def test_real_archives(shared_data, tmp_path, name, html, text, skipped):
    path = tmp_path / Path(name).name
    shutil.copyfile(shared_data / "warc" / name, path)
    records, failures, stats = read(path)
    assert failures == []
    assert sum(r.content_type == "html" for r in records) == html
    assert sum(r.content_type == "text" for r in records) == text
    assert stats.skipped[skipped[0]] == skipped[1]


def test_chunked_body_is_dechunked(shared_data, tmp_path):
    path = tmp_path / "chunked.warc"
    shutil.copyfile(shared_data / "warc/webrecorder_warcio/warcio_example-iana.org-chunked.warc", path)
    (record,), _, _ = read(path)
    assert record.payload.lstrip().lower().startswith(b"<!doctype html>") and record.payload.rstrip().endswith(b"</html>")


@pytest.mark.parametrize("name,expected", [
    ("warcio_example-bad-non-chunked.warc.gz", [("@0", "ArchiveLoadFailed")]),
    ("warcio_example-wrong-chunks.warc.gz", [("@0", "TruncatedRecord"), ("@516", "ArchiveLoadFailed")]),
])
def test_broken_real_archives_fail_clearly(shared_data, tmp_path, name, expected):
    path = tmp_path / name
    shutil.copyfile(shared_data / "warc/broken" / name, path)
    records, failures, _ = read(path)
    assert records == []
    assert [(f.record, f.error_class) for f in failures] == [(name + at, cls) for at, cls in expected]


# A record header with one huge line: warcio's readline gathered all of it (a 1 GiB line in a 1 MB .warc.gz took
# 3.1 GiB of memory). Read in a child process so its peak memory is its own.
MEASURE_READ = """
import json, resource, sys
from pathlib import Path
from sources.records import RawRecord, ReadStats
from sources.warc import read_warc_file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
items = list(read_warc_file(Path(sys.argv[1]), "test", ReadStats(), 1 << 20, "long.warc.gz"))
print(json.dumps({"grew_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "urls": [i.url for i in items if isinstance(i, RawRecord)],
                  "failures": [[i.record, i.error_class, i.message] for i in items if not isinstance(i, RawRecord)]}))
"""


def test_a_header_line_of_256_mib_costs_little_memory_and_only_its_record(tmp_path):
    import json
    import subprocess
    import sys

    from hostile_archives import long_header_warc

    data, offset = long_header_warc(256)
    assert len(data) < 400_000
    path = tmp_path / "long.warc.gz"
    path.write_bytes(data)
    child = subprocess.run([sys.executable, "-c", MEASURE_READ, str(path)], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[1], timeout=600)
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout)
    assert seen["urls"] == ["https://example.org/before", "https://example.org/after"]
    assert seen["failures"] == [[f"long.warc.gz@{offset}", "RecordHeaderTooLarge",
                                 "a header line longer than 65536 bytes; the record is skipped"]]
    assert seen["grew_kib"] < 64 << 10, f"reading grew the process by {seen['grew_kib'] >> 10} MiB"


def test_long_header_lines_and_blocks_in_a_plain_warc_are_skipped_and_the_reader_resyncs(tmp_path):
    from sources.warc import MAX_HEADER_BLOCK, MAX_HEADER_LINE

    write_archive(tmp_path / "good.warc", 1, gzip=False)
    good = (tmp_path / "good.warc").read_bytes()
    long_line = b"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Target-URI: https://example.org/" + b"a" * (MAX_HEADER_LINE + 10)
    filler = (b"X-Filler: " + b"b" * 1000 + b"\r\n") * (MAX_HEADER_BLOCK // 1000 + 10)  # short lines, too many
    many_lines = b"WARC/1.0\r\nWARC-Type: resource\r\n" + filler
    path = tmp_path / "mixed.warc"
    path.write_bytes(good + long_line + b"\r\nContent-Length: 0\r\n\r\n\r\n\r\n" + good + many_lines
                     + b"Content-Length: 0\r\n\r\n\r\n\r\n" + good)
    records, failures, _ = read(path)
    assert [r.url for r in records] == ["https://example.org/0"] * 3
    assert [f.error_class for f in failures] == ["RecordHeaderTooLarge"] * 2
    assert failures[0].record == f"mixed.warc@{len(good)}" and "in all" in failures[1].message
