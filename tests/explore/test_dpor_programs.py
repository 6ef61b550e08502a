"""dpor against dfs on random little programs: the same Mazurkiewicz traces, at most one run
each. Programs mix reads, writes, lock sections, trylocks, waits, choices and yields."""

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
    for _ in range(count):
        body: list[Instr] = []
        for _ in range(rng.randint(1, 3 if count == 2 else 2)):
            kind = rng.choice(["r", "w", "w", "lock", "try", "wait", "choice", "yield"])
            if kind in ("r", "w"):
                body.append((kind, rng.randrange(2)))
            elif kind in ("lock", "try"):
                inner = [(rng.choice(["r", "w"]), rng.randrange(2))
                         for _ in range(rng.randint(0, 2))]
                body.append((kind, rng.randrange(2), inner))
            elif kind == "wait":
                body.append((kind, rng.randrange(2)))
            else:
                body.append((kind,))
        threads.append(body)
    return threads


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
            lock.holder = tid
            for inner_kind, obj in instr[2]:
                await access(inner_kind, cells[obj], log)
            lock.holder = None
        elif kind == "wait":
            lock = locks[instr[1]]
            await trap(Op(OpKind.WAIT, lock, "wait", cond=lambda lk=lock: lk.holder is None))
        elif kind == "choice":
            log.append(int(await trap(Op(OpKind.CHOICE, None, "choice", n=2))))
        else:
            await trap(Op(OpKind.YIELD, None, "yield"))


def build(seed: int) -> Instance:
    cells: list[list[int]] = [[0], [0]]
    locks = [Lock("L0"), Lock("L1")]
    log: list[int] = []
    ex = Execution()
    for tid, body in enumerate(program(seed)):
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
