"""`make demo`'s wrapper end to end: the demo portal is started, harvested with licence and lineage, and stopped;
and the portal's documents (demo/make_documents.py: a PDF report, a scanned page, an ODT, a TEI text) are what
they claim to be and reach the corpus with their text and licence."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bench.documents_xml import f1
from e2e import MOISSON, corpus_rows, expected_decisions, warehouse
from test_ocr import character_error_rate

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PORTAL_SOURCES = ("valbrune-ckan", "valbrune-archive")
DOCUMENT_DATASETS = ("valbrune-0007", "valbrune-0008")  # "Documents de la ville" (lov2) and the TEI chronicle (CC BY)
# What the pipeline must decide for the portal's documents, in demo/expected.tsv's columns, keyed by the catalogue's
# URL ({{BASE}}: the portal's address, a free port in tests). Kept here, not in demo/expected.tsv, while
# tests/test_end_to_end.py asserts that every row of expected.tsv comes out of demo/sources.yaml (no portal).
DOCUMENT_TYPES = {"rapport-activite-2025.pdf": "application/pdf", "rapport-activite-2025-page2.png": "image/png",
                  "deliberation-conseil-municipal.odt": "application/vnd.oasis.opendocument.text",
                  "chronique-valbrune.xml": "application/tei+xml"}


def load_demo_module(demo: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, demo / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_run_demo(demo: Path):
    return load_demo_module(demo, "run_demo")


def refuses_connections(base: str) -> bool:
    host, port = base.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, int(port))) != 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_demo_script(demo: Path, data: Path, moisson: Path = MOISSON, portal_port: int = 0) -> subprocess.CompletedProcess:
    """demo/run_demo.py as `make demo` runs it, its portal on `portal_port` (0: any free one, never a fixed one:
    tests run side by side)."""
    return subprocess.run([sys.executable, str(demo / "run_demo.py"), "--data-dir", str(data), "--moisson", str(moisson),
                           "--portal-port", str(portal_port)], capture_output=True, text=True, timeout=600)


@dataclass(frozen=True)
class DemoRuns:
    """`make demo` run twice on one data directory, the portal on the same port both times."""

    demo: Path
    data: Path
    first: subprocess.CompletedProcess
    again: subprocess.CompletedProcess | None

    @property
    def base(self) -> str:
        return re.search(r"CKAN at (http://127\.0\.0\.1:\d+)", self.first.stdout)[1]


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory) -> DemoRuns:
    """One pair of runs for the tests of this module that read what `make demo` published (each run takes a while)."""
    root = tmp_path_factory.mktemp("demo-portal")
    demo = Path(shutil.copytree(PROJECT_ROOT / "demo", root / "demo", ignore=shutil.ignore_patterns("__pycache__")))
    data, portal_port = root / "data", free_port()
    first = run_demo_script(demo, data, portal_port=portal_port)
    again = run_demo_script(demo, data, portal_port=portal_port) if first.returncode == 0 else None
    return DemoRuns(demo, data, first, again)


def raw_record_counts(stdout: str, source: str) -> dict[str, int]:
    """The counters of one source's `raw_records` line in `moisson run`'s output."""
    block = stdout.split(f"==> curating source {source}\n", 1)[1]
    line = next(line for line in block.splitlines() if line.strip().startswith("raw_records"))
    return {name: int(value) for name, value in re.findall(r"(\w+)=(\d+)", line)}


def test_make_demo_harvests_the_demo_portal_with_licence_and_lineage(demo_runs):
    result, data = demo_runs.first, demo_runs.data
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for shown in ("corpus:", "warehouse:", "three queries", "demo portal stopped", "FROM document_lineage"):
        assert shown in result.stdout
    base = demo_runs.base
    assert refuses_connections(base)

    kept = sorted((r[0], r[1], r[2]) for r in corpus_rows(data, "source, license, language, url")
                  if r[0] in PORTAL_SOURCES and not _is_portal_document(r[3]))
    assert kept == [("valbrune-archive", "CC-BY-4.0", "en"), ("valbrune-archive", "CC-BY-SA-4.0", "fr"),
                    ("valbrune-archive", "CC0-1.0", "de"), ("valbrune-ckan", "CC-BY-4.0", "en"),
                    ("valbrune-ckan", "etalab-2.0", "fr"), ("valbrune-ckan", "etalab-2.0", "fr")]
    with warehouse(data) as con:
        lineage = con.execute(
            "SELECT source, dataset_id, resource_id, dataset_license_raw, license, status, reason, locator "
            "FROM document_lineage ORDER BY 1, 2, 3").fetchall()
        datasets = dict(con.execute("SELECT dataset_id, license_verdict || CASE WHEN deleted THEN '/deleted' ELSE '' END "
                                    "FROM datasets").fetchall())
        portal_documents = con.execute("SELECT count(*) FROM documents WHERE source IN ?", [list(PORTAL_SOURCES)]).fetchone()[0]
        pages = dict(con.execute("SELECT source, watermark FROM harvest_state").fetchall())
    before_documents = [row for row in lineage if row[1] not in DOCUMENT_DATASETS]  # the documents: their own test
    assert [row[:7] for row in before_documents] == [
        ("valbrune-archive", "oai:valbrune-archive:101", before_documents[0][2],
         "https://creativecommons.org/licenses/by-sa/4.0/deed.fr", "CC-BY-SA-4.0", "kept", None),
        ("valbrune-archive", "oai:valbrune-archive:102", before_documents[1][2], "https://creativecommons.org/licenses/by/4.0/",
         "CC-BY-4.0", "kept", None),
        ("valbrune-archive", "oai:valbrune-archive:103", before_documents[2][2],
         "https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0", "kept", None),
        ("valbrune-ckan", "valbrune-0001", "budget-2025-page", "lov2", "etalab-2.0", "kept", None),
        ("valbrune-ckan", "valbrune-0001", "budget-2025-rules", "lov2", "etalab-2.0", "kept", None),
        ("valbrune-ckan", "valbrune-0002", "river-summary", "cc-by-4.0", "CC-BY-4.0", "kept", None),
        ("valbrune-ckan", "valbrune-0003", "radwege-bericht", "odc-odbl", "ODbL-1.0", "rejected", "licence"),
        ("valbrune-ckan", "valbrune-0004", "library-hours", "cc-by", "LicenseRef-CC-BY-unversioned", "rejected", "licence"),
    ]
    assert all(row[7].startswith(f"{base}#dataset=") or row[7].startswith(f"{base}/oai#dataset=") for row in lineage)
    assert portal_documents == len(lineage)  # every portal document traces back to its resource and dataset
    # rejected or withdrawn in the catalogue: recorded there, never fetched, so no document
    assert datasets["valbrune-0005"] == "reject" and datasets["oai:valbrune-archive:104"] == "reject"
    assert datasets["valbrune-0006"] == "allow/deleted" and datasets["oai:valbrune-archive:105"] == "reject/deleted"
    assert datasets["valbrune-0007"] == "allow" and datasets["valbrune-0008"] == "allow"
    assert pages == {"valbrune-ckan": "2026-01-21T09:00:00.000000", "valbrune-archive": "2026-01-16T08:00:00Z"}

    again = demo_runs.again  # the same port: nothing new, nothing refetched
    assert again.returncode == 0 and base in again.stdout, again.stdout[-3000:] + again.stderr[-3000:]
    assert "added=0" in again.stdout and "rejected_added=0" in again.stdout
    for source in PORTAL_SOURCES:
        stored, reread = raw_record_counts(result.stdout, source), raw_record_counts(again.stdout, source)
        assert reread.get("skipped_unchanged_not_fetched") == stored["skipped_stored_new"], source
        assert "skipped_stored_new" not in reread and "skipped_not_modified" not in reread, source
    # the archive's three theses; the catalogue's five text files and, of its documents, at least the PNG, ODT, TEI
    assert raw_record_counts(again.stdout, "valbrune-archive")["skipped_unchanged_not_fetched"] == 3
    assert raw_record_counts(again.stdout, "valbrune-ckan")["skipped_unchanged_not_fetched"] >= 8


def _is_portal_document(url: str | None) -> bool:
    return (url or "").rsplit("/", 1)[-1] in DOCUMENT_TYPES


def test_the_portal_documents_reach_the_corpus_with_their_text_and_licence(demo_runs):
    """The four documents of demo/make_documents.py, fetched from the portal: the decisions of
    demo/expected.tsv, and in the corpus the text each was written with (headers, page numbers, notes out)."""
    assert demo_runs.first.returncode == 0, demo_runs.first.stdout[-3000:] + demo_runs.first.stderr[-3000:]
    written, base = load_demo_module(demo_runs.demo, "make_documents"), demo_runs.base
    expected = expected_decisions(demo_runs.demo, base)
    if shutil.which("tesseract") is None:  # the scan is then a failure with its reason (tests/test_ocr.py)
        expected.pop(f"{base}/files/{written.SCAN_NAME}")
    with warehouse(demo_runs.data) as con:
        decided = {row[0]: row[1:] for row in con.execute(
            "SELECT url, status, coalesce(reason, ''), language, license, source_kind FROM documents WHERE url IN ?",
            [list(expected)]).fetchall()}
    assert {url: decided.get(url) for url in expected} == {
        url: (row["status"], row["reason"], row["language"], row["license"], row["kind"]) for url, row in expected.items()}

    texts = {url.rsplit("/", 1)[-1]: text for url, text in corpus_rows(demo_runs.data, "url, text") if url in expected}
    report = texts[written.PDF_NAME]
    assert word_f1(report, written.report_text()) >= 0.97
    assert written.RUNNING_HEADER not in report and not re.search(r"Page \d sur 3", report)
    cut = words_cut_at_line_ends(demo_runs.demo / "portal" / "files" / written.PDF_NAME)
    assert len(cut) >= 3 and set(cut) <= set(words(report)), cut  # joined again, without the hyphen
    assert word_f1(texts[written.ODT_NAME], written.odt_text()) >= 0.97
    assert word_f1(texts[written.TEI_NAME], written.tei_text()) >= 0.97 and written.TEI_NOTE not in texts[written.TEI_NAME]
    if written.SCAN_NAME in texts:  # with or without the scan's running header and page number
        page = f"{written.RUNNING_HEADER}\n{written.scan_text()}\nPage 2"
        assert min(character_error_rate(normalised(texts[written.SCAN_NAME]), normalised(reference))
                   for reference in (written.scan_text(), page)) <= 0.05


def words_cut_at_line_ends(pdf: Path) -> list[str]:
    """The words the PDF hyphenates at a line end (PDFium marks such a hyphen U+FFFE), written whole."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = [document[index].get_textpage().get_text_range() for index in range(len(document))]
    finally:
        document.close()
    return [(head + tail).lower() for page in pages for head, tail in re.findall(r"(\w+)\ufffe\s*(\w+)", page)]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def word_f1(text: str, reference: str) -> float:
    """Bag-of-words F1, case aside: low precision means extra text (headers, notes), low recall lost or broken words."""
    return f1(text, reference, lowercase=True)


def normalised(text: str) -> str:
    """One space between words and one apostrophe: what a character error rate should not count."""
    return " ".join(text.replace("’", "'").split())


def test_the_portal_is_stopped_when_the_run_fails(demo_copy, tmp_path):
    run_demo = load_run_demo(demo_copy)
    failing = tmp_path / "moisson"
    failing.write_text(f"#!{sys.executable}\nimport os, sys, urllib.request\n"
                       "urllib.request.urlopen(os.environ['MOISSON_DEMO_PORTAL'] + '/robots.txt').read()\n"
                       "print('portal seen at', os.environ['MOISSON_DEMO_PORTAL']); sys.exit(1)\n")
    failing.chmod(0o755)
    result = run_demo_script(demo_copy, tmp_path / "data", failing)
    assert result.returncode == 1 and "portal seen at" in result.stdout, result.stdout + result.stderr
    assert refuses_connections(re.search(r"portal seen at (\S+)", result.stdout)[1])
    with pytest.raises(RuntimeError, match="boom"):
        with run_demo.demo_portal(port=0) as base:
            assert b"Disallow: /private/" in urllib.request.urlopen(base + "/robots.txt").read()
            raise RuntimeError("boom")
    assert refuses_connections(base)


def test_the_demo_portal_pages_oai_pmh_with_a_resumption_token_and_pages_ckan(demo_copy):
    run_demo = load_run_demo(demo_copy)
    with run_demo.demo_portal(port=0) as base:
        first = urllib.request.urlopen(base + "/oai?verb=ListRecords&metadataPrefix=oai_dc").read().decode()
        second = urllib.request.urlopen(base + "/oai?verb=ListRecords&resumptionToken=valbrune-page-2").read().decode()
        stale = urllib.request.urlopen(base + "/oai?verb=ListRecords&resumptionToken=nope").read().decode()
        page = json.loads(urllib.request.urlopen(base + "/api/3/action/package_search?rows=4&start=4").read())
    assert "valbrune-page-2</resumptionToken>" in first and f"{base}/files/moulins-de-la-brune.html" in first
    assert 'status="deleted"' in second and "<resumptionToken" in second and "valbrune-page-2<" not in second
    assert 'code="badResumptionToken"' in stale
    assert page["result"]["count"] == 8
    assert [d["id"] for d in page["result"]["results"]] == [f"valbrune-000{n}" for n in (5, 6, 7, 8)]
    assert "{{BASE}}" not in json.dumps(page)


def test_the_portal_takes_any_free_port_when_its_own_is_taken(demo_copy):
    run_demo = load_run_demo(demo_copy)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with run_demo.demo_portal(port=port) as base:
            assert not base.endswith(f":{port}")
            assert b"Disallow: /private/" in urllib.request.urlopen(base + "/robots.txt").read()
    assert refuses_connections(base)


# --------------------------------------------------------------------------------------------
# The documents themselves (demo/make_documents.py's outputs, committed in demo/portal/files/)
# --------------------------------------------------------------------------------------------

FILES = PROJECT_ROOT / "demo" / "portal" / "files"


@pytest.fixture(scope="module")
def written():
    """demo/make_documents.py as a module: the texts the documents were written from."""
    return load_demo_module(PROJECT_ROOT / "demo", "make_documents")


def test_the_portal_serves_its_documents_byte_for_byte_with_their_content_types(demo_copy):
    run_demo = load_run_demo(demo_copy)
    with run_demo.demo_portal(port=0) as base:
        catalogue = json.loads(urllib.request.urlopen(base + "/api/3/action/package_search?rows=20").read())
        served = {}
        for name in DOCUMENT_TYPES:
            with urllib.request.urlopen(f"{base}/files/{name}") as response:
                served[name] = (response.headers.get_content_type(), response.read())
    assert {name: kind for name, (kind, _) in served.items()} == DOCUMENT_TYPES
    assert all(body == (FILES / name).read_bytes() for name, (_, body) in served.items())  # no text decoding on the way
    datasets = {d["id"]: d for d in catalogue["result"]["results"]}
    resources = {r["url"].rsplit("/", 1)[-1]: (d["id"], d["license_id"], r["mimetype"])
                 for d in map(datasets.get, DOCUMENT_DATASETS) for r in d["resources"]}
    assert resources == {
        "rapport-activite-2025.pdf": ("valbrune-0007", "lov2", "application/pdf"),
        "rapport-activite-2025-page2.png": ("valbrune-0007", "lov2", "image/png"),
        "deliberation-conseil-municipal.odt": ("valbrune-0007", "lov2", "application/vnd.oasis.opendocument.text"),
        "chronique-valbrune.xml": ("valbrune-0008", "cc-by-4.0", "application/tei+xml"),
    }


def test_the_report_is_a_three_page_two_column_pdf_with_header_page_numbers_and_its_licence(written):
    pdfium = pytest.importorskip("pypdfium2")
    data = (FILES / written.PDF_NAME).read_bytes()
    document = pdfium.PdfDocument(data)
    try:
        assert len(document) == 3
        assert document.get_metadata_dict()["Title"] == "Rapport d’activité 2025 — Ville de Valbrune"
        pages = [_halves(document[index]) for index in range(len(document))]
    finally:
        document.close()
    for number, (full, left, right) in enumerate(pages, start=1):
        assert written.RUNNING_HEADER in full and f"Page {number} sur 3" in full
    for full, left, right in pages[:2]:  # two full columns side by side
        assert len(words(left)) > 250 and len(words(right)) > 250
    # words cut at line ends, for the reader to join: PDFium marks such a hyphen U+FFFE and joins the lines
    assert sum(full.count("\ufffe") for full, _, _ in pages) >= 3
    assert "cœur" in pages[0][0] and "d’activité" in pages[0][0] and "œuvre" in pages[1][0]  # é, œ, ’ as written
    assert b"/FontFile2" in data and b"DejaVuSerif" in data  # the Unicode font is embedded
    assert b"/Lang (fr-FR)" in data
    assert (b"<xmpRights:WebStatement>https://www.etalab.gouv.fr/licence-ouverte-open-licence/</xmpRights:WebStatement>"
            in data and b">Licence Ouverte 2.0</rdf:li></rdf:Alt></dc:rights>" in data)  # uncompressed, as XMP asks


def _halves(page) -> tuple[str, str, str]:
    """A page's whole text, and the text of its left and right halves below the title block."""
    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        body_top = height * 0.80
        return (textpage.get_text_range(), textpage.get_text_bounded(0, 40, width / 2, body_top),
                textpage.get_text_bounded(width / 2, 40, width, body_top))
    finally:
        textpage.close()
        page.close()


def test_the_scan_is_a_tilted_grayscale_200_dpi_page_tesseract_reads(written, tmp_path):
    image = pytest.importorskip("PIL.Image")
    with image.open(FILES / written.SCAN_NAME) as scan:
        assert scan.mode == "L" and scan.size == (1654, 2338) and round(scan.info["dpi"][0]) == 200
        assert sum(1 for count in scan.histogram() if count) > 50  # grain and blur, not two flat colours
    assert 230 <= len(words(written.scan_text())) <= 300 and word_f1(written.scan_text(), written.report_text()) < 0.5
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed (CI installs it)")
    ocr = subprocess.run(["tesseract", str(FILES / written.SCAN_NAME), "stdout", "-l", "fra"],
                         capture_output=True, text=True, timeout=120)
    assert ocr.returncode == 0, ocr.stderr
    page = f"{written.RUNNING_HEADER}\n{written.scan_text()}\nPage 2"
    assert character_error_rate(normalised(ocr.stdout), normalised(page)) <= 0.02


def test_the_council_decision_is_an_odt_package_with_a_heading_a_list_and_a_table(written):
    data = (FILES / written.ODT_NAME).read_bytes()
    assert data[30:38] == b"mimetype" and data[38:77] == b"application/vnd.oasis.opendocument.text"  # stored, first
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.namelist() == ["mimetype", "content.xml", "styles.xml", "meta.xml", "META-INF/manifest.xml"]
        assert package.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        content = ElementTree.fromstring(package.read("content.xml"))
        meta = package.read("meta.xml").decode()
    text = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
    table = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    assert [h.text for h in content.iter(text + "h")] == [written.ODT_TITLE]
    assert len(list(content.iter(text + "list-item"))) == 4 and len(list(content.iter(table + "table-row"))) == 6
    assert "<dc:language>fr-FR</dc:language>" in meta and written.LICENCE_OUVERTE in meta
    assert 280 <= len(words(written.odt_text())) <= 400


def test_the_chronicle_is_tei_with_its_language_licence_and_a_note_to_leave_out(written):
    root = ElementTree.fromstring((FILES / written.TEI_NAME).read_bytes())
    tei = "{http://www.tei-c.org/ns/1.0}"
    assert root.tag == tei + "TEI" and root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    licence = root.find(f"{tei}teiHeader/{tei}fileDesc/{tei}publicationStmt/{tei}availability/{tei}licence")
    assert licence.get("target") == "https://creativecommons.org/licenses/by/4.0/"
    notes = list(root.iter(tei + "note"))
    assert [n.text for n in notes] == [written.TEI_NOTE] and written.TEI_NOTE not in written.tei_text()
    assert 380 <= len(words(written.tei_text())) <= 450


def test_make_documents_writes_the_same_bytes_every_time(written, tmp_path):
    """Re-runnable and byte-stable: fixed dates, seeded grain. The ODT and TEI need nothing but Python, so they are
    also the committed bytes; the PDF and PNG depend on the font and library versions, so only twice alike here."""
    pytest.importorskip("fpdf")
    pytest.importorskip("PIL")
    if not written.FONT_REGULAR.is_file():
        pytest.skip(f"{written.FONT_REGULAR} absent (Debian: fonts-dejavu-core)")
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        written.write_report_pdf(tmp_path / run / written.PDF_NAME)
        written.write_scan_png(tmp_path / run / written.SCAN_NAME)
        written.write_deliberation_odt(tmp_path / run / written.ODT_NAME)
    for name in (written.PDF_NAME, written.SCAN_NAME, written.ODT_NAME):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / written.ODT_NAME).read_bytes() == (FILES / written.ODT_NAME).read_bytes()
    assert written.tei_document().encode() == (FILES / written.TEI_NAME).read_bytes()
