"""swapoff-vs-shm-rmid (scenarios/shmem_races.py): swapoff's shmem_unuse_inode() against
IPC_RMID + the last shmdt evicting the segment's inode. mm/shmem.c igrab()s the inode once
it has found the entry (both kernels), so no run leaves a page charged in an evicted
inode's cache: the exploration is clean, complete under dpor, and reaches each window
(igrab defers the eviction to swapoff's iput; igrab fails on the I_FREEING inode; the
entry lies beyond the lowered next_index while the truncation frees it). Run sequentially,
in either order, nothing stays charged."""

from __future__ import annotations

import pytest

from swaplab.explore.explorer import explore
from swaplab.explore.search import Options
from swaplab.kernel import invariants, shmem, swapfile
from swaplab.kernel.memcontrol import MEM_CGROUP_STAT_CACHE
from swaplab.scenarios import ScenarioOptions, get_scenario
from swaplab.scenarios.kernel_common import run, swap_world
from swaplab.scenarios.shmem_races import attach_swapped_segment

NAME = "swapoff-vs-shm-rmid"
KERNELS = ["2.6.30", "2.6.31"]
WINDOWS = ["igrab-defers-the-eviction-to-swapoff", "igrab-fails-on-the-evicting-inode",
           "unuse-waits-for-the-truncation"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_dpor_is_clean_complete_and_reaches_every_window(kernel: str) -> None:
    model = get_scenario(NAME).model(ScenarioOptions(kernel))
    result = explore(model, Options(strategy="dpor", shrink=False))
    assert result.findings == [] and result.notes == []
    assert result.stats.complete and result.stats.executions > 1
    assert result.vacuous == []  # every sometimes-property (the windows) was reached
    instance = model()
    names = [p.name for p in instance.properties]
    instance.execution.close()
    assert "charged-reachable" in names and all(w in names for w in WINDOWS)


@pytest.mark.parametrize("kernel", KERNELS)
def test_dfs_with_two_preemptions_is_clean(kernel: str) -> None:
    model = get_scenario(NAME).model(ScenarioOptions(kernel))
    result = explore(model, Options(strategy="dfs", preemption_bound=2, shrink=False))
    assert result.findings == [] and result.notes == []
    assert result.stats.executions > 1 and result.vacuous == []


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("swapoff_first", [True, False])
def test_sequential_orders_leave_nothing_charged(kernel: str, swapoff_first: bool) -> None:
    w = swap_world(ScenarioOptions(kernel), page_cluster=0)
    k = w.k
    a, shmid, addr = attach_swapped_segment(w)
    assert a.mm is not None
    inode = k.shm_segments[shmid]
    if swapoff_first:
        assert run(k, swapfile.sys_swapoff(k, 0)) == 0
        assert inode.mapping.nrpages == 1 and inode.i_swap == {}
    assert run(k, shmem.shmctl(k, shmid, shmem.IPC_RMID), a) == 0
    assert run(k, shmem.shmdt(k, a.mm, addr), a) == 0
    if not swapoff_first:
        assert run(k, swapfile.sys_swapoff(k, 0)) == 0
    assert inode.evicted and inode.mapping.nrpages == 0 and inode.i_count == 0
    assert w.memcg.res.usage == 0 and w.memcg.memsw.usage == 0
    assert w.memcg.stat[MEM_CGROUP_STAT_CACHE] == 0
    assert invariants.check_all(k) == []
