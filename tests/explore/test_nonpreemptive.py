"""The one non-preemptive policy: run_to_completion gives way at a YIELD (round robin), the
explorer's run-on (replay's finish, PCT's step probe) goes on through it; after a block or
an end both go on with the lowest id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from swaplab.explore import Execution, Lock, Op, OpKind, Thread, run_to_completion, trap
from swaplab.explore.model import Instance
from swaplab.explore.nonpreemptive import RUN_ON, SEQUENTIAL
from swaplab.explore.pct import estimate_steps
from swaplab.explore.replay import replay


async def idle() -> None:
    return None


@pytest.fixture
def threads() -> Iterator[list[Thread]]:
    """Threads 0, 1, 2, each pending a plain write."""
    ex = Execution()
    made = [ex.spawn(f"t{i}", idle()) for i in range(3)]
    for thread in made:
        thread.pending = Op(OpKind.WRITE, [0], "w")
    yield made
    ex.close()


def test_the_thread_that_ran_last_goes_on(threads: list[Thread]) -> None:
    a, b, _ = threads
    assert SEQUENTIAL.next(None, threads) is a and RUN_ON.next(None, threads) is a
    assert SEQUENTIAL.next(b, threads) is b and RUN_ON.next(b, threads) is b
    assert SEQUENTIAL.next(b, []) is None


def test_at_a_yield_only_run_to_completion_gives_way_to_the_next_id(
        threads: list[Thread]) -> None:
    a, b, c = threads
    for kind in (OpKind.YIELD, OpKind.SPIN):
        b.pending = Op(kind, None, "cond_resched")
        assert SEQUENTIAL.next(b, threads) is c
        assert RUN_ON.next(b, threads) is b
    c.pending = Op(OpKind.YIELD, None, "cond_resched")
    assert SEQUENTIAL.next(c, threads) is a  # round robin wraps
    assert SEQUENTIAL.next(c, [c]) is c  # alone, it goes on


def test_after_a_block_or_an_end_the_lowest_id_runs(threads: list[Thread]) -> None:
    a, b, c = threads
    lock = Lock("L")
    lock.take(9)
    b.pending = Op(OpKind.ACQUIRE, lock, "take")
    assert not b.enabled()
    assert SEQUENTIAL.next(b, [a, c]) is a and RUN_ON.next(b, [a, c]) is a
    b.pending, b.done = None, True
    assert SEQUENTIAL.next(b, [a, c]) is a and RUN_ON.next(b, [a, c]) is a
    b.pending, b.done = Op(OpKind.WRITE, [0], "w"), False
    assert RUN_ON.next(b, [a, c]) is a  # enabled, but not allowed to run (a spinner left out)


async def write_yield_write(name: str, log: list[str]) -> None:
    await trap(Op(OpKind.WRITE, log, "first"))
    log.append(name)
    await trap(Op(OpKind.YIELD, None, "cond_resched"))
    await trap(Op(OpKind.WRITE, log, "second"))
    log.append(name)


def three_writers() -> tuple[Execution, list[str]]:
    ex, log = Execution(), []
    for i in range(3):
        ex.spawn(f"t{i}", write_yield_write(f"t{i}", log))
    return ex, log


def test_run_to_completion_takes_turns_at_a_yield() -> None:
    ex, log = three_writers()
    run_to_completion(ex)
    assert log == ["t0", "t1", "t2", "t0", "t1", "t2"]


def writers_instance() -> Instance:
    ex, log = three_writers()
    return Instance(ex, log, [])


def test_replay_and_pct_run_on_through_a_yield() -> None:
    result = replay(writers_instance, (), finish=True)
    assert [e.thread for e in result.trace or [] if e.function == "second"] == [
        "t0", "t1", "t2"]
    assert [tid for tid, _ in result.decisions] == [0] * 4 + [1] * 4 + [2] * 4
    assert estimate_steps(writers_instance) == len(result.decisions) == 12
