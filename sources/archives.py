"""Safe unpacking of zip and tar resources, in memory, within limits.

Why so careful: an archive from a third-party catalogue can be a decompression bomb (a few
kilobytes that expand to terabytes), or hold entries named `../../etc/passwd`, absolute paths or
symlinks meant to escape the folder it is unpacked into. Members are therefore never written to a
path taken from the archive: they are read into memory, within a count, a total size and a ratio
limit, and stored by their hash in the raw store. A bad member is refused (named in the failure);
a limit crossed stops the archive.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath


class ArchiveRefused(Exception):
    """The archive, or one member, is outside the limits or unsafe; the message says which and why."""

    member: str | None = None  # the refused member's name as written in the archive; None for the whole archive


@dataclass(frozen=True)
class Member:
    name: str
    payload: bytes


@dataclass(frozen=True)
class Limits:
    max_entries: int = 1000
    max_total_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 100.0


def is_archive(payload: bytes) -> str | None:
    """'zip' or 'tar' when the bytes are one, whatever the catalogue said."""
    if payload[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:*") as archive:
            archive.next()
        return "tar"
    except (tarfile.TarError, EOFError, OSError, ValueError):
        return None


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
    total = 0
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
            with archive.open(info) as handle:
                data = handle.read(limits.max_total_bytes - total + 1)
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


def _unpack_tar(payload: bytes, limits: Limits) -> Iterator[Member | ArchiveRefused]:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(payload), mode="r:*")
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
                    raise ArchiveRefused(f"member {name!r} is not a regular file (link or device)")
            except ArchiveRefused as refused:
                refused.member = info.name
                yield refused
                continue
            total += info.size
            _check_totals(total, len(payload), limits)
            handle = archive.extractfile(info)
            yield Member(name, handle.read(info.size) if handle else b"")


def _check_totals(total: int, compressed: int, limits: Limits) -> None:
    if total > limits.max_total_bytes:
        raise ArchiveRefused(f"uncompressed size {total} bytes exceeds the limit of {limits.max_total_bytes}")
    if compressed and total / compressed > limits.max_ratio and total > 1024 * 1024:
        raise ArchiveRefused(f"expands {total / compressed:.0f}x (to {total} bytes), more than the ratio limit of "
                             f"{limits.max_ratio:.0f}: a decompression bomb")
