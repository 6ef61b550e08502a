"""Many simulations at once: comparisons and parameter sweeps on a local pool or Ray.

The runs go through swaplab's backend (:mod:`swaplab.explore.backend`: this process for
``jobs == 1``, a forkserver pool of ``jobs`` processes, or Ray tasks on a local Ray unless
an address is given), each mapping a :class:`RunSpec` to the JSON object of a run.

Stopping: every run polls the command's stop request (:mod:`swaplab.interrupt`) at its
sample boundaries, wherever it runs. A stopped run ends at its next sample and the runs
not started yet stop after their first one, so every run reports its partial series; a
second signal ends the command at once (the backend leaves no worker behind).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from swaplab import interrupt
from swaplab.explore.backend import get_backend
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
    fixes: str | None = None  # later fixes, comma-separated commit ids

    def run(self) -> dict[str, Any]:
        """The run's JSON object; it stops early when the command is asked to stop."""
        return simulate(self.workload, self.kernel, self.patches, self.seed, self.cpus,
                        self.duration_ns, self.page_cluster, fixes=self.fixes,
                        stop=interrupt.current()).to_json()


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
             address: str | None = None) -> list[dict[str, Any]]:
    """Run ``specs`` (in order of the result) on ``backend``: "local" or "ray"; stopped
    early as the module docstring says."""
    return _with_reason(get_backend(backend, jobs, address).map(_run, specs))


def _with_reason(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A worker knows that its run stopped, this process knows why (a signal or the
    budget)."""
    reason = interrupt.reason() or "interrupted"
    for r in results:
        if r.get("stopped"):
            r["stopped"] = reason
            r["interrupted"] = reason == "interrupted"
    return results
