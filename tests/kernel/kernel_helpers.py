"""Shared set-up of the kernel unit tests: a Kernel per version, a kernel path run as a
thread to completion, tasks with anonymous mappings, and pages in the swap cache made the
way reclaim makes them. The ``version`` fixture is in ``conftest.py``."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from swaplab.explore.execution import run_to_completion
from swaplab.kernel import cgroup, fork, memory, mmap, page_alloc, swap_state, swapfile
from swaplab.kernel.config import KernelConfig, make_config
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import PAGE_SIZE, Page, TaskStruct
from swaplab.kernel.page_flags import SetPageSwapBacked, SetPageUptodate
from swaplab.kernel.sync import Current, __set_page_locked, unlock_page

VERSIONS = ("2.6.30", "2.6.31")
ANON = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
RW = mmap.PROT_READ | mmap.PROT_WRITE


# ---------------------------------------------------------------------------------------------
# the machine and running kernel paths


def make_kernel(version: str = "2.6.31", patches: str | None = None, *,
                cfg: KernelConfig | None = None, ram_bytes: int = 64 << 20, ncpus: int = 1,
                memcg: bool = True, **switches: Any) -> Kernel:
    """A machine of ``ram_bytes`` running ``version`` (plus ``patches``, see
    ``config.make_config``) or ``cfg``, with the config fields in ``switches`` overridden.
    With ``memcg`` the root memcg exists (kernel/cgroup.c: cgroup_init_subsys()); the swap
    unit tests run without it (``memcg=False``): no page is charged."""
    config = cfg if cfg is not None else make_config(version, patches)
    if switches:
        config = replace(config, **switches)
    k = Kernel(config, ram_bytes, ncpus=ncpus)
    if memcg:
        cgroup.cgroup_init_root(k)
    return k


def run(k: Kernel, body: Coroutine[Any, Any, Any], task: TaskStruct | None = None,
        cpu: int = 0) -> Any:
    """Run ``body`` as a thread of ``task`` (None: a kernel thread) on ``cpu``, and whatever
    it starts, to completion; its result."""
    thread = k.execution.spawn("test", body, Current(task, cpu))
    run_to_completion(k.execution, max_steps=1_000_000)
    return thread.result


# ---------------------------------------------------------------------------------------------
# tasks and anonymous memory


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


# ---------------------------------------------------------------------------------------------
# the swap cache


def new_page(k: Kernel) -> Page:
    page: Page | None = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    assert page is not None
    return page


def swapped_page(k: Kernel) -> Page:
    """An anon-like page put into the swap cache by add_to_swap (as shrink_page_list
    does), unlocked again; returns it (refs: ours + the cache's)."""
    page = new_page(k)
    SetPageSwapBacked(page)
    SetPageUptodate(page)

    async def body() -> int:
        __set_page_locked(k, page)
        ret = await swap_state.add_to_swap(k, page)
        unlock_page(page)
        return ret

    assert run(k, body()) == 1
    return page


def slot(k: Kernel, entry: int) -> int:
    return k.swap_info[swapfile.swp_type(entry)].swap_map[swapfile.swp_offset(entry)]


def cache_only_slots(k: Kernel) -> int:
    return sum(
        1 for si in k.swap_info for v in si.swap_map if v == swapfile.SWAP_HAS_CACHE
    )


def delete_from_cache(k: Kernel, page: Page) -> None:
    """delete_from_swap_cache() under the page lock, as its callers hold it."""

    async def body() -> None:
        __set_page_locked(k, page)
        await swap_state.delete_from_swap_cache(k, page)
        unlock_page(page)

    run(k, body())
