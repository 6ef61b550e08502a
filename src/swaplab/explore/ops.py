"""Operation records: what a thread wants to do next, yielded *before* it does it.

A thread is a coroutine. At every interleaving point it awaits :func:`trap` with an
:class:`Op`; the driver sees that record while the thread is suspended, so it always knows
every thread's pending operation: whether it is enabled (a held lock disables an ACQUIRE, a
false condition disables a WAIT), which pending operations conflict (same object, at least
one of them not a READ), and what to print. When the driver resumes the thread, the thread
performs the operation itself (takes the lock, reads the value, ...) and runs thread-local
code up to its next trap: that is one *step*.

The engine knows nothing of what the objects are. An object is anything with identity (a
:class:`Lock`, a struct, a key tuple); ``Op.obj`` names it, ``Op.site`` names the code that
asked (a kernel function, for the traces).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Coroutine, Generator, Iterable
from enum import IntEnum
from typing import Any, TypeAlias, cast


class OpKind(IntEnum):
    """What kind of access an operation is."""

    ACQUIRE = 0  # take a Lock, blocking: enabled only while the lock is free
    TRYLOCK = 1  # take a Lock if free; always enabled; the thread learns the outcome
    READ = 2  # lock-free read of shared data
    WRITE = 3  # lock-free write of shared data
    RMW = 4  # atomic read-modify-write of shared data
    WAIT = 5  # sleep until ``cond()`` holds (wait_on_page_locked, I/O completion)
    CHOICE = 6  # environment choice among ``n`` alternatives; the driver sends the index
    YIELD = 7  # a plain scheduling point with no shared object (cond_resched)
    SPAWN = 8  # start a new thread; handled inline by the driver, never a scheduling point
    SPIN = 9  # the next round of a busy-wait: poll again for another thread's progress


# The kinds as module constants, for the code that runs at every step: on CPython 3.11
# looking up an IntEnum member (``OpKind.ACQUIRE``) costs several times a global's.
ACQUIRE = OpKind.ACQUIRE
TRYLOCK = OpKind.TRYLOCK
READ = OpKind.READ
WRITE = OpKind.WRITE
RMW = OpKind.RMW
WAIT = OpKind.WAIT
CHOICE = OpKind.CHOICE
YIELD = OpKind.YIELD
SPAWN = OpKind.SPAWN
SPIN = OpKind.SPIN

#: Operations after which switching threads is not a preemption: the thread offers the CPU.
YIELDS = (OpKind.YIELD, OpKind.SPIN)

#: Operations a driver always sees (a thread offering the CPU, a new thread, a choice to
#: answer): never taken in a fast lane (see :class:`Running`).
SWITCHES = (OpKind.YIELD, OpKind.SPIN, OpKind.SPAWN, OpKind.CHOICE)
#: The kinds from this one on are SWITCHES (one comparison at every trap's fast lane).
FIRST_SWITCH = OpKind.CHOICE
assert set(SWITCHES) == {kind for kind in OpKind if kind >= FIRST_SWITCH}


#: One lock effect of a step: the lock and who held it just before (None: it was free).
Effect: TypeAlias = "tuple[Lock, int | None]"


class StepRecord:
    """What a step did besides its operation: its lock effects, in order, the shared
    objects it wrote in plain code (an atomic counter such as a page's reference count,
    changed without an interleaving point of its own) and those it only read there. The
    explorer's dependency relation takes all of them into account. :meth:`Execution.step
    <swaplab.explore.execution.Execution.step>` makes a fresh record the current one
    (:data:`running`'s ``record``) while the step runs; outside steps (a model's setup)
    nothing is recorded."""

    __slots__ = ("locks", "op", "reads", "tid", "writes")

    def __init__(self) -> None:
        self.locks: list[Effect] = []
        self.writes: list[object] = []
        self.reads: list[object] = []
        #: the thread running the step (-1 until a step sets it) and the operation it runs
        self.tid = -1
        self.op: Op | None = None


class FastLane:
    """What :func:`trap` asks whether the running thread goes on through ``op`` at once:
    the running :class:`~swaplab.explore.execution.Execution` while its driver has a fast
    lane. A class with a method rather than a function, so that compiled code calls it
    directly (``swaplab build``)."""

    __slots__ = ()

    def go_on(self, op: Op) -> bool:
        """Whether the thread goes on through ``op`` (the step ends there and the next
        begins)."""
        return False


class Running:
    """Where the record of the running step is kept (None outside steps). An instance
    attribute, not a class one: rebinding a class attribute at every step would make the
    interpreter drop what it cached about that class.

    ``lane`` is the running execution, if its driver has a fast lane
    (:meth:`Execution.step <swaplab.explore.execution.Execution.step>`): :func:`trap` asks
    it first whether the thread goes on through its operation at once, as the driver would
    have resumed it right away; then the step ends and the next begins without the
    thread's coroutines being suspended and resumed.

    ``audit`` is set while a check reads every step's record (the lockset check,
    :mod:`swaplab.explore.lockset`): steps are then recorded even in an execution whose
    driver turned records off."""

    __slots__ = ("audit", "lane", "record")

    def __init__(self) -> None:
        self.audit = False
        self.record: StepRecord | None = None
        self.lane: FastLane | None = None


#: The running step's record (``running.record``).
running = Running()


def stable_name(obj: object, base: int) -> object:
    """A name of ``obj`` that is the same in every run of a deterministic model, for sleep
    sets (objects are new in every run): a lock's name and its owner's ``stable_key``, else
    its serial relative to ``base`` (the lock count when the run's model was built), or the
    object's ``stable_key`` (a hashable it
    defines, such as a page's frame number); None when it has neither. Objects that share
    a name (in one run or across runs) are taken for one, which only makes the explorer
    more careful."""
    if isinstance(obj, Lock):
        owner = getattr(obj.owner, "stable_key", None)
        if owner is not None:
            return ("lock", obj.name, owner)
        return ("lock", obj.serial - base)
    key = getattr(obj, "stable_key", None)
    return (type(obj).__name__, key) if key is not None else None


def among(obj: object, objs: Iterable[object]) -> bool:
    """Whether ``obj`` is one of ``objs``, by identity (a model's objects may compare
    equal). A plain loop, not any() over a generator: the lists are short and this runs
    several times at every step, where making the generator costs more than the search."""
    for other in objs:  # noqa: SIM110
        if other is obj:
            return True
    return False


def plain_write(obj: object) -> None:
    """Record that the running step wrote ``obj`` in plain code (no interleaving point)."""
    record = running.record
    if record is not None:
        record.writes.append(obj)


def plain_read(obj: object) -> None:
    """Record that the running step read ``obj`` in plain code (a lock-free test of a
    field other threads write): the explorer orders the step against every write of
    ``obj`` (or, for a lock, every step that took or released it)."""
    record = running.record
    if record is not None:
        record.reads.append(obj)


class LockCount:
    """How many locks this process has created (:data:`lock_count`): a lock's ``serial``
    is its number, so a lock is named alike in every run of a deterministic model
    (relative to the count when the run's model was built; see :func:`stable_name`). A
    module's object, not a class attribute of :class:`Lock`: setting one at every new lock
    would invalidate what the interpreter cached about the class."""

    __slots__ = ("created",)

    def __init__(self) -> None:
        self.created = 0


#: The process's lock count.
lock_count = LockCount()


class Lock:
    """A lock as the engine sees it: held or free, and by whom (for deadlock reports).

    Kernel page locks are released by a thread other than the one that took them (the I/O
    completion unlocks a page locked by the reader), so a release does not check the owner.

    ``holder`` is read-only: :meth:`take` and :meth:`release` are the only ways to change
    it, and both append an :data:`Effect` to the running step's :class:`StepRecord`. So
    every lock effect of a step is in its record, whether it came from an ACQUIRE or from
    plain code (``__set_page_locked()`` on a new page, an I/O completion's
    ``unlock_page()``), and the explorer's dependency relation cannot miss one.
    """

    __slots__ = ("_holder", "name", "owner", "serial")

    def __init__(self, name: str, owner: object = None) -> None:
        self.name = name
        #: the object the lock is part of: a lock created while a run goes on (a new
        #: page's) is named after its owner's ``stable_key`` (see :func:`stable_name`)
        self.owner = owner
        self._holder: int | None = None
        self.serial = lock_count.created
        lock_count.created += 1

    @property
    def holder(self) -> int | None:
        return self._holder

    @property
    def held(self) -> bool:
        return self._holder is not None

    def take(self, tid: int) -> None:
        """The lock is now held by thread ``tid`` (the caller checked it was free)."""
        record = running.record
        if record is not None:
            record.locks.append((self, self._holder))
        self._holder = tid

    def release(self) -> None:
        """The lock is free (by any thread)."""
        record = running.record
        if record is not None:
            record.locks.append((self, self._holder))
        self._holder = None

    def __repr__(self) -> str:
        return f"Lock({self.name!r}, holder={self.holder})"


class Op:
    """One pending operation of a thread.

    ``obj`` is the shared object touched (a :class:`Lock` for ACQUIRE/TRYLOCK); ``site`` the
    code that asked; ``n`` the number of alternatives of a CHOICE; ``cond`` the condition a
    WAIT sleeps on; ``payload`` what a SPAWN starts (a ``(name, coroutine, ctx)`` triple).
    ``sleeps`` matters only to the CPU model
    (:mod:`swaplab.explore.cpus`): an ACQUIRE of a sleeping lock (a mutex, a page lock) or
    a SPIN whose rounds sleep or call cond_resched() gives up the thread's CPU while it
    waits; without it a blocked ACQUIRE spins (a spinlock) and a SPIN keeps the CPU (a
    busy loop). A WAIT always sleeps, a YIELD always offers the CPU.
    """

    __slots__ = ("cond", "kind", "n", "obj", "payload", "site", "sleeps")

    def __init__(
        self,
        kind: OpKind,
        obj: object = None,
        site: str = "",
        n: int = 0,
        cond: Callable[[], bool] | None = None,
        payload: object = None,
        sleeps: bool = False,
    ) -> None:
        self.kind = kind
        self.obj = obj
        self.site = site
        self.n = n
        self.cond = cond
        self.payload = payload
        self.sleeps = sleeps

    def enabled(self) -> bool:
        """Whether the driver may run this operation now."""
        kind = self.kind
        if kind is ACQUIRE:
            return cast(Lock, self.obj)._holder is None
        if kind is WAIT:
            return self.cond() if self.cond is not None else True
        return True

    def conflicts(self, other: Op) -> bool:
        """Whether running the two operations in either order can differ.

        Two operations on the same object conflict unless both only read it. Operations
        with no object (YIELD, SPAWN, SPIN) have nothing in common with anything here; that
        a SPIN depends on every other thread (:mod:`swaplab.explore.policy`) is the
        explorer's business (dpor.py treats a SPIN step as conflicting with every step).
        """
        if self.obj is None or self.obj is not other.obj:
            return False
        return not (self.kind is READ and other.kind is READ)

    def describe(self) -> str:
        name = getattr(self.obj, "name", None)
        target = f" {name}" if name else ""
        return f"{self.kind.name.lower()}{target} @{self.site}" if self.site else \
            f"{self.kind.name.lower()}{target}"

    def __repr__(self) -> str:
        return f"Op({self.describe()})"


#: A kernel path: a coroutine that awaits traps and returns a value.
ThreadBody: TypeAlias = Coroutine[Op, Any, Any]


@types.coroutine
def trap(op: Op) -> Generator[Op, Any, Any]:
    """Suspend the running thread with ``op`` pending; return what the driver sends back
    (nothing, at once, when the running execution's fast lane takes ``op``: see
    :class:`Running`)."""
    lane = running.lane
    if lane is not None and lane.go_on(op):
        return None
    return (yield op)
