"""fork.py / exit.py against kernel/fork.c and kernel/exit.c (2.6.30, 2.6.31)."""

from __future__ import annotations

import pytest
from kernel_helpers import make_kernel, mmap_anon, new_task, page_at, run, touch

from swaplab.kernel import cgroup, exit, fork, swapfile
from swaplab.kernel.mm_types import PAGE_SHIFT, PAGE_SIZE, TASK_EXITED, TASK_KILLED, Pte


def test_create_task_registers_an_empty_mm_owned_by_the_task() -> None:
    k = make_kernel()
    a = fork.create_task(k, k.cgroup_root, "a")
    b = fork.create_task(k, k.cgroup_root, "b")
    assert (a.pid, b.pid) == (1, 2)
    assert k.tasks == {1: a, 2: b}
    assert k.cgroup_root.tasks == [a, b]
    assert a.mm is not None and a.mm.owner is a and a.mm.mmap == [] and a.mm.ptes == {}
    assert a.comm == "a" and a.cgroup is k.cgroup_root


def test_do_fork_copies_vmas_joining_the_parent_anon_vma(version: str) -> None:
    k = make_kernel(version)
    sub = cgroup.cgroup_mkdir(k, k.cgroup_root, "A")
    assert not isinstance(sub, int)
    parent = fork.create_task(k, sub, "p")
    addr = mmap_anon(k, parent, 2)
    untouched = mmap_anon(k, parent, 2)
    touch(k, parent, addr, 2)
    child = run(k, fork.do_fork(k, parent), parent)
    assert child.parent is parent and parent.children == [child]
    assert child.cgroup is sub and sub.tasks == [parent, child]
    assert k.tasks[child.pid] is child
    assert parent.mm is not None and child.mm is not None
    assert child.mm.owner is child and child.mm is not parent.mm
    assert [(v.vm_start, v.vm_end) for v in child.mm.mmap] == \
        [(v.vm_start, v.vm_end) for v in parent.mm.mmap]
    pvma, cvma = parent.mm.mmap[0], child.mm.mmap[0]
    assert cvma.anon_vma is pvma.anon_vma and pvma.anon_vma is not None
    assert pvma.anon_vma.head == [pvma, cvma]
    assert cvma.vm_mm is child.mm
    # the untouched vma has no anon_vma: nothing to copy
    assert child.mm.mmap[1].anon_vma is None
    assert (untouched >> PAGE_SHIFT) not in child.mm.ptes
    assert child.mm.total_vm == 4 and child.mm.anon_rss == 2


def test_fork_duplicates_swap_ptes(version: str) -> None:
    k = make_kernel(version)
    swapfile.sys_swapon(k, 16)
    parent = new_task(k)
    addr = mmap_anon(k, parent, 1)
    touch(k, parent, addr)
    entry = run(k, swapfile.get_swap_page(k))
    assert entry
    si = k.swap_info[swapfile.swp_type(entry)]
    off = swapfile.swp_offset(entry)
    si.swap_map[off] = 1  # as if the page's pte had been swapped out and the cache dropped
    assert parent.mm is not None
    parent.mm.ptes[(addr >> PAGE_SHIFT) + 1] = Pte(swp=entry)
    parent.mm.mmap[0].vm_end += PAGE_SIZE
    child = run(k, fork.do_fork(k, parent), parent)
    assert child.mm is not None
    assert child.mm.ptes[(addr >> PAGE_SHIFT) + 1].swp == entry
    assert child.mm.on_mmlist
    assert si.swap_map[off] == 2


@pytest.mark.parametrize("sigkill", [False, True])
def test_do_exit_frees_the_mm_and_leaves_the_cgroup(sigkill: bool) -> None:
    k = make_kernel()
    parent = new_task(k)
    addr = mmap_anon(k, parent, 3)
    touch(k, parent, addr, 3)
    child = run(k, fork.do_fork(k, parent), parent)
    grandchild = run(k, fork.do_fork(k, child), child)
    page = page_at(parent, addr)
    assert page._mapcount == 2
    child.sigkill = sigkill
    run(k, exit.do_exit(k, child), child)
    assert child.mm is None and child.exiting
    assert child.state == (TASK_KILLED if sigkill else TASK_EXITED)
    assert child not in k.cgroup_root.tasks and parent.children == []
    assert grandchild.parent is None
    assert page._mapcount == 1
    assert k.tasks[child.pid] is child
