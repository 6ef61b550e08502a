"""swapin-aba (scenarios/later_fixes.py), explored with the scenario's own strategy (pct,
seed 0): the four-actor sequence of 31c4a3d3a0f8's changelog on 2.6.30 and 2.6.31, with
4969c1192d15 alone (the window it leaves: the page back in the swap cache for another
entry) and clean with 31c4a3d3a0f8. The execution counts are printed and asserted."""

from __future__ import annotations

import pytest

from swaplab.explore.explorer import Result, explore
from swaplab.explore.replay import GuidedDriver
from swaplab.explore.runner import execute
from swaplab.explore.search import Options
from swaplab.kernel.config import SWAPIN_RACE, SWAPIN_RACE_FURTHER
from swaplab.scenarios import ScenarioOptions, get_scenario

SCENARIO = get_scenario("swapin-aba")
#: the seed-0 pct run that first breaks data-integrity (the same schedule on every kernel
#: that has the bug: the fixes change nothing before B's lock_page())
FIRST_FOUND = 684


def _explore(kernel: str, fixes: tuple[str, ...] = (), first: bool = True) -> Result:
    model = SCENARIO.model(ScenarioOptions(kernel, fixes=fixes))
    result = explore(model, Options(strategy=SCENARIO.strategy, depth=SCENARIO.depth,
                                    max_executions=SCENARIO.max_executions,
                                    max_steps=SCENARIO.max_steps, stop_on_first=first,
                                    shrink=first))
    print("swapin-aba", kernel, fixes, result.stats.executions, "executions",
          [f.property for f in result.findings])
    return result


def _events(result: Result) -> list[str]:
    (finding,) = result.findings
    return [f"{e.thread[0]} {e.function} {e.detail}" for e in finding.trace]


@pytest.mark.parametrize(("kernel", "fixes"), [("2.6.30", ()), ("2.6.31", ()),
                                               ("2.6.31", (SWAPIN_RACE,))])
def test_b_maps_c_s_page_where_a_wrote(kernel: str, fixes: tuple[str, ...]) -> None:
    result = _explore(kernel, fixes)
    assert result.stats.executions == FIRST_FOUND
    (finding,) = result.findings
    assert finding.property == "data-integrity"
    # B (task 4) reads what C (task 1) stored, not what A (task 3) stored
    assert finding.message.startswith("task 4 read at 0x40000000 the data task 1 stored")
    assert "not the data task 3 stored" in finding.message
    events = _events(result)
    cow = events.index("A do_wp_page() 0x40000000 COW page#0 -> page#1")
    reuse = events.index("C delete_from_swap_cache() page#0 0x1")
    swap1 = events.index("K add_to_swap_cache() page#1 0x1")  # page2 gets swap1 again
    mapped = events.index("B do_swap_page() 0x40000000 entry 0x1 -> page#0")
    assert cow < reuse < swap1 < mapped


def test_4969c1192d15_leaves_the_page_back_in_the_swap_cache_for_another_entry() -> None:
    """Hugh Dickins' case: page1 is in the swap cache again (swap2) when B gets its lock,
    so PageSwapCache() alone passes; 31c4a3d3a0f8 compares page_private() too."""
    events = _events(_explore("2.6.31", (SWAPIN_RACE,)))
    swap2 = events.index("K add_to_swap_cache() page#0 0x2")
    mapped = events.index("B do_swap_page() 0x40000000 entry 0x1 -> page#0")
    assert swap2 < mapped


def test_the_finding_s_schedule_breaks_nothing_with_31c4a3d3a0f8() -> None:
    found = _explore("2.6.31").findings[0]
    assert found.schedule is not None
    for fixes, broken in [((), True), ((SWAPIN_RACE,), True), ((SWAPIN_RACE_FURTHER,), False),
                          ((SWAPIN_RACE, SWAPIN_RACE_FURTHER), False)]:
        model = SCENARIO.model(ScenarioOptions("2.6.31", fixes=fixes))
        # follow the schedule where the kernel lets it (a fixed B gives up and faults again)
        result = execute(model, (), GuidedDriver(list(found.schedule)),
                         max_steps=SCENARIO.max_steps)
        assert result.complete
        assert (result.failure is not None) is broken, (fixes, result.failure)


def test_clean_with_31c4a3d3a0f8_in_the_scenario_s_budget() -> None:
    result = _explore("2.6.31", (SWAPIN_RACE, SWAPIN_RACE_FURTHER), first=False)
    assert not result.findings and result.stats.executions == SCENARIO.max_executions
