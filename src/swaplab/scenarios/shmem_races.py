"""Races of shmem (mm/shmem.c, ipc/shm.c) with swapoff, as kernel scenarios.

- ``swapoff-vs-shm-rmid``: a SysV segment of one page, swapped out to E, attached by A.
  swapoff (try_to_unuse -> shmem_unuse -> shmem_unuse_inode on the segment's inode) races
  A's shmctl(IPC_RMID) and last shmdt (shm_close -> shm_destroy -> fput -> iput ->
  shmem_delete_inode -> shmem_truncate). If swapoff put E's page into the inode's page
  cache after the eviction had truncated it, the memcg would keep that page charged (res,
  memsw, cache) for good. Both kernels prevent it: shmem_unuse_inode() igrab()s the inode
  under info->lock once it has found E, so either the eviction waits for swapoff's iput()
  (which then evicts the inode, page and all), or igrab() fails on the I_FREEING inode and
  swapoff leaves E to shmem_truncate_range(); an insertion during the truncation itself is
  caught by its SHMEM_PAGEIN second pass. The explored property ``charged-reachable``
  (invariants.check_charged_reachable) holds in every run.
"""

from __future__ import annotations

from swaplab.explore.model import Instance, Property, at_end, sometimes
from swaplab.kernel import fork, invariants, memory, shmem, swapfile
from swaplab.kernel.mm_types import PAGE_SIZE, TaskStruct
from swaplab.kernel.sync import Current
from swaplab.scenarios.api import Scenario, ScenarioOptions, new_instance
from swaplab.scenarios.kernel_common import (
    World,
    drain,
    family_properties,
    new_task,
    page_at,
    prepared,
    run,
    swap_out,
    swap_world,
)
from swaplab.scenarios.kernel_fingerprint import RULES

#: the key of the scenario's SysV segment
SHM_KEY = 0x5EED


def attach_swapped_segment(w: World) -> tuple[TaskStruct, int, int]:
    """Task A in /A attaches a new one-page segment and writes it; memcg reclaim swaps
    the page out (shmem_writepage: E recorded in the inode, the inode on shmem_swaplist).
    Returns (A, shmid, the attach address)."""
    k = w.k
    a = new_task(k, w.memcg, "A")
    assert a.mm is not None
    shmid = shmem.shmget(k, SHM_KEY, PAGE_SIZE)
    assert shmid >= 0
    addr = int(run(k, shmem.shmat(k, a.mm, shmid), a))
    assert addr > 0
    run(k, memory.do_page_fault(k, a, addr, True), a)
    swap_out(k, page_at(a, addr), w.memcg)
    return a, shmid, addr


async def _swapoff(w: World) -> None:
    w.results["swapoff"] = await swapfile.sys_swapoff(w.k, 0)


async def _rmid_and_detach(w: World, task: TaskStruct, shmid: int, addr: int) -> None:
    assert task.mm is not None
    w.results["rmid"] = await shmem.shmctl(w.k, shmid, shmem.IPC_RMID)
    w.results["shmdt"] = await shmem.shmdt(w.k, task.mm, addr)


def _charged_reachable() -> Property:
    def problems(w: World) -> list[str]:
        return invariants.check_charged_reachable(w.k)

    return at_end("charged-reachable", lambda w: not problems(w),
                  lambda w: "; ".join(problems(w)))


def _pending_at(w: World, site: str) -> bool:
    """Whether some thread's next operation is at ``site`` (a busy-wait round of
    shmem_unuse_inode, which names why swapoff polls)."""
    return any(t.pending is not None and t.pending.site == site
               for t in w.k.execution.threads)


def _witnesses(inode: shmem.ShmemInode) -> list[Property]:
    """The windows the scenario is about, each reached in some run: swapoff's igrab()
    holds the inode past the last detach (its iput() evicts it); igrab() fails on the
    inode being evicted; swapoff finds the entry beyond the lowered next_index."""
    return [
        sometimes("igrab-defers-the-eviction-to-swapoff",
                  lambda w: "shmdt" in w.results and inode.i_count == 1
                  and not inode.i_state),
        sometimes("igrab-fails-on-the-evicting-inode",
                  lambda w: _pending_at(w, shmem.UNUSE_IGRAB_FAILED)),
        sometimes("unuse-waits-for-the-truncation",
                  lambda w: _pending_at(w, shmem.UNUSE_TRUNCATING)),
    ]


def _swapped_segment(options: ScenarioOptions) -> tuple[World, TaskStruct, int, int,
                                                        TaskStruct]:
    """A's swapped-out segment page and the swapoff task S (the scenario's setup)."""
    w = swap_world(options, page_cluster=0)
    a, shmid, addr = attach_swapped_segment(w)
    s = fork.create_task(w.k, w.k.cgroup_root, "swapoff")
    return w, a, shmid, addr, s


def build_swapoff_vs_shm_rmid(options: ScenarioOptions) -> Instance:
    """A's segment page is swapped out to E (slot 1 of the 8-slot area). swapoff of the
    area (task S in the root group) against A's IPC_RMID and last shmdt."""
    w, a, shmid, addr, s = prepared(_swapped_segment, options)
    k = w.k
    inode = k.shm_segments[shmid]
    entry = inode.i_swap[0]
    w.results["E"] = entry
    properties = [*family_properties(k), _charged_reachable(), *_witnesses(inode)]
    instance = new_instance(w, [("S: swapoff", _swapoff(w), Current(s, 0)),
                                ("A: rmid+shmdt", _rmid_and_detach(w, a, shmid, addr),
                                 Current(a, 1))],
                            properties, execution=k.execution, finish=drain, max_steps=3_000,
                            name="swapoff-vs-shm-rmid", rules=RULES)
    return instance


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("swapoff-vs-shm-rmid", "swapoff (shmem_unuse_inode) vs IPC_RMID + last shmdt "
             "evicting the segment's inode (igrab, SHMEM_PAGEIN)", build_swapoff_vs_shm_rmid,
             kernel_options=True, default_kernel="2.6.30", strategy="dpor",
             tags=("kernel", "shmem")),
)
