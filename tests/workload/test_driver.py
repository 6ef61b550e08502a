"""The virtual-time driver on toy threads (no kernel): clock, latencies, CPUs, quiescence."""

from __future__ import annotations

import itertools
import random
from collections.abc import Coroutine
from typing import Any

from swaplab.explore import Execution, Lock, Op, OpKind, trap
from swaplab.workload.driver import Latencies, VirtualDriver, _below, sleep

LAT = Latencies(step_ns=10, swap_read_ns=3_000_000, swap_write_ns=7_000_000)


async def _stamp(log: list[tuple[str, int]], name: str, driver: list[VirtualDriver]) -> None:
    log.append((name, driver[0].now))


async def _spawn(name: str, body: object) -> None:
    await trap(Op(OpKind.SPAWN, payload=(name, body, None)))


async def _sleeper(log: list[tuple[str, int]], d: list[VirtualDriver]) -> None:
    await sleep(5_000_000)
    log.append(("woke", d[0].now))
    await _spawn("end_swap_bio_read p", _stamp(log, "read done", d))
    await _spawn("end_swap_bio_write p", _stamp(log, "write done", d))
    await _spawn("other", _stamp(log, "other", d))


def test_sleeps_and_io_latencies_advance_virtual_time() -> None:
    ex = Execution()
    log: list[tuple[str, int]] = []
    holder: list[VirtualDriver] = []
    ex.spawn("sleeper", _sleeper(log, holder))
    driver = VirtualDriver(ex, seed=1, cpus=1, latencies=LAT)
    holder.append(driver)
    driver.run_until(10**12)
    times = dict(log)
    # one step (10 ns) reaches the sleep; it wakes 5 ms later
    assert times["woke"] == 10 + 5_000_000
    # the plain thread runs at once; the completions after the read / write latency
    assert times["other"] - times["woke"] < 1_000
    assert 3_000_000 <= times["read done"] - times["woke"] < 3_001_000
    assert 7_000_000 <= times["write done"] - times["woke"] < 7_001_000
    assert [name for name, _ in log] == ["woke", "other", "read done", "write done"]
    assert driver.io_started == 2
    assert driver.live() == 0


async def _reader(log: list[str], name: str, n: int) -> None:
    for _ in range(n):
        await trap(Op(OpKind.READ, None, "r"))
        log.append(name)


def _interleaving(seed: int, cpus: int) -> list[str]:
    ex = Execution()
    log: list[str] = []
    ex.spawn("a", _reader(log, "a", 20))
    ex.spawn("b", _reader(log, "b", 20))
    VirtualDriver(ex, seed=seed, cpus=cpus, latencies=LAT).run_until(10**9)
    return log


def _switches(log: list[str]) -> int:
    return sum(1 for x, y in itertools.pairwise(log) if x != y)


def test_one_cpu_runs_a_thread_until_it_blocks_or_yields() -> None:
    assert _switches(_interleaving(0, 1)) == 1


def test_two_cpus_interleave_steps_randomly_and_replay_from_the_seed() -> None:
    runs = [_interleaving(seed, 2) for seed in range(4)]
    assert all(_switches(log) > 5 for log in runs)
    assert _interleaving(2, 2) == runs[2]
    assert len({tuple(log) for log in runs}) > 1


class _Counted:
    """A thread body that counts how many times the driver resumed it (a suspension
    each, but the first)."""

    def __init__(self, body: Coroutine[Op, Any, Any]) -> None:
        self.body = body
        self.sends = 0

    def send(self, value: Any) -> Op:
        self.sends += 1
        return self.body.send(value)

    def close(self) -> None:
        self.body.close()


def _run_two_cpus(seed: int, lane: bool) -> tuple[list[str], int, int, int]:
    """Three readers on two CPUs; the log, the clock, the driver's steps and how many
    times the threads were resumed."""
    ex = Execution()
    log: list[str] = []
    bodies = [_Counted(_reader(log, name, 30)) for name in "abc"]
    for name, body in zip("abc", bodies, strict=True):
        ex.spawn(name, body)  # type: ignore[arg-type]
    driver = VirtualDriver(ex, seed=seed, cpus=2, latencies=LAT)
    if not lane:
        ex.lane = None
    driver.run_until(10**9)
    return log, driver.now, driver.steps, sum(body.sends for body in bodies)


def test_the_shared_cpu_lane_runs_the_same_steps_with_fewer_suspensions() -> None:
    """With two CPUs the lane draws the next pick as _pick() would: when it is the thread
    that ran, the thread goes on without being suspended. Same interleaving, clock and
    steps as without the lane, for several seeds."""
    for seed in range(5):
        with_lane, without = _run_two_cpus(seed, True), _run_two_cpus(seed, False)
        assert with_lane[:3] == without[:3]
        assert without[3] == without[2] and with_lane[3] < 0.75 * with_lane[2]


async def _locker(lock: Lock, log: list[str]) -> None:
    await trap(Op(OpKind.ACQUIRE, lock, "lock"))
    lock.take(0)
    await _spawn("end_swap_bio_read x", _unlock_later(lock, log))
    await sleep(0, parkable=False)
    log.append("locker done")


async def _unlock_later(lock: Lock, log: list[str]) -> None:
    lock.release()
    log.append("unlocked")


async def _user(log: list[str]) -> None:
    for _ in range(3):
        await sleep(1_000_000)
        log.append("user")


def test_quiesce_parks_user_points_and_drains_io() -> None:
    ex = Execution()
    lock = Lock("page")
    log: list[str] = []
    ex.spawn("user", _user(log))
    ex.spawn("locker", _locker(lock, log))
    driver = VirtualDriver(ex, seed=0, cpus=1, latencies=LAT)
    assert driver.quiesce()
    # the I/O completion ran (3 ms later); the user thread stayed parked meanwhile
    assert "unlocked" in log and "user" not in log
    assert lock.holder is None
    assert driver.now >= 3_000_000
    driver.resume()
    driver.run_until(10**9)
    assert log.count("user") == 3


def test_below_draws_what_randrange_draws() -> None:
    # the driver's CPU choices must stay those of a seeded randrange(): pinned runs and
    # every simulation's series depend on them
    ours, theirs = random.Random(7), random.Random(7)
    for n in itertools.islice(itertools.cycle([1, 2, 3, 5, 7, 8, 100, 1 << 20]), 5000):
        assert _below(ours.getrandbits, n) == theirs.randrange(n)
    assert ours.getstate() == theirs.getstate()
