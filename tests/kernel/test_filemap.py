"""filemap.py against mm/filemap.c and mm/truncate.c (2.6.30/2.6.31): charge before insert,
uncharge after removal, the clean file cache of read_file_pages."""

from __future__ import annotations

from kernel_helpers import make_kernel, run

from swaplab.kernel import cgroup, filemap, fork, invariants, page_alloc, swap
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.errno import EEXIST, ENOMEM
from swaplab.kernel.gfp import GFP_KERNEL, GFP_NOWAIT
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import LRU_INACTIVE_FILE, PAGE_SIZE, AddressSpace, Page, TaskStruct
from swaplab.kernel.mmzone import NR_FILE_PAGES
from swaplab.kernel.page_cgroup import PCG_CACHE, PCG_USED
from swaplab.kernel.page_flags import PageLocked, PageLRU, PageSwapBacked, PageUptodate
from swaplab.kernel.sync import __set_page_locked


def group(k: Kernel, name: str = "G") -> tuple[Cgroup, MemCgroup]:
    cg = cgroup.cgroup_mkdir(k, k.cgroup_root, name)
    assert isinstance(cg, Cgroup) and cg.memcg is not None
    return cg, cg.memcg


def task_in(k: Kernel, cg: Cgroup) -> TaskStruct:
    return fork.create_task(k, cg, "reader")


def drain(k: Kernel, task: TaskStruct) -> None:
    run(k, swap.lru_add_drain(k), task)


def read(k: Kernel, task: TaskStruct, nr: int, mapping: AddressSpace | None = None) -> int:
    return int(run(k, filemap.read_file_pages(k, task, nr, mapping), task))


def test_read_file_pages_charges_cache_and_fills_the_inactive_file_list(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task = task_in(k, cg)
    mapping = AddressSpace("f")
    free0 = page_alloc.nr_free_pages(k)
    assert read(k, task, 20, mapping) == 20
    drain(k, task)
    assert mem.res.usage == 20 * PAGE_SIZE
    assert mem.memsw.usage == 20 * PAGE_SIZE
    assert mapping.nrpages == 20 and sorted(mapping.page_tree) == list(range(20))
    assert k.zone.vm_stat[NR_FILE_PAGES] == 20
    assert page_alloc.nr_free_pages(k) == free0 - 20
    for page in mapping.page_tree.values():
        pc = page.page_cgroup
        assert pc.flags & (PCG_USED | PCG_CACHE) == PCG_USED | PCG_CACHE
        assert pc.mem_cgroup is mem
        assert page._count == 1  # the page cache's ref only
        assert PageLRU(page) and page.lru == LRU_INACTIVE_FILE
        assert PageUptodate(page) and not PageLocked(page) and not PageSwapBacked(page)
        assert pc.lru == LRU_INACTIVE_FILE  # linked on the memcg's list too
    assert len(mem.lists[LRU_INACTIVE_FILE]) == 20


def test_read_continues_the_file(version: str) -> None:
    k = make_kernel(version)
    cg, _ = group(k)
    task = task_in(k, cg)
    mapping = AddressSpace("f")
    read(k, task, 3, mapping)
    read(k, task, 2, mapping)
    assert sorted(mapping.page_tree) == [0, 1, 2, 3, 4]


def test_find_get_page_takes_a_reference(version: str) -> None:
    k = make_kernel(version)
    cg, _ = group(k)
    task = task_in(k, cg)
    mapping = AddressSpace("f")
    read(k, task, 2, mapping)
    drain(k, task)
    page = filemap.find_get_page(k, mapping, 1)
    assert page is mapping.page_tree[1] and page._count == 2
    assert filemap.find_get_page(k, mapping, 7) is None


def new_locked_page(k: Kernel, task: TaskStruct) -> Page:
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL), task)
    assert isinstance(page, Page)
    __set_page_locked(k, page)
    return page


def test_add_to_page_cache_eexist_undoes_charge_and_ref(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task = task_in(k, cg)
    mapping = AddressSpace("f")
    first = new_locked_page(k, task)
    second = new_locked_page(k, task)
    assert run(k, filemap.add_to_page_cache_locked(k, first, mapping, 5, GFP_KERNEL), task) == 0
    assert mem.res.usage == PAGE_SIZE and first._count == 2
    ret = run(k, filemap.add_to_page_cache_locked(k, second, mapping, 5, GFP_KERNEL), task)
    assert ret == -EEXIST
    assert mapping.page_tree == {5: first} and mapping.nrpages == 1
    assert second._count == 1 and second.mapping is None
    assert not second.page_cgroup.flags & PCG_USED
    assert mem.res.usage == PAGE_SIZE  # the second charge was undone


def test_add_to_page_cache_charge_failure_inserts_nothing(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task = task_in(k, cg)
    mem.res.limit = 0
    mapping = AddressSpace("f")
    page = new_locked_page(k, task)
    ret = run(k, filemap.add_to_page_cache_locked(k, page, mapping, 0, GFP_NOWAIT), task)
    assert ret == -ENOMEM
    assert mapping.page_tree == {} and page._count == 1 and page.mapping is None
    assert mem.res.failcnt == 1  # !__GFP_WAIT: one failed try, no reclaim


def test_remove_from_page_cache_uncharges(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task = task_in(k, cg)
    mapping = AddressSpace("f")
    page = new_locked_page(k, task)
    assert run(k, filemap.add_to_page_cache_locked(k, page, mapping, 0, GFP_KERNEL), task) == 0
    filemap.remove_from_page_cache(k, page)
    assert mapping.page_tree == {} and mapping.nrpages == 0 and page.mapping is None
    assert mem.res.usage == 0 and not page.page_cgroup.flags & PCG_USED
    assert page._count == 2  # the cache's ref is the caller's to drop


def test_truncate_frees_and_uncharges_everything(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task = task_in(k, cg)
    mapping = AddressSpace("f")
    free0 = page_alloc.nr_free_pages(k)
    read(k, task, 30, mapping)
    drain(k, task)
    run(k, filemap.truncate_inode_pages(k, mapping, 0), task)
    assert mapping.nrpages == 0 and mapping.page_tree == {}
    assert mem.res.usage == 0 and mem.memsw.usage == 0
    assert page_alloc.nr_free_pages(k) == free0
    assert k.zone.nr_lru(LRU_INACTIVE_FILE) == 0
    assert len(mem.lists[LRU_INACTIVE_FILE]) == 0
    assert invariants.check_all(k) == []


def test_truncate_from_an_index_keeps_the_head(version: str) -> None:
    k = make_kernel(version)
    cg, mem = group(k)
    task = task_in(k, cg)
    mapping = AddressSpace("f")
    read(k, task, 20, mapping)
    drain(k, task)
    run(k, filemap.truncate_inode_pages(k, mapping, 16), task)
    assert sorted(mapping.page_tree) == list(range(16))
    assert mem.res.usage == 16 * PAGE_SIZE
