"""kernel/cgroup.c (2.6.30, 2.6.31): the cgroup tree of the memory controller's mount.

Only what the memory controller's mount needs: the root, mkdir, rmdir (with the memory
subsystem's pre_destroy/destroy callbacks), attaching a task, and the fork/exit hooks that
keep each cgroup's task list.

Abstractions: one hierarchy with only the memory subsystem mounted; css ids are handed out
by a counter (css_id(), kernel/cgroup.c: alloc_css_id()) and never reused within a run. A
cgroup's ``count`` (css_set references) is the length of its task list: a task leaves the
list at exit (cgroup_exit() moves it to init_css_set). ``cgroup_mutex`` is a model lock:
cgroup_rmdir() sleeps for it (an interleaving point, so other CPUs run between
pre_destroy and the css check), mkdir, attach and the destroy callback take it in plain
code (each section runs inside one step). rmdir sleeps on ``k.cgroup_rmdir_waitq`` until a
wake-up (sync.schedule()), never polls. The vfs i_mutex that serialises a mkdir in a
directory being removed is not modelled (rmdir re-checks children after pre_destroy, as the
kernel does, and returns -EBUSY).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from swaplab.kernel.errno import (
    E2BIG,
    EBUSY,
    EEXIST,
    EINTR,
    EINVAL,
    ENODEV,
    ENOENT,
    ESRCH,
    KernelBug,
)
from swaplab.kernel.mm_types import TASK_RUNNING
from swaplab.kernel.res_counter import simple_strtoull
from swaplab.kernel.sync import (
    WaitQueue,
    finish_wait,
    mutex_lock,
    mutex_lock_uncontended,
    mutex_unlock,
    plain_read,
    plain_write,
    prepare_to_wait,
    schedule,
    trace,
    wake_up_all,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.memcontrol import MemCgroup
    from swaplab.kernel.mm_types import TaskStruct


class Cgroup:
    """struct cgroup: a directory of the mount, its tasks and its memory css.

    ``removed`` is CGRP_REMOVED; ``wait_on_rmdir`` is CGRP_WAIT_ON_RMDIR (an rmdir asks to
    be woken by whoever drops a css reference; see cgroup_rmdir() for the two versions).
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

    @property
    def stable_key(self) -> str:
        """The explorer's name of this cgroup in every run (ops.stable_name)."""
        return self.path

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
    if not name or "/" in name or name in (".", ".."):
        return -EINVAL
    mutex_lock_uncontended(k, k.cgroup_mutex)
    ret = _cgroup_create(k, parent, name)
    mutex_unlock(k.cgroup_mutex)
    return ret


def _cgroup_create(k: Kernel, parent: Cgroup, name: str) -> Cgroup | int:
    """kernel/cgroup.c: cgroup_create() (under cgroup_mutex)."""
    from swaplab.kernel import memcontrol

    if parent.removed:
        return -ENOENT
    if name in parent.children:
        return -EEXIST
    cgrp = Cgroup(name, parent)
    mem = memcontrol.mem_cgroup_create(k, cgrp)
    cgrp.memcg = mem
    parent.children[name] = cgrp
    plain_write(parent)
    trace(k, "cgroup_mkdir()", cgrp.path)
    return cgrp


def cgroup_clear_css_refs(k: Kernel, cgrp: Cgroup) -> bool:
    """kernel/cgroup.c: cgroup_clear_css_refs() (under cgroup_mutex): the memory css may go
    only while its refcount is the base reference alone (1); then it drops to 0 and
    CSS_REMOVED is set (``obsolete``), so css_tryget() fails from now on. Returns False
    (nothing changed) while other references remain (charged pages, in-flight charges).
    The refcount is read and swapped with atomic operations: a plain write of the memcg
    to the explorer."""
    mem = cgrp.memcg
    if mem is None:
        return True
    plain_write(mem)
    if mem.css_refcnt > 1:
        return False
    if mem.css_refcnt < 1:
        raise KernelBug(f"cgroup_clear_css_refs: css refcnt {mem.css_refcnt} of {cgrp.path}")
    mem.css_refcnt = 0
    mem.obsolete = True
    return True


async def cgroup_rmdir(k: Kernel, cgrp: Cgroup) -> int:
    """kernel/cgroup.c: cgroup_rmdir() (and cgroup_diput() calling the destroy callback).

    -EBUSY with tasks or children (checked under cgroup_mutex before and again after
    pre_destroy) or for the root (the mount point); -ENOENT if already removed.
    mem_cgroup_pre_destroy() (force_empty on the move path: charges go to the parent) may
    fail with its own errno. Then cgroup_clear_css_refs(): while a css reference remains,
    rmdir sleeps on cgroup_rmdir_waitq until a wake-up and starts over, pre_destroy
    included; a signal (an explicit choice, ``k.sleep_signals``) ends the sleep with -EINTR.
    Success marks the cgroup removed, unlinks it from its parent and calls
    mem_cgroup_destroy(), which drops the memcg's creation reference: the struct lives on
    while swap records (and hierarchical children) hold references.

    The versions differ in CGRP_WAIT_ON_RMDIR: [30] sets it just before prepare_to_wait()
    and sleeps unconditionally (its wakers test the bit, and only __css_put() dropping to
    the base reference and attach wake); [31] sets it before pre_destroy, so a css holder
    bracketed by cgroup_exclude_rmdir() can wake the sleeper, its wakers test and clear
    it, and rmdir sleeps only if the bit is still set after prepare_to_wait().
    """
    if cgrp.parent is None:
        return -EBUSY
    if cgrp.removed:
        return -ENOENT
    wait = WaitQueue()
    q = k.cgroup_rmdir_waitq
    while True:
        await mutex_lock(k, k.cgroup_mutex, "cgroup_rmdir: mutex_lock(&cgroup_mutex)")
        plain_read(cgrp)  # atomic_read(&cgrp->count): cgroup_exit() changes it without the mutex
        busy = bool(cgrp.tasks or cgrp.children)
        mutex_unlock(k.cgroup_mutex)
        if busy:
            return -EBUSY
        if k.cfg.v31:
            set_wait_on_rmdir(cgrp, True)
        ret = await cgroup_call_pre_destroy(k, cgrp)
        if ret:
            set_wait_on_rmdir(cgrp, False)
            trace(k, "cgroup_rmdir()", "{} pre_destroy == {}", cgrp.path, ret)
            return ret
        await mutex_lock(k, k.cgroup_mutex, "cgroup_rmdir: mutex_lock(&cgroup_mutex)")
        plain_read(cgrp)
        if cgrp.tasks or cgrp.children:
            set_wait_on_rmdir(cgrp, False)
            mutex_unlock(k.cgroup_mutex)
            return -EBUSY
        if not k.cfg.v31:
            set_wait_on_rmdir(cgrp, True)
        prepare_to_wait(q, wait)
        if not cgroup_clear_css_refs(k, cgrp):
            mutex_unlock(k.cgroup_mutex)
            interrupted = False
            if not k.cfg.v31 or cgrp.wait_on_rmdir:
                interrupted = await schedule(k, q, wait, "cgroup_rmdir: schedule()")
            finish_wait(q, wait)
            set_wait_on_rmdir(cgrp, False)
            if interrupted:
                return -EINTR
            trace(k, "cgroup_rmdir()", "{}: css still referenced, again", cgrp.path)
            continue
        finish_wait(q, wait)
        set_wait_on_rmdir(cgrp, False)
        _cgroup_remove(k, cgrp)
        mutex_unlock(k.cgroup_mutex)
        cgroup_diput(k, cgrp)
        return 0


async def cgroup_call_pre_destroy(k: Kernel, cgrp: Cgroup) -> int:
    """kernel/cgroup.c: cgroup_call_pre_destroy(): the memory subsystem's pre_destroy
    (outside cgroup_mutex)."""
    from swaplab.kernel import memcontrol

    if cgrp.memcg is None:
        return 0
    return await memcontrol.mem_cgroup_pre_destroy(k, cgrp.memcg)


def set_wait_on_rmdir(cgrp: Cgroup, on: bool) -> None:
    """set_bit()/clear_bit() of CGRP_WAIT_ON_RMDIR: atomic bit operations on cgrp->flags."""
    cgrp.wait_on_rmdir = on
    plain_write(cgrp)


def _cgroup_remove(k: Kernel, cgrp: Cgroup) -> None:
    """The end of cgroup_rmdir() under cgroup_mutex: CGRP_REMOVED, unlink from the
    parent."""
    cgrp.removed = True
    parent = cgrp.parent
    assert parent is not None
    del parent.children[cgrp.name]
    plain_write(cgrp)
    plain_write(parent)
    trace(k, "cgroup_rmdir()", cgrp.path)


def cgroup_diput(k: Kernel, cgrp: Cgroup) -> None:
    """kernel/cgroup.c: cgroup_diput(): when the vfs drops the directory's last dentry
    reference (right after rmdir), the subsystem's destroy callback under cgroup_mutex."""
    from swaplab.kernel import memcontrol

    if cgrp.memcg is None:
        return
    mutex_lock_uncontended(k, k.cgroup_mutex)
    memcontrol.mem_cgroup_destroy(k, cgrp.memcg)
    mutex_unlock(k.cgroup_mutex)


def cgroup_attach_task(k: Kernel, cgrp: Cgroup, task: TaskStruct) -> int:
    """kernel/cgroup.c: cgroup_attach_task() (writing a pid to ``tasks``).

    Moves the task between task lists; the memory subsystem's attach callback
    (mem_cgroup_move_task) moves no charge in 2.6.30/2.6.31, and mm->owner stays the task,
    so pages charged before the move stay charged where they are, and later charges go to
    the new group. -ENODEV if ``cgrp`` was removed, -ESRCH for an exiting or dead task
    (attach_task_by_pid). Plain, under cgroup_mutex: the callback only takes and drops
    memcg_tasklist, which the model's OOM killer holds only within one step. Both versions
    then wake an rmdir sleeping on the new group (it will find the task and fail).
    """
    mutex_lock_uncontended(k, k.cgroup_mutex)
    ret = _attach_task(k, cgrp, task)
    mutex_unlock(k.cgroup_mutex)
    return ret


def _attach_task(k: Kernel, cgrp: Cgroup, task: TaskStruct) -> int:
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
    plain_write(old)
    plain_write(cgrp)
    cgroup_wakeup_rmdir_waiter(k, cgrp)
    trace(k, "cgroup_attach_task()", "{!r} {} -> {}", task, old.path, cgrp.path)
    return 0


def cgroup_fork(k: Kernel, task: TaskStruct) -> None:
    """kernel/cgroup.c: cgroup_fork() + cgroup_post_fork(): a new task joins the task list
    of ``task.cgroup`` (set by the caller to the parent's cgroup, or to the group a fresh
    task is created in). Idempotent."""
    if task not in task.cgroup.tasks:
        task.cgroup.tasks.append(task)
        plain_write(task.cgroup)


def cgroup_exit(k: Kernel, task: TaskStruct) -> None:
    """kernel/cgroup.c: cgroup_exit(): an exiting task leaves its cgroup's task list (C
    moves it to init_css_set; the model keeps ``task.cgroup`` naming the last group, for
    reports). Called by do_exit after exit_mm, so the group can be removed afterwards."""
    if task in task.cgroup.tasks:
        task.cgroup.tasks.remove(task)
        plain_write(task.cgroup)


def cgroup_wakeup_rmdir_waiter(k: Kernel, cgrp: Cgroup) -> None:
    """kernel/cgroup.c: [30] cgroup_wakeup_rmdir_waiters(): wake cgroup_rmdir_waitq if
    CGRP_WAIT_ON_RMDIR is set (the bit stays set); [31] cgroup_wakeup_rmdir_waiter(): the
    same with test_and_clear_bit(), so an rmdir that has not gone to sleep yet does not."""
    plain_write(cgrp)
    if not cgrp.wait_on_rmdir:
        return
    if k.cfg.v31:
        cgrp.wait_on_rmdir = False
    wake_up_all(k.cgroup_rmdir_waitq)


def cgroup_exclude_rmdir(k: Kernel, mem: MemCgroup) -> None:
    """kernel/cgroup.c: cgroup_exclude_rmdir() [31]: css_get() on the memory css, so a
    concurrent rmdir cannot clear the css refs until the matching release."""
    from swaplab.kernel.memcontrol import css_get

    css_get(k, mem)


def cgroup_release_and_wakeup_rmdir(k: Kernel, mem: MemCgroup) -> None:
    """kernel/cgroup.c: cgroup_release_and_wakeup_rmdir() [31]: wake a sleeping rmdir of
    the css's cgroup (it re-runs pre_destroy), then css_put()."""
    from swaplab.kernel.memcontrol import css_put

    cgroup_wakeup_rmdir_waiter(k, mem.cgroup)
    css_put(k, mem)


# ---------------------------------------------------------------------------------------
# Control files: struct cftype and the file layer (cgroup_file_read/cgroup_file_write)

#: kernel/cgroup.c: CGROUP_LOCAL_BUFFER_SIZE, the on-stack buffer of cgroup_write_X64() and
#: cgroup_write_string(): a write of this many bytes or more is refused with -E2BIG.
CGROUP_LOCAL_BUFFER_SIZE = 64

_U64_MASK = (1 << 64) - 1

#: What a write method returns: 0 or -errno, or (an ``async`` method that may reclaim and
#: sleep) a coroutine of it.
CftRet = int | Coroutine[Any, Any, int]

#: cft->private (include/linux/cgroup.h: an int): the subsystem's cookie; memcontrol's is
#: MEMFILE_PRIVATE(type, attr), a (counter type, res_counter member) pair in the model.
CftPrivate = tuple[int, str] | None


@dataclass(frozen=True, slots=True)
class Cftype:
    """include/linux/cgroup.h: struct cftype (2.6.30, 2.6.31): a control file, its
    ``private`` word and the methods it sets (None = unset).

    Methods take the cgroup, as in C (memcontrol's find their memcg with
    mem_cgroup_from_cont()); ``trigger`` takes cft->private as its ``event``. ``open``
    stands for a file with its own file operations (kernel/cgroup.c: the tasks file's
    cgroup_tasks_open()); here it returns the text a read of the file gives. Not modelled:
    read/write (raw), read_s64/write_s64, read_seq_string, max_write_len (every modelled file
    has the default), release.
    """

    name: str
    private: CftPrivate = None
    open: Callable[[Kernel, Cgroup, Cftype], str] | None = None
    read_u64: Callable[[Kernel, Cgroup, Cftype], int] | None = None
    read_map: Callable[[Kernel, Cgroup, Cftype], list[tuple[str, int]]] | None = None
    write_u64: Callable[[Kernel, Cgroup, Cftype, int], CftRet] | None = None
    write_string: Callable[[Kernel, Cgroup, Cftype, str], CftRet] | None = None
    trigger: Callable[[Kernel, Cgroup, CftPrivate], CftRet] | None = None


def strstrip(buf: str) -> str:
    """lib/string.c: strstrip(): without leading and trailing isspace() characters."""
    return buf.strip(" \t\n\v\f\r")


def cgroup_tasks_open(k: Kernel, cgrp: Cgroup, cft: Cftype) -> str:
    """kernel/cgroup.c: cgroup_tasks_open() and its seq_file: the pids of the group's tasks,
    sorted, one a line."""
    return "".join(f"{pid}\n" for pid in sorted(t.pid for t in cgrp.tasks))


def attach_task_by_pid(k: Kernel, cgrp: Cgroup, pid: int) -> int:
    """kernel/cgroup.c: attach_task_by_pid() (the writer is root: no permission test):
    -ESRCH for a pid without a live task (pid 0 would be the writer, which is not a modelled
    task), else cgroup_attach_task()."""
    ts = k.tasks.get(pid)
    if ts is None or ts.state != TASK_RUNNING or ts.exiting:
        return -ESRCH
    return cgroup_attach_task(k, cgrp, ts)


def cgroup_tasks_write(k: Kernel, cgrp: Cgroup, cft: Cftype, pid: int) -> int:
    """kernel/cgroup.c: cgroup_tasks_write(): attach_task_by_pid() (its test for a removed
    group, cgroup_lock_live_group(), is cgroup_file_write()'s here)."""
    return attach_task_by_pid(k, cgrp, pid)


#: kernel/cgroup.c: files[] (2.6.30, 2.6.31), the cgroup core's files of every directory.
#: Not modelled: notify_on_release and the root's release_agent (cft_release_agent), so
#: both are absent (cgroup.procs only came after 2.6.31).
files: tuple[Cftype, ...] = (
    Cftype("tasks", open=cgroup_tasks_open, write_u64=cgroup_tasks_write),
)


def cgroup_populate_dir(k: Kernel, cgrp: Cgroup) -> list[tuple[str, Cftype]]:
    """kernel/cgroup.c: cgroup_populate_dir(): the files of a directory in creation order,
    with their names: files[], then the memory subsystem's (mem_cgroup_populate()), named
    "memory." + cft->name as cgroup_add_file() names a subsystem's files."""
    from swaplab.kernel import memcontrol

    out = [(cft.name, cft) for cft in files]
    out += [(f"memory.{cft.name}", cft) for cft in memcontrol.mem_cgroup_populate(k, cgrp)]
    return out


def cgroup_file_read(k: Kernel, cgrp: Cgroup, cft: Cftype) -> str | int:
    """The text a read of an open control file returns, or -errno.

    kernel/cgroup.c: cgroup_file_open() gives a file with its own ``open`` (tasks) its own
    file operations and a read_map file a seq_file (cgroup_seqfile_show(): "key value" a
    line); any other file is read by cgroup_file_read(): cgroup_read_u64() ("%llu" and a
    newline) or -EINVAL (a write-only file such as force_empty, which root may open).
    """
    if cft.open is not None:
        return cft.open(k, cgrp, cft)
    if cft.read_map is not None:
        return "".join(f"{key} {val}\n" for key, val in cft.read_map(k, cgrp, cft))
    if cft.read_u64 is not None:
        return f"{cft.read_u64(k, cgrp, cft) & _U64_MASK}\n"
    return -EINVAL


def cgroup_write_X64(k: Kernel, cgrp: Cgroup, cft: Cftype, buf: str) -> CftRet:
    """kernel/cgroup.c: cgroup_write_X64() for a write_u64 method: -EINVAL for an empty
    write, -E2BIG from CGROUP_LOCAL_BUFFER_SIZE bytes on, then strstrip() and
    simple_strtoull(base 0); text after the number is -EINVAL (blanks only read as 0)."""
    nbytes = len(buf.encode())
    if not nbytes:
        return -EINVAL
    if nbytes >= CGROUP_LOCAL_BUFFER_SIZE:
        return -E2BIG
    val, rest = simple_strtoull(strstrip(buf), 0)
    if rest:
        return -EINVAL
    assert cft.write_u64 is not None
    return cft.write_u64(k, cgrp, cft, val)


def cgroup_write_string(k: Kernel, cgrp: Cgroup, cft: Cftype, buf: str) -> CftRet:
    """kernel/cgroup.c: cgroup_write_string(): -E2BIG from CGROUP_LOCAL_BUFFER_SIZE - 1
    bytes on (no file sets max_write_len), then the method gets the strstrip()ped text."""
    if len(buf.encode()) >= CGROUP_LOCAL_BUFFER_SIZE - 1:
        return -E2BIG
    assert cft.write_string is not None
    return cft.write_string(k, cgrp, cft, strstrip(buf))


def cgroup_file_write(k: Kernel, cgrp: Cgroup, cft: Cftype, buf: str) -> CftRet:
    """kernel/cgroup.c: cgroup_file_write(): -ENODEV for a removed group; else the file's
    write_u64 (cgroup_write_X64()), write_string (cgroup_write_string()) or trigger (with
    cft->private; the text is ignored); -EINVAL for a file without a write method (root
    may open a read-only one). 0 or -errno, or a coroutine of it (an ``async`` method)."""
    if cgrp.removed:
        return -ENODEV
    if cft.write_u64 is not None:
        return cgroup_write_X64(k, cgrp, cft, buf)
    if cft.write_string is not None:
        return cgroup_write_string(k, cgrp, cft, buf)
    if cft.trigger is not None:
        return cft.trigger(k, cgrp, cft.private)
    return -EINVAL
