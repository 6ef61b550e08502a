"""The cgroup v1 memory files (the rules that need no swap) and /proc, through the System
API. Semantics from Documentation/cgroups/memory.txt of 2.6.31, values from
kernel/cgroup.c, kernel/res_counter.c and mm/memcontrol.c of 2.6.30/2.6.31."""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest

from swaplab import System
from swaplab.system import Mapping, Task, parse_size

PAGE = 4096
RESOURCE_MAX = 9223372036854775807

FILES_31 = [
    "tasks",
    "memory.usage_in_bytes",
    "memory.max_usage_in_bytes",
    "memory.limit_in_bytes",
    "memory.failcnt",
    "memory.stat",
    "memory.force_empty",
    "memory.use_hierarchy",
    "memory.swappiness",
    "memory.memsw.usage_in_bytes",
    "memory.memsw.max_usage_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.memsw.failcnt",
]

STAT = ["cache", "rss", "mapped_file", "pgpgin", "pgpgout", "inactive_anon", "active_anon",
        "inactive_file", "active_file", "unevictable"]
STAT_KEYS_31 = [*STAT, "hierarchical_memory_limit", "hierarchical_memsw_limit",
                *(f"total_{key}" for key in STAT)]


@pytest.fixture
def s(kernel: str) -> Iterator[System]:
    system = System(kernel=kernel, ram="64M", swap="0")
    system.mkdir("/G")
    yield system
    assert system.check_invariants() == []


def u64(s: System, path: str) -> int:
    text = s.read(path)
    assert text.endswith("\n") and text.count("\n") == 1
    return int(text)


def stat(s: System, group: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in s.read(f"{group}/memory.stat")
                                   .splitlines())}


def einval(s: System, path: str, text: str, err: int = errno.EINVAL) -> None:
    with pytest.raises(OSError) as e:
        s.write(path, text)
    assert e.value.errno == err
    assert e.value.filename == path


def anon_task(s: System, group: str, pages: int) -> Task:
    t = s.spawn(group)
    t.touch(t.mmap_anon(pages * PAGE))
    return t


# -- files and reads (mm/memcontrol.c: mem_cgroup_files, mem_cgroup_read()) ----------------


def test_a_group_has_the_2_6_31_files(s: System) -> None:
    assert s.listdir("/G") == FILES_31


def test_no_files_from_later_kernels(s: System) -> None:
    for name in ("memory.soft_limit_in_bytes", "memory.move_charge_at_immigrate",
                 "memory.oom_control", "cgroup.procs", "memory.nosuch"):
        with pytest.raises(OSError) as e:
            s.read(f"/G/{name}")
        assert e.value.errno == errno.ENOENT


def test_fresh_group_reads(s: System) -> None:
    assert s.read("/G/memory.limit_in_bytes") == f"{RESOURCE_MAX}\n"
    assert s.read("/G/memory.memsw.limit_in_bytes") == f"{RESOURCE_MAX}\n"
    for name in ("usage_in_bytes", "max_usage_in_bytes", "failcnt", "memsw.usage_in_bytes",
                 "memsw.max_usage_in_bytes", "memsw.failcnt", "use_hierarchy"):
        assert s.read(f"/G/memory.{name}") == "0\n", name
    assert s.read("/G/memory.swappiness") == "60\n"
    assert s.read("/G/tasks") == ""


def test_usage_is_a_page_per_page(s: System) -> None:
    t = anon_task(s, "/G", 25)
    assert u64(s, "/G/memory.usage_in_bytes") == 25 * PAGE
    assert u64(s, "/G/memory.memsw.usage_in_bytes") == 25 * PAGE
    assert u64(s, "/G/memory.max_usage_in_bytes") == 25 * PAGE
    t.exit()
    assert u64(s, "/G/memory.usage_in_bytes") == 0
    assert u64(s, "/G/memory.max_usage_in_bytes") == 25 * PAGE


def test_tasks_file_lists_pids_sorted(s: System) -> None:
    a, b = s.spawn("/G"), s.spawn("/")
    s.write("/G/tasks", str(b.pid))
    assert s.read("/G/tasks") == f"{a.pid}\n{b.pid}\n"
    assert s.tasks("/G") == [a.pid, b.pid]
    a.exit()
    assert s.read("/G/tasks") == f"{b.pid}\n"
    b.exit()


def test_tasks_write_unknown_or_dead_pid_is_esrch(s: System) -> None:
    einval(s, "/G/tasks", "999\n", errno.ESRCH)
    t = s.spawn("/")
    t.exit()
    einval(s, "/G/tasks", f"{t.pid}\n", errno.ESRCH)
    einval(s, "/G/tasks", "1x\n")


# -- misuse of files (kernel/cgroup.c: cgroup_file_read/cgroup_file_write) -----------


@pytest.mark.parametrize("name", ["usage_in_bytes", "stat", "memsw.usage_in_bytes"])
def test_writing_a_read_only_file_is_einval(s: System, name: str) -> None:
    einval(s, f"/G/memory.{name}", "0\n")


def test_reading_force_empty_is_einval(s: System) -> None:
    with pytest.raises(OSError) as e:
        s.read("/G/memory.force_empty")
    assert e.value.errno == errno.EINVAL


def test_missing_group_is_enoent(s: System) -> None:
    with pytest.raises(OSError) as e:
        s.read("/H/memory.usage_in_bytes")
    assert e.value.errno == errno.ENOENT
    einval(s, "/H/memory.limit_in_bytes", "1\n", errno.ENOENT)


def test_a_directory_is_not_a_file(s: System) -> None:
    for path in ("/G", "/"):
        with pytest.raises(OSError) as e:
            s.read(path)
        assert e.value.errno == errno.EISDIR
    einval(s, "/G", "1", errno.EISDIR)


def test_a_write_of_64_bytes_is_e2big(s: System) -> None:
    einval(s, "/G/memory.limit_in_bytes", "1" * 63, errno.E2BIG)
    einval(s, "/G/memory.use_hierarchy", "0" * 64, errno.E2BIG)


# -- limits (mm/memcontrol.c: mem_cgroup_write(), mem_cgroup_resize_limit()) ---------------


@pytest.mark.parametrize(("text", "value"), [
    ("4k", 4096), ("4K", 4096), ("1M", 1 << 20), ("1m", 1 << 20), ("2G", 2 << 30),
    ("0x1000", 4096), ("010", 4096), ("12345", 16384), ("0", 0), ("4096\n", 4096),
    ("  8192 \n", 8192), ("", 0),
])
def test_limit_parsing_and_rounding(s: System, text: str, value: int) -> None:
    s.write("/G/memory.limit_in_bytes", text)
    assert u64(s, "/G/memory.limit_in_bytes") == value


@pytest.mark.parametrize("text", ["-2", "-1x", "1.0", "1xx", "xx", "4KB", "1 2", "--1"])
def test_limit_junk_is_einval_and_keeps_the_old_limit(s: System, text: str) -> None:
    s.write("/G/memory.limit_in_bytes", "40M")
    einval(s, "/G/memory.limit_in_bytes", text)
    assert u64(s, "/G/memory.limit_in_bytes") == 40 << 20


def test_limit_edge_values_follow_the_u64_arithmetic(s: System, kernel: str) -> None:
    """res_counter_memparse_write_strategy(): [31] "-" then simple_strtoull(, 10) == 1, so
    "-01" is unlimited too; PAGE_ALIGN of LLONG_MAX exceeds the memsw limit (EINVAL); and
    2^64 - 1 wraps around to 0."""
    if kernel == "2.6.31":
        s.write("/G/memory.limit_in_bytes", "-01")
        assert u64(s, "/G/memory.limit_in_bytes") == RESOURCE_MAX
    else:
        einval(s, "/G/memory.limit_in_bytes", "-01")
    einval(s, "/G/memory.limit_in_bytes", str(RESOURCE_MAX))
    s.write("/G/memory.limit_in_bytes", str(RESOURCE_MAX - 4095))
    assert u64(s, "/G/memory.limit_in_bytes") == RESOURCE_MAX - 4095
    s.write("/G/memory.limit_in_bytes", str(2**64 - 1))
    assert u64(s, "/G/memory.limit_in_bytes") == 0


def test_minus_one_on_memsw(s: System, kernel: str) -> None:
    s.write("/G/memory.limit_in_bytes", "8M")  # to lower both, lower limit first
    s.write("/G/memory.memsw.limit_in_bytes", "8M")
    if kernel == "2.6.31":
        s.write("/G/memory.memsw.limit_in_bytes", "-1")
        assert u64(s, "/G/memory.memsw.limit_in_bytes") == RESOURCE_MAX
    else:
        einval(s, "/G/memory.memsw.limit_in_bytes", "-1")
        assert u64(s, "/G/memory.memsw.limit_in_bytes") == 8 << 20


def test_limit_above_memsw_limit_is_einval(s: System) -> None:
    einval(s, "/G/memory.memsw.limit_in_bytes", "8M")  # below the limit (unlimited)
    s.write("/G/memory.limit_in_bytes", "8M")
    s.write("/G/memory.memsw.limit_in_bytes", "8M")  # equal is allowed
    einval(s, "/G/memory.limit_in_bytes", "9M")
    assert u64(s, "/G/memory.limit_in_bytes") == 8 << 20
    s.write("/G/memory.memsw.limit_in_bytes", "10M")  # to raise both, raise memsw first
    s.write("/G/memory.limit_in_bytes", "9M")
    assert u64(s, "/G/memory.limit_in_bytes") == 9 << 20


def test_memsw_limit_below_limit_is_einval(s: System) -> None:
    s.write("/G/memory.limit_in_bytes", "8M")
    einval(s, "/G/memory.memsw.limit_in_bytes", "4M")
    assert u64(s, "/G/memory.memsw.limit_in_bytes") == RESOURCE_MAX
    s.write("/G/memory.memsw.limit_in_bytes", "8M")
    assert u64(s, "/G/memory.memsw.limit_in_bytes") == 8 << 20


def test_limit_below_unreclaimable_usage_is_ebusy(s: System) -> None:
    t = anon_task(s, "/G", 4)  # anon, no swap: nothing can be reclaimed
    einval(s, "/G/memory.limit_in_bytes", "8192", errno.EBUSY)
    assert u64(s, "/G/memory.limit_in_bytes") == RESOURCE_MAX
    assert u64(s, "/G/memory.failcnt") == 0  # set_limit does not count failures
    s.write("/G/memory.limit_in_bytes", "16384")  # usage == limit fits
    assert u64(s, "/G/memory.limit_in_bytes") == 16384
    assert t.state == "running"  # a limit change never OOM-kills
    t.exit()


def test_limit_below_file_cache_reclaims_it(s: System) -> None:
    t = s.spawn("/G")
    s.read_file_cache(t, 30 * PAGE)  # 28 reach the LRU; 2 wait in the per-CPU pagevec
    assert stat(s, "/G")["cache"] == 30 * PAGE
    s.write("/G/memory.limit_in_bytes", "16384")
    assert u64(s, "/G/memory.usage_in_bytes") <= 16384
    assert u64(s, "/G/memory.limit_in_bytes") == 16384
    assert u64(s, "/G/memory.failcnt") == 0
    t.exit()


def test_cache_still_in_a_pagevec_is_invisible_to_limit_reclaim(s: System) -> None:
    """mem_cgroup_resize_limit() never drains the per-CPU pagevecs, and shrink_zone()
    scans only pages on the memcg's LRU lists: 10 freshly read pages (fewer than
    PAGEVEC_SIZE) cannot be reclaimed, so the write ends in EBUSY."""
    t = s.spawn("/G")
    s.read_file_cache(t, 10 * PAGE)
    assert stat(s, "/G")["inactive_file"] == 0
    einval(s, "/G/memory.limit_in_bytes", "16384", errno.EBUSY)
    assert u64(s, "/G/memory.usage_in_bytes") == 10 * PAGE
    t.exit()


def test_writing_zero_makes_every_fault_fail(s: System) -> None:
    s.write("/G/memory.limit_in_bytes", "0")
    t = anon_task(s, "/G", 1)
    assert t.state == "killed"
    assert u64(s, "/G/memory.failcnt") == 6


# -- reset triggers --------------------------------------------------------------------


def test_max_usage_write_resets_to_current_usage(s: System) -> None:
    t = s.spawn("/G")
    m1 = t.mmap_anon(3 * PAGE)
    t.touch(m1)
    t.touch(t.mmap_anon(PAGE))
    t.munmap(m1)
    assert u64(s, "/G/memory.max_usage_in_bytes") == 4 * PAGE
    s.write("/G/memory.max_usage_in_bytes", "whatever\n")
    assert u64(s, "/G/memory.max_usage_in_bytes") == PAGE
    assert u64(s, "/G/memory.memsw.max_usage_in_bytes") == 4 * PAGE
    s.write("/G/memory.memsw.max_usage_in_bytes", "0")
    assert u64(s, "/G/memory.memsw.max_usage_in_bytes") == PAGE
    t.exit()


def test_failcnt_write_resets_to_zero(s: System) -> None:
    s.write("/G/memory.limit_in_bytes", "4096")
    t = anon_task(s, "/G", 2)
    assert t.state == "killed"
    assert u64(s, "/G/memory.failcnt") == 6
    s.write("/G/memory.failcnt", "17\n")
    assert u64(s, "/G/memory.failcnt") == 0


# -- charging (mm/memcontrol.c: __mem_cgroup_try_charge()) ---------------------------------


def test_first_touch_pays_for_shared_pages(s: System) -> None:
    s.mkdir("/H")
    a = s.spawn("/G")
    m = a.shm(7, 3 * PAGE)
    a.touch(m)
    b = s.spawn("/H")
    mb = b.shm(7, 3 * PAGE)
    b.touch(mb)
    assert stat(s, "/G")["cache"] == 3 * PAGE
    assert stat(s, "/H")["cache"] == 0
    a.shmdt(m)
    b.shmdt(mb)
    b.shm_rmid(mb)
    assert u64(s, "/G/memory.usage_in_bytes") == 0
    a.exit()
    b.exit()


def test_fork_and_cow_charge_the_child_only_for_copies(s: System) -> None:
    parent = s.spawn("/G")
    m = parent.mmap_anon(4 * PAGE)
    parent.touch(m)
    child = parent.fork()
    assert s.tasks("/G") == [parent.pid, child.pid]
    assert u64(s, "/G/memory.usage_in_bytes") == 4 * PAGE  # shared, not charged again
    child.touch(m)  # copy on write: 4 new pages
    assert u64(s, "/G/memory.usage_in_bytes") == 8 * PAGE
    parent.exit()
    assert u64(s, "/G/memory.usage_in_bytes") == 4 * PAGE
    child.exit()
    assert u64(s, "/G/memory.usage_in_bytes") == 0


def test_read_faults_of_anon_memory(s: System) -> None:
    t = s.spawn("/G")
    m = t.mmap_anon(2 * PAGE)
    t.touch(m, write=False)
    assert s.check_invariants() == []
    t.touch(m)
    assert stat(s, "/G")["rss"] == 2 * PAGE
    t.exit()
    assert u64(s, "/G/memory.usage_in_bytes") == 0


def test_pgpgin_and_pgpgout_count_events(s: System) -> None:
    t = anon_task(s, "/G", 5)
    st = stat(s, "/G")
    assert (st["pgpgin"], st["pgpgout"]) == (5, 0)
    t.exit()
    st = stat(s, "/G")
    assert (st["pgpgin"], st["pgpgout"]) == (5, 5)


def test_oom_kills_only_in_the_group(s: System) -> None:
    s.mkdir("/H")
    other = anon_task(s, "/H", 8)
    s.write("/G/memory.limit_in_bytes", "40K")
    small = anon_task(s, "/G", 2)
    big = s.spawn("/G")
    big.touch(big.mmap_anon(20 * PAGE))  # 8 fit beside small's 2, then the OOM killer
    # the victim is the group's task with the largest badness (total_vm): big
    assert (other.state, small.state, big.state) == ("running", "running", "killed")
    assert u64(s, "/G/memory.usage_in_bytes") == 2 * PAGE
    assert u64(s, "/H/memory.usage_in_bytes") == 8 * PAGE
    other.exit()
    small.exit()
    assert u64(s, "/G/memory.usage_in_bytes") == 0


# -- force_empty and rmdir (mem_cgroup_force_empty(), cgroup_rmdir()) ----------------------


def test_rmdir_moves_charges_to_the_parent(s: System) -> None:
    s.mkdir("/G/C")
    t = s.spawn("/G/C")
    t.touch(t.mmap_anon(3 * PAGE))
    t.move_to("/G")
    s.rmdir("/G/C")
    assert "C" not in s.listdir("/G")
    assert stat(s, "/G")["rss"] == 3 * PAGE
    assert u64(s, "/G/memory.usage_in_bytes") == 3 * PAGE
    t.exit()
    assert u64(s, "/G/memory.usage_in_bytes") == 0


def test_rmdir_with_tasks_or_children_is_ebusy(s: System) -> None:
    s.mkdir("/G/C")
    with pytest.raises(OSError) as e:
        s.rmdir("/G")
    assert e.value.errno == errno.EBUSY
    t = s.spawn("/G/C")
    with pytest.raises(OSError) as e:
        s.rmdir("/G/C")
    assert e.value.errno == errno.EBUSY
    t.exit()
    s.rmdir("/G/C")
    s.rmdir("/G")
    assert s.groups() == ["/"]


def test_mkdir_errors(s: System) -> None:
    for path, err in (("/G", errno.EEXIST), ("/X/Y", errno.ENOENT), ("/G/tasks", errno.EEXIST)):
        with pytest.raises(OSError) as e:
            s.mkdir(path)
        assert e.value.errno == err, path


def test_force_empty_with_a_child_is_ebusy(s: System) -> None:
    s.mkdir("/G/C")
    einval(s, "/G/memory.force_empty", "1", errno.EBUSY)


def test_force_empty_drops_file_cache(s: System) -> None:
    t = s.spawn("/G")
    s.read_file_cache(t, 6 * PAGE)
    t.move_to("/")
    s.write("/G/memory.force_empty", "1")
    assert u64(s, "/G/memory.usage_in_bytes") == 0
    t.exit()


# -- memory.stat (mm/memcontrol.c: mem_control_stat_show()) --------------------------------


def test_stat_keys_in_order(s: System, kernel: str) -> None:
    keys = [line.split()[0] for line in s.read("/G/memory.stat").splitlines()]
    if kernel == "2.6.31":
        assert keys == STAT_KEYS_31
        assert len(keys) == 22
    else:  # 2.6.30 has no mapped_file
        no_mapped = [k for k in STAT_KEYS_31 if not k.endswith("mapped_file")]
        assert keys == no_mapped
        assert len(keys) == 20


def test_stat_hierarchical_limits_and_totals(s: System) -> None:
    s.write("/G/memory.use_hierarchy", "1")
    s.write("/G/memory.limit_in_bytes", "10M")
    s.mkdir("/G/C")
    s.write("/G/C/memory.limit_in_bytes", "20M")
    st = stat(s, "/G/C")
    assert st["hierarchical_memory_limit"] == 10 << 20
    assert st["hierarchical_memsw_limit"] == RESOURCE_MAX
    t = anon_task(s, "/G/C", 3)
    g = stat(s, "/G")
    assert (g["rss"], g["total_rss"]) == (0, 3 * PAGE)
    assert u64(s, "/G/memory.usage_in_bytes") == 3 * PAGE  # charges walk up
    assert stat(s, "/G/C")["total_rss"] == 3 * PAGE
    t.exit()


def test_stat_without_hierarchy_uses_the_own_limit(s: System) -> None:
    s.write("/G/memory.limit_in_bytes", "10M")
    s.mkdir("/G/C")
    assert stat(s, "/G/C")["hierarchical_memory_limit"] == RESOURCE_MAX
    t = anon_task(s, "/G/C", 2)
    assert u64(s, "/G/memory.usage_in_bytes") == 0
    # without use_hierarchy, mem_cgroup_walk_tree() visits the group alone
    assert stat(s, "/G")["total_rss"] == 0
    assert stat(s, "/G/C")["total_rss"] == 2 * PAGE
    t.exit()


# -- hierarchy (mm/memcontrol.c: mem_cgroup_hierarchy_write()) -----------------------------


def test_use_hierarchy_values(s: System) -> None:
    s.write("/G/memory.use_hierarchy", "1\n")
    assert u64(s, "/G/memory.use_hierarchy") == 1
    s.write("/G/memory.use_hierarchy", "0")
    assert u64(s, "/G/memory.use_hierarchy") == 0
    for text in ("2", "-1", "x", "1x"):
        einval(s, "/G/memory.use_hierarchy", text)
    assert u64(s, "/G/memory.use_hierarchy") == 0


def test_use_hierarchy_is_inherited_and_locked_below(s: System) -> None:
    s.write("/G/memory.use_hierarchy", "1")
    s.mkdir("/G/C")
    assert u64(s, "/G/C/memory.use_hierarchy") == 1
    einval(s, "/G/C/memory.use_hierarchy", "0")  # parent has hierarchy: EINVAL
    einval(s, "/G/memory.use_hierarchy", "0", errno.EBUSY)  # has children: EBUSY


def test_hierarchy_limit_of_an_ancestor_applies(s: System) -> None:
    s.write("/G/memory.use_hierarchy", "1")
    s.write("/G/memory.limit_in_bytes", "8K")
    s.mkdir("/G/C")
    t = anon_task(s, "/G/C", 3)
    assert t.state == "killed"
    assert u64(s, "/G/memory.failcnt") == 6  # only the counter over its limit counts
    assert u64(s, "/G/C/memory.failcnt") == 0
    assert u64(s, "/G/memory.usage_in_bytes") == 0


# -- swappiness (mm/memcontrol.c: mem_cgroup_swappiness_write()) ---------------------------


def test_root_swappiness_follows_the_sysctl(s: System) -> None:
    assert s.read("/proc/sys/vm/swappiness") == "60\n"
    s.write("/proc/sys/vm/swappiness", "30\n")
    assert s.read("/memory.swappiness") == "30\n"
    einval(s, "/memory.swappiness", "40")
    einval(s, "/proc/sys/vm/swappiness", "101")
    einval(s, "/proc/sys/vm/swappiness", "abc")
    assert s.read("/proc/sys/vm/swappiness") == "30\n"


def test_group_swappiness_rules(s: System) -> None:
    s.write("/G/memory.swappiness", "10")
    assert s.read("/G/memory.swappiness") == "10\n"
    s.write("/G/memory.swappiness", "100")
    einval(s, "/G/memory.swappiness", "101")
    einval(s, "/G/memory.swappiness", "-1")
    s.mkdir("/G/C")
    assert s.read("/G/C/memory.swappiness") == "100\n"  # a new group copies its parent
    s.write("/G/C/memory.swappiness", "5")  # no hierarchy: allowed
    s.rmdir("/G/C")
    s.write("/G/memory.use_hierarchy", "1")
    s.mkdir("/G/C")
    einval(s, "/G/C/memory.swappiness", "5")  # parent has hierarchy
    einval(s, "/G/memory.swappiness", "5")  # hierarchy and children
    assert s.read("/G/memory.swappiness") == "100\n"


# -- /proc -------------------------------------------------------------------------------


def meminfo(s: System) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in s.read("/proc/meminfo").splitlines():
        name, value, unit = line.split()
        assert unit == "kB"
        out[name.rstrip(":")] = int(value)
    return out


def test_meminfo_layout(kernel: str) -> None:
    s = System(kernel=kernel, ram="64M", swap="0")
    text = s.read("/proc/meminfo")
    first = text.splitlines()[0]
    assert first == f"MemTotal:       {64 * 1024:>8} kB"
    names = [line.split(":")[0] for line in text.splitlines()]
    assert names[:5] == ["MemTotal", "MemFree", "Buffers", "Cached", "SwapCached"]
    assert "Shmem" not in names  # 2.6.32
    info = meminfo(s)
    assert info["SwapTotal"] == info["SwapFree"] == 0
    assert info["MemFree"] <= info["MemTotal"]


def test_meminfo_follows_the_machine(s: System) -> None:
    before = meminfo(s)
    t = s.spawn("/G")
    m = t.mmap_shared_zero(10 * PAGE)
    t.touch(m)
    a = t.mmap_anon(5 * PAGE)
    t.touch(a)
    after = meminfo(s)
    assert after["Cached"] - before["Cached"] == 40  # shmem counts as Cached
    assert after["AnonPages"] - before["AnonPages"] == 20
    assert before["MemFree"] - after["MemFree"] >= 60
    t.mmap_anon(3 * PAGE, locked=True)
    locked = meminfo(s)
    assert locked["Unevictable"] - after["Unevictable"] == 12
    assert locked["Mlocked"] - after["Mlocked"] == 12
    t.exit()
    final = meminfo(s)
    assert (final["Cached"], final["AnonPages"]) == (before["Cached"], before["AnonPages"])
    assert (final["Unevictable"], final["Mlocked"]) == (before["Unevictable"], before["Mlocked"])


def test_page_cluster_sysctl(s: System) -> None:
    assert s.read("/proc/sys/vm/page-cluster") == "3\n"
    s.write("/proc/sys/vm/page-cluster", "0\n")
    assert s.read("/proc/sys/vm/page-cluster") == "0\n"
    assert s.k.page_cluster == 0
    einval(s, "/proc/sys/vm/page-cluster", "x")


def test_proc_misuse(s: System) -> None:
    einval(s, "/proc/meminfo", "1", errno.EIO)
    einval(s, "/proc/nosuch", "1", errno.ENOENT)
    with pytest.raises(OSError) as e:
        s.read("/proc/sysrq-trigger")
    assert e.value.errno == errno.EIO


def test_sysrq_m_shows_the_swap_cache() -> None:
    s = System(ram="64M", swap="0")
    assert s.sysrq("m") == (
        "0 pages in swap cache\n"
        "Swap cache stats: add 0, delete 0, find 0/0\n"
        "Free swap  = 0kB\n"
        "Total swap = 0kB\n"
    )
    s.write("/proc/sysrq-trigger", "m")
    assert s.kmsg == [s.sysrq("m")]


# -- the API itself ------------------------------------------------------------------


def test_sizes() -> None:
    assert parse_size(4096) == 4096
    assert parse_size("4K") == parse_size("4k") == 4096
    assert parse_size("100M") == 100 << 20
    assert parse_size("1G") == 1 << 30
    for bad in ("1.5M", "x", "-1", "4T"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_dead_tasks_refuse_operations(s: System) -> None:
    t = s.spawn("/G")
    m = t.mmap_anon(PAGE)
    t.exit()
    assert t.state == "exited"
    for op in (lambda: t.touch(m), lambda: t.fork(), lambda: t.exit(), lambda: t.munmap(m)):
        with pytest.raises(ProcessLookupError):
            op()


def test_refused_system_calls_raise_the_errno(s: System) -> None:
    t = s.spawn("/G")
    m = t.mmap_anon(PAGE)
    with pytest.raises(OSError) as e:
        t.munmap(Mapping(m.addr + 123, PAGE, "anon"))  # not page aligned
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        t.mlock(Mapping(m.addr + 64 * PAGE, PAGE, "anon"))  # nothing mapped there
    assert e.value.errno == errno.ENOMEM
    assert t.state == "running"
    t.exit()
