"""The CPU model: threads that share a CPU of a non-preemptive kernel, and soft lockups.

By default every thread runs on a CPU of its own (the scheduling policies of
:mod:`swaplab.explore.policy` alone decide who may run). A model may place threads on a
numbered CPU (``Execution.spawn(..., cpu=N)``, or ``new_instance(..., cpus=...)`` in a
scenario); threads placed on the same number share that CPU, and the kernel does not
preempt (CONFIG_PREEMPT=n). While a run goes on, a shared CPU has at most one *owner*:

- a thread takes its CPU when it runs a step while the CPU has no owner;
- it keeps the CPU until it *offers* it: its pending operation is a YIELD (cond_resched(),
  a sleep the model has no object for), a SPIN whose rounds sleep or call cond_resched()
  (``Op.sleeps``), or a WAIT or sleeping ACQUIRE (mutex, page lock; ``Op.sleeps``) that
  cannot go on now, so the thread sleeps; or it is done (its operation returned to user
  space). A blocked ACQUIRE without ``sleeps`` is a spinlock: the thread spins on its CPU.
  A SPIN without ``sleeps`` is a busy loop: the thread keeps its CPU;
- meanwhile the other threads placed on that CPU cannot run, whatever their own operation.

An offered CPU goes to whichever of its threads a strategy runs next (the one that offered
it included: a cond_resched() with nobody else runnable, a sleep that ended at once).

**Soft lockup.** A CPU's owner busy-waits without giving up the CPU while another thread
placed on that CPU could run (is *starved*), and the wait cannot end:

- it spins on a spinlock that a starved thread holds; or
- it is at its busy loop's next round (a SPIN without ``sleeps``), it has just run a whole
  round (from its previous SPIN to this one) holding the CPU, with no other thread taking
  a step meanwhile, and every thread that may run now is at a SPIN. Nothing but
  busy-wait rounds can run any more, and a round that fails leaves the state as it found
  it (the loops the model marks with SPIN poll: a lookup, a claim that fails), so the
  owner's next rounds fail like the last one, for ever, and the starved thread never runs
  again on that CPU.

That is the kernel's soft lockup (its watchdog thread is such a starved thread), a finding
of its own decided from the schedule, never from a step limit.

What it abstracts: one run queue per CPU with no migration (a thread stays on the CPU it
was placed on), no priorities, no time slices, no interrupts (threads started while a run
goes on, I/O completions, run on CPUs of their own, as an interrupt on any CPU would).
"""

from __future__ import annotations

from collections.abc import Sequence

from swaplab.explore.execution import Thread
from swaplab.explore.ops import Op, OpKind

#: The property of a soft-lockup finding.
SOFT_LOCKUP = "soft-lockup"


def offers_cpu(op: Op | None) -> bool:
    """Whether a thread whose pending operation is ``op`` (None: done) gives up its CPU."""
    if op is None:
        return True
    kind = op.kind
    if kind is OpKind.YIELD:
        return True
    if kind is OpKind.SPIN:
        return op.sleeps
    return (op.sleeps or kind is OpKind.WAIT) and not op.enabled()


def spins_on_cpu(op: Op | None) -> bool:
    """Whether a thread whose pending operation is ``op`` busy-waits holding its CPU: a
    busy loop's next round, or a spinlock it cannot take now."""
    if op is None or op.sleeps:
        return False
    return op.kind is OpKind.SPIN or (op.kind is OpKind.ACQUIRE and not op.enabled())


class Cpus:
    """The shared CPUs of one run: the threads placed on each and its owner."""

    __slots__ = ("owner", "placed", "rounds")

    def __init__(self, placed: dict[int, list[Thread]]) -> None:
        self.placed = placed
        self.owner: dict[int, Thread | None] = {cpu: None for cpu in placed}
        #: per thread that ran a SPIN: whether no other thread took a step since
        self.rounds: dict[int, bool] = {}

    @staticmethod
    def of(threads: Sequence[Thread]) -> Cpus | None:
        """The CPU model of a run whose threads are ``threads`` (placed when the run starts);
        None when no two of them share a CPU (the default: nothing to model)."""
        placed: dict[int, list[Thread]] = {}
        for thread in threads:
            if thread.cpu is not None:
                placed.setdefault(thread.cpu, []).append(thread)
        shared = {cpu: ts for cpu, ts in sorted(placed.items()) if len(ts) > 1}
        return Cpus(shared) if shared else None

    def may_run(self, thread: Thread) -> bool:
        """Whether ``thread``'s CPU lets it run now (free, or its own)."""
        cpu = thread.cpu
        if cpu is None or cpu not in self.owner:
            return True
        owner = self.owner[cpu]
        return owner is None or owner is thread

    def available(self, threads: list[Thread]) -> list[Thread]:
        """The threads of ``threads`` whose CPU lets them run now."""
        return [t for t in threads if self.may_run(t)]

    def stepped(self, thread: Thread, op: Op) -> None:
        """After ``thread`` ran ``op``: it owns its CPU unless it offers it now; an owner
        whose sleeping wait this step disabled (a page lock taken from under it) sleeps.
        A SPIN starts a round of its thread; a step of any other thread, or the thread
        offering its CPU, spoils the rounds under way."""
        rounds = self.rounds
        tid = thread.tid
        for other in rounds:
            if other != tid:
                rounds[other] = False
        if op.kind is OpKind.SPIN:
            rounds[tid] = True
        if offers_cpu(thread.pending) and tid in rounds:
            rounds[tid] = False
        owner = self.owner
        if thread.cpu is not None and thread.cpu in owner:
            owner[thread.cpu] = thread
        for cpu, holder in owner.items():
            if holder is not None and offers_cpu(holder.pending):
                owner[cpu] = None

    def lockup(self, schedulable: list[Thread]) -> tuple[int, Thread, list[Thread]] | None:
        """A soft lockup now (see the module's docstring): the CPU, its spinning owner and
        the threads it starves; None when there is none. ``schedulable``: the threads the
        scheduling policy lets run now."""
        for cpu, threads in self.placed.items():
            holder = self.owner[cpu]
            if holder is None or not spins_on_cpu(holder.pending):
                continue
            starved = [t for t in threads if t is not holder and t.enabled()]
            if starved and self._for_ever(holder, starved, schedulable):
                return cpu, holder, starved
        return None

    def _for_ever(self, holder: Thread, starved: list[Thread],
                  schedulable: list[Thread]) -> bool:
        """Whether ``holder``'s busy-wait cannot end (it starves ``starved``)."""
        op = holder.pending
        assert op is not None
        if op.kind is OpKind.ACQUIRE:
            lock_holder = getattr(op.obj, "holder", None)
            return any(t.tid == lock_holder for t in starved)
        return self.rounds.get(holder.tid, False) and all(
            t.pending is not None and t.pending.kind is OpKind.SPIN for t in schedulable)
