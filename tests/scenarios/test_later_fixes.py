"""The races fixed after 2.6.31 (scenarios/later_fixes.py), explored with each scenario's
own strategy; the execution counts are printed and asserted.

swapin-aba (stateful dfs with preemption bound 1, which keeps these tests to seconds; the
scenario's own search, unbounded, is `swaplab check`'s): the four-actor sequence of
31c4a3d3a0f8's changelog on 2.6.30 and 2.6.31, with 4969c1192d15 alone (the window it
leaves: the page back in the swap cache for another entry), and clean with 31c4a3d3a0f8
within the bound (every schedule of at most one preemption).

discard-lockup (dpor, complete): on one CPU, 2.6.31 has a soft lockup (the SWAP_HAS_CACHE
owner asleep in scan_swap_map()'s discard, a readahead looping on -EEXIST), with or without
31a5639623a4; clean with cbab0e4eec29, and clean on two CPUs."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pytest

from swaplab.cli import main
from swaplab.explore.cpus import SOFT_LOCKUP
from swaplab.explore.explorer import Result, explore
from swaplab.explore.replay import GuidedDriver
from swaplab.explore.runner import execute
from swaplab.explore.search import Options
from swaplab.kernel.config import (
    DISCARD_RACE,
    PRELOAD_BEFORE_PREPARE,
    SWAPIN_RACE,
    SWAPIN_RACE_FURTHER,
)
from swaplab.scenarios import ScenarioOptions, format_spec, get_scenario
from swaplab.scenarios.later_fixes import ONE_CPU, build_discard_lockup

SCENARIO = get_scenario("swapin-aba")
#: the bound of these tests' searches
BOUND = 1
#: the run that first breaks data-integrity (the same schedule on every kernel that has
#: the bug: the fixes change nothing before B's lock_page())
FOUND_AT = 240
#: every schedule of at most BOUND preemptions, with the fix
CLEAN_WITHIN_BOUND = 892


@functools.cache  # the tests share the searches (they only read the results)
def _explore(kernel: str, fixes: tuple[str, ...] = (), first: bool = True) -> Result:
    model = SCENARIO.model(ScenarioOptions(kernel, fixes=fixes))
    result = explore(model, Options(strategy=SCENARIO.strategy, preemption_bound=BOUND,
                                    max_steps=SCENARIO.max_steps, stop_on_first=first,
                                    shrink=first))
    print("swapin-aba", kernel, fixes, result.stats.executions, "executions",
          [f.property for f in result.findings])
    return result


def _events(result: Result) -> list[str]:
    (finding,) = result.findings
    return [f"{e.thread[0]} {e.function} {e.detail}" for e in finding.trace]


def test_the_scenario_s_search_is_stateful_dfs_unbounded() -> None:
    assert SCENARIO.strategy == "dfs-cached" and SCENARIO.preemption_bound is None
    assert SCENARIO.max_executions is None


@pytest.mark.parametrize(("kernel", "fixes"), [("2.6.30", ()), ("2.6.31", ()),
                                               ("2.6.31", (SWAPIN_RACE,))])
def test_b_maps_c_s_page_where_a_wrote(kernel: str, fixes: tuple[str, ...]) -> None:
    result = _explore(kernel, fixes)
    assert result.stats.executions == FOUND_AT
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


def test_clean_with_31c4a3d3a0f8_within_the_bound() -> None:
    result = _explore("2.6.31", (SWAPIN_RACE, SWAPIN_RACE_FURTHER), first=False)
    assert not result.findings and not result.notes
    # only the bound cut the search: no run hit the step limit, nothing stopped it
    assert result.stats.cut == 0 and result.stopped is None and result.stats.pruned > 0
    assert result.stats.executions == CLEAN_WITHIN_BOUND


# -- discard-lockup -------------------------------------------------------------------------


def _explore_discard(kernel: str, fixes: tuple[str, ...] = (),
                     cpus: Sequence[int] = ONE_CPU) -> Result:
    model = functools.partial(build_discard_lockup, ScenarioOptions(kernel, fixes=fixes), cpus)
    scenario = get_scenario("discard-lockup")
    result = explore(model, Options(strategy=scenario.strategy, max_steps=scenario.max_steps))
    print("discard-lockup", kernel, fixes, cpus, result.status, result.stats.executions,
          "executions", [f.property for f in result.findings])
    return result


@pytest.mark.parametrize(("fixes", "executions"), [((), 300), ((PRELOAD_BEFORE_PREPARE,), 424)])
def test_2631_soft_lockup_owner_asleep_in_the_discard_spinner_on_eexist(
        fixes: tuple[str, ...], executions: int) -> None:
    """With or without 31a5639623a4 (which moved radix_tree_preload(), not this loop)."""
    result = _explore_discard("2.6.31", fixes)
    assert result.status == "found" and result.stats.complete
    assert result.stats.executions == executions
    [finding] = result.findings
    assert finding.property == SOFT_LOCKUP and finding.kind == "bug"
    assert finding.message == (
        "CPU 0: C: fault busy-waits at spin @read_swap_cache_async: -EEXIST and never gives "
        "up the CPU, while R: reclaim can run only on CPU 0")
    events = [(e.thread, e.function, e.detail) for e in finding.trace]
    asleep = events.index(("R: reclaim", "discard_swap_cluster()",
                           "type 0, slots 2-257: blkdev_issue_discard() sleeps"))
    refused = [i for i, e in enumerate(events)
               if e == ("C: fault", "swapcache_prepare()", "0x2 -> -17")]
    assert asleep < refused[0] and len(refused) == 2  # C went round once more
    assert all(e[0] != "R: reclaim" for e in events[asleep + 1:])


def test_2631_with_cbab0e4eec29_is_clean() -> None:
    result = _explore_discard("2.6.31", (DISCARD_RACE,))
    assert result.status == "clean" and result.stats.complete
    assert result.stats.executions == 356


def test_2631_on_two_cpus_is_clean() -> None:
    result = _explore_discard("2.6.31", cpus=(0, 1))
    assert result.status == "clean" and result.stats.complete
    assert result.stats.executions == 122


def test_replay_with_the_fix_follows_the_finding_s_schedule_where_it_can(
        capsys: pytest.CaptureFixture[str]) -> None:
    found = _explore("2.6.31").findings[0]
    assert found.schedule is not None
    text = format_spec("swapin-aba", ScenarioOptions("2.6.31"), list(found.schedule))
    assert main(["replay", text]) == 1
    assert "data-integrity: task 4 read" in capsys.readouterr().out
    assert main(["replay", text, "--fixes", SWAPIN_RACE_FURTHER]) == 0
    out = capsys.readouterr().out
    assert "the schedule was followed where the threads could: swapin-aba,kernel=2.6.31," \
        f"fixes={SWAPIN_RACE_FURTHER}:" in out and out.endswith("no bug property broken\n")
