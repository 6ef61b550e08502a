"""shmem.shmem_unuse() / shmem_unuse_inode() (mm/shmem.c, 2.6.30/2.6.31), swapoff's search
of shmem_swaplist (mm/swapfile.c: try_to_unuse() calls shmem_unuse() for a slot no mm
maps; without it the model's swapoff looped forever over a slot a shmem inode holds)."""

from __future__ import annotations

from kernel_helpers import run
from test_shmem import setup, swap_out_segment_page

from swaplab.kernel import invariants, shmem, swap_state, swapfile
from swaplab.kernel.gfp import GFP_HIGHUSER_MOVABLE
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import PAGE_SIZE, Page
from swaplab.kernel.page_flags import PageDirty, PageLocked, PageSwapCache
from swaplab.kernel.sync import lock_page


def locked_swap_page(k: Kernel, entry: int) -> Page:
    """What try_to_unuse() holds when it calls shmem_unuse(): the slot's swap-cache page,
    locked, with the reference read_swap_cache_async() took."""

    async def body() -> Page:
        page = await swap_state.read_swap_cache_async(k, entry, GFP_HIGHUSER_MOVABLE, None, 0)
        assert page is not None
        await lock_page(k, page)
        return page

    page: Page = run(k, body())
    return page


def test_writepage_puts_the_inode_on_the_swaplist_and_destroy_takes_it_off(
        version: str) -> None:
    k, _, task = setup(version)
    shmid, _, _ = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    assert k.shmem_swaplist == [inode]
    assert run(k, shmem.shm_rmid(k, shmid), task) == 0
    assert k.shmem_swaplist == []


def test_unuse_brings_the_page_back_into_the_segment(version: str) -> None:
    k, mem, task = setup(version)
    shmid, page, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    got = locked_swap_page(k, entry)
    assert got is page
    refs = page._count
    assert run(k, shmem.shmem_unuse(k, entry, page)) == 1
    assert not PageLocked(page) and page._count == refs - 1  # unlocked and released
    assert inode.i_swap == {} and inode.mapping.page_tree == {0: page}
    assert not PageSwapCache(page) and PageDirty(page)
    si = k.swap_info[swapfile.swp_type(entry)]
    assert si.swap_map[swapfile.swp_offset(entry)] == 0
    assert mem.res.usage == PAGE_SIZE and mem.memsw.usage == PAGE_SIZE  # charged once
    assert k.swap_cgroup == {}
    assert invariants.check_all(k) == []


def test_an_entry_no_inode_holds_is_not_found_and_the_page_stays_locked(
        version: str) -> None:
    k, _, task = setup(version)
    shmid, page, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    other = swapfile.swp_entry(swapfile.swp_type(entry), swapfile.swp_offset(entry) + 1)
    locked_swap_page(k, entry)
    assert run(k, shmem.shmem_unuse(k, other, page)) == 0
    assert PageLocked(page) and inode.i_swap == {0: entry}
    assert k.shmem_swaplist == [inode]  # it still has swap: it stays on the list


def test_an_inode_without_swap_leaves_the_swaplist_when_searched(version: str) -> None:
    k, _, task = setup(version)
    shmid, page, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    inode.i_swap.clear()  # as if its pages had been read back meanwhile
    locked_swap_page(k, entry)
    assert run(k, shmem.shmem_unuse(k, entry, page)) == 0
    assert k.shmem_swaplist == []


def test_swapoff_of_a_detached_segment_terminates(version: str) -> None:
    k, mem, task = setup(version)
    shmid, _, entry = swap_out_segment_page(k, task)
    assert run(k, swapfile.sys_swapoff(k, swapfile.swp_type(entry))) == 0
    inode = k.shm_segments[shmid]
    assert inode.i_swap == {} and inode.mapping.nrpages == 1
    assert mem.res.usage == PAGE_SIZE and mem.memsw.usage == PAGE_SIZE
    assert invariants.check_all(k) == []
