"""mm/filemap.c and mm/truncate.c (2.6.30, 2.6.31): the page cache.

Insertion charges the page to a memcg *before* it enters the tree (mem_cgroup_cache_charge,
undone on failure); removal uncharges after tree_lock is released (e767e056). A model of a
clean regular file (``read_file_pages``) gives reclaim something it can drop without swap.

Abstractions: the radix tree is ``mapping.page_tree`` (index -> page); find_get_page's
lockless RCU lookup is a plain lookup inside the caller's step; radix_tree_preload never
fails; regular files have no backing I/O (a read completes at once, pages stay clean), no
buffer heads, no readahead, no dirty accounting; ``unmap_mapping_range`` is left out
(truncation in the model only meets unmapped pages: shmem inodes are evicted after their last
vma is gone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import memcontrol, page_alloc, swap
from swaplab.kernel.errno import BUG_ON, EEXIST, ENOMEM, VM_BUG_ON
from swaplab.kernel.gfp import GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_RECLAIM_MASK
from swaplab.kernel.kernel import PAGEVEC_SIZE
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    AddressSpace,
    Page,
    get_page,
    page_is_file_cache,
    page_mapped,
)
from swaplab.kernel.mmzone import NR_FILE_PAGES
from swaplab.kernel.page_flags import (
    ClearPageFlag,
    PageLocked,
    PageWriteback,
    PG_dirty,
    PG_mappedtodisk,
    PG_mlocked,
    SetPageSwapBacked,
    SetPageUptodate,
)
from swaplab.kernel.sync import (
    __clear_page_locked,
    __set_page_locked,
    cond_resched,
    current,
    lock_page,
    spin_lock,
    spin_unlock,
    trace,
    trylock_page,
    unlock_page,
    wait_on_page_writeback,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import TaskStruct


def find_get_page(k: Kernel, mapping: AddressSpace, index: int) -> Page | None:
    """mm/filemap.c: find_get_page(): the page at ``index`` with a reference taken, or None
    (the speculative-reference retry loop collapses into one step)."""
    page = mapping.page_tree.get(index)
    if page is not None:
        get_page(page)
    return page


async def find_lock_page(k: Kernel, mapping: AddressSpace, index: int) -> Page | None:
    """mm/filemap.c: find_lock_page(): find_get_page + lock_page, retrying if the page was
    truncated meanwhile."""
    while True:
        page = find_get_page(k, mapping, index)
        if page is None:
            return None
        await lock_page(k, page, "find_lock_page")
        if page.mapping is mapping:
            return page
        unlock_page(page)
        page_alloc.put_page(k, page)


def mapping_mapped(k: Kernel, mapping: AddressSpace) -> bool:
    """include/linux/fs.h: mapping_mapped(): whether any vma maps the file (the model has no
    i_mmap tree: it looks through the tasks' vmas)."""
    for task in k.tasks.values():
        if task.mm is None:
            continue
        for vma in task.mm.mmap:
            if vma.vm_file is mapping:
                return True
    return False


async def add_to_page_cache_locked(k: Kernel, page: Page, mapping: AddressSpace, index: int,
                                   gfp: int) -> int:
    """mm/filemap.c: add_to_page_cache_locked() (page locked): charge the page to current's
    memcg (mem_cgroup_cache_charge) first, then insert it; on -EEXIST undo the charge and the
    ref. Returns 0, -ENOMEM (charge) or -EEXIST."""
    VM_BUG_ON(not PageLocked(page), "add_to_page_cache_locked: page not locked")
    task = current(k).task
    mm = task.mm if task is not None else None
    error = await memcontrol.mem_cgroup_cache_charge(k, page, mm, gfp & GFP_RECLAIM_MASK)
    if error:
        trace(k, "add_to_page_cache_locked()", "{!r} charge -> {}", page, error)
        return int(error)
    get_page(page)
    page.mapping = mapping
    page.index = index
    await spin_lock(k, mapping.tree_lock, "add_to_page_cache_locked")
    if index in mapping.page_tree:
        page.mapping = None
        spin_unlock(mapping.tree_lock)
        memcontrol.mem_cgroup_uncharge_cache_page(k, page)
        page_alloc.put_page(k, page)
        trace(k, "add_to_page_cache_locked()", "{!r} -> -EEXIST", page)
        return -EEXIST
    mapping.page_tree[index] = page
    mapping.nrpages += 1
    k.zone.vm_stat[NR_FILE_PAGES] += 1
    spin_unlock(mapping.tree_lock)
    trace(k, "add_to_page_cache_locked()", "{!r} -> {}[{}]", page, mapping.name, index)
    return 0


async def add_to_page_cache(k: Kernel, page: Page, mapping: AddressSpace, index: int,
                            gfp: int) -> int:
    """include/linux/pagemap.h: add_to_page_cache(): lock the new page, insert it; the page
    stays locked on success."""
    __set_page_locked(k, page)
    error = await add_to_page_cache_locked(k, page, mapping, index, gfp)
    if error:
        __clear_page_locked(page)
    return error


async def add_to_page_cache_lru(k: Kernel, page: Page, mapping: AddressSpace, index: int,
                                gfp: int) -> int:
    """mm/filemap.c: add_to_page_cache_lru(): swap-backed (shmem) mappings make the page
    PG_swapbacked and send it to the active anon list, file pages to the inactive file list
    (both through the per-CPU pagevec)."""
    if mapping.swap_backed:
        SetPageSwapBacked(page)
    ret = await add_to_page_cache(k, page, mapping, index, gfp)
    if ret == 0:
        if page_is_file_cache(page):
            await swap.lru_cache_add_file(k, page)
        else:
            await swap.lru_cache_add_lru(k, page, LRU_ACTIVE_ANON)
    return ret


def __remove_from_page_cache(k: Kernel, page: Page) -> None:
    """mm/filemap.c: __remove_from_page_cache() (caller holds tree_lock)."""
    mapping = page.mapping
    assert isinstance(mapping, AddressSpace)
    del mapping.page_tree[page.index]
    page.mapping = None
    mapping.nrpages -= 1
    k.zone.vm_stat[NR_FILE_PAGES] -= 1
    BUG_ON(page_mapped(page), "__remove_from_page_cache: page still mapped")


def remove_from_page_cache(k: Kernel, page: Page) -> None:
    """mm/filemap.c: remove_from_page_cache() (page locked): out of the tree, then
    mem_cgroup_uncharge_cache_page after tree_lock (a no-op for a page that is already swap
    cache: shmem_writepage). Plain function: the tree_lock section runs inside the caller's
    step."""
    BUG_ON(not PageLocked(page), "remove_from_page_cache: page not locked")
    __remove_from_page_cache(k, page)
    memcontrol.mem_cgroup_uncharge_cache_page(k, page)


def truncate_complete_page(k: Kernel, mapping: AddressSpace, page: Page) -> None:
    """mm/truncate.c: truncate_complete_page() (page locked): cancel_dirty_page,
    clear_page_mlock (reduced to clearing PG_mlocked), remove_from_page_cache, drop the
    page cache's ref."""
    if page.mapping is not mapping:
        return
    ClearPageFlag(page, PG_dirty)
    ClearPageFlag(page, PG_mlocked)
    remove_from_page_cache(k, page)
    ClearPageFlag(page, PG_mappedtodisk)
    page_alloc.put_page(k, page)


def _pagevec_lookup(mapping: AddressSpace, start: int) -> list[Page]:
    """mm/swap.c: pagevec_lookup(): up to PAGEVEC_SIZE pages from ``start`` on, with refs."""
    pages = [page for index, page in sorted(mapping.page_tree.items()) if index >= start]
    pages = pages[:PAGEVEC_SIZE]
    for page in pages:
        get_page(page)
    return pages


async def truncate_inode_pages(k: Kernel, mapping: AddressSpace, start: int) -> None:
    """mm/truncate.c: truncate_inode_pages() -> truncate_inode_pages_range(start, EOF), with
    ``start`` a page index: a first pass with trylock_page skipping busy pages, then a
    second pass that locks and waits for writeback. Mapped pages are skipped (see module)."""
    if mapping.nrpages == 0:
        return
    nxt = start
    while pvec := _pagevec_lookup(mapping, nxt):
        for page in pvec:
            nxt = max(nxt, page.index + 1)
            if not await trylock_page(k, page, "truncate_inode_pages"):
                continue
            if not PageWriteback(page) and not page_mapped(page):
                truncate_complete_page(k, mapping, page)
            unlock_page(page)
        await swap.pagevec_release(k, pvec)
        await cond_resched(k, "truncate_inode_pages")
    await _truncate_second_pass(k, mapping, start)


async def _truncate_second_pass(k: Kernel, mapping: AddressSpace, start: int) -> None:
    """The sleeping second pass of truncate_inode_pages_range()."""
    nxt = start
    while True:
        await cond_resched(k, "truncate_inode_pages")
        pvec = _pagevec_lookup(mapping, nxt)
        if not pvec:
            if nxt == start:
                break
            nxt = start
            continue
        progress = False
        for page in pvec:
            await lock_page(k, page, "truncate_inode_pages")
            await wait_on_page_writeback(k, page)
            nxt = max(nxt, page.index + 1)
            if not page_mapped(page):
                truncate_complete_page(k, mapping, page)
                progress = True
            unlock_page(page)
        await swap.pagevec_release(k, pvec)
        if not progress:
            break  # only mapped pages left (the kernel would unmap them)


async def read_file_pages(k: Kernel, task: TaskStruct, nr: int,
                          mapping: AddressSpace | None = None) -> int:
    """A clean regular file read into the page cache (do_generic_file_read /
    page_cache_read, condensed): ``nr`` pages of ``mapping`` (a fresh file per call by
    default), each allocated, charged as CACHE to the running task's memcg through
    add_to_page_cache_lru (inactive file list, via the pagevec), read at once (uptodate,
    clean), marked accessed, unlocked and released by the reader: unmapped page cache that
    reclaim can drop. Returns the number of pages read, or a negative errno if the first
    page failed. Must run in ``task``'s thread (the charge goes to current->mm)."""
    if mapping is None:
        mapping = AddressSpace(f"file-{task.pid}-{task.comm}")
    base = max(mapping.page_tree, default=-1) + 1
    done = 0
    for i in range(nr):
        page = await page_alloc.alloc_pages(k, GFP_HIGHUSER_MOVABLE, "page_cache_alloc_cold")
        if page is None:
            return done or -ENOMEM
        error = await add_to_page_cache_lru(k, page, mapping, base + i, GFP_KERNEL)
        if error:
            page_alloc.put_page(k, page)
            return done or error
        SetPageUptodate(page)  # ->readpage() completes at once
        unlock_page(page)
        await swap.mark_page_accessed(k, page)
        page_alloc.put_page(k, page)  # the reader's ref
        done += 1
    trace(k, "read_file_pages()", "{!r} {} pages of {}", task, done, mapping.name)
    return done
