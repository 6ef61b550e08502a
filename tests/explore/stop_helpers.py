"""Running `python -m swaplab` as a subprocess, signalling it, and finding its descendants."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

#: This checkout's sources (the installed `swaplab` may be another checkout's).
SRC = str(Path(__file__).resolve().parents[2] / "src")


def start(*args: str) -> subprocess.Popen[str]:
    """``python -m swaplab ARGS`` with this checkout's sources, its output piped."""
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-m", "swaplab", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


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
