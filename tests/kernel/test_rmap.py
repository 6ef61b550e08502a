"""rmap.py against mm/rmap.c (2.6.30, 2.6.31): mapcounts, page_referenced, try_to_unmap,
page_remove_rmap."""

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

from swaplab.kernel import fork, mlock, rmap, swap, swap_state, swapfile
from swaplab.kernel.errno import KernelBug
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import PAGE_SHIFT, PAGE_SIZE, AnonVma, Page, TaskStruct
from swaplab.kernel.mmzone import NR_ANON_PAGES
from swaplab.kernel.page_flags import PageSwapCache, PG_dirty, PG_referenced
from swaplab.kernel.sync import lock_page, unlock_page


def setup(version: str, npages: int = 1) -> tuple[Kernel, TaskStruct, int]:
    k = make_kernel(version)
    task = new_task(k)
    addr = mmap_anon(k, task, npages)
    touch(k, task, addr, npages)
    run(k, swap.lru_add_drain(k), task)
    return k, task, addr


def test_remove_rmap_of_the_last_mapping_uncharges_an_anon_page(version: str) -> None:
    k, task, addr = setup(version)
    parent_page = page_at(task, addr)
    child = run(k, fork.do_fork(k, task), task)
    assert parent_page._mapcount == 1
    run(k, rmap.page_remove_rmap(k, parent_page))
    assert parent_page._mapcount == 0 and usage_pages(k) == 1
    assert k.zone.vm_stat[NR_ANON_PAGES] == 1
    run(k, rmap.page_remove_rmap(k, parent_page))
    assert parent_page._mapcount == -1 and usage_pages(k) == 0
    assert k.zone.vm_stat[NR_ANON_PAGES] == 0
    assert child.mm is not None


def test_remove_rmap_below_minus_one_is_a_bug() -> None:
    k, task, addr = setup("2.6.31")
    page = page_at(task, addr)
    run(k, rmap.page_remove_rmap(k, page))
    with pytest.raises(KernelBug):
        run(k, rmap.page_remove_rmap(k, page))


def test_page_referenced_tests_and_clears_young_ptes(version: str) -> None:
    k, task, addr = setup(version)
    page = page_at(task, addr)
    child = run(k, fork.do_fork(k, task), task)
    assert child.mm is not None and task.mm is not None
    # the parent's pte is young (just touched), the child's is old (pte_mkold)
    page.flags |= PG_referenced
    flags: list[int] = []
    assert run(k, rmap.page_referenced(k, page, 0, None, flags)) == 2
    assert not page.flags & PG_referenced
    assert not task.mm.ptes[addr >> PAGE_SHIFT].young
    assert run(k, rmap.page_referenced(k, page, 0, None)) == 0
    # [31] reports the referencing vmas' flags
    touch(k, child, addr, write=False)
    flags = []
    assert run(k, rmap.page_referenced(k, page, 0, None, flags)) == 1
    assert flags == ([child.mm.mmap[0].vm_flags] if version == "2.6.31" else [0])


def test_page_referenced_for_a_memcg_counts_only_its_mms() -> None:
    """page_referenced_anon(mem_cont): memcg reclaim skips the vmas of mms whose owner is
    in another memcg (mm_match_cgroup)."""
    from swaplab.kernel import cgroup

    k, task, addr = setup("2.6.31")
    page = page_at(task, addr)
    child = run(k, fork.do_fork(k, task), task)
    sub = cgroup.cgroup_mkdir(k, k.cgroup_root, "A")
    assert not isinstance(sub, int) and sub.memcg is not None
    assert cgroup.cgroup_attach_task(k, sub, child) == 0
    touch(k, child, addr, write=False)  # the child's pte young too
    assert task.mm is not None and child.mm is not None
    assert run(k, rmap.page_referenced(k, page, 0, sub.memcg)) == 1
    assert task.mm.ptes[addr >> PAGE_SHIFT].young  # not A's: untouched
    assert not child.mm.ptes[addr >> PAGE_SHIFT].young
    assert run(k, rmap.page_referenced(k, page, 0, k.root_mem_cgroup)) == 1
    assert not task.mm.ptes[addr >> PAGE_SHIFT].young


async def _unmap(k: Kernel, page: Page) -> int:
    await lock_page(k, page)
    ret = await rmap.try_to_unmap(k, page, 0)
    unlock_page(page)
    return ret


def test_try_to_unmap_young_pte_fails_and_clears_young(version: str) -> None:
    k, task, addr = setup(version)
    page = page_at(task, addr)
    assert run(k, _unmap(k, page)) == rmap.SWAP_FAIL
    assert page._mapcount == 0
    assert task.mm is not None and not task.mm.ptes[addr >> PAGE_SHIFT].young


def test_try_to_unmap_of_an_mlocked_vma_is_swap_mlock() -> None:
    k, task, addr = setup("2.6.31")
    assert task.mm is not None
    assert run(k, mlock.sys_mlock(k, task.mm, addr, PAGE_SIZE), task) == 0
    page = page_at(task, addr)
    assert run(k, _unmap(k, page)) == rmap.SWAP_MLOCK
    assert page._mapcount == 0


def swap_out_ptes(k: Kernel, page: Page) -> int:
    """add_to_swap + try_to_unmap, as shrink_page_list does (ptes made old first)."""
    assert isinstance(page.mapping, AnonVma)
    for vma in list(page.mapping.head):
        pte = vma.vm_mm.ptes.get(vma.address_of(page.index) >> PAGE_SHIFT)
        if pte is not None:
            pte.young = False

    async def body() -> int:
        await lock_page(k, page)
        assert await swap_state.add_to_swap(k, page) == 1
        ret = await rmap.try_to_unmap(k, page, 0)
        unlock_page(page)
        return ret

    return int(run(k, body()))


def test_try_to_unmap_swap_cache_page_leaves_swap_ptes(version: str) -> None:
    k, task, addr = setup(version)
    swapfile.sys_swapon(k, 64)
    child = run(k, fork.do_fork(k, task), task)
    page = page_at(task, addr)
    page._count += 1  # the reclaimer's isolation ref
    assert page._count == 3
    assert swap_out_ptes(k, page) == rmap.SWAP_SUCCESS
    entry = page.private
    assert PageSwapCache(page) and page.flags & PG_dirty
    for t in (task, child):
        assert t.mm is not None
        pte = t.mm.ptes[addr >> PAGE_SHIFT]
        assert pte.page is None and pte.swp == entry
        assert t.mm.anon_rss == 0 and t.mm.on_mmlist
    assert page._mapcount == -1
    assert page._count == 2  # the reclaimer's + the swap cache's
    si = k.swap_info[swapfile.swp_type(entry)]
    value = si.swap_map[swapfile.swp_offset(entry)]
    assert value == (3 if version == "2.6.30" else 0x8002)
    assert usage_pages(k) == 1  # unmapping a swap-cache page never uncharges it


def test_try_to_unmap_anon_page_outside_swap_cache_is_a_bug() -> None:
    k, task, addr = setup("2.6.31")
    page = page_at(task, addr)
    assert task.mm is not None
    task.mm.ptes[addr >> PAGE_SHIFT].young = False
    with pytest.raises(KernelBug):
        run(k, _unmap(k, page))


def test_shmem_page_rmap_through_the_mapping(version: str) -> None:
    """A shared anonymous (shmem) page: page_add_file_rmap per mapping (NR_FILE_MAPPED
    once), page_referenced_file and try_to_unmap_file walk the file's vmas."""
    from swaplab.kernel import mmap
    from swaplab.kernel.mmzone import NR_FILE_MAPPED

    k = make_kernel(version)
    parent = new_task(k)
    addr = mmap_anon(k, parent, 2, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    touch(k, parent, addr)
    child = run(k, fork.do_fork(k, parent), parent)
    assert child.mm is not None and parent.mm is not None
    assert (addr >> PAGE_SHIFT) not in child.mm.ptes  # shared vmas are not copied
    touch(k, child, addr, write=False)
    page = page_at(parent, addr)
    assert page_at(child, addr) is page
    assert page._mapcount == 1 and k.zone.vm_stat[NR_FILE_MAPPED] == 1
    assert parent.mm.file_rss == 1 and child.mm.file_rss == 1
    run(k, swap.lru_add_drain(k))
    count = page._count  # page cache + 2 ptes
    assert run(k, rmap.page_referenced(k, page, 0, None)) == 2
    for t in (parent, child):
        assert t.mm is not None
        assert not t.mm.ptes[addr >> PAGE_SHIFT].young
    assert run(k, _unmap(k, page)) == rmap.SWAP_SUCCESS
    assert page._mapcount == -1 and page._count == count - 2
    assert (addr >> PAGE_SHIFT) not in parent.mm.ptes
    assert (addr >> PAGE_SHIFT) not in child.mm.ptes
    assert parent.mm.file_rss == 0 and child.mm.file_rss == 0
    assert k.zone.vm_stat[NR_FILE_MAPPED] == 0
    assert usage_pages(k) == 1  # still in the shmem page cache, still charged
