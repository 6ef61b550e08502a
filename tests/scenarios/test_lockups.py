"""preload-lockup (scenarios/lockups.py), explored with the scenario's default strategy.

2.6.31: B busy-loops on swapcache_prepare()'s -EEXIST on CPU 0 while A, the SWAP_HAS_CACHE
owner, gave up that CPU in add_to_swap_cache()'s radix_tree_preload(GFP_KERNEL): a soft
lockup. With 31a5639623a4 nothing sleeps between the claim and the insertion: clean. The
same two faults on two CPUs: clean. 2.6.30 has no -EEXIST loop (swap_duplicate() always
succeeds, the second insertion gets -EEXIST and the next round finds the first page):
clean. Every verdict comes from a complete exploration; the counts are printed."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pytest

from swaplab.cli import main
from swaplab.explore.cpus import SOFT_LOCKUP
from swaplab.explore.explorer import Result, explore
from swaplab.explore.model import Instance, sometimes
from swaplab.explore.search import Options
from swaplab.kernel import swapfile
from swaplab.kernel.config import PRELOAD_BEFORE_PREPARE
from swaplab.scenarios import ScenarioOptions, get_scenario
from swaplab.scenarios.kernel_common import World
from swaplab.scenarios.lockups import ONE_CPU, build_preload_lockup

SCENARIO = get_scenario("preload-lockup")


def _explore(kernel: str, fixes: str | None = None, cpus: Sequence[int] = ONE_CPU) -> Result:
    model = functools.partial(build_preload_lockup, ScenarioOptions(kernel), fixes, cpus)
    result = explore(model, Options(strategy=SCENARIO.strategy, max_steps=SCENARIO.max_steps))
    print(kernel, fixes, cpus, result.status, result.stats.executions, "executions",
          [f.property for f in result.findings])
    return result


def test_2631_soft_lockup_owner_asleep_in_preload_spinner_in_read_swap_cache_async() -> None:
    result = _explore("2.6.31")
    assert result.status == "found"
    [finding] = result.findings
    assert finding.property == SOFT_LOCKUP and finding.kind == "bug"
    assert finding.message == (
        "CPU 0: B: fault busy-waits at spin @read_swap_cache_async: -EEXIST and never gives "
        "up the CPU, while A: fault can run only on CPU 0")
    assert finding.deterministic and finding.preemptions == 0
    events = [(e.thread, e.function, e.detail) for e in finding.trace]
    claimed = events.index(("A: fault", "swapcache_prepare()", "0x1 -> 0"))
    asleep = events.index(("A: fault", "radix_tree_preload()",
                           "kmem_cache_alloc() may sleep (CPU 0)"))
    refused = [i for i, e in enumerate(events)
               if e == ("B: fault", "swapcache_prepare()", "0x1 -> -17")]
    assert claimed < asleep < refused[0] and len(refused) == 2  # B looped once more
    assert all(e[0] == "B: fault" for e in events[asleep + 1:])


def test_2631_with_31a5639623a4_is_clean() -> None:
    result = _explore("2.6.31", PRELOAD_BEFORE_PREPARE)
    assert result.status == "clean" and result.stats.complete
    assert result.stats.executions > 1 and "both-mapped" not in result.vacuous


@pytest.mark.parametrize("fixes", [None, PRELOAD_BEFORE_PREPARE])
def test_on_two_cpus_there_is_no_soft_lockup(fixes: str | None) -> None:
    result = _explore("2.6.31", fixes, cpus=(0, 1))
    assert result.status == "clean" and result.stats.complete
    assert "E-claimed-not-cached" not in result.vacuous


def _both_readers_claim_on_2630() -> Instance:
    """preload-lockup on 2.6.30, plus: both readers hold a reference to E at once (A's
    and B's ptes, and each reader's swap_duplicate(): 4), so the second insertion meets
    the first page (add_to_swap_cache() -> -EEXIST)."""
    instance = build_preload_lockup(ScenarioOptions("2.6.30"))
    w: World = instance.state
    entry = w.results["E"]

    def both(w: World) -> bool:
        return bool(w.k.swap_info[0].swap_map[swapfile.swp_offset(entry)] == 4)

    instance.properties = [*instance.properties, sometimes("both-readers-claimed", both)]
    return instance


def test_2630_has_no_eexist_loop_and_is_clean() -> None:
    result = explore(_both_readers_claim_on_2630, Options(strategy=SCENARIO.strategy))
    print("2.6.30", result.status, result.stats.executions, "executions")
    assert result.status == "clean" and result.stats.complete
    assert "both-mapped" not in result.vacuous
    assert "both-readers-claimed" not in result.vacuous


def test_check_reports_the_lockup_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "preload-lockup", "--kernel", "2.6.31", "--jobs", "1"])
    out = capsys.readouterr().out
    print(out)
    assert code == 1
    assert out.startswith("preload-lockup: found (dpor, fair schedules)")
    assert "soft-lockup: CPU 0: B: fault busy-waits" in out
    assert "radix_tree_preload() kmem_cache_alloc() may sleep (CPU 0)" in out
