"""Time in the model: kernel/timer.c: schedule_timeout() and mm/backing-dev.c:
congestion_wait() move ``jiffies``, as do the drivers that keep time (System.sleep, the
workload simulator's virtual clock), and the memcg OOM window of mm/memcontrol.c:
mem_cgroup_oom_called() (HZ/10 after record_last_oom()) closes through each of them. The
explorer orders a sleep's wake-up against a reader of the window."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from swaplab import System
from swaplab.explore import Instance, Options, explore, run_to_completion, sometimes
from swaplab.kernel import cgroup, oom_kill, timer
from swaplab.kernel.config import PRESETS
from swaplab.kernel.kernel import HZ, Kernel, clock_state
from swaplab.kernel.memcontrol import mem_cgroup_oom_called
from swaplab.kernel.mm_types import MmStruct, TaskStruct
from swaplab.kernel.sync import Current, cond_resched
from swaplab.scenarios import new_instance
from swaplab.workload.driver import NS_PER_S
from swaplab.workload.sim import NS_PER_JIFFY, Simulation
from swaplab.workload.spec import BUILTINS

PAGE = 4096


def oom_in_group(kernel: str) -> tuple[System, TaskStruct]:
    """A memcg OOM in /G (no swap: nothing reclaimable): ``big`` is killed, ``small``
    (returned) lives on in /G."""
    s = System(kernel=kernel, ram="64M", swap="0")
    s.mkdir("/G")
    s.write("/G/memory.limit_in_bytes", "40K")
    small = s.spawn("/G")
    small.touch(small.mmap_anon(2 * PAGE))
    big = s.spawn("/G")
    big.touch(big.mmap_anon(20 * PAGE))
    assert (small.state, big.state) == ("running", "killed")
    return s, s.k.tasks[small.pid]


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_the_oom_window_closes_when_the_user_lets_hz_10_pass(kernel: str) -> None:
    s, small = oom_in_group(kernel)
    mem = small.cgroup.memcg
    assert mem is not None and mem.last_oom_jiffies == s.jiffies
    assert mem_cgroup_oom_called(s.k, small)
    s.sleep((HZ // 10 - 1) / HZ)  # 24 ticks: still inside
    assert mem_cgroup_oom_called(s.k, small)
    s.sleep(1 / HZ)
    assert s.jiffies == mem.last_oom_jiffies + HZ // 10
    assert not mem_cgroup_oom_called(s.k, small)
    assert s.check_invariants() == []


def test_pagefault_out_of_memory_ticks_until_the_global_killer_runs() -> None:
    """A fault of ``small`` ending in VM_FAULT_OOM right after its group's OOM skips the
    global OOM killer and sleeps one tick (schedule_timeout_uninterruptible(1)); after
    HZ/10 such ticks the window is closed and the next one runs the global OOM killer."""
    s, small = oom_in_group("2.6.31")
    k = s.k
    start = k.jiffies
    kills = k.oom_kills
    for tick in range(HZ // 10):
        k.execution.spawn("fault", oom_kill.pagefault_out_of_memory(k), Current(small, 0))
        run_to_completion(k.execution)
        assert k.jiffies == start + tick + 1
        assert k.oom_kills == kills  # global killer skipped
    assert not mem_cgroup_oom_called(k, small)
    k.execution.spawn("fault", oom_kill.pagefault_out_of_memory(k), Current(small, 0))
    run_to_completion(k.execution)
    assert k.oom_kills == kills + 1


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_reclaim_congestion_wait_sleeps_hz_10(kernel: str) -> None:
    """A group of 100 pages faulting in 200 with swap: its reclaim passes cannot free
    SWAP_CLUSTER_MAX pages, so passes that scanned something below priority 10 end with
    congestion_wait(HZ/10) (mm/vmscan.c: do_try_to_free_pages()): time passes in whole
    HZ/10 steps and nobody is killed."""
    s = System(kernel=kernel, ram="64M", swap="4M")
    s.mkdir("/G")
    s.write("/G/memory.limit_in_bytes", str(100 * PAGE))
    t = s.spawn("/G")
    t.touch(t.mmap_anon(200 * PAGE))
    assert t.state == "running"
    assert s.jiffies > 0 and s.jiffies % (HZ // 10) == 0


def test_concurrent_sleeps_overlap() -> None:
    k = Kernel(PRESETS["2.6.31"], ram_bytes=1 << 22)
    for name in ("a", "b"):
        k.execution.spawn(name, timer.congestion_wait(k, HZ // 10, name), Current(None, 0))
    run_to_completion(k.execution)
    assert k.jiffies == HZ // 10
    assert k.timers == {}
    k.execution.spawn("c", timer.schedule_timeout_uninterruptible(k, 1, "c"), Current(None, 0))
    run_to_completion(k.execution)
    assert k.jiffies == HZ // 10 + 1


def test_the_simulator_sleeps_a_kernel_timed_sleep_in_virtual_time() -> None:
    wl = BUILTINS["swap-cycles"]
    wl = replace(wl, io=replace(wl.io, timed_sleeps=True))
    sim = Simulation(wl, kernel="2.6.31", seed=1, duration_ns=NS_PER_S // 2)
    k, driver = sim.k, sim.driver
    seen: list[tuple[int, int]] = []

    async def sleeper() -> None:
        seen.append((driver.now, k.jiffies))
        await timer.congestion_wait(k, HZ // 10, "test: congestion_wait")
        seen.append((driver.now, k.jiffies))

    driver.run_until(NS_PER_S // 10)
    k.execution.spawn("sleeper", sleeper(), Current(None, 0))
    driver._adopt_new_threads()
    driver.run_until(NS_PER_S // 2)
    (t0, j0), (t1, j1) = seen
    assert j0 == t0 // NS_PER_JIFFY  # jiffies follow the virtual clock
    assert j1 == j0 + HZ // 10 == t1 // NS_PER_JIFFY
    assert t1 - t0 >= (HZ // 10 - 1) * NS_PER_JIFFY
    k.execution.close()


@dataclass
class _Window:
    k: Kernel
    task: TaskStruct
    seen: list[bool] = field(default_factory=list)


def _window_model() -> Instance:
    """A group whose OOM was just recorded; one thread sleeps HZ/10, another reads the
    window once."""
    k = Kernel(PRESETS["2.6.31"], ram_bytes=1 << 22)
    cgroup.cgroup_init_root(k)
    g = cgroup.cgroup_mkdir(k, k.cgroup_root, "G")
    assert isinstance(g, cgroup.Cgroup) and g.memcg is not None
    mm = MmStruct(total_vm=1)
    t = TaskStruct(pid=2, comm="t2", mm=mm, cgroup=g)
    mm.owner = t
    k.tasks[2] = t
    cgroup.cgroup_fork(k, t)
    g.memcg.last_oom_jiffies = k.jiffies
    w = _Window(k, t)

    async def reader() -> None:
        await cond_resched(k, "reader")
        w.seen.append(mem_cgroup_oom_called(k, t))

    threads = [("sleeper", timer.schedule_timeout_uninterruptible(k, HZ // 10, "sleeper"),
                Current(None, 0)), ("reader", reader(), Current(t, 0))]
    props = [sometimes("inside", lambda s: s.seen == [True]),
             sometimes("closed", lambda s: s.seen == [False])]
    return new_instance(w, threads, props, execution=k.execution)


def test_dpor_orders_a_wake_up_against_the_window_reader() -> None:
    """The wake-up's write of jiffies and mem_cgroup_oom_called()'s read are recorded on
    the clock, so dpor runs both orders (both sometimes-properties are reached)."""
    result = explore(_window_model, Options(strategy="dpor", shrink=False))
    assert result.status == "clean" and result.vacuous == []


def test_clock_state_is_the_oom_window_not_jiffies() -> None:
    s, _ = oom_in_group("2.6.31")
    inside = clock_state(s.k)
    s.sleep(1 / HZ)
    assert clock_state(s.k) == inside  # a tick later: the same state
    s.sleep(0.1)
    assert clock_state(s.k) != inside
