"""The 2009 LTP memcg functional tests
(testcases/kernel/controllers/memcg/functional/memcg_function_test.sh, with its
memcg_process helper), through the System API, with exact values: 2.6.30/2.6.31 charge
exactly one page per page, no slack.

Cases 11-13 need swap and live with the swap tests. As in the 2009 harness, each case gets a
fresh mount with group ``/1``; the memcg_process task starts in the root and is moved into
the group before it allocates. The invariants are checked at the end of every case.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

import pytest

from swaplab import System
from swaplab.system import Mapping, Task

PAGE = 4096
RESOURCE_MAX = 9223372036854775807


def stat(s: System, group: str, key: str) -> int:
    """The first ``key`` line of memory.stat, as the harness greps it."""
    for line in s.read(f"{group}/memory.stat").splitlines():
        name, value = line.split()
        if name == key:
            return int(value)
    raise KeyError(key)


def usage(s: System, group: str) -> int:
    return int(s.read(f"{group}/memory.usage_in_bytes"))


@pytest.fixture
def s(kernel: str) -> Iterator[System]:
    system = System(kernel=kernel, ram="64M", swap="0")
    system.mkdir("/1")
    yield system
    assert system.check_invariants() == []


def memcg_process(s: System, group: str = "/1") -> Task:
    """memcg_process: started in the root, then ``echo $pid > tasks``."""
    t = s.spawn("/")
    s.write(f"{group}/tasks", f"{t.pid}\n")
    assert s.tasks(group) == [t.pid]
    return t


def allocate(t: Task, kind: str, size: int = PAGE, key: int = 3) -> Mapping:
    """One SIGUSR1 of memcg_process with --mmap-anon / --mmap-file / --shm / --mmap-lock1."""
    if kind == "anon":
        m = t.mmap_anon(size)
    elif kind == "file":
        m = t.mmap_shared_zero(size)
    elif kind == "shm":
        m = t.shm(key, size)
    elif kind == "lock1":
        return t.mmap_anon(size, locked=True)  # MAP_LOCKED fills the pages in; no touch
    else:
        raise AssertionError(kind)
    t.touch(m)
    return m


def free(t: Task, kind: str, m: Mapping) -> None:
    """The second SIGUSR1: munmap, or shmdt + IPC_RMID for --shm."""
    if kind == "shm":
        t.shmdt(m)
        t.shm_rmid(m)
    else:
        t.munmap(m)


EXPECT = {  # kind -> (rss, cache) after allocating one page
    "anon": (PAGE, 0),
    "file": (0, PAGE),
    "shm": (0, PAGE),
    "lock1": (PAGE, 0),
}


# -- cases 1-5: allocate in an unlimited group -------------------------------------------


@pytest.mark.parametrize(("case", "kind"), [(1, "anon"), (2, "file"), (3, "shm"), (5, "lock1")])
def test_cases_1_to_5_charge_one_page(s: System, case: int, kind: str) -> None:
    t = memcg_process(s)
    allocate(t, kind)
    rss, cache = EXPECT[kind]
    assert (stat(s, "/1", "rss"), stat(s, "/1", "cache")) == (rss, cache)
    assert usage(s, "/1") == PAGE
    t.exit()


def test_case_4_anon_file_and_shm(s: System, kernel: str) -> None:
    t = memcg_process(s)
    for kind in ("anon", "file", "shm"):
        allocate(t, kind)
    assert (stat(s, "/1", "rss"), stat(s, "/1", "cache")) == (PAGE, 2 * PAGE)
    assert usage(s, "/1") == 3 * PAGE
    if kernel == "2.6.31":  # shmem is not mapped_file before 2.6.33
        assert stat(s, "/1", "mapped_file") == 0
    t.exit()


def test_case_5_locked_pages_are_unevictable(s: System) -> None:
    t = memcg_process(s)
    allocate(t, "lock1")
    assert stat(s, "/1", "unevictable") == PAGE
    t.exit()


# -- cases 6-10: allocate, then free -----------------------------------------------------


@pytest.mark.parametrize(("case", "kind"), [(6, "anon"), (7, "file"), (8, "shm"), (10, "lock1")])
def test_cases_6_to_10_free_uncharges(s: System, case: int, kind: str) -> None:
    t = memcg_process(s)
    m = allocate(t, kind)
    assert usage(s, "/1") == PAGE
    free(t, kind, m)
    assert (stat(s, "/1", "rss"), stat(s, "/1", "cache")) == (0, 0)
    assert usage(s, "/1") == 0
    t.exit()


def test_case_9_anon_file_and_shm_freed(s: System) -> None:
    t = memcg_process(s)
    maps = [(kind, allocate(t, kind)) for kind in ("anon", "file", "shm")]
    for kind, m in maps:
        free(t, kind, m)
    assert (stat(s, "/1", "rss"), stat(s, "/1", "cache")) == (0, 0)
    t.exit()
    assert usage(s, "/1") == 0


# -- cases 14-21: over the limit, the memcg OOM killer kills the process --------------


def limited(s: System, limit: str) -> Task:
    s.write("/1/memory.limit_in_bytes", f"{limit}\n")
    return memcg_process(s)


def test_case_14_map_locked_over_the_limit_is_killed(s: System) -> None:
    t = limited(s, "4096")
    allocate(t, "lock1", 2 * PAGE)
    assert t.state == "killed"
    assert usage(s, "/1") == 0
    assert s.tasks("/1") == []


def test_case_15_mlock_over_the_limit_is_killed(s: System) -> None:
    """--mmap-lock2 with the 2011 fix: mmap, then mlock(); the process must be gone. The
    memcg OOM killer kills it while mlock() faults the second page in, so it never sees
    mlock()'s return (the fixed program would exit(2) on a failing mlock)."""
    t = limited(s, "4096")
    m = t.mmap_anon(2 * PAGE)
    t.mlock(m)
    assert t.state == "killed"
    assert usage(s, "/1") == 0


@pytest.mark.parametrize(("case", "kind"), [(16, "anon"), (17, "file"), (18, "shm")])
def test_cases_16_to_18_no_swap_two_pages_over_4096(s: System, case: int, kind: str) -> None:
    t = limited(s, "4096")
    allocate(t, kind, 2 * PAGE)
    assert t.state == "killed"
    # One OOM episode: the first try and MEM_CGROUP_RECLAIM_RETRIES more, nothing reclaimable.
    assert int(s.read("/1/memory.failcnt")) == 6
    # The SysV segment outlives the process (no IPC_RMID): its first page stays charged.
    assert usage(s, "/1") == (PAGE if kind == "shm" else 0)


@pytest.mark.parametrize(("case", "kind"), [(19, "anon"), (20, "file"), (21, "shm")])
def test_cases_19_to_21_limit_zero_kills(s: System, case: int, kind: str) -> None:
    t = limited(s, "0")
    allocate(t, kind, PAGE)
    assert t.state == "killed"
    assert int(s.read("/1/memory.failcnt")) == 6
    assert usage(s, "/1") == 0


# -- cases 22-28: writing limit_in_bytes ---------------------------------------------


@pytest.mark.parametrize(("case", "text", "value"), [
    (22, "4095", 4096),
    (23, "4097", 8192),
    (24, "1", 4096),
])
def test_cases_22_to_24_limit_rounds_up_to_a_page(
    s: System, case: int, text: str, value: int
) -> None:
    s.write("/1/memory.limit_in_bytes", text + "\n")
    assert s.read("/1/memory.limit_in_bytes") == f"{value}\n"


def test_case_25_minus_one_is_unlimited_from_2_6_31(s: System, kernel: str) -> None:
    s.write("/1/memory.limit_in_bytes", "4096\n")
    if kernel == "2.6.31":
        s.write("/1/memory.limit_in_bytes", "-1\n")
        assert int(s.read("/1/memory.limit_in_bytes")) == RESOURCE_MAX
    else:
        with pytest.raises(OSError) as e:
            s.write("/1/memory.limit_in_bytes", "-1\n")
        assert e.value.errno == errno.EINVAL
        assert int(s.read("/1/memory.limit_in_bytes")) == 4096


@pytest.mark.parametrize(("case", "text"), [(26, "1.0"), (27, "1xx"), (28, "xx")])
def test_cases_26_to_28_junk_is_einval(s: System, case: int, text: str) -> None:
    with pytest.raises(OSError) as e:
        s.write("/1/memory.limit_in_bytes", text + "\n")
    assert e.value.errno == errno.EINVAL
    assert int(s.read("/1/memory.limit_in_bytes")) == RESOURCE_MAX


# -- cases 29-35: force_empty --------------------------------------------------------


def test_case_29_force_empty_without_tasks_moves_the_charge_up(s: System) -> None:
    t = memcg_process(s)
    allocate(t, "anon")
    root_before = usage(s, "/")
    root_rss = stat(s, "/", "rss")
    s.write("/tasks", f"{t.pid}\n")  # into the parent's tasks
    assert s.tasks("/1") == []
    s.write("/1/memory.force_empty", "1\n")
    # No swap: the anon page cannot be freed, so its charge moves to the parent.
    assert usage(s, "/1") == 0
    assert stat(s, "/1", "rss") == 0
    assert usage(s, "/") == root_before + PAGE
    assert stat(s, "/", "rss") == root_rss + PAGE
    t.exit()
    assert usage(s, "/") == root_before


def test_case_30_force_empty_with_a_task_is_ebusy(s: System) -> None:
    t = memcg_process(s)
    allocate(t, "anon")
    with pytest.raises(OSError) as e:
        s.write("/1/memory.force_empty", "1\n")
    assert e.value.errno == errno.EBUSY
    assert usage(s, "/1") == PAGE
    t.exit()


@pytest.mark.parametrize(("case", "text"), [(31, "0"), (32, "1.0"), (33, "1xx"), (34, "xx")])
def test_cases_31_to_34_force_empty_ignores_the_value(s: System, case: int, text: str) -> None:
    s.write("/1/memory.force_empty", text + "\n")
    assert usage(s, "/1") == 0


def test_case_35_force_empty_of_the_root_is_ebusy(s: System) -> None:
    shell = s.spawn("/")  # the root has tasks (the harness' shell) and the child /1
    with pytest.raises(OSError) as e:
        s.write("/memory.force_empty", "1\n")
    assert e.value.errno == errno.EBUSY
    shell.exit()


# -- cases 36-38: moving a task does not move its charges ------------------------------


@pytest.mark.parametrize(("case", "sublimit"), [(36, "8192"), (37, "4096"), (38, "0")])
def test_cases_36_to_38_migration_moves_no_charge(s: System, case: int, sublimit: str) -> None:
    s.write("/1/memory.limit_in_bytes", "4096\n")
    s.mkdir("/1/subgroup")
    s.write("/1/subgroup/memory.limit_in_bytes", sublimit + "\n")
    t = memcg_process(s)
    allocate(t, "anon")
    assert (stat(s, "/1", "rss"), stat(s, "/1", "cache")) == (PAGE, 0)
    t.move_to("/1/subgroup")  # does not fail, even into a limit-0 group
    assert s.tasks("/1/subgroup") == [t.pid]
    assert (stat(s, "/1/subgroup", "rss"), stat(s, "/1/subgroup", "cache")) == (0, 0)
    assert (stat(s, "/1", "rss"), stat(s, "/1", "cache")) == (PAGE, 0)
    assert t.state == "running"
    t.exit()
    assert usage(s, "/1") == 0
    s.rmdir("/1/subgroup")
