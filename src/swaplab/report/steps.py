"""A schedule re-run step by step for the HTML trace page: what each step did, the state
after it, and which properties held there.

:func:`record` replays ``decisions`` as `swaplab replay` does (the run ends where the
schedule ends) with a driver whose ``stepped`` hook takes a :mod:`~swaplab.report.state`
snapshot after every step; the initial state and, when the run completes, the state after
the model's ``finish`` (the drain before the at_end checks) are snapshots too. Every
property that is not a ``sometimes`` one is evaluated on each snapshot (a quiescent one
where the run checks it). A broken invariant became true where the run found it; a
broken at_end property from the first state it reads violated through the end, and the
page also names the step that decided it (:func:`_decided`): an at_end property reads a
drained state, so mid-path it may read violated long before the race is run. The result
is plain JSON data; equal tables are stored once and referred to by number (a step
changes little).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from swaplab.explore.execution import Event, Thread
from swaplab.explore.model import Instance, Model, Property, When
from swaplab.explore.ops import Op
from swaplab.explore.replay import replay
from swaplab.explore.runner import Driver, Failure, Run, RunResult, execute
from swaplab.explore.schedule import Decision
from swaplab.report.state import Table, snapshot
from swaplab.report.table import column_of

TraceView = dict[str, Any]


class _Recorder(Driver):
    """Follows no decision of its own (the schedule is the whole run) and takes a
    snapshot after every step."""

    def __init__(self) -> None:
        self.instance: Instance | None = None
        self.tables: list[Table] = []
        self.index: dict[str, int] = {}
        self.states: list[list[int]] = []
        self.holds: list[list[bool | None]] = []
        self.properties: list[Property] = []

    def start(self, instance: Instance) -> None:
        """``on_instance``: the initial state, and a snapshot after ``finish``."""
        self.instance = instance
        self.properties = [p for p in instance.properties if p.when is not When.SOMETIMES]
        finish = instance.finish
        if finish is not None:
            def finished(state: Any) -> None:
                finish(state)
                self.take()

            instance.finish = finished
        self.take()

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        return None

    def stepped(self, run: Run, index: int, thread: Thread, op: Op, spawned: int) -> None:
        quiet = self.instance.quiescent if self.instance is not None else None
        self.take(quiet(run.instance.state) if quiet is not None else not run.any_lock_held())

    def take(self, quiescent: bool = True) -> None:
        """Snapshot the state; evaluate the properties (a quiescent one only where the run
        checks it: ``quiescent``)."""
        assert self.instance is not None
        state = self.instance.state
        refs = []
        for table in snapshot(state):
            key = json.dumps(table, sort_keys=True)
            if key not in self.index:
                self.index[key] = len(self.tables)
                self.tables.append(table)
            refs.append(self.index[key])
        self.states.append(refs)
        self.holds.append([_holds(p, state) if quiescent or p.when is not When.QUIESCENT
                           else None for p in self.properties])


def _holds(prop: Property, state: Any) -> bool | None:
    """Whether ``prop`` holds on ``state``; None when its check cannot read a state
    half-way through a kernel path (it raised). None too, in the page, for a quiescent
    property where the run does not check it (a lock is held, the state is unsettled)."""
    try:
        return bool(prop.check(state))
    except Exception:  # a check written for drained states, read mid-path
        return None


def record(model: Model, decisions: Sequence[Decision], *, title: str, schedule: str,
           max_steps: int | None = None, policy: str = "fair") -> TraceView:
    """Replay ``decisions`` on ``model`` and return the page's data for it."""
    recorder = _Recorder()
    result = execute(model, decisions, recorder, trace=True, max_steps=max_steps,
                     on_instance=recorder.start, policy=policy)
    if len(recorder.states) <= len(result.decisions):  # a step raised: its state
        recorder.take()
    finished = len(recorder.states) > len(result.decisions) + 1
    steps, columns = _steps(result.trace or [], len(result.decisions), finished)
    ends = [p.name for p in recorder.properties
            if p.when is When.AT_END and result.violation(p.name) is not None]
    decided = _decided(model, result.decisions, ends, max_steps, policy)
    return {
        "title": title,
        "schedule": schedule,
        "columns": columns,
        "steps": steps,
        "tables": recorder.tables,
        "states": recorder.states,
        "properties": _properties(recorder, result, decided),
        "failures": [_failure(f, recorder, decided, len(recorder.states) - 1)
                     for f in result.failures],
        "outcome": _outcome(result),
    }


def _steps(trace: Sequence[Event], count: int, finished: bool
           ) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per step (the initial state first; the drain last when it ran): the
    thread's column, its operation, the kernel functions it logged."""
    by_step: list[list[Event]] = [[] for _ in range(count + 1)]
    for event in trace:
        if 0 < event.step <= count:
            by_step[event.step].append(event)
    columns: list[str] = []
    rows: list[dict[str, Any]] = [{"n": 0, "label": "initial state", "column": -1,
                                   "op": "", "events": []}]
    for n in range(1, count + 1):
        events = by_step[n]
        thread = events[0].thread if events else "?"
        column = column_of(thread)
        if column not in columns:
            columns.append(column)
        op = f"{events[0].function} {events[0].detail}".strip() if events else ""
        kernel = [f"{e.function} {e.detail}".strip() for e in events[1:]
                  if e.function.endswith("()")]
        rows.append({"n": n, "label": thread, "column": columns.index(column), "op": op,
                     "events": kernel})
    if finished:
        rows.append({"n": count + 1, "label": "finish (drain, then the at_end checks)",
                     "column": -1, "op": "", "events": []})
    return rows, columns


def _decided(model: Model, decisions: Sequence[Decision], names: list[str],
             max_steps: int | None, policy: str) -> dict[str, int]:
    """For each at_end property of ``names``: the first step from which the run breaks it
    even when it goes on without preemption (the schedule's steps up to there, then each
    thread runs on while it can, as :func:`~swaplab.explore.replay.replay` finishes a run):
    the step that decided the violation. Its state alone does not show it (an at_end
    property reads a drained state; mid-path it can be false for a moment)."""
    first: dict[str, int] = {}
    todo = list(names)
    for n in range(len(decisions), -1, -1):
        if not todo:
            break
        run = replay(model, decisions[:n], trace=False, max_steps=max_steps, finish=True,
                     policy=policy)
        for name in list(todo):
            if run.violation(name) is None:
                todo.remove(name)
            else:
                first[name] = n
    return first


def _first(prop: Property, failure: Failure, holds: list[bool | None]) -> int:
    """The state where a broken property became true: an invariant's where the run found
    it broken (after as many steps as the failure's decisions); an at_end property's
    first state from which it reads violated through the end."""
    if prop.when is not When.AT_END:
        return len(failure.decisions)
    first = len(holds) - 1
    while first > 0 and holds[first - 1] is False:
        first -= 1
    return first


def _properties(recorder: _Recorder, result: RunResult, decided: dict[str, int]
                ) -> list[dict[str, Any]]:
    out = []
    for i, prop in enumerate(recorder.properties):
        holds = [row[i] for row in recorder.holds]
        failure = result.violation(prop.name)
        out.append({"name": prop.name, "kind": prop.kind, "when": prop.when.value,
                    "holds": holds, "broken": failure is not None,
                    "message": failure.message if failure is not None else "",
                    "first": _first(prop, failure, holds) if failure is not None else None,
                    "decided": decided.get(prop.name)})
    return out


def _failure(failure: Failure, recorder: _Recorder, decided: dict[str, int], last: int
             ) -> dict[str, Any]:
    """A violation, the state where it became true (:func:`_first`) and, for an at_end
    property, the step that decided it (:func:`_decided`); anything but a property (a
    deadlock, an exception, a livelock) at the run's last state."""
    step = last
    for i, prop in enumerate(recorder.properties):
        if prop.name == failure.property:
            step = _first(prop, failure, [row[i] for row in recorder.holds])
    return {"property": failure.property, "kind": failure.kind, "message": failure.message,
            "state": step, "decided": decided.get(failure.property)}


def _outcome(result: RunResult) -> str:
    if result.complete:
        return "every thread finished"
    if result.cut:
        return "cut by the step limit"
    if result.failures:
        return "stopped by a violation"
    return "the schedule ended"

