"""Documents that are not web pages, through the real pipeline: what a file is comes from its bytes, each format
goes to its reader, pages keep their offsets, a page that cannot be read is a failure with `#page=N`, and a
file's own licence metadata is evidence the licence step weighs (and cross-checks against its record)."""

from __future__ import annotations

import bz2
import io
import zipfile
from pathlib import Path

import pytest

from e2e import corpus_rows, run_moisson, warehouse
from moisson.document_text import metadata_evidence
from moisson.formats import sniff_format
from pdf_samples import make_pdf

FRENCH = [
    "La commune de Valbrune a rénové cette année la médiathèque et ouvert une salle de lecture pour les enfants.",
    "Les travaux ont duré six mois et les habitants ont pu suivre le chantier lors de visites organisées le samedi.",
    "Le conseil municipal remercie les bénévoles qui ont aidé à déménager les collections pendant l'été dernier.",
    "Une exposition sur l'histoire des moulins de la vallée accompagnera la réouverture au début du mois prochain.",
]
ETALAB = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
XMP = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" xmpRights:WebStatement="{ETALAB}"/>
</rdf:RDF></x:xmpmeta>"""


def text_page(lines: list[str]) -> list[tuple[float, float, str]]:
    return [(72, 720 - 14 * index, line) for index, line in enumerate(lines)]


def odt(paragraphs: list[str]) -> bytes:
    body = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    content = ('<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
               f'<text:h>Délibération</text:h>{body}</office:text></office:body></office:document-content>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        package.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        package.writestr("META-INF/manifest.xml", '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
    return buffer.getvalue()


def tei(paragraphs: list[str], licence: str) -> bytes:
    body = "".join(f"<p>{p}<note>Note de l'éditeur, hors du texte.</note></p>" for p in paragraphs)
    return (f'<?xml version="1.0" encoding="UTF-8"?><TEI xmlns="http://www.tei-c.org/ns/1.0" xml:lang="fr"><teiHeader>'
            f'<fileDesc><titleStmt><title>Chronique</title></titleStmt><publicationStmt><availability>'
            f'<licence target="{licence}"/></availability></publicationStmt><sourceDesc><p/></sourceDesc></fileDesc>'
            f'</teiHeader><text><body><head>Chronique de Valbrune</head>{body}</body></text></TEI>').encode()


def wiki_dump(pages: dict[str, str]) -> bytes:
    xml = ['<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/"><siteinfo><dbname>frwiki</dbname>'
           '<base>https://fr.wikipedia.org/wiki/Accueil</base></siteinfo>']
    for number, (title, text) in enumerate(pages.items(), start=1):
        xml.append(f"<page><title>{title}</title><ns>0</ns><id>{number}</id><revision><id>{100 + number}</id>"
                   f"<timestamp>2026-01-0{number}T00:00:00Z</timestamp><text>{text}</text></revision></page>")
    xml.append("<page><title>Ancien nom</title><ns>0</ns><id>9</id><redirect title=\"Valbrune\"/><revision><id>9</id>"
               "<timestamp>2026-01-01T00:00:00Z</timestamp><text>#REDIRECTION [[Valbrune]]</text></revision></page>")
    xml.append("</mediawiki>")
    return bz2.compress("".join(xml).encode())


@pytest.mark.parametrize(("payload", "declared", "kind"), [
    (make_pdf([text_page(["x"])]), "text/plain", "pdf"),  # the bytes win over the declared type
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "application/pdf", "html"),
    (odt(["Un paragraphe."]), "application/zip", "odt"),
    (tei(["Un paragraphe."], ETALAB), "application/xml", "tei"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving DTD v1.2//EN" "x.dtd">'
     b"<article><front/></article>", None, "jats"),
    (b'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">', None, "mediawiki"),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "application/octet-stream", "image"),
    (b"Plain words.", "text/plain", "text"),
    (b"body { color: red }", "text/css", None),  # text, but not prose
    (b"\0\1\2binary", "text/plain", None),
    (b'<?xml version="1.0"?><rss><channel/></rss>', "application/xml", None),
])
def test_what_a_payload_is_comes_from_its_bytes(payload: bytes, declared: str | None, kind: str | None) -> None:
    assert sniff_format(payload, declared) == kind


@pytest.fixture(scope="module")
def documents_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("documents")
    docs = root / "docs"
    docs.mkdir()
    # a report: two pages of text, a third page with no text layer (a scan); licence in its own XMP
    (docs / "rapport.txt").write_bytes(make_pdf([text_page(FRENCH[:2]), text_page(FRENCH[2:]), []],
                                                info="/Title (Rapport)", xmp=XMP))
    (docs / "deliberation.odt").write_bytes(odt(FRENCH[1:3] + ["Adopté à l'unanimité des membres présents."]))
    (docs / "chronique.xml").write_bytes(tei([FRENCH[3], FRENCH[0][::-1].capitalize()], ETALAB))
    # its own licence says CC BY-NC while the source declares Etalab: the file's word decides, and it is not open
    (docs / "fermee.xml").write_bytes(tei(FRENCH[2:4], "https://creativecommons.org/licenses/by-nc/4.0/"))
    (docs / "frwiki-pages-articles.xml.bz2").write_bytes(wiki_dump({
        "Valbrune": "'''Valbrune''' est une commune [[France|française]]{{Infobox Commune|nom=Valbrune}}. "
                    + FRENCH[0] + "<ref>Bulletin municipal, 2025.</ref>\n\n== Histoire ==\n" + FRENCH[3],
        "Moulin de la Brune": "Le '''moulin de la Brune''' est un moulin à eau. " + FRENCH[1] + " " + FRENCH[2]}))
    sources = root / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - {name: documents, kind: files, paths: ['docs/*'], license: etalab-2.0}\n"
        "policy:\n"
        "  languages: [fr]\n"
        "  licenses: {allow: [etalab-2.0, CC-BY-SA-4.0]}\n"
        "  quality: {enabled: false}\n"
        "  dedup: {enabled: false}\n"
        "  extraction: {ocr: 'off'}\n"
        "  failures: {max_rate: 1.0}\n", encoding="utf-8")
    data = root / "data"
    result = run_moisson(sources, data)
    return data, result


def test_each_format_is_read_by_its_reader_and_lands_with_its_format(documents_run) -> None:
    data, result = documents_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row[1] or row[0]: row for row in corpus_rows(data, "locator, url, format, text, license, page_starts, title")}
    by_format = {row[2]: row for row in rows.values()}
    assert set(by_format) == {"pdf", "odt", "tei", "wikitext"}
    pdf = by_format["pdf"]
    assert pdf[0] == "docs/rapport.txt" and pdf[4] == "etalab-2.0" and pdf[6] == "Rapport"
    assert pdf[5][0] == 0 and pdf[3][pdf[5][1]:].startswith(FRENCH[2][:40])  # page 2 starts where its text does
    assert "Note de l'éditeur" not in by_format["tei"][3] and by_format["tei"][3].startswith("Chronique de Valbrune")
    assert "Délibération" in by_format["odt"][3]


def test_a_page_without_text_is_a_failure_with_its_page_and_the_document_keeps_the_rest(documents_run) -> None:
    data, _ = documents_run
    with warehouse(data) as con:
        failures = con.execute("SELECT record, stage, error_class, message FROM failures ORDER BY record").fetchall()
    assert ("docs/rapport.txt#page=3", "extraction", "OcrOff") in [row[:3] for row in failures]
    assert "OCR is off" in dict((row[0], row[3]) for row in failures)["docs/rapport.txt#page=3"]


def test_wiki_dump_pages_are_documents_with_their_url_and_cc_by_sa(documents_run) -> None:
    data, _ = documents_run
    wiki = [row for row in corpus_rows(data, "url, text, license, format, title") if row[3] == "wikitext"]
    assert sorted(row[0] for row in wiki) == ["https://fr.wikipedia.org/wiki/Moulin_de_la_Brune",
                                              "https://fr.wikipedia.org/wiki/Valbrune"]
    assert all(row[2] == "CC-BY-SA-4.0" for row in wiki)
    valbrune = next(row for row in wiki if row[4] == "Valbrune")
    assert "Infobox" not in valbrune[1] and "Bulletin municipal" not in valbrune[1] and "française" in valbrune[1]


def test_a_files_own_licence_decides_and_a_closed_one_keeps_it_out(documents_run) -> None:
    data, _ = documents_run
    with warehouse(data) as con:
        closed = con.execute("SELECT status, reason, license, license_evidence FROM documents "
                             "WHERE locator = 'docs/fermee.xml'").fetchone()
        evidence = con.execute("SELECT license_evidence FROM documents WHERE locator = 'docs/chronique.xml'").fetchone()
    assert closed[:3] == ("rejected", "licence", "CC-BY-NC-4.0") and "document metadata" in closed[3]
    assert evidence[0].startswith(f"document metadata: {ETALAB}")


@pytest.mark.parametrize(("statements", "expected"), [
    (["Licence Ouverte 2.0 https://www.etalab.gouv.fr/licence-ouverte-open-licence/"], ["etalab-2.0"]),
    (["status: free", "Licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)."], ["CC-BY-4.0"]),
    (["© Ville de Valbrune, tous droits réservés"], [None]),  # unreadable, kept: it keeps the file out
    (["see https://example.org/terms and https://creativecommons.org/licenses/by/4.0/"], [None]),  # one URL unknown
    ([], []),
])
def test_a_files_licence_statements_become_evidence(statements: list[str], expected: list[str | None]) -> None:
    assert [piece.spdx for piece in metadata_evidence(statements)] == expected


def docx_bomb() -> bytes:
    """A DOCX whose document part inflates to 70 MB of zeros (70 kB in the package)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        package.writestr("word/document.xml", b"\0" * 70_000_000)
    return buffer.getvalue()


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE TEI [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "&lol;" * 10}">' for i in range(9))
          + ']><TEI xmlns="http://www.tei-c.org/ns/1.0"><text><body><p>&lol8;</p></body></text></TEI>').encode()


def test_broken_and_hostile_documents_are_failure_rows_and_the_good_one_is_published(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    good = make_pdf([text_page(FRENCH)], xmp=XMP)
    (docs / "good.pdf").write_bytes(good)
    (docs / "truncated.pdf").write_bytes(good[: len(good) // 3])  # no xref, no trailer, cut mid-object
    (docs / "bomb.docx").write_bytes(docx_bomb())
    (docs / "laughs.xml").write_bytes(LAUGHS)
    (docs / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + (200_000).to_bytes(4, "big") * 2 + b"\x08\0\0\0\0")
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: documents, kind: files, paths: ['docs/*'], license: etalab-2.0}\n"
                       "policy: {languages: [fr], licenses: {allow: [etalab-2.0]}, quality: {enabled: false}}\n")
    result = run_moisson(sources, tmp_path / "data")
    # an unreadable document is a decision (rejected for extraction, with a failure row), like a page without text:
    # the run did its job for the rest, and its summary counts them
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "rejected_extraction=4 failures=4" in result.stdout
    assert [row[0] for row in corpus_rows(tmp_path / "data", "locator")] == ["docs/good.pdf"]
    with warehouse(tmp_path / "data") as con:
        failures = dict(con.execute("SELECT record, error_class || ': ' || message FROM failures "
                                    "WHERE stage = 'extraction'").fetchall())
    assert set(failures) == {"docs/truncated.pdf", "docs/bomb.docx", "docs/laughs.xml", "docs/huge.png"}
    assert failures["docs/truncated.pdf"].startswith("PdfUnreadable")
    assert failures["docs/bomb.docx"].startswith(("TooManyBytes", "RatioTooHigh"))
    assert "lol" * 20 not in failures["docs/laughs.xml"]
    assert ("ImageTooLarge" in failures["docs/huge.png"] or
                                       "Tesseract is not installed" in failures["docs/huge.png"])


def test_a_pdf_or_a_page_image_gets_the_documents_budget_and_the_rest_the_pages() -> None:
    from moisson.config import Policy
    from moisson.curation import EXTRACTION_BUDGET_S, PayloadWork, document_options

    policy = Policy.model_validate({"languages": ["fr"], "licenses": {"allow": ["CC0-1.0"]},
                                    "extraction": {"max_document_seconds": 120}})
    work = PayloadWork(policy.extraction, documents=document_options(policy))
    assert work.documents.languages == ("fr",) and work.documents.budget_s == 120
    assert [work.budget((b"", kind, None, None)) for kind in ("pdf", "image", "html", "odt")] == [
        120, 120, EXTRACTION_BUDGET_S, EXTRACTION_BUDGET_S]


def test_ocr_reads_in_the_policys_languages_and_english_only_when_it_has_it(tesseract) -> None:
    from moisson.document_text import DocumentOptions, _languages

    assert _languages(DocumentOptions(languages=("fr",))) == "fra"
    assert _languages(DocumentOptions(languages=("fr", "en"))) == "fra+eng"
    assert _languages(DocumentOptions()).endswith("+eng")  # languages: all
