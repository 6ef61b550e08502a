"""Threads, one execution of them, and the run-to-completion driver.

An :class:`Execution` owns the threads of one run. A new thread starts with a pending
``YIELD @start`` so that even its first instructions run only when a driver picks it. The
driver resumes one thread at a time with :meth:`Execution.step`; the thread runs until its
next trap, which becomes its new pending operation. SPAWN traps are handled inside the step:
the new thread is created and the spawner goes on.

Every driver (run-to-completion here; the explorer's strategies; the workload simulator)
calls only :meth:`~Execution.step` and reads ``pending``, so the same kernel code runs under
all of them. Drivers never change ``threads`` themselves: finished threads are forgotten with
:meth:`~Execution.retire` (one) or :meth:`~Execution.reset` (all).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from swaplab.explore.nonpreemptive import SEQUENTIAL
from swaplab.explore.ops import (
    CHOICE,
    FIRST_SWITCH,
    SPAWN,
    FastLane,
    Op,
    OpKind,
    StepRecord,
    ThreadBody,
    running,
)


class Deadlock(Exception):
    """No thread is enabled but some are not done."""


class StepLimit(Exception):
    """A run took more steps than its bound."""


@dataclass(slots=True, frozen=True)
class Event:
    """One line of a trace: which thread, at which step, in which function, what happened."""

    step: int
    thread: str
    function: str
    detail: str


_START = Op(OpKind.YIELD, site="start")


class Thread:
    """A coroutine with its pending operation; ``ctx`` is the caller's payload (task, CPU).
    ``cpu``: the CPU the thread is placed on for the explorer's CPU model
    (:mod:`swaplab.explore.cpus`); None, the default, is a CPU of its own."""

    __slots__ = ("body", "cpu", "ctx", "done", "name", "pending", "result", "started", "tid")

    def __init__(self, tid: int, name: str, body: ThreadBody, ctx: Any,
                 cpu: int | None = None) -> None:
        self.tid = tid
        self.name = name
        self.body = body
        self.ctx = ctx
        self.cpu = cpu
        self.pending: Op | None = _START
        self.done = False
        self.started = False
        self.result: Any = None

    def enabled(self) -> bool:
        pending = self.pending
        return pending is not None and pending.enabled()

    def __repr__(self) -> str:
        state = "done" if self.done else repr(self.pending)
        return f"Thread({self.tid}, {self.name!r}, {state})"


async def _nothing() -> None:
    return None


def _retired() -> Thread:
    body = _nothing()
    body.close()
    thread = Thread(-1, "(finished)", body, None)
    thread.done = True
    thread.pending = None
    return thread


#: What a retired thread's slot holds: a finished thread of no id.
RETIRED = _retired()


class DriverLane:
    """A driver's fast lane (:class:`Execution`'s ``lane``): :meth:`takes` is asked when
    the running thread reaches an enabled operation that is no scheduling point."""

    __slots__ = ()

    def takes(self, thread: Thread, op: Op) -> bool:
        """Whether the driver would resume ``thread`` at ``op`` right away, with no
        decision to take; if so it has done its bookkeeping of the step that ends there
        (its clock, its step count)."""
        raise NotImplementedError


@dataclass(slots=True)
class Execution(FastLane):
    """The threads of one run, the one running now, and what they logged.

    ``record`` is what the last step did besides its operation (its lock effects and
    plain writes, :class:`~swaplab.explore.ops.StepRecord`); with ``records`` False
    nothing is recorded (a driver that never reads records: the workload simulator, a
    System call run to completion), unless a check audits every step (``running.audit``).

    ``lane`` is a driver's fast lane (:class:`DriverLane`): asked when the running thread
    reaches an enabled operation that is no scheduling point (not in ``SWITCHES``), it
    says whether the driver would resume that thread right away, with no decision to take,
    and if so does its own bookkeeping of the step that ends there (its clock, its step
    count). The thread then goes on without being suspended (:meth:`go_on`); the run is
    the same step by step.
    """

    threads: list[Thread] = field(default_factory=list)
    current: Thread | None = None
    steps: int = 0
    trace: list[Event] | None = None
    record: StepRecord = field(default_factory=StepRecord)
    lane: DriverLane | None = None
    records: bool = True

    def spawn(self, name: str, body: ThreadBody, ctx: Any = None,
              cpu: int | None = None) -> Thread:
        """A new thread; ``cpu`` places it on a CPU it may share (None: a CPU of its own;
        threads started while a run goes on, by a SPAWN, always get one of their own)."""
        thread = Thread(len(self.threads), name, body, ctx, cpu)
        self.threads.append(thread)
        return thread

    def live(self) -> list[Thread]:
        return [t for t in self.threads if not t.done]

    def enabled(self) -> list[Thread]:
        return [t for t in self.threads if not t.done and t.enabled()]

    def step(self, thread: Thread, value: Any = None) -> None:
        """Run ``thread``'s pending operation and its code up to the next trap; what it did
        besides the operation is in ``record`` afterwards."""
        self.current = thread
        self.steps += 1
        thread.started = True
        body = thread.body
        outer, outer_lane = running.record, running.lane
        if self.records or running.audit:
            record = self.record
            _clear(record, thread.pending)
            record.tid = thread.tid
            running.record = record
        else:
            running.record = None
        running.lane = self if self.lane is not None else None
        try:
            op: Op = body.send(value)
            while op.kind is SPAWN:
                # a tuple to the compiler too: unpacked by index, not by iteration
                name, child, ctx = cast(tuple[str, ThreadBody, Any], op.payload)
                op = body.send(self.spawn(name, child, ctx))
        except StopIteration as stop:
            thread.done = True
            thread.pending = None
            thread.result = stop.value
        else:
            thread.pending = op
        finally:
            self.current = None
            running.record, running.lane = outer, outer_lane

    def go_on(self, op: Op) -> bool:
        """The fast lane (the execution is running.lane while one of its steps runs, if
        it has a ``lane``): when the driver's ``lane`` takes ``op``, end the running step
        at ``op`` and begin the next one, as :meth:`step` would around a suspension."""
        thread = self.current
        lane = self.lane
        if (op.kind >= FIRST_SWITCH or not op.enabled() or thread is None or lane is None
                or not lane.takes(thread, op)):
            return False
        thread.pending = op
        self.steps += 1
        if running.record is not None:
            _clear(self.record, op)
        return True

    def retire(self, thread: Thread) -> None:
        """Forget the finished ``thread``: its slot keeps :data:`RETIRED`, so later threads
        still get fresh ids (a long simulation starts millions of I/O completions)."""
        assert thread.done, thread
        threads = self.threads
        if thread.tid < len(threads) and threads[thread.tid] is thread:
            threads[thread.tid] = RETIRED

    def reset(self, threads: Sequence[Thread] = ()) -> None:
        """Forget every thread (each done or closed) and have ``threads`` instead: the
        next spawned gets the next id after them. The list object stays the same (a driver
        may hold it)."""
        self.threads[:] = threads

    def log(self, function: str, detail: str = "") -> None:
        """Record a trace event for the running thread, when tracing is on."""
        if self.trace is not None:
            name = self.current.name if self.current is not None else "-"
            self.trace.append(Event(self.steps, name, function, detail))

    def close(self) -> None:
        """Close the coroutines of unfinished threads (no 'never awaited' warnings)."""
        for thread in self.threads:
            if not thread.done:
                thread.body.close()
                thread.done = True
                thread.pending = None


def _clear(record: StepRecord, op: Op | None) -> None:
    """Make ``record`` the empty record of a step running ``op`` (readers copy what they
    keep, so the one record is reused)."""
    if record.locks:
        record.locks.clear()
    if record.writes:
        record.writes.clear()
    if record.reads:
        record.reads.clear()
    record.op = op


def first_choice(op: Op) -> int:
    """The run-to-completion answer to an environment choice: the normal path."""
    return 0


def run_to_completion(
    execution: Execution,
    choose: Callable[[Op], int] = first_choice,
    max_steps: int | None = None,
) -> None:
    """Run every thread until none is left, deterministically, by the non-preemptive
    policy that gives way at a YIELD or a SPIN
    (:data:`~swaplab.explore.nonpreemptive.SEQUENTIAL`): the thread that ran last keeps
    running while it is enabled; at a YIELD or a SPIN (cond_resched(), a busy-wait's next
    round) the next enabled thread after it in id order runs (round robin); when it blocks
    or ends, the enabled thread of the lowest id. Raises :class:`Deadlock` when threads
    remain but none is enabled, :class:`StepLimit` past ``max_steps``.
    """
    limit = execution.steps + max_steps if max_steps is not None else None
    outer_lane, execution.lane = execution.lane, _Sequential(execution, limit)
    try:
        _run_to_completion(execution, choose, limit, max_steps)
    finally:
        execution.lane = outer_lane


class _Sequential(DriverLane):
    """run_to_completion()'s fast lane: the thread that ran keeps running through an
    enabled operation that is no scheduling point, while the step limit allows."""

    __slots__ = ("execution", "limit")

    def __init__(self, execution: Execution, limit: int | None) -> None:
        self.execution = execution
        self.limit = limit

    def takes(self, thread: Thread, op: Op) -> bool:
        limit = self.limit
        return limit is None or self.execution.steps < limit


def _run_to_completion(execution: Execution, choose: Callable[[Op], int],
                       limit: int | None, max_steps: int | None) -> None:
    threads = execution.threads
    running: Thread | None = None
    live: list[int] = []  # ids of the threads not known to be done, ascending
    seen = 0  # threads[:seen] are accounted for in live
    goes_on, first = SEQUENTIAL.goes_on, SEQUENTIAL.first
    while True:
        if running is None or not goes_on(running):
            live, seen = _live_ids(threads, live, seen)
            running = _first_enabled(threads, live, first(running))
            if running is None:
                if any(not t.done for t in threads):
                    raise Deadlock(
                        "no thread can run: " + ", ".join(repr(t) for t in execution.live())
                    )
                execution.reset()
                return
        pending = running.pending
        assert pending is not None
        if limit is not None and execution.steps >= limit:
            raise StepLimit(f"more than {max_steps} steps")
        value = choose(pending) if pending.kind is CHOICE else None
        execution.step(running, value)


def _live_ids(threads: list[Thread], live: list[int], seen: int) -> tuple[list[int], int]:
    """``live`` (ascending thread ids) without the threads that finished, plus the
    unfinished ones of ``threads[seen:]`` (spawned since); and the new ``seen``.
    Finished threads never run again: skipping them keeps a run that leaves thousands
    of finished I/O-completion threads behind linear."""
    if seen > len(threads):  # the list was cleared and refilled
        live, seen = [], 0
    live = [tid for tid in live if not threads[tid].done]
    live.extend(tid for tid in range(seen, len(threads)) if not threads[tid].done)
    return live, len(threads)


def _first_enabled(threads: list[Thread], live: list[int], start: int) -> Thread | None:
    """The first enabled thread of ``live`` from id ``start`` on, wrapping round (what
    :meth:`~swaplab.explore.nonpreemptive.NonPreemptive.next` picks, found without
    looking at the threads before it)."""
    begin = bisect_left(live, start)
    count = len(live)
    for i in range(count):
        thread = threads[live[(begin + i) % count]]
        if thread.enabled():
            return thread
    return None
