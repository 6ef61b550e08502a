"""The compiled model (``swaplab build``, swaplab/native) against the plain source, side by
side.

Each measured run is made twice, in two child processes, one with the build enabled
(``swaplab.native.enable()`` before the model is imported) and one plain
(``SWAPLAB_NATIVE=0``). A run must give the same result both ways (the script stops
otherwise): a simulation the same kernel steps and sampled series, the faults the same
final usage and meminfo, a check (one of `swaplab claims`, dpor) the same executions,
verdict, message and schedule. Printed: each run's seconds both ways and their ratio, and
for the simulator runs the ratio to a bare coroutine loop of as many resumes measured in
the same child (the yardstick of `benchmarks/simulate.py --reference`). A plain script,
not a test (tests/native compares results, never times):

    python benchmarks/compiled.py

It builds this source first unless it is built (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from swaplab.native.build import build

#: (label, kind, arguments): simulations (workload, kernel, seconds, CPUs, page-cluster),
#: the sequential fault benchmark (kernel, size, limit) and checks of `swaplab claims`
#: (scenario, kernel, property, later fixes)
RUNS: tuple[tuple[str, str, tuple[object, ...]], ...] = (
    ("simulate stale-swapcache 2.6.31, 3 s virtual (the reference run)", "sim",
     ("stale-swapcache", "2.6.31", 3.0, 1, None)),
    ("simulate move-and-rmdir 2.6.31 pc=3, 2 CPUs, 1 s virtual", "sim",
     ("move-and-rmdir", "2.6.31", 1.0, 2, 3)),
    ("simulate swap-full 2.6.30, 2 s virtual", "sim", ("swap-full", "2.6.30", 2.0, 1, None)),
    ("faults: 100M touched under a 40M limit with swap", "faults", ("2.6.31", "100M", "40M")),
    ("check type1 --kernel 2.6.31 --property memcg-accounting (dpor, clean)", "check",
     ("type1", "2.6.31", "memcg-accounting", "")),
    ("check type1 --kernel 2.6.30 --property memcg-accounting (dpor, found)", "check",
     ("type1", "2.6.30", "memcg-accounting", "")),
    ("check discard-lockup --kernel 2.6.31 --fixes cbab0e4eec29 --property soft-lockup", "check",
     ("discard-lockup", "2.6.31", "soft-lockup", "cbab0e4eec29")),
)

CHILD = r'''
import hashlib, json, sys, time

kind, args = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, sys.argv[3])  # benchmarks/: the yardstick times a trap of its own, not
from yardstick import bare_loop  # swaplab's, which runs compiled in one of the children


from swaplab import native
native.enable()
import swaplab.kernel.memory as probe
compiled = not probe.__file__.endswith(".py")
if kind == "sim":
    from swaplab.workload.sim import simulate
    from swaplab.workload.spec import BUILTINS
    workload, kernel, seconds, cpus, pc = args
    start = time.perf_counter()
    r = simulate(BUILTINS[workload], kernel, None, seed=1, cpus=cpus,
                 duration_ns=int(seconds * 1e9), page_cluster=pc)
    elapsed = time.perf_counter() - start
    assert r.error is None, r.error
    digest = hashlib.sha256(json.dumps(sorted(r.series.items())).encode()).hexdigest()
    bare = min(bare_loop(r.steps) for _ in range(3))
    out = {"steps": r.steps, "series": digest, "seconds": elapsed, "bare": bare}
elif kind == "check":
    from swaplab.claims import Check, run_check
    scenario, kernel, prop, fixes = args
    check = Check(scenario, prop, False, kernel, fixes=tuple(f for f in [fixes] if f))
    start = time.perf_counter()
    o = run_check(check)
    elapsed = time.perf_counter() - start
    seen = [o.found, o.complete, o.executions, o.message, o.schedule, o.stopped]
    digest = hashlib.sha256(json.dumps(seen).encode()).hexdigest()
    out = {"steps": o.executions, "series": digest, "seconds": elapsed}
else:
    from swaplab import System
    kernel, size, limit = args
    s = System(kernel=kernel, ram="256M", swap="512M")
    s.mkdir("/G")
    s.write("/G/memory.limit_in_bytes", limit)
    t = s.spawn("/G")
    m = t.mmap_anon(size)
    start = time.perf_counter()
    pages = t.touch(m)
    elapsed = time.perf_counter() - start
    state = [s.read("/G/memory.usage_in_bytes"), s.read("/G/memory.memsw.usage_in_bytes"),
             s.read("/proc/meminfo")]
    digest = hashlib.sha256(json.dumps(state).encode()).hexdigest()
    out = {"steps": pages, "series": digest, "seconds": elapsed}
out["compiled"] = compiled
print(json.dumps(out))
'''


def child(compiled: bool, kind: str, args: tuple[object, ...]) -> dict[str, Any]:
    env = {**os.environ, "SWAPLAB_NATIVE": "1" if compiled else "0"}
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, json.dumps(args),
                           str(Path(__file__).resolve().parent)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"run failed (compiled={compiled}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def main() -> None:
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    done = build()
    print(f"{done.modules} modules compiled, "
          f"{'already built' if done.reused else f'built in {done.seconds:.0f} s'}")
    for label, kind, run in RUNS:
        plain, fast = child(False, kind, run), child(True, kind, run)
        assert plain["compiled"] is False and fast["compiled"] is True, (plain, fast)
        if (plain["steps"], plain["series"]) != (fast["steps"], fast["series"]):
            sys.exit(f"{label}: the compiled model ran differently: {plain} vs {fast}")
        p, f = plain["seconds"], fast["seconds"]
        unit = {"sim": "kernel steps", "faults": "pages", "check": "executions"}[kind]
        print(f"{label}: {plain['steps']} {unit}, the same both ways")
        print(f"    plain {p:6.2f} s, compiled {f:6.2f} s: {p / f:.2f}x")
        if kind == "sim":
            print(f"    ratio to a bare coroutine loop: plain {p / plain['bare']:.1f}, "
                  f"compiled {f / fast['bare']:.1f}")
        elif kind == "faults":
            print(f"    faults/s: plain {plain['steps'] / p:,.0f}, "
                  f"compiled {fast['steps'] / f:,.0f}")


if __name__ == "__main__":
    main()
