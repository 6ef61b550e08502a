"""The scenario registry and schedule texts that name their scenario."""

from __future__ import annotations

import pytest

from swaplab.explore.schedule import ScheduleError
from swaplab.scenarios import (
    ScenarioOptions,
    UnknownScenario,
    all_scenarios,
    format_spec,
    get_scenario,
    parse_spec,
)


def test_the_tiny_models_are_registered() -> None:
    names = list(all_scenarios())
    for name in ["tiny-lost-update", "tiny-locked-counter", "tiny-abba", "tiny-unreachable",
                 "tiny-independent-2", "tiny-independent-6", "tiny-ordering-20"]:
        assert name in names


def test_unknown_scenario() -> None:
    with pytest.raises(UnknownScenario, match="unknown scenario 'nope'"):
        get_scenario("nope")


def test_every_scenario_builds_a_fresh_instance_each_time() -> None:
    for scenario in all_scenarios().values():
        model = scenario.model()
        a, b = model(), model()
        assert a.state is not b.state
        assert len(a.execution.threads) == len(b.execution.threads) >= 2
        a.execution.close()
        b.execution.close()


def test_spec_round_trip_with_options() -> None:
    options = ScenarioOptions("2.6.30", ("swapcache_interface", "swap_has_cache"), 3)
    text = format_spec("type1", options, [(0, -1), (0, -1), (0, -1), (1, 1)])
    assert text == "type1,kernel=2.6.30,patches=swapcache_interface+swap_has_cache," \
                   "page-cluster=3:0*3.1.c1"
    assert parse_spec(text) == ("type1", options, [(0, -1)] * 3 + [(1, 1)])


def test_spec_without_options_and_with_no_patches() -> None:
    assert parse_spec("tiny-abba:0.0.1.1") == ("tiny-abba", ScenarioOptions(),
                                               [(0, -1), (0, -1), (1, -1), (1, -1)])
    assert parse_spec("x,patches=none:-")[1].patches == ()


@pytest.mark.parametrize("text", ["0.1.2", ":0.1", "x,kernel:0", "x,color=red:0", "x:0.q"])
def test_bad_specs(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_spec(text)


def test_spec_records_later_fixes() -> None:
    options = ScenarioOptions("2.6.31", fixes=("31c4a3d3a0f8", "4969c1192d15"))
    text = format_spec("swapin-aba", options, [(0, -1), (1, -1)])
    assert text == "swapin-aba,kernel=2.6.31,fixes=31c4a3d3a0f8+4969c1192d15:0.1"
    assert parse_spec(text) == ("swapin-aba", options, [(0, -1), (1, -1)])
    with pytest.raises(ScheduleError, match="unknown fix"):
        parse_spec("swapin-aba,fixes=4969c1192d1:0")
