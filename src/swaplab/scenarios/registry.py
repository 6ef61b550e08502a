"""Which scenarios exist: every module of :data:`MODULES` exports ``SCENARIOS``.

To add scenarios, write a module with ``SCENARIOS: tuple[Scenario, ...]`` and add its name
here. Nothing is registered at import time (no module-level mutable state).
"""

from __future__ import annotations

import importlib

from swaplab.scenarios.api import ENGINE, Scenario

MODULES: tuple[str, ...] = ("swaplab.scenarios.tiny", "swaplab.scenarios.kernel_races",
                           "swaplab.scenarios.shmem_races", "swaplab.scenarios.cgroup_races",
                           "swaplab.scenarios.lockups", "swaplab.scenarios.later_fixes")


class UnknownScenario(KeyError):
    def __str__(self) -> str:
        return f"unknown scenario {self.args[0]!r} (see `swaplab scenarios`)"


def all_scenarios() -> dict[str, Scenario]:
    """Every scenario by name, in registration order."""
    out: dict[str, Scenario] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for scenario in getattr(module, "SCENARIOS", ()):
            if scenario.name in out:
                raise ValueError(f"scenario {scenario.name!r} registered twice")
            out[scenario.name] = scenario
    return out


def listed_scenarios(everything: bool = False) -> dict[str, Scenario]:
    """The scenarios `swaplab scenarios` lists: the engine models only with
    ``everything``."""
    return {name: scenario for name, scenario in all_scenarios().items()
            if everything or ENGINE not in scenario.tags}


def get_scenario(name: str) -> Scenario:
    scenarios = all_scenarios()
    if name not in scenarios:
        raise UnknownScenario(name)
    return scenarios[name]
