"""The backends map in the items' order and tell a caller how many items have finished; a
local pool is stopped however its start ends."""

from __future__ import annotations

import multiprocessing
import operator
import os
import signal
from typing import Any

import pytest

from swaplab.explore.backend import InProcess, LocalPool, worker_pool
from swaplab.interrupt import Aborted, interruptible


def test_in_process_tells_each_item_as_it_finishes() -> None:
    heard: list[int] = []
    assert InProcess().map(operator.neg, [1, 2, 3], heard.append) == [-1, -2, -3]
    assert heard == [1, 2, 3]


def test_a_local_pool_keeps_the_order_and_tells_every_batch() -> None:
    heard: list[int] = []
    items = list(range(40))
    assert LocalPool(2).map(operator.neg, items, heard.append) == [-i for i in items]
    assert heard == sorted(heard) and len(set(heard)) == len(heard)
    assert heard[-1] == len(items) and len(heard) > 1


def test_a_second_signal_while_workers_start_stops_them_first(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """The abort of a second Ctrl-C that comes while the pool starts waits until it is up,
    so the pool is terminated before the command exits (cut inside Pool(), the workers
    were left reading a semaphore the exiting parent had removed, with tracebacks)."""
    context = multiprocessing.get_context("forkserver")
    start = context.Pool
    started: list[Any] = []

    def pool_then_signal(*args: Any) -> Any:
        pool = start(*args)
        started.append(pool)
        os.kill(os.getpid(), signal.SIGINT)  # the second signal, before worker_pool() has it
        return pool

    monkeypatch.setattr(context, "Pool", pool_then_signal)
    with interruptible() as stop, pytest.raises(Aborted):
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.interrupted
        with worker_pool(2, "operator"):
            raise AssertionError("the abort comes before the body")
    assert started and multiprocessing.active_children() == []
    assert "Traceback" not in capfd.readouterr().err
