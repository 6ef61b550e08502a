"""shmem.py against mm/shmem.c and ipc/shm.c (2.6.30/2.6.31):
shmem pages are charged as cache, a destroyed segment's pages are uncharged, shmem_writepage
redirties without swap or under SHM_LOCK, moves a page to swap otherwise, and shmem_getpage
reads it back."""

from __future__ import annotations

from kernel_helpers import RW, make_kernel, run, touch

from swaplab.kernel import (
    cgroup,
    exit,
    fork,
    invariants,
    mmap,
    page_alloc,
    shmem,
    swap,
    swapfile,
    vmscan,
)
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.errno import EINVAL
from swaplab.kernel.gfp import GFP_HIGHUSER, GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MEM_CGROUP_STAT_CACHE, MEM_CGROUP_STAT_RSS, MemCgroup
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    LRU_UNEVICTABLE,
    PAGE_SIZE,
    Page,
    TaskStruct,
    page_mapcount,
)
from swaplab.kernel.page_cgroup import PCG_CACHE, PCG_USED
from swaplab.kernel.page_flags import (
    ClearPageDirty,
    PageDirty,
    PageLocked,
    PageLRU,
    PageSwapBacked,
    PageSwapCache,
    PageUnevictable,
)
from swaplab.kernel.sync import __set_page_locked, unlock_page

SHARED_ANON = mmap.MAP_SHARED | mmap.MAP_ANONYMOUS


def group(k: Kernel, name: str = "G") -> tuple[Cgroup, MemCgroup]:
    cg = cgroup.cgroup_mkdir(k, k.cgroup_root, name)
    assert isinstance(cg, Cgroup) and cg.memcg is not None
    return cg, cg.memcg


def setup(version: str) -> tuple[Kernel, MemCgroup, TaskStruct]:
    k = make_kernel(version)
    cg, mem = group(k)
    return k, mem, fork.create_task(k, cg, "shm")


def attach(k: Kernel, task: TaskStruct, npages: int, key: int = 1) -> tuple[int, int]:
    """A new SysV segment of ``npages``, attached and written: (shmid, address)."""
    assert task.mm is not None
    shmid = shmem.shmget(k, key, npages * PAGE_SIZE)
    assert shmid >= 0
    addr = run(k, shmem.shmat(k, task.mm, shmid), task)
    assert addr > 0
    touch(k, task, addr, npages)
    run(k, swap.lru_add_drain(k), task)
    return shmid, int(addr)


def test_shared_dev_zero_pages_count_as_cache(version: str) -> None:
    k, mem, task = setup(version)
    assert task.mm is not None
    addr = run(k, mmap.do_mmap_pgoff(k, task.mm, 0, 3 * PAGE_SIZE, RW, SHARED_ANON, None),
               task)
    touch(k, task, addr, 3)
    run(k, swap.lru_add_drain(k), task)
    vma = task.mm.find_vma(addr)
    assert vma is not None and vma.vm_file is not None
    inode = vma.vm_file.host
    assert isinstance(inode, shmem.ShmemInode) and inode.size_pages == 3
    assert mem.stat[MEM_CGROUP_STAT_CACHE] == 3 and mem.stat[MEM_CGROUP_STAT_RSS] == 0
    assert mem.res.usage == 3 * PAGE_SIZE
    for idx in range(3):
        page = inode.mapping.page_tree[idx]
        assert page.page_cgroup.flags & (PCG_USED | PCG_CACHE) == PCG_USED | PCG_CACHE
        assert PageSwapBacked(page) and PageLRU(page) and page.lru == LRU_ACTIVE_ANON
        assert page_mapcount(page) == 1 and page._count == 2  # page cache + pte


def test_each_shared_anon_mapping_gets_its_own_inode(version: str) -> None:
    k, _, task = setup(version)
    assert task.mm is not None
    a = run(k, mmap.do_mmap_pgoff(k, task.mm, 0, PAGE_SIZE, RW, SHARED_ANON, None), task)
    b = run(k, mmap.do_mmap_pgoff(k, task.mm, 0, PAGE_SIZE, RW, SHARED_ANON, None), task)
    va, vb = task.mm.find_vma(a), task.mm.find_vma(b)
    assert va is not None and vb is not None and va.vm_file is not None
    assert va.vm_file is not vb.vm_file


def test_shmget_keys(version: str) -> None:
    k = make_kernel(version)
    first = shmem.shmget(k, 7, 2 * PAGE_SIZE)
    assert shmem.shmget(k, 7, PAGE_SIZE) == first
    assert shmem.shmget(k, 7, 3 * PAGE_SIZE) == -EINVAL
    assert shmem.shmget(k, 8, 0) == -EINVAL
    a = shmem.shmget(k, shmem.IPC_PRIVATE, PAGE_SIZE)
    b = shmem.shmget(k, shmem.IPC_PRIVATE, PAGE_SIZE)
    assert len({first, a, b}) == 3
    assert k.shm_segments[first].size_pages == 2


def test_detached_segment_keeps_its_pages_until_destroyed(version: str) -> None:
    k, mem, task = setup(version)
    assert task.mm is not None
    free0 = page_alloc.nr_free_pages(k)
    shmid, addr = attach(k, task, 4)
    inode = k.shm_segments[shmid]
    assert inode.shm_nattch == 1 and mem.res.usage == 4 * PAGE_SIZE
    assert run(k, shmem.shmdt(k, task.mm, addr), task) == 0
    assert inode.shm_nattch == 0 and task.mm.find_vma(addr) is None
    assert mem.res.usage == 4 * PAGE_SIZE  # unmapped but still in the segment
    assert mem.stat[MEM_CGROUP_STAT_CACHE] == 4
    assert run(k, shmem.shm_rmid(k, shmid), task) == 0
    assert shmid not in k.shm_segments and inode.mapping.nrpages == 0
    assert mem.res.usage == 0 and mem.memsw.usage == 0
    assert mem.stat[MEM_CGROUP_STAT_CACHE] == 0
    assert page_alloc.nr_free_pages(k) == free0
    assert invariants.check_all(k) == []


def test_rmid_while_attached_destroys_at_the_last_detach(version: str) -> None:
    k, mem, task = setup(version)
    assert task.mm is not None
    shmid, addr = attach(k, task, 2)
    inode = k.shm_segments[shmid]
    assert run(k, shmem.shm_rmid(k, shmid), task) == 0
    assert inode.shm_dest and inode.shm_key == shmem.IPC_PRIVATE
    assert mem.res.usage == 2 * PAGE_SIZE and inode.mapping.nrpages == 2
    assert run(k, shmem.shmdt(k, task.mm, addr), task) == 0
    assert shmid not in k.shm_segments and inode.evicted
    assert mem.res.usage == 0
    assert run(k, shmem.shmdt(k, task.mm, addr), task) == -EINVAL


def locked_segment_page(k: Kernel, task: TaskStruct, shmid: int, idx: int) -> Page:
    """Page ``idx`` of the segment, locked, with an extra ref (as reclaim holds it)."""
    page = k.shm_segments[shmid].mapping.page_tree[idx]
    page._count += 1
    __set_page_locked(k, page)
    return page


def test_writepage_without_swap_redirties_and_activates(version: str) -> None:
    k, _, task = setup(version)
    assert task.mm is not None
    shmid, addr = attach(k, task, 1)
    run(k, shmem.shmdt(k, task.mm, addr), task)
    page = locked_segment_page(k, task, shmid, 0)
    ClearPageDirty(page)  # clear_page_dirty_for_io()
    assert run(k, shmem.shmem_writepage(k, page), task) == vmscan.AOP_WRITEPAGE_ACTIVATE
    assert PageDirty(page) and PageLocked(page) and not PageSwapCache(page)
    assert k.shm_segments[shmid].mapping.page_tree == {0: page}


def test_writepage_of_a_shm_locked_segment_redirties_even_with_swap(version: str) -> None:
    k, _, task = setup(version)
    assert task.mm is not None
    swapfile.sys_swapon(k, 64)
    shmid, addr = attach(k, task, 1)
    run(k, shmem.shmdt(k, task.mm, addr), task)
    assert run(k, shmem.shmctl(k, shmid, shmem.SHM_LOCK), task) == 0
    page = locked_segment_page(k, task, shmid, 0)
    free_swap = k.nr_swap_pages
    assert run(k, shmem.shmem_writepage(k, page), task) == vmscan.AOP_WRITEPAGE_ACTIVATE
    assert PageDirty(page) and PageLocked(page) and not PageSwapCache(page)
    assert k.nr_swap_pages == free_swap


def swap_out_segment_page(k: Kernel, task: TaskStruct) -> tuple[int, Page, int]:
    """One page of an unattached segment written to swap by shmem_writepage; the caller's
    extra ref dropped afterwards. Returns (shmid, page, entry)."""
    assert task.mm is not None
    swapfile.sys_swapon(k, 64)
    shmid, addr = attach(k, task, 1)
    run(k, shmem.shmdt(k, task.mm, addr), task)
    page = locked_segment_page(k, task, shmid, 0)
    ClearPageDirty(page)  # clear_page_dirty_for_io()
    assert run(k, shmem.shmem_writepage(k, page), task) == 0
    page_alloc.put_page(k, page)
    entry = k.shm_segments[shmid].i_swap[0]
    return shmid, page, entry


def test_writepage_moves_the_page_to_swap_and_keeps_the_charge(version: str) -> None:
    k, mem, task = setup(version)
    shmid, page, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    assert inode.mapping.nrpages == 0 and page.mapping is None
    assert PageSwapCache(page) and page.private == entry
    assert k.swapper_space.page_tree[entry] is page
    assert not PageLocked(page) and page._count == 1  # the swap cache's ref
    si = k.swap_info[swapfile.swp_type(entry)]
    # the swap cache's reference plus shmem's own (swap_duplicate)
    expected = 2 if version == "2.6.30" else swapfile.SWAP_HAS_CACHE | 1
    assert si.swap_map[swapfile.swp_offset(entry)] == expected
    assert page.page_cgroup.flags & PCG_USED and mem.res.usage == PAGE_SIZE
    assert invariants.check_all(k) == []


def test_shmem_getpage_reads_a_swapped_index_back(version: str) -> None:
    k, mem, task = setup(version)
    shmid, page, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    assert task.mm is not None
    ret, got = run(k, shmem.shmem_getpage(k, inode, 0, GFP_HIGHUSER, task.mm), task)
    assert ret == 0 and got is page and PageLocked(page)
    unlock_page(page)
    assert inode.i_swap == {} and inode.mapping.page_tree == {0: page}
    assert not PageSwapCache(page) and PageDirty(page)
    si = k.swap_info[swapfile.swp_type(entry)]
    assert si.swap_map[swapfile.swp_offset(entry)] == 0
    assert mem.res.usage == PAGE_SIZE and mem.memsw.usage == PAGE_SIZE
    assert invariants.check_all(k) == []


def test_destroying_a_swapped_segment_frees_slot_and_charge(version: str) -> None:
    k, mem, task = setup(version)
    shmid, _, entry = swap_out_segment_page(k, task)
    free_swap = k.nr_swap_pages
    assert run(k, shmem.shm_rmid(k, shmid), task) == 0
    si = k.swap_info[swapfile.swp_type(entry)]
    assert si.swap_map[swapfile.swp_offset(entry)] == 0
    assert k.nr_swap_pages == free_swap + 1
    assert entry not in k.swapper_space.page_tree
    assert mem.res.usage == 0 and mem.memsw.usage == 0
    assert invariants.check_all(k) == []


def test_reclaim_culls_pages_of_a_shm_locked_segment(version: str) -> None:
    k, mem, task = setup(version)
    swapfile.sys_swapon(k, 64)  # so that [31] scans the anon lists at all
    shmid, _ = attach(k, task, 4)
    assert run(k, shmem.shmctl(k, shmid, shmem.SHM_LOCK), task) == 0
    run(k, vmscan.try_to_free_mem_cgroup_pages(k, mem, GFP_KERNEL, False, 60), task)
    pages = list(k.shm_segments[shmid].mapping.page_tree.values())
    assert len(pages) == 4
    assert all(PageUnevictable(p) and p.lru == LRU_UNEVICTABLE for p in pages)
    assert mem.res.usage == 4 * PAGE_SIZE
    # SHM_UNLOCK gives them back to the LRU
    assert run(k, shmem.shmctl(k, shmid, shmem.SHM_UNLOCK), task) == 0
    assert not any(PageUnevictable(p) for p in pages)
    assert all(PageLRU(p) and p.lru == LRU_INACTIVE_ANON for p in pages)
    assert k.zone.nr_lru(LRU_UNEVICTABLE) == 0
    assert len(mem.lists[LRU_UNEVICTABLE]) == 0 and len(mem.lists[LRU_INACTIVE_ANON]) == 4


def test_exit_frees_and_uncharges_shared_anon_pages(version: str) -> None:
    k, mem, task = setup(version)
    assert task.mm is not None
    free0 = page_alloc.nr_free_pages(k)
    addr = run(k, mmap.do_mmap_pgoff(k, task.mm, 0, 5 * PAGE_SIZE, RW, SHARED_ANON, None),
               task)
    touch(k, task, addr, 5)
    vma = task.mm.find_vma(addr)
    assert vma is not None and vma.vm_file is not None
    inode = vma.vm_file.host
    assert isinstance(inode, shmem.ShmemInode)
    assert mem.res.usage == 5 * PAGE_SIZE
    run(k, exit.do_exit(k, task), task)
    assert inode.evicted and inode.mapping.nrpages == 0
    assert mem.res.usage == 0 and mem.stat[MEM_CGROUP_STAT_CACHE] == 0
    assert page_alloc.nr_free_pages(k) == free0
