"""dfs with state caching against plain dfs: the same verdicts and findings, the same
reachable states, far fewer executions where states merge."""

from __future__ import annotations

import contextlib
import functools

import pytest

from swaplab.explore.canonical import Opaque, encode_run
from swaplab.explore.dfs import DfsDriver, dfs
from swaplab.explore.execution import Thread
from swaplab.explore.explorer import explore
from swaplab.explore.model import Model
from swaplab.explore.runner import Run
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Options, Search
from swaplab.explore.stateful import cached_dfs
from swaplab.explore.visited import digest
from swaplab.scenarios import ScenarioOptions, get_scenario
from swaplab.scenarios.registry import all_scenarios
from swaplab.scenarios.tiny import build_scaled

#: the engine models with small dfs trees (not the larger tiny-independent-K, the PCT
#: model or the scaled counter, tested apart)
ENGINE = sorted(name for name, s in all_scenarios().items() if name.startswith("tiny-")
                and s.strategy != "pct" and name not in (
                    "tiny-scaled-3x3", "tiny-independent-5", "tiny-independent-6",
                    "tiny-independent-8"))
#: kernel scenarios whose plain dfs tree is small (bounded where it is not)
KERNEL = [("swapin-vs-munmap", "2.6.30", None), ("swapoff-vs-shm-rmid", "2.6.31", 1),
          ("type1", "2.6.30", 1)]


def verdict(model: Model, strategy: str, bound: int | None, policy: str = "fair",
            max_steps: int | None = None) -> tuple[str, list[str], list[str]]:
    result = explore(model, Options(strategy=strategy, preemption_bound=bound, shrink=False,
                                    policy=policy, max_steps=max_steps))
    broken = sorted({f.property for f in [*result.findings, *result.notes]})
    return result.status, broken, sorted(result.vacuous)


@pytest.mark.parametrize(("name", "policy"), [
    *((name, "fair") for name in ENGINE),
    # unfair: busy-waits run until the step limit, a tree too large for plain dfs
    *((name, "unfair") for name in ENGINE if name not in ("tiny-spin", "tiny-livelock"))])
def test_engine_models_same_verdicts(name: str, policy: str) -> None:
    model = get_scenario(name).model(ScenarioOptions(policy=policy))
    assert verdict(model, "dfs-cached", None, policy) == verdict(model, "dfs", None, policy)


@pytest.mark.parametrize(("name", "kernel", "bound"), KERNEL)
def test_kernel_scenarios_same_verdicts(name: str, kernel: str, bound: int | None) -> None:
    scenario = get_scenario(name)
    model = scenario.model(ScenarioOptions(kernel))
    cached = verdict(model, "dfs-cached", bound, max_steps=scenario.max_steps)
    assert cached == verdict(model, "dfs", bound, max_steps=scenario.max_steps)


def test_type2_unbounded_in_a_fraction_of_the_runs() -> None:
    # plain dfs: 21,882 executions (minutes), finding these two families
    model = get_scenario("type2").model(ScenarioOptions("2.6.30"))
    result = explore(model, Options(strategy="dfs-cached", shrink=False))
    assert result.status == "found"
    broken = {f.property for f in [*result.findings, *result.notes]}
    assert broken == {"swap-slot-leak", "memcg-lru-visibility"}
    assert result.stats.executions < 1_000 and result.stats.opaque_states == 0


class _AllStates(DfsDriver):
    """Plain dfs that encodes every state it reaches (no pruning)."""

    def __init__(self, search: Search) -> None:
        super().__init__(search, None)
        self.keys: set[int] = set()

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        with contextlib.suppress(Opaque):
            self.keys.add(digest(encode_run(run.instance.state, run.threads,
                                            run.instance.rules)))
        return super().choose(run, enabled)


@pytest.mark.parametrize(("name", "kernel"), [("tiny-io", None), ("tiny-bug-on", None),
                                              ("tiny-livelock", None), ("tiny-choice", None),
                                              ("swapin-vs-munmap", "2.6.30")])
def test_caching_reaches_every_state_plain_dfs_reaches(name: str, kernel: str | None) -> None:
    model = get_scenario(name).model(ScenarioOptions(kernel))
    plain = Search(model, Options(strategy="dfs", shrink=False, fingerprints=False))
    driver = _AllStates(plain)
    dfs(plain, None, (), None, driver)
    cached = Search(model, Options(strategy="dfs-cached", shrink=False, fingerprints=False))
    cached_dfs(cached, None)
    assert cached.visited is not None
    assert set(cached.visited.states) == driver.keys
    assert cached.stats.executions < plain.stats.executions


def test_scaled_counter_merges_states() -> None:
    model = functools.partial(build_scaled, 2, 2, ScenarioOptions())
    plain = explore(model, Options(strategy="dfs", shrink=False))
    cached = explore(model, Options(strategy="dfs-cached", shrink=False))
    assert plain.status == cached.status == "clean"
    assert cached.stats.executions * 5 < plain.stats.executions
    assert cached.stats.stored_states is not None and cached.stats.revisits > 0
    assert cached.stats.collision_optimistic is not None
    assert 0 < cached.stats.collision_optimistic < 1e-9


def test_scaled_3x3_is_clean_in_far_fewer_executions_than_dpor_needs() -> None:
    result = explore(get_scenario("tiny-scaled-3x3").model(), Options(strategy="dfs-cached"))
    assert result.status == "clean"
    assert result.stats.executions < 17_124 // 10  # dpor: 17,124 executions, one per trace


def test_scaled_properties_can_fail() -> None:
    model = functools.partial(build_scaled, 2, 2, ScenarioOptions())
    instance = model()
    x_total, reads = instance.properties
    state = instance.state
    state.cell.value = 3
    assert not x_total.check(state)
    state.seen.append(1)
    assert not reads.check(state)
    instance.execution.close()


def test_a_preemption_bound_keeps_the_budget_with_the_state() -> None:
    # with a bound, a state first reached after spending preemptions is explored again
    # when reached with more left: the verdicts of each bound match plain dfs's
    model = get_scenario("tiny-lost-update").model()
    for bound in (0, 1):
        assert verdict(model, "dfs-cached", bound) == verdict(model, "dfs", bound)
