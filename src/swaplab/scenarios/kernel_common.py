"""Shared pieces of the kernel scenarios: a small machine prepared sequentially, the
property families the kernel scenarios check, and the end-of-run drain.

Setup (run to completion, before the explored threads exist): a :class:`Kernel` with the
root memcg, one swap area of a few slots, a memcg ``/A`` and tasks whose pages are swapped
out by the kernel's own reclaim code (:func:`swap_out`: isolate, ``shrink_page_list`` with a
memcg ``ScanControl``, putback; repeated until the page is freed, as successive memcg
reclaim passes would).

Property families (each a separate property, so a finding names its family):

* ``memcg-accounting``: res/memsw equal the charged pages plus the swap records
  (``invariants.check_res``/``check_memsw``) **and** no swap record lacks a pte/shmem
  reference (``invariants.unreferenced_swap_records``) - checked on every kernel.
* ``memcg-lru-visibility``: no orphan swap-cache page (in the cache, unmapped, no pte or
  shmem reference, not charged: memcg reclaim cannot see it).
* ``swap-slot-leak``: after the kernel's own cache-only reclaim mechanisms have run on the
  final state (the merged reuse: ``__try_to_reclaim_swap`` on each cache-only slot, as
  ``scan_swap_map`` does while ``vm_swap_full()``; RFC 5/5: one pass of the GC work), every
  used slot is referenced by a pte or shmem. Kernels with neither mechanism keep an
  unreferenced slot until global reclaim or swapoff.
* ``mem_cgroup-refcnt``: ``invariants.check_mem_cgroup_refcnt`` and no reference held by a
  swap record that no task references (the struct could never be freed after rmdir).
* ``invariants``: the remaining structural checks of ``kernel/invariants.py``.

All are ``at_end`` (the invariants assume a drained state: an in-flight try_charge or a
half-done zap breaks them transiently). ``finish`` drains the pagevecs first.

Every run starts from a copy of the prepared machine (:func:`prepared`): the setup runs
once per process and options, and each run unpickles a fresh copy of what it left (the
machine and the handles the threads need) instead of running it again. Unpickling costs a
quarter to a half of a setup here; ``copy.deepcopy`` costs more than the setup itself
(benchmarks/explore.py measures all three per scenario).
"""

from __future__ import annotations

import copyreg
import functools
import io
import pickle
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from swaplab.explore import run_to_completion
from swaplab.explore.cpus import SOFT_LOCKUP
from swaplab.explore.model import BUG, NOTE, Instance, Property, always, at_end
from swaplab.explore.ops import Lock, lock_count
from swaplab.explore.runner import DEADLOCK, EXCEPTION, LIVELOCK
from swaplab.kernel import (
    cgroup,
    fork,
    invariants,
    memory,
    mmap,
    page_io,
    swap,
    swapfile,
    vmscan,
)
from swaplab.kernel.config import ConfigError, make_config
from swaplab.kernel.gfp import GFP_KERNEL
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import PAGE_SIZE, Page, TaskStruct, page_mapped
from swaplab.kernel.page_flags import ClearPageFlag, PG_active, PG_referenced
from swaplab.kernel.sync import Current
from swaplab.scenarios.api import ScenarioOptions

ANON = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
RW = mmap.PROT_READ | mmap.PROT_WRITE
#: the modelled RAM of every kernel scenario (small, but above the zone watermarks)
RAM = 16 << 20
#: the swap area of every race scenario, in slots (slot 0 is the header)
SWAP_SLOTS = 8


@dataclass(slots=True)
class World:
    """The state of a kernel scenario: the machine plus what the properties need."""

    k: Kernel
    memcg: MemCgroup
    results: dict[str, Any] = field(default_factory=dict)
    #: orphan swap-cache pages at the end, before the cache-only reclaim pass
    orphans_at_end: list[str] = field(default_factory=list)
    #: what the cache-only reclaim pass freed (entries)
    reclaimed: list[int] = field(default_factory=list)
    #: sometimes-flags set by the scenario's own threads
    flags: dict[str, bool] = field(default_factory=dict)


def make_kernel(options: ScenarioOptions, default: str = "2.6.30",
                page_cluster: int = 1, fixes: str | None = None) -> Kernel:
    """A machine for ``options`` (kernel preset or 2.6.30 + patches) with the later fixes
    of ``options`` and ``fixes`` (comma-separated commit ids, kernel/config.py: FIXES);
    unknown names raise ConfigError (a ValueError: `swaplab check` turns it into a usage
    error)."""
    patches = ",".join(options.patches) if options.patches is not None else None
    if patches is not None and options.kernel not in (None, "2.6.30"):
        raise ConfigError(f"--patches applies on top of 2.6.30, not {options.kernel}")
    cfg = make_config(options.kernel or default, patches,
                      ",".join([*options.fixes, *([fixes] if fixes else [])]))
    k = Kernel(cfg, RAM, ncpus=2)
    cgroup.cgroup_init_root(k)
    k.page_cluster = options.page_cluster if options.page_cluster is not None else page_cluster
    return k


S = TypeVar("S")


def prepared(setup: Callable[..., S], *args: Any) -> S:
    """A fresh copy of what ``setup(*args)`` returns (a scenario's machine after its
    sequential setup, with the objects its threads and properties need): the setup runs
    once per process and arguments, each call unpickles a copy of its result, so the
    objects returned together stay shared as they were (see the module docstring)."""
    copied: S = pickle.loads(_snapshot(setup, *args))
    return copied


@functools.lru_cache(maxsize=128)
def _snapshot(setup: Callable[..., Any], *args: Any) -> bytes:
    """The pickle of ``setup(*args)``. Its locks unpickle as new locks (:func:`_new_lock`),
    numbered in the order the copy makes them, and the setup's own locks are not counted
    (``lock_count.created`` is put back): so a lock's serial relative to the count when the
    model was called (``ops.stable_name``, dpor's sleep sets) is the same in every run,
    the first one included, and in every process."""
    created = lock_count.created
    state = setup(*args)
    out = io.BytesIO()
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Lock: _reduce_lock}
    pickler.dump(state)
    lock_count.created = created
    return out.getvalue()


def _reduce_lock(lock: Lock) -> tuple[Any, ...]:
    return (_new_lock, (lock.name,), (None, {"owner": lock.owner, "_holder": lock.holder}))


def _new_lock(name: str) -> Lock:
    """A lock of a copy: the next serial, as a lock made at this point of the run."""
    return Lock(name)


def swap_world(options: ScenarioOptions, page_cluster: int, default: str = "2.6.30",
               fixes: str | None = None) -> World:
    """What every race scenario starts from: a machine (``default``: the kernel when
    ``options`` names none) with an area of ``SWAP_SLOTS`` slots (slot 0 is the header)
    and the memcg /A."""
    k = make_kernel(options, default, page_cluster, fixes)
    swapfile.sys_swapon(k, SWAP_SLOTS)
    return World(k, memcg_a(k))


def run(k: Kernel, body: Coroutine[Any, Any, Any], task: TaskStruct | None = None) -> Any:
    """Run one kernel path (and what it starts) to completion, untraced (setup/drain)."""
    trace = k.execution.trace
    k.execution.trace = None
    saved = list(k.execution.threads)
    try:
        thread = k.execution.spawn("setup", body, Current(task, 0))
        run_to_completion(k.execution, max_steps=1_000_000)
    finally:
        k.execution.reset(saved)
        k.execution.trace = trace
    return thread.result


def memcg_a(k: Kernel) -> MemCgroup:
    sub = cgroup.cgroup_mkdir(k, k.cgroup_root, "A")
    assert not isinstance(sub, int) and sub.memcg is not None
    return sub.memcg


def new_task(k: Kernel, memcg: MemCgroup, comm: str) -> TaskStruct:
    return fork.create_task(k, memcg.cgroup, comm)


def mmap_touch(k: Kernel, task: TaskStruct, npages: int) -> int:
    """An anonymous private mapping of ``npages``, every page written once."""
    assert task.mm is not None
    addr = int(run(k, mmap.sys_mmap_pgoff(k, task.mm, 0, npages * PAGE_SIZE, RW, ANON, None),
                   task))
    assert addr > 0

    async def body() -> None:
        for i in range(npages):
            await memory.do_page_fault(k, task, addr + i * PAGE_SIZE, True)

    run(k, body(), task)
    return addr


def page_at(task: TaskStruct, addr: int) -> Page:
    assert task.mm is not None
    pte = task.mm.ptes[addr // PAGE_SIZE]
    assert pte.page is not None
    return pte.page


def swp_at(task: TaskStruct, addr: int) -> int:
    """The swap entry in ``task``'s pte at ``addr``."""
    assert task.mm is not None
    pte = task.mm.ptes[addr // PAGE_SIZE]
    assert pte.page is None and pte.swp
    return pte.swp


def _age(k: Kernel, page: Page) -> None:
    """Clear the young bits and PG_referenced, as an earlier reclaim pass would have."""
    for task in k.tasks.values():
        if task.mm is None:
            continue
        for pte in task.mm.ptes.values():
            if pte.page is page:
                pte.young = False
    ClearPageFlag(page, PG_referenced)


def swap_out(k: Kernel, page: Page, mem: MemCgroup) -> None:
    """Swap ``page`` out with memcg reclaim's code: isolate it, shrink_page_list, put it
    back; repeated (as successive reclaim passes) until its swap write is done and the
    page is freed (a swap pte left in every mapper, the slot recorded for the memcg)."""
    sc = vmscan.ScanControl(GFP_KERNEL, vmscan._isolate_pages_memcg, mem_cgroup=mem)

    async def one_pass() -> None:
        await swap.lru_add_drain_all(k)
        _age(k, page)
        if vmscan.isolate_lru_page(k, page) != 0:
            return
        ClearPageFlag(page, PG_active)  # as shrink_active_list deactivates it
        pages = [page]
        await vmscan.shrink_page_list(k, pages, sc)
        for p in pages:
            await vmscan.putback_lru_page(k, p)
        await swap.lru_add_drain_all(k)

    for _ in range(4):
        if k.pages.get(page.pfn) is not page:
            return
        run(k, one_pass())
    raise AssertionError(f"{page!r} not swapped out")


# ---------------------------------------------------------------------------------------
# The drain and the property families


def forked_swapped_page(w: World) -> tuple[TaskStruct, TaskStruct, int]:
    """Task A in /A with one page swapped out to E, and B forked from A, so that E's count
    is 2: returns (A, B, the page's address)."""
    k = w.k
    a = new_task(k, w.memcg, "A")
    addr = mmap_touch(k, a, 1)
    swap_out(k, page_at(a, addr), w.memcg)
    b = run(k, fork.do_fork(k, a), a)
    b.comm = "B"
    return a, b, addr


def drain(w: World) -> None:
    """``Instance.finish``: the swap device ends the writes it held (a prepared state's,
    System.hold_writes()), drain the pagevecs, note the orphans, then run the cache-only
    reclaim mechanisms the kernel under test has on every cache-only slot."""
    drain_groups(w, [w.memcg])


def drain_groups(w: World, memcgs: Sequence[MemCgroup]) -> None:
    """:func:`drain`, with memcg reclaim run on each of ``memcgs``."""
    k = w.k
    if k.held_writes:  # a disk ends its writes: what is left after them is what counts
        run(k, page_io.complete_held_writes(k))
    run(k, swap.lru_add_drain_all(k))
    w.orphans_at_end = invariants.orphan_report(k)
    if not _unreferenced_slots(k):
        return
    before = _used_slots(k)
    # memcg reclaim (every kernel has it) frees unreferenced swap-cache pages that are
    # still charged: two passes (write, then free)
    for _ in range(2):
        for mem in memcgs:
            run(k, vmscan.try_to_free_mem_cgroup_pages(k, mem, GFP_KERNEL, False, 60))
    run(k, swapfile.reclaim_cache_only(k))
    after = _used_slots(k)
    w.reclaimed = [e for e in before if e not in after]


def _used_slots(k: Kernel) -> list[int]:
    bad = swapfile.swap_map_bad(k)
    return [swapfile.swp_entry(si.type, off) for si in k.swap_info
            for off in range(1, len(si.swap_map)) if si.swap_map[off] and si.swap_map[off] != bad]


def accounting_problems(k: Kernel) -> list[str]:
    out = invariants.check_res(k) + invariants.check_memsw(k)
    users = invariants.swap_users(k)
    for mem in invariants.all_memcgs(k):
        records = [e for (t, o), css in k.swap_cgroup.items() if css == mem.css_id
                   for e in [swapfile.swp_entry(t, o)] if not users.get(e, 0)]
        if records:
            n = len(records)
            slots = ", ".join(f"{e:#x}" for e in records)
            out.append(f"memsw.usage of {_path(mem)} is {n * PAGE_SIZE} too high: {n} recorded "
                       f"slot{'s' if n > 1 else ''} no task references ({slots})")
    return out


def _path(mem: MemCgroup) -> str:
    return mem.cgroup.path or "/"


def _unreferenced_slots(k: Kernel) -> list[int]:
    """Used slots that no pte/shmem references and whose swap-cache page (if any) is
    not mapped either (a mapped swap-cache page's slot is in use by its mapper)."""
    users = invariants.swap_users(k)
    out = []
    for entry in _used_slots(k):
        page = k.swapper_space.page_tree.get(entry)
        if not users.get(entry, 0) and (page is None or not page_mapped(page)):
            out.append(entry)
    return out


def slot_leaks(k: Kernel) -> list[str]:
    out = []
    for entry in _unreferenced_slots(k):
        if True:
            v = k.swap_info[swapfile.swp_type(entry)].swap_map[swapfile.swp_offset(entry)]
            how = ("reuse" if k.cfg.reuse_cache_only else "") + (
                "GC" if k.cfg.cache_only_gc else "")
            out.append(f"slot {entry:#x} (swap_map {v:#x}) used but no task references it"
                       + (f" and {how} did not reclaim it" if how else
                          " (no reuse/GC in this kernel: only global reclaim or swapoff)"))
    return out


def refcnt_problems(k: Kernel) -> list[str]:
    out = invariants.check_mem_cgroup_refcnt(k)
    users = invariants.swap_users(k)
    for mem in invariants.all_memcgs(k):
        held = [(t, o) for (t, o), css in k.swap_cgroup.items()
                if css == mem.css_id and not users.get(swapfile.swp_entry(t, o), 0)]
        if held:
            out.append(f"mem_cgroup {_path(mem)}: refcnt {mem.refcnt} includes {len(held)} "
                       f"held by swap records no task references (never freed after rmdir)")
    return out


def other_invariants(k: Kernel) -> list[str]:
    """The structural invariants of kernel.invariants a scenario checks at its end (the
    accounting ones are the families'): lists, references, slots, and no charge left on a
    freed page (used_free_page) or on a page nothing reaches (charged_reachable)."""
    names = ["memcg_lru", "zone_lru", "page_refs", "css_refcnt", "free_pages", "swap_slots",
             "swap_pages", "swap_cache", "used_free_page", "charged_reachable"]
    return invariants.check_all(k, names)


def _prop(name: str, problems: Callable[[World], list[str]], kind: str = BUG) -> Property:
    return at_end(name, lambda w: not problems(w), lambda w: "; ".join(problems(w)), kind)


def orphan_kind(k: Kernel) -> str:
    """Whether an orphan swap-cache page is a defect of kernel ``k``.

    A bug where nothing but global reclaim or swapoff ever frees it (2.6.30, and the
    series without 5/5): under memcg-only pressure such pages pile up and their slots run
    swap out, which RFC 5/5 and the merged mm/swapfile.c: scan_swap_map() reuse were
    written to fix. A note where the kernel reclaims the slot of a cache-only page itself
    (2.6.31: __try_to_reclaim_swap() once vm_swap_full(); RFC 5/5's GC): the page stays
    in the swap cache, unmapped and uncharged, until that happens, by design.
    """
    return NOTE if k.cfg.reuse_cache_only or k.cfg.cache_only_gc else BUG


def family_properties(k: Kernel) -> list[Property]:
    """The four property families plus the remaining structural invariants and
    data-integrity (what a task loads is what it stored), each with its kind for kernel
    ``k``."""
    return [
        _prop("memcg-accounting", lambda w: accounting_problems(w.k)),
        _prop("memcg-lru-visibility", lambda w: list(w.orphans_at_end), orphan_kind(k)),
        _prop("swap-slot-leak", lambda w: slot_leaks(w.k)),
        _prop("mem_cgroup-refcnt", lambda w: refcnt_problems(w.k)),
        _prop("invariants", lambda w: other_invariants(w.k)),
        _prop("data-integrity", lambda w: invariants.check_data_integrity(w.k)),
    ]


FAMILIES = ("memcg-accounting", "memcg-lru-visibility", "swap-slot-leak", "mem_cgroup-refcnt")


def with_threshold(k: Kernel, threshold: int) -> None:
    """Scale RFC 5/5's trigger threshold to a tiny swap area."""
    k.cfg = replace(k.cfg, cache_only_gc_threshold=threshold)


def _only(model: Callable[[], Instance], names: tuple[str, ...]) -> Instance:
    instance = model()
    instance.properties = [p for p in instance.properties if p.name in names]
    return instance


def only(model: Callable[[], Instance], *names: str) -> Callable[[], Instance]:
    """``model`` checking only the properties ``names`` (a run stops at its first failing
    property, so each family is explored on its own to find every family it breaks)."""
    return functools.partial(_only, model, names)


def broken_families(model: Callable[[], Instance], decisions: list[tuple[int, int]],
                    max_steps: int | None = None, policy: str = "fair"
                    ) -> list[tuple[str, str]]:
    """Replay ``decisions`` once per property family: (family, message) of each broken
    one (a run stops at its first failing property, so one replay per family)."""
    from swaplab.explore.replay import replay

    out: list[tuple[str, str]] = []
    for name in (*FAMILIES, "invariants"):
        result = replay(only(model, name), decisions, trace=False, max_steps=max_steps,
                        policy=policy)
        broken = result.violation(name)
        if broken is not None:
            out.append((name, broken.message))
    return out


# ---------------------------------------------------------------------------------------
# Claim properties: what RFC 2/5 and 3/5 promise, beyond the families (`swaplab claims`)


def _has_cache_mismatches(w: World) -> list[str]:
    """2/5's promise: swap_map == SWAP_HAS_CACHE exactly when only the swap cache holds
    the slot (a page for it in swapper_space, no pte/shmem reference)."""
    k = w.k
    users = invariants.swap_users(k)
    out = []
    for si in k.swap_info:
        for off in range(1, len(si.swap_map)):
            entry = swapfile.swp_entry(si.type, off)
            v = si.swap_map[off]
            cache_only = v == swapfile.SWAP_HAS_CACHE
            in_tree = entry in k.swapper_space.page_tree
            truth = in_tree and not users.get(entry, 0)
            if cache_only != truth:
                out.append(f"slot {entry:#x}: swap_map {v:#x} but page in swap cache "
                           f"{in_tree}, {users.get(entry, 0)} pte/shmem references")
    return out


def _has_cache_exact(w: World) -> bool:
    return not _has_cache_mismatches(w)


def _has_cache_without_page(w: World) -> list[str]:
    """The slots whose swap_map says "only the swap cache" (SWAP_HAS_CACHE, count 0) while
    no page of theirs is in the swap cache: what free_swap_and_cache() and readahead see in
    the owner's add and delete windows."""
    k = w.k
    return [f"slot {swapfile.swp_entry(si.type, off):#x}: swap_map {v:#x} but no page in "
            "the swap cache" for si in k.swap_info for off, v in enumerate(si.swap_map)
            if off and v == swapfile.SWAP_HAS_CACHE
            and swapfile.swp_entry(si.type, off) not in k.swapper_space.page_tree]


def _counter_exact(w: World) -> bool:
    k = w.k
    n = sum(1 for si in k.swap_info for v in si.swap_map if v == swapfile.SWAP_HAS_CACHE)
    return k.nr_cache_only_swaps == n


CLAIM_PROPERTIES: dict[str, Property] = {
    "has-cache-has-page": always("has-cache-has-page", lambda w: not _has_cache_without_page(w),
                                 lambda w: "; ".join(_has_cache_without_page(w)),
                                 quiescent=True),
    "has-cache-exact-at-end": at_end("has-cache-exact-at-end", _has_cache_exact,
                                     lambda w: "; ".join(_has_cache_mismatches(w))),
    "cache-only-counter": always("cache-only-counter", _counter_exact),
}


def _swap_state_settled(w: World) -> bool:
    """Neither swap_lock nor the swap cache's tree_lock is held: swap_map and the swap
    cache are each consistent. Page locks may be held: the HAS_CACHE owner's window
    (between swapcache_prepare() and add_to_swap_cache(), or __delete_from_swap_cache()
    and swapcache_free()) holds the page's."""
    k = w.k
    return k.swap_lock.holder is None and k.swapper_space.tree_lock.holder is None


def _with_claim(model: Callable[[], Instance], name: str) -> Instance:
    instance = model()
    instance.properties = [CLAIM_PROPERTIES[name]]
    instance.quiescent = _swap_state_settled
    return instance


#: The explorer's own checks: no model's property; a run reports them whatever it checks.
EXPLORER_CHECKS = (DEADLOCK, LIVELOCK, SOFT_LOCKUP, EXCEPTION)


def property_names(model: Callable[[], Instance]) -> list[str]:
    """What :func:`checking` can select for ``model``: its own properties, the claim
    properties (on a kernel scenario's :class:`World`) and the explorer's own checks."""
    instance = model()
    instance.execution.close()
    names = [p.name for p in instance.properties]
    if isinstance(instance.state, World):
        names += [name for name in CLAIM_PROPERTIES if name not in names]
    return [*names, *(name for name in EXPLORER_CHECKS if name not in names)]


def checking(model: Callable[[], Instance], name: str) -> Callable[[], Instance]:
    """``model`` checking only the property ``name`` (`swaplab check --property`, each
    check of `swaplab claims`): one of its own (a family: :data:`FAMILIES`,
    "invariants"), a claim property (:data:`CLAIM_PROPERTIES`, checked whenever the swap
    state is settled) or one of the explorer's own checks, which stay on whatever is
    selected (selecting one leaves none of the model's). ValueError for another name."""
    names = property_names(model)
    if name not in names:
        raise ValueError(f"unknown property {name!r} (one of: {', '.join(names)})")
    if name in CLAIM_PROPERTIES:
        return functools.partial(_with_claim, model, name)
    return only(model, name)
