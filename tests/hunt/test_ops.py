"""The operations of each generated state: named once, each with the objects it touches,
each valid (it runs to its end from the state, sequentially, without a kernel bug)."""

from __future__ import annotations

import contextlib

import pytest

from swaplab.hunt.ops import ops
from swaplab.hunt.states import CATALOGUE, build_state


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
@pytest.mark.parametrize("state", list(CATALOGUE))
def test_every_operation_runs_sequentially(state: str, kernel: str) -> None:
    names = [op.name for op in ops(build_state(state, kernel))]
    assert len(names) == len(set(names))
    for name in names:
        st = build_state(state, kernel)
        op = next(op for op in ops(st) if op.name == name)
        assert op.objects, name
        with contextlib.suppress(OSError):  # the kernel refused it (EBUSY, ...)
            op.run()
        assert st.s.check_invariants() == [], (state, name)


def test_objects_follow_the_pages() -> None:
    """s05: task 1's page A:0 is mapped from the swap cache; task 2's B:0 was read ahead
    into the swap cache (slot 2), so kswapd of it, task 2's swap-in and task 1's exit
    name them."""
    by_name = {op.name: op for op in ops(build_state("s05-swapcache", "2.6.31"))}
    assert {"page A:0", "slot 1", "mm 1"} <= set(by_name["exit 1"].objects)
    assert {"page B:0", "slot 2", "mm 2"} <= set(by_name["touch 2 B:0"].objects)
    assert set(by_name["kswapd B:0"].objects) == {"page B:0", "slot 2"}
    assert "write 1 A:0" in by_name  # a swap-cache page: reuse_swap_page()
    assert "reclaim_cache_only" in by_name
    assert "reclaim_cache_only" not in {op.name for op in ops(build_state("s05-swapcache",
                                                                          "2.6.30"))}


def test_swapoff_is_an_operation_where_a_slot_is_in_use() -> None:
    st = build_state("s07-moved", "2.6.31")
    swapoff = next(op for op in ops(st) if op.name == "swapoff")
    assert swapoff.objects == ("slot 1",)
    swapoff.run()
    assert st.s.check_invariants() == []
    assert "swapoff" not in {op.name for op in ops(st)}  # no slot in use now
    st = build_state("s07-moved", "2.6.31")
    st.swapoff = False
    assert "swapoff" not in {op.name for op in ops(st)}


def test_no_swapoff_while_the_device_holds_a_write() -> None:
    """s12: try_to_unuse() would wait for a writeback only end_swap_bio_write ends."""
    names = {op.name for op in ops(build_state("s12-writeback", "2.6.31"))}
    assert "end_swap_bio_write" in names and "swapoff" not in names
