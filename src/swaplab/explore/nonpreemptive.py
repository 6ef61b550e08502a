"""The non-preemptive policy: which thread runs when nobody chooses.

Three places run threads without choosing among them: :func:`run_to_completion` (a
scenario's setup, every operation of :class:`~swaplab.system.System`), the explorer's
run-on after a schedule's end (replay's finish, shrinking's guided runs:
:func:`swaplab.explore.runner.run_on`) and PCT's step probe, which is one such run. They
share this rule:

- the thread that ran last goes on while it can run;
- when it gives way at a YIELD or a SPIN (cond_resched(), a busy-wait's next round), the
  next thread after it in id order runs, wrapping round: every other thread gets a turn
  before it comes back (round robin);
- when it cannot go on (it is blocked, done, or not among the threads allowed to run), or
  nothing ran yet, the lowest id runs.

The one parameter, ``at_yield``, says whether the running thread gives way at a YIELD or a
SPIN, and that genuinely differs:

- run_to_completion gives way there (``at_yield=True``): a sequential run has nobody else
  to let the others in, and kernel code that loops with cond_resched() until another
  thread acts (kernel/cgroup.c: cgroup_rmdir() waiting for the css references, a
  busy-wait's retry) would otherwise never let that thread run.
- the explorer's run-on does not (``at_yield=False``): its busy-waits are already moved
  behind the other threads by the scheduling policy (:func:`swaplab.explore.policy.fair`
  leaves a spinner out while another thread can run), and every other switch is a
  decision of the schedule it follows. Giving way at a YIELD there would change the
  run-on of the recorded schedules: the finish of a replay, the candidates shrinking tries
  (so findings' schedules) and PCT's step count ``k`` (so its change points and findings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from swaplab.explore.ops import YIELDS, among

if TYPE_CHECKING:
    from swaplab.explore.execution import Thread


@dataclass(frozen=True, slots=True)
class NonPreemptive:
    """The rule of the module docstring; ``at_yield``: whether the running thread gives
    way at a YIELD or a SPIN."""

    at_yield: bool

    def goes_on(self, thread: Thread) -> bool:
        """Whether ``thread``, which ran last, keeps running (if it is allowed to): its
        pending operation can run and it does not give way there."""
        pending = thread.pending
        return pending is not None and pending.enabled() and not (
            self.at_yield and pending.kind in YIELDS)

    def first(self, last: Thread | None) -> int:
        """When ``last`` does not go on: the id the next thread is looked for from, in id
        order and wrapping round; after ``last`` when it gave way at a YIELD or a SPIN
        (round robin), else 0 (the lowest id)."""
        if last is None or not self.at_yield:
            return 0
        pending = last.pending
        return last.tid + 1 if pending is not None and pending.kind in YIELDS else 0

    def next(self, last: Thread | None, schedulable: Sequence[Thread]) -> Thread | None:
        """Who runs now among ``schedulable`` (the threads allowed to run, in id order),
        ``last`` being the thread that ran last; None when there is nobody."""
        if not schedulable:
            return None
        if last is not None and self.goes_on(last) and among(last, schedulable):
            return last
        start = self.first(last)
        return next((t for t in schedulable if t.tid >= start), schedulable[0])


#: run_to_completion's: the running thread gives way at a YIELD or a SPIN.
SEQUENTIAL = NonPreemptive(at_yield=True)
#: The explorer's run-on (replay's finish, shrinking, PCT's probe): it does not.
RUN_ON = NonPreemptive(at_yield=False)
