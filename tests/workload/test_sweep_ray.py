"""A sweep on a real local Ray (started here, not a mock) gives the runs one process gives."""

from __future__ import annotations

import pytest

from swaplab.workload.spec import BUILTINS
from swaplab.workload.sweep import RunSpec, run_many, sweep_specs


def test_a_sweep_on_ray_matches_the_same_runs_in_this_process() -> None:
    ray = pytest.importorskip("ray")
    base = RunSpec(BUILTINS["stale-swapcache-fast"], kernel="2.6.30", seed=2,
                   duration_ns=400_000_000)
    specs = sweep_specs(base, {"page_cluster": ["0", "3"]})
    here = run_many(specs, jobs=1)
    try:
        on_ray = run_many(specs, jobs=2, backend="ray")
    finally:
        ray.shutdown()
    assert [r["page_cluster"] for r in on_ray] == [0, 3]
    assert [r["series"] for r in on_ray] == [r["series"] for r in here]
    assert [r["summary"] for r in on_ray] == [r["summary"] for r in here]
