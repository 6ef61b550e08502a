"""The lockset check over the random operation sequences of test_random_ops.py and
test_random_swap_ops.py (System calls, each a thread of its own): every write to a shared
kernel structure is under a lock held at every write of that field by two threads, or
declared to the explorer by its step."""

from __future__ import annotations

from types import ModuleType

import pytest
import test_random_ops
import test_random_swap_ops
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swaplab.explore.lockset import lockset_check
from swaplab.kernel.shared import SHARED_STRUCTS


@pytest.mark.parametrize("module", [test_random_ops, test_random_swap_ops],
                         ids=["ops", "swap_ops"])
def test_random_sequences_write_shared_fields_only_locked_or_declared(
        module: ModuleType) -> None:
    @settings(max_examples=60, derandomize=True, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(kernel=st.sampled_from(["2.6.30", "2.6.31"]),
           steps=st.lists(module.op, min_size=5, max_size=40))
    def sequence(kernel: str, steps: list[tuple[object, ...]]) -> None:
        with lockset_check(SHARED_STRUCTS) as checker:
            model = module.Model(kernel)
            for step in steps:
                model.apply(step)
            model.exit_all()
        assert checker.writes > 0
        assert checker.violations == [], steps

    sequence()
