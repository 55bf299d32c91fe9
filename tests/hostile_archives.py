"""Hostile archives, small on disk and huge once decompressed, built in memory for the tests and the faults report.

Why built rather than stored: each is a few kilobytes of compressed data whose cost is in what it expands to,
and building it from repeated compressed streams (a gzip member or a bzip2 stream of zeros, written once and
concatenated) takes a fraction of a second for gigabytes of expanded data.
"""

from __future__ import annotations

import bz2
import io
import tarfile
import zlib

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

MIB = 1 << 20
ZEROS_UNIT = 16 * MIB  # one bzip2 stream of this many zeros, repeated: about 50 bytes each


def good_record(url: str, text: str) -> bytes:
    """One gzip member holding a sound WARC response record with an HTML page."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    page = f"<html><body><p>{text}</p></body></html>".encode()
    writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(page), http_headers=headers))
    return out.getvalue()


def long_header_record(line_mib: int) -> bytes:
    """One gzip member whose WARC header holds a line of `line_mib` MiB of spaces (about 1 KB compressed per MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://example.org/long")]
    spaces = b" " * MIB
    parts += [packer.compress(spaces) for _ in range(line_mib)]
    parts += [packer.compress(b"\r\nContent-Length: 0\r\n\r\n\r\n\r\n"), packer.flush()]
    return b"".join(parts)


def long_header_warc(line_mib: int) -> tuple[bytes, int]:
    """A .warc.gz: a good page, a record with a `line_mib` MiB header line, a good page; and the bad record's offset."""
    before = good_record("https://example.org/before", "The page before the long header.")
    after = good_record("https://example.org/after", "The page after the long header.")
    return before + long_header_record(line_mib) + after, len(before)


def _header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.GNU_FORMAT)


def tar_bz2_bomb(member_mib: int) -> bytes:
    """A .tar.bz2 of a few kilobytes: three members unpacking must refuse (a `..` path, an absolute path, a
    member of an unknown type), each of `member_mib` MiB of zeros (a multiple of 16), then a good `ok.txt`.

    Made of bzip2 streams one after the other (tar readers read them as one): the tar headers, then one
    stream of 16 MiB of zeros repeated, so gigabytes of member data cost a second to build.
    """
    assert member_mib % (ZEROS_UNIT // MIB) == 0, "member_mib must be a multiple of 16"
    zeros = bz2.compress(bytes(ZEROS_UNIT), 9)
    repeats = member_mib * MIB // ZEROS_UNIT
    parts = []
    for name, kind in (("../escape.txt", tarfile.REGTYPE), ("/etc/absolute.txt", tarfile.REGTYPE),
                       ("odd-member", b"Q")):  # 'Q': no tar type; tarfile skips its data as a file's
        parts.append(bz2.compress(_header(name, member_mib * MIB, kind)))
        parts.extend([zeros] * repeats)
    ok = _header("ok.txt", 2) + b"ok".ljust(tarfile.BLOCKSIZE, b"\0") + bytes(2 * tarfile.BLOCKSIZE)
    parts.append(bz2.compress(ok))
    return b"".join(parts)
