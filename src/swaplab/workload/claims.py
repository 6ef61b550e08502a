"""The cover letter's claims about growth over time, decided by the simulator.

For ``swaplab claims``: each function runs the needed simulations (a few seconds
of wall time each) and returns a :class:`GrowthVerdict` with the command that reproduces
it and the numbers. Verdicts are "holds", "does not hold" or "partly".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swaplab import interrupt
from swaplab.workload.sim import Result, simulate
from swaplab.workload.spec import BUILTINS

__all__ = ["GROWTH_CLAIMS", "GrowthVerdict", "cache_only_pile_up", "orphans_bounded",
           "type1_memcg_unfreeable", "type1_memsw_kill_loop"]

PAGE = 4096


@dataclass(slots=True)
class GrowthVerdict:
    claim: str
    verdict: str
    command: str
    evidence: str
    data: dict[str, Any] = field(default_factory=dict)


def _grows(values: list[int]) -> bool:
    """Ends above where it started, went up at least twice and never down."""
    ups = sum(1 for a, b in itertools.pairwise(values) if b > a)
    downs = sum(1 for a, b in itertools.pairwise(values) if b < a)
    return bool(values) and values[-1] > values[0] and ups >= 2 and downs == 0


def _run(name: str, kernel: str, patches: str | None, seed: int, seconds: float,
         page_cluster: int | None = None, cpus: int = 1) -> Result:
    r = simulate(BUILTINS[name], kernel, patches, seed=seed, cpus=cpus,
                 duration_ns=int(seconds * 1e9), page_cluster=page_cluster,
                 stop=interrupt.current())
    if r.error:
        raise RuntimeError(f"{name} on {kernel}: {r.error}")
    return r


def type1_memsw_kill_loop(seed: int = 1, seconds: float = 5.0) -> GrowthVerdict:
    """Type-1 leaks memsw on 2.6.30 (page-cluster 3) and not with page-cluster 0 nor on
    2.6.31, under Kamezawa's kill loop (the scaled-down variant: kills every 0.4 s)."""
    metric = "memsw_minus_usage_empty_groups"
    runs = {"2.6.30 pc=3": _run("stale-swapcache-fast", "2.6.30", None, seed, seconds, 3),
            "2.6.30 pc=0": _run("stale-swapcache-fast", "2.6.30", None, seed, seconds, 0),
            "2.6.31 pc=3": _run("stale-swapcache-fast", "2.6.31", None, seed, seconds, 3)}
    gaps = {label: r.values_at(metric, "kill") for label, r in runs.items()}
    leak30 = _grows(gaps["2.6.30 pc=3"])
    small0 = max(gaps["2.6.30 pc=0"], default=0) * 4 <= max(gaps["2.6.30 pc=3"], default=0)
    clean31 = all(v == 0 for v in gaps["2.6.31 pc=3"])
    verdict = "holds" if leak30 and small0 and clean31 else \
        "partly" if (leak30 or clean31) else "does not hold"
    evidence = "; ".join(
        f"{label}: memsw-usage after kills {[v // PAGE for v in g]} pages" for label, g in
        gaps.items())
    return GrowthVerdict(
        "Type-1 leaks memsw on 2.6.30 under the kill loop, not with page-cluster 0, "
        "not on 2.6.31", verdict,
        f"swaplab simulate stale-swapcache-fast --compare 2.6.30,2.6.31 --seed {seed} "
        f"--duration {seconds:g}s", evidence, {"gaps": gaps})


def type1_memcg_unfreeable(seed: int = 1, seconds: float = 4.0) -> GrowthVerdict:
    """Nishimura: Type-1 makes struct mem_cgroup unfreeable after rmdir on 2.6.30, which
    page-cluster 0 avoids and 2.6.31 (4/5) fixes. Decided on ``move-and-rmdir`` (rounds:
    a new group every 0.4 s, the group two rounds old killed while the younger tasks fault
    with readahead, then removed) with 2 CPUs: ``unfreed_memcgs`` after each rmdir."""
    runs = {"2.6.30 pc=3": _run("move-and-rmdir", "2.6.30", None, seed, seconds, 3, 2),
            "2.6.30 pc=0": _run("move-and-rmdir", "2.6.30", None, seed, seconds, 0, 2),
            "2.6.31 pc=3": _run("move-and-rmdir", "2.6.31", None, seed, seconds, 3, 2)}
    unfreed = {label: r.values_at("unfreed_memcgs", "round") for label, r in runs.items()}
    orphans = {label: r.values_at("orphan_swapcache_pages", "round")
               for label, r in runs.items()}
    u30 = unfreed["2.6.30 pc=3"]
    leak30 = bool(u30) and u30[-1] >= 2 and all(b >= a for a, b in itertools.pairwise(u30))
    fewer0 = max(unfreed["2.6.30 pc=0"], default=0) * 2 <= max(u30, default=0)
    clean31 = all(v == 0 for v in unfreed["2.6.31 pc=3"])
    verdict = "holds" if leak30 and fewer0 and clean31 else \
        "partly" if (leak30 or clean31) else "does not hold"
    evidence = "; ".join(
        f"{label}: removed-but-unfreed memcgs after each rmdir {u} (orphan swap-cache pages "
        f"{orphans[label][-1] if orphans[label] else 0})" for label, u in unfreed.items())
    return GrowthVerdict(
        "Type-1 makes struct mem_cgroup unfreeable after rmdir on 2.6.30 (not on 2.6.31, "
        "fewer with page-cluster 0)", verdict,
        f"swaplab simulate move-and-rmdir --compare 2.6.30,2.6.31 --cpus 2 --seed {seed} "
        f"--duration {seconds:g}s (and --kernel 2.6.30 --page-cluster 0)", evidence,
        {"unfreed": unfreed, "orphans": orphans})


def cache_only_pile_up(seed: int = 1, seconds: float = 6.0) -> GrowthVerdict:
    """Repeated swap-out/swap-in of a working set under a limit leaves cache-only slots
    (swap not full: do_swap_page keeps the slot of a page read back)."""
    r = _run("swap-cycles", "2.6.30", None, seed, seconds)
    values = r.series["cache_only_slots"]
    working_set = BUILTINS["swap-cycles"].tasks[0].size // PAGE
    verdict = "holds" if max(values) > working_set // 4 else "does not hold"
    evidence = (f"cache-only slots over time {values[::max(1, len(values) // 8)]}, max "
                f"{max(values)} of a {working_set}-page working set; orphans "
                f"{max(r.series['orphan_swapcache_pages'])} (they are mapped pages' slots, "
                "bounded by the resident set, not a leak)")
    return GrowthVerdict("cache-only swap slots pile up after repeated swap-in/out", verdict,
                         f"swaplab simulate swap-cycles --kernel 2.6.30 --seed {seed} "
                         f"--duration {seconds:g}s", evidence, {"cache_only_slots": values})


def orphans_bounded(seed: int = 1, seconds: float = 8.0) -> GrowthVerdict:
    """On a small swap device, orphaned cache-only slots grow on 2.6.30 and with 1+2+4
    alone; 5/5's GC (RFC) and the merged reuse (2.6.31) keep them bounded."""
    kernels: list[tuple[str, str | None]] = [("2.6.30", None), ("2.6.30", "1,2,4"),
                                             ("rfc-2009-05-26", None), ("2.6.31", None)]
    series = {}
    for kernel, patches in kernels:
        label = kernel + (f"+{patches}" if patches else "")
        series[label] = _run("swap-full", kernel, patches, seed, seconds).series[
            "orphan_swapcache_pages"]

    def grows(v: list[int]) -> bool:
        third = max(1, len(v) // 3)
        return max(v[:third]) < min(v[-third:])

    grow = [grows(series["2.6.30"]), grows(series["2.6.30+1,2,4"])]
    bounded = [not grows(series[k]) and max(series[k]) * 2 <= series["2.6.30"][-1]
               for k in ("rfc-2009-05-26", "2.6.31")]
    verdict = "holds" if all(grow) and all(bounded) else \
        "partly" if any(grow) or any(bounded) else "does not hold"
    evidence = "; ".join(f"{k}: orphans final {v[-1]} max {max(v)}" for k, v in series.items())
    return GrowthVerdict(
        "orphaned swap-cache slots grow on 2.6.30 and with 1/5+2/5+4/5 alone; 5/5 or the "
        "merged reuse keeps them bounded", verdict,
        f"swaplab simulate swap-full --compare 2.6.30,2.6.30:1+2+4,rfc-2009-05-26,2.6.31 "
        f"--seed {seed} --duration {seconds:g}s", evidence, {"orphans": series})


GROWTH_CLAIMS: dict[str, Callable[..., GrowthVerdict]] = {
    "type1-memsw-kill-loop": type1_memsw_kill_loop,
    "cache-only-pile-up": cache_only_pile_up,
    "orphans-bounded": orphans_bounded,
    "type1-memcg-unfreeable": type1_memcg_unfreeable,
}
