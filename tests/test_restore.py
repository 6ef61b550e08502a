"""Restore points put a graph of objects back in place (swaplab.restore)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

import pytest

from swaplab import System
from swaplab.restore import RestoreError, RestorePoint


class Plain:
    def __init__(self) -> None:
        self.items: list[int] = [1, 2]
        self.table: dict[str, object] = {"a": 1}
        self.tags: set[str] = {"x"}
        self.queue: deque[int] = deque([1])
        self.raw = bytearray(b"ab")
        self.rng = random.Random(7)


class Slotted:
    __slots__ = ("late", "value")

    def __init__(self, value: int) -> None:
        self.value = value


@dataclass(frozen=True)
class Frozen:
    inner: list[int] = field(default_factory=list)


def test_everything_comes_back_in_place() -> None:
    root = Plain()
    slotted, frozen = Slotted(1), Frozen([5])
    root.table["slotted"], root.table["frozen"] = slotted, frozen
    items, table = root.items, root.table
    expected_draw = random.Random(7).random()
    point = RestorePoint(root)
    root.items.append(3)
    root.table["b"] = 2
    root.tags.add("y")
    root.queue.appendleft(0)
    root.raw[0:1] = b"z"
    root.rng.random()
    root.extra = "new"  # type: ignore[attr-defined]
    slotted.value, slotted.late = 2, 3
    frozen.inner.append(6)
    point.restore()
    assert root.items is items and items == [1, 2]
    assert root.table is table and list(table) == ["a", "slotted", "frozen"]
    assert root.tags == {"x"} and list(root.queue) == [1] and root.raw == b"ab"
    assert root.rng.random() == expected_draw
    assert not hasattr(root, "extra")
    assert slotted.value == 1 and not hasattr(slotted, "late")
    assert frozen.inner == [5]


def test_a_running_coroutine_is_refused() -> None:
    async def body() -> None:
        return None

    coroutine = body()
    try:
        with pytest.raises(RestoreError, match="coroutine"):
            RestorePoint({"pending": coroutine})
    finally:
        coroutine.close()


def test_an_object_it_cannot_save_is_named() -> None:
    import itertools

    with pytest.raises(RestoreError, match="count"):
        RestorePoint([itertools.count()])


def _state(s: System) -> tuple[str, ...]:
    return (s.read("/A/memory.usage_in_bytes"), s.read("/A/memory.memsw.usage_in_bytes"),
            s.read("/A/memory.stat"), s.read("/proc/meminfo"), s.sysrq("m"))


def test_a_system_goes_back_to_its_prepared_state_and_runs_the_same_again() -> None:
    s = System(kernel="2.6.31", ram="2M", swap="256K")
    s.mkdir("/A")
    s.write("/A/memory.limit_in_bytes", "128K")
    t = s.spawn("/A")
    m = t.mmap_anon("192K")
    t.touch(m)
    prepared = _state(s)
    point = RestorePoint(s)
    child = t.fork()
    child.touch(m)
    t.exit()
    after = _state(s)
    assert after != prepared
    point.restore()
    assert _state(s) == prepared and t.state == "running" and s.check_invariants() == []
    t.fork().touch(m)
    t.exit()
    assert _state(s) == after
