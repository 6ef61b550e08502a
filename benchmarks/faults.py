"""Page faults per second, two runs in the same process:

1. no limit: one task touches 100M of private anonymous memory in an unlimited memory
   cgroup (every fault allocates, charges and maps one page; no swap area);
2. limit with swap: the same touch in a group limited to 40M on a machine with a 512M swap
   area: past the limit every fault first reclaims (memcg reclaim swaps the oldest pages
   out: add_to_swap, try_to_unmap, pageout with its write-completion thread,
   __remove_mapping), so each page beyond the first 40M is swapped out once.

and their ratio. Each is run ``--repeat`` times (default 3), each time on a new
``System``, with the previous run's garbage collected before the clock starts (else the
cyclic collector frees a whole machine of pages inside the next timed touch); the lines
give the median rate and, in brackets, every run's. The first run of a process is the
slowest (the allocator still grows the heap).

The machine's speed varies (a shared virtual machine's, by a third from hour to hour), so
the cost of a fault is also given in resumes of a bare coroutine loop measured in the same
process (benchmarks/yardstick.py): ``1 fault = N resumes`` compares across machines and
hours where faults per second do not. The model runs compiled when this source is
built (``swaplab build``; swaplab.native.enable() before anything imports it), plain with
``--plain`` or without a build: the first line says which. A plain script, not a test:
    python benchmarks/faults.py [SIZE] [--limit 40M] [--kernel 2.6.30] [--repeat 3] [--plain]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time

from swaplab import native

if "--plain" not in sys.argv[1:]:
    native.enable()  # before the model is imported

from swaplab import System
from swaplab.system import parse_size
from yardstick import resumes_per_second

PAGE = 4096


def touch_run(kernel: str, ram: str, size: str, limit: str | None, swap: str) -> tuple[int, float]:
    """One task in /G touches ``size``; returns (pages touched, seconds)."""
    s = System(kernel=kernel, ram=ram, swap=swap)
    s.mkdir("/G")
    if limit is not None:
        s.write("/G/memory.limit_in_bytes", limit)
    t = s.spawn("/G")
    m = t.mmap_anon(size)
    gc.collect()  # an earlier run's garbage, not this run's
    start = time.perf_counter()
    pages = t.touch(m)
    seconds = time.perf_counter() - start
    assert t.state == "running" and pages * PAGE == parse_size(size), (t.state, pages)
    usage = int(s.read("/G/memory.usage_in_bytes"))
    memsw = int(s.read("/G/memory.memsw.usage_in_bytes"))
    if limit is None:
        assert usage == memsw == parse_size(size), (usage, memsw)
    else:
        # every page is counted once, resident or on swap; at most `limit` resident
        assert usage <= parse_size(limit) and memsw == parse_size(size), (usage, memsw)
        swapped = (memsw - usage) // PAGE
        assert swapped >= (parse_size(size) - parse_size(limit)) // PAGE, swapped
    t.exit()
    return pages, seconds


def rates(repeat: int, kernel: str, ram: str, size: str, limit: str | None,
          swap: str) -> tuple[int, list[float]]:
    """Pages touched and the faults per second of ``repeat`` runs."""
    runs = [touch_run(kernel, ram, size, limit, swap) for _ in range(repeat)]
    return runs[0][0], [pages / seconds for pages, seconds in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("size", nargs="?", default="100M", help="bytes to touch (default 100M)")
    parser.add_argument("--limit", default="40M", help="the limited run's limit (default 40M)")
    parser.add_argument("--swap", default="512M", help="the limited run's swap area")
    parser.add_argument("--kernel", default="2.6.31")
    parser.add_argument("--ram", default="256M")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--plain", action="store_true", help="the plain model even if built")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    print(f"the {'compiled' if native.active() else 'plain'} model, "
          f"median of {args.repeat} run(s) [each run]")
    resumes = resumes_per_second()
    print(f"yardstick: a bare coroutine loop, {resumes:,.0f} resumes/s")
    pages, free = rates(args.repeat, args.kernel, args.ram, args.size, None, "0")
    print(f"kernel {args.kernel}, no limit:             {pages} pages: "
          f"{statistics.median(free):,.0f} faults/s {_each(free)}; "
          f"1 fault = {resumes / statistics.median(free):.0f} resumes")
    pages, lim = rates(args.repeat, args.kernel, args.ram, args.size, args.limit, args.swap)
    print(f"kernel {args.kernel}, limit {args.limit} with swap: {pages} pages: "
          f"{statistics.median(lim):,.0f} faults/s {_each(lim)}; "
          f"1 fault = {resumes / statistics.median(lim):.0f} resumes")
    print(f"ratio no-limit / limit-with-swap: "
          f"{statistics.median(free) / statistics.median(lim):.1f}x")


def _each(rates: list[float]) -> str:
    return "[" + ", ".join(f"{rate:,.0f}" for rate in rates) + "]"


if __name__ == "__main__":
    main()
