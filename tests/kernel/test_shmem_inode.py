"""The shmem inode's life and truncation against mm/shmem.c and fs/inode.c (2.6.30/2.6.31):
igrab() fails on an inode being freed, iput() of the last reference evicts it
(shmem_delete_inode), a reference swapoff's shmem_unuse_inode() holds defers the eviction
to its own iput(), and shmem_truncate_range() truncates the page cache again only when
SHMEM_PAGEIN says a page came in."""

from __future__ import annotations

import pytest
from kernel_helpers import run
from test_shmem import attach, locked_segment_page, setup, swap_out_segment_page
from test_shmem_unuse import locked_swap_page

from swaplab.kernel import (
    filemap,
    invariants,
    memcontrol,
    page_alloc,
    shmem,
    swap,
    swapfile,
)
from swaplab.kernel.gfp import GFP_HIGHUSER, GFP_KERNEL, GFP_NOWAIT
from swaplab.kernel.memcontrol import MEM_CGROUP_STAT_CACHE
from swaplab.kernel.mm_types import PAGE_SIZE, Page
from swaplab.kernel.page_cgroup import PageCgroupUsed
from swaplab.kernel.page_flags import ClearPageDirty, PageLocked, PageSwapCache, SetPageSwapBacked
from swaplab.kernel.sync import unlock_page


def test_igrab_counts_a_live_inode_and_fails_on_one_being_freed(version: str) -> None:
    k, _, _ = setup(version)
    inode = shmem.ShmemInode("SYSV00000001", 1)
    assert run(k, shmem.igrab(k, inode)) is inode and inode.i_count == 2
    run(k, shmem.iput(k, inode))
    assert inode.i_count == 1 and not inode.i_state
    inode.i_state |= shmem.I_FREEING
    assert run(k, shmem.igrab(k, inode)) is None and inode.i_count == 1


def test_a_held_inode_outlives_its_segment_and_its_iput_evicts_it(version: str) -> None:
    k, mem, task = setup(version)
    shmid, _, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    assert run(k, shmem.igrab(k, inode)) is inode  # as shmem_unuse_inode() does
    assert run(k, shmem.shm_rmid(k, shmid), task) == 0  # shm_destroy: the last file ref
    assert shmid not in k.shm_segments and inode.dentry_released
    assert inode.i_count == 1 and not inode.evicted and inode.i_swap == {0: entry}
    run(k, shmem.iput(k, inode))
    assert inode.evicted and inode.i_swap == {} and inode.swapped == 0
    assert inode.next_index == 0 and not inode.flags & shmem.SHMEM_TRUNCATE
    assert k.shmem_swaplist == []
    assert mem.memsw.usage == mem.res.usage  # the swap record went with the entry
    assert invariants.check_all(k) == []


def test_unuse_after_the_segment_is_gone_but_before_iput(version: str) -> None:
    """swapoff won the igrab: the page goes into the inode's cache, the eviction at the
    iput that follows truncates it: nothing stays charged."""
    k, mem, task = setup(version)
    shmid, page, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    locked_swap_page(k, entry)
    assert run(k, shmem.igrab(k, inode)) is inode  # keep it across the destroy
    assert run(k, shmem.shm_rmid(k, shmid), task) == 0
    assert run(k, shmem.shmem_unuse(k, entry, page)) == 1
    assert inode.mapping.page_tree == {0: page} and inode.flags & shmem.SHMEM_PAGEIN
    assert inode.i_count == 1  # the unuse's own reference came and went
    run(k, shmem.iput(k, inode))
    assert inode.evicted and inode.mapping.nrpages == 0
    assert not PageCgroupUsed(page.page_cgroup)
    assert mem.res.usage == 0 and mem.memsw.usage == 0
    assert mem.stat[MEM_CGROUP_STAT_CACHE] == 0
    assert invariants.check_all(k) == []


def test_unuse_of_an_inode_being_evicted_leaves_the_entry_alone(version: str) -> None:
    k, mem, task = setup(version)
    shmid, page, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    locked_swap_page(k, entry)
    charged = mem.res.usage
    inode.i_state |= shmem.I_FREEING  # generic_delete_inode() has begun
    assert run(k, shmem.shmem_unuse(k, entry, page)) == 1  # "found": igrab() failed
    assert inode.i_swap == {0: entry} and inode.mapping.nrpages == 0
    assert PageSwapCache(page) and not PageLocked(page) and mem.res.usage == charged


def test_truncation_hides_the_entries_it_is_freeing(version: str) -> None:
    k, _, task = setup(version)
    shmid, page, entry = swap_out_segment_page(k, task)
    inode = k.shm_segments[shmid]
    locked_swap_page(k, entry)
    inode.next_index = 0  # as shmem_truncate_range() lowered it
    inode.flags |= shmem.SHMEM_TRUNCATE
    assert run(k, shmem.shmem_unuse(k, entry, page)) == 0  # not found: page still locked
    assert inode.i_swap == {0: entry} and k.shmem_swaplist == [inode]


@pytest.mark.parametrize("pagein", [True, False])
def test_the_second_pass_runs_only_after_a_pagein(version: str, pagein: bool) -> None:
    """shmem_truncate_range() truncates the page cache again only if nrpages and
    SHMEM_PAGEIN (its callers truncated it before; a page found there came in since)."""
    k, mem, task = setup(version)
    assert task.mm is not None
    shmid, addr = attach(k, task, 1)
    run(k, shmem.shmdt(k, task.mm, addr), task)
    inode = k.shm_segments[shmid]
    assert inode.flags & shmem.SHMEM_PAGEIN and inode.next_index == 1
    if not pagein:
        inode.flags &= ~shmem.SHMEM_PAGEIN
    run(k, shmem.shmem_truncate_range(k, inode, 0))
    assert inode.next_index == 0
    assert inode.mapping.nrpages == (0 if pagein else 1)
    assert mem.res.usage == (0 if pagein else PAGE_SIZE)


def test_writepage_does_not_list_an_inode_being_freed(version: str) -> None:
    """shmem_writepage() puts the inode on shmem_swaplist only if its igrab() succeeds."""
    k, _, task = setup(version)
    assert task.mm is not None
    swapfile.sys_swapon(k, 64)
    shmid, addr = attach(k, task, 1)
    run(k, shmem.shmdt(k, task.mm, addr), task)
    inode = k.shm_segments[shmid]
    page = locked_segment_page(k, task, shmid, 0)
    ClearPageDirty(page)
    inode.i_state |= shmem.I_FREEING
    assert run(k, shmem.shmem_writepage(k, page), task) == 0
    assert inode.i_swap and k.shmem_swaplist == [] and inode.i_count == 1


def test_charged_reachable_catches_a_page_put_into_an_evicted_inode(version: str) -> None:
    """The leak igrab() prevents, built by hand: after the segment's inode was evicted, a
    page is charged and put into its page cache (what shmem_unuse_inode() inserting into
    an inode it had not pinned would leave). Nothing will truncate that cache again, so
    the charge stays for good, and the invariant names the page."""
    k, mem, task = setup(version)
    assert task.mm is not None
    shmid, addr = attach(k, task, 1)
    inode = k.shm_segments[shmid]
    assert run(k, shmem.shm_rmid(k, shmid), task) == 0
    assert run(k, shmem.shmdt(k, task.mm, addr), task) == 0
    assert inode.evicted and mem.res.usage == 0
    assert invariants.check_charged_reachable(k) == []

    async def insert_into_the_dead_inode() -> Page:
        page = await page_alloc.alloc_pages(k, GFP_HIGHUSER, "shmem_alloc_page")
        assert page is not None
        SetPageSwapBacked(page)
        assert not await memcontrol.mem_cgroup_cache_charge(k, page, task.mm, GFP_KERNEL)
        assert not await filemap.add_to_page_cache_lru(k, page, inode.mapping, 0,
                                                       GFP_NOWAIT)
        unlock_page(page)
        page_alloc.put_page(k, page)
        return page

    page = run(k, insert_into_the_dead_inode(), task)
    run(k, swap.lru_add_drain(k), task)
    assert PageCgroupUsed(page.page_cgroup) and mem.res.usage == PAGE_SIZE
    found = invariants.check_charged_reachable(k)
    assert len(found) == 1 and found[0].startswith(f"{page!r} charged to")
    assert invariants.check_all(k, ["charged_reachable"]) == [f"charged_reachable: {found[0]}"]
