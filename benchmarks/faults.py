"""Page faults per second, two runs in the same process:

1. no limit: one task touches 100M of private anonymous memory in an unlimited memory
   cgroup (every fault allocates, charges and maps one page; no swap area);
2. limit with swap: the same touch in a group limited to 40M on a machine with a 512M swap
   area: past the limit every fault first reclaims (memcg reclaim swaps the oldest pages
   out: add_to_swap, try_to_unmap, pageout with its write-completion thread,
   __remove_mapping), so each page beyond the first 40M is swapped out once.

and their ratio. The model runs compiled when this source is built (``swaplab build``;
swaplab.native.enable() before anything imports it), plain with ``--plain`` or without a
build: the first line says which. A plain script, not a test:
    python benchmarks/faults.py [SIZE] [--limit 40M] [--kernel 2.6.30] [--plain]
"""

from __future__ import annotations

import argparse
import sys
import time

from swaplab import native

if "--plain" not in sys.argv[1:]:
    native.enable()  # before the model is imported

from swaplab import System
from swaplab.system import parse_size

PAGE = 4096


def touch_run(kernel: str, ram: str, size: str, limit: str | None, swap: str) -> tuple[int, float]:
    """One task in /G touches ``size``; returns (pages touched, seconds)."""
    s = System(kernel=kernel, ram=ram, swap=swap)
    s.mkdir("/G")
    if limit is not None:
        s.write("/G/memory.limit_in_bytes", limit)
    t = s.spawn("/G")
    m = t.mmap_anon(size)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("size", nargs="?", default="100M", help="bytes to touch (default 100M)")
    parser.add_argument("--limit", default="40M", help="the limited run's limit (default 40M)")
    parser.add_argument("--swap", default="512M", help="the limited run's swap area")
    parser.add_argument("--kernel", default="2.6.31")
    parser.add_argument("--ram", default="256M")
    parser.add_argument("--plain", action="store_true", help="the plain model even if built")
    args = parser.parse_args()
    print(f"the {'compiled' if native.active() else 'plain'} model")

    pages, free_s = touch_run(args.kernel, args.ram, args.size, None, "0")
    free_rate = pages / free_s
    print(f"kernel {args.kernel}, no limit:             {pages} pages in {free_s:.2f} s = "
          f"{free_rate:,.0f} faults/s")
    pages, lim_s = touch_run(args.kernel, args.ram, args.size, args.limit, args.swap)
    lim_rate = pages / lim_s
    print(f"kernel {args.kernel}, limit {args.limit} with swap: {pages} pages in {lim_s:.2f} s = "
          f"{lim_rate:,.0f} faults/s")
    print(f"ratio no-limit / limit-with-swap: {free_rate / lim_rate:.1f}x")


if __name__ == "__main__":
    main()
