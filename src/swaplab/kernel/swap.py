"""mm/swap.c and include/linux/mm_inline.h (identical in 2.6.30 and 2.6.31): the zone LRU
lists, the per-CPU LRU-add pagevecs, and the batched page release.

Abstractions: one zone, so the "switch lru_lock when the zone changes" loops take the lock
once; the zone counters NR_INACTIVE_ANON.. are the lengths of ``k.zone.lru``; the
lru_rotate pagevec (rotate_reclaimable_page, used only after writeback with PG_reclaim) is
left out. update_page_reclaim_stat() counts every page added to an LRU by the pagevec
(rotated when it goes to an active list) and every activation, in the zone's and the
page's memcg's reclaim_stat (mmzone.ZoneReclaimStat). CONFIG_UNEVICTABLE_LRU is
on in both versions. The per-CPU pagevec is detached from ``k.lru_add_pvecs`` before its
drain waits for zone->lru_lock: in the kernel preemption is off, so no other thread of that
CPU can see the pagevec meanwhile; in the model threads of one CPU may interleave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import memcontrol, page_alloc, vmscan
from swaplab.kernel.errno import VM_BUG_ON
from swaplab.kernel.kernel import PAGEVEC_SIZE
from swaplab.kernel.mm_types import (
    LRU_ACTIVE,
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_BASE,
    LRU_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    NR_LRU_LISTS,
    AddressSpace,
    Page,
    get_page,
    page_is_file_cache,
)
from swaplab.kernel.page_flags import (
    PageActive,
    PageLRU,
    PageReferenced,
    PageSwapCache,
    PageUnevictable,
    PG_active,
    PG_lru,
    PG_referenced,
    PG_unevictable,
)
from swaplab.kernel.sync import (
    atomic_rmw,
    current,
    plain_read,
    plain_write,
    spin_lock,
    spin_unlock,
    trace,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import VmAreaStruct


def is_active_lru(lru: int) -> bool:
    """include/linux/mmzone.h: is_active_lru()."""
    return lru in (LRU_ACTIVE_ANON, LRU_ACTIVE_FILE)


def is_file_lru(lru: int) -> bool:
    """include/linux/mmzone.h: is_file_lru()."""
    return lru in (LRU_INACTIVE_FILE, LRU_ACTIVE_FILE)


def is_unevictable_lru(lru: int) -> bool:
    """include/linux/mmzone.h: is_unevictable_lru()."""
    return lru == LRU_UNEVICTABLE


def page_lru(page: Page) -> int:
    """include/linux/mm_inline.h: page_lru(): the list the page's flags say it belongs on."""
    if PageUnevictable(page):
        return LRU_UNEVICTABLE
    lru = LRU_BASE
    if PageActive(page):
        lru += LRU_ACTIVE
    if page_is_file_cache(page):
        lru += LRU_FILE
    return lru


def add_page_to_lru_list(k: Kernel, page: Page, lru: int) -> None:
    """include/linux/mm_inline.h: add_page_to_lru_list() (caller holds zone->lru_lock):
    list_add at the head of the zone list, then mem_cgroup_add_lru_list()."""
    k.zone.lru[lru][page] = None
    page.lru = lru
    memcontrol.mem_cgroup_add_lru_list(k, page, lru)


def del_page_from_lru_list(k: Kernel, page: Page, lru: int) -> None:
    """include/linux/mm_inline.h: del_page_from_lru_list() (caller holds zone->lru_lock),
    with mem_cgroup_del_lru_list()."""
    VM_BUG_ON(page not in k.zone.lru[lru], "{!r} is not on LRU list {}", page, lru)
    del k.zone.lru[lru][page]
    page.lru = -1
    memcontrol.mem_cgroup_del_lru_list(k, page, lru)


def del_page_from_lru(k: Kernel, page: Page) -> None:
    """include/linux/mm_inline.h: del_page_from_lru(): the list follows from the flags;
    PG_active / PG_unevictable are cleared (caller holds zone->lru_lock)."""
    if PageUnevictable(page):
        page.flags &= ~PG_unevictable
        lru = LRU_UNEVICTABLE
    else:
        lru = LRU_BASE
        if PageActive(page):
            page.flags &= ~PG_active
            lru += LRU_ACTIVE
        if page_is_file_cache(page):
            lru += LRU_FILE
    del_page_from_lru_list(k, page, lru)


def update_page_reclaim_stat(k: Kernel, page: Page, file: int, rotated: bool) -> None:
    """mm/swap.c: update_page_reclaim_stat() (2.6.30 and 2.6.31 alike; caller holds
    zone->lru_lock): one more recently scanned page of type ``file`` (0 anon, 1 file), and
    one more rotated if ``rotated``, in the zone's statistics and in those of the memcg the
    page is charged to (none for an uncharged page)."""
    stats = [k.zone.reclaim_stat]
    memcg_stat = memcontrol.mem_cgroup_get_reclaim_stat_from_page(k, page)
    if memcg_stat is not None:
        stats.append(memcg_stat)
    for reclaim_stat in stats:
        reclaim_stat.recent_scanned[file] += 1
        if rotated:
            reclaim_stat.recent_rotated[file] += 1


async def release_pages(k: Kernel, pages: list[Page]) -> None:
    """mm/swap.c: release_pages(): drop one ref of each page; a page whose count reaches 0
    is taken off the LRU (zone->lru_lock taken lazily and kept for the rest) and freed.

    Deviation: the pages are freed right away instead of in a second pagevec after the
    lock is dropped (nothing can observe the difference: their count is 0).
    """
    lock = k.zone.lru_lock
    locked = False
    to_free: list[Page] = []
    for page in pages:
        VM_BUG_ON(page._count <= 0, "release_pages({!r}) with count {}", page, page._count)
        if not locked:  # put_page_testzero() races page_count() readers (pageout)
            await atomic_rmw(k, page, "release_pages: put_page_testzero")
        plain_write(page)
        page._count -= 1
        if page._count != 0:
            continue
        if PageLRU(page):
            if not locked:
                await spin_lock(k, lock, "release_pages")
                locked = True
            VM_BUG_ON(not PageLRU(page), "{!r} left the LRU under lru_lock", page)
            page.flags &= ~PG_lru
            del_page_from_lru(k, page)
        to_free.append(page)
    if locked:
        spin_unlock(lock)
    for page in to_free:
        page_alloc.__free_page(k, page)


async def ____pagevec_lru_add(k: Kernel, pvec: list[Page], lru: int) -> None:
    """mm/swap.c: ____pagevec_lru_add(): under zone->lru_lock set PG_lru (and PG_active
    for an active list) on each page and add it to ``lru``; then release_pages() drops the
    pagevec's references. ``pvec`` is emptied."""
    VM_BUG_ON(is_unevictable_lru(lru), "____pagevec_lru_add to the unevictable list")
    pages = list(pvec)
    pvec.clear()
    if not pages:
        return
    lock = k.zone.lru_lock
    await spin_lock(k, lock, "____pagevec_lru_add")
    for page in pages:
        VM_BUG_ON(PageActive(page), "{!r} active in a pagevec", page)
        VM_BUG_ON(PageUnevictable(page), "{!r} unevictable in a pagevec", page)
        VM_BUG_ON(PageLRU(page), "{!r} already on the LRU", page)
        page.flags |= PG_lru
        active = is_active_lru(lru)
        if active:
            page.flags |= PG_active
        update_page_reclaim_stat(k, page, int(is_file_lru(lru)), active)
        add_page_to_lru_list(k, page, lru)
    spin_unlock(lock)
    trace(k, "____pagevec_lru_add()", "{} pages to {}", len(pages), lru)
    await release_pages(k, pages)


async def __lru_cache_add(k: Kernel, page: Page, lru: int) -> None:
    """mm/swap.c: __lru_cache_add(): take a ref and park the page in this CPU's pagevec for
    ``lru``; the PAGEVEC_SIZE-th page drains the pagevec to the LRU."""
    pvecs = k.lru_add_pvecs[current(k).cpu]
    pvec = pvecs[lru]
    get_page(page)
    pvec.append(page)
    plain_write(pvecs)
    if len(pvec) >= PAGEVEC_SIZE:
        await ____pagevec_lru_add(k, pvec, lru)


async def lru_cache_add_lru(k: Kernel, page: Page, lru: int) -> None:
    """mm/swap.c: lru_cache_add_lru(): clear a stale PG_active/PG_unevictable (a page put
    back after isolation), then __lru_cache_add()."""
    if PageActive(page):
        VM_BUG_ON(PageUnevictable(page), "{!r} active and unevictable", page)
        page.flags &= ~PG_active
    elif PageUnevictable(page):
        page.flags &= ~PG_unevictable
    VM_BUG_ON(PageLRU(page), "lru_cache_add_lru({!r}) already on the LRU", page)
    await __lru_cache_add(k, page, lru)


async def lru_cache_add_anon(k: Kernel, page: Page) -> None:
    """include/linux/swap.h: lru_cache_add_anon()."""
    await __lru_cache_add(k, page, LRU_INACTIVE_ANON)


async def lru_cache_add_file(k: Kernel, page: Page) -> None:
    """include/linux/swap.h: lru_cache_add_file()."""
    await __lru_cache_add(k, page, LRU_INACTIVE_FILE)


async def add_page_to_unevictable_list(k: Kernel, page: Page) -> None:
    """mm/swap.c: add_page_to_unevictable_list(): straight onto the unevictable list under
    zone->lru_lock, bypassing the pagevecs."""
    lock = k.zone.lru_lock
    await spin_lock(k, lock, "add_page_to_unevictable_list")
    page.flags |= PG_unevictable | PG_lru
    add_page_to_lru_list(k, page, LRU_UNEVICTABLE)
    spin_unlock(lock)


def page_mapping(k: Kernel, page: Page) -> AddressSpace | None:
    """include/linux/mm.h: page_mapping(): swapper_space for swap cache, None for anon."""
    if PageSwapCache(page):
        return k.swapper_space
    mapping = page.mapping
    return mapping if isinstance(mapping, AddressSpace) else None


async def lru_cache_add_active_or_unevictable(k: Kernel, page: Page, vma: VmAreaStruct) -> None:
    """The LRU half of mm/rmap.c: page_add_new_anon_rmap() (2.6.30/31; the name is the
    2.6.33 helper's): a new anon page goes to the active anon list through the pagevec,
    or, faulted into a VM_LOCKED vma, straight onto the unevictable list."""
    if vmscan.page_evictable(k, page, vma):
        await lru_cache_add_lru(k, page, LRU_ACTIVE_ANON)
    else:
        await add_page_to_unevictable_list(k, page)


async def drain_cpu_pagevecs(k: Kernel, cpu: int) -> None:
    """mm/swap.c: drain_cpu_pagevecs(): every LRU-add pagevec of ``cpu`` (what it finds
    there is a plain read of the CPU's pagevecs)."""
    pvecs = k.lru_add_pvecs[cpu]
    plain_read(pvecs)
    for lru in range(NR_LRU_LISTS):
        pvec = pvecs[lru]
        if pvec:
            await ____pagevec_lru_add(k, pvec, lru)


async def lru_add_drain(k: Kernel) -> None:
    """mm/swap.c: lru_add_drain(): this CPU's pagevecs."""
    await drain_cpu_pagevecs(k, current(k).cpu)


async def lru_add_drain_all(k: Kernel) -> None:
    """mm/swap.c: lru_add_drain_all(): schedule_on_each_cpu(lru_add_drain_per_cpu).
    Deviation: the caller drains every CPU's pagevecs itself, one after the other."""
    for cpu in range(k.ncpus):
        await drain_cpu_pagevecs(k, cpu)


async def activate_page(k: Kernel, page: Page) -> None:
    """mm/swap.c: activate_page(): an inactive evictable page on the LRU moves to the
    active list of its type (zone and memcg lists), under zone->lru_lock, and counts as a
    rotated page (update_page_reclaim_stat)."""
    lock = k.zone.lru_lock
    await spin_lock(k, lock, "activate_page")
    if PageLRU(page) and not PageActive(page) and not PageUnevictable(page):
        file = page_is_file_cache(page)
        lru = LRU_BASE + (LRU_FILE if file else 0)
        del_page_from_lru_list(k, page, lru)
        page.flags |= PG_active
        add_page_to_lru_list(k, page, lru + LRU_ACTIVE)
        update_page_reclaim_stat(k, page, int(file), True)
    spin_unlock(lock)


async def mark_page_accessed(k: Kernel, page: Page) -> None:
    """mm/swap.c: mark_page_accessed(): inactive+unreferenced -> referenced; inactive+
    referenced (on the LRU) -> activate_page() and clear PG_referenced.
    Deviation from the contract: ``async``, because activate_page() takes lru_lock."""
    if (not PageActive(page) and not PageUnevictable(page) and PageReferenced(page)
            and PageLRU(page)):
        await activate_page(k, page)
        page.flags &= ~PG_referenced
    elif not PageReferenced(page):
        page.flags |= PG_referenced


async def pagevec_release(k: Kernel, pvec: list[Page]) -> None:
    """include/linux/pagevec.h: pagevec_release() -> mm/swap.c: __pagevec_release(): if
    ``pvec`` holds pages, lru_add_drain() then release_pages(), and ``pvec`` is left empty
    (pagevec_reinit(); emptied before the first wait, as the pagevec is the caller's own)."""
    if not pvec:
        return
    pages = list(pvec)
    pvec.clear()
    await lru_add_drain(k)
    await release_pages(k, pages)
