"""The virtual-time driver: kernel threads scheduled on CPUs against a virtual clock.

Like :func:`~swaplab.explore.execution.run_to_completion` it only calls
:meth:`Execution.step` and reads ``Thread.pending``, so the kernel model's coroutines run
unchanged. What it adds:

- a clock in nanoseconds and an event heap of ``(time, seq, thread)``: a thread whose
  pending operation is a :class:`Sleep` (a YIELD whose payload is the sleep) leaves the CPU
  and becomes runnable again at ``now + ns``; a swap I/O completion thread
  (``end_swap_bio_read``/``end_swap_bio_write``, spawned by page_io) starts only after the
  read or write latency;
- ``cpus`` CPUs: up to that many runnable threads are "on a CPU" at once and each step is
  taken by one of them, picked by a seeded random choice, so their steps interleave; a
  thread leaves its CPU when it blocks (its pending operation is not enabled, after its
  own step or after another CPU's: a lock taken meanwhile), sleeps, or reaches a YIELD
  (cond_resched), and a free CPU takes a random runnable thread;
- CPU time: each step costs ``step_ns`` of its CPU, so the clock advances by
  ``step_ns / (threads on CPUs)`` per step;
- time for the model: ``clock(now)`` (if set) is called before a step when the clock
  reached the time it asked to be called again (it returns that time: the next jiffy), so
  the simulated machine's clock (jiffies) follows the virtual one; ``timed_sleep(thread)`` (if
  set) says how long a thread that just reached a YIELD or busy-wait round sleeps there
  (a timed sleep of the kernel, such as congestion_wait()), or None: such a thread leaves
  its CPU and becomes runnable again that much later (not parkable: a kernel path);
- quiescence for checks: :meth:`VirtualDriver.quiesce` parks every thread that reaches a
  parkable sleep (a user-space point of a workload process, kswapd's idle sleep) and runs
  the rest (kernel paths in progress, I/O completions) until nothing else is left.

The same seed gives the same run: every choice comes from one ``random.Random(seed)`` and
the threads are kept in lists in spawn order.
"""

from __future__ import annotations

import heapq
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

from swaplab.explore import Deadlock, Execution, Op, OpKind, StepLimit, Thread, trap
from swaplab.explore.execution import DriverLane
from swaplab.explore.ops import YIELD, YIELDS

__all__ = ["Latencies", "Sleep", "VirtualDriver", "sleep"]

NS_PER_S = 1_000_000_000


class Sleep:
    """The payload of a YIELD that sleeps ``ns`` nanoseconds of virtual time.

    ``parkable`` marks a point where the thread holds nothing of the kernel (a user task
    between system calls, a daemon's idle wait): :meth:`VirtualDriver.quiesce` stops such
    threads there."""

    __slots__ = ("ns", "parkable")

    def __init__(self, ns: int, parkable: bool = True) -> None:
        self.ns = max(0, int(ns))
        self.parkable = parkable

    def __repr__(self) -> str:
        return f"Sleep({self.ns}ns)"


async def sleep(ns: int, parkable: bool = True, site: str = "sleep") -> None:
    """Sleep ``ns`` nanoseconds of virtual time (only under :class:`VirtualDriver`)."""
    await trap(Op(OpKind.YIELD, None, site, payload=Sleep(ns, parkable)))


@dataclass(frozen=True, slots=True)
class Latencies:
    """Virtual-time costs: one kernel step on a CPU, one swap read, one swap write."""

    step_ns: int = 1_000
    swap_read_ns: int = 2_000_000
    swap_write_ns: int = 2_000_000


def _below(getrandbits: Callable[[int], int], n: int) -> int:
    """``rng.randrange(n)`` for ``n`` > 0 (``getrandbits`` is the generator's bound
    method, kept by the driver: no method lookup per draw), drawn as CPython draws it
    (``Random._randbelow_with_getrandbits``: ``n.bit_length()`` bits, again while the draw
    is ``n`` or more), without randrange's argument checks: the same numbers from the same
    generator state (tests/workload/test_driver.py compares the two)."""
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


def _sleep_of(thread: Thread) -> Sleep | None:
    op = thread.pending
    if op is not None and op.kind is YIELD and isinstance(op.payload, Sleep):
        return op.payload
    return None


class VirtualDriver(DriverLane):
    """Runs the threads of ``execution`` in virtual time; see the module docstring."""

    def __init__(self, execution: Execution, seed: int, cpus: int = 1,
                 latencies: Latencies | None = None, max_steps: int | None = None) -> None:
        if cpus < 1:
            raise ValueError(f"cpus must be >= 1, not {cpus}")
        self.execution = execution
        self.rng = random.Random(seed)
        self.getrandbits = self.rng.getrandbits
        self.cpus = cpus
        self.lat = latencies or Latencies()
        self.step_ns = self.lat.step_ns
        self.max_steps = max_steps
        #: the fast lane takes no step past this many (the last one is step_once()'s)
        self.lane_steps = max_steps - 1 if max_steps is not None else sys.maxsize
        #: the clock at which the fast lane stops, for the step running (see _lane_end())
        self.lane_end = -1
        self.now = 0
        self.steps = 0
        self.heap: list[tuple[int, int, Thread]] = []
        self.seq = 0
        self.ready: list[Thread] = []
        self.oncpu: list[Thread] = []
        self.parked: list[tuple[int, Thread]] = []
        self.draining = False
        self.known = len(execution.threads)
        self.io_started = 0
        #: the ``until`` of the run_until() going on (-1 outside it): the fast lane's end
        self.fast_until = -1
        #: the thread the shared-CPU lane picked for the next step, and the clock then
        #: (:meth:`_go_on_shared`); None when _pick() is to choose
        self.picked: Thread | None = None
        self.picked_now = 0
        execution.lane = self
        execution.records = False  # no step's record is read here
        #: where the model asks run_until() to return after the step running (a sample
        #: due): a request appended to it ends the run at the next step boundary
        self.requests: list[str] = []
        #: called with the clock before a step once it reached ``next_clock``; returns the
        #: next such time (its clock changes only then)
        self.clock: Callable[[int], int] | None = None
        self.next_clock = 0
        #: the nanoseconds a thread pending at a YIELD or SPIN sleeps there, or None
        self.timed_sleep: Callable[[Thread], int | None] | None = None
        for thread in execution.threads:
            if not thread.done:
                self.ready.append(thread)

    # -- bookkeeping ----------------------------------------------------------------------

    def _push(self, when: int, thread: Thread) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, thread))

    def _adopt_new_threads(self) -> None:
        threads = self.execution.threads
        for thread in threads[self.known:]:
            name = thread.name
            if name.startswith("end_swap_bio_read"):
                self.io_started += 1
                self._push(self.now + self.lat.swap_read_ns, thread)
            elif name.startswith("end_swap_bio_write"):
                self.io_started += 1
                self._push(self.now + self.lat.swap_write_ns, thread)
            else:
                self.ready.append(thread)
        self.known = len(threads)

    def _leave(self, thread: Thread) -> None:
        if thread in self.oncpu:
            self.oncpu.remove(thread)
        if thread in self.ready:
            self.ready.remove(thread)

    def _after(self, thread: Thread) -> None:
        """Place ``thread`` after its step: done, asleep, off its CPU, or still on it."""
        if self.known != len(self.execution.threads):
            self._adopt_new_threads()
        if thread.done:
            self._leave(thread)
            self.execution.retire(thread)
            return
        pending = thread.pending
        assert pending is not None
        if pending.kind not in YIELDS:
            if not pending.enabled():  # blocked
                self.oncpu.remove(thread)
            return
        slp = _sleep_of(thread)
        if slp is not None:
            self._leave(thread)
            self._push(self.now + slp.ns, thread)
            return
        if self.timed_sleep is not None:
            ns = self.timed_sleep(thread)
            if ns is not None:
                self._leave(thread)
                self._push(self.now + ns, thread)
                return
        self.oncpu.remove(thread)  # cond_resched, a busy-wait round

    def _wake(self) -> None:
        heap = self.heap
        while heap and heap[0][0] <= self.now:
            when, _, thread = heapq.heappop(heap)
            slp = _sleep_of(thread)
            if self.draining and slp is not None and slp.parkable:
                self.parked.append((when, thread))
            else:
                self.ready.append(thread)

    def _fill_cpus(self) -> None:
        """Before a pick: a thread on a CPU whose pending operation another CPU's step
        disabled (the lock it is about to take was taken meanwhile) blocks, leaving its
        CPU (it stays ready); then each free CPU takes a ready thread that can run, drawn
        at random. Every thread on a CPU is ready, so with as many of each there is none
        to draw from."""
        oncpu = self.oncpu
        if len(oncpu) > 1:
            for thread in oncpu:
                if not thread.enabled():
                    self.oncpu = oncpu = [t for t in oncpu if t.enabled()]
                    break
        free = self.cpus - len(oncpu)
        ready = self.ready
        if free <= 0 or len(ready) == len(oncpu):
            return
        cands = [t for t in ready if t not in oncpu and t.enabled()]
        while free and cands:
            oncpu.append(cands.pop(_below(self.getrandbits, len(cands))))
            free -= 1

    def _pick(self, until: int | None) -> Thread | None:
        """The thread to step next, advancing the clock over idle time; None when nothing
        can run before ``until`` (or, draining, when only parked work is left)."""
        picked = self.picked
        if picked is not None:  # chosen by the shared-CPU lane, as this would have
            self.picked = None
            return picked
        while True:
            heap = self.heap
            if heap and heap[0][0] <= self.now:
                self._wake()
            self._fill_cpus()
            if self.oncpu:
                return self._draw()
            if self.draining:
                self._park_sleepers()
            if not self.heap:
                if self.ready:
                    raise Deadlock("no thread can run: "
                                   + ", ".join(repr(t) for t in self.ready))
                return None
            when = self.heap[0][0]
            if until is not None and when > until:
                self.now = max(self.now, until)
                return None
            self.now = max(self.now, when)

    def _draw(self) -> Thread:
        """The thread on a CPU that takes the next step: the only one, or one drawn."""
        oncpu = self.oncpu
        return oncpu[0] if len(oncpu) == 1 else oncpu[_below(self.getrandbits, len(oncpu))]

    def _park_sleepers(self) -> None:
        """Draining: move every parkable sleeper from the heap to ``parked``."""
        keep: list[tuple[int, int, Thread]] = []
        for entry in self.heap:
            slp = _sleep_of(entry[2])
            if slp is not None and slp.parkable:
                self.parked.append((entry[0], entry[2]))
            else:
                keep.append(entry)
        if len(keep) != len(self.heap):
            heapq.heapify(keep)
            self.heap = keep

    # -- running --------------------------------------------------------------------------

    def step_once(self, thread: Thread) -> None:
        max_steps = self.max_steps
        if max_steps is not None and self.steps >= max_steps:
            raise StepLimit(f"more than {max_steps} steps")
        clock = self.clock
        if clock is not None and self.now >= self.next_clock:
            self.next_clock = clock(self.now)
        self.lane_end = self._lane_end(thread)
        self.execution.step(thread)
        self.steps += 1
        if self.picked is not None:  # the lane counted the CPUs before it filled them
            self.now = self.picked_now
        else:
            self.now += self.step_ns // max(1, len(self.oncpu))
        self._after(thread)

    def _lane_end(self, thread: Thread) -> int:
        """The clock at which the fast lane stops taking ``thread``'s operations in the step
        about to run: the end of the run_until() going on, the clock's next tick, the first
        sleeper's wake-up (nothing of these changes inside a step); with one CPU, -1
        (never) when ``thread`` is not alone on it."""
        if self.cpus == 1:
            oncpu = self.oncpu
            if len(oncpu) != 1 or oncpu[0] is not thread:
                return -1
        end = self.fast_until
        if self.clock is not None and self.next_clock < end:
            end = self.next_clock
        heap = self.heap
        if heap and heap[0][0] < end:
            end = heap[0][0]
        return end

    def takes(self, thread: Thread, op: Op) -> bool:
        """The fast lane (:class:`~swaplab.explore.execution.Execution`'s ``lane``):
        ``thread`` reached ``op``, enabled and no scheduling point; when run_until() would
        step it again at once (it is alone on the CPUs, nothing to wake or sample, no new
        thread, the clock neither at ``until`` nor at its next tick: :meth:`_lane_end`; no
        other ready thread for a free CPU; the step limit not reached), count the step that
        ends here, as step_once() does, and say so. With more than one CPU see
        :meth:`_go_on_shared`."""
        if self.cpus > 1:
            return self._go_on_shared(thread, op)
        now = self.now + self.step_ns
        if (now >= self.lane_end or self.requests or self.steps >= self.lane_steps
                or self.known != len(self.execution.threads)):
            return False
        self.steps += 1
        self.now = now
        return True

    def _go_on_shared(self, thread: Thread, op: Op) -> bool:
        """The fast lane with more than one CPU: ``thread`` reached ``op``, enabled and no
        scheduling point. When nothing but a pick stands between this step and the next
        (no new thread, no sample due, the clock short of :meth:`_lane_end`, the step
        limit not reached), make that pick here exactly as _pick() would, with the
        same random draws: the blocked leave their CPUs, free CPUs are filled, one thread
        on a CPU is drawn. If it is ``thread``, the step that ends here is counted and the
        thread goes on without being suspended; if not, the draw is kept for _pick()."""
        now = self.now + self.step_ns // max(1, len(self.oncpu))
        if (now >= self.lane_end or self.requests or self.steps >= self.lane_steps
                or self.known != len(self.execution.threads)):
            return False
        thread.pending = op  # as it will be when the step ends, for the CPUs' tests
        self._fill_cpus()
        picked = self._draw()
        if picked is not thread:
            self.picked, self.picked_now = picked, now
            return False
        self.steps += 1
        self.now = now
        return True

    def _keeps_cpu(self, thread: Thread, now: int) -> bool:
        """Whether :meth:`_pick` at ``now`` would pick ``thread`` again without a choice:
        it is alone on the CPUs, no sleeper is due (nothing to wake) and no other ready
        thread can take a free CPU."""
        oncpu = self.oncpu
        if len(oncpu) != 1 or oncpu[0] is not thread or (self.heap and self.heap[0][0] <= now):
            return False
        return self.cpus == 1 or not self._rival(thread)

    def _rival(self, thread: Thread) -> bool:
        """Whether another ready thread could take a free CPU (asked with more than one)."""
        return any(t is not thread and t.enabled() for t in self.ready)

    def run_until(self, until: int) -> None:
        """Run threads until the clock reaches ``until`` (or nothing is left to run, or
        the model appends a request). While one thread keeps the only CPU, it runs on
        without a scheduling decision."""
        requests = self.requests
        self.fast_until = until
        try:
            while True:
                thread = self._pick(until)
                if thread is None:
                    return
                while True:
                    self.step_once(thread)
                    if requests:
                        return
                    if self.now >= until:
                        return
                    if not self._keeps_cpu(thread, self.now):
                        break
        finally:
            self.fast_until = -1

    def quiesce(self, max_steps: int = 1_000_000) -> bool:
        """Park threads at parkable sleeps and run the others until none is left; True when
        the machine is then quiescent (no thread half-way through a kernel path). Threads
        stay parked until :meth:`resume`."""
        self.draining = True
        for thread in list(self.ready):
            slp = _sleep_of(thread)
            if slp is not None and slp.parkable:
                self.ready.remove(thread)
                self.parked.append((self.now, thread))
        budget = self.steps + max_steps
        while self.steps < budget:
            try:
                nxt = self._pick(None)
            except Deadlock:
                return False
            if nxt is None:
                return True
            self.step_once(nxt)
        return False

    def resume(self) -> None:
        """Undo :meth:`quiesce`: parked threads sleep on until their wake-up time."""
        self.draining = False
        for when, thread in self.parked:
            self._push(max(when, self.now), thread)
        self.parked = []

    def live(self) -> int:
        return len(self.ready) + len(self.heap) + len(self.parked)
