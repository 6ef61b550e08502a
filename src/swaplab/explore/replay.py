"""Replay: re-run one schedule exactly, or follow it leniently (shrinking).

:func:`replay` raises :class:`ReplayError` when the schedule asks for a thread that cannot
run. :class:`GuidedDriver` instead takes the next wish that can run and otherwise goes on
without preemption, so an edited schedule always yields some run.
"""

from __future__ import annotations

from collections.abc import Sequence

from swaplab.explore.execution import Thread
from swaplab.explore.model import Model
from swaplab.explore.ops import OpKind
from swaplab.explore.runner import Driver, Run, RunResult, execute, run_on
from swaplab.explore.schedule import NO_CHOICE, Decision


def replay(model: Model, decisions: Sequence[Decision], *, trace: bool = True,
           max_steps: int | None = None, finish: bool = False,
           policy: str = "fair") -> RunResult:
    """Run ``model`` along ``decisions``; with ``finish``, go on without preemption after."""
    driver = GuidedDriver(()) if finish else None
    return execute(model, decisions, driver, trace=trace, max_steps=max_steps, policy=policy)


class GuidedDriver(Driver):
    """Follow a list of wished decisions where possible; run to completion after it."""

    def __init__(self, wishes: Sequence[Decision]) -> None:
        self.wishes = list(wishes)
        self.next = 0
        self.preemption_points: list[int] = []

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        decision = self._wish(run, enabled)
        if decision is None:
            decision = run_on(run, enabled)
        if run.is_preemption(run.threads[decision[0]]):
            self.preemption_points.append(len(run.decisions))
        return decision

    def _wish(self, run: Run, enabled: list[Thread]) -> Decision | None:
        wishes = self.wishes
        while self.next < len(wishes):
            tid, value = wishes[self.next]
            self.next += 1
            for thread in enabled:
                if thread.tid == tid:
                    pending = thread.pending
                    assert pending is not None
                    if pending.kind is OpKind.CHOICE:
                        return tid, min(max(value, 0), pending.n - 1)
                    return tid, NO_CHOICE
        return None
