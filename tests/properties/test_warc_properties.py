"""WARC reading of files written by others: any bytes give records and failures, never an exception or a hang."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from sources.records import RawRecord, ReadFailure, ReadStats
from sources.warc import parse_warc_date, read_warc_file


def archive(pages: list[bytes], gzip: bool) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip)
    for n, payload in enumerate(pages):
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(f"https://x.example/{n}", "response", payload=io.BytesIO(payload),
                                                      http_headers=headers))
    return out.getvalue()


def damaged(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data[: max(0, len(data) - cut)])
    for position, value in flips:
        if buffer:
            buffer[position % len(buffer)] = value
    return bytes(buffer)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pages=st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=4), gzip=st.booleans(),
       cut=st.integers(0, 300), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4))
def test_any_damage_yields_records_and_failures_only(tmp_path, pages, gzip, cut, flips):
    path = tmp_path / ("a.warc.gz" if gzip else "a.warc")
    path.write_bytes(damaged(archive(pages, gzip), cut, flips))
    stats = ReadStats()
    items = list(read_warc_file(path, "s", stats, 1 << 16, path.name))
    assert all(isinstance(i, (RawRecord, ReadFailure)) for i in items)
    assert stats.records == sum(isinstance(i, RawRecord) for i in items) <= len(pages)
    if not cut and not flips:
        assert [i.payload for i in items] == pages


@given(value=st.none() | st.text(max_size=40))
def test_any_warc_date_is_an_aware_datetime(value):
    assert parse_warc_date(value).tzinfo is not None
