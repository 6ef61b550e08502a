"""A lockset check of a model (Eraser, Savage et al., SOSP 1997), for the model's own code.

The explorer's dependency relation knows a step's operation, its lock effects and the
objects it declared with :func:`~swaplab.explore.ops.plain_write` / ``plain_read``. A field
of a shared object written in plain code under none of these is invisible to it: two such
writes by different threads look independent, and dpor may skip one of their orders. This
check finds them. While it is on, every attribute write to an object of the watched classes
inside a step is checked: the write is covered when the step declared the object (its
operation's object, or a plain write or read of it), or when a lock is held at every write
of that field by more than one thread (the field's *lockset*, refined as in Eraser: a field
written by one thread only is *exclusive* and needs nothing; from the second thread's write
on, the candidate set is the locks held then, intersected at every later write). A write
that is neither covered nor locked is a violation, reported once per field.

Outside steps (a model's set-up, a driver's own bookkeeping) nothing is checked. The check
replaces ``__setattr__`` of the watched classes and wraps :meth:`Lock.take` /
:meth:`Lock.release` while it is on, and restores them when it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from swaplab.explore.ops import Lock, StepRecord, among, running

#: A field's state: the thread that wrote it alone so far (exclusive), or None and the
#: candidate locks (shared).
_State = tuple[int | None, frozenset[int]]


class LocksetChecker:
    """Watches attribute writes of ``classes``; see the module docstring."""

    def __init__(self, classes: Sequence[type]) -> None:
        self.classes = list(classes)
        self.held: dict[int, list[Lock]] = {}
        self.states: dict[tuple[int, str], _State] = {}
        self.keep: dict[int, object] = {}  # ids stay unique while the check runs
        self.violations: list[str] = []
        self.writes = 0
        self._reported: set[tuple[str, str]] = set()

    def _locks_of(self, tid: int) -> frozenset[int]:
        return frozenset(id(lock) for lock in self.held.get(tid, ()))

    def check(self, obj: object, name: str) -> None:
        """An attribute write of ``obj.name`` by the running step."""
        record = running.record
        if record is None:
            return
        self.writes += 1
        if _declared(record, obj):
            return
        key = (id(obj), name)
        self.keep[id(obj)] = obj
        tid = record.tid
        state = self.states.get(key)
        if state is None:
            self.states[key] = (tid, frozenset())
            return
        owner, candidates = state
        if owner == tid:
            return
        held = self._locks_of(tid)
        candidates = held if owner is not None else candidates & held
        self.states[key] = (None, candidates)
        if not candidates:
            self._report(obj, name, record, tid)

    def _report(self, obj: object, name: str, record: StepRecord, tid: int) -> None:
        what = (type(obj).__name__, name)
        if what in self._reported:
            return
        self._reported.add(what)
        site = record.op.site if record.op is not None else "?"
        self.violations.append(
            f"{what[0]}.{name} written by thread {tid} at {site!r}: no lock held at every "
            "write by two threads, and the step did not declare the object")

    def took(self, lock: Lock, tid: int) -> None:
        self.held.setdefault(tid, []).append(lock)

    def released(self, lock: Lock) -> None:
        for locks in self.held.values():
            for i, held in enumerate(locks):
                if held is lock:
                    del locks[i]
                    return


def _declared(record: StepRecord, obj: object) -> bool:
    op = record.op
    if op is not None and op.obj is obj:
        return True
    return among(obj, record.writes)


@contextmanager
def lockset_check(classes: Sequence[type]) -> Iterator[LocksetChecker]:
    """Check attribute writes of ``classes`` while the block runs."""
    checker = LocksetChecker(classes)
    saved: list[tuple[type, Any]] = [(cls, cls.__dict__.get("__setattr__")) for cls in classes]
    take, release = Lock.take, Lock.release

    def checked_take(self: Lock, tid: int) -> None:
        if self.holder is not None:
            checker.released(self)
        take(self, tid)
        checker.took(self, tid)

    def checked_release(self: Lock) -> None:
        release(self)
        checker.released(self)

    for cls in classes:
        cls.__setattr__ = _setattr_for(cls, checker)  # type: ignore[assignment]
    Lock.take = checked_take  # type: ignore[method-assign]
    Lock.release = checked_release  # type: ignore[method-assign]
    audit, running.audit = running.audit, True  # every step recorded, whatever its driver
    try:
        yield checker
    finally:
        running.audit = audit
        Lock.take, Lock.release = take, release  # type: ignore[method-assign]
        for cls, original in saved:
            if original is None:
                del cls.__setattr__
            else:
                cls.__setattr__ = original  # type: ignore[method-assign]


def _setattr_for(cls: type, checker: LocksetChecker) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if not isinstance(getattr(cls, name, None), property):  # its setter writes a field
            checker.check(self, name)
        object.__setattr__(self, name, value)

    return __setattr__
