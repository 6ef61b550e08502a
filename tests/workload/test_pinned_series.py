"""Pinned runs: short simulations whose every sampled value, event, counter and kernel-step
count is recorded in pinned_series.json. Anything that changes the virtual-time behaviour
of the simulator or of the kernel model (a cost, an order, a choice of the seeded random
generator) changes one of them; a change meant only to make the code faster must not.
Regenerate with SWAPLAB_REGEN=1 (only for an intended change of behaviour)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from swaplab.workload import BUILTINS, simulate

PINNED = Path(__file__).with_name("pinned_series.json")
MS = 1_000_000

#: label -> (workload, kernel, seed, cpus, virtual duration, sample period or None)
RUNS: dict[str, tuple[str, str, int, int, int, int | None]] = {
    "stale-swapcache 2.6.31": ("stale-swapcache", "2.6.31", 1, 1, 300 * MS, 25 * MS),
    "stale-swapcache-fast 2.6.30": ("stale-swapcache-fast", "2.6.30", 1, 1, 500 * MS, None),
    "move-and-rmdir 2.6.30 2 cpus": ("move-and-rmdir", "2.6.30", 1, 2, 450 * MS, 100 * MS),
}


def pinned_run(label: str) -> dict[str, Any]:
    name, kernel, seed, cpus, duration, sample = RUNS[label]
    wl = BUILTINS[name]
    if sample is not None:
        wl = dataclasses.replace(wl, sample_ns=sample)
    r = simulate(wl, kernel, seed=seed, cpus=cpus, duration_ns=duration)
    obj = r.to_json()
    return {"steps": r.steps, "counters": obj["counters"], "series": obj["series"],
            "invariant_violations": obj["invariant_violations"], "error": obj["error"]}


@pytest.fixture(scope="module")
def pinned() -> dict[str, Any]:
    if os.environ.get("SWAPLAB_REGEN"):
        PINNED.write_text(json.dumps({label: pinned_run(label) for label in RUNS},
                                     indent=1, sort_keys=True) + "\n")
    data: dict[str, Any] = json.loads(PINNED.read_text())
    return data


@pytest.mark.parametrize("label", sorted(RUNS))
def test_run_matches_its_pinned_series(label: str, pinned: dict[str, Any]) -> None:
    got = pinned_run(label)
    want = pinned[label]
    assert got["steps"] == want["steps"]
    assert got["counters"] == want["counters"]
    assert got["series"] == want["series"]
    assert (got["error"], got["invariant_violations"]) == (want["error"],
                                                           want["invariant_violations"])


def test_pinned_runs_swap_and_sample_more_than_once(pinned: dict[str, Any]) -> None:
    # the pins are only worth something if the runs exercise reclaim, swap I/O and kills
    for label, run in pinned.items():
        assert len(run["series"]["t"]) >= 4, label
        assert run["counters"]["swap_ios"] > 50, label
        assert run["steps"] > 10_000, label
    assert pinned["stale-swapcache-fast 2.6.30"]["counters"]["kills"] >= 1
