"""mm/memory.c (2.6.30, 2.6.31) and the x86 fault handler: page faults (anonymous, COW,
shmem, swap-in), unmapping with an mmu_gather, fork's page-table copy, get_user_pages.

Abstractions: a pte lock is the mm's ``page_table_lock``; page tables are ``mm.ptes``
(vpn -> :class:`Pte`), never freed or allocated (no pte_alloc failure); ``orig_pte`` is a
snapshot of the pte's (page, swap entry, write) and pte_same() compares those; no zero page
(2.6.30/31 have none for anonymous reads), no file-backed private mappings, no nonlinear
vmas, no hugetlb, no mmu notifiers. The mmu_gather always runs in SMP mode (pages parked,
FREE_PTE_NR per batch), which is what lets an exiting task hold page refs for a while after
page_remove_rmap (Type-2). ZAP_BLOCK_SIZE is the !CONFIG_PREEMPT value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import exit as kexit
from swaplab.kernel import (
    memcontrol,
    mlock,
    oom_kill,
    page_alloc,
    rmap,
    shmem,
    swap,
    swap_state,
    swapfile,
)
from swaplab.kernel.config import SWAPIN_RACE, SWAPIN_RACE_FURTHER
from swaplab.kernel.errno import EFAULT as EFAULT  # re-exported
from swaplab.kernel.errno import EINVAL, ENOMEM, ERESTARTSYS, KernelBug
from swaplab.kernel.gfp import GFP_HIGHUSER_MOVABLE, GFP_KERNEL
from swaplab.kernel.mm_types import (
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_LOCKED,
    VM_SHARED,
    VM_WRITE,
    MmStruct,
    Page,
    PageAnon,
    Pte,
    VmAreaStruct,
    get_page,
    page_mapcount,
)
from swaplab.kernel.page_flags import (
    PageMlocked,
    PageSwapCache,
    PageUptodate,
    SetPageDirty,
    SetPageUptodate,
)
from swaplab.kernel.sync import (
    cond_resched,
    current,
    down_read,
    lock_page,
    plain_read,
    plain_write,
    shared_read,
    spin_lock,
    spin_lock_held,
    spin_unlock,
    trace,
    trylock_page,
    unlock_page,
    up_read,
)

# include/linux/mm.h: VM_FAULT_* bits
VM_FAULT_OOM = 0x0001
VM_FAULT_SIGBUS = 0x0002
VM_FAULT_MAJOR = 0x0004
VM_FAULT_WRITE = 0x0008
VM_FAULT_NOPAGE = 0x0100
VM_FAULT_LOCKED = 0x0200
VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS

#: include/asm-generic/tlb.h: FREE_PTE_NR on SMP
FREE_PTE_NR = 506
#: mm/memory.c: ZAP_BLOCK_SIZE without CONFIG_PREEMPT (8 * PAGE_SIZE with it)
ZAP_BLOCK_PAGES = 1024
#: ptes per page-table page (PTRS_PER_PTE, x86-64 and PAE)
PTRS_PER_PTE = 512

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import TaskStruct


PteVal = tuple[Page | None, int, bool]


def pte_val(pte: Pte | None) -> PteVal | None:
    """The part of a pte that pte_same() compares (young/dirty bits aside)."""
    return None if pte is None else (pte.page, pte.swp, pte.write)


def pte_same(mm: MmStruct, address: int, orig: PteVal | None) -> bool:
    """include/asm-generic/pgtable.h: pte_same(*page_table, orig_pte)."""
    return pte_val(mm.ptes.get(address >> PAGE_SHIFT)) == orig


# --------------------------------------------------------------------------------------
# Faults


async def do_page_fault(k: Kernel, task: TaskStruct, address: int, write: bool) -> int:
    """arch/x86/mm/fault.c: do_page_fault(), plus the MMU and the return to user space.

    A touch of a present pte that allows the access is done by the MMU: young (and dirty)
    bits, no fault. Else find_vma -> handle_mm_fault. No vma or no permission -> -EFAULT
    (SIGSEGV). VM_FAULT_OOM -> pagefault_out_of_memory(), then the instruction is retried
    (the loop) unless the task has a fatal signal pending, which returns VM_FAULT_OOM:
    the caller, returning to user space, acts on the SIGKILL (do_exit). Returns 0 or the
    VM_FAULT_* bits of the last fault.

    The fault pins the mm (mm_users, dropped with mmput at the end): in the kernel a
    task's mm cannot be torn down under its own fault; in the model an OOM kill may run
    the victim's do_exit on another thread meanwhile, and its exit_mmap then waits for
    this fault's mmput.
    """
    mm = task.mm
    if mm is None:
        return -EFAULT
    plain_write(mm)  # mm_users is an atomic_t
    mm.mm_users += 1
    ret = await __do_page_fault(k, task, mm, address, write)
    await kexit.mmput(k, mm)
    return ret


async def __do_page_fault(k: Kernel, task: TaskStruct, mm: MmStruct, address: int,
                          write: bool) -> int:
    """The body of do_page_fault() with the mm pinned: the MMU's own access, or, under
    mmap_sem for read, find_vma and handle_mm_fault; VM_FAULT_OOM is handled after
    up_read, as the kernel does, then the access is retried."""
    while True:
        pte = mm.ptes.get(address >> PAGE_SHIFT)
        vma = mm.find_vma(address)
        if vma is not None and pte is not None and pte.present() and (
                pte.write or not write):  # the MMU: no fault
            plain_write(pte)  # it sets the accessed (and dirty) bits atomically
            pte.young = True
            if write:
                pte.dirty = True
            return 0
        await down_read(k, mm.mmap_sem, "do_page_fault: down_read(mmap_sem)")
        vma = mm.find_vma(address)
        if vma is None or (write and not vma.vm_flags & VM_WRITE):
            up_read(mm.mmap_sem)
            trace(k, "do_page_fault()", "{:#x} SIGSEGV", address)
            return -EFAULT
        fault = await handle_mm_fault(k, mm, vma, address, write)
        up_read(mm.mmap_sem)
        if not fault & VM_FAULT_OOM:
            return fault
        await oom_kill.pagefault_out_of_memory(k)
        if task.sigkill:
            return fault


async def handle_mm_fault(k: Kernel, mm: MmStruct, vma: VmAreaStruct, address: int,
                          write: bool) -> int:
    """mm/memory.c: handle_mm_fault() -> handle_pte_fault(): none -> shmem fault for a
    vma with a file, else do_anonymous_page; swap pte -> do_swap_page; present -> under
    the pte lock, write to a read-only pte -> do_wp_page, else young/dirty bits."""
    address &= ~(PAGE_SIZE - 1)
    vpn = address >> PAGE_SHIFT
    # `entry = *pte` without the pte lock: a zap under the lock (MADV_DONTNEED by another
    # thread of the mm) races this read; the fault rechecks with pte_same() later
    await shared_read(k, mm.page_table_lock, "handle_pte_fault: *pte")
    pte = mm.ptes.get(vpn)
    if pte is None:
        if vma.vm_file is not None:
            return await do_linear_fault(k, mm, vma, address, write)
        return await do_anonymous_page(k, mm, vma, address, write)
    orig = pte_val(pte)
    if not pte.present():
        return await do_swap_page(k, mm, vma, address, orig, write)
    await spin_lock(k, mm.page_table_lock, "handle_pte_fault")
    if not pte_same(mm, address, orig):
        spin_unlock(mm.page_table_lock)
        return 0
    if write and not pte.write:
        return await do_wp_page(k, mm, vma, address, orig)
    pte.young = True
    if write:
        pte.dirty = True
    spin_unlock(mm.page_table_lock)
    return 0


async def do_anonymous_page(k: Kernel, mm: MmStruct, vma: VmAreaStruct, address: int,
                            write: bool) -> int:
    """mm/memory.c: do_anonymous_page(): allocate a zeroed page, charge it
    (mem_cgroup_newpage_charge; failure -> put the page, VM_FAULT_OOM), then under the pte
    lock: anon_rss++, page_add_new_anon_rmap, the LRU (pagevec, or unevictable in a
    VM_LOCKED vma), the pte (writable for a VM_WRITE vma; dirty: [30] always, [31] only
    writable). A pte that appeared meanwhile -> uncharge and free the page."""
    rmap.anon_vma_prepare(vma)
    page = await page_alloc.alloc_page_vma(k, GFP_HIGHUSER_MOVABLE, vma, address)
    if page is None:
        return VM_FAULT_OOM
    SetPageUptodate(page)
    if await memcontrol.mem_cgroup_newpage_charge(k, page, mm, GFP_KERNEL):
        page_alloc.put_page(k, page)
        trace(k, "do_anonymous_page()", "{:#x} charge failed", address)
        return VM_FAULT_OOM
    writable = bool(vma.vm_flags & VM_WRITE)
    await spin_lock(k, mm.page_table_lock, "do_anonymous_page")
    vpn = address >> PAGE_SHIFT
    if vpn in mm.ptes:
        memcontrol.mem_cgroup_uncharge_page(k, page)
        page_alloc.put_page(k, page)
        spin_unlock(mm.page_table_lock)
        return 0
    mm.anon_rss += 1
    rmap.page_add_new_anon_rmap(k, page, vma, address)
    await swap.lru_cache_add_active_or_unevictable(k, page, vma)
    pte = Pte(page, write=writable)
    pte.dirty = writable or not k.cfg.v31
    mm.ptes[vpn] = pte
    spin_unlock(mm.page_table_lock)
    trace(k, "do_anonymous_page()", "{:#x} -> {!r}", address, page)
    return 0


async def do_wp_page(k: Kernel, mm: MmStruct, vma: VmAreaStruct, address: int,
                     orig: PteVal | None) -> int:
    """mm/memory.c: do_wp_page() (called with the pte lock held; returns with it dropped).

    An anon page is reused in place when reuse_swap_page() says this is its only user
    (page lock by trylock, else ref + sleep + pte recheck). A shared writable mapping's
    page is just made writable and dirty. Else COW: ref the old page, drop the lock,
    allocate + copy + charge a new page (failure -> VM_FAULT_OOM), retake the lock; if the
    pte is unchanged map the new page (rmap, LRU) and page_remove_rmap the old one, else
    uncharge the new page. Then drop the old page's pte ref (or the new page) and our ref.
    """
    ptl = mm.page_table_lock
    pte = mm.ptes[address >> PAGE_SHIFT]
    old_page = pte.page
    if old_page is None:
        raise KernelBug("do_wp_page on a swap pte")
    reuse = False
    if PageAnon(old_page):
        if not await trylock_page(k, old_page, "do_wp_page"):
            get_page(old_page)
            spin_unlock(ptl)
            await lock_page(k, old_page, "do_wp_page")
            await spin_lock(k, ptl, "do_wp_page")
            if not pte_same(mm, address, orig):
                unlock_page(old_page)
                page_alloc.put_page(k, old_page)
                spin_unlock(ptl)
                return 0
            page_alloc.put_page(k, old_page)
        reuse = await swapfile.reuse_swap_page(k, old_page)
        unlock_page(old_page)
    elif vma.vm_flags & (VM_WRITE | VM_SHARED) == VM_WRITE | VM_SHARED:
        SetPageDirty(old_page)
        reuse = True
    if reuse:
        pte.young = True
        pte.dirty = True
        pte.write = bool(vma.vm_flags & VM_WRITE)
        spin_unlock(ptl)
        trace(k, "do_wp_page()", "{:#x} reuse {!r}", address, old_page)
        return VM_FAULT_WRITE
    get_page(old_page)
    spin_unlock(ptl)
    return await _wp_copy(k, mm, vma, address, orig, old_page)


def cow_user_page(dst: Page, src: Page) -> None:
    """mm/memory.c: cow_user_page() -> copy_user_highpage(): the new page gets the old
    one's contents (a lock-free read of the old page: its other users may store to it)."""
    plain_read(src)
    dst.data = src.data


async def _wp_copy(k: Kernel, mm: MmStruct, vma: VmAreaStruct, address: int,
                   orig: PteVal | None, old_page: Page) -> int:
    """The copy half of do_wp_page() (the ``gotten:`` label), pte lock not held."""
    rmap.anon_vma_prepare(vma)
    new_page = await page_alloc.alloc_page_vma(k, GFP_HIGHUSER_MOVABLE, vma, address)
    if new_page is None:
        page_alloc.put_page(k, old_page)
        return VM_FAULT_OOM
    if vma.vm_flags & VM_LOCKED:
        await lock_page(k, old_page, "do_wp_page")
        await mlock.clear_page_mlock(k, old_page)
        unlock_page(old_page)
    cow_user_page(new_page, old_page)
    SetPageUptodate(new_page)
    if await memcontrol.mem_cgroup_newpage_charge(k, new_page, mm, GFP_KERNEL):
        page_alloc.put_page(k, new_page)
        page_alloc.put_page(k, old_page)
        return VM_FAULT_OOM
    ptl = mm.page_table_lock
    await spin_lock(k, ptl, "do_wp_page")
    ret = 0
    drop = new_page
    if pte_same(mm, address, orig):
        if not PageAnon(old_page):
            mm.file_rss -= 1
            mm.anon_rss += 1
        pte = Pte(new_page, write=bool(vma.vm_flags & VM_WRITE))
        pte.dirty = True
        rmap.page_add_new_anon_rmap(k, new_page, vma, address)
        await swap.lru_cache_add_active_or_unevictable(k, new_page, vma)
        mm.ptes[address >> PAGE_SHIFT] = pte
        await rmap.page_remove_rmap(k, old_page)
        drop = old_page
        ret = VM_FAULT_WRITE
        trace(k, "do_wp_page()", "{:#x} COW {!r} -> {!r}", address, old_page, new_page)
    else:
        memcontrol.mem_cgroup_uncharge_page(k, new_page)
    page_alloc.put_page(k, drop)
    page_alloc.put_page(k, old_page)
    spin_unlock(ptl)
    return ret


async def do_linear_fault(k: Kernel, mm: MmStruct, vma: VmAreaStruct, address: int,
                          write: bool) -> int:
    """mm/memory.c: do_linear_fault() -> __do_fault() for a shared shmem vma (shared
    /dev/zero, SysV shm): shmem_fault() returns the page locked with a ref; under the pte
    lock: page_add_file_rmap, file_rss++, the pte (writable in a shared writable vma;
    dirty and set_page_dirty on a write). No COW: the model has no private file vmas."""
    pgoff = vma.linear_page_index(address)
    ret, page = await shmem.shmem_fault(k, vma, pgoff)
    if ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE) or page is None:
        return ret
    ptl = mm.page_table_lock
    await spin_lock(k, ptl, "__do_fault")
    vpn = address >> PAGE_SHIFT
    if vpn in mm.ptes:
        spin_unlock(ptl)
        unlock_page(page)
        page_alloc.put_page(k, page)
        return ret & ~VM_FAULT_LOCKED
    pte = Pte(page, write=vma.vm_flags & (VM_WRITE | VM_SHARED) == VM_WRITE | VM_SHARED)
    if write:
        pte.dirty = True
        SetPageDirty(page)
    mm.file_rss += 1
    rmap.page_add_file_rmap(k, page)
    mm.ptes[vpn] = pte
    spin_unlock(ptl)
    unlock_page(page)
    trace(k, "__do_fault()", "{:#x} -> {!r}", address, page)
    return ret & ~VM_FAULT_LOCKED


def _swapcache_changed(k: Kernel, page: Page, entry: int) -> bool:
    """The later fixes' test in do_swap_page() right after lock_page(): with 4969c1192d15
    a page no longer in the swap cache, with 31c4a3d3a0f8 also one in the swap cache for
    another entry; 2.6.30/2.6.31 test neither (only pte_same(), which a reused entry
    passes)."""
    if k.cfg.has_fix(SWAPIN_RACE_FURTHER):
        return not PageSwapCache(page) or page.private != entry
    return k.cfg.has_fix(SWAPIN_RACE) and not PageSwapCache(page)


async def do_swap_page(k: Kernel, mm: MmStruct, vma: VmAreaStruct, address: int,
                       orig: PteVal | None, write: bool) -> int:
    """mm/memory.c: do_swap_page() (same behaviour in 2.6.30 and 2.6.31): swap cache
    lookup or swapin_readahead (VM_FAULT_MAJOR; none -> VM_FAULT_OOM if the pte is
    unchanged), lock_page, mem_cgroup_try_charge_swapin (failure ->
    VM_FAULT_OOM), pte recheck (cancel), !uptodate -> SIGBUS (cancel); anon_rss++, a write
    fault may reuse_swap_page; pte, page_add_anon_rmap, then commit_charge_swapin;
    swap_free; try_to_free_swap when vm_swap_full/VM_LOCKED/PageMlocked; unlock; a write
    that could not reuse goes on to do_wp_page. No migration entries, no swap token."""
    assert orig is not None
    entry = orig[1]
    ret = 0
    page = await swap_state.lookup_swap_cache(k, entry)
    if page is None:
        page = await swap_state.swapin_readahead(k, entry, GFP_HIGHUSER_MOVABLE, vma, address)
        if page is None:
            await spin_lock(k, mm.page_table_lock, "do_swap_page")
            if pte_same(mm, address, orig):
                ret = VM_FAULT_OOM
            spin_unlock(mm.page_table_lock)
            return ret
        ret = VM_FAULT_MAJOR
    await lock_page(k, page, "do_swap_page")
    if _swapcache_changed(k, page, entry):
        unlock_page(page)  # out_page: the fault is retried
        page_alloc.put_page(k, page)
        return ret
    err, ptr = await memcontrol.mem_cgroup_try_charge_swapin(k, mm, page, GFP_KERNEL)
    if err:
        unlock_page(page)
        page_alloc.put_page(k, page)
        return VM_FAULT_OOM
    ptl = mm.page_table_lock
    await spin_lock(k, ptl, "do_swap_page")
    if not pte_same(mm, address, orig) or not PageUptodate(page):
        if pte_same(mm, address, orig):
            ret = VM_FAULT_SIGBUS
        memcontrol.mem_cgroup_cancel_charge_swapin(k, ptr)
        spin_unlock(ptl)
        unlock_page(page)
        page_alloc.put_page(k, page)
        return ret
    mm.anon_rss += 1
    pte = Pte(page, write=False)
    if write and await swapfile.reuse_swap_page(k, page):
        pte.write = bool(vma.vm_flags & VM_WRITE)
        pte.dirty = True
        write = False
    mm.ptes[address >> PAGE_SHIFT] = pte
    rmap.page_add_anon_rmap(k, page, vma, address)
    memcontrol.mem_cgroup_commit_charge_swapin(k, page, ptr)
    await swapfile.swap_free(k, entry)
    if swapfile.vm_swap_full(k) or vma.vm_flags & VM_LOCKED or PageMlocked(page):
        await swapfile.try_to_free_swap(k, page)
    unlock_page(page)
    trace(k, "do_swap_page()", "{:#x} entry {:#x} -> {!r}", address, entry, page)
    if write:
        ret |= await do_wp_page(k, mm, vma, address, pte_val(pte))
        if ret & VM_FAULT_ERROR:
            ret &= VM_FAULT_ERROR
        return ret
    spin_unlock(ptl)
    return ret


async def __get_user_pages(k: Kernel, mm: MmStruct, start: int, nr_pages: int,
                           write: bool) -> tuple[int, list[Page]]:
    """mm/memory.c: __get_user_pages() with pages (FOLL_GET|FOLL_TOUCH): fault each page
    in until follow_page() finds it (with write access for ``write``), take a ref and
    mark it accessed. Returns (pages got, or -errno if none; the pages). A fatal signal
    stops it (-ERESTARTSYS); VM_FAULT_OOM -> -ENOMEM, SIGBUS -> -EFAULT."""
    pages: list[Page] = []
    addr = start
    task = current(k).task
    while len(pages) < nr_pages:
        vma = mm.find_vma(addr)
        if vma is None or (write and not vma.vm_flags & VM_WRITE):
            return (len(pages) or -EFAULT), pages
        if task is not None and task.sigkill:
            return (len(pages) or -ERESTARTSYS), pages
        await cond_resched(k, "__get_user_pages")
        while True:
            pte = mm.ptes.get(addr >> PAGE_SHIFT)
            if pte is not None and pte.page is not None and (pte.write or not write):
                break
            fault = await handle_mm_fault(k, mm, vma, addr, write)
            if fault & VM_FAULT_OOM:
                return (len(pages) or -ENOMEM), pages
            if fault & VM_FAULT_SIGBUS:
                return (len(pages) or -EFAULT), pages
        page = pte.page
        assert page is not None
        get_page(page)
        pte.young = True
        await swap.mark_page_accessed(k, page)
        pages.append(page)
        addr += PAGE_SIZE
    return len(pages), pages


# --------------------------------------------------------------------------------------
# Unmapping


class MmuGather:
    """include/asm-generic/tlb.h: struct mmu_gather (SMP mode): the page refs parked until
    the TLB flush, plus unmap_vmas()'s zap_work budget (in C a local of unmap_vmas)."""

    __slots__ = ("fullmm", "mm", "need_flush", "pages", "zap_work")

    def __init__(self, mm: MmStruct, fullmm: bool) -> None:
        self.mm = mm
        self.fullmm = fullmm
        self.need_flush = False
        self.pages: list[Page] = []
        self.zap_work = ZAP_BLOCK_PAGES * PAGE_SIZE


def tlb_gather_mmu(mm: MmStruct, fullmm: bool) -> MmuGather:
    """include/asm-generic/tlb.h: tlb_gather_mmu() (always the SMP, non-fast mode)."""
    return MmuGather(mm, fullmm)


async def tlb_flush_mmu(k: Kernel, tlb: MmuGather) -> None:
    """include/asm-generic/tlb.h: tlb_flush_mmu(): release the parked pages through
    free_pages_and_swap_cache()."""
    if not tlb.need_flush:
        return
    tlb.need_flush = False
    pages = tlb.pages
    tlb.pages = []
    if pages:
        await swap_state.free_pages_and_swap_cache(k, pages)


async def tlb_finish_mmu(k: Kernel, tlb: MmuGather) -> None:
    """include/asm-generic/tlb.h: tlb_finish_mmu()."""
    await tlb_flush_mmu(k, tlb)


async def tlb_remove_page(k: Kernel, tlb: MmuGather, page: Page) -> None:
    """include/asm-generic/tlb.h: tlb_remove_page(): park the pte's page ref; a full batch
    (FREE_PTE_NR) is flushed at once (under the caller's pte lock, as in C)."""
    tlb.need_flush = True
    tlb.pages.append(page)
    if len(tlb.pages) >= FREE_PTE_NR:
        await tlb_flush_mmu(k, tlb)


async def zap_pte_range(k: Kernel, tlb: MmuGather, vma: VmAreaStruct, start: int,
                        end: int) -> int:
    """mm/memory.c: zap_pte_range() under the pte lock, while ``tlb.zap_work`` lasts:
    a present pte -> rss--, (shmem: dirty/young bits to the page), page_remove_rmap,
    tlb_remove_page; a swap pte -> free_swap_and_cache. Returns where it stopped."""
    mm = vma.vm_mm
    ptl = mm.page_table_lock
    await spin_lock(k, ptl, "zap_pte_range")
    addr = start
    while addr < end and tlb.zap_work > 0:
        vpn = addr >> PAGE_SHIFT
        pte = mm.ptes.pop(vpn, None)
        mm.user_data.pop(vpn, None)  # the program's next touch finds zeroes
        addr += PAGE_SIZE
        if pte is None:
            tlb.zap_work -= 1
            continue
        tlb.zap_work -= PAGE_SIZE
        tlb.need_flush = True
        page = pte.page
        if page is None:
            if not await swapfile.free_swap_and_cache(k, pte.swp):
                trace(k, "print_bad_pte()", "{:#x} swap {:#x}", addr - PAGE_SIZE, pte.swp)
            continue
        if PageAnon(page):
            mm.anon_rss -= 1
        else:
            if pte.dirty:
                SetPageDirty(page)
            if pte.young:
                await swap.mark_page_accessed(k, page)
            mm.file_rss -= 1
        await rmap.page_remove_rmap(k, page)
        if page_mapcount(page) < 0:
            raise KernelBug(f"print_bad_pte: {page!r} mapcount {page_mapcount(page)}")
        await tlb_remove_page(k, tlb, page)
    spin_unlock(ptl)
    return addr


async def unmap_page_range(k: Kernel, tlb: MmuGather, vma: VmAreaStruct, start: int,
                           end: int) -> int:
    """mm/memory.c: unmap_page_range() -> zap_pmd_range(): one zap_pte_range per
    page-table page (PTRS_PER_PTE ptes), while zap_work lasts."""
    addr = start
    span = PTRS_PER_PTE * PAGE_SIZE
    while addr < end and tlb.zap_work > 0:
        nxt = min((addr // span + 1) * span, end)
        if not any(vpn in vma.vm_mm.ptes for vpn in range(addr >> PAGE_SHIFT,
                                                             nxt >> PAGE_SHIFT)):
            tlb.zap_work -= 1  # pmd_none_or_clear_bad
            addr = nxt
            continue
        addr = await zap_pte_range(k, tlb, vma, addr, nxt)
    return addr


async def unmap_vmas(k: Kernel, tlb: MmuGather, vmas: list[VmAreaStruct], start: int,
                     end: int) -> int:
    """mm/memory.c: unmap_vmas(): zap each vma's part of [start, end) in ZAP_BLOCK_SIZE
    blocks; after each full block the gathered pages are flushed (tlb_finish_mmu) and the
    CPU is offered (cond_resched) before a new block starts."""
    addr = start
    for vma in vmas:
        if vma.vm_start >= end:
            break
        addr = max(vma.vm_start, start)
        stop = min(vma.vm_end, end)
        if addr >= stop:
            continue
        while addr != stop:
            addr = await unmap_page_range(k, tlb, vma, addr, stop)
            if tlb.zap_work > 0:
                break
            await tlb_finish_mmu(k, tlb)
            await cond_resched(k, "unmap_vmas")
            tlb.zap_work = ZAP_BLOCK_PAGES * PAGE_SIZE
    return addr


async def sys_madvise_dontneed(k: Kernel, mm: MmStruct, start: int, length: int) -> int:
    """mm/madvise.c: sys_madvise(MADV_DONTNEED) -> madvise_dontneed(): under mmap_sem for
    READ (madvise_need_mmap_write() is 0 for it), zap the range of each vma it covers, so
    it runs beside the faults of other threads of the mm. 0, -EINVAL (unaligned, or a
    VM_LOCKED vma) or -ENOMEM (a hole)."""
    if start & (PAGE_SIZE - 1):
        return -EINVAL
    end = start + ((length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
    await down_read(k, mm.mmap_sem, "sys_madvise: down_read(mmap_sem)")
    error = 0
    addr = start
    while addr < end:
        vma = mm.find_vma(addr)
        if vma is None:
            error = -ENOMEM
            break
        if vma.vm_flags & VM_LOCKED:
            error = -EINVAL
            break
        stop = min(end, vma.vm_end)
        await zap_page_range(k, vma, addr, stop - addr)
        trace(k, "madvise_dontneed()", "{:#x}+{:#x}", addr, stop - addr)
        addr = stop
    up_read(mm.mmap_sem)
    return error


async def zap_page_range(k: Kernel, vma: VmAreaStruct, address: int, size: int) -> int:
    """mm/memory.c: zap_page_range(): unmap part of one vma (madvise, shmem truncate)."""
    await swap.lru_add_drain(k)
    tlb = tlb_gather_mmu(vma.vm_mm, False)
    end = await unmap_vmas(k, tlb, [vma], address, address + size)
    await tlb_finish_mmu(k, tlb)
    return end


# --------------------------------------------------------------------------------------
# fork


def is_cow_mapping(flags: int) -> bool:
    """mm/memory.c: is_cow_mapping(): private (VM_MAYWRITE is implied in the model)."""
    return not flags & VM_SHARED


async def copy_one_pte(k: Kernel, dst_mm: MmStruct, src_mm: MmStruct, vma: VmAreaStruct,
                       addr: int, rss: list[int]) -> None:
    """mm/memory.c: copy_one_pte() (both pte locks held): a swap pte -> swap_duplicate()
    and the child joins the mmlist; a present pte -> COW write-protect in parent and child
    (private vma), clean in a shared child, old; get_page + page_dup_rmap, rss. No charge:
    one memcg charge per page, not per mapping."""
    vpn = addr >> PAGE_SHIFT
    src = src_mm.ptes[vpn]
    if src.page is None:
        await swapfile.swap_duplicate(k, src.swp)
        with spin_lock_held(k.mmlist_lock):
            dst_mm.on_mmlist = True
        dst_mm.ptes[vpn] = Pte(swp=src.swp)
        return
    page = src.page
    child = Pte(page, write=src.write)
    child.dirty = src.dirty
    if is_cow_mapping(vma.vm_flags):
        src.write = False
        child.write = False
    if vma.vm_flags & VM_SHARED:
        child.dirty = False
    child.young = False
    get_page(page)
    rmap.page_dup_rmap(page)
    rss[1 if PageAnon(page) else 0] += 1
    dst_mm.ptes[vpn] = child


async def copy_pte_range(k: Kernel, dst_mm: MmStruct, src_mm: MmStruct, vma: VmAreaStruct,
                         start: int, end: int) -> None:
    """mm/memory.c: copy_pte_range(): one page-table page under the child's then the
    parent's pte lock; rss added to the child; cond_resched after."""
    rss = [0, 0]
    await spin_lock(k, dst_mm.page_table_lock, "copy_pte_range")
    await spin_lock(k, src_mm.page_table_lock, "copy_pte_range")
    for addr in range(start, end, PAGE_SIZE):
        if (addr >> PAGE_SHIFT) in src_mm.ptes:
            await copy_one_pte(k, dst_mm, src_mm, vma, addr, rss)
    spin_unlock(src_mm.page_table_lock)
    dst_mm.file_rss += rss[0]
    dst_mm.anon_rss += rss[1]
    spin_unlock(dst_mm.page_table_lock)
    await cond_resched(k, "copy_pte_range")


async def copy_page_range(k: Kernel, dst_mm: MmStruct, src_mm: MmStruct,
                          vma: VmAreaStruct) -> int:
    """mm/memory.c: copy_page_range(): a vma without an anon_vma (shared shmem, never
    COW'ed, or untouched private) is not copied: the child faults it in. Else copy the
    ptes one page-table page at a time. Returns 0."""
    if vma.anon_vma is None:
        return 0
    span = PTRS_PER_PTE * PAGE_SIZE
    addr = vma.vm_start
    while addr < vma.vm_end:
        nxt = min((addr // span + 1) * span, vma.vm_end)
        if any(vpn in src_mm.ptes for vpn in range(addr >> PAGE_SHIFT, nxt >> PAGE_SHIFT)):
            await copy_pte_range(k, dst_mm, src_mm, vma, addr, nxt)
        addr = nxt
    return 0


def follow_page(vma: VmAreaStruct, address: int) -> Page | None:
    """mm/memory.c: follow_page() without FOLL_GET: the page a present pte maps."""
    pte = vma.vm_mm.ptes.get(address >> PAGE_SHIFT)
    return pte.page if pte is not None else None
