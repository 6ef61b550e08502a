"""Named scenarios: a setup, the threads to race, the properties, the default bounds."""

from swaplab.scenarios.api import Scenario, ScenarioOptions, new_instance
from swaplab.scenarios.registry import (
    MODULES,
    UnknownScenario,
    all_scenarios,
    get_scenario,
    listed_scenarios,
)
from swaplab.scenarios.spec import format_spec, parse_spec

__all__ = [
    "MODULES",
    "Scenario",
    "ScenarioOptions",
    "UnknownScenario",
    "all_scenarios",
    "format_spec",
    "get_scenario",
    "listed_scenarios",
    "new_instance",
    "parse_spec",
]
