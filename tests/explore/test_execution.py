"""The engine's protocol: pending operations are visible before they run; run-to-completion
is deterministic; deadlocks and SPAWN are handled."""

from __future__ import annotations

import pytest

from swaplab.explore import (
    Deadlock,
    Execution,
    Lock,
    Op,
    OpKind,
    StepLimit,
    Thread,
    ThreadBody,
    run_to_completion,
    trap,
)


async def locked_increment(lock: Lock, box: list[int], tid: int) -> int:
    await trap(Op(OpKind.ACQUIRE, lock, "inc"))
    lock.take(tid)
    value = box[0]
    await trap(Op(OpKind.WRITE, box, "store"))
    box[0] = value + 1
    lock.release()
    return box[0]


def test_pending_operation_is_visible_before_it_runs() -> None:
    ex = Execution()
    lock, box = Lock("L"), [0]
    t = ex.spawn("a", locked_increment(lock, box, 0))
    assert t.pending is not None and t.pending.site == "start"
    ex.step(t)
    assert t.pending is not None
    assert t.pending.kind is OpKind.ACQUIRE and t.pending.obj is lock
    assert not lock.held
    ex.step(t)
    assert lock.held and t.pending.kind is OpKind.WRITE
    assert box == [0]
    ex.step(t)
    assert t.done and t.result == 1 and not lock.held


def test_a_held_lock_disables_the_other_thread() -> None:
    ex = Execution()
    lock, box = Lock("L"), [0]
    a = ex.spawn("a", locked_increment(lock, box, 0))
    b = ex.spawn("b", locked_increment(lock, box, 1))
    ex.step(a)
    ex.step(b)
    ex.step(a)  # a takes the lock
    assert not b.enabled()
    assert ex.enabled() == [a]
    run_to_completion(ex)
    assert box == [2]


async def take(lock: Lock, tid: int) -> None:
    await trap(Op(OpKind.ACQUIRE, lock, "take"))
    lock.take(tid)


async def abba(first: Lock, second: Lock, tid: int) -> None:
    await take(first, tid)
    await trap(Op(OpKind.YIELD, None, "between"))
    await take(second, tid)


def test_run_to_completion_reports_a_deadlock() -> None:
    ex = Execution()
    a_lock, b_lock = Lock("A"), Lock("B")
    a = ex.spawn("ab", abba(a_lock, b_lock, 0))
    b = ex.spawn("ba", abba(b_lock, a_lock, 1))
    for _ in range(3):
        ex.step(a)
        ex.step(b)
    with pytest.raises(Deadlock):
        run_to_completion(ex)
    ex.close()


async def child(box: list[str]) -> None:
    await trap(Op(OpKind.YIELD, None, "child"))
    box.append("child")


async def parent(box: list[str]) -> None:
    await trap(Op(OpKind.SPAWN, payload=("child", child(box), None)))
    box.append("parent")


def test_spawn_is_inline_and_the_child_runs_later() -> None:
    ex = Execution()
    box: list[str] = []
    ex.spawn("parent", parent(box))
    run_to_completion(ex)
    assert box == ["parent", "child"]


def test_choice_gets_the_drivers_answer() -> None:
    async def chooser(out: list[int]) -> None:
        out.append(int(await trap(Op(OpKind.CHOICE, None, "c", n=3))))

    ex = Execution()
    out: list[int] = []
    ex.spawn("c", chooser(out))
    run_to_completion(ex, choose=lambda op: op.n - 1)
    assert out == [2]


class CountingExecution(Execution):
    """An execution that counts how often a driver resumed a thread (step() calls)."""

    resumes = 0

    def step(self, thread: Thread, value: object = None) -> None:
        self.resumes += 1
        super().step(thread, value)


def _three_sections(ex: Execution, lock: Lock, log: list[int]) -> ThreadBody:
    async def body() -> None:
        for _ in range(3):
            await trap(Op(OpKind.ACQUIRE, lock, "take"))
            lock.take(0)
            log.append(ex.steps)
            lock.release()
        await trap(Op(OpKind.YIELD, None, "cond_resched"))
        log.append(ex.steps)
    return body()


def test_fast_lane_counts_every_step_of_a_thread_that_keeps_running() -> None:
    # the three enabled ACQUIREs go on in the lane (one step each, no resume); the YIELD
    # is a scheduling point: the thread is suspended there and resumed once more
    ex = CountingExecution()
    lock, log = Lock("L"), []
    ex.spawn("t", _three_sections(ex, lock, log))
    run_to_completion(ex)
    assert log == [2, 3, 4, 5]
    assert ex.steps == 5 and ex.resumes == 2
    assert ex.lane is None  # run_to_completion puts the lane back


def test_fast_lane_stops_at_the_step_limit_where_the_steps_would() -> None:
    ex = CountingExecution()
    lock, log = Lock("L"), []
    ex.spawn("t", _three_sections(ex, lock, log))
    with pytest.raises(StepLimit):
        run_to_completion(ex, max_steps=3)
    assert log == [2, 3] and ex.steps == 3
    ex.close()
