"""Exploring a hunt's cases: findings per case, racing functions, caps, jobs, replay."""

from __future__ import annotations

import dataclasses
import multiprocessing
import re
import time

import pytest

from swaplab import interrupt
from swaplab.explore import backend
from swaplab.explore.execution import Event
from swaplab.hunt import run
from swaplab.hunt.triage import triage


def _event(step: int, thread: str, function: str) -> Event:
    return Event(step, thread, function, "")


def test_racing_functions_are_those_of_interleaved_threads() -> None:
    trace = [
        _event(1, "C: exit", "do_exit()"),  # C runs alone before the others
        _event(2, "A: fault", "start"),
        _event(2, "A: fault", "read_swap_cache_async()"),
        _event(3, "B: exit", "free_swap_and_cache()"),
        _event(3, "B: exit", "find_get_page"),  # a lock step, not a kernel function
        _event(4, "end_swap_bio_read page#0", "end_swap_bio_read()"),
        _event(5, "A: fault", "do_swap_page()"),
    ]
    assert run.racing_functions(trace) == (
        "do_swap_page()", "end_swap_bio_read()", "free_swap_and_cache()",
        "read_swap_cache_async()")


def test_without_interleaving_every_thread_counts() -> None:
    trace = [_event(1, "A", "do_exit()"), _event(2, "B", "do_munmap()")]
    assert run.racing_functions(trace) == ("do_exit()", "do_munmap()")


def test_cases_are_explored_in_order_with_their_findings(hunt_2630: run.Hunt) -> None:
    keys = [e.case for e in hunt_2630.explored]
    assert keys == [c.key() for c in hunt_2630.cases]
    by_case = {e.case: e for e in hunt_2630.explored}
    quiet = by_case["quiet|exit a|exit b"]
    assert quiet.findings == () and quiet.complete and quiet.executions > 1
    readahead = by_case["readahead|exit a|fault b"]
    assert {f.property for f in readahead.findings} >= {"memcg-accounting", "swap-slot-leak"}
    assert all(f.kind == "bug" and f.schedule for f in readahead.findings)
    assert hunt_2630.states == 3 and hunt_2630.finished == 4
    assert hunt_2630.executions == sum(e.executions for e in hunt_2630.explored)


def test_a_case_cut_by_the_cap_makes_the_hunt_incomplete(config_2630: run.HuntConfig) -> None:
    quiet = dataclasses.replace(config_2630, match="^quiet")
    whole = run.hunt(quiet)
    assert [e.case for e in whole.explored] == ["quiet|exit a|exit b"]
    assert whole.complete
    capped = run.hunt(dataclasses.replace(quiet, max_executions=2))
    assert capped.explored[0].executions == 2 and not capped.complete
    cut_twice = run.hunt(dataclasses.replace(quiet, max_executions=2, retry_executions=3))
    explored = cut_twice.explored[0]
    assert (explored.executions, explored.strategy) == (5, "dpor, dfs-cached")
    assert not cut_twice.complete


def test_a_case_dpor_cuts_is_finished_by_state_caching_with_dpors_findings(
        config_2630: run.HuntConfig) -> None:
    """Exit against a fault whose readahead covers the exiting task's slot (Type-1): dpor
    cut at 400 executions, then dfs-cached to the end, finds the properties dpor finds
    without a cap (2,636 executions)."""
    case = dataclasses.replace(config_2630, match=r"^readahead\|exit a", retry_executions=None)
    retried = run.hunt(case)
    whole = run.hunt(dataclasses.replace(case, max_executions=None))
    assert retried.complete and whole.complete
    assert retried.explored[0].strategy == "dpor, dfs-cached"
    assert whole.explored[0].strategy == "dpor"
    assert {f.key for f in retried.explored[0].findings} == \
        {f.key for f in whole.explored[0].findings} != set()
    assert retried.explored[0].executions < whole.explored[0].executions


def test_2631_has_no_finding_in_the_type1_and_type2_cases(config_2630: run.HuntConfig
                                                          ) -> None:
    found = run.hunt(dataclasses.replace(config_2630, kernel="2.6.31"))
    assert [e.findings for e in found.explored] == [(), (), (), ()]
    assert sum(e.notes for e in found.explored) >= 1  # counted, not listed


def test_the_same_findings_with_one_or_two_jobs(config_2630: run.HuntConfig,
                                                hunt_2630: run.Hunt) -> None:
    two = run.hunt(config_2630, jobs=2)
    assert [e.as_json() | {"elapsed": 0} for e in two.explored] == \
        [e.as_json() | {"elapsed": 0} for e in hunt_2630.explored]
    assert triage(two) == triage(hunt_2630)


def test_each_finding_replays_from_its_case_and_schedule(config_2630: run.HuntConfig,
                                                         hunt_2630: run.Hunt) -> None:
    rows = triage(hunt_2630)
    assert rows
    for row in rows:
        replayed = run.replay_case(config_2630, row.case, row.found.schedule)
        assert row.found.property in {name for name, _ in replayed.broken}, row.id
        assert run.racing_functions(replayed.trace) == row.found.functions


def test_an_unknown_case_is_a_key_error(config_2630: run.HuntConfig) -> None:
    with pytest.raises(KeyError, match=re.escape("no case 'nowhere|exit a'")):
        run.replay_case(config_2630, "nowhere|exit a", "0.1")


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_the_real_generator_finds_type1_and_type2_on_2630_only(kernel: str) -> None:
    """Exit or munmap against a swap-in with readahead, and exit against kswapd's
    add_to_swap/pageout of the same page: both on 2.6.30, neither as a bug on 2.6.31."""
    config = run.HuntConfig(kernel, max_executions=300, retry_executions=0,
                            match=r"^s01-swapped-neighbours\|exit 1\|touch"
                                  r"|^s02-resident\|exit 1\|kswapd")
    found = run.hunt(config)
    assert len(found.explored) == 2
    labels = {row.known for row in triage(found)}
    assert labels == ({"Type-1", "Type-2"} if kernel == "2.6.30" else set())


@pytest.mark.parametrize("fixes", [(), ("fce66477578d",)])
@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_the_real_generator_finds_rmdir_against_exit_unless_fixed(
        kernel: str, fixes: tuple[str, ...]) -> None:
    """rmdir of a group whose moved-away task exits: the exit uncharges a page still on the
    group's LRU, rmdir stops at usage 0, the exit's swap free frees the group and the
    page's LRU unlink touches it -- on both kernels, and on neither with fce66477578d."""
    config = run.HuntConfig(kernel, fixes=fixes, match=r"^s07-moved\|exit 1\|rmdir /A$")
    found = run.hunt(config)
    assert len(found.explored) == 1 and found.complete
    rows = triage(found)
    if fixes:
        assert rows == []
    else:
        assert [(row.found.key, row.known) for row in rows] == [
            ("exception:KernelBug", "rmdir use-after-free (fce66477578d)")]
        assert "use-after-free: mem_cgroup_del_lru_list()" in rows[0].found.message


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_the_real_generator_finds_swapoff_freeing_the_map_under_a_swapin(kernel: str) -> None:
    """A fault on a swap pte whose page is not in the swap cache, against swapoff: swapoff
    maps the page back and frees the area's swap_map; the fault's valid_swaphandles()
    then reads the freed map (mm/swapfile.c, a NULL dereference). The triage labels it
    with the commit that closed the race in v5.1."""
    config = run.HuntConfig(kernel, match=r"^s05-swapcache\|touch 2 B:0\|swapoff$")
    found = run.hunt(config)
    assert len(found.explored) == 1 and found.complete
    rows = triage(found)
    assert [(row.found.key, row.known) for row in rows] == [
        ("exception:KernelBug", "swapoff vs swap-in (eb085574a752)")]
    assert "NULL pointer dereference: valid_swaphandles()" in rows[0].found.message
    assert "sys_swapoff()" in rows[0].found.functions


class _Silent:
    """A pool's results of which nothing ever arrives (its worker was killed)."""

    def next(self, timeout: float) -> tuple[int, run.Explored]:
        time.sleep(timeout)
        raise multiprocessing.TimeoutError


def test_after_a_stop_a_case_that_never_reports_is_given_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "CANCEL_S", 0.3)
    with interrupt.interruptible() as stop:
        stop.reason = "interrupted"
        started = time.monotonic()
        assert list(run._arrivals(_Silent(), 2)) == []
    assert time.monotonic() - started < 5
