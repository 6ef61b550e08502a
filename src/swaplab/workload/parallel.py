"""Comparisons and sweeps that stop cleanly: runs in this process, a local pool, or Ray.

Like :func:`swaplab.workload.sweep.run_many`, but every run polls the command's stop
request (:mod:`swaplab.interrupt`) at its sample boundaries:

- in this process (``jobs == 1``) a stopped run ends at its next sample and the runs not
  started yet stop after their first one, so every run reports its partial series;
- in a local pool (forkserver, ``jobs`` processes) the workers ignore SIGINT (a Ctrl-C
  in a terminal reaches the whole process group) and poll a shared event that this
  process sets on the first signal or the budget: the same partial results come back.
  A second signal (:class:`~swaplab.interrupt.Aborted`) terminates the workers;
- on Ray, the unfinished runs are cancelled: Ray interrupts their tasks like a SIGINT,
  so they stop at their next sample and report; a run that does not (not started yet)
  is killed and reports an empty series.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Sequence
from multiprocessing.synchronize import Event
from typing import Any

from swaplab.workload.sim import Result, StopPoll, simulate
from swaplab.workload.sweep import RunSpec

__all__ = ["run_specs"]

#: how often (seconds) this process looks at its stop request while workers run
POLL_S = 0.1
#: how long (seconds) a cancelled Ray run may take to stop at a sample and report
CANCEL_S = 10.0


def run_specs(specs: Sequence[RunSpec], stop: StopPoll, jobs: int = 1,
              backend: str = "local", address: str | None = None) -> list[dict[str, Any]]:
    """The JSON object of every run of ``specs``, in order; stopped early as above."""
    if backend == "ray":
        return _on_ray(specs, stop, jobs, address)
    if jobs <= 1 or len(specs) <= 1:
        return [_run(spec, stop) for spec in specs]
    return _on_pool(specs, stop, min(jobs, len(specs)))


def _run(spec: RunSpec, stop: StopPoll | None) -> dict[str, Any]:
    return simulate(spec.workload, spec.kernel, spec.patches, spec.seed, spec.cpus,
                    spec.duration_ns, spec.page_cluster, stop=stop, fixes=spec.fixes).to_json()


class _EventStop:
    """A worker's stop request: the pool's shared event (the reason is the parent's)."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.reason: str | None = None

    def should_stop(self) -> bool:
        if self.event.is_set():
            self.reason = "interrupted"
        return self.reason is not None


_worker_stop: _EventStop | None = None


def _worker_init(event: Event) -> None:
    global _worker_stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_stop = _EventStop(event)


def _worker_run(spec: RunSpec) -> dict[str, Any]:
    return _run(spec, _worker_stop)


def _on_pool(specs: Sequence[RunSpec], stop: StopPoll, jobs: int) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    event = context.Event()
    pool = context.Pool(jobs, initializer=_worker_init, initargs=(event,))
    try:
        pending = [pool.apply_async(_worker_run, (spec,)) for spec in specs]
        for res in pending:
            while not res.ready():
                res.wait(POLL_S)
                if stop.should_stop():
                    event.set()
        results = [res.get() for res in pending]
        pool.close()
        pool.join()
    finally:
        pool.terminate()
    return _with_reason(results, stop)


def _with_reason(results: list[dict[str, Any]], stop: StopPoll) -> list[dict[str, Any]]:
    """The workers know that they stopped, this process knows why."""
    for r in results:
        if r.get("stopped"):
            r["stopped"] = stop.reason or "interrupted"
            r["interrupted"] = r["stopped"] == "interrupted"
    return results


def _stub(spec: RunSpec, reason: str) -> dict[str, Any]:
    """A run cancelled before it reported: its identity and an empty series."""
    from swaplab.kernel.config import make_config

    cfg = make_config(spec.kernel, spec.patches, spec.fixes)
    wl = spec.workload
    page_cluster = wl.machine.page_cluster if spec.page_cluster is None else spec.page_cluster
    duration = (spec.duration_ns or wl.duration_ns) / 1e9
    return Result(wl.name, cfg.name, cfg.patches(), spec.seed, duration, spec.cpus,
                  page_cluster, stopped=reason).to_json()


def _run_on_ray(spec: RunSpec) -> dict[str, Any]:
    """A Ray task: Ray's cancel interrupts the main thread like a SIGINT, which here asks
    the run to stop at its next sample."""
    from swaplab.interrupt import interruptible

    with interruptible() as stop:
        return _run(spec, stop)


def _on_ray(specs: Sequence[RunSpec], stop: StopPoll, jobs: int,
            address: str | None) -> list[dict[str, Any]]:
    import ray as ray_module

    ray: Any = ray_module
    started = not ray.is_initialized()
    if started:
        if address is not None:
            ray.init(address=address)
        else:
            ray.init(num_cpus=jobs, include_dashboard=False)
    try:
        remote: Any = ray.remote(_run_on_ray)
        refs = [remote.remote(spec) for spec in specs]
        done: dict[Any, dict[str, Any]] = {}
        waiting = list(refs)
        while waiting and not stop.should_stop():
            ready, waiting = ray.wait(waiting, num_returns=1, timeout=POLL_S)
            for ref in ready:
                done[ref] = ray.get(ref)
        for ref in waiting:  # a KeyboardInterrupt there: the run's stop request
            ray.cancel(ref)
        for ref in waiting:
            try:
                done[ref] = ray.get(ref, timeout=CANCEL_S)
            except Exception:  # cancelled before it started, or too slow to stop
                ray.cancel(ref, force=True)
        reason = stop.reason or "interrupted"
        _with_reason(list(done.values()), stop)
        return [done[ref] if ref in done else _stub(spec, reason)
                for ref, spec in zip(refs, specs, strict=True)]
    finally:
        if started:
            ray.shutdown()
