"""bench/quality.py's hybrid bound: the least share of pages any router must give the precise extractor."""

from tests.bench_scripts import load_bench_script


bench = load_bench_script("quality.py")
PageCounts, oracle_share = bench.PageCounts, bench.oracle_share

RIGHT, WRONG = PageCounts(tp=10, fp=0, fn=0, exact=True), PageCounts(tp=0, fp=5, fn=5, exact=False)
HALF_FOUND = PageCounts(tp=5, fp=0, fn=5, exact=False)  # precision 1, recall 0.5


def test_the_pages_that_gain_most_are_switched_first():
    fast, precise = [RIGHT, WRONG, RIGHT, WRONG], [RIGHT] * 4
    assert oracle_share(fast, precise, target_f1=1.0) == 0.5
    assert oracle_share(fast, precise, target_f1=0.7) == 0.25  # one wrong page switched: P = R = 0.75
    assert oracle_share(fast, precise, target_f1=0.5) == 0.0


def test_the_share_is_a_lower_bound_from_the_mean_of_precision_and_recall():
    # F1 of P = 1, R = 0.5 is 0.67, under the target, yet (P + R) / 2 = 0.75 reaches it: the bound says no page
    assert oracle_share([HALF_FOUND] * 2, [RIGHT] * 2, target_f1=0.75) == 0.0


def test_a_target_neither_extractor_reaches_needs_more_than_every_page():
    assert oracle_share([WRONG, RIGHT], [WRONG, RIGHT], target_f1=0.9) is None
