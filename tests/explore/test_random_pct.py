"""Random walks and PCT: seeded, reproducible, and PCT finds a depth-2 bug in time."""

from __future__ import annotations

from swaplab.explore.explorer import explore
from swaplab.explore.pct import estimate_steps
from swaplab.explore.runner import RunResult
from swaplab.explore.search import Options
from swaplab.scenarios import get_scenario


def failing_runs(name: str, strategy: str, seed: int, budget: int) -> list[int]:
    """The 1-based indices of the runs that break a property."""
    runs: list[bool] = []

    def keep(result: RunResult) -> None:
        runs.append(result.failure is not None)

    explore(get_scenario(name).model(),
            Options(strategy=strategy, seed=seed, max_executions=budget, shrink=False),
            on_result=keep)
    return [i + 1 for i, failed in enumerate(runs) if failed]


def test_pct_finds_the_depth_2_bug_at_its_expected_rate() -> None:
    """n = 2 threads, k = 42 steps, d = 2: a run finds the bug with probability at least
    1/(n k^(d-1)) = 1/84 (the writer must lose its priority exactly between its two flag
    writes). 840 seeded runs then expect at least 10 failing runs; we ask for half that, and
    for a first failing run within 2 * 84 runs."""
    model = get_scenario("tiny-ordering-20").model()
    assert estimate_steps(model) == 42
    found = failing_runs("tiny-ordering-20", "pct", 0, 840)
    assert len(found) >= 5
    assert found[0] <= 168


def test_random_and_pct_are_reproducible_per_seed() -> None:
    for strategy in ("random", "pct"):
        a = failing_runs("tiny-ordering-20", strategy, 7, 300)
        b = failing_runs("tiny-ordering-20", strategy, 7, 300)
        assert a == b and a


def test_random_finds_the_lost_update_and_is_never_complete() -> None:
    result = explore(get_scenario("tiny-lost-update").model(),
                     Options(strategy="random", seed=1, max_executions=50))
    assert [f.property for f in result.findings] == ["no-lost-update"]
    assert not result.stats.complete and result.stats.executions == 50
    clean = explore(get_scenario("tiny-locked-counter").model(),
                    Options(strategy="random", seed=1, max_executions=50))
    assert clean.status == "incomplete"
