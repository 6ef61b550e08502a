"""Shared set-up for the swap unit tests: a Kernel per version, running one kernel path as
a thread to completion, and pages in the swap cache made the way reclaim makes them."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from swaplab.explore.execution import run_to_completion
from swaplab.kernel import page_alloc, swap_state, swapfile
from swaplab.kernel.config import make_config
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import Page, SetPageSwapBacked, SetPageUptodate
from swaplab.kernel.sync import Current, __set_page_locked, unlock_page

VERSIONS = ("2.6.30", "2.6.31")


def make_kernel(version: str, patches: str | None = None, **switches: Any) -> Kernel:
    cfg = make_config(version, patches)
    if switches:
        cfg = replace(cfg, **switches)
    return Kernel(cfg, 64 << 20)


def run(k: Kernel, body: Coroutine[Any, Any, Any]) -> Any:
    """Run ``body`` as a kernel thread (and whatever it starts) to completion."""
    thread = k.execution.spawn("test", body, Current(None, 0))
    run_to_completion(k.execution)
    return thread.result


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
