"""Checkpoints of one simulation: the whole machine at a quiescent sample; resuming it.

A checkpoint is written at a sample that found the machine quiescent: every live thread is
then parked at a parkable sleep of a workload process (:class:`~swaplab.workload.procs.Proc`),
so apart from the threads' coroutines the whole :class:`~swaplab.workload.sim.Simulation`
is data (the kernel, the driver's clock, heap and RNG, the processes, the series so far)
and pickles as it is. A thread pickles as its fields and its process; unpickled, its body
is the process's ``main()`` again, which goes on right after the sleep it was parked at.
Anything else that cannot be rebuilt (a coroutine that is not a process's, a thread that
is not parked) makes :func:`save` skip that sample.

The file (see docs/checkpoints.md, "simulate") is two pickles: a header (the format, the
hash of swaplab's source files, the run's identity, how far it got), then the simulation.
:func:`load` reads the header first and refuses, with one line, a checkpoint of another
code version or of another run, before it unpickles any machine.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import time
import types
from pathlib import Path
from typing import IO, Any

import swaplab
from swaplab import native
from swaplab.explore.execution import RETIRED, Thread
from swaplab.workload.driver import NS_PER_S, Sleep
from swaplab.workload.sim import Simulation
from swaplab.workload.sweep import RunSpec

__all__ = ["CheckpointError", "Checkpointer", "identity", "load", "save", "source_hash"]

FORMAT = "swaplab-simulate-checkpoint/1"


class CheckpointError(Exception):
    """A checkpoint that cannot be resumed here (one line)."""


class NotResumable(Exception):
    """The simulation's state is not all data at this point (no checkpoint here)."""


def source_hash() -> str:
    """The SHA-256 of swaplab's source files (their paths and contents, in path order)."""
    root = Path(swaplab.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def identity(spec: RunSpec) -> dict[str, Any]:
    """What makes the run: the workload (name and a hash of its whole description), the
    kernel and patches, the seed, the CPUs, the duration and page-cluster options."""
    wl = spec.workload
    return {"workload": wl.name,
            "workload_hash": hashlib.sha256(repr(wl).encode()).hexdigest()[:16],
            "kernel": spec.kernel, "patches": spec.patches, "seed": spec.seed,
            "cpus": spec.cpus, "duration_ns": spec.duration_ns,
            "page_cluster": spec.page_cluster,
            **({"fixes": spec.fixes} if spec.fixes else {})}


async def _idle() -> None:
    return None


def _closed_body() -> Any:
    body = _idle()
    body.close()
    return body


def _new_thread(tid: int, name: str) -> Thread:
    return Thread(tid, name, _closed_body(), None)


def _restore_thread(thread: Thread, state: tuple[Any, ...]) -> None:
    thread.ctx, thread.pending, thread.started, thread.done, thread.result, proc = state
    if proc is not None:
        thread.body = proc.main()


class _Pickler(pickle.Pickler):
    """Pickles a simulation: threads as their processes, RETIRED by name, no coroutine."""

    def __init__(self, file: IO[bytes], sim: Simulation) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.sim = sim

    def persistent_id(self, obj: Any) -> str | None:
        return "retired" if obj is RETIRED else None

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is Thread:
            return (_new_thread, (obj.tid, obj.name), self._thread_state(obj), None, None,
                    _restore_thread)
        if isinstance(obj, types.CoroutineType | types.GeneratorType):
            raise NotResumable(f"a running {obj!r}")
        return NotImplemented

    def _thread_state(self, thread: Thread) -> tuple[Any, ...]:
        proc = None
        if not thread.done:
            proc = self.sim.procs.get(thread.tid)
            pending = thread.pending
            parked = (pending is not None and isinstance(pending.payload, Sleep)
                      and pending.payload.parkable)
            if proc is None or not parked:
                raise NotResumable(f"{thread!r} is not parked at a process's sleep")
        return thread.ctx, thread.pending, thread.started, thread.done, thread.result, proc


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if pid == "retired":
            return RETIRED
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def save(path: str | Path, sim: Simulation, run: dict[str, Any]) -> bool:
    """Write ``sim`` (at a quiescent sample) to ``path`` atomically (a temporary file, then
    os.replace); False, and nothing written, when its state is not all data now."""
    path = Path(path)
    header = {"format": FORMAT, "code": source_hash(), "compiled": native.active(),
              "run": run, "t": sim.driver.now / NS_PER_S, "samples": len(sim.result.times)}
    buf = io.BytesIO()
    pickle.dump(header, buf, protocol=pickle.HIGHEST_PROTOCOL)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        _Pickler(buf, sim).dump(sim)
    except NotResumable:
        return False
    finally:
        sys.setrecursionlimit(limit)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(buf.getbuffer())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def load(path: str | Path, run: dict[str, Any]) -> Simulation:
    """The simulation saved in ``path``, ready to :meth:`~Simulation.run` on; a
    :class:`CheckpointError` for a file of another code version or another ``run``."""
    try:
        with open(path, "rb") as fh:
            header = _header(fh, path)
            _check(header, run, path)
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, 20_000))
            try:
                sim = _Unpickler(fh).load()
            finally:
                sys.setrecursionlimit(limit)
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror}") from None
    if not isinstance(sim, Simulation):
        raise CheckpointError(f"{path} holds no simulation")
    return sim


def _header(fh: IO[bytes], path: str | Path) -> dict[str, Any]:
    try:
        header = pickle.load(fh)
    except Exception:  # any garbage: not a checkpoint
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a swaplab simulate checkpoint")
    return header


def _check(header: dict[str, Any], run: dict[str, Any], path: str | Path) -> None:
    if header["code"] != source_hash():
        raise CheckpointError(f"checkpoint {path} was written by another version of swaplab "
                              f"(source hash {header['code'][:12]}, this one "
                              f"{source_hash()[:12]})")
    if header.get("compiled", False) != native.active():
        kinds = ("plain", "compiled (swaplab build)")
        raise CheckpointError(f"checkpoint {path} was written by the "
                              f"{kinds[header.get('compiled', False)]} model, this run is "
                              f"{kinds[native.active()]}: their objects pickle differently "
                              "(SWAPLAB_NATIVE=0 runs plain)")
    theirs: dict[str, Any] = header["run"]
    for key in sorted(set(theirs) | set(run)):
        if theirs.get(key) != run.get(key):
            raise CheckpointError(f"checkpoint {path} is of another run: {key} "
                                  f"{theirs.get(key)!r} there, {run.get(key)!r} here")


class Checkpointer:
    """The ``on_sample`` hook of :meth:`Simulation.run`: a checkpoint every ``every_s``
    seconds of wall time and when the run is stopped."""

    def __init__(self, path: str | Path, run: dict[str, Any], every_s: float) -> None:
        self.path = path
        self.run = run
        self.every_s = every_s
        self.last = time.monotonic()
        self.written = 0

    def __call__(self, sim: Simulation, stopping: bool) -> None:
        due = stopping or time.monotonic() - self.last >= self.every_s
        if due and save(self.path, sim, self.run):
            self.written += 1
            self.last = time.monotonic()
