"""vmscan.py against mm/vmscan.c (2.6.30/2.6.31):
isolation and putback, shrink_page_list's outcomes, memcg and global reclaim of clean file
cache, anon pages without swap ([30] priority-0 exception vs. [31]), mlocked pages culled."""

from __future__ import annotations

from kernel_helpers import ANON, RW, make_kernel, run, touch

from swaplab.explore.execution import run_to_completion
from swaplab.kernel import (
    cgroup,
    filemap,
    fork,
    invariants,
    mmap,
    page_alloc,
    swap,
    swapfile,
    vmscan,
)
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.config import make_config
from swaplab.kernel.errno import EBUSY
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    PAGE_SIZE,
    VM_LOCKED,
    AddressSpace,
    TaskStruct,
    page_mapped,
)
from swaplab.kernel.page_cgroup import PCG_USED
from swaplab.kernel.page_flags import (
    PageActive,
    PageLRU,
    PageMlocked,
    PageSwapCache,
    PageUnevictable,
    PG_active,
    PG_mlocked,
    PG_referenced,
)
from swaplab.kernel.sync import Current


def group(k: Kernel, name: str = "G") -> tuple[Cgroup, MemCgroup]:
    cg = cgroup.cgroup_mkdir(k, k.cgroup_root, name)
    assert isinstance(cg, Cgroup) and cg.memcg is not None
    return cg, cg.memcg


def file_cache(k: Kernel, nr: int, cg: Cgroup | None = None) -> tuple[TaskStruct, AddressSpace]:
    """A task of ``cg`` that read ``nr`` pages of a file; the pagevecs drained."""
    task = fork.create_task(k, cg or k.cgroup_root, "reader")
    mapping = AddressSpace("f")
    assert run(k, filemap.read_file_pages(k, task, nr, mapping), task) == nr
    run(k, swap.lru_add_drain(k), task)
    return task, mapping


def memcg_reclaim(k: Kernel, mem: MemCgroup, task: TaskStruct, noswap: bool) -> int:
    return int(run(k, vmscan.try_to_free_mem_cgroup_pages(k, mem, GFP_KERNEL, noswap, 60), task))


def test_memcg_reclaim_drops_clean_file_cache(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task, mapping = file_cache(k, 64, cg)
    free0 = page_alloc.nr_free_pages(k)
    # priority 6 scans 64 >> 6 = 1 page, but shrink_inactive_list isolates a whole
    # SWAP_CLUSTER_MAX batch: 32 pages, and do_try_to_free_pages stops there
    assert memcg_reclaim(k, mem, task, noswap=True) == 32
    assert mem.res.usage == 32 * PAGE_SIZE and mem.memsw.usage == 32 * PAGE_SIZE
    assert page_alloc.nr_free_pages(k) == free0 + 32
    assert mapping.nrpages == 32
    assert sorted(mapping.page_tree) == list(range(32, 64))  # the oldest pages went first
    assert len(mem.lists[LRU_INACTIVE_FILE]) == 32
    assert k.zone.nr_lru(LRU_INACTIVE_FILE) == 32
    assert invariants.check_all(k) == []


def test_memcg_reclaim_below_a_cluster_frees_all_but_reports_zero(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task, mapping = file_cache(k, 20, cg)
    # do_try_to_free_pages returns the count only for global reclaim or >= 32 pages
    assert memcg_reclaim(k, mem, task, noswap=False) == 0
    assert mem.res.usage == 0 and mapping.nrpages == 0
    assert invariants.check_all(k) == []


def test_memcg_reclaim_leaves_other_groups_alone(version: str) -> None:
    k = make_kernel(version)
    cg_a, mem_a = group(k, "A")
    cg_b, mem_b = group(k, "B")
    task_a, _ = file_cache(k, 40, cg_a)
    _, mapping_b = file_cache(k, 40, cg_b)
    assert memcg_reclaim(k, mem_a, task_a, noswap=True) == 32
    assert mem_a.res.usage == 8 * PAGE_SIZE
    assert mem_b.res.usage == 40 * PAGE_SIZE and mapping_b.nrpages == 40


def test_global_reclaim_drops_clean_file_cache(version: str) -> None:
    k = make_kernel(version)
    task, mapping = file_cache(k, 64)
    assert run(k, vmscan.try_to_free_pages(k, GFP_KERNEL), task) == 32
    assert mapping.nrpages == 32
    assert k.root_mem_cgroup is not None and k.root_mem_cgroup.res.usage == 32 * PAGE_SIZE


def anon_task(k: Kernel, cg: Cgroup, npages: int) -> tuple[TaskStruct, int]:
    task = fork.create_task(k, cg, "anon")
    assert task.mm is not None
    addr = run(k, mmap.do_mmap_pgoff(k, task.mm, 0, npages * PAGE_SIZE, RW, ANON, None), task)
    assert addr > 0
    touch(k, task, addr, npages)
    run(k, swap.lru_add_drain(k), task)
    return task, int(addr)


def test_anon_pages_are_not_reclaimed_without_swap(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task, addr = anon_task(k, cg, 16)
    assert task.mm is not None
    k.execution.trace = []
    assert memcg_reclaim(k, mem, task, noswap=False) == 0
    assert mem.res.usage == 16 * PAGE_SIZE
    pages = [task.mm.ptes[(addr >> 12) + i].page for i in range(16)]
    assert all(p is not None and page_mapped(p) and not PageSwapCache(p) for p in pages)
    failed = [e for e in k.execution.trace if e.function == "add_to_swap()"]
    if version == "2.6.30":
        # get_scan_ratio gives anon 0 %, but priority 0 ignores it: every page reaches
        # add_to_swap(), fails (no swap area) and is activated; the final rebalancing
        # (no free-swap test in [30]) deactivates them again
        assert len(failed) == 16
        assert k.zone.nr_lru(LRU_INACTIVE_ANON) == 16
    else:
        # [31]: with no free swap shrink_zone scans no anon page, and the anon
        # rebalancing needs nr_swap_pages > 0: the pages never leave the active list
        assert failed == []
        assert k.zone.nr_lru(LRU_ACTIVE_ANON) == 16
        assert all(p is not None and PageActive(p) for p in pages)
    assert invariants.check_all(k) == []


def test_mlocked_page_is_culled_to_the_unevictable_list(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task, mapping = file_cache(k, 3, cg)
    page = mapping.page_tree[1]
    page.flags |= PG_mlocked  # mlock_vma_page() lost the isolation race: still inactive
    assert memcg_reclaim(k, mem, task, noswap=True) == 0
    assert mapping.nrpages == 1 and mapping.page_tree == {1: page}
    assert PageUnevictable(page) and PageLRU(page) and page.lru == LRU_UNEVICTABLE
    assert page in k.zone.lru[LRU_UNEVICTABLE]
    assert page.page_cgroup.flags & PCG_USED and mem.res.usage == PAGE_SIZE
    assert page._count == 1
    assert invariants.check_all(k) == []


def test_isolate_and_lazy_putback(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task, mapping = file_cache(k, 2, cg)
    page = mapping.page_tree[0]
    assert vmscan.isolate_lru_page(k, page) == 0
    assert not PageLRU(page) and page._count == 2
    assert page not in k.zone.lru[LRU_INACTIVE_FILE]
    assert len(mem.lists[LRU_INACTIVE_FILE]) == 1  # unlinked from the memcg list too
    assert vmscan.isolate_lru_page(k, page) == -EBUSY
    run(k, vmscan.putback_lru_page(k, page), task)
    assert not PageLRU(page) and page._count == 2  # parked in the pagevec (its ref)
    run(k, swap.lru_add_drain(k), task)
    assert PageLRU(page) and page.lru == LRU_INACTIVE_FILE and page._count == 1
    assert len(mem.lists[LRU_INACTIVE_FILE]) == 2


def test_shrink_page_list_keeps_a_page_someone_else_holds(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task, mapping = file_cache(k, 2, cg)
    page = mapping.page_tree[0]
    other = mapping.page_tree[1]
    assert vmscan.isolate_lru_page(k, page) == 0
    assert vmscan.isolate_lru_page(k, other) == 0
    assert filemap.find_get_page(k, mapping, 0) is page  # a third reference
    sc = vmscan.ScanControl(gfp_mask=GFP_KERNEL, isolate_pages=vmscan.isolate_pages_global)
    pages = [page, other]
    assert run(k, vmscan.shrink_page_list(k, pages, sc), task) == 1
    assert pages == [page]  # __remove_mapping could not freeze the count at 2
    assert not PageActive(page) and page.lock.holder is None
    assert mapping.page_tree == {0: page} and mem.res.usage == PAGE_SIZE
    assert sc.nr_scanned == 2


def test_swap_out_of_anon_pages(version: str) -> None:
    """With a swap area, memcg reclaim swaps anon pages out: the first pass puts them in
    the swap cache (ptes -> swap entries) and starts the writes; the second frees them:
    res drops, memsw stays with the slots (shrink_page_list(): add_to_swap(), try_to_unmap(),
    pageout(); __remove_mapping() -> mem_cgroup_uncharge_swapcache())."""
    k = make_kernel(version)
    swapfile.sys_swapon(k, 256)
    cg, mem = group(k)
    task, _ = anon_task(k, cg, 40)
    assert task.mm is not None
    memcg_reclaim(k, mem, task, noswap=False)
    memcg_reclaim(k, mem, task, noswap=False)
    present = [pte.page for pte in task.mm.ptes.values() if pte.page is not None]
    swapped = [pte.swp for pte in task.mm.ptes.values() if pte.page is None and pte.swp]
    assert len(present) + len(swapped) == 40
    assert swapped, "no pte became a swap entry"
    in_cache = list(k.swapper_space.page_tree.values())
    charged = {p.pfn for p in present + in_cache if p.page_cgroup.flags & PCG_USED}
    assert mem.res.usage == len(charged) * PAGE_SIZE < 40 * PAGE_SIZE
    assert mem.memsw.usage == 40 * PAGE_SIZE  # swapped-out pages keep their memsw unit
    assert invariants.check_all(k) == []


def test_referenced_page_of_a_vm_locked_vma(version: str) -> None:
    """[30] activates a referenced mapped page even when its vma is VM_LOCKED; [31] reads
    VM_LOCKED from page_referenced()'s vm_flags and lets try_to_unmap() cull it to the
    unevictable list (SWAP_MLOCK) (shrink_page_list()'s page_referenced() and try_to_unmap()
    steps)."""
    k = make_kernel(version)
    cg, _ = group(k)
    task = fork.create_task(k, cg, "locked")
    assert task.mm is not None
    shared = mmap.MAP_SHARED | mmap.MAP_ANONYMOUS
    addr = run(k, mmap.do_mmap_pgoff(k, task.mm, 0, PAGE_SIZE, RW, shared, None), task)
    touch(k, task, addr)
    run(k, swap.lru_add_drain(k), task)
    vma = task.mm.find_vma(addr)
    assert vma is not None
    vma.vm_flags |= VM_LOCKED  # mlock() raced: the page is still on an evictable list
    page = task.mm.ptes[addr // PAGE_SIZE].page
    assert page is not None
    page.flags |= PG_referenced
    assert vmscan.isolate_lru_page(k, page) == 0
    page.flags &= ~PG_active  # as shrink_inactive_list's clear_active_flags()
    sc = vmscan.ScanControl(gfp_mask=GFP_KERNEL, isolate_pages=vmscan.isolate_pages_global)
    pages = [page]
    assert run(k, vmscan.shrink_page_list(k, pages, sc), task) == 0
    if version == "2.6.30":
        assert pages == [page] and PageActive(page) and page_mapped(page)
    else:
        assert pages == []
        assert PageMlocked(page) and PageUnevictable(page) and page.lru == LRU_UNEVICTABLE
        assert page_mapped(page)


def test_kswapd_balances_the_zone_up_to_pages_high(version: str) -> None:
    k = Kernel(make_config(version), 4 << 20)  # 1024 pages: pages_min 64, high 96
    cgroup.cgroup_init_root(k)
    assert (k.zone.pages_min, k.zone.pages_low, k.zone.pages_high) == (64, 80, 96)
    file_cache(k, 930)  # free 94: below pages_high, above pages_low (no direct reclaim)
    assert page_alloc.nr_free_pages(k) == 94
    thread = k.execution.spawn("kswapd", vmscan.kswapd(k), Current(None, 0))
    run_to_completion(k.execution)
    # priority 9 is the first to scan (930 >> 9 = 1): one SWAP_CLUSTER_MAX batch
    assert thread.result == 32
    assert page_alloc.nr_free_pages(k) == 126
    k.execution.spawn("kswapd", vmscan.kswapd(k), Current(None, 0))
    run_to_completion(k.execution)
    assert page_alloc.nr_free_pages(k) == 126  # above pages_high: nothing to do
