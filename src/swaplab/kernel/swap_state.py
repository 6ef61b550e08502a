"""mm/swap_state.c (2.6.30, 2.6.31): the swap cache (swapper_space) and swap-in readahead.

``k.swapper_space`` is the swap cache: ``page_tree`` keyed by swap entry value,
``nrpages`` (total_swapcache_pages), ``tree_lock``; ``k.swap_cache_info`` its statistics.
A page in the swap cache holds one reference for the cache and has PG_swapcache set and
``page.private`` = its entry. Swap-cache pages are not charged to a memcg by being added;
they are charged when mapped (do_swap_page) and uncharged when deleted
(mem_cgroup_uncharge_swapcache, directly [30] or inside swapcache_free [31]).

radix_tree_preload() may sleep (kernel/radix_tree.py: a sleep point of the explorer's CPU
model); with 31a5639623a4 read_swap_cache_async() preloads before swapcache_prepare() and
inserts with the non-sleeping __add_to_swap_cache().

Left out: -ENOMEM from the radix tree (the model's slab never fails), the swap token, NUMA
policy of readahead allocations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import memcontrol, page_alloc, page_io, radix_tree, swap, swapfile
from swaplab.kernel.config import DISCARD_RACE, PRELOAD_BEFORE_PREPARE
from swaplab.kernel.errno import EEXIST, ENOENT, ENOMEM, VM_BUG_ON
from swaplab.kernel.gfp import __GFP_HIGH, __GFP_NOMEMALLOC, __GFP_NOWARN, GFP_KERNEL
from swaplab.kernel.kernel import PAGEVEC_SIZE
from swaplab.kernel.mm_types import PAGE_SHIFT, get_page, page_count, page_mapped
from swaplab.kernel.mmzone import NR_FILE_PAGES
from swaplab.kernel.page_flags import (
    ClearPageSwapBacked,
    ClearPageSwapCache,
    PageLocked,
    PageSwapBacked,
    PageSwapCache,
    PageUptodate,
    PageWriteback,
    SetPageDirty,
    SetPageSwapBacked,
    SetPageSwapCache,
)
from swaplab.kernel.sync import (
    __clear_page_locked,
    __set_page_locked,
    atomic_read,
    atomic_rmw,
    busy_retry,
    plain_write,
    shared_read,
    spin_lock,
    spin_unlock,
    trace,
    trylock_page,
    unlock_page,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import Page, VmAreaStruct


async def find_get_swap_page(k: Kernel, entry: int) -> Page | None:
    """mm/filemap.c: find_get_page(&swapper_space, entry): the swap-cache page of
    ``entry`` with a reference taken, or None. A lock-free (RCU) lookup: a READ of the
    tree, which races with insertions and deletions under tree_lock, then
    page_cache_get_speculative() (an atomic increment that fails on a freed page) and the
    re-check that the page is still the one in the slot; either failure repeats."""
    tree = k.swapper_space.page_tree
    while True:
        await shared_read(k, k.swapper_space.tree_lock, "find_get_page")
        page = tree.get(entry)
        if page is None:
            return None
        await atomic_rmw(k, page, "page_cache_get_speculative")
        if page_count(page) == 0:
            continue
        get_page(page)
        if tree.get(entry) is page:
            return page
        page_alloc.put_page(k, page)


async def add_to_swap_cache(k: Kernel, page: Page, entry: int, gfp: int) -> int:
    """mm/swap_state.c: add_to_swap_cache(): radix_tree_preload(``gfp``) (it may sleep
    when ``gfp`` allows), insert the page (:func:`__add_to_swap_cache`), and
    radix_tree_preload_end(). 0 or -EEXIST (another page is there). In 2.6.30/2.6.31 the
    insertion is written inline; 31a5639623a4 moved it, unchanged, into
    __add_to_swap_cache()."""
    err = await radix_tree.radix_tree_preload(k, gfp)
    if not err:
        err = await __add_to_swap_cache(k, page, entry)
        radix_tree.radix_tree_preload_end(k)
    return err


async def __add_to_swap_cache(k: Kernel, page: Page, entry: int) -> int:
    """mm/swap_state.c: __add_to_swap_cache() (31a5639623a4; before it the body of
    add_to_swap_cache()): insert a locked, swap-backed page under ``entry`` (the caller
    owns the slot's cache reference and has preloaded). 0 or -EEXIST (another page is
    there). The cache takes a page ref; PG_swapcache and private are set before tree_lock
    is taken, as in C. No memcg hook. Never sleeps."""
    VM_BUG_ON(not PageLocked(page), "add_to_swap_cache: page not locked")
    VM_BUG_ON(PageSwapCache(page), "add_to_swap_cache: page already swap cache")
    VM_BUG_ON(not PageSwapBacked(page), "add_to_swap_cache: page not swap-backed")
    space = k.swapper_space
    await atomic_rmw(k, page, "SetPageSwapCache")  # set_bit on page->flags: races PageSwapCache()
    get_page(page)
    SetPageSwapCache(page)
    page.private = entry
    await spin_lock(k, space.tree_lock, "add_to_swap_cache")
    if entry in space.page_tree:
        spin_unlock(space.tree_lock)
        page.private = 0
        ClearPageSwapCache(page)
        plain_write(page)
        page._count -= 1
        trace(k, "add_to_swap_cache()", "{!r} {:#x} == -EEXIST", page, entry)
        return -EEXIST
    space.page_tree[entry] = page  # radix_tree_insert()
    radix_tree.radix_tree_node_alloc(k)
    space.nrpages += 1
    k.zone.vm_stat[NR_FILE_PAGES] += 1
    k.swap_cache_info.add_total += 1
    spin_unlock(space.tree_lock)
    trace(k, "add_to_swap_cache()", "{!r} {:#x}", page, entry)
    return 0


def __delete_from_swap_cache(k: Kernel, page: Page) -> None:
    """mm/swap_state.c: __delete_from_swap_cache(): caller holds tree_lock; the page is
    locked, in the swap cache, not under writeback. The cache's page ref, the slot's cache
    reference and memcg are the caller's business."""
    VM_BUG_ON(not PageLocked(page), "__delete_from_swap_cache: page not locked")
    VM_BUG_ON(not PageSwapCache(page), "__delete_from_swap_cache: not swap cache")
    VM_BUG_ON(PageWriteback(page), "__delete_from_swap_cache: under writeback")
    space = k.swapper_space
    del space.page_tree[page.private]
    page.private = 0
    ClearPageSwapCache(page)
    space.nrpages -= 1
    k.zone.vm_stat[NR_FILE_PAGES] -= 1
    k.swap_cache_info.del_total += 1


async def delete_from_swap_cache(k: Kernel, page: Page) -> None:
    """mm/swap_state.c: delete_from_swap_cache() (page locked): take the page out of the
    swap cache, then [30] mem_cgroup_uncharge_swapcache + swap_free, [31] swapcache_free
    (the memcg hook runs after tree_lock is dropped, e767e056), then drop the cache's ref."""
    entry = page.private
    space = k.swapper_space
    await spin_lock(k, space.tree_lock, "delete_from_swap_cache")
    __delete_from_swap_cache(k, page)
    spin_unlock(space.tree_lock)
    trace(k, "delete_from_swap_cache()", "{!r} {:#x}", page, entry)
    if k.cfg.swapcache_interface:
        await swapfile.swapcache_free(k, entry, page)
    else:
        memcontrol.mem_cgroup_uncharge_swapcache(k, page, entry, True)
        await swapfile.swap_free(k, entry)
    page_alloc.put_page(k, page)


async def add_to_swap(k: Kernel, page: Page) -> int:
    """mm/swap_state.c: add_to_swap() (page locked and uptodate, from shrink_page_list):
    allocate a slot and add the page to the swap cache, dirty. Returns 1, or 0 when there
    is no slot (or the radix tree had no memory: -ENOMEM, unreachable here). On -EEXIST
    (a readahead inserted its own page for the fresh slot: possible in [30] only) the
    slot's reference is dropped and another slot is tried; [31] still calls
    swapcache_free(entry, NULL) there, as merged."""
    VM_BUG_ON(not PageLocked(page), "add_to_swap: page not locked")
    VM_BUG_ON(not PageUptodate(page), "add_to_swap: page not uptodate")
    while True:
        entry = await swapfile.get_swap_page(k)
        if not entry:
            return 0
        err = await add_to_swap_cache(k, page, entry, __GFP_HIGH | __GFP_NOMEMALLOC | __GFP_NOWARN)
        if err == 0:
            SetPageDirty(page)
            trace(k, "add_to_swap()", "{!r} -> {:#x}", page, entry)
            return 1
        if k.cfg.swapcache_interface:
            await swapfile.swapcache_free(k, entry, None)
        else:
            await swapfile.swap_free(k, entry)
        if err != -EEXIST:
            return 0
        trace(k, "add_to_swap()", "{:#x}: -EEXIST, retry", entry)


async def lookup_swap_cache(k: Kernel, entry: int) -> Page | None:
    """mm/swap_state.c: lookup_swap_cache(): find_get_page with the find statistics."""
    page = await find_get_swap_page(k, entry)
    if page is not None:
        k.swap_cache_info.find_success += 1
    k.swap_cache_info.find_total += 1
    return page


async def read_swap_cache_async(
    k: Kernel, entry: int, gfp: int, vma: VmAreaStruct | None, addr: int
) -> Page | None:
    """mm/swap_state.c: read_swap_cache_async(): the swap-cache page of ``entry`` (ref
    taken), or a new page added to the swap cache, locked, on its way to the LRU, not
    charged, with its read started (the read completion unlocks it). None when the slot
    is free or no page can be had.
    [30] claims a reference with swap_duplicate() (fails only on a free slot); a racing
    reader that inserted first makes add_to_swap_cache() return -EEXIST, and the next
    round finds its page. [31] claims with swapcache_prepare(): -EEXIST (someone owns
    SWAP_HAS_CACHE but its page is not in the tree yet, or is leaving it) is retried at
    once, a busy loop with no cond_resched() (sync.busy_retry keeps the CPU): if the owner
    sleeps in add_to_swap_cache()'s radix_tree_preload() on the same CPU, that is a soft
    lockup. With 31a5639623a4 the preload comes before swapcache_prepare() and the
    insertion under it (__add_to_swap_cache()) never sleeps. cbab0e4eec29 adds a
    cond_resched() in the -EEXIST branch (an owner asleep in scan_swap_map()'s discard).
    """
    found: Page | None = None
    new_page: Page | None = None
    preload_first = k.cfg.has_fix(PRELOAD_BEFORE_PREPARE)
    while True:
        found = await find_get_swap_page(k, entry)
        if found is not None:
            break
        if new_page is None:
            new_page = await page_alloc.alloc_page_vma(k, gfp, vma, addr)
            if new_page is None:
                break
        if preload_first and await radix_tree.radix_tree_preload(k, gfp & GFP_KERNEL):
            break
        if k.cfg.swapcache_interface:
            err = await swapfile.swapcache_prepare(k, entry)
            if err == -EEXIST and k.cfg.swap_has_cache:
                if preload_first:
                    radix_tree.radix_tree_preload_end(k)
                # cbab0e4eec29: cond_resched() before the next round (a round that sleeps)
                await busy_retry(k, "read_swap_cache_async: -EEXIST",
                                 sleeps=k.cfg.has_fix(DISCARD_RACE))
                continue
        else:
            err = 0 if await swapfile.swap_duplicate(k, entry) else -ENOENT
        if err:
            if preload_first:
                radix_tree.radix_tree_preload_end(k)
            break
        __set_page_locked(k, new_page)
        trace(k, "__set_page_locked()", "{!r}", new_page)
        SetPageSwapBacked(new_page)
        if preload_first:
            err = await __add_to_swap_cache(k, new_page, entry)
            radix_tree.radix_tree_preload_end(k)
        else:
            err = await add_to_swap_cache(k, new_page, entry, gfp & GFP_KERNEL)
        if err == 0:
            trace(k, "lru_cache_add_anon()", "{!r}", new_page)
            await swap.lru_cache_add_anon(k, new_page)
            await page_io.swap_readpage(k, new_page)
            trace(k, "read_swap_cache_async()", "{:#x} -> new {!r}", entry, new_page)
            return new_page
        ClearPageSwapBacked(new_page)
        __clear_page_locked(new_page)
        if k.cfg.swapcache_interface:
            await swapfile.swapcache_free(k, entry, None)
        else:
            await swapfile.swap_free(k, entry)
        if err == -ENOMEM:
            break
    if new_page is not None:
        page_alloc.put_page(k, new_page)
    return found


async def swapin_readahead(
    k: Kernel, entry: int, gfp: int, vma: VmAreaStruct | None, addr: int
) -> Page | None:
    """mm/swap_state.c: swapin_readahead(): read the window of valid_swaphandles() around
    ``entry`` into the swap cache (each page's ref dropped at once; the pages stay
    uncharged until someone maps them), drain this CPU's pagevecs, and return
    read_swap_cache_async(entry) with its ref."""
    nr_pages, offset = await swapfile.valid_swaphandles(k, entry)
    type = swapfile.swp_type(entry)
    for off in range(offset, offset + nr_pages):
        page = await read_swap_cache_async(k, swapfile.swp_entry(type, off), gfp, vma, addr)
        if page is None:
            break
        page_alloc.put_page(k, page)
    await swap.lru_add_drain(k)
    return await read_swap_cache_async(k, entry, gfp, vma, addr)


async def free_swap_cache(k: Kernel, page: Page) -> None:
    """mm/swap_state.c: free_swap_cache(): an unmapped swap-cache page whose lock can be
    had without waiting loses its swap if no pte/shmem reference remains (the
    PageSwapCache test is unlocked; try_to_free_swap re-checks under the lock)."""
    await atomic_read(k, page, "free_swap_cache: PageSwapCache")  # races add_to_swap
    if not PageSwapCache(page):
        trace(k, "free_swap_cache()", "{!r} !PageSwapCache: nothing to free", page)
    elif not page_mapped(page):
        if await trylock_page(k, page, "free_swap_cache"):
            await swapfile.try_to_free_swap(k, page)
            unlock_page(page)
        else:
            trace(k, "free_swap_cache()", "trylock_page({!r}) -> fail", page)


async def free_page_and_swap_cache(k: Kernel, page: Page) -> None:
    """mm/swap_state.c: free_page_and_swap_cache(): free_swap_cache, then drop a ref."""
    await free_swap_cache(k, page)
    page_alloc.put_page(k, page)


async def free_pages_and_swap_cache(k: Kernel, pages: list[Page]) -> None:
    """mm/swap_state.c: free_pages_and_swap_cache() (tlb_flush_mmu): lru_add_drain, then in
    batches of PAGEVEC_SIZE: free_swap_cache on each page, release_pages on the batch."""
    await swap.lru_add_drain(k)
    for start in range(0, len(pages), PAGEVEC_SIZE):
        batch = pages[start:start + PAGEVEC_SIZE]
        for page in batch:
            await free_swap_cache(k, page)
        await swap.release_pages(k, batch)


def show_swap_cache_info(k: Kernel) -> str:
    """mm/swap_state.c: show_swap_cache_info() (sysrq-m, show_mem): the four lines of
    2.6.30/2.6.31, plus RFC 3/5's "Cache only swap" line when that patch is on."""
    info = k.swap_cache_info
    kb = PAGE_SHIFT - 10
    lines = [
        f"{k.swapper_space.nrpages} pages in swap cache",
        f"Swap cache stats: add {info.add_total}, delete {info.del_total}, "
        f"find {info.find_success}/{info.find_total}",
        f"Free swap  = {k.nr_swap_pages << kb}kB",
        f"Total swap = {k.total_swap_pages << kb}kB",
    ]
    if k.cfg.count_cache_only:
        lines.append(f"Cache only swap = {k.nr_cache_only_swaps << kb}kB")
    return "\n".join(lines) + "\n"
