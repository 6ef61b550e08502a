"""The hunt tests' shared set-up: hunts over the small generator of hunt_helpers.py."""

from __future__ import annotations

import pytest
from hunt_helpers import CAP, GENERATOR

from swaplab.hunt import run


@pytest.fixture(scope="module")
def config_2630() -> run.HuntConfig:
    return run.HuntConfig("2.6.30", max_executions=CAP, generator=GENERATOR)


@pytest.fixture(scope="module")
def hunt_2630(config_2630: run.HuntConfig) -> run.Hunt:
    """The whole small hunt on 2.6.30, in this process."""
    return run.hunt(config_2630)


@pytest.fixture
def small_generator(monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's hunts use hunt_helpers' generator."""
    monkeypatch.setattr(run, "GENERATOR", GENERATOR)
    return GENERATOR
