"""A strategy is its Strategy object plus one registry entry: the explorer, the parallel
search and the reports take it from there."""

from __future__ import annotations

import pytest

from swaplab.explore.backend import InProcess
from swaplab.explore.execution import Thread
from swaplab.explore.explorer import explore
from swaplab.explore.parallel import explore_parallel
from swaplab.explore.runner import Driver, Run, run_on
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Options, Search
from swaplab.explore.strategies import STRATEGIES, get_strategy
from swaplab.explore.strategy import Share
from swaplab.report import check_json
from swaplab.scenarios import get_scenario


class _RunOn(Driver):
    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        return run_on(run, enabled)


class NonPreemptive:
    """One run without preemption per share: the smallest strategy there is."""

    name = "non-preemptive"
    exhaustive = False
    resumable = False

    def run(self, search: Search, bound: int | None, share: Share) -> None:
        search.run((), _RunOn())

    def split(self, search: Search, bound: int | None, parts: int) -> list[Share]:
        return [Share()]


def test_a_registered_strategy_runs_in_one_process_and_split(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STRATEGIES, "non-preemptive", NonPreemptive())
    model = get_scenario("tiny-lost-update").model()
    options = Options(strategy="non-preemptive")
    one = explore(model, options)
    two = explore_parallel(model, options, InProcess(), 2)
    assert one.stats.executions == two.stats.executions == 1
    assert one.status == two.status == "incomplete"  # not exhaustive: no verdict
    data = check_json(one, scenario="tiny-lost-update", kernel=None, patches=None,
                      spec=lambda d: "-")
    assert data["strategy"] == "non-preemptive" and data["seed"] == 0


def test_an_unknown_strategy_names_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="one of dpor, dfs, dfs-cached, random, pct"):
        get_strategy("bfs")
