"""The user's view of a modelled machine: a cgroup-v1 memory mount, /proc files and tasks.

:class:`System` is the one API that tests, the ``swaplab sh`` shell and users share::

    s = System(kernel="2.6.31", ram="256M", swap="512M", page_cluster=3)
    s.mkdir("/G"); s.write("/G/memory.limit_in_bytes", "40M")
    t = s.spawn("/G"); m = t.mmap_anon("100M"); t.touch(m); t.exit()

``patches`` picks the series' patches on 2.6.30 (``"1,2,4"``), ``fixes`` later fixes by
commit id on top of any kernel (``fixes="4969c1192d15"``, kernel/config.py: FIXES).

Paths name files below the memory controller's mount (``/G/memory.stat``, ``/tasks``) or,
below ``/proc``, the procfs files the model has (``/proc/meminfo``,
``/proc/sys/vm/swappiness``, ``/proc/sys/vm/page-cluster``, ``/proc/sysrq-trigger``).
A request the kernel refuses raises :class:`OSError` with the kernel's errno and changes
nothing.

Every user-visible operation runs as one kernel thread with ``Current(task, cpu=0)`` under
the run-to-completion driver; threads it starts (an OOM victim's exit, I/O completions) run
to the end before the call returns. Then every task with a pending SIGKILL that has not
started to exit acts on it, as on its return to user space: its ``do_exit`` runs as a
thread with ``current`` = that task. So after any call the machine is quiescent and a
killed task's state is "killed".

Time: ``jiffies`` (HZ = 250 a second) advance while the kernel sleeps on them inside a
call (congestion_wait() in reclaim and the page allocator, a tick after an OOM kill) and
when the user lets time pass with :meth:`System.sleep`; the calls themselves take no time,
so a script's result does not depend on how it is cut into calls. E.g. the memcg OOM
window: right after a memcg OOM kill ``mem_cgroup_oom_called()`` holds for the group's
tasks; ``s.sleep(0.1)`` (HZ/10 jiffies) ends it.

The cgroupfs part is the path walk: a path names a group and one of the files
kernel/cgroup.py's cgroup_populate_dir() gives its directory (the cftype tables: files[]
there, mem_cgroup_files[] and memsw_cgroup_files[] in memcontrol); reading and writing are
kernel/cgroup.c's cgroup_file_read()/cgroup_file_write() with the files' methods. The user
is root: a file's mode (cgroup_file_mode(): 0444 for read-only
files, 0200 for force_empty) does not stop root's open (CAP_DAC_OVERRIDE), so writing a
read-only file or reading a write-only one reaches cgroup_file_write()/cgroup_file_read(),
which answer EINVAL. Left out: ``notify_on_release``, ``release_agent`` (not modelled, so ENOENT),
and writing pid 0 to ``tasks`` (the writing shell is not a modelled task: ESRCH).
"""

from __future__ import annotations

import errno as _errno
import math
import os
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from swaplab.explore import Deadlock, StepLimit, run_to_completion
from swaplab.kernel import cgroup as kcgroup
from swaplab.kernel import exit as kexit
from swaplab.kernel import (
    filemap,
    fork,
    invariants,
    memcontrol,
    meminfo,
    memory,
    mlock,
    page_io,
    shmem,
    swap_state,
    swapfile,
    user_access,
    vmscan,
)
from swaplab.kernel import mmap as kmmap
from swaplab.kernel.cgroup import Cftype, Cgroup
from swaplab.kernel.config import make_config
from swaplab.kernel.errno import KernelBug
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import HZ, Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import (
    PAGE_SIZE,
    TASK_EXITED,
    TASK_KILLED,
    TASK_RUNNING,
    MmStruct,
    Page,
    TaskStruct,
)
from swaplab.kernel.res_counter import simple_strtoull
from swaplab.kernel.sync import Current
from swaplab.race.call import racing

__all__ = ["Mapping", "System", "Task", "parse_size"]

if TYPE_CHECKING:
    from swaplab.race import RaceResult

_SIZE = re.compile(r"\s*(\d+)\s*([kKmMgG]?)[bB]?\s*")
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30}

def parse_size(size: int | str) -> int:
    """Bytes from an int or a string such as ``"4096"``, ``"100M"``, ``"4k"``, ``"1G"``."""
    if isinstance(size, bool):
        raise ValueError(f"not a size: {size!r}")
    if isinstance(size, int):
        if size < 0:
            raise ValueError(f"negative size: {size}")
        return size
    match = _SIZE.fullmatch(size)
    if match is None:
        raise ValueError(f"not a size: {size!r} (use bytes or a K/M/G suffix)")
    return int(match.group(1)) << _SHIFT[match.group(2).lower()]


def _oserror(err: int, path: str) -> OSError:
    """An OSError for a negative or positive errno, as the C library would raise it."""
    code = abs(err)
    return OSError(code, os.strerror(code), path)


def _proc_dointvec(text: str) -> int | None:
    """kernel/sysctl.c: proc_dointvec() for one int: the value, or None (-EINVAL)."""
    s = text.strip()
    neg = s.startswith("-")
    if neg:
        s = s[1:]
    if not s[:1].isdigit():
        return None
    value, rest = simple_strtoull(s, 0)
    if rest and not rest[0].isspace():
        return None
    value &= (1 << 32) - 1
    if value >= 1 << 31:
        value -= 1 << 32
    return -value if neg else value


#: The procfs files the model has: name -> (readable, writable).
PROC_FILES: dict[str, tuple[bool, bool]] = {
    "/proc/meminfo": (True, False),
    "/proc/sys/vm/swappiness": (True, True),
    "/proc/sys/vm/page-cluster": (True, True),
    "/proc/sysrq-trigger": (False, True),
}


#: How a task that no longer runs is named in an error: ``task 2 was killed``.
_GONE = {TASK_EXITED: "has exited", TASK_KILLED: "was killed"}


@dataclass(frozen=True, slots=True)
class Mapping:
    """A mapping a task made: where, how long, and what it maps.

    ``kind`` is "anon" (private anonymous), "shared_zero" (shared /dev/zero: shmem) or
    "shm" (an attached SysV segment, ``shmid``). Valid in the task that made it and in the
    children it forks afterwards (same addresses).
    """

    addr: int
    length: int
    kind: str
    locked: bool = False
    shmid: int = -1

    @property
    def pages(self) -> int:
        return (self.length + PAGE_SIZE - 1) // PAGE_SIZE


class Task:
    """A user task of a :class:`System`; every method is one system call (or a fault loop).

    ``state`` is "running", "exited" or "killed" (by an OOM killer). A call on a task that
    is no longer running raises :class:`ProcessLookupError`. A call during which the task
    is killed returns normally (the dead process never sees its system call return).
    """

    __slots__ = ("_system", "task")

    def __init__(self, system: System, task: TaskStruct) -> None:
        self._system = system
        self.task = task

    @property
    def pid(self) -> int:
        return self.task.pid

    @property
    def state(self) -> str:
        return self.task.state

    @property
    def cgroup(self) -> str:
        return self.task.cgroup.path

    def __repr__(self) -> str:
        return f"Task(pid={self.pid}, {self.state}, {self.cgroup})"

    # -- helpers --------------------------------------------------------------------------

    def _alive(self, what: str) -> TaskStruct:
        ts = self.task
        if ts.state != TASK_RUNNING:
            raise ProcessLookupError(
                _errno.ESRCH, f"{what}: task {ts.pid} {_GONE[ts.state]}"
            )
        return ts

    def _call(self, what: str, body: Coroutine[Any, Any, Any]) -> Any:
        return self._system._run(f"{what} {self.task.pid}", body, self.task)

    def _check(self, ret: int, what: str) -> int:
        """Raise for a negative return unless the task died meanwhile."""
        if isinstance(ret, int) and ret < 0 and self.task.state == TASK_RUNNING:
            raise _oserror(ret, what)
        return ret

    def _mm(self, what: str) -> MmStruct:
        ts = self._alive(what)
        if ts.mm is None:
            raise ProcessLookupError(_errno.ESRCH, f"{what}: task {ts.pid} has no mm")
        return ts.mm

    # -- memory ---------------------------------------------------------------------------

    def mmap_anon(self, size: int | str, locked: bool = False) -> Mapping:
        """mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS[|MAP_LOCKED]).

        MAP_LOCKED fills the pages in at mmap time (mlock_vma_pages_range)."""
        flags = kmmap.MAP_PRIVATE | kmmap.MAP_ANONYMOUS | (kmmap.MAP_LOCKED if locked else 0)
        return self._mmap("mmap", size, flags, "anon", locked)

    def mmap_shared_zero(self, size: int | str) -> Mapping:
        """mmap of /dev/zero with MAP_SHARED: a shmem object (counts as cache)."""
        flags = kmmap.MAP_SHARED | kmmap.MAP_ANONYMOUS
        return self._mmap("mmap", size, flags, "shared_zero", False)

    def _mmap(self, what: str, size: int | str, flags: int, kind: str, locked: bool) -> Mapping:
        length = parse_size(size)
        mm = self._mm(what)
        k = self._system.k
        prot = kmmap.PROT_READ | kmmap.PROT_WRITE
        addr = self._call(what, kmmap.sys_mmap_pgoff(k, mm, 0, length, prot, flags, None))
        self._check(addr, what)
        return Mapping(max(addr, 0), length, kind, locked)

    def shm(self, key: int, size: int | str) -> Mapping:
        """shmget(key, size, IPC_CREAT) + shmat(shmid, NULL, 0)."""
        length = parse_size(size)
        mm = self._mm("shmat")
        k = self._system.k
        shmid = shmem.shmget(k, key, length)
        self._check(shmid, "shmget")
        addr = self._call("shmat", shmem.shmat(k, mm, shmid))
        self._check(addr, "shmat")
        return Mapping(max(addr, 0), length, "shm", shmid=shmid)

    def shmdt(self, m: Mapping) -> None:
        """shmdt(addr): detach a SysV segment (it lives on until IPC_RMID and last detach)."""
        mm = self._mm("shmdt")
        ret = self._call("shmdt", shmem.shmdt(self._system.k, mm, m.addr))
        self._check(ret, "shmdt")

    shm_detach = shmdt

    def shm_rmid(self, m: Mapping) -> None:
        """shmctl(shmid, IPC_RMID): destroy the segment once nobody has it attached."""
        self._alive("shmctl")
        ret = self._call("shmctl", shmem.shm_rmid(self._system.k, m.shmid))
        self._check(ret, "shmctl")

    def touch(self, m: Mapping, write: bool = True) -> int:
        """Fault in every page of ``m`` (one byte per page), as memcg_process does, then
        load the byte (and for a write, store a new value: kernel/user_access.py), so a
        page that lost its data shows in check_invariants() as data-integrity.

        Returns the number of pages touched; stops early when the task gets killed.
        A page with no mapping (or a write to a read-only one) raises EFAULT (where the
        process would get SIGSEGV)."""
        ts = self._alive("touch")
        k = self._system.k
        touched = self._call("touch", user_access.touch_pages(k, ts, m.addr, m.pages, write))
        return self._check(int(touched), "touch")

    def munmap(self, m: Mapping) -> None:
        mm = self._mm("munmap")
        ret = self._call("munmap", kmmap.sys_munmap(self._system.k, mm, m.addr, m.length))
        self._check(ret, "munmap")

    def madvise(self, m: Mapping, advice: str = "dontneed") -> None:
        """madvise(addr, len, MADV_DONTNEED): drop the mapping's pages (they fault in
        anew, zero-filled), under mmap_sem for read like a fault."""
        if advice != "dontneed":
            raise OSError(_errno.EINVAL, f"madvise: only dontneed is modelled, not {advice!r}")
        mm = self._mm("madvise")
        ret = self._call("madvise",
                         memory.sys_madvise_dontneed(self._system.k, mm, m.addr, m.length))
        self._check(ret, "madvise")

    def mlock(self, m: Mapping) -> None:
        """mlock(addr, len): fault in and lock every page (unevictable)."""
        mm = self._mm("mlock")
        ret = self._call("mlock", mlock.sys_mlock(self._system.k, mm, m.addr, m.length))
        self._check(ret, "mlock")

    def read_file(self, size: int | str) -> None:
        """read() ``size`` bytes of a file: clean page cache charged to the task's memcg."""
        ts = self._alive("read")
        nr = (parse_size(size) + PAGE_SIZE - 1) // PAGE_SIZE
        ret = self._call("read", filemap.read_file_pages(self._system.k, ts, nr))
        self._check(ret, "read")

    # -- process --------------------------------------------------------------------------

    def clone_thread(self) -> Task:
        """clone(CLONE_VM | CLONE_THREAD): a thread of this process, sharing its mm (its
        mappings, faults and mmap_sem) and its cgroup."""
        ts = self._alive("clone")
        if ts.mm is None:
            raise ProcessLookupError(_errno.ESRCH, f"clone: task {ts.pid} has no mm")
        return self._system._task(fork.clone_thread(self._system.k, ts))

    def fork(self) -> Task:
        """fork(): the child shares the parent's pages copy-on-write, in the same cgroup."""
        ts = self._alive("fork")
        child = self._call("fork", fork.do_fork(self._system.k, ts))
        if isinstance(child, int):
            raise _oserror(child, "fork")
        return self._system._task(child)

    def move_to(self, path: str) -> None:
        """echo PID > PATH/tasks."""
        self._alive("move")
        self._system.write(_join(path, "tasks"), str(self.pid))

    def exit(self) -> None:
        """exit(): tear the mm down (uncharging) and leave the cgroup."""
        ts = self._alive("exit")
        self._call("exit", kexit.do_exit(self._system.k, ts))


def _join(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}"


class System:
    """One modelled machine with the memory cgroup mounted; see the module docstring."""

    def __init__(
        self,
        kernel: str = "2.6.31",
        ram: int | str = "256M",
        swap: int | str = "512M",
        page_cluster: int = 3,
        patches: str | None = None,
        max_steps: int | None = None,
        fixes: str | None = None,
    ) -> None:
        cfg = make_config(kernel, patches, fixes)
        if page_cluster < 0:
            raise ValueError(f"page_cluster must be >= 0, not {page_cluster}")
        ram_bytes = parse_size(ram)
        if ram_bytes < 64 * PAGE_SIZE:
            raise ValueError(f"ram {ram!r} is too small (at least 256K)")
        self.k = Kernel(cfg, ram_bytes)
        self.max_steps = max_steps
        self.tasks_by_pid: dict[int, Task] = {}
        self.kmsg: list[str] = []
        kcgroup.cgroup_init_root(self.k)
        self.k.page_cluster = page_cluster
        if parse_size(swap):
            self.swapon(swap)

    def __repr__(self) -> str:
        return f"System({self.k.cfg.name}, ram={self.k.totalram_pages * PAGE_SIZE})"

    # -- running kernel code --------------------------------------------------------------

    def _run(self, name: str, body: Coroutine[Any, Any, Any], task: TaskStruct | None) -> Any:
        """Run ``body`` as a thread with ``current = task`` until every thread is done,
        then let every task with a pending SIGKILL act on it on its return to user space
        (do_notify_resume), as the task itself."""
        result = self._spawn_and_run(name, body, task)
        while True:
            doomed = [t for t in self.k.tasks.values()
                      if t.sigkill and t.state == TASK_RUNNING and not t.exiting]
            if not doomed:
                return result
            i = 0  # an index, not a for loop's iterator: a race's state caching reads
            while i < len(doomed):  # this frame's locals (race/call.py), not its stack
                ts = doomed[i]
                i += 1
                self._spawn_and_run(f"exit {ts.pid}", kexit.do_notify_resume(self.k, ts), ts)

    def _spawn_and_run(self, name: str, body: Coroutine[Any, Any, Any],
                       task: TaskStruct | None) -> Any:
        """``body``'s result, run to completion; inside :meth:`race`, the kernel path is
        handed to the explorer thread of the racing operation instead."""
        call = racing()
        if call is not None:
            return call.enter(body, task)
        execution = self.k.execution
        thread = execution.spawn(name, body, ctx=Current(task, 0))
        records, execution.records = execution.records, False  # nobody orders these steps
        try:
            run_to_completion(execution, max_steps=self.max_steps)
        except (KernelBug, Deadlock, StepLimit):
            execution.close()
            execution.reset()
            raise
        finally:
            execution.records = records
        return thread.result

    def _call(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Call a kernel function that may be plain or ``async``."""
        result = fn(*args)
        if isinstance(result, Coroutine):  # not inspect.iscoroutine(): compiled too
            return self._run(name, result, None)
        return result

    def _task(self, ts: TaskStruct) -> Task:
        task = self.tasks_by_pid.get(ts.pid)
        if task is None:
            task = Task(self, ts)
            self.tasks_by_pid[ts.pid] = task
        return task

    # -- cgroup directories ---------------------------------------------------------------

    def _cgroup(self, path: str) -> Cgroup:
        cgrp = self._lookup(path)
        if cgrp is None:
            raise _oserror(_errno.ENOENT, path)
        return cgrp

    def is_cgroup(self, path: str) -> bool:
        """Whether the absolute ``path`` is a memory cgroup directory."""
        return self._lookup(path) is not None

    def _lookup(self, path: str) -> Cgroup | None:
        """The cgroup at the absolute ``path`` ("." parts ignored), or None."""
        if not path.startswith("/"):
            raise _oserror(_errno.ENOENT, path)
        return kcgroup.cgroup_lookup(self.k, "/".join(p for p in path.split("/") if p != "."))

    def mkdir(self, path: str) -> None:
        """mkdir(2) in the memory mount: a new memory cgroup."""
        parent_path, _, name = path.rstrip("/").rpartition("/")
        if not name or name in (".", "..") or path.startswith("/proc/"):
            raise _oserror(_errno.EEXIST if not name else _errno.EPERM, path)
        parent = self._cgroup(parent_path or "/")
        if name in parent.children or _is_file(name):
            raise _oserror(_errno.EEXIST, path)
        ret = kcgroup.cgroup_mkdir(self.k, parent, name)
        if isinstance(ret, int):
            raise _oserror(ret, path)

    def rmdir(self, path: str) -> None:
        """rmdir(2): only an empty group (no tasks, no children) goes; charges move up."""
        cgrp = self._cgroup(path)
        if cgrp.parent is None:
            raise _oserror(_errno.EBUSY, path)
        ret = self._call(f"rmdir {path}", kcgroup.cgroup_rmdir, self.k, cgrp)
        if ret:
            raise _oserror(ret, path)

    def listdir(self, path: str = "/") -> list[str]:
        """The names in a cgroup directory: its files, then its child groups."""
        cgrp = self._cgroup(path)
        files = kcgroup.cgroup_populate_dir(self.k, cgrp)
        return [name for name, _ in files] + list(cgrp.children)

    def groups(self) -> list[str]:
        """Every cgroup path, parents before children."""
        out: list[str] = []
        todo = [self.k.cgroup_root]
        while todo:
            cgrp = todo.pop(0)
            out.append(cgrp.path)
            todo.extend(cgrp.children.values())
        return out

    def tasks(self, path: str = "/") -> list[int]:
        """The pids in a group's ``tasks`` file."""
        return sorted(t.pid for t in self._cgroup(path).tasks)

    def _file(self, path: str) -> tuple[Cgroup, Cftype]:
        """The group and the control file ``path`` names (the VFS lookup): EISDIR for a
        directory, ENOENT for a name the directory does not have."""
        if self._lookup(path) is not None:
            raise _oserror(_errno.EISDIR, path)
        directory, _, name = path.rpartition("/")
        cgrp = self._lookup(directory or "/")
        if cgrp is None:
            raise _oserror(_errno.ENOENT, path)
        for file_name, cft in kcgroup.cgroup_populate_dir(self.k, cgrp):
            if file_name == name:
                return cgrp, cft
        raise _oserror(_errno.ENOENT, path)

    # -- files ----------------------------------------------------------------------------

    def read(self, path: str) -> str:
        """The text a read of ``path`` returns (with the kernel's trailing newline)."""
        if path.startswith("/proc/"):
            return self._read_proc(path)
        cgrp, cft = self._file(path)
        _memcg(cgrp)
        ret = kcgroup.cgroup_file_read(self.k, cgrp, cft)
        if isinstance(ret, int):
            raise _oserror(ret, path)
        return ret

    def write(self, path: str, text: str | int) -> None:
        """write(2) of ``text`` to ``path`` (a trailing newline is stripped, as by cgroupfs);
        raises OSError with the kernel's errno when the write is refused."""
        buf = str(text)
        if path.startswith("/proc/"):
            self._write_proc(path, buf)
            return
        cgrp, cft = self._file(path)
        ret = self._call(f"write {path.rpartition('/')[2]}", kcgroup.cgroup_file_write,
                         self.k, cgrp, cft, buf)
        if ret:
            raise _oserror(int(ret), path)

    # -- /proc ----------------------------------------------------------------------------

    @staticmethod
    def _proc_open(path: str, write: bool) -> None:
        """ENOENT for a procfs file the model lacks; EIO for a read (write) of a file without
        a read (write) method, as fs/proc/inode.c: proc_reg_read()/proc_reg_write() answer."""
        access = PROC_FILES.get(path)
        if access is None:
            raise _oserror(_errno.ENOENT, path)
        if not access[write]:
            raise _oserror(_errno.EIO, path)

    def _read_proc(self, path: str) -> str:
        self._proc_open(path, write=False)
        k = self.k
        if path == "/proc/meminfo":
            return meminfo.meminfo_proc_show(k)
        if path == "/proc/sys/vm/swappiness":
            return f"{k.vm_swappiness}\n"
        return f"{k.page_cluster}\n"

    def _write_proc(self, path: str, buf: str) -> None:
        self._proc_open(path, write=True)
        k = self.k
        if path == "/proc/sysrq-trigger":
            if buf[:1]:
                self.kmsg.append(self.sysrq(buf[0]))
            return
        val = _proc_dointvec(buf)
        if path == "/proc/sys/vm/swappiness":
            # kernel/sysctl.c: vm_table: proc_dointvec_minmax, 0..100
            if val is None or not 0 <= val <= 100:
                raise _oserror(_errno.EINVAL, path)
            k.vm_swappiness = val
            return
        # page-cluster: proc_dointvec without bounds; a negative shift is undefined in C,
        # so the model refuses it (deviation).
        if val is None or val < 0:
            raise _oserror(_errno.EINVAL, path)
        k.page_cluster = val

    def sysrq(self, key: str) -> str:
        """SysRq: only 'm' (show memory) is modelled: show_swap_cache_info()'s lines."""
        if key != "m":
            raise _oserror(_errno.EINVAL, "/proc/sysrq-trigger")
        return swap_state.show_swap_cache_info(self.k)

    # -- swap -----------------------------------------------------------------------------

    def swapon(self, size: int | str, prio: int = -1, discard: bool = False) -> int:
        """swapon(2) of a swap area of ``size`` bytes; returns its type (index). ``discard``:
        on a device that supports discard, as an SSD (SWP_DISCARDABLE: scan_swap_map()
        discards each new free cluster; see kernel/swapfile.py)."""
        pages = parse_size(size) // PAGE_SIZE
        if pages < 2:
            raise _oserror(_errno.EINVAL, "swapon")
        ret = self._call("swapon", swapfile.sys_swapon, self.k, pages, prio, discard)
        if ret < 0:
            raise _oserror(ret, "swapon")
        return int(ret)

    def swapoff(self, type: int | None = None) -> None:
        """swapoff(2) of area ``type``, or of every area (``swapoff -a``)."""
        if type is not None:
            self._swapoff(type)
            return
        for t in [si.type for si in self.k.swap_info if _swap_area_active(si)]:
            self._swapoff(t)

    def _swapoff(self, type: int) -> None:
        ret = self._call(f"swapoff {type}", swapfile.sys_swapoff, self.k, type)
        if ret < 0:
            raise _oserror(ret, "swapoff")

    # -- tasks ----------------------------------------------------------------------------

    # -- what the kernel runs on its own (an operation of a race, or a nudge) ---------------

    def reclaim(self, path: str) -> int:
        """Limit reclaim of group ``path``, as a charge over its limit runs it
        (mm/vmscan.c: try_to_free_mem_cgroup_pages(), GFP_KERNEL, swap allowed, the group's
        swappiness): its return value, the pages reclaimed (a page written out to swap is
        freed later, when its I/O completes, and is not counted)."""
        mem = _memcg(self._cgroup(path))
        swappiness = memcontrol.get_swappiness(self.k, mem)
        freed = self._call(f"reclaim {path}", vmscan.try_to_free_mem_cgroup_pages, self.k, mem,
                           GFP_KERNEL, False, swappiness)
        return int(freed)

    def kswapd(self) -> int:
        """One wake-up of kswapd (mm/vmscan.c: kswapd() -> balance_pgdat() while the zone is
        below pages_high): the number of pages it freed."""
        freed = self._call("kswapd", vmscan.kswapd, self.k)
        return int(freed)

    def pages(self, task: Task, m: Mapping) -> list[Page]:
        """The pages of ``task``'s mapping ``m`` now: those its ptes map and the swap-cache
        pages of its swap ptes (none once its mm is gone), in address order: a choice of
        pages for :meth:`shrink_pages`, made when this is called."""
        mm = task.task.mm
        if task.task.state != TASK_RUNNING or mm is None:
            return []
        first, last = m.addr // PAGE_SIZE, (m.addr + m.length - 1) // PAGE_SIZE
        cache = self.k.swapper_space.page_tree
        chosen: list[Page] = []
        for vpn, pte in sorted(mm.ptes.items()):
            page = pte.page if pte.page is not None else cache.get(pte.swp)
            if first <= vpn <= last and page is not None and page not in chosen:
                chosen.append(page)
        return chosen

    def shrink_pages(self, pages: list[Page]) -> int:
        """kswapd's reclaim of chosen ``pages`` (from :meth:`pages`): those still on the
        zone's LRU lists go through mm/vmscan.c: shrink_page_list() with balance_pgdat()'s
        scan_control (global reclaim, swap and writepage allowed): add_to_swap(),
        try_to_unmap(), pageout() and, for a clean unmapped swap-cache page,
        __remove_mapping(). Returns the number freed (a page written out is freed by the
        next call, once its write completed). See kernel/vmscan.py: shrink_chosen_pages()."""
        freed = self._run("kswapd", vmscan.shrink_chosen_pages(self.k, list(pages)), None)
        return int(freed)

    def hold_writes(self, hold: bool = True) -> None:
        """From now on the swap device holds the writes submitted (True), as a slow disk
        would, until :meth:`complete_writes`: their pages stay under writeback (and a
        prepared state keeps them so); False: it completes new writes at once again, and
        keeps those it holds."""
        self.k.hold_writes = hold

    def complete_writes(self) -> int:
        """The swap device ends the writes it holds, oldest first (mm/page_io.c:
        end_swap_bio_write() for each, in one kernel thread: the I/O completion, a kernel
        actor of a race). Returns how many."""
        done = self._run("end_swap_bio_write", page_io.complete_held_writes(self.k), None)
        return int(done)

    def reclaim_cache_only(self) -> None:
        """What the kernel under test does about swap slots only the swap cache holds
        (kernel/swapfile.py: reclaim_cache_only()): 2.6.31 frees each one, as
        scan_swap_map() does once vm_swap_full(); RFC 5/5 runs its GC work; 2.6.30 has
        nothing (EINVAL)."""
        k = self.k
        if not (k.cfg.reuse_cache_only or k.cfg.cache_only_gc):
            raise _oserror(_errno.EINVAL, "reclaim_cache_only: this kernel has none")
        self._call("reclaim_cache_only", swapfile.reclaim_cache_only, k)

    def spawn(self, path: str = "/", comm: str = "task") -> Task:
        """A new task with an empty mm in the group ``path``."""
        cgrp = self._cgroup(path)
        ts = fork.create_task(self.k, cgrp, comm)
        return self._task(ts)

    def task(self, pid: int) -> Task:
        task = self.tasks_by_pid.get(pid)
        if task is None:
            raise ProcessLookupError(_errno.ESRCH, f"no task {pid}")
        return task

    def all_tasks(self) -> list[Task]:
        return [self.tasks_by_pid[pid] for pid in sorted(self.tasks_by_pid)]

    def read_file_cache(self, task: Task, size: int | str) -> None:
        """``task`` reads ``size`` bytes of a file: clean page cache in its memcg."""
        task.read_file(size)

    # -- time ---------------------------------------------------------------------------

    @property
    def jiffies(self) -> int:
        """kernel/timer.c: jiffies, the machine's clock in ticks (HZ a second)."""
        return self.k.jiffies

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass with nothing running (msecs_to_jiffies(): rounded up to
        whole ticks)."""
        if seconds < 0:
            raise ValueError(f"negative time: {seconds}")
        self.k.jiffies += math.ceil(round(seconds * HZ, 9))

    # -- checks ---------------------------------------------------------------------------

    def race(self, ops: dict[str, Callable[[], object]], strategy: str = "dpor",
             **options: Any) -> RaceResult:
        """Explore ``ops`` (label -> a callable using this System, e.g. ``task.exit`` or
        ``lambda: t.touch(m)``) run concurrently from the current state, which every
        execution starts from and which is restored afterwards (:mod:`swaplab.race`);
        ``options``: max_executions, preemption_bound, strict."""
        from swaplab.race import race

        return race(self, ops, strategy, **options)

    def check_invariants(self) -> list[str]:
        """kernel/invariants.check_all(): the broken invariants (empty = all hold)."""
        return list(invariants.check_all(self.k))


def _memcg(cgrp: Cgroup) -> MemCgroup:
    mem = cgrp.memcg
    if mem is None:
        raise _oserror(_errno.ENODEV, cgrp.path)
    return mem


def _is_file(name: str) -> bool:
    """A name some group's control file has (kernel/cgroup.c: files[], and every
    "memory." file, swap accounting or not)."""
    subsys = (*memcontrol.mem_cgroup_files, *memcontrol.memsw_cgroup_files)
    return name in {cft.name for cft in kcgroup.files} | {f"memory.{c.name}" for c in subsys}


def _swap_area_active(si: swapfile.SwapInfoStruct) -> bool:
    """An area swapon'ed and not yet swapoff'ed (SWP_USED and SWP_WRITEOK)."""
    active = swapfile.SWP_USED | swapfile.SWP_WRITEOK
    return si.flags & active == active
