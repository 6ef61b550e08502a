"""`swaplab claims --no-cache` end to end, as a user runs it, against the machine's speed.

Each run is a fresh ``swaplab claims --no-cache`` process (the compiled model if this
source is built: ``swaplab build``), timed from start to exit; before it, this process
measures the yardstick (benchmarks/yardstick.py: a bare coroutine loop). A shared virtual
machine's speed varies by a third from hour to hour, so each run's wall time is also
given in yardstick resumes (seconds x resumes per second measured just before it), which
compares across machines and hours where seconds do not. A plain script, not a test:

    python benchmarks/claims.py [--runs 5] [--jobs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from yardstick import resumes_per_second


def run_claims(jobs: int | None) -> float:
    """Seconds of one `swaplab claims --no-cache` (its output is checked, not kept)."""
    command = [sys.executable, "-m", "swaplab", "claims", "--no-cache"]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"swaplab claims exited {proc.returncode}: {proc.stderr.strip()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs (default 5)")
    parser.add_argument("--jobs", type=int, help="claims' --jobs (default: its own)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    walls, products = [], []
    for i in range(args.runs):
        rate = resumes_per_second()
        wall = run_claims(args.jobs)
        walls.append(wall)
        products.append(wall * rate / 1e6)
        print(f"run {i + 1}: {wall:6.2f} s wall; yardstick {rate / 1e6:.2f} M resumes/s; "
              f"= {wall * rate / 1e6:6.1f} M resumes")
    print(f"median: {statistics.median(walls):.2f} s wall "
          f"(min {min(walls):.2f}, max {max(walls):.2f}); "
          f"{statistics.median(products):.1f} M resumes")


if __name__ == "__main__":
    main()
