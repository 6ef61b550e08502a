"""dfs and dpor on tiny models with known answers."""

from __future__ import annotations

from math import comb

import pytest
from explore_helpers import trace_class

from swaplab.explore.explorer import explore
from swaplab.explore.model import Model
from swaplab.explore.runner import RunResult
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Options
from swaplab.scenarios import get_scenario


def model(name: str) -> Model:
    return get_scenario(name).model()


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6])
def test_independent_steps_give_all_interleavings_under_dfs_and_one_under_dpor(k: int) -> None:
    dfs = explore(model(f"tiny-independent-{k}"), Options(strategy="dfs"))
    dpor = explore(model(f"tiny-independent-{k}"), Options(strategy="dpor"))
    assert dfs.stats.executions == comb(2 * k, k)
    assert dpor.stats.executions == 1
    assert dfs.status == dpor.status == "clean"
    assert dfs.stats.steps == comb(2 * k, k) * 2 * k


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_lost_update_is_found(strategy: str) -> None:
    result = explore(model("tiny-lost-update"), Options(strategy=strategy))
    assert result.status == "found"
    [finding] = result.findings
    assert finding.property == "no-lost-update"
    assert finding.message == "x == 1 after two increments (expected 2)"
    assert finding.preemptions == 1 and finding.deterministic
    assert [e.function for e in finding.trace if e.function in ("load", "store")] == \
        ["load", "load", "store", "store"]


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_locked_counter_is_clean(strategy: str) -> None:
    result = explore(model("tiny-locked-counter"), Options(strategy=strategy))
    assert result.status == "clean" and result.findings == []
    assert result.stats.complete


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_abba_deadlocks(strategy: str) -> None:
    result = explore(model("tiny-abba"), Options(strategy=strategy))
    [finding] = result.findings
    assert finding.property == "deadlock"
    assert "ab waits for acquire B" in finding.message
    assert "ba waits for acquire A" in finding.message
    assert str(finding.schedule) == "0.0.1.1"


def test_unreached_sometimes_is_a_vacuity_warning_not_a_finding() -> None:
    result = explore(model("tiny-unreachable"), Options(strategy="dpor"))
    assert result.vacuous == ["both-inside"]  # "one-inside" was reached
    assert result.findings == [] and result.notes == []
    assert result.status == "clean"


def test_exception_of_a_thread_is_a_finding() -> None:
    result = explore(model("tiny-bug-on"), Options(strategy="dpor"))
    [finding] = result.findings
    assert finding.property == "exception"
    assert finding.message == "TinyBug: BUG_ON(x == 1) (in check)"
    assert finding.preemptions == 0


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_a_fair_busy_wait_is_clean(strategy: str) -> None:
    """The poller spins only when the setter cannot run: every run ends."""
    result = explore(model("tiny-spin"), Options(strategy=strategy))
    assert result.status == "clean" and result.stats.cut == 0
    assert result.stats.executions >= 2


def test_an_unfair_spin_runs_out_of_steps_and_is_incomplete_never_found() -> None:
    result = explore(model("tiny-spin"), Options(strategy="dfs", policy="unfair"))
    assert result.findings == [] and result.status == "incomplete"
    assert result.stats.cut >= 1


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_a_fair_cycle_of_busy_waits_is_a_livelock(strategy: str) -> None:
    result = explore(model("tiny-livelock"), Options(strategy=strategy))
    [finding] = result.findings
    assert finding.property == "livelock" and finding.kind == "bug"
    assert "t0, t1 busy-wait for ever" in finding.message
    assert result.status == "found" and finding.deterministic
    threads = [e.thread for e in finding.trace]
    assert "t0" in threads and "t1" in threads


def collect(name: str, strategy: str) -> list[list[Decision]]:
    runs: list[list[Decision]] = []

    def keep(result: RunResult) -> None:
        if not result.abandoned:
            runs.append(list(result.decisions))

    explore(model(name), Options(strategy=strategy, shrink=False, fingerprints=False),
            on_result=keep)
    return runs


@pytest.mark.parametrize("name", ["tiny-lost-update", "tiny-locked-counter", "tiny-abba",
                                  "tiny-independent-3", "tiny-choice", "tiny-io"])
def test_dpor_covers_every_trace_with_at_most_one_run_each(name: str) -> None:
    """Every Mazurkiewicz trace dfs sees, dpor sees, with no more runs than traces (runs cut
    short by a failure are partial traces: models with such runs are not compared)."""
    m = model(name)
    all_traces = {trace_class(m, run) for run in collect(name, "dfs")}
    dpor_runs = collect(name, "dpor")
    dpor_traces = {trace_class(m, run) for run in dpor_runs}
    assert dpor_traces == all_traces
    assert len(dpor_runs) <= len(all_traces)


def test_known_trace_counts() -> None:
    """Lost update: R1<W1, R2<W2 with R/R commuting gives 4 traces of 6 interleavings
    (start steps included: 20 runs under dfs)."""
    m = model("tiny-lost-update")
    assert len({trace_class(m, run) for run in collect("tiny-lost-update", "dfs")}) == 4
    assert len(collect("tiny-lost-update", "dpor")) == 4
    assert len(collect("tiny-locked-counter", "dpor")) == 2


def test_iterative_preemption_bounding_stops_at_the_first_bound_that_finds() -> None:
    result = explore(model("tiny-lost-update"), Options(strategy="dfs", preemption_bound=3))
    assert result.bound == 1
    assert result.findings[0].preemptions == 1


def test_bound_zero_misses_the_lost_update_and_says_incomplete() -> None:
    result = explore(model("tiny-lost-update"), Options(strategy="dpor", preemption_bound=0))
    assert result.status == "incomplete" and result.findings == []
    assert result.stats.pruned > 0


def test_max_executions_makes_the_search_incomplete() -> None:
    result = explore(model("tiny-independent-4"),
                     Options(strategy="dfs", max_executions=10))
    assert result.stats.executions == 10 and result.status == "incomplete"


def test_statistics_count_distinct_states() -> None:
    result = explore(model("tiny-independent-2"), Options(strategy="dfs"))
    # positions (a, b) with a, b in 0..2 steps done, fingerprinted after each step: 8 of 9
    assert result.stats.distinct_states == 8
    assert result.stats.max_depth == 4
