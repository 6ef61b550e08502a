"""The explorer's front door: run a strategy, then turn failures into findings.

:func:`explore` runs one strategy in this process (:mod:`swaplab.explore.parallel` splits
the same work over processes or a Ray cluster and then calls :func:`conclude` the same way).
With a preemption bound ``K``, exhaustive strategies bound iteratively (0, 1, ..., K), stop at the
first bound that finds something, so the first findings have the fewest preemptions (CHESS).
A finding is shrunk, replayed twice with tracing (the determinism check), and carries its
schedule and trace.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swaplab import interrupt
from swaplab.explore.checkpoint import Checkpointing
from swaplab.explore.execution import Event
from swaplab.explore.model import BUG, Model
from swaplab.explore.replay import replay
from swaplab.explore.runner import Failure, RunResult
from swaplab.explore.schedule import Schedule
from swaplab.explore.search import Options, Search, Statistics
from swaplab.explore.shrink import shrink
from swaplab.explore.strategies import get_strategy
from swaplab.explore.strategy import WHOLE, bounds


@dataclass(slots=True)
class Finding:
    """A broken property with its minimal schedule and the trace of that schedule."""

    property: str
    message: str
    schedule: Schedule | None
    preemptions: int = 0
    trace: list[Event] = field(default_factory=list)
    deterministic: bool = True
    kind: str = BUG
    shrunk: bool = False  # whether shrinking ran to its end

    @builtins.property
    def steps(self) -> int:
        return len(self.schedule) if self.schedule is not None else 0


@dataclass(slots=True)
class Result:
    """``status``: "found" (a bug finding; a note too when ``strict``), "clean" (none,
    search complete) or "incomplete" (none, but a bound, the step limit or the budget cut
    the search). ``notes``: violations of note properties; ``vacuous``: the sometimes
    properties no explored run reached (the runs never entered that window, so the
    verdict says nothing about it)."""

    status: str
    findings: list[Finding]
    stats: Statistics
    options: Options
    bound: int | None = None  # the preemption bound reached by iterative bounding
    notes: list[Finding] = field(default_factory=list)
    vacuous: list[str] = field(default_factory=list)
    stopped: str | None = None  # "interrupted" or "budget" when a stop request cut it

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.status, "statistics": self.stats.as_dict()}


def explore(model: Model, options: Options | None = None,
            progress: Callable[[Search], None] | None = None,
            on_result: Callable[[RunResult], None] | None = None,
            checkpoint: Checkpointing | None = None) -> Result:
    """Explore ``model`` with ``options`` in this process; with ``checkpoint``, save the
    search now and then and when it stops, or resume it (dfs, dpor:
    :mod:`swaplab.explore.checkpoint`)."""
    options = options if options is not None else Options()
    search = Search(model, options, progress=progress, on_result=on_result,
                    checkpoint=checkpoint)
    reached = run_bounds(search, checkpoint)
    if not get_strategy(options.strategy).exhaustive:
        search.stats.complete = False  # samples: no verdict of "clean"
    return conclude(search, reached)


def run_bounds(search: Search, checkpoint: Checkpointing | None = None,
               at_bound: Callable[[int], None] | None = None) -> int | None:
    """Run the search's strategy in this process, bound after bound (see the module
    docstring), saving and resuming with ``checkpoint``; the last bound tried.
    ``at_bound`` hears the index of each bound as it begins."""
    strategy = get_strategy(search.options.strategy)
    resume = checkpoint.resume if checkpoint is not None else None
    if resume is not None:
        resume.restore(search)
    reached: int | None = None
    tried = bounds(strategy, search.options.preemption_bound)
    for index, bound in enumerate(tried):
        if resume is not None and index < resume.index:
            continue
        reached = bound
        if at_bound is not None:
            at_bound(index)
        search.stats.complete = True
        if checkpoint is not None:
            checkpoint.index, checkpoint.frontier = index, None
            if resume is not None and index == resume.index:
                search.stats.complete = resume.complete
                checkpoint.pending = resume.frontier
        strategy.run(search, bound, WHOLE)
        if search.stopped is not None:
            break  # stopped within this bound (a checkpoint saves its frontier)
        if search.bugs() or search.stats.complete or index == len(tried) - 1:
            break  # found, nothing was cut by this bound, or the last bound
        if not search.budget_left():  # out of executions, or stopped between two bounds
            if checkpoint is not None and search.stopped is not None:
                checkpoint.index, checkpoint.frontier = index + 1, None  # resume there
                search.stats.complete = True
            break
    if checkpoint is not None and search.stopped is not None:
        checkpoint.save(search)
    return reached


#: Seconds a stopped run may spend shrinking its findings (the rest are reported unshrunk).
SHRINK_GRACE = 1.5


def conclude(search: Search, bound: int | None) -> Result:
    """Shrink, trace and check each failure; list the unreached sometimes-properties. A
    stopped search (or one whose command was asked to stop meanwhile) shrinks for at most
    :data:`SHRINK_GRACE` seconds; an interrupted one is "incomplete" whatever it found."""
    opts = search.options
    stop = interrupt.current()
    hurry = search.stopped is not None or (stop is not None and stop.should_stop())
    deadline = time.monotonic() + SHRINK_GRACE if hurry else None
    ordered = [failure for _, failure in sorted(search.failures.items())]
    findings = [finding(search.model, f, opts, deadline) for f in ordered if f.kind == BUG]
    notes = [finding(search.model, f, opts, deadline) for f in ordered if f.kind != BUG]
    stats = search.stats
    stats.elapsed = time.perf_counter() - search.started
    if search.stopped is not None:
        stats.complete = False
    counted = findings + notes if opts.strict else findings
    status = "found" if counted else ("clean" if stats.complete else "incomplete")
    if search.stopped == "interrupted":
        status = "incomplete"
    return Result(status, findings, stats, opts, bound, notes, search.unreached(),
                  search.stopped)


def finding(model: Model, failure: Failure, options: Options,
            deadline: float | None = None) -> Finding:
    """Shrink ``failure`` (if asked, until ``deadline``), then replay it twice and compare
    the traces."""
    shrunk = False
    if options.shrink:
        failure, runs = shrink(model, failure, options.max_steps, policy=options.policy,
                               deadline=deadline)
        shrunk = runs >= 0
    first = replay(model, failure.decisions, max_steps=options.max_steps, policy=options.policy)
    second = replay(model, failure.decisions, max_steps=options.max_steps,
                    policy=options.policy)
    seen, again = first.violation(failure.key), second.violation(failure.key)
    same = first.trace == second.trace and seen is not None and again is not None
    message = seen.message if seen is not None else failure.message
    return Finding(failure.property, message, Schedule(failure.decisions), failure.preemptions,
                   first.trace or [], same, failure.kind, shrunk)
