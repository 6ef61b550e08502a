"""One run: set the model up, follow a schedule prefix, let a driver choose the rest, check.

This is the explorer's inner loop, shared by every strategy; it is kept lean because every
strategy is replay-based (moving to a sibling branch re-runs the prefix). A :class:`Driver`
chooses the steps after the prefix and observes every step; without one the run stops at the
end of the prefix (plain replay). The helpers drivers share (:func:`decisions_of`,
:func:`ordered`, :func:`run_on`) live here too.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

from swaplab.explore.cpus import SOFT_LOCKUP, Cpus
from swaplab.explore.execution import Event, Execution, Thread
from swaplab.explore.model import BUG, Instance, Model, Property, When
from swaplab.explore.nonpreemptive import RUN_ON
from swaplab.explore.ops import CHOICE, SPIN, YIELDS, Lock, Op, StepRecord, among, lock_count
from swaplab.explore.policy import Policy, fair, get_policy, spinning_only
from swaplab.explore.schedule import NO_CHOICE, Decision, format_decisions

DEADLOCK = "deadlock"
LIVELOCK = "livelock"
EXCEPTION = "exception"


class ReplayError(Exception):
    """A schedule asked for a thread that cannot run at that point (the setup or the model
    changed, or the schedule belongs to another scenario)."""


@dataclass(slots=True)
class Failure:
    """A property broken by one run: which, how, and the decisions that led there.

    ``key`` is what shrinking must preserve: the property name, plus the exception type for
    exceptions raised by a thread. ``kind`` is the property's (``bug`` or ``note``).
    """

    property: str
    message: str
    key: str
    decisions: list[Decision]
    preemptions: int = 0
    kind: str = BUG

    @builtins.property
    def steps(self) -> int:
        return len(self.decisions)

    def schedule_text(self) -> str:
        return format_decisions(self.decisions)


@dataclass(slots=True)
class RunResult:
    """What one run did. ``failures``: every violation seen, in order (a bug violation ends
    the run, so at most one bug is found before the end; at the end every at_end property
    is checked); ``cut``: the run reached the step limit (no verdict: the search is then
    incomplete); ``spinning``: it was cut while only busy-waiting threads could run."""

    decisions: list[Decision]
    failures: list[Failure] = field(default_factory=list)
    complete: bool = False  # every thread finished
    abandoned: bool = False  # the driver stopped it (end of a replay, a sleep-set block)
    split: bool = False  # stopped at a split point: the rest is a subtree for a worker
    cut: bool = False
    spinning: bool = False
    preemptions: int = 0
    reached: list[str] = field(default_factory=list)  # sometimes-properties reached
    states: list[bytes] = field(default_factory=list)  # fingerprints, when asked for
    trace: list[Event] | None = None

    @builtins.property
    def failure(self) -> Failure | None:
        """The first bug violation (the one that ended the run, or the first at its end)."""
        return next((f for f in self.failures if f.kind == BUG), None)

    def violation(self, key: str) -> Failure | None:
        """The violation of ``key`` (a property name, or exception:Type), if any."""
        return next((f for f in self.failures if f.key == key), None)


class Run:
    """The live state of a run, as drivers see it.

    ``changed`` lists the locks the last step took or released (from its record, in
    first-touch order), ``held_before`` whether each was held before that step,
    ``written`` the objects it wrote in plain code and ``read`` those it only read.
    ``split``: set by a driver that abandons the run where a parallel search splits the
    tree (not a run of its own: the search counts it neither as an execution nor pruned).
    """

    __slots__ = (
        "base",
        "changed",
        "cpus",
        "cut",
        "decisions",
        "execution",
        "held_before",
        "instance",
        "last",
        "lock_ids",
        "locks",
        "policy",
        "preemptions",
        "read",
        "split",
        "thread_steps",
        "threads",
        "written",
    )

    def __init__(self, instance: Instance, policy: Policy = fair) -> None:
        self.instance = instance
        self.execution: Execution = instance.execution
        self.threads: list[Thread] = instance.execution.threads
        self.policy = policy
        self.decisions: list[Decision] = []
        self.last: Thread | None = None
        self.preemptions = 0
        self.locks: list[Lock] = []  # every lock seen in an operation or a step record
        self.lock_ids: set[int] = set()  # their ids (kept alive by the list: none reused)
        self.base = 0  # lock_count.created when the model was built (see ops.stable_name)
        self.thread_steps: list[int] = []
        self.changed: list[Lock] = []
        self.held_before: list[bool] = []
        self.written: list[object] = []
        self.read: list[object] = []
        self.cut = False  # stopped by the step limit
        self.split = False
        #: the shared CPUs (explore/cpus.py); None: every thread on a CPU of its own
        self.cpus = Cpus.of(self.threads)

    def is_preemption(self, thread: Thread) -> bool:
        """Whether running ``thread`` now switches away from a thread that could go on."""
        last = self.last
        if last is None or last is thread or last.done:
            return False
        pending = last.pending
        return pending is not None and pending.kind not in YIELDS and pending.enabled()

    def is_preemption_source(self) -> bool:
        """Whether switching away from the thread that ran last is a preemption."""
        last = self.last
        if last is None or last.done:
            return False
        pending = last.pending
        return pending is not None and pending.kind not in YIELDS and pending.enabled()

    def any_lock_held(self) -> bool:
        return any(lock.holder is not None for lock in self.locks)

    def schedulable(self) -> list[Thread]:
        cpus = self.cpus
        return self.policy(self.threads if cpus is None else cpus.available(self.threads))


class Driver:
    """What a strategy plugs into the run loop. ``track_locks``: keep ``run.changed``,
    ``written`` and ``read`` for :meth:`stepped` (the default observes nothing)."""

    track_locks = False

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        """The next decision after the prefix (``enabled``: the threads the scheduling
        policy allows now); None abandons the run."""
        raise NotImplementedError

    def stepped(self, run: Run, index: int, thread: Thread, op: Op, spawned: int) -> None:
        """Called after step ``index`` ran ``op`` of ``thread``; threads from ``spawned`` on
        were created by it; ``run.changed`` lists the locks it took or released."""

    def ended(self, run: Run) -> None:
        """Called when a run ends without every thread done (abandoned, cut, a deadlock or
        a failure)."""


def decisions_of(thread: Thread) -> list[Decision]:
    """The decisions that run ``thread`` now: one per alternative of a CHOICE."""
    pending = thread.pending
    if pending is not None and pending.kind is CHOICE:
        return [(thread.tid, value) for value in range(pending.n)]
    return [(thread.tid, NO_CHOICE)]


def ordered(run: Run, enabled: list[Thread]) -> list[Thread]:
    """The enabled threads, the one that ran last first (no preemption), then by id."""
    last = run.last
    if last is not None and last in enabled:
        return [last, *(t for t in enabled if t is not last)]
    return enabled


def run_on(run: Run, enabled: list[Thread]) -> Decision:
    """The explorer's non-preemptive step (:data:`~swaplab.explore.nonpreemptive.RUN_ON`,
    the policy of run_to_completion but for a YIELD, which does not switch here): the
    thread that ran last while the scheduling policy lets it run, else the lowest id; a
    CHOICE's first alternative."""
    thread = RUN_ON.next(run.last, enabled)
    assert thread is not None  # a driver is asked only when some thread can run
    return decisions_of(thread)[0]


def _known(run: Run, lock: Lock) -> None:
    if id(lock) not in run.lock_ids:
        run.lock_ids.add(id(lock))
        run.locks.append(lock)


def _record(run: Run, op: Op, record: StepRecord) -> None:
    """Set ``run.changed`` and ``run.written`` from the last step's record; learn new
    locks."""
    obj = op.obj
    if isinstance(obj, Lock):
        _known(run, obj)
    changed: list[Lock] = []
    held: list[bool] = []
    for lock, before in record.locks:
        if not among(lock, changed):
            changed.append(lock)
            held.append(before is not None)
            _known(run, lock)
    written: list[object] = []
    for obj in record.writes:
        if not among(obj, written):
            written.append(obj)
    read: list[object] = []
    for obj in record.reads:
        if not among(obj, written) and not among(obj, read):
            read.append(obj)
    run.changed, run.held_before, run.written, run.read = changed, held, written, read


def _positions(run: Run) -> bytes:
    parts = []
    for thread in run.threads:
        pending = thread.pending
        site = pending.site if pending is not None else "done"
        parts.append(f"{thread.tid}:{run.thread_steps[thread.tid]}:{site}")
    return ";".join(parts).encode()


def _sites(run: Run) -> bytes:
    return ";".join(t.pending.site if t.pending is not None else "done"
                    for t in run.threads).encode()


def _detail(op: Op) -> str:
    name = getattr(op.obj, "name", None)
    kind = op.kind.name.lower()
    return f"{kind} {name}" if name else kind


def _fail(prop: Property, state: Any, run: Run) -> Failure:
    return Failure(prop.name, prop.message(state), prop.name, list(run.decisions),
                   run.preemptions, prop.kind)


class _Checks:
    """The properties of an instance, sorted by when they are checked."""

    __slots__ = ("always", "at_end", "noted", "quiescent", "sometimes")

    def __init__(self, properties: Sequence[Property], satisfied: dict[str, bool]) -> None:
        self.always = [p for p in properties if p.when is When.ALWAYS]
        self.quiescent = [p for p in properties if p.when is When.QUIESCENT]
        self.at_end = [p for p in properties if p.when is When.AT_END]
        self.sometimes = [p for p in properties
                          if p.when is When.SOMETIMES and p.name not in satisfied]
        self.noted: list[str] = []  # notes already recorded in this run

    def after_step(self, run: Run, result: RunResult) -> bool:
        """Check the invariants; True when a bug ended the run (notes are recorded once
        per run and the run goes on)."""
        state = run.instance.state
        if self.sometimes:  # first: a state that breaks an invariant still counts as reached
            self.reach(state, result)
        if self.always and self._violated(self.always, run, result):
            return True
        quiet = run.instance.quiescent
        if self.quiescent and (quiet(state) if quiet is not None else not run.any_lock_held()):
            return self._violated(self.quiescent, run, result)
        return False

    def _violated(self, props: list[Property], run: Run, result: RunResult) -> bool:
        state = run.instance.state
        for prop in props:
            if not prop.check(state) and prop.name not in self.noted:
                result.failures.append(_fail(prop, state, run))
                if prop.kind == BUG:
                    return True
                self.noted.append(prop.name)
        return False

    def at_the_end(self, run: Run, result: RunResult) -> None:
        state = run.instance.state
        for prop in self.at_end:
            if not prop.check(state):
                result.failures.append(_fail(prop, state, run))
        if self.sometimes:
            self.reach(state, result)

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
    policy: str = "fair",
) -> RunResult:
    """Run ``model`` once: follow ``prefix``, then ``driver``; check the properties.
    ``policy`` names the scheduling policy (:mod:`swaplab.explore.policy`)."""
    base = lock_count.created
    instance = model()
    if on_instance is not None:
        on_instance(instance)
    run = Run(instance, get_policy(policy))
    run.base = base
    result = RunResult(run.decisions)
    execution = instance.execution
    execution.steps = 0  # trace events count the steps of this run (setup may have run some)
    if trace:
        execution.trace = result.trace = []
    try:
        _loop(run, result, prefix, driver, trace, satisfied if satisfied is not None else {},
              fingerprints, max_steps if max_steps is not None else instance.max_steps)
        if driver is not None and not result.complete:
            driver.ended(run)
    finally:
        execution.close()
    result.preemptions = run.preemptions
    result.split = run.split
    return result


def _replayed(run: Run, index: int, tid: int) -> Thread:
    """The thread a prefix decision picks, checked against the policy."""
    threads = run.threads
    if tid < len(threads):
        thread = threads[tid]
        pending = thread.pending
        if pending is not None and pending.enabled() and (
                pending.kind is not SPIN or thread in run.schedulable()) and (
                run.cpus is None or run.cpus.may_run(thread)):
            return thread
    schedulable = run.schedulable()
    if not schedulable:
        raise ReplayError(f"step {index}: no thread can run, the schedule goes on")
    raise ReplayError(f"step {index}: thread {tid} cannot run "
                      f"(schedulable: {[t.tid for t in schedulable]})")


def _loop(run: Run, result: RunResult, prefix: Sequence[Decision], driver: Driver | None,
          trace: bool, satisfied: dict[str, bool], fingerprints: bool, max_steps: int) -> None:
    instance = run.instance
    execution, threads, state = run.execution, run.threads, instance.state
    checks = _Checks(instance.properties, satisfied)
    track = driver is not None and driver.track_locks
    watch = track or bool(checks.quiescent)
    fingerprint = instance.fingerprint if fingerprints else None
    spins = _Spins(run) if instance.fingerprint is not None else None
    cpus = run.cpus
    decisions, thread_steps = run.decisions, run.thread_steps
    thread_steps.extend(0 for _ in threads)
    if checks.after_step(run, result):
        return
    n_prefix = len(prefix)
    has_checks = bool(checks.always or checks.quiescent or checks.sometimes)
    index = 0
    while True:
        if cpus is not None and _soft_lockup(run, cpus, result):
            return
        if spins is not None and spins.pending and spins.cycle(result):
            return
        if index < n_prefix:  # replaying: only the picked thread must be able to run
            decision = prefix[index]
            tid = decision[0]
            picked = threads[tid] if tid < len(threads) else None
            pending = picked.pending if picked is not None else None
            if pending is None or pending.kind is SPIN or not pending.enabled() or (
                    cpus is not None and picked is not None and not cpus.may_run(picked)):
                picked = _replayed(run, index, tid)  # the slow check (raises if it can't)
            assert picked is not None
            thread = picked
            if index >= max_steps:
                _cut(run, result, run.schedulable())
                return
        else:
            enabled = run.schedulable()
            if not enabled:
                _end(run, result, checks)
                return
            if index >= max_steps:
                _cut(run, result, enabled)
                return
            chosen = driver.choose(run, enabled) if driver is not None else None
            if chosen is None:
                result.abandoned = True
                return
            decision = chosen
            thread = threads[decision[0]]
        op = thread.pending
        assert op is not None
        value: Any = None
        if op.kind is CHOICE:
            value = decision[1] if decision[1] != NO_CHOICE else 0
            if not 0 <= value < op.n:
                raise ReplayError(f"step {index}: choice {value} out of range 0..{op.n - 1}")
            decision = (decision[0], value)
        elif decision[1] != NO_CHOICE:
            decision = (decision[0], NO_CHOICE)
        last = run.last
        if last is not None and last is not thread:
            last_op = last.pending
            if last_op is not None and last_op.kind not in YIELDS and last_op.enabled():
                run.preemptions += 1
        decisions.append(decision)
        if trace:
            detail = _detail(op) + (f" -> {value}" if value is not None else "")
            assert result.trace is not None
            result.trace.append(Event(index + 1, thread.name, op.site or op.kind.name.lower(),
                                      detail))
        count = len(threads)
        if spins is not None and op.kind is SPIN:
            spins.pending -= 1
        try:
            execution.step(thread, value)
        except Exception as exc:  # a thread raised: KernelBug, an assertion, a model bug
            thread.done, thread.pending = True, None
            name = type(exc).__name__
            result.failures.append(Failure(EXCEPTION, f"{name}: {exc} (in {thread.name})",
                                           f"{EXCEPTION}:{name}", list(decisions),
                                           run.preemptions))
            return
        thread_steps[thread.tid] += 1
        if cpus is not None:
            cpus.stepped(thread, op)
        if spins is not None and thread.pending is not None and \
                thread.pending.kind is SPIN:
            spins.pending += 1
        if len(threads) > count:
            thread_steps.extend(0 for _ in range(len(threads) - count))
        run.last = thread
        if watch:
            _record(run, op, execution.record)
        if driver is not None:
            driver.stepped(run, index, thread, op, count)
        index += 1
        stop = checks.after_step(run, result) if has_checks else False
        if fingerprint is not None:
            digest = blake2b(fingerprint(state), digest_size=16)
            digest.update(_positions(run))
            result.states.append(digest.digest())
        if stop:
            return


def _soft_lockup(run: Run, cpus: Cpus, result: RunResult) -> bool:
    """Whether a CPU's owner now spins for ever while a thread placed on that CPU could
    run (explore/cpus.py); then the run records a soft-lockup finding."""
    found = cpus.lockup(run.schedulable())
    if found is None:
        return False
    cpu, holder, starved = found
    pending = holder.pending
    assert pending is not None
    names = ", ".join(t.name for t in starved)
    result.failures.append(Failure(
        SOFT_LOCKUP, f"CPU {cpu}: {holder.name} busy-waits at {pending.describe()} and "
        f"never gives up the CPU, while {names} can run only on CPU {cpu}", SOFT_LOCKUP,
        list(run.decisions), run.preemptions))
    return True


def _cut(run: Run, result: RunResult, schedulable: list[Thread]) -> None:
    """The step limit: no verdict on this run."""
    result.cut = run.cut = True
    result.spinning = spinning_only(schedulable)


class _Spins:
    """Livelock detection: the states a run reached while only busy-waiting threads could
    run, with each thread's step count then. When such a state comes back and every spinner
    of it has run since, the run can repeat that cycle for ever, fairly (the other threads
    are blocked or done throughout): a livelock."""

    __slots__ = ("pending", "run", "seen")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.seen: dict[bytes, list[int]] = {}
        self.pending = 0  # threads whose pending operation is a SPIN (new ones never are)

    def cycle(self, result: RunResult) -> bool:
        """Whether the run is in a fair busy-wait cycle now (then it records a livelock)."""
        run = self.run
        spinners = run.schedulable()
        if not spinning_only(spinners):
            return False
        fingerprint = run.instance.fingerprint
        assert fingerprint is not None
        key = blake2b(fingerprint(run.instance.state), digest_size=16)
        key.update(_sites(run))
        digest = key.digest()
        before = self.seen.get(digest)
        if before is None:
            self.seen[digest] = list(run.thread_steps)
            return False
        if any(run.thread_steps[t.tid] <= before[t.tid] for t in spinners):
            return False  # not every spinner ran since: not yet a fair cycle
        names = ", ".join(t.name for t in spinners)
        result.failures.append(Failure(
            LIVELOCK, f"{names} busy-wait for ever: the same state comes back while no "
            "other thread can run", LIVELOCK, list(run.decisions), run.preemptions))
        return True


def _end(run: Run, result: RunResult, checks: _Checks) -> None:
    """No thread can run: either all are done (finish, at_end checks) or a deadlock."""
    live = [t for t in run.threads if not t.done]
    if live:
        waiting = ", ".join(f"{t.name} waits for {t.pending.describe() if t.pending else '?'}"
                            for t in live)
        result.failures.append(Failure(DEADLOCK, f"no thread can run: {waiting}", DEADLOCK,
                                       list(run.decisions), run.preemptions))
        return
    instance = run.instance
    if instance.finish is not None:
        instance.finish(instance.state)
    result.complete = True
    checks.at_the_end(run, result)
