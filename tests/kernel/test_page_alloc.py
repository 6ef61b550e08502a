"""page_alloc.py against mm/page_alloc.c and mm/swap.c: put_page (2.6.30, 2.6.31)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from kernel_helpers import make_kernel, new_task, run, usage_pages

from swaplab.kernel import invariants, memcontrol, page_alloc, rmap, swap, sync
from swaplab.kernel.errno import KernelBug
from swaplab.kernel.gfp import GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import (
    LRU_INACTIVE_ANON,
    PAGE_SIZE,
    Page,
    get_page,
    get_page_unless_zero,
)
from swaplab.kernel.mmzone import NR_FREE_PAGES, NR_MLOCK
from swaplab.kernel.page_cgroup import PCG_USED
from swaplab.kernel.page_flags import (
    PG_buddy,
    PG_lru,
    PG_mlocked,
    PG_referenced,
    PG_swapbacked,
    PG_swapcache,
    SetPageFlag,
)


def test_alloc_gives_one_ref_and_a_fresh_page_cgroup(version: str) -> None:
    k = make_kernel(version)
    free = page_alloc.nr_free_pages(k)
    assert free == 16384 == k.zone.vm_stat[NR_FREE_PAGES]
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    assert page is not None
    assert page._count == 1 and page._mapcount == -1
    assert page.page_cgroup.page is page and page.page_cgroup.flags == 0
    assert page_alloc.nr_free_pages(k) == free - 1
    assert k.zone.vm_stat[NR_FREE_PAGES] == free - 1
    assert k.pages[page.pfn] is page


def test_put_page_frees_and_the_lowest_pfn_is_reused_first() -> None:
    k = make_kernel()
    pages = [run(k, page_alloc.alloc_pages(k, GFP_KERNEL)) for _ in range(3)]
    assert [p.pfn for p in pages] == [0, 1, 2]
    free = page_alloc.nr_free_pages(k)
    page_alloc.put_page(k, pages[2])
    page_alloc.put_page(k, pages[1])
    assert page_alloc.nr_free_pages(k) == free + 2
    assert k.zone.vm_stat[NR_FREE_PAGES] == free + 2
    assert 1 not in k.pages and 2 not in k.pages
    again = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    assert again.pfn == 1 and again is not pages[1]
    assert again.page_cgroup is not pages[1].page_cgroup


def test_put_page_keeps_a_referenced_page() -> None:
    k = make_kernel()
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    page._count += 1
    free = page_alloc.nr_free_pages(k)
    page_alloc.put_page(k, page)
    assert page._count == 1 and page_alloc.nr_free_pages(k) == free


def test_last_put_page_takes_the_page_off_the_lru() -> None:
    k = make_kernel()
    task = new_task(k)
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    page.flags |= PG_swapbacked

    async def body() -> None:
        await swap.lru_cache_add_anon(k, page)
        await swap.lru_add_drain(k)

    run(k, body(), task)
    assert page.flags & PG_lru and page in k.zone.lru[LRU_INACTIVE_ANON]
    assert page._count == 1
    page_alloc.put_page(k, page)
    assert page not in k.zone.lru[LRU_INACTIVE_ANON]
    assert page.pfn not in k.pages


@pytest.mark.parametrize("bad", ["mapped", "swapcache", "locked"])
def test_freeing_a_busy_page_is_a_bug(bad: str) -> None:
    k = make_kernel()
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    if bad == "mapped":
        page._mapcount = 0
    elif bad == "swapcache":
        page.flags |= PG_swapcache
    else:
        page.lock.take(0)
    with pytest.raises(KernelBug):
        page_alloc.put_page(k, page)


def _charged_page(k: Kernel) -> Page:
    """A fresh page charged (PCG_USED) to the root memcg like a new anon page."""
    task = new_task(k)
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    assert run(k, memcontrol.mem_cgroup_newpage_charge(k, page, task.mm, GFP_KERNEL)) == 0
    assert page.page_cgroup.flags & PCG_USED and usage_pages(k) == 1
    return page


def test_freeing_a_charged_page_frees_it_and_leaves_the_charge(version: str) -> None:
    """mm/page_alloc.c: free_pages_check() has no page_cgroup test in 2.6.30 or 2.6.31:
    the frame is freed, res and memsw stay charged, used_free_page reports the pc."""
    k = make_kernel(version)
    page = _charged_page(k)
    free = page_alloc.nr_free_pages(k)
    page_alloc.put_page(k, page)  # no KernelBug
    assert page.pfn not in k.pages and page_alloc.nr_free_pages(k) == free + 1
    root = k.root_mem_cgroup
    assert root is not None
    assert usage_pages(k) == 1 and root.memsw.usage == PAGE_SIZE
    assert k.zone.node_page_cgroup == {page.pfn: page.page_cgroup}
    assert invariants.check(k, "used_free_page") == [
        f"free pfn {page.pfn} has a PCG_USED page_cgroup: {root!r} stays charged one page"]
    assert invariants.check(k, "res")  # res.usage counts a page no live page carries


def test_the_next_page_of_the_frame_inherits_the_used_page_cgroup(version: str) -> None:
    """The frame's pc outlives the page: its next page gets the USED pc, and
    mm/memcontrol.c: __mem_cgroup_commit_charge() undoes the new charge (already USED),
    so the stuck charge becomes the new page's and every invariant holds again."""
    k = make_kernel(version)
    page = _charged_page(k)
    pc = page.page_cgroup
    page_alloc.put_page(k, page)
    again = _charged_page(k)  # the charge is undone: usage stays 1
    assert again.pfn == page.pfn and again.page_cgroup is pc and pc.page is again
    assert k.zone.node_page_cgroup == {} and usage_pages(k) == 1
    assert invariants.check_all(k) == []


def test_put_page_below_zero_is_a_bug() -> None:
    k = make_kernel()
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    page_alloc.put_page(k, page)
    with pytest.raises(KernelBug, match=r"use-after-free: put_page\(\) on page#0"):
        page_alloc.put_page(k, page)


USES: dict[str, Callable[[Kernel, Page], object]] = {
    "get_page()": lambda k, page: get_page(page),
    "set_bit(page->flags)": lambda k, page: SetPageFlag(page, PG_referenced),
    "lock_page()": lambda k, page: run(k, sync.lock_page(k, page)),
    "trylock_page()": lambda k, page: run(k, sync.trylock_page(k, page)),
    "page_remove_rmap()": lambda k, page: run(k, rmap.page_remove_rmap(k, page)),
    "page_dup_rmap()": lambda k, page: rmap.page_dup_rmap(page),
}


@pytest.mark.parametrize("use", sorted(USES))
def test_a_stale_page_pointer_is_a_use_after_free(use: str) -> None:
    """A freed page is marked PG_buddy and its Page never reused: a later use through a
    stale pointer is reported with the access and the page, even after the frame has a new
    page; get_page_unless_zero() on it fails, as speculative references must."""
    k = make_kernel()
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    page_alloc.put_page(k, page)
    again = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    assert again.pfn == page.pfn and page.flags & PG_buddy and not again.flags & PG_buddy
    assert not get_page_unless_zero(page)
    with pytest.raises(KernelBug, match=rf"use-after-free: {re.escape(use)} on page#0"):
        USES[use](k, page)


def test_free_clears_mlocked_and_nr_mlock() -> None:
    k = make_kernel()
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    page.flags |= PG_mlocked
    k.zone.vm_stat[NR_MLOCK] = 1
    page_alloc.put_page(k, page)
    assert k.zone.vm_stat[NR_MLOCK] == 0


def _drain_to(k: Kernel, left: int) -> None:
    while k.nr_free_pages > left:
        assert page_alloc.get_page_from_freelist(k, -1) is not None


def test_watermarks_without_wait(version: str) -> None:
    """First pass at pages_low; the slow path at pages_min, minus min/2 for __GFP_HIGH
    (ALLOC_HIGH), then minus a quarter for !__GFP_WAIT (ALLOC_HARDER); without __GFP_WAIT
    no reclaim: NULL."""
    k = make_kernel(version)
    zone = k.zone
    assert (zone.pages_min, zone.pages_low) == (256, 320)  # 64 MB: min_free_kbytes 1024
    _drain_to(k, zone.pages_low + 1)
    assert run(k, page_alloc.alloc_pages(k, GFP_NOWAIT)) is not None
    assert page_alloc.gfp_to_min_mark(k, GFP_NOWAIT) == 192
    assert page_alloc.gfp_to_min_mark(k, GFP_ATOMIC) == 96
    assert page_alloc.gfp_to_min_mark(k, GFP_KERNEL) == 256
    _drain_to(k, 193)
    assert run(k, page_alloc.alloc_pages(k, GFP_NOWAIT)) is not None
    assert k.nr_free_pages == 192
    assert run(k, page_alloc.alloc_pages(k, GFP_NOWAIT)) is None
    assert run(k, page_alloc.alloc_pages(k, GFP_ATOMIC)) is not None
    _drain_to(k, 96)
    assert run(k, page_alloc.alloc_pages(k, GFP_ATOMIC)) is None


def test_an_oom_victim_ignores_watermarks_and_never_loops() -> None:
    k = make_kernel()
    task = new_task(k)
    _drain_to(k, 1)
    assert run(k, page_alloc.alloc_pages(k, GFP_NOWAIT), task) is None
    task.memdie = True
    assert run(k, page_alloc.alloc_pages(k, GFP_KERNEL), task) is not None
    assert k.nr_free_pages == 0
    assert run(k, page_alloc.alloc_pages(k, GFP_KERNEL), task) is None
