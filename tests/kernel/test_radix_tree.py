"""lib/radix-tree.c's per-CPU preload pool (kernel/radix_tree.py) against the 2.6.31
source: radix_tree_preload() allocates (and with __GFP_WAIT may sleep) only while this
CPU's pool is not full; an insertion into the swap cache's GFP_ATOMIC tree takes its nodes
from the pool (radix_tree_node_alloc()); the sleep is a point of the CPU model only for a
thread placed on a CPU."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest
from kernel_helpers import make_kernel

from swaplab.kernel import radix_tree
from swaplab.kernel.gfp import __GFP_HIGH, GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.sync import Current


def sites(k: Kernel, body: Coroutine[Any, Any, Any], cpu: int | None) -> list[str]:
    """Run ``body`` as a thread of CPU 1 (placed there for the CPU model, or not: None);
    the sites of the operations it stopped at after its start."""
    thread = k.execution.spawn("t", body, Current(None, 1), cpu=cpu)
    out = []
    while not thread.done:
        k.execution.step(thread)
        if thread.pending is not None:
            out.append(thread.pending.site)
    return out


async def preload_twice(k: Kernel, gfp: int) -> None:
    assert await radix_tree.radix_tree_preload(k, gfp) == 0
    radix_tree.radix_tree_preload_end(k)
    assert await radix_tree.radix_tree_preload(k, gfp) == 0
    radix_tree.radix_tree_preload_end(k)


def test_the_pool_is_empty_at_boot_and_filled_by_a_preload() -> None:
    k = make_kernel("2.6.31", ncpus=2, memcg=False)
    assert k.radix_tree_preloads == {}
    assert sites(k, preload_twice(k, GFP_KERNEL), cpu=1) == ["radix_tree_preload"]
    assert k.radix_tree_preloads == {1: True}  # CPU 1's, not CPU 0's


def test_an_atomic_preload_fills_the_pool_without_sleeping() -> None:
    k = make_kernel("2.6.31", ncpus=2, memcg=False)
    assert sites(k, preload_twice(k, __GFP_HIGH), cpu=1) == []
    assert k.radix_tree_preloads[1]


def test_an_insertion_may_use_the_pool_so_the_next_preload_may_sleep_again() -> None:
    k = make_kernel("2.6.31", ncpus=2, memcg=False)

    async def preload_insert_preload() -> None:
        await radix_tree.radix_tree_preload(k, GFP_KERNEL)
        radix_tree.radix_tree_node_alloc(k)
        radix_tree.radix_tree_preload_end(k)
        await radix_tree.radix_tree_preload(k, GFP_KERNEL)

    assert sites(k, preload_insert_preload(), cpu=1) == ["radix_tree_preload"] * 2


@pytest.mark.parametrize("gfp", [GFP_KERNEL, __GFP_HIGH])
def test_a_thread_on_a_cpu_of_its_own_has_no_sleep_point(gfp: int) -> None:
    """The default placement: the sleep would change nothing another thread sees, so no
    interleaving point (the schedules of the existing scenarios stay as they were)."""
    k = make_kernel("2.6.31", ncpus=2, memcg=False)
    assert sites(k, preload_twice(k, gfp), cpu=None) == []
    assert k.radix_tree_preloads[1]
