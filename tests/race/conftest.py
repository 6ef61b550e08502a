"""The race tests' shared set-up (the prepared machines are in race_helpers.py)."""

from __future__ import annotations

import pytest
from race_helpers import Type1State, type1_state


@pytest.fixture
def type1_2630() -> Type1State:
    return type1_state("2.6.30")
