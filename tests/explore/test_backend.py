"""The backends map in the items' order and tell a caller how many items have finished."""

from __future__ import annotations

import operator

from swaplab.explore.backend import InProcess, LocalPool


def test_in_process_tells_each_item_as_it_finishes() -> None:
    heard: list[int] = []
    assert InProcess().map(operator.neg, [1, 2, 3], heard.append) == [-1, -2, -3]
    assert heard == [1, 2, 3]


def test_a_local_pool_keeps_the_order_and_tells_every_batch() -> None:
    heard: list[int] = []
    items = list(range(40))
    assert LocalPool(2).map(operator.neg, items, heard.append) == [-i for i in items]
    assert heard == sorted(heard) and len(set(heard)) == len(heard)
    assert heard[-1] == len(items) and len(heard) > 1
