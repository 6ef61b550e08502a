"""The explorer's front door: run a strategy, then turn failures into findings.

:func:`explore` runs one strategy in this process (:mod:`swaplab.explore.parallel` splits
the same work over processes or a Ray cluster and then calls :func:`conclude` the same way).
With a preemption bound ``K``, dfs and dpor bound iteratively (0, 1, ..., K) and stop at the
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

from swaplab.explore.dfs import dfs
from swaplab.explore.dpor import dpor
from swaplab.explore.execution import Event
from swaplab.explore.model import BUG, Model
from swaplab.explore.pct import estimate_steps, pct
from swaplab.explore.random_walk import random_walk
from swaplab.explore.replay import replay
from swaplab.explore.runner import Failure, RunResult
from swaplab.explore.schedule import Schedule
from swaplab.explore.search import Options, Search, Statistics
from swaplab.explore.shrink import shrink

STRATEGIES = ("dpor", "dfs", "random", "pct")


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

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.status, "statistics": self.stats.as_dict()}


def search_strategy(search: Search, bound: int | None) -> None:
    """Run the search's strategy once (one bound) in this process."""
    opts = search.options
    if opts.strategy == "dfs":
        dfs(search, bound)
    elif opts.strategy == "dpor":
        dpor(search, bound)
    elif opts.strategy == "random":
        random_walk(search, opts.seed, 0, opts.max_executions)
    elif opts.strategy == "pct":
        steps = estimate_steps(search.model, opts.max_steps)
        pct(search, opts.seed, opts.depth, steps, 0, opts.max_executions)
    else:
        raise ValueError(f"unknown strategy {opts.strategy!r} (one of {', '.join(STRATEGIES)})")


def bounds(options: Options) -> list[int | None]:
    """The preemption bounds to try in turn."""
    if options.strategy in ("dfs", "dpor") and options.preemption_bound is not None:
        return list(range(options.preemption_bound + 1))
    return [None]


def explore(model: Model, options: Options | None = None,
            progress: Callable[[Search], None] | None = None,
            on_result: Callable[[RunResult], None] | None = None) -> Result:
    """Explore ``model`` with ``options`` in this process."""
    options = options if options is not None else Options()
    if options.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {options.strategy!r}")
    search = Search(model, options, progress=progress, on_result=on_result)
    reached: int | None = None
    for bound in bounds(options):
        reached = bound
        search.stats.complete = True
        search_strategy(search, bound)
        if search.bugs() or not search.budget_left() or search.stats.complete:
            break  # found, out of budget, or nothing was cut by this bound
    return conclude(search, reached)


def conclude(search: Search, bound: int | None) -> Result:
    """Shrink, trace and check each failure; list the unreached sometimes-properties."""
    opts = search.options
    ordered = [failure for _, failure in sorted(search.failures.items())]
    findings = [finding(search.model, f, opts) for f in ordered if f.kind == BUG]
    notes = [finding(search.model, f, opts) for f in ordered if f.kind != BUG]
    stats = search.stats
    stats.elapsed = time.perf_counter() - search.started
    counted = findings + notes if opts.strict else findings
    status = "found" if counted else ("clean" if stats.complete else "incomplete")
    return Result(status, findings, stats, opts, bound, notes, search.unreached())


def finding(model: Model, failure: Failure, options: Options) -> Finding:
    """Shrink ``failure`` (if asked), then replay it twice and compare the traces."""
    if options.shrink:
        failure, _ = shrink(model, failure, options.max_steps, policy=options.policy)
    first = replay(model, failure.decisions, max_steps=options.max_steps, policy=options.policy)
    second = replay(model, failure.decisions, max_steps=options.max_steps,
                    policy=options.policy)
    seen, again = first.violation(failure.key), second.violation(failure.key)
    same = first.trace == second.trace and seen is not None and again is not None
    message = seen.message if seen is not None else failure.message
    return Finding(failure.property, message, Schedule(failure.decisions), failure.preemptions,
                   first.trace or [], same, failure.kind)
