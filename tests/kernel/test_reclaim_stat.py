"""mm/vmscan.c: get_scan_ratio() weighs swappiness by the zone_reclaim_stat of the zone
(global reclaim) or of the memcg (memcg reclaim), and the statistics follow mm/swap.c:
update_page_reclaim_stat() and shrink_active_list / shrink_inactive_list (2.6.30 and
2.6.31 alike). The expected values are worked out by hand from the C formula:

    ap = (swappiness + 1) * (recent_scanned[0] + 1) / (recent_rotated[0] + 1)
    fp = (200 - swappiness + 1) * (recent_scanned[1] + 1) / (recent_rotated[1] + 1)
    anon % = 100 * ap / (ap + fp + 1)

after halving both values of a type whose recent_scanned exceeds a quarter of its pages.
"""

from __future__ import annotations

from kernel_helpers import ANON, RW, make_kernel, run, touch

from swaplab.kernel import cgroup, fork, mmap, swap, vmscan
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    TaskStruct,
)
from swaplab.kernel.page_cgroup import PageCgroup

PAGE = 4096


def memcg_with_lists(k: Kernel, sizes: dict[int, int]) -> MemCgroup:
    """A memcg whose per-zone LRU lists have the given lengths (MEM_CGROUP_ZSTAT); the
    machine has free swap (else 2.6.30's get_scan_ratio() gives anon 0 % at once)."""
    k.nr_swap_pages = 1024
    cg = cgroup.cgroup_mkdir(k, k.cgroup_root, "G")
    assert isinstance(cg, Cgroup) and cg.memcg is not None
    for lru, n in sizes.items():
        for _ in range(n):
            cg.memcg.lists[lru][PageCgroup()] = None
    return cg.memcg


def memcg_sc(k: Kernel, mem: MemCgroup, swappiness: int = 60) -> vmscan.ScanControl:
    return vmscan.ScanControl(gfp_mask=GFP_KERNEL, isolate_pages=vmscan.isolate_pages_global,
                              swappiness=swappiness, mem_cgroup=mem)


LISTS = {LRU_INACTIVE_ANON: 200, LRU_ACTIVE_ANON: 200, LRU_INACTIVE_FILE: 200,
         LRU_ACTIVE_FILE: 200}  # 400 anon, 400 file: halving above 100


def test_no_statistics_gives_the_plain_swappiness_split(version: str) -> None:
    # ap = 61 * 1 / 1 = 61, fp = 141; 100 * 61 / 203 = 30
    k = make_kernel(version)
    mem = memcg_with_lists(k, LISTS)
    assert vmscan.get_scan_ratio(k, memcg_sc(k, mem)) == (30, 70)


def test_rotated_anon_pages_lower_the_anon_share(version: str) -> None:
    k = make_kernel(version)
    mem = memcg_with_lists(k, LISTS)
    stat = mem.reclaim_stat
    stat.recent_scanned[:] = [100, 100]
    stat.recent_rotated[:] = [0, 50]
    # ap = 61 * 101 / 1 = 6161, fp = 141 * 101 / 51 = 279; 616100 / 6441 = 95
    assert vmscan.get_scan_ratio(k, memcg_sc(k, mem)) == (95, 5)
    stat.recent_rotated[0] = 90
    # ap = 61 * 101 / 91 = 67, fp = 279; 6700 / 347 = 19
    assert vmscan.get_scan_ratio(k, memcg_sc(k, mem)) == (19, 81)
    # 100 is not more than 400 / 4: nothing halved
    assert (stat.recent_scanned, stat.recent_rotated) == ([100, 100], [90, 50])


def test_statistics_above_a_quarter_of_the_lists_are_halved(version: str) -> None:
    k = make_kernel(version)
    mem = memcg_with_lists(k, LISTS)
    stat = mem.reclaim_stat
    stat.recent_scanned[:] = [101, 100]
    stat.recent_rotated[:] = [91, 50]
    # anon: 101 > 100 -> scanned 50, rotated 45; file untouched.
    # ap = 61 * 51 / 46 = 67, fp = 141 * 101 / 51 = 279; 6700 / 347 = 19
    assert vmscan.get_scan_ratio(k, memcg_sc(k, mem)) == (19, 81)
    assert (stat.recent_scanned, stat.recent_rotated) == ([50, 100], [45, 50])


def test_global_reclaim_weighs_the_zone_statistics(version: str) -> None:
    k = make_kernel(version)
    memcg_stat = memcg_with_lists(k, LISTS).reclaim_stat
    memcg_stat.recent_rotated[:] = [1000, 0]  # not the global reclaim's business
    k.zone.reclaim_stat.recent_scanned[:] = [0, 9]
    k.zone.reclaim_stat.recent_rotated[:] = [0, 9]
    sc = vmscan.ScanControl(gfp_mask=GFP_KERNEL, isolate_pages=vmscan.isolate_pages_global,
                            swappiness=60)
    # the zone's lists are empty: file 9 > 0 / 4 is halved to scanned 4, rotated 4
    # (anon 0 is not); ap = 61, fp = 141 * 5 / 5 = 141: 6100 / 203 = 30
    assert vmscan.get_scan_ratio(k, sc) == (30, 70)
    assert k.zone.reclaim_stat.recent_scanned == [0, 4]
    k.zone.reclaim_stat.recent_rotated[1] = 0
    # halved again: scanned 2, rotated 0; fp = 141 * 3 / 1 = 423; 6100 / 485 = 12
    assert vmscan.get_scan_ratio(k, sc) == (12, 88)
    assert memcg_stat.recent_rotated == [1000, 0]


def anon_group(k: Kernel, npages: int) -> tuple[Cgroup, TaskStruct]:
    """A group /G with a task that faulted in ``npages`` anon pages (pagevecs drained)."""
    cg = cgroup.cgroup_mkdir(k, k.cgroup_root, "G")
    assert isinstance(cg, Cgroup)
    task = fork.create_task(k, cg, "anon")
    assert task.mm is not None
    addr = run(k, mmap.do_mmap_pgoff(k, task.mm, 0, npages * PAGE, RW, ANON, None), task)
    touch(k, task, addr, npages)
    run(k, swap.lru_add_drain(k), task)
    return cg, task


def test_lru_add_counts_new_anon_pages_as_scanned_and_rotated(version: str) -> None:
    """New anon pages go to the active list through the pagevec (____pagevec_lru_add ->
    update_page_reclaim_stat(rotated)): counted in the zone and in their memcg."""
    k = make_kernel(version)
    cg, _ = anon_group(k, 20)
    assert cg.memcg is not None
    assert k.zone.reclaim_stat.recent_scanned == [20, 0]
    assert k.zone.reclaim_stat.recent_rotated == [20, 0]
    assert cg.memcg.reclaim_stat.recent_scanned == [20, 0]
    assert cg.memcg.reclaim_stat.recent_rotated == [20, 0]


def test_shrink_active_list_counts_referenced_pages_as_rotated(version: str) -> None:
    """memcg reclaim ages the active anon list: the isolated pages count as scanned in the
    memcg's statistics, those whose ptes were young as rotated (though deactivated)."""
    k = make_kernel(version)
    cg, task = anon_group(k, 20)
    mem = cg.memcg
    assert mem is not None
    before = (list(mem.reclaim_stat.recent_scanned), list(mem.reclaim_stat.recent_rotated))
    sc = memcg_sc(k, mem)
    sc.isolate_pages = vmscan._isolate_pages_memcg
    run(k, vmscan.shrink_active_list(k, 8, sc, 0, False), task)
    assert mem.reclaim_stat.recent_scanned == [before[0][0] + 8, 0]
    assert mem.reclaim_stat.recent_rotated == [before[1][0] + 8, 0]  # every pte was young
    assert len(mem.lists[LRU_INACTIVE_ANON]) == 8
    assert k.zone.reclaim_stat.recent_scanned == before[0]  # memcg reclaim: the memcg's
