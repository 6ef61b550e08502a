"""Shared by the kernel unit tests: every test that takes ``version`` runs on both
kernels. The set-up helpers (``make_kernel``, ``run``, ...) are in ``kernel_helpers.py``."""

from __future__ import annotations

import pytest
from kernel_helpers import VERSIONS


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)
