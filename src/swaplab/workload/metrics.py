"""What the simulator measures at each sample point, read from the kernel model's state.

Global metrics (the names ``swaplab simulate`` reports): ``memsw_minus_usage_empty_groups``
(bytes: memsw.usage minus usage, summed over the live non-root groups that have no task),
``cache_only_slots`` (swap slots whose only reference is the swap cache: [31] swap_map ==
SWAP_HAS_CACHE; [30] swap_map == 1 with the page in swapper_space),
``orphan_swapcache_pages`` (swap-cache pages nobody maps or references and no memcg is
charged for: invariants.orphan_swap_cache_pages), ``swap_used_slots``, ``swap_cached_pages``
(SwapCached), ``free_swap_slots``, ``unfreed_memcgs`` (removed mem_cgroups whose struct is
still referenced), ``oom_kills`` (global and memcg OOM kills so far), ``reclaim_scans``
(pages taken off the inactive lists by global and memcg reclaim so far). Per group:
``usage`` and ``memsw_usage`` (bytes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import invariants
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.mm_types import TASK_RUNNING
from swaplab.kernel.swapfile import SWAP_HAS_CACHE, SWP_USED

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel

__all__ = ["GLOBAL_METRICS", "GROUP_METRICS", "sample_metrics"]

GLOBAL_METRICS = (
    "memsw_minus_usage_empty_groups",
    "cache_only_slots",
    "orphan_swapcache_pages",
    "swap_used_slots",
    "swap_cached_pages",
    "free_swap_slots",
    "unfreed_memcgs",
    "oom_kills",
    "reclaim_scans",
)
GROUP_METRICS = ("usage", "memsw_usage")


def live_groups(k: Kernel) -> list[Cgroup]:
    """The non-root groups of the cgroup tree, parents first."""
    out: list[Cgroup] = []
    todo = list(k.cgroup_root.children.values())
    while todo:
        cgrp = todo.pop(0)
        out.append(cgrp)
        todo.extend(cgrp.children.values())
    return out


def has_tasks(cgrp: Cgroup) -> bool:
    return any(t.state == TASK_RUNNING and not t.exiting for t in cgrp.tasks)


def cache_only_slots(k: Kernel) -> int:
    """Swap slots held only by the swap cache (see the module docstring)."""
    cached = k.swapper_space.page_tree
    n = 0
    for si in k.swap_info:
        if not si.flags & SWP_USED:
            continue
        smap = si.swap_map
        if k.cfg.swap_has_cache:
            n += sum(1 for v in smap if v == SWAP_HAS_CACHE)
        else:
            base = si.type << 24
            n += sum(1 for off, v in enumerate(smap) if v == 1 and (base | off) in cached)
    return n


def unfreed_memcgs(k: Kernel) -> int:
    return sum(1 for mem in invariants.all_memcgs(k) if mem.obsolete and not mem.freed)


def sample_metrics(k: Kernel) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """(global metrics, per-group metrics by path) of the current state."""
    groups: dict[str, dict[str, int]] = {}
    empty_gap = 0
    for cgrp in live_groups(k):
        mem = cgrp.memcg
        if mem is None:
            continue
        usage, memsw = mem.res.usage, mem.memsw.usage
        groups[cgrp.path] = {"usage": usage, "memsw_usage": memsw}
        if not has_tasks(cgrp):
            empty_gap += memsw - usage
    values = {
        "memsw_minus_usage_empty_groups": empty_gap,
        "cache_only_slots": cache_only_slots(k),
        "orphan_swapcache_pages": len(invariants.orphan_swap_cache_pages(k)),
        "swap_used_slots": k.total_swap_pages - k.nr_swap_pages,
        "swap_cached_pages": len(k.swapper_space.page_tree),
        "free_swap_slots": k.nr_swap_pages,
        "unfreed_memcgs": unfreed_memcgs(k),
        "oom_kills": k.oom_kills + sum(k.memcg_oom_kills.values()),
        "reclaim_scans": k.pgscan_global + k.pgscan_memcg,
    }
    return values, groups
