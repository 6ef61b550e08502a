"""Soft lockups of the non-preemptive kernel, found with the explorer's CPU model.

- ``preload-lockup`` (fixed by 31a5639623a4, "mm: add_to_swap_cache() must not sleep",
  2.6.32-rc1): two read faults on one swap entry, by A and by its forked child B, on ONE
  CPU. In 2.6.31 mm/swap_state.c: read_swap_cache_async() retries swapcache_prepare()'s
  -EEXIST at once, with no cond_resched(); the thread that owns SWAP_HAS_CACHE next calls
  add_to_swap_cache(), whose radix_tree_preload(GFP_KERNEL) may sleep. If it sleeps there,
  the other reader takes the CPU, finds no page in the swap cache and HAS_CACHE set, and
  loops for ever: the owner can never run again on that CPU (a soft lockup). With the fix
  the preload comes before swapcache_prepare() and nothing sleeps between the claim and
  the insertion. 2.6.30 has no such loop: swap_duplicate() always succeeds on a used slot,
  both readers may preload and insert, and the one that comes second gets -EEXIST from
  add_to_swap_cache(), drops its reference and finds the other's page in the next round.
  On two CPUs the owner runs again on its own CPU: no lockup.
"""

from __future__ import annotations

from collections.abc import Sequence

from swaplab.explore.model import Instance, sometimes
from swaplab.kernel import memory, swapfile
from swaplab.kernel.mm_types import TaskStruct
from swaplab.kernel.sync import Current
from swaplab.scenarios.api import Scenario, ScenarioOptions, new_instance
from swaplab.scenarios.kernel_common import (
    World,
    drain,
    family_properties,
    forked_swapped_page,
    swap_world,
    swp_at,
)

#: Both readers on CPU 0 (the lockup needs them on one CPU).
ONE_CPU = (0, 0)


async def _fault(w: World, task: TaskStruct, addr: int) -> None:
    w.results[f"fault {task.comm}"] = await memory.do_page_fault(w.k, task, addr, False)


def _claimed_not_cached(w: World, entry: int) -> bool:
    """A reader owns ``entry``'s cache reference but its page is not in the swap cache:
    [31] SWAP_HAS_CACHE set; [30] a third reference besides A's and B's ptes."""
    k = w.k
    count = k.swap_info[swapfile.swp_type(entry)].swap_map[swapfile.swp_offset(entry)]
    claimed = bool(count & swapfile.SWAP_HAS_CACHE) if k.cfg.swap_has_cache else count > 2
    return claimed and entry not in k.swapper_space.page_tree


def build_preload_lockup(options: ScenarioOptions, fixes: str | None = None,
                         cpus: Sequence[int] = ONE_CPU) -> Instance:
    """A in /A has one page swapped out to E and forks B (E's count 2; no readahead:
    page-cluster 0). A and B read-fault E at once, placed on ``cpus`` (default: both on
    CPU 0); ``fixes``: later fixes on top of the kernel (31a5639623a4)."""
    w = swap_world(options, page_cluster=0, default="2.6.31", fixes=fixes)
    a, b, addr = forked_swapped_page(w)
    entry = swp_at(a, addr)
    w.results["E"] = entry
    k = w.k
    extra = [sometimes("E-claimed-not-cached", lambda w: _claimed_not_cached(w, entry)),
             sometimes("both-mapped", lambda w: "fault A" in w.results and "fault B" in
                       w.results)]
    return new_instance(w, [("A: fault", _fault(w, a, addr), Current(a, cpus[0])),
                            ("B: fault", _fault(w, b, addr), Current(b, cpus[1]))],
                        [*family_properties(k), *extra], execution=k.execution,
                        finish=drain, max_steps=3_000, name="preload-lockup", cpus=cpus)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("preload-lockup", "two swap-in faults of one entry on one CPU: the "
             "SWAP_HAS_CACHE owner sleeps in radix_tree_preload, the other busy-loops on "
             "-EEXIST (soft lockup; fixed by 31a5639623a4)", build_preload_lockup,
             kernel_options=True, default_kernel="2.6.31", strategy="dpor",
             tags=("kernel",)),
)
