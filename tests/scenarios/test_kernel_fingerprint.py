"""The kernel state encoding of state caching: two builds of a scenario (other objects,
other ids) encode alike; a swap_map count, a page flag, a memcg counter or a lock's holder
changes it; statistics and the allocation order of pages do not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from swaplab.explore.canonical import encode_run
from swaplab.explore.model import Instance
from swaplab.kernel.page_flags import PG_referenced
from swaplab.scenarios import ScenarioOptions, get_scenario
from swaplab.scenarios.kernel_common import World

SCENARIOS = [("type1", "2.6.31"), ("rmdir-vs-swapin", "2.6.30"),
             ("swapoff-vs-shm-rmid", "2.6.31")]


def build(name: str, kernel: str) -> Instance:
    return get_scenario(name).model(ScenarioOptions(kernel))()


def encoded(instance: Instance) -> bytes:
    return encode_run(instance.state, instance.execution.threads, instance.rules)


def close(*instances: Instance) -> None:
    for instance in instances:
        instance.execution.close()


def _swap_count(w: World) -> None:
    w.k.swap_info[0].swap_map[1] += 1  # one more reference to slot 1


def _page_flag(w: World) -> None:
    page = next(iter(w.k.pages.values()))
    page.flags ^= PG_referenced


def _memcg_usage(w: World) -> None:
    w.memcg.res.usage += 4096


def _lock_holder(w: World) -> None:
    w.k.swap_lock.take(1)


def _page_count(w: World) -> None:
    page = next(iter(w.k.pages.values()))
    page._count += 1


@pytest.mark.parametrize(("name", "kernel"), SCENARIOS)
def test_two_builds_encode_alike(name: str, kernel: str) -> None:
    one, two = build(name, kernel), build(name, kernel)
    assert one.state is not two.state
    assert encoded(one) == encoded(two)
    close(one, two)


@pytest.mark.parametrize("change", [_swap_count, _page_flag, _memcg_usage, _lock_holder,
                                    _page_count])
def test_any_real_difference_changes_the_encoding(change: Callable[[World], None]) -> None:
    one, two = build("type2", "2.6.30"), build("type2", "2.6.30")  # one page resident
    assert encoded(one) == encoded(two)
    change(two.state)
    assert encoded(one) != encoded(two)
    close(one, two)


def test_statistics_and_allocation_order_do_not_split_states() -> None:
    one, two = build("rmdir-vs-munmap", "2.6.31"), build("rmdir-vs-munmap", "2.6.31")
    two.state.k.swap_cache_info.add_total += 5
    assert encoded(one) == encoded(two)
    # the same pages registered in another order (pfn 1000 first, or last)
    for instance, first in ((one, True), (two, False)):
        k = instance.state.k
        page = next(iter(k.pages.values()))
        k.pages = {1000: page, **k.pages} if first else {**k.pages, 1000: page}
    assert encoded(one) == encoded(two)
    del two.state.k.pages[1000]
    assert encoded(one) != encoded(two)
    close(one, two)


def test_a_step_changes_the_threads_part() -> None:
    one, two = build("type1", "2.6.31"), build("type1", "2.6.31")
    two.execution.step(two.execution.threads[0])
    assert encoded(one) != encoded(two)
    close(one, two)
