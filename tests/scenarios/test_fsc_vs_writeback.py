"""fsc-vs-writeback against mm/swapfile.c: free_swap_and_cache() (2.6.30, 2.6.31): an exit
freeing the entry of a page reclaim is writing never orphans the page. Either the exit
deletes the page from the swap cache first, or the page stays there (locked for pageout or
under writeback) with a cache-only slot, still charged, and memcg reclaim later frees it
with an exact uncharge. The counts are what the explorer finds."""

from __future__ import annotations

from collections import Counter

import pytest

from swaplab.explore.explorer import explore
from swaplab.explore.model import Instance
from swaplab.explore.search import Options
from swaplab.scenarios import ScenarioOptions, get_scenario

VERSIONS = ("2.6.30", "2.6.31")
#: dpor's executions, one per trace class of the recorded dependencies (as counted)
DPOR_RUNS = {"2.6.30": 24, "2.6.31": 24}


def counting(version: str, ends: Counter[int]) -> Instance:
    """The scenario's instance, counting per run whether the page is left in the cache."""
    instance = get_scenario("fsc-vs-writeback").model(ScenarioOptions(version))()
    finish = instance.finish
    assert finish is not None

    def count_then_finish(w: object) -> None:
        finish(w)
        ends[w.results["left"]] += 1  # type: ignore[attr-defined]

    instance.finish = count_then_finish
    return instance


@pytest.mark.parametrize("version", VERSIONS)
def test_dpor_finds_no_leak_and_reaches_every_window(version: str) -> None:
    ends: Counter[int] = Counter()
    result = explore(lambda: counting(version, ends), Options(strategy="dpor", shrink=False))
    assert result.status == "clean" and result.stats.complete
    assert result.findings == [] and result.notes == [] and result.vacuous == []
    runs = DPOR_RUNS[version]
    assert result.stats.executions == runs
    assert ends == {0: runs - 1, 1: 1}  # one trace class leaves the page in the swap cache


def test_dfs_every_schedule_no_leak() -> None:
    """All 10682 schedules of 2.6.30 (2.6.31 gives the same counts, ~10 s more): 605 leave
    the page in the swap cache, charged and reclaimable (left-in-cache-is-reclaimable
    holds), none leaks after memcg reclaim."""
    ends: Counter[int] = Counter()
    result = explore(lambda: counting("2.6.30", ends), Options(strategy="dfs", shrink=False))
    assert result.status == "clean" and result.stats.complete and result.vacuous == []
    assert result.stats.executions == 10682
    assert ends == {0: 10077, 1: 605}
