"""mm/mlock.c and mm/internal.h (2.6.30 with CONFIG_UNEVICTABLE_LRU, 2.6.31): mlock(2),
munlock(2), MAP_LOCKED population, PG_mlocked and the unevictable LRU.

Abstractions: no RLIMIT_MEMLOCK / CAP_IPC_LOCK checks (every task may lock), no mmap_sem,
no VM_IO/VM_PFNMAP/hugetlb/gate vmas, no vm statistics events. mlock_fixup() splits vmas but
never merges them (no vma_merge).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import exit as kexit
from swaplab.kernel import memory, mmap, page_alloc, rmap, swap, vmscan
from swaplab.kernel.errno import BUG_ON, EAGAIN, EFAULT, EINVAL, ENOMEM, VM_BUG_ON
from swaplab.kernel.mm_types import (
    PAGE_ALIGN,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_LOCKED,
    VM_WRITE,
    Page,
    get_page,
)
from swaplab.kernel.mmzone import NR_MLOCK
from swaplab.kernel.page_flags import PageLocked, PG_mlocked
from swaplab.kernel.sync import (
    cond_resched,
    down_write,
    lock_page,
    plain_write,
    trace,
    unlock_page,
    up_write,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import MmStruct, VmAreaStruct


def is_mlocked_vma(k: Kernel, vma: VmAreaStruct, page: Page) -> bool:
    """mm/internal.h: is_mlocked_vma(): a page faulted into a VM_LOCKED vma is mlocked at
    once (TestSetPageMlocked, NR_MLOCK++) and must go to the unevictable list."""
    if not vma.vm_flags & VM_LOCKED:
        return False
    if not page.flags & PG_mlocked:
        page.flags |= PG_mlocked
        k.zone.vm_stat[NR_MLOCK] += 1
    return True


async def mlock_vma_page(k: Kernel, page: Page) -> None:
    """mm/mlock.c: mlock_vma_page() (page locked): set PG_mlocked; the first time, move the
    page to the unevictable list (isolate_lru_page + putback_lru_page). A page not on the
    LRU yet (in a pagevec) is culled later by reclaim."""
    BUG_ON(not PageLocked(page), "mlock_vma_page({!r}) unlocked", page)
    if page.flags & PG_mlocked:
        return
    page.flags |= PG_mlocked
    k.zone.vm_stat[NR_MLOCK] += 1
    trace(k, "mlock_vma_page()", "{!r}", page)
    if not vmscan.isolate_lru_page(k, page):
        await vmscan.putback_lru_page(k, page)


async def munlock_vma_page(k: Kernel, page: Page) -> None:
    """mm/mlock.c: munlock_vma_page() (page locked): clear PG_mlocked; if the page can be
    isolated, try_to_munlock() re-mlocks it when another VM_LOCKED vma maps it, then
    putback_lru_page() puts it on the list it now belongs to."""
    BUG_ON(not PageLocked(page), "munlock_vma_page({!r}) unlocked", page)
    if not page.flags & PG_mlocked:
        return
    page.flags &= ~PG_mlocked
    k.zone.vm_stat[NR_MLOCK] -= 1
    trace(k, "munlock_vma_page()", "{!r}", page)
    if not vmscan.isolate_lru_page(k, page):
        await rmap.try_to_munlock(k, page)
        await vmscan.putback_lru_page(k, page)


async def clear_page_mlock(k: Kernel, page: Page) -> None:
    """mm/internal.h: clear_page_mlock() -> mm/mlock.c: __clear_page_mlock() (page locked):
    a COW'ed or truncated page leaves the unevictable list."""
    if not page.flags & PG_mlocked:
        return
    page.flags &= ~PG_mlocked
    if page.mapping is None:
        return
    k.zone.vm_stat[NR_MLOCK] -= 1
    if not vmscan.isolate_lru_page(k, page):
        await vmscan.putback_lru_page(k, page)


async def __mlock_vma_pages_range(k: Kernel, vma: VmAreaStruct, start: int, end: int) -> int:
    """mm/mlock.c: __mlock_vma_pages_range(): fault in every page of [start, end) through
    get_user_pages (write faults for a writable vma) in batches of 16, drain this CPU's
    pagevecs, then lock and mlock each page. 0 or -errno."""
    VM_BUG_ON(start < vma.vm_start or end > vma.vm_end, "mlock range outside the vma")
    write = bool(vma.vm_flags & VM_WRITE)
    addr = start
    nr_pages = (end - start) >> PAGE_SHIFT
    while nr_pages > 0:
        await cond_resched(k, "__mlock_vma_pages_range")
        ret, pages = await memory.__get_user_pages(k, vma.vm_mm, addr, min(nr_pages, 16), write)
        if ret < 0:
            return ret
        await swap.lru_add_drain(k)
        for page in pages:
            await lock_page(k, page, "__mlock_vma_pages_range")
            if page.mapping is not None:
                await mlock_vma_page(k, page)
            unlock_page(page)
            page_alloc.put_page(k, page)
        addr += ret * PAGE_SIZE
        nr_pages -= ret
    return 0


async def mlock_vma_pages_range(k: Kernel, vma: VmAreaStruct, start: int, end: int) -> int:
    """mm/mlock.c: mlock_vma_pages_range(): mmap(MAP_LOCKED) / brk / mremap of a VM_LOCKED
    vma: populate and mlock; errors are hidden from the caller (returns 0)."""
    BUG_ON(not vma.vm_flags & VM_LOCKED, "mlock_vma_pages_range on an unlocked vma")
    await __mlock_vma_pages_range(k, vma, start, end)
    return 0


async def munlock_vma_pages_range(k: Kernel, vma: VmAreaStruct, start: int, end: int) -> None:
    """mm/mlock.c: munlock_vma_pages_range(): drain, clear VM_LOCKED, and munlock every
    present page of the range (follow_page with a ref, page lock)."""
    await swap.lru_add_drain(k)
    vma.vm_flags &= ~VM_LOCKED
    mm = vma.vm_mm
    for addr in range(start, end, PAGE_SIZE):
        pte = mm.ptes.get(addr >> PAGE_SHIFT)
        page = pte.page if pte is not None else None
        if page is not None:
            get_page(page)
            await lock_page(k, page, "munlock_vma_pages_range")
            if page.mapping is not None:
                await munlock_vma_page(k, page)
            unlock_page(page)
            page_alloc.put_page(k, page)
        await cond_resched(k, "munlock_vma_pages_range")


async def munlock_vma_pages_all(k: Kernel, vma: VmAreaStruct) -> None:
    """mm/internal.h: munlock_vma_pages_all() (munmap, exit)."""
    await munlock_vma_pages_range(k, vma, vma.vm_start, vma.vm_end)


async def mlock_fixup(k: Kernel, vma: VmAreaStruct, start: int, end: int,
                      newflags: int) -> int:
    """mm/mlock.c: mlock_fixup(): split the vma to [start, end), account locked_vm, and
    mlock (populate) or munlock its pages. 0 or -errno (__mlock_posix_error_return:
    EFAULT -> ENOMEM, ENOMEM -> EAGAIN)."""
    if newflags == vma.vm_flags:
        return 0
    mm = vma.vm_mm
    if start != vma.vm_start:
        await mmap.split_vma(k, mm, vma, start, new_below=True)
    if end != vma.vm_end:
        await mmap.split_vma(k, mm, vma, end, new_below=False)
    nr_pages = (end - start) >> PAGE_SHIFT
    lock = bool(newflags & VM_LOCKED)
    mm.locked_vm += nr_pages if lock else -nr_pages
    if lock:
        vma.vm_flags = newflags
        ret = await __mlock_vma_pages_range(k, vma, start, end)
        if ret == -EFAULT:
            return -ENOMEM
        if ret == -ENOMEM:
            return -EAGAIN
        return ret
    await munlock_vma_pages_range(k, vma, start, end)
    return 0


async def do_mlock(k: Kernel, mm: MmStruct, start: int, length: int, on: bool) -> int:
    """mm/mlock.c: do_mlock(): walk the vmas of [start, start+len); a hole is -ENOMEM."""
    length = PAGE_ALIGN(length)
    end = start + length
    if end < start:
        return -EINVAL
    if end == start:
        return 0
    nstart = start
    while nstart < end:
        vma = mm.find_vma(nstart)
        if vma is None:
            return -ENOMEM
        newflags = vma.vm_flags | VM_LOCKED if on else vma.vm_flags & ~VM_LOCKED
        tmp = min(vma.vm_end, end)
        error = await mlock_fixup(k, vma, nstart, tmp, newflags)
        if error:
            return error
        nstart = tmp
    return 0


async def sys_mlock(k: Kernel, mm: MmStruct, start: int, length: int) -> int:
    """mm/mlock.c: sys_mlock(): drain all pagevecs, page-align, do_mlock(on). The mm is
    pinned for the call (as memory.do_page_fault does)."""
    await swap.lru_add_drain_all(k)
    length = PAGE_ALIGN(length + (start & (PAGE_SIZE - 1)))
    start &= ~(PAGE_SIZE - 1)
    plain_write(mm)  # mm_users is an atomic_t
    mm.mm_users += 1  # current->mm: see memory.do_page_fault
    await down_write(k, mm.mmap_sem, "sys_mlock: down_write(mmap_sem)")
    ret = await do_mlock(k, mm, start, length, True)
    up_write(mm.mmap_sem)
    await kexit.mmput(k, mm)
    return ret


async def sys_munlock(k: Kernel, mm: MmStruct, start: int, length: int) -> int:
    """mm/mlock.c: sys_munlock()."""
    length = PAGE_ALIGN(length + (start & (PAGE_SIZE - 1)))
    start &= ~(PAGE_SIZE - 1)
    plain_write(mm)  # mm_users is an atomic_t
    mm.mm_users += 1
    await down_write(k, mm.mmap_sem, "sys_munlock: down_write(mmap_sem)")
    ret = await do_mlock(k, mm, start, length, False)
    up_write(mm.mmap_sem)
    await kexit.mmput(k, mm)
    return ret

