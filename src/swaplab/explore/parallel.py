"""The search split over workers: a local process pool or a Ray cluster, one interface.

- dfs and dpor: the top of the tree is expanded exhaustively (every enabled decision; dpor
  with sleep sets) until there are at least ``4 * jobs`` prefixes or the tree ends; each
  prefix (with its sleep set) is a task that runs the strategy below it. Races that would add
  a branch above a prefix are dropped: the top is exhaustive, so that branch is some other
  task. dpor may therefore run more executions than in one process; it finds the same
  properties broken.
- random and pct: run ``i`` uses its own seed, so tasks are ranges of run indices and the
  runs are exactly those of one process.

A task returns its statistics, failures, reached sometimes-properties and fingerprints; the
merge keeps the best failure per property, so :func:`explore_parallel` then concludes
(shrinks, traces) like :func:`~swaplab.explore.explorer.explore`.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from swaplab.explore.dfs import dfs
from swaplab.explore.dpor import Asleep, dpor
from swaplab.explore.explorer import STRATEGIES, Result, bounds, conclude
from swaplab.explore.model import Model
from swaplab.explore.pct import estimate_steps, pct
from swaplab.explore.random_walk import DEFAULT_RUNS, random_walk
from swaplab.explore.runner import Failure
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Options, Search, Statistics, better

MAX_SPLIT_DEPTH = 12


@dataclass(slots=True)
class Task:
    """One worker's share: a subtree (``prefix``) or a range of runs."""

    model: Model
    options: Options
    bound: int | None = None
    prefix: list[Decision] = field(default_factory=list)
    sleep: list[Asleep] = field(default_factory=list)
    start: int = 0
    stop: int = 0
    steps: int = 0  # PCT's k


@dataclass(slots=True)
class Outcome:
    stats: Statistics
    failures: dict[str, Failure]
    satisfied: list[str]
    sometimes: list[str]
    states: list[bytes]


def run_tasks(tasks: Sequence[Task]) -> list[Outcome]:
    """Run a batch of tasks in this process (one remote call per batch)."""
    return [run_task(task) for task in tasks]


def _batches(tasks: Sequence[Task], count: int) -> list[list[Task]]:
    """``tasks`` dealt round-robin into at most ``count`` batches (order kept on return)."""
    batches: list[list[Task]] = [[] for _ in range(min(count, len(tasks)))]
    for i, task in enumerate(tasks):
        batches[i % len(batches)].append(task)
    return batches


def _unbatch(results: list[list[Outcome]], total: int) -> list[Outcome]:
    count = len(results)
    return [results[i % count][i // count] for i in range(total)]


def run_task(task: Task) -> Outcome:
    """Run one task in this process (the worker function of both backends)."""
    search = Search(task.model, task.options)
    opts = task.options
    if opts.strategy == "dfs":
        dfs(search, task.bound, task.prefix)
    elif opts.strategy == "dpor":
        dpor(search, task.bound, task.prefix, task.sleep)
    elif opts.strategy == "random":
        random_walk(search, opts.seed, task.start, task.stop)
    else:
        pct(search, opts.seed, opts.depth, task.steps, task.start, task.stop)
    return Outcome(search.stats, search.failures, list(search.satisfied), search.sometimes,
                   sorted(search.states))


Backend = Callable[[Sequence[Task]], list[Outcome]]


def local_backend(jobs: int) -> Backend:
    """A pool of ``jobs`` local processes (forkserver: safe next to threads such as Ray's)."""

    def run(tasks: Sequence[Task]) -> list[Outcome]:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["swaplab.explore.parallel"])
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            batches = _batches(tasks, 2 * jobs)
            return _unbatch(list(pool.map(run_tasks, batches)), len(tasks))

    return run


def ray_backend(address: str | None = None, jobs: int | None = None) -> Backend:
    """Ray tasks; starts a local Ray (``jobs`` CPUs) unless one is running or ``address``
    names a cluster. Needs the ``swaplab[ray]`` extra."""

    def run(tasks: Sequence[Task]) -> list[Outcome]:
        import ray as ray_module

        ray: Any = ray_module
        if not ray.is_initialized():
            if address is not None:
                ray.init(address=address)
            else:
                ray.init(num_cpus=jobs, include_dashboard=False)
        remote: Any = ray.remote(run_tasks)
        batches = _batches(tasks, 2 * (jobs or int(ray.cluster_resources().get("CPU", 1))))
        return _unbatch(ray.get([remote.remote(batch) for batch in batches]), len(tasks))

    return run


def default_jobs() -> int:
    return os.cpu_count() or 1


def explore_parallel(model: Model, options: Options, backend: Backend, jobs: int,
                     progress: Callable[[Search], None] | None = None) -> Result:
    """Explore ``model`` over ``backend`` with the same findings as one process."""
    if options.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {options.strategy!r}")
    search = Search(model, options, progress=progress)
    reached: int | None = None
    for bound in bounds(options):
        reached = bound
        search.stats.complete = True
        tasks = _tasks(search, bound, jobs)
        for outcome in backend(tasks):
            _merge(search, outcome)
        if search.bugs() or not search.budget_left() or search.stats.complete:
            break
    if search.options.strategy in ("random", "pct"):
        search.stats.complete = False
    return conclude(search, reached)


def _tasks(search: Search, bound: int | None, jobs: int) -> list[Task]:
    opts = search.options
    if opts.strategy in ("random", "pct"):
        total = opts.max_executions if opts.max_executions is not None else DEFAULT_RUNS
        steps = estimate_steps(search.model, opts.max_steps) if opts.strategy == "pct" else 0
        chunk = max(1, -(-total // (4 * jobs)))
        task_opts = _task_options(opts, None)
        return [Task(search.model, task_opts, start=start, stop=min(start + chunk, total),
                     steps=steps) for start in range(0, total, chunk)]
    leaves: list[tuple[list[Decision], list[Asleep]]] = []
    for depth in range(1, MAX_SPLIT_DEPTH + 1):
        split = Search(search.model, _task_options(opts, None))
        if opts.strategy == "dpor":
            leaves = dpor(split, bound, (), split=depth)
        else:
            leaves = [(leaf, []) for leaf in dfs(split, bound, (), depth_limit=depth)]
        if len(leaves) >= 4 * jobs or not leaves or depth == MAX_SPLIT_DEPTH:
            _merge(search, Outcome(split.stats, split.failures, list(split.satisfied),
                                   split.sometimes, sorted(split.states)))
            break
    budget = None
    if opts.max_executions is not None:
        budget = max(1, -(-opts.max_executions // max(1, len(leaves))))
    task_opts = _task_options(opts, budget)
    return [Task(search.model, task_opts, bound, prefix=leaf, sleep=sleep)
            for leaf, sleep in leaves]


def _task_options(opts: Options, budget: int | None) -> Options:
    return replace(opts, max_executions=budget, shrink=False)


def _merge(search: Search, outcome: Outcome) -> None:
    search.stats.merge(outcome.stats)
    for key, failure in outcome.failures.items():
        known = search.failures.get(key)
        if known is None or better(failure, known):
            search.failures[key] = failure
    for name in outcome.satisfied:
        search.satisfied[name] = True
    if not search.sometimes:
        search.sometimes = list(outcome.sometimes)
    search.states.update(outcome.states)
    if search.states:
        search.stats.distinct_states = len(search.states)
    search.stats.elapsed = time.perf_counter() - search.started
    if search.progress is not None:
        search.progress(search)
