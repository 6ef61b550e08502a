"""Where parallel work runs: this process, a pool of local processes, or a Ray cluster.

A :class:`Backend` maps a picklable module-level function over picklable items and returns
the results in the items' order. It is the one backend of swaplab: the explorer's parallel
search (:mod:`swaplab.explore.parallel`), the simulator's comparisons and sweeps
(:mod:`swaplab.workload.sweep`) and ``swaplab claims`` all use it. Items are dealt
round-robin into at most :data:`BATCHES_PER_WORKER` batches per worker, handed out one at a
time as workers free up (a parallel search has thousands of small tasks; a sweep a few
long ones).

Stopping (:mod:`swaplab.interrupt`): the mapped function polls the command's stop request
(:func:`swaplab.interrupt.current`) at its boundaries: an explorer search at every
execution, a simulation at every sample. In this process that is the command's own
request. A local pool's workers ignore SIGINT and poll a flag the parent sets once its
stop request fires (a signal or the budget), so their items end at their next boundary
and report; they also exit when the parent dies, and the pool is terminated in a
``finally`` (a second Ctrl-C leaves no process behind). Ray tasks still running at a stop
are cancelled: Ray interrupts them like a SIGINT, which each task turns into its own stop
request, so they end at their next boundary and report; a task that has not reported
within :data:`CANCEL_S` (or had not started) is killed and its items re-run here, where
the stop request ends them at once. A worker's stop request only knows that it stopped;
the caller knows why (``interrupt.current().reason``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from swaplab import interrupt
from swaplab.native import active, native_worker

T = TypeVar("T")
R = TypeVar("R")

#: How many batches each worker's items are dealt into (balance against calls).
BATCHES_PER_WORKER = 32
#: Seconds between two looks at the stop request while workers run.
POLL_S = 0.1
#: Seconds a cancelled Ray task may take to stop at a boundary and report.
CANCEL_S = 10.0


#: A progress callback: the number of items finished so far (called as batches finish).
Done = Callable[[int], None]


class Backend(Protocol):
    def map(self, fn: Callable[[T], R], items: Sequence[T], done: Done | None = None
            ) -> list[R]:
        """``[fn(item) for item in items]``, computed where the backend runs; ``done``
        hears how many items have finished, as they do."""


def default_jobs() -> int:
    return os.cpu_count() or 1


class InProcess:
    """Every item in this process, in order."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], done: Done | None = None
            ) -> list[R]:
        results = []
        for item in items:
            results.append(fn(item))
            if done is not None:
                done(len(results))
        return results


@dataclass(frozen=True, slots=True)
class LocalPool:
    """A pool of ``jobs`` local processes (forkserver: safe next to threads such as
    Ray's), no more than there are items; one job, or one item, runs in this process.
    ``native``: the workers run the compiled model when this source is built
    (:mod:`swaplab.native`; ``fn`` must then read no frames, and pass no compiled object
    to a plain parent); by default, when this process does."""

    jobs: int
    native: bool | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T], done: Done | None = None
            ) -> list[R]:
        if self.jobs <= 1 or len(items) <= 1:
            return InProcess().map(fn, items, done)
        jobs = min(self.jobs, len(items))
        batches = _batches(fn, items, BATCHES_PER_WORKER * jobs)
        results: list[list[Any]] = [[] for _ in batches]
        finished = 0
        native = self.native if self.native is not None else active()
        with worker_pool(jobs, fn.__module__, native) as pool:
            for index, batch in pool.imap_unordered(_apply_at, enumerate(batches)):
                results[index] = batch
                finished += len(batch)
                if done is not None:
                    done(finished)
        return _unbatch(results, len(items))


@contextmanager
def worker_pool(jobs: int, preload: str, native: bool = False) -> Iterator[Any]:
    """A ``multiprocessing`` pool of ``jobs`` forkserver processes (``preload``: a module
    they import first) whose workers follow this command's stop request and die with it
    (see the module docstring); terminated when the block ends, however it ends.
    ``native``: the workers import the compiled model. They are spawned, fresh
    interpreters (this process's fork server may have imported the plain model), with
    SIGINT blocked from their start: a Ctrl-C while they import reaches only this
    process."""
    context: Any = multiprocessing.get_context("spawn" if native else "forkserver")
    if not native:
        context.set_forkserver_preload([preload])
    init = native_worker if native else _worker_init
    flag = context.Event()
    done = threading.Event()
    pool = None
    try:
        # held: the pool starts whole, or a worker reads a semaphore already removed
        with interrupt.abort_held(), _sigint_blocked(native):
            pool = context.Pool(jobs, init, (flag, os.getpid()))
        threading.Thread(target=_forward_stop, args=(flag, done), daemon=True).start()
        yield pool
    finally:
        done.set()
        if pool is not None:
            pool.terminate()
            pool.join()


@contextmanager
def _sigint_blocked(block: bool) -> Iterator[None]:
    """SIGINT held back from this thread while the block runs (and, the mask being
    inherited, from the processes it spawns); delivered here once it ends."""
    if not block:
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _worker_init(flag: Any, parent: int) -> None:
    """A pool worker's set-up: its stop request follows ``flag`` and the parent's life."""
    interrupt.become_worker(flag.is_set, parent)


def _forward_stop(flag: Any, done: threading.Event) -> None:
    """In the parent: set the workers' ``flag`` once this command's stop request fires."""
    stop = interrupt.current()
    while stop is not None and not done.wait(POLL_S):
        if stop.should_stop():
            flag.set()
            return


@dataclass(frozen=True, slots=True)
class RayCluster:
    """Ray tasks; starts a local Ray (``jobs`` CPUs) unless one is running or ``address``
    names a cluster. Needs the ``swaplab[ray]`` extra."""

    address: str | None = None
    jobs: int | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T], done: Done | None = None
            ) -> list[R]:
        import ray as ray_module

        ray: Any = ray_module
        if not ray.is_initialized():
            if self.address is not None:
                ray.init(address=self.address)
            else:
                ray.init(num_cpus=self.jobs, include_dashboard=False)
        remote: Any = ray.remote(_apply_on_ray)
        workers = self.jobs or int(ray.cluster_resources().get("CPU", 1))
        batches = _batches(fn, items, BATCHES_PER_WORKER * workers)
        refs = [remote.remote(batch) for batch in batches]
        results = _unbatch(_ray_results(ray, refs, batches), len(items))
        if done is not None:
            done(len(results))  # heard once, when every task is back
        return results


def _apply_on_ray(batch: Batch) -> list[Any]:
    """A Ray task: Ray's cancel interrupts it like a SIGINT, which here is the task's
    stop request (its items end at their next boundary and report)."""
    with interrupt.interruptible():
        return _apply(batch)


def _ray_results(ray: Any, refs: list[Any], batches: list[Batch]) -> list[list[Any]]:
    """The batches' results; at a stop the unfinished tasks are cancelled (see the module
    docstring) and those that do not report in time re-run here."""
    stop = interrupt.current()
    pending = list(refs)
    while pending and not (stop is not None and stop.should_stop()):
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
    for ref in pending:
        ray.cancel(ref)
    late = {id(ref) for ref in pending}
    deadline = time.monotonic() + CANCEL_S
    return [_cancelled(ray, ref, batch, deadline) if id(ref) in late else ray.get(ref)
            for ref, batch in zip(refs, batches, strict=True)]


def _cancelled(ray: Any, ref: Any, batch: Batch, deadline: float) -> list[Any]:
    """A cancelled task's report, or (killed, or never started) its batch run here."""
    try:
        results: list[Any] = ray.get(ref, timeout=max(0.0, deadline - time.monotonic()))
    except Exception:  # cancelled before it started, or too slow to stop
        ray.cancel(ref, force=True)
        return _apply(batch)
    return results


def get_backend(name: str, jobs: int | None = None, address: str | None = None) -> Backend:
    """``local`` (``jobs`` processes, default one per core) or ``ray`` (at ``address``)."""
    if name == "ray":
        return RayCluster(address, jobs)
    if name == "local":
        return LocalPool(jobs if jobs is not None else default_jobs())
    raise ValueError(f"unknown backend {name!r} (local or ray)")


Batch = tuple[Callable[[Any], Any], list[Any]]


def _apply(batch: Batch) -> list[Any]:
    """A worker's call: ``fn`` over one batch."""
    fn, items = batch
    return [fn(item) for item in items]


def _apply_at(indexed: tuple[int, Batch]) -> tuple[int, list[Any]]:
    """A worker's call: ``fn`` over one batch, with the batch's index."""
    index, batch = indexed
    return index, _apply(batch)


def _batches(fn: Callable[[Any], Any], items: Sequence[Any], count: int) -> list[Batch]:
    """``items`` dealt round-robin into at most ``count`` batches."""
    batches: list[list[Any]] = [[] for _ in range(min(count, len(items)))]
    for i, item in enumerate(items):
        batches[i % len(batches)].append(item)
    return [(fn, batch) for batch in batches]


def _unbatch(results: list[list[R]], total: int) -> list[R]:
    count = len(results)
    return [results[i % count][i // count] for i in range(total)]
