"""swaplab against SPIN and Harmony on one model, end to end, in one process.

Run: python benchmarks/peers.py [--repeat N] [--json]

The model is ``tiny-scaled-3x3`` (three threads, each three lock-protected increments of
``x``, then one unlocked read; x == 9 at the end, every read in [3, 9]), written three
times: ``scenarios/tiny.py``, ``benchmarks/peers/scaled_3x3.pml`` (Promela) and
``benchmarks/peers/scaled_3x3.hny`` (Harmony). Each tool is timed as a user runs it, from
a fresh process to its verdict:

- ``swaplab check tiny-scaled-3x3 --jobs 1`` as it is (its default strategy,
  ``dfs-cached``: dfs with state caching), and with the stateless ``--strategy dpor``;
- SPIN: ``spin -a``, ``gcc -O2`` and ``./pan`` (apt package ``spin``);
- Harmony: ``harmony -w 1 -R`` (PyPI package ``harmony``, looked for on PATH and in
  /work/peers-venv/bin).

Each figure is the best of ``--repeat`` runs (load from other users inflates the rest);
the ratios are against swaplab dfs-cached measured in the same process. A tool that is
not installed is reported as missing. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / "peers"
HARMONY_VENV = Path("/work/peers-venv/bin/harmony")


def _swaplab(strategy: str | None) -> Callable[[Path], tuple[list[list[str]], str]]:
    def commands(work: Path) -> tuple[list[list[str]], str]:
        options = ["--strategy", strategy] if strategy is not None else []
        return [[sys.executable, "-m", "swaplab", "check", "tiny-scaled-3x3", "--jobs", "1",
                 *options]], r"(\d[\d,]*) executions?"
    return commands


def _spin(work: Path) -> tuple[list[list[str]], str]:
    shutil.copy(PEERS / "scaled_3x3.pml", work)
    return [["spin", "-a", "scaled_3x3.pml"], ["gcc", "-O2", "-o", "pan", "pan.c"],
            ["./pan"]], r"(\d+) states, stored"


def _harmony_binary() -> str | None:
    found = shutil.which("harmony")
    if found is not None:
        return found
    return str(HARMONY_VENV) if HARMONY_VENV.exists() else None


def _harmony(work: Path) -> tuple[list[list[str]], str]:
    shutil.copy(PEERS / "scaled_3x3.hny", work)
    return [[_harmony_binary() or "harmony", "-w", "1", "-R", "scaled_3x3.hny"]], \
        r"(\d+) states"


TOOLS: dict[str, tuple[Callable[[Path], tuple[list[list[str]], str]], str | None]] = {
    "swaplab (default)": (_swaplab(None), sys.executable),
    "swaplab dfs-cached": (_swaplab("dfs-cached"), sys.executable),
    "swaplab dpor": (_swaplab("dpor"), sys.executable),
    "spin": (_spin, shutil.which("spin")),
    "harmony": (_harmony, _harmony_binary()),
}


def run_once(make: Callable[[Path], tuple[list[list[str]], str]]) -> tuple[float, str, bool]:
    """One end-to-end run in a fresh directory: seconds, the size it reports, verdict."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        commands, size_pattern = make(work)
        output = ""
        ok = True
        start = time.perf_counter()
        for command in commands:
            proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                                  check=False)
            output += proc.stdout + proc.stderr
            ok = ok and proc.returncode == 0
        elapsed = time.perf_counter() - start
    match = re.search(size_pattern, output)
    clean = ok and not re.search(r"errors: [1-9]|Safety Violation|: found", output)
    return elapsed, match.group(1) if match else "?", clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: dict[str, dict[str, object]] = {}
    for name, (make, binary) in TOOLS.items():
        if binary is None:
            rows[name] = {"missing": True}
            continue
        runs = [run_once(make) for _ in range(max(1, args.repeat))]
        best = min(runs)
        rows[name] = {"seconds": round(best[0], 3), "size": best[1], "clean": best[2]}
    base = rows["swaplab dfs-cached"].get("seconds")
    for row in rows.values():
        seconds = row.get("seconds")
        if isinstance(seconds, float) and isinstance(base, float):
            row["vs_dfs_cached"] = round(seconds / base, 2)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'tool':<20} {'seconds':>8} {'x dfs-cached':>12}  size (executions / states)")
    for name, row in rows.items():
        if row.get("missing"):
            print(f"{name:<20} {'missing':>8}")
            continue
        verdict = "" if row["clean"] else "  (NOT CLEAN)"
        print(f"{name:<20} {row['seconds']:>8.3f} {row['vs_dfs_cached']:>12.2f}  "
              f"{row['size']}{verdict}")


if __name__ == "__main__":
    main()
