"""Where parallel work runs: this process, a pool of local processes, or a Ray cluster.

A :class:`Backend` maps a picklable module-level function over picklable items and returns
the results in the items' order. The explorer's parallel search and the simulator's sweeps
both use one. Items are dealt round-robin into at most two batches per worker, one remote
call each (a parallel search has thousands of small tasks).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Backend(Protocol):
    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) for item in items]``, computed where the backend runs."""


def default_jobs() -> int:
    return os.cpu_count() or 1


class InProcess:
    """Every item in this process, in order."""

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return [fn(item) for item in items]


@dataclass(frozen=True, slots=True)
class LocalPool:
    """A pool of ``jobs`` local processes (forkserver: safe next to threads such as
    Ray's); one job, or one item, runs in this process."""

    jobs: int

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.jobs <= 1 or len(items) <= 1:
            return InProcess().map(fn, items)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([fn.__module__])
        batches = _batches(fn, items, 2 * self.jobs)
        with ProcessPoolExecutor(max_workers=self.jobs, mp_context=context) as pool:
            return _unbatch(list(pool.map(_apply, batches)), len(items))


@dataclass(frozen=True, slots=True)
class RayCluster:
    """Ray tasks; starts a local Ray (``jobs`` CPUs) unless one is running or ``address``
    names a cluster. Needs the ``swaplab[ray]`` extra."""

    address: str | None = None
    jobs: int | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        import ray as ray_module

        ray: Any = ray_module
        if not ray.is_initialized():
            if self.address is not None:
                ray.init(address=self.address)
            else:
                ray.init(num_cpus=self.jobs, include_dashboard=False)
        remote: Any = ray.remote(_apply)
        workers = self.jobs or int(ray.cluster_resources().get("CPU", 1))
        batches = _batches(fn, items, 2 * workers)
        return _unbatch(ray.get([remote.remote(batch) for batch in batches]), len(items))


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


def _batches(fn: Callable[[Any], Any], items: Sequence[Any], count: int) -> list[Batch]:
    """``items`` dealt round-robin into at most ``count`` batches."""
    batches: list[list[Any]] = [[] for _ in range(min(count, len(items)))]
    for i, item in enumerate(items):
        batches[i % len(batches)].append(item)
    return [(fn, batch) for batch in batches]


def _unbatch(results: list[list[R]], total: int) -> list[R]:
    count = len(results)
    return [results[i % count][i // count] for i in range(total)]
