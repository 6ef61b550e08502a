"""Shrinking a failure: fewer preemptions first, then fewer steps.

Rules (tried in this order, first improvement wins, repeated until none helps or the budget
is spent); every candidate is run with :class:`GuidedDriver`, so an edit that no longer fits
still gives a run, and a candidate is accepted only when it breaks the *same* property (same
key: property name, and exception type) with fewer preemptions, or as many and fewer steps:

1. at a preemption, pull the preempted thread's next block of steps forward;
2. at a preemption, drop the rest of the schedule (run on without preemption);
3. delete one decision (from the end backwards).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from swaplab.explore.model import Model
from swaplab.explore.replay import GuidedDriver
from swaplab.explore.runner import Failure, execute
from swaplab.explore.schedule import Decision


def _run(model: Model, wishes: list[Decision], max_steps: int | None, key: str, policy: str
         ) -> tuple[Failure | None, list[int]]:
    driver = GuidedDriver(wishes)
    result = execute(model, (), driver, max_steps=max_steps, policy=policy)
    return result.violation(key), driver.preemption_points


def _candidates(decisions: list[Decision], points: list[int]) -> Iterator[list[Decision]]:
    for i in points:
        previous = decisions[i - 1][0]
        j = next((m for m in range(i, len(decisions)) if decisions[m][0] == previous), None)
        if j is not None:
            k = j
            while k < len(decisions) and decisions[k][0] == previous:
                k += 1
            yield decisions[:i] + decisions[j:k] + decisions[i:j] + decisions[k:]
        yield decisions[:i]
    for i in range(len(decisions) - 1, -1, -1):
        yield decisions[:i] + decisions[i + 1:]


def _smaller(a: Failure, b: Failure) -> bool:
    return (a.preemptions, a.steps) < (b.preemptions, b.steps)


def shrink(model: Model, failure: Failure, max_steps: int | None = None,
           budget: int = 2000, policy: str = "fair", deadline: float | None = None
           ) -> tuple[Failure, int]:
    """The smallest failure of the same kind found from ``failure``, and the runs spent;
    it stops early (with the best so far) at ``deadline`` (a ``time.monotonic()`` time):
    then the runs spent are returned negated."""
    best = failure
    key = failure.key
    _, points = _run(model, best.decisions, max_steps, key, policy)
    runs = 1
    improved = True
    while improved and runs < budget:
        improved = False
        for candidate in _candidates(best.decisions, points):
            if runs >= budget:
                break
            if deadline is not None and time.monotonic() >= deadline:
                return best, -runs
            found, found_points = _run(model, candidate, max_steps, key, policy)
            runs += 1
            if found is not None and _smaller(found, best):
                best, points, improved = found, found_points, True
                break
    return best, runs
