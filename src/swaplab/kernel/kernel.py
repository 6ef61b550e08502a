"""The state of one modelled machine: every kernel global hangs off one :class:`Kernel`.

Nothing of the model lives in module globals, so runs never share state and a run is
determined by its configuration, its setup and its schedule. Fields are grouped by the
kernel file that owns the global in C.

Time (``jiffies``, kernel/timer.c) passes only where something sleeps on it, so every
driver stays deterministic: a timed sleep of the kernel (timer.schedule_timeout,
timer.congestion_wait) ends no earlier than its deadline, and a driver that keeps time
moves the clock too (the workload simulator's virtual clock; ``System.sleep`` between the
user's calls). Inside a step, every read and write of ``jiffies`` is recorded as an access
of ``jiffies_clock`` (sync.plain_write), so the explorer orders a sleep's wake-up against
the readers of the clock (the memcg OOM window of mm/memcontrol.c:
mem_cgroup_oom_called()). No state fingerprint of the kernel model exists (its scenarios
have none); one should not hold jiffies itself, which a busy-wait whose rounds sleep
(the page allocator's congestion_wait) changes in every round, so its states would never
repeat and the livelock test could never prove a cycle; what the model reads of the
clock is whether each memcg's last OOM is younger than HZ/10 (:func:`clock_state`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.config import KernelConfig
from swaplab.kernel.mm_types import NR_LRU_LISTS, PAGE_SIZE, AddressSpace, Page, TaskStruct
from swaplab.kernel.mmzone import Zone
from swaplab.kernel.sync import Execution, Lock, WaitQueueHead, plain_write

if TYPE_CHECKING:
    from swaplab.kernel.memcontrol import MemCgroup
    from swaplab.kernel.shmem import ShmemInode
    from swaplab.kernel.swapfile import SwapInfoStruct

#: mm/swap.c: PAGEVEC_SIZE
PAGEVEC_SIZE = 14
#: include/linux/jiffies.h: the model's tick rate (x86 default CONFIG_HZ=250 of 2009)
HZ = 250


class LruAddPvecs(list[list[Page]]):
    """mm/swap.c: one CPU's lru_add_pvecs, a pagevec per LRU list. Filling and draining
    them are plain code, recorded as accesses of this object (named by its CPU for the
    explorer, ops.stable_name), so a drain is ordered against the additions it sees."""

    __slots__ = ("cpu",)

    def __init__(self, cpu: int) -> None:
        super().__init__([] for _ in range(NR_LRU_LISTS))
        self.cpu = cpu

    @property
    def stable_key(self) -> int:
        return self.cpu


def lru_add_pvecs(ncpus: int) -> list[LruAddPvecs]:
    """Every CPU's empty LRU-add pagevecs."""
    return [LruAddPvecs(cpu) for cpu in range(ncpus)]


class SwapCacheInfo:
    """mm/swap_state.c: struct swap_cache_info (the sysrq-m statistics)."""

    __slots__ = ("add_total", "del_total", "find_success", "find_total")

    def __init__(self) -> None:
        self.add_total = 0
        self.del_total = 0
        self.find_success = 0
        self.find_total = 0


class JiffiesClock:
    """The ``jiffies`` counter as an object of the explorer's step records (a stable name
    across runs, for sleep sets)."""

    __slots__ = ()
    stable_key = "jiffies"

    def __repr__(self) -> str:
        return "jiffies"


class Kernel:
    """One machine: configuration, memory, zone, memcgs, tasks, swap, and the threads."""

    def __init__(self, cfg: KernelConfig, ram_bytes: int, ncpus: int = 1) -> None:
        cfg.check()
        self.cfg = cfg
        self.execution = Execution()
        # kernel/timer.c: jiffies (see the module docstring), and the deadline of every
        # thread in a timed sleep by thread id (for drivers that keep time)
        self.jiffies_clock = JiffiesClock()
        self._jiffies = 0
        self.timers: dict[int, int] = {}
        self.ncpus = ncpus
        #: whether a signal may interrupt an interruptible sleep (sync.schedule()): an
        #: environment choice the explorer then tries at every such sleep; off by default
        self.sleep_signals = False

        # mm/page_alloc.c
        self.totalram_pages = ram_bytes // PAGE_SIZE
        self.nr_free_pages = self.totalram_pages
        self.next_pfn = 0
        self.free_pfns: list[int] = []
        #: every allocated (not free) page by pfn, kept by page_alloc (the invariants walk it)
        self.pages: dict[int, Page] = {}
        self.zone = Zone(self.totalram_pages)

        # mm/swap.c: one pagevec per LRU list per CPU (lru_add_pvecs)
        self.lru_add_pvecs: list[LruAddPvecs] = lru_add_pvecs(ncpus)
        # lib/radix-tree.c: per CPU, whether its radix_tree_preloads pool is known full
        # (a CPU not in it: empty, as at boot)
        self.radix_tree_preloads: dict[int, bool] = {}

        # kernel/cgroup.c + mm/memcontrol.c
        self.cgroup_root = Cgroup("", None)
        self.root_mem_cgroup: MemCgroup | None = None
        self.css_ids: dict[int, MemCgroup] = {}
        self.next_css_id = 1
        self.memcg_tasklist = Lock("memcg_tasklist")
        #: kernel/cgroup.c: cgroup_mutex (every section it guards runs inside one step)
        self.cgroup_mutex = Lock("cgroup_mutex")
        #: kernel/cgroup.c: cgroup_rmdir_waitq, where rmdir sleeps for css references
        self.cgroup_rmdir_waitq = WaitQueueHead("cgroup_rmdir_waitq")

        # mm/oom_kill.c: how many tasks the OOM killers killed (global; per memcg css id)
        self.oom_kills = 0
        self.memcg_oom_kills: dict[int, int] = {}

        # kernel/fork.c, kernel/pid.c; tasklist_lock around the task family links
        self.tasklist_lock = Lock("tasklist_lock")
        self.tasks: dict[int, TaskStruct] = {}
        self.next_pid = 1

        # mm/vmscan.c: pages taken off the inactive lists by reclaim (pgscan in
        # /proc/vmstat counts global reclaim only; memcg reclaim is counted apart)
        self.pgscan_global = 0
        self.pgscan_memcg = 0

        # mm/vmscan.c, mm/swap.c sysctls
        self.vm_swappiness = 60
        self.page_cluster = 3

        # mm/swapfile.c
        self.swap_lock = Lock("swap_lock")
        #: mm/swapfile.c / kernel/fork.c: mmlist_lock, around init_mm.mmlist (on_mmlist)
        self.mmlist_lock = Lock("mmlist_lock")
        self.swap_info: list[SwapInfoStruct] = []
        self.swap_list_head = -1
        self.swap_list_next = -1
        self.nr_swap_pages = 0
        self.total_swap_pages = 0
        self.least_priority = 0
        self.nr_cache_only_swaps = 0  # RFC 3/5
        self.cache_only_gc_pending = False  # RFC 5/5: the delayed work is scheduled

        # mm/page_io.c: the swap device completes each write at once (a thread of its own,
        # kernel/page_io.py) unless told to hold them (System.hold_writes()): then it keeps
        # the pages written, in order, until page_io.complete_held_writes() ends them (a
        # write still in flight in a prepared state)
        self.hold_writes = False
        self.held_writes: list[Page] = []

        # mm/swap_state.c
        self.swapper_space = AddressSpace("swapper_space", swap_backed=True)
        self.swap_cache_info = SwapCacheInfo()

        # mm/page_cgroup.c: swap_cgroup, one css id per (type, offset)
        self.swap_cgroup: dict[tuple[int, int], int] = {}

        # kernel/user_access.py: who made each user store (stamp -> (pid, address); stamp 0
        # is zeroes) and every data-integrity violation seen, in order
        self.data_stores: list[tuple[int, int]] = [(0, 0)]
        self.data_violations: list[str] = []

        # ipc/shm.c and mm/shmem.c: SysV segments by key, shared /dev/zero inodes
        self.shm_segments: dict[int, ShmemInode] = {}
        #: mm/shmem.c: shmem_swaplist, the inodes that put pages on swap (swapoff's search)
        self.shmem_swaplist: list[ShmemInode] = []
        self.shm_next_id = 0  # ipc/util.c: ipc_addid() sequence, for fresh shmids

    @property
    def jiffies(self) -> int:
        """kernel/timer.c: jiffies (recorded as an access of ``jiffies_clock``)."""
        plain_write(self.jiffies_clock)
        return self._jiffies

    @jiffies.setter
    def jiffies(self, value: int) -> None:
        plain_write(self.jiffies_clock)
        self._jiffies = value


def clock_state(k: Kernel) -> tuple[bool, ...]:
    """What the model's behaviour can depend on of the clock: for every memcg (css id
    order), whether its last OOM is younger than HZ/10 (mm/memcontrol.c:
    mem_cgroup_oom_called()'s test). For a state fingerprint, instead of ``jiffies``."""
    now = k._jiffies
    return tuple(now - mem.last_oom_jiffies < HZ // 10
                 for _, mem in sorted(k.css_ids.items()))
