"""Checkpoints in one process: a search stopped after any number of executions and resumed
(possibly many times) ends with the totals and failures of one that never stopped."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from swaplab.explore.checkpoint import Checkpointing, identity, load
from swaplab.explore.explorer import Result, explore
from swaplab.explore.runner import RunResult
from swaplab.explore.search import Options
from swaplab.interrupt import interruptible
from swaplab.scenarios import ScenarioOptions, get_scenario


def totals(result: Result) -> tuple[Any, ...]:
    stats = asdict(result.stats)
    stats.pop("elapsed")
    return (result.status, result.bound, stats,
            [(f.property, f.message, list(f.schedule or [])) for f in result.findings],
            [(f.property, list(f.schedule or [])) for f in result.notes], result.vacuous)


def stopped_every(name: str, sopts: ScenarioOptions, options: Options, every: int,
                  path: Path) -> tuple[Result, int]:
    """Explore, stopping after each ``every`` executions and resuming from the checkpoint;
    the last result and the number of runs it took."""
    model = get_scenario(name).model(sopts)
    ident = identity(name, asdict(sopts), options)
    resume = None
    for runs in range(1, 10_000):
        with interruptible() as stop:
            seen = 0

            def count(result: RunResult) -> None:
                nonlocal seen
                seen += 1
                if seen >= every:
                    stop.reason = "interrupted"

            checkpoint = Checkpointing(ident, str(path), 3600.0, resume)
            result = explore(model, options, on_result=count, checkpoint=checkpoint)
        if result.stopped is None:
            return result, runs
        resume = load(str(path), ident)
    raise AssertionError("never finished")


@pytest.mark.parametrize(("name", "kernel", "options", "every"), [
    ("tiny-abba", None, Options(strategy="dfs"), 1),
    ("tiny-abba", None, Options(strategy="dpor"), 1),
    ("tiny-lost-update", None, Options(strategy="dpor", preemption_bound=2), 1),
    ("tiny-spin", None, Options(strategy="dpor"), 1),
    ("tiny-choice", None, Options(strategy="dfs", preemption_bound=1), 1),
    ("type1", "2.6.30", Options(strategy="dpor", max_steps=None), 97),
    ("type2", "2.6.31", Options(strategy="dpor", preemption_bound=1), 2),
    ("swapin-reuse", None, Options(strategy="dpor", preemption_bound=2), 5),
])
def test_stopping_anywhere_and_resuming_changes_nothing(
        name: str, kernel: str | None, options: Options, every: int, tmp_path: Path) -> None:
    scenario = get_scenario(name)
    options.max_steps = scenario.max_steps
    sopts = ScenarioOptions(kernel)
    whole = explore(scenario.model(sopts), options)
    resumed, runs = stopped_every(name, sopts, options, every, tmp_path / "c.json")
    assert runs > 1
    assert totals(resumed) == totals(whole)
