"""mm/mmap.c (2.6.30, 2.6.31): mmap, munmap, vma splitting and exit_mmap.

Abstractions: three kinds of vma: private anonymous, shared anonymous (/dev/zero, backed
by a shmem inode from shmem_zero_setup) and a SysV shm attach (``file`` = the segment's
mapping). No file-backed private mappings, no vma merging (every mmap makes its own vma),
no VM_ACCOUNT / overcommit, no rlimits, no mmap_sem, no stack/brk. Addresses are chosen
bottom-up from TASK_UNMAPPED_BASE (the legacy layout), lowest fit first. Page tables are
never freed (free_pgtables only unlinks the vmas from their anon_vma / file).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from swaplab.kernel import exit as kexit
from swaplab.kernel import memory, mlock, page_alloc, rmap, shmem, swap
from swaplab.kernel.errno import BUG_ON, EINVAL, ENOMEM
from swaplab.kernel.mm_types import (
    PAGE_ALIGN,
    PAGE_SHIFT,
    PAGE_SIZE,
    VM_LOCKED,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    AddressSpace,
    VmAreaStruct,
)
from swaplab.kernel.sync import down_write, plain_write, trace, up_write

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import MmStruct

# include/asm-generic/mman.h
PROT_READ = 0x1
PROT_WRITE = 0x2
MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_LOCKED = 0x2000
MAP_POPULATE = 0x8000

#: arch/x86: TASK_UNMAPPED_BASE (legacy layout, 32-bit) and TASK_SIZE
TASK_UNMAPPED_BASE = 0x40000000
TASK_SIZE = 0xC0000000


def vma_pages(vma: VmAreaStruct) -> int:
    """include/linux/mm.h: vma_pages()."""
    return (vma.vm_end - vma.vm_start) >> PAGE_SHIFT


def get_unmapped_area(mm: MmStruct, addr: int, length: int, flags: int) -> int:
    """mm/mmap.c: get_unmapped_area() -> arch_get_unmapped_area() (bottom-up): MAP_FIXED
    takes ``addr``; a free hint is honoured; else the lowest gap from TASK_UNMAPPED_BASE."""
    if length > TASK_SIZE:
        return -ENOMEM
    if flags & MAP_FIXED:
        if addr & (PAGE_SIZE - 1) or addr + length > TASK_SIZE:
            return -EINVAL
        return addr
    vmas = sorted(mm.mmap, key=lambda v: v.vm_start)
    if addr:
        addr = PAGE_ALIGN(addr)
        if addr + length <= TASK_SIZE and not any(
                v.vm_start < addr + length and addr < v.vm_end for v in vmas):
            return addr
    addr = TASK_UNMAPPED_BASE
    for vma in vmas:
        if vma.vm_end <= addr:
            continue
        if addr + length <= vma.vm_start:
            return addr
        addr = vma.vm_end
    if addr + length > TASK_SIZE:
        return -ENOMEM
    return addr


def __vma_link_file(vma: VmAreaStruct) -> None:
    """mm/mmap.c: __vma_link_file(): a file vma joins the mapping's i_mmap."""
    if vma.vm_file is not None and vma not in vma.vm_file.i_mmap:
        vma.vm_file.i_mmap.append(vma)


async def vma_link(k: Kernel, mm: MmStruct, vma: VmAreaStruct) -> None:
    """mm/mmap.c: vma_link(): into the mm's sorted vma list, the file's i_mmap and the
    anon_vma's list."""
    mm.mmap.append(vma)
    mm.mmap.sort(key=lambda v: v.vm_start)
    __vma_link_file(vma)
    await rmap.anon_vma_link(k, vma)


def unlink_file_vma(vma: VmAreaStruct) -> None:
    """mm/mmap.c: unlink_file_vma()."""
    if vma.vm_file is not None and vma in vma.vm_file.i_mmap:
        vma.vm_file.i_mmap.remove(vma)


async def split_vma(k: Kernel, mm: MmStruct, vma: VmAreaStruct, addr: int,
              new_below: bool) -> VmAreaStruct:
    """mm/mmap.c: split_vma(): a new vma takes [vm_start, addr) (``new_below``) or
    [addr, vm_end); ``vma`` keeps the other part. Both share anon_vma and file.
    Returns the new vma."""
    BUG_ON(not vma.vm_start < addr < vma.vm_end, "split_vma at {:#x} outside the vma", addr)
    new = replace(vma)
    if new_below:
        new.vm_end = addr
        vma.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT
        vma.vm_start = addr
    else:
        new.vm_start = addr
        new.vm_pgoff += (addr - vma.vm_start) >> PAGE_SHIFT
        vma.vm_end = addr
    await vma_link(k, mm, new)
    return new


async def make_pages_present(k: Kernel, mm: MmStruct, start: int, end: int) -> int:
    """mm/memory.c: make_pages_present() (MAP_POPULATE): fault the range in."""
    vma = mm.find_vma(start)
    if vma is None:
        return -ENOMEM
    write = bool(vma.vm_flags & VM_WRITE)
    nr = (end - start) >> PAGE_SHIFT
    ret, pages = await memory.__get_user_pages(k, mm, start, nr, write)
    for page in pages:
        page_alloc.put_page(k, page)
    return 0 if ret == nr else (ret if ret < 0 else -ENOMEM)


async def do_mmap_pgoff(k: Kernel, mm: MmStruct, addr: int, length: int, prot: int,
                        flags: int, file: AddressSpace | None, pgoff: int = 0) -> int:
    """mm/mmap.c: do_mmap_pgoff() + mmap_region(): pick the range (MAP_FIXED unmaps what
    was there), make the vma (private anon; shared anon through shmem_zero_setup; or the
    given shmem mapping), link it, account total_vm; MAP_LOCKED -> locked_vm and
    mlock_vma_pages_range (fault in and mlock every page); MAP_POPULATE -> fault in.
    Returns the address or -errno."""
    if not length:
        return -EINVAL
    length = PAGE_ALIGN(length)
    if not flags & (MAP_SHARED | MAP_PRIVATE):
        return -EINVAL
    addr = get_unmapped_area(mm, addr, length, flags)
    if addr < 0:
        return addr
    if flags & MAP_FIXED:
        await do_munmap(k, mm, addr, length)
    vm_flags = (VM_READ if prot & PROT_READ else 0) | (VM_WRITE if prot & PROT_WRITE else 0)
    if flags & MAP_SHARED:
        vm_flags |= VM_SHARED
    if flags & MAP_LOCKED:
        vm_flags |= VM_LOCKED
    if file is None and not flags & MAP_SHARED:
        pgoff = addr >> PAGE_SHIFT  # private anon: pgoff follows the address (anon_vma)
    vma = VmAreaStruct(mm, addr, addr + length, vm_flags, pgoff)
    if file is not None:
        vma.vm_file = file
    elif flags & MAP_SHARED:
        error = shmem.shmem_zero_setup(k, vma)
        if error:
            return error
    await vma_link(k, mm, vma)
    mm.total_vm += length >> PAGE_SHIFT
    trace(k, "do_mmap_pgoff()", "{:#x}+{:#x} flags {:#x}", addr, length, vm_flags)
    if vm_flags & VM_LOCKED or flags & MAP_POPULATE:
        plain_write(mm)  # mm_users is an atomic_t
        mm.mm_users += 1  # current->mm while faulting: see memory.do_page_fault
        if vm_flags & VM_LOCKED:
            mm.locked_vm += length >> PAGE_SHIFT
            await mlock.mlock_vma_pages_range(k, vma, addr, addr + length)
        else:
            await make_pages_present(k, mm, addr, addr + length)
        await kexit.mmput(k, mm)
    return addr


async def free_pgtables(k: Kernel, vmas: list[VmAreaStruct]) -> None:
    """mm/memory.c: free_pgtables(): the vmas leave their anon_vma and file (the page
    tables themselves are not modelled)."""
    for vma in vmas:
        await rmap.anon_vma_unlink(k, vma)
        unlink_file_vma(vma)


async def unmap_region(k: Kernel, mm: MmStruct, vmas: list[VmAreaStruct], start: int,
                       end: int) -> None:
    """mm/mmap.c: unmap_region(): drain this CPU's pagevecs, unmap_vmas with a fresh
    mmu_gather, free_pgtables, then tlb_finish_mmu releases the gathered pages."""
    await swap.lru_add_drain(k)
    tlb = memory.tlb_gather_mmu(mm, False)
    await memory.unmap_vmas(k, tlb, vmas, start, end)
    await free_pgtables(k, vmas)
    await memory.tlb_finish_mmu(k, tlb)


async def remove_vma(k: Kernel, mm: MmStruct, vma: VmAreaStruct) -> None:
    """mm/mmap.c: remove_vma(): vm_ops->close and fput: for a shmem vma (already out of
    the file's i_mmap) shmem.shmem_vma_close, which destroys an IPC_RMID'ed SysV segment
    with its last attach and evicts a /dev/zero inode with its last vma."""
    if vma in mm.mmap:
        mm.mmap.remove(vma)
    if vma.vm_file is not None:
        await shmem.shmem_vma_close(k, vma)


async def sys_munmap(k: Kernel, mm: MmStruct, start: int, length: int) -> int:
    """mm/mmap.c: sys_munmap(): do_munmap() under mmap_sem for write (no fault of the mm
    runs meanwhile)."""
    await down_write(k, mm.mmap_sem, "sys_munmap: down_write(mmap_sem)")
    ret = await do_munmap(k, mm, start, length)
    up_write(mm.mmap_sem)
    return ret


async def sys_mmap_pgoff(k: Kernel, mm: MmStruct, addr: int, length: int, prot: int,
                         flags: int, file: AddressSpace | None) -> int:
    """mm/mmap.c: sys_mmap_pgoff(): do_mmap_pgoff() under mmap_sem for write."""
    await down_write(k, mm.mmap_sem, "sys_mmap_pgoff: down_write(mmap_sem)")
    ret = await do_mmap_pgoff(k, mm, addr, length, prot, flags, file)
    up_write(mm.mmap_sem)
    return ret


async def do_munmap(k: Kernel, mm: MmStruct, start: int, length: int) -> int:
    """mm/mmap.c: do_munmap(): split the vmas at the edges, munlock VM_LOCKED ones
    (locked_vm), detach them, unmap_region, and drop them (total_vm). 0 or -EINVAL."""
    if start & (PAGE_SIZE - 1) or start > TASK_SIZE or length > TASK_SIZE - start:
        return -EINVAL
    length = PAGE_ALIGN(length)
    if length == 0:
        return -EINVAL
    end = start + length
    for vma in list(mm.mmap):
        if vma.vm_start < start < vma.vm_end:
            await split_vma(k, mm, vma, start, new_below=True)
    for vma in list(mm.mmap):
        if vma.vm_start < end < vma.vm_end:
            await split_vma(k, mm, vma, end, new_below=True)
    detach = [v for v in mm.mmap if start <= v.vm_start and v.vm_end <= end]
    if not detach:
        return 0
    for vma in detach:
        if vma.vm_flags & VM_LOCKED:
            mm.locked_vm -= vma_pages(vma)
            await mlock.munlock_vma_pages_all(k, vma)
    for vma in detach:
        mm.mmap.remove(vma)
    await unmap_region(k, mm, detach, start, end)
    for vma in detach:
        mm.total_vm -= vma_pages(vma)
        await remove_vma(k, mm, vma)
    trace(k, "do_munmap()", "{:#x}+{:#x}", start, length)
    return 0


async def exit_mmap(k: Kernel, mm: MmStruct) -> None:
    """mm/mmap.c: exit_mmap(): munlock the VM_LOCKED vmas, drain, unmap everything with a
    full-mm mmu_gather, free_pgtables, tlb_finish_mmu, drop the vmas. Every pte is gone
    afterwards (BUG otherwise). The last user is gone: nobody else reaches the mm (its
    fields are written as plain writes of it to the explorer)."""
    plain_write(mm)
    if mm.locked_vm:
        for vma in list(mm.mmap):
            if vma.vm_flags & VM_LOCKED:
                mm.locked_vm -= vma_pages(vma)
                await mlock.munlock_vma_pages_all(k, vma)
    await swap.lru_add_drain(k)
    vmas = list(mm.mmap)
    tlb = memory.tlb_gather_mmu(mm, True)
    await memory.unmap_vmas(k, tlb, vmas, 0, TASK_SIZE)
    await free_pgtables(k, vmas)
    await memory.tlb_finish_mmu(k, tlb)
    for vma in vmas:
        plain_write(mm)  # nobody else reaches the mm now
        mm.total_vm -= vma_pages(vma)
        await remove_vma(k, mm, vma)
    BUG_ON(bool(mm.ptes), "exit_mmap: {} ptes left", len(mm.ptes))
    trace(k, "exit_mmap()", "")
