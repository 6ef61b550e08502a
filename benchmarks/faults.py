"""Page faults per second: one task touches 100M of private anonymous memory in an
unlimited memory cgroup (every fault allocates, charges and maps one page).

A plain script, not a test:  python benchmarks/faults.py [SIZE] [--kernel 2.6.30]
"""

from __future__ import annotations

import argparse
import time

from swaplab import System
from swaplab.system import parse_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("size", nargs="?", default="100M", help="bytes to touch (default 100M)")
    parser.add_argument("--kernel", default="2.6.31")
    parser.add_argument("--ram", default="256M")
    args = parser.parse_args()

    s = System(kernel=args.kernel, ram=args.ram, swap="0")
    s.mkdir("/G")
    t = s.spawn("/G")
    m = t.mmap_anon(args.size)
    start = time.perf_counter()
    pages = t.touch(m)
    seconds = time.perf_counter() - start
    usage = int(s.read("/G/memory.usage_in_bytes"))
    assert usage == pages * 4096 == parse_size(args.size), (usage, pages)
    print(f"kernel {args.kernel}: {pages} pages in {seconds:.2f} s = "
          f"{pages / seconds:,.0f} faults/s")
    t.exit()


if __name__ == "__main__":
    main()
