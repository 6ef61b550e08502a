"""The mm core under the model's invariants (invariants.check_all): a mixed sequence of
mmap, faults, fork, COW, mlock, shmem, swap-out, swap-in, munmap and exit keeps page refs,
LRUs and charges consistent at every quiescent point, and ends with everything freed."""

from __future__ import annotations

from kernel_helpers import ANON, make_kernel, mmap_anon, new_task, page_at, run, touch

from swaplab.kernel import (
    exit,
    fork,
    invariants,
    memory,
    mlock,
    mmap,
    page_alloc,
    rmap,
    swap,
    swap_state,
    swapfile,
)
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import PAGE_SHIFT, PAGE_SIZE, AnonVma, TaskStruct
from swaplab.kernel.sync import lock_page, unlock_page


def check(k: Kernel) -> None:
    assert invariants.check_all(k) == []


def swap_out(k: Kernel, task: TaskStruct, addr: int) -> None:
    page = page_at(task, addr)
    assert isinstance(page.mapping, AnonVma)
    for vma in page.mapping.head:
        pte = vma.vm_mm.ptes.get(vma.address_of(page.index) >> PAGE_SHIFT)
        if pte is not None:
            pte.young = False

    async def body() -> None:
        page._count += 1
        await lock_page(k, page)
        assert await swap_state.add_to_swap(k, page) == 1
        assert await rmap.try_to_unmap(k, page, 0) == rmap.SWAP_SUCCESS
        unlock_page(page)
        page_alloc.put_page(k, page)

    run(k, body())


def test_mixed_sequence_keeps_the_invariants(version: str) -> None:
    k = make_kernel(version)
    start = page_alloc.nr_free_pages(k)
    swapfile.sys_swapon(k, 256)
    a = new_task(k, "a")
    assert a.mm is not None
    anon = mmap_anon(k, a, 40)
    locked = mmap_anon(k, a, 5, flags=ANON | mmap.MAP_LOCKED)
    shared = mmap_anon(k, a, 6, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    touch(k, a, anon, 40)
    touch(k, a, shared, 6)
    check(k)
    b = run(k, fork.do_fork(k, a), a)
    check(k)
    touch(k, b, anon, 10)  # COW
    touch(k, b, shared, 3, write=False)
    check(k)
    run(k, swap.lru_add_drain(k))
    for i in range(10, 15):
        swap_out(k, a, anon + i * PAGE_SIZE)  # shared with b: both ptes become swap ptes
    check(k)
    ret = run(k, memory.do_page_fault(k, b, anon + 11 * PAGE_SIZE, True), b)
    assert ret == memory.VM_FAULT_WRITE  # swap count 2: read in, then COW
    assert run(k, memory.do_page_fault(k, a, anon + 12 * PAGE_SIZE, False), a) == 0
    check(k)
    assert run(k, mlock.sys_mlock(k, a.mm, anon, 4 * PAGE_SIZE), a) == 0
    assert run(k, mmap.do_munmap(k, a.mm, anon + 2 * PAGE_SIZE, 20 * PAGE_SIZE), a) == 0
    check(k)
    run(k, exit.do_exit(k, a), a)
    check(k)
    c = run(k, fork.do_fork(k, b), b)
    run(k, exit.do_exit(k, b), b)
    check(k)
    run(k, exit.do_exit(k, c), c)
    run(k, swap.lru_add_drain_all(k))
    check(k)
    assert locked
    assert page_alloc.nr_free_pages(k) == start
    assert k.swap_info[0].inuse_pages == 0
    assert k.root_mem_cgroup is not None and k.root_mem_cgroup.res.usage == 0
    assert k.root_mem_cgroup.memsw.usage == 0
