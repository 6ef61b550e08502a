"""A user's operation as one explorer thread: the call runs on a greenlet of its own, and
every kernel path it enters is handed to the explorer thread that owns it.

``System`` methods are plain functions that run their kernel paths to completion
(``System._spawn_and_run``). In a race they must instead run *interleaved*, one step at a
time, under the explorer. An :class:`OpCall` runs the user's callable (``task.exit``,
``lambda: t.touch(m)``, a write to a memory.* file, ...) on a greenlet (a call stack of
its own, switched to explicitly: no OS thread, no scheduler); each time the callable
enters the kernel, it switches back to the owning explorer thread (:func:`op_thread`) with
the coroutine of that kernel path, which the explorer thread awaits step by step before
switching back with the result. The code between two kernel entries (argument checks, the
file layer) runs inside the explorer step that ends the previous entry.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from greenlet import GreenletExit, getcurrent, greenlet

from swaplab.kernel.sync import Current

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import TaskStruct

#: What the operation's greenlet hands to its explorer thread: ("enter", body, task),
#: ("done", value, None) or ("failed", exception, None).
Request = tuple[str, Any, Any]


class _Worker(greenlet):
    """The greenlet of one operation; ``call`` finds its :class:`OpCall`."""

    call: OpCall


def racing() -> OpCall | None:
    """The operation the running code belongs to in a race, or None outside a race."""
    running = getcurrent()
    return running.call if isinstance(running, _Worker) else None


class OpCall:
    """One operation of a race and its greenlet."""

    __slots__ = ("_worker", "fn", "label")

    def __init__(self, label: str, fn: Callable[[], object]) -> None:
        self.label = label
        self.fn = fn
        self._worker = _Worker(self._main)
        self._worker.call = self

    # -- on the operation's greenlet -----------------------------------------------------

    def _main(self) -> Request:
        try:
            value = self.fn()  # nothing else on this frame's stack: state caching reads it
        except Exception as err:  # a refused syscall: the operation's outcome
            return ("failed", err, None)
        return ("done", value, None)

    def enter(self, body: Coroutine[Any, Any, Any], task: TaskStruct | None) -> Any:
        """Hand a kernel path to the explorer thread; its result, back on this greenlet."""
        explorer = self._worker.parent
        assert explorer is not None
        kind, value = explorer.switch(("enter", body, task))
        if kind == "raise":
            raise value
        return value

    # -- on the explorer thread ----------------------------------------------------------

    def start(self) -> Request:
        request: Request = self._worker.switch()
        return request

    def resume(self, kind: str, value: Any) -> Request:
        request: Request = self._worker.switch((kind, value))
        return request

    def cancel(self) -> None:
        """Unwind the callable if its run was abandoned midway (GreenletExit)."""
        if self._worker:  # started and not finished
            self._worker.throw(GreenletExit)


async def op_thread(k: Kernel, call: OpCall, cpu: int) -> Any:
    """The explorer thread of ``call``: run each kernel path it enters, as ``current`` =
    the task that entered it, on CPU ``cpu``. Its result is the callable's return value,
    or the exception a refused operation raised (an outcome, not a failure)."""
    try:
        kind, value, task = call.start()
        while kind == "enter":
            running = k.execution.current
            assert running is not None
            running.ctx = Current(task, cpu)
            try:
                result = await value
            except Exception as err:  # a BUG_ON or a deadlock: the run's failure
                call.resume("raise", err)
                raise
            kind, value, task = call.resume("value", result)
        return value
    finally:
        call.cancel()


__all__ = ["OpCall", "op_thread", "racing"]
