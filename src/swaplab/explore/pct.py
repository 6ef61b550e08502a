"""PCT: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, 2010).

Each run gives the threads random distinct priorities (all above ``d``) and picks ``d - 1``
change points among the ``k`` steps a run takes; the highest-priority enabled thread always
runs, and at the ``j``-th change point the running thread drops to priority ``j``. A bug of
depth ``d`` (``d`` ordering constraints) is found by one run with probability at least
``1 / (n * k^(d-1))`` for ``n`` threads. ``k`` is measured by one non-preemptive run: the
explorer's run-on from the start (:data:`~swaplab.explore.nonpreemptive.RUN_ON`, as a
replay's finish runs it).
"""

from __future__ import annotations

from random import Random

from swaplab.explore.execution import Thread
from swaplab.explore.model import Model
from swaplab.explore.random_walk import DEFAULT_RUNS, run_seed, runs
from swaplab.explore.replay import replay
from swaplab.explore.runner import Driver, Run, decisions_of
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Search
from swaplab.explore.strategy import WHOLE, Share, split_runs


class PctDriver(Driver):
    def __init__(self, rng: Random, depth: int, steps: int) -> None:
        self.rng = rng
        self.depth = depth
        count = min(depth - 1, steps)
        points = rng.sample(range(1, steps + 1), count) if count > 0 else []
        self.changes = {point: j for j, point in enumerate(sorted(points))}
        self.priority: list[float] = []

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        rng, priority = self.rng, self.priority
        while len(priority) < len(run.threads):
            priority.append(self.depth + rng.random())
        best = max(enabled, key=lambda t: priority[t.tid])
        change = self.changes.get(len(run.decisions))
        if change is not None:
            priority[best.tid] = float(change)
            best = max(enabled, key=lambda t: priority[t.tid])
        options = decisions_of(best)
        return options[rng.randrange(len(options))]


def estimate_steps(model: Model, max_steps: int | None = None) -> int:
    """``k``: the steps of one non-preemptive run (the explorer's run-on, from the
    start)."""
    return max(1, len(replay(model, (), trace=False, max_steps=max_steps,
                             finish=True).decisions))


def pct(search: Search, seed: int, depth: int, steps: int, start: int = 0,
        stop: int | None = None) -> None:
    """Runs ``start`` .. ``stop - 1`` of the seeded PCT search of bug depth ``depth``."""
    stop = stop if stop is not None else DEFAULT_RUNS
    for index in range(start, stop):
        if not search.budget_left():
            break
        search.run((), PctDriver(Random(run_seed(seed, index)), depth, steps))
    search.stats.complete = False


class Pct:
    """The strategy: seeded PCT runs, split into ranges of run indices (``k`` measured
    once, before the split)."""

    name = "pct"
    exhaustive = False
    resumable = False

    def run(self, search: Search, bound: int | None, share: Share = WHOLE) -> None:
        opts = search.options
        steps = share.steps
        if steps is None:
            steps = estimate_steps(search.model, opts.max_steps)
        stop = share.stop if share.stop is not None else runs(search)
        pct(search, opts.seed, opts.depth, steps, share.start, stop)

    def split(self, search: Search, bound: int | None, parts: int) -> list[Share]:
        steps = estimate_steps(search.model, search.options.max_steps)
        return split_runs(runs(search), parts, steps)
