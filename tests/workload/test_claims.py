"""The growth claims helper for `swaplab claims`: verdicts from the simulator's runs."""

from __future__ import annotations

from swaplab.workload.claims import GROWTH_CLAIMS, cache_only_pile_up


def test_cache_only_slots_pile_up_under_swap_cycles() -> None:
    v = cache_only_pile_up(seed=1, seconds=3.0)
    assert v.verdict == "holds"
    assert max(v.data["cache_only_slots"]) > 128
    assert v.command.startswith("swaplab simulate swap-cycles --kernel 2.6.30")


def test_growth_claims_are_listed() -> None:
    assert list(GROWTH_CLAIMS) == ["type1-memsw-kill-loop", "cache-only-pile-up",
                                   "orphans-bounded", "type1-memcg-unfreeable"]
