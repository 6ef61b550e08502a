"""The hunt's generated states: each prepared without a broken invariant, the same for
the same seed, and each in the situation its docstring names."""

from __future__ import annotations

import pytest

from swaplab.hunt.states import CATALOGUE, State, build_state, states, variants
from swaplab.kernel import swapfile
from swaplab.kernel.mm_types import page_mapped
from swaplab.kernel.page_flags import PageSwapCache, PageWriteback


def _fingerprint(st: State) -> tuple[object, ...]:
    s = st.s
    si = s.k.swap_info[0]
    return (st.name, [(t.pid, t.cgroup) for t in st.tasks()], list(si.swap_map),
            sorted(s.k.swapper_space.page_tree), {g: s.read(f"{g}/memory.usage_in_bytes")
                                                  for g in st.groups},
            {name: (m.addr, m.length, m.kind) for name, m in st.maps.items()})


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_every_state_keeps_the_invariants(kernel: str) -> None:
    built = states(kernel)
    assert [st.name for st in built] == list(CATALOGUE)
    for st in built:
        assert st.s.check_invariants() == [], st.name
        assert st.tasks() and st.maps and st.groups, st.name


def test_same_seed_same_states_and_seeds_vary_them() -> None:
    assert [_fingerprint(st) for st in states("2.6.31", seed=3)] == \
        [_fingerprint(st) for st in states("2.6.31", seed=3)]
    assert variants(0) == variants(0)
    assert len({tuple(variants(seed).values()) for seed in range(6)}) > 1
    with pytest.raises(ValueError, match="unknown state"):
        build_state("s99-nothing", "2.6.31")


def _slot(st: State, name: str, pid_index: int = 0) -> int:
    t = st.owners[name][pid_index]
    assert t.task.mm is not None
    return t.task.mm.ptes[st.maps[name].addr // 4096].swp


def test_the_states_are_what_they_say() -> None:
    st = build_state("s01-swapped-neighbours", "2.6.30")
    assert [swapfile.swp_offset(_slot(st, n)) for n in "AB"] == [1, 2]
    st = build_state("s04-forked-swapped", "2.6.30")
    assert _slot(st, "A", 0) == _slot(st, "A", 1) != 0  # one entry, two ptes
    st = build_state("s05-swapcache", "2.6.31")
    assert st.s.k.swapper_space.nrpages == 2  # A's page mapped, B's read ahead
    st = build_state("s06-threads", "2.6.31")
    a, b = st.owners["A"]
    assert a.task.mm is b.task.mm and a.pid != b.pid
    st = build_state("s07-moved", "2.6.31")
    assert st.tasks()[0].cgroup == "/B" and st.s.read("/A/memory.usage_in_bytes") != "0\n"
    st = build_state("s08-hierarchy", "2.6.31")
    assert st.s.read("/P/memory.usage_in_bytes") == st.s.read("/P/memory.limit_in_bytes")
    assert st.s.read("/P/memory.use_hierarchy") == "1\n"
    st = build_state("s10-limit", "2.6.31")
    usage, limit = (int(st.s.read(f"/A/memory.{f}_in_bytes")) for f in ("usage", "limit"))
    assert limit - usage == 4096  # room for one more page
    st = build_state("s11-swap-full", "2.6.31")
    assert swapfile.vm_swap_full(st.s.k)
    st = build_state("s12-writeback", "2.6.31")
    (page,) = st.s.k.held_writes
    assert PageWriteback(page) and PageSwapCache(page) and not page_mapped(page)
    assert _slot(st, "A") == page.private and not st.s.k.hold_writes


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_a_page_under_writeback_freed_by_exit_is_no_orphan(kernel: str) -> None:
    """Exit against the write's completion (and the drain after it: the disk ends its
    writes, then reclaim): free_swap_and_cache() leaves a page under writeback in the swap
    cache (mm/swapfile.c), and reclaim frees it once written, on both kernels."""
    st = build_state("s12-writeback", kernel)
    a = st.owners["A"][0]
    for ops in ({"exit": a.exit, "io": st.s.complete_writes},
                {"exit": a.exit, "kswapd": lambda: st.s.shrink_pages(st.s.k.held_writes)}):
        raced = st.s.race(ops)
        assert raced.clean and raced.executions > 1, raced
