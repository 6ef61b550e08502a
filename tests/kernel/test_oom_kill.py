"""oom_kill.py against mm/oom_kill.c (identical in 2.6.30 and 2.6.31): badness(),
select_bad_process(), oom_kill_process() and mem_cgroup_out_of_memory()."""

from __future__ import annotations

import sys
import types
from collections.abc import Coroutine
from typing import Any

import pytest
from kernel_helpers import run

import swaplab.kernel
from swaplab.explore import run_to_completion
from swaplab.kernel import oom_kill
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.config import PRESETS
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import MmStruct, TaskStruct
from swaplab.kernel.sync import Current


class Machine:
    """Root memcg (css 1) with groups /A (css 2) and /B (css 3), no pages: the OOM killer
    reads only tasks, mms and the cgroup tree. Victims' exits run a stub do_exit that
    records the pid and sets the state, as exit.do_exit does for a killed task."""

    def __init__(self, hierarchy: bool = False) -> None:
        self.k = k = Kernel(PRESETS["2.6.31"], ram_bytes=1 << 20)
        self.root = MemCgroup(1, k.cgroup_root, None, False)
        self.root.use_hierarchy = hierarchy
        k.cgroup_root.memcg = self.root
        k.root_mem_cgroup = self.root
        k.css_ids[1] = self.root
        self.A = self.mkdir(k.cgroup_root, "A", 2)
        self.B = self.mkdir(k.cgroup_root, "B", 3)
        self.exited: list[int] = []

    def mkdir(self, parent: Cgroup, name: str, css_id: int) -> MemCgroup:
        cg = Cgroup(name, parent)
        parent.children[name] = cg
        assert parent.memcg is not None
        mem = MemCgroup(css_id, cg, parent.memcg, parent.memcg.use_hierarchy)
        cg.memcg = mem
        self.k.css_ids[css_id] = mem
        return mem

    def task(self, pid: int, mem: MemCgroup, total_vm: int,
             parent: TaskStruct | None = None, share_mm: bool = False) -> TaskStruct:
        if share_mm:
            assert parent is not None
            mm = parent.mm
        else:
            mm = MmStruct(total_vm=total_vm)
        comm = "init" if pid == 1 else f"t{pid}"
        t = TaskStruct(pid=pid, comm=comm, mm=mm, cgroup=mem.cgroup, parent=parent)
        if not share_mm:
            assert mm is not None
            mm.owner = t
        if parent is not None:
            parent.children.append(t)
        self.k.tasks[pid] = t
        mem.cgroup.tasks.append(t)
        return t

    def run(self, body: Coroutine[Any, Any, Any], task: TaskStruct | None) -> None:
        run(self.k, body, task)


@pytest.fixture
def m(monkeypatch: pytest.MonkeyPatch) -> Machine:
    machine = Machine()

    async def do_exit(k: Kernel, task: TaskStruct) -> None:
        machine.exited.append(task.pid)
        task.exiting = True
        task.mm = None
        task.state = "killed" if task.sigkill else "exited"

    fake = types.ModuleType("swaplab.kernel.exit")
    fake.do_exit = do_exit  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "swaplab.kernel.exit", fake)
    monkeypatch.setattr(swaplab.kernel, "exit", fake, raising=False)
    return machine


def test_badness_is_total_vm_plus_half_of_each_child_with_its_own_mm(m: Machine) -> None:
    p = m.task(2, m.A, 100)
    m.task(3, m.A, 50, parent=p)
    m.task(4, m.A, 0, parent=p, share_mm=True)  # a thread-like child: not counted
    assert oom_kill.badness(m.k, p) == 100 + 50 // 2 + 1


def test_badness_oom_adj_shifts(m: Machine) -> None:
    p = m.task(2, m.A, 100)
    p.oom_adj = 2
    assert oom_kill.badness(m.k, p) == 400
    p.oom_adj = -3
    assert oom_kill.badness(m.k, p) == 12
    p.mm.total_vm = 0  # type: ignore[union-attr]
    p.oom_adj = 1
    assert oom_kill.badness(m.k, p) == 2  # 0 points become 1 before the shift


def test_memcg_oom_picks_the_largest_task_of_the_group_only(m: Machine) -> None:
    m.task(1, m.root, 10_000)  # init: never a victim
    small = m.task(2, m.A, 10)
    big = m.task(3, m.A, 30)
    other = m.task(4, m.B, 1000)
    assert oom_kill.select_bad_process(m.k, m.A) == (big, 30)
    m.run(oom_kill.mem_cgroup_out_of_memory(m.k, m.A, GFP_KERNEL), small)
    assert (big.memdie, big.sigkill, big.state) == (True, True, "killed")
    assert not small.memdie and not other.memdie
    assert m.exited == [3]
    assert m.k.memcg_oom_kills == {2: 1}
    assert m.k.oom_kills == 0
    assert m.k.memcg_tasklist.holder is None


def test_global_oom_picks_the_largest_task_anywhere_but_init(m: Machine) -> None:
    m.task(1, m.root, 10_000)
    m.task(2, m.A, 10)
    other = m.task(4, m.B, 1000)
    assert oom_kill.select_bad_process(m.k, None) == (other, 1000)
    m.run(oom_kill.out_of_memory(m.k, GFP_KERNEL), None)
    assert other.state == "killed"
    assert m.exited == [4]
    assert m.k.oom_kills == 1
    assert m.k.memcg_oom_kills == {}


def test_children_with_their_own_mm_are_killed_first(m: Machine) -> None:
    parent = m.task(2, m.A, 100)
    m.task(3, m.A, 0, parent=parent, share_mm=True)  # same mm: skipped
    child = m.task(4, m.B, 5, parent=parent)  # children are not filtered by memcg
    second = m.task(5, m.A, 50, parent=parent)
    m.run(oom_kill.mem_cgroup_out_of_memory(m.k, m.A, GFP_KERNEL), None)
    assert child.memdie and child.state == "killed"
    assert not parent.memdie and not second.memdie
    assert m.exited == [4]


def test_a_dying_victim_stops_the_next_oom(m: Machine) -> None:
    a = m.task(2, m.A, 10)
    b = m.task(3, m.A, 20)
    a.memdie = True
    assert oom_kill.select_bad_process(m.k, m.A) == (None, oom_kill.OOM_ABORT)
    m.run(oom_kill.mem_cgroup_out_of_memory(m.k, m.A, GFP_KERNEL), None)
    assert not b.memdie and m.exited == []


def test_an_exiting_task_other_than_current_stops_the_oom(m: Machine) -> None:
    a = m.task(2, m.A, 10)
    m.task(3, m.A, 20)
    a.exiting = True
    assert oom_kill.select_bad_process(m.k, m.A) == (None, oom_kill.OOM_ABORT)


def test_an_exiting_current_gets_memdie_only(m: Machine) -> None:
    a = m.task(2, m.A, 10)
    b = m.task(3, m.A, 20)
    a.exiting = True
    m.run(oom_kill.mem_cgroup_out_of_memory(m.k, m.A, GFP_KERNEL), a)
    assert a.memdie and a.sigkill  # __oom_kill_task() also sends SIGKILL
    # but an exiting task is already in do_exit: no second exit is started
    assert not b.memdie
    assert m.exited == []


def test_pid_1_is_init_only_if_named_init(m: Machine) -> None:
    """The model boots no init: the first user task gets pid 1 and stays killable."""
    first = m.task(1, m.A, 10)
    assert oom_kill.select_bad_process(m.k, m.A) == (None, 0)  # the real init: skipped
    first.comm = "a.out"
    assert oom_kill.select_bad_process(m.k, m.A) == (first, 10)
    m.run(oom_kill.mem_cgroup_out_of_memory(m.k, m.A, GFP_KERNEL), first)
    assert first.memdie and first.sigkill


def test_oom_disabled_tasks_are_skipped(m: Machine) -> None:
    a = m.task(2, m.A, 10)
    b = m.task(3, m.A, 20)
    b.oom_adj = oom_kill.OOM_DISABLE
    assert oom_kill.select_bad_process(m.k, m.A) == (a, 10)


def test_no_eligible_task_kills_current(m: Machine) -> None:
    me = m.task(2, m.B, 10)
    m.run(oom_kill.mem_cgroup_out_of_memory(m.k, m.A, GFP_KERNEL), me)
    # current acts on its SIGKILL itself, on the way back to user space: no exit thread
    assert me.memdie and me.sigkill and m.exited == []
    assert m.k.memcg_oom_kills == {2: 1}


def test_global_oom_with_no_killable_task_panics(m: Machine) -> None:
    from swaplab.kernel.errno import KernelBug

    m.task(1, m.root, 10)
    with pytest.raises(KernelBug, match="no killable processes"):
        m.run(oom_kill.out_of_memory(m.k, GFP_KERNEL), None)


def test_hierarchy_counts_tasks_of_descendants(monkeypatch: pytest.MonkeyPatch) -> None:
    m = Machine(hierarchy=True)
    sub = m.mkdir(m.A.cgroup, "sub", 4)
    t = m.task(2, sub, 10)
    assert oom_kill.task_in_mem_cgroup(m.k, t, m.A)
    assert oom_kill.task_in_mem_cgroup(m.k, t, m.root)
    assert not oom_kill.task_in_mem_cgroup(m.k, t, m.B)
    flat = Machine(hierarchy=False)
    sub2 = flat.mkdir(flat.A.cgroup, "sub", 4)
    t2 = flat.task(2, sub2, 10)
    assert not oom_kill.task_in_mem_cgroup(flat.k, t2, flat.A)
    assert oom_kill.task_in_mem_cgroup(flat.k, t2, sub2)


def test_membership_follows_the_mm_owner(m: Machine) -> None:
    owner = m.task(2, m.A, 10)
    t = m.task(3, m.B, 0, parent=owner, share_mm=True)
    assert oom_kill.task_in_mem_cgroup(m.k, t, m.A)
    assert not oom_kill.task_in_mem_cgroup(m.k, t, m.B)


def test_pagefault_oom_skips_the_global_killer_after_a_recent_memcg_oom(m: Machine) -> None:
    me = m.task(2, m.A, 10)
    big = m.task(3, m.B, 100)
    m.k.jiffies = 1000
    m.A.last_oom_jiffies = 1000 - oom_kill.HZ // 10 + 1
    m.run(oom_kill.pagefault_out_of_memory(m.k), me)
    assert not big.memdie and m.exited == []
    m.A.last_oom_jiffies = 1000 - oom_kill.HZ // 10  # HZ/10 ago: too old
    m.run(oom_kill.pagefault_out_of_memory(m.k), me)
    assert big.memdie and m.exited == [3]
    assert m.k.oom_kills == 1


def test_memcg_oom_when_the_caller_already_holds_memcg_tasklist(m: Machine) -> None:
    from swaplab.kernel.sync import spin_lock, spin_unlock

    big = m.task(3, m.A, 30)

    async def try_charge_failure(k: Kernel) -> None:
        await spin_lock(k, k.memcg_tasklist, "__mem_cgroup_try_charge")
        await oom_kill.mem_cgroup_out_of_memory(k, m.A, GFP_KERNEL)
        spin_unlock(k.memcg_tasklist)

    m.run(try_charge_failure(m.k), None)
    assert big.memdie and m.k.memcg_tasklist.holder is None


def test_real_exit_of_a_memcg_oom_victim_from_a_failed_charge() -> None:
    """9.8-like: a charge into a group with limit 0 fails 6 times (failcnt 6), the memcg OOM
    killer picks the only task of the group (current); the charge returns -ENOMEM and stamps
    last_oom_jiffies, and the task's real do_exit runs on its way back to user space."""
    from swaplab.kernel import cgroup, exit, memcontrol
    from swaplab.kernel.errno import ENOMEM
    from swaplab.kernel.mm_types import Page
    from swaplab.kernel.page_cgroup import PageCgroup

    k = Kernel(PRESETS["2.6.31"], ram_bytes=1 << 22)
    cgroup.cgroup_init_root(k)
    g = cgroup.cgroup_mkdir(k, k.cgroup_root, "G")
    assert isinstance(g, Cgroup) and g.memcg is not None
    g.memcg.res.limit = 0
    mm = MmStruct(total_vm=1)
    t = TaskStruct(pid=2, comm="t2", mm=mm, cgroup=g)
    mm.owner = t
    k.tasks[2] = t
    cgroup.cgroup_fork(k, t)
    pc = PageCgroup()
    page = Page(0, pc)
    pc.page = page
    thread = k.execution.spawn(
        "fault", memcontrol.mem_cgroup_newpage_charge(k, page, mm, GFP_KERNEL), Current(t, 0))
    k.jiffies = 500
    run_to_completion(k.execution)
    assert thread.result == -ENOMEM
    assert g.memcg.res.failcnt == 6
    assert k.memcg_oom_kills == {g.memcg.css_id: 1}
    assert (t.memdie, t.sigkill, t.state) == (True, True, "running")
    k.execution.spawn("return to user", exit.do_notify_resume(k, t), Current(t, 0))
    run_to_completion(k.execution)
    assert (t.state, t.mm) == ("killed", None)
    assert g.tasks == []
    assert g.memcg.last_oom_jiffies == 500
    assert oom_kill.mem_cgroup_oom_called(k, t) is False  # no mm any more: init_mm
