"""The cover letter's claims about growth over time, decided by the simulator.

For ``swaplab claims``: each claim is a :class:`GrowthClaim`, the simulations it needs
(:class:`SimRun`, a few seconds of wall time each, independent of one another, so
``swaplab claims`` runs them in parallel with everything else) and the decision over their
results, a :class:`GrowthVerdict` with the command that reproduces it and the numbers.
Verdicts are "holds", "does not hold" or "partly". Each claim also has a function that
runs its simulations here and decides (``type1_memsw_kill_loop()`` and so on).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swaplab import interrupt
from swaplab.workload.sim import Result, simulate
from swaplab.workload.spec import BUILTINS

__all__ = ["GROWTH_CLAIMS", "GrowthClaim", "GrowthVerdict", "SimRun", "cache_only_pile_up",
           "orphans_bounded", "run_sim", "type1_memcg_unfreeable", "type1_memsw_kill_loop"]

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


#: Wall seconds per virtual CPU-second of each workload the claims run, as measured on a
#: 2-core machine (relative figures are what matter: they order the runs).
COST_PER_CPU_SECOND = {"move-and-rmdir": 2.2, "stale-swapcache-fast": 1.0, "swap-full": 0.9,
                       "swap-cycles": 0.3}


@dataclass(frozen=True, slots=True)
class SimRun:
    """One simulation a growth claim needs: a builtin workload on a kernel."""

    workload: str
    kernel: str
    patches: str | None
    seed: int
    seconds: float
    page_cluster: int | None = None
    cpus: int = 1

    @property
    def cost(self) -> float:
        """Its CPU cost, roughly, in seconds (for handing out the longest runs first)."""
        return self.seconds * self.cpus * COST_PER_CPU_SECOND.get(self.workload, 1.0)


def run_sim(run: SimRun) -> Result:
    """``run`` simulated (it ends early at a stop request: ``Result.stopped``)."""
    r = simulate(BUILTINS[run.workload], run.kernel, run.patches, seed=run.seed,
                 cpus=run.cpus, duration_ns=int(run.seconds * 1e9),
                 page_cluster=run.page_cluster, stop=interrupt.current())
    if r.error:
        raise RuntimeError(f"{run.workload} on {run.kernel}: {r.error}")
    return r


Runs = dict[str, SimRun]
Results = dict[str, Result]


@dataclass(frozen=True, slots=True)
class GrowthClaim:
    """A growth claim: ``runs(seed, seconds)`` names the simulations it needs (by label),
    ``decide(results, seed, seconds)`` gives the verdict from their results."""

    runs: Callable[[int, float], Runs]
    decide: Callable[[Results, int, float], GrowthVerdict]
    seed: int
    seconds: float

    def sims(self) -> Runs:
        return self.runs(self.seed, self.seconds)

    def verdict(self, results: Results) -> GrowthVerdict:
        return self.decide(results, self.seed, self.seconds)

    def __call__(self) -> GrowthVerdict:
        """Run the simulations here, one after another, and decide."""
        return self.verdict({label: run_sim(r) for label, r in self.sims().items()})


def _kill_loop_runs(seed: int, seconds: float) -> Runs:
    return {f"{kernel} pc={pc}": SimRun("stale-swapcache-fast", kernel, None, seed, seconds, pc)
            for kernel, pc in (("2.6.30", 3), ("2.6.30", 0), ("2.6.31", 3))}


def _kill_loop_verdict(runs: Results, seed: int, seconds: float) -> GrowthVerdict:
    """Type-1 leaks memsw on 2.6.30 (page-cluster 3) and not with page-cluster 0 nor on
    2.6.31, under Kamezawa's kill loop (the scaled-down variant: kills every 0.4 s)."""
    metric = "memsw_minus_usage_empty_groups"
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


def _unfreeable_runs(seed: int, seconds: float) -> Runs:
    return {f"{kernel} pc={pc}": SimRun("move-and-rmdir", kernel, None, seed, seconds, pc, 2)
            for kernel, pc in (("2.6.30", 3), ("2.6.30", 0), ("2.6.31", 3))}


def _unfreeable_verdict(runs: Results, seed: int, seconds: float) -> GrowthVerdict:
    """Nishimura: Type-1 makes struct mem_cgroup unfreeable after rmdir on 2.6.30, which
    page-cluster 0 avoids and 2.6.31 (4/5) fixes. Decided on ``move-and-rmdir`` (rounds:
    a new group every 0.4 s, the group two rounds old killed while the younger tasks fault
    with readahead, then removed) with 2 CPUs: ``unfreed_memcgs`` after each rmdir."""
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


def _pile_up_runs(seed: int, seconds: float) -> Runs:
    return {"2.6.30": SimRun("swap-cycles", "2.6.30", None, seed, seconds)}


def _pile_up_verdict(runs: Results, seed: int, seconds: float) -> GrowthVerdict:
    """Repeated swap-out/swap-in of a working set under a limit leaves cache-only slots
    (swap not full: do_swap_page keeps the slot of a page read back)."""
    r = runs["2.6.30"]
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


def _orphans_runs(seed: int, seconds: float) -> Runs:
    kernels: list[tuple[str, str | None]] = [("2.6.30", None), ("2.6.30", "1,2,4"),
                                             ("rfc-2009-05-26", None), ("2.6.31", None)]
    return {kernel + (f"+{patches}" if patches else ""):
            SimRun("swap-full", kernel, patches, seed, seconds) for kernel, patches in kernels}


def _orphans_verdict(runs: Results, seed: int, seconds: float) -> GrowthVerdict:
    """On a small swap device, orphaned cache-only slots grow on 2.6.30 and with 1+2+4
    alone; 5/5's GC (RFC) and the merged reuse (2.6.31) keep them bounded."""
    series = {label: r.series["orphan_swapcache_pages"] for label, r in runs.items()}

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


def type1_memsw_kill_loop(seed: int = 1, seconds: float = 2.0) -> GrowthVerdict:
    """The kill-loop claim (:func:`_kill_loop_verdict`), its runs simulated here."""
    return GrowthClaim(_kill_loop_runs, _kill_loop_verdict, seed, seconds)()


def type1_memcg_unfreeable(seed: int = 1, seconds: float = 4.0) -> GrowthVerdict:
    """The rmdir claim (:func:`_unfreeable_verdict`), its runs simulated here."""
    return GrowthClaim(_unfreeable_runs, _unfreeable_verdict, seed, seconds)()


def cache_only_pile_up(seed: int = 1, seconds: float = 6.0) -> GrowthVerdict:
    """The pile-up claim (:func:`_pile_up_verdict`), its run simulated here."""
    return GrowthClaim(_pile_up_runs, _pile_up_verdict, seed, seconds)()


def orphans_bounded(seed: int = 1, seconds: float = 8.0) -> GrowthVerdict:
    """The orphans claim (:func:`_orphans_verdict`), its runs simulated here."""
    return GrowthClaim(_orphans_runs, _orphans_verdict, seed, seconds)()


#: The growth claims of `swaplab claims`, with the seed and virtual seconds they run.
GROWTH_CLAIMS: dict[str, GrowthClaim] = {
    # 2 s: four kills; the leak on 2.6.30 is 0, 5, 11, 16 pages (5 s: 0 ... 24), none else
    "type1-memsw-kill-loop": GrowthClaim(_kill_loop_runs, _kill_loop_verdict, 1, 2.0),
    "cache-only-pile-up": GrowthClaim(_pile_up_runs, _pile_up_verdict, 1, 6.0),
    "orphans-bounded": GrowthClaim(_orphans_runs, _orphans_verdict, 1, 8.0),
    "type1-memcg-unfreeable": GrowthClaim(_unfreeable_runs, _unfreeable_verdict, 1, 4.0),
}
