"""mm/page_alloc.c (2.6.30, 2.6.31) and the page-release half of mm/swap.c: the frame
allocator of the one zone, and put_page().

Abstractions: one zone, order-0 pages only, no per-CPU page lists and no buddy system: a
frame is a pfn, handed out lowest-freed-first (``k.free_pfns`` is a heap), else the next
never-used pfn; ``k.pages`` holds every allocated page by pfn. Every allocation gets a
fresh :class:`Page` and, unless its frame was freed still PCG_USED, a fresh
:class:`PageCgroup` (``pc.page`` set). A frame freed still PCG_USED keeps its pc (the
kernel's page_cgroup array outlives the page, and free_pages_check() does not look at it):
the charge stays in res/memsw, and the next page of the frame inherits the pc, as in C.
Watermarks: an allocation succeeds while the zone stays above ``pages_low`` (first pass) or
``pages_min`` (slow path; ALLOC_HIGH/ALLOC_HARDER lower it); a TIF_MEMDIE task ignores
watermarks (ALLOC_NO_WATERMARKS). kswapd is not woken. ``bad_page()`` is a
:class:`KernelBug` (a finding) instead of a printk that leaks the page.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from swaplab.kernel import oom_kill, swap, timer, vmscan
from swaplab.kernel.errno import BUG_ON, KernelBug
from swaplab.kernel.gfp import __GFP_FS, __GFP_HIGH, __GFP_WAIT
from swaplab.kernel.kernel import HZ
from swaplab.kernel.mm_types import Page, PageAnon, page_mapcount
from swaplab.kernel.mmzone import NR_FREE_PAGES, NR_MLOCK, lru_lock_held
from swaplab.kernel.page_cgroup import PageCgroup, PageCgroupUsed
from swaplab.kernel.page_flags import (
    PageLRU,
    PageMlocked,
    PG_active,
    PG_buddy,
    PG_lru,
    PG_mlocked,
    PG_private,
    PG_swapcache,
    PG_unevictable,
    PG_writeback,
    page_check_live,
)
from swaplab.kernel.sync import (
    cond_resched,
    current,
    plain_write,
    spin_lock_held,
    trace,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import VmAreaStruct

#: include/linux/page-flags.h: PAGE_FLAGS_CHECK_AT_FREE (the bits the model has).
PAGE_FLAGS_CHECK_AT_FREE = (
    PG_lru | PG_private | PG_writeback | PG_swapcache | PG_active | PG_buddy | PG_unevictable
    | PG_mlocked
)


def nr_free_pages(k: Kernel) -> int:
    """mm/page_alloc.c: nr_free_pages(): free frames of the zone."""
    return k.nr_free_pages


def _set_free(k: Kernel, nr: int) -> None:
    k.nr_free_pages = nr
    k.zone.vm_stat[NR_FREE_PAGES] = nr


def _take_frame(k: Kernel) -> Page:
    """mm/page_alloc.c: buffered_rmqueue() + prep_new_page(): one frame, ``_count == 1``.
    The free lists change under zone->lock (taken in plain code: every section of it
    runs inside one step)."""
    with spin_lock_held(k.zone.lock):
        if k.free_pfns:
            pfn = heapq.heappop(k.free_pfns)
        else:
            pfn = k.next_pfn
            k.next_pfn += 1
        _set_free(k, k.nr_free_pages - 1)
    pc = k.zone.node_page_cgroup.pop(pfn, None) or PageCgroup()
    page = Page(pfn, pc)
    pc.page = page
    k.pages[pfn] = page
    return page


def _watermark_ok(k: Kernel, mark: int) -> bool:
    """mm/page_alloc.c: zone_watermark_ok() for order 0: free pages stay above ``mark``."""
    return k.nr_free_pages - 1 >= mark


def get_page_from_freelist(k: Kernel, mark: int) -> Page | None:
    """mm/page_alloc.c: get_page_from_freelist() for the one zone; ``mark`` < 0 means
    ALLOC_NO_WATERMARKS."""
    if k.nr_free_pages <= 0:
        return None
    if mark >= 0 and not _watermark_ok(k, mark):
        return None
    return _take_frame(k)


def gfp_to_min_mark(k: Kernel, gfp: int) -> int:
    """mm/page_alloc.c: the slow path's ALLOC_WMARK_MIN, lowered by zone_watermark_ok() for
    ALLOC_HIGH (__GFP_HIGH: min/2) and then ALLOC_HARDER (!__GFP_WAIT: min/4)."""
    mark = k.zone.pages_min
    if gfp & __GFP_HIGH:
        mark -= mark // 2
    if not gfp & __GFP_WAIT:
        mark -= mark // 4
    return mark


async def alloc_pages(k: Kernel, gfp: int, site: str = "alloc_page") -> Page | None:
    """mm/page_alloc.c: __alloc_pages_internal() [30] / __alloc_pages_slowpath() [31],
    order 0 (same behaviour for order 0).

    Fast path at ``pages_low``; slow path at ``pages_min`` (lowered for __GFP_HIGH and for
    atomic callers). A TIF_MEMDIE task then takes any free frame, or fails (nopage: no
    endless looping of an OOM victim). Without __GFP_WAIT it fails there. Else direct
    reclaim (``vmscan.try_to_free_pages``); no progress and __GFP_FS -> the global OOM
    killer (``oom_kill.out_of_memory``) and restart; progress without a page ->
    congestion_wait(HZ/50) (a timed sleep that polls: other threads free pages meanwhile)
    and retry. Order-0 allocations retry forever, as in the kernel. Deviations: no kswapd
    wake-up, no PF_MEMALLOC, no cpusets, no __GFP_NOFAIL/NORETRY distinctions.
    """
    page = get_page_from_freelist(k, k.zone.pages_low)
    if page is not None:
        trace(k, site, "-> {!r}", page)
        return page
    mark = gfp_to_min_mark(k, gfp)
    while True:
        page = get_page_from_freelist(k, mark)
        if page is not None:
            break
        task = current(k).task
        if task is not None and task.memdie:
            page = get_page_from_freelist(k, -1)
            if page is not None:
                break
            trace(k, site, "-> NULL (TIF_MEMDIE, nothing free)")
            return None
        if not gfp & __GFP_WAIT:
            trace(k, site, "-> NULL (atomic)")
            return None
        await cond_resched(k, "__alloc_pages")
        progress = await vmscan.try_to_free_pages(k, gfp)
        page = get_page_from_freelist(k, mark)
        if page is not None:
            break
        if not progress and gfp & __GFP_FS:
            await oom_kill.out_of_memory(k, gfp)
            continue
        await timer.congestion_wait(k, HZ // 50, "__alloc_pages: congestion_wait", poll=True)
    trace(k, site, "-> {!r} (slow path)", page)
    return page


async def alloc_page_vma(k: Kernel, gfp: int, vma: VmAreaStruct | None, addr: int) -> Page | None:
    """mm/mempolicy.c: alloc_page_vma(): no NUMA policy in the model, so alloc_pages()."""
    return await alloc_pages(k, gfp, "alloc_page_vma")


def free_pages_check(page: Page) -> list[str]:
    """mm/page_alloc.c: free_pages_check() (2.6.30, 2.6.31): what makes ``page`` bad to
    free: mapped, referenced, with a mapping, or a flag of PAGE_FLAGS_CHECK_AT_FREE (PG_locked
    is one). There is no page_cgroup test in either version: a page freed while still
    PCG_USED is freed, and its charge stays (see :func:`__free_page`)."""
    bad = []
    if page_mapcount(page) != 0:
        bad.append(f"mapcount {page_mapcount(page)}")
    if page.mapping is not None:
        bad.append("mapping")
    if page._count != 0:
        bad.append(f"count {page._count}")
    if page.flags & PAGE_FLAGS_CHECK_AT_FREE:
        bad.append(f"flags {page.flags & PAGE_FLAGS_CHECK_AT_FREE:#x}")
    if page.lock.holder is not None:
        bad.append("locked")
    return bad


def _keep_used_page_cgroup(k: Kernel, page: Page) -> None:
    """The page_cgroup of a page freed while PCG_USED stays USED, charged to its memcg
    (res, memsw and the css reference), in the zone's ``node_page_cgroup`` under the pfn:
    nothing on the free path uncharges it. Only the pc's memcg LRU link would go, and
    __page_cache_release() already took the page off the LRU."""
    pc = page.page_cgroup
    if PageCgroupUsed(pc):
        k.zone.node_page_cgroup[page.pfn] = pc
        trace(k, "__free_page()", "{!r} freed with PCG_USED: {!r} stays charged",
              page, pc.mem_cgroup)


def __free_page(k: Kernel, page: Page) -> None:
    """mm/page_alloc.c: __free_pages() -> free_hot_cold_page() + free_pages_check().

    [31] clears PG_mlocked first (free_page_mlock, NR_MLOCK--); [30] does the same inside
    free_pages_check(). An anon page's mapping is reset. A page that fails
    free_pages_check() is a :class:`KernelBug` (bad_page()). A page still charged
    (PCG_USED) is freed like any other and stays charged (the leak 2.6.30/2.6.31 allow;
    the ``used_free_page`` invariant reports it). The freed page is marked PG_buddy, so a
    later use through a stale pointer is reported (page_flags.page_check_live()).
    """
    plain_write(page)  # the page is ours: its last reference went
    if PageMlocked(page):
        page.flags &= ~PG_mlocked
        k.zone.vm_stat[NR_MLOCK] -= 1
    if PageAnon(page):
        page.mapping = None
    bad = free_pages_check(page)
    if bad:
        raise KernelBug(f"bad_page: {page!r}: {', '.join(bad)}")
    _keep_used_page_cgroup(k, page)
    page.flags = PG_buddy  # __free_one_page(): the frame is in the buddy lists
    page.private = 0
    del k.pages[page.pfn]
    with spin_lock_held(k.zone.lock):
        heapq.heappush(k.free_pfns, page.pfn)
        _set_free(k, k.nr_free_pages + 1)
    trace(k, "__free_page()", "{!r}", page)


def __page_cache_release(k: Kernel, page: Page) -> None:
    """mm/swap.c: __page_cache_release(): off the LRU under zone->lru_lock, then free.

    Deviation: a plain function (the contract's put_page is plain): zone->lru_lock is taken
    and released within the step, which is exact as long as nobody holds lru_lock across an
    interleaving point (no model path does); it is a :class:`KernelBug` if someone does.
    """
    if PageLRU(page):
        with lru_lock_held(k.zone, "put_page", page):
            page.flags &= ~PG_lru
            swap.del_page_from_lru(k, page)
    __free_page(k, page)


def put_page(k: Kernel, page: Page) -> None:
    """mm/swap.c: put_page(): drop a reference; the last one frees the page
    (put_page_testzero -> __page_cache_release)."""
    page_check_live(page, "put_page()")
    BUG_ON(page._count <= 0, "put_page({!r}) with count {}", page, page._count)
    plain_write(page)  # an atomic decrement others test without a lock
    page._count -= 1
    if page._count == 0:
        __page_cache_release(k, page)
