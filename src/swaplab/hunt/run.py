"""Exploring a hunt's cases: each generated case (a small state and two or three of its
operations that touch a common object) is raced under the explorer's DPOR with every
property of :meth:`swaplab.System.race` (the property families, the invariants,
data integrity, BUG_ON, use of a freed object, deadlock, soft lockup).

A case is explored up to ``max_executions`` runs. A case dpor cuts there is explored
again from the start by dfs with state caching (:mod:`swaplab.explore.stateful`), up to
``retry_executions`` runs (by default ``FALLBACK_FACTOR`` times as many): the cases dpor
cannot finish are retry loops (force_empty's move-and-retry, reclaim until a charge
fits), where dpor explores every number of rounds while the rounds' states repeat, which
the visited-state store prunes. A case cut by both caps (or by the step limit) is
*incomplete*, and a hunt is complete only when every case is explored and complete.

The explorer already shrinks each finding's schedule (fewest preemptions, then fewest
steps) and keeps the best witness per property, so a case yields at most one finding per
property (per exception type). Notes (no defect) are counted, not kept.

The cases run in the order the generator lists them, here or over the parallel backend
(:mod:`swaplab.explore.backend`: a local process pool, or Ray); the results are put back
in case order, so the findings do not depend on ``jobs``. A stop request (Ctrl-C, SIGTERM,
``--budget``: :mod:`swaplab.interrupt`) ends the running cases at their next execution
and starts no new one; a case stopped midway reports what it found but is not finished
(a journal does not record it, a resumed hunt explores it again).
"""

from __future__ import annotations

import builtins
import importlib
import multiprocessing
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from swaplab import interrupt
from swaplab.explore.execution import Event
from swaplab.explore.runner import EXCEPTION

if TYPE_CHECKING:
    from swaplab.hunt.journal import Journal
    from swaplab.race import RaceFinding, RaceResult, Replayed
    from swaplab.system import System

#: The generator of cases a hunt explores (a module with Case, cases() and build()).
GENERATOR = "swaplab.hunt.cases"
#: Executions one case may take under dpor before it is cut.
MAX_EXECUTIONS = 3000
#: The search a case dpor cut is explored again with, and its cap (times dpor's).
FALLBACK = "dfs-cached"
#: 40: the largest case of the default generator, 2.6.30's fault against swapoff under
#: use_hierarchy (s08-hierarchy), ends at 109,570 executions (237,331 states).
FALLBACK_FACTOR = 40
#: Cases handed to Ray at a time (each batch is journaled when it is back).
RAY_BATCH_PER_WORKER = 4


class Case(Protocol):
    """What the hunt reads of a generated case (see swaplab.hunt.cases)."""

    @property
    def state(self) -> str: ...

    @property
    def ops(self) -> tuple[str, ...]: ...

    def key(self) -> str: ...


@dataclass(frozen=True, slots=True)
class HuntConfig:
    """What a hunt explores: the kernel, the generator's seed and depth (2: pairs, 3:
    triples), the per-case cap on executions, and the generator module."""

    kernel: str = "2.6.31"
    patches: str | None = None
    fixes: tuple[str, ...] = ()
    seed: int = 0
    depth: int = 2
    max_executions: int | None = MAX_EXECUTIONS
    generator: str = GENERATOR
    match: str | None = None  # a regular expression: only the cases whose key it finds
    #: the cap of the second search (FALLBACK) of a case dpor cut; None: FALLBACK_FACTOR
    #: times ``max_executions``; 0: no second search
    retry_executions: int | None = None

    @builtins.property
    def retry_cap(self) -> int:
        """The second search's cap (0: none)."""
        if self.retry_executions is not None:
            return self.retry_executions
        return self.max_executions * FALLBACK_FACTOR if self.max_executions else 0

    def identity(self) -> dict[str, Any]:
        """What a journal must match to be resumed by this hunt (not ``match``: a journal
        records cases by key, so a hunt of a subset and the whole hunt share one). The
        second search's cap is the one in effect, whether given or the default: a journal
        of a hunt with another default cap is another hunt's."""
        out = asdict(self)
        out["fixes"] = list(self.fixes)
        out["retry_executions"] = self.retry_cap
        del out["match"]
        return out

    def _module(self) -> Any:
        return importlib.import_module(self.generator)

    def cases(self) -> list[Case]:
        """The generator's cases, in its order (those ``match`` finds)."""
        found: list[Case] = self._module().cases(self.kernel, self.patches, self.fixes,
                                                 self.seed, self.depth)
        if self.match is None:
            return found
        pattern = re.compile(self.match)
        return [case for case in found if pattern.search(case.key())]

    def build(self, case: Case) -> tuple[System, dict[str, Callable[[], object]]]:
        """A fresh System in the case's state, and its operations (label -> callable)."""
        built: tuple[System, dict[str, Callable[[], object]]] = self._module().build(
            case, self.kernel, self.patches, self.fixes, self.seed)
        return built

    def find(self, key: str) -> Case:
        """The case named ``key``; a KeyError (one line) when the generator has none."""
        for case in replace(self, match=None).cases():
            if case.key() == key:
                return case
        raise KeyError(f"no case {key!r} for kernel {self.kernel} (seed {self.seed}, "
                       f"depth {self.depth})")


@dataclass(frozen=True, slots=True)
class Found:
    """A bug finding of one case: the property (for an exception, ``exception`` and the
    message names its type), its shrunk schedule, and the functions of its racing steps
    (:func:`racing_functions`)."""

    property: str
    kind: str
    message: str
    schedule: str
    functions: tuple[str, ...]

    @builtins.property
    def key(self) -> str:
        """The property as findings are told apart: an exception's type counts."""
        if self.property == EXCEPTION:
            return f"{EXCEPTION}:{self.message.split(':', 1)[0]}"
        return self.property

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["functions"] = list(self.functions)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Found:
        return cls(str(data["property"]), str(data["kind"]), str(data["message"]),
                   str(data["schedule"]), tuple(str(f) for f in data["functions"]))


@dataclass(frozen=True, slots=True)
class Explored:
    """One case explored: its executions, whether the search was complete, its bug
    findings, how many notes it had, its wall time; ``stopped`` (the stop request's
    reason) when a stop cut it before its end: then it is not finished."""

    case: str
    ops: tuple[str, ...]
    executions: int
    complete: bool
    findings: tuple[Found, ...]
    notes: int
    elapsed: float
    stopped: str | None = None
    #: the searches that explored it: "dpor", or "dpor, dfs-cached" (dpor cut it)
    strategy: str = "dpor"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ops"] = list(self.ops)
        out["findings"] = [f.as_json() for f in self.findings]
        out["elapsed"] = round(self.elapsed, 6)
        del out["stopped"]  # only finished cases are written
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Explored:
        return cls(str(data["case"]), tuple(str(op) for op in data["ops"]),
                   int(data["executions"]), bool(data["complete"]),
                   tuple(Found.from_json(f) for f in data["findings"]), int(data["notes"]),
                   float(data["elapsed"]), strategy=str(data.get("strategy", "dpor")))


def racing_functions(trace: Sequence[Event]) -> tuple[str, ...]:
    """The kernel functions (trace events named ``f()``) of a finding's racing steps,
    sorted. The racing steps are the steps of the threads that ran interleaved: a thread
    whose span (its first to its last step) overlaps another thread's span; an operation
    that ran wholly before or after the others (in a triple) is left out. The trace starts
    at the prepared state, so no set-up step is in it, and the drain before the end checks
    is not traced. When no two spans overlap (a sequential order breaks the property too),
    every thread's functions count."""
    spans: dict[str, tuple[int, int]] = {}
    for event in trace:
        first, _ = spans.get(event.thread, (event.step, event.step))
        spans[event.thread] = (first, event.step)
    racing = {name for name, (first, last) in spans.items()
              if any(other != name and first <= end and start <= last
                     for other, (start, end) in spans.items())}
    return tuple(sorted({e.function for e in trace if e.function.endswith("()")
                         and (not racing or e.thread in racing)}))


def _found(finding: RaceFinding) -> Found:
    return Found(finding.property, finding.kind, finding.message, finding.schedule,
                 racing_functions(finding.trace))


def explore_case(item: tuple[HuntConfig, Case]) -> Explored:
    """Race one case's operations from its state with dpor, and again with
    :data:`FALLBACK` when dpor's cap cut it (a module-level function: the backend runs it
    in worker processes)."""
    config, case = item
    stop = interrupt.current()
    if stop is not None and stop.should_stop():  # stopped before it began
        return Explored(case.key(), tuple(case.ops), 0, False, (), 0, 0.0, stop.reason)
    started = time.perf_counter()
    system, ops = config.build(case)
    raced = system.race(ops, "dpor", max_executions=config.max_executions)
    runs = [raced]
    if _cut_by_cap(raced) and config.retry_cap:  # a race leaves the system as it found it
        runs.append(system.race(ops, FALLBACK, max_executions=config.retry_cap))
    last = runs[-1].result
    found: dict[str, Found] = {}
    notes: set[str] = set()
    for run in runs:  # per property the first search's witness (dpor's is shrunk alike)
        for finding in run.findings:
            one = _found(finding)
            found.setdefault(one.key, one)
        notes.update(note.property for note in run.notes)
    return Explored(case.key(), tuple(case.ops), sum(r.executions for r in runs),
                    last.stats.complete and last.stopped is None, tuple(found.values()),
                    len(notes), time.perf_counter() - started, last.stopped,
                    ", ".join(["dpor", FALLBACK][:len(runs)]))


def _cut_by_cap(raced: RaceResult) -> bool:
    """Whether a race ended at its cap on executions: not complete, not stopped, and no
    run cut by the step limit (dfs-cached would meet that limit again)."""
    result = raced.result
    return not result.stats.complete and result.stopped is None and result.stats.cut == 0


def _indexed(item: tuple[int, HuntConfig, Case]) -> tuple[int, Explored]:
    index, config, case = item
    return index, explore_case((config, case))


@dataclass(slots=True)
class Hunt:
    """A hunt's outcome: every case, the explored ones in case order (those read back
    from a journal included), the wall time of this run and why it stopped, if it did."""

    config: HuntConfig
    cases: list[Case]
    explored: list[Explored]
    elapsed: float = 0.0
    stopped: str | None = None
    resumed: int = 0  # cases read back from the journal
    states: int = field(init=False)

    def __post_init__(self) -> None:
        self.states = len({case.state for case in self.cases})

    @property
    def executions(self) -> int:
        return sum(e.executions for e in self.explored)

    @property
    def finished(self) -> int:
        return sum(1 for e in self.explored if e.stopped is None)

    @property
    def complete(self) -> bool:
        """Every case explored to its end, none cut by the cap or the step limit."""
        return (self.finished == len(self.cases)
                and all(e.complete for e in self.explored))


#: A progress callback: (cases finished, cases in all).
Progress = Callable[[int, int], None]


def hunt(config: HuntConfig, *, jobs: int = 1, backend: str = "local",
         address: str | None = None, journal: Journal | None = None,
         progress: Progress | None = None) -> Hunt:
    """Explore every case of ``config`` not already in ``journal`` (which records each
    case as it finishes); see the module docstring."""
    started = time.perf_counter()
    cases = config.cases()
    done = journal.finished if journal is not None else {}
    results = {i: done[c.key()] for i, c in enumerate(cases) if c.key() in done}
    resumed = len(results)
    todo = [(i, config, c) for i, c in enumerate(cases) if i not in results]
    if progress is not None:
        progress(len(results), len(cases))
    for index, explored in _run(todo, jobs, backend, address):
        results[index] = explored
        if explored.stopped is None and journal is not None:
            journal.append(explored)
        if progress is not None:
            progress(sum(1 for e in results.values() if e.stopped is None), len(cases))
    stop = interrupt.current()
    stopped = stop.reason if stop is not None else None
    return Hunt(config, cases, [results[i] for i in sorted(results)],
                time.perf_counter() - started, stopped, resumed)


def _run(todo: list[tuple[int, HuntConfig, Case]], jobs: int, backend: str,
         address: str | None) -> Iterator[tuple[int, Explored]]:
    """(index, outcome) of each case as it finishes: in this process, over a local pool,
    or over Ray in batches."""
    if backend == "ray":
        yield from _on_ray(todo, jobs, address)
    elif jobs <= 1 or len(todo) <= 1:
        stop = interrupt.current()
        for item in todo:
            if stop is not None and stop.should_stop():
                return
            yield _indexed(item)
    else:
        from swaplab.explore.backend import worker_pool

        with worker_pool(min(jobs, len(todo)), __name__) as pool:
            yield from _arrivals(pool.imap_unordered(_indexed, todo, chunksize=1), len(todo))


def _arrivals(results: Any, count: int) -> Iterator[tuple[int, Explored]]:
    """The pool's ``count`` results as they come. After a stop request the running cases
    have :data:`~swaplab.explore.backend.CANCEL_S` to end at their next execution and
    report; then the wait ends (a worker killed from outside never reports its case)."""
    from swaplab.explore.backend import CANCEL_S, POLL_S

    stop = interrupt.current()
    since: float | None = None
    while count:
        try:
            arrived: tuple[int, Explored] = results.next(timeout=POLL_S)
        except multiprocessing.TimeoutError:
            if stop is not None and stop.should_stop():
                since = since if since is not None else time.monotonic()
                if time.monotonic() - since > CANCEL_S:
                    return
            continue
        count -= 1
        yield arrived


def _on_ray(todo: list[tuple[int, HuntConfig, Case]], jobs: int,
            address: str | None) -> Iterator[tuple[int, Explored]]:
    from swaplab.explore.backend import RayCluster

    cluster = RayCluster(address, jobs)
    size = RAY_BATCH_PER_WORKER * max(jobs, 1)
    stop = interrupt.current()
    for start in range(0, len(todo), size):
        if stop is not None and stop.should_stop():
            return
        yield from cluster.map(_indexed, todo[start:start + size])


def replay_case(config: HuntConfig, key: str, schedule: str) -> Replayed:
    """Rebuild the case ``key`` and run ``schedule`` (a finding's) on it: its trace and
    the properties it broke. A KeyError for an unknown case; a ScheduleError or
    ReplayError for a schedule that does not parse or fit."""
    from swaplab.race import race_model

    system, ops = config.build(config.find(key))
    return race_model(system, ops).replay(schedule)
