"""mm/vmscan.c (2.6.30, 2.6.31): page reclaim, global and per memory cgroup.

Models the order-0 direct-reclaim path: ``try_to_free_pages`` / ``try_to_free_mem_cgroup_pages``
-> ``do_try_to_free_pages`` (priority 12..0) -> ``shrink_zone`` -> ``shrink_list`` ->
``shrink_active_list`` / ``shrink_inactive_list`` -> ``shrink_page_list`` -> ``pageout`` and
``__remove_mapping``; LRU isolation and putback (``isolate_lru_page``, ``putback_lru_page``,
``__isolate_lru_page``) and ``page_evictable``.

Left out: lumpy reclaim (order > 0; the synchronous second pass of shrink_page_list), shrink_slab,
buffer heads (``page_has_private`` is always false), laptop mode and pdflush, zone_reclaim,
the per-zone ``nr_scan``/``nr_saved_scan`` batching of global scans (``nr[l] = scan`` as for
memcg), ``all_unreclaimable``, the swap token, ``VM_EXEC`` re-activation ([31]), kswapd's
sleep loop (``kswapd`` is one wake-up: balance_pgdat), shrink_all_memory, the
unevictable-page sysctl scans. ``congestion_wait(HZ/10)`` sleeps on the jiffies clock
(timer.congestion_wait: the model's queues are never congested, so the whole timeout).
get_scan_ratio() weighs swappiness by the zone's (global reclaim) or the memcg's (memcg
reclaim) reclaim_stat, which shrink_active_list / shrink_inactive_list and mm/swap.c's
LRU-add and activation paths keep, as in both versions.
Isolated pages are plain Python lists; ``__isolate_lru_page`` itself takes the page off the
zone's LRU dict (the model's ``list_move(&page->lru, dst)``).

2.6.30 vs 2.6.31 (``k.cfg.v31``, outside the series): the memcg LRU unlink inside
__isolate_lru_page [30] or in its callers [31] (plus the memcg rotation on -EBUSY);
a referenced page of a VM_LOCKED vma is activated [30] or left to try_to_unmap's cull [31];
with noswap / no free swap, shrink_zone scans anon pages at priority 0 [30] or never [31],
and the anon rebalancing needs free swap [31]; active file pages are deactivated always [30]
or only while inactive_file_is_low [31]. Series switch: __remove_mapping's
swapcache_free (``swapcache_interface``, 1/5).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import islice
from math import isqrt
from typing import TYPE_CHECKING

from swaplab.kernel import (
    filemap,
    memcontrol,
    mlock,
    page_alloc,
    page_io,
    rmap,
    shmem,
    swap,
    swap_state,
    swapfile,
    timer,
)
from swaplab.kernel.errno import EBUSY, EINVAL, VM_BUG_ON
from swaplab.kernel.gfp import (
    __GFP_FS,
    __GFP_IO,
    GFP_HIGHUSER_MOVABLE,
    GFP_KERNEL,
    GFP_RECLAIM_MASK,
)
from swaplab.kernel.kernel import HZ, PAGEVEC_SIZE
from swaplab.kernel.mm_types import (
    LRU_ACTIVE,
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    PAGE_SHIFT,
    VM_LOCKED,
    AddressSpace,
    Page,
    PageAnon,
    VmAreaStruct,
    get_page_unless_zero,
    page_count,
    page_is_file_cache,
    page_mapped,
)
from swaplab.kernel.mmzone import ZoneReclaimStat, lru_lock_held
from swaplab.kernel.page_flags import (
    ClearPageFlag,
    PageActive,
    PageDirty,
    PageLocked,
    PageLRU,
    PageMlocked,
    PageSwapCache,
    PageUnevictable,
    PageWriteback,
    PG_active,
    PG_dirty,
    PG_lru,
    PG_reclaim,
    PG_unevictable,
    SetPageFlag,
    TestClearPageFlag,
)
from swaplab.kernel.sync import (
    __clear_page_locked,
    atomic_read,
    cond_resched,
    plain_read,
    spin_lock,
    spin_unlock,
    trace,
    trylock_page,
    unlock_page,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.memcontrol import MemCgroup

#: include/linux/swap.h: SWAP_CLUSTER_MAX
SWAP_CLUSTER_MAX = 32
#: include/linux/mmzone.h: DEF_PRIORITY
DEF_PRIORITY = 12
#: the evictable lists, in for_each_evictable_lru() order
EVICTABLE_LRUS = (LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE)

# LRU isolation modes
ISOLATE_INACTIVE = 0
ISOLATE_ACTIVE = 1
ISOLATE_BOTH = 2

# pageout_t
PAGE_KEEP = 0
PAGE_ACTIVATE = 1
PAGE_SUCCESS = 2
PAGE_CLEAN = 3

#: include/linux/fs.h: AOP_WRITEPAGE_ACTIVATE ("page still locked, put it on the active list")
AOP_WRITEPAGE_ACTIVATE = 0x80000

#: sc->isolate_pages: (k, nr, mem_cgroup, active, file) -> isolated pages (lru_lock held)
IsolatePages = Callable[["Kernel", int, "MemCgroup | None", bool, bool], list[Page]]


@dataclass(slots=True, eq=False)
class ScanControl:
    """struct scan_control. ``may_swap`` is ``!noswap`` for memcg reclaim; ``isolate_pages``
    is ``isolate_pages_global`` or ``memcontrol.mem_cgroup_isolate_pages``."""

    gfp_mask: int
    isolate_pages: IsolatePages
    may_writepage: bool = True
    may_unmap: bool = True
    may_swap: bool = True
    swap_cluster_max: int = SWAP_CLUSTER_MAX
    swappiness: int = 60
    order: int = 0
    mem_cgroup: MemCgroup | None = None
    nr_scanned: int = 0
    nr_reclaimed: int = 0
    all_unreclaimable: bool = False


def scanning_global_lru(sc: ScanControl) -> bool:
    """mm/vmscan.c: scanning_global_lru()."""
    return sc.mem_cgroup is None


def get_reclaim_stat(k: Kernel, sc: ScanControl) -> ZoneReclaimStat:
    """mm/vmscan.c: get_reclaim_stat(): the zone's statistics for global reclaim, the
    memcg's per-zone ones for memcg reclaim."""
    if sc.mem_cgroup is not None:
        return memcontrol.mem_cgroup_get_reclaim_stat(k, sc.mem_cgroup)
    return k.zone.reclaim_stat


def current_is_kswapd(k: Kernel) -> bool:
    """include/linux/swap.h: current_is_kswapd() (PF_KSWAPD): the thread named "kswapd"."""
    running = k.execution.current
    return running is not None and running.name == "kswapd"


# ---------------------------------------------------------------------------------------------
# Small helpers: page_evictable() and vmscan's readers of a page's state


def page_evictable(k: Kernel, page: Page, vma: VmAreaStruct | None) -> bool:
    """mm/vmscan.c: page_evictable(): not in an SHM_LOCKed mapping, not PG_mlocked, and
    not faulted into a VM_LOCKED vma (is_mlocked_vma() sets PG_mlocked then)."""
    mapping = swap.page_mapping(k, page)
    if mapping is not None and shmem.mapping_unevictable(mapping):
        return False
    return not (PageMlocked(page) or (vma is not None and mlock.is_mlocked_vma(k, vma, page)))


def page_mapping_inuse(k: Kernel, page: Page) -> bool:
    """mm/vmscan.c: page_mapping_inuse(): mapped, swap cache, or a file some vma maps."""
    if page_mapped(page):
        return True
    if PageSwapCache(page):
        return True
    mapping = swap.page_mapping(k, page)
    if mapping is None:
        return False
    return filemap.mapping_mapped(k, mapping)


def is_page_cache_freeable(page: Page) -> bool:
    """mm/vmscan.c: is_page_cache_freeable(): only the cache and the isolator hold refs
    (no buffer heads in the model, so page_has_private() is 0)."""
    return page_count(page) == 2


# ---------------------------------------------------------------------------------------------
# LRU isolation and putback


def __isolate_lru_page(k: Kernel, page: Page, mode: int, file: bool) -> int:
    """mm/vmscan.c: __isolate_lru_page() (caller holds zone->lru_lock).

    0 on success: a page ref is taken, PG_lru cleared and the page taken off the zone LRU
    (the model does the caller's list_move here; the caller collects the page). [30] also
    unlinks it from its memcg LRU (mem_cgroup_del_lru); in [31] the callers do that, and
    rotate the memcg list on -EBUSY. -EINVAL: not on an LRU / wrong list / unevictable;
    -EBUSY: being freed (page_count already 0).
    """
    if not PageLRU(page):
        return -EINVAL
    if mode != ISOLATE_BOTH and PageActive(page) != (mode == ISOLATE_ACTIVE):
        return -EINVAL
    if mode != ISOLATE_BOTH and page_is_file_cache(page) != file:
        return -EINVAL
    if PageUnevictable(page):
        return -EINVAL
    if not get_page_unless_zero(page):
        return -EBUSY
    lru = swap.page_lru(page)
    ClearPageFlag(page, PG_lru)
    k.zone.lru[page.lru].pop(page, None)
    page.lru = -1
    if not k.cfg.v31:
        memcontrol.mem_cgroup_del_lru_list(k, page, lru)
    return 0


def _isolate_one(k: Kernel, page: Page, mode: int, file: bool) -> int:
    """__isolate_lru_page() and, in 2.6.31, what its callers then do with a page taken:
    it leaves its memcg's list too (mem_cgroup_del_lru_list())."""
    ret = __isolate_lru_page(k, page, mode, file)
    if ret == 0 and k.cfg.v31:
        memcontrol.mem_cgroup_del_lru_list(k, page, swap.page_lru(page))
    return ret


def isolate_lru_pages(k: Kernel, nr_to_scan: int, src: int, mode: int,
                      file: bool) -> list[Page]:
    """mm/vmscan.c: isolate_lru_pages() for order 0 (caller holds zone->lru_lock): take up
    to ``nr_to_scan`` pages from the tail (oldest end) of zone list ``src``."""
    taken: list[Page] = []
    lru = k.zone.lru[src]
    busy: list[Page] = []
    for page in list(islice(lru, nr_to_scan)):  # the dict's first entries: the list's tail
        VM_BUG_ON(not PageLRU(page), "isolate_lru_pages: page on the LRU without PG_lru")
        ret = _isolate_one(k, page, mode, file)
        if ret == 0:
            taken.append(page)
        elif ret == -EBUSY:
            busy.append(page)  # list_move(&page->lru, src): back to the head
            if k.cfg.v31:
                memcontrol.mem_cgroup_rotate_lru_list(k, page, swap.page_lru(page))
        else:
            VM_BUG_ON(True, "isolate_lru_pages: unexpected __isolate_lru_page() failure")
    for page in busy:
        lru.pop(page, None)
        lru[page] = None
    return taken


def isolate_pages_global(k: Kernel, nr: int, mem: MemCgroup | None, active: bool,
                         file: bool) -> list[Page]:
    """mm/vmscan.c: isolate_pages_global(): the zone list chosen by ``active``/``file``."""
    lru = LRU_INACTIVE_ANON + (LRU_ACTIVE if active else 0) + (LRU_FILE if file else 0)
    mode = ISOLATE_ACTIVE if active else ISOLATE_INACTIVE
    return isolate_lru_pages(k, nr, lru, mode, file)


def _isolate_pages_memcg(k: Kernel, nr: int, mem: MemCgroup | None, active: bool,
                         file: bool) -> list[Page]:
    """sc->isolate_pages of memcg reclaim: memcontrol.mem_cgroup_isolate_pages()."""
    assert mem is not None
    return memcontrol.mem_cgroup_isolate_pages(k, nr, mem, active, file)


def isolate_lru_page(k: Kernel, page: Page) -> int:
    """mm/vmscan.c: isolate_lru_page(): 0 and the page off its LRU (with a ref), or -EBUSY.

    Plain function: the zone->lru_lock section runs inside the caller's step (nobody holds
    lru_lock across an interleaving point in the model; KernelBug if someone does)."""
    ret = -EBUSY
    with lru_lock_held(k.zone, "isolate_lru_page", page):
        if PageLRU(page) and get_page_unless_zero(page):
            lru = swap.page_lru(page)
            ClearPageFlag(page, PG_lru)
            swap.del_page_from_lru_list(k, page, lru)
            ret = 0
    return ret


async def putback_lru_page(k: Kernel, page: Page) -> None:
    """mm/vmscan.c: putback_lru_page() (CONFIG_UNEVICTABLE_LRU, as both configs have it):
    evictable pages go back lazily through the per-CPU pagevec (lru_cache_add_lru),
    unevictable ones straight onto the unevictable list; drops the isolation ref."""
    active = TestClearPageFlag(page, PG_active)
    VM_BUG_ON(PageLRU(page), "putback_lru_page: page still PageLRU")
    while True:
        ClearPageFlag(page, PG_unevictable)
        if page_evictable(k, page, None):
            lru = (LRU_ACTIVE if active else 0) + (LRU_FILE if page_is_file_cache(page) else 0)
            await swap.lru_cache_add_lru(k, page, lru)
        else:
            lru = LRU_UNEVICTABLE
            await swap.add_page_to_unevictable_list(k, page)
        if (lru == LRU_UNEVICTABLE and page_evictable(k, page, None)
                and isolate_lru_page(k, page) == 0):
            page_alloc.put_page(k, page)  # became evictable meanwhile: redo
            continue
        break
    trace(k, "putback_lru_page()", "{!r} -> lru {}", page, lru)
    page_alloc.put_page(k, page)  # drop the ref from isolation


# ---------------------------------------------------------------------------------------------
# Freeing one page


async def __remove_mapping(k: Kernel, mapping: AddressSpace, page: Page) -> int:
    """mm/vmscan.c: __remove_mapping() (page locked): 1 if the page left swap cache / page
    cache with its refcount frozen at 0, 0 if someone else holds a ref or it is dirty.

    The memcg uncharge runs after tree_lock is released (e767e056): swap cache [30]
    mem_cgroup_uncharge_swapcache + swap_free, [31] (1/5) swapcache_free(entry, page);
    page cache: mem_cgroup_uncharge_cache_page.
    """
    VM_BUG_ON(not PageLocked(page), "__remove_mapping: page not locked")
    VM_BUG_ON(mapping is not swap.page_mapping(k, page), "__remove_mapping: wrong mapping")
    await spin_lock(k, mapping.tree_lock, "__remove_mapping")
    if page._count != 2:  # page_freeze_refs(page, 2) failed
        spin_unlock(mapping.tree_lock)
        trace(k, "__remove_mapping()", "{!r} count {} -> cannot free", page, page._count)
        return 0
    page._count = 0
    if PageDirty(page):
        page._count = 2  # page_unfreeze_refs
        spin_unlock(mapping.tree_lock)
        trace(k, "__remove_mapping()", "{!r} dirty -> cannot free", page)
        return 0
    if PageSwapCache(page):
        entry = page.private
        swap_state.__delete_from_swap_cache(k, page)
        spin_unlock(mapping.tree_lock)
        if k.cfg.swapcache_interface:
            await swapfile.swapcache_free(k, entry, page)
        else:
            memcontrol.mem_cgroup_uncharge_swapcache(k, page, entry, True)
            await swapfile.swap_free(k, entry)
        trace(k, "__remove_mapping()", "{!r} swap cache {:#x} freed", page, entry)
    else:
        filemap.__remove_from_page_cache(k, page)
        spin_unlock(mapping.tree_lock)
        memcontrol.mem_cgroup_uncharge_cache_page(k, page)
        trace(k, "__remove_mapping()", "{!r} page cache freed", page)
    return 1


WritePage = Callable[["Kernel", Page], Awaitable[int]]


def _writepage_of(k: Kernel, mapping: AddressSpace) -> WritePage | None:
    """mapping->a_ops->writepage: swap_writepage for swapper_space, shmem_writepage for
    shmem; the model's regular files have none (their pages never get dirty)."""
    if mapping is k.swapper_space:
        return page_io.swap_writepage
    if isinstance(mapping.host, shmem.ShmemInode):
        return shmem.shmem_writepage
    return None


async def pageout(k: Kernel, page: Page, mapping: AddressSpace | None) -> int:
    """mm/vmscan.c: pageout() for a dirty page (always PAGEOUT_IO_ASYNC, for_reclaim).

    KEEP if anyone besides the cache and the reclaimer holds a ref; the swap device queue is
    never congested (swapper_space's bdi does not report congestion)."""
    await atomic_read(k, page, "is_page_cache_freeable")  # page_count(): races put_page
    if not is_page_cache_freeable(page):
        trace(k, "pageout()", "{!r} page_count {}: not freeable -> PAGE_KEEP",
              page, page_count(page))
        return PAGE_KEEP
    if mapping is None:
        return PAGE_KEEP
    writepage = _writepage_of(k, mapping)
    if writepage is None:
        return PAGE_ACTIVATE
    if not TestClearPageFlag(page, PG_dirty):  # clear_page_dirty_for_io()
        return PAGE_CLEAN
    SetPageFlag(page, PG_reclaim)
    res = await writepage(k, page)
    if res == AOP_WRITEPAGE_ACTIVATE:
        ClearPageFlag(page, PG_reclaim)
        trace(k, "pageout()", "{!r} -> AOP_WRITEPAGE_ACTIVATE", page)
        return PAGE_ACTIVATE
    if not PageWriteback(page):
        ClearPageFlag(page, PG_reclaim)
    trace(k, "pageout()", "{!r} -> PAGE_SUCCESS", page)
    return PAGE_SUCCESS


# ---------------------------------------------------------------------------------------------
# shrink_page_list: the fate of each isolated page

_FREE = "free"
_CULL = "cull_mlocked"
_ACTIVATE = "activate_locked"
_KEEP_LOCKED = "keep_locked"
_KEEP = "keep"


async def _shrink_page_unmap(k: Kernel, page: Page, sc: ScanControl) -> tuple[str, bool, int]:
    """shrink_page_list() up to try_to_unmap(): returns ("" to go on, or a label),
    may_enter_fs, referenced."""
    if not await trylock_page(k, page, "shrink_page_list"):
        trace(k, "trylock_page()", "{!r} -> fail & keep", page)
        return _KEEP, False, 0
    VM_BUG_ON(PageActive(page), "shrink_page_list: active page on an inactive list")
    sc.nr_scanned += 1
    await atomic_read(k, page, "page_mapped")  # _mapcount, lock-free: races the unmappers
    if page_mapped(page) or PageSwapCache(page):
        sc.nr_scanned += 1  # "double the slab pressure"
    if not page_evictable(k, page, None):
        return _CULL, False, 0
    if not sc.may_unmap and page_mapped(page):
        return _KEEP_LOCKED, False, 0
    may_enter_fs = bool(sc.gfp_mask & __GFP_FS) or (
        PageSwapCache(page) and bool(sc.gfp_mask & __GFP_IO))
    if PageWriteback(page):
        return _KEEP_LOCKED, may_enter_fs, 0
    vm_flags: list[int] = []
    referenced = await rmap.page_referenced(k, page, 1, sc.mem_cgroup, vm_flags)
    # [31]: a page of a VM_LOCKED vma goes on to try_to_unmap(), which culls it ([30]
    # rmap reports no vm_flags, so this test never fires there)
    vm_locked = bool(vm_flags[0] & VM_LOCKED)
    if referenced and page_mapping_inuse(k, page) and not vm_locked:
        return _ACTIVATE, may_enter_fs, referenced
    if PageAnon(page) and not PageSwapCache(page):
        if not sc.gfp_mask & __GFP_IO:
            return _KEEP_LOCKED, may_enter_fs, referenced
        if not await swap_state.add_to_swap(k, page):
            trace(k, "add_to_swap()", "{!r} -> fail & activate", page)
            return _ACTIVATE, may_enter_fs, referenced
        trace(k, "add_to_swap()", "{!r} -> entry {:#x}", page, page.private)
        may_enter_fs = True
    mapping = swap.page_mapping(k, page)
    await atomic_read(k, page, "page_mapped")  # the unmappers race this test too
    if page_mapped(page) and mapping is not None:
        ret = await rmap.try_to_unmap(k, page, 0)
        trace(k, "try_to_unmap()", "{!r} == {}", page, ret)
        if ret == rmap.SWAP_FAIL:
            return _ACTIVATE, may_enter_fs, referenced
        if ret == rmap.SWAP_AGAIN:
            return _KEEP_LOCKED, may_enter_fs, referenced
        if ret == rmap.SWAP_MLOCK:
            return _CULL, may_enter_fs, referenced
    return "", may_enter_fs, referenced


async def _shrink_page_free(k: Kernel, page: Page, sc: ScanControl, may_enter_fs: bool,
                            referenced: int) -> str:
    """shrink_page_list() from the dirty test on: pageout(), then __remove_mapping()."""
    mapping = swap.page_mapping(k, page)
    if PageDirty(page):
        if referenced or not may_enter_fs or not sc.may_writepage:
            return _KEEP_LOCKED
        res = await pageout(k, page, mapping)
        if res == PAGE_KEEP:
            return _KEEP_LOCKED
        if res == PAGE_ACTIVATE:
            return _ACTIVATE
        if res == PAGE_SUCCESS:
            if PageWriteback(page) or PageDirty(page):
                return _KEEP
            if not await trylock_page(k, page, "shrink_page_list"):
                return _KEEP
            if PageDirty(page) or PageWriteback(page):
                return _KEEP_LOCKED
            mapping = swap.page_mapping(k, page)
    if mapping is None or not await __remove_mapping(k, mapping, page):
        return _KEEP_LOCKED
    return _FREE


async def _shrink_page_finish(k: Kernel, page: Page, label: str,
                              ret_pages: list[Page]) -> None:
    """The labels at the end of shrink_page_list()'s loop: free_it, cull_mlocked,
    activate_locked, keep_locked, keep."""
    if label == _FREE:
        __clear_page_locked(page)
        page_alloc.__free_page(k, page)
        return
    if label == _CULL:
        if PageSwapCache(page):
            await swapfile.try_to_free_swap(k, page)
        unlock_page(page)
        await putback_lru_page(k, page)
        return
    if label == _ACTIVATE:
        if PageSwapCache(page) and swapfile.vm_swap_full(k):
            await swapfile.try_to_free_swap(k, page)
        VM_BUG_ON(PageActive(page), "activate_locked: page already active")
        SetPageFlag(page, PG_active)
    if label in (_ACTIVATE, _KEEP_LOCKED):
        unlock_page(page)
    ret_pages.append(page)
    VM_BUG_ON(PageLRU(page) or PageUnevictable(page), "shrink_page_list: kept page on an LRU")


async def shrink_page_list(k: Kernel, pages: list[Page], sc: ScanControl) -> int:
    """mm/vmscan.c: shrink_page_list() (PAGEOUT_IO_ASYNC; 2.6.30.4 and 2.6.31.3 alike).

    ``pages`` are isolated pages (off the LRU, one extra ref each), processed in isolation
    order; on return ``pages`` holds the pages to put back (unlocked; PG_active set on those
    to activate), as the kernel splices ret_pages back. Returns the number freed.
    Left out: buffer heads (try_to_release_page), the PAGEOUT_IO_SYNC pass."""
    await cond_resched(k, "shrink_page_list")
    todo = list(pages)
    pages.clear()
    nr_reclaimed = 0
    for page in todo:
        await cond_resched(k, "shrink_page_list")
        label, may_enter_fs, referenced = await _shrink_page_unmap(k, page, sc)
        if not label:
            label = await _shrink_page_free(k, page, sc, may_enter_fs, referenced)
        if label == _FREE:
            nr_reclaimed += 1
        trace(k, "shrink_page_list()", "{!r} -> {}", page, label)
        await _shrink_page_finish(k, page, label, pages)
    return nr_reclaimed


# ---------------------------------------------------------------------------------------------
# The LRU scanners


def clear_active_flags(pages: list[Page], count: list[int] | None = None) -> int:
    """mm/vmscan.c: clear_active_flags(): clear PG_active on every page; returns how many
    had it. ``count`` (indexed by LRU list) gets one per page on the list its flags named."""
    nr_active = 0
    for page in pages:
        lru = LRU_FILE if page_is_file_cache(page) else LRU_INACTIVE_ANON
        if TestClearPageFlag(page, PG_active):
            lru += LRU_ACTIVE
            nr_active += 1
        if count is not None:
            count[lru] += 1
    return nr_active


async def _putback_inactive(k: Kernel, pages: list[Page], reclaim_stat: ZoneReclaimStat) -> None:
    """The put-back loop of shrink_inactive_list(): straight onto the zone LRU (and, through
    add_page_to_lru_list, onto the memcg LRU if the page is charged), refs dropped in
    pagevec batches with lru_lock released. A page shrink_page_list() activated counts as
    rotated in ``reclaim_stat``."""
    lock = k.zone.lru_lock
    pvec: list[Page] = []
    await spin_lock(k, lock, "shrink_inactive_list")
    for page in pages:
        VM_BUG_ON(PageLRU(page), "shrink_inactive_list: putback of a page on the LRU")
        if not page_evictable(k, page, None):
            spin_unlock(lock)
            await putback_lru_page(k, page)
            await spin_lock(k, lock, "shrink_inactive_list")
            continue
        SetPageFlag(page, PG_lru)
        swap.add_page_to_lru_list(k, page, swap.page_lru(page))
        if PageActive(page):
            reclaim_stat.recent_rotated[int(page_is_file_cache(page))] += 1
        pvec.append(page)
        if len(pvec) == PAGEVEC_SIZE:
            spin_unlock(lock)
            await swap.pagevec_release(k, pvec)
            await spin_lock(k, lock, "shrink_inactive_list")
    spin_unlock(lock)
    if pvec:
        await swap.pagevec_release(k, pvec)


async def shrink_inactive_list(k: Kernel, max_scan: int, sc: ScanControl, priority: int,
                               file: bool) -> int:
    """mm/vmscan.c: shrink_inactive_list() for order 0 (ISOLATE_INACTIVE): isolate up to
    swap_cluster_max pages at a time, shrink_page_list() them, put the rest back, until
    ``max_scan`` pages were taken. "Scanned" counts isolated pages only (the model's
    isolate functions do not report skipped ones). The isolated pages count as recently
    scanned in get_reclaim_stat(), and those put back active as rotated."""
    await swap.lru_add_drain(k)
    reclaim_stat = get_reclaim_stat(k, sc)
    nr_scanned = 0
    nr_reclaimed = 0
    while True:
        await spin_lock(k, k.zone.lru_lock, "shrink_inactive_list")
        taken = sc.isolate_pages(k, sc.swap_cluster_max, sc.mem_cgroup, False, file)
        count = [0] * len(EVICTABLE_LRUS)
        clear_active_flags(taken, count)
        reclaim_stat.recent_scanned[0] += count[LRU_INACTIVE_ANON] + count[LRU_ACTIVE_ANON]
        reclaim_stat.recent_scanned[1] += count[LRU_INACTIVE_FILE] + count[LRU_ACTIVE_FILE]
        spin_unlock(k.zone.lru_lock)
        nr_taken = len(taken)
        nr_scanned += nr_taken
        if sc.mem_cgroup is None:
            k.pgscan_global += nr_taken  # __count_zone_vm_events(PGSCAN_DIRECT/KSWAPD)
        else:
            k.pgscan_memcg += nr_taken  # not counted by 2.6.30/31: the model's own
        trace(k, "shrink_inactive_list()", "file={} isolated {}", int(file), nr_taken)
        nr_reclaimed += await shrink_page_list(k, taken, sc)
        if nr_taken == 0:
            break
        await _putback_inactive(k, taken, reclaim_stat)
        if nr_scanned >= max_scan:
            break
    return nr_reclaimed


async def _move_active_pages_to_lru(k: Kernel, pages: list[Page], lru: int) -> None:
    """mm/vmscan.c: move_active_pages_to_lru() ([31]; open-coded in [30] for the inactive
    list only). Called and returns with zone->lru_lock held."""
    lock = k.zone.lru_lock
    pvec: list[Page] = []
    for page in pages:
        VM_BUG_ON(PageLRU(page), "move_active_pages_to_lru: page on the LRU")
        SetPageFlag(page, PG_lru)
        VM_BUG_ON(not PageActive(page), "move_active_pages_to_lru: page not active")
        if lru in (LRU_INACTIVE_ANON, LRU_INACTIVE_FILE):
            ClearPageFlag(page, PG_active)
        swap.add_page_to_lru_list(k, page, lru)
        pvec.append(page)
        if len(pvec) == PAGEVEC_SIZE:
            spin_unlock(lock)
            await swap.pagevec_release(k, pvec)
            await spin_lock(k, lock, "shrink_active_list")
    if pvec:
        spin_unlock(lock)
        await swap.pagevec_release(k, pvec)
        await spin_lock(k, lock, "shrink_active_list")


async def shrink_active_list(k: Kernel, nr_pages: int, sc: ScanControl, priority: int,
                             file: bool) -> None:
    """mm/vmscan.c: shrink_active_list(): isolate up to ``nr_pages`` active pages, clear
    their referenced bits (page_referenced) and move them all to the inactive list
    (unevictable ones go through putback_lru_page). In get_reclaim_stat() the isolated
    pages count as recently scanned, and those referenced through a mapping in use as
    rotated, though they are deactivated too (both versions). The [31] VM_EXEC file-page
    rotation back to the active list is left out (no VM_EXEC in the model)."""
    await swap.lru_add_drain(k)
    reclaim_stat = get_reclaim_stat(k, sc)
    lock = k.zone.lru_lock
    await spin_lock(k, lock, "shrink_active_list")
    l_hold = sc.isolate_pages(k, nr_pages, sc.mem_cgroup, True, file)
    reclaim_stat.recent_scanned[int(file)] += len(l_hold)
    spin_unlock(lock)
    trace(k, "shrink_active_list()", "file={} isolated {}", int(file), len(l_hold))
    l_inactive: list[Page] = []
    nr_rotated = 0
    for page in l_hold:
        await cond_resched(k, "shrink_active_list")
        if not page_evictable(k, page, None):
            await putback_lru_page(k, page)
            continue
        if page_mapping_inuse(k, page) and await rmap.page_referenced(k, page, 0,
                                                                      sc.mem_cgroup):
            nr_rotated += 1
        l_inactive.append(page)
    await spin_lock(k, lock, "shrink_active_list")
    reclaim_stat.recent_rotated[int(file)] += nr_rotated
    await _move_active_pages_to_lru(k, l_inactive, LRU_FILE if file else LRU_INACTIVE_ANON)
    spin_unlock(lock)


def zone_nr_pages(k: Kernel, sc: ScanControl, lru: int) -> int:
    """mm/vmscan.c: zone_nr_pages(): the zone list, or the memcg's list (stale !USED pcs
    included, as MEM_CGROUP_ZSTAT counts them)."""
    if sc.mem_cgroup is None:
        plain_read(k.zone.lru_lock)  # zone_page_state(): the lists change under lru_lock
        return len(k.zone.lru[lru])
    return memcontrol.mem_cgroup_zone_nr_pages(k, sc.mem_cgroup, lru)


def zone_inactive_ratio(k: Kernel) -> int:
    """mm/page_alloc.c: setup_per_zone_inactive_ratio(): int_sqrt(10 * GB of the zone),
    at least 1."""
    gb = k.totalram_pages >> (30 - PAGE_SHIFT)
    return isqrt(10 * gb) if gb else 1


def inactive_anon_is_low(k: Kernel, sc: ScanControl) -> bool:
    """mm/vmscan.c: inactive_anon_is_low(): the zone's lists and inactive_ratio, or
    mem_cgroup_inactive_anon_is_low()."""
    if sc.mem_cgroup is not None:
        return memcontrol.mem_cgroup_inactive_anon_is_low(k, sc.mem_cgroup)
    active = len(k.zone.lru[LRU_ACTIVE_ANON])
    inactive = len(k.zone.lru[LRU_INACTIVE_ANON])
    return inactive * zone_inactive_ratio(k) < active


def inactive_file_is_low(k: Kernel, sc: ScanControl) -> bool:
    """mm/vmscan.c: inactive_file_is_low() ([31]): more active than inactive file pages."""
    if sc.mem_cgroup is not None:
        return memcontrol.mem_cgroup_inactive_file_is_low(k, sc.mem_cgroup)
    return len(k.zone.lru[LRU_ACTIVE_FILE]) > len(k.zone.lru[LRU_INACTIVE_FILE])


async def shrink_list(k: Kernel, lru: int, nr_to_scan: int, sc: ScanControl,
                      priority: int) -> int:
    """mm/vmscan.c: shrink_list(). [30] always deactivates active file pages; [31] only
    when inactive_file_is_low()."""
    file = swap.is_file_lru(lru)
    if lru == LRU_ACTIVE_FILE and (not k.cfg.v31 or inactive_file_is_low(k, sc)):
        await shrink_active_list(k, nr_to_scan, sc, priority, file)
        return 0
    if lru == LRU_ACTIVE_ANON and inactive_anon_is_low(k, sc):
        await shrink_active_list(k, nr_to_scan, sc, priority, file)
        return 0
    return await shrink_inactive_list(k, nr_to_scan, sc, priority, file)


def get_scan_ratio(k: Kernel, sc: ScanControl) -> tuple[int, int]:
    """mm/vmscan.c: get_scan_ratio(): (anon %, file %) of the scan pressure.

    [30] (anon 0 %) without may_swap or free swap (in [31] shrink_zone tests that). Global
    reclaim with file + free <= pages_high scans anon only. Otherwise each type's priority
    (swappiness for anon, 200 - swappiness for file) is weighed by recent_scanned /
    recent_rotated of get_reclaim_stat() (the fewer of the scanned pages were found in
    use, the more pressure); first a type's pair is halved when recent_scanned exceeds a
    quarter of that type's pages (the floating average). Same in 2.6.30 and 2.6.31 past
    the swap test. The kernel reads the statistics without zone->lru_lock and takes it
    only to halve them; here halving and reading are one lru_lock section within the
    caller's step (mmzone.lru_lock_held), so the explorer orders them against the updates,
    all made under that lock.
    """
    if not k.cfg.v31 and (not sc.may_swap or k.nr_swap_pages <= 0):
        return 0, 100
    anon = zone_nr_pages(k, sc, LRU_ACTIVE_ANON) + zone_nr_pages(k, sc, LRU_INACTIVE_ANON)
    file = zone_nr_pages(k, sc, LRU_ACTIVE_FILE) + zone_nr_pages(k, sc, LRU_INACTIVE_FILE)
    if sc.mem_cgroup is None and file + k.nr_free_pages <= k.zone.pages_high:
        return 100, 0
    reclaim_stat = get_reclaim_stat(k, sc)
    with lru_lock_held(k.zone, "get_scan_ratio"):
        for kind, nr_pages in ((0, anon), (1, file)):
            if reclaim_stat.recent_scanned[kind] > nr_pages // 4:
                reclaim_stat.recent_scanned[kind] //= 2
                reclaim_stat.recent_rotated[kind] //= 2
        ap = (sc.swappiness + 1) * (reclaim_stat.recent_scanned[0] + 1)
        ap //= reclaim_stat.recent_rotated[0] + 1
        fp = (200 - sc.swappiness + 1) * (reclaim_stat.recent_scanned[1] + 1)
        fp //= reclaim_stat.recent_rotated[1] + 1
    percent_anon = 100 * ap // (ap + fp + 1)
    return percent_anon, 100 - percent_anon


async def shrink_zone(k: Kernel, priority: int, sc: ScanControl) -> None:
    """mm/vmscan.c: shrink_zone(): scan each evictable list by ``size >> priority`` scaled
    by get_scan_ratio(), in chunks of swap_cluster_max.

    [30]: at priority 0 the ratio is ignored, so the anon lists are scanned even with
    noswap / no free swap. [31]: with noswap or nr_swap_pages <= 0 no anon page is scanned
    at all, and the final anon rebalancing needs free swap."""
    noswap = k.cfg.v31 and (not sc.may_swap or k.nr_swap_pages <= 0)
    percent = (0, 100) if noswap else get_scan_ratio(k, sc)
    nr = [0] * len(EVICTABLE_LRUS)
    for lru in EVICTABLE_LRUS:
        scan = zone_nr_pages(k, sc, lru)
        if priority or noswap:
            scan >>= priority
            scan = scan * percent[1 if swap.is_file_lru(lru) else 0] // 100
        nr[lru] = scan
    nr_reclaimed = sc.nr_reclaimed
    cluster = sc.swap_cluster_max
    while nr[LRU_INACTIVE_ANON] or nr[LRU_ACTIVE_FILE] or nr[LRU_INACTIVE_FILE]:
        for lru in EVICTABLE_LRUS:
            if nr[lru]:
                nr_to_scan = min(nr[lru], cluster)
                nr[lru] -= nr_to_scan
                nr_reclaimed += await shrink_list(k, lru, nr_to_scan, sc, priority)
        if nr_reclaimed > cluster and priority < DEF_PRIORITY and not current_is_kswapd(k):
            break
    sc.nr_reclaimed = nr_reclaimed
    if inactive_anon_is_low(k, sc) and (not k.cfg.v31 or k.nr_swap_pages > 0):
        await shrink_active_list(k, SWAP_CLUSTER_MAX, sc, priority, False)


async def do_try_to_free_pages(k: Kernel, sc: ScanControl) -> int:
    """mm/vmscan.c: do_try_to_free_pages(): shrink the zone at priority 12..0 until
    swap_cluster_max pages are reclaimed. Returns the number reclaimed; below
    swap_cluster_max, memcg reclaim returns 0 (as the kernel does: only global reclaim
    reports a partial result). A pass that scanned something below priority 10 is
    followed by congestion_wait(HZ/10)."""
    total_scanned = 0
    ret = 0
    for priority in range(DEF_PRIORITY, -1, -1):
        sc.nr_scanned = 0
        sc.all_unreclaimable = False
        await shrink_zone(k, priority, sc)
        total_scanned += sc.nr_scanned
        if sc.nr_reclaimed >= sc.swap_cluster_max:
            ret = sc.nr_reclaimed
            break
        if total_scanned > sc.swap_cluster_max + sc.swap_cluster_max // 2:
            sc.may_writepage = True
        if sc.nr_scanned and priority < DEF_PRIORITY - 2:
            await timer.congestion_wait(k, HZ // 10, "do_try_to_free_pages: congestion_wait")
    else:
        if not sc.all_unreclaimable and scanning_global_lru(sc):
            ret = sc.nr_reclaimed
    trace(k, "do_try_to_free_pages()", "== {} (reclaimed {})", ret, sc.nr_reclaimed)
    return ret


async def try_to_free_pages(k: Kernel, gfp: int) -> int:
    """mm/vmscan.c: try_to_free_pages(): global direct reclaim, order 0."""
    sc = ScanControl(gfp_mask=gfp, isolate_pages=isolate_pages_global,
                     swappiness=k.vm_swappiness)
    return await do_try_to_free_pages(k, sc)


async def try_to_free_mem_cgroup_pages(k: Kernel, mem: MemCgroup, gfp: int, noswap: bool,
                                       swappiness: int) -> int:
    """mm/vmscan.c: try_to_free_mem_cgroup_pages(): reclaim from ``mem``'s own LRU lists
    (mem_cgroup_isolate_pages); may_swap = !noswap."""
    sc = ScanControl(
        gfp_mask=(gfp & GFP_RECLAIM_MASK) | (GFP_HIGHUSER_MOVABLE & ~GFP_RECLAIM_MASK),
        isolate_pages=_isolate_pages_memcg,
        may_swap=not noswap,
        swappiness=swappiness,
        mem_cgroup=mem,
    )
    trace(k, "try_to_free_mem_cgroup_pages()", "{!r} noswap={}", mem, int(noswap))
    return await do_try_to_free_pages(k, sc)


async def scan_mapping_unevictable_pages(k: Kernel, mapping: AddressSpace) -> None:
    """mm/vmscan.c: scan_mapping_unevictable_pages() (SHM_UNLOCK): move the mapping's pages
    that became evictable from the unevictable list back to their LRU
    (check_move_unevictable_page; the pagevec lookup's refs are left out)."""
    lock = k.zone.lru_lock
    await spin_lock(k, lock, "scan_mapping_unevictable_pages")
    for _index, page in sorted(mapping.page_tree.items()):
        if not (PageLRU(page) and PageUnevictable(page)):
            continue
        ClearPageFlag(page, PG_unevictable)
        if page_evictable(k, page, None):
            swap.del_page_from_lru_list(k, page, LRU_UNEVICTABLE)
            swap.add_page_to_lru_list(k, page, swap.page_lru(page))
        else:
            SetPageFlag(page, PG_unevictable)
    spin_unlock(lock)


# ---------------------------------------------------------------------------------------------
# kswapd


def zone_watermark_ok(k: Kernel, mark: int) -> bool:
    """mm/page_alloc.c: zone_watermark_ok() for order 0 and no lowmem reserve."""
    return page_alloc.nr_free_pages(k) > mark


async def balance_pgdat(k: Kernel, order: int = 0) -> int:
    """mm/vmscan.c: balance_pgdat(): kswapd's reclaim of the zone up to pages_high, at
    priority 12..0, stopping once SWAP_CLUSTER_MAX pages are reclaimed (anon aging with
    shrink_active_list first; shrink_zone only below 8 * pages_high). Deviations: no
    all_unreclaimable zone state, so instead of looping back (loop_again) while the zone
    is below pages_high, another pass runs only if the last one reclaimed something."""
    total = 0
    while True:
        sc = ScanControl(gfp_mask=GFP_KERNEL, isolate_pages=isolate_pages_global,
                         swappiness=k.vm_swappiness, order=order)
        all_zones_ok = True
        total_scanned = 0
        for priority in range(DEF_PRIORITY, -1, -1):
            if inactive_anon_is_low(k, sc):
                await shrink_active_list(k, SWAP_CLUSTER_MAX, sc, priority, False)
            if zone_watermark_ok(k, k.zone.pages_high):
                all_zones_ok = True
                break
            all_zones_ok = False
            sc.nr_scanned = 0
            if not zone_watermark_ok(k, 8 * k.zone.pages_high):
                await shrink_zone(k, priority, sc)
            total_scanned += sc.nr_scanned
            if (total_scanned > SWAP_CLUSTER_MAX * 2
                    and total_scanned > sc.nr_reclaimed + sc.nr_reclaimed // 2):
                sc.may_writepage = True
            if total_scanned and priority < DEF_PRIORITY - 2:
                await timer.congestion_wait(k, HZ // 10, "balance_pgdat: congestion_wait")
            if sc.nr_reclaimed >= SWAP_CLUSTER_MAX:
                break
        total += sc.nr_reclaimed
        trace(k, "balance_pgdat()", "reclaimed {}", sc.nr_reclaimed)
        if all_zones_ok or not sc.nr_reclaimed:
            return total
        await cond_resched(k, "balance_pgdat")


async def kswapd(k: Kernel) -> int:
    """mm/vmscan.c: kswapd(), one wake-up: balance the zone if it is below pages_high.
    Run it as a thread named "kswapd" (current_is_kswapd(); Current(None, cpu)) when the
    allocator would wake it (wakeup_kswapd: free pages below pages_low). The sleeping
    loop around it is left to the driver (the engine has no daemon threads: a thread
    waiting forever would be a deadlock for run_to_completion)."""
    if zone_watermark_ok(k, k.zone.pages_high):
        return 0
    return await balance_pgdat(k, 0)


async def shrink_chosen_pages(k: Kernel, chosen: list[Page]) -> int:
    """What kswapd's balance_pgdat() does to ``chosen`` pages once they reach the tails of
    its lists, in one pass: mm/swap.c: lru_add_drain_all() (pages still in a pagevec go
    on the LRU), then under zone->lru_lock isolate_lru_pages()'s __isolate_lru_page() on
    each chosen page the lists hold (one already freed, or isolated by someone else, is on
    no list and is left alone), aging as shrink_active_list() does (mm/rmap.c:
    page_referenced() clears PG_referenced and the young bits; deactivate),
    shrink_page_list(), and putback_lru_page() of what it kept. Abstracted: which pages
    kswapd picks (the caller's choice) and the scan priorities. The pages freed."""
    await swap.lru_add_drain_all(k)
    taken: list[Page] = []
    await spin_lock(k, k.zone.lru_lock, "shrink_inactive_list")
    for page in chosen:  # identity only: a freed page is on no list
        if not any(page in lru for lru in k.zone.lru):
            continue
        if _isolate_one(k, page, ISOLATE_BOTH, page_is_file_cache(page)) == 0:
            taken.append(page)
    spin_unlock(k.zone.lru_lock)
    sc = ScanControl(GFP_KERNEL, isolate_pages_global, swappiness=k.vm_swappiness)
    for page in taken:
        await rmap.page_referenced(k, page, 0, None)
        ClearPageFlag(page, PG_active)
    freed = int(await shrink_page_list(k, taken, sc))
    for page in taken:
        await putback_lru_page(k, page)
    return freed
