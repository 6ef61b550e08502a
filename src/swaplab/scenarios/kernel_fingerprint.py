"""How the kernel model's state is encoded for state caching (explore/canonical.py).

The explorer's canonical encoder walks the whole machine from the scenario's state: every
page (flags, ``_count``, ``_mapcount``, ``private``, ``mapping``, its ``page_cgroup``), the
swap areas (``swap_map``, counters, locks), the swap cache tree, ``swap_cgroup``, every
memcg (``res``/``memsw`` counters, LRU lists, references), the zone's LRU lists, every
task's ``mm`` and ptes, every lock with its holder and every wait queue. Objects are named
by where they are first reached (so a page is known by its place in ``k.pages``, a memcg
by ``k.css_ids``), never by ``id()``. This module holds what the kernel adds to that walk:

- :data:`RULES` ``skip``: fields that only count what happened and that no kernel path
  reads to decide anything (``swap_cache_info``: the sysrq-m statistics of
  mm/swap_state.c; ``pgscan_global``/``pgscan_memcg``: /proc/vmstat's pgscan).
- :data:`RULES` ``unordered``: dicts keyed by a number that kernel code only looks up and
  never walks in order (``k.pages`` by pfn, ``swap_cgroup`` by entry, ``timers`` by
  thread, ``memcg_oom_kills`` by css id), encoded sorted by key, so the order pages were
  allocated in does not split equal states. ``k.tasks`` keeps its order
  (``try_to_unuse()`` and the OOM killer walk it).

``jiffies`` is kept as it is (timed sleeps compare deadlines with it).
"""

from __future__ import annotations

from swaplab.explore.canonical import Rules
from swaplab.kernel.kernel import Kernel

RULES = Rules(
    skip={Kernel: frozenset({"swap_cache_info", "pgscan_global", "pgscan_memcg"})},
    unordered={Kernel: frozenset({"pages", "swap_cgroup", "timers", "memcg_oom_kills"})},
)
