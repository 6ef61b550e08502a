"""mm/memcontrol.c and include/linux/memcontrol.h (2.6.30, 2.6.31): the memory resource
controller: charging and uncharging pages (res and, with swap accounting, memsw), the
per-memcg LRU lists, the hierarchy, memcg reclaim and OOM, and the cgroup files.

Version switches, where the C changed:
- ``k.cfg.memcg_swap_refcount`` (4/5 "memcg: fix swap accounting"): the DROP charge type and
  mem_cgroup_uncharge_swapcache()'s ``swapout`` flag.
- ``k.cfg.v31`` (2.6.31 changes outside the series): ``memsw_is_minimum``, the mapped_file
  statistic, cgroup_exclude_rmdir() around the swap-in commit, the memcg LRU unlink after
  isolation and the rotation on -EBUSY in mem_cgroup_isolate_pages(), "-1" as a limit,
  mem_cgroup_read() of memsw files without testing do_swap_account.
- ``k.cfg.do_swap_account``: CONFIG_CGROUP_MEM_RES_CTLR_SWAP and no "noswapaccount".

Abstractions: the controller is never disabled (no cgroup_disable=memory); one node and one
zone, so the per-zone info is the memcg's own ``lists`` and their lengths are
MEM_CGROUP_ZSTAT; per-CPU statistics are one counter each; no page migration
(mem_cgroup_prepare_migration/end_migration) and no CONFIG_DEBUG_VM statistics. The css of
a memcg lives in the struct (``css_id``, ``css_refcnt``, ``obsolete`` = CSS_REMOVED); css
ids come from ``k.next_css_id``, ``k.css_ids`` is the idr (an id leaves it when the struct
is freed). The page_cgroup lock (lock_page_cgroup) and the res_counter spinlocks are taken
and dropped in plain code (every section they protect runs inside one step; the step's
record has the lock effects, so the explorer orders the sections); lock-free tests of
PCG_USED, res_counter usage and the LRU sizes are recorded as reads of those locks' sections,
css refcount operations as writes of the memcg. The per-memcg reclaim_param_lock and
set_limit_mutex are not modelled. Charging functions that may reclaim or OOM-kill are
``async``; commit, cancel, uncharge and the LRU hooks are plain.
"""

from __future__ import annotations

from itertools import islice
from math import isqrt
from typing import TYPE_CHECKING

from swaplab.kernel.cgroup import (
    CftPrivate,
    Cftype,
    cgroup_exclude_rmdir,
    cgroup_release_and_wakeup_rmdir,
    cgroup_wakeup_rmdir_waiter,
)
from swaplab.kernel.config import RMDIR_LRU_EMPTY
from swaplab.kernel.errno import BUG_ON, EBUSY, EINTR, EINVAL, ENOMEM, VM_BUG_ON, KernelBug
from swaplab.kernel.gfp import __GFP_WAIT, GFP_KERNEL
from swaplab.kernel.kernel import HZ as HZ  # re-exported: the tick rate of last_oom_jiffies
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_ACTIVE_FILE,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_UNEVICTABLE,
    NR_LRU_LISTS,
    PAGE_SHIFT,
    PAGE_SIZE,
    PageAnon,
    get_page_unless_zero,
    page_is_file_cache,
    page_mapped,
)
from swaplab.kernel.mmzone import ZoneReclaimStat as ZoneReclaimStat  # mmzone.h; re-exported
from swaplab.kernel.mmzone import lru_lock_held
from swaplab.kernel.page_cgroup import (
    PCG_CACHE,
    PCG_USED,
    ClearPageCgroupUsed,
    PageCgroupCache,
    PageCgroupUsed,
    lock_page_cgroup,
    lookup_swap_cgroup,
    swap_cgroup_record,
    unlock_page_cgroup,
)
from swaplab.kernel.page_flags import (
    PageActive,
    PageLocked,
    PageLRU,
    PageSwapCache,
    PageUnevictable,
)
from swaplab.kernel.res_counter import (
    RES_FAILCNT,
    RES_LIMIT,
    RES_MAX_USAGE,
    RES_USAGE,
    ResCounter,
    res_counter_charge,
    res_counter_check_under_limit,
    res_counter_memparse_write_strategy,
    res_counter_read_u64,
    res_counter_reset_failcnt,
    res_counter_reset_max,
    res_counter_set_limit,
    res_counter_uncharge,
)
from swaplab.kernel.sync import (
    busy_retry,
    cond_resched,
    current,
    plain_read,
    plain_write,
    spin_lock,
    spin_unlock,
    trace,
)

if TYPE_CHECKING:
    from swaplab.kernel.cgroup import Cgroup
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import MmStruct, Page, TaskStruct
    from swaplab.kernel.page_cgroup import PageCgroup

# enum mem_cgroup_stat_index
MEM_CGROUP_STAT_CACHE = "cache"
MEM_CGROUP_STAT_RSS = "rss"
MEM_CGROUP_STAT_MAPPED_FILE = "mapped_file"  # 2.6.31
MEM_CGROUP_STAT_PGPGIN_COUNT = "pgpgin"
MEM_CGROUP_STAT_PGPGOUT_COUNT = "pgpgout"

# enum charge_type
MEM_CGROUP_CHARGE_TYPE_CACHE = 0
MEM_CGROUP_CHARGE_TYPE_MAPPED = 1
MEM_CGROUP_CHARGE_TYPE_SHMEM = 2
MEM_CGROUP_CHARGE_TYPE_FORCE = 3
MEM_CGROUP_CHARGE_TYPE_SWAPOUT = 4
MEM_CGROUP_CHARGE_TYPE_DROP = 5  # 2.6.31 (4/5)

MEM_CGROUP_RECLAIM_RETRIES = 5

#: pcg_default_flags[]: the pc->flags a commit writes, by charge type (PCG_LOCK is the
#: pc's lock in the model). SWAPOUT and DROP are uncharge-only types: 0.
pcg_default_flags: dict[int, int] = {
    MEM_CGROUP_CHARGE_TYPE_CACHE: PCG_CACHE | PCG_USED,
    MEM_CGROUP_CHARGE_TYPE_MAPPED: PCG_USED,
    MEM_CGROUP_CHARGE_TYPE_SHMEM: PCG_CACHE | PCG_USED,
    MEM_CGROUP_CHARGE_TYPE_FORCE: 0,
}

# cft->private of the res_counter files: MEMFILE_PRIVATE(type, attr), the counter
# (_MEM: res, _MEMSWAP: memsw) and the res_counter member (RES_USAGE, ...).
_MEM = 0
_MEMSWAP = 1


def MEMFILE_PRIVATE(x: int, val: str) -> tuple[int, str]:
    """mm/memcontrol.c: MEMFILE_PRIVATE() (C packs the two into an int)."""
    return (x, val)


def MEMFILE_TYPE(val: CftPrivate) -> int:
    """mm/memcontrol.c: MEMFILE_TYPE(): _MEM or _MEMSWAP."""
    BUG_ON(val is None, "MEMFILE_TYPE() of a file without private")
    assert val is not None
    return val[0]


def MEMFILE_ATTR(val: CftPrivate) -> str:
    """mm/memcontrol.c: MEMFILE_ATTR(): the res_counter member."""
    BUG_ON(val is None, "MEMFILE_ATTR() of a file without private")
    assert val is not None
    return val[1]


class MemCgroup:
    """struct mem_cgroup with its embedded css (``css_id``, ``css_refcnt``, ``obsolete``).

    ``refcnt`` is the struct's own reference count (mem_cgroup_get/put): 1 from creation
    until the cgroup's destroy, +1 per child created under use_hierarchy, +1 per swap_cgroup
    record naming this memcg. ``css_refcnt`` is 1 (the cgroup's base reference) + one per
    charged page + one per in-flight charge or walker. ``parent`` is the memcg of the
    cgroup's parent (with or without use_hierarchy); the res_counter parents exist only
    under use_hierarchy. ``lists`` are the per-zone memcg LRU lists of page_cgroups (one
    zone; insertion order: the first entry is the list tail, the oldest); their lengths
    are MEM_CGROUP_ZSTAT. ``freed`` is set when __mem_cgroup_free() ran.
    """

    __slots__ = (
        "cgroup",
        "children",
        "css_id",
        "css_refcnt",
        "freed",
        "last_oom_jiffies",
        "last_scanned_child",
        "lists",
        "memsw",
        "memsw_is_minimum",
        "obsolete",
        "parent",
        "prev_priority",
        "reclaim_stat",
        "refcnt",
        "res",
        "stat",
        "swappiness",
        "use_hierarchy",
    )

    def __init__(self, css_id: int, cgroup: Cgroup, parent: MemCgroup | None,
                 hierarchical: bool) -> None:
        self.css_id = css_id
        self.cgroup = cgroup
        self.parent = parent
        self.children: list[MemCgroup] = []
        self.css_refcnt = 1
        self.refcnt = 1
        self.res: ResCounter = ResCounter(parent.res if hierarchical and parent else None, self)
        self.memsw: ResCounter = ResCounter(
            parent.memsw if hierarchical and parent else None, self, "memsw"
        )
        self.lists: list[dict[PageCgroup, None]] = [{} for _ in range(NR_LRU_LISTS)]
        self.stat: dict[str, int] = {
            MEM_CGROUP_STAT_CACHE: 0,
            MEM_CGROUP_STAT_RSS: 0,
            MEM_CGROUP_STAT_MAPPED_FILE: 0,
            MEM_CGROUP_STAT_PGPGIN_COUNT: 0,
            MEM_CGROUP_STAT_PGPGOUT_COUNT: 0,
        }
        self.use_hierarchy: bool = parent.use_hierarchy if parent else False
        self.swappiness: int = parent.swappiness if parent else 60
        self.last_scanned_child = 0
        self.memsw_is_minimum = False
        self.obsolete = False
        self.freed = False
        self.last_oom_jiffies = -(10**9)
        self.prev_priority = 0
        self.reclaim_stat = ZoneReclaimStat()

    @property
    def stable_key(self) -> int:
        """The explorer's name of this memcg in every run (ops.stable_name)."""
        return self.css_id

    def __repr__(self) -> str:
        return f"memcg({self.cgroup.path})"


# ---------------------------------------------------------------------------------------------
# css references, lookups and the tree walk (kernel/cgroup.c helpers as memcontrol uses them)


def memcg_check_live(mem: MemCgroup, who: str) -> None:
    """What KASAN reports when kernel code touches a freed struct mem_cgroup through a stale
    pointer (a pc->mem_cgroup, a swap record's id looked up too late, a pointer kept across
    rmdir): a :class:`KernelBug` naming the object and the function. Called where the
    model's kernel functions dereference a memcg; not a kernel function."""
    if mem.freed:
        raise KernelBug(f"use-after-free: {who} touches {mem!r} (css id {mem.css_id}), "
                        "freed by __mem_cgroup_free()")


def css_get(k: Kernel, mem: MemCgroup) -> None:
    """include/linux/cgroup.h: css_get(): an atomic increment (a plain write of the memcg
    to the explorer, as every css refcount operation here)."""
    memcg_check_live(mem, "css_get()")
    plain_write(mem)
    mem.css_refcnt += 1


def css_tryget(k: Kernel, mem: MemCgroup) -> bool:
    """include/linux/cgroup.h: css_tryget(): fails once the css is removed (rmdir)."""
    memcg_check_live(mem, "css_tryget()")
    plain_write(mem)
    if mem.obsolete or mem.css_refcnt <= 0:
        return False
    mem.css_refcnt += 1
    return True


def css_put(k: Kernel, mem: MemCgroup) -> None:
    """include/linux/cgroup.h: css_put() -> kernel/cgroup.c: __css_put(). Dropping a
    reference nobody holds is the css refcount underflow of 2.6.29's swapoff bug: a
    :class:`KernelBug`. Dropping to the base reference wakes a sleeping rmdir."""
    memcg_check_live(mem, "css_put()")
    plain_write(mem)
    mem.css_refcnt -= 1
    BUG_ON(mem.css_refcnt < 0, "css_put({!r}): css refcount below 0", mem)
    if mem.css_refcnt == 1:
        cgroup_wakeup_rmdir_waiter(k, mem.cgroup)


def css_is_removed(mem: MemCgroup) -> bool:
    """include/linux/cgroup.h: css_is_removed() (CSS_REMOVED)."""
    return mem.obsolete


def css_is_ancestor(child: MemCgroup, root: MemCgroup) -> bool:
    """kernel/cgroup.c: css_is_ancestor(): ``root`` is ``child`` or one of its ancestors in
    the cgroup tree (css id stacks; use_hierarchy plays no part)."""
    node: MemCgroup | None = child
    while node is not None:
        if node is root:
            return True
        node = node.parent
    return False


def _css_get_next(k: Kernel, nextid: int, root: MemCgroup) -> MemCgroup | None:
    """kernel/cgroup.c: css_get_next(): the css with the smallest id >= ``nextid`` in the
    subtree of ``root`` (root included); removed but not yet freed memcgs still count."""
    for css_id in sorted(k.css_ids):
        mem = k.css_ids[css_id]
        if css_id >= nextid and css_is_ancestor(mem, root):
            return mem
    return None


def mem_cgroup_walk_tree(k: Kernel, root: MemCgroup) -> list[MemCgroup]:
    """mm/memcontrol.c: mem_cgroup_walk_tree(): the memcgs a walk visits, in css id order:
    just ``root`` without use_hierarchy, else every memcg of the subtree that css_tryget()
    accepts (removed ones are skipped). The callback runs between tryget and put; the
    callers' callbacks are plain, so the model returns the list instead."""
    if not root.use_hierarchy:
        return [root]
    return [
        mem for css_id, mem in sorted(k.css_ids.items())
        if css_is_ancestor(mem, root) and not mem.obsolete and mem.css_refcnt > 0
    ]


def mem_cgroup_count_children(k: Kernel, mem: MemCgroup) -> int:
    """mm/memcontrol.c: mem_cgroup_count_children(): 1 + live descendants under
    use_hierarchy, else 1."""
    return len(mem_cgroup_walk_tree(k, mem))


def mem_cgroup_from_task(k: Kernel, task: TaskStruct | None) -> MemCgroup | None:
    """mm/memcontrol.c: mem_cgroup_from_task(): the memcg of the task's cgroup; None for
    no task (mm->owner may be cleared)."""
    if task is None:
        return None
    return task.cgroup.memcg


def try_get_mem_cgroup_from_mm(k: Kernel, mm: MmStruct | None) -> MemCgroup | None:
    """mm/memcontrol.c: try_get_mem_cgroup_from_mm(): the memcg of ``mm->owner`` with a css
    reference. None for no mm, no owner (init_mm has none) or no memcg.

    Deviation: the kernel retries css_tryget() while the owner moves between groups; in the
    model a move is atomic, so a failed tryget (the owner's group removed) returns None.
    """
    if mm is None:
        return None
    mem = mem_cgroup_from_task(k, mm.owner)
    if mem is None or not css_tryget(k, mem):
        return None
    return mem


def mm_match_cgroup(k: Kernel, mm: MmStruct, mem: MemCgroup) -> bool:
    """include/linux/memcontrol.h: mm_match_cgroup(): ``mm->owner``'s memcg is ``mem``."""
    return mem_cgroup_from_task(k, mm.owner) is mem


def task_in_mem_cgroup(k: Kernel, task: TaskStruct, mem: MemCgroup) -> bool:
    """mm/memcontrol.c: task_in_mem_cgroup(): the memcg of ``task->mm->owner`` is ``mem``,
    or has use_hierarchy and ``mem`` is one of its ancestors."""
    curr = try_get_mem_cgroup_from_mm(k, task.mm)
    if curr is None:
        return False
    ret = css_is_ancestor(curr, mem) if curr.use_hierarchy else curr is mem
    css_put(k, curr)
    return ret


def mem_cgroup_lookup(k: Kernel, css_id: int) -> MemCgroup | None:
    """mm/memcontrol.c: mem_cgroup_lookup(): css_lookup() of a swap record's id; 0 is
    none. May return a removed (obsolete) memcg until it is freed."""
    if not css_id:
        return None
    return k.css_ids.get(css_id)


def parent_mem_cgroup(mem: MemCgroup) -> MemCgroup | None:
    """mm/memcontrol.c: parent_mem_cgroup(): the parent under use_hierarchy (the owner of
    res.parent), else None."""
    parent = mem.res.parent
    if parent is None:
        return None
    owner = parent.owner
    assert isinstance(owner, MemCgroup)
    return owner


def _signal_pending(k: Kernel) -> bool:
    """include/linux/sched.h: signal_pending(current): the model has only SIGKILL."""
    task = current(k).task
    return task is not None and task.sigkill


def _has_children(cgrp: Cgroup) -> bool:
    """``!list_empty(&cgrp->children)``."""
    return any(not child.removed for child in cgrp.children.values())


# ---------------------------------------------------------------------------------------------
# Statistics


def mem_cgroup_charge_statistics(k: Kernel, mem: MemCgroup, pc: PageCgroup, charge: bool) -> None:
    """mm/memcontrol.c: mem_cgroup_charge_statistics(): cache or rss +-1, pgpgin/pgpgout."""
    memcg_check_live(mem, "mem_cgroup_charge_statistics()")
    val = 1 if charge else -1
    if PageCgroupCache(pc):
        mem.stat[MEM_CGROUP_STAT_CACHE] += val
    else:
        mem.stat[MEM_CGROUP_STAT_RSS] += val
    if charge:
        mem.stat[MEM_CGROUP_STAT_PGPGIN_COUNT] += 1
    else:
        mem.stat[MEM_CGROUP_STAT_PGPGOUT_COUNT] += 1


def mem_cgroup_local_usage(mem: MemCgroup) -> int:
    """mm/memcontrol.c: mem_cgroup_local_usage(): cache + rss pages of this memcg alone."""
    return mem.stat[MEM_CGROUP_STAT_CACHE] + mem.stat[MEM_CGROUP_STAT_RSS]


def mem_cgroup_get_local_zonestat(mem: MemCgroup, lru: int) -> int:
    """mm/memcontrol.c: mem_cgroup_get_local_zonestat(): MEM_CGROUP_ZSTAT of one list."""
    return len(mem.lists[lru])


def mem_cgroup_zone_nr_pages(k: Kernel, mem: MemCgroup, lru: int) -> int:
    """mm/memcontrol.c: mem_cgroup_zone_nr_pages() (one zone): MEM_CGROUP_ZSTAT, read
    without zone->lru_lock, under which the lists change: a plain read of that lock's
    sections to the explorer."""
    plain_read(k.zone.lru_lock)
    return len(mem.lists[lru])


def mem_cgroup_update_mapped_file_stat(k: Kernel, page: Page, val: int) -> None:
    """mm/memcontrol.c: mem_cgroup_update_mapped_file_stat() [31]: the mapped_file count of
    the page's memcg, for charged file-cache pages only (not anon, not shmem)."""
    if not k.cfg.v31 or not page_is_file_cache(page):
        return
    pc = page.page_cgroup
    mem = pc.mem_cgroup
    if mem is None or not PageCgroupUsed(pc):
        return
    mem.stat[MEM_CGROUP_STAT_MAPPED_FILE] += val


def calc_inactive_ratio(mem: MemCgroup) -> int:
    """mm/memcontrol.c: calc_inactive_ratio(): int_sqrt(10 * GB of anon pages), at least 1."""
    pages = len(mem.lists[LRU_INACTIVE_ANON]) + len(mem.lists[LRU_ACTIVE_ANON])
    gb = pages >> (30 - PAGE_SHIFT)
    return isqrt(10 * gb) if gb else 1


def mem_cgroup_inactive_anon_is_low(k: Kernel, mem: MemCgroup) -> bool:
    """mm/memcontrol.c: mem_cgroup_inactive_anon_is_low()."""
    inactive = len(mem.lists[LRU_INACTIVE_ANON])
    active = len(mem.lists[LRU_ACTIVE_ANON])
    return inactive * calc_inactive_ratio(mem) < active


def mem_cgroup_inactive_file_is_low(k: Kernel, mem: MemCgroup) -> bool:
    """mm/memcontrol.c: mem_cgroup_inactive_file_is_low() [31]."""
    return len(mem.lists[LRU_ACTIVE_FILE]) > len(mem.lists[LRU_INACTIVE_FILE])


def mem_cgroup_get_reclaim_priority(k: Kernel, mem: MemCgroup) -> int:
    """mm/memcontrol.c: mem_cgroup_get_reclaim_priority()."""
    return mem.prev_priority


def mem_cgroup_note_reclaim_priority(k: Kernel, mem: MemCgroup, priority: int) -> None:
    """mm/memcontrol.c: mem_cgroup_note_reclaim_priority(): keep the lowest priority."""
    if priority < mem.prev_priority:
        mem.prev_priority = priority


def mem_cgroup_record_reclaim_priority(k: Kernel, mem: MemCgroup, priority: int) -> None:
    """mm/memcontrol.c: mem_cgroup_record_reclaim_priority()."""
    mem.prev_priority = priority


def mem_cgroup_get_reclaim_stat(k: Kernel, mem: MemCgroup) -> ZoneReclaimStat:
    """mm/memcontrol.c: mem_cgroup_get_reclaim_stat() (2.6.30, 2.6.31): the memcg's
    per-zone reclaim statistics, which memcg reclaim's get_scan_ratio() weighs (one zone:
    the memcg's own)."""
    return mem.reclaim_stat


def mem_cgroup_get_reclaim_stat_from_page(k: Kernel, page: Page) -> ZoneReclaimStat | None:
    """mm/memcontrol.c: mem_cgroup_get_reclaim_stat_from_page() (2.6.30, 2.6.31): the
    reclaim statistics of the memcg the page is charged to (mm/swap.c:
    update_page_reclaim_stat() counts the page there too); None for an uncharged page."""
    pc = page.page_cgroup
    if not PageCgroupUsed(pc) or pc.mem_cgroup is None:
        return None
    return pc.mem_cgroup.reclaim_stat


# ---------------------------------------------------------------------------------------------
# The memcg LRU lists (caller holds zone->lru_lock unless said otherwise)


def _page_lru(page: Page) -> int:
    """include/linux/mm_inline.h: page_lru() (as swap.page_lru; kept here so this module
    needs no import of swap.py, which imports it)."""
    if PageUnevictable(page):
        return LRU_UNEVICTABLE
    lru = LRU_INACTIVE_ANON
    if PageActive(page):
        lru += 1
    if page_is_file_cache(page):
        lru += 2
    return lru


def _unlink(k: Kernel, pc: PageCgroup) -> None:
    """list_del_init(&pc->lru): normally ``pc.mem_cgroup``'s list ``pc.lru``; should pc
    have been re-owned while linked, the list that really holds it."""
    mem = pc.mem_cgroup
    assert mem is not None
    memcg_check_live(mem, "mem_cgroup_del_lru_list()")
    lst = mem.lists[pc.lru]
    if pc not in lst:
        for other in list(k.css_ids.values()):
            if pc in other.lists[pc.lru]:
                lst = other.lists[pc.lru]
                break
    lst.pop(pc, None)
    pc.lru = -1


def mem_cgroup_del_lru_list(k: Kernel, page: Page, lru: int) -> None:
    """mm/memcontrol.c: mem_cgroup_del_lru_list(): unlink the pc if it is linked and has
    an owner; PCG_USED is NOT tested (an uncharged page stays linked until here)."""
    pc = page.page_cgroup
    if pc.lru < 0 or pc.mem_cgroup is None:
        return
    _unlink(k, pc)


def mem_cgroup_del_lru(k: Kernel, page: Page) -> None:
    """mm/memcontrol.c: mem_cgroup_del_lru()."""
    mem_cgroup_del_lru_list(k, page, _page_lru(page))


def mem_cgroup_rotate_lru_list(k: Kernel, page: Page, lru: int) -> None:
    """mm/memcontrol.c: mem_cgroup_rotate_lru_list(): move a charged page's pc to the head
    of list ``lru`` of its memcg (list_move); uncharged pages are left alone."""
    pc = page.page_cgroup
    mem = pc.mem_cgroup
    if not PageCgroupUsed(pc) or mem is None:
        return
    if pc.lru >= 0:
        _unlink(k, pc)
    mem.lists[lru][pc] = None
    pc.lru = lru


def mem_cgroup_add_lru_list(k: Kernel, page: Page, lru: int) -> None:
    """mm/memcontrol.c: mem_cgroup_add_lru_list(): link the pc at the head of its memcg's
    list ``lru``, only if the page is charged (PCG_USED); an uncharged page stays on the
    global LRU alone. Linking a pc that is already linked corrupts the list in C: a
    :class:`KernelBug` here."""
    pc = page.page_cgroup
    mem = pc.mem_cgroup
    if not PageCgroupUsed(pc) or mem is None:
        trace(k, "mem_cgroup_add_lru_list()", "{!r} !PageCgroupUsed: not linked", page)
        return
    BUG_ON(pc.lru >= 0, "mem_cgroup_add_lru_list({!r}): page_cgroup already linked", page)
    memcg_check_live(mem, "mem_cgroup_add_lru_list()")
    mem.lists[lru][pc] = None
    pc.lru = lru


def mem_cgroup_move_lists(k: Kernel, page: Page, lru_from: int, lru_to: int) -> None:
    """mm/memcontrol.c: mem_cgroup_move_lists()."""
    mem_cgroup_del_lru_list(k, page, lru_from)
    mem_cgroup_add_lru_list(k, page, lru_to)


def mem_cgroup_lru_del_before_commit_swapcache(k: Kernel, page: Page) -> None:
    """mm/memcontrol.c: mem_cgroup_lru_del_before_commit_swapcache() (page locked; takes
    zone->lru_lock): an uncharged swap-cache page forgets the memcg LRU of its old owner."""
    with lru_lock_held(k.zone, "mem_cgroup_lru_del_before_commit_swapcache"):
        if not PageCgroupUsed(page.page_cgroup):
            mem_cgroup_del_lru_list(k, page, _page_lru(page))


def mem_cgroup_lru_add_after_commit_swapcache(k: Kernel, page: Page) -> None:
    """mm/memcontrol.c: mem_cgroup_lru_add_after_commit_swapcache() (takes zone->lru_lock):
    a page already on the zone LRU whose pc is not linked is linked now (if USED). A page
    still in a pagevec is linked later, by the drain."""
    with lru_lock_held(k.zone, "mem_cgroup_lru_add_after_commit_swapcache"):
        if PageLRU(page) and page.page_cgroup.lru < 0:
            mem_cgroup_add_lru_list(k, page, _page_lru(page))


def mem_cgroup_isolate_pages(k: Kernel, nr_to_scan: int, mem: MemCgroup, active: bool,
                             file: bool) -> list[Page]:
    """mm/memcontrol.c: mem_cgroup_isolate_pages() (order 0; caller holds zone->lru_lock):
    walk ``mem``'s list from the tail and isolate up to ``nr_to_scan`` scanned pages, as
    vmscan.isolate_pages_global() does for the zone list. Entries that are not USED or not
    PageLRU are skipped without counting as scanned. vmscan.__isolate_lru_page() takes the
    page off the zone list ([30]: and off the memcg list); [31] unlinks it from the memcg
    list here, and on -EBUSY (page being freed) rotates the pc to the list head.

    The walk is the kernel's list_for_each_entry_safe_reverse(): a rotated pc that was not
    the last entry is met again at the end of the walk (while the scan budget lasts).
    The list is read in growing chunks from ``pos``, the number of entries met and left in
    place: what the walk has not met yet is always the list from ``pos`` on (a taken pc
    leaves the list, a rotated one moves to its end), so no call copies the whole list.
    """
    lru = (2 if file else 0) + (1 if active else 0)
    mode = vmscan.ISOLATE_ACTIVE if active else vmscan.ISOLATE_INACTIVE
    lst = mem.lists[lru]
    taken: list[Page] = []
    scan = 0
    pos = 0
    chunk: list[PageCgroup] = []
    ci = 0
    size = 2 * nr_to_scan + 16
    while len(lst) > pos:
        if ci == len(chunk):
            chunk, ci = list(islice(lst, pos, pos + size)), 0
            size = min(2 * size, len(lst))
        pc = chunk[ci]
        ci += 1
        last = len(lst) - pos == 1
        if scan >= nr_to_scan:
            break
        page = pc.page
        assert page is not None
        if not PageCgroupUsed(pc) or not PageLRU(page):
            pos += 1
        else:
            scan += 1
            ret = vmscan.__isolate_lru_page(k, page, mode, file)
            if ret == 0:  # [30]: __isolate_lru_page() unlinked the pc already
                if k.cfg.v31:
                    mem_cgroup_del_lru(k, page)
                taken.append(page)
            elif ret == -EBUSY and k.cfg.v31:
                mem_cgroup_rotate_lru_list(k, page, _page_lru(page))
            else:
                pos += 1
        if last:
            break
    return taken


# ---------------------------------------------------------------------------------------------
# Creation, references and destruction


def mem_cgroup_create(k: Kernel, cgroup: Cgroup) -> MemCgroup:
    """mm/memcontrol.c: mem_cgroup_create(): a new memcg for ``cgroup`` with the next css
    id. A child copies the parent's use_hierarchy and swappiness (get_swappiness: the
    root's is vm_swappiness); under a use_hierarchy parent its res/memsw counters are
    linked to the parent's and the parent's refcnt is taken. The root cgroup's memcg
    becomes ``k.root_mem_cgroup``. Also sets ``cgroup.memcg`` (the css pointer).
    """
    parent = cgroup.parent.memcg if cgroup.parent is not None else None
    hierarchical = parent is not None and parent.use_hierarchy
    mem = MemCgroup(k.next_css_id, cgroup, parent, hierarchical)
    k.next_css_id += 1
    if parent is not None:
        mem.use_hierarchy = parent.use_hierarchy
        mem.swappiness = get_swappiness(k, parent)
        parent.children.append(mem)
        if hierarchical:
            mem_cgroup_get(k, parent)
    else:
        mem.swappiness = k.vm_swappiness
    k.css_ids[mem.css_id] = mem
    cgroup.memcg = mem
    if cgroup.parent is None:
        k.root_mem_cgroup = mem
    trace(k, "mem_cgroup_create()", "{!r} id {}", mem, mem.css_id)
    return mem


def mem_cgroup_get(k: Kernel, mem: MemCgroup) -> None:
    """mm/memcontrol.c: mem_cgroup_get(). Taking a reference on a freed struct is a
    use-after-free: a :class:`KernelBug`."""
    memcg_check_live(mem, "mem_cgroup_get()")
    plain_write(mem)  # atomic_inc(&mem->refcnt)
    mem.refcnt += 1


def mem_cgroup_put(k: Kernel, mem: MemCgroup) -> None:
    """mm/memcontrol.c: mem_cgroup_put(): at 0 free the struct, then drop the
    hierarchical parent's reference."""
    memcg_check_live(mem, "mem_cgroup_put()")
    BUG_ON(mem.refcnt <= 0, "mem_cgroup_put({!r}): refcnt {}", mem, mem.refcnt)
    plain_write(mem)  # atomic_dec_and_test(&mem->refcnt)
    mem.refcnt -= 1
    if mem.refcnt == 0:
        parent = parent_mem_cgroup(mem)
        __mem_cgroup_free(k, mem)
        if parent is not None:
            mem_cgroup_put(k, parent)


def __mem_cgroup_free(k: Kernel, mem: MemCgroup) -> None:
    """mm/memcontrol.c: __mem_cgroup_free(): free_css_id (the id no longer resolves) and
    the struct (``freed``)."""
    mem.freed = True
    k.css_ids.pop(mem.css_id, None)
    if mem.parent is not None and mem in mem.parent.children:
        mem.parent.children.remove(mem)
    trace(k, "__mem_cgroup_free()", "{!r}", mem)


async def mem_cgroup_pre_destroy(k: Kernel, mem: MemCgroup) -> int:
    """mm/memcontrol.c: mem_cgroup_pre_destroy(): rmdir empties the memcg by moving its
    charges to the parent (force_empty, move path)."""
    return await mem_cgroup_force_empty(k, mem, False)


def mem_cgroup_destroy(k: Kernel, mem: MemCgroup) -> None:
    """mm/memcontrol.c: mem_cgroup_destroy(): drop the creation reference (the struct lives
    on while swap records or hierarchical children hold references). Marks the css
    removed in case the caller did not (CSS_REMOVED is set by cgroup_rmdir before)."""
    mem.obsolete = True
    mem_cgroup_put(k, mem)


# ---------------------------------------------------------------------------------------------
# Reclaim and OOM on the charge path


def mem_cgroup_check_under_limit(k: Kernel, mem: MemCgroup) -> bool:
    """mm/memcontrol.c: mem_cgroup_check_under_limit(): res (and memsw with swap
    accounting) below the limit, this level only."""
    if k.cfg.do_swap_account:
        return res_counter_check_under_limit(mem.res) and res_counter_check_under_limit(
            mem.memsw
        )
    return res_counter_check_under_limit(mem.res)


def get_swappiness(k: Kernel, mem: MemCgroup) -> int:
    """mm/memcontrol.c: get_swappiness(): the root cgroup reads vm_swappiness."""
    if mem.cgroup.parent is None:
        return k.vm_swappiness
    return mem.swappiness


def mem_cgroup_select_victim(k: Kernel, root: MemCgroup) -> MemCgroup:
    """mm/memcontrol.c: mem_cgroup_select_victim(): ``root`` without use_hierarchy, else the
    next memcg of the subtree after ``last_scanned_child`` (css id order, wrapping to id 1),
    skipping removed ones. Returns it with a css reference."""
    if not root.use_hierarchy:
        css_get(k, root)
        return root
    while True:
        mem = _css_get_next(k, root.last_scanned_child + 1, root)
        if mem is None:
            root.last_scanned_child = 0
            continue
        root.last_scanned_child = mem.css_id
        if css_tryget(k, mem):
            return mem


async def mem_cgroup_hierarchical_reclaim(k: Kernel, root: MemCgroup, gfp: int, noswap: bool,
                                          shrink: bool) -> int:
    """mm/memcontrol.c: mem_cgroup_hierarchical_reclaim(): reclaim round-robin from the
    subtree of ``root`` (try_to_free_mem_cgroup_pages with each victim's swappiness),
    skipping memcgs with no local usage. ``shrink``: return after one victim. Else return
    1 + total as soon as ``root`` is under its limit, or the total once ``root`` itself has
    been visited twice. [31] ``memsw_is_minimum`` forces noswap.
    """
    if k.cfg.v31 and root.memsw_is_minimum:
        noswap = True
    total = 0
    loop = 0
    while loop < 2:
        victim = mem_cgroup_select_victim(k, root)
        if victim is root:
            loop += 1
        if not mem_cgroup_local_usage(victim):
            css_put(k, victim)
            continue
        ret = await vmscan.try_to_free_mem_cgroup_pages(
            k, victim, gfp, noswap, get_swappiness(k, victim)
        )
        css_put(k, victim)
        if shrink:
            return ret
        total += ret
        if mem_cgroup_check_under_limit(k, root):
            return 1 + total
    return total


def record_last_oom(k: Kernel, mem: MemCgroup) -> None:
    """mm/memcontrol.c: record_last_oom(): stamp ``last_oom_jiffies`` on the subtree."""
    for m in mem_cgroup_walk_tree(k, mem):
        m.last_oom_jiffies = k.jiffies


def mem_cgroup_oom_called(k: Kernel, task: TaskStruct | None) -> bool:
    """mm/memcontrol.c: mem_cgroup_oom_called(): the memcg of ``task->mm->owner`` ran its
    OOM killer less than HZ/10 ago. A task without mm uses init_mm, which has no owner:
    False."""
    if task is None or task.mm is None:
        return False
    mem = mem_cgroup_from_task(k, task.mm.owner)
    return mem is not None and k.jiffies < mem.last_oom_jiffies + HZ // 10


def mem_cgroup_print_oom_info(k: Kernel, memcg: MemCgroup | None, p: TaskStruct) -> str:
    """mm/memcontrol.c: mem_cgroup_print_oom_info(): the lines printed at a memcg OOM kill
    (returned, and traced)."""
    if memcg is None:
        return ""
    res, memsw = memcg.res, memcg.memsw
    text = (
        f"Task in {p.cgroup.path} killed as a result of limit of {memcg.cgroup.path}\n"
        f"memory: usage {res.usage >> 10}kB, limit {res.limit >> 10}kB, "
        f"failcnt {res.failcnt}\n"
        f"memory+swap: usage {memsw.usage >> 10}kB, limit {memsw.limit >> 10}kB, "
        f"failcnt {memsw.failcnt}\n"
    )
    trace(k, "mem_cgroup_print_oom_info()", text.strip().replace("\n", "; "))
    return text


# ---------------------------------------------------------------------------------------------
# Charging


async def __mem_cgroup_try_charge(k: Kernel, mm: MmStruct | None, gfp: int,
                                  memcg: MemCgroup | None,
                                  oom: bool) -> tuple[int, MemCgroup | None]:
    """mm/memcontrol.c: __mem_cgroup_try_charge(): charge one page to ``memcg`` (with a css
    reference taken here) or, if None, to the memcg of ``mm->owner``.

    Returns ``(0, mem)``: res +1 (and memsw +1) on mem and its hierarchical ancestors, one
    css reference held for the commit; ``(0, None)``: nothing charged (current has
    TIF_MEMDIE, or there is no memcg); ``(-ENOMEM, mem)``: nothing charged, no reference
    held (as C leaves ``*memcg`` set; never commit it).
    Loop: res, then memsw (failure: res undone, noswap); the refusing counter's owner is
    mem_over_limit (possibly an ancestor; only that level's failcnt grew). Without
    __GFP_WAIT: -ENOMEM at once. Reclaim progress or being under the limit again retries
    for free; otherwise one of MEM_CGROUP_RECLAIM_RETRIES is used, and the failure after
    the last one (the 6th without progress) calls the memcg OOM killer (if ``oom``) under
    memcg_tasklist, record_last_oom(), and fails.
    """
    task = current(k).task
    if task is not None and task.memdie:
        trace(k, "mem_cgroup_try_charge()", "TIF_MEMDIE: not accounted")
        return 0, None
    if memcg is None:
        mem = try_get_mem_cgroup_from_mm(k, mm)
    else:
        mem = memcg
        css_get(k, mem)
    if mem is None:
        return 0, None
    VM_BUG_ON(css_is_removed(mem), "__mem_cgroup_try_charge: {!r} is removed", mem)
    nr_retries = MEM_CGROUP_RECLAIM_RETRIES
    while True:
        noswap = False
        ret, fail_res = res_counter_charge(mem.res, PAGE_SIZE)
        if ret == 0:
            if not k.cfg.do_swap_account:
                break
            ret, fail_res = res_counter_charge(mem.memsw, PAGE_SIZE)
            if ret == 0:
                break
            res_counter_uncharge(mem.res, PAGE_SIZE)
            noswap = True
        assert fail_res is not None and isinstance(fail_res.owner, MemCgroup)
        mem_over_limit = fail_res.owner
        if not gfp & __GFP_WAIT:
            break
        if await mem_cgroup_hierarchical_reclaim(k, mem_over_limit, gfp, noswap, False):
            continue
        if mem_cgroup_check_under_limit(k, mem_over_limit):
            continue
        if nr_retries == 0:
            if oom:
                await spin_lock(k, k.memcg_tasklist, "memcg_tasklist")
                await oom_kill.mem_cgroup_out_of_memory(k, mem_over_limit, gfp)
                spin_unlock(k.memcg_tasklist)
                record_last_oom(k, mem_over_limit)
            break
        nr_retries -= 1
    if ret:
        css_put(k, mem)
        trace(k, "mem_cgroup_try_charge()", "{!r} == -ENOMEM", mem)
        return -ENOMEM, mem
    return 0, mem


def __mem_cgroup_commit_charge(k: Kernel, mem: MemCgroup | None, pc: PageCgroup,
                               ctype: int) -> None:
    """mm/memcontrol.c: __mem_cgroup_commit_charge(): bind a try_charge to the page.

    None (nothing was charged) -> nothing. A page already USED keeps its charge and the
    new one is undone (res -1, memsw -1, css_put): no double charge. Else pc->mem_cgroup =
    mem, pc->flags = pcg_default_flags[ctype] (USED), stats +1 and pgpgin +1; the css
    reference of the try_charge now belongs to the page.
    """
    if mem is None:
        return
    lock_page_cgroup(pc)
    if PageCgroupUsed(pc):
        unlock_page_cgroup(pc)
        res_counter_uncharge(mem.res, PAGE_SIZE)
        if k.cfg.do_swap_account:
            res_counter_uncharge(mem.memsw, PAGE_SIZE)
        css_put(k, mem)
        trace(k, "mem_cgroup_commit_charge()", "{!r} already charged: undo", pc.page)
        return
    pc.mem_cgroup = mem
    pc.flags = pcg_default_flags.get(ctype, 0)
    mem_cgroup_charge_statistics(k, mem, pc, True)
    unlock_page_cgroup(pc)
    trace(k, "mem_cgroup_commit_charge()", "{!r} -> {!r}", pc.page, mem)


async def mem_cgroup_charge_common(k: Kernel, page: Page, mm: MmStruct | None, gfp: int,
                                   ctype: int, memcg: MemCgroup | None) -> int:
    """mm/memcontrol.c: mem_cgroup_charge_common(): try_charge (OOM allowed) + commit."""
    ret, mem = await __mem_cgroup_try_charge(k, mm, gfp, memcg, True)
    if ret or mem is None:
        return ret
    __mem_cgroup_commit_charge(k, mem, page.page_cgroup, ctype)
    return 0


async def mem_cgroup_newpage_charge(k: Kernel, page: Page, mm: MmStruct | None,
                                    gfp: int) -> int:
    """mm/memcontrol.c: mem_cgroup_newpage_charge(): a new anon page (fault, COW). A page
    already mapped or in a page cache is not charged again. No mm: init_mm, which has no
    owner, so nothing is charged. 0 or -ENOMEM."""
    if page_mapped(page) or (page.mapping is not None and not PageAnon(page)):
        return 0
    return await mem_cgroup_charge_common(k, page, mm, gfp, MEM_CGROUP_CHARGE_TYPE_MAPPED,
                                          None)


async def mem_cgroup_cache_charge(k: Kernel, page: Page, mm: MmStruct | None,
                                  gfp: int) -> int:
    """mm/memcontrol.c: mem_cgroup_cache_charge(): a page entering a page cache.

    Without __GFP_WAIT (shmem's GFP_NOWAIT insertions) a page already USED is not charged
    again (shmem precharged it). File cache -> CACHE. Shmem: a swap-cache page is charged
    like a swap-in (try_charge_swapin + commit SHMEM, which clears its swap record), any
    other -> SHMEM. 0 or -ENOMEM.
    """
    if not gfp & __GFP_WAIT and PageCgroupUsed(page.page_cgroup):
        return 0
    if page_is_file_cache(page):
        return await mem_cgroup_charge_common(k, page, mm, gfp, MEM_CGROUP_CHARGE_TYPE_CACHE,
                                              None)
    if PageSwapCache(page):
        ret, mem = await mem_cgroup_try_charge_swapin(k, mm, page, gfp)
        if not ret:
            __mem_cgroup_commit_charge_swapin(k, page, mem, MEM_CGROUP_CHARGE_TYPE_SHMEM)
        return ret
    return await mem_cgroup_charge_common(k, page, mm, gfp, MEM_CGROUP_CHARGE_TYPE_SHMEM, None)


def try_get_mem_cgroup_from_swapcache(k: Kernel, page: Page) -> MemCgroup | None:
    """mm/memcontrol.c: try_get_mem_cgroup_from_swapcache() (page locked): for a swap-cache
    page, its own memcg if USED, else the memcg its slot's swap record names; with a css
    reference, or None (no record, or the memcg is removed)."""
    VM_BUG_ON(not PageLocked(page), "try_get_mem_cgroup_from_swapcache({!r}): unlocked", page)
    if not PageSwapCache(page):
        return None
    pc = page.page_cgroup
    lock_page_cgroup(pc)
    if PageCgroupUsed(pc):
        mem = pc.mem_cgroup
    else:
        mem = mem_cgroup_lookup(k, lookup_swap_cgroup(k, page.private))
    if mem is not None and not css_tryget(k, mem):
        mem = None
    unlock_page_cgroup(pc)
    return mem


async def mem_cgroup_try_charge_swapin(k: Kernel, mm: MmStruct | None, page: Page,
                                       gfp: int) -> tuple[int, MemCgroup | None]:
    """mm/memcontrol.c: mem_cgroup_try_charge_swapin() (page locked): charge a page about
    to be mapped from swap. Without swap accounting: the current mm's memcg. A page no
    longer in the swap cache: ``(0, None)``, nothing charged (the caller's pte_same test is
    expected to fail). Else the memcg of try_get_mem_cgroup_from_swapcache() (the page's
    owner, or the one its swap record names), falling back to the mm's. Returns what
    __mem_cgroup_try_charge() returns."""
    if k.cfg.do_swap_account:
        if not PageSwapCache(page):
            return 0, None
        mem = try_get_mem_cgroup_from_swapcache(k, page)
        if mem is not None:
            ret, ptr = await __mem_cgroup_try_charge(k, None, gfp, mem, True)
            css_put(k, mem)
            return ret, ptr
    return await __mem_cgroup_try_charge(k, mm, gfp, None, True)


def __mem_cgroup_commit_charge_swapin(k: Kernel, page: Page, ptr: MemCgroup | None,
                                      ctype: int) -> None:
    """mm/memcontrol.c: __mem_cgroup_commit_charge_swapin() (page locked): unlink an
    uncharged pc from its old memcg LRU, commit, link to the new memcg LRU if the page is
    on the zone LRU; then, if the page is still swap cache (reuse_swap_page may have
    deleted it), clear its slot's swap record and uncharge memsw once from the recorded
    memcg (which may be removed) and mem_cgroup_put() it, even when the commit found the
    page already charged. [31] bracketed by cgroup_exclude_rmdir() /
    cgroup_release_and_wakeup_rmdir()."""
    if ptr is None:
        return
    if k.cfg.v31:
        cgroup_exclude_rmdir(k, ptr)
    mem_cgroup_lru_del_before_commit_swapcache(k, page)
    __mem_cgroup_commit_charge(k, ptr, page.page_cgroup, ctype)
    mem_cgroup_lru_add_after_commit_swapcache(k, page)
    if k.cfg.do_swap_account and PageSwapCache(page):
        css_id = swap_cgroup_record(k, page.private, 0)
        memcg = mem_cgroup_lookup(k, css_id)
        if memcg is not None:
            res_counter_uncharge(memcg.memsw, PAGE_SIZE)
            mem_cgroup_put(k, memcg)
            trace(k, "mem_cgroup_commit_charge_swapin()",
                  "swap record {:#x} of {!r} cleared", page.private, memcg)
    if k.cfg.v31:
        cgroup_release_and_wakeup_rmdir(k, ptr)


def mem_cgroup_commit_charge_swapin(k: Kernel, page: Page, ptr: MemCgroup | None) -> None:
    """mm/memcontrol.c: mem_cgroup_commit_charge_swapin(): ctype MAPPED."""
    __mem_cgroup_commit_charge_swapin(k, page, ptr, MEM_CGROUP_CHARGE_TYPE_MAPPED)


def mem_cgroup_cancel_charge_swapin(k: Kernel, mem: MemCgroup | None) -> None:
    """mm/memcontrol.c: mem_cgroup_cancel_charge_swapin(): undo a successful try_charge
    (res -1, memsw -1, css_put); None -> nothing."""
    if mem is None:
        return
    res_counter_uncharge(mem.res, PAGE_SIZE)
    if k.cfg.do_swap_account:
        res_counter_uncharge(mem.memsw, PAGE_SIZE)
    css_put(k, mem)
    trace(k, "mem_cgroup_cancel_charge_swapin()", "{!r}", mem)


async def mem_cgroup_shmem_charge_fallback(k: Kernel, page: Page, mm: MmStruct | None,
                                           gfp: int) -> int:
    """mm/memcontrol.c: mem_cgroup_shmem_charge_fallback(): after a GFP_NOWAIT shmem charge
    failed, charge with the mapping's gfp (reclaim, maybe memcg OOM) and cancel at once;
    the caller then retries."""
    ret, mem = await mem_cgroup_try_charge_swapin(k, mm, page, gfp)
    if not ret:
        mem_cgroup_cancel_charge_swapin(k, mem)
    return ret


# ---------------------------------------------------------------------------------------------
# Uncharging


def __mem_cgroup_uncharge_common(k: Kernel, page: Page, ctype: int) -> MemCgroup | None:
    """mm/memcontrol.c: __mem_cgroup_uncharge_common(): uncharge a page, returning its
    memcg, or None when nothing was done: the page is swap cache (never uncharged here), not
    USED, or by type still in use (MAPPED and [31] DROP: mapped; SWAPOUT: an anon page
    mapped, or a shmem page still in shmem's page cache). res -1; memsw -1 unless SWAPOUT
    (the unit moves to the swap slot); stats -1, pgpgout +1; USED cleared (pc->mem_cgroup
    and the memcg LRU link stay); css_put unless SWAPOUT (whose caller still needs mem).
    """
    if PageSwapCache(page):
        return None
    pc = page.page_cgroup
    if not PageCgroupUsed(pc):  # the unlocked peek
        return None
    lock_page_cgroup(pc)
    mem = pc.mem_cgroup
    assert mem is not None
    memcg_check_live(mem, "__mem_cgroup_uncharge_common()")
    if not PageCgroupUsed(pc) or not _uncharge_type_allows(page, ctype):
        unlock_page_cgroup(pc)
        return None
    res_counter_uncharge(mem.res, PAGE_SIZE)
    if k.cfg.do_swap_account and ctype != MEM_CGROUP_CHARGE_TYPE_SWAPOUT:
        res_counter_uncharge(mem.memsw, PAGE_SIZE)
    mem_cgroup_charge_statistics(k, mem, pc, False)
    ClearPageCgroupUsed(pc)
    unlock_page_cgroup(pc)
    if ctype != MEM_CGROUP_CHARGE_TYPE_SWAPOUT:
        css_put(k, mem)
    trace(k, "mem_cgroup_uncharge()", "{!r} of {!r} ctype {}", page, mem, ctype)
    return mem


def _uncharge_type_allows(page: Page, ctype: int) -> bool:
    """The ctype switch of __mem_cgroup_uncharge_common(): whether a page of this state may
    be uncharged as ``ctype`` (MAPPED and [31] DROP: not mapped; SWAPOUT: an anon page not
    mapped, a shmem page no longer in shmem's page cache)."""
    if ctype in (MEM_CGROUP_CHARGE_TYPE_MAPPED, MEM_CGROUP_CHARGE_TYPE_DROP):
        return not page_mapped(page)
    if ctype == MEM_CGROUP_CHARGE_TYPE_SWAPOUT:
        if not PageAnon(page):
            return page.mapping is None or page_is_file_cache(page)
        return not page_mapped(page)
    return True


def mem_cgroup_uncharge_page(k: Kernel, page: Page) -> None:
    """mm/memcontrol.c: mem_cgroup_uncharge_page() (last unmap, page_remove_rmap): only an
    unmapped page that is not in a page cache; common(MAPPED)."""
    if page_mapped(page):
        return
    if page.mapping is not None and not PageAnon(page):
        return
    __mem_cgroup_uncharge_common(k, page, MEM_CGROUP_CHARGE_TYPE_MAPPED)


def mem_cgroup_uncharge_cache_page(k: Kernel, page: Page) -> None:
    """mm/memcontrol.c: mem_cgroup_uncharge_cache_page() (page left its page cache: not
    mapped, mapping already NULL); common(CACHE), a no-op for a swap-cache page."""
    VM_BUG_ON(page_mapped(page), "mem_cgroup_uncharge_cache_page({!r}): mapped", page)
    VM_BUG_ON(page.mapping is not None,
              "mem_cgroup_uncharge_cache_page({!r}): mapping still set", page)
    __mem_cgroup_uncharge_common(k, page, MEM_CGROUP_CHARGE_TYPE_CACHE)


def mem_cgroup_uncharge_swapcache(k: Kernel, page: Page, ent: int, swapout: bool = True) -> None:
    """mm/memcontrol.c: mem_cgroup_uncharge_swapcache(), after the page left the swap cache.

    [30] ``(page, ent)``: ``swapout`` is ignored; SWAPOUT: an unmapped charged page gives up
    res but keeps memsw, which moves to the slot: swap_cgroup_record(ent, id) and
    mem_cgroup_get() (with swap accounting), then css_put.
    4/5 (``memcg_swap_refcount``) ``(page, ent, swapout)``: swapout as above; not swapout
    (the slot has no users left: swapcache_free's ret == 0) -> DROP: uncharged like an
    unmapped anon page (res -1 and memsw -1), no record.
    """
    if not k.cfg.memcg_swap_refcount:
        swapout = True
    ctype = MEM_CGROUP_CHARGE_TYPE_SWAPOUT if swapout else MEM_CGROUP_CHARGE_TYPE_DROP
    memcg = __mem_cgroup_uncharge_common(k, page, ctype)
    if k.cfg.do_swap_account and swapout and memcg is not None:
        swap_cgroup_record(k, ent, memcg.css_id)
        mem_cgroup_get(k, memcg)
        trace(k, "mem_cgroup_uncharge_swapcache()", "{:#x} recorded for {!r}", ent, memcg)
    if swapout and memcg is not None:
        css_put(k, memcg)


def mem_cgroup_uncharge_swap(k: Kernel, ent: int) -> None:
    """mm/memcontrol.c: mem_cgroup_uncharge_swap() (from swap_entry_free, swap_lock held):
    clear the slot's record; the recorded memcg (maybe removed) gets memsw -1 and
    mem_cgroup_put(). No record -> nothing."""
    if not k.cfg.do_swap_account:
        return
    css_id = swap_cgroup_record(k, ent, 0)
    memcg = mem_cgroup_lookup(k, css_id)
    if memcg is not None:
        res_counter_uncharge(memcg.memsw, PAGE_SIZE)
        mem_cgroup_put(k, memcg)
        trace(k, "mem_cgroup_uncharge_swap()", "{:#x} of {!r}", ent, memcg)


# ---------------------------------------------------------------------------------------------
# force_empty: moving charges to the parent, or freeing them


def mem_cgroup_move_account(k: Kernel, pc: PageCgroup, mem_from: MemCgroup,
                            mem_to: MemCgroup) -> int:
    """mm/memcontrol.c: mem_cgroup_move_account() (page isolated from the LRU): move a USED
    page's charge from ``mem_from`` to ``mem_to`` (already charged by the caller): res and
    memsw -1 on ``mem_from``, stats, [31] mapped_file of a mapped file page, css refs,
    pc->mem_cgroup. -EBUSY if the pc lock is taken, the page is not USED or not
    ``mem_from``'s."""
    page = pc.page
    assert page is not None
    VM_BUG_ON(mem_from is mem_to, "mem_cgroup_move_account: from == to")
    VM_BUG_ON(PageLRU(page), "mem_cgroup_move_account({!r}): page on the LRU", page)
    if pc.lock.holder is not None:  # trylock_page_cgroup()
        return -EBUSY
    lock_page_cgroup(pc)
    ret = _move_account_locked(k, pc, page, mem_from, mem_to)
    unlock_page_cgroup(pc)
    return ret


def _move_account_locked(k: Kernel, pc: PageCgroup, page: Page, mem_from: MemCgroup,
                         mem_to: MemCgroup) -> int:
    """The body of mem_cgroup_move_account() under lock_page_cgroup()."""
    if not PageCgroupUsed(pc) or pc.mem_cgroup is not mem_from:
        return -EBUSY
    res_counter_uncharge(mem_from.res, PAGE_SIZE)
    mem_cgroup_charge_statistics(k, mem_from, pc, False)
    if k.cfg.v31 and page_is_file_cache(page) and page_mapped(page):
        mem_from.stat[MEM_CGROUP_STAT_MAPPED_FILE] -= 1
        mem_to.stat[MEM_CGROUP_STAT_MAPPED_FILE] += 1
    if k.cfg.do_swap_account:
        res_counter_uncharge(mem_from.memsw, PAGE_SIZE)
    css_put(k, mem_from)
    css_get(k, mem_to)
    pc.mem_cgroup = mem_to
    mem_cgroup_charge_statistics(k, mem_to, pc, True)
    return 0


async def mem_cgroup_move_parent(k: Kernel, pc: PageCgroup, child: MemCgroup, gfp: int) -> int:
    """mm/memcontrol.c: mem_cgroup_move_parent(): charge the parent (no OOM), isolate the
    page, move the account, put it back. -EINVAL for the root; -ENOMEM if the parent cannot
    be charged; -EBUSY if the page is being freed, not on the LRU (e.g. still in a
    pagevec) or its pc is unstable; on failure the parent's charge is undone."""
    page = pc.page
    assert page is not None
    pcg = child.cgroup.parent
    if pcg is None or pcg.memcg is None:
        return -EINVAL
    ret, parent = await __mem_cgroup_try_charge(k, None, gfp, pcg.memcg, False)
    if ret or parent is None:
        return ret
    if not get_page_unless_zero(page):
        ret = -EBUSY
    else:
        ret = vmscan.isolate_lru_page(k, page)
        if not ret:
            ret = mem_cgroup_move_account(k, pc, child, parent)
            await vmscan.putback_lru_page(k, page)
            if not ret:
                page_alloc.put_page(k, page)
                css_put(k, parent)
                return 0
        page_alloc.put_page(k, page)
    css_put(k, parent)
    res_counter_uncharge(parent.res, PAGE_SIZE)
    if k.cfg.do_swap_account:
        res_counter_uncharge(parent.memsw, PAGE_SIZE)
    return ret


async def mem_cgroup_force_empty_list(k: Kernel, mem: MemCgroup, lru: int) -> int:
    """mm/memcontrol.c: mem_cgroup_force_empty_list(): up to count + 256 times, move the pc
    at the list tail to the parent. A pc that failed with -EBUSY/-EINVAL is moved to the
    list head if it is still at the tail next time. -ENOMEM stops at once; a non-empty list
    at the end is -EBUSY."""
    lst = mem.lists[lru]
    loop = len(lst) + 256
    busy: PageCgroup | None = None
    ret = 0
    while loop:
        loop -= 1
        ret = 0
        await spin_lock(k, k.zone.lru_lock, "mem_cgroup_force_empty_list")
        if not lst:
            spin_unlock(k.zone.lru_lock)
            break
        pc = next(iter(lst))
        if busy is pc:
            del lst[pc]
            lst[pc] = None
            busy = None
            spin_unlock(k.zone.lru_lock)
            continue
        spin_unlock(k.zone.lru_lock)
        ret = await mem_cgroup_move_parent(k, pc, mem, GFP_KERNEL)
        if ret == -ENOMEM:
            break
        if ret in (-EBUSY, -EINVAL):
            # the pc is being uncharged, freed or isolated by another thread: try again
            # after cond_resched(), a busy loop until that thread is done with it
            busy = pc
            await busy_retry(k, "mem_cgroup_force_empty_list: cond_resched", sleeps=True)
        else:
            busy = None
    if not ret and lst:
        return -EBUSY
    return ret


async def _force_empty_move(k: Kernel, mem: MemCgroup) -> int:
    """The move_account part of mem_cgroup_force_empty(): while res.usage > 0, every list
    to the parent. 0, -EBUSY (tasks or children), -EINTR, or -ENOMEM (go free).

    With fce66477578d ("memcg: ensure list is empty at rmdir") the loop is a do/while that
    also goes on while a list walk failed: the lists are walked at least once even at
    usage 0, and until they are all empty. A page uncharged while on the LRU (its pc keeps
    the memcg) is unlinked by that walk, so no pc is left pointing at the freed group."""
    cgrp = mem.cgroup
    ensure_empty = k.cfg.has_fix(RMDIR_LRU_EMPTY)
    while ensure_empty or res_counter_read_u64(mem.res, RES_USAGE) > 0:
        if cgrp.tasks or _has_children(cgrp):
            return -EBUSY
        if _signal_pending(k):
            return -EINTR
        await swap.lru_add_drain_all(k)
        ret = 0
        for lru in range(NR_LRU_LISTS):
            ret = await mem_cgroup_force_empty_list(k, mem, lru)
            if ret:
                break
        if ret == -ENOMEM:
            return -ENOMEM
        if not res_counter_read_u64(mem.res, RES_USAGE) and (not ensure_empty or not ret):
            break
        # another pass over lists that did not empty the group: a busy loop until
        # whoever holds the pages (an isolating reclaimer, a charge not yet
        # committed) lets go
        await busy_retry(k, "mem_cgroup_force_empty: cond_resched", sleeps=True)
    return 0


async def _force_empty_free(k: Kernel, mem: MemCgroup) -> int:
    """The try_to_free part of mem_cgroup_force_empty(): reclaim until usage is 0, five
    passes without progress allowed (each followed by congestion_wait, a cond_resched
    here). 0 or -EINTR."""
    nr_retries = MEM_CGROUP_RECLAIM_RETRIES
    while nr_retries and res_counter_read_u64(mem.res, RES_USAGE) > 0:
        if _signal_pending(k):
            return -EINTR
        progress = await vmscan.try_to_free_mem_cgroup_pages(
            k, mem, GFP_KERNEL, False, get_swappiness(k, mem)
        )
        if not progress:
            nr_retries -= 1
            await cond_resched(k, "mem_cgroup_force_empty: congestion_wait")
    return 0


async def mem_cgroup_force_empty(k: Kernel, mem: MemCgroup, free_all: bool) -> int:
    """mm/memcontrol.c: mem_cgroup_force_empty(): make res.usage 0.

    Move path (rmdir's pre_destroy, ``free_all`` False): charges go to the parent; -EBUSY
    with tasks or children; -ENOMEM from the parent goes to the free path. Free path
    (memory.force_empty, ``free_all`` True): -EBUSY with tasks or children or on a second
    visit; reclaim (swapping anon pages: their memsw stays, recorded on the slots), then
    whatever is left is moved. Swap records are never touched. With fce66477578d the free
    path always goes back to the move path, which then empties the lists (see
    :func:`_force_empty_move`).
    """
    cgrp = mem.cgroup
    css_get(k, mem)
    shrink = False
    move = not free_all
    while True:
        if move:
            ret = await _force_empty_move(k, mem)
            if ret != -ENOMEM:
                break
        if cgrp.tasks or _has_children(cgrp) or shrink:
            ret = -EBUSY
            break
        await swap.lru_add_drain_all(k)
        shrink = True
        ret = await _force_empty_free(k, mem)
        if ret:
            break
        await swap.lru_add_drain(k)
        # fce66477578d: back to move_account even at usage 0, to empty the lists
        if not k.cfg.has_fix(RMDIR_LRU_EMPTY) and not res_counter_read_u64(mem.res, RES_USAGE):
            break
        move = True
    css_put(k, mem)
    trace(k, "mem_cgroup_force_empty()", "{!r} free_all={} == {}", mem, int(free_all), ret)
    return ret


# ---------------------------------------------------------------------------------------------
# Limits


async def mem_cgroup_resize_limit(k: Kernel, memcg: MemCgroup, val: int) -> int:
    """mm/memcontrol.c: mem_cgroup_resize_limit(): memory.limit_in_bytes = ``val``.

    -EINVAL if ``val`` exceeds the memsw limit (equal is fine). Else set it; if usage is
    above ``val`` reclaim (one victim per pass, swap allowed) and retry; a pass that does
    not lower usage below the lowest seen uses one of 5 x (memcgs in the subtree) retries;
    when they are gone: -EBUSY, old limit kept. -EINTR on a signal. [31] a success sets
    memsw_is_minimum = (val == memsw limit). No OOM, no failcnt change.
    """
    retry_count = MEM_CGROUP_RECLAIM_RETRIES * mem_cgroup_count_children(k, memcg)
    oldusage = memcg.res.usage
    ret = 0
    while retry_count:
        if _signal_pending(k):
            ret = -EINTR
            break
        memswlimit = memcg.memsw.limit
        if memswlimit < val:
            ret = -EINVAL
            break
        ret = res_counter_set_limit(memcg.res, val)
        if not ret:
            if k.cfg.v31:
                memcg.memsw_is_minimum = memswlimit == val
            break
        await mem_cgroup_hierarchical_reclaim(k, memcg, GFP_KERNEL, False, True)
        curusage = memcg.res.usage
        if curusage >= oldusage:
            retry_count -= 1
        else:
            oldusage = curusage
    return ret


async def mem_cgroup_resize_memsw_limit(k: Kernel, memcg: MemCgroup, val: int) -> int:
    """mm/memcontrol.c: mem_cgroup_resize_memsw_limit(): memory.memsw.limit_in_bytes.

    -EINVAL if the memory limit exceeds ``val`` ([30] also without swap accounting).
    Else as mem_cgroup_resize_limit() on memsw, reclaiming without swap (swapping does not
    lower mem+swap); -EBUSY when the retries are gone. [31] memsw_is_minimum as there.
    """
    if not k.cfg.v31 and not k.cfg.do_swap_account:
        return -EINVAL
    retry_count = MEM_CGROUP_RECLAIM_RETRIES * mem_cgroup_count_children(k, memcg)
    oldusage = memcg.memsw.usage
    ret = -EBUSY
    while retry_count:
        if _signal_pending(k):
            ret = -EINTR
            break
        memlimit = memcg.res.limit
        if memlimit > val:
            ret = -EINVAL
            break
        ret = res_counter_set_limit(memcg.memsw, val)
        if not ret:
            if k.cfg.v31:
                memcg.memsw_is_minimum = memlimit == val
            break
        await mem_cgroup_hierarchical_reclaim(k, memcg, GFP_KERNEL, True, True)
        curusage = memcg.memsw.usage
        if curusage >= oldusage:
            retry_count -= 1
        else:
            oldusage = curusage
    return ret


# ---------------------------------------------------------------------------------------------
# The cgroup files: cftype methods and mem_cgroup_files[]/memsw_cgroup_files[]


def mem_cgroup_from_cont(cont: Cgroup) -> MemCgroup:
    """mm/memcontrol.c: mem_cgroup_from_cont(): the memcg of a cgroup."""
    mem = cont.memcg
    BUG_ON(mem is None, "mem_cgroup_from_cont({!r}): no memory css", cont)
    assert mem is not None
    return mem


def mem_cgroup_read(k: Kernel, cont: Cgroup, cft: Cftype) -> int:
    """mm/memcontrol.c: mem_cgroup_read(): the res_counter member MEMFILE_ATTR() of res or
    memsw (MEMFILE_TYPE()): bytes, failcnt a count. [30] a memsw file reads 0 without swap
    accounting (the files do not exist then)."""
    mem = mem_cgroup_from_cont(cont)
    name = MEMFILE_ATTR(cft.private)
    if MEMFILE_TYPE(cft.private) == _MEM:
        return res_counter_read_u64(mem.res, name)
    if not k.cfg.v31 and not k.cfg.do_swap_account:
        return 0
    return res_counter_read_u64(mem.memsw, name)


async def mem_cgroup_write(k: Kernel, cont: Cgroup, cft: Cftype, buffer: str) -> int:
    """mm/memcontrol.c: mem_cgroup_write() (write_string of limit_in_bytes and
    memsw.limit_in_bytes; cgroup_write_string() has stripped the text):
    res_counter_memparse_write_strategy() ("-1" only on [31]), then resize_limit (_MEM) or
    resize_memsw_limit (_MEMSWAP). -EINVAL for another member. 0 or -errno."""
    mem = mem_cgroup_from_cont(cont)
    if MEMFILE_ATTR(cft.private) != RES_LIMIT:
        return -EINVAL
    val = res_counter_memparse_write_strategy(buffer, k.cfg.v31)
    if val < 0:
        return val
    if MEMFILE_TYPE(cft.private) == _MEM:
        ret = await mem_cgroup_resize_limit(k, mem, val)
    else:
        ret = await mem_cgroup_resize_memsw_limit(k, mem, val)
    trace(k, "mem_cgroup_write()", "{!r} {} = {} == {}", mem, cft.name, val, ret)
    return ret


def mem_cgroup_reset(k: Kernel, cont: Cgroup, event: CftPrivate) -> int:
    """mm/memcontrol.c: mem_cgroup_reset() (the trigger of max_usage_in_bytes and failcnt,
    of res or memsw; the written text is ignored): max_usage -> current usage, failcnt -> 0.
    Always 0."""
    mem = mem_cgroup_from_cont(cont)
    counter = mem.res if MEMFILE_TYPE(event) == _MEM else mem.memsw
    name = MEMFILE_ATTR(event)
    if name == RES_MAX_USAGE:
        res_counter_reset_max(counter)
    elif name == RES_FAILCNT:
        res_counter_reset_failcnt(counter)
    return 0


async def mem_cgroup_force_empty_write(k: Kernel, cont: Cgroup, event: CftPrivate) -> int:
    """mm/memcontrol.c: mem_cgroup_force_empty_write() (memory.force_empty, a trigger: the
    written text is ignored): mem_cgroup_force_empty(free_all)."""
    return await mem_cgroup_force_empty(k, mem_cgroup_from_cont(cont), True)


def mem_cgroup_hierarchy_read(k: Kernel, cont: Cgroup, cft: Cftype) -> int:
    """mm/memcontrol.c: mem_cgroup_hierarchy_read()."""
    return int(mem_cgroup_from_cont(cont).use_hierarchy)


def mem_cgroup_hierarchy_write(k: Kernel, cont: Cgroup, cft: Cftype, val: int) -> int:
    """mm/memcontrol.c: mem_cgroup_hierarchy_write(): 0 or 1 may be written only if the
    parent does not have use_hierarchy (the root has no parent) -- else, or for any other
    value, -EINVAL -- and only while the group has no children (-EBUSY)."""
    mem = mem_cgroup_from_cont(cont)
    parent = cont.parent.memcg if cont.parent is not None else None
    if (parent is None or not parent.use_hierarchy) and val in (0, 1):
        if _has_children(cont):
            return -EBUSY
        mem.use_hierarchy = bool(val)
        return 0
    return -EINVAL


def mem_cgroup_swappiness_read(k: Kernel, cont: Cgroup, cft: Cftype) -> int:
    """mm/memcontrol.c: mem_cgroup_swappiness_read(): get_swappiness() (the root reads
    vm_swappiness)."""
    return get_swappiness(k, mem_cgroup_from_cont(cont))


def mem_cgroup_swappiness_write(k: Kernel, cont: Cgroup, cft: Cftype, val: int) -> int:
    """mm/memcontrol.c: mem_cgroup_swappiness_write(): -EINVAL above 100, for the root, if
    the parent has use_hierarchy, or if the group has use_hierarchy and children."""
    mem = mem_cgroup_from_cont(cont)
    if val > 100:
        return -EINVAL
    if cont.parent is None or cont.parent.memcg is None:
        return -EINVAL
    parent = cont.parent.memcg
    if parent.use_hierarchy or (mem.use_hierarchy and _has_children(cont)):
        return -EINVAL
    mem.swappiness = val
    return 0


def _stat_names(k: Kernel) -> list[str]:
    """memcg_stat_strings[]: [31] adds mapped_file after rss."""
    names = ["cache", "rss"]
    if k.cfg.v31:
        names.append("mapped_file")
    return [*names, "pgpgin", "pgpgout", "inactive_anon", "active_anon", "inactive_file",
            "active_file", "unevictable"]


def mem_cgroup_get_local_stat(k: Kernel, mem: MemCgroup, into: dict[str, int]) -> None:
    """mm/memcontrol.c: mem_cgroup_get_local_stat(): add this memcg's values (bytes, but
    pgpgin/pgpgout counts) to ``into``."""
    stat = mem.stat
    into["cache"] += stat[MEM_CGROUP_STAT_CACHE] * PAGE_SIZE
    into["rss"] += stat[MEM_CGROUP_STAT_RSS] * PAGE_SIZE
    if "mapped_file" in into:
        into["mapped_file"] += stat[MEM_CGROUP_STAT_MAPPED_FILE] * PAGE_SIZE
    into["pgpgin"] += stat[MEM_CGROUP_STAT_PGPGIN_COUNT]
    into["pgpgout"] += stat[MEM_CGROUP_STAT_PGPGOUT_COUNT]
    for lru, key in ((LRU_INACTIVE_ANON, "inactive_anon"), (LRU_ACTIVE_ANON, "active_anon"),
                     (LRU_INACTIVE_FILE, "inactive_file"), (LRU_ACTIVE_FILE, "active_file"),
                     (LRU_UNEVICTABLE, "unevictable")):
        into[key] += len(mem.lists[lru]) * PAGE_SIZE


def memcg_get_hierarchical_limit(k: Kernel, mem: MemCgroup) -> tuple[int, int]:
    """mm/memcontrol.c: memcg_get_hierarchical_limit(): the smallest res and memsw limits
    of the group and its ancestors, walking up while use_hierarchy is set."""
    min_limit = mem.res.limit
    min_memsw_limit = mem.memsw.limit
    if not mem.use_hierarchy:
        return min_limit, min_memsw_limit
    cgroup = mem.cgroup
    while cgroup.parent is not None:
        cgroup = cgroup.parent
        memcg = cgroup.memcg
        if memcg is None or not memcg.use_hierarchy:
            break
        min_limit = min(min_limit, memcg.res.limit)
        min_memsw_limit = min(min_memsw_limit, memcg.memsw.limit)
    return min_limit, min_memsw_limit


def mem_control_stat_show(k: Kernel, cont: Cgroup, cft: Cftype) -> list[tuple[str, int]]:
    """mm/memcontrol.c: mem_control_stat_show(): memory.stat as (key, value) pairs in the
    kernel's order: the local values ([30] 9 keys; [31] 10, with mapped_file),
    hierarchical_memory_limit, hierarchical_memsw_limit (swap accounting only), then the
    total_ values summed over mem_cgroup_walk_tree() (the subtree under use_hierarchy,
    else the group alone). No CONFIG_DEBUG_VM keys."""
    mem = mem_cgroup_from_cont(cont)
    names = _stat_names(k)
    local = dict.fromkeys(names, 0)
    mem_cgroup_get_local_stat(k, mem, local)
    out = [(name, local[name]) for name in names]
    limit, memsw_limit = memcg_get_hierarchical_limit(k, mem)
    out.append(("hierarchical_memory_limit", limit))
    if k.cfg.do_swap_account:
        out.append(("hierarchical_memsw_limit", memsw_limit))
    total = dict.fromkeys(names, 0)
    for m in mem_cgroup_walk_tree(k, mem):
        mem_cgroup_get_local_stat(k, m, total)
    out += [(f"total_{name}", total[name]) for name in names]
    return out


#: mm/memcontrol.c: mem_cgroup_files[] (2.6.30, 2.6.31), in registration order (the cgroup
#: core names them "memory." + name). The later soft_limit_in_bytes,
#: move_charge_at_immigrate and oom_control are not in these versions.
mem_cgroup_files: tuple[Cftype, ...] = (
    Cftype("usage_in_bytes", MEMFILE_PRIVATE(_MEM, RES_USAGE), read_u64=mem_cgroup_read),
    Cftype("max_usage_in_bytes", MEMFILE_PRIVATE(_MEM, RES_MAX_USAGE),
           trigger=mem_cgroup_reset, read_u64=mem_cgroup_read),
    Cftype("limit_in_bytes", MEMFILE_PRIVATE(_MEM, RES_LIMIT),
           write_string=mem_cgroup_write, read_u64=mem_cgroup_read),
    Cftype("failcnt", MEMFILE_PRIVATE(_MEM, RES_FAILCNT),
           trigger=mem_cgroup_reset, read_u64=mem_cgroup_read),
    Cftype("stat", read_map=mem_control_stat_show),
    Cftype("force_empty", trigger=mem_cgroup_force_empty_write),
    Cftype("use_hierarchy", write_u64=mem_cgroup_hierarchy_write,
           read_u64=mem_cgroup_hierarchy_read),
    Cftype("swappiness", read_u64=mem_cgroup_swappiness_read,
           write_u64=mem_cgroup_swappiness_write),
)

#: mm/memcontrol.c: memsw_cgroup_files[] (CONFIG_CGROUP_MEM_RES_CTLR_SWAP), registered by
#: register_memsw_files() only with do_swap_account.
memsw_cgroup_files: tuple[Cftype, ...] = (
    Cftype("memsw.usage_in_bytes", MEMFILE_PRIVATE(_MEMSWAP, RES_USAGE),
           read_u64=mem_cgroup_read),
    Cftype("memsw.max_usage_in_bytes", MEMFILE_PRIVATE(_MEMSWAP, RES_MAX_USAGE),
           trigger=mem_cgroup_reset, read_u64=mem_cgroup_read),
    Cftype("memsw.limit_in_bytes", MEMFILE_PRIVATE(_MEMSWAP, RES_LIMIT),
           write_string=mem_cgroup_write, read_u64=mem_cgroup_read),
    Cftype("memsw.failcnt", MEMFILE_PRIVATE(_MEMSWAP, RES_FAILCNT),
           trigger=mem_cgroup_reset, read_u64=mem_cgroup_read),
)


def mem_cgroup_populate(k: Kernel, cont: Cgroup) -> tuple[Cftype, ...]:
    """mm/memcontrol.c: mem_cgroup_populate(): the files cgroup_add_files() gives a memory
    cgroup: mem_cgroup_files[], then (register_memsw_files()) memsw_cgroup_files[] only with
    swap accounting."""
    if k.cfg.do_swap_account:
        return mem_cgroup_files + memsw_cgroup_files
    return mem_cgroup_files


# Reclaim, the OOM killer and the LRU helpers import this module: imported last, when every
# name they take from here is defined (a call-time import would cost every charge).
from swaplab.kernel import oom_kill, page_alloc, swap, vmscan  # noqa: E402
