"""Shared set-up of the explorer's tests: no process a test started outlives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stop_helpers import reap_started


@pytest.fixture(autouse=True)
def _no_process_left() -> Iterator[None]:
    yield
    reap_started()
