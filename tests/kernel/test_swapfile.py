"""mm/swapfile.c model against the 2.6.30 and 2.6.31 sources: swapon, scan_swap_map(), the
swap_map counts (swap_entry_free(), swap_duplicate(), swapcache_prepare()),
free_swap_and_cache(), reuse_swap_page(), valid_swaphandles() and swapoff (try_to_unuse())."""

from __future__ import annotations

import pytest
from kernel_helpers import (
    cache_only_slots,
    delete_from_cache,
    make_kernel,
    mmap_anon,
    new_page,
    new_task,
    page_at,
    run,
    slot,
    swapped_page,
    touch,
)

from swaplab.explore.execution import Thread, run_to_completion
from swaplab.kernel import page_cgroup, swap_state, swapfile
from swaplab.kernel.errno import EEXIST, EINVAL, ENOENT, ENOMEM, KernelBug
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import Page
from swaplab.kernel.page_flags import PageSwapCache
from swaplab.kernel.swapfile import (
    SWAP_CACHE,
    SWAP_HAS_CACHE,
    SWAP_MAP,
    SWAP_MAP_BAD,
    SWAP_MAP_BAD_30,
    SWAP_MAP_MAX,
    SWAP_MAP_MAX_30,
    SWP_DISCARDABLE,
    SWP_DISCARDING,
    SWP_WRITEOK,
    swp_entry,
    swp_offset,
    swp_type,
)
from swaplab.kernel.sync import Current, __set_page_locked, unlock_page


def get_slot(k: Kernel) -> int:
    return int(run(k, swapfile.get_swap_page(k)))


def entry_free(k: Kernel, entry: int, cache: int = SWAP_MAP) -> int:
    return swapfile.swap_entry_free(k, k.swap_info[swp_type(entry)], entry, cache)


# --- entries and swapon --------------------------------------------------------------------


def test_swp_entry_round_trip() -> None:
    e = swp_entry(3, 12345)
    assert (swp_type(e), swp_offset(e)) == (3, 12345)
    assert swp_entry(1, 1) != swp_entry(0, 1)


@pytest.mark.parametrize(
    ("version", "bad"), [("2.6.30", SWAP_MAP_BAD_30), ("2.6.31", SWAP_MAP_BAD)]
)
def test_swapon_header_slot_is_bad_and_counts_good_pages(version: str, bad: int) -> None:
    k = make_kernel(version, memcg=False)
    t = swapfile.sys_swapon(k, 100)
    si = k.swap_info[t]
    assert t == 0
    assert si.swap_map[0] == bad
    assert (si.pages, si.max, si.lowest_bit, si.highest_bit) == (99, 100, 1, 99)
    assert (k.nr_swap_pages, k.total_swap_pages) == (99, 99)
    assert swapfile.si_swapinfo(k) == (99, 99)


def test_swapon_priority_list() -> None:
    k = make_kernel("2.6.31", memcg=False)
    a = swapfile.sys_swapon(k, 10)  # prio -1
    b = swapfile.sys_swapon(k, 10)  # prio -2
    c = swapfile.sys_swapon(k, 10, prio=5)
    assert [k.swap_info[t].prio for t in (a, b, c)] == [-1, -2, 5]
    order = []
    i = k.swap_list_head
    while i >= 0:
        order.append(i)
        i = k.swap_info[i].next
    assert order == [c, a, b]
    assert k.swap_list_next == c
    assert swp_type(get_slot(k)) == c


# --- scan_swap_map / get_swap_page ---------------------------------------------------------


@pytest.mark.parametrize(("version", "fresh"), [("2.6.30", 1), ("2.6.31", SWAP_HAS_CACHE)])
def test_get_swap_page_takes_slots_in_order(version: str, fresh: int) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    entries = [get_slot(k) for _ in range(9)]
    si = k.swap_info[0]
    assert [swp_offset(e) for e in entries] == list(range(1, 10))
    assert all(v == fresh for v in si.swap_map[1:])
    assert (si.inuse_pages, k.nr_swap_pages) == (9, 0)
    assert (si.lowest_bit, si.highest_bit) == (10, 0)  # full: lowest=max, highest=0
    assert get_slot(k) == 0
    assert k.nr_swap_pages == 0


def test_freed_slot_moves_lowest_and_highest_bit_and_is_found_again() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    entries = [get_slot(k) for _ in range(9)]
    run(k, swapfile.swapcache_free(k, entries[2], None))  # offset 3
    si = k.swap_info[0]
    assert (si.lowest_bit, si.highest_bit, k.nr_swap_pages) == (3, 3, 1)
    assert get_slot(k) == entries[2]


def test_cluster_search_prefers_an_empty_cluster_to_a_lone_free_slot() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 1024)
    entries = [get_slot(k) for _ in range(256)]
    si = k.swap_info[0]
    assert si.cluster_nr == 0
    run(k, swapfile.swapcache_free(k, entries[4], None))  # offset 5 free again
    assert si.lowest_bit == 5
    e = get_slot(k)
    assert swp_offset(e) == 257  # a new cluster, not offset 5
    assert (si.cluster_next, si.cluster_nr) == (258, 255)


def test_without_room_for_a_cluster_the_lone_free_slot_is_used() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 300)  # 299 pages: fewer than 256 free after 44 allocations
    entries = [get_slot(k) for _ in range(256)]
    run(k, swapfile.swapcache_free(k, entries[4], None))
    assert swp_offset(get_slot(k)) == 257  # cluster_next still inside the cluster run
    run(k, swapfile.swapcache_free(k, entries[9], None))
    si = k.swap_info[0]
    si.cluster_nr = 0  # the current cluster is used up
    si.cluster_next = 300  # beyond highest_bit: wrap to lowest_bit
    assert swp_offset(get_slot(k)) == 5


def _reuse_setup(version: str) -> tuple[Kernel, list[int]]:
    """7 slots all swap cache (unmapped pages), slots 2 and 5 freed, then slot 2 taken:
    cluster_next points at slot 3, a cache-only slot, and swap is more than half full."""
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 8)
    pages = [swapped_page(k) for _ in range(7)]
    for i in (1, 4):
        delete_from_cache(k, pages[i])
    assert swp_offset(get_slot(k)) == 2
    assert k.swap_info[0].cluster_next == 3
    assert swapfile.vm_swap_full(k)
    return k, [p.private for p in pages]


def test_2631_reuses_a_cache_only_slot_when_swap_is_full() -> None:
    k, entries = _reuse_setup("2.6.31")
    page3 = k.swapper_space.page_tree[entries[2]]
    e = get_slot(k)
    assert swp_offset(e) == 3
    assert not PageSwapCache(page3)  # __try_to_reclaim_swap dropped it from the cache
    assert slot(k, e) == SWAP_HAS_CACHE  # and the slot belongs to the new owner
    assert k.swap_info[0].inuse_pages == 6


def test_2630_scans_past_used_slots_to_a_free_one() -> None:
    k, entries = _reuse_setup("2.6.30")
    e = get_slot(k)
    assert swp_offset(e) == 5
    assert entries[2] in k.swapper_space.page_tree


def test_2631_does_not_reuse_when_swap_is_not_full() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 20)
    pages = [swapped_page(k) for _ in range(4)]
    k.swap_info[0].cluster_next = 2  # the allocator stands on a cache-only slot
    assert swp_offset(get_slot(k)) == 5
    assert not swapfile.vm_swap_full(k)
    assert all(PageSwapCache(p) for p in pages)


def test_2631_reuse_skips_a_locked_cache_page() -> None:
    k, entries = _reuse_setup("2.6.31")
    page3 = k.swapper_space.page_tree[entries[2]]
    page3.lock.take(99)  # someone else holds the page lock: trylock fails
    e = get_slot(k)
    assert swp_offset(e) == 4  # the scan stops at the next cache-only slot and reclaims it
    assert PageSwapCache(page3)


def test_vm_swap_full_threshold() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 101)  # 100 pages
    for _ in range(50):
        get_slot(k)
    assert k.nr_swap_pages == 50
    assert not swapfile.vm_swap_full(k)  # 50 * 2 < 100 is false
    get_slot(k)
    assert swapfile.vm_swap_full(k)  # 49 * 2 < 100


# --- swap_entry_free and friends -------------------------------------------------------------


def test_swap_entry_free_return_values_2630() -> None:
    k = make_kernel("2.6.30", memcg=False)
    swapfile.sys_swapon(k, 10)
    e = get_slot(k)  # 1: the cache's reference
    assert run(k, swapfile.swap_duplicate(k, e)) == 1
    assert run(k, swapfile.swap_duplicate(k, e)) == 1
    assert slot(k, e) == 3
    assert [entry_free(k, e) for _ in range(3)] == [2, 1, 0]
    assert (k.nr_swap_pages, k.swap_info[0].inuse_pages) == (9, 0)
    e = get_slot(k)
    k.swap_info[0].swap_map[swp_offset(e)] = SWAP_MAP_MAX_30
    assert entry_free(k, e) == SWAP_MAP_MAX_30  # saturated: permanent until swapoff


def test_swap_entry_free_return_values_2631() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    e = get_slot(k)
    assert slot(k, e) == SWAP_HAS_CACHE
    run(k, swapfile.swap_duplicate(k, e))
    run(k, swapfile.swap_duplicate(k, e))
    assert slot(k, e) == SWAP_HAS_CACHE | 2
    assert entry_free(k, e, SWAP_MAP) == SWAP_HAS_CACHE | 1
    assert entry_free(k, e, SWAP_MAP) == SWAP_HAS_CACHE  # count 0, cache bit left
    assert k.swap_info[0].inuse_pages == 1
    assert entry_free(k, e, SWAP_CACHE) == 0
    assert (k.nr_swap_pages, k.swap_info[0].inuse_pages) == (9, 0)
    # the cache reference first: the count remains
    e = get_slot(k)
    run(k, swapfile.swap_duplicate(k, e))
    assert entry_free(k, e, SWAP_CACHE) == 1
    assert entry_free(k, e, SWAP_MAP) == 0
    # saturated
    e = get_slot(k)
    k.swap_info[0].swap_map[swp_offset(e)] = SWAP_HAS_CACHE | SWAP_MAP_MAX
    assert entry_free(k, e, SWAP_MAP) == SWAP_HAS_CACHE | SWAP_MAP_MAX


def test_swap_entry_free_cache_drop_without_cache_bit_is_a_bug() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    e = get_slot(k)
    run(k, swapfile.swap_duplicate(k, e))
    entry_free(k, e, SWAP_CACHE)
    with pytest.raises(KernelBug):
        entry_free(k, e, SWAP_CACHE)


@pytest.mark.parametrize(
    ("version", "patches", "kept_at_cache_only"),
    [("2.6.30", None, True), ("2.6.30", "1,2", True), ("2.6.31", None, False)],
)
def test_swap_record_is_released_per_version(
    version: str, patches: str | None, kept_at_cache_only: bool
) -> None:
    """[30] and 2/5 alone: the memsw record goes when the slot's value reaches 0; 4/5: when
    the pte/shmem count reaches 0, although the cache still holds the slot."""
    k = make_kernel(version, patches, memcg=False)
    swapfile.sys_swapon(k, 10)
    e = get_slot(k)
    run(k, swapfile.swap_duplicate(k, e))
    page_cgroup.swap_cgroup_record(k, e, 7)
    entry_free(k, e, SWAP_MAP)  # the pte's reference goes; the cache's remains
    assert (page_cgroup.lookup_swap_cgroup(k, e) == 7) == kept_at_cache_only
    entry_free(k, e, SWAP_CACHE)
    assert page_cgroup.lookup_swap_cgroup(k, e) == 0


def test_swap_free_of_a_bad_entry_changes_nothing() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    run(k, swapfile.swap_free(k, swp_entry(5, 4)))  # no area 5: "Bad swap file entry"
    assert k.swap_info[0].swap_map[4] == 0
    assert k.nr_swap_pages == 9


def _freed_slot(kernel: str) -> tuple[Kernel, int]:
    """A kernel with one swap entry that was taken and freed again."""
    k = make_kernel(kernel, memcg=False)
    swapfile.sys_swapon(k, 10)
    e = get_slot(k)
    run(k, swapfile.swap_free(k, e) if kernel == "2.6.30"
        else swapfile.swapcache_free(k, e, None))
    assert k.swap_info[0].swap_map[swp_offset(e)] == 0
    return k, e


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_a_stale_swap_entry_is_a_use_after_free(kernel: str) -> None:
    """swap_free() or free_swap_and_cache() of an entry whose slot went back to the free
    pool: C prints "Unused swap offset entry"; the model names the stale entry and stops,
    as for a freed page."""
    k, e = _freed_slot(kernel)
    with pytest.raises(KernelBug, match=f"use-after-free: swap entry {e:08x} .*Unused swap "
                                        "offset entry.*swap_entry_free"):
        run(k, swapfile.swap_free(k, e))
    k, e = _freed_slot(kernel)
    with pytest.raises(KernelBug, match="use-after-free: swap entry"):
        run(k, swapfile.free_swap_and_cache(k, e))


def test_swapcache_prepare_2631() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    assert run(k, swapfile.swapcache_prepare(k, swp_entry(0, 4))) == -ENOENT
    e = get_slot(k)
    assert run(k, swapfile.swapcache_prepare(k, e)) == -EEXIST  # get_swap_page set the bit
    run(k, swapfile.swap_duplicate(k, e))
    run(k, swapfile.swapcache_free(k, e, None))
    assert slot(k, e) == 1  # swapped out, no cache
    assert run(k, swapfile.swapcache_prepare(k, e)) == 0
    assert slot(k, e) == SWAP_HAS_CACHE | 1
    assert run(k, swapfile.swapcache_prepare(k, e)) == -EEXIST
    assert run(k, swapfile.swapcache_prepare(k, swp_entry(4, 1))) == -EINVAL


def test_swapcache_prepare_2630_is_swap_duplicate() -> None:
    k = make_kernel("2.6.30", "1", memcg=False)
    swapfile.sys_swapon(k, 10)
    assert run(k, swapfile.swapcache_prepare(k, swp_entry(0, 4))) == -ENOENT
    e = get_slot(k)
    assert run(k, swapfile.swapcache_prepare(k, e)) == 0
    assert slot(k, e) == 2


def test_swap_duplicate_per_version() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    e = get_slot(k)
    assert run(k, swapfile.swap_duplicate(k, e)) == 0
    assert slot(k, e) == SWAP_HAS_CACHE | 1  # a cache-only slot gets its pte reference back
    assert run(k, swapfile.swap_duplicate(k, swp_entry(0, 5))) == -ENOENT
    k.swap_info[0].swap_map[swp_offset(e)] = SWAP_HAS_CACHE | (SWAP_MAP_MAX - 1)
    run(k, swapfile.swap_duplicate(k, e))
    assert slot(k, e) == SWAP_HAS_CACHE | SWAP_MAP_MAX
    k30 = make_kernel("2.6.30", memcg=False)
    swapfile.sys_swapon(k30, 10)
    assert run(k30, swapfile.swap_duplicate(k30, swp_entry(0, 5))) == 0
    assert run(k30, swapfile.swap_duplicate(k30, swp_entry(0, 0))) == 0  # the header: BAD


# --- page_swapcount, try_to_free_swap, free_swap_and_cache ----------------------------------


def test_page_swapcount_counts_pte_references(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    assert run(k, swapfile.page_swapcount(k, page)) == 0
    run(k, swapfile.swap_duplicate(k, page.private))
    assert run(k, swapfile.page_swapcount(k, page)) == 1


def test_try_to_free_swap(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    e = page.private
    run(k, swapfile.swap_duplicate(k, e))

    async def attempt() -> int:
        __set_page_locked(k, page)
        ret = await swapfile.try_to_free_swap(k, page)
        unlock_page(page)
        return ret

    assert run(k, attempt()) == 0  # a pte still references the slot
    run(k, swapfile.swap_free(k, e))
    assert run(k, attempt()) == 1
    assert not PageSwapCache(page)
    assert slot(k, e) == 0
    assert page._count == 1
    assert k.swapper_space.nrpages == 0


def test_free_swap_and_cache_drops_an_unmapped_cache_page(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    e = page.private
    run(k, swapfile.swap_duplicate(k, e))  # the pte's reference
    assert run(k, swapfile.free_swap_and_cache(k, e)) == 1
    assert not PageSwapCache(page)
    assert slot(k, e) == 0
    assert k.nr_swap_pages == 9


@pytest.mark.parametrize(("version", "left"), [("2.6.30", 1), ("2.6.31", SWAP_HAS_CACHE)])
def test_free_swap_and_cache_leaves_a_locked_page_behind(version: str, left: int) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    e = page.private
    run(k, swapfile.swap_duplicate(k, e))
    page.lock.take(99)  # e.g. reclaim holds it: trylock_page fails
    assert run(k, swapfile.free_swap_and_cache(k, e)) == 1
    assert PageSwapCache(page)
    assert slot(k, e) == left  # a cache-only slot nobody maps


def test_reuse_swap_page(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    e = page.private
    run(k, swapfile.swap_duplicate(k, e))
    run(k, swapfile.swap_duplicate(k, e))  # two ptes reference the slot

    async def reuse() -> bool:
        __set_page_locked(k, page)
        ret = await swapfile.reuse_swap_page(k, page)
        unlock_page(page)
        return ret

    assert run(k, reuse()) is False
    run(k, swapfile.swap_free(k, e))
    assert run(k, reuse()) is True  # the only user: swap freed, page dirty
    assert not PageSwapCache(page)
    assert slot(k, e) == 1  # the pte's reference remains


# --- readahead window ------------------------------------------------------------------------


def _in_use(k: Kernel, offsets: range, value: int = 1) -> None:
    si = k.swap_info[0]
    for off in offsets:
        si.swap_map[off] = value


def test_valid_swaphandles_aligned_window(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 64)
    _in_use(k, range(1, 40))
    k.page_cluster = 3
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(0, 10))) == (8, 8)
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(0, 3))) == (7, 1)  # never slot 0
    k.page_cluster = 2
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(0, 10))) == (4, 8)
    k.page_cluster = 0
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(0, 10))) == (0, 0)


def test_valid_swaphandles_stops_at_free_and_bad_slots_and_at_max(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 12)
    _in_use(k, range(1, 12))
    k.page_cluster = 3
    si = k.swap_info[0]
    si.swap_map[12 - 1] = 1
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(0, 9))) == (4, 8)  # end = max
    si.swap_map[10] = 0
    si.swap_map[8] = swapfile.swap_map_bad(k)
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(0, 9)))[0] == 0  # only the target
    si.swap_map[10] = 1
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(0, 9))) == (3, 9)


def test_valid_swaphandles_after_swapoff_dereferences_the_freed_map(version: str) -> None:
    """sys_swapoff() sets max to 0 and swap_map to NULL; valid_swaphandles() clamps its
    window's end to max (nothing above the target is read) but reads the slots below the
    target from base on: a NULL dereference, unless the target opens its window."""
    k = make_kernel(version, memcg=False)
    t = swapfile.sys_swapon(k, 12)
    k.page_cluster = 2
    assert run(k, swapfile.sys_swapoff(k, t)) == 0
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(t, 4))) == (0, 4)  # no read
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(t, 1))) == (0, 1)  # base 1
    with pytest.raises(KernelBug, match="NULL pointer dereference: valid_swaphandles"):
        run(k, swapfile.valid_swaphandles(k, swp_entry(t, 6)))  # window 4..7: reads 5


def test_valid_swaphandles_counts_a_cache_only_slot_in_2631() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 64)
    _in_use(k, range(8, 16))
    k.swap_info[0].swap_map[12] = SWAP_HAS_CACHE
    k.page_cluster = 3
    assert run(k, swapfile.valid_swaphandles(k, swp_entry(0, 10))) == (8, 8)


# --- RFC 3/5 --------------------------------------------------------------------------------


def test_cache_only_counter_follows_the_slots() -> None:
    k = make_kernel("rfc-2009-05-26", memcg=False)
    swapfile.sys_swapon(k, 20)

    def check(expected: int) -> None:
        assert cache_only_slots(k) == expected
        assert k.nr_cache_only_swaps == expected
        assert k.swap_info[0].cache_only == expected

    pages = [swapped_page(k) for _ in range(3)]  # three cache-only slots
    check(3)
    for p in pages:
        run(k, swapfile.swap_duplicate(k, p.private))  # mapped again by a pte
    check(0)
    pages[0].lock.take(99)
    run(k, swapfile.free_swap_and_cache(k, pages[0].private))  # cache page stays
    check(1)
    pages[0].lock.release()
    run(k, swapfile.swap_free(k, pages[1].private))  # count -> 0, cache bit left
    check(2)
    run(k, swapfile.free_swap_and_cache(k, pages[2].private))  # page dropped: slot free
    check(2)
    delete_from_cache(k, pages[0])
    check(1)
    e = get_slot(k)
    check(2)
    run(k, swapfile.swapcache_free(k, e, None))
    check(1)
    assert "Cache only swap = 4kB" in swap_state.show_swap_cache_info(k)


# --- swapoff --------------------------------------------------------------------------------


def test_swapoff_of_swap_cache_only_area(version: str) -> None:
    k = make_kernel(version, memcg=False)
    t = swapfile.sys_swapon(k, 10)
    pages = [swapped_page(k) for _ in range(3)]
    assert k.nr_swap_pages == 6
    assert run(k, swapfile.sys_swapoff(k, t)) == 0
    assert all(not PageSwapCache(p) for p in pages)
    assert (k.nr_swap_pages, k.total_swap_pages, k.swapper_space.nrpages) == (0, 0, 0)
    assert k.swap_info[t].flags == 0
    assert k.swap_list_head == -1
    assert run(k, swapfile.sys_swapoff(k, t)) == -EINVAL
    assert run(k, swapfile.get_swap_page(k)) == 0
    assert swapfile.sys_swapon(k, 5) == t  # the type is free again
    assert k.swap_info[t].flags & SWP_WRITEOK


@pytest.mark.parametrize("version", ["2.6.30", "2.6.31"])
def test_swapoff_goes_round_again_as_a_busy_retry(version: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """try_to_unuse(): a slot holding a reference no mm maps (another thread's, in
    flight) is still in use after its turn, so the next pass finds it again. That pass is
    a busy retry; once the other thread has dropped its reference the slot is gone and
    swapoff ends."""
    from swaplab.explore.ops import Op, OpKind, trap

    k = make_kernel(version, memcg=False)
    t = swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    entry = page.private
    run(k, swapfile.swap_duplicate(k, entry))  # the reference in flight
    retries: list[str] = []
    real_retry = swapfile.busy_retry

    async def counted(k: Kernel, site: str, sleeps: bool = False) -> None:
        retries.append(site)
        await real_retry(k, site, sleeps)

    monkeypatch.setattr(swapfile, "busy_retry", counted)

    async def holder() -> None:
        await trap(Op(OpKind.WAIT, None, "holder", cond=lambda: bool(retries)))
        await swapfile.swap_free(k, entry)  # once swapoff has gone round

    off = k.execution.spawn("swapoff", swapfile.sys_swapoff(k, t), Current(None, 0))
    k.execution.spawn("holder", holder(), Current(None, 1))
    run_to_completion(k.execution, max_steps=100_000)
    assert off.result == 0
    assert retries == ["try_to_unuse: slot still in use"]
    assert (k.nr_swap_pages, k.total_swap_pages, k.swapper_space.nrpages) == (0, 0, 0)


def test_swapoff_keeps_other_areas_and_renumbers_priorities() -> None:
    k = make_kernel("2.6.31", memcg=False)
    a = swapfile.sys_swapon(k, 10)
    b = swapfile.sys_swapon(k, 10)
    assert run(k, swapfile.sys_swapoff(k, a)) == 0
    assert k.swap_info[b].prio == -1
    assert k.least_priority == -1
    assert (k.nr_swap_pages, k.total_swap_pages) == (9, 9)
    assert swp_type(get_slot(k)) == b


def test_new_page_helper_is_unlocked() -> None:
    k = make_kernel("2.6.31", memcg=False)
    assert new_page(k).lock.holder is None


def test_swapoff_maps_swapped_out_pages_back_and_charges_them(version: str) -> None:
    from swaplab.kernel import page_io, rmap
    from swaplab.kernel.mm_types import PAGE_SHIFT, PAGE_SIZE, page_mapcount
    from swaplab.kernel.sync import lock_page

    k = make_kernel(version)
    swapfile.sys_swapon(k, 64)
    task = new_task(k)
    addr = mmap_anon(k, task, 2)
    touch(k, task, addr, 2)
    pages = [page_at(task, addr), page_at(task, addr + PAGE_SIZE)]
    assert task.mm is not None
    for i in range(2):
        task.mm.ptes[(addr >> PAGE_SHIFT) + i].young = False  # aged: not referenced

    async def swap_out(page: Page) -> None:
        await lock_page(k, page)
        assert await swap_state.add_to_swap(k, page) == 1
        assert await rmap.try_to_unmap(k, page, 0) == rmap.SWAP_SUCCESS
        await page_io.swap_writepage(k, page)  # unlocks; the write completes later

    for page in pages:
        run(k, swap_out(page))
    entries = [task.mm.ptes[(addr >> PAGE_SHIFT) + i].swp for i in range(2)]
    assert all(entries)
    delete_from_cache(k, pages[0])  # the first is only on "disk" now
    mem = k.root_mem_cgroup
    assert mem is not None
    assert (mem.res.usage, mem.memsw.usage) == (PAGE_SIZE, 2 * PAGE_SIZE)
    assert page_cgroup.lookup_swap_cgroup(k, entries[0]) == mem.css_id

    assert run(k, swapfile.sys_swapoff(k, 0)) == 0
    ptes = [task.mm.ptes[(addr >> PAGE_SHIFT) + i] for i in range(2)]
    assert all(p.present() and p.swp == 0 for p in ptes)
    assert ptes[1].page is pages[1]  # the swap-cache page itself is mapped again
    assert all(p.page is not None and page_mapcount(p.page) == 1 for p in ptes)
    assert all(p.page is not None and not PageSwapCache(p.page) for p in ptes)
    assert (mem.res.usage, mem.memsw.usage) == (2 * PAGE_SIZE, 2 * PAGE_SIZE)
    assert k.swap_cgroup == {}
    assert (k.nr_swap_pages, k.total_swap_pages, k.swapper_space.nrpages) == (0, 0, 0)
    assert task.mm.anon_rss == 2


def test_rfc_cache_only_gc_frees_cache_only_slots_when_swap_is_full() -> None:
    k = make_kernel("rfc-2009-05-26", cache_only_gc_threshold=2, memcg=False)
    swapfile.sys_swapon(k, 10)  # 9 pages
    pages = [swapped_page(k) for _ in range(4)]  # 5 free: not full, no GC
    assert all(PageSwapCache(p) for p in pages)
    assert k.nr_cache_only_swaps == 4
    pages.append(swapped_page(k))  # 4 free: full, and 5 cache-only > 2
    assert not any(PageSwapCache(p) for p in pages)
    assert (k.nr_cache_only_swaps, cache_only_slots(k), k.nr_swap_pages) == (0, 0, 9)
    assert not k.cache_only_gc_pending


def test_rfc_cache_only_gc_keeps_slots_that_ptes_reference() -> None:
    k = make_kernel("rfc-2009-05-26", cache_only_gc_threshold=2, memcg=False)
    swapfile.sys_swapon(k, 10)
    pages = [swapped_page(k) for _ in range(4)]
    run(k, swapfile.swap_duplicate(k, pages[0].private))  # mapped by a pte again
    pages.append(swapped_page(k))  # 4 free: full, 4 cache-only > 2
    assert PageSwapCache(pages[0])
    assert [PageSwapCache(p) for p in pages[1:]] == [False] * 4
    assert k.nr_cache_only_swaps == 0
    assert k.nr_swap_pages == 8
    pages.append(swapped_page(k))  # no longer full: no GC
    assert PageSwapCache(pages[5])


def test_swapoff_that_cannot_charge_reenables_the_area(version: str) -> None:
    from swaplab.kernel import rmap
    from swaplab.kernel.mm_types import PAGE_SHIFT
    from swaplab.kernel.sync import lock_page

    k = make_kernel(version)
    swapfile.sys_swapon(k, 64)
    task = new_task(k)
    addr = mmap_anon(k, task, 1)
    touch(k, task, addr)
    page = page_at(task, addr)
    assert task.mm is not None
    task.mm.ptes[addr >> PAGE_SHIFT].young = False

    async def swap_out() -> None:
        await lock_page(k, page)
        assert await swap_state.add_to_swap(k, page) == 1
        assert await rmap.try_to_unmap(k, page, 0) == rmap.SWAP_SUCCESS
        unlock_page(page)

    run(k, swap_out())
    delete_from_cache(k, page)
    mem = k.root_mem_cgroup
    assert mem is not None and mem.res.usage == 0
    mem.res.limit = 0  # no charge can succeed
    assert run(k, swapfile.sys_swapoff(k, 0)) == -ENOMEM
    si = k.swap_info[0]
    assert si.flags & SWP_WRITEOK  # back on swap_list, usable again
    assert (k.total_swap_pages, k.swap_list_head, k.swap_list_next) == (63, 0, 0)
    # unuse_pte's charge ran into the memcg OOM killer: the task died and its exit
    # dropped the slot's last reference
    assert task.state == "killed"
    assert k.nr_swap_pages == 63
    assert si.inuse_pages == 0


# --- discard (SWP_DISCARDABLE) ---------------------------------------------------------------

DISCARD_SLEEP = "discard_swap_cluster: blkdev_issue_discard"
BIT_WAIT = "scan_swap_map: wait_on_bit(SWP_DISCARDING)"


def _to_op(k: Kernel, thread: Thread, site: str) -> None:
    """Step ``thread`` until its next operation is at ``site``."""
    while thread.pending is not None and thread.pending.site != site:
        assert thread.pending.enabled(), f"{thread!r} asleep at {thread.pending.site}"
        k.execution.step(thread)
    assert thread.pending is not None, f"{thread!r} never reached {site}"


def _allocator(k: Kernel, name: str) -> Thread:
    return k.execution.spawn(name, swapfile.get_swap_page(k), Current(None, 0))


def test_swapon_discard_makes_the_area_discardable() -> None:
    k = make_kernel("2.6.31", memcg=False)
    plain = swapfile.sys_swapon(k, 300)
    ssd = swapfile.sys_swapon(k, 300, discard=True)
    assert not k.swap_info[plain].flags & SWP_DISCARDABLE
    assert k.swap_info[ssd].flags & SWP_DISCARDABLE


@pytest.mark.parametrize("version", ["2.6.30", "2.6.31"])
def test_a_new_cluster_is_discarded_with_the_slot_taken_and_swap_lock_dropped(
        version: str) -> None:
    """mm/swapfile.c: scan_swap_map(): the slot is allocated ([31]: SWAP_HAS_CACHE set)
    before the task sleeps in discard_swap_cluster() with SWP_DISCARDING set and swap_lock
    free; then it clears the bit. A plain area never sleeps there."""
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 300, discard=True)
    si = k.swap_info[0]
    a = _allocator(k, "A")
    _to_op(k, a, DISCARD_SLEEP)
    assert si.flags & SWP_DISCARDING and k.swap_lock.holder is None
    assert si.swap_map[1] == (SWAP_HAS_CACHE if version == "2.6.31" else 1)
    assert not a.pending.enabled()  # asleep until the block layer hands over the request
    run_to_completion(k.execution)
    assert a.result == swp_entry(0, 1)
    assert not si.flags & SWP_DISCARDING and si.lowest_alloc == 0
    k2 = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k2, 300)
    b = _allocator(k2, "B")
    while b.pending is not None:
        assert b.pending.site != DISCARD_SLEEP
        k2.execution.step(b)
    assert b.result == swp_entry(0, 1)


def test_a_racing_allocator_waits_on_the_discarding_bit() -> None:
    """A task that takes a slot while the discard runs sleeps in
    wait_on_bit(SWP_DISCARDING) until the discarder has cleared it (then wake_up_bit())."""
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 300, discard=True)
    si = k.swap_info[0]
    a, b = _allocator(k, "A"), _allocator(k, "B")
    _to_op(k, a, DISCARD_SLEEP)
    _to_op(k, b, BIT_WAIT)
    assert si.swap_map[2] == SWAP_HAS_CACHE  # B's slot, taken before it sleeps
    assert not b.pending.enabled()
    (blk,) = [t for t in k.execution.threads if t.name.startswith("blk request")]
    k.execution.step(blk)  # the block layer hands A its request
    _to_op(k, a, "scan_swap_map")  # A retakes swap_lock to clear the bit
    assert not b.pending.enabled()
    k.execution.step(a)
    assert b.pending.enabled()
    run_to_completion(k.execution)
    assert (a.result, b.result) == (swp_entry(0, 1), swp_entry(0, 2))


@pytest.mark.parametrize("version", ["2.6.30", "2.6.31"])
def test_an_allocation_racing_a_free_cluster_search_takes_the_next_slot(version: str) -> None:
    """mm/swapfile.c: scan_swap_map(): ``if (unlikely(!si->cluster_nr--))`` on an unsigned
    int. The task whose cluster ran out wraps cluster_nr and searches for a free cluster
    without swap_lock; a task allocating meanwhile sees a huge cluster_nr, does not search
    too, and takes the slot at cluster_next. Then the searcher resets cluster_nr."""
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 300)
    si = k.swap_info[0]
    a, b = _allocator(k, "A"), _allocator(k, "B")
    _to_op(k, a, "scan_swap_map: free cluster search")
    assert k.swap_lock.holder is None and si.cluster_nr == (1 << 32) - 1
    while b.pending is not None:  # B runs to the end while A is in its search
        assert b.pending.site != "scan_swap_map: free cluster search"
        k.execution.step(b)
    assert b.result == swp_entry(0, 1) and si.cluster_nr == (1 << 32) - 2
    run_to_completion(k.execution)
    assert a.result == swp_entry(0, 2)
    assert si.cluster_nr == swapfile.SWAPFILE_CLUSTER - 1
