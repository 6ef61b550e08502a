"""The lockset check over every kernel scenario, both kernels: in the first dpor executions
of each, every write to a shared kernel structure is under a lock held at every write of
that field by two threads, or declared to the explorer by its step (kernel/shared.py lists
the structures). A violation names the field, the thread and the operation: a write the
explorer's dependency relation cannot see."""

from __future__ import annotations

import pytest

from swaplab.explore.explorer import explore
from swaplab.explore.lockset import lockset_check
from swaplab.explore.search import Options
from swaplab.kernel.shared import SHARED_STRUCTS
from swaplab.scenarios import ScenarioOptions, all_scenarios

KERNEL_SCENARIOS = [name for name, s in all_scenarios().items() if "kernel" in s.tags]
#: dpor executions per scenario and kernel (the first ones: the check needs writes of each
#: field by two threads, not every order)
EXECUTIONS = 12


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
@pytest.mark.parametrize("name", KERNEL_SCENARIOS)
def test_every_shared_write_is_locked_or_declared(name: str, kernel: str) -> None:
    model = all_scenarios()[name].model(ScenarioOptions(kernel))
    with lockset_check(SHARED_STRUCTS) as checker:
        result = explore(model, Options(strategy="dpor", shrink=False,
                                        max_executions=EXECUTIONS))
    print(name, kernel, result.stats.executions, "executions", checker.writes, "writes")
    # the explored threads' writes (the setup runs once per process, before the check)
    assert result.stats.executions >= 2 and checker.writes > 50
    assert checker.violations == []
