"""The memcg-removal scenarios (scenarios/cgroup_races.py), explored.

rmdir-vs-swapin: in 2.6.30 a swap-in can charge the group after rmdir's pre_destroy emptied
it; the page's css reference is never dropped and rmdir sleeps on cgroup_rmdir_waitq for
ever (no thread can run). 2.6.31 brackets the swap-in commit with cgroup_exclude_rmdir() /
cgroup_release_and_wakeup_rmdir(): the wake-up makes rmdir run pre_destroy again, which
moves the new charge to the parent, and the group goes. The other three are clean on both
kernels. Every verdict comes from a complete dpor exploration; the counts are printed."""

from __future__ import annotations

import pytest

from swaplab.explore.explorer import Result, explore
from swaplab.explore.runner import DEADLOCK
from swaplab.explore.search import Options
from swaplab.scenarios import ScenarioOptions, get_scenario

KERNELS = ["2.6.30", "2.6.31"]


def _explore(name: str, kernel: str) -> Result:
    model = get_scenario(name).model(ScenarioOptions(kernel))
    result = explore(model, Options(strategy="dpor", shrink=False))
    print(name, kernel, result.stats.executions, "executions",
          [f.property for f in result.findings])
    return result


def test_rmdir_sleeps_for_ever_after_a_swapin_charged_the_emptied_group_on_2630() -> None:
    result = _explore("rmdir-vs-swapin", "2.6.30")
    assert result.stats.complete
    findings = result.findings
    assert [f.property for f in findings] == [DEADLOCK]
    assert "rmdir /A waits" in findings[0].message
    assert "cgroup_rmdir_waitq" in findings[0].message


def test_rmdir_is_woken_and_completes_on_2631() -> None:
    result = _explore("rmdir-vs-swapin", "2.6.31")
    assert result.stats.complete and result.findings == []
    assert result.stats.executions > 1
    assert "removed" not in result.vacuous


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", ["rmdir-vs-munmap", "force-empty-vs-swapin",
                                  "force-empty-vs-munmap"])
def test_removal_against_a_charge_or_an_uncharge_is_clean(name: str, kernel: str) -> None:
    result = _explore(name, kernel)
    assert result.stats.complete and result.findings == []
    assert result.stats.executions > 1
