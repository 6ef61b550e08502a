"""kernel/fork.c (2.6.30, 2.6.31): task creation and fork's address-space copy.

Abstractions: single-threaded processes (one task per mm, CLONE_VM not modelled); no
credentials, signals, files or namespaces; fork cannot fail (page tables need no memory in
the model). The child is attached to the parent's cgroup (cgroup_fork/cgroup_post_fork)
and registered in ``k.tasks`` only after its mm is built, as copy_process does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from swaplab.kernel import cgroup, memory, mmap
from swaplab.kernel.mm_types import VM_LOCKED, MmStruct, TaskStruct
from swaplab.kernel.sync import down_write, plain_write, spin_lock_held, trace, up_write

if TYPE_CHECKING:
    from swaplab.kernel.cgroup import Cgroup
    from swaplab.kernel.kernel import Kernel


def alloc_pid(k: Kernel) -> int:
    """kernel/pid.c: alloc_pid(): the next pid (never reused in a run)."""
    pid = k.next_pid
    k.next_pid += 1
    return pid


def create_task(k: Kernel, cgrp: Cgroup, comm: str) -> TaskStruct:
    """kernel/fork.c: copy_process() + exec for a fresh process: an empty mm owned by the
    task, attached to ``cgrp`` (cgroup_fork) and registered in ``k.tasks``. (No parent:
    the model boots no init.)"""
    mm = MmStruct()
    task = TaskStruct(alloc_pid(k), comm, mm, cgrp)
    mm.owner = task
    cgroup.cgroup_fork(k, task)
    k.tasks[task.pid] = task
    trace(k, "create_task()", "{!r} in {}", task, cgrp.path)
    return task


async def dup_mmap(k: Kernel, mm: MmStruct, oldmm: MmStruct) -> int:
    """kernel/fork.c: dup_mmap(): copy every vma (VM_LOCKED cleared: mlock is not
    inherited; locked_vm 0); a private vma's copy joins the parent's anon_vma at the
    tail, a shmem vma's copy the file's i_mmap; then copy_page_range per vma."""
    await down_write(k, oldmm.mmap_sem, "dup_mmap: down_write(oldmm->mmap_sem)")
    mm.total_vm = oldmm.total_vm
    mm.locked_vm = 0
    mm.free_area_cache = oldmm.free_area_cache
    mm.user_data = dict(oldmm.user_data)  # the child reads what its parent stored
    retval = 0
    for mpnt in list(oldmm.mmap):
        tmp = replace(mpnt, vm_mm=mm, vm_flags=mpnt.vm_flags & ~VM_LOCKED)
        await mmap.vma_link(k, mm, tmp)
        retval = await memory.copy_page_range(k, mm, oldmm, mpnt)
        if retval:
            break
    up_write(oldmm.mmap_sem)
    return retval


async def dup_mm(k: Kernel, tsk: TaskStruct, oldmm: MmStruct) -> MmStruct:
    """kernel/fork.c: dup_mm(): a new mm owned by the child, filled by dup_mmap()."""
    mm = MmStruct(owner=tsk)
    await dup_mmap(k, mm, oldmm)
    return mm


def clone_thread(k: Kernel, leader: TaskStruct) -> TaskStruct:
    """kernel/fork.c: copy_process(CLONE_VM | CLONE_THREAD ...): a thread of ``leader``'s
    process: the same mm (mm_users + 1; mm->owner stays the leader), the same cgroup."""
    assert leader.mm is not None
    thread = TaskStruct(alloc_pid(k), leader.comm, leader.mm, leader.cgroup,
                        parent=leader.parent, oom_adj=leader.oom_adj)
    plain_write(leader.mm)  # mm_users is an atomic_t
    leader.mm.mm_users += 1
    cgroup.cgroup_fork(k, thread)
    k.tasks[thread.pid] = thread
    trace(k, "clone_thread()", "{!r} -> {!r}", leader, thread)
    return thread


async def do_fork(k: Kernel, parent: TaskStruct) -> TaskStruct:
    """kernel/fork.c: do_fork() -> copy_process(): a child of ``parent`` with a copy of
    its mm (COW), in the parent's cgroup. No memcg charge: the pages stay charged once."""
    child = TaskStruct(alloc_pid(k), parent.comm, None, parent.cgroup, parent=parent,
                       oom_adj=parent.oom_adj)
    if parent.mm is not None:
        child.mm = await dup_mm(k, child, parent.mm)
    with spin_lock_held(k.tasklist_lock):
        parent.children.append(child)
    cgroup.cgroup_fork(k, child)
    k.tasks[child.pid] = child
    trace(k, "do_fork()", "{!r} -> {!r}", parent, child)
    return child

