"""One simulation: a modelled machine set up from a workload, run in virtual time, sampled.

:func:`simulate` builds a :class:`~swaplab.system.System` (kernel, RAM, swap,
page-cluster), makes the groups and their limits, starts the workload's processes as
threads and runs them under :class:`~swaplab.workload.driver.VirtualDriver`. Every
``sample`` of virtual time (and whenever a killer or a mover asks, after its action) the
driver quiesces the machine (threads parked at user-space points, kernel paths and I/O
drained), the metrics are sampled and every invariant (kernel/invariants.check_all) is
checked; then the run goes on. The result carries everything with the seed that replays it.
The machine's ``jiffies`` follow the virtual clock (HZ a second); with the workload's
``io.timed_sleeps`` a kernel path in a timed sleep (kernel/timer.py: congestion_wait,
schedule_timeout) sleeps in virtual time until its deadline, else the sleep costs no
virtual time and moves only jiffies (see IoSpec).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from swaplab.explore import Deadlock, StepLimit, Thread
from swaplab.kernel import invariants
from swaplab.kernel.cgroup import Cgroup, cgroup_lookup
from swaplab.kernel.config import make_config
from swaplab.kernel.errno import KernelBug
from swaplab.kernel.kernel import HZ, Kernel, lru_add_pvecs
from swaplab.kernel.mm_types import TaskStruct
from swaplab.kernel.sync import Current
from swaplab.system import System
from swaplab.workload import procs
from swaplab.workload.driver import NS_PER_S, Latencies, VirtualDriver
from swaplab.workload.metrics import GLOBAL_METRICS, GROUP_METRICS, sample_metrics
from swaplab.workload.spec import Workload

__all__ = ["Result", "Simulation", "simulate"]

class StopPoll(Protocol):
    """What a run polls at its sample boundaries (:class:`swaplab.interrupt.StopRequest`)."""

    reason: str | None

    def should_stop(self) -> bool: ...


#: virtual nanoseconds per jiffy
NS_PER_JIFFY = NS_PER_S // HZ


@dataclass(slots=True)
class Result:
    """A finished run: its identity, the sampled series, the events and what broke."""

    workload: str
    kernel: str
    patches: list[str]
    seed: int
    duration_s: float
    cpus: int
    page_cluster: int
    times: list[float] = field(default_factory=list)
    events: list[str | None] = field(default_factory=list)
    series: dict[str, list[int]] = field(default_factory=dict)
    groups: dict[str, dict[str, list[int | None]]] = field(default_factory=dict)
    invariant_violations: list[str] = field(default_factory=list)
    error: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    wall_s: float = 0.0
    #: why the run ended before its duration: "interrupted" (a signal) or "budget"
    stopped: str | None = None

    def values_at(self, metric: str, event_prefix: str) -> list[int]:
        """The metric at the samples taken for events starting with ``event_prefix``."""
        return [v for v, e in zip(self.series[metric], self.events, strict=True)
                if e is not None and e.startswith(event_prefix)]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in GLOBAL_METRICS:
            values = self.series.get(name, [])
            out[name] = {"final": values[-1] if values else None,
                         "max": max(values) if values else None}
        for gname in GROUP_METRICS:
            per: dict[str, Any] = {}
            for path, metrics in self.groups.items():
                vals = [v for v in metrics[gname] if v is not None]
                per[path] = {"final": metrics[gname][-1] if metrics[gname] else None,
                             "max": max(vals) if vals else None}
            out[gname] = per
        return out

    def to_json(self) -> dict[str, Any]:
        series: dict[str, Any] = {"t": self.times, "event": self.events}
        series.update(self.series)
        for gname in GROUP_METRICS:
            series[gname] = {path: m[gname] for path, m in self.groups.items()}
        return {
            "workload": self.workload,
            "kernel": self.kernel,
            "patches": self.patches,
            "seed": self.seed,
            "duration_s": self.duration_s,
            "summary": self.summary(),
            "series": series,
            "cpus": self.cpus,
            "page_cluster": self.page_cluster,
            "counters": self.counters,
            "invariant_violations": self.invariant_violations,
            "error": self.error,
            **({"interrupted": self.stopped == "interrupted", "stopped": self.stopped}
               if self.stopped else {}),
        }


class Simulation:
    """The machine, the driver and the workload's bookkeeping for one run."""

    def __init__(self, wl: Workload, kernel: str = "2.6.31", patches: str | None = None,
                 seed: int = 0, cpus: int = 1, duration_ns: int | None = None,
                 page_cluster: int | None = None, max_steps: int | None = None,
                 fixes: str | None = None) -> None:
        self.wl = wl
        self.seed = seed
        self.cpus = cpus
        self.duration_ns = duration_ns if duration_ns is not None else wl.duration_ns
        cfg = make_config(kernel, patches, fixes)
        self.kernel_name = cfg.name
        self.patches = cfg.patches()
        m = wl.machine
        self.page_cluster = m.page_cluster if page_cluster is None else page_cluster
        self.system = System(kernel=kernel, ram=m.ram, swap=m.swap,
                             page_cluster=self.page_cluster, patches=patches, fixes=fixes)
        k = self.k = self.system.k
        if m.gc_threshold is not None:
            k.cfg = replace(k.cfg, cache_only_gc_threshold=m.gc_threshold)
        k.vm_swappiness = m.swappiness
        _set_cpus(k, cpus)
        self.limits: dict[str, tuple[int | None, int | None]] = {}
        for g in wl.groups:
            self.system.mkdir(g.path)
            if g.limit is not None:
                self.system.write(f"{g.path}/memory.limit_in_bytes", str(g.limit))
            if g.memsw_limit is not None:
                self.system.write(f"{g.path}/memory.memsw.limit_in_bytes", str(g.memsw_limit))
            self.limits[g.path] = (g.limit, g.memsw_limit)
        self.aliases: dict[str, str] = {g.path: g.path for g in wl.groups}
        #: groups whose killer is between its kill and its sample: no restart meanwhile
        self.held: dict[str, int] = {}
        lat = Latencies(wl.io.cpu_step_ns, wl.io.swap_read_ns, wl.io.swap_write_ns)
        self.driver = VirtualDriver(k.execution, seed, cpus, lat, max_steps)
        self.driver.clock = self._tick
        if wl.io.timed_sleeps:
            self.driver.timed_sleep = self._timer_ns
        #: why a sample is due at the end of the running step (the driver's requests)
        self.sample_reasons = self.driver.requests
        #: the workload's processes by thread id (procs.Proc registers itself)
        self.procs: dict[int, procs.Proc] = {}
        self.wall_s = 0.0
        self.errors: list[str] = []
        self.started = self.exited = self.touches = self.forks = 0
        self.kills = self.moves = self.rmdir_failures = self.kswapd_runs = 0
        self.unquiet_samples = 0
        #: the virtual time of the next periodic sample (0: the run has not started)
        self.next_sample = 0
        #: whether the last sample found the machine quiescent (its state is then data)
        self.quiet = False
        self.result = Result(wl.name, self.kernel_name, self.patches, seed,
                             self.duration_ns / NS_PER_S, cpus, self.page_cluster)
        self._start()

    # -- for the processes ----------------------------------------------------------------

    def group(self, alias: str) -> Cgroup | None:
        """The current directory of a workload group (the mover renames groups)."""
        cgrp = cgroup_lookup(self.k, self.aliases.get(alias, alias))
        return cgrp if cgrp is not None and not cgrp.removed else None

    def cpu_of(self, ts: TaskStruct) -> int:
        return ts.pid % self.cpus

    def request_sample(self, reason: str) -> None:
        self.sample_reasons.append(reason)

    def _tick(self, now: int) -> int:
        """The machine's jiffies follow the virtual clock (HZ ticks a second); the time of
        the next tick."""
        jiffies = now // NS_PER_JIFFY
        if jiffies > self.k.jiffies:
            self.k.jiffies = jiffies
        return (jiffies + 1) * NS_PER_JIFFY

    def _timer_ns(self, thread: Thread) -> int | None:
        """How long a kernel thread in a timed sleep (kernel/timer.py) sleeps in virtual
        time: until its deadline in jiffies; None for other threads."""
        expire = self.k.timers.get(thread.tid)
        if expire is None:
            return None
        return max(0, expire * NS_PER_JIFFY - self.driver.now)

    # -- running --------------------------------------------------------------------------

    def _start(self) -> None:
        k = self.k
        execution = k.execution
        for spec in self.wl.tasks:
            cgrp = self.group(spec.group)
            assert cgrp is not None
            for _ in range(spec.count):
                if spec.start_ns:
                    execution.spawn("starter", procs.delayed_start(self, spec),
                                    Current(None, 0))
                else:
                    procs.start_task(self, spec, cgrp)
        for killer in self.wl.killers:
            execution.spawn(f"killer {killer.group}", procs.killer_main(self, killer),
                            Current(None, 0))
        for mover in self.wl.movers:
            execution.spawn(f"mover {mover.group}", procs.mover_main(self, mover),
                            Current(None, 0))
        if self.wl.machine.kswapd:
            execution.spawn("kswapd", procs.kswapd_main(self), Current(None, 0))
        self.driver._adopt_new_threads()

    def run(self, progress: Callable[[float], None] | None = None,
            stop: StopPoll | None = None,
            on_sample: Callable[[Simulation, bool], None] | None = None) -> Result:
        """Run to the end of the duration (or the first kernel bug, or until ``stop`` asks
        at a sample boundary); the result. ``on_sample(sim, stopping)`` is called after
        every sample that found the machine quiescent (checkpoints). A resumed simulation
        (:mod:`swaplab.workload.checkpoint`) goes on from its last sample."""
        wall = time.perf_counter()
        driver = self.driver
        try:
            if self.next_sample == 0:
                self._sample("start")
                self.next_sample = self.wl.sample_ns
            while driver.now < self.duration_ns:
                self._advance()
                if progress is not None:
                    progress(driver.now / NS_PER_S)
                if driver.live() == 0:
                    break
                stopping = stop is not None and stop.should_stop()
                if on_sample is not None and self.quiet:
                    on_sample(self, stopping)
                if stopping:
                    assert stop is not None
                    self.result.stopped = stop.reason or "interrupted"
                    break
        except (KernelBug, Deadlock, StepLimit) as exc:
            self.result.error = f"{type(exc).__name__}: {exc} (seed {self.seed}, " \
                                f"t={driver.now / NS_PER_S:.6f}s)"
        finally:
            self.k.execution.close()
        self.wall_s += time.perf_counter() - wall
        return self._finish()

    def _advance(self) -> None:
        """Run to the next sample point and take that sample."""
        driver = self.driver
        end = self.duration_ns
        driver.run_until(min(self.next_sample, end))
        if self.sample_reasons:
            reasons = "; ".join(self.sample_reasons)
            self.sample_reasons.clear()  # the driver's list: the same object stays
            self._sample(reasons)
        elif driver.now >= self.next_sample or driver.now >= end:
            self._sample(None)
            self.next_sample += self.wl.sample_ns
        else:
            self.quiet = False

    def _finish(self) -> Result:
        driver = self.driver
        r = self.result
        r.steps = driver.steps
        r.wall_s = self.wall_s
        r.counters = {"tasks_started": self.started, "tasks_exited": self.exited,
                      "touches": self.touches, "forks": self.forks, "kills": self.kills,
                      "moves": self.moves, "rmdir_failures": self.rmdir_failures,
                      "kswapd_runs": self.kswapd_runs, "swap_ios": driver.io_started,
                      "kernel_steps": driver.steps,
                      "samples_not_quiescent": self.unquiet_samples}
        return r

    def _sample(self, event: str | None) -> None:
        driver = self.driver
        quiet = driver.quiesce()
        try:
            r = self.result
            values, groups = sample_metrics(self.k)
            r.times.append(driver.now / NS_PER_S)
            r.events.append(event)
            n = len(r.times)
            for name in GLOBAL_METRICS:
                r.series.setdefault(name, []).append(values[name])
            for path, metrics in groups.items():
                per = r.groups.setdefault(
                    path, {g: [None] * (n - 1) for g in GROUP_METRICS})
                for gname in GROUP_METRICS:
                    per[gname].append(metrics[gname])
            for per in r.groups.values():
                for gname in GROUP_METRICS:
                    if len(per[gname]) < n:
                        per[gname].append(None)
            self.quiet = quiet
            if not quiet:
                self.unquiet_samples += 1
            else:
                for violation in invariants.check_all(self.k):
                    r.invariant_violations.append(
                        f"t={driver.now / NS_PER_S:.6f}s seed={self.seed}: {violation}")
        finally:
            driver.resume()


def _set_cpus(k: Kernel, cpus: int) -> None:
    """Give the machine ``cpus`` CPUs (per-CPU pagevecs) before anything ran."""
    if cpus != k.ncpus:
        k.ncpus = cpus
        k.lru_add_pvecs = lru_add_pvecs(cpus)


def simulate(wl: Workload, kernel: str = "2.6.31", patches: str | None = None, seed: int = 0,
             cpus: int = 1, duration_ns: int | None = None, page_cluster: int | None = None,
             progress: Callable[[float], None] | None = None,
             max_steps: int | None = None, stop: StopPoll | None = None,
             fixes: str | None = None) -> Result:
    """Run ``wl`` once; see :class:`Simulation`. With ``stop`` (such as the command's
    :class:`swaplab.interrupt.StopRequest`), it ends early at the sample where ``stop``
    asks (``Result.stopped``)."""
    sim = Simulation(wl, kernel, patches, seed, cpus, duration_ns, page_cluster, max_steps,
                     fixes)
    return sim.run(progress, stop)


