"""`swaplab claims`: every claim of the cover letter, decided by runs of the explorer.

Each claim is a list of checks (scenario, kernel or patch set, page-cluster, the property
family) explored exhaustively with dpor (each family on its own, since a run stops at its
first failing property); the verdict follows from which checks found a violation and
whether every exploration was complete. Claims about growth over time need the workload
simulator and are marked so.
"""

from __future__ import annotations

import functools
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from swaplab import interrupt, native
from swaplab.cache import ResultCache
from swaplab.explore.backend import Done, InProcess, LocalPool
from swaplab.explore.execution import Event
from swaplab.explore.explorer import explore
from swaplab.explore.search import Options
from swaplab.scenarios.api import ScenarioOptions
from swaplab.scenarios.kernel_common import checking
from swaplab.scenarios.registry import get_scenario


@dataclass(frozen=True, slots=True)
class Check:
    """One exploration: ``expect`` is True when the claim needs a violation found."""

    scenario: str
    family: str
    expect: bool
    kernel: str | None = None
    patches: tuple[str, ...] | None = None
    page_cluster: int | None = None
    extra: str = ""  # "" or a claim property (kernel_common.CLAIM_PROPERTIES)
    fixes: tuple[str, ...] = ()  # later fixes on top of the kernel (config.FIXES ids)
    strategy: str = "dpor"
    #: a preemption bound: the check is complete within it (every schedule with at most
    #: that many preemptions), not exhaustive
    bound: int | None = None
    first: bool = False  # stop at the first finding

    @property
    def search(self) -> str:
        """The search, as the evidence names it."""
        if self.bound is None:
            return self.strategy
        return f"{self.strategy} within preemption bound {self.bound}"

    def options(self) -> ScenarioOptions:
        return ScenarioOptions(self.kernel, self.patches, self.page_cluster, fixes=self.fixes)

    def command(self) -> str:
        cmd = f"swaplab check {self.scenario}"
        if self.patches is not None:
            cmd += f" --patches {','.join(self.patches)}"
        else:
            cmd += f" --kernel {self.kernel}"
        if self.fixes:
            cmd += f" --fixes {','.join(self.fixes)}"
        if self.page_cluster is not None:
            cmd += f" --page-cluster {self.page_cluster}"
        if self.strategy != "dpor":
            cmd += f" --strategy {self.strategy}"
        if self.bound is not None:
            cmd += f" --preemption-bound {self.bound}"
        if self.first:
            cmd += " --first"
        # one property, in one process: the same exploration as the claim's, run alone
        return f"{cmd} --property {self.extra or self.family} --jobs 1"


@dataclass(slots=True)
class Outcome:
    check: Check
    found: bool
    complete: bool
    executions: int
    message: str = ""
    schedule: str = ""
    trace: list[Any] = field(default_factory=list)
    stopped: str | None = None  # the exploration was cut by a stop request


@dataclass(frozen=True, slots=True)
class Claim:
    claim: str
    checks: tuple[Check, ...]
    #: verdict from outcomes; default: all as expected -> holds, none -> does not hold
    decide: Callable[[list[Outcome]], tuple[str, str]] | None = None
    undecided: str = ""
    note: str = ""


def run_check(check: Check) -> Outcome:
    scenario = get_scenario(check.scenario)
    name = check.extra or check.family
    model = checking(scenario.model(check.options()), name)
    result = explore(model, Options(strategy=check.strategy, preemption_bound=check.bound,
                                   max_steps=scenario.max_steps, shrink=False,
                                   stop_on_first=check.first))
    hits = [f for f in [*result.findings, *result.notes] if f.property == name]
    complete = result.stats.complete
    if check.bound is not None:  # within the bound: nothing but the bound cut the search
        complete = result.stopped is None and result.stats.cut == 0
    out = Outcome(check, bool(hits), complete, result.stats.executions,
                  stopped=result.stopped)
    if hits:
        f = hits[0]
        out.message = f.message
        if f.schedule is not None:
            from swaplab.scenarios import format_spec

            out.schedule = format_spec(check.scenario, check.options(), list(f.schedule))
        out.trace = list(f.trace)
    return out


def _default(outcomes: list[Outcome]) -> tuple[str, str]:
    good = [o.found == o.check.expect and (o.found or o.complete) for o in outcomes]
    if all(good):
        return "holds", ""
    if any(good):
        return "partly", ""
    return "does not hold", ""


def _entry_free_value(outcomes: list[Outcome]) -> tuple[str, str]:
    values = []
    for o in outcomes:
        vals = [e.detail for e in o.trace
                if e.function == "swap_entry_free()" and e.thread.startswith("A")]
        values.append(f"{o.check.kernel}: A's swap_entry_free() {vals[0] if vals else '?'}")
    return "does not hold", ("; ".join(values) + " — 2.6.30 returns 1 (the swap cache's "
                             "own reference); the [31] count part is 0 (value 0x8000)")


def _page_cluster(outcomes: list[Outcome]) -> tuple[str, str]:
    ra = [o for o in outcomes if o.check.scenario == "type1"]
    zap = [o for o in outcomes if o.check.scenario == "swapin-vs-zap"]
    munmap = [o for o in outcomes if o.check.scenario == "swapin-vs-munmap"]
    ra_ok = all(not o.found and o.complete for o in ra)
    munmap_ok = all(not o.found and o.complete for o in munmap)
    if ra_ok and munmap_ok and any(o.found for o in zap):
        return "partly", ("the readahead race is gone with page-cluster 0, but a swap-in "
                          "fault racing madvise(MADV_DONTNEED) of the same pte by another "
                          "thread of the process (both hold mmap_sem for read: "
                          "swapin-vs-zap) leaves the same stale record and orphan; munmap "
                          "cannot race the fault (mmap_sem for write: swapin-vs-munmap)")
    return ("holds", "") if ra_ok and munmap_ok else ("does not hold", "")


def _has_cache(outcomes: list[Outcome]) -> tuple[str, str]:
    during = [o for o in outcomes if o.check.extra == "has-cache-has-page"]
    at_rest = [o for o in outcomes if o.check.extra != "has-cache-has-page"]
    if any(o.found for o in during) and all(not o.found and o.complete for o in at_rest):
        return "partly", ("at rest swap_map == SWAP_HAS_CACHE is exact, but in the "
                          "add/delete windows the bit is set with no page in the tree "
                          "(readahead spins on -EEXIST there)")
    return _default(outcomes)


P124 = ("1", "2", "4")
#: Verdicts that decide nothing (never cached).
UNDECIDED_PREFIXES = ("not decided", "not yet decided")
NO_GROWTH_WITH_FIXES = "the growth claims compare the presets (run without --fixes)"
UNDECIDED_TEXT = "not yet decided: needs the workload simulator (growth over time)"

def _later_fix(fix: str, scenario: str, claim: str) -> Claim:
    """A bug fixed after the series: ``scenario`` soft-locks on 2.6.31, not with ``fix``."""
    return Claim(f"(after the series) {fix}: {claim}",
                 (Check(scenario, "soft-lockup", True, "2.6.31"),
                  Check(scenario, "soft-lockup", False, "2.6.31", fixes=(fix,))))


#: The swap-in race's fixes (kernel/config.py: SWAPIN_RACE, SWAPIN_RACE_FURTHER).
SWAPIN_FIXES = ("4969c1192d15", "31c4a3d3a0f8")
#: The bound of the swap-in race's checks: the exhaustive search (the scenario's own,
#: unbounded) takes a minute; every schedule with one preemption already has the race.
ABA_BOUND = 1


def _aba(expect: bool, fixes: tuple[str, ...]) -> Check:
    """A check of swapin-aba on 2.6.31: stateful dfs within :data:`ABA_BOUND`."""
    return Check("swapin-aba", "data-integrity", expect, "2.6.31", fixes=fixes,
                 strategy="dfs-cached", bound=ABA_BOUND, first=expect)


CLAIMS: tuple[Claim, ...] = (
    Claim("Type-1 (exit vs swap-in readahead) exists in 2.6.30",
          (Check("type1", "memcg-accounting", True, "2.6.30"),
           Check("type1", "memcg-lru-visibility", True, "2.6.30"),
           Check("type1", "mem_cgroup-refcnt", True, "2.6.30"))),
    Claim("Type-1 is avoided with /proc/sys/vm/page-cluster = 0",
          (Check("type1", "memcg-accounting", False, "2.6.30", page_cluster=0),
           Check("type1", "memcg-lru-visibility", False, "2.6.30", page_cluster=0),
           Check("swapin-vs-zap", "memcg-accounting", False, "2.6.30", page_cluster=0),
           Check("swapin-vs-munmap", "memcg-accounting", False, "2.6.30", page_cluster=0)),
          _page_cluster),
    Claim("Type-2 (exit vs swap-out) exists in 2.6.30",
          (Check("type2", "memcg-lru-visibility", True, "2.6.30"),
           Check("type2", "swap-slot-leak", True, "2.6.30"))),
    Claim("2/5 lets the kernel know 'only swap cache, no reference' without find_get_page()",
          (Check("type1", "", True, patches=("1", "2"), extra="has-cache-has-page"),
           Check("type1", "", False, patches=("1", "2"), extra="has-cache-exact-at-end"),
           Check("type2", "", False, patches=("1", "2"), extra="has-cache-exact-at-end"),
           Check("swapin-reuse", "", False, patches=("1", "2"),
                 extra="has-cache-exact-at-end")),
          _has_cache),
    Claim("3/5's counter always equals the number of cache-only slots",
          (Check("type1", "", False, "rfc-2009-05-26", extra="cache-only-counter"),
           Check("type2", "", False, "rfc-2009-05-26", extra="cache-only-counter"),
           Check("add-to-swap-vs-readahead", "", False, "rfc-2009-05-26",
                 extra="cache-only-counter"))),
    Claim("4/5 fixes Type-1's accounting (memsw and the mem_cgroup refcnt)",
          (Check("type1", "memcg-accounting", False, patches=P124),
           Check("type1", "mem_cgroup-refcnt", False, patches=P124))),
    Claim("4/5 alone leaves Type-2's (and Type-1's) orphaned swap slots",
          (Check("type2", "swap-slot-leak", True, patches=P124),
           Check("type1", "swap-slot-leak", True, patches=P124))),
    Claim("5/5 reclaims the orphaned cache-only slots",
          (Check("type2", "swap-slot-leak", False, "rfc-2009-05-26"),
           Check("type1", "swap-slot-leak", False, "rfc-2009-05-26")),
          note="the GC work is run once on each final state; its trigger (vm_swap_full() "
               "and more than 4096 cache-only slots) is not reached by a tiny scenario and "
               "is not decided here"),
    Claim("the merged 2.6.31 is clean of both accounting leaks",
          (Check("type1", "memcg-accounting", False, "2.6.31"),
           Check("type1", "mem_cgroup-refcnt", False, "2.6.31"),
           Check("type2", "memcg-accounting", False, "2.6.31"),
           Check("type1", "swap-slot-leak", False, "2.6.31"),
           Check("type2", "swap-slot-leak", False, "2.6.31")),
          note="slots: the merged reuse (__try_to_reclaim_swap, as scan_swap_map calls it "
               "while vm_swap_full()) is run on each cache-only slot of the final state"),
    Claim("(not claimed; for completeness) 2.6.31 also prevents the orphan swap-cache "
          "page itself (unmapped, uncharged, on no memcg LRU)",
          (Check("type1", "memcg-lru-visibility", False, "2.6.31"),
           Check("type2", "memcg-lru-visibility", False, "2.6.31"))),
    Claim("cover letter: in Type-1 swap_entry_free() == 0",
          (Check("type1", "memcg-accounting", True, "2.6.30"),
           Check("type1", "memcg-lru-visibility", True, "2.6.31")),
          _entry_free_value),
    _later_fix("31a5639623a4", "preload-lockup",
               "in 2.6.31 a readahead spinning on -EEXIST starves the HAS_CACHE owner asleep "
               "in radix_tree_preload() on the same CPU (soft lockup); the fix, preloading "
               "before swapcache_prepare(), removes it"),
    _later_fix("cbab0e4eec29", "discard-lockup",
               "in 2.6.31 the same spin starves reclaim's add_to_swap() asleep in "
               "scan_swap_map()'s discard on the same CPU; the fix, cond_resched() in the "
               "-EEXIST loop, removes it"),
    Claim("(after the series) 4969c1192d15 + 31c4a3d3a0f8: in 2.6.31 a swap-in fault that "
          "waited for the page lock maps a page whose entry was freed and reused meanwhile "
          "(a thread reads its parent's data); 4969c1192d15 alone leaves it, the two "
          "together remove it",
          (_aba(True, ()), _aba(True, SWAPIN_FIXES[:1]), _aba(False, SWAPIN_FIXES)),
          note=f"within preemption bound {ABA_BOUND}; the unbounded search is the "
               "scenario's own: `swaplab check swapin-aba --kernel 2.6.31 --fixes "
               f"{','.join(SWAPIN_FIXES)}` (dfs-cached, exhaustive)"),
    Claim("after repeated swap-in/out there are tons of cache-only swaps; Type-1 makes "
          "memsw.usage grow without bound", (),
          undecided=UNDECIDED_TEXT),
)


def with_fixes(check: Check, fixes: tuple[str, ...]) -> Check:
    """``check`` with the later ``fixes`` added to its own."""
    return replace(check, fixes=tuple(sorted({*check.fixes, *fixes}))) if fixes else check


def decide(claim: Claim, fixes: tuple[str, ...] = ()) -> dict[str, Any]:
    """A claim's row; ``fixes`` go on top of every check's kernel (`claims --fixes`). The
    checks run here, one after another, up to the first one stopped."""
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    for check in claim.checks:
        outcomes.append(run_check(with_fixes(check, fixes)))
        if outcomes[-1].stopped is not None:
            break
    return claim_row(claim, outcomes, time.perf_counter() - start)


def claim_row(claim: Claim, outcomes: list[Outcome], seconds: float) -> dict[str, Any]:
    """A claim's row from the outcomes of its checks (those run: a stopped one ends the
    list), which took ``seconds``."""
    if not claim.checks:
        return {"claim": claim.claim, "verdict": claim.undecided, "command": "",
                "evidence": {"executions": 0, "checks": []}}
    stopped = next((o.stopped for o in outcomes if o.stopped is not None), None)
    if stopped is not None:
        verdict, note = f"not decided: {stopped}", "the checks run so far are listed"
    else:
        verdict, note = (claim.decide or _default)(outcomes)
    note = "; ".join(n for n in (note, claim.note) if n)
    checks = []
    for o in outcomes:
        c = o.check
        checks.append({
            "command": c.command(),
            "property": c.extra or c.family,
            "expected": "found" if c.expect else "not found",
            "result": "found" if o.found else ("clean" if o.complete else "incomplete"),
            "executions": o.executions,
            "search": c.search,
            "message": o.message,
            "schedule": o.schedule,
        })
    return {
        "claim": claim.claim,
        "verdict": verdict,
        "command": "; ".join(dict.fromkeys(str(c["command"]) for c in checks)),
        "evidence": {"executions": sum(o.executions for o in outcomes),
                     "complete": all(o.complete or o.found for o in outcomes),
                     "note": note, "checks": checks,
                     "seconds": round(seconds, 2)},
    }


def _undecided(claim: str, reason: str) -> dict[str, Any]:
    """The row of a claim not decided because the command was stopped."""
    return {"claim": claim, "verdict": f"not decided: {reason}", "command": "",
            "evidence": {"executions": 0, "checks": []}}


def _growth_row(name: str, results: dict[str, Any], seconds: float) -> dict[str, Any]:
    """One growth claim decided by the workload simulator from its runs' ``results``."""
    from swaplab.workload.claims import GROWTH_CLAIMS

    v = GROWTH_CLAIMS[name].verdict(results)
    return {"claim": v.claim, "verdict": v.verdict, "command": v.command,
            "evidence": {"source": "workload simulator", "note": v.evidence,
                         "executions": 0, "checks": [],
                         "seconds": round(seconds, 2)}}


def _growth_names() -> list[str]:
    try:
        from swaplab.workload.claims import GROWTH_CLAIMS
    except ImportError:  # no simulator
        return []
    return list(GROWTH_CLAIMS)


def _with_reason(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A worker knows that the command stopped, this process knows why (a signal or the
    budget): the undecided rows name the reason."""
    reason = interrupt.reason()
    if reason is not None:
        for row in rows:
            if row["verdict"].startswith("not decided: "):
                row["verdict"] = f"not decided: {reason}"
    return rows


Item = tuple[str, str, tuple[str, ...]]
#: One unit of work for a worker: ("check", a Check) or ("sim", a workload SimRun).
Unit = tuple[str, Any]


def _unit(unit: Unit) -> tuple[Any, float] | None:
    """A worker's call: the unit's outcome (an explored check's :class:`Outcome`, a
    simulation's Result) and its seconds; None when the command was stopped first."""
    if interrupt.reason() is not None:
        return None
    kind, what = unit
    start = time.perf_counter()
    if kind == "check":
        outcome = run_check(what)
        return _portable(outcome), time.perf_counter() - start
    from swaplab.workload.claims import run_sim

    return run_sim(what), time.perf_counter() - start


def _portable(outcome: Outcome) -> Outcome:
    """``outcome`` with its trace as tuples: a worker may run the compiled model, whose
    classes pickle differently from the plain ones (:mod:`swaplab.native`), so only
    plain values cross between processes (:func:`_restored` makes the events again)."""
    outcome.trace = [(e.step, e.thread, e.function, e.detail) for e in outcome.trace]
    return outcome


def _restored(outcome: Outcome, check: Check) -> Outcome:
    """A worker's :func:`_portable` outcome as ``check``'s, its trace events again."""
    return replace(outcome, check=check, trace=[Event(*e) for e in outcome.trace])


def _units(item: Item) -> list[Unit]:
    """The units a row needs: a claim's checks (with the later fixes) or a growth claim's
    simulations."""
    kind, name, fixes = item
    if kind == "explore":
        claim = next(c for c in CLAIMS if c.claim == name)
        return [("check", with_fixes(check, fixes)) for check in claim.checks]
    from swaplab.workload.claims import GROWTH_CLAIMS

    return [("sim", run) for run in GROWTH_CLAIMS[name].sims().values()]


def _items(grown: list[str], fixes: tuple[str, ...]) -> list[Item]:
    """The rows to decide: the growth claims ``grown`` (no fixes), then every claim the
    explorer decides, with ``fixes``."""
    items: list[Item] = [("growth", name, ()) for name in grown]
    return items + [("explore", c.claim, fixes) for c in CLAIMS if c.checks]


def _exploration(unit: Unit) -> Unit:
    """What running ``unit`` computes: a check's outcome does not depend on what its claim
    expects (one row expects a finding of the exploration another expects clean), unless
    the check stops at its first finding."""
    kind, what = unit
    if kind == "check" and not what.first:
        return kind, replace(what, expect=False)
    return unit


def _by_cost(units: list[Unit]) -> list[Unit]:
    """Each exploration and simulation once, the longest first (simulations by their
    cost, then the checks in the claims' order): the workers stay busy to the end."""
    unique = list(dict.fromkeys(_exploration(unit) for unit in units))
    sims = sorted((u for u in unique if u[0] == "sim"), key=lambda u: -u[1].cost)
    return sims + [u for u in unique if u[0] != "sim"]


def _assemble(item: Item, done: dict[Unit, tuple[Any, float] | None]) -> dict[str, Any]:
    """A row from its units' results; undecided when one of them was not run."""
    kind, name, _ = item
    units = _units(item)
    results = [done[_exploration(unit)] for unit in units]
    if any(r is None for r in results):
        return _undecided(name, "stopped")
    seconds = sum(r[1] for r in results if r is not None)
    values = [r[0] for r in results if r is not None]
    if kind == "explore":
        claim = next(c for c in CLAIMS if c.claim == name)
        outcomes = [_restored(o, unit[1]) for o, unit in zip(values, units, strict=True)]
        return claim_row(claim, outcomes, seconds)
    if any(v.stopped is not None for v in values):  # a run ended early at a stop
        return _undecided(name, "stopped")
    from swaplab.workload.claims import GROWTH_CLAIMS

    labels = GROWTH_CLAIMS[name].sims()
    return _growth_row(name, dict(zip(labels, values, strict=True)), seconds)


def _decided(items: list[Item], jobs: int,
             progress: UnitsDone | None = None) -> list[dict[str, Any]]:
    """The rows of ``items``, their units (each distinct check or simulation once) run on
    ``jobs`` local processes, the longest first, each one told to ``progress``."""
    units = _by_cost([unit for item in items for unit in _units(item)])
    heard = None
    if progress is not None:
        progress(0, len(units))
        heard = functools.partial(_told, progress, len(units))
    done = _run_units(units, jobs, heard)
    return _with_reason([_assemble(item, done) for item in items])


def _run_units(units: list[Unit], jobs: int, heard: Done | None
               ) -> dict[Unit, tuple[Any, float] | None]:
    """Each unit's result, computed on ``jobs`` processes. When this source is built
    (:mod:`swaplab.native`), the workers run the compiled model, and the checks whose
    strategy fingerprints states (it reads frames) run here, plain, beside them."""
    if jobs <= 1 or native.active() or not (native.wanted() and native.built()):
        return dict(zip(units, LocalPool(jobs).map(_unit, units, heard), strict=True))
    here = [u for u in units if u[0] == "check" and u[1].strategy in native.FINGERPRINTING]
    there = [u for u in units if u not in here]
    count = _Count(heard)
    with ThreadPoolExecutor(1) as plain:
        pending = plain.submit(InProcess().map, _unit, here, count.part())
        results = LocalPool(jobs, native=True).map(_unit, there, count.part())
        results += pending.result()
    return dict(zip(there + here, results, strict=True))


class _Count:
    """Adds up the units done by several maps running at once, for one ``heard``."""

    def __init__(self, heard: Done | None) -> None:
        self.heard = heard
        self.parts: list[int] = []
        self.lock = threading.Lock()

    def part(self) -> Done | None:
        """A callback for one map (each tells its own total so far)."""
        if self.heard is None:
            return None
        index = len(self.parts)
        self.parts.append(0)

        def told(finished: int) -> None:
            with self.lock:
                self.parts[index] = finished
                total = sum(self.parts)
            assert self.heard is not None
            self.heard(total)

        return told


#: Hears the units (checks and simulations) done so far, out of all: ``(done, total)``.
UnitsDone = Callable[[int, int], None]


def _cached_rows(items: list[Item], jobs: int, cache: ResultCache | None,
                 progress: UnitsDone | None = None) -> dict[Item, dict[str, Any]]:
    """Each item's row: from ``cache`` when this code version decided it before, else
    computed on ``jobs`` processes (and stored once decided), told to ``progress``."""
    done: dict[Item, dict[str, Any]] = {}
    for item in items:
        row = cache.get(repr(item)) if cache is not None else None
        if row is not None:
            done[item] = {**row, "cached": True}
    todo = [item for item in items if item not in done]
    rows = _decided(todo, jobs, progress) if todo else []
    for item, row in zip(todo, rows, strict=True):
        done[item] = {**row, "cached": False}
        if cache is not None and not row["verdict"].startswith(UNDECIDED_PREFIXES):
            cache.put(repr(item), row)
    return done


def _told(progress: UnitsDone, total: int, done: int) -> None:
    progress(done, total)


def all_claims(growth: bool = True, jobs: int = 2, fixes: tuple[str, ...] = (),
               cache: ResultCache | None = None, progress: UnitsDone | None = None
               ) -> list[dict[str, Any]]:
    """Every claim: the explorer's rows, then the growth claims (simulator) or, without
    ``growth`` or without a simulator, one row saying they are not decided. The rows'
    checks and simulations run on ``jobs`` local processes (:mod:`swaplab.explore.backend`),
    each distinct one once, the longest first; at a stop the rows not decided say so.
    With later ``fixes`` every exploration runs with them on top of its kernel; the growth
    claims compare the presets themselves, so they are left undecided then. With
    ``cache``, a row this code version decided before is read back (``"cached": true``)
    and a new decision is stored. ``progress`` hears the checks and simulations done so
    far out of those the rows not read back need.
    """
    names = _growth_names() if growth else []
    grown = [] if fixes else names
    none: tuple[str, ...] = ()
    done = _cached_rows(_items(grown, fixes), jobs, cache, progress)
    rows = [done[("explore", c.claim, fixes)] for c in CLAIMS if c.checks]
    rows += [done[("growth", n, none)] for n in grown]
    rows += [_undecided(n, NO_GROWTH_WITH_FIXES) for n in names if fixes]
    if names:
        return rows
    return rows + [decide(c) for c in CLAIMS if not c.checks]


#: ANSI colours of the verdicts on a terminal.
_COLOURS = {"holds": "32", "partly": "33", "does not hold": "31"}


def _evidence(row: dict[str, Any]) -> str:
    """One line of evidence for the summary."""
    ev = row["evidence"]
    cached = " (cached)" if row.get("cached") else ""
    if ev.get("source"):
        return f"{ev['source']}, {ev['seconds']} s{cached}"
    if not ev["checks"]:
        verdict: str = row["verdict"]
        return verdict.partition(": ")[2] or verdict
    checks = len(ev["checks"])
    return (f"{ev['executions']} executions in {checks} check{'s' if checks > 1 else ''} "
            f"({_searches(row)}){cached}")


def _searches(row: dict[str, Any]) -> str:
    """The searches of a row's checks and whether they were complete."""
    ev = row["evidence"]
    kind = "exhaustive" if ev.get("complete") else "incomplete"
    searches = dict.fromkeys(str(c.get("search", "dpor")) for c in ev["checks"])
    sep = "; " if len(searches) > 1 else ", "
    return f"{', '.join(searches)}{sep}{kind}"


def render_summary(rows: list[dict[str, Any]], colour: bool = False) -> str:
    """A line per claim (number, verdict, claim), then its evidence in one line."""
    out = []
    for i, row in enumerate(rows, 1):
        verdict = row["verdict"].partition(":")[0]
        shown = f"{verdict:<15}"
        code = _COLOURS.get(verdict, "2")
        if colour:
            shown = f"\x1b[{code}m{shown}\x1b[0m"
        claim = textwrap.wrap(row["claim"], 80) or [""]
        out.append(f"{i:2}. {shown} {claim[0]}")
        out.extend(f"{'':20}{line}" for line in claim[1:])
        out.extend(textwrap.wrap(_evidence(row), 100, initial_indent=" " * 20,
                                 subsequent_indent=" " * 22))
    return "\n".join(out) + "\n"


def render(rows: list[dict[str, Any]], verbose: bool = False, colour: bool = False) -> str:
    """The summary; with ``verbose``, every check of every claim after it."""
    summary = render_summary(rows, colour)
    return summary + ("\n" + render_details(rows) if verbose else "")


def render_details(rows: list[dict[str, Any]]) -> str:
    out = []
    for i, row in enumerate(rows, 1):
        ev = row["evidence"]
        out.append(f"{i:2}. {row['claim']}")
        out.append(f"    verdict: {row['verdict']}")
        if row["command"]:
            out.append(f"    command: {row['command']}")
        if ev.get("source"):
            out.append(f"    evidence ({ev['source']}, {ev['seconds']} s): {ev['note']}")
            continue
        out.append(f"    evidence: {ev['executions']} executions ({_searches(row)})")
        for c in ev["checks"]:
            line = (f"      - {c['property']} on `{c['command']}`: {c['result']} "
                    f"(expected {c['expected']}; {c['executions']} executions)")
            out.append(line)
            if c["message"]:
                out.append(textwrap.fill(c["message"], 100, initial_indent=" " * 10,
                                         subsequent_indent=" " * 10))
            if c["schedule"]:
                out.append(f"          schedule {c['schedule']}")
        if ev.get("note"):
            out.append(f"    note: {ev['note']}")
    return "\n".join(out) + "\n"
