"""Stopping a long run cleanly: SIGINT and SIGTERM, and wall-time budgets.

A command that explores or simulates runs inside :func:`interruptible`. The first SIGINT
(Ctrl-C) or SIGTERM does not raise: it sets :attr:`StopRequest.reason` to
``"interrupted"``, and the run ends at its next execution or sample boundary
(:meth:`StopRequest.should_stop`), reporting what it has. A budget (``--budget 30s``) ends
it the same way with reason ``"budget"``. A second SIGINT or SIGTERM raises
:class:`Aborted` at once (the command's ``finally`` blocks still stop worker processes);
the CLI turns it into exit status 130 with one line on stderr, never a traceback.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
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
            raise Aborted(signal.Signals(signum).name)
        self.reason = "interrupted"


#: The stop request of the command running in this process (None outside one): the
#: explorer and the simulator poll it at their boundaries.
_current: StopRequest | None = None


def current() -> StopRequest | None:
    """The running command's stop request, if it runs inside :func:`interruptible`."""
    return _current


@contextmanager
def interruptible(budget: float | None = None) -> Iterator[StopRequest]:
    """Run the body with SIGINT/SIGTERM turned into a stop request (see the module
    docstring), the previous handlers restored afterwards."""
    global _current
    stop = StopRequest(budget)
    old = {sig: signal.signal(sig, stop.signalled) for sig in (signal.SIGINT, signal.SIGTERM)}
    outer, _current = _current, stop
    try:
        yield stop
    finally:
        _current = outer
        for sig, handler in old.items():
            signal.signal(sig, handler)


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
