"""mm/oom_kill.c (2.6.30 and 2.6.31: identical): the global and the memcg OOM killers.

What is kept: the choice of a victim (select_bad_process, badness), killing it or its first
child with an mm of its own (oom_kill_process, oom_kill_task), the memcg OOM entry
(mem_cgroup_out_of_memory), the global one (out_of_memory) and the page-fault one
(pagefault_out_of_memory, which defers to a recent memcg OOM). The memcontrol.c helpers it
calls (task_in_mem_cgroup, mem_cgroup_oom_called) are memcontrol.py's, re-exported here.

Killing a task = TIF_MEMDIE (``task.memdie``) + a pending SIGKILL (``task.sigkill``), and its
exit started as a thread of its own (``exit <pid>``, running ``exit.do_exit`` with the victim
as current): in the kernel the victim acts on the signal when it next returns to user space.
Kills are counted on the kernel: ``k.oom_kills`` (global OOM) and ``k.memcg_oom_kills[css id]``
(memcg OOM), one per task marked TIF_MEMDIE.

Abstractions: one zone and no NUMA, so constrained_alloc() is CONSTRAINT_NONE; sysctls
panic_on_oom = 0, oom_kill_allocating_task = 0, oom_dump_tasks = 0; the OOM notifier chain
frees nothing; tasklist_lock is not a model lock (a selection and its kills run in one
step); every task is its own thread group; no PF_SWAPOFF flag. ``panic()`` is a
:class:`KernelBug`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import memcontrol, timer
from swaplab.kernel.errno import KernelBug
from swaplab.kernel.kernel import HZ as HZ  # re-exported: the HZ/10 window of OOM kills
from swaplab.kernel.memcontrol import mem_cgroup_oom_called as mem_cgroup_oom_called
from swaplab.kernel.memcontrol import task_in_mem_cgroup as task_in_mem_cgroup
from swaplab.kernel.sync import (
    Current,
    current,
    kthread_run,
    spin_lock,
    spin_unlock,
    trace,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.memcontrol import MemCgroup
    from swaplab.kernel.mm_types import TaskStruct
    from swaplab.kernel.sync import Lock


#: include/linux/oom.h: /proc/<pid>/oom_adj value that exempts a task.
OOM_DISABLE = -17

#: unsigned long's maximum: the points of an exiting current task.
ULONG_MAX = (1 << 64) - 1

#: select_bad_process()'s ERR_PTR(-1UL) ("a victim is already dying: kill nothing"), as
#: the points value of a ``(None, OOM_ABORT)`` answer.
OOM_ABORT = -1

#: kernel/sysctl.c: vm.panic_on_oom (the model's machines never panic on OOM).
sysctl_panic_on_oom = 0


def is_global_init(task: TaskStruct) -> bool:
    """include/linux/sched.h: is_global_init(): pid 1, if the run made an init.

    The model boots no init: fork.create_task hands pid 1 to the first user task, which
    must stay killable (LTP memcg case 14 kills the only task of a group). So init is a
    task with pid 1 *and* comm "init" (a scenario that wants one creates it first).
    """
    return task.pid == 1 and task.comm == "init"


def badness(k: Kernel, task: TaskStruct) -> int:
    """mm/oom_kill.c: badness(): how good a victim ``task`` is.

    mm->total_vm, plus half (+1) of the total_vm of each child with an mm of its own,
    shifted by oom_adj. Constant in the model, so left out: the CPU-time and run-time
    divisors (no CPU clock: every task counts as just started, both factors are 0), the
    nice doubling (every task has nice 0), the CAP_SYS_ADMIN/RESOURCE/RAWIO quarters (no
    capabilities), the cpuset /8 (one cpuset), PF_SWAPOFF (not a task flag here).
    """
    mm = task.mm
    if mm is None:
        return 0
    points = mm.total_vm
    for child in task.children:
        if child.mm is not None and child.mm is not mm:
            points += child.mm.total_vm // 2 + 1
    adj = task.oom_adj
    if adj > 0:
        points = max(points, 1) << adj
    elif adj < 0:
        points >>= -adj
    return points


def select_bad_process(k: Kernel, mem: MemCgroup | None) -> tuple[TaskStruct | None, int]:
    """mm/oom_kill.c: select_bad_process(): the task with the most badness points.

    Walks the tasks in creation order (do_each_thread). Skipped: tasks without mm, init,
    tasks outside ``mem`` (memcg OOM; task_in_mem_cgroup), OOM_DISABLE tasks. An eligible
    task that already has TIF_MEMDIE, or is exiting and is not current, makes the whole
    OOM wait: ``(None, OOM_ABORT)``. An exiting current gets ULONG_MAX points. Ties go to
    the first task. Returns ``(chosen or None, points)``.
    """
    me = current(k).task
    chosen: TaskStruct | None = None
    chosen_points = 0
    for p in list(k.tasks.values()):
        if p.mm is None or is_global_init(p):
            continue
        if mem is not None and not task_in_mem_cgroup(k, p, mem):
            continue
        if p.memdie:
            return None, OOM_ABORT
        if p.exiting:
            if p is not me:
                return None, OOM_ABORT
            chosen, chosen_points = p, ULONG_MAX
        if p.oom_adj == OOM_DISABLE:
            continue
        points = badness(k, p)
        if points > chosen_points or chosen is None:
            chosen, chosen_points = p, points
    return chosen, chosen_points


async def __oom_kill_task(k: Kernel, p: TaskStruct, verbose: bool,
                          mem: MemCgroup | None) -> None:
    """mm/oom_kill.c: __oom_kill_task(): TIF_MEMDIE + SIGKILL (refused, with the kernel's
    WARN, for init and mm-less tasks). The model starts the victim's exit thread when this
    SIGKILL is the first one and the task is not exiting yet, and counts the kill."""
    if is_global_init(p) or p.mm is None:
        trace(k, "__oom_kill_task()", "refused: {!r}", p)
        return
    if verbose:
        trace(k, "__oom_kill_task()", "Killed process {} ({})", p.pid, p.comm)
    p.memdie = True
    if mem is not None:
        k.memcg_oom_kills[mem.css_id] = k.memcg_oom_kills.get(mem.css_id, 0) + 1
    else:
        k.oom_kills += 1
    await force_sig_sigkill(k, p)


async def force_sig_sigkill(k: Kernel, p: TaskStruct) -> None:
    """kernel/signal.c: force_sig(SIGKILL, p), with the model's delivery: the first SIGKILL
    of a task that is not exiting starts ``do_exit`` as a thread ``exit <pid>``, standing
    for the victim acting on the signal on its own CPU. A victim that is current acts on it
    itself when it returns to user space (do_page_fault's caller), not on a second thread
    that could tear its mm down under its own fault."""
    from swaplab.kernel import exit as kexit

    first = not p.sigkill
    p.sigkill = True
    if first and not p.exiting and p is not current(k).task:
        await kthread_run(k, f"exit {p.pid}", kexit.do_exit(k, p), Current(p, 0))


async def oom_kill_task(k: Kernel, p: TaskStruct, mem: MemCgroup | None) -> int:
    """mm/oom_kill.c: oom_kill_task(): 1 (refused) for an mm-less task or when any task
    sharing its mm is OOM_DISABLE; else kill it and SIGKILL the other tasks sharing its mm
    (without TIF_MEMDIE), 0."""
    mm = p.mm
    if mm is None:
        return 1
    tasks = list(k.tasks.values())
    for q in tasks:
        if q.mm is mm and q.oom_adj == OOM_DISABLE:
            return 1
    await __oom_kill_task(k, p, True, mem)
    for q in tasks:
        if q is not p and q.mm is mm:
            await force_sig_sigkill(k, q)
    return 0


async def oom_kill_process(k: Kernel, p: TaskStruct, gfp: int, points: int,
                           mem: MemCgroup | None, message: str) -> int:
    """mm/oom_kill.c: oom_kill_process(): an exiting victim only gets TIF_MEMDIE; else kill
    its first child (list order) with an mm of its own that can be killed (children are not
    filtered by memcg), else the victim. 0 when someone was killed, 1 when all refused.
    The memcg report (mem_cgroup_print_oom_info) goes to the trace."""
    me = current(k).task
    if mem is not None and me is not None:
        memcontrol.mem_cgroup_print_oom_info(k, mem, me)
    if p.exiting:
        await __oom_kill_task(k, p, False, mem)
        return 0
    trace(k, "oom_kill_process()",
          f"{message}: kill process {p.pid} ({p.comm}) score {points} or a child")
    for c in list(p.children):
        if c.mm is p.mm:
            continue
        if not await oom_kill_task(k, c, mem):
            return 0
    return await oom_kill_task(k, p, mem)


def _holds(k: Kernel, lock: Lock) -> bool:
    """Whether the running thread holds ``lock`` (a mutex is not recursive)."""
    running = k.execution.current
    return running is not None and lock.holder == running.tid


async def mem_cgroup_out_of_memory(k: Kernel, mem: MemCgroup, gfp: int) -> None:
    """mm/oom_kill.c: mem_cgroup_out_of_memory(): kill the worst task of ``mem`` (hierarchy
    aware), or current if the memcg has no eligible task; nothing if a victim is already
    dying. Runs under the memcg_tasklist mutex: __mem_cgroup_try_charge takes it around this
    call in C; if the caller does not hold it, it is taken here.

    Deviation: the kernel's retry after a refused kill picks the same task again forever
    (all refusals come from OOM_DISABLE); the model stops after one refusal per task.
    """
    lock = k.memcg_tasklist
    take = not _holds(k, lock)
    if take:
        await spin_lock(k, lock, "mem_cgroup_out_of_memory")
    try:
        trace(k, "mem_cgroup_out_of_memory()", "{!r}", mem)
        refused: list[TaskStruct] = []
        while True:
            p, points = select_bad_process(k, mem)
            if points == OOM_ABORT:
                break
            if p is None:
                p = current(k).task
            if p is None or p in refused:
                break
            if not await oom_kill_process(k, p, gfp, points, mem,
                                          "Memory cgroup out of memory"):
                break
            refused.append(p)
    finally:
        if take:
            spin_unlock(lock)


async def __out_of_memory(k: Kernel, gfp: int) -> None:
    """mm/oom_kill.c: __out_of_memory(): the global victim choice and kill. No eligible
    task at all -> panic ("Out of memory and no killable processes"), a KernelBug.
    Same retry deviation as mem_cgroup_out_of_memory()."""
    refused: list[TaskStruct] = []
    while True:
        p, points = select_bad_process(k, None)
        if points == OOM_ABORT:
            return
        if p is None:
            raise KernelBug("panic: Out of memory and no killable processes...")
        if p in refused:
            return
        if not await oom_kill_process(k, p, gfp, points, None, "Out of memory"):
            return
        refused.append(p)


async def out_of_memory(k: Kernel, gfp: int) -> None:
    """mm/oom_kill.c: out_of_memory() (the page allocator's, order 0): CONSTRAINT_NONE and
    panic_on_oom 0, so __out_of_memory(); then, unless current is the victim,
    schedule_timeout_uninterruptible(1): a tick's sleep that lets the victim's exit run."""
    trace(k, "out_of_memory()", "gfp {:#x}", gfp)
    if sysctl_panic_on_oom:
        raise KernelBug("panic: out of memory. panic_on_oom is selected")
    await __out_of_memory(k, gfp)
    task = current(k).task
    if task is None or not task.memdie:
        await timer.schedule_timeout_uninterruptible(
            k, 1, "out_of_memory: schedule_timeout_uninterruptible")


async def pagefault_out_of_memory(k: Kernel) -> None:
    """mm/oom_kill.c: pagefault_out_of_memory(): a fault ended in VM_FAULT_OOM. If the
    faulting task's memcg ran its OOM killer within HZ/10 (mem_cgroup_oom_called), the
    global OOM killer is skipped; else __out_of_memory(gfp 0). Then, unless current has
    TIF_MEMDIE, schedule_timeout_uninterruptible(1) (a tick passes); the caller retries
    the fault."""
    task = current(k).task
    if not mem_cgroup_oom_called(k, task):
        trace(k, "pagefault_out_of_memory()", "global OOM")
        if sysctl_panic_on_oom:
            raise KernelBug("panic: out of memory from page fault")
        await __out_of_memory(k, 0)
    if task is None or not task.memdie:
        await timer.schedule_timeout_uninterruptible(
            k, 1, "pagefault_out_of_memory: schedule_timeout_uninterruptible")
