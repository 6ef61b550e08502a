"""How fast the workload simulator runs the kernel model, and how the cost grows.

    python benchmarks/simulate.py [--duration 2s] [--kernel 2.6.31] [--quick]
    python benchmarks/simulate.py --reference [--duration 10s] [--workload W] [--cpus N]

``--reference``: ``swaplab simulate stale-swapcache --kernel 2.6.31 --seed 1`` (10 s of
virtual time by default; ``--workload``, ``--kernel``, ``--cpus`` choose another run)
against a bare coroutine loop measured in the same process (one resume per kernel step of
the run: a coroutine awaiting a trap, driven by ``send``), and their ratio: how many times
a step of the simulator costs an empty coroutine resume.

For each point: N tasks, each touching P pages in a loop under a memcg limit of half the
total (so the group swaps), swap I/O at 2 ms. Prints simulated kernel operations (engine
steps: one interleaving point each) per second of wall time, page touches (user accesses,
faults or not) per second, and wall time per virtual second. The model's cost is mostly in
the kernel steps per touch, which grows with swapping (reclaim scans, readahead).
"""

from __future__ import annotations

import argparse
import time

from swaplab.workload import BUILTINS, simulate
from swaplab.workload.spec import GroupSpec, MachineSpec, TaskSpec, Workload, parse_duration
from yardstick import bare_loop

PAGE = 4096


def point(tasks: int, pages: int, kernel: str, duration_ns: int) -> dict[str, float]:
    total = tasks * pages * PAGE
    wl = Workload(
        name=f"bench-{tasks}x{pages}",
        machine=MachineSpec(ram=max(16 << 20, 4 * total), swap=max(8 << 20, 2 * total)),
        groups=(GroupSpec("/A", limit=max(64 * PAGE, total // 2)),),
        tasks=(TaskSpec("/A", count=tasks, size=pages * PAGE),),
        sample_ns=duration_ns // 4,
    )
    start = time.perf_counter()
    r = simulate(wl, kernel, seed=1, duration_ns=duration_ns)
    wall = time.perf_counter() - start
    if r.error:
        raise SystemExit(f"{wl.name}: {r.error}")
    return {"tasks": tasks, "pages": pages, "steps": r.steps, "wall": wall,
            "steps_per_s": r.steps / wall, "touches_per_s": r.counters["touches"] / wall,
            "steps_per_touch": r.steps / max(1, r.counters["touches"]),
            "wall_per_virtual_s": wall / (duration_ns / 1e9)}


def reference(duration_ns: int, workload: str = "stale-swapcache", kernel: str = "2.6.31",
              cpus: int = 1) -> None:
    """A run (seed 1; stale-swapcache on 2.6.31 by default) against the bare coroutine
    loop."""
    start = time.perf_counter()
    r = simulate(BUILTINS[workload], kernel, seed=1, cpus=cpus, duration_ns=duration_ns)
    wall = time.perf_counter() - start
    if r.error:
        raise SystemExit(f"{workload}: {r.error}")
    bare = min(bare_loop(r.steps) for _ in range(3))
    print(f"{workload} {kernel} seed 1, {cpus} CPU(s), {duration_ns / 1e9:g} s virtual: "
          f"{r.steps} kernel steps in {wall:.2f} s = {r.steps / wall:,.0f} steps/s, "
          f"wall/virtual {wall / (duration_ns / 1e9):.2f}")
    print(f"bare coroutine loop, {r.steps} resumes: {bare:.3f} s")
    print(f"ratio simulator / bare loop: {wall / bare:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", default=None,
                        help="virtual time per point (2s), or of the reference run (10s)")
    parser.add_argument("--kernel", default="2.6.31")
    parser.add_argument("--quick", action="store_true", help="fewer points")
    parser.add_argument("--reference", action="store_true",
                        help="stale-swapcache against a bare coroutine loop")
    parser.add_argument("--workload", default="stale-swapcache", choices=sorted(BUILTINS),
                        help="the --reference run's workload")
    parser.add_argument("--cpus", type=int, default=1, help="the --reference run's CPUs")
    args = parser.parse_args()
    if args.reference:
        reference(parse_duration(args.duration or "10s"), args.workload, args.kernel,
                  args.cpus)
        return
    duration = parse_duration(args.duration or "2s")
    task_counts = [1, 2, 4] if args.quick else [1, 2, 4, 8, 16]
    page_counts = [64, 256] if args.quick else [64, 128, 256, 512, 1024]
    header = (f"{'tasks':>5} {'pages':>5} {'steps':>9} {'wall s':>7} {'steps/s':>9} "
              f"{'touch/s':>8} {'steps/touch':>11} {'wall/vsec':>9}")
    print(f"kernel {args.kernel}, {duration / 1e9:g} s virtual per point")
    print("-- cost vs number of tasks (256 pages each)")
    print(header)
    for n in task_counts:
        _row(point(n, 256, args.kernel, duration))
    print("-- cost vs pages per task (2 tasks)")
    print(header)
    for p in page_counts:
        _row(point(2, p, args.kernel, duration))


def _row(r: dict[str, float]) -> None:
    print(f"{r['tasks']:>5.0f} {r['pages']:>5.0f} {r['steps']:>9.0f} {r['wall']:>7.2f} "
          f"{r['steps_per_s']:>9.0f} {r['touches_per_s']:>8.0f} {r['steps_per_touch']:>11.1f} "
          f"{r['wall_per_virtual_s']:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
