"""The strategies by name: the one place that lists them.

To add a strategy, write its module (a :class:`~swaplab.explore.runner.Driver` and a
:class:`~swaplab.explore.strategy.Strategy`) and add it here; the explorer, the parallel
search, the CLI's ``--strategy`` choices and the reports take it from this dict.
"""

from __future__ import annotations

from swaplab.explore.dfs import Dfs
from swaplab.explore.dpor import Dpor
from swaplab.explore.pct import Pct
from swaplab.explore.random_walk import RandomWalk
from swaplab.explore.stateful import DfsCached
from swaplab.explore.strategy import Strategy

STRATEGIES: dict[str, Strategy] = {
    s.name: s for s in (Dpor(), Dfs(), DfsCached(), RandomWalk(), Pct())}


def resumable_names() -> str:
    """The strategies a checkpoint can resume, as "dpor and dfs"."""
    return " and ".join(name for name, s in STRATEGIES.items() if s.resumable)


def get_strategy(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r} (one of {', '.join(STRATEGIES)})")
    return STRATEGIES[name]
