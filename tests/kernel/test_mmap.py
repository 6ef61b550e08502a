"""mmap.py against mm/mmap.c (2.6.30, 2.6.31): do_mmap_pgoff, do_munmap, exit_mmap."""

from __future__ import annotations

from kernel_helpers import (
    ANON,
    RW,
    make_kernel,
    mmap_anon,
    new_task,
    page_at,
    run,
    touch,
    usage_pages,
)

from swaplab.kernel import exit, fork, mmap, page_alloc
from swaplab.kernel.errno import EINVAL
from swaplab.kernel.mm_types import PAGE_SHIFT, PAGE_SIZE, VM_READ, VM_SHARED, VM_WRITE


def test_anonymous_mmaps_are_placed_bottom_up_without_overlap() -> None:
    k = make_kernel()
    task = new_task(k)
    assert task.mm is not None
    a = mmap_anon(k, task, 2)
    b = mmap_anon(k, task, 3)
    assert a == mmap.TASK_UNMAPPED_BASE and b == a + 2 * PAGE_SIZE
    vma = task.mm.mmap[0]
    assert vma.vm_flags == VM_READ | VM_WRITE and vma.vm_pgoff == a >> PAGE_SHIFT
    assert task.mm.total_vm == 5
    assert run(k, mmap.do_munmap(k, task.mm, a, 2 * PAGE_SIZE), task) == 0
    assert mmap_anon(k, task, 1) == a  # the hole is reused


def test_map_fixed_replaces_what_was_mapped() -> None:
    k = make_kernel()
    task = new_task(k)
    assert task.mm is not None
    a = mmap_anon(k, task, 4)
    touch(k, task, a, 4)
    assert usage_pages(k) == 4
    got = run(k, mmap.do_mmap_pgoff(k, task.mm, a + PAGE_SIZE, PAGE_SIZE, RW,
                                    ANON | mmap.MAP_FIXED, None), task)
    assert got == a + PAGE_SIZE
    assert usage_pages(k) == 3 and (got >> PAGE_SHIFT) not in task.mm.ptes
    assert len(task.mm.mmap) == 3 and task.mm.total_vm == 4


def test_map_populate_faults_the_range_in() -> None:
    k = make_kernel()
    task = new_task(k)
    addr = mmap_anon(k, task, 5, flags=ANON | mmap.MAP_POPULATE)
    assert task.mm is not None and task.mm.anon_rss == 5 and usage_pages(k) == 5
    assert page_at(task, addr + 4 * PAGE_SIZE)._mapcount == 0


def test_bad_arguments() -> None:
    k = make_kernel()
    task = new_task(k)
    assert task.mm is not None
    assert run(k, mmap.do_mmap_pgoff(k, task.mm, 0, 0, RW, ANON, None)) == -EINVAL
    assert run(k, mmap.do_mmap_pgoff(k, task.mm, 0, PAGE_SIZE, RW, mmap.MAP_ANONYMOUS,
                                     None)) == -EINVAL
    assert run(k, mmap.do_munmap(k, task.mm, 1, PAGE_SIZE)) == -EINVAL


def test_shared_anonymous_mapping_is_shmem_backed() -> None:
    k = make_kernel()
    start = page_alloc.nr_free_pages(k)
    task = new_task(k)
    assert task.mm is not None
    addr = mmap_anon(k, task, 3, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    vma = task.mm.mmap[0]
    assert vma.vm_flags & VM_SHARED and vma.vm_file is not None
    assert vma.vm_file.i_mmap == [vma]
    touch(k, task, addr, 3)
    page = page_at(task, addr)
    assert page.mapping is vma.vm_file and page._mapcount == 0
    assert task.mm.file_rss == 3 and task.mm.anon_rss == 0
    assert task.mm.ptes[addr >> PAGE_SHIFT].write
    run(k, exit.do_exit(k, task), task)
    assert vma.vm_file.i_mmap == []
    assert page_alloc.nr_free_pages(k) == start


def test_sysv_attach_maps_the_segment_and_exit_detaches() -> None:
    """A SysV attach is a shared vma on the segment's mapping: pages stay in the segment
    after the last detach until IPC_RMID; an exit of an attached task marked SHM_DEST
    destroys it (remove_vma -> shmem_vma_close)."""
    from swaplab.kernel import shmem

    k = make_kernel()
    start = page_alloc.nr_free_pages(k)
    task = new_task(k)
    assert task.mm is not None
    shmid = shmem.shmget(k, 0x1234, 4 * PAGE_SIZE)
    addr = run(k, shmem.shmat(k, task.mm, shmid), task)
    seg = k.shm_segments[shmid]
    vma = task.mm.mmap[0]
    assert vma.vm_file is seg.mapping and seg.shm_nattch == 1
    touch(k, task, addr, 4)
    assert task.mm.file_rss == 4 and usage_pages(k) == 4
    child = run(k, fork.do_fork(k, task), task)
    assert seg.shm_nattch == 2
    assert run(k, shmem.shmdt(k, task.mm, addr), task) == 0
    assert seg.shm_nattch == 1 and task.mm.file_rss == 0 and usage_pages(k) == 4
    assert run(k, shmem.shm_rmid(k, shmid)) == 0
    assert shmid in k.shm_segments  # still attached by the child
    run(k, exit.do_exit(k, child), child)
    assert shmid not in k.shm_segments and usage_pages(k) == 0
    run(k, exit.do_exit(k, task), task)
    assert page_alloc.nr_free_pages(k) == start
