"""TEI and JATS readers: what is kept, what is left out, metadata read, hostile XML refused or inert."""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import pytest

from moisson.jats import jats_document
from moisson.tei import tei_document
from moisson.xml_text import MAX_XML_BYTES, XmlRefused

TEI = b"""<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:lang="fr">
<teiHeader><fileDesc>
  <titleStmt><title type="sub">ELTeC</title><title type="main">Mon village</title></titleStmt>
  <publicationStmt><availability status="free">
    <licence target="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</licence>
  </availability></publicationStmt>
  <sourceDesc><p>HEADERWORD</p></sourceDesc>
</fileDesc></teiHeader>
<text>
  <front><div type="dedication"><p>FRONTWORD</p></div></front>
  <body>
    <div type="chapter"><head>Chapitre premier</head>
      <fw type="header">RUNNINGHEAD</fw>
      <p>Le village<note place="foot">NOTEWORD</note> dort. Il <pb n="2"/>pleut sur les
        <choice><sic>toix</sic><corr>toits</corr></choice>.</p>
      <p>Le <app><lem>vieux</lem><rdg wit="#B">VARIANTWORD</rdg></app> chemin.</p>
    </div>
  </body>
  <back><div type="notes"><p>BACKWORD</p></div></back>
</text>
</TEI>"""

JATS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.2//EN"
  "JATS-archivearticle1.dtd">
<article xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ali="http://www.niso.org/schemas/ali/1.0/"
  xml:lang="en" article-type="research-article">
<front><journal-meta><journal-title-group><journal-title>JOURNALWORD</journal-title></journal-title-group>
</journal-meta>
<article-meta>
  <title-group><article-title>Rain&nbsp;over villages</article-title></title-group>
  <permissions>
    <ali:free_to_read/>
    <license xlink:href="https://creativecommons.org/licenses/by/4.0/">
      <ali:license_ref>https://creativecommons.org/licenses/by/4.0/</ali:license_ref>
      <license-p>This article is distributed under the terms of the Creative Commons Attribution License.</license-p>
    </license>
  </permissions>
  <abstract><p>We measured rain &ndash; a lot of it.</p></abstract>
</article-meta></front>
<body>
  <sec><title>Introduction</title><p>Rain falls on T<sub>4</sub> roofs&hellip;</p>
    <table-wrap><label>Table 1</label><caption><p>Rainfall.</p></caption>
      <alternatives><graphic xlink:href="t1.png"/><table><tr><td>CELLWORD</td><td>12</td></tr></table></alternatives>
    </table-wrap>
  </sec>
</body>
<back>
  <ack><p>We thank the clouds.</p></ack>
  <ref-list><ref><mixed-citation>REFERENCEWORD et al. 2020.</mixed-citation></ref></ref-list>
</back>
</article>"""

LAUGHS = ('<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 2 else "")) * 10}">' for i in range(2, 11)))


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def test_tei_keeps_body_and_headings_and_leaves_editorial_layers_out() -> None:
    document = tei_document(TEI)
    assert paragraphs(document.text) == [
        "Chapitre premier", "Le village dort. Il pleut sur les toits.", "Le vieux chemin."]
    for absent in ("HEADERWORD", "NOTEWORD", "RUNNINGHEAD", "VARIANTWORD", "toix", "FRONTWORD", "BACKWORD"):
        assert absent not in document.text


def test_tei_reads_title_language_and_licence() -> None:
    document = tei_document(TEI)
    assert document.title == "Mon village"
    assert document.language == "fr"
    assert document.licence_evidence[0] == "https://creativecommons.org/licenses/by/4.0/"
    assert any("CC BY 4.0" in evidence for evidence in document.licence_evidence)


def test_tei_language_from_text_then_lang_usage() -> None:
    on_text = b'<TEI xml:lang="en"><text xml:lang="de"><body><p>Wort</p></body></text></TEI>'
    from_usage = (b'<TEI><teiHeader><profileDesc><langUsage><language ident="pt"/></langUsage></profileDesc>'
                  b'</teiHeader><text><body><p>palavra</p></body></text></TEI>')
    assert tei_document(on_text).language == "de"
    assert tei_document(from_usage).language == "pt"


def test_jats_reads_title_abstract_body_and_back_but_not_references() -> None:
    document = jats_document(JATS)
    assert paragraphs(document.text)[:4] == [
        "Rain over villages", "We measured rain \u2013 a lot of it.", "Introduction", "Rain falls on T4 roofs\u2026"]
    assert "CELLWORD 12" in document.text and "Table 1" in document.text
    assert "We thank the clouds." in document.text
    for absent in ("REFERENCEWORD", "JOURNALWORD", "t1.png", "Creative Commons"):
        assert absent not in document.text


def test_jats_reads_licence_and_language() -> None:
    document = jats_document(JATS)
    assert document.title == "Rain over villages"
    assert document.language == "en"
    assert document.licence_evidence[0] == "https://creativecommons.org/licenses/by/4.0/"
    assert any(evidence.startswith("This article is distributed") for evidence in document.licence_evidence)


def test_jats_with_undefined_dtd_entities_reads_them_as_characters() -> None:
    document = jats_document(JATS)
    assert "\u00a0" not in document.text  # &nbsp; read, then spaced like any whitespace
    assert "\u2013" in document.text and "\u2026" in document.text


@pytest.mark.parametrize("reader, template", [
    (tei_document, '<TEI><text><body><p>before &lol10; after</p><p a="&lol10;">x</p></body></text></TEI>'),
    (jats_document, '<article><body><p>before &lol10; after</p><p a="&lol10;">x</p></body></article>'),
])
def test_billion_laughs_is_not_expanded(reader, template: str) -> None:
    root = template.split(">", 1)[0].lstrip("<").split()[0]
    data = f'<?xml version="1.0"?><!DOCTYPE {root} [{LAUGHS}]>{template}'.encode()
    started = time.perf_counter()
    document = reader(data)
    assert time.perf_counter() - started < 1.0
    assert "lol" not in document.text
    assert "before after" in document.text


@pytest.mark.parametrize("reader, template", [
    (tei_document, "<TEI><text><body><p>x &xxe; y</p></body></text></TEI>"),
    (jats_document, "<article><body><p>x &xxe; y</p></body></article>"),
])
def test_external_entity_is_never_read(reader, template: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRETWORD", "utf-8")
    root = template.split(">", 1)[0].lstrip("<")
    for target in (secret.as_uri(), "file:///etc/passwd"):
        data = f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{target}">]>{template}'.encode()
        text = reader(data).text
        assert "SECRETWORD" not in text and "root:" not in text
        assert text == "x y"


def test_external_dtd_is_not_fetched(tmp_path: Path) -> None:
    dtd = tmp_path / "article.dtd"
    dtd.write_text('<!ENTITY word "DTDWORD">', "utf-8")
    data = (f'<!DOCTYPE article SYSTEM "{dtd.as_uri()}"><article><body><p>a &word; b</p></body></article>').encode()
    assert jats_document(data).text == "a b"


def test_oversized_and_non_xml_input_is_refused() -> None:
    with pytest.raises(XmlRefused):
        tei_document(b" " * (MAX_XML_BYTES + 1))
    with pytest.raises(XmlRefused):
        jats_document(b"\x00\x01 not xml at all")


def _bench_module():
    path = Path(__file__).resolve().parents[1] / "bench" / "documents_xml.py"
    spec = importlib.util.spec_from_file_location("documents_xml_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_f1_on_shared_tei_and_jats(shared_data: Path, tmp_path: Path) -> None:
    """Every shared TEI/JATS file against its reference: F1 >= 0.97 (measured 0.978 to 1.000)."""
    bench = _bench_module()
    bench.DOCUMENTS = tmp_path / "documents"
    for kind in ("tei", "jats"):
        shutil.copytree(shared_data / "documents" / kind, bench.DOCUMENTS / kind)
    readers = {"tei": tei_document, "jats": jats_document}
    found = bench.cases()
    assert len(found) == 11
    scores = {path.name: bench.f1(readers[kind](path.read_bytes()).text, reference)
              for kind, _language, path, reference in found}
    assert min(scores.values()) >= 0.97, scores


def test_nesting_beyond_the_parser_limit_is_refused_not_cut_short() -> None:
    deep = b"<TEI><text><body>" + b"<div>" * 300 + b"<p>deep</p>" + b"</div>" * 300 + b"</body></text></TEI>"
    with pytest.raises(XmlRefused, match="resource limits"):
        tei_document(deep)


def test_billion_laughs_in_utf16_is_refused() -> None:
    """The internal subset cannot be stripped by byte matching in UTF-16: libxml2's amplification limit holds."""
    data = (f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE TEI [{LAUGHS}]>'
            '<TEI><text><body><p a="&lol10;">x &lol10; y</p></body></text></TEI>').encode("utf-16")
    with pytest.raises(XmlRefused):
        tei_document(data)


def test_tei_line_break_inside_a_word_does_not_split_it() -> None:
    data = b'<TEI><text><body><p>vil<lb break="no"/>lage<lb/>suivant</p></body></text></TEI>'
    assert tei_document(data).text == "village suivant"


def test_metadata_of_shared_files(shared_data: Path) -> None:
    """Languages and licences as the shared files declare them (ELTeC: CC BY 4.0 markup; eLife: CC0)."""
    eltec = shared_data / "documents" / "tei" / "eltec"
    languages = {path.name[:3]: tei_document(path.read_bytes()) for path in sorted(eltec.glob("*.xml"))}
    assert {prefix: document.language for prefix, document in languages.items()} == {
        "DEU": "de", "FRA": "fr", "POR": "pt-PT"}
    for document in languages.values():
        assert document.licence_evidence == ("https://creativecommons.org/licenses/by/4.0/",)
        assert document.title and "ELTeC" in document.title
    elife = jats_document((shared_data / "documents" / "jats" / "docling" / "elife-56337.nxml").read_bytes())
    assert elife.licence_evidence[0] == "http://creativecommons.org/publicdomain/zero/1.0/"
    assert elife.title.startswith("KRAB-zinc finger protein gene expansion")
    ptag = jats_document((shared_data / "documents" / "jats" / "docling" / "ptag100.xml").read_bytes())
    assert ptag.language == "en" and "license-type: cc-by" in ptag.licence_evidence
