"""Races fixed after 2.6.31 in the code the model has, as kernel scenarios.

- ``swapin-aba``: the sequence of 31c4a3d3a0f8's changelog ("mm: further fix swapin race
  condition"). Threads A and B of one process fault on the same swap entry swap1, which
  their forked parent C shares. A's write fault maps the swap-cache page page1 and, since
  swap1 has another user, copies it (do_wp_page: page2). C's write fault can then reuse
  page1 (reuse_swap_page()) and free swap1. Reclaim gives swap1 to page2 and another slot to
  page1. B, which looked page1 up before all that and waited in lock_page(), finds its pte
  holding swap1 again: in 2.6.30/2.6.31 (only pte_same() after lock_page()) it maps C's
  page into A+B: B reads C's data where A wrote its own (``data-integrity``).
  4969c1192d15 gives up on a page no longer in the swap cache, 31c4a3d3a0f8 also on one in
  the swap cache for another entry (mm/memory.c: do_swap_page()). With 4969c1192d15 alone
  the explorer still finds the corruption: kswapd has put page1 back in the swap cache (on
  swap2) before B gets the lock, so PageSwapCache() passes, as the follow-up's changelog
  says.

- ``discard-lockup``: the deadlock of cbab0e4eec29 ("swap: avoid read_swap_cache_async()
  race to deadlock while waiting on discard I/O completion", 3.10, Cc stable; the code is in
  2.6.31). On a SWP_DISCARDABLE area, reclaim's add_to_swap() -> scan_swap_map() takes a
  slot of a new free cluster (SWAP_HAS_CACHE set, its page not yet in the swap cache) and
  sleeps in discard_swap_cluster(). A swap-in readahead on the same CPU whose window
  covers that slot (valid_swaphandles() counts a cache-only slot as in use) gets -EEXIST
  from swapcache_prepare() and retries at once, for ever: the owner can never run again
  on that CPU (a soft lockup of the non-preemptive kernel). The fix's cond_resched() in
  that branch lets it. On two CPUs nothing locks up.

In swapin-aba nothing orders the four actors: they are threads and the explorer finds the
bad order. They run on a machine of two CPUs with a non-preemptive kernel
(:mod:`swaplab.explore.cpus`): A and B, two threads of one process, on CPUs 0 and 1 (so B
can look page1 up while A holds its lock), C and kswapd on CPU 0 (each runs until it sleeps
or yields). B's unluckiness is then what the explorer chooses: who takes the page lock
after A, and when B's CPU runs it again. The default strategy is stateful dfs
(``dfs-cached``): exhaustive, it finds the corruption on 2.6.30, 2.6.31 and with
4969c1192d15 alone and is clean with 31c4a3d3a0f8 (both fixes or that one: its test covers
4969c1192d15's); a preemption bound of 1 already finds it, and is clean with the fix.
Abstracted: kswapd is a thread that reclaims the pages mapped at the address (see
:func:`_kswapd`), not an LRU scan, and does not write them (``may_writepage`` off: each
stays dirty in the swap cache on its new entry, its pte a swap pte, which is all the race
needs; no write I/O is started); page-cluster is 0 (no readahead).
"""

from __future__ import annotations

from collections.abc import Sequence

from swaplab.explore.model import BUG, Instance, at_end, sometimes
from swaplab.kernel import exit as kexit
from swaplab.kernel import (
    fork,
    invariants,
    memory,
    swap,
    swap_state,
    swapfile,
    user_access,
    vmscan,
)
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import PAGE_SHIFT, Page, TaskStruct, get_page
from swaplab.kernel.page_alloc import put_page
from swaplab.kernel.page_flags import ClearPageFlag, PG_active, PG_referenced
from swaplab.kernel.sync import (
    Current,
    plain_write,
    spin_lock,
    spin_unlock,
    trylock_page,
    unlock_page,
)
from swaplab.scenarios.api import Scenario, ScenarioOptions, new_instance
from swaplab.scenarios.kernel_common import (
    World,
    _age,
    drain,
    family_properties,
    make_kernel,
    memcg_a,
    mmap_touch,
    new_task,
    page_at,
    run,
    swap_out,
)

#: swapin-aba's swap area: two slots (and the header)
ABA_SLOTS = 3
#: swapin-aba's threads A, B, C, K: B on a CPU of its own, the others on CPU 0
ABA_CPUS = (0, 1, 0, 0)
#: discard-lockup's swap area: room for a free cluster (SWAPFILE_CLUSTER slots) and more
DISCARD_SLOTS = 300
#: discard-lockup's two threads on CPU 0 (the lockup needs them on one CPU)
ONE_CPU = (0, 0)


def _swap_to_cache(w: World, task: TaskStruct, addr: int) -> None:
    """A reclaim pass over ``task``'s page at ``addr`` that may not write (add_to_swap and
    try_to_unmap): the page stays in the swap cache, dirty and unmapped, on the memcg LRU."""
    k = w.k
    page = page_at(task, addr)
    sc = vmscan.ScanControl(GFP_KERNEL, vmscan._isolate_pages_memcg, mem_cgroup=w.memcg,
                            may_writepage=False)

    async def one_pass() -> None:
        await swap.lru_add_drain_all(k)
        _age(k, page)
        assert vmscan.isolate_lru_page(k, page) == 0
        ClearPageFlag(page, PG_active)
        pages = [page]
        await vmscan.shrink_page_list(k, pages, sc)
        for p in pages:
            await vmscan.putback_lru_page(k, p)

    run(k, one_pass())
    assert page.private and k.pages.get(page.pfn) is page


async def _fault(w: World, task: TaskStruct, addr: int, write: bool) -> None:
    """The program's touch of ``addr``: the fault, then (in the same step) the load, and
    for a write the store, it was for."""
    w.results[f"fault {task.comm}"] = await memory.do_page_fault(w.k, task, addr, write)
    user_access.user_access(w.k, task, addr, write)


async def _kswapd(w: World, tasks: tuple[TaskStruct, ...], addr: int) -> None:
    """kswapd swapping out "some pages from A+B and C" (the changelog): the page mapped at
    ``addr`` in each task's mm at the time it looks, in that order, into the swap cache
    and out of the pte (shrink_page_list() with ``may_writepage`` off: no pageout()).
    Under the pte lock it takes a reference (dropped once the page is isolated) and clears
    the pte's young bit and PG_referenced, as its earlier passes' page_referenced() would
    have; then, through the LRU (drained first), shrink_page_list() and putback. A task
    whose pte holds no page then is skipped. Stands in for the LRU scans that reach those pages."""
    k = w.k
    sc = vmscan.ScanControl(GFP_KERNEL, vmscan._isolate_pages_memcg, mem_cgroup=w.memcg,
                            may_writepage=False)
    for task in tasks:
        mm = task.mm
        assert mm is not None
        await spin_lock(k, mm.page_table_lock, "kswapd: page_referenced")
        pte = mm.ptes.get(addr >> PAGE_SHIFT)
        page = pte.page if pte is not None else None
        if pte is not None and page is not None:
            get_page(page)
            plain_write(pte)  # ptep_clear_flush_young()
            pte.young = False
            ClearPageFlag(page, PG_referenced)
        spin_unlock(mm.page_table_lock)
        if page is None:
            continue
        await swap.lru_add_drain_all(k)
        isolated = vmscan.isolate_lru_page(k, page) == 0  # a reference of its own
        put_page(k, page)
        if isolated:
            ClearPageFlag(page, PG_active)
            pages = [page]
            await vmscan.shrink_page_list(k, pages, sc)
            for p in pages:
                await vmscan.putback_lru_page(k, p)


def build_swapin_aba(options: ScenarioOptions) -> Instance:
    """C (in /A) wrote its page and it was swapped out to swap1 (slot 1), staying in the
    swap cache as page1; C forked the process of threads A and B (swap1 shared). The area
    has two slots; the second was used and freed during setup, so the allocator's cursor
    sits past the end and its next scan wraps to the lowest free slot, as it does on a
    busy area: once C frees swap1, it is the first slot handed out again.

    Threads (on :data:`ABA_CPUS`): A write-faults the address, B read-faults it (both
    threads of one mm), C write-faults it, K (kswapd) swaps out the page A+B then C map.
    Property ``data-integrity``: every load finds what its mm last stored there."""
    k = make_kernel(options, page_cluster=0)
    swapfile.sys_swapon(k, ABA_SLOTS)
    w = World(k, memcg_a(k))
    c = new_task(k, w.memcg, "C")
    addr = mmap_touch(k, c, 1)
    user_access.user_store(k, c, addr)
    _swap_to_cache(w, c, addr)
    filler = new_task(k, w.memcg, "F")
    swap_out(k, page_at(filler, mmap_touch(k, filler, 1)), w.memcg)
    run(k, kexit.do_exit(k, filler), filler)
    a = run(k, fork.do_fork(k, c), c)
    a.comm = "A"
    b = fork.clone_thread(k, a)
    b.comm = "B"
    integrity = at_end("data-integrity", lambda w: not invariants.check_data_integrity(w.k),
                       lambda w: "; ".join(invariants.check_data_integrity(w.k)), BUG)
    cpu_a, cpu_b, cpu_c, cpu_k = ABA_CPUS
    threads = [("A: write fault", _fault(w, a, addr, True), Current(a, cpu_a)),
               ("B: read fault", _fault(w, b, addr, False), Current(b, cpu_b)),
               ("C: write fault", _fault(w, c, addr, True), Current(c, cpu_c)),
               ("K: kswapd", _kswapd(w, (a, c), addr), Current(None, cpu_k))]
    return new_instance(w, threads, [integrity], execution=k.execution, finish=drain,
                        max_steps=5_000, name="swapin-aba", cpus=ABA_CPUS)


async def _use_up_cluster(k: Kernel) -> None:
    """Allocate and free the SWAPFILE_CLUSTER - 1 slots after the first one of the current
    cluster, as swap-outs whose pages came back would: the area's next allocation starts
    a new cluster (cluster_nr is 0) at the lowest free slot."""
    for _ in range(swapfile.SWAPFILE_CLUSTER - 1):
        entry = await swapfile.get_swap_page(k)
        assert entry
        await swapfile.swapcache_free(k, entry, None)


async def _add_to_swap(w: World, page: Page) -> None:
    """The swap-out start of mm/vmscan.c: shrink_page_list() on an isolated anon page:
    trylock_page(), add_to_swap() (which allocates the slot), then, for this scenario, the
    page goes back to the LRU (unlock_page(), putback_lru_page()) before try_to_unmap()."""
    k = w.k
    if await trylock_page(k, page, "shrink_page_list"):
        w.results["add_to_swap"] = await swap_state.add_to_swap(k, page)
        unlock_page(page)
    await vmscan.putback_lru_page(k, page)


async def _read_fault(w: World, task: TaskStruct, addr: int) -> None:
    w.results[f"fault {task.comm}"] = await memory.do_page_fault(w.k, task, addr, False)


def build_discard_lockup(options: ScenarioOptions, cpus: Sequence[int] = ONE_CPU) -> Instance:
    """A SWP_DISCARDABLE area of DISCARD_SLOTS slots (page-cluster 2). C in /A has one page
    swapped out to slot 1; the rest of that cluster was used and freed, so the next
    allocation searches a new free cluster: slots 2-257, discarded from the slot it takes
    (2) on. A's page is isolated for reclaim.

    Threads, placed on ``cpus`` (default: both on CPU 0): R starts reclaiming A's page
    (add_to_swap() takes slot 2 and sleeps in the cluster's discard), C read-faults slot 1,
    whose readahead window (slots 1-3) covers slot 2."""
    k = make_kernel(options, default="2.6.31", page_cluster=2)
    swapfile.sys_swapon(k, DISCARD_SLOTS, discard=True)
    w = World(k, memcg_a(k))
    c = new_task(k, w.memcg, "C")
    addr_c = mmap_touch(k, c, 1)
    swap_out(k, page_at(c, addr_c), w.memcg)
    run(k, _use_up_cluster(k))
    a = new_task(k, w.memcg, "A")
    addr_a = mmap_touch(k, a, 1)
    page = page_at(a, addr_a)
    run(k, swap.lru_add_drain_all(k))
    _age(k, page)
    assert vmscan.isolate_lru_page(k, page) == 0
    ClearPageFlag(page, PG_active)
    fresh = swapfile.swp_entry(0, 2)
    extra = [sometimes("readahead-meets-the-discarding-owner",
                       lambda w: bool(w.k.swap_info[0].flags & swapfile.SWP_DISCARDING)
                       and fresh not in w.k.swapper_space.page_tree
                       and bool(w.k.swap_info[0].swap_map[2]))]
    return new_instance(w, [("R: reclaim", _add_to_swap(w, page), Current(None, cpus[0])),
                            ("C: fault", _read_fault(w, c, addr_c), Current(c, cpus[1]))],
                        [*family_properties(k), *extra], execution=k.execution,
                        finish=drain, max_steps=5_000, name="discard-lockup", cpus=cpus)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("swapin-aba", "threads A and B fault on a swap entry shared with their parent C: "
             "A's COW, C's reuse and reclaim hand the entry to another page while B waits "
             "for the page lock (31c4a3d3a0f8)", build_swapin_aba, kernel_options=True,
             default_kernel="2.6.30", strategy="dfs-cached", tags=("kernel",)),
    Scenario("discard-lockup", "reclaim's add_to_swap owns a slot and sleeps in the swap "
             "discard; a readahead covering the slot on the same CPU loops on -EEXIST "
             "(soft lockup; fixed by cbab0e4eec29)", build_discard_lockup,
             kernel_options=True, default_kernel="2.6.31", strategy="dpor",
             tags=("kernel",)),
)
