import random

import lxml.html
import pytest

from moisson.licence import (
    CC_PORTED_SPDX,
    SPDX_IDS,
    Evidence,
    LicenceDecision,
    decide_licence,
    evidence_from_html,
    to_spdx,
)

OPEN = {"CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "etalab-2.0", "CC-BY-3.0-DE"}


# --- to_spdx: URLs ---------------------------------------------------------------------------

CC_URLS = [
    ("https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("http://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("https://www.creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0", "CC-BY-4.0"),
    ("//creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("creativecommons.org/licenses/by/4.0/", "CC-BY-4.0"),
    ("HTTPS://CreativeCommons.org/Licenses/BY/4.0/", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.en", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.fr/", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed.pt_BR", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/deed", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode.fr", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/legalcode.txt", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/?ref=chooser-v1", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by/4.0/#languages", "CC-BY-4.0"),
    ("  <https://creativecommons.org/licenses/by/4.0/>  ", "CC-BY-4.0"),
    ("https://creativecommons.org/licenses/by-sa/4.0/", "CC-BY-SA-4.0"),
    ("https://creativecommons.org/licenses/by-nd/4.0/", "CC-BY-ND-4.0"),
    ("https://creativecommons.org/licenses/by-nc/4.0/", "CC-BY-NC-4.0"),
    ("https://creativecommons.org/licenses/by-nc-sa/4.0/", "CC-BY-NC-SA-4.0"),
    ("https://creativecommons.org/licenses/by-nc-nd/4.0/", "CC-BY-NC-ND-4.0"),
    ("http://creativecommons.org/licenses/by-sa/3.0/deed.fr", "CC-BY-SA-3.0"),
    ("http://creativecommons.org/licenses/by/2.5/", "CC-BY-2.5"),
    ("http://creativecommons.org/licenses/by-nc-sa/2.0/", "CC-BY-NC-SA-2.0"),
    ("http://creativecommons.org/licenses/by/1.0/", "CC-BY-1.0"),
    ("http://creativecommons.org/licenses/by-nd-nc/1.0/", "CC-BY-NC-ND-1.0"),
    ("http://creativecommons.org/licenses/sa/1.0/", "CC-SA-1.0"),
    ("http://creativecommons.org/licenses/nd/1.0/", "LicenseRef-CC-ND-1.0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
    ("https://creativecommons.org/publicdomain/zero/1.0/deed.fr", "CC0-1.0"),
    ("http://creativecommons.org/publicdomain/zero/1.0/legalcode", "CC0-1.0"),
    ("https://creativecommons.org/publicdomain/mark/1.0/", "CC-PDM-1.0"),
    ("https://creativecommons.org/licenses/publicdomain/", "CC-PDDC"),
    # Ported licences: the SPDX id when SPDX has one...
    ("https://creativecommons.org/licenses/by/3.0/de/", "CC-BY-3.0-DE"),
    ("https://creativecommons.org/licenses/by/3.0/de/deed.de", "CC-BY-3.0-DE"),
    ("https://creativecommons.org/licenses/by/3.0/at/legalcode", "CC-BY-3.0-AT"),
    ("https://creativecommons.org/licenses/by/3.0/nl/", "CC-BY-3.0-NL"),
    ("https://creativecommons.org/licenses/by/3.0/us/", "CC-BY-3.0-US"),
    ("https://creativecommons.org/licenses/by/3.0/igo/", "CC-BY-3.0-IGO"),
    ("https://creativecommons.org/licenses/by/3.0/au/", "CC-BY-3.0-AU"),
    ("https://creativecommons.org/licenses/by/2.5/au/", "CC-BY-2.5-AU"),
    ("https://creativecommons.org/licenses/by-sa/3.0/de/", "CC-BY-SA-3.0-DE"),
    ("https://creativecommons.org/licenses/by-sa/3.0/at/", "CC-BY-SA-3.0-AT"),
    ("https://creativecommons.org/licenses/by-sa/3.0/igo/", "CC-BY-SA-3.0-IGO"),
    ("https://creativecommons.org/licenses/by-sa/2.0/uk/", "CC-BY-SA-2.0-UK"),
    ("https://creativecommons.org/licenses/by-sa/2.1/jp/", "CC-BY-SA-2.1-JP"),
    ("https://creativecommons.org/licenses/by-nc-sa/2.0/fr/", "CC-BY-NC-SA-2.0-FR"),
    ("https://creativecommons.org/licenses/by-nc-sa/2.0/uk/", "CC-BY-NC-SA-2.0-UK"),
    ("https://creativecommons.org/licenses/by-nc-nd/3.0/igo/", "CC-BY-NC-ND-3.0-IGO"),
    # ...otherwise a LicenseRef, never the unported licence.
    ("https://creativecommons.org/licenses/by/3.0/fr/", "LicenseRef-CC-BY-3.0-FR"),
    ("https://creativecommons.org/licenses/by-sa/2.0/de/", "LicenseRef-CC-BY-SA-2.0-DE"),
    ("https://creativecommons.org/licenses/by-sa/2.5/scotland/", "LicenseRef-CC-BY-SA-2.5-SCOTLAND"),
    ("https://creativecommons.org/licenses/by/2.1/jp/", "LicenseRef-CC-BY-2.1-JP"),
    ("https://creativecommons.org/licenses/by-nc/3.0/fr/deed.fr", "LicenseRef-CC-BY-NC-3.0-FR"),
]

OTHER_URLS = [
    ("https://www.etalab.gouv.fr/licence-ouverte-open-licence", "etalab-2.0"),
    ("https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "etalab-2.0"),
    ("https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf", "etalab-2.0"),
    ("https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Open-Licence-v2.0.pdf", "etalab-2.0"),
    ("https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf", "LicenseRef-etalab-1.0"),
    ("https://opendatacommons.org/licenses/odbl/1-0/", "ODbL-1.0"),
    ("http://opendatacommons.org/licenses/odbl/1.0/", "ODbL-1.0"),
    ("https://opendatacommons.org/licenses/odbl/", "ODbL-1.0"),
    ("https://opendatacommons.org/licenses/odbl/summary/", "ODbL-1.0"),
    ("https://opendatacommons.org/licenses/by/1-0/", "ODC-By-1.0"),
    ("https://opendatacommons.org/licenses/pddl/1-0/", "PDDL-1.0"),
    ("https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/", "OGL-UK-3.0"),
    ("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/2", "OGL-UK-2.0"),
    ("https://www.gnu.org/licenses/fdl.html", "GFDL-1.3-or-later"),
    ("https://www.gnu.org/licenses/fdl-1.3.html", "GFDL-1.3-only"),
    ("https://www.gnu.org/licenses/old-licenses/fdl-1.2.html", "GFDL-1.2-only"),
    ("https://opensource.org/licenses/MIT", "MIT"),
    ("https://opensource.org/license/mit/", "MIT"),
    ("https://opensource.org/licenses/Apache-2.0", "Apache-2.0"),
    ("https://www.apache.org/licenses/LICENSE-2.0", "Apache-2.0"),
    ("https://www.apache.org/licenses/LICENSE-2.0.html", "Apache-2.0"),
    ("https://spdx.org/licenses/CC-BY-SA-4.0.html", "CC-BY-SA-4.0"),
    ("https://spdx.org/licenses/etalab-2.0.json", "etalab-2.0"),
]

# --- to_spdx: ids and names ------------------------------------------------------------------

IDS_AND_NAMES = [
    ("CC-BY-4.0", "CC-BY-4.0"),
    ("cc-by-4.0", "CC-BY-4.0"),
    ("CC_BY_4.0", "CC-BY-4.0"),
    ("cc-by-nc-nd-3.0", "CC-BY-NC-ND-3.0"),
    ("cc-by-sa-3.0-de", "CC-BY-SA-3.0-DE"),
    ("CC BY 4.0", "CC-BY-4.0"),
    ("CC-BY 4.0", "CC-BY-4.0"),
    ("CC-BY-SA 3.0", "CC-BY-SA-3.0"),
    ("CC BY-SA 4.0", "CC-BY-SA-4.0"),
    ("CC BY\u2011SA 4.0", "CC-BY-SA-4.0"),  # non-breaking hyphen
    ("CC BY-NC-ND 4.0", "CC-BY-NC-ND-4.0"),
    ("CC BY 4.0 International", "CC-BY-4.0"),
    ("CC BY 4.0 Deed", "CC-BY-4.0"),
    ("CC BY-NC-SA 2.0 FR", "CC-BY-NC-SA-2.0-FR"),
    ("CC BY 3.0 FR", "LicenseRef-CC-BY-3.0-FR"),
    ("Creative Commons Attribution 4.0 International", "CC-BY-4.0"),
    ("Creative Commons Attribution 4.0 International License", "CC-BY-4.0"),
    ("Creative Commons Attribution 4.0 International Public License", "CC-BY-4.0"),
    ("Creative Commons Attribution 4.0 International (CC BY 4.0)", "CC-BY-4.0"),
    ("Creative Commons Attribution-ShareAlike 3.0 Unported", "CC-BY-SA-3.0"),
    ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International", "CC-BY-NC-SA-4.0"),
    ("Creative Commons Attribution-NoDerivs 2.5 Generic", "CC-BY-ND-2.5"),
    ("Creative Commons Attribution Non Commercial No Derivatives 4.0 International", "CC-BY-NC-ND-4.0"),
    ("Creative Commons Attribution 3.0 Germany", "CC-BY-3.0-DE"),
    ("Creative Commons Attribution Share Alike 2.0 England and Wales", "CC-BY-SA-2.0-UK"),
    ("Attribution-ShareAlike 4.0 International", "CC-BY-SA-4.0"),
    ("CC0", "CC0-1.0"),
    ("cc0-1.0", "CC0-1.0"),
    ("CC0 1.0 Universal", "CC0-1.0"),
    ("CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"),
    ("Creative Commons Zero v1.0 Universal", "CC0-1.0"),
    ("cc-zero", "CC0-1.0"),
    ("Public Domain Mark", "CC-PDM-1.0"),
    ("Public Domain Mark 1.0", "CC-PDM-1.0"),
    ("CC-PDM-1.0", "CC-PDM-1.0"),
    ("Licence Ouverte 2.0", "etalab-2.0"),
    ("Licence Ouverte v2.0", "etalab-2.0"),
    ("Licence Ouverte / Open Licence", "etalab-2.0"),
    ("Licence Ouverte / Open Licence version 2.0", "etalab-2.0"),
    ("Licence ouverte v2.0 (Etalab)", "etalab-2.0"),
    ("etalab-2.0", "etalab-2.0"),
    ("Etalab-2.0", "etalab-2.0"),
    ("lov2", "etalab-2.0"),
    ("Licence Ouverte 1.0", "LicenseRef-etalab-1.0"),
    ("Licence Ouverte v1.0", "LicenseRef-etalab-1.0"),
    ("fr-lo", "LicenseRef-etalab-1.0"),
    ("ODbL", "ODbL-1.0"),
    ("odbl-1.0", "ODbL-1.0"),
    ("ODC-ODbL", "ODbL-1.0"),
    ("Open Data Commons Open Database License (ODbL)", "ODbL-1.0"),
    ("Open Database License v1.0", "ODbL-1.0"),
    ("ODC-BY", "ODC-By-1.0"),
    ("odc-by-1.0", "ODC-By-1.0"),
    ("Open Data Commons Attribution License", "ODC-By-1.0"),
    ("PDDL", "PDDL-1.0"),
    ("Open Data Commons Public Domain Dedication and License", "PDDL-1.0"),
    ("GFDL", "GFDL-1.3-or-later"),
    ("GNU Free Documentation License", "GFDL-1.3-or-later"),
    ("GFDL-1.3", "GFDL-1.3-only"),
    ("GFDL 1.2", "GFDL-1.2-only"),
    ("GFDL 1.3+", "GFDL-1.3-or-later"),
    ("GNU Free Documentation License, Version 1.2 or any later version", "GFDL-1.2-or-later"),
    ("gfdl-1.3-or-later", "GFDL-1.3-or-later"),
    ("OGL-UK-3.0", "OGL-UK-3.0"),
    ("Open Government Licence v3.0", "OGL-UK-3.0"),
    ("Open Government Licence version 2", "OGL-UK-2.0"),
    ("MIT", "MIT"),
    ("mit", "MIT"),
    ("The MIT License", "MIT"),
    ("Apache-2.0", "Apache-2.0"),
    ("apache 2", "Apache-2.0"),
    ("Apache License 2.0", "Apache-2.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("bsd-3-clause", "BSD-3-Clause"),
    ("dl-de-by-2.0", "DL-DE-BY-2.0"),
    ("LicenseRef-my-terms", "LicenseRef-my-terms"),
    ("licenseref-Corp.2", "LicenseRef-Corp.2"),
    ("  'CC-BY-4.0'  ", "CC-BY-4.0"),
]

UNRECOGNISED = [
    "",
    "   ",
    "\x00\x01\xff",
    "x" * 100_000,
    "https://creativecommons.org/licenses/by/4.0/" + "a" * 3000,
    "https://example.org/terms",
    "https://creativecommons.org/",
    "https://creativecommons.org/licenses/",
    "https://creativecommons.org/licenses/by/",  # no version
    "https://creativecommons.org/licenses/by/5.0/",
    "https://creativecommons.org/licenses/by/2.1/",  # 2.1 only ever existed as ports
    "https://creativecommons.org/licenses/by/4.0/fr/",  # 4.0 has no ports
    "https://creativecommons.org/licenses/by-sa-nd/4.0/",
    "https://creativecommons.org/licenses/sa/4.0/",  # licences without BY ended with 1.0
    "https://creativecommons.org/licenses/by/4.0/de/extra/",
    "https://creativecommons.org/publicdomain/zero/2.0/",
    "https://creativecommons.org/licenses/sampling+/1.0/",
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/4/",
    "https://opendatacommons.org/licenses/odbl/2-0/",
    "http://[invalid-ipv6/licenses/by/4.0/",
    "CC BY",
    "CC-BY-SA",
    "Creative Commons",
    "CC BY-SA-ND 4.0",
    "CC BY 4.0 (except logos)",
    "CC BY 4.0 (CC BY-SA 4.0)",
    "CC BY 4.0 Narnia",
    "cc-by-sa-2.5,2.0,1.0",
    "CC-BY-4.0 OR MIT",
    "Public domain",
    "All rights reserved",
    "\u00a9 MIT",
    "Copyright 2020 Example Corp",
    "OGL",
    "Apache",
    "Open Licence",
    "etalab",
    "LicenseRef-",
    "LicenseRef-has space",
]


@pytest.mark.parametrize(("value", "expected"), CC_URLS + OTHER_URLS + IDS_AND_NAMES)
def test_to_spdx_maps(value, expected):
    assert to_spdx(value) == expected


@pytest.mark.parametrize("value", UNRECOGNISED)
def test_to_spdx_unrecognised_is_none(value):
    assert to_spdx(value) is None


@pytest.mark.parametrize("spdx", sorted(SPDX_IDS))
def test_every_spdx_id_maps_to_itself_in_any_case(spdx):
    assert to_spdx(spdx) == spdx
    assert to_spdx(spdx.lower()) == spdx
    assert to_spdx(spdx.upper()) == spdx


@pytest.mark.parametrize("spdx", CC_PORTED_SPDX)
def test_every_spdx_ported_licence_maps_from_its_url(spdx):
    elements_version, jurisdiction = spdx.removeprefix("CC-").rsplit("-", 1)
    elements, version = elements_version.rsplit("-", 1)
    url = f"https://creativecommons.org/licenses/{elements.lower()}/{version}/{jurisdiction.lower()}/legalcode"
    assert to_spdx(url) == spdx


@pytest.mark.parametrize("elements", ["by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd"])
@pytest.mark.parametrize("version", ["1.0", "2.0", "2.5", "3.0", "4.0"])
@pytest.mark.parametrize(
    "template",
    ["http://creativecommons.org/licenses/{}/{}/", "https://www.creativecommons.org/licenses/{}/{}/deed.es", "creativecommons.org/licenses/{}/{}/legalcode"],
)
def test_every_unported_cc_url(elements, version, template):
    expected = f"CC-{elements.upper()}-{version}"
    if (elements, version) == ("by-nc-nd", "1.0"):
        assert to_spdx(template.format("by-nd-nc", version)) == expected  # 1.0 spelt it by-nd-nc
    assert to_spdx(template.format(elements, version)) == expected


def test_to_spdx_never_raises_on_arbitrary_strings():
    rng = random.Random(20240611)
    seeds = [url for url, _ in CC_URLS + OTHER_URLS] + [name for name, _ in IDS_AND_NAMES]
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ./-_:()?#@%&+'\"<>©\u2011\u00e9\t\n"
    for _ in range(4000):
        kind = rng.randrange(4)
        if kind == 0:
            value = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 80)))
        elif kind == 1:
            value = "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(0, 40)))
        elif kind == 2:  # a real value, mangled
            value = list(rng.choice(seeds))
            for _ in range(rng.randrange(1, 4)):
                value.insert(rng.randrange(len(value) + 1), chr(rng.randrange(0x30000)))
            value = "".join(value)
        else:
            value = rng.choice(seeds)[: rng.randrange(0, 60)] * rng.randrange(1, 60)
        result = to_spdx(value)
        assert result is None or isinstance(result, str)


@pytest.mark.parametrize("value", [None, b"CC-BY-4.0", 4.0, ["CC-BY-4.0"]])
def test_to_spdx_non_strings_are_none(value):
    assert to_spdx(value) is None


# --- evidence_from_html ----------------------------------------------------------------------


def extract(html: str) -> list[Evidence]:
    return evidence_from_html(lxml.html.fromstring(html))


BY = "https://creativecommons.org/licenses/by/4.0/"
BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (f'<p><a rel="license" href="{BY}">x</a></p>', [Evidence("rel-license", BY, "CC-BY-4.0")]),
        (f'<p><a rel="License noopener" href="{BY}">x</a></p>', [Evidence("rel-license", BY, "CC-BY-4.0")]),
        (f'<p><a rel="nofollow\tlicense" href="{BY}">x</a></p>', [Evidence("rel-license", BY, "CC-BY-4.0")]),
        (f'<p><a rel="cc:license" href="{BY}">x</a></p>', [Evidence("rel-license", BY, "CC-BY-4.0")]),
        (f'<html><head><link rel="license" href="{BY_SA}"></head><body></body></html>', [Evidence("rel-license", BY_SA, "CC-BY-SA-4.0")]),
        # The link text counts when the href cannot be read...
        ('<p><a rel="license" href="/about/licence">CC BY-SA 4.0</a></p>', [Evidence("rel-license", "CC BY-SA 4.0", "CC-BY-SA-4.0")]),
        # ...or says something else (then both are reported, and decide_licence sees a conflict).
        (
            f'<p><a rel="license" href="{BY}">Creative Commons BY-SA 4.0</a></p>',
            [Evidence("rel-license", BY, "CC-BY-4.0"), Evidence("rel-license", "Creative Commons BY-SA 4.0", "CC-BY-SA-4.0")],
        ),
        (f'<p><a rel="license" href="{BY}">Some rights reserved</a></p>', [Evidence("rel-license", BY, "CC-BY-4.0")]),
        ('<p><a rel="license" href="/terms">Terms</a></p>', [Evidence("rel-license", "/terms", None)]),
        ('<p><a rel="license"></a></p>', []),
        ('<p><a rel="licensee" href="https://example.org/">x</a></p>', []),
        # meta: name or property, any case, Dublin Core spellings.
        ('<html><head><meta name="license" content="CC-BY-4.0"></head></html>', [Evidence("meta", "CC-BY-4.0", "CC-BY-4.0")]),
        ('<html><head><meta name="DC.rights" content="CC BY-SA 4.0"></head></html>', [Evidence("meta", "CC BY-SA 4.0", "CC-BY-SA-4.0")]),
        ('<html><head><meta name="dc.rights" content="All rights reserved"></head></html>', [Evidence("meta", "All rights reserved", None)]),
        (f'<html><head><meta name="dcterms.license" content="{BY}"></head></html>', [Evidence("meta", BY, "CC-BY-4.0")]),
        (f'<html><head><meta property="dcterms:license" content="{BY}"></head></html>', [Evidence("meta", BY, "CC-BY-4.0")]),
        ('<html><head><meta name="DCTERMS.rights" content="Licence Ouverte 2.0"></head></html>', [Evidence("meta", "Licence Ouverte 2.0", "etalab-2.0")]),
        ('<html><head><meta name="license" content="  "></head></html>', []),
        ('<html><head><meta name="og:license" content="CC0"><meta name="description" content="CC0"></head></html>', []),
        (f'<div itemscope><link itemprop="license" href="{BY}"></div>', [Evidence("meta", BY, "CC-BY-4.0")]),
        # Plain links to a Creative Commons licence.
        (f'<p><a href="{BY}deed.fr">cc</a></p>', [Evidence("cc-link", BY + "deed.fr", "CC-BY-4.0")]),
        ('<p><a href="//creativecommons.org/publicdomain/zero/1.0/">cc0</a></p>', [Evidence("cc-link", "//creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0")]),
        ('<p><a href="https://creativecommons.org/licenses/by/">cc</a></p>', [Evidence("cc-link", "https://creativecommons.org/licenses/by/", None)]),
        ('<p><a href="https://creativecommons.org/about/">about</a><a href="https://creativecommons.org/licenses/">list</a></p>', []),
        ('<p><a href="https://example.org/licenses/by/4.0/">x</a></p>', []),
    ],
)
def test_evidence_from_html(html, expected):
    assert extract(html) == expected


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('{"@type": "Article", "license": "https://creativecommons.org/licenses/by/4.0/"}', [BY]),
        ('{"license": {"@type": "CreativeWork", "url": "https://creativecommons.org/licenses/by/4.0/"}}', [BY]),
        ('{"license": {"@id": "https://creativecommons.org/licenses/by/4.0/"}}', [BY]),
        ('{"license": {"name": "CC BY 4.0"}}', ["CC BY 4.0"]),
        ('{"license": ["https://creativecommons.org/licenses/by/4.0/", {"url": "CC0"}]}', [BY, "CC0"]),
        ('[{"@type": "WebPage"}, {"@type": "Dataset", "license": "ODbL"}]', ["ODbL"]),
        ('{"@context": "https://schema.org", "@graph": [{"@type": "WebSite"}, {"@type": "Article", "license": "CC0"}]}', ["CC0"]),
        ('{"mainEntity": {"hasPart": [{"image": {"license": "CC BY 4.0"}}]}, "license": "CC0"}', ["CC BY 4.0", "CC0"]),
        ('{"schema:license": "CC0"}', ["CC0"]),
        ('{"license": null, "licenses": "CC0", "description": "CC BY 4.0"}', []),
        ('{"license": 4}', []),
        ('{"license": "  "}', []),
        ('{"license": "CC BY", }', []),  # malformed
        ("{not json", []),
        ("", []),
        ("[" * 100_000, []),  # too deep for the decoder
    ],
)
def test_json_ld(script, expected):
    html = f'<html><head><script type="application/ld+json">{script}</script></head><body></body></html>'
    assert [piece.value for piece in extract(html)] == expected
    assert all(piece.kind == "json-ld" for piece in extract(html))


def test_json_ld_maps_values_and_accepts_type_parameters():
    html = '<html><head><script type="Application/LD+JSON; charset=utf-8">{"license": "CC0"}</script></head></html>'
    assert extract(html) == [Evidence("json-ld", "CC0", "CC0-1.0")]


def test_json_ld_deep_but_valid_nesting_is_walked():
    deep = '{"a": ' * 500 + '{"license": "CC0"}' + "}" * 500
    html = f'<html><head><script type="application/ld+json">{deep}</script></head></html>'
    assert extract(html) == [Evidence("json-ld", "CC0", "CC0-1.0")]


def test_other_scripts_are_ignored():
    html = '<html><head><script>var license = "CC0";</script><script type="application/json">{"license": "CC0"}</script></head></html>'
    assert extract(html) == []


def test_evidence_in_document_order():
    html = f"""<html><head>
      <meta name="dcterms.license" content="{BY_SA}">
      <script type="application/ld+json">{{"license": "{BY}"}}</script>
      <link rel="license" href="{BY}">
    </head><body><!-- a comment -->
      <a href="https://creativecommons.org/licenses/by-nc/4.0/">cc</a>
      <a rel="license" href="{BY_SA}">licence</a>
    </body></html>"""
    assert [(piece.kind, piece.spdx) for piece in extract(html)] == [
        ("meta", "CC-BY-SA-4.0"),
        ("json-ld", "CC-BY-4.0"),
        ("rel-license", "CC-BY-4.0"),
        ("cc-link", "CC-BY-NC-4.0"),
        ("rel-license", "CC-BY-SA-4.0"),
    ]


def test_evidence_from_an_element_tree():
    tree = lxml.html.fromstring(f'<html><body><a rel="license" href="{BY}">x</a></body></html>').getroottree()
    assert evidence_from_html(tree) == [Evidence("rel-license", BY, "CC-BY-4.0")]


def test_page_without_evidence():
    assert extract("<html><body><p>Hello <a href='https://example.org'>world</a></p></body></html>") == []


# --- decide_licence --------------------------------------------------------------------------


def rel(value: str) -> Evidence:
    return Evidence("rel-license", value, to_spdx(value))


def meta(value: str) -> Evidence:
    return Evidence("meta", value, to_spdx(value))


def json_ld(value: str) -> Evidence:
    return Evidence("json-ld", value, to_spdx(value))


def cc_link(value: str) -> Evidence:
    return Evidence("cc-link", value, to_spdx(value))


def test_single_rel_license_allowed():
    assert decide_licence([rel(BY)], None, None, OPEN) == LicenceDecision(
        "CC-BY-4.0", f"rel-license: {BY} -> CC-BY-4.0", True, None
    )


def test_agreeing_evidence_in_one_tier_is_listed_once_per_value():
    decision = decide_licence([rel(BY), rel(BY + "deed.fr"), rel(BY)], None, None, OPEN)
    assert decision == LicenceDecision(
        "CC-BY-4.0", f"rel-license: {BY} -> CC-BY-4.0; rel-license: {BY}deed.fr -> CC-BY-4.0", True, None
    )


def test_highest_tier_wins_over_lower_tiers_and_declared():
    evidence = [cc_link("https://creativecommons.org/licenses/by-nc/4.0/"), meta("CC-BY-NC-4.0"), json_ld(BY_SA), rel(BY)]
    decision = decide_licence(evidence, None, "CC-BY-NC-4.0", OPEN)
    assert (decision.license, decision.allowed, decision.evidence) == ("CC-BY-4.0", True, f"rel-license: {BY} -> CC-BY-4.0")


def test_a_record_licence_that_contradicts_the_document_rejects_it():
    """An archive's record says CC-BY-NC, the file itself CC-BY: two parties disagree about one file."""
    decision = decide_licence([rel(BY)], "CC-BY-NC-4.0", None, OPEN)
    assert (decision.license, decision.allowed) == ("unknown", False)
    assert decision.detail == "conflicting evidence: the document says CC-BY-4.0, its record CC-BY-NC-4.0"


def test_a_record_licence_that_agrees_with_the_document_is_listed_beside_it():
    decision = decide_licence([Evidence("metadata", BY, to_spdx(BY))], "CC-BY-4.0", "CC0-1.0", OPEN)
    assert (decision.license, decision.allowed) == ("CC-BY-4.0", True)
    assert decision.evidence == f"document metadata: {BY} -> CC-BY-4.0; record license: CC-BY-4.0"


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ([json_ld(BY_SA), meta("CC-BY-4.0"), cc_link(BY)], "CC-BY-SA-4.0"),
        ([meta("CC0"), cc_link(BY)], "CC0-1.0"),
        ([cc_link(BY)], "CC-BY-4.0"),
    ],
)
def test_tier_order(evidence, expected):
    assert decide_licence(evidence, None, "CC-BY-SA-4.0", OPEN).license == expected


def test_conflict_in_the_deciding_tier_is_unknown_even_if_both_are_allowed():
    decision = decide_licence([rel(BY), rel(BY_SA), meta("CC0")], None, "CC-BY-4.0", OPEN)
    assert decision == LicenceDecision(
        "unknown",
        f"rel-license: {BY} -> CC-BY-4.0; rel-license: {BY_SA} -> CC-BY-SA-4.0",
        False,
        "conflicting evidence: CC-BY-4.0 vs CC-BY-SA-4.0",
    )


def test_conflict_lists_every_distinct_id():
    decision = decide_licence([cc_link(BY), cc_link(BY_SA), cc_link(BY), cc_link("https://creativecommons.org/licenses/by-nc/4.0/")], None, None, OPEN)
    assert decision.detail == "conflicting evidence: CC-BY-4.0 vs CC-BY-SA-4.0 vs CC-BY-NC-4.0"


def test_conflict_in_a_lower_tier_does_not_matter():
    decision = decide_licence([json_ld(BY_SA), cc_link(BY), cc_link("https://creativecommons.org/licenses/by-nc/4.0/")], None, None, OPEN)
    assert (decision.license, decision.allowed) == ("CC-BY-SA-4.0", True)


def test_unrecognised_document_evidence_does_not_fall_back_to_declared():
    decision = decide_licence([rel("https://example.org/terms")], "CC-BY-4.0", "CC-BY-4.0", OPEN)
    assert decision == LicenceDecision(
        "unknown",
        "rel-license: https://example.org/terms -> unrecognised",
        False,
        "unrecognised licence 'https://example.org/terms'",
    )


def test_unrecognised_next_to_recognised_in_the_same_tier_is_unknown():
    decision = decide_licence([meta("Tous droits réservés"), meta(BY)], None, None, OPEN)
    assert (decision.license, decision.allowed, decision.detail) == ("unknown", False, "unrecognised licence 'Tous droits réservés'")


def test_unrecognised_in_a_lower_tier_does_not_matter():
    decision = decide_licence([meta(BY), cc_link("https://creativecommons.org/licenses/by/")], None, None, OPEN)
    assert (decision.license, decision.allowed) == ("CC-BY-4.0", True)


def test_record_licence_used_when_no_document_evidence():
    assert decide_licence([], "cc-by-sa-4.0", "CC-BY-4.0", OPEN) == LicenceDecision(
        "CC-BY-SA-4.0", "record license: cc-by-sa-4.0 -> CC-BY-SA-4.0", True, None
    )


def test_unrecognised_record_licence_does_not_fall_back_to_declared():
    assert decide_licence([], "see website", "CC-BY-4.0", OPEN) == LicenceDecision(
        "unknown", "record license: see website -> unrecognised", False, "unrecognised licence 'see website'"
    )


@pytest.mark.parametrize("record", [None, "", "   "])
def test_declared_used_when_no_document_evidence_and_no_record(record):
    assert decide_licence([], record, "CC-BY-4.0", OPEN) == LicenceDecision(
        "CC-BY-4.0", "declared by source: CC-BY-4.0", True, None
    )


def test_declared_given_as_a_name_is_mapped():
    assert decide_licence([], None, "Licence Ouverte / Open Licence", OPEN) == LicenceDecision(
        "etalab-2.0", "declared by source: Licence Ouverte / Open Licence -> etalab-2.0", True, None
    )


def test_unrecognised_declared_is_unknown():
    assert decide_licence([], None, "our own terms", OPEN) == LicenceDecision(
        "unknown", "declared by source: our own terms -> unrecognised", False, "unrecognised licence 'our own terms'"
    )


def test_nothing_at_all_is_unknown():
    assert decide_licence([], None, None, OPEN) == LicenceDecision(
        "unknown", "none", False, "no licence evidence and no declared licence"
    )


def test_not_on_the_allow_list():
    decision = decide_licence([rel("https://creativecommons.org/licenses/by-nc/4.0/")], None, "CC-BY-4.0", OPEN)
    assert decision == LicenceDecision(
        "CC-BY-NC-4.0",
        "rel-license: https://creativecommons.org/licenses/by-nc/4.0/ -> CC-BY-NC-4.0",
        False,
        "CC-BY-NC-4.0 is not on the allow list",
    )


def test_ported_licence_is_not_allowed_by_the_unported_id():
    decision = decide_licence([rel("https://creativecommons.org/licenses/by/3.0/fr/")], None, None, {"CC-BY-3.0"})
    assert (decision.license, decision.allowed, decision.detail) == (
        "LicenseRef-CC-BY-3.0-FR",
        False,
        "LicenseRef-CC-BY-3.0-FR is not on the allow list",
    )


def test_allow_list_is_compared_case_insensitively_and_canonical_case_returned():
    decision = decide_licence([], None, "ETALAB-2.0", {"Etalab-2.0 "})
    assert (decision.license, decision.allowed, decision.detail) == ("etalab-2.0", True, None)


def test_empty_allow_list_allows_nothing():
    decision = decide_licence([rel(BY)], None, None, [])
    assert (decision.license, decision.allowed, decision.detail) == ("CC-BY-4.0", False, "CC-BY-4.0 is not on the allow list")


def test_caller_built_evidence_with_non_canonical_case():
    decision = decide_licence([Evidence("meta", "x", "cc-by-4.0"), Evidence("meta", "y", "CC-BY-4.0")], None, None, OPEN)
    assert (decision.license, decision.allowed) == ("CC-BY-4.0", True)


def test_record_and_declared_evidence_kinds_in_the_list_are_tiers_too():
    decision = decide_licence([Evidence("declared", "CC0", "CC0-1.0"), Evidence("record", "CC-BY-4.0", "CC-BY-4.0")], None, None, OPEN)
    assert (decision.license, decision.evidence) == ("CC-BY-4.0", "record license: CC-BY-4.0")


def test_unknown_evidence_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown evidence kind"):
        decide_licence([Evidence("footer", "CC0", "CC0-1.0")], None, None, OPEN)


def test_long_values_are_shortened_to_one_line():
    value = "terms\n" + "x" * 1000
    decision = decide_licence([meta(value)], None, None, OPEN)
    assert decision.detail == "unrecognised licence 'terms " + "x" * 193 + "\u2026'"
    assert "\n" not in decision.evidence


def test_from_html_to_decision():
    html = f"""<html><head><script type="application/ld+json">{{"@graph": [{{"license": {{"@id": "{BY_SA}"}}}}]}}</script></head>
      <body><a href="https://creativecommons.org/licenses/by-nc/4.0/">images</a></body></html>"""
    decision = decide_licence(extract(html), None, "CC-BY-4.0", OPEN)
    assert decision == LicenceDecision("CC-BY-SA-4.0", f"json-ld: {BY_SA} -> CC-BY-SA-4.0", True, None)
