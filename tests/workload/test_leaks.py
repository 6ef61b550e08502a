"""The leaks over time, decided from the simulator's own metrics for a fixed seed.

stale-swapcache (Kamezawa's kill loop; its scaled-down variant stale-swapcache-fast kills
every 0.4 s instead of 3 s, to get enough kills in a short run): after each kill the emptied group's
memsw.usage - usage is the memsw that Type-1 leaked. swap-full: orphaned swap-cache slots
on a 1.25M device.
"""

from __future__ import annotations

import itertools

import pytest

from swaplab.workload import BUILTINS, Result, simulate

SEED = 1
PAGE = 4096


def _kill_loop(kernel: str, page_cluster: int, patches: str | None = None) -> Result:
    wl = BUILTINS["stale-swapcache-fast"]
    assert wl.killers[0].every_ns == 400_000_000
    r = simulate(wl, kernel, patches, seed=SEED, duration_ns=5_000_000_000,
                 page_cluster=page_cluster)
    assert r.error is None, r.error
    assert r.invariant_violations == []
    return r


def _increases(values: list[int]) -> int:
    return sum(1 for a, b in itertools.pairwise(values) if b > a)


@pytest.fixture(scope="module")
def kill_loop_30_pc3() -> Result:
    return _kill_loop("2.6.30", 3)


def test_stale_swapcache_2630_pc3_memsw_gap_grows_over_kills(kill_loop_30_pc3: Result) -> None:
    gaps = kill_loop_30_pc3.values_at("memsw_minus_usage_empty_groups", "kill")
    assert len(gaps) >= 10
    assert gaps[-1] >= 3 * PAGE
    assert _increases(gaps) >= 2
    assert all(b >= a for a, b in itertools.pairwise(gaps))
    # the leaked memsw is held by orphans: swap-cache pages nobody maps or is charged for
    orphans = kill_loop_30_pc3.values_at("orphan_swapcache_pages", "kill")
    assert orphans[-1] * PAGE == gaps[-1]


def test_stale_swapcache_page_cluster_0_much_smaller(kill_loop_30_pc3: Result) -> None:
    gaps0 = _kill_loop("2.6.30", 0).values_at("memsw_minus_usage_empty_groups", "kill")
    gaps3 = kill_loop_30_pc3.values_at("memsw_minus_usage_empty_groups", "kill")
    assert max(gaps0) * 4 <= gaps3[-1]


def test_stale_swapcache_2631_memsw_equals_usage_after_every_kill() -> None:
    r = _kill_loop("2.6.31", 3)
    gaps = r.values_at("memsw_minus_usage_empty_groups", "kill")
    assert len(gaps) >= 10 and gaps == [0] * len(gaps)
    # 2.6.31 still leaves orphan pages in the swap cache; only their memsw is fixed
    assert max(r.values_at("orphan_swapcache_pages", "kill")) > 0


def _swap_full(kernel: str, patches: str | None = None) -> list[int]:
    r = simulate(BUILTINS["swap-full"], kernel, patches, seed=SEED,
                 duration_ns=8_000_000_000)
    assert r.error is None, r.error
    assert r.invariant_violations == []
    return r.series["orphan_swapcache_pages"]


@pytest.fixture(scope="module")
def orphans_2630() -> list[int]:
    return _swap_full("2.6.30")




def _grows(orphans: list[int]) -> None:
    """Nothing ever frees an orphan: the count never falls, and it climbs (8 in 8 s)."""
    third = len(orphans) // 3
    assert all(b >= a for a, b in itertools.pairwise(orphans))
    assert orphans[-1] >= 8
    assert max(orphans[:third]) < min(orphans[-third:])


def test_swap_full_orphans_grow_on_2630(orphans_2630: list[int]) -> None:
    _grows(orphans_2630)


def test_swap_full_orphans_grow_with_patches_124_alone(orphans_2630: list[int]) -> None:
    _grows(_swap_full("2.6.30", "1,2,4"))


@pytest.mark.parametrize("kernel", ["rfc-2009-05-26", "2.6.31"])
def test_swap_full_orphans_bounded_with_gc_or_reuse(kernel: str,
                                                    orphans_2630: list[int]) -> None:
    orphans = _swap_full(kernel)
    assert orphans[-1] * 2 <= orphans_2630[-1]
    # they do get reclaimed: the count falls back
    assert any(b < a for a, b in itertools.pairwise(orphans))
