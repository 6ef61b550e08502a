"""Many simulations at once: comparisons and parameter sweeps on a local pool or Ray.

The explorer's backends (explore/parallel.py: ``local_backend``, ``ray_backend``) map
exploration tasks to ``Outcome`` objects; their signature is fixed to that, so this module
is the thin adapter the simulator needs: the same two mechanisms (a forkserver process pool
of ``jobs`` workers; Ray remote calls, a local Ray unless an address is given) mapping
:class:`RunSpec` to the JSON object of a run. ``jobs == 1`` runs in this process.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from swaplab.system import parse_size
from swaplab.workload.sim import simulate
from swaplab.workload.spec import Workload, WorkloadError

__all__ = ["RunSpec", "parse_sweep", "run_many", "sweep_specs"]

SWEEP_KEYS = ("kernel", "page_cluster", "limit", "seed", "cpus")


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Everything one run needs (picklable)."""

    workload: Workload
    kernel: str = "2.6.31"
    patches: str | None = None
    seed: int = 0
    cpus: int = 1
    duration_ns: int | None = None
    page_cluster: int | None = None

    def run(self) -> dict[str, Any]:
        return simulate(self.workload, self.kernel, self.patches, self.seed, self.cpus,
                        self.duration_ns, self.page_cluster).to_json()


def kernel_item(item: str) -> tuple[str, str | None]:
    """``2.6.30``, ``rfc-2009-05-26``, or ``2.6.30:1+2+4`` (a preset and patches)."""
    name, _, patches = item.partition(":")
    return name, (patches.replace("+", ",") if patches else None)


def parse_sweep(items: Sequence[str]) -> dict[str, list[str]]:
    """``["page_cluster=0,3", "kernel=2.6.30,2.6.31"]`` -> {key: values}."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in SWEEP_KEYS or not values.strip():
            raise WorkloadError(f"--sweep {item!r}: use KEY=V1,V2 with KEY one of "
                                f"{', '.join(SWEEP_KEYS)}")
        out[key] = [v.strip() for v in values.split(",") if v.strip()]
    return out


def _with_limit(wl: Workload, limit: int) -> Workload:
    """Every group of ``wl`` with ``limit``."""
    return replace(wl, groups=tuple(replace(g, limit=limit) for g in wl.groups))


def sweep_specs(base: RunSpec, sweep: dict[str, list[str]]) -> list[RunSpec]:
    """The cartesian product of the sweep's values applied to ``base``."""
    keys = list(sweep)
    specs = []
    for combo in itertools.product(*(sweep[k] for k in keys)):
        spec = base
        for key, value in zip(keys, combo, strict=True):
            try:
                if key == "kernel":
                    name, patches = kernel_item(value)
                    spec = replace(spec, kernel=name, patches=patches)
                elif key == "limit":
                    spec = replace(spec, workload=_with_limit(spec.workload, parse_size(value)))
                elif key == "page_cluster":
                    spec = replace(spec, page_cluster=int(value))
                elif key == "seed":
                    spec = replace(spec, seed=int(value))
                else:
                    spec = replace(spec, cpus=int(value))
            except ValueError as exc:
                raise WorkloadError(f"--sweep {key}={value}: {exc}") from None
        specs.append(spec)
    return specs


def _run(spec: RunSpec) -> dict[str, Any]:
    return spec.run()


def run_many(specs: Sequence[RunSpec], jobs: int = 1, backend: str = "local",
             address: str | None = None,
             done: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Run ``specs`` (in order of the result) on ``backend``: "local" or "ray"."""
    if backend == "ray":
        import ray as ray_module

        ray: Any = ray_module
        if not ray.is_initialized():
            if address is not None:
                ray.init(address=address)
            else:
                ray.init(num_cpus=jobs, include_dashboard=False)
        remote: Any = ray.remote(_run)
        results: list[dict[str, Any]] = ray.get([remote.remote(s) for s in specs])
        if done is not None:
            done(len(results))
        return results
    if jobs <= 1 or len(specs) <= 1:
        out = []
        for spec in specs:
            out.append(spec.run())
            if done is not None:
                done(len(out))
        return out
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["swaplab.workload.sweep"])
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        out = []
        for result in pool.map(_run, specs):
            out.append(result)
            if done is not None:
                done(len(out))
        return out
