"""mm/shmem.c and ipc/shm.c (2.6.30, 2.6.31): shmem inodes (shared /dev/zero, SysV shm).

A shmem page lives in its inode's page cache (swap-backed, on the anon LRU lists), charged
to a memcg as SHMEM through add_to_page_cache_locked (so memory.stat counts it as "cache").
Reclaim writes it to swap through shmem_writepage (swap cache + a swap entry in ``i_swap``);
shmem_getpage reads it back. Truncation (inode eviction) uncharges the pages and frees the
swap entries.

The inode's life (fs/inode.c): ``i_count`` starts at 1, the reference of the file's dentry
(every file of the inode - the segment's own, each attach's, a /dev/zero mapping's - shares
it: the model drops it once, with the last file reference, :func:`dentry_iput`). igrab()
takes one more unless the inode is being freed (I_FREEING/I_CLEAR); iput() of the last
reference sets I_FREEING and evicts the inode (generic_delete_inode -> shmem_delete_inode:
shmem inodes are unlinked, i_nlink 0), which ends in clear_inode (I_CLEAR). fs/inode.c's
global inode_lock is one lock per inode here: on these paths it only orders that inode's
i_count and i_state.

Abstractions: no tmpfs mount, no size accounting (shmem_acct_*), no sbinfo block limits, no
swap vector pages (``i_swap`` is a dict index -> entry: a directory walk is a walk of its
sorted indices), no mempolicy, no SGP_READ/SGP_DIRTY/SGP_WRITE variants (every lookup is
SGP_CACHE), no partial-page truncation or hole punching. shmem_swaplist is a plain list
(``k.shmem_swaplist``) without shmem_swaplist_mutex: each change or read of it is one step
of plain code, recorded as a write of the list (:func:`_swaplist_touched`) so that the
explorer orders those steps as the mutex would; the inode structs the mutex keeps from
being freed under shmem_unuse() are never freed here. A file reference is a vma in
``mapping.i_mmap`` (kept by mmap.py) plus, for a SysV segment, the segment's own reference
until it is destroyed; the dentry's inode reference goes with the last one.
SysV ids come from ``k.shm_next_id``; no permissions, no IPC namespaces, no SHMMAX/SHMALL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import (
    filemap,
    memcontrol,
    memory,
    mmap,
    page_alloc,
    page_io,
    swap_state,
    swapfile,
    vmscan,
)
from swaplab.kernel.errno import BUG_ON, EEXIST, EINVAL, EIO, ENOMEM
from swaplab.kernel.gfp import GFP_ATOMIC, GFP_HIGHUSER, GFP_KERNEL, GFP_NOWAIT
from swaplab.kernel.mm_types import (
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_LOCKED,
    VM_READ,
    VM_WRITE,
    AddressSpace,
    Page,
    page_mapped,
)
from swaplab.kernel.page_flags import (
    PageLocked,
    PageUptodate,
    PageWriteback,
    SetPageDirty,
    SetPageSwapBacked,
    SetPageUptodate,
)
from swaplab.kernel.sync import (
    Lock,
    busy_retry,
    cond_resched,
    current,
    plain_write,
    spin_lock,
    spin_unlock,
    trace,
    trylock_page,
    unlock_page,
    wait_on_page_locked,
    wait_on_page_writeback,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import MmStruct, VmAreaStruct

#: include/linux/ipc.h: IPC_PRIVATE, IPC_RMID; include/linux/shm.h: SHM_LOCK, SHM_UNLOCK
IPC_PRIVATE = 0
IPC_RMID = 0
SHM_LOCK = 11
SHM_UNLOCK = 12
#: include/linux/shm.h: SHMMIN
SHMMIN = 1
#: mm/shmem.c: info->flags bits besides VM_LOCKED: a page came into the cache since the
#: flag was last cleared (SHMEM_PAGEIN), a truncation is under way (SHMEM_TRUNCATE)
SHMEM_PAGEIN = VM_READ
SHMEM_TRUNCATE = VM_WRITE
#: include/linux/fs.h: i_state bits
I_WILL_FREE = 1 << 4
I_FREEING = 1 << 5
I_CLEAR = 1 << 6
#: the sites of shmem_unuse_inode()'s busy-wait rounds (see its docstring)
UNUSE_IGRAB_FAILED = "try_to_unuse: slot of an inode being evicted"
UNUSE_TRUNCATING = "try_to_unuse: slot a truncation is freeing"


class ShmemInode:
    """struct shmem_inode_info with its inode: a swap-backed page cache (``mapping``), the
    swap entries of swapped-out indices (``i_swap``), size in pages (i_size), the highest
    index allocated + 1 (``next_index``), info->flags (VM_LOCKED for SHM_LOCK,
    SHMEM_PAGEIN, SHMEM_TRUNCATE) in ``flags``; ``lock`` is info->lock, ``alloced`` the
    pages allocated. ``swapped`` is info->swapped: the entries in ``i_swap`` plus those a
    running truncation has cleared but not yet subtracted (``swaps_freeing``).

    The inode part: ``i_count``, ``i_state`` (I_FREEING, I_CLEAR), ``inode_lock`` (see the
    module docstring) and ``dentry_released`` (the dentry's reference is gone).

    SysV segments (struct shmid_kernel) also carry ``shm_id`` (-1 otherwise), ``shm_key``
    and ``shm_dest`` (SHM_DEST: IPC_RMID while attached).
    """

    __slots__ = ("alloced", "dentry_released", "flags", "i_count", "i_state", "i_swap",
                 "inode_lock", "lock", "mapping", "next_index", "shm_dest", "shm_id",
                 "shm_key", "size_pages", "swaps_freeing")

    def __init__(self, name: str, size_pages: int) -> None:
        self.mapping = AddressSpace(name, swap_backed=True, host=self)
        self.i_swap: dict[int, int] = {}
        self.size_pages = size_pages
        self.next_index = 0
        self.flags = 0
        self.lock = Lock(f"{name}.info->lock")
        self.alloced = 0
        self.swaps_freeing = 0
        self.i_count = 1
        self.i_state = 0
        self.inode_lock = Lock(f"{name}: inode_lock")
        self.dentry_released = False
        self.shm_id = -1
        self.shm_key = IPC_PRIVATE
        self.shm_dest = False

    @property
    def shm_nattch(self) -> int:
        """shmid_kernel.shm_nattch: the vmas attached (those mapping the segment)."""
        return len(self.mapping.i_mmap)

    @property
    def swapped(self) -> int:
        """info->swapped: swap entries the inode holds, as its counter says."""
        return len(self.i_swap) + self.swaps_freeing

    @property
    def evicted(self) -> bool:
        """Whether shmem_delete_inode() has run to its clear_inode() (I_CLEAR)."""
        return bool(self.i_state & I_CLEAR)

    def __repr__(self) -> str:
        return f"ShmemInode({self.mapping.name!r}, {self.size_pages} pages)"


def SHMEM_I(mapping: AddressSpace) -> ShmemInode:
    """include/linux/shmem_fs.h: SHMEM_I(mapping->host)."""
    host = mapping.host
    BUG_ON(not isinstance(host, ShmemInode), "{!r} is not a shmem mapping", mapping)
    assert isinstance(host, ShmemInode)
    return host


def mapping_unevictable(mapping: AddressSpace) -> bool:
    """include/linux/pagemap.h: mapping_unevictable(): AS_UNEVICTABLE, i.e. SHM_LOCK."""
    host = mapping.host
    return isinstance(host, ShmemInode) and bool(host.flags & VM_LOCKED)


# ---------------------------------------------------------------------------------------------
# Getting a page


def shmem_swp_alloc(inode: ShmemInode, idx: int) -> int:
    """mm/shmem.c: shmem_swp_alloc() (SGP_CACHE, info->lock held), what is left of it
    without swap vector pages: -EINVAL at or beyond i_size, else raise next_index past
    ``idx``; 0."""
    if idx >= inode.size_pages:
        return -EINVAL
    if inode.next_index <= idx:
        inode.next_index = idx + 1
    return 0


async def _shmem_getpage_swapped(k: Kernel, inode: ShmemInode, idx: int, swap: int, gfp: int,
                                 mm: MmStruct | None) -> tuple[int, Page | None]:
    """shmem_getpage() for an index whose data is in swap (called with info->lock held;
    returns with it released). (0, page) on success; (1, None) = repeat; (err, None)."""
    mapping = inode.mapping
    swappage = await swap_state.lookup_swap_cache(k, swap)
    if swappage is None:
        spin_unlock(inode.lock)
        swappage = await swap_state.swapin_readahead(k, swap, gfp, None, 0)
        if swappage is None:
            await spin_lock(k, inode.lock, "shmem_getpage")
            still = inode.i_swap.get(idx, 0) == swap
            spin_unlock(inode.lock)
            return (-ENOMEM, None) if still else (1, None)
        await wait_on_page_locked(k, swappage)
        page_alloc.put_page(k, swappage)
        return 1, None
    if not await trylock_page(k, swappage, "shmem_getpage"):
        spin_unlock(inode.lock)
        await wait_on_page_locked(k, swappage)
        page_alloc.put_page(k, swappage)
        return 1, None
    if PageWriteback(swappage) or not PageUptodate(swappage):
        spin_unlock(inode.lock)
        if PageWriteback(swappage):
            await wait_on_page_writeback(k, swappage)
        error = 1 if PageUptodate(swappage) else -EIO
        unlock_page(swappage)
        page_alloc.put_page(k, swappage)
        return error, None
    error = await filemap.add_to_page_cache_locked(k, swappage, mapping, idx, GFP_NOWAIT)
    if not error:
        inode.flags |= SHMEM_PAGEIN
        del inode.i_swap[idx]
        await swap_state.delete_from_swap_cache(k, swappage)
        spin_unlock(inode.lock)
        SetPageDirty(swappage)
        await swapfile.swap_free(k, swap)
        trace(k, "shmem_getpage()", "{}[{}] swapped in {!r}", mapping.name, idx, swappage)
        return 0, swappage
    spin_unlock(inode.lock)
    if error == -ENOMEM:
        error = await memcontrol.mem_cgroup_shmem_charge_fallback(k, swappage, mm, gfp)
    unlock_page(swappage)
    page_alloc.put_page(k, swappage)
    return (error, None) if error else (1, None)


async def _shmem_getpage_new(k: Kernel, inode: ShmemInode, idx: int, gfp: int,
                             mm: MmStruct | None) -> tuple[int, Page | None]:
    """shmem_getpage() for a hole (info->lock released by the caller): allocate, precharge
    with GFP_KERNEL, then insert with GFP_NOWAIT under info->lock. (0, page) locked;
    (1, None) = repeat (raced); (err, None)."""
    page = await page_alloc.alloc_pages(k, gfp, "shmem_alloc_page")
    if page is None:
        return -ENOMEM, None
    SetPageSwapBacked(page)
    error = await memcontrol.mem_cgroup_cache_charge(k, page, mm, GFP_KERNEL)
    if error:
        page_alloc.put_page(k, page)
        return int(error), None
    await spin_lock(k, inode.lock, "shmem_getpage")
    error = shmem_swp_alloc(inode, idx)
    if error or inode.i_swap.get(idx, 0):
        memcontrol.mem_cgroup_uncharge_cache_page(k, page)
        ret = error or 1
    else:
        ret = await filemap.add_to_page_cache_lru(k, page, inode.mapping, idx, GFP_NOWAIT)
    if ret:
        spin_unlock(inode.lock)
        page_alloc.put_page(k, page)
        return (1, None) if ret in (1, -EEXIST) else (ret, None)
    inode.flags |= SHMEM_PAGEIN
    inode.alloced += 1
    spin_unlock(inode.lock)
    SetPageUptodate(page)  # clear_highpage()
    trace(k, "shmem_getpage()", "{}[{}] new {!r}", inode.mapping.name, idx, page)
    return 0, page


async def shmem_getpage(k: Kernel, inode: ShmemInode, idx: int, gfp: int,
                        mm: MmStruct | None) -> tuple[int, Page | None]:
    """mm/shmem.c: shmem_getpage() (SGP_CACHE): the page at ``idx``, locked, with a ref:
    from the page cache, read back from the swap entry the inode records for ``idx``, or
    newly allocated and charged (a page put into the cache sets SHMEM_PAGEIN). Returns
    (0, page) or (-errno, None): -EINVAL at or beyond i_size (shmem_swp_alloc); ``mm`` is
    current->mm for the charge."""
    mapping = inode.mapping
    while True:
        page = await filemap.find_lock_page(k, mapping, idx)
        if page is not None:
            if PageUptodate(page):
                return 0, page
            unlock_page(page)  # not modelled: a !uptodate shmem page in the cache
            page_alloc.put_page(k, page)
            return -EIO, None
        await spin_lock(k, inode.lock, "shmem_getpage")
        error = shmem_swp_alloc(inode, idx)
        if error:
            spin_unlock(inode.lock)
            return error, None
        swap = inode.i_swap.get(idx, 0)
        if swap:
            ret, page = await _shmem_getpage_swapped(k, inode, idx, swap, gfp, mm)
        else:
            spin_unlock(inode.lock)
            ret, page = await _shmem_getpage_new(k, inode, idx, gfp, mm)
        if ret != 1:
            return ret, page


async def shmem_fault(k: Kernel, vma: VmAreaStruct, pgoff: int) -> tuple[int, Page | None]:
    """mm/shmem.c: shmem_fault(): (VM_FAULT_LOCKED, page locked with a ref) for __do_fault
    (memory.do_linear_fault maps it with page_add_file_rmap); VM_FAULT_SIGBUS beyond the
    end of the inode; an -ENOMEM from shmem_getpage (allocation or memcg charge) is
    VM_FAULT_OOM, other errors VM_FAULT_SIGBUS."""
    assert vma.vm_file is not None
    inode = SHMEM_I(vma.vm_file)
    if pgoff >= inode.size_pages:
        return memory.VM_FAULT_SIGBUS, None
    error, page = await shmem_getpage(k, inode, pgoff, GFP_HIGHUSER, vma.vm_mm)
    if error:
        return (memory.VM_FAULT_OOM if error == -ENOMEM else memory.VM_FAULT_SIGBUS), None
    return memory.VM_FAULT_LOCKED, page


# ---------------------------------------------------------------------------------------------
# Writing a page to swap


async def shmem_writepage(k: Kernel, page: Page) -> int:
    """mm/shmem.c: shmem_writepage() (page locked; always wbc->for_reclaim, from pageout).

    SHM_LOCKed inode or no swap at all -> redirty, AOP_WRITEPAGE_ACTIVATE (page still
    locked). Else get_swap_page(); under info->lock drop a stale entry of this index
    (free_swap_and_cache); add_to_swap_cache(GFP_ATOMIC); on success remove_from_page_cache
    (its memcg uncharge is a no-op: the page is swap cache now, the SHMEM charge stays),
    record the entry, swap_duplicate (shmem's own ref), drop the page cache's ref and
    swap_writepage(). No slot / insert failure: [30] swap_free, [31] swapcache_free(NULL),
    redirty, AOP_WRITEPAGE_ACTIVATE."""
    BUG_ON(not PageLocked(page), "shmem_writepage: page not locked")
    mapping = page.mapping
    assert isinstance(mapping, AddressSpace)
    index = page.index
    inode = SHMEM_I(mapping)
    if inode.flags & VM_LOCKED or not k.total_swap_pages:
        SetPageDirty(page)
        trace(k, "shmem_writepage()", "{!r} locked/no swap -> AOP_WRITEPAGE_ACTIVATE", page)
        return vmscan.AOP_WRITEPAGE_ACTIVATE
    swap = await swapfile.get_swap_page(k)
    await spin_lock(k, inode.lock, "shmem_writepage")
    if index >= inode.next_index:
        BUG_ON(not inode.flags & SHMEM_TRUNCATE, "shmem_writepage: beyond next_index")
    else:
        old = inode.i_swap.pop(index, 0)
        if old:
            await swapfile.free_swap_and_cache(k, old)
        if swap and await swap_state.add_to_swap_cache(k, page, swap, GFP_ATOMIC) == 0:
            await _shmem_writepage_swapped(k, inode, page, swap)
            return 0
    spin_unlock(inode.lock)
    if swap:  # a 0 entry is ignored by swap_free/swapcache_free
        if k.cfg.swapcache_interface:
            await swapfile.swapcache_free(k, swap, None)
        else:
            await swapfile.swap_free(k, swap)
    SetPageDirty(page)
    trace(k, "shmem_writepage()", "{!r} no slot -> AOP_WRITEPAGE_ACTIVATE", page)
    return vmscan.AOP_WRITEPAGE_ACTIVATE


async def _shmem_writepage_swapped(k: Kernel, inode: ShmemInode, page: Page, swap: int) -> None:
    """shmem_writepage() once ``page`` is in the swap cache (info->lock held, released
    here): leave the page cache, record ``swap``, igrab the inode if it is not on
    shmem_swaplist yet (an inode being freed is not put there), swap_duplicate, drop the
    page cache's ref, swap_writepage; then put the grabbed inode at the tail of
    shmem_swaplist and iput it (which may evict it, here in reclaim)."""
    filemap.remove_from_page_cache(k, page)
    inode.i_swap[page.index] = swap
    grabbed = await igrab(k, inode) if inode not in _swaplist_touched(k) else None
    spin_unlock(inode.lock)
    await swapfile.swap_duplicate(k, swap)
    BUG_ON(page_mapped(page), "shmem_writepage: page still mapped")
    page_alloc.put_page(k, page)  # the page cache's ref
    trace(k, "shmem_writepage()", "{!r} -> {:#x}", page, swap)
    await page_io.swap_writepage(k, page)
    if grabbed is not None:
        if grabbed in _swaplist_touched(k):  # list_move_tail: we may be racing
            k.shmem_swaplist.remove(grabbed)
        k.shmem_swaplist.append(grabbed)
        await iput(k, grabbed)


def _swaplist_touched(k: Kernel) -> list[ShmemInode]:
    """``k.shmem_swaplist``, recorded as written by the running step (see the module
    docstring: the stand-in for shmem_swaplist_mutex)."""
    plain_write(k.shmem_swaplist)
    return k.shmem_swaplist


# ---------------------------------------------------------------------------------------------
# Inode lifetime (fs/inode.c, fs/dcache.c)


async def igrab(k: Kernel, inode: ShmemInode) -> ShmemInode | None:
    """fs/inode.c: igrab(): under inode_lock, one more reference to ``inode``, unless it
    is being freed (I_FREEING, I_CLEAR, I_WILL_FREE): then None."""
    await spin_lock(k, inode.inode_lock, "igrab")
    if inode.i_state & (I_FREEING | I_CLEAR | I_WILL_FREE):
        spin_unlock(inode.inode_lock)
        trace(k, "igrab()", "{} is being freed == NULL", inode.mapping.name)
        return None
    inode.i_count += 1
    spin_unlock(inode.inode_lock)
    return inode


async def iput(k: Kernel, inode: ShmemInode | None) -> None:
    """fs/inode.c: iput() (NULL allowed): drop a reference; the last one (the decrement
    and I_FREEING under inode_lock: atomic_dec_and_lock, iput_final -> generic_drop_inode
    of an unlinked inode -> generic_delete_inode) evicts the inode with
    shmem_delete_inode(). Abstraction: every decrement takes inode_lock."""
    if inode is None:
        return
    BUG_ON(bool(inode.i_state & I_CLEAR), "iput: inode already cleared")
    await spin_lock(k, inode.inode_lock, "iput")
    inode.i_count -= 1
    if inode.i_count:
        spin_unlock(inode.inode_lock)
        return
    inode.i_state |= I_FREEING
    spin_unlock(inode.inode_lock)
    await shmem_delete_inode(k, inode)


async def dentry_iput(k: Kernel, inode: ShmemInode) -> None:
    """fs/dcache.c: dput() of the last file reference -> d_kill() -> dentry_iput(): the
    dentry's reference to the inode goes (once; later calls do nothing)."""
    if inode.dentry_released:
        return
    inode.dentry_released = True
    await iput(k, inode)


# ---------------------------------------------------------------------------------------------
# Truncation


async def shmem_truncate_range(k: Kernel, inode: ShmemInode, start: int) -> None:
    """mm/shmem.c: shmem_truncate_range(inode, start, -1) (2.6.30 and 2.6.31 alike), for
    page index ``start`` to the end; the caller has truncated the page cache already.

    Under info->lock: set SHMEM_TRUNCATE and lower next_index to ``start`` (from then on
    shmem_unuse_inode() and shmem_writepage() leave the indices beyond it alone). Then,
    *without* info->lock (the lowered next_index is the protection), clear and
    free_swap_and_cache() each swap entry of the range, counting them; info->swapped
    keeps them (``swaps_freeing``) until the end. If pages came into the cache meanwhile
    (nrpages and SHMEM_PAGEIN: a racing shmem_unuse_inode or shmem_getpage), truncate the
    page cache again. Last, under info->lock: clear SHMEM_TRUNCATE and subtract the freed
    entries from info->swapped. Abstractions: no hole punching (``end`` is always EOF), no
    swap vector pages to free, no block accounting, no cond_resched per directory page."""
    if start >= inode.next_index:
        return
    await spin_lock(k, inode.lock, "shmem_truncate_range")
    inode.flags |= SHMEM_TRUNCATE
    limit = inode.next_index
    inode.next_index = start
    spin_unlock(inode.lock)
    freed = await _shmem_free_swp(k, inode, start, limit)
    if inode.mapping.nrpages and inode.flags & SHMEM_PAGEIN:
        trace(k, "shmem_truncate_range()", "{}: pages came in, again", inode.mapping.name)
        await filemap.truncate_inode_pages(k, inode.mapping, start)
    await spin_lock(k, inode.lock, "shmem_truncate_range")
    inode.flags &= ~SHMEM_TRUNCATE
    inode.swaps_freeing -= freed
    spin_unlock(inode.lock)
    trace(k, "shmem_truncate_range()", "{} from {}: {} freed", inode.mapping.name, start, freed)


async def _shmem_free_swp(k: Kernel, inode: ShmemInode, start: int, limit: int) -> int:
    """mm/shmem.c: shmem_free_swp() over the indices [start, limit) (truncation: no lock
    held): free_swap_and_cache() each entry, then clear it. Returns the number freed, which
    info->swapped still counts. The clearing is plain code: a racer reads an entry only
    under info->lock and below next_index, which the caller lowered first."""
    freed = 0
    for idx in sorted(inode.i_swap):
        if not start <= idx < limit:
            continue
        await swapfile.free_swap_and_cache(k, inode.i_swap[idx])
        del inode.i_swap[idx]
        inode.swaps_freeing += 1
        freed += 1
    return freed


async def shmem_truncate(k: Kernel, inode: ShmemInode) -> None:
    """mm/shmem.c: shmem_truncate(): shmem_truncate_range() from i_size to the end."""
    await shmem_truncate_range(k, inode, inode.size_pages)


async def shmem_delete_inode(k: Kernel, inode: ShmemInode) -> None:
    """mm/shmem.c: shmem_delete_inode() (2.6.30, 2.6.31), the eviction generic_delete_inode()
    runs once I_FREEING is set: truncate the page cache, i_size 0, shmem_truncate() (the
    swap entries), and only then take the inode off shmem_swaplist; clear_inode()
    (I_CLEAR). Until that removal swapoff's shmem_unuse() may still search the inode: its
    igrab() fails, and the lowered next_index hides the entries being freed."""
    BUG_ON(not inode.i_state & I_FREEING, "shmem_delete_inode: not I_FREEING")
    await filemap.truncate_inode_pages(k, inode.mapping, 0)
    inode.size_pages = 0
    await shmem_truncate(k, inode)
    if inode in _swaplist_touched(k):
        k.shmem_swaplist.remove(inode)
    inode.i_state |= I_CLEAR
    trace(k, "shmem_delete_inode()", inode.mapping.name)


# ---------------------------------------------------------------------------------------------
# swapoff


async def shmem_unuse_inode(k: Kernel, inode: ShmemInode, entry: int, page: Page) -> int:
    """mm/shmem.c: shmem_unuse_inode() (2.6.30, 2.6.31 alike), for the swap-cache ``page``
    (locked) of ``entry``.

    Under info->lock: an inode with no swap (info->swapped 0) leaves shmem_swaplist; else
    look for ``entry`` below next_index, lowest index first; not there -> 0 (page
    untouched). Found: igrab() the inode, still under info->lock, then drop the lock and
    make the inode the head of the search. If igrab() failed (the inode is being evicted:
    I_FREEING) the result is 1 without touching the entry: shmem_truncate_range() frees
    it. Else charge the page (as a shmem swap-in, to the group its swap record names) and
    insert it at the index (:func:`_shmem_unuse_insert`). Either way the page is unlocked
    and released, then the inode iput() (which evicts it if its last other reference went
    meanwhile). Returns 1 (done, or the entry changed meanwhile) or -errno (the charge).

    Deviations: moving the list head is a rotation of ``k.shmem_swaplist``. After a failed
    igrab, or when the entry lies beyond next_index because a truncation is freeing it,
    try_to_unuse() finds the slot again and again until the truncation has freed it: the
    model makes that poll a busy-wait round (sync.busy_retry) before returning, so the
    rest of the round runs when the truncating thread cannot."""
    await spin_lock(k, inode.lock, "shmem_unuse_inode")
    if not inode.swapped:
        if inode in _swaplist_touched(k):
            k.shmem_swaplist.remove(inode)
        spin_unlock(inode.lock)
        return 0
    idx = _shmem_find_swp(inode, entry)
    if idx < 0:
        freeing = bool(inode.flags & SHMEM_TRUNCATE) and entry in inode.i_swap.values()
        spin_unlock(inode.lock)
        if freeing:
            await busy_retry(k, UNUSE_TRUNCATING, sleeps=True)
        return 0
    grabbed = await igrab(k, inode)
    spin_unlock(inode.lock)
    at = k.shmem_swaplist.index(inode) if inode in _swaplist_touched(k) else 0
    k.shmem_swaplist[:] = k.shmem_swaplist[at:] + k.shmem_swaplist[:at]
    error = 1
    if grabbed is not None:
        task = current(k).task
        mm = task.mm if task is not None else None
        error = await memcontrol.mem_cgroup_cache_charge(k, page, mm, GFP_KERNEL)
        if not error:
            error = await _shmem_unuse_insert(k, inode, idx, entry, page)
    unlock_page(page)
    page_alloc.put_page(k, page)
    trace(k, "shmem_unuse_inode()", "{}[{}] {:#x} == {}", inode.mapping.name, idx, entry, error)
    await iput(k, grabbed)
    if grabbed is None:
        await busy_retry(k, UNUSE_IGRAB_FAILED, sleeps=True)
    return error


def _shmem_find_swp(inode: ShmemInode, entry: int) -> int:
    """mm/shmem.c: shmem_find_swp() over the inode's index (info->lock held): the lowest
    index below next_index (the limit a truncation lowers first) holding ``entry``, or -1."""
    for idx in sorted(inode.i_swap):
        if idx >= inode.next_index:
            break
        if inode.i_swap[idx] == entry:
            return idx
    return -1


async def _shmem_unuse_insert(k: Kernel, inode: ShmemInode, idx: int, entry: int,
                              page: Page) -> int:
    """shmem_unuse_inode() after the precharge: under info->lock, insert the page at
    ``idx`` if the index still holds ``entry`` (GFP_NOWAIT), else undo the precharge; an
    -EEXIST with an uptodate page already there forgets our copy. 1 or -errno."""
    await spin_lock(k, inode.lock, "shmem_unuse_inode")
    if inode.i_swap.get(idx, 0) == entry:
        error = await filemap.add_to_page_cache_locked(k, page, inode.mapping, idx,
                                                       GFP_NOWAIT)
    else:
        memcontrol.mem_cgroup_uncharge_cache_page(k, page)
        error = 1
    if error == -EEXIST:
        error = 1
        filepage = filemap.find_get_page(k, inode.mapping, idx)
        if filepage is not None:
            if PageUptodate(filepage):
                error = 0
            page_alloc.put_page(k, filepage)
    if not error:
        await swap_state.delete_from_swap_cache(k, page)
        SetPageDirty(page)
        inode.flags |= SHMEM_PAGEIN
        del inode.i_swap[idx]
        await swapfile.swap_free(k, entry)
        error = 1
    spin_unlock(inode.lock)
    return error


async def shmem_unuse(k: Kernel, entry: int, page: Page) -> int:
    """mm/shmem.c: shmem_unuse(): try_to_unuse()'s search of shmem for ``entry`` (page
    locked): shmem_unuse_inode() on each inode of shmem_swaplist until one answers. 0 (not
    found: page still locked), 1 or -errno (page unlocked and released)."""
    for inode in list(_swaplist_touched(k)):
        found = await shmem_unuse_inode(k, inode, entry, page)
        await cond_resched(k, "shmem_unuse")
        if found:
            return found
    return 0


def shmem_zero_setup(k: Kernel, vma: VmAreaStruct) -> int:
    """mm/shmem.c: shmem_zero_setup(): a shared anonymous mapping (MAP_SHARED|MAP_ANONYMOUS
    or /dev/zero) gets a new shmem inode ("dev/zero") of the vma's size as its file."""
    size_pages = (vma.vm_end - vma.vm_start) >> PAGE_SHIFT
    inode = ShmemInode("dev/zero", size_pages)
    vma.vm_file = inode.mapping
    trace(k, "shmem_zero_setup()", "{:#x} {} pages", vma.vm_start, size_pages)
    return 0


async def shmem_vma_close(k: Kernel, vma: VmAreaStruct) -> None:
    """vm_ops->close (ipc/shm.c: shm_close) and the fput of remove_vma() for a shmem vma,
    to be called once the vma has left the file's i_mmap (munmap, exit). A SysV segment
    marked SHM_DEST is destroyed with its last attach; a /dev/zero inode loses its dentry
    reference with its last vma (:func:`dentry_iput`). Idempotent."""
    if vma.vm_file is None or not isinstance(vma.vm_file.host, ShmemInode):
        return
    inode = vma.vm_file.host
    if inode.shm_id >= 0:
        if inode.shm_nattch == 0 and inode.shm_dest and inode.shm_id in k.shm_segments:
            await shm_destroy(k, inode)
        return
    if not inode.mapping.i_mmap:
        await dentry_iput(k, inode)


async def shmem_lock(k: Kernel, inode: ShmemInode, lock: bool) -> int:
    """mm/shmem.c: shmem_lock() (SHM_LOCK / SHM_UNLOCK): VM_LOCKED in the inode's flags is
    the mapping's AS_UNEVICTABLE; unlocking rescues its pages from the unevictable list
    (scan_mapping_unevictable_pages). No RLIMIT_MEMLOCK / user_shm_lock accounting."""
    await spin_lock(k, inode.lock, "shmem_lock")
    if lock:
        inode.flags |= VM_LOCKED
        spin_unlock(inode.lock)
        return 0
    was_locked = bool(inode.flags & VM_LOCKED)
    inode.flags &= ~VM_LOCKED
    spin_unlock(inode.lock)
    if was_locked:
        await vmscan.scan_mapping_unevictable_pages(k, inode.mapping)
    return 0


# ---------------------------------------------------------------------------------------------
# ipc/shm.c: SysV shared memory


def shmget(k: Kernel, key: int, size: int) -> int:
    """ipc/shm.c: sys_shmget() with IPC_CREAT: the id of the live segment with ``key`` (a
    ``size`` larger than it -> -EINVAL), or newseg(): a new segment of ``size`` bytes
    (IPC_PRIVATE always makes a new one). ``k.shm_segments`` maps shmid -> inode."""
    if key != IPC_PRIVATE:
        for shmid, seg in k.shm_segments.items():
            if seg.shm_key == key:
                return -EINVAL if size > seg.size_pages * PAGE_SIZE else shmid
    if size < SHMMIN:
        return -EINVAL
    numpages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT
    inode = ShmemInode(f"SYSV{key:08x}", numpages)
    shmid = k.shm_next_id
    k.shm_next_id += 1
    inode.shm_id = shmid
    inode.shm_key = key
    k.shm_segments[shmid] = inode
    trace(k, "shmget()", "key {:#x} {} pages -> {}", key, numpages, shmid)
    return shmid


async def shmat(k: Kernel, mm: MmStruct, shmid: int) -> int:
    """ipc/shm.c: do_shmat(): map the whole segment shared, read-write, where mmap puts it.
    Returns the address or -errno (-EINVAL: no such segment)."""
    inode = k.shm_segments.get(shmid)
    if inode is None:
        return -EINVAL
    addr = await mmap.sys_mmap_pgoff(k, mm, 0, inode.size_pages * PAGE_SIZE,
                                     mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED,
                                     inode.mapping)
    if addr < 0 and inode.shm_nattch == 0 and inode.shm_dest:
        await shm_destroy(k, inode)
    trace(k, "shmat()", "{} -> {:#x}", shmid, addr)
    return addr


async def shmdt(k: Kernel, mm: MmStruct, addr: int) -> int:
    """ipc/shm.c: sys_shmdt(): unmap the SysV attach starting at ``addr`` (do_munmap), then
    shm_close (destroy a SHM_DEST segment with its last attach). -EINVAL if none."""
    for vma in list(mm.mmap):
        if vma.vm_start != addr or vma.vm_file is None:
            continue
        host = vma.vm_file.host
        if not isinstance(host, ShmemInode) or host.shm_id < 0:
            continue
        ret = await mmap.sys_munmap(k, mm, vma.vm_start, vma.vm_end - vma.vm_start)
        if ret:
            return ret
        await shmem_vma_close(k, vma)
        trace(k, "shmdt()", "{:#x}", addr)
        return 0
    return -EINVAL


async def shm_destroy(k: Kernel, inode: ShmemInode) -> None:
    """ipc/shm.c: shm_destroy(): remove the id, SHM_UNLOCK, fput the segment's file: with
    no vma left that is the last file reference (:func:`dentry_iput`), and the inode is
    evicted unless someone holds it (swapoff's igrab)."""
    k.shm_segments.pop(inode.shm_id, None)
    if inode.flags & VM_LOCKED:
        await shmem_lock(k, inode, False)
    trace(k, "shm_destroy()", "{}", inode.shm_id)
    if not inode.mapping.i_mmap:
        await dentry_iput(k, inode)


async def shm_rmid(k: Kernel, shmid: int) -> int:
    """ipc/shm.c: do_shm_rmid() (shmctl IPC_RMID): destroy now if nothing is attached, else
    mark SHM_DEST (key becomes IPC_PRIVATE) and destroy at the last detach."""
    inode = k.shm_segments.get(shmid)
    if inode is None:
        return -EINVAL
    if inode.shm_nattch:
        inode.shm_dest = True
        inode.shm_key = IPC_PRIVATE
        trace(k, "shm_rmid()", "{}: attached, SHM_DEST", shmid)
        return 0
    await shm_destroy(k, inode)
    return 0


async def shmctl(k: Kernel, shmid: int, cmd: int) -> int:
    """ipc/shm.c: sys_shmctl() for IPC_RMID, SHM_LOCK and SHM_UNLOCK."""
    if cmd == IPC_RMID:
        return await shm_rmid(k, shmid)
    inode = k.shm_segments.get(shmid)
    if inode is None or cmd not in (SHM_LOCK, SHM_UNLOCK):
        return -EINVAL
    return await shmem_lock(k, inode, cmd == SHM_LOCK)
