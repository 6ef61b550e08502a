"""Races between a prepared machine's operations: ``System.race()``.

From a :class:`~swaplab.System` brought to some state by ordinary sequential calls, run two
or more operations (any callables that use the System API: ``task.exit``, ``lambda:
t.touch(m)``, ``lambda: s.write("/A/memory.force_empty", "0")``, ...) concurrently under the
explorer, and check what the kernel scenarios check: the accounting property families, the
structural invariants and data integrity at the end (after draining the pagevecs and
running the kernel's own cache-only reclaim, as :func:`scenarios.kernel_common.drain`
does), and on every step a BUG_ON, a use of a freed object or a deadlock.

The state is captured once in a :class:`~swaplab.restore.RestorePoint` and every execution
starts from it in place, so the operations may be bound methods and closures over the
user's own handles. Each operation runs as one explorer thread (:mod:`swaplab.race.call`),
on a CPU of its own as the explorer sees it (no shared-CPU placement); its kernel paths use
the per-CPU state (pagevecs, preload pools) of CPU ``i mod ncpus`` of the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from swaplab.explore.execution import Event
from swaplab.explore.explorer import Finding, Result, explore
from swaplab.explore.model import Instance
from swaplab.explore.replay import replay as replay_decisions
from swaplab.explore.schedule import Schedule
from swaplab.explore.search import Options
from swaplab.kernel import invariants
from swaplab.race.call import OpCall, op_thread
from swaplab.report.findings import render_check, render_trace
from swaplab.restore import RestorePoint
from swaplab.scenarios.kernel_common import World, drain_groups, family_properties

if TYPE_CHECKING:
    from swaplab.system import System

#: Steps one execution of a race may take before it is cut (incomplete).
MAX_STEPS = 20_000


@dataclass(frozen=True, slots=True)
class RaceFinding:
    """A broken property: ``schedule`` (text) replays it with :meth:`RaceResult.replay`."""

    property: str
    kind: str
    message: str
    schedule: str
    trace: list[Event] = field(default_factory=list)


@dataclass(slots=True)
class RaceResult:
    """What exploring a race found. ``clean``: explored completely, no bug finding (notes
    do not count); ``status`` as `swaplab check` says it (found, clean, incomplete)."""

    labels: list[str]
    result: Result
    findings: list[RaceFinding]
    notes: list[RaceFinding]
    _race: _Race

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def clean(self) -> bool:
        return self.result.status == "clean"

    @property
    def executions(self) -> int:
        return self.result.stats.executions

    def replay(self, schedule: str) -> Replayed:
        """Run ``schedule`` (a finding's) again from the prepared state."""
        return self._race.replay(schedule)

    def __str__(self) -> str:
        name = "race " + " vs ".join(self.labels)
        return render_check(self.result, scenario=name,
                            spec=lambda decisions: Schedule(decisions).text())


@dataclass(frozen=True, slots=True)
class Replayed:
    """One run along a schedule: its trace, and the properties it broke."""

    trace: list[Event]
    broken: list[tuple[str, str]]

    def __str__(self) -> str:
        broken = "".join(f"broken: {name}: {message}\n" for name, message in self.broken)
        return render_trace(self.trace) + (broken or "no property broken\n")


class _Race:
    """The model of a race: restore the prepared state, start one thread per operation."""

    def __init__(self, system: System, ops: Mapping[str, Callable[[], object]]) -> None:
        self.system = system
        self.ops = dict(ops)
        k = system.k
        k.execution.reset()
        self.point = RestorePoint(system)
        self.memcgs = [m for m in invariants.all_memcgs(k) if not m.freed]

    def __call__(self) -> Instance:
        self.point.restore()
        k = self.system.k
        world = World(k, self.memcgs[0])
        execution = k.execution
        for index, (label, fn) in enumerate(self.ops.items()):
            execution.spawn(label, op_thread(k, OpCall(label, fn), index % k.ncpus))
        return Instance(execution, world, family_properties(k), finish=self.finish,
                        max_steps=MAX_STEPS, name="race")

    def finish(self, world: World) -> None:
        drain_groups(world, [m for m in self.memcgs if not m.freed and m.res.usage])

    def replay(self, schedule: str) -> Replayed:
        decisions = list(Schedule.parse(schedule))
        run = replay_decisions(self, decisions, max_steps=MAX_STEPS, finish=True)
        self.point.restore()
        broken = [(f.property, f.message) for f in run.failures]
        return Replayed(run.trace or [], broken)


def _finding(f: Finding) -> RaceFinding:
    schedule = Schedule(f.schedule).text() if f.schedule is not None else ""
    return RaceFinding(f.property, f.kind, f.message, schedule, list(f.trace))


def race_model(system: System, ops: Mapping[str, Callable[[], object]]) -> _Race:
    """The explorer's model of ``ops`` racing from ``system``'s state, not explored: to
    replay a schedule found before (``.replay(schedule)``) or record it step by step."""
    return _Race(system, ops)


def race(system: System, ops: Mapping[str, Callable[[], object]], strategy: str = "dpor",
         *, max_executions: int | None = None, preemption_bound: int | None = None,
         strict: bool = False, first: bool = False) -> RaceResult:
    """Explore ``ops`` (label -> callable) run concurrently from ``system``'s state; the
    system is back in that state afterwards. ``first``: stop at the first bug found."""
    if len(ops) < 2:
        raise ValueError("a race needs at least two operations")
    model = _Race(system, ops)
    options = Options(strategy=strategy, max_executions=max_executions,
                      preemption_bound=preemption_bound, max_steps=MAX_STEPS, strict=strict,
                      stop_on_first=first)
    try:
        result = explore(model, options)
    finally:
        model.point.restore()
    return RaceResult(list(ops), result, [_finding(f) for f in result.findings],
                      [_finding(f) for f in result.notes], model)


__all__: Sequence[str] = ("RaceFinding", "RaceResult", "Replayed", "race", "race_model")
