"""The workload's processes as kernel threads: user tasks, the killer, the mover, kswapd.

A user task is one thread with ``current`` = its task: it mmaps its memory, then touches it
page by page through the arch fault handler (memory.do_page_fault), sleeping ``think``
between touches; that sleep is its return to user space (a parkable point: it holds nothing
of the kernel there). On a pending SIGKILL it exits (do_exit) like do_notify_resume; an OOM
kill that already started the task's exit on another thread just ends it. A finished task
is replaced after ``restart_delay`` when its spec says ``restart``.

The killer, the mover and kswapd are kernel threads (``current`` = none).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

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

__all__ = ["killer_main", "kswapd_main", "mover_main", "start_task", "task_main"]

_PROT = kmmap.PROT_READ | kmmap.PROT_WRITE
_FLAGS = kmmap.MAP_PRIVATE | kmmap.MAP_ANONYMOUS
_POLL_NS = 1_000_000
KSWAPD_INTERVAL_NS = 10_000_000


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


async def task_main(sim: Simulation, spec: TaskSpec, ts: TaskStruct) -> None:
    """One user task: mmap, touch in passes, maybe fork, exit, maybe restart."""
    k = sim.k
    rng = random.Random(f"{sim.seed}:{ts.pid}")
    born = sim.driver.now
    addr = -1
    if ts.mm is not None and alive(ts):
        addr = await kmmap.sys_mmap_pgoff(k, ts.mm, 0, spec.size, _PROT, _FLAGS, None)
    npages = (spec.size + PAGE_SIZE - 1) // PAGE_SIZE
    passes = 0
    last_fork = born
    while addr >= 0 and alive(ts):
        write = spec.write == "always" or (spec.write == "first" and passes == 0)
        for index in page_order(rng, spec, npages):
            await memory.do_page_fault(k, ts, addr + index * PAGE_SIZE, write)
            sim.touches += 1
            await sleep(spec.think_ns, site="user")
            if not alive(ts):
                break
        passes += 1
        if spec.passes and passes >= spec.passes:
            break
        if spec.lifetime_ns and sim.driver.now - born >= spec.lifetime_ns:
            break
        if spec.fork_every_ns and sim.driver.now - last_fork >= spec.fork_every_ns and alive(ts):
            last_fork = sim.driver.now
            await _fork_child(sim, spec, ts, addr, npages)
    await _finish(sim, ts)
    sim.exited += 1
    if spec.restart:
        await sleep(spec.restart_delay_ns, site="restart")
        while sim.held.get(spec.group, 0):
            await sleep(_POLL_NS, site="restart: killer")
        await spawn_task(sim, spec)


async def _fork_child(sim: Simulation, spec: TaskSpec, ts: TaskStruct, addr: int,
                      npages: int) -> None:
    child = await fork.do_fork(sim.k, ts)
    sim.forks += 1
    await kthread_run(sim.k, f"task {child.pid}", child_main(sim, spec, child, addr, npages),
                      Current(child, sim.cpu_of(child)))


async def child_main(sim: Simulation, spec: TaskSpec, ts: TaskStruct, addr: int,
                     npages: int) -> None:
    """A forked child: one read pass over the inherited mapping, then exit."""
    for index in range(npages):
        if not alive(ts):
            break
        await memory.do_page_fault(sim.k, ts, addr + index * PAGE_SIZE, False)
        sim.touches += 1
        await sleep(spec.think_ns, site="user")
    await _finish(sim, ts)
    sim.exited += 1


async def killer_main(sim: Simulation, spec: KillerSpec) -> None:
    """Kamezawa's loop: sleep ``every``, SIGKILL every task of the group, wait for them to
    be gone, let the I/O settle, ask for a "kill" sample; again. The tasks restart after
    their own ``restart_delay`` but not before that sample (the group is empty in it)."""
    while True:
        await sleep(spec.every_ns, site="killer")
        cgrp = sim.group(spec.group)
        if cgrp is None:
            continue
        victims = [t for t in cgrp.tasks if alive(t)]
        sim.held[spec.group] = sim.held.get(spec.group, 0) + 1
        for victim in victims:
            victim.sigkill = True
        sim.kills += len(victims)
        while any(v.state == TASK_RUNNING for v in victims):
            await sleep(_POLL_NS, site="killer: wait")
        await sleep(spec.settle_ns, site="killer: settle")
        # the driver samples right after this step, before any restart can run
        sim.request_sample(f"kill {cgrp.path}")
        sim.held[spec.group] -= 1


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


async def mover_main(sim: Simulation, spec: MoverSpec) -> None:
    """Every ``every``: mkdir a sibling group with the same limits, move the group's tasks
    there (echo PID > tasks), rmdir the old group. With ``kill``: :func:`rounds_main`."""
    if spec.kill:
        await rounds_main(sim, spec)
        return
    serial = 0
    while True:
        await sleep(spec.every_ns, site="mover")
        old = sim.group(spec.group)
        if old is None or old.parent is None:
            return
        serial += 1
        new = await _mkdir_like(sim, spec, old, serial)
        if new is None:
            continue
        for task in list(old.tasks):
            if alive(task):
                kcgroup.cgroup_attach_task(sim.k, new, task)
        sim.aliases[spec.group] = new.path
        ret = await kcgroup.cgroup_rmdir(sim.k, old)
        sim.moves += 1
        if ret:
            sim.rmdir_failures += 1
        sim.request_sample(f"move {old.path} -> {new.path}")


async def rounds_main(sim: Simulation, spec: MoverSpec) -> None:
    """Nishimura's rmdir loop as rounds: every ``every`` a new sibling group with the same
    limits gets a fresh generation of the group's tasks; while more than ``keep`` groups
    are alive, the oldest one's tasks are killed (SIGKILL while the younger generations go
    on faulting), and once they have exited its group is removed ("round" sample)."""
    alive_groups: list[Cgroup] = []
    first = sim.group(spec.group)
    if first is None or first.parent is None:
        return
    alive_groups.append(first)
    serial = 0
    while True:
        await sleep(spec.every_ns, site="mover")
        serial += 1
        new = await _mkdir_like(sim, spec, alive_groups[-1], serial)
        if new is None:
            continue
        alive_groups.append(new)
        sim.aliases[spec.group] = new.path
        for task_spec in sim.wl.tasks:
            if task_spec.group == spec.group:
                for _ in range(task_spec.count):
                    await spawn_task(sim, task_spec)
        while len(alive_groups) > spec.keep:
            old = alive_groups.pop(0)
            await _kill_and_rmdir(sim, old)


async def _kill_and_rmdir(sim: Simulation, old: Cgroup) -> None:
    """SIGKILL every task of ``old``, wait until they have exited, rmdir it (retried while
    busy), and ask for a "round" sample."""
    victims = [t for t in old.tasks if alive(t)]
    for victim in victims:
        victim.sigkill = True
    sim.kills += len(victims)
    while any(v.state == TASK_RUNNING for v in victims):
        await sleep(_POLL_NS, site="mover: wait")
    ret = await kcgroup.cgroup_rmdir(sim.k, old)
    tries = 0
    while ret and tries < 100:
        tries += 1
        await sleep(_POLL_NS, site="mover: rmdir busy")
        ret = await kcgroup.cgroup_rmdir(sim.k, old)
    sim.moves += 1
    if ret:
        sim.rmdir_failures += 1
    sim.request_sample(f"round: rmdir {old.path} == {ret}")


async def kswapd_main(sim: Simulation) -> None:
    """kswapd's loop: the allocator does not wake it in the model, so it looks every
    10 ms and balances the zone when free pages are below pages_low."""
    k = sim.k
    while True:
        await sleep(KSWAPD_INTERVAL_NS, site="kswapd: sleep")
        if page_alloc.nr_free_pages(k) < k.zone.pages_low:
            sim.kswapd_runs += 1
            await vmscan.kswapd(k)
