"""Scheduling policies: which of the enabled threads a strategy may run next.

A policy is the explorer's model of the machine the threads run on. It decides, at every
step, the *schedulable* threads among the enabled ones; strategies branch only over those,
so a verdict speaks only of the schedules the policy allows.

- ``fair`` (the default): every thread on a CPU of its own, preemptive, weakly fair. A
  thread whose pending operation is a SPIN (the next round of a busy-wait: a retry after
  -EEXIST, a poll that sleeps a tick) runs only when no other thread can: the spinner is
  moved behind the others, as loom moves a thread that yielded. A spinner on a CPU of its
  own cannot keep a runnable thread from running, so a schedule that lets it spin while the
  thread it waits for is runnable is not a schedule of the machine. Spinners run when
  every other thread is blocked or done; whether such a spin ever ends is then a question
  about the program (a livelock), not about the schedule.
- ``unfair``: every enabled thread is schedulable, spinners included. Some runs then spin
  for ever while the thread they wait for never runs; they end at the step limit, which
  makes the search incomplete and says nothing about the kernel.

What the fair policy abstracts: a busy-wait round starts only at points where no other
thread can run, so its interleavings with another thread's progress are those of the
rounds before it blocked (the first attempt included, which any order may interleave).
"""

from __future__ import annotations

from collections.abc import Callable

from swaplab.explore.execution import Thread
from swaplab.explore.ops import OpKind

#: A policy: from a run's threads, the ones a strategy may run next.
Policy = Callable[[list[Thread]], list[Thread]]


def fair(threads: list[Thread]) -> list[Thread]:
    """The enabled threads that are not spinning, or, when there are none, the spinners."""
    runnable: list[Thread] = []
    spinners: list[Thread] = []
    for thread in threads:
        pending = thread.pending
        if pending is None or not pending.enabled():
            continue
        if pending.kind is OpKind.SPIN:
            spinners.append(thread)
        else:
            runnable.append(thread)
    return runnable or spinners


def unfair(threads: list[Thread]) -> list[Thread]:
    """Every enabled thread."""
    return [t for t in threads if t.pending is not None and t.pending.enabled()]


POLICIES: dict[str, Policy] = {"fair": fair, "unfair": unfair}


def spinning_only(schedulable: list[Thread]) -> bool:
    """Whether every schedulable thread is busy-waiting (nobody else can progress)."""
    return bool(schedulable) and all(
        t.pending is not None and t.pending.kind is OpKind.SPIN for t in schedulable)


def get_policy(name: str) -> Policy:
    if name not in POLICIES:
        raise ValueError(f"unknown scheduling policy {name!r} (one of {', '.join(POLICIES)})")
    return POLICIES[name]
