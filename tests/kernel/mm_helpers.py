"""Shared set-up for the mm-core unit tests (page_alloc, swap, rmap, memory, mmap, mlock,
fork, exit): a Kernel with the root memcg, tasks, and kernel paths run to completion."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from swaplab.explore.execution import run_to_completion
from swaplab.kernel import cgroup, fork, memory, mmap
from swaplab.kernel.config import make_config
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import PAGE_SIZE, Page, TaskStruct
from swaplab.kernel.sync import Current

VERSIONS = ("2.6.30", "2.6.31")
ANON = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
RW = mmap.PROT_READ | mmap.PROT_WRITE


def make_kernel(version: str = "2.6.31", ncpus: int = 1) -> Kernel:
    k = Kernel(make_config(version), 64 << 20, ncpus=ncpus)
    cgroup.cgroup_init_root(k)
    return k


def run(k: Kernel, body: Coroutine[Any, Any, Any], task: TaskStruct | None = None,
        cpu: int = 0) -> Any:
    """Run ``body`` as a thread of ``task`` on ``cpu`` (and whatever it starts)."""
    thread = k.execution.spawn("test", body, Current(task, cpu))
    run_to_completion(k.execution, max_steps=1_000_000)
    return thread.result


def new_task(k: Kernel, comm: str = "t") -> TaskStruct:
    return fork.create_task(k, k.cgroup_root, comm)


def mmap_anon(k: Kernel, task: TaskStruct, npages: int, flags: int = ANON,
              prot: int = RW) -> int:
    assert task.mm is not None
    addr = run(k, mmap.do_mmap_pgoff(k, task.mm, 0, npages * PAGE_SIZE, prot, flags, None),
               task)
    assert addr > 0
    return int(addr)


def touch(k: Kernel, task: TaskStruct, addr: int, npages: int = 1, write: bool = True) -> None:
    async def body() -> None:
        for i in range(npages):
            ret = await memory.do_page_fault(k, task, addr + i * PAGE_SIZE, write)
            assert ret in (0, memory.VM_FAULT_WRITE), ret

    run(k, body(), task)


def page_at(task: TaskStruct, addr: int) -> Page:
    assert task.mm is not None
    pte = task.mm.ptes[addr // PAGE_SIZE]
    assert pte.page is not None
    return pte.page


def usage_pages(k: Kernel) -> int:
    """The root memcg's res usage in pages."""
    assert k.root_mem_cgroup is not None
    return int(k.root_mem_cgroup.res.usage // PAGE_SIZE)
