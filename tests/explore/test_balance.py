"""The split refined by subtree estimates (explore/balance.py)."""

from __future__ import annotations

from random import Random

from swaplab.explore.backend import InProcess
from swaplab.explore.balance import MAX_EXPANSIONS, Estimator, ProbeDriver, balance
from swaplab.explore.dfs import dfs
from swaplab.explore.explorer import explore
from swaplab.explore.parallel import explore_parallel
from swaplab.explore.runner import execute
from swaplab.explore.search import Options, Search
from swaplab.explore.strategies import get_strategy
from swaplab.scenarios import get_scenario


def mean_estimate(name: str, bound: int | None, probes: int) -> float:
    model = get_scenario(name).model()
    total = 0.0
    for seed in range(probes):
        driver = ProbeDriver(Random(seed), bound)
        execute(model, (), driver)
        total += driver.size
    return total / probes


def test_knuths_estimate_is_near_the_runs_dfs_takes() -> None:
    """The estimator is unbiased for the bounded tree's leaves: dfs runs 70 schedules of
    tiny-independent-4, 8 of them within exactly one preemption's bound."""
    model = get_scenario("tiny-independent-4").model()
    search = Search(model, Options(strategy="dfs", shrink=False))
    dfs(search, 1)
    assert search.stats.executions == 8
    assert abs(mean_estimate("tiny-independent-4", 1, 2000) - 8) <= 8 * 0.1
    assert abs(mean_estimate("tiny-independent-4", None, 400) - 70) <= 70 * 0.15


def test_the_largest_share_is_expanded_until_it_is_one_part() -> None:
    """A tree of 100 leaves below one share and 1 below each of nine others: the big one
    is expanded (ten children of ten) until no share is above a quarter of the total."""
    def size(share: str) -> float:
        return 100.0 / 10 ** share.count("*") if share.startswith("big") else 1.0

    def expand(share: str) -> list[str]:
        return [f"{share}*{i}" for i in range(10)]

    shares = balance(["big", *(f"s{i}" for i in range(9))], 4, size, expand, lambda: False)
    assert len(shares) == 19 and shares[:10] == [f"big*{i}" for i in range(10)]
    assert balance(["big"], 4, size, lambda s: [s], lambda: False) == ["big"]  # no progress
    assert balance(["big", "s0"], 4, size, expand, lambda: True) == ["big", "s0"]  # stopped
    assert MAX_EXPANSIONS >= 16


def test_a_balanced_dfs_split_runs_exactly_the_executions_of_one_process() -> None:
    """tiny-scaled-3x3 within 2 preemptions: the split expands its largest subtrees (more
    shares than the uniform top gives) and still runs each schedule once."""
    model = get_scenario("tiny-scaled-3x3").model()
    options = Options(strategy="dfs", preemption_bound=2, shrink=False)
    one = explore(model, options)
    two = explore_parallel(model, options, InProcess(), 2)
    assert two.stats.executions == one.stats.executions == 3186
    assert two.stats.distinct_states == one.stats.distinct_states
    assert two.status == one.status


def test_the_split_expands_and_is_the_same_every_time() -> None:
    """tiny-scaled-3x3 within 2 preemptions, 8 parts: the uniform top has 45 subtrees,
    four of them are expanded further."""
    model = get_scenario("tiny-scaled-3x3").model()
    search = Search(model, Options(strategy="dfs"))
    shares = get_strategy("dfs").split(search, 2, 8)
    again = get_strategy("dfs").split(Search(model, Options(strategy="dfs")), 2, 8)
    assert shares == again and len(shares) == 52
    assert Estimator(search, 2)(shares[0].prefix) == Estimator(search, 2)(shares[0].prefix)
