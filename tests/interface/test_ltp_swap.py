"""The swap half of the 2009 LTP memcg functional tests
(testcases/kernel/controllers/memcg/functional/memcg_function_test.sh) and the typical
tests of the kernel's Documentation/cgroups/memcg_test.txt (section 9), through the System
API, on both kernels; the interface as Documentation/cgroups/memory.txt of 2.6.31 describes
it.

Every case checks the invariants (kernel/invariants.check_all) at its end, and the
longer ones after every step. Sizes of the memcg_test.txt cases are scaled down (stated
per case) with their ratios kept; limits stay well above PAGEVEC_SIZE (14): below it the
pages a task just faulted sit in the per-CPU pagevec, off the LRU, and memcg reclaim finds
nothing (that is cases 11-13).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest

from swaplab import System
from swaplab.kernel import invariants
from swaplab.system import Mapping, Task

PAGE = 4096
RESOURCE_MAX = 9223372036854775807


@pytest.fixture
def s(kernel: str) -> Iterator[System]:
    """A 64M machine with a 64M swap area and the group /1 (the 2009 harness's)."""
    system = System(kernel=kernel, ram="64M", swap="64M")
    system.mkdir("/1")
    yield system
    assert system.check_invariants() == []


def pages(s: System, path: str) -> int:
    """A byte counter (``memory.usage_in_bytes``, ...) in pages."""
    value = int(s.read(path))
    assert value % PAGE == 0
    return value // PAGE


def count(s: System, path: str) -> int:
    return int(s.read(path))


def meminfo(s: System) -> dict[str, int]:
    """/proc/meminfo in pages."""
    out = {}
    for line in s.read("/proc/meminfo").splitlines():
        key, value = line.split(":")
        out[key] = int(value.split()[0]) // 4
    return out


def swap_used(s: System) -> int:
    info = meminfo(s)
    return info["SwapTotal"] - info["SwapFree"]


def memcg_process(s: System, group: str = "/1") -> Task:
    """memcg_process: started in the root, then ``echo $pid > tasks``."""
    t = s.spawn("/")
    s.write(f"{group}/tasks", f"{t.pid}\n")
    return t


def allocate(t: Task, kind: str, size: int) -> Mapping:
    if kind == "anon":
        m = t.mmap_anon(size)
    elif kind == "file":
        m = t.mmap_shared_zero(size)
    else:
        m = t.shm(3, size)
    t.touch(m)
    return m


def ok(s: System) -> None:
    assert s.check_invariants() == []


# -- cases 11-13: limit 4096 with swap on, two pages: failcnt > 0 -------------------------


@pytest.mark.parametrize(("case", "kind"), [(11, "anon"), (12, "file"), (13, "shm")])
def test_cases_11_to_13_failcnt_with_swap(s: System, case: int, kind: str) -> None:
    """The harness only asks failcnt > 0; the model gives exactly 6, the 2009 run's
    "failcnt=6": the first page is charged and sits in the per-CPU pagevec (PAGEVEC_SIZE
    14), not yet on any LRU list. The second page's charge fails, and memcg reclaim scans
    mem_cgroup_zone_nr_pages() = 0 pages of every list (shrink_zone never reaches
    shrink_inactive_list's lru_add_drain), so nothing is reclaimed even though swap is
    free: 1 failure + MEM_CGROUP_RECLAIM_RETRIES (5) = 6, then the memcg OOM killer kills
    the process (the harness does not look). Nothing went to swap."""
    s.write("/1/memory.limit_in_bytes", "4096\n")
    t = memcg_process(s)
    allocate(t, kind, 2 * PAGE)
    assert count(s, "/1/memory.failcnt") == 6
    assert count(s, "/1/memory.memsw.failcnt") == 0  # memsw is unlimited
    assert t.state == "killed"
    assert swap_used(s) == 0
    # The SysV segment outlives the process (no IPC_RMID): its first page stays charged.
    want = 1 if kind == "shm" else 0
    assert pages(s, "/1/memory.usage_in_bytes") == want
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == want


@pytest.mark.parametrize(("case", "kind"), [(16, "anon"), (17, "file"), (18, "shm")])
def test_cases_16_to_18_after_a_real_swapoff(s: System, case: int, kind: str) -> None:
    """Cases 16-18 as the harness runs them: ``swapoff -a`` of a (here unused) area,
    then two pages over a one-page limit: killed after one OOM episode."""
    s.swapoff()
    assert meminfo(s)["SwapTotal"] == 0
    s.write("/1/memory.limit_in_bytes", "4096\n")
    t = memcg_process(s)
    allocate(t, kind, 2 * PAGE)
    assert t.state == "killed"
    assert count(s, "/1/memory.failcnt") == 6


def test_a_limit_above_the_pagevec_swaps_instead_of_killing(s: System) -> None:
    """Contrast to case 11: a 64-page limit leaves most pages on the LRU, so reclaim
    swaps: 128 pages touched, the task lives, memsw counts every page once (resident or
    on swap) and the slots in use are the pages not resident outside the swap cache."""
    s.write("/1/memory.limit_in_bytes", str(64 * PAGE))
    t = memcg_process(s)
    allocate(t, "anon", 128 * PAGE)
    assert t.state == "running"
    assert count(s, "/1/memory.failcnt") > 0
    assert pages(s, "/1/memory.usage_in_bytes") <= 64
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 128
    info = meminfo(s)
    assert swap_used(s) + info["AnonPages"] == 128
    assert info["AnonPages"] + info["SwapCached"] == pages(s, "/1/memory.usage_in_bytes")


# -- memcg_test.txt 9.7: swapoff with a group's pages on swap -------------------------------


def test_9_7_swapoff_rmdir_and_kill(s: System, kernel: str) -> None:
    """9.7 scaled by 1/10 (limit 40M -> 4M, malloc 100M -> 10M: 6M on swap).

    Swapoff with the task moved to the root fails with ENOMEM: try_to_unuse's swap-ins
    are charged to the group the swap_cgroup record names (mm/memcontrol.c:
    mem_cgroup_try_charge_swapin() looks the record up), still at its limit,
    and with the area off the swap list reclaim cannot swap ([31] scans no anon page at
    all with nr_swap_pages == 0; [30] only at priority 0, and then only the group's
    clean swap-cache pages can go, which is not enough). The kernel's memcg OOM killer
    then finds no task in the group and kills current, the swapoff process (the model's
    System runs swapoff with no task, so nobody is killed); either way swapoff(2) returns
    ENOMEM and the area is re-enabled. No crash: rmdir, kill and a second swapoff work,
    and every counter comes back to 0."""
    s.write("/1/memory.limit_in_bytes", "4M")
    t = memcg_process(s)
    m = t.mmap_anon("10M")
    t.touch(m)
    ok(s)
    assert t.state == "running"
    resident = pages(s, "/1/memory.usage_in_bytes")
    assert resident <= 1024
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 2560  # every page exactly once
    info = meminfo(s)
    assert info["AnonPages"] + info["SwapCached"] == resident
    assert swap_used(s) == 2560 - info["AnonPages"]  # >= 6M on swap

    t.move_to("/")
    with pytest.raises(OSError) as exc:
        s.swapoff()
    assert exc.value.errno == errno.ENOMEM
    ok(s)
    assert meminfo(s)["SwapTotal"] == 16383  # re-enabled: 64M less the header page
    assert pages(s, "/1/memory.usage_in_bytes") == 1024  # filled up to the limit
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 2560

    g = s.k.cgroup_root.children["1"].memcg
    assert g is not None
    s.rmdir("/1")  # resident charges move to the root; swap records stay with /1
    ok(s)
    assert pages(s, "/memory.usage_in_bytes") == 1024
    assert not g.freed and g.refcnt == len(s.k.swap_cgroup) > 0

    t.exit()  # "kill the malloc task"
    ok(s)
    assert t.state == "exited"
    assert g.freed  # the last swap record went with the last swap entry
    s.swapoff()
    ok(s)
    assert pages(s, "/memory.usage_in_bytes") == 0
    assert pages(s, "/memory.memsw.usage_in_bytes") == 0
    assert meminfo(s)["MemFree"] == meminfo(s)["MemTotal"]


def test_9_7_swapoff_charges_the_group_when_it_has_room(s: System) -> None:
    """9.7's swapoff succeeding: the group's limit is raised first, so every slot comes
    back charged to the recorded group (not to the root, where the task now is)."""
    s.write("/1/memory.limit_in_bytes", "1M")
    t = memcg_process(s)
    m = t.mmap_anon("2M")
    t.touch(m)
    t.move_to("/")
    s.write("/1/memory.limit_in_bytes", "-1" if s.k.cfg.v31 else "4M")
    s.swapoff()
    ok(s)
    assert pages(s, "/1/memory.usage_in_bytes") == 512
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 512
    assert pages(s, "/memory.usage_in_bytes") == 0
    assert s.k.swap_cgroup == {}
    t.exit()
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 0


# -- memcg_test.txt 9.8: OOM ---------------------------------------------------------------


def test_9_8_a_no_swap_oom_kills_inside_the_group_only(s: System) -> None:
    """9.8 (A) scaled (limit 50M -> 500 pages, malloc 51M -> 510 pages, same 51:50):
    swapoff, a task in another group and one in the root hold memory; the group's task is
    killed by the memcg OOM killer after one episode (failcnt 6), nobody else, and the
    global OOM killer never runs."""
    s.swapoff()
    s.mkdir("/other")
    s.write("/1/memory.limit_in_bytes", str(500 * PAGE))
    other = s.spawn("/other")
    other.touch(other.mmap_anon(10 * PAGE))
    root = s.spawn("/")
    root.touch(root.mmap_anon(10 * PAGE))
    t = memcg_process(s)
    t.touch(t.mmap_anon(510 * PAGE))
    assert t.state == "killed"
    assert (other.state, root.state) == ("running", "running")
    assert count(s, "/1/memory.failcnt") == 6
    assert s.k.oom_kills == 0
    g = s.k.cgroup_root.children["1"].memcg
    assert g is not None
    assert s.k.memcg_oom_kills == {g.css_id: 1}
    assert pages(s, "/1/memory.usage_in_bytes") == 0
    assert pages(s, "/other/memory.usage_in_bytes") == 10


def test_9_8_b_memsw_limit_equal_to_limit_ooms(s: System, kernel: str) -> None:
    """9.8 (B) scaled (limit = memsw.limit 50M -> 500 pages, malloc 510 pages), swap on.
    memsw_is_minimum: every reclaim of the group runs with noswap.

    [31]: shrink_zone scans no anon page with noswap, so nothing moves: res fails once
    per try, 1 + 5 retries = failcnt 6, memsw never fails.
    [30]: get_scan_ratio()'s anon 0 % is ignored at priority 0, so the "noswap" reclaim
    still swaps anon pages out: res then fits but memsw (resident + swap) does not, and
    memsw fails instead, at least once per retry; res failed exactly once."""
    s.write("/1/memory.limit_in_bytes", str(500 * PAGE))
    s.write("/1/memory.memsw.limit_in_bytes", str(500 * PAGE))
    t = memcg_process(s)
    t.touch(t.mmap_anon(510 * PAGE))
    assert t.state == "killed"
    if kernel == "2.6.31":
        assert count(s, "/1/memory.failcnt") == 6
        assert count(s, "/1/memory.memsw.failcnt") == 0
    else:
        assert count(s, "/1/memory.failcnt") == 1
        assert count(s, "/1/memory.memsw.failcnt") >= 6
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 0
    assert swap_used(s) == 0


# -- force_empty swaps before it moves (mm/memcontrol.c: mem_cgroup_force_empty()) -----------


def test_force_empty_swaps_anon_pages_out_instead_of_moving(s: System) -> None:
    """force_empty first reclaims: with swap the anon pages go to swap, the charge moves
    to the swap records (memsw stays), nothing is moved to the parent."""
    t = memcg_process(s)
    m = allocate(t, "anon", 8 * PAGE)
    t.move_to("/")
    s.write("/1/memory.force_empty", "1")
    ok(s)
    assert pages(s, "/1/memory.usage_in_bytes") == 0
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 8
    assert pages(s, "/memory.usage_in_bytes") == 0
    assert (swap_used(s), meminfo(s)["SwapCached"]) == (8, 0)
    # mem_cgroup_try_charge_swapin(): the swap-in charges the recorded group, not the root
    # the task now lives in;
    # the record's memsw unit is uncharged at commit, so memsw counts each page once.
    t.touch(m, write=False)
    ok(s)
    assert pages(s, "/1/memory.usage_in_bytes") == 8
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 8
    assert pages(s, "/memory.usage_in_bytes") == 0
    assert s.k.swap_cgroup == {}
    # the pages stay in the swap cache (swap not full), still holding their slots
    assert (swap_used(s), meminfo(s)["SwapCached"]) == (8, 8)
    t.exit()
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 0
    assert swap_used(s) == 0


# -- swap-in after the recorded group was removed (mem_cgroup_try_charge_swapin()) ------------


def test_swap_in_after_rmdir_charges_the_faulting_task_group(s: System) -> None:
    """The recorded group is gone (rmdir): the swap-in charges the faulting task's group
    /H, the record is cleared and the dead memcg's memsw uncharged; with its last record
    gone the struct is freed."""
    s.mkdir("/H")
    s.write("/1/memory.limit_in_bytes", str(64 * PAGE))
    t = memcg_process(s)
    m = allocate(t, "anon", 128 * PAGE)
    assert pages(s, "/1/memory.usage_in_bytes") == 64
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 128
    assert swap_used(s) == 64
    t.move_to("/H")
    g = s.k.cgroup_root.children["1"].memcg
    assert g is not None
    s.rmdir("/1")
    ok(s)
    assert pages(s, "/memory.usage_in_bytes") == 64  # resident charges moved up
    assert pages(s, "/memory.memsw.usage_in_bytes") == 64
    assert (g.freed, g.refcnt, g.memsw.usage) == (False, 64, 64 * PAGE)  # 64 records
    t.touch(m, write=False)
    ok(s)
    assert g.freed and g not in invariants.all_memcgs(s.k)
    assert s.k.swap_cgroup == {}
    assert pages(s, "/H/memory.usage_in_bytes") == 64
    assert pages(s, "/H/memory.memsw.usage_in_bytes") == 64
    assert pages(s, "/memory.usage_in_bytes") == 64  # unchanged
    t.exit()
    assert pages(s, "/H/memory.memsw.usage_in_bytes") == 0
    assert pages(s, "/memory.memsw.usage_in_bytes") == 0


# -- the memsw files (mm/memcontrol.c: mem_cgroup_resize_memsw_limit()) --------------------


def test_memsw_limit_below_memsw_usage_of_anon_is_ebusy(s: System, kernel: str) -> None:
    """memsw.limit below memsw.usage: reclaim runs without swap (swapping does not lower
    mem+swap) and anon pages cannot be dropped: EBUSY, the old limit stays. [30]'s
    priority-0 pass scans anon even with noswap and swaps the resident pages out (which
    does not lower memsw either); [31] leaves them alone."""
    s.write("/1/memory.limit_in_bytes", str(64 * PAGE))
    t = memcg_process(s)
    allocate(t, "anon", 128 * PAGE)
    used = swap_used(s)
    with pytest.raises(OSError) as exc:
        s.write("/1/memory.memsw.limit_in_bytes", str(96 * PAGE))
    assert exc.value.errno == errno.EBUSY
    assert count(s, "/1/memory.memsw.limit_in_bytes") == RESOURCE_MAX
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 128
    with pytest.raises(OSError) as exc:  # below limit_in_bytes: EINVAL before any reclaim
        s.write("/1/memory.memsw.limit_in_bytes", str(32 * PAGE))
    assert exc.value.errno == errno.EINVAL
    assert swap_used(s) == (used if kernel == "2.6.31" else 128)


def test_memsw_limit_drops_page_cache_without_swapping(s: System) -> None:
    """A memsw limit under memsw.usage made of clean page cache: the noswap reclaim drops
    cache until it fits; no page goes to swap."""
    t = memcg_process(s)
    t.read_file(96 * PAGE)
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 96
    s.write("/1/memory.limit_in_bytes", str(64 * PAGE))
    s.write("/1/memory.memsw.limit_in_bytes", str(64 * PAGE))
    assert pages(s, "/1/memory.memsw.usage_in_bytes") <= 64
    assert pages(s, "/1/memory.usage_in_bytes") == pages(s, "/1/memory.memsw.usage_in_bytes")
    assert swap_used(s) == 0


def test_memsw_equal_to_limit_reclaims_cache_without_swap(s: System, kernel: str) -> None:
    """memsw.limit == limit: the file cache the task reads is what the group's reclaim
    takes, and its anon pages stay resident. On [31] the reclaim is noswap. On [30] the
    priority-0 pass would scan the anon lists regardless, but it is never reached: the
    anon pages were faulted onto the active list, so they count as recently rotated
    (mm/swap.c: update_page_reclaim_stat()), while the read-once file pages are scanned
    and never rotated, and mm/vmscan.c: get_scan_ratio() gives anon no share; the file
    cache frees enough at the higher priorities."""
    s.write("/1/memory.limit_in_bytes", str(64 * PAGE))
    s.write("/1/memory.memsw.limit_in_bytes", str(64 * PAGE))
    t = memcg_process(s)
    allocate(t, "anon", 32 * PAGE)
    t.read_file(128 * PAGE)
    assert t.state == "running"
    memsw = pages(s, "/1/memory.memsw.usage_in_bytes")
    assert memsw <= 64
    assert swap_used(s) == 0
    assert pages(s, "/1/memory.usage_in_bytes") == memsw
    assert "total_rss 131072" in s.read("/1/memory.stat")  # the 32 anon pages resident


def test_memsw_equals_usage_after_every_task_exits(s: System, kernel: str) -> None:
    """memsw.usage == usage after all tasks of a group exit: the swap records go
    with the last pte references. A run with swap, a fork sharing pages and re-touches;
    sequential runs leave no Type-1 leftovers on either kernel (that needs a race), so
    both counters end at 0, and no orphan swap cache or unreferenced record is left."""
    s.write("/1/memory.limit_in_bytes", str(64 * PAGE))
    t = memcg_process(s)
    m = allocate(t, "anon", 256 * PAGE)
    c = t.fork()
    c.touch(m)
    t.touch(m, write=False)
    assert pages(s, "/1/memory.memsw.usage_in_bytes") > pages(s, "/1/memory.usage_in_bytes")
    c.exit()
    t.exit()
    ok(s)
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == pages(s, "/1/memory.usage_in_bytes")
    assert pages(s, "/1/memory.usage_in_bytes") == 0
    assert invariants.orphan_swap_cache_pages(s.k) == []
    assert invariants.unreferenced_swap_records(s.k) == []


def test_9_7_tmpfs_versus_swapoff(s: System) -> None:
    """9.7's "tmpfs v.s. swapoff": a SysV segment swapped out, then detached (it lives on
    with no mapping), and a shared /dev/zero mapping. swapoff finds the segment's pages
    through shmem_swaplist (mm/shmem.c: shmem_unuse(), called by try_to_unuse()), puts them
    back into the segment's page cache charged to the recorded group (a shmem swap-in: the
    records go, memsw counts each page once) and leaves no swap."""
    s.write("/1/memory.limit_in_bytes", str(64 * PAGE))
    t = memcg_process(s)
    seg = allocate(t, "shm", 96 * PAGE)
    zero = allocate(t, "file", 64 * PAGE)  # pushes the whole segment out to swap
    t.shmdt(seg)
    assert pages(s, "/1/memory.usage_in_bytes") == 64
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 160
    assert swap_used(s) == 96 and len(s.k.swap_cgroup) == 96
    ok(s)
    s.write("/1/memory.limit_in_bytes", str(1024 * PAGE))
    t.move_to("/")
    s.swapoff()
    ok(s)
    assert s.k.swap_cgroup == {} and s.k.swapper_space.nrpages == 0
    assert pages(s, "/1/memory.usage_in_bytes") == 160  # the recorded group, not the root
    assert pages(s, "/1/memory.memsw.usage_in_bytes") == 160
    assert pages(s, "/memory.usage_in_bytes") == 0
    t.munmap(zero)  # the /dev/zero inode goes with its last mapping
    assert pages(s, "/1/memory.usage_in_bytes") == 96  # the segment's pages stay
    t.shm_rmid(seg)
    assert pages(s, "/1/memory.usage_in_bytes") == 0
    assert s.k.shmem_swaplist == []
