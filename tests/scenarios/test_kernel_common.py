"""Every run of a kernel scenario starts from its own copy of the prepared machine."""

from __future__ import annotations

from typing import Any

from swaplab.explore import run_to_completion
from swaplab.explore.ops import lock_count, stable_name
from swaplab.scenarios import ScenarioOptions, get_scenario
from swaplab.scenarios.kernel_common import World, _snapshot, prepared
from swaplab.scenarios.kernel_races import _type1_setup


def summary(w: World) -> tuple[Any, ...]:
    k = w.k
    return (sorted(k.pages), [list(si.swap_map) for si in k.swap_info],
            w.memcg.res.usage, w.memcg.memsw.usage, sorted(k.swapper_space.page_tree))


def test_a_run_leaves_the_next_runs_setup_untouched() -> None:
    options = ScenarioOptions("2.6.30")
    model = get_scenario("type1").model(options)
    first = model()
    before = summary(first.state)
    run_to_completion(first.execution)
    assert summary(first.state) != before  # the run changed its machine
    second = model()
    second.execution.close()
    assert second.state.k is not first.state.k
    assert summary(second.state) == before == summary(_type1_setup(options)[0])


def test_the_objects_of_a_setup_stay_shared_in_each_copy() -> None:
    options = ScenarioOptions("2.6.31")
    w, a, b, _, _ = prepared(_type1_setup, options)
    again, a2, _, _, _ = prepared(_type1_setup, options)
    assert any(t is a for t in w.k.tasks.values()) and a is not a2
    assert any(t is a2 for t in again.k.tasks.values())
    assert b.mm is not None and all(v.vm_mm is b.mm for v in b.mm.mmap)


def test_the_locks_of_a_copy_are_named_alike_in_every_run() -> None:
    """dpor's sleep sets name an ownerless lock by its serial relative to the lock count
    when the model was called: the first run (which also runs the setup) included."""
    _snapshot.cache_clear()
    model = get_scenario("swapin-reuse").model(ScenarioOptions("2.6.31"))
    names = []
    for _ in range(3):
        base = lock_count.created
        instance = model()
        instance.execution.close()
        k = instance.state.k
        locks = [k.swap_lock, k.tasklist_lock, k.cgroup_mutex, instance.state.memcg.res.lock]
        names.append([stable_name(lock, base) for lock in locks])
    assert names[0] == names[1] == names[2]
    assert all(name is not None and name[0] == "lock" for name in names[0])
