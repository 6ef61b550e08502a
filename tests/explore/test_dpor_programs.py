"""dpor against dfs on random little programs: the same Mazurkiewicz traces, at most one run
each. Programs mix reads, writes, lock sections, trylocks, waits, choices and yields, fresh
locks taken in plain code (no ACQUIRE: only the step record shows them; as
__set_page_locked() on a new page, which other threads can only wait on) and locks released
by another thread (a spawned completion, as an I/O completion's unlock_page()).

Locks 0 and 1 are shared; lock ``2 + t`` is thread ``t``'s fresh lock."""

from __future__ import annotations

import functools
from random import Random
from typing import Any

import pytest
from explore_helpers import trace_class

from swaplab.explore.execution import Execution
from swaplab.explore.explorer import explore
from swaplab.explore.model import Instance
from swaplab.explore.ops import Lock, Op, OpKind, trap
from swaplab.explore.runner import RunResult
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Options

Instr = tuple[Any, ...]


def program(seed: int) -> list[list[Instr]]:
    rng = Random(seed)
    threads = []
    count = rng.choice([2, 2, 3])
    spawned = False  # at most one instruction that spawns a thread (keeps dfs small)
    for _ in range(count):
        body: list[Instr] = []
        for _ in range(rng.randint(1, 3 if count == 2 else 2)):
            kind = rng.choice(["r", "w", "w", "lock", "try", "wait", "choice", "yield",
                               "fresh", "handoff"])
            if kind == "handoff" and spawned:
                kind = "lock"
            if kind in ("r", "w"):
                body.append((kind, rng.randrange(2)))
            elif kind in ("lock", "try"):
                body.append((kind, rng.randrange(2), _inner(rng)))
            elif kind == "fresh":  # own fresh lock, released by itself or a completion
                handoff = not spawned and rng.random() < 0.5
                body.append((kind, _inner(rng), handoff))
            elif kind == "wait":  # a shared lock or another thread's fresh lock
                body.append((kind, rng.randrange(2 + count)))
            elif kind == "handoff":
                body.append((kind, rng.randrange(2)))
            else:
                body.append((kind,))
            spawned = spawned or kind == "handoff" or (kind == "fresh" and body[-1][2])
        threads.append(body)
    return threads


def _inner(rng: Random) -> list[tuple[str, int]]:
    return [(rng.choice(["r", "w"]), rng.randrange(2)) for _ in range(rng.randint(0, 2))]


async def access(kind: str, cell: list[int], log: list[int]) -> None:
    await trap(Op(OpKind.READ if kind == "r" else OpKind.WRITE, cell, kind))
    if kind == "r":
        log.append(cell[0])
    else:
        cell[0] += 1


async def run_thread(tid: int, body: list[Instr], cells: list[list[int]], locks: list[Lock],
                     log: list[int]) -> None:
    for instr in body:
        kind = instr[0]
        if kind in ("r", "w"):
            await access(kind, cells[instr[1]], log)
        elif kind in ("lock", "try"):
            lock = locks[instr[1]]
            await trap(Op(OpKind.ACQUIRE if kind == "lock" else OpKind.TRYLOCK, lock, kind))
            if lock.holder is not None:
                log.append(-1)
                continue
            lock.take(tid)
            for inner_kind, obj in instr[2]:
                await access(inner_kind, cells[obj], log)
            lock.release()
        elif kind == "fresh":  # taken in plain code: only the step record shows it
            lock = locks[2 + tid]
            if lock.holder is not None:  # still held from an earlier handoff: wait for it
                await trap(Op(OpKind.WAIT, lock, "wait", cond=lambda lk=lock: lk.holder is None))
            lock.take(tid)
            for inner_kind, obj in instr[1]:
                await access(inner_kind, cells[obj], log)
            if instr[2]:
                await trap(Op(OpKind.SPAWN, payload=("done", complete(lock, cells[1]), None)))
            else:
                lock.release()
        elif kind == "handoff":  # taken here, released by a spawned completion thread
            lock = locks[instr[1]]
            await trap(Op(OpKind.ACQUIRE, lock, "lock"))
            lock.take(tid)
            await trap(Op(OpKind.SPAWN, payload=("done", complete(lock, cells[0]), None)))
        elif kind == "wait":
            lock = locks[instr[1]]
            await trap(Op(OpKind.WAIT, lock, "wait", cond=lambda lk=lock: lk.holder is None))
        elif kind == "choice":
            log.append(int(await trap(Op(OpKind.CHOICE, None, "choice", n=2))))
        else:
            await trap(Op(OpKind.YIELD, None, "yield"))


async def complete(lock: Lock, cell: list[int]) -> None:
    await trap(Op(OpKind.WRITE, cell, "complete"))
    cell[0] += 10
    lock.release()


def build(seed: int) -> Instance:
    cells: list[list[int]] = [[0], [0]]
    threads = program(seed)
    locks = [Lock("L0"), Lock("L1"), *(Lock(f"F{t}") for t in range(len(threads)))]
    log: list[int] = []
    ex = Execution()
    for tid, body in enumerate(threads):
        ex.spawn(f"t{tid}", run_thread(tid, body, cells, locks, log))
    return Instance(ex, log)


def runs(seed: int, strategy: str) -> list[list[Decision]]:
    out: list[list[Decision]] = []

    def keep(result: RunResult) -> None:
        if not result.abandoned:
            out.append(list(result.decisions))

    explore(functools.partial(build, seed), Options(strategy=strategy, fingerprints=False),
            on_result=keep)
    return out


@functools.cache
def every_trace(seed: int) -> frozenset[frozenset[tuple[object, ...]]]:
    """The Mazurkiewicz traces of every dfs run (cached: several tests compare with it)."""
    model = functools.partial(build, seed)
    return frozenset(trace_class(model, run) for run in runs(seed, "dfs"))


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("DPOR_SEEDS", "40"))))
def test_dpor_sees_every_trace_once(seed: int) -> None:
    model = functools.partial(build, seed)
    every = every_trace(seed)
    dpor_runs = runs(seed, "dpor")
    seen = [trace_class(model, run) for run in dpor_runs]
    assert set(seen) == every
    assert len(seen) == len(set(seen))


def split_runs(seed: int, depth: int) -> list[list[Decision]]:
    """The runs of a dpor split at ``depth`` and of every subtree task, in one process."""
    from swaplab.explore.dpor import dpor
    from swaplab.explore.search import Search

    out: list[list[Decision]] = []

    def keep(result: RunResult) -> None:
        if not result.abandoned:
            out.append(list(result.decisions))

    model = functools.partial(build, seed)
    opts = Options(strategy="dpor", fingerprints=False)
    leaves = dpor(Search(model, opts, on_result=keep), None, (), split=depth)
    for prefix, sleep in leaves:
        dpor(Search(model, opts, on_result=keep), None, prefix, sleep)
    return out


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("depth", [2, 4])
def test_a_split_dpor_still_sees_every_trace(seed: int, depth: int) -> None:
    model = functools.partial(build, seed)
    assert {trace_class(model, run) for run in split_runs(seed, depth)} == every_trace(seed)
