"""Licence mapping reads values written by strangers: any string maps to an SPDX-like id or None, never raises."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from moisson.licence import Evidence, decide_licence, portal_licence, portal_licence_id, to_spdx

SPDX_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
licenceish = st.one_of(
    st.text(max_size=120),
    st.builds(lambda kind, version, lang: f"https://creativecommons.org/licenses/{kind}/{version}/{lang}",
              st.sampled_from(["by", "by-sa", "by-nc", "by-nd", "zero", "", "by-sa-nc"]),
              st.sampled_from(["1.0", "2.0", "2.5", "3.0", "4.0", "9.9", ""]), st.sampled_from(["", "deed.fr", "fr/", "legalcode"])),
    st.sampled_from(["lov2", "fr-lo", "odc-odbl", "notspecified", "cc-by", "CC-BY-4.0", "etalab-2.0", "other-open",
                     "info:eu-repo/semantics/openAccess", "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"]),
)


@settings(max_examples=300, deadline=None)
@given(value=licenceish)
def test_to_spdx_and_portal_ids_never_raise_and_answer_an_id_or_none(value):
    for mapped in (to_spdx(value), portal_licence_id(value)):
        assert mapped is None or SPDX_LIKE.match(mapped), mapped


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.none() | licenceish, max_size=5), allow=st.lists(st.sampled_from(["CC-BY-4.0", "CC0-1.0", "etalab-2.0"]), max_size=3))
def test_portal_licence_is_fail_closed(values, allow):
    licence = portal_licence(values, allow)
    assert licence.verdict in ("allow", "review", "reject")
    if licence.spdx is None:
        assert licence.verdict != "allow"


@settings(max_examples=200, deadline=None)
@given(evidence=st.lists(st.builds(Evidence, st.sampled_from(["rel-license", "json-ld", "meta", "cc-link"]), st.text(max_size=60),
                                   st.none() | st.sampled_from(["CC-BY-4.0", "CC0-1.0", "MIT"])), max_size=4),
       record=st.none() | licenceish, declared=st.none() | licenceish)
def test_decide_licence_keeps_only_allowed_licences(evidence, record, declared):
    allow = ["CC-BY-4.0", "CC0-1.0"]
    decision = decide_licence(evidence, record, declared, allow)
    assert decision.allowed == (decision.license in allow)
    assert decision.allowed or decision.detail
