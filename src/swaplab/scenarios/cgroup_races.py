"""Removing a memcg while its last charges come and go: rmdir and memory.force_empty against
a charge and an uncharge, as kernel scenarios.

A group can be emptied only when no task is left in it, yet it can still be charged and
uncharged: a task moved out keeps its pages charged to the old group (2.6.30/2.6.31 move no
charge on attach), a swap-in charges the group its swap_cgroup record names, and the task's
munmap uncharges. Each scenario prepares /A with task T's page (mapped, or swapped out with
/A's record), moves T to the root group, then starts the remover against T's fault or munmap.

- ``rmdir-vs-swapin``: cgroup_rmdir(/A) against T's swap-in of a page recorded for /A. In
  2.6.30 the swap-in can charge /A after pre_destroy emptied it; the charged page keeps a
  css reference nobody drops, and rmdir sleeps on cgroup_rmdir_waitq for ever (kernel/cgroup.c
  2.6.30: nothing wakes it). 2.6.31 brackets the commit with cgroup_exclude_rmdir() /
  cgroup_release_and_wakeup_rmdir(), which wakes rmdir to run pre_destroy again.
- ``rmdir-vs-munmap``: cgroup_rmdir(/A) against T's munmap of its page charged to /A: the
  move to the parent races the uncharge.
- ``force-empty-vs-swapin`` and ``force-empty-vs-munmap``: the same two against a write to
  /A's memory.force_empty (mm/memcontrol.c: mem_cgroup_force_empty(), free path). The
  munmap case has no swap area, so reclaim cannot take the page and force_empty moves its
  charge to the parent (with swap, reclaim's swap-out against the munmap is type2's race).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from swaplab.explore.model import Instance, Property, sometimes
from swaplab.explore.ops import ThreadBody
from swaplab.kernel import cgroup, memcontrol, memory, mmap
from swaplab.kernel.mm_types import PAGE_SIZE, TaskStruct
from swaplab.kernel.sync import Current
from swaplab.scenarios.api import Scenario, ScenarioOptions, new_instance
from swaplab.scenarios.kernel_common import (
    World,
    drain,
    family_properties,
    make_kernel,
    memcg_a,
    mmap_touch,
    new_task,
    page_at,
    prepared,
    swap_out,
    swap_world,
)
from swaplab.scenarios.kernel_fingerprint import RULES


async def _rmdir(w: World) -> None:
    w.results["remover"] = await cgroup.cgroup_rmdir(w.k, w.memcg.cgroup)


async def _force_empty(w: World) -> None:
    w.results["remover"] = await memcontrol.mem_cgroup_force_empty_write(w.k, w.memcg.cgroup, None)


async def _fault(w: World, task: TaskStruct, addr: int) -> None:
    w.results["T"] = await memory.do_page_fault(w.k, task, addr, False)


async def _munmap(w: World, task: TaskStruct, addr: int) -> None:
    assert task.mm is not None
    w.results["T"] = await mmap.sys_munmap(w.k, task.mm, addr, PAGE_SIZE)


def _moved_out(options: ScenarioOptions, swapped: bool) -> tuple[World, TaskStruct, int]:
    """/A with T's one page (swapped out to a slot recorded for /A when ``swapped``; with
    no swap area at all otherwise, so that force_empty's reclaim cannot swap the page and
    moves its charge instead), and T moved to the root group."""
    if swapped:
        w = swap_world(options, page_cluster=0)
    else:
        bare = make_kernel(options, page_cluster=0)
        w = World(bare, memcg_a(bare))
    k = w.k
    t = new_task(k, w.memcg, "T")
    addr = mmap_touch(k, t, 1)
    if swapped:
        swap_out(k, page_at(t, addr), w.memcg)
    assert cgroup.cgroup_attach_task(k, k.cgroup_root, t) == 0
    return w, t, addr


def _build(name: str, remover: str, other: str, options: ScenarioOptions) -> Instance:
    w, t, addr = prepared(_moved_out, options, other == "swapin")
    body: ThreadBody = _rmdir(w) if remover == "rmdir" else _force_empty(w)
    racer = _fault(w, t, addr) if other == "swapin" else _munmap(w, t, addr)
    extra: list[Property] = [
        sometimes("removed", lambda w: w.results.get("remover") == 0),
        sometimes("left-charged", lambda w: w.results.get("remover") == 0
                  and w.memcg.res.usage > 0),
    ]
    k = w.k
    return new_instance(w, [(f"{remover} /A", body, Current(None, 0)),
                            (f"T: {other}", racer, Current(t, 1))],
                        [*family_properties(k), *extra], execution=k.execution,
                        finish=drain, max_steps=3_000, name=name, rules=RULES)


def _scenario(name: str, description: str, remover: str, other: str) -> Scenario:
    build: Callable[[ScenarioOptions], Instance] = partial(_build, name, remover, other)
    return Scenario(name, description, build, kernel_options=True, default_kernel="2.6.30",
                    strategy="dpor", tags=("kernel", "cgroup"))


SCENARIOS: tuple[Scenario, ...] = (
    _scenario("rmdir-vs-swapin", "rmdir of an emptied group vs a swap-in charging it through "
              "its swap record ([30] rmdir sleeps for ever)", "rmdir", "swapin"),
    _scenario("rmdir-vs-munmap", "rmdir moving a page's charge to the parent vs the page's "
              "uncharge at munmap", "rmdir", "munmap"),
    _scenario("force-empty-vs-swapin", "memory.force_empty of an emptied group vs a swap-in "
              "charging it through its swap record", "force_empty", "swapin"),
    _scenario("force-empty-vs-munmap", "memory.force_empty reclaiming or moving a page vs the "
              "page's uncharge at munmap", "force_empty", "munmap"),
)
