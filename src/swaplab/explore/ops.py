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
from collections.abc import Callable, Coroutine, Generator
from enum import IntEnum
from typing import Any, TypeAlias


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


class Lock:
    """A lock as the engine sees it: held or free, and by whom (for deadlock reports).

    Kernel page locks are released by a thread other than the one that took them (the I/O
    completion unlocks a page locked by the reader), so a release does not check the owner.
    """

    __slots__ = ("holder", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.holder: int | None = None

    @property
    def held(self) -> bool:
        return self.holder is not None

    def __repr__(self) -> str:
        return f"Lock({self.name!r}, holder={self.holder})"


class Op:
    """One pending operation of a thread.

    ``obj`` is the shared object touched (a :class:`Lock` for ACQUIRE/TRYLOCK); ``site`` the
    code that asked; ``n`` the number of alternatives of a CHOICE; ``cond`` the condition a
    WAIT sleeps on; ``payload`` what a SPAWN starts (a ``(name, coroutine, ctx)`` triple).
    """

    __slots__ = ("cond", "kind", "n", "obj", "payload", "site")

    def __init__(
        self,
        kind: OpKind,
        obj: object = None,
        site: str = "",
        n: int = 0,
        cond: Callable[[], bool] | None = None,
        payload: object = None,
    ) -> None:
        self.kind = kind
        self.obj = obj
        self.site = site
        self.n = n
        self.cond = cond
        self.payload = payload

    def enabled(self) -> bool:
        """Whether the driver may run this operation now."""
        kind = self.kind
        if kind is OpKind.ACQUIRE:
            return self.obj.holder is None  # type: ignore[attr-defined]
        if kind is OpKind.WAIT:
            return self.cond() if self.cond is not None else True
        return True

    def conflicts(self, other: Op) -> bool:
        """Whether running the two operations in either order can differ.

        Two operations on the same object conflict unless both only read it. Threads that
        have nothing in common (YIELD, SPAWN) never conflict.
        """
        if self.obj is None or self.obj is not other.obj:
            return False
        return not (self.kind is OpKind.READ and other.kind is OpKind.READ)

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
    """Suspend the running thread with ``op`` pending; return what the driver sends back."""
    return (yield op)
