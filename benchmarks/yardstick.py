"""The machine's speed, for benchmarks run on machines of different (and varying) speed:
the seconds a bare coroutine loop takes to resume ``n`` times, each resume yielding one
object. It uses a trap of its own, not swaplab's, so it measures the same interpreter
work whether or not the model runs compiled (``swaplab build``). Imported by
benchmarks/simulate.py and benchmarks/faults.py (run as scripts, so this folder is on
``sys.path``) and by benchmarks/compiled.py's children (given the folder)."""

from __future__ import annotations

import time
import types
from collections.abc import Generator
from typing import Any


@types.coroutine
def _trap(op: object) -> Generator[object, Any, Any]:
    return (yield op)


async def _resumes(n: int) -> None:
    op = object()
    for _ in range(n):
        await _trap(op)


def bare_loop(resumes: int) -> float:
    """Seconds to resume a coroutine ``resumes`` times (each resume yields one object)."""
    body = _resumes(resumes)
    start = time.perf_counter()
    try:
        while True:
            body.send(None)
    except StopIteration:
        pass
    return time.perf_counter() - start


def resumes_per_second(resumes: int = 2_000_000, repeat: int = 3) -> float:
    """The bare loop's rate here: the best of ``repeat`` loops of ``resumes``."""
    return resumes / min(bare_loop(resumes) for _ in range(repeat))
