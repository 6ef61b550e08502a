"""Running `python -m swaplab` as a subprocess, signalling it, and finding its descendants."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: This checkout's sources (the installed `swaplab` may be another checkout's).
SRC = str(Path(__file__).resolve().parents[1] / "src")


#: The processes :func:`start` started, for :func:`reap_started`.
_STARTED: list[subprocess.Popen[str]] = []


def start(*args: str) -> subprocess.Popen[str]:
    """``python -m swaplab ARGS`` with this checkout's sources, its output piped."""
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-m", "swaplab", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _STARTED.append(proc)
    return proc


def reap_started() -> None:
    """Kill what :func:`start` started and a test left running (an assertion failed
    before its signal was sent), with all its descendants, so nothing outlives the test."""
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            for pid in descendants(proc.pid) | {proc.pid}:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            proc.communicate()


def workers_of(proc: subprocess.Popen[str], count: int = 2,
               timeout: float = 60.0) -> set[int]:
    """``proc``'s descendants once its pool runs (a forkserver and ``count`` workers),
    waited for rather than assumed after a fixed sleep: a loaded machine starts slowly.
    Those found at ``timeout``, or when ``proc`` ended."""
    end = time.monotonic() + timeout
    found = descendants(proc.pid)
    while len(found) < count + 1 and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
        found = descendants(proc.pid)
    return found


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "swaplab", *args], env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid (None: gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """The live processes below ``pid`` (by scanning /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] != "Z":
                parents[int(entry.name)] = stat[1]
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def living(pids: set[int]) -> set[int]:
    """Those of ``pids`` that still run (a zombie counts as gone)."""
    out = set()
    for pid in pids:
        stat = _stat(pid)
        if stat is not None and stat[0] != "Z":
            out.add(pid)
    return out


def wait_gone(pids: set[int], timeout: float = 10.0) -> set[int]:
    """Wait until ``pids`` are gone; those still running after ``timeout``."""
    end = time.monotonic() + timeout
    while living(pids) and time.monotonic() < end:
        time.sleep(0.1)
    return living(pids)
