"""The kernel's synchronisation primitives, as interleaving points of the engine.

This is the only module of ``kernel/`` that talks to ``explore/``. Every ``async`` function
here ends in exactly one trap; plain functions never yield. So in the model an ``await`` marks
exactly the places where another CPU may run in between, as a lock acquisition, a lock-free
access of shared data, a sleep or an environment choice does in the kernel. Releases
(spin_unlock, unlock_page) are not interleaving points: they only enable others.

Abstractions: spinlocks and bit locks are plain locks; interrupts are threads of their own, so
``spin_lock_irq`` is ``spin_lock``; there is no preemption inside a critical section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from swaplab.explore import Execution, Lock, Op, OpKind, Thread, ThreadBody, trap
from swaplab.explore.ops import plain_write

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import Page, TaskStruct


@dataclass(slots=True, frozen=True)
class Current:
    """The context a kernel thread runs in: ``current`` (None for kernel threads such as
    kswapd or an I/O completion) and the CPU it runs on (per-CPU pagevecs)."""

    task: TaskStruct | None
    cpu: int = 0

__all__ = [
    "Current",
    "Execution",
    "Lock",
    "ThreadBody",
    "atomic_read",
    "atomic_rmw",
    "atomic_set",
    "busy_retry",
    "choice",
    "cond_resched",
    "current",
    "kthread_run",
    "lock_page",
    "plain_write",
    "shared_read",
    "shared_write",
    "spin_lock",
    "spin_trylock",
    "spin_unlock",
    "trace",
    "trylock_page",
    "unlock_page",
    "wait_on_page_locked",
    "wait_on_page_writeback",
]


_NOBODY = Current(None, 0)


def _tid(k: Kernel) -> int:
    running = k.execution.current
    return running.tid if running is not None else -1


def current(k: Kernel) -> Current:
    """``current``: the task and CPU the running thread was started for."""
    running = k.execution.current
    if running is None or running.ctx is None:
        return _NOBODY
    ctx: Current = running.ctx
    return ctx


def trace(k: Kernel, function: str, detail: str = "") -> None:
    """Log a trace event (``swap_duplicate()``, ``swap_entry_free() == 1``) for the
    running thread; free when tracing is off."""
    if k.execution.trace is not None:
        k.execution.log(function, detail)


async def spin_lock(k: Kernel, lock: Lock, site: str = "") -> None:
    """Take ``lock``, waiting while another thread holds it."""
    await trap(Op(OpKind.ACQUIRE, lock, site))
    lock.take(_tid(k))


async def spin_trylock(k: Kernel, lock: Lock, site: str = "") -> bool:
    """Take ``lock`` if it is free; never waits."""
    await trap(Op(OpKind.TRYLOCK, lock, site))
    if lock.holder is not None:
        return False
    lock.take(_tid(k))
    return True


def spin_unlock(lock: Lock) -> None:
    lock.release()


async def lock_page(k: Kernel, page: Page, site: str = "lock_page") -> None:
    """mm/filemap.c: __lock_page(): sleep until PG_locked is ours."""
    await spin_lock(k, page.lock, site)


async def trylock_page(k: Kernel, page: Page, site: str = "trylock_page") -> bool:
    """include/linux/pagemap.h: trylock_page()."""
    return await spin_trylock(k, page.lock, site)


def unlock_page(page: Page) -> None:
    """mm/filemap.c: unlock_page() (any thread may unlock: I/O completion does)."""
    page.lock.release()


def __set_page_locked(k: Kernel, page: Page) -> None:
    """include/linux/pagemap.h: __set_page_locked(): lock a page nobody else can see yet
    (plain code, no interleaving point; the step's lock record still has it)."""
    page.lock.take(_tid(k))


def __clear_page_locked(page: Page) -> None:
    page.lock.release()


async def wait_on_page_locked(k: Kernel, page: Page, site: str = "wait_on_page_locked") -> None:
    lock = page.lock
    await trap(Op(OpKind.WAIT, lock, site, cond=lambda: lock.holder is None))


async def wait_on_page_writeback(
    k: Kernel, page: Page, site: str = "wait_on_page_writeback"
) -> None:
    from swaplab.kernel.mm_types import PageWriteback

    await trap(Op(OpKind.WAIT, page, site, cond=lambda: not PageWriteback(page)))


async def shared_read(k: Kernel, obj: object, site: str) -> None:
    """A lock-free read of ``obj`` (e.g. PageSwapCache() outside the page lock)."""
    await trap(Op(OpKind.READ, obj, site))


async def shared_write(k: Kernel, obj: object, site: str) -> None:
    """A lock-free write of ``obj``."""
    await trap(Op(OpKind.WRITE, obj, site))


async def atomic_read(k: Kernel, obj: object, site: str) -> None:
    await trap(Op(OpKind.READ, obj, site))


async def atomic_set(k: Kernel, obj: object, site: str) -> None:
    await trap(Op(OpKind.WRITE, obj, site))


async def atomic_rmw(k: Kernel, obj: object, site: str) -> None:
    """An atomic read-modify-write of ``obj`` (atomic_add_negative(), test_and_set_bit())."""
    await trap(Op(OpKind.RMW, obj, site))


async def choice(k: Kernel, n: int, site: str) -> int:
    """An environment choice (allocation failure, ...): 0 is the normal path."""
    return int(await trap(Op(OpKind.CHOICE, None, site, n=n)))


async def cond_resched(k: Kernel, site: str = "cond_resched") -> None:
    """include/linux/sched.h: cond_resched(): a scheduling point (no shared object)."""
    await trap(Op(OpKind.YIELD, None, site))


async def busy_retry(k: Kernel, site: str) -> None:
    """The next round of a loop that waits for another thread's progress: a ``continue``
    after -EEXIST, a poll with congestion_wait() or schedule_timeout(). Not a kernel
    function: the point where the looping thread, on a CPU of its own, has nothing to do
    until someone else moves (under the explorer's fair policy it runs only when no other
    thread can)."""
    await trap(Op(OpKind.SPIN, None, site))


async def kthread_run(k: Kernel, name: str, body: ThreadBody, ctx: Any = None) -> Thread:
    """Start ``body`` as a thread of its own (I/O completions, kswapd, workqueues)."""
    thread: Thread = await trap(Op(OpKind.SPAWN, payload=(name, body, ctx)))
    return thread
