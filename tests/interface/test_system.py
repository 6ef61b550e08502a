"""The System API around the cgroup files: swap areas, /proc, SysRq, refused writes that
change nothing, and the task life cycle."""

from __future__ import annotations

import errno

import pytest

from swaplab import System

PAGE = 4096


def swap_lines(s: System) -> dict[str, int]:
    out = {}
    for line in s.read("/proc/meminfo").splitlines():
        name, value, _ = line.split()
        if name.startswith("Swap"):
            out[name.rstrip(":")] = int(value)
    return out


def snapshot(s: System) -> dict[str, str]:
    files: dict[str, str] = {}
    for group in s.groups():
        for name in s.listdir(group):
            path = f"{group.rstrip('/')}/{name}"
            if s._lookup(path) is None and name != "memory.force_empty":
                files[path] = s.read(path)
    return files


def test_swapon_swapoff_and_meminfo() -> None:
    s = System(ram="64M", swap="512M")
    # the first page of a swap area is its header
    assert swap_lines(s) == {"SwapCached": 0, "SwapTotal": 524284, "SwapFree": 524284}
    assert s.sysrq("m").splitlines()[2:] == ["Free swap  = 524284kB",
                                             "Total swap = 524284kB"]
    s.swapoff()
    assert swap_lines(s) == {"SwapCached": 0, "SwapTotal": 0, "SwapFree": 0}
    s.swapon("1M")
    assert swap_lines(s)["SwapTotal"] == 1020
    s.swapon("2M")
    assert swap_lines(s)["SwapTotal"] == 1020 + 2044
    s.swapoff()
    assert swap_lines(s)["SwapTotal"] == 0
    with pytest.raises(OSError) as e:
        s.swapon(4096)  # only a header
    assert e.value.errno == errno.EINVAL


def test_no_swap_means_no_area() -> None:
    s = System(ram="64M", swap=0)
    assert swap_lines(s)["SwapTotal"] == 0
    assert s.k.nr_swap_pages == 0


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_locked_pages_are_not_swapped_so_case_14_is_killed_with_swap_on(kernel: str) -> None:
    s = System(kernel=kernel, ram="64M", swap="512M")
    s.mkdir("/1")
    s.write("/1/memory.limit_in_bytes", "4096")
    t = s.spawn("/1")
    t.mmap_anon(2 * PAGE, locked=True)
    assert t.state == "killed"
    assert swap_lines(s)["SwapFree"] == swap_lines(s)["SwapTotal"]
    assert s.check_invariants() == []


def test_a_task_that_is_gone_is_named_so() -> None:
    s = System(ram="64M", swap="512M")
    s.mkdir("/1")
    s.write("/1/memory.limit_in_bytes", "4096")
    killed, exited = s.spawn("/1"), s.spawn("/")
    m = exited.mmap_anon(PAGE)
    killed.mmap_anon(2 * PAGE, locked=True)
    exited.exit()
    with pytest.raises(ProcessLookupError, match=f"task {killed.pid} was killed$") as e:
        killed.mmap_anon(PAGE)
    assert e.value.errno == errno.ESRCH
    with pytest.raises(ProcessLookupError, match=f"touch: task {exited.pid} has exited$"):
        exited.touch(m)


@pytest.mark.parametrize(("path", "text", "err"), [
    ("/G/memory.limit_in_bytes", "1xx", errno.EINVAL),
    ("/G/memory.memsw.limit_in_bytes", "4K", errno.EINVAL),
    ("/G/memory.use_hierarchy", "0", errno.EBUSY),
    ("/G/C/memory.swappiness", "7", errno.EINVAL),
    ("/G/memory.force_empty", "1", errno.EBUSY),
    ("/G/tasks", "4242", errno.ESRCH),
    ("/G/memory.usage_in_bytes", "0", errno.EINVAL),
])
def test_a_refused_write_changes_nothing(path: str, text: str, err: int) -> None:
    s = System(ram="64M", swap="0")
    s.mkdir("/G")
    s.write("/G/memory.limit_in_bytes", "1M")
    s.write("/G/memory.use_hierarchy", "1")
    s.mkdir("/G/C")
    t = s.spawn("/G/C")
    t.touch(t.mmap_anon(3 * PAGE))
    before = snapshot(s)
    with pytest.raises(OSError) as e:
        s.write(path, text)
    assert e.value.errno == err
    assert snapshot(s) == before
    t.exit()


def test_task_life_cycle_and_listing() -> None:
    s = System(ram="64M", swap="0")
    s.mkdir("/G")
    a = s.spawn("/G")
    b = a.fork()
    assert (a.state, b.state) == ("running", "running")
    assert s.tasks("/G") == [a.pid, b.pid]
    assert b.cgroup == "/G"
    assert s.task(b.pid) is b
    assert [t.pid for t in s.all_tasks()] == [a.pid, b.pid]
    b.exit()
    assert b.state == "exited"
    with pytest.raises(ProcessLookupError):
        b.mmap_anon(PAGE)
    with pytest.raises(ProcessLookupError):
        b.move_to("/")
    with pytest.raises(ProcessLookupError):
        s.task(999)
    a.exit()
    assert s.tasks("/G") == []
    s.rmdir("/G")
    assert s.groups() == ["/"]


def test_a_touch_outside_any_mapping_is_efault() -> None:
    s = System(ram="64M", swap="0")
    t = s.spawn("/")
    m = t.mmap_anon(2 * PAGE)
    t.munmap(m)
    with pytest.raises(OSError) as e:
        t.touch(m)
    assert e.value.errno == errno.EFAULT
    assert t.state == "running"
    t.exit()


def test_bad_construction() -> None:
    with pytest.raises(ValueError):
        System(kernel="2.4")
    with pytest.raises(ValueError):
        System(ram="lots")
    with pytest.raises(ValueError):
        System(ram="4K")
    with pytest.raises(ValueError):
        System(page_cluster=-1)
    with pytest.raises(ValueError):
        System(kernel="2.6.30", patches="9")


def test_patch_sets_and_page_cluster() -> None:
    s = System(kernel="2.6.30", patches="1,2", ram="64M", swap="0", page_cluster=0)
    assert (s.k.cfg.swapcache_interface, s.k.cfg.swap_has_cache) == (True, True)
    assert not s.k.cfg.memcg_swap_refcount
    assert s.read("/proc/sys/vm/page-cluster") == "0\n"


def test_threads_share_the_mm_and_madvise_drops_pages(kernel: str) -> None:
    """clone_thread(): one mm for both (a page touched by one is there for the other);
    madvise(MADV_DONTNEED) uncharges the range; the mm goes with the last thread."""
    s = System(kernel=kernel, ram="64M", swap="0")
    s.mkdir("/G")
    a = s.spawn("/G")
    t = a.clone_thread()
    m = a.mmap_anon("1M")
    assert t.touch(m) == 256
    assert int(s.read("/G/memory.usage_in_bytes")) == 1 << 20
    a.madvise(m)
    assert int(s.read("/G/memory.usage_in_bytes")) == 0
    assert a.touch(m, write=False) == 256  # faults in anew, zero pages
    t.exit()
    assert a.state == "running" and a.touch(m) == 256
    a.exit()
    assert int(s.read("/G/memory.usage_in_bytes")) == 0
    with pytest.raises(OSError) as err:
        a2 = s.spawn("/G")
        a2.madvise(a2.mmap_anon("4K"), "willneed")
    assert err.value.errno == errno.EINVAL


def test_swapon_discard_is_an_area_on_a_discarding_device() -> None:
    from swaplab.kernel.swapfile import SWP_DISCARDABLE

    s = System(ram="64M", swap=0)
    ssd = s.swapon("2M", discard=True)
    disk = s.swapon("2M")
    assert s.k.swap_info[ssd].flags & SWP_DISCARDABLE
    assert not s.k.swap_info[disk].flags & SWP_DISCARDABLE


def test_the_kernels_own_reclaim_can_be_run_by_hand() -> None:
    s = System(kernel="2.6.31", ram="2M", swap="256K")
    s.mkdir("/A")
    t = s.spawn("/A")
    t.touch(t.mmap_anon("64K"))
    assert s.read("/A/memory.usage_in_bytes") == "65536\n"
    assert s.reclaim("/A") >= 0
    assert s.read("/A/memory.usage_in_bytes") == "0\n"  # written out, freed at I/O completion
    assert s.read("/A/memory.memsw.usage_in_bytes") == "65536\n"
    assert s.kswapd() == 0  # the zone is above pages_high: nothing to do
    s.reclaim_cache_only()
    assert s.check_invariants() == []
    with pytest.raises(OSError, match="has none") as e:
        System(kernel="2.6.30", ram="2M", swap="256K").reclaim_cache_only()
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        s.reclaim("/nope")
    assert e.value.errno == errno.ENOENT


def test_kswapd_over_chosen_pages_swaps_them_out(kernel: str) -> None:
    """shrink_pages(): the first pass adds the page to swap, unmaps and writes it; the
    second frees the clean swap-cache page; a page that is gone is left alone."""
    s = System(kernel=kernel, ram="2M", swap="64K")
    s.mkdir("/A")
    t = s.spawn("/A")
    m = t.mmap_anon("8K")
    t.touch(m)
    chosen = s.pages(t, m)
    assert len(chosen) == 2
    assert s.shrink_pages(chosen) == 0  # written out, still in the swap cache
    assert s.pages(t, m) == chosen  # reached through the swap ptes now
    assert s.shrink_pages(chosen) == 2
    assert s.pages(t, m) == [] and s.read("/A/memory.usage_in_bytes") == "0\n"
    assert s.read("/A/memory.memsw.usage_in_bytes") == "8192\n"
    assert s.shrink_pages(chosen) == 0  # freed pages are on no LRU list
    assert s.check_invariants() == []
    t.touch(m, write=False)
    assert s.read("/A/memory.usage_in_bytes") == "8192\n"
    t.exit()
    assert s.pages(t, m) == [] and s.check_invariants() == []
