"""The kernel model compiled with mypyc against the same model run by CPython, side by side.

mypyc (part of mypy, a dev dependency; it needs a C compiler and the Python headers)
compiles the kernel model (``swaplab/kernel/*.py``) and the engine's step path
(``explore/ops.py``, ``explore/execution.py``, ``workload/driver.py``) into a copy of the
source tree. In the copy each class gets the mypyc attribute it needs (``_mark_classes``).
Each measured run is then made twice, in two child processes, one importing the plain
source and one the compiled copy. A run must give the same result both ways (the script
stops otherwise): a simulation the same kernel steps and sampled series, the faults the
same final usage and meminfo, a check (one of `swaplab claims`, dpor) the same executions,
verdict, message and schedule. Compilation changes how fast the model runs, not what it
does. Printed: each run's seconds both ways and their ratio, and for the simulator runs
the ratio to a bare coroutine loop of as many resumes measured in the same child (the
yardstick of `benchmarks/simulate.py --reference`).

Not part of swaplab: the stateful explorer's fingerprints read the kernel coroutines'
Python frames (explore/canonical.py), which compiled coroutines do not have. It then
counts every state as new (sound, but it prunes nothing: more executions), so swaplab
runs the plain source. A plain script, not a test:

    python benchmarks/compiled.py [--build-dir DIR] [--explorer] [--separate]

DIR is reused when it holds the same build of the same source. ``--explorer`` compiles the
explorer too (all of explore/ but its state encoder and its process pools). ``--separate``
builds an extension per module on every core: faster to build, slower to run (calls
between modules cross extension boundaries).

The build takes about four minutes on two cores, 80 s with ``--separate``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent.parent / "src"
#: the modules compiled: the kernel model and the engine's per-step code
COMPILED = ("swaplab/kernel/*.py", "swaplab/explore/ops.py", "swaplab/explore/execution.py",
            "swaplab/workload/driver.py")
#: with --explorer, the explorer too, but for the state encoder (it reads frames), the
#: process pools and the package's __init__
EXPLORER = ("swaplab/explore/*.py",)
PLAIN = tuple(f"swaplab/explore/{name}"
              for name in ("canonical.py", "backend.py", "parallel.py", "__init__.py"))

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
import hashlib, json, sys, time, types

kind, args = sys.argv[1], json.loads(sys.argv[2])


@types.coroutine
def _trap(op):
    return (yield op)


async def _resumes(n):
    op = object()
    for _ in range(n):
        await _trap(op)


def bare_loop(n):
    body = _resumes(n)
    start = time.perf_counter()
    try:
        while True:
            body.send(None)
    except StopIteration:
        pass
    return time.perf_counter() - start


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


def build(where: Path, patterns: tuple[str, ...], separate: bool = False) -> Path:
    """A copy of the source under ``where`` with the modules of ``patterns`` compiled
    (kept if ``where`` holds that build of the same source); returns the directory to
    import from. ``separate``: one C extension per module, compiled on every core
    (setuptools' ``build_ext -j``), instead of one extension for all."""
    tree = where / "src"
    found = {str(p.relative_to(SRC)) for pattern in patterns for p in SRC.glob(pattern)}
    files = sorted(found.difference(PLAIN))
    digest = hashlib.sha256()
    for source in sorted(SRC.rglob("*.py")):
        digest.update(str(source.relative_to(SRC)).encode() + b"\0" + source.read_bytes())
    stamp = "\n".join([digest.hexdigest(), f"separate={separate}", *files])
    marker = where / "compiled.txt"
    if marker.exists() and marker.read_text() == stamp:
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    marker.unlink(missing_ok=True)
    shutil.copytree(SRC, tree, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    for name in files:
        _mark_classes(tree / name)
    print(f"compiling {len(files)} modules with mypyc in {tree} (a few minutes)...",
          flush=True)
    start = time.perf_counter()
    if separate:
        (tree / "setup_mypyc.py").write_text(
            "from setuptools import setup\nfrom mypyc.build import mypycify\n"
            f"setup(name='swaplab-compiled', ext_modules=mypycify({files!r}, separate=True))\n")
        command = ["setup_mypyc.py", "build_ext", "--inplace", "-j", str(os.cpu_count() or 1)]
    else:
        command = ["-m", "mypyc", *files]
    proc = subprocess.run([sys.executable, *command], cwd=tree, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"mypyc failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    print(f"built in {time.perf_counter() - start:.0f} s", flush=True)
    marker.write_text(stamp)
    return tree


def _mark_classes(path: Path) -> None:
    """Give each class of the copy ``path`` the mypyc attribute it needs.

    A class derived from a builtin type (``LruAddPvecs``, a list) and a frozen dataclass
    (mypyc's own ``__setstate__`` would restore its pickle through the refusing
    ``__setattr__``) stay Python classes. Every other class without bases allows
    interpreted subclasses, which makes mypyc's ``__new__`` leave ``__init__`` to
    ``tp_init``: pickle and copy then work as for a Python class (the explorer's prepared
    snapshots, ``scenarios/kernel_common.prepared()``, are pickles of the model).
    ``serializable=True`` would too, but with mypy 2.4.1 its ``tp_init`` does not call
    ``__init__``: a class called from Python code stays empty."""
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    marks: list[tuple[int, str]] = []
    for node in ast.parse(text).body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [ast.unparse(b) for b in node.bases]
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        frozen = any("frozen=True" in ast.unparse(d) for d in node.decorator_list)
        if frozen or any(b.startswith(("list", "dict")) for b in bases):
            marks.append((first, "@mypyc_attr(native_class=False)\n"))
        elif not bases:
            marks.append((first, "@mypyc_attr(allow_interpreted_subclasses=True)\n"))
    if not marks:
        return
    for line, mark in sorted(marks, reverse=True):
        lines.insert(line, mark)
    text = "".join(lines).replace("from __future__ import annotations\n",
                                  "from __future__ import annotations\n\n"
                                  "from mypy_extensions import mypyc_attr\n", 1)
    path.write_text(text)


def child(path: Path, kind: str, args: tuple[object, ...]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(path)}
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, json.dumps(args)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"run failed ({path}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path,
                        help="where to build (reused when it holds the same build)")
    parser.add_argument("--explorer", action="store_true",
                        help="compile the explorer too (not its state encoder)")
    parser.add_argument("--separate", action="store_true",
                        help="an extension per module, built in parallel (faster to build, "
                             "slower to run)")
    args = parser.parse_args()
    where = args.build_dir or Path(tempfile.mkdtemp(prefix="swaplab-mypyc-"))
    tree = build(where, COMPILED + EXPLORER if args.explorer else COMPILED, args.separate)
    for label, kind, run in RUNS:
        plain, fast = child(SRC, kind, run), child(tree, kind, run)
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
