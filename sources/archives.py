"""Safe unpacking of zip and tar resources, in memory, within limits.

Why so careful: an archive from a third-party catalogue can be a decompression bomb (a few
kilobytes that expand to terabytes), or hold entries named `../../etc/passwd`, absolute paths or
symlinks meant to escape the folder it is unpacked into. Members are therefore never written to a
path taken from the archive: they are read into memory, within a count, a total size and a ratio
limit, and stored by their hash in the raw store. A bad member is refused (named in the failure);
a limit crossed stops the archive.

A compressed tar is one stream: skipping a member still decompresses its data. So every byte of a
tar, kept, refused or of an unknown type, is decompressed here (`TarStream`) and counted against
the total and ratio limits, and the time spent decompressing against a budget (`max_seconds`).
"""

from __future__ import annotations

import bz2
import io
import lzma
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

CHUNK = 64 << 10  # bytes decompressed per step: what one check of the limits may overshoot by
COMPRESSIONS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))  # what tarfile's "r:*" reads
BOMB_FLOOR = 1 << 20  # below this many bytes, no ratio is a bomb (a tiny, very compressible tar is fine)


class ArchiveRefused(Exception):
    """The archive, or one member, is outside the limits or unsafe; the message says which and why."""

    member: str | None = None  # the refused member's name as written in the archive; None for the whole archive


class OverBudget(ArchiveRefused):
    """The time budget is spent: the whole archive stops, not just the member being read."""


@dataclass(frozen=True)
class Member:
    name: str
    payload: bytes


@dataclass(frozen=True)
class Limits:
    max_entries: int = 1000
    max_total_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 100.0
    max_seconds: float = 30.0  # time spent decompressing one archive


class Clock:
    """Seconds spent decompressing one archive, against its budget; time the caller spends between members
    (storing them, say) is not charged."""

    def __init__(self, budget: float):
        self.budget, self.spent = budget, 0.0

    def charge(self, started: float) -> None:
        self.spent += time.monotonic() - started
        if self.spent > self.budget:
            raise OverBudget(f"unpacking took more than its budget of {self.budget:g} s (limit max_seconds)")


def is_archive(payload: bytes) -> str | None:
    """'zip' or 'tar' when the bytes are one, whatever the catalogue said: a tar when its first 512 bytes, once
    decompressed, are a tar header with a sound checksum (only those bytes are decompressed)."""
    if payload[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    try:
        head = TarStream(payload, Limits(max_total_bytes=CHUNK)).read(tarfile.BLOCKSIZE)
        tarfile.TarInfo.frombuf(head, tarfile.ENCODING, "surrogateescape")
    except (ArchiveRefused, tarfile.TarError, EOFError, OSError, ValueError, zlib.error, lzma.LZMAError):
        return None
    return "tar"


def safe_member_name(name: str) -> str:
    """The member name if it stays inside the archive's own folder; raise ArchiveRefused otherwise."""
    if not name or "\x00" in name:
        raise ArchiveRefused(f"member with an empty or NUL-containing name: {name!r}")
    unified = name.replace("\\", "/")
    path = PurePosixPath(unified)
    if path.is_absolute() or (len(unified) > 1 and unified[1] == ":"):
        raise ArchiveRefused(f"member {name!r} has an absolute path")
    if ".." in path.parts:
        raise ArchiveRefused(f"member {name!r} climbs out of the archive ('..')")
    return unified


def unpack(payload: bytes, kind: str, limits: Limits) -> Iterator[Member | ArchiveRefused]:
    """Regular-file members of a zip or tar, with refusals inline; raise ArchiveRefused when a global limit is crossed."""
    if kind == "zip":
        yield from _unpack_zip(payload, limits)
    else:
        yield from _unpack_tar(payload, limits)


def _unpack_zip(payload: bytes, limits: Limits) -> Iterator[Member | ArchiveRefused]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveRefused(f"not a readable zip: {exc}") from None
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise ArchiveRefused(f"{len(infos)} entries, more than the limit of {limits.max_entries}")
    declared = sum(info.file_size for info in infos)
    _check_totals(declared, len(payload), limits)
    total, clock = 0, Clock(limits.max_seconds)
    for info in infos:
        if info.is_dir():
            continue
        try:
            name = safe_member_name(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ArchiveRefused(f"member {name!r} is a symlink")
            if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
                raise ArchiveRefused(f"member {name!r} expands {info.file_size / info.compress_size:.0f}x, "
                                     f"more than the ratio limit of {limits.max_ratio:.0f}")
            data = _zip_member_bytes(archive, info, limits.max_total_bytes - total + 1, clock)
        except OverBudget:
            raise
        except ArchiveRefused as refused:
            refused.member = info.filename
            yield refused
            continue
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
            refused = ArchiveRefused(f"member {info.filename!r} unreadable: {exc}")
            refused.member = info.filename
            yield refused
            continue
        total += len(data)
        _check_totals(total, len(payload), limits)
        yield Member(name, data)


def _zip_member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, most: int, clock: Clock) -> bytes:
    """At most `most` bytes of a member, decompressed a chunk at a time so the time budget can stop it."""
    chunks, got = [], 0
    with archive.open(info) as handle:
        while got < most:
            started = time.monotonic()
            chunk = handle.read(min(CHUNK, most - got))
            clock.charge(started)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    return b"".join(chunks)


def _unpack_tar(payload: bytes, limits: Limits) -> Iterator[Member | ArchiveRefused]:
    stream = TarStream(payload, limits)
    try:  # "r|": read forward through `stream`, so every byte read or skipped is counted
        archive = tarfile.open(fileobj=stream, mode="r|")
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise ArchiveRefused(f"not a readable tar: {exc}") from None
    total, entries = 0, 0
    with archive:
        while True:
            try:
                info = archive.next()
            except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
                raise ArchiveRefused(f"tar cut or corrupt after {entries} entries: {exc}") from None
            if info is None:
                return
            entries += 1
            if entries > limits.max_entries:
                raise ArchiveRefused(f"more than the limit of {limits.max_entries} entries")
            if info.isdir():
                continue
            try:
                name = safe_member_name(info.name)
                if not info.isfile():
                    kind = "of an unknown type" if info.type not in tarfile.SUPPORTED_TYPES else "a link or device"
                    raise ArchiveRefused(f"member {name!r} is not a regular file ({kind})")
            except ArchiveRefused as refused:
                refused.member = info.name
                yield refused
                continue
            total += info.size
            _check_totals(total, len(payload), limits)
            yield Member(name, _member_bytes(archive, info))


def _member_bytes(archive: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    try:
        handle = archive.extractfile(info)
        return handle.read(info.size) if handle else b""
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise ArchiveRefused(f"member {info.name!r} cut or corrupt: {exc}") from None


class TarStream:
    """A tar's bytes, decompressed forward (gzip, bzip2, xz or none) as tarfile reads or skips them.

    Why not tarfile's own decompression: skipping a refused or unknown member decompresses its data all the
    same, uncounted and unbounded in time (a 6.6 KB .tar.bz2 cost 31 s of CPU). Here each step decompresses
    at most CHUNK bytes, counts them against `max_total_bytes` and `max_ratio`, and charges its time to the
    archive's budget, so a bomb stops after a bounded number of bytes, whatever tarfile does with them.
    """

    def __init__(self, payload: bytes, limits: Limits):
        self._input, self._offset, self._pending = memoryview(payload), 0, b""
        self._kind = next((kind for magic, kind in COMPRESSIONS if payload.startswith(magic)), None)
        self._decompressor = _decompressor(self._kind)
        self._limits, self.clock = limits, Clock(limits.max_seconds)
        self.inflated = 0  # bytes handed to tarfile so far

    def read(self, size: int = -1) -> bytes:
        chunks, got = [], 0
        while size < 0 or got < size:
            started = time.monotonic()
            try:
                chunk = self._step(CHUNK if size < 0 else min(CHUNK, size - got))
            except (zlib.error, lzma.LZMAError, OSError, EOFError) as exc:
                raise ArchiveRefused(f"corrupt {self._kind} data after {self.inflated} bytes: {exc}") from None
            self.clock.charge(started)
            if not chunk:
                break
            self.inflated += len(chunk)
            _check_totals(self.inflated, len(self._input), self._limits, "counting every member, kept, refused or skipped")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _step(self, most: int) -> bytes:
        """Up to `most` decompressed bytes; b'' at the end of the data."""
        if self._decompressor is None:
            data = self._input[self._offset:self._offset + most].tobytes()
            self._offset += len(data)
            return data
        while True:
            if self._decompressor.eof:
                if not self._next_member():
                    return b""
                continue
            data = self._feed()
            if data is None:
                raise self._cut()
            out = self._decompressor.decompress(data, most)
            if self._kind == "gzip":
                self._pending = self._decompressor.unconsumed_tail
            if out:
                return out
            if not data and not self._decompressor.eof:  # given nothing more, gave nothing: the input ended
                raise self._cut()

    def _cut(self) -> ArchiveRefused:
        return ArchiveRefused(f"tar cut or corrupt: its {self._kind} data ends before the end of its stream "
                              f"({self.inflated} bytes decompressed)")

    def _feed(self) -> bytes | None:
        """The input the decompressor needs next: b'' to drain what it holds, None when it needs more and none is left."""
        if self._kind == "gzip":
            if self._pending:
                return self._pending
        elif not self._decompressor.needs_input:
            return b""
        if self._offset >= len(self._input):
            return b"" if self._kind == "gzip" else None  # zlib may still hold the end of a match cut by `most`
        data = self._input[self._offset:self._offset + CHUNK].tobytes()
        self._offset += len(data)
        return data

    def _next_member(self) -> bool:
        """After one compressed stream ends, the next one (gzip members, bzip2 streams, xz streams follow each
        other in one file); False at the end, or when what follows is not a stream of the same kind."""
        start = self._offset - len(self._decompressor.unused_data)
        magic = next(m for m, kind in COMPRESSIONS if kind == self._kind)
        if self._input[start:start + len(magic)].tobytes() != magic:
            return False
        self._offset, self._pending = start, b""
        self._decompressor = _decompressor(self._kind)
        return True


def _decompressor(kind: str | None):
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor()
    return None


def _check_totals(total: int, compressed: int, limits: Limits, counted: str = "") -> None:
    how = f" ({counted})" if counted else ""
    if total > limits.max_total_bytes:
        raise ArchiveRefused(f"uncompressed size {total} bytes exceeds the limit of {limits.max_total_bytes}{how}")
    if compressed and total / compressed > limits.max_ratio and total > BOMB_FLOOR:
        raise ArchiveRefused(f"expands {total / compressed:.0f}x (to {total} bytes), more than the ratio limit "
                             f"of {limits.max_ratio:.0f}: a decompression bomb{how}")
