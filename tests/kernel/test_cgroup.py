"""cgroup.py against kernel/cgroup.c (2.6.30/2.6.31): mkdir, rmdir, attach, fork and exit;
the LTP memcg functional cases 36-38
(testcases/kernel/controllers/memcg/functional/memcg_function_test.sh)."""

from __future__ import annotations

import pytest
from kernel_helpers import make_kernel, mmap_anon, run, touch

from swaplab.explore import Deadlock, run_to_completion
from swaplab.kernel import cgroup, memcontrol
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.errno import EBUSY, EEXIST, EINTR, EINVAL, ENODEV, ENOENT
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.mm_types import PAGE_SIZE, MmStruct, Page, TaskStruct
from swaplab.kernel.page_cgroup import PageCgroup
from swaplab.kernel.sync import Current


def machine(kernel: str = "2.6.31") -> Kernel:
    """A small machine (4 MiB) with the root memcg."""
    return make_kernel(kernel, ram_bytes=1 << 22)


def mkdir(k: Kernel, parent: Cgroup, name: str) -> Cgroup:
    cg = cgroup.cgroup_mkdir(k, parent, name)
    assert isinstance(cg, Cgroup)
    return cg


def new_task(k: Kernel, cg: Cgroup, pid: int) -> TaskStruct:
    mm = MmStruct()
    task = TaskStruct(pid=pid, comm=f"t{pid}", mm=mm, cgroup=cg)
    mm.owner = task
    k.tasks[pid] = task
    cgroup.cgroup_fork(k, task)
    return task


def test_init_root_creates_the_root_memcg_once() -> None:
    k = machine()
    root = k.root_mem_cgroup
    assert root is not None and k.cgroup_root.memcg is root
    assert root.cgroup is k.cgroup_root
    assert cgroup.cgroup_init_root(k) is root


def test_mkdir_and_lookup() -> None:
    k = machine()
    g = mkdir(k, k.cgroup_root, "G")
    sub = mkdir(k, g, "sub")
    assert cgroup.cgroup_lookup(k, "/") is k.cgroup_root
    assert cgroup.cgroup_lookup(k, "/G") is g
    assert cgroup.cgroup_lookup(k, "/G/sub") is sub
    assert cgroup.cgroup_lookup(k, "/G/sub/") is sub
    assert cgroup.cgroup_lookup(k, "/H") is None
    assert sub.path == "/G/sub"
    assert g.memcg is not None and sub.memcg is not None
    assert g.memcg.cgroup is g and sub.memcg.cgroup is sub
    assert g.memcg.css_id != sub.memcg.css_id


def test_mkdir_existing_name_is_eexist() -> None:
    k = machine()
    g = mkdir(k, k.cgroup_root, "G")
    assert cgroup.cgroup_mkdir(k, k.cgroup_root, "G") == -EEXIST
    assert k.cgroup_root.children == {"G": g}


def test_mkdir_bad_names_are_einval() -> None:
    k = machine()
    for name in ("", "a/b", ".", ".."):
        assert cgroup.cgroup_mkdir(k, k.cgroup_root, name) == -EINVAL


def test_rmdir_with_tasks_or_children_is_ebusy_and_root_cannot_go() -> None:
    k = machine()
    g = mkdir(k, k.cgroup_root, "G")
    sub = mkdir(k, g, "sub")
    assert run(k, cgroup.cgroup_rmdir(k, g)) == -EBUSY  # a child
    t = new_task(k, sub, 2)
    assert run(k, cgroup.cgroup_rmdir(k, sub)) == -EBUSY  # a task
    assert not sub.removed and cgroup.cgroup_lookup(k, "/G/sub") is sub
    assert run(k, cgroup.cgroup_rmdir(k, k.cgroup_root)) == -EBUSY
    cgroup.cgroup_exit(k, t)
    assert sub.tasks == []
    assert run(k, cgroup.cgroup_rmdir(k, sub)) == 0
    assert run(k, cgroup.cgroup_rmdir(k, g)) == 0
    assert k.cgroup_root.children == {}


def test_rmdir_marks_removed_and_drops_the_creation_reference() -> None:
    k = machine()
    g = mkdir(k, k.cgroup_root, "G")
    mem = g.memcg
    assert mem is not None and mem.refcnt == 1 and mem.css_refcnt == 1
    assert run(k, cgroup.cgroup_rmdir(k, g)) == 0
    assert g.removed
    assert cgroup.cgroup_lookup(k, "/G") is None
    assert mem.refcnt == 0 and mem.css_refcnt == 0
    assert run(k, cgroup.cgroup_rmdir(k, g)) == -ENOENT
    assert cgroup.cgroup_mkdir(k, g, "x") == -ENOENT


def test_rmdir_of_a_memcg_kept_alive_by_a_swap_record() -> None:
    """mm/memcontrol.c: swap records hold mem_cgroup refs (mem_cgroup_get()); the struct
    outlives rmdir."""
    k = machine()
    g = mkdir(k, k.cgroup_root, "G")
    mem = g.memcg
    assert mem is not None
    memcontrol.mem_cgroup_get(k, mem)  # as swap_cgroup_record + mem_cgroup_get does
    assert run(k, cgroup.cgroup_rmdir(k, g)) == 0
    assert g.removed and mem.refcnt == 1 and not mem.freed
    memcontrol.mem_cgroup_put(k, mem)
    assert mem.refcnt == 0 and mem.freed


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_rmdir_sleeps_while_a_css_reference_is_held(kernel: str) -> None:
    """cgroup_rmdir() sleeps on cgroup_rmdir_waitq while a css reference nobody drops
    (here: taken by hand) remains: no thread can run, and nothing was removed."""
    k = machine(kernel)
    g = mkdir(k, k.cgroup_root, "G")
    assert g.memcg is not None
    memcontrol.css_get(k, g.memcg)
    with pytest.raises(Deadlock, match=r"cgroup_rmdir: schedule\(\)"):
        run(k, cgroup.cgroup_rmdir(k, g))
    assert not g.removed and g.memcg.css_refcnt == 2
    assert len(k.cgroup_rmdir_waitq.task_list) == 1


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_a_signal_ends_the_sleep_with_eintr_and_changes_nothing(kernel: str) -> None:
    """With signals possible (k.sleep_signals) the sleep is a choice; a signal makes rmdir
    return -EINTR, off the wait queue, CGRP_WAIT_ON_RMDIR clear, the group still there."""
    k = machine(kernel)
    k.sleep_signals = True
    g = mkdir(k, k.cgroup_root, "G")
    assert g.memcg is not None
    memcontrol.css_get(k, g.memcg)
    thread = k.execution.spawn("rmdir", cgroup.cgroup_rmdir(k, g), Current(None, 0))
    run_to_completion(k.execution, choose=lambda op: 1)
    assert thread.result == -EINTR
    assert not g.removed and not g.wait_on_rmdir and g.memcg.css_refcnt == 2
    assert k.cgroup_rmdir_waitq.task_list == []
    memcontrol.css_put(k, g.memcg)
    assert run(k, cgroup.cgroup_rmdir(k, g)) == 0


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_rmdir_succeeds_once_another_thread_drops_its_css_reference(kernel: str) -> None:
    """__css_put() dropping to the base reference wakes the sleeper, which starts over."""
    from swaplab.kernel.sync import cond_resched

    k = machine(kernel)
    g = mkdir(k, k.cgroup_root, "G")
    mem = g.memcg
    assert mem is not None
    memcontrol.css_get(k, mem)
    woken: list[int] = []

    async def holder() -> None:
        await cond_resched(k)
        woken.append(len(k.cgroup_rmdir_waitq.task_list))
        memcontrol.css_put(k, mem)

    k.execution.spawn("holder", holder(), Current(None, 0))
    assert run(k, cgroup.cgroup_rmdir(k, g)) == 0
    assert woken == [1]  # rmdir was asleep when the reference went
    assert g.removed and mem.css_refcnt == 0 and k.cgroup_rmdir_waitq.task_list == []


def test_attach_moves_the_task_but_not_its_charges() -> None:
    """LTP 36-38: moving a task does not move its charges (2.6.30/31)."""
    k = machine()
    g = mkdir(k, k.cgroup_root, "G")
    sub = mkdir(k, g, "sub")
    t = new_task(k, g, 2)
    pc = PageCgroup()
    page = Page(0, pc)
    pc.page = page
    assert t.mm is not None
    assert run(k, memcontrol.mem_cgroup_newpage_charge(k, page, t.mm, GFP_KERNEL), t) == 0
    assert g.memcg is not None and sub.memcg is not None
    assert g.memcg.res.usage == PAGE_SIZE and pc.mem_cgroup is g.memcg

    assert cgroup.cgroup_attach_task(k, sub, t) == 0
    assert t.cgroup is sub and sub.tasks == [t] and g.tasks == []
    assert t.mm.owner is t
    assert g.memcg.res.usage == PAGE_SIZE and sub.memcg.res.usage == 0
    assert pc.mem_cgroup is g.memcg

    pc2 = PageCgroup()
    page2 = Page(1, pc2)
    pc2.page = page2
    assert run(k, memcontrol.mem_cgroup_newpage_charge(k, page2, t.mm, GFP_KERNEL), t) == 0
    assert pc2.mem_cgroup is sub.memcg  # later charges go to the new group
    assert sub.memcg.res.usage == PAGE_SIZE and g.memcg.res.usage == PAGE_SIZE


def test_attach_to_the_same_group_and_to_a_removed_one() -> None:
    k = machine()
    g = mkdir(k, k.cgroup_root, "G")
    h = mkdir(k, k.cgroup_root, "H")
    t = new_task(k, g, 2)
    assert cgroup.cgroup_attach_task(k, g, t) == 0 and g.tasks == [t]
    assert run(k, cgroup.cgroup_rmdir(k, h)) == 0
    assert cgroup.cgroup_attach_task(k, h, t) == -ENODEV
    assert t.cgroup is g


def test_attach_to_a_limit_zero_group_succeeds() -> None:
    """LTP 38: moving a task into a group with limit 0 does not fail."""
    k = machine()
    g = mkdir(k, k.cgroup_root, "G")
    assert g.memcg is not None
    g.memcg.res.limit = 0
    t = new_task(k, k.cgroup_root, 2)
    assert cgroup.cgroup_attach_task(k, g, t) == 0


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_fork_and_exit_hooks_keep_the_task_list(kernel: str) -> None:
    k = machine(kernel)
    g = mkdir(k, k.cgroup_root, "G")
    t = new_task(k, g, 2)
    cgroup.cgroup_fork(k, t)  # idempotent
    assert g.tasks == [t]
    cgroup.cgroup_exit(k, t)
    cgroup.cgroup_exit(k, t)
    assert g.tasks == [] and t.cgroup is g


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_rmdir_after_moving_the_task_out_moves_the_charges_to_the_parent(kernel: str) -> None:
    """mm/memcontrol.c: mem_cgroup_pre_destroy(): rmdir's pre_destroy (force_empty, move
    path) hands the pages' charges to the parent; the task's later exit uncharges them
    there."""
    from swaplab.kernel import exit, fork, invariants

    k = make_kernel(kernel)
    root = k.root_mem_cgroup
    assert root is not None
    g = mkdir(k, k.cgroup_root, "G")
    mem = g.memcg
    assert mem is not None
    t = fork.create_task(k, g, "t")
    addr = mmap_anon(k, t, 3)
    touch(k, t, addr, 3)
    assert mem.res.usage == 3 * PAGE_SIZE and root.res.usage == 0
    assert run(k, cgroup.cgroup_rmdir(k, g)) == -EBUSY  # t is still in G
    assert cgroup.cgroup_attach_task(k, k.cgroup_root, t) == 0
    assert mem.res.usage == 3 * PAGE_SIZE  # attach moved nothing
    assert run(k, cgroup.cgroup_rmdir(k, g)) == 0
    assert root.res.usage == 3 * PAGE_SIZE and mem.res.usage == 0
    assert mem.freed and k.css_ids.get(mem.css_id) is None
    assert invariants.check_all(k) == []
    run(k, exit.do_exit(k, t), t)
    assert root.res.usage == 0
    assert invariants.check_all(k) == []
