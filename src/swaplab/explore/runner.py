"""One run: set the model up, follow a schedule prefix, let a driver choose the rest, check.

This is the explorer's inner loop, shared by every strategy; it is kept lean because every
strategy is replay-based (moving to a sibling branch re-runs the prefix). A :class:`Driver`
chooses the steps after the prefix and observes every step; without one the run stops at the
end of the prefix (plain replay).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any, Protocol

from swaplab.explore.execution import Event, Execution, Thread
from swaplab.explore.model import Instance, Model, Property, When
from swaplab.explore.ops import Lock, Op, OpKind
from swaplab.explore.schedule import NO_CHOICE, Decision, format_decisions

DEADLOCK = "deadlock"
STEP_LIMIT = "step-limit"
EXCEPTION = "exception"


class ReplayError(Exception):
    """A schedule asked for a thread that cannot run at that point (the setup or the model
    changed, or the schedule belongs to another scenario)."""


@dataclass(slots=True)
class Failure:
    """A property broken by one run: which, how, and the decisions that led there.

    ``key`` is what shrinking must preserve: the property name, plus the exception type for
    exceptions raised by a thread.
    """

    property: str
    message: str
    key: str
    decisions: list[Decision]
    preemptions: int = 0

    @builtins.property
    def steps(self) -> int:
        return len(self.decisions)

    def schedule_text(self) -> str:
        return format_decisions(self.decisions)


@dataclass(slots=True)
class RunResult:
    decisions: list[Decision]
    failure: Failure | None = None
    complete: bool = False  # every thread finished
    abandoned: bool = False  # the driver stopped it (end of a replay, a sleep-set block)
    preemptions: int = 0
    reached: list[str] = field(default_factory=list)  # sometimes-properties reached
    states: list[bytes] = field(default_factory=list)  # fingerprints, when asked for
    trace: list[Event] | None = None


class Run:
    """The live state of a run, as drivers see it."""

    __slots__ = (
        "changed",
        "decisions",
        "execution",
        "instance",
        "last",
        "locks",
        "preemptions",
        "thread_steps",
        "threads",
    )

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.execution: Execution = instance.execution
        self.threads: list[Thread] = instance.execution.threads
        self.decisions: list[Decision] = []
        self.last: Thread | None = None
        self.preemptions = 0
        self.locks: list[Lock] = list(instance.locks)
        self.thread_steps: list[int] = []
        self.changed: list[Lock] = []  # locks taken or released by the last step

    def is_preemption(self, thread: Thread) -> bool:
        """Whether running ``thread`` now switches away from a thread that could go on."""
        last = self.last
        if last is None or last is thread or last.done:
            return False
        pending = last.pending
        return pending is not None and pending.kind is not OpKind.YIELD and pending.enabled()

    def is_preemption_source(self) -> bool:
        """Whether switching away from the thread that ran last is a preemption."""
        last = self.last
        if last is None or last.done:
            return False
        pending = last.pending
        return pending is not None and pending.kind is not OpKind.YIELD and pending.enabled()

    def any_lock_held(self) -> bool:
        return any(lock.holder is not None for lock in self.locks)


class Driver(Protocol):
    """What a strategy plugs into the run loop."""

    track_locks: bool

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        """The next decision after the prefix; None abandons the run."""

    def stepped(self, run: Run, index: int, thread: Thread, op: Op, spawned: int) -> None:
        """Called after step ``index`` ran ``op`` of ``thread``; threads from ``spawned`` on
        were created by it; ``run.changed`` lists the locks it took or released."""


def _watch(run: Run, op: Op) -> None:
    obj = op.obj
    if isinstance(obj, Lock) and not any(lock is obj for lock in run.locks):
        run.locks.append(obj)


def _positions(run: Run) -> bytes:
    parts = []
    for thread in run.threads:
        pending = thread.pending
        site = pending.site if pending is not None else "done"
        parts.append(f"{thread.tid}:{run.thread_steps[thread.tid]}:{site}")
    return ";".join(parts).encode()


def _detail(op: Op) -> str:
    name = getattr(op.obj, "name", None)
    kind = op.kind.name.lower()
    return f"{kind} {name}" if name else kind


def _fail(prop: Property, state: Any, run: Run) -> Failure:
    return Failure(prop.name, prop.message(state), prop.name, list(run.decisions),
                   run.preemptions)


class _Checks:
    """The properties of an instance, sorted by when they are checked."""

    __slots__ = ("always", "at_end", "quiescent", "sometimes")

    def __init__(self, properties: Sequence[Property], satisfied: dict[str, bool]) -> None:
        self.always = [p for p in properties if p.when is When.ALWAYS]
        self.quiescent = [p for p in properties if p.when is When.QUIESCENT]
        self.at_end = [p for p in properties if p.when is When.AT_END]
        self.sometimes = [p for p in properties
                          if p.when is When.SOMETIMES and p.name not in satisfied]

    def after_step(self, run: Run, result: RunResult) -> Failure | None:
        state = run.instance.state
        if self.sometimes:  # first: a state that breaks an invariant still counts as reached
            self.reach(state, result)
        for prop in self.always:
            if not prop.check(state):
                return _fail(prop, state, run)
        quiet = run.instance.quiescent
        if self.quiescent and (quiet(state) if quiet is not None else not run.any_lock_held()):
            for prop in self.quiescent:
                if not prop.check(state):
                    return _fail(prop, state, run)
        return None

    def reach(self, state: Any, result: RunResult) -> None:
        for prop in list(self.sometimes):
            if prop.check(state):
                result.reached.append(prop.name)
                self.sometimes.remove(prop)


def execute(
    model: Model,
    prefix: Sequence[Decision] = (),
    driver: Driver | None = None,
    *,
    trace: bool = False,
    satisfied: dict[str, bool] | None = None,
    fingerprints: bool = False,
    max_steps: int | None = None,
    on_instance: Callable[[Instance], None] | None = None,
) -> RunResult:
    """Run ``model`` once: follow ``prefix``, then ``driver``; check the properties."""
    instance = model()
    if on_instance is not None:
        on_instance(instance)
    run = Run(instance)
    result = RunResult(run.decisions)
    execution = instance.execution
    execution.steps = 0  # trace events count the steps of this run (setup may have run some)
    if trace:
        execution.trace = result.trace = []
    try:
        _loop(run, result, prefix, driver, trace, satisfied if satisfied is not None else {},
              fingerprints, max_steps if max_steps is not None else instance.max_steps)
        ended = getattr(driver, "ended", None)
        if ended is not None and not result.complete:
            ended(run)
    finally:
        execution.close()
    result.preemptions = run.preemptions
    return result


def _loop(run: Run, result: RunResult, prefix: Sequence[Decision], driver: Driver | None,
          trace: bool, satisfied: dict[str, bool], fingerprints: bool, max_steps: int) -> None:
    instance = run.instance
    execution, threads, state = run.execution, run.threads, instance.state
    checks = _Checks(instance.properties, satisfied)
    track = driver is not None and driver.track_locks
    watch = track or bool(checks.quiescent)
    fingerprint = instance.fingerprint if fingerprints else None
    decisions, thread_steps, locks = run.decisions, run.thread_steps, run.locks
    thread_steps.extend(0 for _ in threads)
    result.failure = checks.after_step(run, result)
    if result.failure is not None:
        return
    n_prefix = len(prefix)
    n_threads = len(threads)
    has_checks = bool(checks.always or checks.quiescent or checks.sometimes)
    index = 0
    while True:
        if index < n_prefix:  # replaying: only the picked thread must be able to run
            decision = prefix[index]
            tid = decision[0]
            pending: Op | None = None
            if tid < n_threads:
                thread = threads[tid]
                pending = thread.pending
            if pending is None or not pending.enabled():
                enabled = [t for t in threads if t.pending is not None and t.pending.enabled()]
                if not enabled:
                    raise ReplayError(f"step {index}: no thread can run, the schedule goes on")
                raise ReplayError(f"step {index}: thread {tid} cannot run "
                                  f"(enabled: {[t.tid for t in enabled]})")
            if index >= max_steps:
                result.failure = Failure(STEP_LIMIT, f"more than {max_steps} steps",
                                         STEP_LIMIT, list(decisions), run.preemptions)
                return
            op = pending
        else:
            enabled = [t for t in threads if t.pending is not None and t.pending.enabled()]
            if not enabled:
                _end(run, result, checks)
                return
            if index >= max_steps:
                result.failure = Failure(STEP_LIMIT, f"more than {max_steps} steps",
                                         STEP_LIMIT, list(decisions), run.preemptions)
                return
            chosen = driver.choose(run, enabled) if driver is not None else None
            if chosen is None:
                result.abandoned = True
                return
            decision = chosen
            thread = threads[decision[0]]
            chosen_op = thread.pending
            assert chosen_op is not None
            op = chosen_op
        value: Any = None
        if op.kind is OpKind.CHOICE:
            value = decision[1] if decision[1] != NO_CHOICE else 0
            if not 0 <= value < op.n:
                raise ReplayError(f"step {index}: choice {value} out of range 0..{op.n - 1}")
            decision = (decision[0], value)
        elif decision[1] != NO_CHOICE:
            decision = (decision[0], NO_CHOICE)
        last = run.last
        if last is not None and last is not thread:
            last_op = last.pending
            if last_op is not None and last_op.kind is not OpKind.YIELD and last_op.enabled():
                run.preemptions += 1
        decisions.append(decision)
        if watch:
            _watch(run, op)
            before = [lock.holder for lock in locks]
        if trace:
            detail = _detail(op) + (f" -> {value}" if value is not None else "")
            assert result.trace is not None
            result.trace.append(Event(index + 1, thread.name, op.site or op.kind.name.lower(),
                                      detail))
        count = len(threads)
        try:
            execution.step(thread, value)
        except Exception as exc:  # a thread raised: KernelBug, an assertion, a model bug
            thread.done, thread.pending = True, None
            name = type(exc).__name__
            result.failure = Failure(EXCEPTION, f"{name}: {exc} (in {thread.name})",
                                     f"{EXCEPTION}:{name}", list(decisions), run.preemptions)
            return
        thread_steps[thread.tid] += 1
        if len(threads) > count:
            n_threads = len(threads)
            thread_steps.extend(0 for _ in range(n_threads - count))
        run.last = thread
        if watch:
            run.changed = [lock for lock, held in zip(locks, before, strict=False)
                           if lock.holder != held]
        if driver is not None:
            driver.stepped(run, index, thread, op, count)
        index += 1
        failure = checks.after_step(run, result) if has_checks else None
        if fingerprint is not None:
            digest = blake2b(fingerprint(state), digest_size=16)
            digest.update(_positions(run))
            result.states.append(digest.digest())
        if failure is not None:
            result.failure = failure
            return


def _end(run: Run, result: RunResult, checks: _Checks) -> None:
    """No thread can run: either all are done (finish, at_end checks) or a deadlock."""
    live = [t for t in run.threads if not t.done]
    if live:
        waiting = ", ".join(f"{t.name} waits for {t.pending.describe() if t.pending else '?'}"
                            for t in live)
        result.failure = Failure(DEADLOCK, f"no thread can run: {waiting}", DEADLOCK,
                                 list(run.decisions), run.preemptions)
        return
    instance = run.instance
    state = instance.state
    if instance.finish is not None:
        instance.finish(state)
    result.complete = True
    for prop in checks.at_end:
        if not prop.check(state):
            result.failure = _fail(prop, state, run)
            return
    if checks.sometimes:
        checks.reach(state, result)
