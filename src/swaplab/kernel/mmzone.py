"""include/linux/mmzone.h, vmstat.h: the one zone the model has, its LRU lists and counters.

Abstractions: one node with one zone (ZONE_NORMAL); no watermarks per order, only
``pages_min``/``pages_low``/``pages_high`` for kswapd; LRU lists are insertion-ordered dicts
(head = last inserted, as list_add() puts new pages at the head), so iteration is
deterministic and removal O(1). The zone's ``reclaim_stat`` (and each memcg's, the
per-zone info of memcontrol) feeds mm/vmscan.c: get_scan_ratio().
"""

from __future__ import annotations

from math import isqrt

from swaplab.kernel.errno import BUG
from swaplab.kernel.mm_types import NR_LRU_LISTS, Page
from swaplab.kernel.page_cgroup import PageCgroup
from swaplab.kernel.sync import Lock, spin_lock_held

# enum zone_stat_item (the ones the model keeps)
NR_FREE_PAGES = "nr_free_pages"
NR_ANON_PAGES = "nr_anon_pages"
NR_FILE_MAPPED = "nr_mapped"
NR_FILE_PAGES = "nr_file_pages"
NR_FILE_DIRTY = "nr_dirty"
NR_WRITEBACK = "nr_writeback"
NR_SHMEM = "nr_shmem"
NR_MLOCK = "nr_mlock"
NR_ISOLATED = "nr_isolated"


class ZoneReclaimStat:
    """include/linux/mmzone.h: struct zone_reclaim_stat, index 0 anon, 1 file (2.6.30 and
    2.6.31 alike): how many pages of each type reclaim and the LRU-add paths looked at
    recently (``recent_scanned``) and how many of those were found in use
    (``recent_rotated``). Changed under zone->lru_lock; get_scan_ratio() halves both when
    they grow past a quarter of the lists, so they are a decaying average."""

    __slots__ = ("recent_rotated", "recent_scanned")

    def __init__(self) -> None:
        self.recent_rotated = [0, 0]
        self.recent_scanned = [0, 0]

    def __repr__(self) -> str:
        return f"ZoneReclaimStat(scanned={self.recent_scanned}, rotated={self.recent_rotated})"


class Zone:
    """struct zone: LRU lists under ``lru_lock``, vm_stat counters, watermarks and the
    global reclaim's ``reclaim_stat``.

    ``node_page_cgroup`` stands for the node's page_cgroup array (pgdat->node_page_cgroup,
    one pc per frame, never freed): the model keeps only the pcs of *free* frames that
    were freed while still PCG_USED (a stuck charge, see page_alloc.__free_page), by pfn;
    every other frame gets a fresh pc when it is allocated.
    """

    __slots__ = ("lock", "lru", "lru_lock", "node_page_cgroup", "pages_high", "pages_low",
                 "pages_min", "reclaim_stat", "vm_stat")

    def __init__(self, present_pages: int) -> None:
        self.lru: list[dict[Page, None]] = [{} for _ in range(NR_LRU_LISTS)]
        self.lru_lock = Lock("zone->lru_lock")
        #: zone->lock: the free lists (page_alloc's free frames and nr_free_pages)
        self.lock = Lock("zone->lock")
        self.node_page_cgroup: dict[int, PageCgroup] = {}
        self.reclaim_stat = ZoneReclaimStat()
        self.vm_stat: dict[str, int] = {
            NR_FREE_PAGES: present_pages,  # every frame is free at boot
            NR_ANON_PAGES: 0,
            NR_FILE_MAPPED: 0,
            NR_FILE_PAGES: 0,
            NR_FILE_DIRTY: 0,
            NR_WRITEBACK: 0,
            NR_SHMEM: 0,
            NR_MLOCK: 0,
            NR_ISOLATED: 0,
        }
        # mm/page_alloc.c: init_per_zone_pages_min(): min_free_kbytes = int_sqrt(16 * lowmem_kb)
        lowmem_kb = present_pages * 4
        min_free_kb = max(128, min(65536, isqrt(lowmem_kb * 16)))
        self.pages_min = max(1, min_free_kb // 4)
        self.pages_low = self.pages_min + self.pages_min // 4
        self.pages_high = self.pages_min + self.pages_min // 2

    def nr_lru(self, lru: int) -> int:
        return len(self.lru[lru])


class lru_lock_held(spin_lock_held):
    """zone->lru_lock around a section of a plain function (``who``, called for ``page``
    if given): taken and dropped in plain code, so the step's record has the lock effects
    and the lockset check sees the section's writes under the lock. Exact as long as
    nobody holds the lock across an interleaving point (no model path does); a
    :class:`KernelBug` otherwise."""

    __slots__ = ()

    def __init__(self, zone: Zone, who: str, page: Page | None = None) -> None:
        if zone.lru_lock.holder is not None:
            BUG(f"{who}({page!r}): zone->lru_lock is held" if page is not None else
                f"{who}: zone->lru_lock is held")
        super().__init__(zone.lru_lock)
