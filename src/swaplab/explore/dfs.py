"""Exhaustive depth-first search over interleavings, with an optional preemption bound.

Replay-based: a stack of nodes, one per step after the base prefix; each node lists the
decisions possible there (the running thread first, so the first run has no preemption; then
the others by id; a CHOICE expands into one decision per alternative). Moving to a sibling
re-runs the model up to that node. Decisions that would exceed the preemption bound are
pruned (and the search is then not complete).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from swaplab.explore.checkpoint import attach_frontier
from swaplab.explore.execution import Thread
from swaplab.explore.runner import Driver, Run, decisions_of, ordered
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Search
from swaplab.explore.strategy import WHOLE, Share, split_tree


class _Node:
    """A step's decisions; ``key``: the digest of the state there, when a stateful search
    computed one (:mod:`swaplab.explore.stateful`)."""

    __slots__ = ("key", "options", "preempts", "taken")

    def __init__(self, options: list[Decision], preempts: list[bool]) -> None:
        self.options = options
        self.preempts = preempts
        self.taken = 0
        self.key: int | None = None


class DfsDriver(Driver):
    """Builds the nodes of new steps; the search loop backtracks."""

    def __init__(self, search: Search, bound: int | None, depth_limit: int | None = None) -> None:
        self.search = search
        self.bound = bound
        self.depth_limit = depth_limit
        self.stack: list[_Node] = []
        self.bounded = False

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        if self.depth_limit is not None and len(self.stack) >= self.depth_limit:
            run.split = True
            return None
        options: list[Decision] = []
        preempts: list[bool] = []
        allowed = self.bound is None or run.preemptions < self.bound
        for thread in ordered(run, enabled):
            preempt = run.is_preemption(thread)
            if preempt and not allowed:
                self.search.stats.pruned += 1
                self.bounded = True
                continue
            for decision in decisions_of(thread):
                options.append(decision)
                preempts.append(preempt)
        node = _Node(options, preempts)
        self.stack.append(node)
        return options[0]

    def backtrack(self) -> bool:
        """Move to the next sibling; False when the tree is exhausted."""
        stack = self.stack
        while stack:
            node = stack[-1]
            if node.taken + 1 < len(node.options):
                node.taken += 1
                return True
            stack.pop()
        return False

    def prefix(self, base: Sequence[Decision]) -> list[Decision]:
        return [*base, *(node.options[node.taken] for node in self.stack)]

    def frontier(self) -> dict[str, Any]:
        """The node stack as JSON (a checkpoint's frontier: docs/checkpoints.md)."""
        return {"strategy": "dfs", "bounded": self.bounded,
                "nodes": [{"options": [list(d) for d in node.options],
                           "preempts": node.preempts, "taken": node.taken}
                          for node in self.stack]}

    def restore(self, frontier: dict[str, Any]) -> None:
        """Go on from a :meth:`frontier`."""
        self.bounded = frontier["bounded"]
        self.stack = []
        for data in frontier["nodes"]:
            node = _Node([(d[0], d[1]) for d in data["options"]], list(data["preempts"]))
            node.taken = data["taken"]
            self.stack.append(node)


def dfs(search: Search, bound: int | None = None, base: Sequence[Decision] = (),
        depth_limit: int | None = None, driver: DfsDriver | None = None) -> list[list[Decision]]:
    """Explore every schedule extending ``base`` (within ``bound`` preemptions).

    With ``depth_limit`` the runs stop that many steps past ``base`` and the function returns
    the prefixes reached (the parallel split); otherwise it returns []. ``driver``: another
    driver of the same tree (a stateful one).
    """
    driver = driver if driver is not None else DfsDriver(search, bound, depth_limit)
    leaves: list[list[Decision]] = []
    if not base and depth_limit is None:
        attach_frontier(search, "dfs", driver)
    prefix = driver.prefix(base)
    while search.budget_left():
        search.boundary()
        result = search.run(prefix, driver)
        if result.split:
            leaves.append(list(result.decisions))
        if not driver.backtrack():
            break
        prefix = driver.prefix(base)
    if driver.bounded:
        search.stats.complete = False
    return leaves


class Dfs:
    """The strategy: every schedule, split into the subtrees of the tree's top."""

    name = "dfs"
    exhaustive = True
    resumable = True

    def run(self, search: Search, bound: int | None, share: Share = WHOLE) -> None:
        dfs(search, bound, share.prefix)

    def split(self, search: Search, bound: int | None, parts: int) -> list[Share]:
        def expand(top: Search, share: Share, depth: int) -> list[Share]:
            return [Share(tuple(leaf))
                    for leaf in dfs(top, bound, share.prefix, depth_limit=depth)]

        return split_tree(search, bound, parts, expand)
