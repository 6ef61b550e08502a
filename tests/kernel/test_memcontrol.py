"""mm/memcontrol.c of 2.6.30/2.6.31: charge, uncharge and the swap records, the memcg LRU,
the limit files, use_hierarchy, swappiness, memory.stat and force_empty (the files as
Documentation/cgroups/memory.txt of 2.6.31 describes them). Reclaim
(vmscan.try_to_free_mem_cgroup_pages) and the memcg OOM killer
(oom_kill.mem_cgroup_out_of_memory) are replaced by recording stubs where a test is about
memcontrol's own arithmetic, so these tests do not depend on the other modules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from kernel_helpers import make_kernel, run

from swaplab.kernel import memcontrol as mc
from swaplab.kernel import oom_kill, swap, vmscan
from swaplab.kernel.cgroup import Cftype, Cgroup, cgroup_file_write
from swaplab.kernel.config import RMDIR_LRU_EMPTY, KernelConfig, make_config
from swaplab.kernel.errno import EBUSY, EINVAL, ENOMEM, KernelBug
from swaplab.kernel.gfp import GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOWAIT
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    PAGE_SIZE,
    AddressSpace,
    AnonVma,
    MmStruct,
    Page,
    TaskStruct,
)
from swaplab.kernel.page_cgroup import PCG_CACHE, PCG_USED, PageCgroup, lookup_swap_cgroup
from swaplab.kernel.page_flags import PG_lru, PG_swapbacked, PG_swapcache
from swaplab.kernel.res_counter import RESOURCE_MAX
from swaplab.kernel.swapfile import swp_entry
from swaplab.kernel.sync import Current

P = PAGE_SIZE
ENT = swp_entry(0, 5)


# ---------------------------------------------------------------------------------------------
# set-up


def root(k: Kernel) -> MemCgroup:
    assert k.root_mem_cgroup is not None
    return k.root_mem_cgroup


def mkcg(k: Kernel, parent: Cgroup, name: str) -> MemCgroup:
    cg = Cgroup(name, parent)
    mem = mc.mem_cgroup_create(k, cg)
    parent.children[name] = cg
    return mem


def rmcg(k: Kernel, mem: MemCgroup) -> None:
    """What cgroup_rmdir does after pre_destroy: CSS_REMOVED, unlink, destroy."""
    cg = mem.cgroup
    assert cg.parent is not None
    mem.css_refcnt = 0
    cg.removed = True
    del cg.parent.children[cg.name]
    mc.mem_cgroup_destroy(k, mem)


_next_pid = [100]


def task_in(k: Kernel, mem: MemCgroup) -> TaskStruct:
    _next_pid[0] += 1
    mm = MmStruct()
    t = TaskStruct(_next_pid[0], "t", mm, mem.cgroup)
    mm.owner = t
    mem.cgroup.tasks.append(t)
    k.tasks[t.pid] = t
    return t


_next_pfn = [1000]


def new_page(anon: bool = True) -> Page:
    _next_pfn[0] += 1
    pc = PageCgroup()
    page = Page(_next_pfn[0], pc)
    pc.page = page
    if anon:
        page.mapping = AnonVma()
        page.flags |= PG_swapbacked
    return page


class Stubs:
    """Recording stand-ins for memcg reclaim and the memcg OOM killer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reclaims: list[tuple[MemCgroup, bool]] = []
        self.ooms: list[MemCgroup] = []
        self.on_reclaim: Callable[[MemCgroup], int] = lambda mem: 0

        async def reclaim(k: Kernel, mem: MemCgroup, gfp: int, noswap: bool,
                          swappiness: int) -> int:
            self.reclaims.append((mem, noswap))
            return self.on_reclaim(mem)

        async def oom(k: Kernel, mem: MemCgroup, gfp: int) -> None:
            assert k.memcg_tasklist.holder is not None  # called under memcg_tasklist
            self.ooms.append(mem)

        monkeypatch.setattr(vmscan, "try_to_free_mem_cgroup_pages", reclaim)
        monkeypatch.setattr(oom_kill, "mem_cgroup_out_of_memory", oom)


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Stubs:
    return Stubs(monkeypatch)


def charge_anon(k: Kernel, task: TaskStruct, page: Page | None = None,
                gfp: int = GFP_HIGHUSER_MOVABLE) -> tuple[int, Page]:
    page = page if page is not None else new_page()
    page.mapping = None  # a new anon page: mapping set by rmap after the charge
    ret = run(k, mc.mem_cgroup_newpage_charge(k, page, task.mm, gfp), task)
    page.mapping = AnonVma()
    return int(ret), page


#: mem_cgroup_files[] and memsw_cgroup_files[] by name.
FILES: dict[str, Cftype] = {cft.name: cft
                            for cft in (*mc.mem_cgroup_files, *mc.memsw_cgroup_files)}


def cft(name: str) -> Cftype:
    return FILES[name.removeprefix("memory.")]


def file_write(k: Kernel, mem: MemCgroup, name: str, buf: str) -> int:
    """cgroup_file_write() of the group's file ``name``, run to the end."""
    ret = cgroup_file_write(k, mem.cgroup, cft(name), buf)
    return ret if isinstance(ret, int) else int(run(k, ret))


def read_u64(k: Kernel, mem: MemCgroup, name: str) -> int:
    """The read_u64 method of the group's file ``name`` (mem_cgroup_read() for the
    res_counter files)."""
    file = cft(name)
    assert file.read_u64 is not None
    return file.read_u64(k, mem.cgroup, file)


def set_limit(k: Kernel, mem: MemCgroup, value: str, memsw: bool = False) -> int:
    return file_write(k, mem, "memsw.limit_in_bytes" if memsw else "limit_in_bytes", value)


def stat_show(k: Kernel, mem: MemCgroup) -> list[tuple[str, int]]:
    return mc.mem_control_stat_show(k, mem.cgroup, cft("stat"))


def hierarchy_write(k: Kernel, mem: MemCgroup, val: int | str) -> int:
    """memory.use_hierarchy: an int to mem_cgroup_hierarchy_write(), a text through
    cgroup_write_X64()."""
    if isinstance(val, str):
        return file_write(k, mem, "use_hierarchy", val)
    return mc.mem_cgroup_hierarchy_write(k, mem.cgroup, cft("use_hierarchy"), val)


def swappiness_write(k: Kernel, mem: MemCgroup, val: int) -> int:
    return mc.mem_cgroup_swappiness_write(k, mem.cgroup, cft("swappiness"), val)


def usage(mem: MemCgroup) -> tuple[int, int]:
    return mem.res.usage // P, mem.memsw.usage // P


# ---------------------------------------------------------------------------------------------
# creation and references


def test_create_ids_and_inheritance(version: str) -> None:
    k = make_kernel(version)
    r = root(k)
    assert r.css_id == 1 and k.css_ids == {1: r} and k.cgroup_root.memcg is r
    k.vm_swappiness = 35
    a = mkcg(k, k.cgroup_root, "A")
    assert a.css_id == 2 and k.css_ids[2] is a
    assert a.swappiness == 35  # get_swappiness(root) = vm_swappiness
    assert swappiness_write(k, a, 70) == 0
    assert hierarchy_write(k, a, 1) == 0
    b = mkcg(k, a.cgroup, "B")
    assert (b.swappiness, b.use_hierarchy) == (70, True)
    assert b.res.parent is a.res and b.memsw.parent is a.memsw
    assert a.refcnt == 2  # its own + the hierarchical child
    assert a.res.parent is None  # root has use_hierarchy 0
    assert r.refcnt == 1


def test_swap_record_keeps_rmdired_memcg_alive() -> None:
    k = make_kernel("2.6.31")
    a = mkcg(k, k.cgroup_root, "A")
    assert hierarchy_write(k, a, 1) == 0
    b = mkcg(k, a.cgroup, "B")
    t = task_in(k, b)
    # swap-out of a charged, unmapped anon page: record + mem_cgroup_get
    _, pg = charge_anon(k, t)
    mc.mem_cgroup_uncharge_swapcache(k, pg, ENT, True)
    assert lookup_swap_cgroup(k, ENT) == b.css_id
    assert b.refcnt == 2 and b.css_refcnt == 1
    b.cgroup.tasks.clear()
    rmcg(k, b)
    assert not b.freed and b.refcnt == 1 and k.css_ids[b.css_id] is b
    assert mc.mem_cgroup_lookup(k, b.css_id) is b
    assert a.refcnt == 2  # still held by b
    assert usage(b) == (0, 1) and usage(a) == (0, 1)  # hierarchical
    mc.mem_cgroup_uncharge_swap(k, ENT)
    assert lookup_swap_cgroup(k, ENT) == 0
    assert b.freed and b.css_id not in k.css_ids
    assert mc.mem_cgroup_lookup(k, b.css_id) is None
    assert a.refcnt == 1  # b's free dropped its reference on a
    assert usage(b) == (0, 0) and usage(a) == (0, 0)


def test_put_below_zero_is_a_bug() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    mc.mem_cgroup_put(k, a)
    assert a.freed
    with pytest.raises(KernelBug):
        mc.mem_cgroup_put(k, a)


# ---------------------------------------------------------------------------------------------
# try_charge: failcnt arithmetic (__mem_cgroup_try_charge(), kernel/res_counter.c)


def test_failed_charge_costs_six_and_one_oom(version: str, stubs: Stubs) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    assert set_limit(k, a, "4096") == 0
    assert charge_anon(k, t)[0] == 0
    k.jiffies = 500
    ret, page = charge_anon(k, t)
    assert ret == -ENOMEM
    assert a.res.failcnt == 6 and a.memsw.failcnt == 0
    # six hierarchical reclaim passes; without use_hierarchy each visits the memcg twice
    # (it returns when root_mem has been the victim twice)
    assert len(stubs.reclaims) == 12 and all(m is a and not ns for m, ns in stubs.reclaims)
    assert stubs.ooms == [a]
    assert a.last_oom_jiffies == 500
    assert usage(a) == (1, 1) and a.css_refcnt == 2
    assert not page.page_cgroup.flags & PCG_USED
    # a second episode adds six more
    charge_anon(k, t)
    assert a.res.failcnt == 12 and len(stubs.ooms) == 2


def test_limit_zero_fails_without_reclaiming_an_empty_group(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    assert set_limit(k, a, "0") == 0
    assert charge_anon(k, t)[0] == -ENOMEM
    assert a.res.failcnt == 6 and stubs.ooms == [a]
    assert stubs.reclaims == []  # no local usage: the victim is skipped
    assert usage(a) == (0, 0) and a.css_refcnt == 1


def test_nowait_charge_fails_once_without_reclaim(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    set_limit(k, a, "0")
    assert charge_anon(k, t, gfp=GFP_NOWAIT)[0] == -ENOMEM
    assert a.res.failcnt == 1 and stubs.reclaims == [] and stubs.ooms == []


def test_move_parent_style_charge_has_no_oom(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    set_limit(k, a, "0")
    ret, mem = run(k, mc.__mem_cgroup_try_charge(k, None, GFP_KERNEL, a, False))
    assert ret == -ENOMEM and mem is a
    assert a.res.failcnt == 6 and stubs.ooms == [] and a.css_refcnt == 1


def test_progress_makes_retries_free(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    set_limit(k, a, "4096")
    assert charge_anon(k, t)[0] == 0
    calls = [0]

    def progress_then_free(mem: MemCgroup) -> int:
        calls[0] += 1
        if calls[0] == 5:  # the third pass's first victim frees the page
            mem.res.usage = 0
            mem.memsw.usage = 0
        return 1

    stubs.on_reclaim = progress_then_free
    assert charge_anon(k, t)[0] == 0
    # passes 1 and 2 made progress (2 victims each) without room: free retries
    assert a.res.failcnt == 3  # one per failed iteration; success after 3
    assert calls[0] == 5 and stubs.ooms == []


def test_memsw_refusal_counts_on_memsw_and_reclaims_noswap(stubs: Stubs) -> None:
    k = make_kernel("2.6.31")
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    assert set_limit(k, a, "8192") == 0
    assert set_limit(k, a, "12288", memsw=True) == 0
    assert not a.memsw_is_minimum
    for ent in (ENT, swp_entry(0, 6)):
        _, pg = charge_anon(k, t)
        mc.mem_cgroup_uncharge_swapcache(k, pg, ent, True)
    charge_anon(k, t)
    assert usage(a) == (1, 3)
    ret, _ = charge_anon(k, t)
    assert ret == -ENOMEM
    assert (a.res.failcnt, a.memsw.failcnt) == (0, 6)
    assert all(ns for _, ns in stubs.reclaims) and len(stubs.reclaims) == 12
    assert usage(a) == (1, 3)


def test_without_swap_account_memsw_untouched(stubs: Stubs) -> None:
    k = make_kernel(cfg=KernelConfig(do_swap_account=False))
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    assert charge_anon(k, t)[0] == 0
    assert usage(a) == (1, 0)


def test_memdie_task_is_not_accounted(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    set_limit(k, a, "0")
    t.memdie = True
    ret, page = charge_anon(k, t)
    assert ret == 0 and usage(a) == (0, 0) and a.res.failcnt == 0
    assert not page.page_cgroup.flags & PCG_USED


def test_no_owner_no_charge() -> None:
    k = make_kernel()
    page = new_page()
    page.mapping = None
    assert run(k, mc.mem_cgroup_newpage_charge(k, page, None, GFP_KERNEL)) == 0
    assert run(k, mc.mem_cgroup_newpage_charge(k, page, MmStruct(), GFP_KERNEL)) == 0
    assert usage(root(k)) == (0, 0)


def test_newpage_charge_skips_mapped_and_cache_pages() -> None:
    k = make_kernel()
    t = task_in(k, root(k))
    page = new_page()
    page._mapcount = 0
    assert run(k, mc.mem_cgroup_newpage_charge(k, page, t.mm, GFP_KERNEL), t) == 0
    page._mapcount = -1
    page.mapping = AddressSpace("file")
    assert run(k, mc.mem_cgroup_newpage_charge(k, page, t.mm, GFP_KERNEL), t) == 0
    assert usage(root(k)) == (0, 0)


def test_hierarchy_charge_refused_by_ancestor(version: str, stubs: Stubs) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    assert hierarchy_write(k, a, 1) == 0
    assert set_limit(k, a, "4096") == 0
    b = mkcg(k, a.cgroup, "B")
    t = task_in(k, b)
    assert charge_anon(k, t)[0] == 0
    assert usage(a) == (1, 1) and usage(b) == (1, 1)
    assert charge_anon(k, t)[0] == -ENOMEM
    assert (a.res.failcnt, b.res.failcnt) == (6, 0)
    # reclaim goes round the subtree of the refusing ancestor; only b has pages
    assert stubs.ooms == [a] and stubs.reclaims and all(m is b for m, _ in stubs.reclaims)
    assert usage(a) == (1, 1) and usage(b) == (1, 1)
    assert root(k).res.usage == 0  # root has use_hierarchy 0: not linked


# ---------------------------------------------------------------------------------------------
# commit and uncharge


def test_commit_double_charge_guard() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    page = new_page()
    pc = page.page_cgroup
    for _ in range(2):
        ret, mem = run(k, mc.__mem_cgroup_try_charge(k, t.mm, GFP_KERNEL, None, True), t)
        assert ret == 0 and mem is a
        mc.__mem_cgroup_commit_charge(k, mem, pc, mc.MEM_CGROUP_CHARGE_TYPE_MAPPED)
    assert usage(a) == (1, 1)
    assert a.css_refcnt == 2  # base + the page
    assert a.stat["rss"] == 1 and a.stat["pgpgin"] == 1
    assert pc.flags == PCG_USED and pc.mem_cgroup is a


@pytest.mark.parametrize(
    ("ctype", "flags", "stat"),
    [
        (mc.MEM_CGROUP_CHARGE_TYPE_CACHE, PCG_CACHE | PCG_USED, "cache"),
        (mc.MEM_CGROUP_CHARGE_TYPE_MAPPED, PCG_USED, "rss"),
        (mc.MEM_CGROUP_CHARGE_TYPE_SHMEM, PCG_CACHE | PCG_USED, "cache"),
    ],
)
def test_commit_default_flags(ctype: int, flags: int, stat: str) -> None:
    k = make_kernel()
    t = task_in(k, root(k))
    page = new_page()
    ret, mem = run(k, mc.__mem_cgroup_try_charge(k, t.mm, GFP_KERNEL, None, True), t)
    assert ret == 0
    mc.__mem_cgroup_commit_charge(k, mem, page.page_cgroup, ctype)
    assert page.page_cgroup.flags == flags and root(k).stat[stat] == 1


def test_commit_of_nothing_is_nothing() -> None:
    k = make_kernel()
    page = new_page()
    mc.__mem_cgroup_commit_charge(k, None, page.page_cgroup, mc.MEM_CGROUP_CHARGE_TYPE_MAPPED)
    assert page.page_cgroup.flags == 0


def test_uncharge_page_rules() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    _, page = charge_anon(k, t)
    page._mapcount = 0  # mapped: kept
    mc.mem_cgroup_uncharge_page(k, page)
    assert usage(a) == (1, 1)
    page._mapcount = -1
    page.flags |= PG_swapcache  # swap cache: never uncharged here
    mc.mem_cgroup_uncharge_page(k, page)
    assert usage(a) == (1, 1)
    page.flags &= ~PG_swapcache
    mc.mem_cgroup_uncharge_page(k, page)
    assert usage(a) == (0, 0)
    pc = page.page_cgroup
    assert not pc.flags & PCG_USED and pc.mem_cgroup is a  # owner kept for the LRU unlink
    assert a.stat["rss"] == 0 and a.stat["pgpgout"] == 1 and a.css_refcnt == 1
    mc.mem_cgroup_uncharge_page(k, page)  # not USED: nothing
    assert a.stat["pgpgout"] == 1


def test_uncharge_cache_page() -> None:
    k = make_kernel()
    t = task_in(k, root(k))
    page = new_page(anon=False)
    assert run(k, mc.mem_cgroup_cache_charge(k, page, t.mm, GFP_KERNEL), t) == 0
    assert root(k).stat["cache"] == 1
    mc.mem_cgroup_uncharge_cache_page(k, page)
    assert usage(root(k)) == (0, 0) and root(k).stat["cache"] == 0


def test_cache_charge_nowait_skips_precharged_page() -> None:
    k = make_kernel()
    t = task_in(k, root(k))
    page = new_page()  # swap-backed: shmem
    page.mapping = None
    assert run(k, mc.mem_cgroup_cache_charge(k, page, t.mm, GFP_KERNEL), t) == 0
    assert run(k, mc.mem_cgroup_cache_charge(k, page, t.mm, GFP_NOWAIT), t) == 0
    assert usage(root(k)) == (1, 1)
    assert page.page_cgroup.flags == PCG_CACHE | PCG_USED


def test_uncharge_swapcache_swapout(version: str) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    _, page = charge_anon(k, t)
    mc.mem_cgroup_uncharge_swapcache(k, page, ENT, True)
    assert usage(a) == (0, 1)
    assert lookup_swap_cgroup(k, ENT) == a.css_id and a.refcnt == 2
    assert a.css_refcnt == 1
    mc.mem_cgroup_uncharge_swap(k, ENT)
    assert usage(a) == (0, 0) and a.refcnt == 1 and lookup_swap_cgroup(k, ENT) == 0
    mc.mem_cgroup_uncharge_swap(k, ENT)  # second call: id 0, nothing
    assert a.refcnt == 1


@pytest.mark.parametrize(("version", "drop"), [("2.6.30", False), ("2.6.31", True)])
def test_uncharge_swapcache_unused_swap(version: str, drop: bool) -> None:
    """4/5: swapout=False is DROP (res and memsw -1, no record); [30] has no flag."""
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    _, page = charge_anon(k, t)
    mc.mem_cgroup_uncharge_swapcache(k, page, ENT, False)
    if drop:
        assert usage(a) == (0, 0) and lookup_swap_cgroup(k, ENT) == 0 and a.refcnt == 1
    else:
        assert usage(a) == (0, 1) and lookup_swap_cgroup(k, ENT) == a.css_id
    assert a.css_refcnt == 1


def test_drop_keeps_mapped_page_charged() -> None:
    k = make_kernel("2.6.31")
    t = task_in(k, root(k))
    _, page = charge_anon(k, t)
    page._mapcount = 0
    mc.mem_cgroup_uncharge_swapcache(k, page, ENT, False)
    assert usage(root(k)) == (1, 1)


def test_swapout_of_shmem_page_still_in_shmem_tree_is_kept() -> None:
    k = make_kernel()
    t = task_in(k, root(k))
    page = new_page()
    page.mapping = None
    run(k, mc.mem_cgroup_cache_charge(k, page, t.mm, GFP_KERNEL), t)
    page.mapping = AddressSpace("shm", swap_backed=True)
    mc.mem_cgroup_uncharge_swapcache(k, page, ENT, True)
    assert usage(root(k)) == (1, 1)
    page.mapping = None
    mc.mem_cgroup_uncharge_swapcache(k, page, ENT, True)
    assert usage(root(k)) == (0, 1) and lookup_swap_cgroup(k, ENT) == root(k).css_id


# ---------------------------------------------------------------------------------------------
# swap-in: mm/memory.c: do_swap_page()'s charge (mem_cgroup_try_charge_swapin(), then
# mem_cgroup_commit_charge_swapin()) at the memcg level, in four cases: the swap-cache page
# is (A) not charged yet and still in the swap cache at the commit, (B) not charged and
# taken out of the swap cache by reuse_swap_page() before the commit, (C) charged already by
# another mapper's fault, (D) charged already and taken out before the commit


def swapped_out(k: Kernel, mem: MemCgroup, t: TaskStruct) -> Page:
    """A page of ``t`` swapped out (res 0 / memsw 1, record -> mem), and the page that
    swap-in readahead brought back: swap cache, locked, uncharged."""
    _, old = charge_anon(k, t)
    mc.mem_cgroup_uncharge_swapcache(k, old, ENT, True)
    assert usage(mem) == (0, 1)
    q = new_page()
    q.flags |= PG_swapcache
    q.private = ENT
    q.lock.take(99)  # locked by the faulting task
    return q


def commit_by_other_mapper(k: Kernel, t: TaskStruct, q: Page) -> None:
    ret, ptr = run(k, mc.mem_cgroup_try_charge_swapin(k, t.mm, q, GFP_KERNEL), t)
    assert ret == 0
    mc.mem_cgroup_commit_charge_swapin(k, q, ptr)


def reuse_deletes(k: Kernel, q: Page) -> None:
    """reuse_swap_page -> delete_from_swap_cache: the pte still counts, so swapout."""
    q.flags &= ~PG_swapcache
    q.private = 0
    mc.mem_cgroup_uncharge_swapcache(k, q, ENT, True)


@pytest.mark.parametrize("case", ["A", "B", "C", "D"])
def test_do_swap_page_cases(version: str, case: str) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    q = swapped_out(k, a, t)
    if case in ("C", "D"):
        commit_by_other_mapper(k, t, q)
        assert usage(a) == (1, 1) and lookup_swap_cgroup(k, ENT) == 0
    ret, ptr = run(k, mc.mem_cgroup_try_charge_swapin(k, t.mm, q, GFP_KERNEL), t)
    assert ret == 0 and ptr is a
    assert usage(a) == ((2, 2) if case in ("C", "D") else (1, 2))
    if case in ("B", "D"):
        reuse_deletes(k, q)
        assert usage(a) == (1, 2)
    mc.mem_cgroup_commit_charge_swapin(k, q, ptr)
    if case in ("B", "D"):
        assert usage(a) == (1, 2) and lookup_swap_cgroup(k, ENT) == a.css_id
        mc.mem_cgroup_uncharge_swap(k, ENT)  # swap_free: count 0
    assert usage(a) == (1, 1)
    assert lookup_swap_cgroup(k, ENT) == 0
    assert a.refcnt == 1 and a.css_refcnt == 2
    assert q.page_cgroup.flags & PCG_USED and q.page_cgroup.mem_cgroup is a


def test_swapin_charges_record_owner_not_current() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    b = mkcg(k, k.cgroup_root, "B")
    ta, tb = task_in(k, a), task_in(k, b)
    q = swapped_out(k, a, ta)
    ret, ptr = run(k, mc.mem_cgroup_try_charge_swapin(k, tb.mm, q, GFP_KERNEL), tb)
    assert ret == 0 and ptr is a
    mc.mem_cgroup_commit_charge_swapin(k, q, ptr)
    assert usage(a) == (1, 1) and usage(b) == (0, 0)


def test_swapin_of_removed_memcg_record_charges_current() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    b = mkcg(k, k.cgroup_root, "B")
    ta, tb = task_in(k, a), task_in(k, b)
    q = swapped_out(k, a, ta)
    a.cgroup.tasks.clear()
    rmcg(k, a)
    assert not a.freed
    ret, ptr = run(k, mc.mem_cgroup_try_charge_swapin(k, tb.mm, q, GFP_KERNEL), tb)
    assert ret == 0 and ptr is b
    mc.mem_cgroup_commit_charge_swapin(k, q, ptr)
    assert usage(b) == (1, 1)
    assert a.freed and a.memsw.usage == 0 and a.css_id not in k.css_ids


def test_cancel_and_not_swapcache() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    q = swapped_out(k, a, t)
    ret, ptr = run(k, mc.mem_cgroup_try_charge_swapin(k, t.mm, q, GFP_KERNEL), t)
    assert ret == 0 and usage(a) == (1, 2) and a.css_refcnt == 2
    mc.mem_cgroup_cancel_charge_swapin(k, ptr)
    assert usage(a) == (0, 1) and a.css_refcnt == 1
    assert lookup_swap_cgroup(k, ENT) == a.css_id
    q.flags &= ~PG_swapcache
    assert run(k, mc.mem_cgroup_try_charge_swapin(k, t.mm, q, GFP_KERNEL), t) == (0, None)
    assert usage(a) == (0, 1)


def test_swapin_without_swap_account_charges_current_mm() -> None:
    k = make_kernel(cfg=KernelConfig(do_swap_account=False))
    a = mkcg(k, k.cgroup_root, "A")
    b = mkcg(k, k.cgroup_root, "B")
    ta, tb = task_in(k, a), task_in(k, b)
    _, old = charge_anon(k, ta)
    mc.mem_cgroup_uncharge_swapcache(k, old, ENT, True)
    assert usage(a) == (0, 0) and lookup_swap_cgroup(k, ENT) == 0  # no record kept
    q = new_page()
    q.flags |= PG_swapcache
    q.private = ENT
    q.lock.take(99)
    ret, ptr = run(k, mc.mem_cgroup_try_charge_swapin(k, tb.mm, q, GFP_KERNEL), tb)
    assert ret == 0 and ptr is b
    mc.mem_cgroup_commit_charge_swapin(k, q, ptr)
    assert usage(b) == (1, 0) and usage(a) == (0, 0)


def test_shmem_swapcache_cache_charge_clears_record() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    q = swapped_out(k, a, t)
    q.mapping = None
    assert run(k, mc.mem_cgroup_cache_charge(k, q, t.mm, GFP_NOWAIT), t) == 0
    assert usage(a) == (1, 1) and lookup_swap_cgroup(k, ENT) == 0
    assert q.page_cgroup.flags == PCG_CACHE | PCG_USED


def test_shmem_charge_fallback_charges_and_cancels(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    q = swapped_out(k, a, t)
    assert run(k, mc.mem_cgroup_shmem_charge_fallback(k, q, t.mm, GFP_KERNEL), t) == 0
    assert usage(a) == (0, 1) and a.css_refcnt == 1


# ---------------------------------------------------------------------------------------------
# LRU


def put_on_lru(k: Kernel, page: Page, lru: int) -> None:
    page.flags |= PG_lru
    k.zone.lru[lru][page] = None
    page.lru = lru
    mc.mem_cgroup_add_lru_list(k, page, lru)


def test_add_links_only_used_del_ignores_used() -> None:
    k = make_kernel()
    t = task_in(k, root(k))
    loose = new_page()
    put_on_lru(k, loose, LRU_INACTIVE_ANON)
    assert loose.page_cgroup.lru == -1 and not root(k).lists[LRU_INACTIVE_ANON]
    _, page = charge_anon(k, t)
    put_on_lru(k, page, LRU_INACTIVE_ANON)
    assert list(root(k).lists[LRU_INACTIVE_ANON]) == [page.page_cgroup]
    mc.mem_cgroup_uncharge_page(k, page)  # uncharged: stays linked (stale pc)
    assert page.page_cgroup in root(k).lists[LRU_INACTIVE_ANON]
    mc.mem_cgroup_del_lru_list(k, page, LRU_INACTIVE_ANON)
    assert not root(k).lists[LRU_INACTIVE_ANON] and page.page_cgroup.lru == -1


def test_double_link_is_a_bug() -> None:
    k = make_kernel()
    t = task_in(k, root(k))
    _, page = charge_anon(k, t)
    put_on_lru(k, page, LRU_INACTIVE_ANON)
    with pytest.raises(Exception, match="already linked"):
        mc.mem_cgroup_add_lru_list(k, page, LRU_ACTIVE_ANON)


def test_isolate_pages_walks_memcg_list(version: str) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    pages = []
    for _ in range(3):
        _, page = charge_anon(k, t)
        put_on_lru(k, page, LRU_INACTIVE_ANON)
        pages.append(page)
    mc.mem_cgroup_uncharge_page(k, pages[0])  # stale pc: skipped, not counted
    got = mc.mem_cgroup_isolate_pages(k, 1, a, False, False)
    assert got == [pages[1]]  # oldest USED one first
    assert not pages[1].flags & PG_lru and pages[1]._count == 2
    assert pages[1] not in k.zone.lru[LRU_INACTIVE_ANON]
    assert pages[1].page_cgroup.lru == -1
    assert mc.mem_cgroup_isolate_pages(k, 32, a, False, False) == [pages[2]]
    assert list(a.lists[LRU_INACTIVE_ANON]) == [pages[0].page_cgroup]
    assert mc.mem_cgroup_isolate_pages(k, 32, a, True, False) == []


@pytest.mark.parametrize(("version", "rotated"), [("2.6.30", False), ("2.6.31", True)])
def test_isolate_busy_page_rotates_on_31(version: str, rotated: bool) -> None:
    k = make_kernel(version)
    t = task_in(k, root(k))
    busy, other = charge_anon(k, t)[1], charge_anon(k, t)[1]
    put_on_lru(k, busy, LRU_INACTIVE_ANON)
    put_on_lru(k, other, LRU_INACTIVE_ANON)
    busy._count = 0  # being freed: get_page_unless_zero fails
    assert mc.mem_cgroup_isolate_pages(k, 1, root(k), False, False) == []
    order = list(root(k).lists[LRU_INACTIVE_ANON])
    expected = [other.page_cgroup, busy.page_cgroup]
    assert order == (expected if rotated else expected[::-1])


# ---------------------------------------------------------------------------------------------
# limits (mem_cgroup_resize_limit(), mem_cgroup_resize_memsw_limit())


@pytest.mark.parametrize(
    ("text", "value"), [("4095", 4096), ("4097", 8192), ("1", 4096), ("0", 0), ("1k", 4096)]
)
def test_limit_rounding(text: str, value: int) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    assert set_limit(k, a, text + "\n") == 0
    assert read_u64(k, a, "memory.limit_in_bytes") == value


@pytest.mark.parametrize("text", ["1.0", "1xx", "xx", "-2", "1 2"])
def test_limit_junk_is_einval(version: str, text: str) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    assert set_limit(k, a, text) == -EINVAL
    assert a.res.limit == RESOURCE_MAX


@pytest.mark.parametrize(("version", "ok"), [("2.6.30", False), ("2.6.31", True)])
def test_minus_one_per_version(version: str, ok: bool) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    set_limit(k, a, "4096")
    assert set_limit(k, a, "-1") == (0 if ok else -EINVAL)
    assert a.res.limit == (RESOURCE_MAX if ok else 4096)
    if ok:
        # quirk of 2.6.31: -1 equals the (default) memsw limit -> memsw_is_minimum
        assert a.memsw_is_minimum


def test_limit_memsw_einval_matrix(version: str) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    v31 = version == "2.6.31"
    assert set_limit(k, a, "8M", memsw=True) == -EINVAL  # memory limit is still LLONG_MAX
    assert set_limit(k, a, "16M") == 0
    assert set_limit(k, a, "8M", memsw=True) == -EINVAL  # below the memory limit
    assert set_limit(k, a, "16M", memsw=True) == 0  # equal is fine
    assert a.memsw_is_minimum == v31
    assert set_limit(k, a, "32M") == -EINVAL  # above the memsw limit
    assert set_limit(k, a, "8M") == 0
    assert not a.memsw_is_minimum
    assert set_limit(k, a, "8M", memsw=True) == 0
    assert a.memsw_is_minimum == v31
    # to raise both, raise memsw first
    assert set_limit(k, a, "16M") == -EINVAL
    assert set_limit(k, a, "16M", memsw=True) == 0
    assert set_limit(k, a, "16M") == 0
    # the default LLONG_MAX rounds up above the memsw limit
    assert set_limit(k, a, "9223372036854775807") == -EINVAL


def test_limit_below_usage_ebusy_after_retries(version: str, stubs: Stubs) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    charge_anon(k, t)
    charge_anon(k, t)
    assert set_limit(k, a, "4096") == -EBUSY
    assert a.res.limit == RESOURCE_MAX
    assert len(stubs.reclaims) == 5 and all(not ns for _, ns in stubs.reclaims)
    assert a.res.failcnt == 0 and stubs.ooms == []
    stubs.reclaims.clear()
    _, extra = charge_anon(k, t)
    mc.mem_cgroup_uncharge_swapcache(k, extra, ENT, True)
    assert usage(a) == (2, 3)
    assert set_limit(k, a, "8192") == 0
    assert set_limit(k, a, "8192", memsw=True) == -EBUSY  # swap records cannot be freed
    assert len(stubs.reclaims) == 5 and all(ns for _, ns in stubs.reclaims)
    assert a.memsw.limit == RESOURCE_MAX and not a.memsw_is_minimum


def test_limit_retries_scale_with_subtree_and_reset_on_progress(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    hierarchy_write(k, a, 1)
    mkcg(k, a.cgroup, "B")
    t = task_in(k, a)
    for _ in range(3):
        charge_anon(k, t)
    assert set_limit(k, a, "4096") == -EBUSY
    assert len(stubs.reclaims) == 10  # 5 x 2 memcgs
    stubs.reclaims.clear()

    def one_page(mem: MemCgroup) -> int:
        a.res.usage -= P
        return 1

    stubs.on_reclaim = one_page
    assert set_limit(k, a, "4096") == 0
    assert len(stubs.reclaims) == 2 and a.res.limit == 4096


def test_memsw_limit_einval_without_swap_account_on_30() -> None:
    k = make_kernel(cfg=replace(make_config("2.6.30"), do_swap_account=False))
    a = mkcg(k, k.cgroup_root, "A")
    assert set_limit(k, a, "8M", memsw=True) == -EINVAL
    assert read_u64(k, a, "memsw.limit_in_bytes") == 0


def test_read_and_reset_files(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    set_limit(k, a, "8192")
    _, p1 = charge_anon(k, t)
    charge_anon(k, t)
    charge_anon(k, t)
    mc.mem_cgroup_uncharge_page(k, p1)
    assert read_u64(k, a, "usage_in_bytes") == 4096
    assert read_u64(k, a, "max_usage_in_bytes") == 8192
    assert read_u64(k, a, "failcnt") == 6
    assert read_u64(k, a, "memsw.max_usage_in_bytes") == 8192
    assert mc.mem_cgroup_reset(k, a.cgroup, cft("max_usage_in_bytes").private) == 0
    assert mc.mem_cgroup_reset(k, a.cgroup, cft("memory.failcnt").private) == 0
    assert read_u64(k, a, "max_usage_in_bytes") == 4096
    assert read_u64(k, a, "failcnt") == 0
    assert read_u64(k, a, "memsw.max_usage_in_bytes") == 8192


# ---------------------------------------------------------------------------------------------
# use_hierarchy and swappiness (mem_cgroup_hierarchy_write(), mem_cgroup_swappiness_write())


def test_use_hierarchy_rules() -> None:
    k = make_kernel()
    r = root(k)
    assert hierarchy_write(k, r, 1) == 0  # root without children
    assert hierarchy_write(k, r, "0\n") == 0
    assert hierarchy_write(k, r, 2) == -EINVAL
    assert hierarchy_write(k, r, "abc") == -EINVAL
    assert hierarchy_write(k, r, "") == -EINVAL  # cgroup_write_X64: !nbytes
    assert hierarchy_write(k, r, 1) == 0
    assert hierarchy_write(k, r, " \n") == 0  # blanks: strstrip -> "" -> 0
    assert not r.use_hierarchy
    a = mkcg(k, k.cgroup_root, "A")
    assert hierarchy_write(k, r, 1) == -EBUSY  # has children
    assert hierarchy_write(k, r, 2) == -EINVAL  # value first
    assert hierarchy_write(k, a, "0x1") == 0
    b = mkcg(k, a.cgroup, "B")
    assert read_u64(k, b, "use_hierarchy") == 1
    assert hierarchy_write(k, b, 0) == -EINVAL  # parent has hierarchy
    assert hierarchy_write(k, a, 0) == -EBUSY


def test_swappiness_rules() -> None:
    k = make_kernel()
    r = root(k)
    k.vm_swappiness = 42
    assert read_u64(k, r, "swappiness") == 42
    assert swappiness_write(k, r, 10) == -EINVAL
    a = mkcg(k, k.cgroup_root, "A")
    assert swappiness_write(k, a, 101) == -EINVAL
    assert swappiness_write(k, a, 100) == 0
    assert read_u64(k, a, "swappiness") == 100
    hierarchy_write(k, a, 1)
    assert swappiness_write(k, a, 0) == 0  # hierarchy, no children
    b = mkcg(k, a.cgroup, "B")
    assert b.swappiness == 0
    assert swappiness_write(k, a, 5) == -EINVAL  # hierarchy + children
    assert swappiness_write(k, b, 5) == -EINVAL  # parent hierarchy


# ---------------------------------------------------------------------------------------------
# memory.stat (mem_control_stat_show())

LOCAL_31 = ["cache", "rss", "mapped_file", "pgpgin", "pgpgout", "inactive_anon",
            "active_anon", "inactive_file", "active_file", "unevictable"]


@pytest.mark.parametrize(("version", "swap_account"),
                         [("2.6.31", True), ("2.6.30", True), ("2.6.31", False)])
def test_stat_key_order(version: str, swap_account: bool) -> None:
    k = make_kernel(cfg=replace(make_config(version), do_swap_account=swap_account))
    local = [n for n in LOCAL_31 if version == "2.6.31" or n != "mapped_file"]
    hier = ["hierarchical_memory_limit"] + (["hierarchical_memsw_limit"] if swap_account else [])
    keys = [key for key, _ in stat_show(k, root(k))]
    assert keys == local + hier + [f"total_{n}" for n in local]


def test_stat_values_and_totals() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    hierarchy_write(k, a, 1)
    set_limit(k, a, "1M")
    b = mkcg(k, a.cgroup, "B")
    set_limit(k, b, "2M")
    ta, tb = task_in(k, a), task_in(k, b)
    _, pa = charge_anon(k, ta)
    put_on_lru(k, pa, LRU_ACTIVE_ANON)
    charge_anon(k, tb)
    cache = new_page(anon=False)
    run(k, mc.mem_cgroup_cache_charge(k, cache, tb.mm, GFP_KERNEL), tb)
    stat = dict(stat_show(k, b))
    assert stat["rss"] == 4096 and stat["cache"] == 4096 and stat["pgpgin"] == 2
    assert stat["hierarchical_memory_limit"] == 1 << 20
    assert stat["hierarchical_memsw_limit"] == RESOURCE_MAX
    astat = dict(stat_show(k, a))
    assert astat["rss"] == 4096 and astat["active_anon"] == 4096
    assert astat["total_rss"] == 8192 and astat["total_cache"] == 4096
    assert astat["total_pgpgin"] == 3 and astat["total_active_anon"] == 4096
    rstat = dict(stat_show(k, root(k)))
    assert rstat["total_rss"] == 0  # root without use_hierarchy: itself only


# ---------------------------------------------------------------------------------------------
# force_empty (mem_cgroup_force_empty(), mem_cgroup_pre_destroy())


def test_force_empty_ebusy_with_tasks_or_children(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    charge_anon(k, t)
    assert run(k, mc.mem_cgroup_force_empty_write(k, a.cgroup, None)) == -EBUSY
    assert run(k, mc.mem_cgroup_force_empty(k, a, False)) == -EBUSY
    a.cgroup.tasks.clear()
    mkcg(k, a.cgroup, "B")
    assert run(k, mc.mem_cgroup_force_empty_write(k, a.cgroup, None)) == -EBUSY
    assert a.css_refcnt == 2  # its own reference was dropped again


def test_force_empty_of_empty_group_succeeds() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    assert run(k, mc.mem_cgroup_force_empty_write(k, a.cgroup, None)) == 0
    assert run(k, mc.mem_cgroup_pre_destroy(k, a)) == 0


def test_force_empty_free_path_reclaims(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    charge_anon(k, t)
    a.cgroup.tasks.clear()

    def swap_it_out(mem: MemCgroup) -> int:
        mem.res.usage = 0  # swapped: res gone, memsw stays on the slot
        return 1

    stubs.on_reclaim = swap_it_out
    assert run(k, mc.mem_cgroup_force_empty_write(k, a.cgroup, None)) == 0
    assert a.res.usage == 0 and a.memsw.usage == P and len(stubs.reclaims) == 1


def test_move_path_moves_charge_to_parent(version: str) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    _, page = charge_anon(k, t)
    put_on_lru(k, page, LRU_INACTIVE_ANON)
    a.cgroup.tasks.clear()
    assert run(k, mc.mem_cgroup_pre_destroy(k, a)) == 0
    assert usage(a) == (0, 0) and usage(root(k)) == (1, 1)
    pc = page.page_cgroup
    assert pc.mem_cgroup is root(k) and pc.flags & PCG_USED
    assert a.css_refcnt == 1 and root(k).css_refcnt == 2
    assert a.stat["rss"] == 0 and root(k).stat["rss"] == 1
    # putback went through the pagevec (one ref); the drain links it to root's list
    assert page._count == 2 and not page.flags & PG_lru
    run(k, swap.lru_add_drain_all(k))
    assert page._count == 1 and page.flags & PG_lru
    assert pc in root(k).lists[LRU_INACTIVE_ANON]


@pytest.mark.parametrize("fixes", ["", RMDIR_LRU_EMPTY])
def test_rmdir_leaves_an_uncharged_page_on_the_lru_unless_fixed(fixes: str) -> None:
    """A page uncharged while on /A's LRU keeps its pc linked with /A as owner, at usage 0.
    2.6.31's move path loops only while usage > 0, so rmdir leaves the pc there and the
    page's later unlink touches the freed /A; fce66477578d walks the lists anyway."""
    k = make_kernel(cfg=make_config("2.6.31", fixes=fixes))
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    _, page = charge_anon(k, t)
    put_on_lru(k, page, LRU_INACTIVE_ANON)
    a.cgroup.tasks.clear()
    mc.mem_cgroup_uncharge_page(k, page)
    pc = page.page_cgroup
    assert usage(a) == (0, 0) and pc in a.lists[LRU_INACTIVE_ANON]
    assert run(k, mc.mem_cgroup_pre_destroy(k, a)) == 0
    run(k, swap.lru_add_drain_all(k))
    assert page.flags & PG_lru  # back on the zone's LRU either way
    assert (pc.lru >= 0) is not bool(fixes)
    assert any(a.lists[lru] for lru in range(len(a.lists))) is not bool(fixes)
    assert usage(root(k)) == (0, 0)  # the uncharged page moved no charge
    rmcg(k, a)
    assert a.freed
    if fixes:
        mc.mem_cgroup_del_lru_list(k, page, LRU_INACTIVE_ANON)
        assert pc.lru == -1
    else:
        with pytest.raises(KernelBug, match="use-after-free: mem_cgroup_del_lru_list"):
            mc.mem_cgroup_del_lru_list(k, page, LRU_INACTIVE_ANON)


def test_move_path_busy_page_in_pagevec_then_drained() -> None:
    """A charged page linked to a memcg list but no longer PageLRU cannot be isolated:
    mem_cgroup_move_parent answers -EBUSY and the parent's charge is undone."""
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    _, page = charge_anon(k, t)
    put_on_lru(k, page, LRU_INACTIVE_ANON)
    page.flags &= ~PG_lru
    ret = run(k, mc.mem_cgroup_move_parent(k, page.page_cgroup, a, GFP_KERNEL))
    assert ret == -EBUSY
    assert usage(root(k)) == (0, 0) and usage(a) == (1, 1) and root(k).css_refcnt == 1
    assert page._count == 1
    # the root has no parent to move to
    assert run(k, mc.mem_cgroup_move_parent(k, page.page_cgroup, root(k), GFP_KERNEL)) == -EINVAL


# ---------------------------------------------------------------------------------------------
# OOM helpers and task membership


def test_record_last_oom_subtree_and_oom_called() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    hierarchy_write(k, a, 1)
    b = mkcg(k, a.cgroup, "B")
    c = mkcg(k, k.cgroup_root, "C")
    tb, tc = task_in(k, b), task_in(k, c)
    k.jiffies = 1000
    mc.record_last_oom(k, a)
    assert a.last_oom_jiffies == 1000 and b.last_oom_jiffies == 1000
    assert c.last_oom_jiffies != 1000
    k.jiffies = 1000 + mc.HZ // 10 - 1
    assert mc.mem_cgroup_oom_called(k, tb) and not mc.mem_cgroup_oom_called(k, tc)
    k.jiffies = 1000 + mc.HZ // 10
    assert not mc.mem_cgroup_oom_called(k, tb)
    assert mc.HZ == oom_kill.HZ


def test_task_in_mem_cgroup_and_mm_match() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    b = mkcg(k, a.cgroup, "B")
    tb = task_in(k, b)
    assert tb.mm is not None
    assert mc.task_in_mem_cgroup(k, tb, b) and not mc.task_in_mem_cgroup(k, tb, a)
    b.use_hierarchy = True  # (as if created under a hierarchy)
    assert mc.task_in_mem_cgroup(k, tb, a)
    assert mc.mm_match_cgroup(k, tb.mm, b) and not mc.mm_match_cgroup(k, tb.mm, a)
    assert b.css_refcnt == 1


# ---------------------------------------------------------------------------------------------
# round robin, rmdir bracketing, mapped_file, the write dispatcher


def test_hierarchical_reclaim_round_robin(stubs: Stubs) -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    hierarchy_write(k, a, 1)
    b, c = mkcg(k, a.cgroup, "B"), mkcg(k, a.cgroup, "C")
    charge_anon(k, task_in(k, b))
    charge_anon(k, task_in(k, c))
    stubs.on_reclaim = lambda mem: 1
    for _ in range(4):
        assert run(k, mc.mem_cgroup_hierarchical_reclaim(k, a, GFP_KERNEL, False, True)) == 1
    assert [m for m, _ in stubs.reclaims] == [b, c, b, c]  # a (no local pages) skipped
    assert a.last_scanned_child == c.css_id
    assert (a.css_refcnt, b.css_refcnt, c.css_refcnt) == (1, 2, 2)


def test_memsw_is_minimum_forces_noswap(stubs: Stubs) -> None:
    k = make_kernel("2.6.31")
    a = mkcg(k, k.cgroup_root, "A")
    charge_anon(k, task_in(k, a))
    set_limit(k, a, "1M")
    set_limit(k, a, "1M", memsw=True)
    assert a.memsw_is_minimum
    run(k, mc.mem_cgroup_hierarchical_reclaim(k, a, GFP_KERNEL, False, True))
    assert stubs.reclaims == [(a, True)]


@pytest.mark.parametrize(("version", "woken"), [("2.6.30", False), ("2.6.31", True)])
def test_swapin_commit_wakes_rmdir_on_31(version: str, woken: bool) -> None:
    k = make_kernel(version)
    a = mkcg(k, k.cgroup_root, "A")
    t = task_in(k, a)
    q = swapped_out(k, a, t)
    ret, ptr = run(k, mc.mem_cgroup_try_charge_swapin(k, t.mm, q, GFP_KERNEL), t)
    assert ret == 0
    a.cgroup.wait_on_rmdir = True  # an rmdir sleeps on this cgroup
    mc.mem_cgroup_commit_charge_swapin(k, q, ptr)
    assert a.cgroup.wait_on_rmdir is not woken
    assert a.css_refcnt == 2


def test_mapped_file_stat_31_only_for_file_pages() -> None:
    for version, expect in (("2.6.30", 0), ("2.6.31", 1)):
        k = make_kernel(version)
        t = task_in(k, root(k))
        page = new_page(anon=False)
        run(k, mc.mem_cgroup_cache_charge(k, page, t.mm, GFP_KERNEL), t)
        mc.mem_cgroup_update_mapped_file_stat(k, page, 1)
        shm = new_page()
        shm.mapping = None
        run(k, mc.mem_cgroup_cache_charge(k, shm, t.mm, GFP_KERNEL), t)
        mc.mem_cgroup_update_mapped_file_stat(k, shm, 1)
        assert root(k).stat["mapped_file"] == expect
        stat = dict(stat_show(k, root(k)))
        assert stat.get("mapped_file", 0) == expect * P


def test_file_write_dispatch() -> None:
    k = make_kernel()
    a = mkcg(k, k.cgroup_root, "A")
    assert file_write(k, a, "memory.limit_in_bytes", "4097\n") == 0
    assert a.res.limit == 8192
    assert file_write(k, a, "memory.swappiness", " 7\n") == 0
    assert a.swappiness == 7
    assert file_write(k, a, "memory.use_hierarchy", "1x") == -EINVAL
    assert file_write(k, a, "memory.failcnt", "whatever") == 0
    assert file_write(k, a, "memory.force_empty", "xx") == 0
    assert file_write(k, a, "memory.usage_in_bytes", "0") == -EINVAL
    assert file_write(k, a, "memory.stat", "0") == -EINVAL


def test_llong_max_rounds_up_to_2_63_a_u64_limit() -> None:
    """PAGE_ALIGN(LLONG_MAX) == 2**63: refused as a memory limit while memsw is LLONG_MAX,
    accepted as a memsw limit (u64), after which the memory limit may take it too."""
    k = make_kernel("2.6.31")
    a = mkcg(k, k.cgroup_root, "A")
    assert set_limit(k, a, "9223372036854775807") == -EINVAL
    assert set_limit(k, a, "9223372036854775807", memsw=True) == 0
    assert read_u64(k, a, "memsw.limit_in_bytes") == 1 << 63
    assert set_limit(k, a, "9223372036854775807") == 0
    assert read_u64(k, a, "limit_in_bytes") == 1 << 63
    assert a.memsw_is_minimum


# ---------------------------------------------------------------------------------------------
# A freed mem_cgroup stays checkable (KASAN's use-after-free report)


def _freed_group(version: str) -> tuple[Kernel, MemCgroup]:
    from swaplab.kernel import cgroup

    k = make_kernel(version)
    g = cgroup.cgroup_mkdir(k, k.cgroup_root, "G")
    assert isinstance(g, Cgroup) and g.memcg is not None
    return k, g.memcg


def test_a_stale_pointer_to_a_freed_memcg_is_a_use_after_free(version: str) -> None:
    """rmdir of a group nothing else references frees its memcg at once; touching it
    afterwards (a css_get(), a statistic) is a KernelBug naming the object."""
    from swaplab.kernel import cgroup

    k, mem = _freed_group(version)
    assert run(k, cgroup.cgroup_rmdir(k, mem.cgroup)) == 0
    assert mem.freed
    with pytest.raises(KernelBug, match=r"use-after-free: css_get\(\) touches memcg\(/G\)"):
        mc.css_get(k, mem)
    with pytest.raises(KernelBug, match="use-after-free: mem_cgroup_charge_statistics"):
        mc.mem_cgroup_charge_statistics(k, mem, PageCgroup(), True)


def test_the_explorer_reports_a_stale_access_racing_rmdir(version: str) -> None:
    """A thread that kept a pointer to /G's memcg without a reference (a model of a buggy
    path) races rmdir: the explorer finds the order where rmdir frees the memcg first and
    reports the use-after-free; the other order is fine."""
    from swaplab.explore.explorer import explore
    from swaplab.explore.model import Instance
    from swaplab.explore.search import Options
    from swaplab.kernel import cgroup
    from swaplab.kernel.sync import cond_resched

    def model() -> Instance:
        k, mem = _freed_group(version)

        async def stale() -> None:
            await cond_resched(k, "before")
            mc.css_get(k, mem)
            mc.css_put(k, mem)

        k.execution.spawn("rmdir /G", cgroup.cgroup_rmdir(k, mem.cgroup), Current(None, 0))
        k.execution.spawn("stale", stale(), Current(None, 1))
        return Instance(k.execution, k)

    result = explore(model, Options(strategy="dfs", shrink=False))
    assert result.stats.complete and result.stats.executions > 1
    assert len(result.findings) == 1
    assert "use-after-free: css_get() touches memcg(/G)" in result.findings[0].message
