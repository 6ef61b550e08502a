"""Explorer benchmark: dfs vs dpor, replay speed, and --jobs 2 against one process.

Run: python benchmarks/explore.py [--quick] [--json]

For each tiny model and two kernel scenarios (``type2``, ``swapin-vs-zap``) it
prints, side by side: executions and steps under dfs and dpor and their ratio, the number
of Mazurkiewicz traces (distinct orderings of conflicting steps, counted from the dfs runs
on the tiny models) that dpor must not exceed; the replay speed in model steps per second;
and the wall time of one process against ``--jobs 2`` (the path ``swaplab check --jobs 2``
takes: a quarter of a second in this process, then the workers) on a search of over ten
seconds (``type2 --kernel 2.6.31 --strategy dfs``: 21,882 executions), and against the
default jobs on a tiny check (which must stay in this process). ``--jobs-only``: only
that part.

``--snapshot-only``: what starting every execution from a copy of the prepared machine
buys (scenarios/kernel_common.py: prepared): per kernel scenario the cost of its setup,
of ``copy.deepcopy`` and of unpickling its result, and the executions per second of dpor
on type1 and type2 (2.6.31) with every run set up again against every run unpickled.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "explore"))

from swaplab.explore.backend import LocalPool
from swaplab.explore.explorer import explore
from swaplab.explore.model import Model
from swaplab.explore.parallel import explore_jobs
from swaplab.explore.replay import replay
from swaplab.explore.runner import RunResult
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Options
from swaplab.scenarios import ScenarioOptions, all_scenarios

TINY = ["tiny-independent-4", "tiny-independent-6", "tiny-lost-update", "tiny-locked-counter",
        "tiny-abba", "tiny-io", "tiny-choice"]
# type1 under plain dfs runs for tens of minutes (no reduction); type2 and swapin-vs-zap
# finish under both strategies, so their ratio is measured exactly.
KERNEL = ["type2", "swapin-vs-zap"]


def runs_of(model: Model, strategy: str) -> tuple[Any, list[list[Decision]]]:
    runs: list[list[Decision]] = []

    def keep(result: RunResult) -> None:
        if not result.abandoned:
            runs.append(list(result.decisions))

    result = explore(model, Options(strategy=strategy, shrink=False, fingerprints=False),
                     on_result=keep)
    return result, runs


def traces(model: Model, runs: list[list[Decision]]) -> int:
    from explore_helpers import trace_class

    return len({trace_class(model, run) for run in runs})


def replay_speed(model: Model, schedule: list[Decision], seconds: float) -> float:
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(50):
            steps += len(replay(model, schedule, trace=False).decisions)
    return steps / (time.perf_counter() - started)


def reduction(names: list[str], count_traces: bool) -> list[dict[str, Any]]:
    rows = []
    scenarios = all_scenarios()
    for name in names:
        if name not in scenarios:
            continue
        model = scenarios[name].model()
        dfs, dfs_runs = runs_of(model, "dfs")
        dpor, dpor_runs = runs_of(model, "dpor")
        rows.append({
            "scenario": name,
            "dfs_executions": dfs.stats.executions, "dfs_steps": dfs.stats.steps,
            "dpor_executions": dpor.stats.executions, "dpor_steps": dpor.stats.steps,
            "ratio": round(dfs.stats.executions / max(1, dpor.stats.executions), 1),
            "traces": traces(model, dfs_runs) if count_traces else None,
            "dpor_complete_runs": len(dpor_runs),
        })
    return rows


def speedup(name: str, options: Options, kernel: str | None = None) -> dict[str, Any]:
    model = all_scenarios()[name].model(ScenarioOptions(kernel))
    started = time.perf_counter()
    one = explore(model, options)
    t1 = time.perf_counter() - started
    started = time.perf_counter()
    two = explore_jobs(model, options, LocalPool(2), 2)
    t2 = time.perf_counter() - started
    return {"scenario": name + (f" {kernel}" if kernel else ""), "strategy": options.strategy,
            "executions_1": one.stats.executions, "executions_2": two.stats.executions,
            "workers": two.stats.workers,
            "seconds_1": round(t1, 3), "seconds_2": round(t2, 3),
            "speedup": round(t1 / t2, 2) if t2 > 0 else None,
            "same_findings": [f.property for f in one.findings] ==
                             [f.property for f in two.findings]}


def tiny_default(name: str, repeat: int = 20) -> dict[str, Any]:
    """A tiny check with the default jobs (all cores) against one process: the time of a
    check of it (best of ``repeat``) and the executions of each."""
    model = all_scenarios()[name].model()
    times: dict[str, float] = {}
    runs = {}
    for label, run in (("one", lambda: explore(model, Options(shrink=False))),
                       ("default", lambda: explore_jobs(model, Options(shrink=False),
                                                        LocalPool(os.cpu_count() or 1),
                                                        os.cpu_count() or 1))):
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            runs[label] = run()
            best = min(best, time.perf_counter() - started)
        times[label] = best
    return {"scenario": name, "ms_one": round(times["one"] * 1e3, 3),
            "ms_default_jobs": round(times["default"] * 1e3, 3),
            "ratio": round(times["default"] / times["one"], 2),
            "executions_one": runs["one"].stats.executions,
            "executions_default_jobs": runs["default"].stats.executions,
            "workers": runs["default"].stats.workers}


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def calibration() -> float:
    """The speed-up two processes get on pure Python work here (what --jobs 2 can reach)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = 3_000_000
    started = time.perf_counter()
    _burn(n)
    _burn(n)
    one = time.perf_counter() - started
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(_burn, [10, 10]))
        started = time.perf_counter()
        list(pool.map(_burn, [n, n]))
        two = time.perf_counter() - started
    return round(one / two, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter measurements")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--jobs-only", action="store_true", help="only --jobs against one")
    parser.add_argument("--snapshot-only", action="store_true",
                        help="only the prepared-state copies against setting up again")
    args = parser.parse_args()
    if args.snapshot_only:
        snap = snapshot_section()
        print(json.dumps(snap, indent=2) if args.json else render_snapshot(snap))
        return
    seconds = 0.5 if args.quick else 2.0
    if args.jobs_only:
        jobs = jobs_section(args.quick)
        print(json.dumps(jobs, indent=2) if args.json else render_jobs(jobs))
        return
    out: dict[str, Any] = {"reduction": reduction(TINY, True) + reduction(KERNEL, False)}
    scenarios = all_scenarios()
    speeds = []
    for name in ["tiny-ordering-20", "tiny-independent-6", "tiny-lost-update"]:
        model = scenarios[name].model()
        schedule = replay(model, [], trace=False, finish=True).decisions
        speeds.append({"scenario": name, "steps_per_run": len(schedule),
                       "replay_steps_per_second": round(replay_speed(model, schedule,
                                                                     seconds))})
    out["replay"] = speeds
    out.update(jobs_section(args.quick))
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print("dfs vs dpor (executions, steps; traces = distinct orderings of conflicting steps)")
    print(f"  {'scenario':<22}{'dfs runs':>9}{'dfs steps':>10}{'dpor runs':>10}"
          f"{'dpor steps':>11}{'ratio':>7}{'traces':>7}")
    for r in out["reduction"]:
        print(f"  {r['scenario']:<22}{r['dfs_executions']:>9}{r['dfs_steps']:>10}"
              f"{r['dpor_executions']:>10}{r['dpor_steps']:>11}{r['ratio']:>7}"
              f"{r['traces'] if r['traces'] is not None else '-':>7}")
    print("replay speed (one core)")
    for s in out["replay"]:
        print(f"  {s['scenario']:<22}{s['steps_per_run']:>4} steps/run "
              f"{s['replay_steps_per_second']:>10,} steps/s")
    print(render_jobs(out))


def _mean_seconds(fn: Any, seconds: float = 0.3) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        count += 1
    return (time.perf_counter() - started) / count


def _setup_costs(setup: Any, args: tuple[Any, ...]) -> dict[str, float]:
    """A setup's cost, and what copying its result costs: deepcopy and unpickling."""
    state = setup(*args)
    blob = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return {"setup_ms": _mean_seconds(lambda: setup(*args)) * 1e3,
            "deepcopy_ms": _mean_seconds(lambda: copy.deepcopy(state)) * 1e3,
            "unpickle_ms": _mean_seconds(lambda: pickle.loads(blob)) * 1e3}


def _rebuilding(on: bool) -> None:
    """Every run sets its machine up again (``on``) or unpickles the prepared one."""
    from swaplab.scenarios import cgroup_races, kernel_common, kernel_races, shmem_races

    def again(setup: Any, *args: Any) -> Any:
        return setup(*args)

    for module in (kernel_races, cgroup_races, shmem_races):
        module.prepared = again if on else kernel_common.prepared  # type: ignore[attr-defined]


def snapshot_section() -> dict[str, Any]:
    from swaplab.scenarios import cgroup_races, kernel_races, shmem_races

    options = ScenarioOptions("2.6.31")
    setups = {"type1": (kernel_races._type1_setup, (options,)),
              "type2": (kernel_races._isolated, (options,)),
              "swap-entry": (kernel_races._forked, (options,)),
              "add-to-swap-vs-readahead": (kernel_races._swapped_and_isolated, (options,)),
              "fsc-vs-writeback": (kernel_races._unmapped_into_swap_cache, (options,)),
              "swapin-vs-zap": (kernel_races._swapped, (options,)),
              "swapoff-vs-shm-rmid": (shmem_races._swapped_segment, (options,)),
              "rmdir-vs-swapin": (cgroup_races._moved_out, (options, True)),
              "rmdir-vs-munmap": (cgroup_races._moved_out, (options, False))}
    costs = []
    for name, (setup, args) in setups.items():
        c = _setup_costs(setup, args)
        costs.append({"scenario": name, **{k: round(v, 3) for k, v in c.items()},
                      "setup_over_unpickle": round(c["setup_ms"] / c["unpickle_ms"], 2),
                      "setup_over_deepcopy": round(c["setup_ms"] / c["deepcopy_ms"], 2)})
    runs = []
    for name in ("type1", "type2"):
        model = all_scenarios()[name].model(options)
        speed: dict[str, float] = {}
        executions = {}
        for label, on in [("setup_again", True), ("unpickled", False)] * 2:  # best of two
            _rebuilding(on)
            started = time.perf_counter()
            result = explore(model, Options(shrink=False))
            speed[label] = max(speed.get(label, 0.0),
                               result.stats.executions / (time.perf_counter() - started))
            executions[label] = (result.stats.executions, result.stats.steps, result.status)
        _rebuilding(False)
        runs.append({"scenario": f"{name} 2.6.31 dpor", "executions": result.stats.executions,
                     "same_runs": executions["setup_again"] == executions["unpickled"],
                     "per_s_setup_again": round(speed["setup_again"], 1),
                     "per_s_unpickled": round(speed["unpickled"], 1),
                     "speedup": round(speed["unpickled"] / speed["setup_again"], 2)})
    return {"setup_costs": costs, "explore": runs}


def render_snapshot(out: dict[str, Any]) -> str:
    lines = ["setup against copies of its result (ms; ratios: setup / copy)"]
    for c in out["setup_costs"]:
        lines.append(f"  {c['scenario']:<26} setup {c['setup_ms']:7.3f}  deepcopy "
                     f"{c['deepcopy_ms']:7.3f} (x{c['setup_over_deepcopy']})  unpickle "
                     f"{c['unpickle_ms']:7.3f} (x{c['setup_over_unpickle']})")
    lines.append("dpor, every run set up again against every run unpickled")
    for r in out["explore"]:
        lines.append(f"  {r['scenario']:<20}{r['executions']:>6} executions  "
                     f"{r['per_s_setup_again']:>8.1f}/s -> {r['per_s_unpickled']:>8.1f}/s  "
                     f"x{r['speedup']}  same runs: {r['same_runs']}")
    return "\n".join(lines)


def jobs_section(quick: bool) -> dict[str, Any]:
    budget = 4000 if quick else 20000
    jobs = [speedup("tiny-ordering-20", Options(strategy="random", max_executions=budget,
                                                fingerprints=False)),
            speedup("tiny-independent-8", Options(strategy="dfs", fingerprints=False))]
    if not quick:
        jobs.append(speedup("type2", Options(strategy="dfs", shrink=False), "2.6.31"))
    return {"cpu_count": os.cpu_count(), "calibration_speedup_2": calibration(),
            "jobs": jobs, "tiny_default_jobs": tiny_default("tiny-lost-update")}


def render_jobs(out: dict[str, Any]) -> str:
    lines = [f"--jobs 2 against one process ({out['cpu_count']} CPUs; two processes of plain "
             f"Python reach a speed-up of {out['calibration_speedup_2']} here)"]
    for j in out["jobs"]:
        lines.append(f"  {j['scenario']:<22}{j['strategy']:<7}{j['executions_1']:>7} runs "
                     f"{j['seconds_1']:>7.2f} s   jobs 2: {j['executions_2']:>7} runs "
                     f"{j['seconds_2']:>7.2f} s ({j['workers']} workers)   speed-up "
                     f"{j['speedup']}   same findings: {j['same_findings']}")
    t = out["tiny_default_jobs"]
    lines.append(f"default jobs on a tiny check ({t['scenario']}): {t['ms_default_jobs']} ms "
                 f"and {t['executions_default_jobs']} executions ({t['workers']} workers) "
                 f"against {t['ms_one']} ms and {t['executions_one']} in one process: "
                 f"x{t['ratio']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
