"""mm/swapfile.c (2.6.30, 2.6.31, the RFC of 2009-05-26): swap areas and swap_map.

Swap entries are plain ints: ``swp_entry(type, offset)``, 0 = no entry (slot 0 of every area
is the header, so no real entry is 0). ``swap_map`` keeps each version's encoding
(include/linux/swap.h: SWAP_MAP_MAX, SWAP_HAS_CACHE): without ``swap_has_cache`` (2.6.30) a
plain count in which the swap cache holds one reference; with it (2/5, 2.6.31) a 15-bit
count of pte/shmem references plus the SWAP_HAS_CACHE bit.

Discard: an area whose device supports it (``sys_swapon(..., discard=True)``) is
SWP_DISCARDABLE, and scan_swap_map() discards each new free cluster before handing out its
first slot, sleeping in the I/O while racing allocators wait for it (:func:`scan_swap_map`).

Left out: swap files and block devices (an area is a size), extents, SSD placement,
hibernation (get_swap_page_of_type), migration entries, swapon's header parsing and bad
blocks (only slot 0 is bad), the swap token, printk (the kernel's error messages become
trace events) and swapon_mutex. unuse_mm() takes mmap_sem as in C. The RFC 3/5 counter
(``si.cache_only``, ``k.nr_cache_only_swaps``) and the 5/5 garbage collector are modelled
as posted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import memcontrol, page_alloc, page_cgroup, rmap, swap, swap_state
from swaplab.kernel.errno import EEXIST, EINTR, EINVAL, ENOENT, ENOMEM, VM_BUG_ON, KernelBug
from swaplab.kernel.gfp import GFP_HIGHUSER_MOVABLE, GFP_KERNEL
from swaplab.kernel.mm_types import PAGE_SHIFT, AnonVma, Pte, get_page, page_mapcount, page_mapped
from swaplab.kernel.page_flags import (
    PageDirty,
    PageLocked,
    PageSwapCache,
    PageWriteback,
    SetPageDirty,
)
from swaplab.kernel.sync import (
    Current,
    busy_retry,
    cond_resched,
    current,
    down_read,
    down_read_trylock,
    io_schedule,
    kthread_run,
    lock_page,
    plain_read,
    plain_write,
    shared_read,
    spin_lock,
    spin_lock_held,
    spin_unlock,
    trace,
    trylock_page,
    unlock_page,
    up_read,
    wait_on_bit,
    wait_on_page_locked,
    wait_on_page_writeback,
    wake_up_bit,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import MmStruct, Page, VmAreaStruct

# swp_entry_t: type in the high bits, offset in the low ones (an arch-independent stand-in).
SWP_TYPE_SHIFT = 24
SWP_OFFSET_MASK = (1 << SWP_TYPE_SHIFT) - 1

# si->flags
SWP_USED = 1
SWP_WRITEOK = 2
SWP_DISCARDABLE = 4  # the device supports discard
SWP_DISCARDING = 8  # scan_swap_map() is discarding a free cluster
SWP_SCANNING = 256
#: si->cluster_nr is an unsigned int: decrementing 0 wraps. So while one task searches for
#: a free cluster without swap_lock, a racing scan_swap_map() sees a huge cluster_nr and
#: takes the next slot of the current cluster instead of starting a search of its own.
CLUSTER_NR_WRAP = 1 << 32

SWAPFILE_CLUSTER = 256
LATENCY_LIMIT = 256

# swap_map values, 2.6.31 (include/linux/swap.h after 2/5) ...
SWAP_MAP_MAX = 0x7FFE
SWAP_MAP_BAD = 0x7FFF
SWAP_HAS_CACHE = 0x8000
SWAP_COUNT_MASK = 0x7FFF  # ~SWAP_HAS_CACHE as an unsigned short
# ... and 2.6.30
SWAP_MAP_MAX_30 = 0x7FFF
SWAP_MAP_BAD_30 = 0x8000

# the internal enum of 2/5: which reference an operation is on
SWAP_MAP = 0
SWAP_CACHE = 1

#: 5/5 (RFC): entries scanned per area per GC round, offsets collected per round.
GC_SCAN_ENTRIES = 2048
GC_BATCH = 32


def swp_entry(type: int, offset: int) -> int:
    """include/linux/swapops.h: swp_entry()."""
    return (type << SWP_TYPE_SHIFT) | offset


def swp_type(entry: int) -> int:
    """include/linux/swapops.h: swp_type()."""
    return entry >> SWP_TYPE_SHIFT


def swp_offset(entry: int) -> int:
    """include/linux/swapops.h: swp_offset()."""
    return entry & SWP_OFFSET_MASK


def swap_count(v: int) -> int:
    """mm/swapfile.c: swap_count() [31]: the pte/shmem references of a swap_map value."""
    return v & SWAP_COUNT_MASK


def swap_has_cache(v: int) -> bool:
    """mm/swapfile.c: swap_has_cache() [31]."""
    return bool(v & SWAP_HAS_CACHE)


def encode_swapmap(count: int, has_cache: bool) -> int:
    """mm/swapfile.c: encode_swapmap() [31]; truncated to unsigned short as in C."""
    value = count & 0xFFFF
    return (value | SWAP_HAS_CACHE) if has_cache else value


def swap_map_count(k: Kernel, v: int) -> int:
    """A swap_map value's count as the running version compares it with SWAP_MAP_MAX and
    SWAP_MAP_BAD: [31] swap_count() (mm/swapfile.c 2.6.31: valid_swaphandles(),
    find_next_to_unuse(), try_to_unuse()), [30] the whole unsigned short."""
    return swap_count(v) if k.cfg.swap_has_cache else v & 0xFFFF


def swap_map_max(k: Kernel) -> int:
    """SWAP_MAP_MAX of the running version."""
    return SWAP_MAP_MAX if k.cfg.swap_has_cache else SWAP_MAP_MAX_30


def swap_map_bad(k: Kernel) -> int:
    """SWAP_MAP_BAD of the running version."""
    return SWAP_MAP_BAD if k.cfg.swap_has_cache else SWAP_MAP_BAD_30


class SwapInfoStruct:
    """struct swap_info_struct, reduced to what the slot allocator reads.

    ``cache_only`` is the RFC 3/5 per-area count of slots whose value is exactly
    SWAP_HAS_CACHE; ``gc_cursor`` the RFC 5/5 per-area scan position. ``data`` stands for
    the device's contents: the stamp (Page.data) each slot was last written with by
    swap_writepage(), read back by swap_readpage(); a slot never written reads as zeroes.
    ``lowest_alloc``/``highest_alloc``: the discard bookkeeping of scan_swap_map() (the
    slots racing tasks took while a free cluster was searched for and discarded).
    """

    __slots__ = (
        "cache_only",
        "cluster_next",
        "cluster_nr",
        "data",
        "flags",
        "gc_cursor",
        "highest_alloc",
        "highest_bit",
        "inuse_pages",
        "lowest_alloc",
        "lowest_bit",
        "max",
        "next",
        "pages",
        "prio",
        "swap_map",
        "type",
    )

    def __init__(self, type: int, max: int, prio: int) -> None:
        self.type = type
        self.flags = 0
        self.prio = prio
        self.next = -1
        self.max = max
        self.pages = max - 1
        self.swap_map: list[int] = [0] * max
        self.lowest_bit = 1
        self.highest_bit = max - 1
        self.cluster_next = 1
        self.cluster_nr = 0
        self.inuse_pages = 0
        self.cache_only = 0
        self.gc_cursor = 1
        self.data: dict[int, int] = {}
        self.lowest_alloc = 0
        self.highest_alloc = 0

    @property
    def stable_key(self) -> int:
        """The explorer's name of this area in every run (ops.stable_name): its type."""
        return self.type

    def __repr__(self) -> str:
        return f"swap{self.type}(prio={self.prio}, inuse={self.inuse_pages}/{self.pages})"


def vm_swap_full(k: Kernel) -> bool:
    """include/linux/swap.h: vm_swap_full(): more than half of the swap space is in use
    (nr_swap_pages is read without swap_lock, as in C)."""
    return k.nr_swap_pages * 2 < k.total_swap_pages


def si_swapinfo(k: Kernel) -> tuple[int, int]:
    """mm/swapfile.c: si_swapinfo(): (freeswap, totalswap) in pages for /proc/meminfo; an
    area being swapped off counts its in-use pages in both. Plain: the model reads it
    between steps, so swap_lock is not taken."""
    to_be_unused = 0
    for si in k.swap_info:
        if si.flags & SWP_USED and not si.flags & SWP_WRITEOK:
            to_be_unused += si.inuse_pages
    return k.nr_swap_pages + to_be_unused, k.total_swap_pages + to_be_unused


def _cache_only_inc(k: Kernel, si: SwapInfoStruct, n: int) -> None:
    """RFC 3/5: count a slot becoming (n=1) or ceasing to be (n=-1) cache-only."""
    if k.cfg.count_cache_only:
        si.cache_only += n
        k.nr_cache_only_swaps += n


# --- swapon ------------------------------------------------------------------------------


def sys_swapon(k: Kernel, pages: int, prio: int = -1, discard: bool = False) -> int:
    """mm/swapfile.c: sys_swapon(): add a swap area of ``pages`` pages (header included:
    ``pages - 1`` usable slots) and return its type. ``prio`` >= 0 is SWAP_FLAG_PREFER,
    otherwise the area gets ``--least_priority``. No file, no header parsing, no bad
    blocks besides the header slot; not an interleaving point (setup).

    ``discard``: the device supports discard, as an SSD does. 2.6.30/2.6.31 have no
    swapon flag for it: sys_swapon() calls discard_swap() on the whole area and sets
    SWP_DISCARDABLE when that succeeds, i.e. when the device supports discard (the
    SWAP_FLAG_DISCARD option came in 2.6.36). That whole-area discard is setup here: every
    slot reads as zeroes afterwards."""
    if pages < 2:
        return -EINVAL
    type = 0
    while type < len(k.swap_info) and k.swap_info[type].flags & SWP_USED:
        type += 1
    if prio < 0:
        k.least_priority -= 1
        prio = k.least_priority
    si = SwapInfoStruct(type, pages, prio)
    if type < len(k.swap_info):
        k.swap_info[type] = si
    else:
        k.swap_info.append(si)
    si.flags = SWP_USED
    si.swap_map[0] = swap_map_bad(k)
    if discard:  # discard_swap(p) == 0
        si.flags |= SWP_DISCARDABLE
    page_cgroup.swap_cgroup_swapon(k, type, pages)
    si.flags |= SWP_WRITEOK
    k.nr_swap_pages += si.pages
    k.total_swap_pages += si.pages
    _swap_list_insert(k, si)
    trace(k, "sys_swapon()", f"type {type}, {si.pages} pages, prio {prio}"
          + (", discard" if discard else ""))
    return type


def _swap_list_insert(k: Kernel, si: SwapInfoStruct) -> None:
    """The priority-ordered insert of sys_swapon() (and of sys_swapoff()'s failure path)."""
    prev = -1
    i = k.swap_list_head
    while i >= 0:
        if si.prio >= k.swap_info[i].prio:
            break
        prev = i
        i = k.swap_info[i].next
    si.next = i
    if prev < 0:
        k.swap_list_head = k.swap_list_next = si.type
    else:
        k.swap_info[prev].next = si.type


# --- allocation --------------------------------------------------------------------------


class _Latency:
    """scan_swap_map()'s latency_ration: cond_resched() every LATENCY_LIMIT entries."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = LATENCY_LIMIT

    async def tick(self, k: Kernel) -> None:
        self.left -= 1
        if self.left < 0:
            await cond_resched(k, "scan_swap_map")
            self.left = LATENCY_LIMIT


async def _find_free_cluster(
    k: Kernel, si: SwapInfoStruct, scan_base: int, lat: _Latency
) -> int:
    """The free-cluster search of scan_swap_map(), run without swap_lock (caller dropped
    it): the first SWAPFILE_CLUSTER zero entries in a row from lowest_bit up to
    highest_bit, then below scan_base. Returns the cluster's first offset, or 0. A
    cache-only slot is non-zero, so it breaks a cluster."""
    await shared_read(k, k.swap_lock, "scan_swap_map: free cluster search")
    for start, below in ((si.lowest_bit, False), (si.lowest_bit, True)):
        offset = start
        last_in_cluster = offset + SWAPFILE_CLUSTER - 1
        while (last_in_cluster < scan_base) if below else (last_in_cluster <= si.highest_bit):
            if si.swap_map[offset]:
                last_in_cluster = offset + SWAPFILE_CLUSTER
            elif offset == last_in_cluster:
                return offset - (SWAPFILE_CLUSTER - 1)
            await lat.tick(k)
            offset += 1
    return 0


def _reusable(k: Kernel, v: int) -> bool:
    """reuse: a cache-only slot scan_swap_map() may take back while vm_swap_full()."""
    return k.cfg.reuse_cache_only and v == SWAP_HAS_CACHE and vm_swap_full(k)


async def _scan_for_slot(
    k: Kernel, si: SwapInfoStruct, offset: int, scan_base: int, lat: _Latency
) -> int:
    """The *scan* label of scan_swap_map(), without swap_lock (caller dropped it): the
    first free slot (or, with reuse, cache-only slot while vm_swap_full()) above
    ``offset`` up to highest_bit, then from lowest_bit+1 below scan_base. 0 if none."""
    await shared_read(k, k.swap_lock, "scan_swap_map: scan")
    offset += 1
    while offset <= si.highest_bit:
        v = si.swap_map[offset]
        if not v or _reusable(k, v):
            return offset
        await lat.tick(k)
        offset += 1
    offset = si.lowest_bit + 1
    while offset < scan_base:
        v = si.swap_map[offset]
        if not v or _reusable(k, v):
            return offset
        await lat.tick(k)
        offset += 1
    return 0


def _take_slot(k: Kernel, si: SwapInfoStruct, offset: int, cache: int) -> None:
    """Allocate free slot ``offset`` (the end of scan_swap_map(); swap_lock held)."""
    if offset == si.lowest_bit:
        si.lowest_bit += 1
    if offset == si.highest_bit:
        si.highest_bit -= 1
    si.inuse_pages += 1
    if si.inuse_pages == si.pages:
        si.lowest_bit = si.max
        si.highest_bit = 0
    if k.cfg.swap_has_cache and cache == SWAP_CACHE:
        si.swap_map[offset] = encode_swapmap(0, True)
        _cache_only_inc(k, si, 1)
    else:
        si.swap_map[offset] = 1
    si.cluster_next = offset + 1


async def scan_swap_map(k: Kernel, si: SwapInfoStruct, cache: int = SWAP_CACHE) -> int:
    """mm/swapfile.c: scan_swap_map(si) [30] / scan_swap_map(si, cache) [31]: find and take
    a slot; caller holds swap_lock, which is dropped during the free-cluster search, the
    scan, [31] the reuse of a cache-only slot (__try_to_reclaim_swap()) and, on a
    SWP_DISCARDABLE area, the discard of a new free cluster or the wait for it
    (:func:`_discard_after_alloc`). Returns the offset or 0.

    Deviations: no SSD placement (SWP_SOLIDSTATE); the lock-free reads of swap_map while
    searching are one step after the unlock (a READ of swap_lock's data) plus a
    cond_resched() every LATENCY_LIMIT entries.
    """
    lat = _Latency()
    si.flags += SWP_SCANNING
    offset = scan_base = si.cluster_next
    found = 0
    was = si.cluster_nr
    si.cluster_nr = (was - 1) % CLUSTER_NR_WRAP
    if not was:
        if si.pages - si.inuse_pages < SWAPFILE_CLUSTER:
            si.cluster_nr = SWAPFILE_CLUSTER - 1
        elif not (si.flags & SWP_DISCARDABLE and si.lowest_alloc):
            found, offset, scan_base = await _new_cluster(k, si, lat)
    while True:  # checks:
        if not si.flags & SWP_WRITEOK or not si.highest_bit:
            break
        if offset > si.highest_bit:
            scan_base = offset = si.lowest_bit
        if _reusable(k, si.swap_map[offset]):
            spin_unlock(k.swap_lock)
            freed = await __try_to_reclaim_swap(k, si, offset)
            await spin_lock(k, k.swap_lock, "scan_swap_map")
            if freed:
                continue
        elif not si.swap_map[offset]:
            _take_slot(k, si, offset, cache)
            si.flags -= SWP_SCANNING
            if si.lowest_alloc:
                await _discard_after_alloc(k, si, offset, found)
            return offset
        spin_unlock(k.swap_lock)  # scan:
        offset = await _scan_for_slot(k, si, offset, scan_base, lat)
        await spin_lock(k, k.swap_lock, "scan_swap_map")
        if not offset:
            break
    si.flags -= SWP_SCANNING  # no_page:
    return 0


async def _new_cluster(k: Kernel, si: SwapInfoStruct, lat: _Latency) -> tuple[int, int, int]:
    """scan_swap_map() when its cluster ran out and enough slots are free: look for a
    free cluster without swap_lock. On a SWP_DISCARDABLE area, lowest_alloc/highest_alloc
    start recording the slots racing tasks take meanwhile (reset if none is found).
    Returns (the cluster's first offset or 0, offset, scan_base)."""
    if si.flags & SWP_DISCARDABLE:
        si.lowest_alloc = si.max
        si.highest_alloc = 0
    spin_unlock(k.swap_lock)
    scan_base = offset = si.lowest_bit
    found = await _find_free_cluster(k, si, scan_base, lat)
    await spin_lock(k, k.swap_lock, "scan_swap_map")
    si.cluster_nr = SWAPFILE_CLUSTER - 1
    if found:
        offset = si.cluster_next = found
    else:
        si.lowest_alloc = 0
    return found, offset, scan_base


async def _discard_after_alloc(k: Kernel, si: SwapInfoStruct, offset: int, found: int) -> None:
    """The end of scan_swap_map() on a SWP_DISCARDABLE area while a free-cluster search is
    in progress or just done (lowest_alloc set; swap_lock held, dropped and retaken):

    * the task that found the cluster (first offset ``found``) marks SWP_DISCARDING, drops
      swap_lock and discards the cluster from ``offset`` on, short of the slots racing
      tasks took in it; then, locked again, clears the bit and wakes its waiters;
    * a task that took a slot while the discard runs sleeps in wait_on_bit() until the
      discard has been issued;
    * a task that took a slot during the search records it, so the discard spares it.
    """
    if found:
        last_in_cluster = found + SWAPFILE_CLUSTER - 1
        if offset < si.highest_alloc and si.lowest_alloc <= last_in_cluster:
            last_in_cluster = si.lowest_alloc - 1
        si.flags |= SWP_DISCARDING
        spin_unlock(k.swap_lock)
        if offset < last_in_cluster:
            await discard_swap_cluster(k, si, offset, last_in_cluster - offset + 1)
        await spin_lock(k, k.swap_lock, "scan_swap_map")
        si.lowest_alloc = 0
        si.flags &= ~SWP_DISCARDING
        wake_up_bit(si)
    elif si.flags & SWP_DISCARDING:
        spin_unlock(k.swap_lock)
        trace(k, "scan_swap_map()", f"offset {offset}: wait_on_bit(SWP_DISCARDING)")
        await wait_on_bit(k, si, lambda: bool(si.flags & SWP_DISCARDING),
                          "scan_swap_map: wait_on_bit(SWP_DISCARDING)")
        await spin_lock(k, k.swap_lock, "scan_swap_map")
    else:
        si.lowest_alloc = min(si.lowest_alloc, offset)
        si.highest_alloc = max(si.highest_alloc, offset)


class DiscardRequest:
    """The block request one blkdev_issue_discard() needs (block/blk-barrier.c): ``done``
    once the block layer has handed it over."""

    __slots__ = ("done", "start", "type")

    def __init__(self, type: int, start: int) -> None:
        self.type = type
        self.start = start
        self.done = False

    @property
    def stable_key(self) -> tuple[int, int]:
        """The explorer's name of this request in every run: its area and first slot."""
        return (self.type, self.start)


async def _blk_get_request(k: Kernel, req: DiscardRequest) -> None:
    """The block layer freeing a request for the sleeping discard (a thread of its own)."""
    plain_write(req)
    req.done = True


async def discard_swap_cluster(k: Kernel, si: SwapInfoStruct, start_page: int,
                               nr_pages: int) -> None:
    """mm/swapfile.c: discard_swap_cluster() -> blkdev_issue_discard(bdev, ..., GFP_NOIO):
    tell the device that ``nr_pages`` slots from ``start_page`` hold nothing worth keeping.

    2.6.31's blkdev_issue_discard() does not wait for the discard to complete, but its
    bio_alloc(GFP_NOIO) and submit_bio()'s request allocation (get_request_wait() on a
    busy queue) may sleep. The model sleeps there every time (io_schedule()) until the
    block layer, a thread of its own as the swap I/O completions are (page_io), hands over
    the request. One extent (the area is contiguous); the device then reads the slots as
    zeroes."""
    req = DiscardRequest(si.type, start_page)
    trace(k, "discard_swap_cluster()", f"type {si.type}, slots {start_page}-"
          f"{start_page + nr_pages - 1}: blkdev_issue_discard() sleeps")
    await kthread_run(k, f"blk request for discard {si.type}:{start_page}",
                      _blk_get_request(k, req), Current(None, 0))
    await io_schedule(k, req, lambda: req.done, "discard_swap_cluster: blkdev_issue_discard")
    plain_write(si)
    for off in range(start_page, start_page + nr_pages):
        si.data.pop(off, None)


async def __try_to_reclaim_swap(k: Kernel, si: SwapInfoStruct, offset: int) -> int:
    """mm/swapfile.c: __try_to_reclaim_swap() [31, reuse]: free a cache-only slot's page
    if its lock can be had without waiting (the caller may hold another page lock).
    Returns 1 when the slot was freed."""
    entry = swp_entry(si.type, offset)
    page = await swap_state.find_get_swap_page(k, entry)
    if page is None:
        return 0
    ret = 0
    if await trylock_page(k, page, "__try_to_reclaim_swap"):
        ret = await try_to_free_swap(k, page)
        unlock_page(page)
    page_alloc.put_page(k, page)
    trace(k, "__try_to_reclaim_swap()", "{:#x} == {}", entry, ret)
    return ret


async def get_swap_page(k: Kernel) -> int:
    """mm/swapfile.c: get_swap_page(): a slot from the highest-priority area with room,
    round robin among equal priorities; [31] the slot comes with SWAP_HAS_CACHE set
    ([30] with the cache's count of 1). Returns the entry, 0 if none. RFC 5/5: may start
    the cache-only GC afterwards."""
    await spin_lock(k, k.swap_lock, "get_swap_page")
    if k.nr_swap_pages <= 0:
        spin_unlock(k.swap_lock)
        return 0
    k.nr_swap_pages -= 1
    wrapped = 0
    type = k.swap_list_next
    while type >= 0 and wrapped < 2:
        si = k.swap_info[type]
        nxt = si.next
        if nxt < 0 or (not wrapped and si.prio != k.swap_info[nxt].prio):
            nxt = k.swap_list_head
            wrapped += 1
        if not si.highest_bit or not si.flags & SWP_WRITEOK:
            type = nxt
            continue
        k.swap_list_next = nxt
        offset = await scan_swap_map(k, si, SWAP_CACHE)
        if offset:
            spin_unlock(k.swap_lock)
            entry = swp_entry(type, offset)
            trace(k, "get_swap_page()", "{:#x}", entry)
            if k.cfg.cache_only_gc:
                await _maybe_start_cache_only_gc(k)
            return entry
        type = k.swap_list_next
    k.nr_swap_pages += 1
    spin_unlock(k.swap_lock)
    trace(k, "get_swap_page()", "no slot")
    return 0


# --- references --------------------------------------------------------------------------


async def swap_info_get(k: Kernel, entry: int) -> SwapInfoStruct | None:
    """mm/swapfile.c: swap_info_get(): the area of a valid, in-use entry, **returned with
    swap_lock held**; None (and a "swap_free: ..." message as a trace event) for a bad
    entry. As in C, the checks run before the lock is taken.

    An entry whose slot is free (or whose area was swapped off) is a stale pointer: the C
    prints "Unused swap offset entry" and goes on; every caller (swap_free(),
    free_swap_and_cache(), the [31] swapcache_free() and swap_entry_free() paths) holds a
    reference the slot no longer has, so the model reports it as the use-after-free it is
    (a :class:`KernelBug` naming the entry), as it does for a freed page or memcg."""
    if not entry:
        return None
    type = swp_type(entry)
    offset = swp_offset(entry)
    why = ""
    if type >= len(k.swap_info):
        why = "Bad swap file entry"
    elif not k.swap_info[type].flags & SWP_USED:
        why = "Unused swap file entry"
    elif offset >= k.swap_info[type].max:
        why = "Bad swap offset entry"
    elif not k.swap_info[type].swap_map[offset]:
        why = "Unused swap offset entry"
    if why.startswith("Unused"):
        freed_by = ("its slot was freed by swap_entry_free()" if "offset" in why
                    else "its area was swapped off")
        raise KernelBug(f"use-after-free: swap entry {entry:08x} ({why}): {freed_by}")
    if why:
        trace(k, "swap_free:", "{} {:08x}", why, entry)
        return None
    await spin_lock(k, k.swap_lock, "swap_info_get")
    return k.swap_info[type]


def _slot_freed(k: Kernel, p: SwapInfoStruct, offset: int) -> None:
    """The bookkeeping when a slot's value becomes 0 (swap_entry_free(); swap_lock held).
    Deviation: with no area on swap_list (the last one is being swapped off) C compares
    against swap_info[-1]; the model leaves swap_list.next alone then."""
    if offset < p.lowest_bit:
        p.lowest_bit = offset
    if offset > p.highest_bit:
        p.highest_bit = offset
    nxt = k.swap_list_next
    if nxt >= 0 and p.prio > k.swap_info[nxt].prio:
        k.swap_list_next = p.type
    k.nr_swap_pages += 1
    p.inuse_pages -= 1


def swap_entry_free(k: Kernel, p: SwapInfoStruct, ent: int, cache: int = SWAP_MAP) -> int:
    """mm/swapfile.c: swap_entry_free(p, ent) [30] / (p, ent, cache) [31]; caller holds
    swap_lock. Returns the slot's new value ([30] the count, or the unchanged value of a
    saturated slot; [31] the whole value, HAS_CACHE bit included). Uncharges the slot's
    memsw: [30] and 2/5 when the value reaches 0, 4/5 when swap_count() reaches 0."""
    offset = swp_offset(ent)
    v = p.swap_map[offset]
    if not k.cfg.swap_has_cache:
        if v < SWAP_MAP_MAX_30:
            v = (v - 1) & 0xFFFF
            p.swap_map[offset] = v
            if v == 0:
                _slot_freed(k, p, offset)
                memcontrol.mem_cgroup_uncharge_swap(k, ent)
        trace(k, "swap_entry_free()", "== {}", v)
        return v
    count, has_cache = swap_count(v), swap_has_cache(v)
    if cache == SWAP_MAP:
        if count < SWAP_MAP_MAX:
            count -= 1
            p.swap_map[offset] = encode_swapmap(count, has_cache)
            if count == 0 and has_cache:
                _cache_only_inc(k, p, 1)
    else:
        VM_BUG_ON(not has_cache, "swap_entry_free: SWAP_CACHE drop without SWAP_HAS_CACHE")
        p.swap_map[offset] = encode_swapmap(count, False)
        if count == 0:
            _cache_only_inc(k, p, -1)
    ret = p.swap_map[offset]
    if ret == 0:
        _slot_freed(k, p, offset)
    if (swap_count(ret) == 0) if k.cfg.memcg_swap_refcount else (ret == 0):
        memcontrol.mem_cgroup_uncharge_swap(k, ent)
    trace(k, "swap_entry_free()", "== {:#x}" if swap_has_cache(ret) else "== {}", ret)
    return ret


async def swap_free(k: Kernel, entry: int) -> None:
    """mm/swapfile.c: swap_free(): drop one pte/shmem reference (SWAP_MAP)."""
    p = await swap_info_get(k, entry)
    if p is not None:
        swap_entry_free(k, p, entry, SWAP_MAP)
        spin_unlock(k.swap_lock)


async def swapcache_free(k: Kernel, entry: int, page: Page | None) -> None:
    """mm/swapfile.c: swapcache_free() (1/5): drop the swap cache's reference and, with a
    page, its memcg swap-cache charge. Per switch:
    * no 1/5 (2.6.30 has no such function): the open-coded pair of 2.6.30,
      ``mem_cgroup_uncharge_swapcache(page, ent); swap_free(ent)``; same with 1/5 alone;
    * 2/5 without 4/5: the memcg hook, then swap_entry_free(SWAP_CACHE);
    * 4/5 (2.6.31): swap_entry_free(SWAP_CACHE) first, then under swap_lock
      mem_cgroup_uncharge_swapcache(page, ent, swapout = value != 0).
    """
    if not k.cfg.swap_has_cache:
        if page is not None:
            memcontrol.mem_cgroup_uncharge_swapcache(k, page, entry, True)
        await swap_free(k, entry)
        return
    if page is not None and not k.cfg.memcg_swap_refcount:
        memcontrol.mem_cgroup_uncharge_swapcache(k, page, entry, True)
    p = await swap_info_get(k, entry)
    if p is None:
        return
    ret = swap_entry_free(k, p, entry, SWAP_CACHE)
    if page is not None and k.cfg.memcg_swap_refcount:
        memcontrol.mem_cgroup_uncharge_swapcache(k, page, entry, ret != 0)
    spin_unlock(k.swap_lock)


async def __swap_duplicate(k: Kernel, entry: int, cache: int) -> int:
    """mm/swapfile.c: __swap_duplicate() [31]: SWAP_CACHE (swapcache_prepare) claims the
    cache reference: 0, -EEXIST (already claimed), -ENOENT (slot unused); SWAP_MAP
    (swap_duplicate) adds a pte/shmem reference, saturating at SWAP_MAP_MAX: 0 or
    -ENOENT; -EINVAL for a bad entry or a bad slot."""
    type = swp_type(entry)
    if type >= len(k.swap_info):
        trace(k, "swap_dup:", "Bad swap file entry {:08x}", entry)
        return -EINVAL
    p = k.swap_info[type]
    offset = swp_offset(entry)
    await spin_lock(k, k.swap_lock, "__swap_duplicate")
    result = -EINVAL
    if offset < p.max:
        v = p.swap_map[offset]
        count, has_cache = swap_count(v), swap_has_cache(v)
        if cache == SWAP_CACHE:
            if not has_cache and count:
                p.swap_map[offset] = encode_swapmap(count, True)
                result = 0
            elif has_cache:
                result = -EEXIST
            else:
                result = -ENOENT
        elif count or has_cache:
            if count < SWAP_MAP_MAX - 1:
                p.swap_map[offset] = encode_swapmap(count + 1, has_cache)
                result = 0
            elif count <= SWAP_MAP_MAX:
                p.swap_map[offset] = encode_swapmap(SWAP_MAP_MAX, has_cache)
                result = 0
            if result == 0 and count == 0:
                _cache_only_inc(k, p, -1)
        else:
            result = -ENOENT
    spin_unlock(k.swap_lock)
    return result


async def swap_duplicate(k: Kernel, entry: int) -> int:
    """mm/swapfile.c: swap_duplicate(): one more pte/shmem reference to ``entry``.
    [30] returns 1 on success, 0 if the slot is free or bad; [31] (void in C) returns
    __swap_duplicate()'s 0/-errno, which callers ignore. A saturated slot stays at
    SWAP_MAP_MAX ("permanent" until swapoff)."""
    if k.cfg.swap_has_cache:
        ret = await __swap_duplicate(k, entry, SWAP_MAP)
        trace(k, "swap_duplicate()", "{:#x} -> {}", entry, ret)
        return ret
    type = swp_type(entry)
    if type >= len(k.swap_info):
        trace(k, "swap_dup:", "Bad swap file entry {:08x}", entry)
        return 0
    p = k.swap_info[type]
    offset = swp_offset(entry)
    await spin_lock(k, k.swap_lock, "swap_duplicate")
    result = 0
    if offset < p.max and p.swap_map[offset]:
        v = p.swap_map[offset]
        if v < SWAP_MAP_MAX_30 - 1:
            p.swap_map[offset] = v + 1
            result = 1
        elif v <= SWAP_MAP_MAX_30:
            p.swap_map[offset] = SWAP_MAP_MAX_30
            result = 1
    spin_unlock(k.swap_lock)
    trace(k, "swap_duplicate()", "{:#x} -> {}", entry, result)
    return result


async def swapcache_prepare(k: Kernel, entry: int) -> int:
    """mm/swapfile.c: swapcache_prepare() (1/5): claim the swap cache's reference before
    adding a page for ``entry``. With 2/5: 0, -EEXIST (someone owns SWAP_HAS_CACHE),
    -ENOENT (slot unused). With 1/5 alone it is swap_duplicate(); the model maps its 1/0
    to 0/-ENOENT so callers test one convention."""
    if k.cfg.swap_has_cache:
        ret = await __swap_duplicate(k, entry, SWAP_CACHE)
    else:
        ret = 0 if await swap_duplicate(k, entry) else -ENOENT
    trace(k, "swapcache_prepare()", "{:#x} -> {}", entry, ret)
    return ret


async def page_swapcount(k: Kernel, page: Page) -> int:
    """mm/swapfile.c: page_swapcount(): pte/shmem references of a swap-cache page's slot:
    [30] swap_map - 1 (the cache's own), [31] swap_count()."""
    entry = page.private
    p = await swap_info_get(k, entry)
    if p is None:
        return 0
    v = p.swap_map[swp_offset(entry)]
    spin_unlock(k.swap_lock)
    return swap_count(v) if k.cfg.swap_has_cache else v - 1


async def reuse_swap_page(k: Kernel, page: Page) -> bool:
    """mm/swapfile.c: reuse_swap_page() (page locked): whether the only user may write
    to the page without COW; if so and the page is swap cache not under writeback, its
    swap is freed (delete_from_swap_cache, SetPageDirty)."""
    VM_BUG_ON(not PageLocked(page), "reuse_swap_page: page not locked")
    await shared_read(k, page, "reuse_swap_page: page_mapcount")  # unmappers race
    count = page_mapcount(page)
    if count <= 1 and PageSwapCache(page):
        count += await page_swapcount(k, page)
        if count == 1 and not PageWriteback(page):
            await swap_state.delete_from_swap_cache(k, page)
            SetPageDirty(page)
    return count == 1


async def try_to_free_swap(k: Kernel, page: Page) -> int:
    """mm/swapfile.c: try_to_free_swap() (page locked): drop a swap-cache page's slot when
    no pte/shmem reference remains and no writeback runs. Returns 1 if freed."""
    VM_BUG_ON(not PageLocked(page), "try_to_free_swap: page not locked")
    if not PageSwapCache(page) or PageWriteback(page):
        return 0
    if await page_swapcount(k, page):
        return 0
    await swap_state.delete_from_swap_cache(k, page)
    SetPageDirty(page)
    trace(k, "try_to_free_swap()", "{!r} == 1", page)
    return 1


async def free_swap_and_cache(k: Kernel, entry: int) -> int:
    """mm/swapfile.c: free_swap_and_cache() (zap_pte_range, under the pte lock): drop a
    pte's reference; if only the cache's remains ([30] value == 1, [31] value ==
    SWAP_HAS_CACHE) and the page can be locked without waiting, drop the page from the
    swap cache too when it is unmapped or swap is full. Never retries: a page that is
    locked, not yet in the tree or under writeback stays behind. Returns p != NULL."""
    p = await swap_info_get(k, entry)
    trace(k, "free_swap_and_cache()", "{:#x}", entry)
    page: Page | None = None
    if p is not None:
        last = SWAP_HAS_CACHE if k.cfg.swap_has_cache else 1
        if swap_entry_free(k, p, entry, SWAP_MAP) == last:
            page = await swap_state.find_get_swap_page(k, entry)
            if page is None:
                trace(k, "find_get_page()", "-> NULL")
            else:
                trace(k, "find_get_page()", "-> found {!r}", page)
            if page is not None and not await trylock_page(k, page, "free_swap_and_cache"):
                trace(k, "trylock_page()", "-> fail & return")
                page_alloc.put_page(k, page)
                page = None
        spin_unlock(k.swap_lock)
    if page is not None:
        # PG_writeback and _mapcount are read without a lock that orders them:
        # end_page_writeback() and the unmappers change them under the page lock
        await shared_read(k, page, "free_swap_and_cache: PageWriteback")
        if PageSwapCache(page) and not PageWriteback(page) and (
            not page_mapped(page) or vm_swap_full(k)
        ):
            await swap_state.delete_from_swap_cache(k, page)
            SetPageDirty(page)
        unlock_page(page)
        page_alloc.put_page(k, page)
    return int(p is not None)


async def valid_swaphandles(k: Kernel, entry: int) -> tuple[int, int]:
    """mm/swapfile.c: valid_swaphandles(): the readahead window around ``entry``:
    (nr_pages, first offset). The aligned window of 1 << page_cluster slots (never slot
    0, never past max) shrunk to the run of in-use, non-bad slots around the target; 0
    pages when page_cluster is 0 or only the target is in use. [31]: a cache-only slot
    counts as in use."""
    cluster = k.page_cluster
    if not cluster:
        return 0, 0
    si = k.swap_info[swp_type(entry)]
    target = swp_offset(entry)
    base = (target >> cluster) << cluster
    end = base + (1 << cluster)
    if not base:
        base = 1
    await spin_lock(k, k.swap_lock, "valid_swaphandles")
    end = min(end, si.max)
    bad = swap_map_bad(k)
    nr_pages = 0
    toff = target + 1
    while toff < end:
        v = _swap_map_at(si, toff)
        if not v or swap_map_count(k, v) == bad:
            break
        toff += 1
        nr_pages += 1
    toff = target - 1
    while toff >= base:
        v = _swap_map_at(si, toff)
        if not v or swap_map_count(k, v) == bad:
            break
        toff -= 1
        nr_pages += 1
    spin_unlock(k.swap_lock)
    return (nr_pages + 1 if nr_pages else 0), toff + 1


def _swap_map_at(si: SwapInfoStruct, offset: int) -> int:
    """``si->swap_map[offset]`` as valid_swaphandles() reads it: it checks neither
    SWP_USED nor the offset against max, only clamps its window's end to max. Once
    sys_swapoff() has set max to 0 and swap_map to NULL, the window below the target
    still reads the map: the kernel's NULL pointer dereference (an oops), raised here as
    the bug it is."""
    if not si.swap_map:
        raise KernelBug(f"NULL pointer dereference: valid_swaphandles() reads "
                        f"swap_map[{offset}] of swap area {si.type}, which sys_swapoff() "
                        "freed (swap_map NULL, max 0)")
    return si.swap_map[offset]


# --- swapoff -----------------------------------------------------------------------------


def _mmlist(k: Kernel) -> list[MmStruct]:
    """init_mm.mmlist: the mms that ever held a swap entry (``mm.on_mmlist``), in task
    order (a fork's child follows its parent, as list_add after the parent does)."""
    plain_read(k.mmlist_lock)  # the list is walked under mmlist_lock
    mms: list[MmStruct] = []
    for task in k.tasks.values():
        mm = task.mm
        if mm is not None and mm.on_mmlist and not any(m is mm for m in mms):
            mms.append(mm)
    return mms


async def unuse_pte(
    k: Kernel, vma: VmAreaStruct, addr: int, entry: int, page: Page
) -> int:
    """mm/swapfile.c: unuse_pte(): map the swapped-in ``page`` (locked) where the swap pte
    was: charge (try/commit/cancel, as a swap-in), an old read-only pte, anon rmap, drop
    the pte's swap reference, activate. Returns 1 done, 0 pte changed, -ENOMEM."""
    mm = vma.vm_mm
    ret, ptr = await memcontrol.mem_cgroup_try_charge_swapin(k, mm, page, GFP_KERNEL)
    if ret:
        return -ENOMEM
    await spin_lock(k, mm.page_table_lock, "unuse_pte")
    vpn = addr >> PAGE_SHIFT
    pte = mm.ptes.get(vpn)
    if pte is None or pte.present() or pte.swp != entry:
        memcontrol.mem_cgroup_cancel_charge_swapin(k, ptr)
        spin_unlock(mm.page_table_lock)
        return 0
    mm.anon_rss += 1
    get_page(page)
    new = Pte(page)
    new.young = False
    mm.ptes[vpn] = new
    rmap.page_add_anon_rmap(k, page, vma, addr)
    memcontrol.mem_cgroup_commit_charge_swapin(k, page, ptr)
    await swap_free(k, entry)
    await swap.activate_page(k, page)
    spin_unlock(mm.page_table_lock)
    return 1


async def unuse_mm(k: Kernel, mm: MmStruct, entry: int, page: Page) -> int:
    """mm/swapfile.c: unuse_mm() (2.6.30, 2.6.31, identical), ``page`` locked: take
    ``mm->mmap_sem`` for read; if down_read_trylock() fails (a writer: munmap, mmap, mlock,
    fork's dup_mmap), activate the page, unlock it, sleep in down_read() and lock the page
    again. So the page lock is dropped while swapoff sleeps, and the page may leave the swap
    cache meanwhile (try_to_unuse() rechecks it). Then unuse_vma over the vmas
    (:func:`_unuse_vmas`) and up_read(). Returns 0 or -ENOMEM."""
    if not await down_read_trylock(k, mm.mmap_sem, "unuse_mm: down_read_trylock(mmap_sem)"):
        await swap.activate_page(k, page)
        unlock_page(page)
        await down_read(k, mm.mmap_sem, "unuse_mm: down_read(mmap_sem)")
        await lock_page(k, page, "unuse_mm: lock_page")
    ret = await _unuse_vmas(k, mm, entry, page)
    up_read(mm.mmap_sem)
    return ret if ret < 0 else 0


async def _unuse_vmas(k: Kernel, mm: MmStruct, entry: int, page: Page) -> int:
    """unuse_mm()'s loop, unuse_vma/unuse_pte_range (mmap_sem held for read): re-map the
    first pte of ``mm`` that holds ``entry`` (one per mm, as in C). A page that was mapped
    before (page->mapping set) can only be at page_address_in_vma() of a vma of its
    anon_vma; otherwise every pte of the mm's anon vmas is looked at. Returns unuse_pte()'s
    first non-zero result (1 done, -ENOMEM), else 0. Abstraction: the candidate ptes are
    listed once, up front, instead of walking the page tables vma by vma."""
    anon_vma = page.mapping if isinstance(page.mapping, AnonVma) else None
    for vma, addr in _swap_ptes(mm, entry, page, anon_vma):
        ret = await unuse_pte(k, vma, addr, entry, page)
        if ret:
            return ret
    return 0


def _swap_ptes(
    mm: MmStruct, entry: int, page: Page, anon_vma: AnonVma | None
) -> list[tuple[VmAreaStruct, int]]:
    """The (vma, address) pairs of ``mm`` whose pte is the swap entry ``entry``, in vma
    order; only the page's own address in each vma of its anon_vma when it has one."""
    found: list[tuple[VmAreaStruct, int]] = []
    if anon_vma is not None:
        for vma in mm.mmap:
            if vma.anon_vma is not anon_vma:
                continue
            addr = rmap.vma_address(page, vma)
            pte = mm.ptes.get(addr >> PAGE_SHIFT) if addr >= 0 else None
            if pte is not None and not pte.present() and pte.swp == entry:
                found.append((vma, addr))
        return found
    vpns = sorted(vpn for vpn, pte in mm.ptes.items() if pte.page is None and pte.swp == entry)
    for vpn in vpns:
        holder = mm.find_vma(vpn << PAGE_SHIFT)
        if holder is not None and holder.anon_vma is not None:
            found.append((holder, vpn << PAGE_SHIFT))
    return found


def find_next_to_unuse(k: Kernel, si: SwapInfoStruct, prev: int) -> int:
    """mm/swapfile.c: find_next_to_unuse(): the next in-use, non-bad slot after ``prev``,
    wrapping once to recheck the start; 0 when none is left (lock-free, as in C)."""
    maxi = si.max
    i = prev
    bad = swap_map_bad(k)
    while True:
        i += 1
        if i >= maxi:
            if not prev:
                return 0
            maxi = prev + 1
            prev = 0
            i = 1
        v = si.swap_map[i]
        if v and swap_map_count(k, v) != bad:
            return i


def _users(k: Kernel, v: int) -> int:
    """try_to_unuse()'s "references besides our swap-cache page": [30] value - 1 ([30]
    tests ``> 1``), [31] swap_count()."""
    return swap_count(v) if k.cfg.swap_has_cache else max(v - 1, 0)


async def _unuse_entry(k: Kernel, si: SwapInfoStruct, i: int, page: Page) -> tuple[int, int]:
    """try_to_unuse()'s search of the mms (and shmem) for the references to slot ``i``
    (page locked). Returns (retval of unuse_mm, shmem_unuse's result: 1 found, which
    unlocked and released the page, 0 not tried or not found, <0 error). Deviation: every
    mm on the mmlist is tried in order for every slot (no start_mm heuristic), shmem last."""
    entry = swp_entry(si.type, i)
    for mm in _mmlist(k):
        if not _users(k, si.swap_map[i]):
            return 0, 0
        await cond_resched(k, "try_to_unuse")
        ret = await unuse_mm(k, mm, entry, page)
        if ret:
            return ret, 0
    if _users(k, si.swap_map[i]):
        from swaplab.kernel import shmem  # shmem imports this module

        return 0, await shmem.shmem_unuse(k, entry, page)
    return 0, 0


async def try_to_unuse(k: Kernel, type: int) -> int:
    """mm/swapfile.c: try_to_unuse(): bring every in-use slot of area ``type`` back into
    memory (read_swap_cache_async, uncharged like readahead), re-map its ptes charging
    each to the task's memcg (unuse_pte), then drop it from the swap cache. -ENOMEM when
    a page or a charge cannot be had (sys_swapoff then re-enables the area), -EINTR on
    a pending SIGKILL. [31] re-checks the page after the search and resets an overflowed
    slot to cache-only ([30] to 1).

    A slot still in use after its turn (another thread holds a reference unuse_mm()
    cannot see: a fault or an exit in progress) is found again on the next pass: the
    loop goes round the area, with cond_resched() each time, until that thread moves on.
    The model makes each pass after the first a busy retry (``busy_retry``): under the
    explorer's fair policy it starts only when no other thread can run, so the explorer
    does not enumerate every number of passes a waiting swapoff can make."""
    si = k.swap_info[type]
    i = 0
    retval = 0
    while True:
        prev = i
        i = find_next_to_unuse(k, si, i)
        if not i:
            break
        if i <= prev:  # round the area again: a slot is still in use
            await busy_retry(k, "try_to_unuse: slot still in use", sleeps=True)
            i = find_next_to_unuse(k, si, prev)  # the pass as it starts now
            if not i:
                break
        task = current(k).task
        if task is not None and task.sigkill:
            retval = -EINTR
            break
        entry = swp_entry(type, i)
        page = await swap_state.read_swap_cache_async(k, entry, GFP_HIGHUSER_MOVABLE, None, 0)
        if page is None:
            if not si.swap_map[i]:
                continue
            retval = -ENOMEM
            break
        await wait_on_page_locked(k, page, "try_to_unuse")
        await wait_on_page_writeback(k, page, "try_to_unuse")
        await lock_page(k, page, "try_to_unuse")
        await wait_on_page_writeback(k, page, "try_to_unuse")
        retval, shmem = (
            await _unuse_entry(k, si, i, page) if _users(k, si.swap_map[i]) else (0, 0)
        )
        if shmem:  # page already unlocked and released by shmem_unuse()
            if shmem > 0:
                continue
            retval = shmem
            break
        if retval:
            unlock_page(page)
            page_alloc.put_page(k, page)
            break
        await _drop_unused(k, si, i, entry, page)
        await cond_resched(k, "try_to_unuse")
    return retval


async def _drop_unused(k: Kernel, si: SwapInfoStruct, i: int, entry: int, page: Page) -> None:
    """The end of try_to_unuse()'s loop body for slot ``i`` (page locked on entry, unlocked
    and released on return): reset an overflowed count, write the page out if references
    remain, and delete it from the swap cache."""
    stale = not PageSwapCache(page) or page.private != entry
    if not (k.cfg.swap_has_cache and stale):
        if swap_map_count(k, si.swap_map[i]) == swap_map_max(k):
            await spin_lock(k, k.swap_lock, "try_to_unuse")
            if k.cfg.swap_has_cache:
                si.swap_map[i] = encode_swapmap(0, True)
                _cache_only_inc(k, si, 1)
            else:
                si.swap_map[i] = 1
            spin_unlock(k.swap_lock)
            trace(k, "swapoff:", "cleared swap entry overflow")
        if _users(k, si.swap_map[i]) and PageDirty(page) and PageSwapCache(page):
            from swaplab.kernel import page_io

            await page_io.swap_writepage(k, page)
            await lock_page(k, page, "try_to_unuse")
            await wait_on_page_writeback(k, page, "try_to_unuse")
        if PageSwapCache(page) and page.private == entry:
            await swap_state.delete_from_swap_cache(k, page)
        SetPageDirty(page)
    unlock_page(page)
    page_alloc.put_page(k, page)


def _swap_list_remove(k: Kernel, p: SwapInfoStruct) -> None:
    """sys_swapoff(): unlink ``p`` from swap_list and renumber the automatic priorities
    below it (swap_lock held)."""
    prev = -1
    i = k.swap_list_head
    while i >= 0 and i != p.type:
        prev = i
        i = k.swap_info[i].next
    if prev < 0:
        k.swap_list_head = p.next
    else:
        k.swap_info[prev].next = p.next
    if p.type == k.swap_list_next:
        k.swap_list_next = k.swap_list_head
    if p.prio < 0:
        i = p.next
        while i >= 0:
            k.swap_info[i].prio = p.prio
            p.prio -= 1
            i = k.swap_info[i].next
        k.least_priority += 1


async def sys_swapoff(k: Kernel, type: int) -> int:
    """mm/swapfile.c: sys_swapoff() of area ``type``: disable allocation, take its pages
    out of nr_swap_pages/total_swap_pages (vm_swap_full() may turn true meanwhile),
    try_to_unuse(); on failure re-insert the area; else wait for scanners, free swap_map
    and the swap_cgroup records. -EINVAL if ``type`` is not an active area."""
    await spin_lock(k, k.swap_lock, "sys_swapoff")
    if type < 0 or type >= len(k.swap_info) or not k.swap_info[type].flags & SWP_WRITEOK:
        spin_unlock(k.swap_lock)
        return -EINVAL
    p = k.swap_info[type]
    _swap_list_remove(k, p)
    k.nr_swap_pages -= p.pages
    k.total_swap_pages -= p.pages
    p.flags &= ~SWP_WRITEOK
    spin_unlock(k.swap_lock)
    err = await try_to_unuse(k, type)
    if err:
        await spin_lock(k, k.swap_lock, "sys_swapoff")
        if p.prio < 0:
            k.least_priority -= 1
            p.prio = k.least_priority
        _swap_list_insert(k, p)
        k.nr_swap_pages += p.pages
        k.total_swap_pages += p.pages
        p.flags |= SWP_WRITEOK
        spin_unlock(k.swap_lock)
        trace(k, "sys_swapoff()", "type {} == {}", type, err)
        return err
    await spin_lock(k, k.swap_lock, "sys_swapoff")
    if not any(si.inuse_pages for si in k.swap_info):  # drain_mmlist()
        with spin_lock_held(k.mmlist_lock):
            for mm in _mmlist(k):
                mm.on_mmlist = False
    p.highest_bit = 0
    while p.flags >= SWP_SCANNING:
        spin_unlock(k.swap_lock)
        await busy_retry(k, "sys_swapoff: wait for scan_swap_map", sleeps=True)
        await spin_lock(k, k.swap_lock, "sys_swapoff")
    if k.cfg.count_cache_only:
        k.nr_cache_only_swaps -= p.cache_only
        p.cache_only = 0
    p.max = 0
    p.swap_map = []
    p.flags = 0
    spin_unlock(k.swap_lock)
    page_cgroup.swap_cgroup_swapoff(k, type)
    trace(k, "sys_swapoff()", "type {} == 0", type)
    return 0


# --- RFC 5/5: garbage collection of cache-only slots ---------------------------------------


async def _maybe_start_cache_only_gc(k: Kernel) -> None:
    """RFC 5/5: after a successful get_swap_page(), schedule the delayed work when swap is
    more than half full and more than ``cfg.cache_only_gc_threshold`` slots are
    cache-only (the work runs as a kernel thread; one at a time)."""
    if k.cache_only_gc_pending:
        return
    if vm_swap_full(k) and k.nr_cache_only_swaps > k.cfg.cache_only_gc_threshold:
        k.cache_only_gc_pending = True
        await kthread_run(k, "cache_only_gc", cache_only_gc_work(k), Current(None, 0))


def _gc_collect(k: Kernel, si: SwapInfoStruct) -> list[int]:
    """5/5: scan up to GC_SCAN_ENTRIES entries of ``si`` from its cursor (swap_lock held),
    collecting up to GC_BATCH offsets whose value is exactly SWAP_HAS_CACHE."""
    found: list[int] = []
    offset = si.gc_cursor
    for _ in range(GC_SCAN_ENTRIES):
        if offset >= si.max:
            offset = 1
        if si.swap_map[offset] == SWAP_HAS_CACHE:
            found.append(offset)
        offset += 1
        if len(found) >= GC_BATCH:
            break
    si.gc_cursor = offset
    return found


async def reclaim_cache_only(k: Kernel) -> None:
    """What the kernel under test does, given time, about the slots only the swap cache
    holds: [31] __try_to_reclaim_swap() on each of them (as scan_swap_map() does once
    vm_swap_full()), and RFC 5/5 its GC work. 2.6.30 has neither: nothing happens."""
    if k.cfg.reuse_cache_only:
        for si in list(k.swap_info):
            for offset in range(1, len(si.swap_map)):
                if si.swap_map[offset] == SWAP_HAS_CACHE:
                    await __try_to_reclaim_swap(k, si, offset)
    if k.cfg.cache_only_gc:
        await cache_only_gc_work(k)


async def cache_only_gc_work(k: Kernel) -> None:
    """RFC 5/5: the delayed work: for each area, collect cache-only offsets under
    swap_lock, then for each: find the page, lock_page (sleeping), try_to_free_swap,
    unlock. Repeats while the trigger condition holds. Deviation: the posted code leaked
    the find_get_page() reference; the model drops it."""
    while True:
        for si in list(k.swap_info):
            await spin_lock(k, k.swap_lock, "cache_only_gc")
            offsets = _gc_collect(k, si) if si.flags & SWP_WRITEOK else []
            spin_unlock(k.swap_lock)
            for offset in offsets:
                page = await swap_state.find_get_swap_page(k, swp_entry(si.type, offset))
                if page is None:
                    continue
                await lock_page(k, page, "cache_only_gc")
                await try_to_free_swap(k, page)
                unlock_page(page)
                page_alloc.put_page(k, page)
        if not (vm_swap_full(k) and k.nr_cache_only_swaps > k.cfg.cache_only_gc_threshold):
            break
        await cond_resched(k, "cache_only_gc: delay")
    k.cache_only_gc_pending = False

