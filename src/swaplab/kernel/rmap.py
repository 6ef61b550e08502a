"""mm/rmap.c (2.6.30, 2.6.31): reverse mapping of anon pages (anon_vma) and shmem pages
(the mapping's i_mmap), page_referenced() and try_to_unmap().

Abstractions: a pte lock is the mm's ``page_table_lock`` (no split pte locks); mmap_sem is
not modelled, so try_to_mlock_page()'s down_read_trylock always succeeds; no nonlinear
vmas (try_to_unmap_cluster), no migration entries, no swap token, no s390 dirty bits.
[31] differences: page_referenced() reports the vm_flags of the vmas that referenced the
page (``vm_flags_out``) and the mapped_file memcg statistic is kept for file pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import memcontrol, mlock, page_alloc, swapfile
from swaplab.kernel.errno import BUG_ON, VM_BUG_ON, KernelBug
from swaplab.kernel.mm_types import (
    PAGE_SHIFT,
    VM_LOCKED,
    AddressSpace,
    AnonVma,
    Page,
    PageAnon,
    Pte,
    VmAreaStruct,
    page_is_file_cache,
    page_mapcount,
    page_mapped,
)
from swaplab.kernel.mmzone import NR_ANON_PAGES, NR_FILE_MAPPED
from swaplab.kernel.page_flags import (
    PageLocked,
    PageSwapCache,
    PG_referenced,
    PG_swapbacked,
    SetPageDirty,
    page_check_live,
)
from swaplab.kernel.sync import (
    atomic_read,
    atomic_rmw,
    spin_lock,
    spin_lock_held,
    spin_unlock,
    trace,
    trylock_page,
    unlock_page,
)

# enum { SWAP_SUCCESS, SWAP_AGAIN, SWAP_FAIL, SWAP_MLOCK } (include/linux/rmap.h)
SWAP_SUCCESS = 0
SWAP_AGAIN = 1
SWAP_FAIL = 2
SWAP_MLOCK = 3

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.memcontrol import MemCgroup
    from swaplab.kernel.mm_types import MmStruct


def anon_vma_prepare(vma: VmAreaStruct) -> AnonVma:
    """mm/rmap.c: anon_vma_prepare(): give the vma an anon_vma (a fresh one: no
    find_mergeable_anon_vma) and link the vma on it."""
    if vma.anon_vma is None:
        anon_vma = AnonVma()
        anon_vma.head.append(vma)
        vma.anon_vma = anon_vma
    return vma.anon_vma


async def anon_vma_link(k: Kernel, vma: VmAreaStruct) -> None:
    """mm/rmap.c: anon_vma_link(): a forked or split vma joins its anon_vma (at the tail),
    under anon_vma->lock (reclaim walks the list under it)."""
    anon_vma = vma.anon_vma
    if anon_vma is not None and vma not in anon_vma.head:
        await spin_lock(k, anon_vma.lock, "anon_vma_link")
        anon_vma.head.append(vma)
        spin_unlock(anon_vma.lock)


async def anon_vma_unlink(k: Kernel, vma: VmAreaStruct) -> None:
    """mm/rmap.c: anon_vma_unlink(): the vma leaves its anon_vma under anon_vma->lock
    (freed when empty; pages keep pointing at it, as the kernel's SLAB_DESTROY_BY_RCU
    allows)."""
    anon_vma = vma.anon_vma
    if anon_vma is not None and vma in anon_vma.head:
        await spin_lock(k, anon_vma.lock, "anon_vma_unlink")
        anon_vma.head.remove(vma)
        spin_unlock(anon_vma.lock)


def vma_address(page: Page, vma: VmAreaStruct) -> int:
    """mm/rmap.c: vma_address(): where ``page`` would be mapped in ``vma``, -1 if outside
    (-EFAULT in C)."""
    address = vma.address_of(page.index)
    if address < vma.vm_start or address >= vma.vm_end:
        return -1
    return address


def __page_set_anon_rmap(k: Kernel, page: Page, vma: VmAreaStruct, address: int) -> None:
    """mm/rmap.c: __page_set_anon_rmap(): mapping = anon_vma, index, NR_ANON_PAGES++."""
    BUG_ON(vma.anon_vma is None, "__page_set_anon_rmap without anon_vma")
    page.mapping = vma.anon_vma
    page.index = vma.linear_page_index(address)
    k.zone.vm_stat[NR_ANON_PAGES] += 1


def page_add_new_anon_rmap(k: Kernel, page: Page, vma: VmAreaStruct, address: int) -> None:
    """mm/rmap.c: page_add_new_anon_rmap(): PG_swapbacked, mapcount 0 -> 1, anon_vma.

    Deviation: the LRU half (lru_cache_add_lru(LRU_ACTIVE_ANON) or the unevictable list)
    is ``swap.lru_cache_add_active_or_unevictable``, which every caller awaits right after:
    it may wait for zone->lru_lock, and this function is a plain one.
    """
    VM_BUG_ON(address < vma.vm_start or address >= vma.vm_end,
              "page_add_new_anon_rmap: {:#x} outside the vma", address)
    page.flags |= PG_swapbacked
    page._mapcount = 0
    __page_set_anon_rmap(k, page, vma, address)


def page_add_anon_rmap(k: Kernel, page: Page, vma: VmAreaStruct, address: int) -> None:
    """mm/rmap.c: page_add_anon_rmap() (page locked, pte lock held): mapcount+1; the
    first mapping sets the anon_vma."""
    VM_BUG_ON(not PageLocked(page), "page_add_anon_rmap({!r}) unlocked", page)
    VM_BUG_ON(address < vma.vm_start or address >= vma.vm_end,
              "page_add_anon_rmap: {:#x} outside the vma", address)
    page_check_live(page, "page_add_anon_rmap()")
    page._mapcount += 1
    if page._mapcount == 0:
        __page_set_anon_rmap(k, page, vma, address)


def page_dup_rmap(page: Page) -> None:
    """mm/rmap.c: page_dup_rmap() (fork, pte lock held): mapcount+1."""
    page_check_live(page, "page_dup_rmap()")
    page._mapcount += 1


def _update_mapped_file_stat(k: Kernel, page: Page, val: int) -> None:
    """[31] mem_cgroup_update_mapped_file_stat(), which returns at once for a page that is
    not file cache (anon and shmem pages): only real file pages reach memcontrol."""
    if k.cfg.v31 and page_is_file_cache(page):
        memcontrol.mem_cgroup_update_mapped_file_stat(k, page, val)


def page_add_file_rmap(k: Kernel, page: Page) -> None:
    """mm/rmap.c: page_add_file_rmap() (pte lock held): mapcount+1; the first mapping
    counts NR_FILE_MAPPED (and [31] the memcg mapped_file stat)."""
    page_check_live(page, "page_add_file_rmap()")
    page._mapcount += 1
    if page._mapcount == 0:
        k.zone.vm_stat[NR_FILE_MAPPED] += 1
        _update_mapped_file_stat(k, page, 1)


async def page_remove_rmap(k: Kernel, page: Page) -> None:
    """mm/rmap.c: page_remove_rmap() (pte lock held, page lock not):
    ``atomic_add_negative(-1, &_mapcount)`` is an interleaving point; when the last
    mapping goes, an anon page is offered to mem_cgroup_uncharge_page() (a no-op for swap
    cache), NR_ANON_PAGES/NR_FILE_MAPPED--, [31] mapped_file stat -1. page->mapping stays.
    """
    await atomic_rmw(k, page, "page_remove_rmap")
    page_check_live(page, "page_remove_rmap()")
    page._mapcount -= 1
    if page._mapcount >= 0:
        return
    BUG_ON(page._mapcount < -1, "page_remove_rmap({!r}): mapcount below 0", page)
    trace(k, "page_remove_rmap()", "{!r} last unmap", page)
    if PageAnon(page):
        memcontrol.mem_cgroup_uncharge_page(k, page)
        k.zone.vm_stat[NR_ANON_PAGES] -= 1
    else:
        k.zone.vm_stat[NR_FILE_MAPPED] -= 1
    _update_mapped_file_stat(k, page, -1)


def _file_vmas(page: Page) -> list[VmAreaStruct]:
    """The vmas of the page's mapping whose range covers page->index (vma_prio_tree)."""
    mapping = page.mapping
    if not isinstance(mapping, AddressSpace):
        return []
    return [vma for vma in mapping.i_mmap if vma_address(page, vma) >= 0]


async def page_check_address(k: Kernel, page: Page, mm: MmStruct, address: int) -> Pte | None:
    """mm/rmap.c: page_check_address(): take the pte lock; the pte if it maps ``page``
    (the lock is then held), else None (lock dropped)."""
    await spin_lock(k, mm.page_table_lock, "page_check_address")
    pte = mm.ptes.get(address >> PAGE_SHIFT)
    if pte is not None and pte.page is page:
        return pte
    spin_unlock(mm.page_table_lock)
    return None


async def page_referenced_one(k: Kernel, page: Page, vma: VmAreaStruct, mapcount: list[int],
                              vm_flags: list[int]) -> int:
    """mm/rmap.c: page_referenced_one(): test-and-clear the pte's young bit. A VM_LOCKED
    vma ends the walk without counting (the page should go on to try_to_unmap, which culls
    it); [31] reports VM_LOCKED in ``vm_flags``."""
    address = vma_address(page, vma)
    if address < 0:
        return 0
    mm = vma.vm_mm
    pte = await page_check_address(k, page, mm, address)
    if pte is None:
        return 0
    referenced = 0
    if vma.vm_flags & VM_LOCKED:
        mapcount[0] = 1
        vm_flags[0] |= VM_LOCKED
    elif pte.young:
        pte.young = False
        referenced += 1
    mapcount[0] -= 1
    spin_unlock(mm.page_table_lock)
    if referenced:
        vm_flags[0] |= vma.vm_flags
    return referenced


async def _page_referenced_vmas(k: Kernel, page: Page, vmas: list[VmAreaStruct],
                                mem: MemCgroup | None, vm_flags: list[int]) -> int:
    """The loop shared by page_referenced_anon() and page_referenced_file(): the vmas of
    ``mem`` only (memcg reclaim), until every mapping of the page was seen."""
    referenced = 0
    await atomic_read(k, page, "page_mapcount")  # lock-free: zap's page_remove_rmap races
    mapcount = [page_mapcount(page)]
    for vma in vmas:
        if mem is not None and not memcontrol.mm_match_cgroup(k, vma.vm_mm, mem):
            continue
        referenced += await page_referenced_one(k, page, vma, mapcount, vm_flags)
        if not mapcount[0]:
            break
    return referenced


async def page_referenced_anon(k: Kernel, page: Page, mem: MemCgroup | None,
                               vm_flags: list[int]) -> int:
    """mm/rmap.c: page_referenced_anon(): walk the anon_vma's vmas (only those of ``mem``
    for memcg reclaim) until every mapping was seen."""
    anon_vma = page_lock_anon_vma(page)
    if anon_vma is None:
        return 0
    await spin_lock(k, anon_vma.lock, "page_lock_anon_vma")
    referenced = await _page_referenced_vmas(k, page, list(anon_vma.head), mem, vm_flags)
    spin_unlock(anon_vma.lock)
    return referenced


async def page_referenced_file(k: Kernel, page: Page, mem: MemCgroup | None,
                               vm_flags: list[int]) -> int:
    """mm/rmap.c: page_referenced_file() (page locked): walk the mapping's vmas covering
    the page. (i_mmap_lock is not modelled: the page lock and the pte locks suffice.)"""
    return await _page_referenced_vmas(k, page, _file_vmas(page), mem, vm_flags)


async def page_referenced(k: Kernel, page: Page, is_locked: int, mem: MemCgroup | None,
                          vm_flags_out: list[int] | None = None) -> int:
    """mm/rmap.c: page_referenced(): PG_referenced (test-and-clear) plus the young ptes of
    the page's mappings ([31] and the vm_flags of the referencing vmas, appended to
    ``vm_flags_out`` when given: the C out-parameter). An unlocked file page that cannot
    be trylocked counts as referenced."""
    referenced = 0
    vm_flags = [0]
    if page.flags & PG_referenced:
        page.flags &= ~PG_referenced
        referenced += 1
    if page_mapped(page) and page.mapping is not None:
        if PageAnon(page):
            referenced += await page_referenced_anon(k, page, mem, vm_flags)
        elif is_locked:
            referenced += await page_referenced_file(k, page, mem, vm_flags)
        elif not await trylock_page(k, page, "page_referenced"):
            referenced += 1
        else:
            if page.mapping is not None:
                referenced += await page_referenced_file(k, page, mem, vm_flags)
            unlock_page(page)
    if vm_flags_out is not None:
        vm_flags_out.append(vm_flags[0] if k.cfg.v31 else 0)
    return referenced


def page_lock_anon_vma(page: Page) -> AnonVma | None:
    """mm/rmap.c: page_lock_anon_vma() without the lock (the caller awaits it): the
    anon_vma of a mapped anon page, None once it is unmapped."""
    if not page_mapped(page) or not isinstance(page.mapping, AnonVma):
        return None
    return page.mapping


async def try_to_unmap_one(k: Kernel, page: Page, vma: VmAreaStruct, migration: int) -> int:
    """mm/rmap.c: try_to_unmap_one() (page locked): under the pte lock, a VM_LOCKED vma ->
    SWAP_MLOCK, a young pte -> SWAP_FAIL (young bit cleared); else the pte goes (its dirty
    bit to the page). An anon page in swap cache leaves its swap entry in the pte
    (swap_duplicate(), the mm joins the mmlist, anon_rss--); a shmem page file_rss--. Then
    page_remove_rmap() and the pte's page ref is dropped."""
    address = vma_address(page, vma)
    if address < 0:
        return SWAP_AGAIN
    mm = vma.vm_mm
    pte = await page_check_address(k, page, mm, address)
    if pte is None:
        return SWAP_AGAIN
    ret = SWAP_AGAIN
    if not migration and vma.vm_flags & VM_LOCKED:
        ret = SWAP_MLOCK
    elif not migration and pte.young:
        pte.young = False
        ret = SWAP_FAIL
    else:
        await _nuke_pte(k, page, mm, address, pte)
    spin_unlock(mm.page_table_lock)
    return ret


async def _nuke_pte(k: Kernel, page: Page, mm: MmStruct, address: int, pte: Pte) -> None:
    """The unmapping half of try_to_unmap_one() (pte lock held)."""
    vpn = address >> PAGE_SHIFT
    # ptep_clear_flush() empties the pte but not the page table: the pte stays in
    # mm.ptes until it is replaced below (under the pte lock throughout), so lock-free
    # walkers (unmap_page_range()'s pmd test) still see a page table here
    if pte.dirty:
        SetPageDirty(page)
    if PageAnon(page):
        if not PageSwapCache(page):
            raise KernelBug(f"try_to_unmap_one({page!r}): anon page not in swap cache")
        entry = page.private
        await swapfile.swap_duplicate(k, entry)
        with spin_lock_held(k.mmlist_lock):
            mm.on_mmlist = True
        mm.anon_rss -= 1
        mm.ptes[vpn] = Pte(swp=entry)
        trace(k, "try_to_unmap_one()", "{!r} -> swap pte {:#x}", page, entry)
    else:
        del mm.ptes[vpn]
        mm.file_rss -= 1
    await page_remove_rmap(k, page)
    page_alloc.put_page(k, page)


async def try_to_mlock_page(k: Kernel, page: Page, vma: VmAreaStruct) -> int:
    """mm/rmap.c: try_to_mlock_page(): mlock the page if the vma is still VM_LOCKED
    (mmap_sem's down_read_trylock always succeeds in the model)."""
    if vma.vm_flags & VM_LOCKED:
        await mlock.mlock_vma_page(k, page)
        return 1
    return 0


def page_mapped_in_vma(page: Page, vma: VmAreaStruct) -> bool:
    """mm/rmap.c: page_mapped_in_vma()."""
    address = vma_address(page, vma)
    if address < 0:
        return False
    pte = vma.vm_mm.ptes.get(address >> PAGE_SHIFT)
    return pte is not None and pte.page is page


async def _try_to_unmap_vmas(k: Kernel, page: Page, vmas: list[VmAreaStruct], unlock: bool,
                             migration: int) -> int:
    """The loop shared by try_to_unmap_anon() and try_to_unmap_file()."""
    ret = SWAP_SUCCESS if unlock else SWAP_AGAIN
    mlocked = 0
    for vma in vmas:
        if unlock:
            if not (vma.vm_flags & VM_LOCKED and page_mapped_in_vma(page, vma)):
                continue
            ret = SWAP_MLOCK
        else:
            ret = await try_to_unmap_one(k, page, vma, migration)
            if ret == SWAP_FAIL or not page_mapped(page):
                break
        if ret == SWAP_MLOCK:
            mlocked = await try_to_mlock_page(k, page, vma)
            if mlocked:
                break
    if mlocked:
        return SWAP_MLOCK
    if ret == SWAP_MLOCK:
        return SWAP_AGAIN
    return ret


async def try_to_unmap_anon(k: Kernel, page: Page, unlock: bool, migration: int) -> int:
    """mm/rmap.c: try_to_unmap_anon(): walk the anon_vma's vmas under anon_vma->lock."""
    anon_vma = page_lock_anon_vma(page)
    if anon_vma is None:
        return SWAP_SUCCESS if unlock else SWAP_AGAIN
    await spin_lock(k, anon_vma.lock, "page_lock_anon_vma")
    try:
        return await _try_to_unmap_vmas(k, page, list(anon_vma.head), unlock, migration)
    finally:
        spin_unlock(anon_vma.lock)


async def try_to_unmap_file(k: Kernel, page: Page, unlock: bool, migration: int) -> int:
    """mm/rmap.c: try_to_unmap_file(): the vmas of the page's mapping that cover it (no
    nonlinear vmas, no i_mmap_lock)."""
    return await _try_to_unmap_vmas(k, page, _file_vmas(page), unlock, migration)


async def try_to_unmap(k: Kernel, page: Page, migration: int = 0) -> int:
    """mm/rmap.c: try_to_unmap() (page locked): SWAP_SUCCESS iff the page is no longer
    mapped afterwards (and was not found mlocked)."""
    BUG_ON(not PageLocked(page), "try_to_unmap({!r}) unlocked", page)
    if PageAnon(page):
        ret = await try_to_unmap_anon(k, page, False, migration)
    else:
        ret = await try_to_unmap_file(k, page, False, migration)
    if ret != SWAP_MLOCK and not page_mapped(page):
        ret = SWAP_SUCCESS
    trace(k, "try_to_unmap()", "{!r} == {}", page, ret)
    return ret


async def try_to_munlock(k: Kernel, page: Page) -> int:
    """mm/rmap.c: try_to_munlock() (page locked and isolated): SWAP_MLOCK if some vma
    still has it mlocked (PG_mlocked set again), else SWAP_SUCCESS."""
    VM_BUG_ON(not PageLocked(page), "try_to_munlock({!r}) unlocked", page)
    if PageAnon(page):
        return await try_to_unmap_anon(k, page, True, 0)
    return await try_to_unmap_file(k, page, True, 0)
