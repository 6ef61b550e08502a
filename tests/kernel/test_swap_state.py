"""mm/swap_state.c model against the 2.6.30 and 2.6.31 sources: add_to_swap_cache(),
delete_from_swap_cache(), add_to_swap(), read_swap_cache_async(), swapin_readahead(),
lookup_swap_cache(), free_pages_and_swap_cache() and show_swap_cache_info()."""

from __future__ import annotations

import pytest
from kernel_helpers import (
    delete_from_cache,
    make_kernel,
    new_page,
    run,
    slot,
    swapped_page,
)

from swaplab.explore.execution import Thread, run_to_completion
from swaplab.explore.ops import OpKind
from swaplab.kernel import swap_state, swapfile
from swaplab.kernel.config import DISCARD_RACE, PRELOAD_BEFORE_PREPARE, make_config
from swaplab.kernel.errno import EEXIST
from swaplab.kernel.gfp import GFP_HIGHUSER_MOVABLE
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import Page
from swaplab.kernel.mmzone import NR_FILE_PAGES
from swaplab.kernel.page_cgroup import PageCgroupUsed
from swaplab.kernel.page_flags import (
    PageDirty,
    PageLocked,
    PageSwapBacked,
    PageSwapCache,
    PageUptodate,
    SetPageSwapBacked,
    SetPageUptodate,
)
from swaplab.kernel.swapfile import SWAP_HAS_CACHE, swp_entry
from swaplab.kernel.sync import Current, __set_page_locked, unlock_page


def swapped_out_slots(k: Kernel, n: int) -> list[int]:
    """``n`` slots that only a (notional) pte references: no swap-cache page."""
    entries = []
    for _ in range(n):
        e = run(k, swapfile.get_swap_page(k))
        if k.cfg.swap_has_cache:  # 0x8000 -> 0x8001 -> 1
            run(k, swapfile.swap_duplicate(k, e))
            run(k, swapfile.swapcache_free(k, e, None))
        entries.append(e)  # [30]: the value 1 stands for the pte's reference
    return entries


def test_add_and_delete_keep_the_statistics(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    info = k.swap_cache_info
    assert (k.swapper_space.nrpages, info.add_total, info.del_total) == (1, 1, 0)
    assert k.zone.vm_stat[NR_FILE_PAGES] == 1
    assert page._count == 2 and PageSwapCache(page) and PageDirty(page)
    assert k.swapper_space.page_tree[page.private] is page
    e = page.private
    delete_from_cache(k, page)
    assert (k.swapper_space.nrpages, info.add_total, info.del_total) == (0, 1, 1)
    assert page._count == 1 and not PageSwapCache(page) and page.private == 0
    assert slot(k, e) == 0


def test_add_to_swap_cache_eexist_undoes_everything() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    first = swapped_page(k)
    other = new_page(k)
    SetPageSwapBacked(other)

    async def add() -> int:
        __set_page_locked(k, other)
        ret = await swap_state.add_to_swap_cache(k, other, first.private, 0)
        unlock_page(other)
        return ret

    assert run(k, add()) == -EEXIST
    assert (other._count, other.private, PageSwapCache(other)) == (1, 0, False)
    assert k.swap_cache_info.add_total == 1


def test_lookup_swap_cache_statistics() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    assert run(k, swap_state.lookup_swap_cache(k, page.private)) is page
    assert page._count == 3
    assert run(k, swap_state.lookup_swap_cache(k, swp_entry(0, 7))) is None
    info = k.swap_cache_info
    assert (info.find_success, info.find_total) == (1, 2)


def _step_until(k: Kernel, thread: Thread, done: bool = False, kind: OpKind | None = None,
                obj: object = None, site: str = "") -> None:
    while True:
        op = thread.pending
        if done and thread.done:
            return
        assert op is not None, f"{thread!r} finished early"
        if kind is not None and op.kind is kind and (obj is None or op.obj is obj) \
                and op.site.startswith(site):
            return
        assert op.enabled()
        k.execution.step(thread)


def _race_add_to_swap_with_readahead(version: str, fixes: tuple[str, ...] = ()
                                     ) -> tuple[Kernel, Page, Thread, Thread]:
    """Reclaim's add_to_swap() has its fresh slot (offset 1) and is about to insert the
    page; a readahead of that very slot runs now."""
    k = make_kernel(version, memcg=False, fixes=fixes)
    swapfile.sys_swapon(k, 10)
    page = new_page(k)
    SetPageSwapBacked(page)
    SetPageUptodate(page)

    async def reclaim() -> int:
        __set_page_locked(k, page)
        ret = await swap_state.add_to_swap(k, page)
        unlock_page(page)
        return ret

    a = k.execution.spawn("reclaim", reclaim(), Current(None, 0))
    b = k.execution.spawn(
        "readahead",
        swap_state.read_swap_cache_async(k, swp_entry(0, 1), GFP_HIGHUSER_MOVABLE, None, 0),
        Current(None, 0),
    )
    _step_until(k, a, kind=OpKind.ACQUIRE, obj=k.swapper_space.tree_lock)
    return k, page, a, b


def test_2630_add_to_swap_retries_after_readahead_took_the_slot() -> None:
    k, page, a, b = _race_add_to_swap_with_readahead("2.6.30")
    assert slot(k, swp_entry(0, 1)) == 1
    _step_until(k, b, done=True)  # swap_duplicate succeeds: 2; its page goes in first
    assert slot(k, swp_entry(0, 1)) == 2
    run_to_completion(k.execution)
    assert a.result == 1
    assert page.private == swp_entry(0, 2)  # retried with the next slot
    orphan = b.result
    assert orphan is not page and PageSwapCache(orphan)
    assert slot(k, swp_entry(0, 1)) == 1  # only the orphan's cache reference is left
    assert k.swap_info[0].inuse_pages == 2


def test_2631_readahead_waits_for_the_has_cache_owner() -> None:
    k, page, a, b = _race_add_to_swap_with_readahead("2.6.31")
    assert slot(k, swp_entry(0, 1)) == SWAP_HAS_CACHE
    _step_until(k, b, kind=OpKind.SPIN, site="read_swap_cache_async: -EEXIST")
    run_to_completion(k.execution)
    assert a.result == 1
    assert page.private == swp_entry(0, 1)
    assert b.result is page  # readahead found the owner's page
    assert page._count == 3  # ours, the cache's, readahead's
    assert k.swap_info[0].inuse_pages == 1


@pytest.mark.parametrize("fixes", [(), (DISCARD_RACE,)])
def test_eexist_retry_reschedules_only_with_cbab0e4eec29(fixes: tuple[str, ...]) -> None:
    """mm/swap_state.c: read_swap_cache_async(): 2.6.31 goes straight round the loop after
    -EEXIST (a busy loop that keeps its CPU); cbab0e4eec29 calls cond_resched() first, in
    that branch (a round that offers the CPU: sync.busy_retry(sleeps=True))."""
    k, page, _, b = _race_add_to_swap_with_readahead("2.6.31", fixes)
    _step_until(k, b, kind=OpKind.SPIN, site="read_swap_cache_async: -EEXIST")
    assert b.pending is not None and b.pending.sleeps is bool(fixes)
    run_to_completion(k.execution)
    assert b.result is page  # either way the readahead finds the owner's page


@pytest.mark.parametrize(("version", "after"), [("2.6.30", 2), ("2.6.31", SWAP_HAS_CACHE | 1)])
def test_read_swap_cache_async_new_page(version: str, after: int) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    (e,) = swapped_out_slots(k, 1)
    holder: list[Page] = []

    async def read() -> None:
        page = await swap_state.read_swap_cache_async(k, e, GFP_HIGHUSER_MOVABLE, None, 0)
        assert page is not None
        holder.append(page)
        assert PageLocked(page) and not PageUptodate(page)  # read in flight

    run(k, read())
    (page,) = holder
    assert slot(k, e) == after
    assert PageSwapCache(page) and PageSwapBacked(page) and page.private == e
    assert not PageLocked(page) and PageUptodate(page)  # end_swap_bio_read ran
    assert not PageCgroupUsed(page.page_cgroup)  # not charged until mapped
    assert page._count == 3  # the caller's, the cache's, the per-CPU LRU pagevec's


def test_read_swap_cache_async_of_a_free_slot(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    free_before = k.nr_free_pages
    page = run(k, swap_state.read_swap_cache_async(k, swp_entry(0, 3), GFP_HIGHUSER_MOVABLE,
                                                   None, 0))
    assert page is None
    assert k.nr_free_pages == free_before
    assert k.swapper_space.nrpages == 0


def test_swapin_readahead_reads_the_window(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 64)
    entries = swapped_out_slots(k, 10)
    k.page_cluster = 3
    page = run(k, swap_state.swapin_readahead(k, entries[2], GFP_HIGHUSER_MOVABLE, None, 0))
    assert page is not None and page.private == entries[2]
    assert sorted(k.swapper_space.page_tree) == entries[:7]  # window [1, 8)
    for e in entries[:7]:
        cached = k.swapper_space.page_tree[e]
        assert not PageCgroupUsed(cached.page_cgroup)
        assert cached._count == (2 if e == entries[2] else 1)
    assert k.swap_cache_info.add_total == 7


def test_swapin_readahead_without_page_cluster_reads_one(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 64)
    entries = swapped_out_slots(k, 10)
    k.page_cluster = 0
    run(k, swap_state.swapin_readahead(k, entries[2], GFP_HIGHUSER_MOVABLE, None, 0))
    assert list(k.swapper_space.page_tree) == [entries[2]]


def test_free_pages_and_swap_cache_drops_stale_cache(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 64)
    pages = [swapped_page(k) for _ in range(20)]
    entries = [p.private for p in pages]
    run(k, swapfile.swap_duplicate(k, entries[0]))  # one still referenced by a pte
    free_before = k.nr_free_pages
    run(k, swap_state.free_pages_and_swap_cache(k, pages))
    assert list(k.swapper_space.page_tree) == [entries[0]]
    assert [slot(k, e) for e in entries[1:]] == [0] * 19
    assert k.nr_free_pages == free_before + 19


def test_show_swap_cache_info() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 101)
    swapped_page(k)
    run(k, swap_state.lookup_swap_cache(k, swp_entry(0, 1)))
    assert swap_state.show_swap_cache_info(k) == (
        "1 pages in swap cache\n"
        "Swap cache stats: add 1, delete 0, find 1/1\n"
        "Free swap  = 396kB\n"
        "Total swap = 400kB\n"
    )


def test_show_swap_cache_info_rfc_counts_cache_only_swap() -> None:
    k = make_kernel("rfc-2009-05-26", memcg=False)
    swapfile.sys_swapon(k, 101)
    swapped_page(k)
    swapped_page(k)
    assert swap_state.show_swap_cache_info(k).splitlines()[-1] == "Cache only swap = 8kB"


@pytest.mark.parametrize(("fixes", "order"), [
    ("", ["__swap_duplicate", "radix_tree_preload"]),
    (PRELOAD_BEFORE_PREPARE, ["radix_tree_preload", "__swap_duplicate"]),
])
def test_read_swap_cache_async_may_sleep_after_its_claim_until_31a5639623a4(
        fixes: str, order: list[str]) -> None:
    """2.6.31: the reader claims SWAP_HAS_CACHE (swapcache_prepare) and may then sleep in
    add_to_swap_cache()'s radix_tree_preload(GFP_KERNEL) holding it; with 31a5639623a4 it
    preloads before the claim and inserts with __add_to_swap_cache(), which never sleeps.
    (The reader is placed on CPU 0, so the preload's sleep is a point of the CPU model.)"""
    k = make_kernel(cfg=make_config("2.6.31", fixes=fixes), memcg=False)
    swapfile.sys_swapon(k, 10)
    (e,) = swapped_out_slots(k, 1)
    thread = k.execution.spawn(
        "reader", swap_state.read_swap_cache_async(k, e, GFP_HIGHUSER_MOVABLE, None, 0),
        Current(None, 0), cpu=0)
    seen: list[str] = []
    claimed_while_asleep: list[bool] = []
    while not thread.done:
        k.execution.step(thread)
        site = thread.pending.site if thread.pending is not None else ""
        if site in order:
            seen.append(site)
        if site == "radix_tree_preload":
            claimed_while_asleep.append(bool(slot(k, e) & SWAP_HAS_CACHE))
    assert seen == order
    assert claimed_while_asleep == [not fixes]
    run_to_completion(k.execution)  # the read's completion
    page = thread.result
    assert page.private == e and PageSwapCache(page) and PageUptodate(page)
    assert slot(k, e) == SWAP_HAS_CACHE | 1
