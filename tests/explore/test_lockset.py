"""The lockset check (explore/lockset.py) on tiny models with known answers: an unlocked,
undeclared field written by two threads is reported once; a common lock, a declaration
(plain_write) or a single writer is not; the check puts the classes back afterwards."""

from __future__ import annotations

from collections.abc import Callable

from swaplab.explore import Execution, Lock, Op, OpKind, run_to_completion, trap
from swaplab.explore.lockset import lockset_check
from swaplab.explore.ops import plain_write, running


class Counter:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def _take(lock: Lock) -> None:
    record = running.record
    assert record is not None
    lock.take(record.tid)


async def _writer(counter: Counter, lock: Lock | None, declare: bool) -> None:
    await trap(Op(OpKind.YIELD, None, "before"))
    if lock is not None:
        _take(lock)
    if declare:
        plain_write(counter)
    counter.value += 1
    if lock is not None:
        lock.release()


def _run(threads: int, lock: bool = False, declare: bool = False) -> list[str]:
    counter, guard = Counter(), Lock("guard")
    execution = Execution()
    for i in range(threads):
        execution.spawn(f"t{i}", _writer(counter, guard if lock else None, declare))
    with lockset_check([Counter]) as checker:
        run_to_completion(execution)
    assert checker.writes == threads and counter.value == threads
    return checker.violations


def test_two_threads_writing_without_lock_or_record_are_reported() -> None:
    violations = _run(3)
    assert len(violations) == 1  # reported once per field
    assert violations[0].startswith("Counter.value written by thread 1 at 'before'")


def test_a_common_lock_a_declaration_or_a_single_writer_is_fine() -> None:
    assert _run(3, lock=True) == []
    assert _run(3, declare=True) == []
    assert _run(1) == []


def test_the_check_restores_the_classes() -> None:
    take: Callable[..., None] = Lock.take
    with lockset_check([Counter]):
        assert "__setattr__" in Counter.__dict__
    assert "__setattr__" not in Counter.__dict__ and Lock.take is take
    counter = Counter()
    counter.value = 5  # outside the check: nothing is watched
    assert counter.value == 5
