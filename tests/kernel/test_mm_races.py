"""The mm core under random interleavings: threads of several tasks (faults, COW, fork,
munmap, exit, memcg reclaim with swap) run in seeded random orders; no run may hit a
KernelBug or deadlock, every quiescent end state keeps the invariants, and when all
tasks are gone every page, charge and swap slot is free again (orphan swap-cache pages
of the Type-2 race after a swapoff)."""

from __future__ import annotations

from collections.abc import Coroutine
from random import Random
from typing import Any

import pytest
from kernel_helpers import make_kernel, mmap_anon, new_task, run, touch

from swaplab.explore.ops import OpKind
from swaplab.kernel import cgroup, exit, fork, invariants, memcontrol, memory, mmap, swap, swapfile
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import PAGE_SIZE, TaskStruct
from swaplab.kernel.sync import Current


def run_random(k: Kernel, bodies: list[tuple[Coroutine[Any, Any, Any], TaskStruct | None]],
               seed: int, max_steps: int = 200_000) -> None:
    """Spawn the bodies (each on its own CPU slot 0) and step a random enabled thread until
    all are done; environment choices take the normal path."""
    ex = k.execution
    for i, (body, task) in enumerate(bodies):
        ex.spawn(f"t{i}", body, Current(task, 0))
    rng = Random(seed)
    for _ in range(max_steps):
        enabled = ex.enabled()
        if not enabled:
            assert all(t.done for t in ex.threads), f"deadlock: {ex.live()}"
            ex.threads.clear()
            return
        thread = enabled[rng.randrange(len(enabled))]
        pending = thread.pending
        assert pending is not None
        ex.step(thread, 0 if pending.kind is OpKind.CHOICE else None)
    raise AssertionError("step limit")


async def writer(k: Kernel, task: TaskStruct, addr: int, npages: int, rounds: int) -> None:
    for _ in range(rounds):
        for i in range(npages):
            ret = await memory.do_page_fault(k, task, addr + i * PAGE_SIZE, True)
            if task.sigkill:
                return
            assert ret in (0, memory.VM_FAULT_WRITE, memory.VM_FAULT_MAJOR), ret


async def writer_then_exit(k: Kernel, task: TaskStruct, addr: int, npages: int) -> None:
    await writer(k, task, addr, npages, 1)
    await exit.do_exit(k, task)


async def unmap_half(k: Kernel, task: TaskStruct, addr: int, npages: int) -> None:
    assert task.mm is not None
    assert await mmap.do_munmap(k, task.mm, addr, npages // 2 * PAGE_SIZE) == 0


def finish(k: Kernel, tasks: list[TaskStruct]) -> None:
    for task in tasks:
        if task.mm is not None:
            run(k, exit.do_exit(k, task), task)
    run(k, swap.lru_add_drain_all(k))
    assert invariants.check_all(k) == []
    # Type-2 (exit's page_remove_rmap() uncharges a page that reclaim then swaps out) can
    # leave orphan swap-cache pages in both versions; nothing but global reclaim or swapoff
    # frees them: swapoff does.
    leftover = [p for p in k.pages.values() if p not in invariants.orphan_swap_cache_pages(k)]
    assert leftover == []
    for si in list(k.swap_info):
        if si.inuse_pages:
            assert run(k, swapfile.sys_swapoff(k, si.type)) == 0
    assert k.pages == {}, f"{len(k.pages)} pages left"
    assert k.nr_free_pages == k.totalram_pages
    assert all(si.inuse_pages == 0 for si in k.swap_info)
    assert k.root_mem_cgroup is not None and k.root_mem_cgroup.res.usage == 0


@pytest.mark.parametrize("seed", range(12))
def test_cow_faults_munmap_and_exit_race(version: str, seed: int) -> None:
    k = make_kernel(version)
    parent = new_task(k, "parent")
    addr = mmap_anon(k, parent, 24)
    touch(k, parent, addr, 24)
    child = run(k, fork.do_fork(k, parent), parent)
    grandchild = run(k, fork.do_fork(k, child), child)
    run_random(k, [
        (writer(k, parent, addr, 24, 2), parent),
        (writer_then_exit(k, child, addr, 24), child),
        (unmap_half(k, grandchild, addr, 24), grandchild),
    ], seed)
    assert invariants.check_all(k) == []
    assert child.state == "exited"
    finish(k, [parent, grandchild])


@pytest.mark.parametrize("seed", range(8))
def test_memcg_reclaim_with_swap_races_faults_and_exit(version: str, seed: int) -> None:
    """Two tasks of one memcg (limit 40 pages, swap on) write 64 pages between them
    while one exits: memcg reclaim swaps out, swap-ins and COW happen, all in random
    order."""
    k = make_kernel(version)
    swapfile.sys_swapon(k, 512)
    sub = cgroup.cgroup_mkdir(k, k.cgroup_root, "A")
    assert not isinstance(sub, int) and sub.memcg is not None
    assert run(k, memcontrol.mem_cgroup_resize_limit(k, sub.memcg, 40 * PAGE_SIZE)) == 0
    a = fork.create_task(k, sub, "a")
    addr = mmap_anon(k, a, 32)
    touch(k, a, addr, 16)
    b = run(k, fork.do_fork(k, a), a)
    run_random(k, [
        (writer(k, a, addr, 32, 2), a),
        (writer_then_exit(k, b, addr, 32), b),
    ], seed, max_steps=400_000)
    assert invariants.check_all(k) == []
    assert sub.memcg.res.usage <= 40 * PAGE_SIZE
    finish(k, [a])
    assert sub.memcg.res.usage == 0 and sub.memcg.memsw.usage == 0
