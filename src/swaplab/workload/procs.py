"""The workload's processes as kernel threads: user tasks, the killer, the mover, kswapd.

A user task is one thread with ``current`` = its task: it mmaps its memory, then touches it
page by page through the arch fault handler (memory.do_page_fault), sleeping ``think``
between touches; that sleep is its return to user space (a parkable point: it holds nothing
of the kernel there). On a pending SIGKILL it exits (do_exit) like do_notify_resume; an OOM
kill that already started the task's exit on another thread just ends it. A finished task
is replaced after ``restart_delay`` when its spec says ``restart``.

The killer, the mover and kswapd are kernel threads (``current`` = none).

Every process is a :class:`Proc`: an object whose fields are all its progress at each of
its parkable sleeps, and whose coroutine (:meth:`Proc.main`) runs from the phase named by
``at`` to the next such sleep, again and again. So at a quiescent sample, where every
thread is parked at one of those sleeps, the processes are data: a checkpoint pickles them
and a resumed run rebuilds each coroutine with ``main()``, which goes on right after the
sleep the thread was parked at (:mod:`swaplab.workload.checkpoint`).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from swaplab.explore import ThreadBody
from swaplab.kernel import cgroup as kcgroup
from swaplab.kernel import exit as kexit
from swaplab.kernel import fork, memcontrol, memory, page_alloc, vmscan
from swaplab.kernel import mmap as kmmap
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.mm_types import PAGE_SIZE, TASK_RUNNING, TaskStruct
from swaplab.kernel.sync import Current, kthread_run
from swaplab.workload.driver import sleep
from swaplab.workload.spec import KillerSpec, MoverSpec, TaskSpec

if TYPE_CHECKING:
    from collections.abc import Iterator

    from swaplab.workload.sim import Simulation

__all__ = ["Proc", "delayed_start", "killer_main", "kswapd_main", "mover_main", "start_task",
           "task_main"]

_PROT = kmmap.PROT_READ | kmmap.PROT_WRITE
_FLAGS = kmmap.MAP_PRIVATE | kmmap.MAP_ANONYMOUS
_POLL_NS = 1_000_000
KSWAPD_INTERVAL_NS = 10_000_000

#: What a phase ends with: the next parkable sleep ``(ns, site, phase after it)``, or None
#: when the process is over.
Nap = tuple[int, str, str] | None


class Proc:
    """A workload process: ``at`` names the phase its coroutine starts (or goes on) with;
    each phase ``at_<name>`` runs up to the next parkable sleep and returns it."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.at = "start"

    async def main(self) -> None:
        """The thread's body: phases and their sleeps until the process is over. Built
        again from the fields, it goes on after the sleep the thread is parked at."""
        procs = self.sim.procs
        current = self.sim.k.execution.current
        assert current is not None
        procs[current.tid] = self
        try:
            while True:
                nap = await getattr(self, f"at_{self.at}")()
                if nap is None:
                    return
                ns, site, self.at = nap
                await sleep(ns, site=site)
        finally:
            procs.pop(current.tid, None)


def alive(ts: TaskStruct) -> bool:
    return ts.state == TASK_RUNNING and not ts.sigkill and not ts.exiting


def page_order(rng: random.Random, spec: TaskSpec, npages: int) -> Iterator[int]:
    """The pages one pass touches: in order, uniformly at random, or mostly the hot part."""
    if spec.pattern == "sequential":
        yield from range(npages)
        return
    hot = max(1, int(npages * spec.hot_fraction))
    for _ in range(npages):
        if spec.pattern == "uniform":
            yield rng.randrange(npages)
        elif rng.random() < spec.hot_share or hot >= npages:
            yield rng.randrange(hot)
        else:
            yield hot + rng.randrange(npages - hot)


def start_task(sim: Simulation, spec: TaskSpec, cgrp: Cgroup) -> TaskStruct:
    """A fresh task in ``cgrp`` and its thread (spawned on the execution directly: call
    between steps, or from a thread through :func:`spawn_task`)."""
    ts = fork.create_task(sim.k, cgrp, "wl")
    sim.k.execution.spawn(f"task {ts.pid}", task_main(sim, spec, ts),
                          Current(ts, sim.cpu_of(ts)))
    sim.started += 1
    return ts


async def spawn_task(sim: Simulation, spec: TaskSpec) -> None:
    """From a thread: a fresh task in the spec's group (its current directory)."""
    cgrp = sim.group(spec.group)
    if cgrp is None:
        return
    ts = fork.create_task(sim.k, cgrp, "wl")
    sim.started += 1
    await kthread_run(sim.k, f"task {ts.pid}", task_main(sim, spec, ts),
                      Current(ts, sim.cpu_of(ts)))


async def _finish(sim: Simulation, ts: TaskStruct) -> None:
    """Exit as the task itself unless an OOM kill already started its exit."""
    if ts.state == TASK_RUNNING and not ts.exiting:
        await kexit.do_exit(sim.k, ts)


class UserTask(Proc):
    """One user task: mmap, touch in passes (``order[i:]`` left of this one), maybe fork,
    exit, maybe restart."""

    def __init__(self, sim: Simulation, spec: TaskSpec, ts: TaskStruct) -> None:
        super().__init__(sim)
        self.spec = spec
        self.ts = ts
        self.rng = random.Random(f"{sim.seed}:{ts.pid}")
        self.born = self.last_fork = 0
        self.addr = -1
        self.npages = (spec.size + PAGE_SIZE - 1) // PAGE_SIZE
        self.passes = 0
        self.write = False
        self.order: list[int] = []
        self.i = 0

    async def at_start(self) -> Nap:
        ts = self.ts
        self.born = self.last_fork = self.sim.driver.now
        if ts.mm is not None and alive(ts):
            self.addr = await kmmap.sys_mmap_pgoff(self.sim.k, ts.mm, 0, self.spec.size,
                                                   _PROT, _FLAGS, None)
        return await self._next_pass()

    async def _next_pass(self) -> Nap:
        if self.addr < 0 or not alive(self.ts):
            return await self._end()
        spec = self.spec
        self.write = spec.write == "always" or (spec.write == "first" and self.passes == 0)
        self.order = list(page_order(self.rng, spec, self.npages))
        self.i = 0
        return await self._touch()

    async def _touch(self) -> Nap:
        if self.i >= len(self.order):
            return await self._pass_done()
        index = self.order[self.i]
        self.i += 1
        await memory.do_page_fault(self.sim.k, self.ts, self.addr + index * PAGE_SIZE,
                                   self.write)
        self.sim.touches += 1
        return self.spec.think_ns, "user", "touched"

    async def at_touched(self) -> Nap:
        if not alive(self.ts):
            return await self._pass_done()
        return await self._touch()

    async def _pass_done(self) -> Nap:
        sim, spec, ts = self.sim, self.spec, self.ts
        self.passes += 1
        if spec.passes and self.passes >= spec.passes:
            return await self._end()
        if spec.lifetime_ns and sim.driver.now - self.born >= spec.lifetime_ns:
            return await self._end()
        if (spec.fork_every_ns and sim.driver.now - self.last_fork >= spec.fork_every_ns
                and alive(ts)):
            self.last_fork = sim.driver.now
            await _fork_child(sim, spec, ts, self.addr, self.npages)
        return await self._next_pass()

    async def _end(self) -> Nap:
        await _finish(self.sim, self.ts)
        self.sim.exited += 1
        if self.spec.restart:
            return self.spec.restart_delay_ns, "restart", "restart"
        return None

    async def at_restart(self) -> Nap:
        if self.sim.held.get(self.spec.group, 0):
            return _POLL_NS, "restart: killer", "restart"
        await spawn_task(self.sim, self.spec)
        return None


def task_main(sim: Simulation, spec: TaskSpec, ts: TaskStruct) -> ThreadBody:
    """One user task's thread body (:class:`UserTask`)."""
    return UserTask(sim, spec, ts).main()


async def _fork_child(sim: Simulation, spec: TaskSpec, ts: TaskStruct, addr: int,
                      npages: int) -> None:
    child = await fork.do_fork(sim.k, ts)
    sim.forks += 1
    await kthread_run(sim.k, f"task {child.pid}", Child(sim, spec, child, addr, npages).main(),
                      Current(child, sim.cpu_of(child)))


class Child(Proc):
    """A forked child: one read pass over the inherited mapping (from page ``i``), exit."""

    def __init__(self, sim: Simulation, spec: TaskSpec, ts: TaskStruct, addr: int,
                 npages: int) -> None:
        super().__init__(sim)
        self.spec, self.ts, self.addr, self.npages = spec, ts, addr, npages
        self.i = 0

    async def at_start(self) -> Nap:
        sim, ts = self.sim, self.ts
        if self.i < self.npages and alive(ts):
            index = self.i
            self.i += 1
            await memory.do_page_fault(sim.k, ts, self.addr + index * PAGE_SIZE, False)
            sim.touches += 1
            return self.spec.think_ns, "user", "start"
        await _finish(sim, ts)
        sim.exited += 1
        return None


class DelayedStart(Proc):
    """Start a task of ``spec`` after its ``start`` delay."""

    def __init__(self, sim: Simulation, spec: TaskSpec) -> None:
        super().__init__(sim)
        self.spec = spec

    async def at_start(self) -> Nap:
        return self.spec.start_ns, "start", "due"

    async def at_due(self) -> Nap:
        await spawn_task(self.sim, self.spec)
        return None


def delayed_start(sim: Simulation, spec: TaskSpec) -> ThreadBody:
    return DelayedStart(sim, spec).main()


class Killer(Proc):
    """Kamezawa's loop: sleep ``every``, SIGKILL every task of the group, wait for them to
    be gone, let the I/O settle, ask for a "kill" sample; again. The tasks restart after
    their own ``restart_delay`` but not before that sample (the group is empty in it)."""

    def __init__(self, sim: Simulation, spec: KillerSpec) -> None:
        super().__init__(sim)
        self.spec = spec
        self.cgrp: Cgroup | None = None
        self.victims: list[TaskStruct] = []

    async def at_start(self) -> Nap:
        return self.spec.every_ns, "killer", "due"

    async def at_due(self) -> Nap:
        sim, spec = self.sim, self.spec
        cgrp = self.cgrp = sim.group(spec.group)
        if cgrp is None:
            return await self.at_start()
        self.victims = [t for t in cgrp.tasks if alive(t)]
        sim.held[spec.group] = sim.held.get(spec.group, 0) + 1
        for victim in self.victims:
            victim.sigkill = True
        sim.kills += len(self.victims)
        return await self.at_wait()

    async def at_wait(self) -> Nap:
        if any(v.state == TASK_RUNNING for v in self.victims):
            return _POLL_NS, "killer: wait", "wait"
        return self.spec.settle_ns, "killer: settle", "settled"

    async def at_settled(self) -> Nap:
        assert self.cgrp is not None
        # the driver samples right after this step, before any restart can run
        self.sim.request_sample(f"kill {self.cgrp.path}")
        self.sim.held[self.spec.group] -= 1
        self.victims = []
        return await self.at_start()


def killer_main(sim: Simulation, spec: KillerSpec) -> ThreadBody:
    return Killer(sim, spec).main()


async def _mkdir_like(sim: Simulation, spec: MoverSpec, old: Cgroup, serial: int) -> Cgroup | None:
    """mkdir a sibling of ``old`` named after the workload group, with the group's limits."""
    assert old.parent is not None
    new = kcgroup.cgroup_mkdir(sim.k, old.parent, f"{spec.group.rpartition('/')[2]}-{serial}")
    if isinstance(new, int) or new.memcg is None:
        sim.errors.append(f"mover: mkdir failed ({new})")
        return None
    limits = sim.limits.get(spec.group, (None, None))
    files = {cft.name: cft for cft in (*memcontrol.mem_cgroup_files,
                                        *memcontrol.memsw_cgroup_files)}
    for name, value in zip(("limit_in_bytes", "memsw.limit_in_bytes"), limits, strict=True):
        if value is not None:
            await memcontrol.mem_cgroup_write(sim.k, new, files[name], str(value))
    return new


class Mover(Proc):
    """Every ``every``: mkdir a sibling group with the same limits, move the group's tasks
    there (echo PID > tasks), rmdir the old group. With ``kill``: :class:`Rounds`."""

    def __init__(self, sim: Simulation, spec: MoverSpec) -> None:
        super().__init__(sim)
        self.spec = spec
        self.serial = 0

    async def at_start(self) -> Nap:
        return self.spec.every_ns, "mover", "due"

    async def at_due(self) -> Nap:
        sim, spec = self.sim, self.spec
        old = sim.group(spec.group)
        if old is None or old.parent is None:
            return None
        self.serial += 1
        new = await _mkdir_like(sim, spec, old, self.serial)
        if new is None:
            return await self.at_start()
        for task in list(old.tasks):
            if alive(task):
                kcgroup.cgroup_attach_task(sim.k, new, task)
        sim.aliases[spec.group] = new.path
        ret = await kcgroup.cgroup_rmdir(sim.k, old)
        sim.moves += 1
        if ret:
            sim.rmdir_failures += 1
        sim.request_sample(f"move {old.path} -> {new.path}")
        return await self.at_start()


class Rounds(Proc):
    """Nishimura's rmdir loop as rounds: every ``every`` a new sibling group with the same
    limits gets a fresh generation of the group's tasks; while more than ``keep`` groups
    are alive, the oldest one's tasks are killed (SIGKILL while the younger generations go
    on faulting), and once they have exited its group is removed (rmdir retried while
    busy; a "round" sample)."""

    def __init__(self, sim: Simulation, spec: MoverSpec) -> None:
        super().__init__(sim)
        self.spec = spec
        self.serial = self.tries = self.ret = 0
        self.alive_groups: list[Cgroup] = []
        self.old: Cgroup | None = None
        self.victims: list[TaskStruct] = []

    async def at_start(self) -> Nap:
        first = self.sim.group(self.spec.group)
        if first is None or first.parent is None:
            return None
        self.alive_groups.append(first)
        return self._again()

    def _again(self) -> Nap:
        return self.spec.every_ns, "mover", "due"

    async def at_due(self) -> Nap:
        sim, spec = self.sim, self.spec
        self.serial += 1
        new = await _mkdir_like(sim, spec, self.alive_groups[-1], self.serial)
        if new is None:
            return self._again()
        self.alive_groups.append(new)
        sim.aliases[spec.group] = new.path
        for task_spec in sim.wl.tasks:
            if task_spec.group == spec.group:
                for _ in range(task_spec.count):
                    await spawn_task(sim, task_spec)
        return await self._reap()

    async def _reap(self) -> Nap:
        if len(self.alive_groups) <= self.spec.keep:
            return self._again()
        self.old = self.alive_groups.pop(0)
        self.victims = [t for t in self.old.tasks if alive(t)]
        for victim in self.victims:
            victim.sigkill = True
        self.sim.kills += len(self.victims)
        return await self.at_wait()

    async def at_wait(self) -> Nap:
        if any(v.state == TASK_RUNNING for v in self.victims):
            return _POLL_NS, "mover: wait", "wait"
        self.tries = 0
        return await self.at_busy()

    async def at_busy(self) -> Nap:
        assert self.old is not None
        self.ret = await kcgroup.cgroup_rmdir(self.sim.k, self.old)
        if self.ret and self.tries < 100:
            self.tries += 1
            return _POLL_NS, "mover: rmdir busy", "busy"
        sim = self.sim
        sim.moves += 1
        if self.ret:
            sim.rmdir_failures += 1
        sim.request_sample(f"round: rmdir {self.old.path} == {self.ret}")
        self.victims = []
        return await self._reap()


def mover_main(sim: Simulation, spec: MoverSpec) -> ThreadBody:
    return (Rounds(sim, spec) if spec.kill else Mover(sim, spec)).main()


class Kswapd(Proc):
    """kswapd's loop: the allocator does not wake it in the model, so it looks every
    10 ms and balances the zone when free pages are below pages_low."""

    async def at_start(self) -> Nap:
        return KSWAPD_INTERVAL_NS, "kswapd: sleep", "awake"

    async def at_awake(self) -> Nap:
        k = self.sim.k
        if page_alloc.nr_free_pages(k) < k.zone.pages_low:
            self.sim.kswapd_runs += 1
            await vmscan.kswapd(k)
        return await self.at_start()


def kswapd_main(sim: Simulation) -> ThreadBody:
    return Kswapd(sim).main()
