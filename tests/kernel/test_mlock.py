"""mlock.py against mm/mlock.c and mm/internal.h (2.6.30 with CONFIG_UNEVICTABLE_LRU,
2.6.31): MAP_LOCKED, mlock/munlock, the unevictable LRU."""

from __future__ import annotations

from kernel_helpers import ANON, make_kernel, mmap_anon, new_task, page_at, run, touch

from swaplab.kernel import exit, fork, mlock, mmap, page_alloc, swap
from swaplab.kernel.errno import ENOMEM
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    LRU_UNEVICTABLE,
    PAGE_SIZE,
    VM_LOCKED,
)
from swaplab.kernel.mmzone import NR_MLOCK
from swaplab.kernel.page_flags import PG_lru, PG_mlocked, PG_unevictable


def test_map_locked_populates_onto_the_unevictable_list(version: str) -> None:
    k = make_kernel(version)
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 20, flags=ANON | mmap.MAP_LOCKED)
    assert task.mm.locked_vm == 20 and task.mm.anon_rss == 20
    assert task.mm.mmap[0].vm_flags & VM_LOCKED
    pages = [page_at(task, addr + i * PAGE_SIZE) for i in range(20)]
    for page in pages:
        assert page.flags & PG_mlocked and page.flags & PG_unevictable
        assert page.flags & PG_lru and page in k.zone.lru[LRU_UNEVICTABLE]
        assert page._count == 1 and page._mapcount == 0
    assert k.zone.vm_stat[NR_MLOCK] == 20
    assert k.zone.nr_lru(LRU_ACTIVE_ANON) == 0


def test_mlock_then_munlock_moves_pages_back(version: str) -> None:
    k = make_kernel(version)
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 4)
    touch(k, task, addr, 2)  # two present, two not yet faulted
    assert run(k, mlock.sys_mlock(k, task.mm, addr, 4 * PAGE_SIZE), task) == 0
    assert task.mm.locked_vm == 4 and task.mm.anon_rss == 4
    pages = [page_at(task, addr + i * PAGE_SIZE) for i in range(4)]
    assert all(p in k.zone.lru[LRU_UNEVICTABLE] and p.flags & PG_mlocked for p in pages)
    assert k.zone.vm_stat[NR_MLOCK] == 4
    assert run(k, mlock.sys_munlock(k, task.mm, addr, 4 * PAGE_SIZE), task) == 0
    assert task.mm.locked_vm == 0 and not task.mm.mmap[0].vm_flags & VM_LOCKED
    assert k.zone.vm_stat[NR_MLOCK] == 0
    run(k, swap.lru_add_drain(k), task)
    assert all(not p.flags & (PG_mlocked | PG_unevictable) for p in pages)
    # putback_lru_page: no PG_active after the unevictable list -> the inactive list
    assert all(p in k.zone.lru[LRU_INACTIVE_ANON] and p._count == 1 for p in pages)


def test_mlock_of_part_of_a_vma_splits_it() -> None:
    k = make_kernel()
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 6)
    assert run(k, mlock.sys_mlock(k, task.mm, addr + 2 * PAGE_SIZE, PAGE_SIZE), task) == 0
    flags = [(v.vm_start - addr) // PAGE_SIZE for v in task.mm.mmap]
    assert flags == [0, 2, 3]
    assert [bool(v.vm_flags & VM_LOCKED) for v in task.mm.mmap] == [False, True, False]
    assert task.mm.anon_rss == 1


def test_mlock_of_a_hole_is_enomem() -> None:
    k = make_kernel()
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 1)
    assert run(k, mlock.sys_mlock(k, task.mm, addr, 2 * PAGE_SIZE), task) == -ENOMEM


def test_munmap_and_exit_of_locked_memory_free_everything(version: str) -> None:
    k = make_kernel(version)
    start = page_alloc.nr_free_pages(k)
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 10, flags=ANON | mmap.MAP_LOCKED)
    mmap_anon(k, task, 5, flags=ANON | mmap.MAP_LOCKED)
    child = run(k, fork.do_fork(k, task), task)
    assert child.mm is not None and child.mm.locked_vm == 0
    assert not any(v.vm_flags & VM_LOCKED for v in child.mm.mmap)
    assert run(k, mmap.do_munmap(k, task.mm, addr, 10 * PAGE_SIZE), task) == 0
    assert task.mm.locked_vm == 5
    run(k, exit.do_exit(k, task), task)
    run(k, exit.do_exit(k, child), child)
    assert page_alloc.nr_free_pages(k) == start
    assert k.zone.vm_stat[NR_MLOCK] == 0
    assert k.zone.nr_lru(LRU_UNEVICTABLE) == 0
