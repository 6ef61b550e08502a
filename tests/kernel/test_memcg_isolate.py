"""memcontrol.mem_cgroup_isolate_pages() reads its list in chunks (a speed-up of the model): it
must take the same pages and leave the lists in the same order as the straightforward
walk over a copy of the whole list, which is kept here as the reference."""

from __future__ import annotations

import random
from collections import deque

import pytest

from swaplab.kernel import memcontrol, vmscan
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.config import PRESETS
from swaplab.kernel.errno import EBUSY
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import LRU_ACTIVE_ANON, LRU_INACTIVE_ANON, Page
from swaplab.kernel.page_cgroup import PCG_USED, PageCgroup, PageCgroupUsed
from swaplab.kernel.page_flags import PageLRU, PG_active, PG_lru, PG_swapbacked


def reference_isolate(k: Kernel, nr_to_scan: int, mem: MemCgroup, active: bool,
                      file: bool) -> list[Page]:
    """The walk before the speed-up: a deque copy of the whole list."""
    lru = (2 if file else 0) + (1 if active else 0)
    mode = vmscan.ISOLATE_ACTIVE if active else vmscan.ISOLATE_INACTIVE
    walk = deque(mem.lists[lru])
    taken: list[Page] = []
    scan = 0
    while walk:
        pc = walk.popleft()
        last = not walk
        if scan >= nr_to_scan:
            break
        page = pc.page
        assert page is not None
        if not PageCgroupUsed(pc) or not PageLRU(page):
            if last:
                break
            continue
        scan += 1
        ret = vmscan.__isolate_lru_page(k, page, mode, file)
        if ret == 0:
            if k.cfg.v31:
                memcontrol.mem_cgroup_del_lru(k, page)
            taken.append(page)
        elif ret == -EBUSY and k.cfg.v31:
            memcontrol.mem_cgroup_rotate_lru_list(k, page, memcontrol._page_lru(page))
            if not last:
                walk.append(pc)
        if last:
            break
    return taken


def build(version: str, seed: int, n: int) -> tuple[Kernel, MemCgroup]:
    """A memcg whose inactive and active anon lists hold ``n`` pcs in random states:
    charged or stale (!USED), on or off the zone LRU, being freed (count 0: -EBUSY),
    flags that do not match the list (-EINVAL)."""
    rnd = random.Random(seed)
    k = Kernel(PRESETS[version], ram_bytes=64 << 20)
    cg = Cgroup("G", k.cgroup_root)
    mem = MemCgroup(1, cg, None, False)
    cg.memcg = mem
    for pfn in range(n):
        pc = PageCgroup()
        page = Page(pfn, pc)
        pc.page = page
        page.flags = PG_swapbacked
        active = rnd.random() < 0.3
        lru = LRU_ACTIVE_ANON if active else LRU_INACTIVE_ANON
        if active != (rnd.random() < 0.1):  # a few pcs on the list their flags do not say
            page.flags |= PG_active
        page._count = 0 if rnd.random() < 0.1 else 1
        if rnd.random() < 0.8:
            page.flags |= PG_lru
            k.zone.lru[lru][page] = None
            page.lru = lru
        if rnd.random() < 0.85:
            pc.flags = PCG_USED
        pc.mem_cgroup = mem
        mem.lists[lru][pc] = None
        pc.lru = lru
    return k, mem


def snapshot(k: Kernel, mem: MemCgroup) -> tuple[object, ...]:
    return (
        [[pc.page.pfn for pc in lst if pc.page is not None] for lst in mem.lists],
        [[page.pfn for page in lst] for lst in k.zone.lru],
        [(p.flags, p._count, p.lru, p.page_cgroup.lru) for p in
         sorted((pc.page for lst in mem.lists for pc in lst if pc.page is not None),
                key=lambda p: p.pfn)],
    )


@pytest.mark.parametrize("seed", range(40))
def test_chunked_walk_matches_the_whole_list_walk(version: str, seed: int) -> None:
    rnd = random.Random(1000 + seed)
    n = rnd.choice([1, 2, 5, 40, 300])
    k1, mem1 = build(version, seed, n)
    k2, mem2 = build(version, seed, n)
    for _ in range(6):  # repeated calls on the same lists, as reclaim makes them
        nr = rnd.choice([1, 4, 32, 500])
        active = rnd.random() < 0.3
        got = memcontrol.mem_cgroup_isolate_pages(k1, nr, mem1, active, False)
        want = reference_isolate(k2, nr, mem2, active, False)
        assert [p.pfn for p in got] == [p.pfn for p in want]
        assert snapshot(k1, mem1) == snapshot(k2, mem2)
