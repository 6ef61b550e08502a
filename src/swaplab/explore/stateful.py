"""Depth-first search with state caching (``--strategy dfs-cached``).

The tree of :mod:`swaplab.explore.dfs`, with one more test at every new node: the run's
whole state is encoded (:func:`swaplab.explore.canonical.encode_run`: the model's objects,
every thread's frames and pending operation) and looked up in the search's
:class:`~swaplab.explore.visited.Visited` store. A state whose subtree was already
explored, with at least the budget left now, ends the run (counted as pruned): every
schedule from it was run from there before, so every state below it, with its invariants,
end checks and deadlocks, was seen.

What a state must carry besides the encoding (docs/explorer.md, "State caching"):

- **The budget left.** With a preemption bound, what is reachable below a state depends
  on the preemptions left and on which thread ran last (whether the next switch is a
  preemption): the key holds the last thread, the store the preemptions left. The step
  limit cuts runs: the store holds the steps left too. A visit with more of either
  explores it again.
- **States on the current path are never pruned.** A state met again on its own run is a
  cycle (a busy-wait): the run goes on, so the livelock test of the run loop sees it, as
  in the stateless search.
- **Opaque states are never pruned**: a state with a value the encoder cannot name
  canonically counts as unique (:class:`~swaplab.explore.canonical.Opaque`).

A pruned state's subtree may hold a smaller witness of a property than the path that
explored it first: the findings are the same properties, their schedules may differ from
plain dfs's (shrinking then works on them as on any other).
"""

from __future__ import annotations

from swaplab.explore.canonical import Opaque, encode_run
from swaplab.explore.dfs import DfsDriver, dfs
from swaplab.explore.execution import Thread
from swaplab.explore.runner import Run
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Search
from swaplab.explore.strategy import WHOLE, Share, split_tree
from swaplab.explore.visited import Visited, digest

#: The preemptions left of an unbounded search (more than any bound).
UNBOUNDED = 1 << 30


class CachedDfsDriver(DfsDriver):
    """The dfs driver that ends a run at a state already explored."""

    def __init__(self, search: Search, bound: int | None, visited: Visited,
                 depth_limit: int | None = None) -> None:
        super().__init__(search, bound, depth_limit)
        self.visited = visited

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        if self.depth_limit is not None and len(self.stack) >= self.depth_limit:
            return super().choose(run, enabled)
        key = self.key(run)
        if key is not None and not any(node.key == key for node in self.stack):
            steps = len(run.decisions)
            limit = self.search.options.max_steps or run.instance.max_steps
            left = UNBOUNDED if self.bound is None else self.bound - run.preemptions
            if self.visited.seen(key, left, limit - steps):
                return None  # explored from here before: the run ends (pruned)
        decision = super().choose(run, enabled)
        if decision is not None:
            self.stack[-1].key = key
        return decision

    def key(self, run: Run) -> int | None:
        """The digest of the run's state (with the last thread under a preemption bound);
        None when the state has no canonical encoding."""
        instance = run.instance
        try:
            data = encode_run(instance.state, run.threads, instance.rules)
        except Opaque:
            self.search.stats.opaque_states += 1
            return None
        if self.bound is not None:
            last = run.last.tid if run.last is not None else -1
            data += f"|last={last}".encode()
        return digest(data)


def cached_dfs(search: Search, bound: int | None, share: Share = WHOLE,
               depth_limit: int | None = None) -> list[list[Decision]]:
    """dfs over ``share`` with the search's visited-state store (made on first use)."""
    if search.visited is None:
        search.visited = Visited()
    driver = CachedDfsDriver(search, bound, search.visited, depth_limit)
    try:
        return dfs(search, bound, share.prefix, depth_limit, driver)
    finally:
        search.count_visited()


class DfsCached:
    """The strategy: dfs that prunes states already explored (split like dfs; each worker
    has a store of its own)."""

    name = "dfs-cached"
    exhaustive = True
    resumable = False  # its store of visited states is not saved

    def run(self, search: Search, bound: int | None, share: Share = WHOLE) -> None:
        cached_dfs(search, bound, share)

    def split(self, search: Search, bound: int | None, parts: int) -> list[Share]:
        def expand(top: Search, share: Share, depth: int) -> list[Share]:
            return [Share(tuple(leaf)) for leaf in cached_dfs(top, bound, share, depth)]

        return split_tree(search, bound, parts, expand)
