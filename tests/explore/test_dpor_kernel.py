"""dpor against dfs on the kernel scenarios: every Mazurkiewicz trace that dfs meets
(within a preemption bound, where the unbounded tree is too large) is among the traces of
dpor's runs, and both agree on every property family. The kernel model's dependencies come
from the operations it traps on and from the steps' lock records; a lock-free access or a
lock effect the model failed to report would make dpor skip orders that dfs runs."""

from __future__ import annotations

import functools

import pytest
from explore_helpers import trace_class

from swaplab.explore.dfs import dfs
from swaplab.explore.dpor import dpor
from swaplab.explore.explorer import explore
from swaplab.explore.model import Model
from swaplab.explore.runner import RunResult
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Options, Search
from swaplab.scenarios import ScenarioOptions, get_scenario
from swaplab.scenarios.kernel_common import FAMILIES, only


def runs(model: Model, options: Options) -> list[list[Decision]]:
    """Every run of one search at exactly ``options.preemption_bound`` (no iterative
    bounding: it would stop at the first bound that finds something)."""
    out: list[list[Decision]] = []

    def keep(result: RunResult) -> None:
        if not result.abandoned:
            out.append(list(result.decisions))

    search = Search(model, options, on_result=keep)
    strategy = dfs if options.strategy == "dfs" else dpor
    strategy(search, options.preemption_bound)
    return out


CASES = [("type1", "2.6.31", 2), ("type1", "2.6.30", 2), ("type2", "2.6.30", None),
         ("swapin-reuse", "2.6.31", 2), ("add-to-swap-vs-readahead", "2.6.31", 1),
         ("swapin-vs-munmap", "2.6.30", None), ("swapin-vs-zap", "2.6.30", None),
         # a memcg's removal against a charge and an uncharge: css refcounts, cgroup_mutex,
         # the rmdir wait queue, res_counter and page_cgroup locks are all dependencies
         ("rmdir-vs-swapin", "2.6.30", None), ("rmdir-vs-swapin", "2.6.31", None),
         ("rmdir-vs-munmap", "2.6.30", 2), ("rmdir-vs-munmap", "2.6.31", 2),
         ("force-empty-vs-swapin", "2.6.30", None), ("force-empty-vs-swapin", "2.6.31", None),
         ("force-empty-vs-munmap", "2.6.30", 1), ("force-empty-vs-munmap", "2.6.31", 2)]


@pytest.mark.parametrize(("name", "kernel", "bound"), CASES)
def test_dpor_runs_every_trace_dfs_runs(name: str, kernel: str, bound: int | None) -> None:
    scenario = get_scenario(name)
    model = scenario.model(ScenarioOptions(kernel))
    opts = functools.partial(Options, shrink=False, fingerprints=False,
                             max_steps=scenario.max_steps)
    dpor_runs = runs(model, opts(strategy="dpor"))
    dfs_runs = runs(model, opts(strategy="dfs", preemption_bound=bound))
    dpor_traces = {trace_class(model, run) for run in dpor_runs}
    dfs_traces = {trace_class(model, run) for run in dfs_runs}
    assert len(dfs_runs) > len(dpor_runs) > 1
    assert dfs_traces <= dpor_traces
    assert len(dpor_runs) == len(dpor_traces)  # one run per trace
    if bound is None:
        assert dfs_traces == dpor_traces


@pytest.mark.parametrize(("name", "kernel", "bound"),
                         [case for case in CASES if case[0] != "type2"])  # type2: quality/
def test_dpor_and_dfs_break_the_same_families(name: str, kernel: str,
                                              bound: int | None) -> None:
    scenario = get_scenario(name)
    for family in FAMILIES:
        model = only(scenario.model(ScenarioOptions(kernel)), family)
        verdicts = []
        for strategy, limit in (("dpor", None), ("dfs", bound)):
            result = explore(model, Options(strategy=strategy, preemption_bound=limit,
                                            shrink=False, max_steps=scenario.max_steps))
            verdicts.append(any(f.property == family
                                for f in [*result.findings, *result.notes]))
        assert verdicts[0] == verdicts[1], family
