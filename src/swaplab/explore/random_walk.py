"""Random walks: each run picks uniformly among the enabled decisions, from its own seed.

Run ``i`` of a search with seed ``s`` draws from ``Random(s * 1_000_003 + i)``, so a run is
the same whichever worker performs it: splitting runs by index over processes finds exactly
what one process finds.
"""

from __future__ import annotations

from random import Random

from swaplab.explore.execution import Thread
from swaplab.explore.runner import Driver, Run, decisions_of
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Search
from swaplab.explore.strategy import WHOLE, Share, split_runs

#: Runs of a random or PCT search when the options set no budget.
DEFAULT_RUNS = 1000


def run_seed(seed: int, index: int) -> int:
    return seed * 1_000_003 + index


class RandomDriver(Driver):
    def __init__(self, rng: Random) -> None:
        self.rng = rng

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        options = decisions_of(enabled[self.rng.randrange(len(enabled))])
        return options[self.rng.randrange(len(options))]


def random_walk(search: Search, seed: int, start: int = 0, stop: int | None = None) -> None:
    """Runs ``start`` .. ``stop - 1`` of the seeded random search."""
    stop = stop if stop is not None else DEFAULT_RUNS
    for index in range(start, stop):
        if not search.budget_left():
            break
        search.run((), RandomDriver(Random(run_seed(seed, index))))
    search.stats.complete = False


def runs(search: Search) -> int:
    """The runs of a sampling search: its budget, else :data:`DEFAULT_RUNS`."""
    limit = search.options.max_executions
    return limit if limit is not None else DEFAULT_RUNS


class RandomWalk:
    """The strategy: seeded random runs, split into ranges of run indices."""

    name = "random"
    exhaustive = False
    resumable = False

    def run(self, search: Search, bound: int | None, share: Share = WHOLE) -> None:
        stop = share.stop if share.stop is not None else runs(search)
        random_walk(search, search.options.seed, share.start, stop)

    def split(self, search: Search, bound: int | None, parts: int) -> list[Share]:
        return split_runs(runs(search), parts)
