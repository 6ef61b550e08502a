"""The race API: System.race() explores operations of a prepared machine concurrently."""

from __future__ import annotations

import gc

import pytest
from race_helpers import Type1State, type1_state

from swaplab import System
from swaplab.race.call import _Worker
from swaplab.testing import assert_clean


def _usage(s: System) -> tuple[str, str]:
    return s.read("/A/memory.usage_in_bytes"), s.read("/A/memory.memsw.usage_in_bytes")


def test_type1_is_found_from_a_state_prepared_by_hand(type1_2630: Type1State) -> None:
    st = type1_2630
    before = _usage(st.s)
    r = st.s.race({"A: exit": st.a.exit, "B: fault": lambda: st.b.touch(st.mb)}, first=True)
    print(r)
    assert r.status == "found" and not r.clean
    found = {f.property for f in r.findings}
    assert {"memcg-accounting", "mem_cgroup-refcnt"} <= found
    accounting = next(f for f in r.findings if f.property == "memcg-accounting")
    assert "too high: 1 recorded slot no task references" in accounting.message
    assert accounting.kind == "bug"
    assert _usage(st.s) == before and st.a.state == "running"  # the prepared state again
    again = r.replay(accounting.schedule)
    assert again.trace == accounting.trace
    assert "memcg-accounting" in {name for name, _ in again.broken}
    assert str(r).startswith("race A: exit vs B: fault: found (dpor")


def test_assert_clean_fails_with_the_report(type1_2630: Type1State) -> None:
    st = type1_2630
    r = st.s.race({"A: exit": st.a.exit, "B: fault": lambda: st.b.touch(st.mb)}, first=True)
    with pytest.raises(AssertionError, match="memcg-accounting") as err:
        assert_clean(r)
    assert "race A: exit vs B: fault: found" in str(err.value)


def test_no_operation_is_left_running_after_a_race(type1_2630: Type1State) -> None:
    st = type1_2630
    st.s.race({"A: exit": st.a.exit, "B: fault": lambda: st.b.touch(st.mb)},
              max_executions=40)
    gc.collect()
    assert [w for w in gc.get_objects() if isinstance(w, _Worker) and w] == []


def test_a_refused_operation_is_an_outcome_not_a_finding() -> None:
    """rmdir fails with EBUSY before the exit and succeeds after it: neither is a bug, and
    the group and the task are back afterwards. (cgroup_rmdir() reads the task count
    that cgroup_exit() changes without cgroup_mutex: dpor orders the two.)"""
    s = System(kernel="2.6.31", ram="2M", swap="256K")
    s.mkdir("/A")
    t = s.spawn("/A")
    t.touch(t.mmap_anon("4K"))
    r = s.race({"rmdir": lambda: s.rmdir("/A"), "exit": t.exit})
    print(r)
    assert r.clean and r.findings == [] and r.executions >= 2
    assert s.groups() == ["/", "/A"] and t.state == "running"


def test_a_race_needs_two_operations() -> None:
    s = System(ram="2M", swap=0)
    t = s.spawn()
    with pytest.raises(ValueError, match="two operations"):
        s.race({"exit": t.exit})


@pytest.mark.parametrize("kernel", ["2.6.31"])
def test_type1_state_without_readahead_is_clean(kernel: str) -> None:
    st = type1_state(kernel, page_cluster=0)
    r = st.s.race({"A: exit": st.a.exit, "B: fault": lambda: st.b.touch(st.mb)})
    print(r)
    assert_clean(r)


def test_type2_against_the_kernels_own_reclaim(capsys: pytest.CaptureFixture[str]) -> None:
    """The kernel's actors are operations too: A's exit against limit reclaim of /A
    (System.reclaim) leaves the cover letter's Type-2 on 2.6.30."""
    s = System(kernel="2.6.30", ram="2M", swap="256K")
    s.mkdir("/A")
    a = s.spawn("/A")
    a.touch(a.mmap_anon("4K"))
    r = s.race({"A: exit": a.exit, "R: reclaim": lambda: s.reclaim("/A")}, first=True)
    print(r)
    assert r.status == "found"
    assert {f.property for f in r.findings} & {"swap-slot-leak", "memcg-lru-visibility"}
    functions = {e.function for e in r.findings[0].trace}
    assert "page_remove_rmap()" in functions and "add_to_swap_cache()" in functions


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_state_caching_sees_the_operations_call_stacks_and_agrees_with_dpor(
        kernel: str) -> None:
    """dfs-cached over a race encodes every state (each operation's greenlet included:
    explore/canonical.py), prunes, and ends with dpor's findings and notes."""
    st = type1_state(kernel)
    ops = {"A: exit": st.a.exit, "B: fault": lambda: st.b.touch(st.mb)}
    dpor, cached = st.s.race(ops, "dpor"), st.s.race(ops, "dfs-cached")
    stats = cached.result.stats
    assert stats.complete and stats.opaque_states == 0 and stats.stored_states > 0
    assert stats.revisits > 0
    for attr in ("findings", "notes"):
        assert {f.property for f in getattr(cached, attr)} == \
            {f.property for f in getattr(dpor, attr)}
    assert (cached.clean, dpor.clean) == ((kernel == "2.6.31"),) * 2
