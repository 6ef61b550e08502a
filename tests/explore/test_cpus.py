"""The CPU model (explore/cpus.py) on little programs: non-preemption, who gives up a CPU,
and soft lockups decided from the schedule, through the real explorer."""

from __future__ import annotations

from typing import Any

import pytest

from swaplab.explore.cpus import SOFT_LOCKUP, Cpus, offers_cpu, spins_on_cpu
from swaplab.explore.execution import Execution
from swaplab.explore.explorer import Result, explore
from swaplab.explore.model import Instance, Model, at_end
from swaplab.explore.ops import Lock, Op, OpKind, trap
from swaplab.explore.replay import replay
from swaplab.explore.search import Options

Placement = tuple[int | None, ...]


class Flag:
    """A shared word: ``owned`` while the owner is between its claim and its release."""

    def __init__(self) -> None:
        self.owned = False
        self.name = "flag"


async def owner(flag: Flag, sleep: bool) -> None:
    """Claims the flag, may sleep (a YIELD, as an allocation that may sleep), releases."""
    await trap(Op(OpKind.WRITE, flag, "claim"))
    flag.owned = True
    if sleep:
        await trap(Op(OpKind.YIELD, None, "may sleep"))
    await trap(Op(OpKind.WRITE, flag, "release"))
    flag.owned = False


async def spinner(flag: Flag, sleeps: bool) -> None:
    """Polls the flag until it is free; between polls a busy loop (``sleeps`` False) or a
    cond_resched() (True)."""
    while True:
        await trap(Op(OpKind.READ, flag, "poll"))
        if not flag.owned:
            return
        await trap(Op(OpKind.SPIN, None, "retry", sleeps=sleeps))


def flag_model(cpus: Placement, sleep: bool = True, sleeps: bool = False) -> Model:
    def build() -> Instance:
        flag = Flag()
        execution = Execution()
        execution.spawn("owner", owner(flag, sleep), cpu=cpus[0])
        execution.spawn("spinner", spinner(flag, sleeps), cpu=cpus[1])
        return Instance(execution, flag, [at_end("released", lambda f: not f.owned)],
                        fingerprint=lambda f: bytes([f.owned]))
    return build


def check(model: Model, strategy: str = "dfs") -> Result:
    return explore(model, Options(strategy=strategy, max_steps=200))


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_busy_loop_on_the_owners_cpu_is_a_soft_lockup(strategy: str) -> None:
    result = check(flag_model((0, 0)), strategy)
    print(result.status, result.stats.executions, [f.message for f in result.findings])
    assert result.status == "found"
    [finding] = result.findings
    assert finding.property == SOFT_LOCKUP and finding.kind == "bug"
    assert finding.message == ("CPU 0: spinner busy-waits at spin @retry and never gives up "
                               "the CPU, while owner can run only on CPU 0")
    assert finding.deterministic
    # the owner claimed, then slept; the spinner took the CPU, polled the claimed flag,
    # and ran one more round with nobody else moving: the owner can never run again
    assert [e.function for e in finding.trace] == ["start", "claim", "start", "poll",
                                                    "retry", "poll"]
    assert [e.thread for e in finding.trace[2:]] == ["spinner"] * 4


@pytest.mark.parametrize("cpus", [(None, None), (0, 1), (0, None)])
def test_on_two_cpus_the_same_program_is_clean(cpus: Placement) -> None:
    result = check(flag_model(cpus))
    print(cpus, result.status, result.stats.executions)
    assert result.status == "clean" and result.stats.complete


def test_cond_resched_in_the_loop_or_no_sleep_in_the_owner_is_clean() -> None:
    resched = check(flag_model((0, 0), sleeps=True))
    no_sleep = check(flag_model((0, 0), sleep=False))
    print(resched.stats.executions, no_sleep.stats.executions)
    assert resched.status == no_sleep.status == "clean"


def test_soft_lockup_needs_no_step_limit() -> None:
    """Found at the first round of the busy loop, far from the step limit."""
    result = explore(flag_model((0, 0)), Options(strategy="dfs", max_steps=10_000))
    [finding] = result.findings
    assert finding.property == SOFT_LOCKUP and finding.steps == 6


class Slot:
    """A claim that stays set after the owner publishes (as SWAP_HAS_CACHE stays set
    while the page is in the swap cache)."""

    def __init__(self) -> None:
        self.owned = False
        self.published = False
        self.name = "slot"


async def publisher(slot: Slot) -> None:
    """Claims and publishes without sleeping in between, then offers the CPU."""
    await trap(Op(OpKind.WRITE, slot, "claim"))
    slot.owned = True
    await trap(Op(OpKind.WRITE, slot, "publish"))
    slot.published = True
    await trap(Op(OpKind.YIELD, None, "cond_resched"))


async def late_reader(slot: Slot) -> None:
    """Looks for the published value, may sleep (the first time only, as a preload that
    filled its pool), then claims; a failed claim retries at once (a busy loop) from the
    look."""
    first = True
    while True:
        await trap(Op(OpKind.READ, slot, "look"))
        if slot.published:
            return
        if first:
            await trap(Op(OpKind.YIELD, None, "may sleep"))
            first = False
        await trap(Op(OpKind.READ, slot, "claim"))
        if not slot.owned:
            return
        await trap(Op(OpKind.SPIN, None, "retry"))


def publish_model() -> Instance:
    slot = Slot()
    execution = Execution()
    execution.spawn("publisher", publisher(slot), cpu=0)
    execution.spawn("reader", late_reader(slot), cpu=0)
    return Instance(execution, slot)


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_a_busy_loop_whose_next_round_ends_it_is_no_lockup(strategy: str) -> None:
    """The reader may fail its claim after the publisher published (it slept between its
    look and its claim, and the publisher then ran up to its cond_resched()) while the
    publisher waits for the CPU: its next round finds the value, so that spin is no
    lockup. Only a whole failed round with nobody else moving decides one."""
    result = check(publish_model, strategy)
    print(strategy, result.status, result.stats.executions)
    assert result.status == "clean" and result.stats.complete


class Word:
    def __init__(self, name: str) -> None:
        self.name = name


async def two_writes(word: Word) -> None:
    await trap(Op(OpKind.WRITE, word, "first"))
    await trap(Op(OpKind.WRITE, word, "second"))


def writers(cpus: Placement) -> Model:
    def build() -> Instance:
        word = Word("w")
        execution = Execution()
        execution.spawn("a", two_writes(word), cpu=cpus[0])
        execution.spawn("b", two_writes(word), cpu=cpus[1])
        return Instance(execution, word)
    return build


@pytest.mark.parametrize("strategy", ["dfs", "dpor"])
def test_one_cpu_runs_each_thread_to_its_end(strategy: str) -> None:
    """No preemption: on one CPU a thread that never sleeps runs to its end once started,
    so two threads have two schedules (which starts first); on two CPUs dfs runs every
    interleaving of their three steps each (start and two writes): C(6, 3) = 20."""
    shared = explore(writers((0, 0)), Options(strategy=strategy))
    apart = explore(writers((None, None)), Options(strategy="dfs"))
    print(strategy, shared.stats.executions, apart.stats.executions)
    assert shared.stats.executions == 2 and shared.status == "clean"
    assert apart.stats.executions == 20


class Locks:
    def __init__(self) -> None:
        self.lock = Lock("L")


async def hold_and_sleep(locks: Locks) -> None:
    await trap(Op(OpKind.ACQUIRE, locks.lock, "take"))
    locks.lock.take(0)
    await trap(Op(OpKind.YIELD, None, "sleep holding L"))
    locks.lock.release()


async def take(locks: Locks, sleeps: bool) -> None:
    await trap(Op(OpKind.ACQUIRE, locks.lock, "take", sleeps=sleeps))
    locks.lock.take(1)
    locks.lock.release()


def lock_model(sleeps: bool) -> Model:
    def build() -> Instance:
        locks = Locks()
        execution = Execution()
        execution.spawn("holder", hold_and_sleep(locks), cpu=0)
        execution.spawn("taker", take(locks, sleeps), cpu=0)
        return Instance(execution, locks)
    return build


def test_spinning_on_a_spinlock_whose_holder_slept_on_that_cpu_is_a_soft_lockup() -> None:
    spinlock = check(lock_model(sleeps=False))
    mutex = check(lock_model(sleeps=True))
    print(spinlock.status, mutex.status, mutex.stats.executions)
    [finding] = spinlock.findings
    assert finding.property == SOFT_LOCKUP and "taker busy-waits at acquire L" in finding.message
    assert mutex.status == "clean"


def test_a_finding_replays_with_its_lockup() -> None:
    model = flag_model((0, 0))
    [finding] = check(model).findings
    assert finding.schedule is not None
    result = replay(model, finding.schedule.decisions)
    assert [f.property for f in result.failures] == [SOFT_LOCKUP]


def test_who_gives_up_a_cpu() -> None:
    free = Lock("free")
    held = Lock("held")
    held.take(5)
    assert offers_cpu(None) and offers_cpu(Op(OpKind.YIELD))
    assert offers_cpu(Op(OpKind.SPIN, sleeps=True)) and not offers_cpu(Op(OpKind.SPIN))
    assert offers_cpu(Op(OpKind.WAIT, cond=lambda: False))
    assert not offers_cpu(Op(OpKind.WAIT, cond=lambda: True))
    assert offers_cpu(Op(OpKind.ACQUIRE, held, sleeps=True))
    assert not offers_cpu(Op(OpKind.ACQUIRE, free, sleeps=True))
    assert not offers_cpu(Op(OpKind.ACQUIRE, held)) and spins_on_cpu(Op(OpKind.ACQUIRE, held))
    assert not spins_on_cpu(Op(OpKind.ACQUIRE, free)) and not spins_on_cpu(Op(OpKind.READ))


def test_no_shared_cpu_means_no_cpu_model() -> None:
    execution = Execution()
    bodies: list[Any] = []
    for cpu in (None, 0, 1):
        body = spinner(Flag(), False)
        bodies.append(body)
        execution.spawn("t", body, cpu=cpu)
    assert Cpus.of(execution.threads) is None
    execution.close()


def test_an_owner_whose_sleeping_wait_is_blocked_by_another_cpu_sleeps() -> None:
    """The owner waits for a free page lock (it keeps its CPU); a thread of another CPU
    takes the lock: the owner sleeps now, and stays off the CPU when the lock is free
    again (it competes for the CPU like the others)."""
    execution = Execution()
    bodies = [spinner(Flag(), False) for _ in range(3)]
    t = execution.spawn("t", bodies[0], cpu=0)
    u = execution.spawn("u", bodies[1], cpu=0)
    other = execution.spawn("other", bodies[2])
    cpus = Cpus.of(execution.threads)
    assert cpus is not None and list(cpus.placed) == [0]
    lock = Lock("page")
    t.pending = Op(OpKind.ACQUIRE, lock, "lock_page", sleeps=True)
    cpus.stepped(t, Op(OpKind.READ))
    assert cpus.owner[0] is t and not cpus.may_run(u) and cpus.may_run(other)
    lock.take(other.tid)
    cpus.stepped(other, Op(OpKind.ACQUIRE, lock))
    assert cpus.owner[0] is None and cpus.may_run(u) and cpus.may_run(t)
    lock.release()
    cpus.stepped(other, Op(OpKind.READ))
    assert cpus.owner[0] is None and cpus.may_run(u)
    execution.close()
