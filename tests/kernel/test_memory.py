"""memory.py against mm/memory.c (2.6.30, 2.6.31): faults, COW, zap, fork's copy."""

from __future__ import annotations

import pytest
from kernel_helpers import (
    make_kernel,
    mmap_anon,
    new_task,
    page_at,
    run,
    touch,
    usage_pages,
)

from swaplab.kernel import exit, fork, memory, mmap, page_alloc, swap
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import LRU_ACTIVE_ANON, PAGE_SHIFT, PAGE_SIZE, AnonVma, TaskStruct
from swaplab.kernel.mmzone import NR_ANON_PAGES
from swaplab.kernel.page_cgroup import PCG_USED
from swaplab.kernel.page_flags import PG_lru, PG_swapbacked


def test_anonymous_fault_maps_a_new_charged_page(version: str) -> None:
    k = make_kernel(version)
    task = new_task(k)
    mm = task.mm
    assert mm is not None
    addr = mmap_anon(k, task, 4)
    free = page_alloc.nr_free_pages(k)
    touch(k, task, addr + PAGE_SIZE, write=False)
    page = page_at(task, addr + PAGE_SIZE)
    pte = mm.ptes[(addr + PAGE_SIZE) >> PAGE_SHIFT]
    assert pte.write and pte.young and pte.dirty
    assert page._mapcount == 0
    assert page._count == 2  # the pte's ref + the LRU pagevec's ref
    assert page.flags & PG_swapbacked and not page.flags & PG_lru
    assert isinstance(page.mapping, AnonVma) and page.index == (addr >> PAGE_SHIFT) + 1
    assert mm.anon_rss == 1 and mm.file_rss == 0
    assert k.zone.vm_stat[NR_ANON_PAGES] == 1
    assert page.page_cgroup.flags & PCG_USED and usage_pages(k) == 1
    assert page_alloc.nr_free_pages(k) == free - 1
    run(k, swap.lru_add_drain(k), task)
    assert page._count == 1 and page in k.zone.lru[LRU_ACTIVE_ANON]


def test_read_then_write_needs_no_second_fault_in_a_writable_vma() -> None:
    k = make_kernel()
    task = new_task(k)
    addr = mmap_anon(k, task, 1)
    touch(k, task, addr, write=False)
    page = page_at(task, addr)
    touch(k, task, addr, write=True)
    assert page_at(task, addr) is page and usage_pages(k) == 1


def test_fault_outside_a_vma_or_against_protection_is_efault() -> None:
    k = make_kernel()
    task = new_task(k)
    addr = mmap_anon(k, task, 1, prot=mmap.PROT_READ)
    assert run(k, memory.do_page_fault(k, task, addr + PAGE_SIZE, False), task) == -memory.EFAULT
    assert run(k, memory.do_page_fault(k, task, addr, True), task) == -memory.EFAULT
    assert run(k, memory.do_page_fault(k, task, addr, False), task) == 0
    assert page_at(task, addr) is not None
    assert task.mm is not None and not task.mm.ptes[addr >> PAGE_SHIFT].write


def test_read_only_anon_pte_is_dirty_only_in_30(version: str) -> None:
    """do_anonymous_page: [30] maybe_mkwrite(pte_mkdirty(entry)); [31] dirty and writable
    only in a VM_WRITE vma."""
    k = make_kernel(version)
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 1, prot=mmap.PROT_READ)
    touch(k, task, addr, write=False)
    pte = task.mm.ptes[addr >> PAGE_SHIFT]
    assert not pte.write
    assert pte.dirty == (version == "2.6.30")


def test_fork_shares_pages_copy_on_write_with_one_charge(version: str) -> None:
    k = make_kernel(version)
    parent = new_task(k)
    addr = mmap_anon(k, parent, 3)
    touch(k, parent, addr, 3)
    run(k, swap.lru_add_drain(k), parent)
    pages = [page_at(parent, addr + i * PAGE_SIZE) for i in range(3)]
    child = run(k, fork.do_fork(k, parent), parent)
    assert parent.mm is not None and child.mm is not None
    for i, page in enumerate(pages):
        vpn = (addr >> PAGE_SHIFT) + i
        assert child.mm.ptes[vpn].page is page
        assert not parent.mm.ptes[vpn].write and not child.mm.ptes[vpn].write
        assert not child.mm.ptes[vpn].young
        assert page._count == 2 and page._mapcount == 1
    assert child.mm.anon_rss == 3 and parent.mm.anon_rss == 3
    assert usage_pages(k) == 3
    # the child writes page 0: COW
    touch(k, child, addr)
    new = page_at(child, addr)
    assert new is not pages[0]
    assert pages[0]._mapcount == 0 and pages[0]._count == 1
    assert new._mapcount == 0 and new._count == 2  # pte + pagevec
    assert usage_pages(k) == 4
    # the parent writes page 0: the only mapper reuses it in place
    touch(k, parent, addr)
    assert page_at(parent, addr) is pages[0] and usage_pages(k) == 4
    assert parent.mm.ptes[addr >> PAGE_SHIFT].write
    # the parent writes page 1 (still shared): COW in the parent
    touch(k, parent, addr + PAGE_SIZE)
    assert page_at(parent, addr + PAGE_SIZE) is not pages[1]
    assert page_at(child, addr + PAGE_SIZE) is pages[1] and pages[1]._mapcount == 0
    assert usage_pages(k) == 5


def test_cow_after_the_other_side_exited_reuses_the_page(version: str) -> None:
    k = make_kernel(version)
    parent = new_task(k)
    addr = mmap_anon(k, parent, 2)
    touch(k, parent, addr, 2)
    child = run(k, fork.do_fork(k, parent), parent)
    run(k, exit.do_exit(k, child), child)
    page = page_at(parent, addr)
    assert page._mapcount == 0
    touch(k, parent, addr)
    assert page_at(parent, addr) is page and usage_pages(k) == 2


def test_munmap_and_exit_free_every_page(version: str) -> None:
    k = make_kernel(version)
    start = page_alloc.nr_free_pages(k)
    parent = new_task(k)
    addr = mmap_anon(k, parent, 600)  # > FREE_PTE_NR: the mmu_gather flushes mid-way
    touch(k, parent, addr, 600)
    child = run(k, fork.do_fork(k, parent), parent)
    touch(k, child, addr, 20)  # 20 COW copies
    assert usage_pages(k) == 620
    assert parent.mm is not None
    assert run(k, mmap.do_munmap(k, parent.mm, addr, 600 * PAGE_SIZE), parent) == 0
    assert parent.mm.ptes == {} and parent.mm.anon_rss == 0
    assert usage_pages(k) == 600  # the child's mappings keep their charges
    run(k, exit.do_exit(k, child), child)
    assert usage_pages(k) == 0
    assert page_alloc.nr_free_pages(k) == start
    assert k.pages == {}
    assert k.zone.vm_stat[NR_ANON_PAGES] == 0
    assert all(not pvec for cpu in k.lru_add_pvecs for pvec in cpu)


def test_munmap_of_the_middle_splits_the_vma() -> None:
    k = make_kernel()
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 8)
    touch(k, task, addr, 8)
    anon_vma = task.mm.mmap[0].anon_vma
    assert run(k, mmap.do_munmap(k, task.mm, addr + 2 * PAGE_SIZE, 3 * PAGE_SIZE), task) == 0
    spans = [(v.vm_start, v.vm_end) for v in task.mm.mmap]
    assert spans == [(addr, addr + 2 * PAGE_SIZE), (addr + 5 * PAGE_SIZE, addr + 8 * PAGE_SIZE)]
    assert task.mm.anon_rss == 5 and usage_pages(k) == 5
    assert anon_vma is not None
    assert sorted(anon_vma.head, key=lambda v: v.vm_start) == task.mm.mmap
    assert task.mm.mmap[1].vm_pgoff == (addr >> PAGE_SHIFT) + 5
    assert task.mm.total_vm == 5


def test_zap_parks_refs_in_the_mmu_gather_until_the_flush() -> None:
    """mm/memory.c: zap_pte_range(): after page_remove_rmap the exiting task still holds the
    page ref in its mmu_gather until tlb_flush_mmu."""
    k = make_kernel()
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 2)
    touch(k, task, addr, 2)
    run(k, swap.lru_add_drain(k), task)
    pages = [page_at(task, addr), page_at(task, addr + PAGE_SIZE)]
    vma = task.mm.mmap[0]
    tlb = memory.tlb_gather_mmu(task.mm, False)
    run(k, memory.unmap_vmas(k, tlb, [vma], addr, addr + 2 * PAGE_SIZE), task)
    assert tlb.pages == pages
    assert all(p._mapcount == -1 and p._count == 1 for p in pages)
    assert usage_pages(k) == 0  # uncharged at the last unmap
    run(k, memory.tlb_finish_mmu(k, tlb), task)
    assert all(p.pfn not in k.pages for p in pages)


def test_charge_failure_ends_in_the_memcg_oom_killer(version: str) -> None:
    """do_anonymous_page: a failed charge frees the page and returns VM_FAULT_OOM; the
    memcg OOM killer (called by the charge after its retries) kills the task, and
    do_page_fault stops retrying once SIGKILL is pending."""
    from swaplab.kernel import cgroup, memcontrol

    k = make_kernel(version)
    sub = cgroup.cgroup_mkdir(k, k.cgroup_root, "A")
    assert not isinstance(sub, int) and sub.memcg is not None
    mem = sub.memcg
    assert run(k, memcontrol.mem_cgroup_resize_limit(k, mem, 2 * PAGE_SIZE)) == 0
    start = page_alloc.nr_free_pages(k)
    task = fork.create_task(k, sub, "hog")
    addr = mmap_anon(k, task, 3)

    async def body() -> int:
        for i in range(3):
            ret = await memory.do_page_fault(k, task, addr + i * PAGE_SIZE, True)
            if ret:
                return ret
        return 0

    assert run(k, body(), task) == memory.VM_FAULT_OOM
    assert task.sigkill and task.memdie and task.state == "running"
    # the return to user space acts on the SIGKILL
    run(k, exit.do_exit(k, task), task)
    assert task.state == "killed" and task.mm is None
    assert mem.res.usage == 0 and mem.res.failcnt >= 6
    run(k, swap.lru_add_drain(k))
    assert page_alloc.nr_free_pages(k) == start


def _swap_out_one(k: Kernel, task: TaskStruct, addr: int) -> int:
    """add_to_swap + try_to_unmap of the page at ``addr`` (its pte old), leaving it an
    unmapped swap-cache page; returns the entry."""
    from swaplab.kernel import rmap, swap_state
    from swaplab.kernel.sync import lock_page, unlock_page

    page = page_at(task, addr)
    assert task.mm is not None
    task.mm.ptes[addr >> PAGE_SHIFT].young = False

    async def body() -> int:
        await lock_page(k, page)
        assert await swap_state.add_to_swap(k, page) == 1
        assert await rmap.try_to_unmap(k, page, 0) == rmap.SWAP_SUCCESS
        unlock_page(page)
        return page.private

    return int(run(k, body()))


@pytest.mark.parametrize("write", [False, True])
def test_swap_fault_on_a_swap_cache_page(version: str, write: bool) -> None:
    """mm/memory.c: do_swap_page() with the page still in swap cache and still charged (case
    C of test_memcontrol.py's swap-in cases): the new charge is cancelled at commit; a write
    fault reuses the page (reuse_swap_page deletes it from the swap cache), a read fault
    keeps it cached and maps it read-only."""
    from swaplab.kernel import swapfile
    from swaplab.kernel.page_flags import PageSwapCache

    k = make_kernel(version)
    swapfile.sys_swapon(k, 64)
    task = new_task(k)
    addr = mmap_anon(k, task, 1)
    touch(k, task, addr)
    run(k, swap.lru_add_drain(k), task)
    page = page_at(task, addr)
    entry = _swap_out_one(k, task, addr)
    assert task.mm is not None and task.mm.ptes[addr >> PAGE_SHIFT].swp == entry
    assert page._count == 1 and usage_pages(k) == 1
    ret = run(k, memory.do_page_fault(k, task, addr, write), task)
    assert ret == 0  # a minor fault; a reused write fault does not report VM_FAULT_WRITE
    assert page_at(task, addr) is page and page._mapcount == 0
    assert task.mm.anon_rss == 1
    assert usage_pages(k) == 1
    assert page.page_cgroup.flags & PCG_USED
    pte = task.mm.ptes[addr >> PAGE_SHIFT]
    si = k.swap_info[0]
    if write:
        assert pte.write and pte.dirty and not PageSwapCache(page)
        assert page._count == 1 and si.inuse_pages == 0
    else:
        assert not pte.write and PageSwapCache(page) and page.private == entry
        assert page._count == 2  # pte + swap cache
        assert si.swap_map[swapfile.swp_offset(entry)] == (1 if version == "2.6.30" else 0x8000)
    run(k, exit.do_exit(k, task), task)
    assert k.pages == {} and si.inuse_pages == 0 and usage_pages(k) == 0


def test_exit_frees_swap_ptes_and_their_cache(version: str) -> None:
    """zap_pte_range: a swap pte -> free_swap_and_cache: the last pte reference of a slot
    whose cache page is unlocked frees the cache page too (nothing is mapped)."""
    from swaplab.kernel import swapfile

    k = make_kernel(version)
    start = page_alloc.nr_free_pages(k)
    swapfile.sys_swapon(k, 64)
    task = new_task(k)
    addr = mmap_anon(k, task, 2)
    touch(k, task, addr, 2)
    run(k, swap.lru_add_drain(k), task)
    _swap_out_one(k, task, addr)
    child = run(k, fork.do_fork(k, task), task)
    si = k.swap_info[0]
    assert si.inuse_pages == 1
    run(k, exit.do_exit(k, task), task)
    assert si.inuse_pages == 1  # the child's swap pte
    run(k, exit.do_exit(k, child), child)
    assert si.inuse_pages == 0 and k.nr_swap_pages == si.pages
    assert page_alloc.nr_free_pages(k) == start
    assert usage_pages(k) == 0


def test_major_swap_fault_reads_the_page_back_and_charges_it(version: str) -> None:
    """mm/memory.c: do_swap_page(), case (A): the slot's page is gone from memory;
    swapin_readahead reads it (locked until the read completes), try_charge_swapin charges
    the memcg that the swap record names, the commit sets USED and clears the record
    (memsw back to 1 unit), swap_free drops the pte's reference."""
    from swaplab.kernel import swap_state, swapfile
    from swaplab.kernel.page_flags import PageSwapCache
    from swaplab.kernel.sync import lock_page, unlock_page

    k = make_kernel(version)
    k.page_cluster = 0  # no readahead of neighbours
    swapfile.sys_swapon(k, 64)
    task = new_task(k)
    addr = mmap_anon(k, task, 1)
    touch(k, task, addr)
    run(k, swap.lru_add_drain(k), task)
    old = page_at(task, addr)
    entry = _swap_out_one(k, task, addr)

    old._count += 1  # the reclaimer's isolation ref

    async def drop_cache() -> None:  # as __remove_mapping after the write-out
        await lock_page(k, old)
        await swap_state.delete_from_swap_cache(k, old)
        unlock_page(old)

    run(k, drop_cache())
    page_alloc.put_page(k, old)
    mem = k.root_mem_cgroup
    assert mem is not None
    assert old.pfn not in k.pages and mem.res.usage == 0
    assert mem.memsw.usage == PAGE_SIZE  # the slot keeps the memsw unit
    assert k.swap_cgroup.get((0, swapfile.swp_offset(entry))) == mem.css_id
    ret = run(k, memory.do_page_fault(k, task, addr, False), task)
    assert ret == memory.VM_FAULT_MAJOR
    page = page_at(task, addr)
    assert page is not old and PageSwapCache(page) and page.private == entry
    assert page._mapcount == 0 and task.mm is not None and task.mm.anon_rss == 1
    assert page.page_cgroup.flags & PCG_USED and page.page_cgroup.mem_cgroup is mem
    assert mem.res.usage == PAGE_SIZE and mem.memsw.usage == PAGE_SIZE
    assert not k.swap_cgroup.get((0, swapfile.swp_offset(entry)))
    si = k.swap_info[0]
    assert si.swap_map[swapfile.swp_offset(entry)] == (1 if version == "2.6.30" else 0x8000)
    run(k, exit.do_exit(k, task), task)
    assert k.pages == {} and si.inuse_pages == 0
    assert mem.res.usage == 0 and mem.memsw.usage == 0


def test_faults_beyond_ram_go_through_global_reclaim_and_swap(version: str) -> None:
    """alloc_pages below pages_low runs try_to_free_pages, which swaps anon pages out;
    every page stays reachable (a present pte or a swap pte), reads bring them back, and
    exit frees all memory and swap."""
    from swaplab.kernel import cgroup, swapfile
    from swaplab.kernel.config import make_config

    k = Kernel(make_config(version), 2 << 20)  # 512 pages
    cgroup.cgroup_init_root(k)
    swapfile.sys_swapon(k, 1024)
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 700)
    touch(k, task, addr, 700)
    ptes = task.mm.ptes
    present = sum(1 for pte in ptes.values() if pte.page is not None)
    assert len(ptes) == 700 and present == task.mm.anon_rss < 512
    assert k.nr_free_pages >= k.zone.pages_min

    async def read_all() -> None:
        for i in range(700):
            ret = await memory.do_page_fault(k, task, addr + i * PAGE_SIZE, False)
            assert ret in (0, memory.VM_FAULT_MAJOR)

    run(k, read_all(), task)
    assert len(task.mm.ptes) == 700
    run(k, exit.do_exit(k, task), task)
    assert k.nr_free_pages == k.totalram_pages
    assert k.swap_info[0].inuse_pages == 0 and k.nr_swap_pages == k.total_swap_pages
