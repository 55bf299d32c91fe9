"""Fetching resources into the raw store: archives, bombs, robots, refused redirects; lineage on every record."""

from __future__ import annotations

import io
import zipfile

import pytest

from harvest_helpers import config_for, fetch
from pdf_samples import make_pdf
from moisson.layout import DataLayout
from portal_server import PortalServer
from sources.archives import ArchiveRefused, Limits, safe_member_name, unpack
from sources.catalogue import Dataset, Resource


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def dataset(*resources: Resource, licence="CC-BY-4.0") -> Dataset:
    return Dataset(portal="http://portal.test", dataset_id="ds-1", title="A dataset", modified="2026-01-01",
                   license_raw="cc-by-4.0", license=licence, license_verdict="allow", resources=resources)


def source(server) -> dict:
    return {"name": "portal", "kind": "ckan", "url": server.base, "allow_private_addresses": False}


def test_text_archive_members_and_failures_each_carry_their_lineage(tmp_path):
    layout = DataLayout.at(tmp_path)
    bomb = zipped({"bomb.txt": b"\0" * 30_000_000})
    with PortalServer() as server:
        server.file("/robots.txt", "User-agent: *\nDisallow: /closed/\n", content_type="text/plain")
        page = server.file("/a.html", "<html><body><p>Un texte ouvert.</p></body></html>")
        archive = server.file("/docs.zip", zipped({"notes/a.txt": b"first note", "img.png": b"\x89PNG"}),
                              content_type="application/zip")
        bomb_url = server.file("/bomb.zip", bomb, content_type="application/zip")
        closed = server.file("/closed/x.html", "<p>no</p>")
        port = server.base.rsplit(":", 1)[1]
        sneaky = server.file("/sneaky", "", status=302, headers={"Location": f"http://10.0.0.7:{port}/"})
        # served as octet-stream and catalogued as HTML: what it is comes from its bytes
        pdf = server.file("/report", make_pdf([[(72, 700, "Un rapport ouvert.")]]), content_type="application/octet-stream")
        resources = [Resource("r-html", page, format="html"), Resource("r-zip", archive, format="zip"),
                     Resource("r-bomb", bomb_url, format="zip"), Resource("r-closed", closed, format="html"),
                     Resource("r-sneaky", sneaky, format="html"), Resource("r-pdf", pdf, format="html")]
        config = config_for(source(server))
        records, failures, stats = fetch(config, "portal", layout, [dataset(*resources)])
    assert {r.record_key: r.content_type for r in records} == {"ds-1/r-html": "html", "ds-1/r-zip!notes/a.txt": "text",
                                                               "ds-1/r-pdf": "pdf"}
    assert all(r.license == "CC-BY-4.0" and r.locator.startswith("http://portal.test#dataset=ds-1&resource=") for r in records)
    causes = {f.record.split("resource=")[1]: f.error_class for f in failures}
    assert causes == {"r-bomb": "ArchiveRefused", "r-closed": "RobotsDisallowed", "r-sneaky": "RefusedAddress"}
    assert all(f.source == "portal" and f.stage == "fetch" for f in failures)
    assert stats.skipped["archive_member_not_text"] == 1
    stored = list(layout.raw_store_dir.rglob("*"))
    assert any(p.is_file() for p in stored) and all(layout.raw_store_dir in p.parents for p in stored)


def test_deleted_and_non_open_datasets_are_not_fetched(tmp_path):
    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        url = server.file("/a.html", "<p>x</p>")
        config = config_for(source(server))
        gone = Dataset(**{**vars(dataset(Resource("r", url, format="html"))), "deleted": True})
        closed = Dataset(**{**vars(dataset(Resource("r", url, format="html"))), "dataset_id": "nc",
                            "license": "CC-BY-NC-4.0", "license_verdict": "reject"})
        records, failures, stats = fetch(config, "portal", layout, [gone, closed])
        assert server.log == []
    assert records == [] and stats.skipped["deleted_dataset"] == 1 and stats.skipped["licence_rejected_dataset"] == 1


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/../../b", "C:\\windows\\x", "..\\..\\x"])
def test_member_names_that_escape_are_refused(name):
    with pytest.raises(ArchiveRefused):
        safe_member_name(name)


def test_too_many_entries_and_tar_links_are_refused():
    import tarfile

    with pytest.raises(ArchiveRefused, match="entries"):
        list(unpack(zipped({f"{i}.txt": b"x" for i in range(5)}), "zip", Limits(max_entries=3)))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("link.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
        escape = tarfile.TarInfo("../up.txt")
        escape.size = 2
        archive.addfile(escape, io.BytesIO(b"hi"))
        ok = tarfile.TarInfo("ok.txt")
        ok.size = 2
        archive.addfile(ok, io.BytesIO(b"ok"))
    items = list(unpack(buffer.getvalue(), "tar", Limits()))
    assert [type(i).__name__ for i in items] == ["ArchiveRefused", "ArchiveRefused", "Member"]
    assert items[2].payload == b"ok"


def test_record_keys_are_unambiguous_and_published_ones_unchanged():
    """`record_key("a", "b/c") == record_key("a/b", "c")` gave a document two lineages."""
    import itertools

    from sources.catalogue import record_key

    assert record_key("a", "b/c") != record_key("a/b", "c")
    assert record_key("a", "b!c") != record_key("a", "b", "c")
    # CKAN and udata ids, OAI identifiers with hashed links, URL resource ids: the keys already published
    assert record_key("ds-1", "r-zip", "notes/a.txt") == "ds-1/r-zip!notes/a.txt"
    assert record_key("5f3c1e2a-0b6d-4c1e-9f7a-2d8e6b4a1c3f", "https://x.org/a/b.html") == (
        "5f3c1e2a-0b6d-4c1e-9f7a-2d8e6b4a1c3f/https://x.org/a/b.html")
    assert record_key("oai:zenodo.org:8433364", "0c3b9542fa28be77") == "oai:zenodo.org:8433364/0c3b9542fa28be77"
    parts = ["".join(p) for n in range(4) for p in itertools.product("a/!1:", repeat=n)]
    keys = {}
    for dataset, resource in itertools.product([p for p in parts if p], parts):
        for member in (None, "m", "!/"):
            key = record_key(dataset, resource, member)
            assert keys.setdefault(key, (dataset, resource, member)) == (dataset, resource, member), key
    joins = {record_key(d, r) + "!": (d, r) for (d, r, m) in keys.values()}
    for key, (dataset, resource, member) in keys.items():  # warehouse/views.sql joins a member to its resource so
        if member:
            prefixes = [key[:i + 1] for i, char in enumerate(key) if char == "!"]
            assert [joins[p] for p in prefixes if p in joins] == [(dataset, resource)]


def test_a_tar_bz2_bomb_of_refused_members_is_one_failure_row_with_its_cause(tmp_path):
    """9 KB expanding to 3 GiB of refused members: tarfile decompressed all of it to skip them (8 s of CPU here)."""
    from hostile_archives import tar_bz2_bomb

    layout = DataLayout.at(tmp_path)
    with PortalServer() as server:
        url = server.file("/bomb.tar.bz2", tar_bz2_bomb(1024), content_type="application/x-tar")
        config = config_for({**source(server), "allow_private_addresses": True})
        records, failures, stats = fetch(config, "portal", layout, [dataset(Resource("r-bomb", url, format="tar"))])
    assert records == []
    assert [(f.record.split("resource=")[1], f.error_class) for f in failures] == [
        ("r-bomb&member=../escape.txt", "ArchiveRefused"), ("r-bomb", "ArchiveRefused")]
    assert "decompression bomb" in failures[1].message and "counting every member" in failures[1].message
    assert stats.failures == 2


def test_the_fetch_memory_is_rewritten_only_when_something_was_remembered(tmp_path):
    """Each catalogue slice saves the source's fetch memory: a slice whose resources were all unchanged leaves the
    file as it was (it is the whole source's: 41 MB for 100,000 resources)."""
    from sources.raw_store import FetchMemory, Remembered

    path = tmp_path / "fetch_memory.json"
    entry = Remembered("ab" * 32, "text/plain", "utf-8", '"e1"', None, "2026-01-01", "2026-12-01T00:00:00+00:00")
    memory = FetchMemory(path, tmp_path)
    memory.remember("https://example.org/a.txt", entry)
    memory.save()
    first = path.stat().st_ino  # an atomic write replaces the file: a new inode
    again = FetchMemory(path, tmp_path)
    assert again.get("https://example.org/a.txt") == entry
    again.remember("https://example.org/a.txt", entry)  # the same entry again: nothing changed
    again.save()
    assert path.stat().st_ino == first
    again.remember("https://example.org/b.txt", entry)
    again.save()
    assert path.stat().st_ino != first and "b.txt" in path.read_text(encoding="utf-8")
