"""kernel/timer.c: schedule_timeout() and mm/backing-dev.c: congestion_wait() (2.6.30,
2.6.31): the model's timed sleeps on the ``jiffies`` clock (kernel.py).

A timed sleep is the interleaving point of the wait (``cond_resched``, or ``busy_retry``
for a loop that polls for another thread's progress) with its deadline in ``k.timers``
(by thread id) meanwhile; when the thread runs again, ``jiffies`` is at least the
deadline: the model has no timer interrupt, so a sleeper whose deadline has not come
when it is scheduled again moves the clock there itself. Sleeps of several threads thus
overlap, and a driver that keeps time (the workload simulator) sleeps the thread in its
own clock until the deadline first, so the clock never jumps. Abstractions: no wake-up
before the timeout (the model's block queues are never congested, so no
clear_bdi_congested() ends a congestion_wait early; no signal ends an uninterruptible
sleep); the return values (the time left) are 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel.sync import busy_retry, cond_resched

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel

__all__ = ["congestion_wait", "schedule_timeout", "schedule_timeout_uninterruptible",
           "time_before"]


def time_before(a: int, b: int) -> bool:
    """include/linux/jiffies.h: time_before() (the model's jiffies never wrap)."""
    return a - b < 0


def _tid(k: Kernel) -> int:
    running = k.execution.current
    return running.tid if running is not None else -1


async def schedule_timeout(k: Kernel, timeout: int, site: str, poll: bool = False) -> None:
    """kernel/timer.c: schedule_timeout() with the task state already set (the caller's
    TASK_UNINTERRUPTIBLE): sleep until ``jiffies`` reaches ``jiffies + timeout``.
    ``poll``: the sleep is a round of a loop waiting for another thread's progress (a
    busy_retry for the explorer's fair policy)."""
    expire = k.jiffies + timeout
    tid = _tid(k)
    k.timers[tid] = expire
    try:
        if poll:
            await busy_retry(k, site, sleeps=True)
        else:
            await cond_resched(k, site)
    finally:
        k.timers.pop(tid, None)
    if time_before(k.jiffies, expire):
        k.jiffies = expire


async def schedule_timeout_uninterruptible(k: Kernel, timeout: int, site: str) -> None:
    """kernel/timer.c: schedule_timeout_uninterruptible()."""
    await schedule_timeout(k, timeout, site)


async def congestion_wait(k: Kernel, timeout: int, site: str, poll: bool = False) -> None:
    """mm/backing-dev.c: congestion_wait() ([30] WRITE, [31] BLK_RW_ASYNC): sleep until a
    congested queue becomes uncongested or ``timeout`` passes; never congested in the
    model, so the whole timeout (io_schedule_timeout)."""
    await schedule_timeout(k, timeout, site, poll)
