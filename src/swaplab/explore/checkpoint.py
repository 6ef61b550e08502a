"""Checkpoints of an exhaustive search (dfs, dpor in one process): save, refuse, resume.

A checkpoint is one JSON file (the format: docs/checkpoints.md): what it belongs to (the
*identity*: a hash of swaplab's source files, the scenario, its options and the search
options), the preemption bound being explored, the search's bookkeeping (statistics,
failures, reached properties, seen states) and the strategy's *frontier*, the node stack
its driver would go on from. It is written atomically (a temporary file, then
``os.replace``) every ``every`` seconds and when the search stops. A resumed search starts
from it and ends with the totals and findings of a search that never stopped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from swaplab.cache import code_version
from swaplab.explore.runner import Failure
from swaplab.explore.search import Search, Statistics

FORMAT = "swaplab-checkpoint"
FORMAT_VERSION = 1

#: The search options a checkpoint does not depend on: how findings are reported and the
#: execution budget (a resumed run may be given more).
FREE_OPTIONS = ("shrink", "max_executions")


class CheckpointError(Exception):
    """A checkpoint that cannot be used here (one line: the CLI's usage error)."""


def identity(scenario: str, scenario_options: dict[str, Any], options: Any) -> dict[str, Any]:
    """What a checkpoint belongs to: code, scenario, its options, the search options. The
    code is :func:`swaplab.cache.code_version`, the digest of the package's source, read
    where the source is (this module may run compiled, from a build directory that holds
    no source), so compiled and plain processes resume each other's checkpoints."""
    opts = {k: v for k, v in asdict(options).items() if k not in FREE_OPTIONS}
    return {"code": code_version(), "scenario": scenario,
            "scenario_options": jsonable(scenario_options), "options": opts}


def jsonable(value: Any) -> Any:
    """Tuples as lists, recursively (JSON's form)."""
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def tupled(value: Any) -> Any:
    """Lists back to tuples, recursively (decisions and dpor's stable names)."""
    if isinstance(value, list):
        return tuple(tupled(v) for v in value)
    return value


@dataclass(slots=True)
class Resume:
    """A loaded checkpoint: the bound index it was in, whether that bound's search was
    still complete, the search's bookkeeping and the strategy's frontier (None: the bound
    had not started)."""

    index: int
    complete: bool
    search: dict[str, Any]
    frontier: dict[str, Any] | None

    def restore(self, search: Search) -> None:
        """Put the saved bookkeeping into a fresh ``search``."""
        data = self.search
        search.stats = Statistics(**data["stats"])
        search.failures = {f["key"]: _failure(f) for f in data["failures"]}
        search.satisfied = dict.fromkeys(data["satisfied"], True)
        search.sometimes = list(data["sometimes"])
        search.states = {bytes.fromhex(s) for s in data["states"]}


def _failure(data: dict[str, Any]) -> Failure:
    decisions = [tuple(d) for d in data["decisions"]]
    return Failure(data["property"], data["message"], data["key"], decisions,
                   data["preemptions"], data["kind"])


def _search_json(search: Search) -> dict[str, Any]:
    stats = asdict(search.stats)
    return {"stats": stats,
            "failures": [{**asdict(f), "decisions": jsonable(f.decisions)}
                         for _, f in sorted(search.failures.items())],
            "satisfied": sorted(search.satisfied), "sometimes": list(search.sometimes),
            "states": sorted(s.hex() for s in search.states)}


@dataclass(slots=True)
class Checkpointing:
    """Saving to ``path`` (None: no saving) every ``every`` seconds, and the checkpoint a
    search resumes from (None: a new search)."""

    identity: dict[str, Any]
    path: str | None = None
    every: float = 10.0
    resume: Resume | None = None
    index: int = 0  # the bound index being explored
    frontier: Callable[[], dict[str, Any]] | None = None  # the running strategy's
    pending: dict[str, Any] | None = None  # the frontier the next strategy run resumes
    last: float = field(default_factory=time.monotonic)

    def attach(self, strategy: str, frontier: Callable[[], dict[str, Any]]
               ) -> dict[str, Any] | None:
        """A strategy's run starts: ``frontier()`` gives its state from now on; the
        returned frontier (None: none) is the one it resumes from."""
        self.frontier = frontier
        saved, self.pending = self.pending, None
        if saved is not None and saved.get("strategy") != strategy:
            raise CheckpointError(f"the checkpoint's frontier is {saved.get('strategy')}'s, "
                                  f"not {strategy}'s")
        return saved

    def boundary(self, search: Search) -> None:
        """At an execution boundary: save if ``every`` seconds have passed."""
        if self.path is not None and time.monotonic() - self.last >= self.every:
            self.save(search)

    def save(self, search: Search) -> None:
        """Write the checkpoint now (atomically)."""
        if self.path is None:
            return
        frontier = self.frontier() if self.frontier is not None else None
        data = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "identity": self.identity, "bound_index": self.index,
                "complete": search.stats.complete, "search": _search_json(search),
                "frontier": frontier,
                "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        temp = f"{self.path}.tmp{os.getpid()}"
        with open(temp, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.path)
        self.last = time.monotonic()


class Resumable(Protocol):
    """A tree strategy's driver, whose node stack is a checkpoint's frontier."""

    def frontier(self) -> dict[str, Any]:
        """The node stack as JSON (docs/checkpoints.md)."""

    def restore(self, frontier: dict[str, Any]) -> None:
        """Go on from a :meth:`frontier`."""


def attach_frontier(search: Search, strategy: str, driver: Resumable) -> None:
    """A tree search over the whole tree starts: ``search``'s checkpoint (if any) saves
    ``driver``'s frontier from now on, and a resumed search's driver goes on from the
    saved one. (A subtree of a parallel split has no checkpoint of its own.)"""
    checkpoint = search.checkpoint
    if checkpoint is None:
        return
    saved = checkpoint.attach(strategy, driver.frontier)
    if saved is not None:
        driver.restore(saved)


def load(path: str, expected: dict[str, Any]) -> Resume:
    """The checkpoint at ``path``, if it belongs to ``expected`` (an :func:`identity`);
    CheckpointError (one line) otherwise."""
    try:
        with open(path, encoding="utf-8") as inp:
            data = json.load(inp)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a swaplab checkpoint")
    if data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {data.get('format_version')}, "
                              f"this swaplab reads {FORMAT_VERSION}")
    saved = data.get("identity", {})
    for key in ("code", "scenario", "scenario_options", "options"):
        if saved.get(key) != expected[key]:
            raise CheckpointError(_mismatch(path, key, saved.get(key), expected[key]))
    return Resume(data["bound_index"], data["complete"], data["search"], data["frontier"])


def _mismatch(path: str, key: str, saved: Any, wanted: Any) -> str:
    if key == "code":
        return f"{path} was saved by another version of swaplab ({saved}, this is {wanted})"
    if key == "options":
        differ = sorted(k for k in {*saved, *wanted} if saved.get(k) != wanted.get(k))
        return f"{path} was saved with other search options ({', '.join(differ)} differ)"
    return f"{path} was saved for another {key.replace('_', ' ')}: {saved} (not {wanted})"
