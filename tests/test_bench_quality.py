"""bench/quality.py's oracle bound: the share of pages a perfect router must give the precise extractor."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from quality import PageCounts, oracle_share  # noqa: E402

RIGHT, WRONG = PageCounts(tp=10, fp=0, fn=0, exact=True), PageCounts(tp=0, fp=5, fn=5, exact=False)


def test_the_oracle_switches_the_pages_that_gain_most_first():
    fast, precise = [RIGHT, WRONG, RIGHT, WRONG], [RIGHT] * 4
    assert oracle_share(fast, precise, target_f1=1.0) == 0.5
    assert oracle_share(fast, precise, target_f1=0.7) == 0.25  # one wrong page switched: P = R = 0.75
    assert oracle_share(fast, precise, target_f1=0.5) == 0.0


def test_a_target_neither_extractor_reaches_needs_more_than_every_page():
    assert oracle_share([WRONG, RIGHT], [WRONG, RIGHT], target_f1=0.9) is None
