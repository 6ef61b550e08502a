"""mm/memcontrol.c (2.6.30, 2.6.31): the memory resource controller.

STRUCTS ONLY for now; the functions are being written (see the module plan in the README).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel.mm_types import NR_LRU_LISTS
from swaplab.kernel.res_counter import ResCounter

if TYPE_CHECKING:
    from swaplab.kernel.cgroup import Cgroup
    from swaplab.kernel.page_cgroup import PageCgroup

# enum mem_cgroup_stat_index
MEM_CGROUP_STAT_CACHE = "cache"
MEM_CGROUP_STAT_RSS = "rss"
MEM_CGROUP_STAT_MAPPED_FILE = "mapped_file"  # 2.6.31
MEM_CGROUP_STAT_PGPGIN_COUNT = "pgpgin"
MEM_CGROUP_STAT_PGPGOUT_COUNT = "pgpgout"

# enum charge_type
MEM_CGROUP_CHARGE_TYPE_CACHE = 0
MEM_CGROUP_CHARGE_TYPE_MAPPED = 1
MEM_CGROUP_CHARGE_TYPE_SHMEM = 2
MEM_CGROUP_CHARGE_TYPE_FORCE = 3
MEM_CGROUP_CHARGE_TYPE_SWAPOUT = 4
MEM_CGROUP_CHARGE_TYPE_DROP = 5  # 2.6.31 (4/5)

MEM_CGROUP_RECLAIM_RETRIES = 5


class MemCgroup:
    """struct mem_cgroup with its embedded css (``css_id``, ``css_refcnt``).

    ``refcnt`` is the struct's own reference count (mem_cgroup_get/put): 1 from creation
    until the cgroup's destroy, +1 per child created under use_hierarchy, +1 per swap_cgroup
    record naming this memcg. ``lists`` are the per-zone memcg LRU lists (one zone).
    """

    __slots__ = (
        "cgroup",
        "children",
        "css_id",
        "css_refcnt",
        "freed",
        "last_oom_jiffies",
        "last_scanned_child",
        "lists",
        "memsw",
        "memsw_is_minimum",
        "obsolete",
        "parent",
        "refcnt",
        "res",
        "stat",
        "swappiness",
        "use_hierarchy",
    )

    def __init__(self, css_id: int, cgroup: Cgroup, parent: MemCgroup | None,
                 hierarchical: bool) -> None:
        self.css_id = css_id
        self.cgroup = cgroup
        self.parent = parent
        self.children: list[MemCgroup] = []
        self.css_refcnt = 1
        self.refcnt = 1
        self.res: ResCounter = ResCounter(parent.res if hierarchical and parent else None, self)
        self.memsw: ResCounter = ResCounter(
            parent.memsw if hierarchical and parent else None, self
        )
        self.lists: list[dict[PageCgroup, None]] = [{} for _ in range(NR_LRU_LISTS)]
        self.stat: dict[str, int] = {
            MEM_CGROUP_STAT_CACHE: 0,
            MEM_CGROUP_STAT_RSS: 0,
            MEM_CGROUP_STAT_MAPPED_FILE: 0,
            MEM_CGROUP_STAT_PGPGIN_COUNT: 0,
            MEM_CGROUP_STAT_PGPGOUT_COUNT: 0,
        }
        self.use_hierarchy: bool = parent.use_hierarchy if parent else False
        self.swappiness: int = parent.swappiness if parent else 60
        self.last_scanned_child = 0
        self.memsw_is_minimum = False
        self.obsolete = False
        self.freed = False
        self.last_oom_jiffies = -(10**9)

    def __repr__(self) -> str:
        return f"memcg({self.cgroup.path})"
