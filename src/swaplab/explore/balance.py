"""Subtrees of even size for the workers: a split refined by estimates of subtree sizes.

A tree strategy's split (:func:`~swaplab.explore.strategy.split_tree`) expands the top of
the tree to a uniform depth. Under a preemption bound the subtrees it leaves are far from
even: the branch where the first thread has run on unpreempted holds most schedules
(type1 on 2.6.31, dfs within 3 preemptions: one of 45 subtrees held 27,810 of 36,392
executions, so a second worker finished long before the first).

:func:`balance` estimates each subtree's size with Knuth's estimator (D. E. Knuth,
"Estimating the efficiency of backtrack programs", Math. Comp. 29, 1975): a random run
below the subtree's prefix, within the bound, multiplies the number of decisions it could
have taken at each step; the mean over a few runs is an unbiased estimate of the bounded
tree's runs (dfs's executions; for dpor, which runs fewer, a proxy that orders the
subtrees alike). The largest subtree is expanded one level further by the strategy itself
(so its sleep sets and counts stay the strategy's) until none holds more than its part
(one of the ``parts`` asked for, four per worker) of the estimated total, or
:data:`MAX_EXPANSIONS` expansions were made. The subtrees are then handed out largest
first. The probes are the split's cost, like starting the workers: they are not counted
as the search's executions (a dfs split runs exactly the executions of one process), and
what they break is not kept (every run they take is in a subtree the strategy explores).
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import TypeVar

from swaplab.explore.execution import Thread
from swaplab.explore.runner import Driver, Run, decisions_of, execute, ordered
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Search

#: Random runs per subtree for its estimate.
PROBES = 4
#: Expansions of the largest subtree at most (each costs its children's probes).
MAX_EXPANSIONS = 48

S = TypeVar("S")


class ProbeDriver(Driver):
    """A random run within ``bound`` preemptions; ``size`` is the product of the numbers
    of decisions it could take (Knuth's estimate of the subtree's runs)."""

    def __init__(self, rng: Random, bound: int | None) -> None:
        self.rng = rng
        self.bound = bound
        self.size = 1.0

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        allowed = self.bound is None or run.preemptions < self.bound
        options = [d for t in ordered(run, enabled) if allowed or not run.is_preemption(t)
                   for d in decisions_of(t)]
        self.size *= len(options)
        return options[self.rng.randrange(len(options))]


class Estimator:
    """Estimates subtree sizes of ``search``'s model from ``PROBES`` runs each, seeded by a
    running count (the same split gives the same estimates)."""

    def __init__(self, search: Search, bound: int | None) -> None:
        self.search = search
        self.bound = bound
        self.probes = 0

    def __call__(self, prefix: tuple[Decision, ...]) -> float:
        options = self.search.options
        total = 0.0
        for _ in range(PROBES):
            driver = ProbeDriver(Random(self.probes), self.bound)
            self.probes += 1
            execute(self.search.model, prefix, driver, max_steps=options.max_steps,
                    policy=options.policy)
            total += driver.size
        return total / PROBES


def balance(shares: list[S], parts: int, size: Callable[[S], float],
            expand: Callable[[S], list[S]], stopped: Callable[[], bool]) -> list[S]:
    """``shares`` with the largest expanded (``expand``: its children, the runs that end
    above them counted by the caller) until none is above one of ``parts`` of the
    estimated total (``size``) or the command is ``stopped``; largest first."""
    sizes = [size(share) for share in shares]
    for _ in range(MAX_EXPANSIONS):
        if not sizes or stopped():
            break
        largest = max(range(len(sizes)), key=sizes.__getitem__)
        if sizes[largest] <= sum(sizes) / parts:
            break
        children = expand(shares[largest])
        shares[largest:largest + 1] = children
        sizes[largest:largest + 1] = [size(child) for child in children]
    order = sorted(range(len(shares)), key=lambda i: -sizes[i])
    return [shares[i] for i in order]
