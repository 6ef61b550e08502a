"""kernel/cgroup.c (2.6.30, 2.6.31): the cgroup tree of the memory controller's mount.

Only what the memory controller's mount needs: the root, mkdir, rmdir (with the memory
subsystem's pre_destroy/destroy callbacks), attaching a task, and the fork/exit hooks that
keep each cgroup's task list.

Abstractions: one hierarchy with only the memory subsystem mounted; css ids are handed out
by a counter (css_id(), kernel/cgroup.c: alloc_css_id()) and never reused within a run. A
cgroup's ``count`` (css_set references) is the length of its task list: a task leaves the
list at exit (cgroup_exit() moves it to init_css_set). ``cgroup_mutex`` is not a model
lock: every section it protects runs inside one step. The vfs i_mutex that serialises a
mkdir in a directory being removed is not modelled either (rmdir re-checks children after
pre_destroy, as the kernel does, and returns -EBUSY).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel.errno import EBUSY, EEXIST, EINTR, EINVAL, ENODEV, ENOENT, ESRCH, KernelBug
from swaplab.kernel.mm_types import TASK_RUNNING
from swaplab.kernel.sync import busy_retry, trace

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.memcontrol import MemCgroup
    from swaplab.kernel.mm_types import TaskStruct

#: How often cgroup_rmdir() sleeps on cgroup_rmdir_waitq for a css reference to go before
#: the model treats the sleeper as interrupted by a signal (-EINTR). The kernel sleeps
#: interruptibly with no bound; a bound keeps a run that leaks a css reference finite.
CGROUP_RMDIR_WAIT_ROUNDS = 64


class Cgroup:
    """struct cgroup: a directory of the mount, its tasks and its memory css.

    ``removed`` is CGRP_REMOVED; ``wait_on_rmdir`` is CGRP_WAIT_ON_RMDIR ([31]: an rmdir
    sleeps until a css reference holder wakes it).
    """

    __slots__ = ("children", "memcg", "name", "parent", "removed", "tasks", "wait_on_rmdir")

    def __init__(self, name: str, parent: Cgroup | None) -> None:
        self.name = name
        self.parent = parent
        self.children: dict[str, Cgroup] = {}
        self.tasks: list[TaskStruct] = []
        self.memcg: MemCgroup | None = None
        self.removed = False
        self.wait_on_rmdir = False

    @property
    def path(self) -> str:
        if self.parent is None:
            return "/"
        parent = self.parent.path
        return f"{parent.rstrip('/')}/{self.name}"

    def __repr__(self) -> str:
        return f"Cgroup({self.path!r})"


def cgroup_init_root(k: Kernel) -> MemCgroup:
    """kernel/cgroup.c: cgroup_init_subsys() for the memory subsystem: create the root
    memcg (mem_cgroup_create() on the top cgroup) and set ``k.root_mem_cgroup``.

    Idempotent: a second call returns the existing root memcg.
    """
    from swaplab.kernel import memcontrol

    root = k.cgroup_root
    if root.memcg is not None:
        return root.memcg
    mem = memcontrol.mem_cgroup_create(k, root)
    root.memcg = mem
    k.root_mem_cgroup = mem
    return mem


def cgroup_lookup(k: Kernel, path: str) -> Cgroup | None:
    """The cgroup at ``path`` ("/", "/G", "/G/sub"; a trailing or doubled "/" is ignored),
    or None. (A path walk of the mount, fs/namei.c, not a kernel/cgroup.c function.)"""
    cgrp = k.cgroup_root
    for part in path.split("/"):
        if not part:
            continue
        child = cgrp.children.get(part)
        if child is None:
            return None
        cgrp = child
    return cgrp


def cgroup_mkdir(k: Kernel, parent: Cgroup, name: str) -> Cgroup | int:
    """kernel/cgroup.c: cgroup_mkdir() -> cgroup_create(): a new child of ``parent``.

    Returns the cgroup, or -EEXIST (name taken), -ENOENT (parent removed), -EINVAL (empty
    name or one with "/", "." or ".."; the vfs refuses those). The memory css is made by
    mem_cgroup_create() before the cgroup is linked into its parent, as in C.
    """
    from swaplab.kernel import memcontrol

    if not name or "/" in name or name in (".", ".."):
        return -EINVAL
    if parent.removed:
        return -ENOENT
    if name in parent.children:
        return -EEXIST
    cgrp = Cgroup(name, parent)
    mem = memcontrol.mem_cgroup_create(k, cgrp)
    cgrp.memcg = mem
    parent.children[name] = cgrp
    trace(k, "cgroup_mkdir()", cgrp.path)
    return cgrp


def cgroup_clear_css_refs(k: Kernel, cgrp: Cgroup) -> bool:
    """kernel/cgroup.c: cgroup_clear_css_refs(): the memory css may go only while its
    refcount is the base reference alone (1); then it drops to 0 and the css is removed
    (CSS_REMOVED = ``cgrp.removed``, set by the caller), so css_tryget() fails from now on.
    Returns False (nothing changed) while other references remain (charged pages,
    in-flight charges)."""
    mem = cgrp.memcg
    if mem is None:
        return True
    if mem.css_refcnt > 1:
        return False
    if mem.css_refcnt < 1:
        raise KernelBug(f"cgroup_clear_css_refs: css refcnt {mem.css_refcnt} of {cgrp.path}")
    mem.css_refcnt = 0
    return True


async def cgroup_rmdir(k: Kernel, cgrp: Cgroup) -> int:
    """kernel/cgroup.c: cgroup_rmdir() (and cgroup_diput() calling the destroy callback).

    -EBUSY with tasks or children (checked before and again after pre_destroy) or for the
    root (the mount point); -ENOENT if already removed. mem_cgroup_pre_destroy() (force_empty
    on the move path: charges go to the parent) may fail with its own errno. Then the css
    refs are cleared: while a reference remains, rmdir sleeps and starts over, pre_destroy
    included (modelled as cond_resched() and a retry; after CGROUP_RMDIR_WAIT_ROUNDS rounds
    -EINTR, as if a signal came). Success marks the cgroup removed, unlinks it from its
    parent and calls mem_cgroup_destroy(), which drops the memcg's creation reference: the
    struct lives on while swap records (and hierarchical children) hold references.
    [30] and [31] differ only in when CGRP_WAIT_ON_RMDIR is set (before pre_destroy in
    [31], so a css holder bracketed by cgroup_exclude_rmdir() can wake the sleeper).
    """
    from swaplab.kernel import memcontrol

    if cgrp.parent is None:
        return -EBUSY
    if cgrp.removed:
        return -ENOENT
    for _ in range(CGROUP_RMDIR_WAIT_ROUNDS):
        if cgrp.tasks or cgrp.children:
            return -EBUSY
        mem = cgrp.memcg
        if k.cfg.v31:
            cgrp.wait_on_rmdir = True
        if mem is not None:
            ret = await memcontrol.mem_cgroup_pre_destroy(k, mem)
            if ret:
                cgrp.wait_on_rmdir = False
                trace(k, "cgroup_rmdir()", f"{cgrp.path} pre_destroy == {ret}")
                return ret
        if cgrp.tasks or cgrp.children:
            cgrp.wait_on_rmdir = False
            return -EBUSY
        cgrp.wait_on_rmdir = True
        if not cgroup_clear_css_refs(k, cgrp):
            await busy_retry(k, "cgroup_rmdir: wait on cgroup_rmdir_waitq")
            cgrp.wait_on_rmdir = False
            continue
        cgrp.wait_on_rmdir = False
        _cgroup_remove(k, cgrp)
        return 0
    return -EINTR


def _cgroup_remove(k: Kernel, cgrp: Cgroup) -> None:
    """The end of cgroup_rmdir() and cgroup_diput(): CGRP_REMOVED, unlink from the parent,
    then the memory subsystem's destroy callback."""
    from swaplab.kernel import memcontrol

    cgrp.removed = True
    parent = cgrp.parent
    assert parent is not None
    del parent.children[cgrp.name]
    trace(k, "cgroup_rmdir()", cgrp.path)
    if cgrp.memcg is not None:
        memcontrol.mem_cgroup_destroy(k, cgrp.memcg)


def cgroup_attach_task(k: Kernel, cgrp: Cgroup, task: TaskStruct) -> int:
    """kernel/cgroup.c: cgroup_attach_task() (writing a pid to ``tasks``).

    Moves the task between task lists; the memory subsystem's attach callback
    (mem_cgroup_move_task) moves no charge in 2.6.30/2.6.31, and mm->owner stays the task,
    so pages charged before the move stay charged where they are, and later charges go to
    the new group. -ENODEV if ``cgrp`` was removed, -ESRCH for an exiting or dead task
    (attach_task_by_pid). Plain: the callback only takes and drops memcg_tasklist, which
    the model's OOM killer holds only within one step.
    """
    if cgrp.removed:
        return -ENODEV
    if task.exiting or task.state != TASK_RUNNING:
        return -ESRCH
    old = task.cgroup
    if old is cgrp:
        return 0
    if task in old.tasks:
        old.tasks.remove(task)
    cgrp.tasks.append(task)
    task.cgroup = cgrp
    # [31] cgroup_attach_task(): cgroup_wakeup_rmdir_waiter(cgrp)
    if k.cfg.v31:
        cgroup_wakeup_rmdir_waiter(cgrp)
    trace(k, "cgroup_attach_task()", f"{task!r} {old.path} -> {cgrp.path}")
    return 0


def cgroup_fork(k: Kernel, task: TaskStruct) -> None:
    """kernel/cgroup.c: cgroup_fork() + cgroup_post_fork(): a new task joins the task list
    of ``task.cgroup`` (set by the caller to the parent's cgroup, or to the group a fresh
    task is created in). Idempotent."""
    if task not in task.cgroup.tasks:
        task.cgroup.tasks.append(task)


def cgroup_exit(k: Kernel, task: TaskStruct) -> None:
    """kernel/cgroup.c: cgroup_exit(): an exiting task leaves its cgroup's task list (C
    moves it to init_css_set; the model keeps ``task.cgroup`` naming the last group, for
    reports). Called by do_exit after exit_mm, so the group can be removed afterwards."""
    if task in task.cgroup.tasks:
        task.cgroup.tasks.remove(task)


def cgroup_wakeup_rmdir_waiter(cgrp: Cgroup) -> None:
    """kernel/cgroup.c: cgroup_wakeup_rmdir_waiter() [31]: clear CGRP_WAIT_ON_RMDIR (the
    sleeping rmdir retries)."""
    cgrp.wait_on_rmdir = False


def cgroup_exclude_rmdir(k: Kernel, mem: MemCgroup) -> None:
    """kernel/cgroup.c: cgroup_exclude_rmdir() [31]: css_get() on the memory css, so a
    concurrent rmdir cannot clear the css refs until the matching release."""
    mem.css_refcnt += 1


def cgroup_release_and_wakeup_rmdir(k: Kernel, mem: MemCgroup) -> None:
    """kernel/cgroup.c: cgroup_release_and_wakeup_rmdir() [31]: wake a sleeping rmdir of
    the css's cgroup (it re-runs pre_destroy), then css_put()."""
    cgroup_wakeup_rmdir_waiter(mem.cgroup)
    mem.css_refcnt -= 1
