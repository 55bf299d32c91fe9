"""The quality heuristics run on whatever extraction produced: any string gets a verdict, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from moisson.text_quality import QualityThresholds, check_quality

lines = st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(["", "...", "•", "- item", "lorem ipsum"]),
                 max_size=30).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=2000) | lines)
def test_any_string_gets_a_verdict(text):
    verdict = check_quality(text, QualityThresholds())
    assert verdict.passed == (verdict.rule is None)
    assert isinstance(verdict.signals, dict)

