"""The search context every strategy runs in: budget, statistics, failures, reachability.

A strategy calls :meth:`Search.run` for each execution; the context counts it, keeps the best
failure per property (fewest preemptions, then fewest steps), records which ``sometimes``
properties were reached and which states (fingerprints) were seen. A search split over
workers sends each worker's :class:`Outcome` back and :meth:`Search.merge` joins them.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from swaplab import interrupt
from swaplab.explore.model import BUG, Instance, Model, When
from swaplab.explore.runner import Driver, Failure, RunResult, execute
from swaplab.explore.schedule import Decision
from swaplab.explore.visited import Visited

if TYPE_CHECKING:
    from swaplab.explore.checkpoint import Checkpointing


@dataclass(slots=True)
class Options:
    """How to explore. ``preemption_bound`` None: unbounded; otherwise iterative bounding
    0, 1, ..., bound (dfs and dpor). ``depth`` is PCT's bug depth ``d``. ``policy`` names
    the scheduling policy (:mod:`swaplab.explore.policy`); ``strict`` makes notes count as
    findings."""

    strategy: str = "dpor"
    preemption_bound: int | None = None
    max_executions: int | None = None
    seed: int = 0
    depth: int = 2
    max_steps: int | None = None
    fingerprints: bool = True
    shrink: bool = True
    stop_on_first: bool = False
    policy: str = "fair"
    strict: bool = False


@dataclass(slots=True)
class Statistics:
    """What a search did. ``pruned``: branches cut by sleep sets, the preemption bound or a
    sleep-set-blocked run; ``cut``: runs stopped by the step limit (``spinning`` of them
    while only busy-waiting threads could run); ``complete``: nothing was cut by a bound,
    the step limit or the budget. ``distinct_states`` is None when the model has no
    fingerprint (states are not counted). ``workers``: the processes the search fanned out
    to (0: it ran in this process alone). A stateful strategy (dfs-cached) also reports
    its visited-state store: ``stored_states`` (None: no store), ``revisits`` (runs ended
    at a state explored before), ``opaque_states`` (states with no canonical encoding,
    never pruned), ``store_full`` and the probability that two states shared a digest,
    ``collision_optimistic`` (TLC's calculated) and ``collision_birthday``
    (:mod:`swaplab.explore.visited`)."""

    executions: int = 0
    steps: int = 0
    distinct_states: int | None = None
    max_depth: int = 0
    pruned: int = 0
    cut: int = 0
    spinning: int = 0
    elapsed: float = 0.0
    complete: bool = True
    workers: int = 0
    stored_states: int | None = None
    revisits: int = 0
    opaque_states: int = 0
    store_full: bool = False
    collision_optimistic: float | None = None
    collision_birthday: float | None = None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else 0.0

    def merge(self, other: Statistics) -> None:
        self.executions += other.executions
        self.steps += other.steps
        self.max_depth = max(self.max_depth, other.max_depth)
        self.pruned += other.pruned
        self.cut += other.cut
        self.spinning += other.spinning
        self.complete = self.complete and other.complete
        if other.stored_states is not None:  # workers' stores: summed (they may overlap)
            self.stored_states = (self.stored_states or 0) + other.stored_states
            self.collision_optimistic = (self.collision_optimistic or 0.0) + \
                (other.collision_optimistic or 0.0)
            self.collision_birthday = (self.collision_birthday or 0.0) + \
                (other.collision_birthday or 0.0)
        self.revisits += other.revisits
        self.opaque_states += other.opaque_states
        self.store_full = self.store_full or other.store_full

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["elapsed"] = round(self.elapsed, 6)
        out["steps_per_second"] = round(self.steps_per_second, 1)
        return out


def better(a: Failure, b: Failure) -> bool:
    """Whether ``a`` is a smaller witness than ``b``: fewer preemptions, then fewer steps,
    then the smaller schedule (so parallel and sequential searches agree)."""
    return (a.preemptions, a.steps, a.decisions) < (b.preemptions, b.steps, b.decisions)


@dataclass(slots=True)
class Outcome:
    """What a search found, as a worker sends it back: its statistics, failures, reached
    sometimes-properties, the sometimes-properties there are, and the states it saw."""

    stats: Statistics
    failures: dict[str, Failure]
    satisfied: list[str]
    sometimes: list[str]
    states: list[bytes]


@dataclass
class Search:
    """One exploration's shared bookkeeping."""

    model: Model
    options: Options = field(default_factory=Options)
    stats: Statistics = field(default_factory=Statistics)
    failures: dict[str, Failure] = field(default_factory=dict)
    satisfied: dict[str, bool] = field(default_factory=dict)
    sometimes: list[str] = field(default_factory=list)
    states: set[bytes] = field(default_factory=set)
    progress: Callable[[Search], None] | None = None
    on_result: Callable[[RunResult], None] | None = None
    started: float = field(default_factory=time.perf_counter)
    learned: bool = False
    stopped: str | None = None  # why the command's stop request ended the search
    checkpoint: Checkpointing | None = None  # saving and resuming (dfs, dpor, one process)
    visited: Visited | None = None  # a stateful strategy's store of explored states

    def bugs(self) -> list[Failure]:
        """The bug failures found so far (notes count too when ``strict``)."""
        strict = self.options.strict
        return [f for f in self.failures.values() if strict or f.kind == BUG]

    def budget_left(self) -> bool:
        """Whether another execution may run: the execution budget, stop-on-first, and
        the command's stop request (:mod:`swaplab.interrupt`: a signal or a time budget),
        polled here at every execution boundary."""
        limit = self.options.max_executions
        if limit is not None and self.stats.executions >= limit:
            self.stats.complete = False
            return False
        if self.stop_requested():
            return False
        return not (self.options.stop_on_first and self.bugs())

    def stop_requested(self) -> bool:
        """Whether the command was asked to stop (then the search is not complete:
        :func:`~swaplab.explore.explorer.conclude` says so)."""
        stop = interrupt.current()
        if self.stopped is None and stop is not None and stop.should_stop():
            self.stopped = stop.reason
        return self.stopped is not None

    def boundary(self) -> None:
        """An execution boundary of a tree strategy: save a checkpoint when it is time."""
        if self.checkpoint is not None:
            self.checkpoint.boundary(self)

    def _learn(self, instance: Instance) -> None:
        self.sometimes = [p.name for p in instance.properties if p.when is When.SOMETIMES]
        self.learned = True

    def run(self, prefix: Sequence[Decision], driver: Driver | None) -> RunResult:
        opts = self.options
        result = execute(self.model, prefix, driver, satisfied=self.satisfied,
                         fingerprints=opts.fingerprints, max_steps=opts.max_steps,
                         on_instance=None if self.learned else self._learn,
                         policy=opts.policy)
        stats = self.stats
        if not result.split:  # a split point is no run of its own
            stats.executions += 1
            if result.abandoned:
                stats.pruned += 1
        depth = len(result.decisions)
        stats.steps += depth
        stats.max_depth = max(stats.max_depth, depth)
        if result.cut:
            stats.cut += 1
            stats.spinning += result.spinning
            stats.complete = False
        for name in result.reached:
            self.satisfied[name] = True
        if result.states:
            self.states.update(result.states)
            stats.distinct_states = len(self.states)
        for failure in result.failures:
            self._keep(failure)
        if self.on_result is not None:
            self.on_result(result)
        if self.progress is not None and stats.executions % 64 == 0:
            stats.elapsed = time.perf_counter() - self.started
            self.progress(self)
        return result

    def count_visited(self) -> None:
        """Copy the visited-state store's figures into the statistics."""
        store = self.visited
        if store is None:
            return
        stats = self.stats
        stats.stored_states = store.distinct
        stats.revisits = store.hits
        stats.store_full = store.full
        stats.collision_optimistic = store.optimistic()
        stats.collision_birthday = store.birthday()

    def _keep(self, failure: Failure) -> None:
        known = self.failures.get(failure.key)
        if known is None or better(failure, known):
            self.failures[failure.key] = failure

    def outcome(self) -> Outcome:
        return Outcome(self.stats, self.failures, list(self.satisfied), self.sometimes,
                       sorted(self.states))

    def merge(self, outcome: Outcome) -> None:
        """Join a worker's outcome into this search (the best failure per property)."""
        self.stats.merge(outcome.stats)
        for failure in outcome.failures.values():
            self._keep(failure)
        for name in outcome.satisfied:
            self.satisfied[name] = True
        if not self.sometimes:
            self.sometimes = list(outcome.sometimes)
        self.states.update(outcome.states)
        if self.states:
            self.stats.distinct_states = len(self.states)
        self.stats.elapsed = time.perf_counter() - self.started
        if self.progress is not None:
            self.progress(self)

    def copy(self) -> Search:
        """This search as it is now, to go on from later: its counts, failures, reached
        properties, states and visited-state store copied (the model and callbacks
        shared)."""
        return replace(self, stats=copy.copy(self.stats), failures=dict(self.failures),
                       satisfied=dict(self.satisfied), sometimes=list(self.sometimes),
                       states=set(self.states), visited=copy.deepcopy(self.visited))

    def unreached(self) -> list[str]:
        return [name for name in self.sometimes if name not in self.satisfied]
