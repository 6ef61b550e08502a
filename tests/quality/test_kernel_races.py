"""Each race is found by exhaustive dpor on the kernels that have it, with the expected
property families (and their kind: bug, or note where the kernel repairs the state later);
nothing of a family is found on the kernels that fixed it, with the exploration complete
and more than one execution."""

from __future__ import annotations

import pytest

from swaplab.explore.explorer import explore
from swaplab.explore.search import Options
from swaplab.scenarios import ScenarioOptions, get_scenario
from swaplab.scenarios.kernel_common import FAMILIES, only

P124 = ("1", "2", "4")


def explore_family(name: str, family: str, kernel: str | None = None,
                   patches: tuple[str, ...] | None = None, page_cluster: int | None = None,
                   ) -> tuple[bool, int, bool]:
    found, _, executions, complete = explore_kind(name, family, kernel, patches, page_cluster)
    return found, executions, complete


def explore_kind(name: str, family: str, kernel: str | None = None,
                 patches: tuple[str, ...] | None = None, page_cluster: int | None = None,
                 ) -> tuple[bool, str, int, bool]:
    """Whether ``family`` is broken (as a bug or a note), its kind, executions, complete."""
    scenario = get_scenario(name)
    model = only(scenario.model(ScenarioOptions(kernel, patches, page_cluster)), family)
    result = explore(model, Options(strategy=scenario.strategy, shrink=False,
                                    max_steps=scenario.max_steps))
    hits = [f for f in [*result.findings, *result.notes] if f.property == family]
    kind = hits[0].kind if hits else ""
    return bool(hits), kind, result.stats.executions, result.stats.complete


FOUND = [
    ("type1", "2.6.30", None, ("memcg-accounting", "memcg-lru-visibility", "swap-slot-leak",
                               "mem_cgroup-refcnt")),
    ("type1", None, P124, ("memcg-lru-visibility", "swap-slot-leak")),
    ("type1", "2.6.31", None, ("memcg-lru-visibility",)),
    ("type2", "2.6.30", None, ("memcg-lru-visibility", "swap-slot-leak")),
    ("type2", None, P124, ("memcg-lru-visibility", "swap-slot-leak")),
    ("type2", "2.6.31", None, ("memcg-lru-visibility",)),
    ("add-to-swap-vs-readahead", "2.6.30", None, ("memcg-lru-visibility", "swap-slot-leak")),
    ("swapin-vs-zap", "2.6.30", None, FAMILIES),
]


@pytest.mark.parametrize(("name", "kernel", "patches", "families"), FOUND)
def test_the_race_breaks_exactly_the_expected_families(
        name: str, kernel: str | None, patches: tuple[str, ...] | None,
        families: tuple[str, ...]) -> None:
    for family in (*FAMILIES, "invariants"):
        found, kind, executions, complete = explore_kind(name, family, kernel, patches)
        assert found == (family in families), (family, found)
        assert executions > 1
        if not found:
            assert complete
        elif family == "memcg-lru-visibility" and kernel == "2.6.31":
            assert kind == "note"  # 2.6.31 reclaims the orphan's slot itself
        else:
            assert kind == "bug", family


CLEAN = [
    ("type1", "2.6.31", None, ("memcg-accounting", "mem_cgroup-refcnt", "swap-slot-leak")),
    ("type1", None, P124, ("memcg-accounting", "mem_cgroup-refcnt")),
    ("type1", "rfc-2009-05-26", None, ("memcg-accounting", "swap-slot-leak")),
    ("type2", "2.6.31", None, ("memcg-accounting", "swap-slot-leak")),
    ("type2", "rfc-2009-05-26", None, ("swap-slot-leak",)),
    ("add-to-swap-vs-readahead", "2.6.31", None, ("memcg-lru-visibility",)),
    ("fsc-vs-writeback", "2.6.30", None, FAMILIES),
    ("swap-entry", "2.6.30", None, FAMILIES),
    ("swapin-reuse", "2.6.30", None, FAMILIES),
]


@pytest.mark.parametrize(("name", "kernel", "patches", "families"), CLEAN)
def test_fixed_families_are_clean_and_complete(
        name: str, kernel: str | None, patches: tuple[str, ...] | None,
        families: tuple[str, ...]) -> None:
    for family in families:
        found, executions, complete = explore_family(name, family, kernel, patches)
        assert not found, family
        assert complete and executions > 1


def test_page_cluster_0_avoids_the_readahead_type1() -> None:
    for family in FAMILIES:
        found, executions, complete = explore_family("type1", family, "2.6.30",
                                                     page_cluster=0)
        assert not found and complete and executions > 1


@pytest.mark.parametrize("name", ["swapin-reuse", "add-to-swap-vs-readahead"])
def test_2_6_31_swapcache_prepare_retry_is_clean_under_fair_schedules(name: str) -> None:
    """The [31] -EEXIST retry loop runs after the SWAP_HAS_CACHE owner: every run ends."""
    scenario = get_scenario(name)
    result = explore(scenario.model(ScenarioOptions("2.6.31")),
                     Options(strategy="dpor", shrink=False, max_steps=scenario.max_steps))
    assert result.status == "clean" and result.findings == []
    assert result.stats.cut == 0 and result.stats.executions > 1


def test_2_6_31_retry_spins_only_under_unfair_schedules_and_is_then_incomplete() -> None:
    """Without fairness some runs never let the owner run: they end at the step limit,
    which makes the search incomplete, never "found"."""
    scenario = get_scenario("swapin-reuse")
    result = explore(scenario.model(ScenarioOptions("2.6.31")),
                     Options(strategy="dpor", shrink=False, max_steps=300, policy="unfair"))
    assert result.findings == [] and result.status == "incomplete"
    assert result.stats.cut >= 1


@pytest.mark.parametrize("name", ["swapin-vs-zap", "fsc-vs-writeback"])  # type1/2: explore/
def test_dpor_agrees_with_exhaustive_dfs(name: str) -> None:
    """DPOR's independence comes from the ops the kernel model traps on; a lock-free
    access the model misses would make dpor skip orders that dfs runs."""
    scenario = get_scenario(name)
    for family in FAMILIES:
        model = only(scenario.model(ScenarioOptions("2.6.30")), family)
        verdicts = []
        for strategy in ("dpor", "dfs"):
            result = explore(model, Options(strategy=strategy, shrink=False,
                                            max_steps=scenario.max_steps))
            assert result.stats.complete
            verdicts.append(any(f.property == family
                                for f in [*result.findings, *result.notes]))
        assert verdicts[0] == verdicts[1], family


@pytest.mark.parametrize(("kernel", "reached"), [("2.6.30", True), ("2.6.31", False)])
def test_readahead_inserts_into_a_fresh_slot_only_before_swap_has_cache(
        kernel: str, reached: bool) -> None:
    """[31]: get_swap_page() hands out the slot with SWAP_HAS_CACHE set, so readahead's
    swapcache_prepare() gets -EEXIST and never inserts its own page there."""
    scenario = get_scenario("add-to-swap-vs-readahead")

    def model():  # type: ignore[no-untyped-def]
        instance = scenario.model(ScenarioOptions(kernel))()
        instance.properties = [p for p in instance.properties
                               if p.name == "readahead-page-in-fresh-slot"]
        return instance

    result = explore(model, Options(strategy="dpor", shrink=False,
                                    max_steps=scenario.max_steps))
    unreached = result.vacuous == ["readahead-page-in-fresh-slot"]
    assert unreached != reached
    assert result.findings == []
    assert result.stats.executions > 1
