"""The strategy interface: how a search chooses its runs, and how it splits over workers.

A :class:`Strategy` runs a :class:`Share` of a search: the whole of it in one process, or a
worker's part. *Exhaustive* strategies (dfs, dpor) explore a tree: they honour the
preemption bound (iterative bounding) and split into subtrees (:func:`split_tree`). The
others sample runs, run ``i`` from its own seed: they split into ranges of run indices, so
the runs are exactly those of one process. The registry is :mod:`swaplab.explore.strategies`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from swaplab.explore.balance import Estimator, balance
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Search

#: The deepest a tree is expanded to find enough subtrees for the workers.
MAX_SPLIT_DEPTH = 12


@dataclass(frozen=True, slots=True)
class Share:
    """A part of a search. A tree strategy's: the subtree below ``prefix``, with dpor's
    sleep set there (``sleep``: dpor.Asleep items). A sampling strategy's: runs ``start``
    .. ``stop - 1`` (``stop`` None: as many as the search's budget), ``steps`` PCT's
    ``k`` (None: measured first). ``budget``: a worker's execution budget (None: none)."""

    prefix: tuple[Decision, ...] = ()
    sleep: tuple[tuple[Decision, tuple[object, ...]], ...] = ()
    start: int = 0
    stop: int | None = None
    steps: int | None = None
    budget: int | None = None


#: The whole search, run in one process.
WHOLE = Share()


class Strategy(Protocol):
    """A search strategy: its name, whether it is exhaustive, whether a checkpoint can
    save and resume it (its driver attaches its frontier:
    :func:`swaplab.explore.checkpoint.attach_frontier`), how it runs and splits."""

    name: str
    exhaustive: bool
    resumable: bool

    def run(self, search: Search, bound: int | None, share: Share) -> None:
        """Run ``share`` of the search within preemption ``bound`` (exhaustive only)."""

    def split(self, search: Search, bound: int | None, parts: int) -> list[Share]:
        """The search cut into shares for ``parts`` workers (at least that many when it
        can); what the cutting itself ran is counted in ``search``."""


def bounds(strategy: Strategy, preemption_bound: int | None) -> list[int | None]:
    """The preemption bounds to try in turn: 0, 1, ..., K for an exhaustive strategy."""
    if strategy.exhaustive and preemption_bound is not None:
        return list(range(preemption_bound + 1))
    return [None]


#: A tree strategy's expansion: ``expand(top, share, depth)`` explores ``share`` ``depth``
#: levels deep with the search ``top`` (exhaustively there) and returns the subtrees below.
Expand = Callable[[Search, Share, int], list[Share]]


def split_tree(search: Search, bound: int | None, parts: int, expand: Expand) -> list[Share]:
    """A tree's top expanded exhaustively, deeper and deeper, until there are at least
    ``4 * parts`` subtrees or the tree ends; then the largest subtrees expanded further
    until each holds about one of ``parts`` or less (:func:`~swaplab.explore.balance.balance`),
    largest first. What the cutting ran is counted in ``search``. Each share gets an equal
    part of the execution budget."""
    opts = search.options
    shares: list[Share] = []
    for depth in range(1, MAX_SPLIT_DEPTH + 1):
        top = Search(search.model, replace(opts, max_executions=None, shrink=False))
        shares = expand(top, WHOLE, depth)
        if len(shares) >= 4 * parts or not shares or depth == MAX_SPLIT_DEPTH:
            break
    estimate = Estimator(top, bound)
    shares = balance(shares, parts, lambda share: estimate(share.prefix),
                     lambda share: expand(top, share, 1), top.stop_requested)
    search.merge(top.outcome())
    if opts.max_executions is None:
        return shares
    budget = max(1, -(-opts.max_executions // max(1, len(shares))))
    return [replace(share, budget=budget) for share in shares]


def split_runs(total: int, parts: int, steps: int | None = None) -> list[Share]:
    """Runs ``0 .. total - 1`` cut into about ``4 * parts`` ranges."""
    chunk = max(1, -(-total // (4 * parts)))
    return [Share(start=start, stop=min(start + chunk, total), steps=steps)
            for start in range(0, total, chunk)]
