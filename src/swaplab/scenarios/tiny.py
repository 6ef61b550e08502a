"""Tiny models with known answers: the explorer's own test bench (no kernel involved).

- ``tiny-independent-K``: two threads, ``K`` steps each, on objects of their own: C(2K, K)
  interleavings, one Mazurkiewicz trace.
- ``tiny-lost-update``: two unlocked ``x = x + 1``: one order loses an update.
- ``tiny-locked-counter``: the same under a lock: clean.
- ``tiny-abba``: two threads take two locks in opposite orders: deadlock.
- ``tiny-unreachable``: the locked counter asking whether both threads are ever inside the
  critical section at once: an unreached ``sometimes`` (a vacuity warning, not a finding).
- ``tiny-ordering-N``: a depth-2 ordering bug among ~2N steps (PCT's example).
- ``tiny-bug-on``: a thread raises an exception (a BUG_ON) in one interleaving.
- ``tiny-spin``: a thread busy-waits for a flag another thread sets: clean under the fair
  policy; under the unfair one some runs spin until the step limit (incomplete).
- ``tiny-livelock``: two threads each raise a flag and busy-wait while the other's is up:
  a livelock (a fair cycle with nobody else able to run).
- ``tiny-choice``: an environment CHOICE (allocation failure) beside an increment.
- ``tiny-io``: a page locked for I/O and unlocked by a spawned completion thread, a waiter,
  and a trylock: every sometimes-property is reachable, the reader always sees the data.
- ``tiny-scaled-3x3``: three threads, each three lock-protected increments of ``x`` and
  then one unlocked read of it: clean (``x == 9`` at the end, every read in [3, 9]);
  16,530 Mazurkiewicz traces but a few hundred states (the benchmark of state caching,
  with the same model in Promela and Harmony in benchmarks/peers/).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from swaplab.explore.model import Instance, always, at_end, sometimes
from swaplab.explore.ops import Lock, Op, OpKind, trap
from swaplab.scenarios.api import ENGINE, Scenario, ScenarioOptions, new_instance


@dataclass(slots=True)
class Box:
    """A named shared cell."""

    name: str
    value: int = 0


@dataclass(slots=True)
class Counter:
    cell: Box = field(default_factory=lambda: Box("x"))
    lock: Lock = field(default_factory=lambda: Lock("L"))
    inside: int = 0
    seen: list[int] = field(default_factory=list)

    def encode(self) -> bytes:
        return f"{self.cell.value}|{self.inside}|{self.lock.holder}".encode()


def _encode_counter(state: Counter) -> bytes:
    return state.encode()


# -- independent ----------------------------------------------------------------------------
async def _own_steps(box: Box, steps: int) -> None:
    for _ in range(steps - 1):
        await trap(Op(OpKind.WRITE, box, "own_write"))
        box.value += 1


def _encode_boxes(boxes: list[Box]) -> bytes:
    return ",".join(str(b.value) for b in boxes).encode()


def build_independent(steps: int, options: ScenarioOptions) -> Instance:
    boxes = [Box("a"), Box("b")]
    threads = [(f"t{i}", _own_steps(box, steps), None) for i, box in enumerate(boxes)]
    done = at_end("all-steps", lambda s: [b.value for b in s] == [steps - 1] * 2)
    return new_instance(boxes, threads, [done], fingerprint=_encode_boxes,
                        name=f"tiny-independent-{steps}")


def _independent(steps: int) -> Scenario:
    import functools

    return Scenario(f"tiny-independent-{steps}",
                    f"two threads, {steps} steps each on their own objects: "
                    f"C({2 * steps},{steps}) interleavings, 1 trace",
                    functools.partial(build_independent, steps))


# -- counters -------------------------------------------------------------------------------
async def _unlocked_increment(c: Counter) -> None:
    await trap(Op(OpKind.READ, c.cell, "load"))
    value = c.cell.value
    await trap(Op(OpKind.WRITE, c.cell, "store"))
    c.cell.value = value + 1


async def _locked_increment(c: Counter, tid: int) -> None:
    await trap(Op(OpKind.ACQUIRE, c.lock, "spin_lock"))
    c.lock.take(tid)
    c.inside += 1
    await trap(Op(OpKind.READ, c.cell, "load"))
    value = c.cell.value
    await trap(Op(OpKind.WRITE, c.cell, "store"))
    c.cell.value = value + 1
    c.inside -= 1
    c.lock.release()


def _explain_count(c: Counter) -> str:
    return f"x == {c.cell.value} after two increments (expected 2)"


def build_lost_update(options: ScenarioOptions) -> Instance:
    c = Counter()
    threads = [(f"inc{i}", _unlocked_increment(c), None) for i in range(2)]
    props = [at_end("no-lost-update", lambda s: s.cell.value == 2, _explain_count)]
    return new_instance(c, threads, props, fingerprint=_encode_counter)


def build_locked_counter(options: ScenarioOptions) -> Instance:
    c = Counter()
    threads = [(f"inc{i}", _locked_increment(c, i), None) for i in range(2)]
    props = [
        at_end("no-lost-update", lambda s: s.cell.value == 2, _explain_count),
        always("mutual-exclusion", lambda s: s.inside <= 1),
        always("nobody-inside-when-quiescent", lambda s: s.inside == 0, quiescent=True),
        sometimes("one-inside", lambda s: s.inside == 1),
    ]
    return new_instance(c, threads, props, fingerprint=_encode_counter)


def build_unreachable(options: ScenarioOptions) -> Instance:
    instance = build_locked_counter(options)
    instance.properties = [*instance.properties,
                           sometimes("both-inside", lambda s: s.inside == 2)]
    return instance


# -- ABBA -----------------------------------------------------------------------------------
@dataclass(slots=True)
class Locks:
    a: Lock = field(default_factory=lambda: Lock("A"))
    b: Lock = field(default_factory=lambda: Lock("B"))


async def _take_both(first: Lock, second: Lock, tid: int) -> None:
    await trap(Op(OpKind.ACQUIRE, first, f"lock_{first.name}"))
    first.take(tid)
    await trap(Op(OpKind.ACQUIRE, second, f"lock_{second.name}"))
    second.take(tid)
    second.release()
    first.release()


def build_abba(options: ScenarioOptions) -> Instance:
    s = Locks()
    threads = [("ab", _take_both(s.a, s.b, 0), None), ("ba", _take_both(s.b, s.a, 1), None)]
    return new_instance(s, threads, [])


# -- ordering (PCT) -------------------------------------------------------------------------
@dataclass(slots=True)
class Ordering:
    flag: Box = field(default_factory=lambda: Box("flag"))
    own: list[Box] = field(default_factory=lambda: [Box("a"), Box("b")])
    seen: int = -1


async def _writer(s: Ordering, steps: int) -> None:
    for i in range(steps):
        if i in (steps // 2, steps // 2 + 1):
            await trap(Op(OpKind.WRITE, s.flag, "set_flag"))
            s.flag.value += 1
        else:
            await trap(Op(OpKind.WRITE, s.own[0], "work"))


async def _reader(s: Ordering, steps: int) -> None:
    for i in range(steps):
        if i == steps // 2:
            await trap(Op(OpKind.READ, s.flag, "read_flag"))
            s.seen = s.flag.value
        else:
            await trap(Op(OpKind.WRITE, s.own[1], "work"))


def build_ordering(steps: int, options: ScenarioOptions) -> Instance:
    s = Ordering()
    threads = [("writer", _writer(s, steps), None), ("reader", _reader(s, steps), None)]
    props = [at_end("no-half-update", lambda st: st.seen != 1,
                    lambda st: "the reader saw the flag between its two writes")]
    return new_instance(s, threads, props)


# -- BUG_ON and spinning --------------------------------------------------------------------
class TinyBug(Exception):
    """A stand-in for KernelBug."""


async def _checker(c: Counter) -> None:
    await trap(Op(OpKind.READ, c.cell, "check"))
    if c.cell.value == 1:
        raise TinyBug("BUG_ON(x == 1)")


def build_bug_on(options: ScenarioOptions) -> Instance:
    c = Counter()
    threads = [("inc", _unlocked_increment(c), None), ("inc2", _unlocked_increment(c), None),
               ("check", _checker(c), None)]
    return new_instance(c, threads, [])


async def _poll(flag: Box) -> None:
    while True:
        await trap(Op(OpKind.READ, flag, "test_flag"))
        if flag.value:
            return
        await trap(Op(OpKind.SPIN, None, "retry"))


async def _set(flag: Box) -> None:
    await trap(Op(OpKind.WRITE, flag, "set_flag"))
    flag.value = 1


def _encode_box(box: Box) -> bytes:
    return str(box.value).encode()


def build_spin(options: ScenarioOptions) -> Instance:
    flag = Box("flag")
    return new_instance(flag, [("poll", _poll(flag), None), ("set", _set(flag), None)], [],
                        fingerprint=_encode_box, max_steps=30)


async def _polite(mine: Box, other: Box) -> None:
    await trap(Op(OpKind.WRITE, mine, "raise_flag"))
    mine.value = 1
    while True:
        await trap(Op(OpKind.READ, other, "test_other"))
        if not other.value:
            break
        await trap(Op(OpKind.SPIN, None, "retry"))
    await trap(Op(OpKind.WRITE, mine, "lower_flag"))
    mine.value = 0


def build_livelock(options: ScenarioOptions) -> Instance:
    flags = [Box("a"), Box("b")]
    threads = [("t0", _polite(flags[0], flags[1]), None),
               ("t1", _polite(flags[1], flags[0]), None)]
    return new_instance(flags, threads, [], fingerprint=_encode_boxes, max_steps=30)


# -- environment choices, trylock, an I/O completion thread ------------------------------------
async def _chooser(c: Counter) -> None:
    if await trap(Op(OpKind.CHOICE, None, "alloc_fails", n=2)):
        await trap(Op(OpKind.WRITE, c.cell, "store"))
        c.cell.value += 10
    else:
        await trap(Op(OpKind.READ, c.cell, "load"))
        c.seen.append(c.cell.value)


def build_choice(options: ScenarioOptions) -> Instance:
    c = Counter()
    threads = [("choose", _chooser(c), None), ("inc", _unlocked_increment(c), None)]
    return new_instance(c, threads, [sometimes("failed-path", lambda s: s.cell.value >= 10)],
                        fingerprint=_encode_counter)


async def _end_io(c: Counter) -> None:
    await trap(Op(OpKind.WRITE, c.cell, "end_swap_bio_read"))
    c.cell.value = 1
    c.lock.release()  # unlock_page() by the completion, not by the locker


async def _io_reader(c: Counter, tid: int) -> None:
    await trap(Op(OpKind.ACQUIRE, c.lock, "lock_page"))
    c.lock.take(tid)
    await trap(Op(OpKind.SPAWN, payload=("end_io", _end_io(c), None)))
    await trap(Op(OpKind.WAIT, c.lock, "wait_on_page_locked", cond=lambda: c.lock.holder is None))
    await trap(Op(OpKind.READ, c.cell, "load"))
    c.seen.append(c.cell.value)


async def _peeker(c: Counter, tid: int) -> None:
    await trap(Op(OpKind.TRYLOCK, c.lock, "trylock_page"))
    if c.lock.holder is None:
        c.lock.take(tid)
        await trap(Op(OpKind.READ, c.cell, "load"))
        c.seen.append(100 + c.cell.value)
        c.lock.release()
    else:
        c.seen.append(-1)


def build_io(options: ScenarioOptions) -> Instance:
    c = Counter()
    threads = [("reader", _io_reader(c, 0), None), ("peeker", _peeker(c, 1), None)]
    props = [at_end("reader-sees-data", lambda s: 1 in s.seen),
             sometimes("peeker-fails", lambda s: -1 in s.seen),
             sometimes("peeker-sees-old", lambda s: 100 in s.seen),
             sometimes("peeker-sees-new", lambda s: 101 in s.seen)]
    return new_instance(c, threads, props, fingerprint=_encode_counter)


# -- scaled: threads x locked increments, then an unlocked read -----------------------------
async def _increments_then_read(c: Counter, tid: int, increments: int) -> None:
    for _ in range(increments):
        await _locked_increment(c, tid)
    await trap(Op(OpKind.READ, c.cell, "read"))
    c.seen.append(c.cell.value)


def build_scaled(threads: int, increments: int, options: ScenarioOptions) -> Instance:
    c = Counter()
    total = threads * increments
    bodies = [(f"t{i}", _increments_then_read(c, i, increments), None) for i in range(threads)]
    props = [at_end("x-is-total", lambda s: s.cell.value == total,
                    lambda s: f"x == {s.cell.value} at the end (expected {total})"),
             always("reads-in-range", lambda s: all(increments <= v <= total for v in s.seen),
                    lambda s: f"a read saw {s.seen} (expected values in "
                              f"[{increments}, {total}])")]
    return new_instance(c, bodies, props, fingerprint=_encode_counter,
                        name=f"tiny-scaled-{threads}x{increments}")


def _scenarios() -> tuple[Scenario, ...]:
    import functools

    return (
        *(_independent(k) for k in (2, 3, 4, 5, 6, 8)),
        Scenario("tiny-lost-update", "two unlocked increments: an update is lost",
                 build_lost_update),
        Scenario("tiny-locked-counter", "two increments under a lock: clean",
                 build_locked_counter),
        Scenario("tiny-abba", "locks A,B against B,A: deadlock", build_abba),
        Scenario("tiny-unreachable", "the locked counter: both threads inside is unreachable",
                 build_unreachable),
        Scenario("tiny-ordering-20", "a depth-2 ordering bug among 40 steps (PCT)",
                 functools.partial(build_ordering, 20), strategy="pct", max_executions=1000),
        Scenario("tiny-bug-on", "a thread raises when it sees half the increments",
                 build_bug_on),
        Scenario("tiny-spin", "a thread busy-waits for a flag another thread sets: clean "
                 "when fair", build_spin),
        Scenario("tiny-livelock", "two threads each wait for the other to lower its flag: "
                 "livelock", build_livelock),
        Scenario("tiny-choice", "an environment choice next to an increment", build_choice),
        Scenario("tiny-io", "a page locked for I/O, unlocked by a completion thread; a trylock",
                 build_io),
        # state caching by default: its 16,530 traces (dpor, stateless) reach a few
        # hundred states; --strategy dpor still runs them all
        Scenario("tiny-scaled-3x3", "3 threads, each 3 locked increments then an unlocked "
                 "read: clean", functools.partial(build_scaled, 3, 3), strategy="dfs-cached"),
    )


#: engine models: listed by `swaplab scenarios --all` only, runnable by name
SCENARIOS: tuple[Scenario, ...] = tuple(replace(s, tags=(ENGINE,)) for s in _scenarios())
