"""Page contents (kernel/user_access.py, Page.data, the swap area's data): what a task
stores survives swap-out and swap-in, COW and fork, and a lost store is reported."""

from __future__ import annotations

import re

import pytest

from swaplab import System
from swaplab.kernel.mm_types import PAGE_SIZE
from swaplab.kernel.swapfile import swp_offset
from swaplab.system import Mapping, Task

PAGES = 64


def _swapping(kernel: str) -> tuple[System, tuple[Task, Mapping]]:
    """A task of a 16-page group that stored into 64 pages: most of them are on swap."""
    s = System(kernel=kernel, ram="16M", swap="16M")
    s.mkdir("/A")
    s.write("/A/memory.limit_in_bytes", str(16 * PAGE_SIZE))
    t = s.spawn("/A")
    m = t.mmap_anon(PAGES * PAGE_SIZE)
    assert t.touch(m) == PAGES
    return s, (t, m)


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_stores_survive_swap_out_and_swap_in(kernel: str) -> None:
    s, (t, m) = _swapping(kernel)
    k = s.k
    written = sum(len(p.data) for p in k.swap_info if p is not None)
    assert written >= PAGES - 16  # the slots hold the stores of the swapped pages
    assert t.touch(m, write=False) == PAGES  # swap-ins, each load checked
    assert len(k.data_stores) == PAGES + 1
    assert s.check_invariants() == []


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_a_child_reads_its_parent_s_data_until_it_stores(kernel: str) -> None:
    s, (t, m) = _swapping(kernel)
    child = t.fork()
    child.touch(m, write=False)  # the parent's stores, some from swap
    child.touch(m)  # COW: the child's own copies
    t.touch(m, write=False)  # the parent still finds its own data
    child.touch(m, write=False)
    assert s.check_invariants() == []


@pytest.mark.parametrize("kernel", ["2.6.30", "2.6.31"])
def test_madvise_dontneed_gives_zeroes_back(kernel: str) -> None:
    s, (t, m) = _swapping(kernel)
    t.madvise(m)
    t.touch(m, write=False)
    assert s.check_invariants() == []
    mm = t.task.mm
    assert mm is not None and not mm.user_data
    assert all(pte.page is None or pte.page.data == 0 for pte in mm.ptes.values())


def test_a_slot_that_lost_its_data_is_reported() -> None:
    """Overwrite one swapped page's slot behind the kernel's back: the next load of that
    page names the task, the address, what it found and what it stored."""
    s, (t, m) = _swapping("2.6.31")
    k = s.k
    mm = t.task.mm
    assert mm is not None
    vpn, pte = next((v, p) for v, p in sorted(mm.ptes.items()) if p.page is None)
    k.swap_info[0].data[swp_offset(pte.swp)] = 0
    t.touch(m, write=False)
    problems = s.check_invariants()
    address = vpn * PAGE_SIZE
    [problem] = problems
    assert re.fullmatch(rf"data_integrity: task {t.pid} read at {address:#x} zeroes in "
                        rf"page#\d+, not the data task {t.pid} stored at {address:#x} "
                        rf"\(store #{mm.user_data[vpn]}\)", problem), problem
