"""--jobs 2 and the Ray backend find what one process finds."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TypeVar

import pytest

from swaplab.cli import main
from swaplab.explore.backend import InProcess, LocalPool, RayCluster
from swaplab.explore.explorer import Result, explore
from swaplab.explore.parallel import explore_jobs, explore_parallel
from swaplab.explore.search import Options, Search
from swaplab.explore.strategies import get_strategy
from swaplab.explore.strategy import WHOLE, Share
from swaplab.scenarios import get_scenario

T = TypeVar("T")
R = TypeVar("R")

CASES = [
    ("tiny-lost-update", "dpor"),
    ("tiny-abba", "dfs"),
    ("tiny-bug-on", "dpor"),
    ("tiny-unreachable", "dpor"),
    ("tiny-locked-counter", "dfs"),
    ("tiny-lost-update", "random"),
    ("tiny-ordering-20", "pct"),
]


def options(strategy: str) -> Options:
    budget = 200 if strategy in ("random", "pct") else None
    return Options(strategy=strategy, seed=3, max_executions=budget)


def found(result: Result) -> list[tuple[str, str, str | int]]:
    """Findings by property and message, and by schedule where the runs are the same ones
    (dfs, random, pct: a dpor split may reach another minimal schedule of the same size)."""
    exact = result.options.strategy != "dpor"
    return [(f.property, f.message, str(f.schedule) if exact else f.steps)
            for f in result.findings]


def test_local_pool_finds_the_same_findings_as_one_process() -> None:
    backend = LocalPool(2)
    for name, strategy in CASES:
        model = get_scenario(name).model()
        one = explore(model, options(strategy))
        two = explore_parallel(model, options(strategy), backend, 2)
        assert found(two) == found(one), (name, strategy)
        assert two.status == one.status


def test_dfs_split_runs_exactly_the_same_executions() -> None:
    model = get_scenario("tiny-independent-4").model()
    two = explore_parallel(model, Options(strategy="dfs"), InProcess(), 2)
    assert two.stats.executions == 70 and two.status == "clean"


def test_random_split_runs_exactly_the_runs_of_one_process() -> None:
    model = get_scenario("tiny-ordering-20").model()
    one = explore(model, Options(strategy="random", seed=5, max_executions=120, shrink=False))
    two = explore_parallel(model, Options(strategy="random", seed=5, max_executions=120,
                                          shrink=False),
                           InProcess(), 3)
    assert two.stats.executions == one.stats.executions == 120
    assert two.stats.steps == one.stats.steps
    assert found(two) == found(one)


def test_ray_backend_finds_the_same_findings_as_one_process() -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        backend = RayCluster()
        for name, strategy in [CASES[0], CASES[5]]:
            model = get_scenario(name).model()
            one = explore(model, options(strategy))
            two = explore_parallel(model, options(strategy), backend, 2)
            assert found(two) == found(one), (name, strategy)
    finally:
        ray.shutdown()


class Counting(InProcess):
    """This process, counting the fan-outs."""

    def __init__(self) -> None:
        self.calls = 0

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        self.calls += 1
        return super().map(fn, items)


def test_a_tiny_check_starts_no_worker() -> None:
    model = get_scenario("tiny-lost-update").model()
    backend = Counting()
    jobs = explore_jobs(model, Options(), backend, 2)
    one = explore(model, Options())
    assert backend.calls == 0 and jobs.stats.workers == 0
    assert jobs.stats.executions == one.stats.executions
    assert found(jobs) == found(one) and jobs.status == one.status


def test_a_search_that_lasts_fans_out_with_the_counts_of_one_process() -> None:
    model = get_scenario("tiny-independent-6").model()
    backend = Counting()
    jobs = explore_jobs(model, Options(strategy="dfs"), backend, 2, fan_out=0.01)
    assert backend.calls == 1 and jobs.stats.workers == 2
    assert jobs.stats.executions == 924 and jobs.status == "clean"


def test_check_with_the_default_jobs_runs_a_tiny_check_in_this_process(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "tiny-lost-update", "--json"]) == 1
    statistics = json.loads(capsys.readouterr().out)["statistics"]
    assert statistics["workers"] == 0 and statistics["executions"] == 4


def test_a_search_goes_on_over_workers_from_the_bound_it_had_reached() -> None:
    """What explore_jobs does after its trial: bounds 0 and 1 explored in this process
    (kept, with a copy taken as bound 2 begins), bound 2 over the workers; the executions
    are those of one process, and the trial's half-done bound 2 is not counted."""
    model = get_scenario("tiny-scaled-3x3").model()
    options = Options(strategy="dfs", preemption_bound=2, shrink=False)
    one = explore(model, options)
    search = Search(model, options)
    strategy = get_strategy("dfs")
    for bound in (0, 1):
        strategy.run(search, bound, WHOLE)
    before = search.copy()
    strategy.run(search, 2, Share(budget=None, prefix=((0, -1),)))  # the trial goes on
    two = explore_parallel(model, options, InProcess(), 2, search=before, start=2)
    assert two.stats.executions == one.stats.executions == 3186
    assert two.status == one.status and two.bound == 2
