"""swap.py against mm/swap.c and include/linux/mm_inline.h (identical in 2.6.30/2.6.31):
pagevecs, LRU lists, release_pages."""

from __future__ import annotations

from kernel_helpers import make_kernel, new_task, run

from swaplab.kernel import page_alloc, swap
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import PAGEVEC_SIZE, Kernel
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    Page,
)
from swaplab.kernel.page_cgroup import PCG_USED
from swaplab.kernel.page_flags import (
    PG_active,
    PG_lru,
    PG_referenced,
    PG_swapbacked,
    PG_unevictable,
)


def anon_page(k: Kernel) -> Page:
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    assert isinstance(page, Page)
    page.flags |= PG_swapbacked
    return page


def test_page_lru_follows_the_flags() -> None:
    k = make_kernel()
    page = run(k, page_alloc.alloc_pages(k, GFP_KERNEL))
    assert swap.page_lru(page) == LRU_INACTIVE_FILE
    page.flags |= PG_active
    assert swap.page_lru(page) == LRU_ACTIVE_FILE
    page.flags |= PG_swapbacked
    assert swap.page_lru(page) == LRU_ACTIVE_ANON
    page.flags &= ~PG_active
    assert swap.page_lru(page) == LRU_INACTIVE_ANON
    page.flags |= PG_unevictable
    assert swap.page_lru(page) == LRU_UNEVICTABLE


def test_pagevec_drains_on_the_fourteenth_add(version: str) -> None:
    assert PAGEVEC_SIZE == 14
    k = make_kernel(version)
    pages = [anon_page(k) for _ in range(PAGEVEC_SIZE)]

    async def add(n: int) -> None:
        for page in pages[:n]:
            await swap.lru_cache_add_anon(k, page)

    run(k, add(13))
    assert len(k.lru_add_pvecs[0][LRU_INACTIVE_ANON]) == 13
    assert all(p._count == 2 and not p.flags & PG_lru for p in pages[:13])
    assert k.zone.nr_lru(LRU_INACTIVE_ANON) == 0

    async def add_last() -> None:
        await swap.lru_cache_add_anon(k, pages[13])

    run(k, add_last())
    assert k.lru_add_pvecs[0][LRU_INACTIVE_ANON] == []
    assert k.zone.nr_lru(LRU_INACTIVE_ANON) == 14
    assert all(p._count == 1 and p.flags & PG_lru and not p.flags & PG_active for p in pages)
    assert all(p.lru == LRU_INACTIVE_ANON for p in pages)
    # list_add puts each page at the head: the last drained is the newest
    assert list(k.zone.lru[LRU_INACTIVE_ANON]) == pages


def test_active_list_sets_pg_active_and_lru_add_drain_drains_a_partial_pagevec() -> None:
    k = make_kernel()
    page = anon_page(k)

    async def body() -> None:
        await swap.lru_cache_add_lru(k, page, LRU_ACTIVE_ANON)
        assert not page.flags & PG_lru
        await swap.lru_add_drain(k)

    run(k, body())
    assert page.flags & PG_lru and page.flags & PG_active
    assert page in k.zone.lru[LRU_ACTIVE_ANON] and page._count == 1


def test_lru_cache_add_lru_clears_a_stale_active_flag() -> None:
    k = make_kernel()
    page = anon_page(k)
    page.flags |= PG_active

    async def body() -> None:
        await swap.lru_cache_add_lru(k, page, LRU_INACTIVE_ANON)
        await swap.lru_add_drain(k)

    run(k, body())
    assert page in k.zone.lru[LRU_INACTIVE_ANON] and not page.flags & PG_active


def test_pagevecs_are_per_cpu_and_lru_add_drain_all_drains_every_cpu() -> None:
    k = make_kernel(ncpus=2)
    a, b = anon_page(k), anon_page(k)
    run(k, swap.lru_cache_add_anon(k, a), cpu=0)
    run(k, swap.lru_cache_add_anon(k, b), cpu=1)
    assert k.lru_add_pvecs[0][LRU_INACTIVE_ANON] == [a]
    assert k.lru_add_pvecs[1][LRU_INACTIVE_ANON] == [b]
    run(k, swap.lru_add_drain(k), cpu=0)
    assert a.flags & PG_lru and not b.flags & PG_lru
    run(k, swap.lru_add_drain_all(k), cpu=0)
    assert b.flags & PG_lru and b._count == 1


def test_release_pages_frees_the_last_ref_and_unlinks() -> None:
    k = make_kernel()
    a, b = anon_page(k), anon_page(k)

    async def body() -> None:
        await swap.lru_cache_add_anon(k, a)
        await swap.lru_cache_add_anon(k, b)
        await swap.lru_add_drain(k)

    run(k, body())
    b._count += 1
    free = page_alloc.nr_free_pages(k)
    run(k, swap.release_pages(k, [a, b]))
    assert page_alloc.nr_free_pages(k) == free + 1
    assert a.pfn not in k.pages and a not in k.zone.lru[LRU_INACTIVE_ANON]
    assert b._count == 1 and b in k.zone.lru[LRU_INACTIVE_ANON]


def test_activate_page_and_mark_page_accessed() -> None:
    k = make_kernel()
    page = anon_page(k)

    async def body() -> None:
        await swap.lru_cache_add_anon(k, page)
        await swap.lru_add_drain(k)
        await swap.mark_page_accessed(k, page)
        assert page.flags & PG_referenced and not page.flags & PG_active
        await swap.mark_page_accessed(k, page)

    run(k, body())
    assert page.flags & PG_active and not page.flags & PG_referenced
    assert page in k.zone.lru[LRU_ACTIVE_ANON]
    assert page not in k.zone.lru[LRU_INACTIVE_ANON]


def test_activate_page_leaves_pages_off_the_lru_alone() -> None:
    k = make_kernel()
    page = anon_page(k)
    run(k, swap.activate_page(k, page))
    assert not page.flags & PG_active


def test_unevictable_list_bypasses_the_pagevec() -> None:
    k = make_kernel()
    page = anon_page(k)
    run(k, swap.add_page_to_unevictable_list(k, page))
    assert page.flags & PG_unevictable and page.flags & PG_lru
    assert page in k.zone.lru[LRU_UNEVICTABLE] and page._count == 1
    page_alloc.put_page(k, page)
    assert page not in k.zone.lru[LRU_UNEVICTABLE]


def test_memcg_lru_link_only_for_charged_pages() -> None:
    """mm/memcontrol.c: mem_cgroup_add_lru_list() (from the pagevec drain) links a page to
    its memcg LRU only if PCG_USED; mem_cgroup_del_lru_list() does not look at USED."""
    k = make_kernel()
    task = new_task(k)
    assert task.mm is not None
    charged, uncharged = anon_page(k), anon_page(k)
    from swaplab.kernel import memcontrol

    async def body() -> None:
        assert await memcontrol.mem_cgroup_newpage_charge(k, charged, task.mm, GFP_KERNEL) == 0
        await swap.lru_cache_add_anon(k, charged)
        await swap.lru_cache_add_anon(k, uncharged)
        await swap.lru_add_drain(k)

    run(k, body(), task)
    mem = k.root_mem_cgroup
    assert mem is not None
    assert charged.page_cgroup.flags & PCG_USED
    assert charged.page_cgroup in mem.lists[LRU_INACTIVE_ANON]
    assert uncharged.page_cgroup not in mem.lists[LRU_INACTIVE_ANON]
    memcontrol.mem_cgroup_uncharge_page(k, charged)
    assert charged.page_cgroup in mem.lists[LRU_INACTIVE_ANON]  # stale until it leaves
    page_alloc.put_page(k, charged)
    assert charged.page_cgroup not in mem.lists[LRU_INACTIVE_ANON]
