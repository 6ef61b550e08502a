"""Properties, replay, shrinking and the determinism check."""

from __future__ import annotations

import pytest

from swaplab.explore.execution import Execution
from swaplab.explore.explorer import explore
from swaplab.explore.model import Instance, always, at_end, sometimes
from swaplab.explore.ops import Lock, Op, OpKind, trap
from swaplab.explore.replay import replay
from swaplab.explore.runner import ReplayError
from swaplab.explore.schedule import Schedule
from swaplab.explore.search import Options
from swaplab.explore.shrink import shrink
from swaplab.scenarios import get_scenario


def test_replay_reproduces_a_schedule_and_its_trace() -> None:
    model = get_scenario("tiny-lost-update").model()
    result = replay(model, Schedule.parse("0.0.1*3.0"))
    assert result.failure is not None and result.failure.property == "no-lost-update"
    assert result.complete
    assert [(e.thread, e.function, e.detail) for e in result.trace or []] == [
        ("inc0", "start", "yield"), ("inc0", "load", "read x"), ("inc1", "start", "yield"),
        ("inc1", "load", "read x"), ("inc1", "store", "write x"), ("inc0", "store", "write x")]


def test_replay_refuses_a_thread_that_cannot_run() -> None:
    with pytest.raises(ReplayError):
        replay(get_scenario("tiny-abba").model(), Schedule.parse("0.0.1.1.0"))


def test_shrinking_drops_needless_preemptions_and_steps() -> None:
    model = get_scenario("tiny-lost-update").model()
    # 0 start, 1 start, 0 load, 1 load, 0 store, 1 store: x == 1 too, with 4 preemptions
    noisy = replay(model, Schedule.parse("0.1.0.1.0.1")).failure
    assert noisy is not None and noisy.preemptions == 4
    small, _ = shrink(model, noisy)
    assert small.key == noisy.key and small.preemptions == 1


def test_shrinking_keeps_the_same_property() -> None:
    model = get_scenario("tiny-bug-on").model()
    result = explore(model, Options(strategy="dfs", shrink=False))
    [finding] = result.findings
    assert finding.property == "exception"
    assert finding.message.startswith("TinyBug")


class Flaky:
    """A model whose runs differ: the determinism check must notice."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Instance:
        self.calls += 1
        calls = self.calls
        box = [0]

        async def body() -> None:
            await trap(Op(OpKind.WRITE, box, f"write{calls % 2}"))
            box[0] = 1

        ex = Execution()
        ex.spawn("t", body())
        return Instance(ex, box, [at_end("never", lambda s: False)])


def test_determinism_check_flags_a_model_that_changes_between_runs() -> None:
    result = explore(Flaky(), Options(strategy="dfs", shrink=False))
    [finding] = result.findings
    assert finding.property == "never" and not finding.deterministic


def build_props() -> Instance:
    lock, box = Lock("L"), [0, 0]

    async def writer(tid: int) -> None:
        await trap(Op(OpKind.ACQUIRE, lock, "take"))
        lock.take(tid)
        box[0] += 1  # inside: box[0] != box[1] until the next step
        await trap(Op(OpKind.WRITE, box, "fix"))
        box[1] += 1
        lock.release()

    ex = Execution()
    ex.spawn("a", writer(0))
    ex.spawn("b", writer(1))
    props = [always("equal-when-quiescent", lambda s: s[0] == s[1], quiescent=True),
             at_end("two", lambda s: s == [2, 2]),
             sometimes("mid-update", lambda s: s[0] != s[1])]
    return Instance(ex, box, props)


def test_quiescent_always_is_not_checked_while_a_lock_is_held() -> None:
    result = explore(build_props, Options(strategy="dfs"))
    assert result.status == "clean"


def test_always_is_checked_after_every_step() -> None:
    def model() -> Instance:
        instance = build_props()
        instance.properties = [always("equal", lambda s: s[0] == s[1])]
        return instance

    result = explore(model, Options(strategy="dpor"))
    [finding] = result.findings
    assert finding.property == "equal" and str(finding.schedule) == "0.0"


def test_a_scenario_may_say_when_it_is_quiescent() -> None:
    def model() -> Instance:
        instance = build_props()
        instance.quiescent = lambda s: True  # check everywhere: the update is seen midway
        return instance

    [finding] = explore(model, Options(strategy="dfs")).findings
    assert finding.property == "equal-when-quiescent"


def test_a_bound_that_cuts_nothing_ends_the_iteration() -> None:
    result = explore(get_scenario("tiny-independent-3").model(),
                     Options(strategy="dfs", preemption_bound=5))
    # two threads of 3 steps: every interleaving has at most 4 preemptions (5 switches, the
    # last at a finished thread), so bound 4 is the first that cuts nothing
    assert result.status == "clean" and result.bound == 4
    assert result.stats.complete
