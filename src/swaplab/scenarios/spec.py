"""A finding's schedule text names its scenario and options, so it replays alone::

    tiny-lost-update:0.1.0.1
    type1,kernel=2.6.30,patches=a+b,page-cluster=3:0*4.1.c1.0
    swapin-aba,kernel=2.6.31,fixes=4969c1192d15:0*9.1*4.0*30
    tiny-spin,policy=unfair:0*28.1.1

Scenario name, then ``,key=value`` options (``patches`` and ``fixes`` joined with ``+``,
empty patches: ``none``; ``fixes`` only when there are some, ``policy`` only when not the
default fair one), then ``:`` and the schedule text of
:mod:`swaplab.explore.schedule`. Safe in a shell unquoted.
"""

from __future__ import annotations

from swaplab.explore.policy import POLICIES
from swaplab.explore.schedule import Decision, ScheduleError, format_decisions, parse_decisions
from swaplab.kernel.config import ConfigError, parse_fixes
from swaplab.scenarios.api import ScenarioOptions


def format_spec(name: str, options: ScenarioOptions, decisions: list[Decision]) -> str:
    parts = [name]
    if options.kernel is not None:
        parts.append(f"kernel={options.kernel}")
    if options.patches is not None:
        parts.append(f"patches={'+'.join(options.patches) or 'none'}")
    if options.fixes:
        parts.append(f"fixes={'+'.join(options.fixes)}")
    if options.page_cluster is not None:
        parts.append(f"page-cluster={options.page_cluster}")
    if options.schedules != "fair":
        parts.append(f"policy={options.schedules}")
    return ",".join(parts) + ":" + format_decisions(decisions)


def parse_spec(text: str) -> tuple[str, ScenarioOptions, list[Decision]]:
    """Split a schedule text into scenario name, options and decisions."""
    head, sep, tail = text.strip().partition(":")
    if not sep or not head:
        raise ScheduleError(f"schedule {text!r} does not start with 'SCENARIO:'")
    name, *pairs = head.split(",")
    kernel: str | None = None
    patches: tuple[str, ...] | None = None
    page_cluster: int | None = None
    policy: str | None = None
    fixes: tuple[str, ...] = ()
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise ScheduleError(f"bad option {pair!r} in {text!r}")
        if key == "kernel":
            kernel = value
        elif key == "patches":
            patches = () if value == "none" else tuple(value.split("+"))
        elif key == "fixes":
            fixes = _fixes(value, text)
        elif key == "page-cluster" and value.isdigit():
            page_cluster = int(value)
        elif key == "policy" and value in POLICIES:
            policy = None if value == "fair" else value
        else:
            raise ScheduleError(f"bad option {pair!r} in {text!r}")
    options = ScenarioOptions(kernel, patches, page_cluster, policy, fixes)
    return name, options, parse_decisions(tail)


def _fixes(value: str, text: str) -> tuple[str, ...]:
    try:
        return parse_fixes(value.replace("+", ","))
    except ConfigError as err:
        raise ScheduleError(f"{err} in {text!r}") from None
