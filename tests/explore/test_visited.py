"""The visited-state store: budgets, capacity, and TLC's collision estimates."""

from __future__ import annotations

from swaplab.explore.visited import Visited, digest


def test_a_state_is_explored_again_only_with_more_budget() -> None:
    store = Visited()
    key = digest(b"state")
    assert not store.seen(key, 1, 10)
    assert store.seen(key, 1, 10)
    assert store.seen(key, 0, 5)
    assert not store.seen(key, 2, 10)  # more preemptions left: explore again
    assert not store.seen(key, 2, 11)
    assert store.seen(key, 2, 11)
    assert (store.distinct, store.lookups, store.hits) == (1, 6, 3)


def test_a_full_store_stops_storing_and_says_so() -> None:
    store = Visited(capacity=2)
    for name in (b"a", b"b", b"c"):
        assert not store.seen(digest(name), 0, 0)
    assert store.full and store.distinct == 2
    assert not store.seen(digest(b"c"), 0, 0)  # never stored: explored again


def test_collision_estimates() -> None:
    store = Visited()
    for i in range(1000):
        store.seen(digest(str(i).encode()), 0, 0)
    for i in range(500):
        store.seen(digest(str(i).encode()), 0, 0)
    assert store.birthday() == 1000 * 999 / 2.0 ** 65
    assert store.optimistic() == 1000 * 500 / 2.0 ** 64
    assert digest(b"x") != digest(b"y") and digest(b"x") < 1 << 64
