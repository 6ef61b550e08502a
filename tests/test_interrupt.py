"""swaplab.interrupt: the first signal asks for a stop, the second aborts; budgets."""

from __future__ import annotations

import gc
import os
import signal
import time
import warnings

import pytest

from swaplab.interrupt import (
    Aborted,
    abort_held,
    current,
    interruptible,
    parse_duration,
    reason,
    until,
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_asks_to_stop_second_aborts(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    with interruptible() as stop:
        assert current() is stop and not stop.should_stop() and reason() is None
        os.kill(os.getpid(), sig)
        assert stop.should_stop() and stop.interrupted and stop.reason == "interrupted"
        assert reason() == "interrupted"
        with pytest.raises(Aborted):
            os.kill(os.getpid(), sig)
    assert current() is None and signal.getsignal(sig) is before


def test_an_abort_held_waits_for_the_held_step_to_end() -> None:
    steps = []
    with interruptible(), pytest.raises(Aborted, match="SIGINT"):
        os.kill(os.getpid(), signal.SIGINT)
        with abort_held():
            with abort_held():  # nested: the outer block's end raises
                os.kill(os.getpid(), signal.SIGINT)
                steps.append("inner")
            steps.append("outer")
        steps.append("after")  # not reached
    assert steps == ["inner", "outer"]
    with interruptible() as stop, abort_held():  # no second signal: nothing raised
        os.kill(os.getpid(), signal.SIGINT)
    assert stop.interrupted


async def _completion() -> None:
    return None


def _step_cut_by_a_second_signal() -> None:
    """A kernel path that made a coroutine (an I/O completion about to be spawned) and is
    cut before it awaits it."""
    pending = _completion()
    os.kill(os.getpid(), signal.SIGINT)
    del pending  # not reached: the signal's abort comes first


def test_an_abort_leaves_no_warning_for_a_coroutine_it_cut_off() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            with interruptible():
                os.kill(os.getpid(), signal.SIGINT)
                _step_cut_by_a_second_signal()
        except Aborted:
            pass
        gc.collect()  # the cut frame and its coroutine are gone now
    assert [str(w.message) for w in seen if "never awaited" in str(w.message)] == []


def test_a_budget_stops_the_run_without_a_signal() -> None:
    assert reason() is None  # no command running
    with interruptible(budget=0.05) as stop:
        assert not stop.should_stop()
        time.sleep(0.06)
        assert reason() == "budget"  # asking is enough: the deadline passed
        assert stop.should_stop() and stop.reason == "budget" and not stop.interrupted


def test_a_trial_ends_at_its_own_deadline_or_at_the_commands_stop() -> None:
    with interruptible() as stop:
        with until(0.05, "trial") as trial:
            assert current() is trial and not trial.should_stop()
            time.sleep(0.06)
            assert trial.should_stop() and trial.reason == "trial"
        assert current() is stop and not stop.should_stop()
        with until(60, "trial") as trial:
            os.kill(os.getpid(), signal.SIGINT)
            assert trial.should_stop() and trial.reason == "interrupted"


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30.0), ("5m", 300.0), ("1h", 3600.0),
                                                ("250ms", 0.25), ("2", 2.0), ("1.5s", 1.5)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "-1s", "5 minutes", "s", "1d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
