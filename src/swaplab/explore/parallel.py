"""The search split over workers (:mod:`swaplab.explore.backend`: local processes or Ray).

Each strategy cuts its search into shares (:meth:`~swaplab.explore.strategy.Strategy.split`):
dfs and dpor the subtrees below the prefixes of the tree's top, expanded exhaustively (dpor
with sleep sets); races that would add a branch above a prefix are dropped, since the top is
exhaustive, so dpor may run more executions than in one process but finds the same
properties broken. random and pct cut ranges of run indices: run ``i`` uses its own seed, so
the runs are exactly those of one process.

A task returns its :class:`~swaplab.explore.search.Outcome`; the merge keeps the best failure
per property, so :func:`explore_parallel` then concludes (shrinks, traces) like
:func:`~swaplab.explore.explorer.explore`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from swaplab.explore.backend import Backend, InProcess, LocalPool, RayCluster, default_jobs
from swaplab.explore.explorer import Result, conclude
from swaplab.explore.model import Model
from swaplab.explore.search import Options, Outcome, Search
from swaplab.explore.strategies import get_strategy
from swaplab.explore.strategy import Share, bounds

__all__ = ["Backend", "InProcess", "LocalPool", "RayCluster", "Task", "default_jobs",
           "explore_parallel", "run_task"]


@dataclass(frozen=True, slots=True)
class Task:
    """One worker's share of a search within preemption ``bound``."""

    model: Model
    options: Options
    bound: int | None
    share: Share


def run_task(task: Task) -> Outcome:
    """Run one task (the worker function: module-level, so it pickles)."""
    options = replace(task.options, max_executions=task.share.budget, shrink=False)
    search = Search(task.model, options)
    get_strategy(options.strategy).run(search, task.bound, task.share)
    return search.outcome()


def explore_parallel(model: Model, options: Options, backend: Backend, jobs: int,
                     progress: Callable[[Search], None] | None = None) -> Result:
    """Explore ``model`` over ``backend`` (``jobs`` workers) with the same findings as one
    process."""
    strategy = get_strategy(options.strategy)
    search = Search(model, options, progress=progress)
    reached: int | None = None
    for bound in bounds(strategy, options.preemption_bound):
        reached = bound
        search.stats.complete = True
        tasks = [Task(model, options, bound, share)
                 for share in strategy.split(search, bound, jobs)]
        for outcome in backend.map(run_task, tasks):
            search.merge(outcome)
        search.stop_requested()  # the workers saw the same stop request
        if (search.bugs() or search.stopped is not None or not search.budget_left()
                or search.stats.complete):
            break
    if not strategy.exhaustive:
        search.stats.complete = False  # samples: no verdict of "clean"
    return conclude(search, reached)
