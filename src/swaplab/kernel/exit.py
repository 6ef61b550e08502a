"""kernel/exit.c (2.6.30, 2.6.31): process exit, as far as memory goes.

Abstractions: exit_mm -> mm_update_next_owner, mmput -> exit_mmap; the task leaves its
cgroup (cgroup_exit) after its memory is gone; children are reparented to nobody (init is
not modelled); the task is reaped at once (it leaves its parent's children) but stays in
``k.tasks`` with its final state, for reports. No signals or files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import cgroup, mmap
from swaplab.kernel.mm_types import TASK_EXITED, TASK_KILLED, MmStruct, TaskStruct
from swaplab.kernel.sync import plain_write, spin_lock_held, trace

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel


async def mmput(k: Kernel, mm: MmStruct) -> None:
    """kernel/fork.c: mmput(): the last user tears the address space down (exit_mmap)
    and takes the mm off the swapoff mmlist."""
    plain_write(mm)  # mm_users is an atomic_t
    mm.mm_users -= 1
    if mm.mm_users == 0:
        await mmap.exit_mmap(k, mm)
        with spin_lock_held(k.mmlist_lock):
            mm.on_mmlist = False


async def exit_mm(k: Kernel, tsk: TaskStruct) -> None:
    """kernel/exit.c: exit_mm(): detach the mm from the task, hand the mm's ownership on
    (mm_update_next_owner), then mmput()."""
    mm = tsk.mm
    if mm is None:
        return
    with spin_lock_held(tsk.alloc_lock):  # task_lock(tsk)
        tsk.mm = None
    mm_update_next_owner(k, mm, tsk)
    await mmput(k, mm)


def mm_update_next_owner(k: Kernel, mm: MmStruct, p: TaskStruct) -> None:
    """kernel/exit.c: mm_update_next_owner() (CONFIG_MM_OWNER, 2.6.30 and 2.6.31): when
    the exiting owner ``p`` leaves other users of ``mm`` (mm_need_new_owner: mm_users > 1),
    the first task found using ``mm`` - among p's children, then its siblings, then every
    task - becomes mm->owner, so the mm's charges go to that task's memcg; with no such
    task (a swapoff or get_task_mm() holding mm_users) the owner is cleared. Found and
    assigned in one step: C's retry when the task found drops the mm before task_lock()
    cannot happen here."""
    if mm.mm_users <= 1 or mm.owner is not p:
        return
    if mm.first_owner_pid is None:
        mm.first_owner_pid = p.pid  # the explorer's name of the mm (stable_key) stays p's
    with spin_lock_held(k.tasklist_lock):  # read_lock(&tasklist_lock)
        siblings = p.parent.children if p.parent is not None else []
        candidates = [*p.children, *siblings, *k.tasks.values()]
        c = next((c for c in candidates if c.mm is mm), None)
    if c is None:
        plain_write(mm)
        mm.owner = None
        return
    with spin_lock_held(c.alloc_lock):  # task_lock(c): c->mm cannot change
        plain_write(mm)
        mm.owner = c


def exit_notify(k: Kernel, tsk: TaskStruct) -> None:
    """kernel/exit.c: forget_original_parent() + release: children lose their parent,
    the task leaves its parent's children list (under tasklist_lock)."""
    with spin_lock_held(k.tasklist_lock):
        for child in tsk.children:
            child.parent = None
        tsk.children = []
        if tsk.parent is not None and tsk in tsk.parent.children:
            tsk.parent.children.remove(tsk)


async def do_exit(k: Kernel, tsk: TaskStruct) -> None:
    """kernel/exit.c: do_exit(): PF_EXITING, exit_mm, cgroup_exit, exit_notify; the final
    state is "killed" for a task with a pending SIGKILL, else "exited". PF_EXITING and the
    state are the task's own fields, set by itself and read by others without a lock
    (plain writes of the task to the explorer)."""
    plain_write(tsk)
    tsk.exiting = True
    trace(k, "do_exit()", "{!r}", tsk)
    await exit_mm(k, tsk)
    cgroup.cgroup_exit(k, tsk)
    exit_notify(k, tsk)
    plain_write(tsk)
    tsk.state = TASK_KILLED if tsk.sigkill else TASK_EXITED


async def do_notify_resume(k: Kernel, tsk: TaskStruct) -> None:
    """arch/x86/kernel/signal.c: do_notify_resume() -> get_signal_to_deliver() ->
    do_group_exit(): on its way back to user space a task with a pending SIGKILL (an OOM
    killer's victim that was current) exits. Other signals are not modelled."""
    if tsk.sigkill and not tsk.exiting:
        await do_exit(k, tsk)
