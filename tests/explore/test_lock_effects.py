"""Every lock effect of a step is in its operation record.

A checking driver registers every :class:`Lock` created (by patching its constructor),
snapshots all their holders before and after each step, and compares the difference with
``run.changed`` (the locks the step's record says it took or released). It runs the kernel
scenarios and the engine models exhaustively; a control model that changes a lock behind
the record's back shows that the check can fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from swaplab.explore.execution import Execution, Thread
from swaplab.explore.model import Instance, Model
from swaplab.explore.ops import Lock, Op, OpKind, trap
from swaplab.explore.runner import Driver, Run, execute
from swaplab.explore.schedule import Decision
from swaplab.scenarios import ScenarioOptions, get_scenario

CREATED: list[Lock] = []


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Lock]]:
    """Every Lock created while the test runs."""
    original = Lock.__init__

    def init(self: Lock, name: str, owner: object = None) -> None:
        original(self, name, owner)
        CREATED.append(self)

    monkeypatch.setattr(Lock, "__init__", init)
    CREATED.clear()
    yield CREATED
    CREATED.clear()


class Checker(Driver):
    """Runs one schedule (the running thread first, or with ``switch`` the other threads
    first, as often as possible) and checks every step's record."""

    track_locks = True

    def __init__(self, locks: list[Lock], switch: bool) -> None:
        self.locks = locks
        self.switch = switch
        self.before: list[int | None] = []
        self.unrecorded: list[str] = []
        self.steps = 0

    def choose(self, run: Run, enabled: list[Thread]) -> Decision | None:
        self.before = [lock.holder for lock in self.locks]
        last = run.last
        others = [t for t in enabled if t is not last]
        if self.switch and others:
            thread = others[0]
        else:
            thread = last if last is not None and last in enabled else enabled[0]
        pending = thread.pending
        value = 0 if pending is not None and pending.kind is OpKind.CHOICE else -1
        return thread.tid, value

    def stepped(self, run: Run, index: int, thread: Thread, op: Op, spawned: int) -> None:
        self.steps += 1
        for lock, held in zip(self.locks, self.before, strict=False):
            if lock.holder != held and not any(lock is c for c in run.changed):
                self.unrecorded.append(f"step {index} ({op.site}): {lock.name} "
                                       f"{held} -> {lock.holder}")


def check(model: Model, locks: list[Lock], switch: bool = False) -> Checker:
    checker = Checker(locks, switch)
    execute(model, (), checker)
    return checker


KERNEL = [("type1", "2.6.30"), ("type1", "2.6.31"), ("type2", "2.6.30"),
          ("swapin-reuse", "2.6.31"), ("add-to-swap-vs-readahead", "2.6.31"),
          ("fsc-vs-writeback", "2.6.30"), ("swapin-vs-zap", "2.6.30")]


@pytest.mark.parametrize("switch", [False, True])
@pytest.mark.parametrize(("name", "kernel"), KERNEL)
def test_kernel_scenarios_record_every_lock_effect(registry: list[Lock], name: str,
                                                   kernel: str, switch: bool) -> None:
    checker = check(get_scenario(name).model(ScenarioOptions(kernel)), registry, switch)
    assert checker.steps > 5 and len(registry) >= 5
    assert checker.unrecorded == []


@pytest.mark.parametrize("switch", [False, True])
@pytest.mark.parametrize("name", ["tiny-locked-counter", "tiny-abba", "tiny-io"])
def test_engine_models_record_every_lock_effect(registry: list[Lock], name: str,
                                                switch: bool) -> None:
    checker = check(get_scenario(name).model(), registry, switch)
    assert checker.steps > 2 and registry
    assert checker.unrecorded == []


async def _sneaky(lock: Lock) -> None:
    await trap(Op(OpKind.YIELD, None, "before"))
    lock._holder = 7  # behind the record's back
    await trap(Op(OpKind.YIELD, None, "after"))


def _sneaky_model() -> Instance:
    execution = Execution()
    execution.spawn("sneaky", _sneaky(Lock("L")))
    return Instance(execution)


def test_the_check_fails_on_a_lock_changed_behind_the_record(registry: list[Lock]) -> None:
    checker = check(_sneaky_model, registry)
    assert checker.unrecorded == ["step 1 (before): L None -> 7"]
