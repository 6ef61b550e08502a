"""The search split over workers (:mod:`swaplab.explore.backend`: local processes or Ray).

Each strategy cuts its search into shares (:meth:`~swaplab.explore.strategy.Strategy.split`):
dfs and dpor the subtrees below the prefixes of the tree's top, expanded exhaustively (dpor
with sleep sets); races that would add a branch above a prefix are dropped, since the top is
exhaustive, so dpor may run more executions than in one process but finds the same
properties broken. random and pct cut ranges of run indices: run ``i`` uses its own seed, so
the runs are exactly those of one process.

A task returns its :class:`~swaplab.explore.search.Outcome`; the merge keeps the best failure
per property, so :func:`explore_parallel` then concludes (shrinks, traces) like
:func:`~swaplab.explore.explorer.explore`. The shares are dealt out one or a few at a time
as workers free up, :data:`SHARES_PER_WORKER` of them per worker, so one large subtree does
not leave a worker idle.

Workers pay only for a search that lasts: starting a pool costs about half a second here,
a tiny check a millisecond. :func:`explore_jobs` (``swaplab check``'s ``--jobs``) runs the
search in this process for :data:`FAN_OUT_S` seconds first; a search over by then is the
one-process search (``workers`` 0 in its statistics), the same executions and counts. A
longer one goes on over the workers from the preemption bound the trial was in: the
bounds the trial finished are kept, the runs of the one it was in are not (an exhaustive
strategy's frontier cannot be split once its search has begun), so it costs up to
:data:`FAN_OUT_S` more than a search fanned out at once; its counts are those of the
split search described above from that bound on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from swaplab import interrupt
from swaplab.explore.backend import Backend, InProcess, LocalPool, RayCluster, default_jobs
from swaplab.explore.explorer import Result, conclude, run_bounds
from swaplab.explore.model import Model
from swaplab.explore.search import Options, Outcome, Search
from swaplab.explore.strategies import get_strategy
from swaplab.explore.strategy import Share, bounds

__all__ = ["Backend", "InProcess", "LocalPool", "RayCluster", "Task", "default_jobs",
           "explore_jobs", "explore_parallel", "run_task"]

#: Seconds a search runs in this process before it fans out to workers.
FAN_OUT_S = 0.25
#: The stop reason of that trial's end (never a command's: it does not leave this module).
FAN_OUT = "fan-out"
#: Shares asked of a strategy per worker (at least four times as many subtrees).
SHARES_PER_WORKER = 4


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
                     progress: Callable[[Search], None] | None = None,
                     search: Search | None = None, start: int = 0) -> Result:
    """Explore ``model`` over ``backend`` (``jobs`` workers) with the same findings as one
    process; with ``search``, go on from it at the ``start``-th bound (the bounds before
    were explored in it)."""
    strategy = get_strategy(options.strategy)
    if search is None:
        search = Search(model, options, progress=progress)
    reached: int | None = None
    for bound in bounds(strategy, options.preemption_bound)[start:]:
        reached = bound
        search.stats.complete = True
        tasks = [Task(model, options, bound, share)
                 for share in strategy.split(search, bound, SHARES_PER_WORKER * jobs)]
        for outcome in backend.map(run_task, tasks):
            search.merge(outcome)
        search.stop_requested()  # the workers saw the same stop request
        if (search.bugs() or search.stopped is not None or not search.budget_left()
                or search.stats.complete):
            break
    if not strategy.exhaustive:
        search.stats.complete = False  # samples: no verdict of "clean"
    search.stats.workers = jobs
    return conclude(search, reached)


def explore_jobs(model: Model, options: Options, backend: Backend, jobs: int,
                 progress: Callable[[Search], None] | None = None,
                 fan_out: float = FAN_OUT_S) -> Result:
    """Explore ``model`` in this process for ``fan_out`` seconds, then, if the search is
    not over, over ``backend`` (``jobs`` workers) from the bound it was in (see the module
    docstring)."""
    search = Search(model, options, progress=progress)
    begun: list[tuple[int, Search]] = []

    def at_bound(index: int) -> None:
        begun[:] = [(index, search.copy())]

    with interrupt.until(fan_out, FAN_OUT):
        reached = run_bounds(search, at_bound=at_bound)
    if search.stopped == FAN_OUT:
        index, before = begun[0]
        return explore_parallel(model, options, backend, jobs, progress, before, index)
    if not get_strategy(options.strategy).exhaustive:
        search.stats.complete = False  # samples: no verdict of "clean"
    return conclude(search, reached)
