"""Where `swaplab claims` spends its time: each distinct unit it runs (a check or a
simulation), one after another in this process, with its seconds, longest first, and the
total. Two workers can at best halve the total, so the total bounds the wall time of
`swaplab claims --no-cache` on two cores from below. A plain script, not a test:

    python benchmarks/claims_units.py [--only sim|check]
"""

from __future__ import annotations

import argparse
import time

from swaplab import claims
from swaplab.workload.claims import GROWTH_CLAIMS, SimRun


def _describe(kind: str, what: object) -> str:
    if isinstance(what, SimRun):
        pc = f" pc={what.page_cluster}" if what.page_cluster is not None else ""
        patches = f"+{what.patches}" if what.patches else ""
        return (f"{what.workload} {what.kernel}{patches}{pc}, {what.cpus} CPU(s), "
                f"{what.seconds:g} s virtual")
    assert isinstance(what, claims.Check), kind
    return what.command()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("sim", "check"), help="run only these units")
    args = parser.parse_args()
    items = claims._items(list(GROWTH_CLAIMS), ())
    units = claims._by_cost([unit for item in items for unit in claims._units(item)])
    if args.only:
        units = [unit for unit in units if unit[0] == args.only]
    timed = []
    start = time.perf_counter()
    for unit in units:
        result = claims._unit(unit)
        assert result is not None
        timed.append((result[1], unit[0], _describe(*unit)))
    total = time.perf_counter() - start
    for seconds, kind, text in sorted(timed, key=lambda t: -t[0]):
        print(f"{seconds:7.2f} s  {kind:5}  {text}")
    sims = sum(s for s, kind, _ in timed if kind == "sim")
    print(f"{len(timed)} units in {total:.1f} s: simulations {sims:.1f} s, "
          f"checks {total - sims:.1f} s; two workers need at least {total / 2:.1f} s")


if __name__ == "__main__":
    main()
