"""Stopping a long run cleanly: SIGINT and SIGTERM, and wall-time budgets.

A command that explores or simulates runs inside :func:`interruptible`. The first SIGINT
(Ctrl-C) or SIGTERM does not raise: it sets :attr:`StopRequest.reason` to
``"interrupted"``, and the run ends at its next execution or sample boundary
(:meth:`StopRequest.should_stop`), reporting what it has. A budget (``--budget 30s``) ends
it the same way with reason ``"budget"``. A second SIGINT or SIGTERM raises
:class:`Aborted` at once (the command's ``finally`` blocks still stop worker processes),
or, inside :func:`abort_held` (starting worker processes), as soon as the held step ends;
the CLI turns it into exit status 130 with one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

#: The exit status of a run ended by a signal (128 + SIGINT), as shells report Ctrl-C.
EXIT_INTERRUPTED = 130

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class Aborted(BaseException):
    """A second interrupt: stop now. A BaseException, so no ``except Exception`` eats it."""


class StopRequest:
    """Whether the running command should stop, and why (None while it should not)."""

    __slots__ = ("_signals", "deadline", "reason")

    def __init__(self, budget: float | None = None) -> None:
        self.reason: str | None = None
        self.deadline = None if budget is None else time.monotonic() + budget
        self._signals = 0

    def should_stop(self) -> bool:
        """True once a signal came or the budget is spent (checked at run boundaries)."""
        if self.reason is None and self.deadline is not None and time.monotonic() >= self.deadline:
            self.reason = "budget"
        return self.reason is not None

    @property
    def interrupted(self) -> bool:
        """Whether a signal (not the budget) stopped the run."""
        return self.reason == "interrupted"

    def signalled(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: the first signal asks for a stop, the second aborts."""
        self._signals += 1
        if self._signals > 1:
            _abort(signal.Signals(signum).name)
        self.reason = "interrupted"


#: How many :func:`abort_held` blocks run now, and the abort that waits for them to end.
_holds = 0
_held_abort: str | None = None


def _abort(why: str) -> None:
    """Raise :class:`Aborted` (``why``: the signal), unless a step holds it off."""
    global _held_abort
    if _holds:
        _held_abort = why
        return
    _quiet_cut_coroutines()
    raise Aborted(why)


def _quiet_cut_coroutines() -> None:
    """An abort may cut a kernel path between making a coroutine and awaiting it (an I/O
    completion about to be spawned): Python warns when it collects such a coroutine,
    after the command's last line. The command is ending on purpose, so that warning
    says nothing; it is silenced for the rest of the process."""
    warnings.filterwarnings("ignore", message=r"coroutine '.*' was never awaited",
                            category=RuntimeWarning)


@contextmanager
def abort_held() -> Iterator[None]:
    """Run the body with a second signal's abort held until the body ends, then raised.
    For a step that must not stop half way: starting a pool's worker processes, which read
    their set-up (a semaphore among it) from the parent after they start; cut there, the
    parent exits, the semaphore goes with it, and the workers print tracebacks."""
    global _holds, _held_abort
    _holds += 1
    try:
        yield
    finally:
        _holds -= 1
        if not _holds and _held_abort is not None:
            why, _held_abort = _held_abort, None
            _abort(why)


#: The stop request of the command running in this process (None outside one): the
#: explorer and the simulator poll it at their boundaries.
_current: StopRequest | None = None


def current() -> StopRequest | None:
    """The running command's stop request, if it runs inside :func:`interruptible`."""
    return _current


def reason() -> str | None:
    """Why the running command was asked to stop ("interrupted", "budget"), or None: not
    asked, or no stop request. Where a worker only knows that it stopped, the parent
    names the reason with this."""
    stop = _current
    return stop.reason if stop is not None and stop.should_stop() else None


@contextmanager
def interruptible(budget: float | None = None) -> Iterator[StopRequest]:
    """Run the body with SIGINT/SIGTERM turned into a stop request (see the module
    docstring), the previous handlers restored afterwards."""
    global _current
    stop = StopRequest(budget)
    old = {}
    if threading.current_thread() is threading.main_thread():  # only there can it catch
        old = {sig: signal.signal(sig, stop.signalled) for sig in (signal.SIGINT, signal.SIGTERM)}
    outer, _current = _current, stop
    try:
        yield stop
    finally:
        _current = outer
        for sig, handler in old.items():
            signal.signal(sig, handler)


class Deadline(StopRequest):
    """The command's stop request ``outer`` with a deadline of its own: it fires when
    ``outer`` does (with its reason) or after ``seconds`` (with ``reason``)."""

    __slots__ = ("outer", "own")

    def __init__(self, outer: StopRequest | None, seconds: float, reason: str) -> None:
        super().__init__(seconds)
        self.outer = outer
        self.own = reason

    def should_stop(self) -> bool:
        if self.reason is None:
            if self.outer is not None and self.outer.should_stop():
                self.reason = self.outer.reason
            elif self.deadline is not None and time.monotonic() >= self.deadline:
                self.reason = self.own
        return self.reason is not None


@contextmanager
def until(seconds: float, reason: str) -> Iterator[Deadline]:
    """Run the body with a stop request that also fires after ``seconds`` (reason
    ``reason``): a trial run of a bounded length inside the command (signals still reach
    the command's own request)."""
    global _current
    stop = Deadline(_current, seconds, reason)
    outer, _current = _current, stop
    try:
        yield stop
    finally:
        _current = outer


#: Seconds between two looks of a worker at its parent's flag and life: a look costs
#: system calls (a semaphore, /proc), a run boundary comes every millisecond or less.
WORKER_POLL_S = 0.02


class WorkerStop(StopRequest):
    """A worker process's stop request: set once ``flag()`` says the parent asked for a
    stop (reason "interrupted"), or once the parent process ``parent`` is gone; looked at
    every :data:`WORKER_POLL_S` at most."""

    __slots__ = ("flag", "next_look", "parent")

    def __init__(self, flag: Callable[[], bool], parent: Callable[[], bool]) -> None:
        super().__init__()
        self.flag = flag
        self.parent = parent
        self.next_look = 0.0

    def should_stop(self) -> bool:
        if self.reason is None:
            now = time.monotonic()
            if now >= self.next_look:
                self.next_look = now + WORKER_POLL_S
                if self.flag() or not self.parent():
                    self.reason = "interrupted"
        return self.reason is not None


def parent_alive(parent: int) -> Callable[[], bool]:
    """A test that process ``parent`` (this worker's parent or grandparent: a forkserver
    sits between) still runs: it exists, and this process was not re-parented (a dead
    parent may linger as a zombie, but its forkserver then exits)."""
    ppid = os.getppid()

    def test() -> bool:
        return os.getppid() == ppid and alive(parent)

    return test


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs: it exists and is no zombie (a killed parent stays one
    until its own parent reaps it, which may wait for the pipes the workers hold)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:  # no /proc: existing is all we know
        return True
    return text[text.rfind(")") + 2:][:1] not in ("Z", "X")


def become_worker(flag: Callable[[], bool], parent: int, poll: float = 0.25) -> None:
    """Set up a worker process of a parallel run: SIGINT ignored (Ctrl-C reaches the whole
    process group; the parent decides), the explorer's stop request polls ``flag`` and the
    parent's life, and a daemon thread exits the process at once if the parent dies while
    the worker waits for work."""
    global _current
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    living = parent_alive(parent)
    _current = WorkerStop(flag, living)

    def watch() -> None:
        while living():
            time.sleep(poll)
        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="swaplab-parent-watch", daemon=True).start()


def parse_duration(text: str) -> float:
    """``30s``, ``5m``, ``1h``, ``250ms`` or a plain number of seconds; > 0. A ValueError
    with a one-line message otherwise (argparse turns it into exit status 2)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*", text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 30s, 5m, 1h)")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, not {text!r}")
    return seconds


def duration_arg(text: str) -> float:
    """:func:`parse_duration` as an argparse ``type`` (a bad value: one line, exit 2)."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_stop_arguments(parser: argparse.ArgumentParser, saved: str | None = None) -> None:
    """The stop options a long command takes: ``--budget``, and, when ``saved`` says what a
    checkpoint holds ("the search", "the run"), ``--checkpoint``, ``--checkpoint-every`` and
    ``--resume``."""
    parser.add_argument("--budget", type=duration_arg, metavar="TIME",
                        help="wall time (30s, 5m, 1h): then stop and report what was found "
                             "so far, as after Ctrl-C")
    if saved is None:
        return
    parser.add_argument("--checkpoint", metavar="FILE",
                        help=f"save {saved} to FILE now and then and at a stop")
    parser.add_argument("--checkpoint-every", type=duration_arg, default=10.0, metavar="TIME",
                        help="wall time between two checkpoints (default 10s)")
    parser.add_argument("--resume", metavar="FILE", help="go on from the checkpoint in FILE")
