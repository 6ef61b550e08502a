"""Shared by the interface tests: every test that takes ``kernel`` runs on both versions."""

from __future__ import annotations

import pytest

KERNELS = ["2.6.30", "2.6.31"]


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest) -> str:
    return str(request.param)
