"""The kernel's synchronisation primitives, as interleaving points of the engine.

This is the only module of ``kernel/`` that talks to ``explore/``. Every ``async`` function
here ends in exactly one trap (``may_sleep()``: only for a thread placed on a CPU of the
explorer's CPU model), and so does every function that returns an ``Awaitable`` (one that
is nothing but its trap, such as ``atomic_read()``, returns the trap itself: one coroutine
less per step); plain functions never yield. So in the model an ``await`` marks
exactly the places where another CPU may run in between, as a lock acquisition, a lock-free
access of shared data, a sleep or an environment choice does in the kernel. Releases
(spin_unlock, unlock_page) are not interleaving points: they only enable others.

Abstractions: spinlocks and bit locks are plain locks; interrupts are threads of their own, so
``spin_lock_irq`` is ``spin_lock``; there is no preemption inside a critical section. A sleep
on a wait queue is a WAIT that only a wake-up ends: nothing polls. A signal that interrupts
such a sleep is an environment choice the caller asks for (``k.sleep_signals``), never a
timeout.

For the explorer's CPU model (``explore/cpus.py``: threads a scenario places on one CPU,
no preemption) every wait says whether the thread sleeps there: ``lock_page()`` and
``mutex_lock()`` sleep, ``spin_lock()`` spins; a WAIT always sleeps; ``busy_retry()`` keeps
the CPU unless the kernel sleeps or calls cond_resched() between the rounds
(``sleeps=True``); ``cond_resched()`` offers the CPU; ``may_sleep()`` marks where the kernel
may sleep for a reason the model has no object for (an allocation entering reclaim).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from swaplab.explore import Execution, Lock, Op, Thread, ThreadBody, trap
from swaplab.explore.ops import (
    ACQUIRE,
    CHOICE,
    READ,
    RMW,
    SPAWN,
    SPIN,
    TRYLOCK,
    WAIT,
    WRITE,
    YIELD,
    plain_read,
    plain_write,
    running,
)
from swaplab.kernel.errno import NOARG, message
from swaplab.kernel.page_flags import PageWriteback, page_check_live

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
    "RwSemaphore",
    "ThreadBody",
    "WaitQueue",
    "WaitQueueHead",
    "atomic_read",
    "atomic_rmw",
    "atomic_set",
    "busy_retry",
    "choice",
    "cond_resched",
    "current",
    "down_read",
    "down_read_trylock",
    "down_write",
    "finish_wait",
    "io_schedule",
    "kthread_run",
    "lock_page",
    "may_sleep",
    "mutex_lock",
    "mutex_lock_uncontended",
    "mutex_unlock",
    "plain_read",
    "plain_write",
    "prepare_to_wait",
    "schedule",
    "shared_read",
    "shared_write",
    "spin_lock",
    "spin_lock_held",
    "spin_lock_uncontended",
    "spin_trylock",
    "spin_unlock",
    "trace",
    "trylock_page",
    "unlock_page",
    "up_read",
    "up_write",
    "wait_on_bit",
    "wait_on_page_locked",
    "wait_on_page_writeback",
    "wake_up_all",
    "wake_up_bit",
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


def trace(k: Kernel, function: str, detail: str = "", a: object = NOARG, b: object = NOARG,
          c: object = NOARG, d: object = NOARG) -> None:
    """Log a trace event (``swap_duplicate()``, ``swap_entry_free() == 1``) for the
    running thread; free when tracing is off. With arguments (up to four) the detail is
    ``detail.format(...)``, built only when tracing is on. Fixed arguments rather than
    ``*args``, which compiled code would pack into a tuple at every call."""
    if k.execution.trace is not None:
        k.execution.log(function, message(detail, a, b, c, d))


async def spin_lock(k: Kernel, lock: Lock, site: str = "") -> None:
    """Take ``lock``, spinning while another thread holds it (the thread keeps its CPU)."""
    await trap(Op(ACQUIRE, lock, site))
    lock.take(_tid(k))


async def _sleeping_lock(k: Kernel, lock: Lock, site: str) -> None:
    """Take the sleeping lock ``lock`` (a mutex, a page lock): a thread that must wait
    sleeps, giving up its CPU."""
    await trap(Op(ACQUIRE, lock, site, sleeps=True))
    lock.take(_tid(k))


async def spin_trylock(k: Kernel, lock: Lock, site: str = "") -> bool:
    """Take ``lock`` if it is free; never waits."""
    await trap(Op(TRYLOCK, lock, site))
    if lock.holder is not None:
        return False
    lock.take(_tid(k))
    return True


def spin_unlock(lock: Lock) -> None:
    lock.release()


def spin_lock_uncontended(lock: Lock) -> None:
    """spin_lock() in plain code, for a lock whose every section runs inside one step
    (res_counter->lock, lock_page_cgroup(), zone->lru_lock taken by a plain function): the
    step's record has the lock effects, so the explorer orders the sections. Nobody holds
    such a lock across an interleaving point, so it is free here; a held one is a model
    error, not a kernel bug."""
    if lock.holder is not None:
        raise RuntimeError(f"{lock.name} held across an interleaving point by {lock.holder}")
    record = running.record
    lock.take(record.tid if record is not None else -1)


async def lock_page(k: Kernel, page: Page, site: str = "lock_page") -> None:
    """mm/filemap.c: __lock_page(): sleep until PG_locked is ours (a freed page is a
    use-after-free, page_check_live())."""
    page_check_live(page, f"{site}()")
    await _sleeping_lock(k, page.lock, site)


async def trylock_page(k: Kernel, page: Page, site: str = "trylock_page") -> bool:
    """include/linux/pagemap.h: trylock_page() (a freed page: see lock_page())."""
    page_check_live(page, f"{site}()")
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


async def mutex_lock(k: Kernel, lock: Lock, site: str = "mutex_lock") -> None:
    """kernel/mutex.c: mutex_lock(): sleep until ``lock`` is ours (an interleaving point:
    another CPU runs while this one waits for or takes the mutex)."""
    await _sleeping_lock(k, lock, site)


def mutex_lock_uncontended(k: Kernel, lock: Lock) -> None:
    """kernel/mutex.c: mutex_lock() in a plain function whose whole section runs inside
    one step (cgroup_mkdir(), cgroup_attach_task()): taken in plain code, so the step's
    record has the lock effects and the explorer orders the sections. No thread holds such
    a mutex across an interleaving point, so it is always free here; a held one is a
    model error."""
    spin_lock_uncontended(lock)


class spin_lock_held:
    """spin_lock() ... spin_unlock() around a section of plain code inside one step (see
    spin_lock_uncontended()): ``with spin_lock_held(lock): ...``. A class rather than a
    generator-based context manager: it is entered on every page allocation and free."""

    __slots__ = ("lock",)

    def __init__(self, lock: Lock) -> None:
        self.lock = lock

    def __enter__(self) -> None:
        spin_lock_uncontended(self.lock)

    def __exit__(self, typ: object, value: object, tb: object) -> None:
        spin_unlock(self.lock)


def mutex_unlock(lock: Lock) -> None:
    """kernel/mutex.c: mutex_unlock()."""
    lock.release()


class RwSemaphore:
    """struct rw_semaphore (include/linux/rwsem.h): a sleeping reader/writer lock.

    ``readers`` counts the readers inside, ``writer`` is the writer's thread. A down
    sleeps (a WAIT: the thread is not runnable) until it can get in: a reader while no
    writer holds it, a writer while nobody does. What the kernel's wait queue adds (a
    waiting writer holds back new readers) is abstracted: readers may pass a waiting
    writer. Two engine locks make every down and up an effect the explorer sees and
    pairs: ``wlock`` is held by the writer (readers wait on it), ``busy`` while anybody is
    inside (the writer waits on it; the first reader takes it, the last releases it, the
    others touch it).
    """

    __slots__ = ("busy", "name", "readers", "wlock", "writer")

    def __init__(self, name: str) -> None:
        self.name = name
        self.readers = 0
        self.writer: int | None = None
        self.busy = Lock(name)
        self.wlock = Lock(f"{name} (writer)")

    def __repr__(self) -> str:
        return f"RwSemaphore({self.name!r}, readers={self.readers}, writer={self.writer})"


def _enter_read(k: Kernel, sem: RwSemaphore) -> None:
    sem.readers += 1
    if sem.readers == 1:
        sem.busy.take(_tid(k))
    else:
        plain_write(sem.busy)


async def down_read(k: Kernel, sem: RwSemaphore, site: str = "down_read") -> None:
    """kernel/rwsem.c: down_read(): sleep while a writer holds ``sem``."""
    wlock = sem.wlock
    await trap(Op(WAIT, wlock, site, cond=lambda: wlock.holder is None))
    _enter_read(k, sem)


async def down_read_trylock(k: Kernel, sem: RwSemaphore,
                            site: str = "down_read_trylock") -> bool:
    """kernel/rwsem.c: down_read_trylock(): get in as a reader without sleeping, or not."""
    await trap(Op(READ, sem.wlock, site))
    if sem.writer is not None:
        return False
    _enter_read(k, sem)
    return True


def up_read(sem: RwSemaphore) -> None:
    sem.readers -= 1
    if sem.readers == 0:
        sem.busy.release()
    else:
        plain_write(sem.busy)


async def down_write(k: Kernel, sem: RwSemaphore, site: str = "down_write") -> None:
    """kernel/rwsem.c: down_write(): sleep while anybody holds ``sem``."""
    busy = sem.busy
    await trap(Op(WAIT, busy, site, cond=lambda: busy.holder is None))
    busy.take(_tid(k))
    sem.wlock.take(_tid(k))
    sem.writer = _tid(k)


def up_write(sem: RwSemaphore) -> None:
    sem.writer = None
    sem.wlock.release()
    sem.busy.release()


class WaitQueueHead:
    """wait_queue_head_t (include/linux/wait.h): the entries of the threads sleeping on a
    queue, in the order they queued. The head is the object the explorer sees: queueing,
    dequeueing and waking are plain writes of it, a sleep is a WAIT on it."""

    __slots__ = ("name", "task_list")

    def __init__(self, name: str) -> None:
        self.name = name
        self.task_list: list[WaitQueue] = []

    @property
    def stable_key(self) -> str:
        """The explorer's name of this queue in every run (ops.stable_name)."""
        return self.name

    def __repr__(self) -> str:
        return f"WaitQueueHead({self.name!r}, {len(self.task_list)} waiting)"


class WaitQueue:
    """wait_queue_t as DEFINE_WAIT() makes it (kernel/wait.c: autoremove_wake_function):
    a wake-up takes the entry off its queue and makes its thread runnable (``woken``)."""

    __slots__ = ("queued", "woken")

    def __init__(self) -> None:
        self.queued = False
        self.woken = True  # TASK_RUNNING until prepare_to_wait()


def prepare_to_wait(q: WaitQueueHead, wait: WaitQueue) -> None:
    """kernel/wait.c: prepare_to_wait(): queue ``wait`` (once) and set the sleeping state
    (TASK_INTERRUPTIBLE or TASK_UNINTERRUPTIBLE: which one is the caller's signal choice)."""
    if not wait.queued:
        q.task_list.append(wait)
        wait.queued = True
    wait.woken = False
    plain_write(q)


def finish_wait(q: WaitQueueHead, wait: WaitQueue) -> None:
    """kernel/wait.c: finish_wait(): TASK_RUNNING again, and off the queue if a wake-up
    did not already take the entry off."""
    wait.woken = True
    if wait.queued:
        q.task_list.remove(wait)
        wait.queued = False
    plain_write(q)


def wake_up_all(q: WaitQueueHead) -> None:
    """include/linux/wait.h: wake_up_all(): every sleeper of ``q`` becomes runnable and
    leaves the queue (autoremove_wake_function). Waking an empty queue does nothing, but
    it still reads the queue: a plain write to the explorer."""
    for wait in q.task_list:
        wait.woken = True
        wait.queued = False
    q.task_list.clear()
    plain_write(q)


async def schedule(k: Kernel, q: WaitQueueHead, wait: WaitQueue, site: str) -> bool:
    """kernel/sched.c: schedule() after prepare_to_wait(q, wait): sleep until a wake-up of
    ``q`` makes the thread runnable; returns at once if one already did. Returns True when
    a signal interrupted the sleep instead: only when ``k.sleep_signals`` is set, as an
    environment choice made when the thread goes to sleep (0: no signal comes)."""
    if k.sleep_signals and not wait.woken and await choice(k, 2, f"{site}: signal"):
        return True
    await trap(Op(WAIT, q, site, cond=lambda: wait.woken))
    return False


async def wait_on_page_locked(k: Kernel, page: Page, site: str = "wait_on_page_locked") -> None:
    lock = page.lock
    await trap(Op(WAIT, lock, site, cond=lambda: lock.holder is None))


async def wait_on_page_writeback(
    k: Kernel, page: Page, site: str = "wait_on_page_writeback"
) -> None:
    await trap(Op(WAIT, page, site, cond=lambda: not PageWriteback(page)))


async def wait_on_bit(k: Kernel, word: object, test_bit: Callable[[], bool],
                      site: str = "wait_on_bit") -> None:
    """include/linux/wait.h: wait_on_bit(word, bit, action, TASK_UNINTERRUPTIBLE): return at
    once if the bit (``test_bit()``) is clear, else sleep until a wake_up_bit() after it
    was cleared. ``word`` is the object holding the bit."""
    await trap(Op(WAIT, word, site, cond=lambda: not test_bit()))


def wake_up_bit(word: object) -> None:
    """kernel/wait.c: wake_up_bit() after the caller cleared a bit of ``word``: its
    wait_on_bit() sleepers run again (a WAIT re-tests its condition; to the explorer the
    wake-up is a write of ``word``)."""
    plain_write(word)


def io_schedule(k: Kernel, obj: object, done: Callable[[], bool], site: str) -> Awaitable[None]:
    """kernel/sched.c: io_schedule(): sleep for I/O (a request, a bio) until ``done()``
    holds; the block layer's side writes ``obj`` when it ends the sleep."""
    return trap(Op(WAIT, obj, site, cond=done))


def shared_read(k: Kernel, obj: object, site: str) -> Awaitable[None]:
    """A lock-free read of ``obj`` (e.g. PageSwapCache() outside the page lock)."""
    return trap(Op(READ, obj, site))


def shared_write(k: Kernel, obj: object, site: str) -> Awaitable[None]:
    """A lock-free write of ``obj``."""
    return trap(Op(WRITE, obj, site))


def atomic_read(k: Kernel, obj: object, site: str) -> Awaitable[None]:
    return trap(Op(READ, obj, site))


def atomic_set(k: Kernel, obj: object, site: str) -> Awaitable[None]:
    return trap(Op(WRITE, obj, site))


def atomic_rmw(k: Kernel, obj: object, site: str) -> Awaitable[None]:
    """An atomic read-modify-write of ``obj`` (atomic_add_negative(), test_and_set_bit())."""
    return trap(Op(RMW, obj, site))


async def choice(k: Kernel, n: int, site: str) -> int:
    """An environment choice (allocation failure, ...): 0 is the normal path."""
    return int(await trap(Op(CHOICE, None, site, n=n)))


def cond_resched(k: Kernel, site: str = "cond_resched") -> Awaitable[None]:
    """include/linux/sched.h: cond_resched(): a scheduling point (no shared object)."""
    return trap(Op(YIELD, None, site))


async def busy_retry(k: Kernel, site: str, sleeps: bool = False) -> None:
    """The next round of a loop that waits for another thread's progress: a ``continue``
    after -EEXIST, a poll with congestion_wait() or schedule_timeout(). Not a kernel
    function: the point where the looping thread, on a CPU of its own, has nothing to do
    until someone else moves (under the explorer's fair policy it runs only when no other
    thread can). ``sleeps``: the kernel sleeps or calls cond_resched() between the rounds,
    so on a shared CPU the thread gives it up; without it the loop is a busy loop that
    keeps its CPU (a soft lockup if the thread it waits for can run only there)."""
    await trap(Op(SPIN, None, site, sleeps=sleeps))


async def may_sleep(k: Kernel, site: str, why: str = "may sleep") -> None:
    """A point where the kernel may sleep for a reason the model has no object for (a
    GFP_KERNEL allocation that may enter reclaim): the thread gives up its CPU and is
    runnable again at once (the sleep may also not happen). Only a thread placed on a CPU
    of the explorer's CPU model traps here; on a CPU of its own the sleep changes nothing
    another thread could see (no shared access, no CPU to hand over), so there is no
    interleaving point and the schedules of such runs stay what they were. ``why`` goes
    to the trace."""
    running = k.execution.current
    if running is not None and running.cpu is not None:
        trace(k, f"{site}()", why)
        await trap(Op(YIELD, None, site))


async def kthread_run(k: Kernel, name: str, body: ThreadBody, ctx: Any = None) -> Thread:
    """Start ``body`` as a thread of its own (I/O completions, kswapd, workqueues)."""
    thread: Thread = await trap(Op(SPAWN, payload=(name, body, ctx)))
    return thread

