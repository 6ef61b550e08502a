"""The hunt tests' shared set-up: hunts over the small generator of hunt_helpers.py, and
over a few cases of the real one."""

from __future__ import annotations

import pytest
from hunt_helpers import CAP, GENERATOR, NO_RETRY, REAL_CAP, REAL_CASES

from swaplab.hunt import run


@pytest.fixture(scope="module")
def config_2630() -> run.HuntConfig:
    return run.HuntConfig("2.6.30", max_executions=CAP, generator=GENERATOR,
                          retry_executions=NO_RETRY)


@pytest.fixture(scope="module")
def hunt_2630(config_2630: run.HuntConfig) -> run.Hunt:
    """The whole small hunt on 2.6.30, in this process."""
    return run.hunt(config_2630)


@pytest.fixture(scope="module")
def real_2630() -> run.Hunt:
    """A few cases of the real generator on 2.6.30 (REAL_CASES), in this process."""
    return run.hunt(run.HuntConfig("2.6.30", max_executions=REAL_CAP, match=REAL_CASES,
                                   retry_executions=NO_RETRY))


@pytest.fixture
def small_generator(monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's hunts use hunt_helpers' generator."""
    monkeypatch.setattr(run, "GENERATOR", GENERATOR)
    return GENERATOR
