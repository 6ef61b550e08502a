"""mm/shmem.c and ipc/shm.c (2.6.30, 2.6.31): shmem inodes (shared /dev/zero, SysV shm).

A shmem page lives in its inode's page cache (swap-backed, on the anon LRU lists), charged
to a memcg as SHMEM through add_to_page_cache_locked (so memory.stat counts it as "cache").
Reclaim writes it to swap through shmem_writepage (swap cache + a swap entry in ``i_swap``);
shmem_getpage reads it back. Truncation (inode eviction) uncharges the pages and frees the
swap entries.

Abstractions: no tmpfs mount, no size accounting (shmem_acct_*), no sbinfo block limits, no
swap vector pages (``i_swap`` is a dict index -> entry), no mempolicy, shmem_swaplist is a
plain list without its mutex (``k.shmem_swaplist``), no SGP_READ/SGP_DIRTY/SGP_WRITE variants
(every lookup is SGP_CACHE), no partial-page truncation. A file reference is a vma in
``mapping.i_mmap`` (kept by mmap.py) plus, for a SysV segment, the segment's own reference
until it is destroyed; the inode is evicted (shmem_delete_inode) when the last one goes.
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
    AddressSpace,
    Page,
    PageLocked,
    PageUptodate,
    PageWriteback,
    SetPageDirty,
    SetPageSwapBacked,
    SetPageUptodate,
    page_mapped,
)
from swaplab.kernel.sync import (
    Lock,
    cond_resched,
    current,
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


class ShmemInode:
    """struct shmem_inode_info with its inode: a swap-backed page cache (``mapping``), the
    swap entries of swapped-out indices (``i_swap``), size in pages, and VM_LOCKED
    (SHM_LOCK) in ``flags``; ``lock`` is info->lock, ``alloced`` the pages allocated.

    SysV segments (struct shmid_kernel) also carry ``shm_id`` (-1 otherwise), ``shm_key``
    and ``shm_dest`` (SHM_DEST: IPC_RMID while attached). ``evicted`` is set once
    shmem_delete_inode() ran.
    """

    __slots__ = ("alloced", "evicted", "flags", "i_swap", "lock", "mapping", "shm_dest",
                 "shm_id", "shm_key", "size_pages")

    def __init__(self, name: str, size_pages: int) -> None:
        self.mapping = AddressSpace(name, swap_backed=True, host=self)
        self.i_swap: dict[int, int] = {}
        self.size_pages = size_pages
        self.flags = 0
        self.lock = Lock(f"{name}.info->lock")
        self.alloced = 0
        self.shm_id = -1
        self.shm_key = IPC_PRIVATE
        self.shm_dest = False
        self.evicted = False

    @property
    def shm_nattch(self) -> int:
        """shmid_kernel.shm_nattch: the vmas attached (those mapping the segment)."""
        return len(self.mapping.i_mmap)

    def __repr__(self) -> str:
        return f"ShmemInode({self.mapping.name!r}, {self.size_pages} pages)"


def SHMEM_I(mapping: AddressSpace) -> ShmemInode:
    """include/linux/shmem_fs.h: SHMEM_I(mapping->host)."""
    host = mapping.host
    BUG_ON(not isinstance(host, ShmemInode), f"{mapping!r} is not a shmem mapping")
    assert isinstance(host, ShmemInode)
    return host


def mapping_unevictable(mapping: AddressSpace) -> bool:
    """include/linux/pagemap.h: mapping_unevictable(): AS_UNEVICTABLE, i.e. SHM_LOCK."""
    host = mapping.host
    return isinstance(host, ShmemInode) and bool(host.flags & VM_LOCKED)


# ---------------------------------------------------------------------------------------------
# Getting a page


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
        del inode.i_swap[idx]
        await swap_state.delete_from_swap_cache(k, swappage)
        spin_unlock(inode.lock)
        SetPageDirty(swappage)
        await swapfile.swap_free(k, swap)
        trace(k, "shmem_getpage()", f"{mapping.name}[{idx}] swapped in {swappage!r}")
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
    if inode.i_swap.get(idx, 0):
        memcontrol.mem_cgroup_uncharge_cache_page(k, page)
        ret = 1
    else:
        ret = await filemap.add_to_page_cache_lru(k, page, inode.mapping, idx, GFP_NOWAIT)
    if ret:
        spin_unlock(inode.lock)
        page_alloc.put_page(k, page)
        return (1, None) if ret in (1, -EEXIST) else (ret, None)
    inode.alloced += 1
    spin_unlock(inode.lock)
    SetPageUptodate(page)  # clear_highpage()
    trace(k, "shmem_getpage()", f"{inode.mapping.name}[{idx}] new {page!r}")
    return 0, page


async def shmem_getpage(k: Kernel, inode: ShmemInode, idx: int, gfp: int,
                        mm: MmStruct | None) -> tuple[int, Page | None]:
    """mm/shmem.c: shmem_getpage() (SGP_CACHE): the page at ``idx``, locked, with a ref:
    from the page cache, read back from the swap entry the inode records for ``idx``, or
    newly allocated and charged. Returns (0, page) or (-errno, None); ``mm`` is
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
        trace(k, "shmem_writepage()", f"{page!r} locked/no swap -> AOP_WRITEPAGE_ACTIVATE")
        return vmscan.AOP_WRITEPAGE_ACTIVATE
    swap = await swapfile.get_swap_page(k)
    await spin_lock(k, inode.lock, "shmem_writepage")
    if index < inode.size_pages:
        old = inode.i_swap.pop(index, 0)
        if old:
            await swapfile.free_swap_and_cache(k, old)
        if swap and await swap_state.add_to_swap_cache(k, page, swap, GFP_ATOMIC) == 0:
            filemap.remove_from_page_cache(k, page)
            inode.i_swap[index] = swap
            spin_unlock(inode.lock)
            await swapfile.swap_duplicate(k, swap)
            BUG_ON(page_mapped(page), "shmem_writepage: page still mapped")
            page_alloc.put_page(k, page)  # the page cache's ref
            trace(k, "shmem_writepage()", f"{page!r} -> {swap:#x}")
            await page_io.swap_writepage(k, page)
            if inode not in k.shmem_swaplist and not inode.evicted:
                k.shmem_swaplist.append(inode)  # list_move_tail onto shmem_swaplist
            return 0
    spin_unlock(inode.lock)
    if swap:  # a 0 entry is ignored by swap_free/swapcache_free
        if k.cfg.swapcache_interface:
            await swapfile.swapcache_free(k, swap, None)
        else:
            await swapfile.swap_free(k, swap)
    SetPageDirty(page)
    trace(k, "shmem_writepage()", f"{page!r} no slot -> AOP_WRITEPAGE_ACTIVATE")
    return vmscan.AOP_WRITEPAGE_ACTIVATE


# ---------------------------------------------------------------------------------------------
# Truncation and inode lifetime


async def shmem_truncate(k: Kernel, inode: ShmemInode, start: int = 0) -> None:
    """mm/shmem.c: shmem_truncate() -> shmem_truncate_range(start, EOF): drop the page
    cache pages from index ``start`` on (truncate_inode_pages: remove_from_page_cache
    uncharges each one as cache), then, under info->lock, free the swap entries of the
    range with free_swap_and_cache (which also drops an unlocked swap-cache page). The
    SHMEM_PAGEIN re-truncation pass is left out."""
    await filemap.truncate_inode_pages(k, inode.mapping, start)
    await spin_lock(k, inode.lock, "shmem_truncate_range")
    for idx in sorted(inode.i_swap):
        if idx < start:
            continue
        entry = inode.i_swap.pop(idx)
        await swapfile.free_swap_and_cache(k, entry)
    spin_unlock(inode.lock)
    trace(k, "shmem_truncate()", f"{inode.mapping.name} from {start}")


async def shmem_delete_inode(k: Kernel, inode: ShmemInode) -> None:
    """mm/shmem.c: shmem_delete_inode() (iput of the last reference): truncate the page
    cache, size 0, shmem_truncate (swap entries). Runs once per inode."""
    if inode.evicted:
        return
    inode.evicted = True
    if inode in k.shmem_swaplist:
        k.shmem_swaplist.remove(inode)
    await filemap.truncate_inode_pages(k, inode.mapping, 0)
    inode.size_pages = 0
    await shmem_truncate(k, inode, 0)
    trace(k, "shmem_delete_inode()", inode.mapping.name)


# ---------------------------------------------------------------------------------------------
# swapoff


async def shmem_unuse_inode(k: Kernel, inode: ShmemInode, entry: int, page: Page) -> int:
    """mm/shmem.c: shmem_unuse_inode(): if ``inode`` holds ``entry`` (lowest index first),
    charge the swap-cache ``page`` (locked; as a shmem swap-in, to the group its swap record
    names), put it back into the inode's page cache, drop it from the swap cache, clear the
    index's entry and swap_free() it. 0: not this inode (page untouched); else the page is
    unlocked and released and the result is 1 (done, or the entry changed meanwhile) or
    -errno (the charge failed). An inode with no swap left leaves shmem_swaplist.
    Deviations: the found inode moves to the head of the search (list_move_tail of the
    list head) by rotating the list; no igrab (an inode reachable here is not evicted)."""
    await spin_lock(k, inode.lock, "shmem_unuse_inode")
    found = [idx for idx, ent in inode.i_swap.items() if ent == entry]
    if not found:
        if not inode.i_swap and inode in k.shmem_swaplist:
            k.shmem_swaplist.remove(inode)
        spin_unlock(inode.lock)
        return 0
    idx = min(found)
    spin_unlock(inode.lock)
    at = k.shmem_swaplist.index(inode) if inode in k.shmem_swaplist else 0
    k.shmem_swaplist[:] = k.shmem_swaplist[at:] + k.shmem_swaplist[:at]
    task = current(k).task
    mm = task.mm if task is not None else None
    error = await memcontrol.mem_cgroup_cache_charge(k, page, mm, GFP_KERNEL)
    if not error:
        error = await _shmem_unuse_insert(k, inode, idx, entry, page)
    unlock_page(page)
    page_alloc.put_page(k, page)
    trace(k, "shmem_unuse_inode()", f"{inode.mapping.name}[{idx}] {entry:#x} == {error}")
    return error


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
        del inode.i_swap[idx]
        await swapfile.swap_free(k, entry)
        error = 1
    spin_unlock(inode.lock)
    return error


async def shmem_unuse(k: Kernel, entry: int, page: Page) -> int:
    """mm/shmem.c: shmem_unuse(): try_to_unuse()'s search of shmem for ``entry`` (page
    locked): shmem_unuse_inode() on each inode of shmem_swaplist until one answers. 0 (not
    found: page still locked), 1 or -errno (page unlocked and released)."""
    for inode in list(k.shmem_swaplist):
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
    trace(k, "shmem_zero_setup()", f"{vma.vm_start:#x} {size_pages} pages")
    return 0


async def shmem_vma_close(k: Kernel, vma: VmAreaStruct) -> None:
    """vm_ops->close (ipc/shm.c: shm_close) and the fput of remove_vma() for a shmem vma,
    to be called once the vma has left the file's i_mmap (munmap, exit). A SysV segment
    marked SHM_DEST is destroyed with its last attach; a /dev/zero inode is evicted with
    its last vma. Idempotent."""
    if vma.vm_file is None or not isinstance(vma.vm_file.host, ShmemInode):
        return
    inode = vma.vm_file.host
    if inode.shm_id >= 0:
        if inode.shm_nattch == 0 and inode.shm_dest and inode.shm_id in k.shm_segments:
            await shm_destroy(k, inode)
        return
    if not inode.mapping.i_mmap:
        await shmem_delete_inode(k, inode)


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
    trace(k, "shmget()", f"key {key:#x} {numpages} pages -> {shmid}")
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
    trace(k, "shmat()", f"{shmid} -> {addr:#x}")
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
        trace(k, "shmdt()", f"{addr:#x}")
        return 0
    return -EINVAL


async def shm_destroy(k: Kernel, inode: ShmemInode) -> None:
    """ipc/shm.c: shm_destroy(): remove the id, SHM_UNLOCK, fput the segment's file (the
    inode is evicted when no vma maps it any more)."""
    k.shm_segments.pop(inode.shm_id, None)
    if inode.flags & VM_LOCKED:
        await shmem_lock(k, inode, False)
    trace(k, "shm_destroy()", f"{inode.shm_id}")
    if not inode.mapping.i_mmap:
        await shmem_delete_inode(k, inode)


async def shm_rmid(k: Kernel, shmid: int) -> int:
    """ipc/shm.c: do_shm_rmid() (shmctl IPC_RMID): destroy now if nothing is attached, else
    mark SHM_DEST (key becomes IPC_PRIVATE) and destroy at the last detach."""
    inode = k.shm_segments.get(shmid)
    if inode is None:
        return -EINVAL
    if inode.shm_nattch:
        inode.shm_dest = True
        inode.shm_key = IPC_PRIVATE
        trace(k, "shm_rmid()", f"{shmid}: attached, SHM_DEST")
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
