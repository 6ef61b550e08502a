"""fs/proc/meminfo.c (2.6.30, 2.6.31): /proc/meminfo. (SysRq-m's swap cache lines are
swap_state.show_swap_cache_info().)

The lines are those of 2.6.31 up to ``Mapped:`` (the later ones, Slab, PageTables,
Committed_AS, Vmalloc*, count memory the model does not have). 2.6.31 has no ``Shmem:`` or
``KernelStack:`` line (both came in 2.6.32). ``Buffers:`` is always 0: the model has no
block-device buffer cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import page_alloc, swapfile
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    NR_LRU_LISTS,
    PAGE_SHIFT,
)
from swaplab.kernel.mmzone import (
    NR_ANON_PAGES,
    NR_FILE_DIRTY,
    NR_FILE_MAPPED,
    NR_FILE_PAGES,
    NR_MLOCK,
    NR_WRITEBACK,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel


def K(pages: int) -> int:
    """fs/proc/meminfo.c: K(x): pages to kB."""
    return pages << (PAGE_SHIFT - 10)


def meminfo_proc_show(k: Kernel) -> str:
    """fs/proc/meminfo.c: meminfo_proc_show(): the text of /proc/meminfo.

    Cached is NR_FILE_PAGES minus the swap cache minus buffers (clamped at 0), so it
    includes shmem, as in the kernel. The LRU lines count the zone's LRU lists (pages still
    in a per-CPU pagevec are on no list yet, as in the kernel). SwapTotal/SwapFree come from
    si_swapinfo() (an area being swapped off still counts its used slots).
    """
    vm_stat = k.zone.vm_stat
    swapcache = k.swapper_space.nrpages
    bufferram = 0
    cached = max(0, vm_stat[NR_FILE_PAGES] - swapcache - bufferram)
    lru = [k.zone.nr_lru(i) for i in range(NR_LRU_LISTS)]
    free_swap, total_swap = swapfile.si_swapinfo(k)
    lines = [
        ("MemTotal", k.totalram_pages),
        ("MemFree", page_alloc.nr_free_pages(k)),
        ("Buffers", bufferram),
        ("Cached", cached),
        ("SwapCached", swapcache),
        ("Active", lru[LRU_ACTIVE_ANON] + lru[LRU_ACTIVE_FILE]),
        ("Inactive", lru[LRU_INACTIVE_ANON] + lru[LRU_INACTIVE_FILE]),
        ("Active(anon)", lru[LRU_ACTIVE_ANON]),
        ("Inactive(anon)", lru[LRU_INACTIVE_ANON]),
        ("Active(file)", lru[LRU_ACTIVE_FILE]),
        ("Inactive(file)", lru[LRU_INACTIVE_FILE]),
        ("Unevictable", lru[LRU_UNEVICTABLE]),
        ("Mlocked", vm_stat[NR_MLOCK]),
        ("SwapTotal", total_swap),
        ("SwapFree", free_swap),
        ("Dirty", vm_stat[NR_FILE_DIRTY]),
        ("Writeback", vm_stat[NR_WRITEBACK]),
        ("AnonPages", vm_stat[NR_ANON_PAGES]),
        ("Mapped", vm_stat[NR_FILE_MAPPED]),
    ]
    return "".join(f"{name + ':':<16}{K(value):>8} kB\n" for name, value in lines)
