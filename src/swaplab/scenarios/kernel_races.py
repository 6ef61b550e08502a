"""The races of "memcg: fix swap account" and their neighbours, as kernel scenarios.

Each scenario prepares a tiny machine sequentially (an 8-slot swap area, a memcg ``/A``,
tasks with one or two pages swapped out by memcg reclaim's own code), then starts the
racing kernel paths as threads; I/O completions are threads the kernel model starts
itself (page_io). Nothing orders the racing steps: the explorer does (dpor by default).

- ``swap-entry``: A's exit (free_swap_and_cache of E) against its forked child B's
  swap-in fault on the same, shared E (mm/swapfile.c: free_swap_and_cache() against
  mm/memory.c: do_swap_page()).
- ``type1``: A's exit (zap_pte_range -> free_swap_and_cache(E)) against B's swap-in
  fault on its own entry F, whose swapin_readahead window covers E (the cover letter's
  Type-1: E's readahead page stays in the swap cache, uncharged, with no pte).
- ``type2``: A's exit (page_remove_rmap -> uncharge, mmu_gather still holding the page)
  against shrink_page_list -> add_to_swap -> pageout of the same page (the cover letter's
  Type-2: the page enters the swap cache after its uncharge).
- ``add-to-swap-vs-readahead``: shrink_page_list's add_to_swap on a fresh slot against
  C's swap-in readahead covering that slot ([30]: readahead's page may enter the swap
  cache first; add_to_swap() then gets -EEXIST from add_to_swap_cache() and retries on
  another slot, leaving that page an orphan).
- ``fsc-vs-writeback``: A's exit frees E while reclaim writes E's swap-cache page: the page
  may stay in the swap cache (cache-only slot), charged and reclaimable; nothing leaks.
- ``swapin-vs-zap``: B's swap-in fault against madvise(MADV_DONTNEED) of the same page by
  another thread of B: both hold mmap_sem for read, so the zap can race the fault's
  charge/commit/cancel (mm/memory.c: do_swap_page()'s pte_same recheck).
- ``swapin-vs-munmap``: the same fault against munmap(): sys_munmap() holds mmap_sem for
  write, so the two never overlap (the model shows no window).
- ``swapin-reuse``: A and its child B write-fault the shared entry at once
  (mm/swapfile.c: reuse_swap_page() between mem_cgroup_try_charge_swapin() and
  mem_cgroup_commit_charge_swapin() in do_swap_page()).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from swaplab.explore.model import Instance, Property, at_end, sometimes
from swaplab.explore.ops import ThreadBody
from swaplab.kernel import exit as kexit
from swaplab.kernel import memory, mmap, swapfile, vmscan
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.mm_types import PAGE_SIZE, Page, TaskStruct
from swaplab.kernel.page_flags import (
    ClearPageFlag,
    PageLocked,
    PageSwapCache,
    PageWriteback,
    PG_active,
)
from swaplab.kernel.sync import Current
from swaplab.scenarios.api import Scenario, ScenarioOptions, new_instance
from swaplab.scenarios.kernel_common import (
    World,
    _age,
    drain,
    family_properties,
    forked_swapped_page,
    mmap_touch,
    new_task,
    page_at,
    prepared,
    run,
    swap_out,
    swap_world,
    swp_at,
)
from swaplab.scenarios.kernel_fingerprint import RULES


def _slot(w: World, entry: int) -> int:
    return w.k.swap_info[swapfile.swp_type(entry)].swap_map[swapfile.swp_offset(entry)]


def _cache_only(w: World, entry: int) -> bool:
    v = _slot(w, entry)
    return v == (swapfile.SWAP_HAS_CACHE if w.k.cfg.swap_has_cache else 1)


def _instance(w: World, threads: list[tuple[str, ThreadBody, Current]],
              extra: list[Property], name: str) -> Instance:
    k = w.k
    return new_instance(w, threads, [*family_properties(k), *extra],
                        execution=k.execution, finish=drain,
                        max_steps=3_000, name=name, rules=RULES)


async def _exit(w: World, task: TaskStruct) -> None:
    await kexit.do_exit(w.k, task)


async def _fault(w: World, task: TaskStruct, addr: int, write: bool) -> None:
    w.results[f"fault {task.comm}"] = await memory.do_page_fault(w.k, task, addr, write)


# -- swap-entry -------------------------------------------------------------------------


def _forked(options: ScenarioOptions) -> tuple[World, TaskStruct, TaskStruct, int]:
    """The setup of swap-entry and swapin-reuse: A's page swapped out to E, A forked to B."""
    w = swap_world(options, page_cluster=0)
    return (w, *forked_swapped_page(w))


def build_swap_entry(options: ScenarioOptions) -> Instance:
    """A (in /A) has one page, swapped out to E; A forks B (E's count 2); then A exits
    while B faults E in."""
    w, a, b, addr = prepared(_forked, options)
    e = swp_at(a, addr)
    w.results["E"] = e
    mm_a = a.mm
    assert mm_a is not None
    extra = [sometimes("B-swaps-in-before-A-zaps",
                       lambda w: "fault B" in w.results and bool(mm_a.ptes)),
             sometimes("A-zaps-before-B-swaps-in",
                       lambda w: not mm_a.ptes and "fault B" not in w.results)]
    return _instance(w, [("A: exit", _exit(w, a), Current(a, 0)),
                         ("B: fault", _fault(w, b, addr, False), Current(b, 1))],
                     extra, "swap-entry")


# -- type1 --------------------------------------------------------------------------------


def _type1_setup(options: ScenarioOptions) -> tuple[World, TaskStruct, TaskStruct, int, int]:
    w = swap_world(options, page_cluster=2)
    k = w.k
    a = new_task(k, w.memcg, "A")
    b = new_task(k, w.memcg, "B")
    addr_a = mmap_touch(k, a, 1)
    addr_b = mmap_touch(k, b, 1)
    swap_out(k, page_at(a, addr_a), w.memcg)
    swap_out(k, page_at(b, addr_b), w.memcg)
    return w, a, b, addr_a, addr_b


def build_type1(options: ScenarioOptions) -> Instance:
    """A and B in /A, one page each, swapped out to E (slot 1) and F (slot 2). With
    page-cluster 2 (the default here) F's readahead window is slots 1-3, so it reads E
    too; with 1 the window of slot 2 is slots 2-3 and E is not covered; 0: no readahead.
    A exits while B faults F in."""
    w, a, b, addr_a, addr_b = prepared(_type1_setup, options)
    e = swp_at(a, addr_a)
    w.results["E"] = e

    def locked_window(w: World) -> bool:
        # free_swap_and_cache(E) has run (no pte refers to E; only the cache's reference
        # is left) while B's readahead page for E is still locked for its read
        page = w.k.swapper_space.page_tree.get(e)
        return page is not None and PageLocked(page) and _no_pte(a) and _cache_only(w, e)

    extra = [sometimes("readahead-covers-E", lambda w: e in w.k.swapper_space.page_tree),
             sometimes("free_swap_and_cache-found-page-locked", locked_window)]
    return _instance(w, [("A: exit", _exit(w, a), Current(a, 0)),
                         ("B: fault", _fault(w, b, addr_b, False), Current(b, 1))],
                     extra, "type1")


def _no_pte(task: TaskStruct) -> bool:
    return task.mm is None or not task.mm.ptes


# -- type2 --------------------------------------------------------------------------------


async def _reclaim(w: World, pages: list) -> None:  # type: ignore[type-arg]
    """shrink_page_list on already isolated pages with a memcg ScanControl, then putback."""
    k = w.k
    sc = vmscan.ScanControl(GFP_KERNEL, vmscan._isolate_pages_memcg, mem_cgroup=w.memcg)
    w.results["reclaimed"] = await vmscan.shrink_page_list(k, pages, sc)
    for p in list(pages):
        await vmscan.putback_lru_page(k, p)


def _isolate(w: World, task: TaskStruct, addr: int) -> list:  # type: ignore[type-arg]
    k = w.k
    page = page_at(task, addr)
    run(k, _drain_all(w))
    _age(k, page)
    assert vmscan.isolate_lru_page(k, page) == 0
    ClearPageFlag(page, PG_active)
    return [page]


async def _drain_all(w: World) -> None:
    from swaplab.kernel import swap

    await swap.lru_add_drain_all(w.k)


def _isolated(options: ScenarioOptions) -> tuple[World, TaskStruct, list[Page]]:
    """A in /A maps one anon page, isolated from the LRU (type2's setup)."""
    w = swap_world(options, page_cluster=0)
    a = new_task(w.k, w.memcg, "A")
    addr = mmap_touch(w.k, a, 1)
    return w, a, _isolate(w, a, addr)


def build_type2(options: ScenarioOptions) -> Instance:
    """A in /A maps one anon page P (charged, not swap cache); reclaimer R has isolated P
    (Type-2 needs the page off the LRU in reclaim's hands, as isolate_lru_pages() leaves it).
    A exits while R runs shrink_page_list on P."""
    w, a, pages = prepared(_isolated, options)
    p = pages[0]
    extra = [sometimes("uncharged-before-add_to_swap",
                       lambda w: PageSwapCache(p) and not _used(p)),
             sometimes("pageout-kept-by-mmu_gather-ref",
                       lambda w: w.results.get("reclaimed") == 0 and PageSwapCache(p))]
    return _instance(w, [("A: exit", _exit(w, a), Current(a, 0)),
                         ("R: reclaim", _reclaim(w, pages), Current(None, 1))],
                     extra, "type2")


def _used(page: object) -> bool:
    from swaplab.kernel.page_cgroup import PageCgroupUsed

    return bool(PageCgroupUsed(page.page_cgroup))  # type: ignore[attr-defined]


# -- add_to_swap vs readahead -------------------------------------------------------------


def _swapped_and_isolated(options: ScenarioOptions) -> tuple[World, TaskStruct, int,
                                                               list[Page]]:
    w = swap_world(options, page_cluster=2)
    k = w.k
    c = new_task(k, w.memcg, "C")
    a = new_task(k, w.memcg, "A")
    addr_c = mmap_touch(k, c, 1)
    addr_a = mmap_touch(k, a, 1)
    swap_out(k, page_at(c, addr_c), w.memcg)
    return w, c, addr_c, _isolate(w, a, addr_a)


def build_add_to_swap_vs_readahead(options: ScenarioOptions) -> Instance:
    """C's page is swapped out to slot 1; A's page P is isolated for reclaim. R runs
    shrink_page_list on P (add_to_swap takes slot 2) while C faults slot 1 in with a
    readahead window (page-cluster 2) that covers slot 2 once it is in use."""
    w, c, addr_c, pages = prepared(_swapped_and_isolated, options)
    p = pages[0]
    fresh = swapfile.swp_entry(0, 2)
    extra = [sometimes("readahead-page-in-fresh-slot",
                       lambda w: (q := w.k.swapper_space.page_tree.get(fresh)) is not None
                       and q is not p)]
    return _instance(w, [("R: reclaim", _reclaim(w, pages), Current(None, 0)),
                         ("C: fault", _fault(w, c, addr_c, False), Current(c, 1))],
                     extra, "add-to-swap-vs-readahead")


# -- free_swap_and_cache vs writeback -----------------------------------------------------


def build_fsc_vs_writeback(options: ScenarioOptions) -> Instance:
    """A's page P was unmapped into swap cache by an earlier reclaim pass (A has the swap
    pte E, P dirty in the cache, still charged to /A, not yet written). R's next pass writes
    P (the write completion is its own thread) while A exits (free_swap_and_cache(E)).

    What the race leaves (mm/swapfile.c: free_swap_and_cache(), 2.6.30 and 2.6.31): E's
    count drops to the cache's reference alone, then the page is trylocked and deleted
    from the swap cache only if it is not under writeback. If A gets there first, P leaves
    the swap cache and R's pass finds an unmapped anon page it adds to swap again or frees.
    If R holds the page lock (pageout) or P is under writeback, P stays in the swap cache
    with a cache-only slot: not an orphan. It is still charged (PCG_USED: mm/memcontrol.c:
    __mem_cgroup_uncharge_common() skips a swap-cache page at unmap), mm/vmscan.c:
    shrink_page_list() keeps it (writeback) and puts it back on the memcg LRU, and after
    end_page_writeback() the next memcg reclaim frees it with an exact uncharge ([30]
    mem_cgroup_uncharge_swapcache + swap_free; [31] swapcache_free; no swap record exists
    in either). Nothing leaks: ``left-in-cache-is-reclaimable`` holds in every run, and
    the family properties hold after drain()'s memcg reclaim.
    """
    w, a, pages = prepared(_unmapped_into_swap_cache, options)
    p = pages[0]
    e = p.private

    def fsc_done(w: World) -> bool:  # E freed but for the cache's reference
        return _no_pte(a) and _cache_only(w, e) and PageSwapCache(p)

    extra = [sometimes("free_swap_and_cache-during-pageout-lock",
                       lambda w: fsc_done(w) and PageLocked(p) and not PageWriteback(p)),
             sometimes("free_swap_and_cache-during-writeback",
                       lambda w: fsc_done(w) and PageWriteback(p)),
             sometimes("deleted-before-pageout",
                       lambda w: _no_pte(a) and not PageSwapCache(p) and "reclaimed" not in
                       w.results),
             sometimes("left-in-swap-cache", lambda w: w.results.get("left") == 1),
             at_end("left-in-cache-is-reclaimable", _left_is_reclaimable)]
    instance = _instance(w, [("A: exit", _exit(w, a), Current(a, 0)),
                             ("R: reclaim", _reclaim(w, pages), Current(None, 1))],
                         extra, "fsc-vs-writeback")
    instance.finish = functools.partial(_note_left_then_drain, p)
    return instance


def _unmapped_into_swap_cache(options: ScenarioOptions) -> tuple[World, TaskStruct,
                                                                  list[Page]]:
    """fsc-vs-writeback's setup: A's isolated page through one reclaim pass that adds it
    to swap and unmaps it without writing it."""
    w, a, pages = _isolated(options)
    p = pages[0]
    sc = vmscan.ScanControl(GFP_KERNEL, vmscan._isolate_pages_memcg, mem_cgroup=w.memcg,
                            may_writepage=False)
    run(w.k, vmscan.shrink_page_list(w.k, pages, sc))  # add_to_swap + try_to_unmap
    assert PageSwapCache(p) and _no_pte_page(a, p)
    ClearPageFlag(p, PG_active)
    return w, a, pages


def _note_left_then_drain(page: Page, w: World) -> None:
    """fsc-vs-writeback's ``finish``: note whether P is left in the swap cache when both
    threads are done (``left``: 1 or 0) and whether it is then an ordinary charged,
    reclaimable swap-cache page (``left_ok``), then drain()."""
    k = w.k
    left = k.pages.get(page.pfn) is page and PageSwapCache(page)
    w.results["left"] = int(left)
    w.results["left_ok"] = int(not left or (
        _used(page) and page.page_cgroup.mem_cgroup is w.memcg and not PageWriteback(page)
        and _cache_only(w, page.private) and not k.swap_cgroup
        and w.memcg.res.usage == w.memcg.memsw.usage == PAGE_SIZE))
    drain(w)


def _left_is_reclaimable(w: World) -> bool:
    return w.results.get("left_ok") == 1


def _no_pte_page(task: TaskStruct, page: object) -> bool:
    assert task.mm is not None
    return all(pte.page is not page for pte in task.mm.ptes.values())


# -- swap-in vs zap -----------------------------------------------------------------------


async def _munmap(w: World, task: TaskStruct, addr: int) -> None:
    assert task.mm is not None
    w.results["zap"] = await mmap.sys_munmap(w.k, task.mm, addr, PAGE_SIZE)


async def _madvise(w: World, task: TaskStruct, addr: int) -> None:
    assert task.mm is not None
    w.results["zap"] = await memory.sys_madvise_dontneed(w.k, task.mm, addr, PAGE_SIZE)


def _swapin_vs(options: ScenarioOptions, name: str, zap: str) -> Instance:
    """B's page is swapped out to E; one thread of B faults it in while another thread
    of B zaps it with ``zap`` (madvise(MADV_DONTNEED) or munmap)."""
    w, b, addr = prepared(_swapped, options)
    body = _madvise(w, b, addr) if zap == "madvise" else _munmap(w, b, addr)
    extra = [sometimes("fault-lost-to-zap",
                       lambda w: w.results.get("fault B") == 0 and "zap" in w.results
                       and w.k.swapper_space.nrpages == 0 and _charged(w) == 0)]
    return _instance(w, [("B: fault", _fault(w, b, addr, False), Current(b, 0)),
                         (f"B': {zap}", body, Current(b, 1))],
                     extra, name)


def _swapped(options: ScenarioOptions) -> tuple[World, TaskStruct, int]:
    """B's one page swapped out (the swap-in-vs-zap setup)."""
    w = swap_world(options, page_cluster=0)
    b = new_task(w.k, w.memcg, "B")
    addr = mmap_touch(w.k, b, 1)
    swap_out(w.k, page_at(b, addr), w.memcg)
    return w, b, addr


def build_swapin_vs_zap(options: ScenarioOptions) -> Instance:
    return _swapin_vs(options, "swapin-vs-zap", "madvise")


def build_swapin_vs_munmap(options: ScenarioOptions) -> Instance:
    return _swapin_vs(options, "swapin-vs-munmap", "munmap")


def _charged(w: World) -> int:
    return int(w.memcg.res.usage // PAGE_SIZE)


# -- swap-in with reuse_swap_page ---------------------------------------------------------


def build_swapin_reuse(options: ScenarioOptions) -> Instance:
    """A's page is swapped out to E; A forks B (E shared). Both write-fault E at once:
    one maps the swap-cache page, the other's reuse_swap_page may delete it from the swap
    cache between the first one's try_charge and commit (mm/memory.c: do_swap_page() with
    a page already charged by the other mapper that reuse_swap_page() takes out of the swap
    cache before the commit)."""
    w, a, b, addr = prepared(_forked, options)
    extra = [sometimes("both-mapped", lambda w: len(w.results) == 2)]
    return _instance(w, [("A: write fault", _fault(w, a, addr, True), Current(a, 0)),
                         ("B: write fault", _fault(w, b, addr, True), Current(b, 1))],
                     extra, "swapin-reuse")


def _scenario(name: str, description: str, build: Callable[[ScenarioOptions], Instance],
              tags: tuple[str, ...] = ()) -> Scenario:
    return Scenario(name, description, build, kernel_options=True, default_kernel="2.6.30",
                    strategy="dpor", tags=("kernel", *tags))


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("swap-entry", "A's exit (free_swap_and_cache) vs its child's swap-in of the "
             "shared entry", build_swap_entry, kernel_options=True, default_kernel="2.6.30",
             strategy="dfs", tags=("kernel",)),
    _scenario("type1", "A's exit (free_swap_and_cache(E)) vs B's swap-in readahead covering E "
              "(cover letter Type-1)", build_type1, ("seed",)),
    _scenario("type2", "A's exit (page_remove_rmap -> uncharge) vs shrink_page_list -> "
              "add_to_swap -> pageout of the same page (cover letter Type-2)", build_type2,
              ("seed",)),
    _scenario("add-to-swap-vs-readahead", "add_to_swap on a fresh slot vs a readahead "
              "covering it ([30] -EEXIST orphan)", build_add_to_swap_vs_readahead),
    _scenario("fsc-vs-writeback", "A's exit (free_swap_and_cache) vs reclaim writing the "
              "page of the same entry: the page may stay in the swap cache, charged and "
              "reclaimable (no orphan, no leak)", build_fsc_vs_writeback),
    _scenario("swapin-vs-zap", "do_swap_page charge vs madvise(MADV_DONTNEED) of the pte by "
              "another thread (both under mmap_sem for read)", build_swapin_vs_zap),
    _scenario("swapin-vs-munmap", "do_swap_page vs munmap of the pte by another thread: "
              "mmap_sem orders them", build_swapin_vs_munmap),
    _scenario("swapin-reuse", "two write faults on a shared entry: reuse_swap_page between "
              "try_charge and commit", build_swapin_reuse),
)

