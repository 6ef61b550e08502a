"""The accounting invariants of the model, as named checks (see kernel/README.md).

Each check reads a *drained* state: no lock held and no kernel path half-way through an
operation (an in-flight try_charge holds a css reference and a res/memsw charge that no page
carries yet; a zap holds ptes of an mm no task owns any more). Each returns a list of
violation strings, empty when the state is fine; :func:`check_all` runs them all and
prefixes each violation with the check's name.

Live pages are the ``k.pages`` registry (pfn -> Page, kept by page_alloc). Memcgs are those
of the live cgroup tree, of ``k.css_ids`` (removed ones live on there while referenced) and
their ``children``. The LRU index a page belongs on is recomputed here from its flags
(include/linux/mm_inline.h: page_lru()), independently of swap.py, so a wrong list is seen.

Speed (the soak benchmark runs check_all() after every operation): the enumerations
several checks need (memcgs, mms, present ptes, the memcg and zone lists, swap users) are
computed once per check_all(), and the per-page part of six checks is one walk over the
pages (:func:`_walk_pages`) that tests flag bits directly (PageCgroupUsed() would record
a read for the explorer; check_all() runs between steps, where nothing is recorded) and
finds page_lru() by the flag bits. Each check run alone gives the same lines in the
same order as within check_all().

Besides the checks, :func:`orphan_swap_cache_pages` lists the swap-cache pages nobody can
reach (the Type-1/Type-2 leftovers): a report, not a violation, since the kernel allows them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    LRU_INACTIVE_FILE,
    LRU_NAMES,
    LRU_UNEVICTABLE,
    PAGE_SIZE,
    AddressSpace,
    AnonVma,
    MmStruct,
    Page,
    page_is_file_cache,
    page_mapped,
)
from swaplab.kernel.page_cgroup import PCG_USED, PageCgroup, PageCgroupUsed
from swaplab.kernel.page_flags import (
    PageActive,
    PageSwapCache,
    PageUnevictable,
    PG_active,
    PG_lru,
    PG_swapbacked,
    PG_swapcache,
    PG_unevictable,
)
from swaplab.kernel.shmem import I_CLEAR, I_FREEING, ShmemInode
from swaplab.kernel.swapfile import (
    SWP_USED,
    SWP_WRITEOK,
    swap_count,
    swap_has_cache,
    swap_map_bad,
    swap_map_max,
    swp_entry,
    swp_offset,
    swp_type,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.memcontrol import MemCgroup
    from swaplab.kernel.res_counter import ResCounter

Check = Callable[["Kernel"], list[str]]
T = TypeVar("T")


# ---------------------------------------------------------------------------------------
# Enumerations of the state


class _Shared:
    """The enumerations several checks use, each computed once while :func:`check_all`
    runs (the state does not change meanwhile); ``values`` is None outside it. Callers
    only read what they get."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[str, Any] | None = None


_shared = _Shared()


def _once(k: Kernel, compute: Callable[[Kernel], T]) -> T:
    """``compute(k)``, computed once per :func:`check_all`."""
    values = _shared.values
    if values is None:
        return compute(k)
    name = compute.__name__
    if name not in values:
        values[name] = compute(k)
    return cast(T, values[name])


def all_memcgs(k: Kernel) -> list[MemCgroup]:
    """Every memcg the state can still reach: the cgroup tree's, ``k.css_ids``' (removed
    memcgs kept alive by references) and their children, each once, in a fixed order."""
    return _once(k, _all_memcgs)


def _all_memcgs(k: Kernel) -> list[MemCgroup]:
    found: dict[MemCgroup, None] = {}
    stack = [k.cgroup_root]
    while stack:
        cgrp = stack.pop(0)
        if cgrp.memcg is not None:
            found[cgrp.memcg] = None
        stack.extend(cgrp.children.values())
    for mem in k.css_ids.values():
        found[mem] = None
    todo = list(found)
    while todo:
        mem = todo.pop(0)
        for child in mem.children:
            if child not in found:
                found[child] = None
                todo.append(child)
    return list(found)


def all_mms(k: Kernel) -> list[MmStruct]:
    """Every mm the state can reach: the tasks' and, for anon pages, the mms of the vmas
    on their anon_vma (an mm being torn down after its task let it go)."""
    return _once(k, _all_mms)


def _all_mms(k: Kernel) -> list[MmStruct]:
    found: dict[MmStruct, None] = {}
    for task in k.tasks.values():
        if task.mm is not None:
            found[task.mm] = None
    anon_vmas: dict[AnonVma, None] = {}  # each once, in the order of the pages
    for page in k.pages.values():
        mapping = page.mapping
        if isinstance(mapping, AnonVma):
            anon_vmas[mapping] = None
    for anon_vma in anon_vmas:
        for vma in anon_vma.head:
            found[vma.vm_mm] = None
    return list(found)


def page_lru(page: Page) -> int:
    """include/linux/mm_inline.h: page_lru(): the LRU list a page belongs on."""
    if PageUnevictable(page):
        return LRU_UNEVICTABLE
    lru = LRU_INACTIVE_FILE if page_is_file_cache(page) else LRU_INACTIVE_ANON
    if PageActive(page):
        lru += LRU_ACTIVE_ANON - LRU_INACTIVE_ANON
    return lru


#: The page flags :func:`page_lru` reads.
_LRU_FLAGS = PG_unevictable | PG_swapbacked | PG_active


def _page_lru_table() -> dict[int, int]:
    """:func:`page_lru` for each combination of :data:`_LRU_FLAGS`: the checks' page loops
    look the list up by ``page.flags & _LRU_FLAGS`` instead of calling it per page."""
    table = {}
    probe = Page(-1, PageCgroup())  # a page of no frame, never used as one
    for unevictable in (0, PG_unevictable):
        for swapbacked in (0, PG_swapbacked):
            for active in (0, PG_active):
                probe.flags = unevictable | swapbacked | active
                table[probe.flags] = page_lru(probe)
    return table


_PAGE_LRU = _page_lru_table()


def _used_pages_by_memcg(k: Kernel) -> tuple[dict[MemCgroup, int], list[str]]:
    """Number of USED pages charged to each memcg, and USED pages without a memcg."""
    return _once(k, _count_used_pages)


def _count_used_pages(k: Kernel) -> tuple[dict[MemCgroup, int], list[str]]:
    used: dict[MemCgroup, int] = {}
    bad: list[str] = []
    for page in k.pages.values():
        pc = page.page_cgroup
        if not pc.flags & PCG_USED:  # PageCgroupUsed(), read at a quiescent point
            continue
        mem = pc.mem_cgroup
        if mem is None:
            bad.append(f"{page!r} is USED with no mem_cgroup")
            continue
        used[mem] = used.get(mem, 0) + 1
    return used, bad


def _pte_pages(k: Kernel) -> tuple[dict[Page, int], list[tuple[MmStruct, int, Page]]]:
    """Present ptes per page over :func:`all_mms`, and those ptes (mm, vpn, page) whose
    page is not the live page of its frame."""
    return _once(k, _count_pte_pages)


def _count_pte_pages(k: Kernel) -> tuple[dict[Page, int], list[tuple[MmStruct, int, Page]]]:
    pages = k.pages
    counts: dict[Page, int] = {}
    freed: list[tuple[MmStruct, int, Page]] = []
    for mm in all_mms(k):
        for vpn, pte in mm.ptes.items():
            page = pte.page
            if page is None:
                continue
            counts[page] = counts.get(page, 0) + 1
            if pages.get(page.pfn) is not page:
                freed.append((mm, vpn, page))
    return counts, freed


def _swap_records(k: Kernel) -> dict[int, int]:
    """Number of swap_cgroup records naming each css id."""
    records: dict[int, int] = {}
    for css_id in k.swap_cgroup.values():
        if css_id:
            records[css_id] = records.get(css_id, 0) + 1
    return records


def _charge_up(expected: dict[ResCounter, int], counter: ResCounter | None, n: int) -> None:
    """Add ``n`` pages to ``counter`` and every ancestor counter (res_counter_charge)."""
    while counter is not None:
        expected[counter] = expected.get(counter, 0) + n * PAGE_SIZE
        counter = counter.parent


def _compare(name: str, mems: list[MemCgroup], which: str,
             expected: dict[ResCounter, int]) -> list[str]:
    out = []
    for mem in mems:
        counter: ResCounter = getattr(mem, which)
        want = expected.get(counter, 0)
        if counter.usage != want:
            out.append(f"{mem!r}: {which}.usage {counter.usage} != {want} "
                       f"({want // PAGE_SIZE} pages)")
    return out


# ---------------------------------------------------------------------------------------
# The checks


def check_res(k: Kernel) -> list[str]:
    """Each memcg's res.usage == PAGE_SIZE x the USED pages charged to it, plus those of
    every descendant created under use_hierarchy (res counts walk up the counter chain)."""
    mems = all_memcgs(k)
    used, bad = _used_pages_by_memcg(k)
    expected: dict[ResCounter, int] = {}
    for mem, n in used.items():
        _charge_up(expected, mem.res, n)
    return bad + _compare("res", mems, "res", expected)


def check_memsw(k: Kernel) -> list[str]:
    """With swap accounting: memsw.usage == res part + PAGE_SIZE x swap_cgroup records
    naming the memcg, each walked up the hierarchy; a record naming an unknown css id is a
    violation. Without swap accounting there is nothing to check."""
    if not k.cfg.do_swap_account:
        return []
    mems = all_memcgs(k)
    used, bad = _used_pages_by_memcg(k)
    bad = list(bad)
    expected: dict[ResCounter, int] = {}
    for mem, n in used.items():
        _charge_up(expected, mem.memsw, n)
    for css_id, n in _swap_records(k).items():
        owner = k.css_ids.get(css_id)
        if owner is None:
            bad.append(f"{n} swap record(s) name css id {css_id}, which is no memcg")
            continue
        _charge_up(expected, owner.memsw, n)
    return bad + _compare("memsw", mems, "memsw", expected)


def check_memcg_lru(k: Kernel) -> list[str]:
    """USED && PG_lru => the pc is linked on pc.mem_cgroup's list of the page's LRU; a
    linked pc has a mem_cgroup, sits on exactly one memcg list, the one ``pc.lru`` names,
    of ``pc.mem_cgroup``, and its page is live and on that zone LRU list (a pc uncharged
    while on the LRU may stay linked: stale, but still on the LRU)."""
    out: list[str] = []
    where, places = _memcg_lists(k)
    pages = k.pages
    for pc, (mem, lru) in where.items():
        page = pc.page
        if pc in places:
            out.append(f"{pc!r} linked on {places[pc]} memcg lists")
        if pc.mem_cgroup is None:
            out.append(f"{pc!r} linked on {mem!r} {LRU_NAMES[lru]} with no mem_cgroup")
        elif pc.mem_cgroup is not mem:
            out.append(f"{pc!r} linked on {mem!r} but charged to {pc.mem_cgroup!r}")
        if pc.lru != lru:
            out.append(f"{pc!r} on {LRU_NAMES[lru]} of {mem!r} but pc.lru == {pc.lru}")
        if page is None or pages.get(page.pfn) is not page:
            out.append(f"{pc!r} linked on {mem!r} but its page is not allocated")
        elif not page.flags & PG_lru:
            out.append(f"{pc!r} linked on {mem!r} but {page!r} is not PG_lru")
        elif page.lru != lru:
            out.append(f"{pc!r} on memcg {LRU_NAMES[lru]} but {page!r} on zone "
                       f"{LRU_NAMES[page.lru] if page.lru >= 0 else page.lru}")
    return out + _walk_pages(k).memcg_lru


def _memcg_lists(k: Kernel) -> tuple[dict[PageCgroup, tuple[MemCgroup, int]],
                                     dict[PageCgroup, int]]:
    """The memcg list each linked pc is on first (memcg, lru) and, for a pc on more than
    one, on how many."""
    return _once(k, _link_memcg_lists)


def _link_memcg_lists(k: Kernel) -> tuple[dict[PageCgroup, tuple[MemCgroup, int]],
                                          dict[PageCgroup, int]]:
    where: dict[PageCgroup, tuple[MemCgroup, int]] = {}
    places: dict[PageCgroup, int] = {}
    for mem in all_memcgs(k):
        for lru, lst in enumerate(mem.lists):
            for pc in lst:
                if pc in where:
                    places[pc] = places.get(pc, 1) + 1
                else:
                    where[pc] = (mem, lru)
    return where, places


def check_zone_lru(k: Kernel) -> list[str]:
    """PG_lru <=> the page is on exactly one zone LRU list, the one page_lru() gives, and
    ``page.lru`` names it; pages on zone lists are allocated."""
    out: list[str] = []
    where, _ = _zone_lists(k)
    pages = k.pages
    for page, lru in where.items():
        if pages.get(page.pfn) is not page:
            out.append(f"{page!r} on zone {LRU_NAMES[lru]} but not allocated")
        if not page.flags & PG_lru:
            out.append(f"{page!r} on zone {LRU_NAMES[lru]} without PG_lru")
    return out + _walk_pages(k).zone_lru


def _zone_lists(k: Kernel) -> tuple[dict[Page, int], dict[Page, int]]:
    """The zone list each page is on first and, for a page on more than one, on how
    many."""
    return _once(k, _link_zone_lists)


def _link_zone_lists(k: Kernel) -> tuple[dict[Page, int], dict[Page, int]]:
    where: dict[Page, int] = {}
    places: dict[Page, int] = {}
    for lru, lst in enumerate(k.zone.lru):
        for page in lst:
            if page in where:
                places[page] = places.get(page, 1) + 1
            else:
                where[page] = lru
    return where, places


def _pagevec_refs(k: Kernel) -> dict[Page, int]:
    return _once(k, _count_pagevec_refs)


def _count_pagevec_refs(k: Kernel) -> dict[Page, int]:
    refs: dict[Page, int] = {}
    for cpu in k.lru_add_pvecs:
        for pvec in cpu:
            for page in pvec:
                refs[page] = refs.get(page, 0) + 1
    return refs


def check_page_refs(k: Kernel) -> list[str]:
    """Every live page: _mapcount + 1 == the number of present ptes mapping it, and
    _count >= mapcount + page-cache refs + per-CPU pagevec refs; no pte maps a freed page."""
    _, freed = _pte_pages(k)
    out = [f"pte {vpn:#x} of {mm.owner!r} maps freed {page!r}" for mm, vpn, page in freed]
    return out + _walk_pages(k).page_refs


def check_css_refcnt(k: Kernel) -> list[str]:
    """css_refcnt == base + USED pages charged to the memcg (each charged page holds a css
    ref); base is 1 until rmdir clears it to 0 (cgroup_clear_css_refs). Freed memcgs are
    not checked."""
    used, _ = _used_pages_by_memcg(k)
    out = []
    for mem in all_memcgs(k):
        if mem.freed:
            continue
        base = 0 if mem.cgroup.removed else 1
        want = base + used.get(mem, 0)
        if mem.css_refcnt != want:
            out.append(f"{mem!r}: css_refcnt {mem.css_refcnt} != {want} "
                       f"({base} + {used.get(mem, 0)} charged pages)")
    return out


def check_mem_cgroup_refcnt(k: Kernel) -> list[str]:
    """refcnt == (0 once destroyed by rmdir, else 1) + live children created under
    use_hierarchy + swap_cgroup records naming it. A freed memcg must have none of these."""
    mems = all_memcgs(k)
    records = _swap_records(k)
    out = []
    for mem in mems:
        children = sum(1 for c in mems
                       if c.parent is mem and c.res.parent is mem.res and not c.freed)
        recs = records.get(mem.css_id, 0) if k.css_ids.get(mem.css_id) is mem else 0
        if mem.freed:
            if children or recs:
                out.append(f"{mem!r} freed but {children} children and {recs} swap "
                           f"records still refer to it")
            continue
        base = 0 if mem.cgroup.removed else 1
        want = base + children + recs
        if mem.refcnt != want:
            out.append(f"{mem!r}: refcnt {mem.refcnt} != {want} ({base} + {children} "
                       f"children + {recs} swap records)")
    return out


def check_free_pages(k: Kernel) -> list[str]:
    """nr_free_pages + allocated pages == totalram_pages, and the registry is keyed by pfn."""
    out = []
    if k.nr_free_pages + len(k.pages) != k.totalram_pages:
        out.append(f"nr_free_pages {k.nr_free_pages} + {len(k.pages)} allocated != "
                   f"totalram_pages {k.totalram_pages}")
    return out + _walk_pages(k).free_pages


def _slot_value(k: Kernel, entry: int) -> int | None:
    """The swap_map value of ``entry``, None when no live area holds that offset."""
    type, offset = swp_type(entry), swp_offset(entry)
    if type >= len(k.swap_info):
        return None
    si = k.swap_info[type]
    if not si.flags & SWP_USED or offset <= 0 or offset >= len(si.swap_map):
        return None
    return si.swap_map[offset]


def check_swap_slots(k: Kernel) -> list[str]:
    """Slot accounting (mm/swapfile.c: swap_map), per slot of every area still holding a
    swap_map (one being swapped off too): [30] swap_map == pte/shmem references + 1 when
    swapper_space holds a page for the slot; [31] swap_count == pte/shmem references and
    SWAP_HAS_CACHE <=> a page for the slot is in swapper_space. A value at SWAP_MAP_MAX is
    sticky (the kernel stops counting), so there only ``>=`` is required. References to
    a slot no area holds, or to a free slot, are violations."""
    out: list[str] = []
    users = swap_users(k)
    cached = k.swapper_space.page_tree
    bad, vmax = swap_map_bad(k), swap_map_max(k)
    for entry, n in users.items():
        v = _slot_value(k, entry)
        if v is None or v == 0 or v == bad:
            out.append(f"{n} pte/shmem reference(s) to entry {entry:#x}, slot value {v}")
    for entry in cached:
        v = _slot_value(k, entry)
        if v is None or v == 0 or v == bad:
            out.append(f"swap cache holds entry {entry:#x}, slot value {v}")
    for si in k.swap_info:
        if not si.flags & SWP_USED:
            continue
        for offset in range(1, len(si.swap_map)):
            v = si.swap_map[offset]
            if v == bad:
                continue
            entry = swp_entry(si.type, offset)
            refs, in_cache = users.get(entry, 0), entry in cached
            if k.cfg.swap_has_cache:
                count, flag = swap_count(v), swap_has_cache(v)
                if flag != in_cache:
                    out.append(f"slot {entry:#x}: swap_map {v:#x} HAS_CACHE {flag} but "
                               f"in swap cache {in_cache}")
            else:
                count = v - 1 if in_cache and v else v
                if in_cache and not v:
                    out.append(f"slot {entry:#x}: in swap cache but swap_map 0")
            if count != refs and not (v == vmax and count <= refs):
                out.append(f"slot {entry:#x}: swap_map {v:#x} counts {count} references, "
                           f"{refs} pte/shmem refs (in cache {in_cache})")
    return out


def check_swap_pages(k: Kernel) -> list[str]:
    """Per area: inuse_pages == non-zero slots other than SWAP_MAP_BAD ones; globally
    nr_swap_pages == sum(pages - inuse_pages) and total_swap_pages == sum(pages) over the
    SWP_WRITEOK areas (sys_swapoff takes an area's pages out before try_to_unuse)."""
    out: list[str] = []
    bad = swap_map_bad(k)
    free = total = 0
    for si in k.swap_info:
        if not si.flags & SWP_USED:
            continue
        used = sum(1 for v in si.swap_map if v and v != bad)
        if si.inuse_pages != used:
            out.append(f"{si!r}: inuse_pages {si.inuse_pages} != {used} slots in use")
        if si.flags & SWP_WRITEOK:
            free += si.pages - si.inuse_pages
            total += si.pages
    if k.nr_swap_pages != free:
        out.append(f"nr_swap_pages {k.nr_swap_pages} != {free} (pages - inuse_pages "
                   f"of the SWP_WRITEOK areas)")
    if k.total_swap_pages != total:
        out.append(f"total_swap_pages {k.total_swap_pages} != {total}")
    return out


def check_swap_cache(k: Kernel) -> list[str]:
    """swapper_space.nrpages == the pages in its tree; each is allocated, PageSwapCache,
    its ``private`` is its key, and no PageSwapCache page is outside the tree."""
    out: list[str] = []
    space = k.swapper_space
    if space.nrpages != len(space.page_tree):
        out.append(f"swapper_space.nrpages {space.nrpages} != {len(space.page_tree)} pages "
                   f"in its tree")
    for entry, page in space.page_tree.items():
        if not PageSwapCache(page):
            out.append(f"{page!r} in swap cache at {entry:#x} without PG_swapcache")
        if page.private != entry:
            out.append(f"{page!r} in swap cache at {entry:#x} but private {page.private:#x}")
        if k.pages.get(page.pfn) is not page:
            out.append(f"{page!r} in swap cache at {entry:#x} but not allocated")
    return out + _walk_pages(k).swap_cache


def check_swap_record_referenced(k: Kernel) -> list[str]:
    """A swap_cgroup record lies on a slot in use (both versions: swap_entry_free()
    uncharges the record when the value drops to 0); with memcg_swap_refcount ([31], 4/5)
    a record also implies a pte/shmem reference to the slot (mm/page_cgroup.c:
    swap_cgroup_record()). In
    [30] the Type-1 leak breaks the latter; :func:`unreferenced_swap_records` reports it."""
    out: list[str] = []
    for (type, offset), css_id in k.swap_cgroup.items():
        entry = swp_entry(type, offset)
        v = _slot_value(k, entry)
        if css_id and not v:
            out.append(f"swap record of slot {entry:#x} (css id {css_id}) but slot value {v}")
    if k.cfg.memcg_swap_refcount:
        out.extend(unreferenced_swap_records(k))
    return out


def unreferenced_swap_records(k: Kernel) -> list[str]:
    """Report: swap_cgroup records no pte/shmem reference backs (the [30] Type-1 state;
    a violation of check_swap_record_referenced under memcg_swap_refcount)."""
    users = swap_users(k)
    out = []
    for (type, offset), css_id in k.swap_cgroup.items():
        entry = swp_entry(type, offset)
        if css_id and not users.get(entry, 0):
            out.append(f"swap record of slot {entry:#x} (css id {css_id}) but no pte or "
                       f"shmem reference to it")
    return out


def check_used_free_page(k: Kernel) -> list[str]:
    """No free frame keeps a PCG_USED page_cgroup. mm/page_alloc.c: free_pages_check()
    (2.6.30, 2.6.31) does not test the page_cgroup, so a page freed while still charged is
    freed and its charge (res, memsw, the css reference) stays with ``pc->mem_cgroup``
    until the frame's next page inherits the pc: a stuck charge, one line per frame."""
    pages = k.pages
    stuck = sorted(pfn for pfn, pc in k.zone.node_page_cgroup.items()
                   if pc.flags & PCG_USED and pfn not in pages)
    node_page_cgroup = k.zone.node_page_cgroup
    return [f"free pfn {pfn} has a PCG_USED page_cgroup: "
            f"{node_page_cgroup[pfn].mem_cgroup!r} stays charged one page" for pfn in stuck]


def _live_host(mapping: AddressSpace) -> bool:
    """Whether the inode of a page cache is live: not being evicted (a shmem inode
    without I_FREEING/I_CLEAR; the model's plain files have no lifetime)."""
    host = mapping.host
    return not (isinstance(host, ShmemInode) and host.i_state & (I_FREEING | I_CLEAR))


def check_charged_reachable(k: Kernel) -> list[str]:
    """Every charged page (PCG_USED) is reachable: mapped by a pte of a live mm
    (:func:`all_mms`), in swapper_space, or in the page cache of a live inode
    (:func:`_live_host`); or a path holds it: its _count exceeds the references the state
    explains (ptes, page caches - a dead inode's too - and per-CPU pagevecs), such as a
    test's own reference or an isolated page's. A charge on a page none of these reaches
    is never uncharged: the memcg keeps it for good (e.g. a page put into the cache of a
    shmem inode after its eviction truncated it: mm/shmem.c shmem_unuse_inode() without
    its igrab()).

    Quiescent points only, like every check here: in the middle of a path a page is
    charged before it is mapped or inserted (do_swap_page, shmem_getpage) and a zap holds
    the ptes of an mm no task owns; such a page's holder is not always visible as an
    extra reference."""
    return list(_walk_pages(k).charged_reachable)


class _Walk:
    """What one walk over the live pages found, per check: the part of each check that
    looks at every page (:func:`_walk_pages`)."""

    __slots__ = ("charged_reachable", "free_pages", "memcg_lru", "page_refs", "swap_cache",
                 "zone_lru")

    def __init__(self) -> None:
        self.memcg_lru: list[str] = []
        self.zone_lru: list[str] = []
        self.page_refs: list[str] = []
        self.free_pages: list[str] = []
        self.swap_cache: list[str] = []
        self.charged_reachable: list[str] = []


def _walk_pages(k: Kernel) -> _Walk:
    """The per-page parts of six checks in one walk over ``k.pages`` (each check's lines
    in page order, as its own loop would give them), once per :func:`check_all`."""
    return _once(k, _walk)


def _walk(k: Kernel) -> _Walk:
    found = _Walk()
    pages = k.pages
    memcg_where, _ = _memcg_lists(k)
    zone_where, zone_places = _zone_lists(k)
    ptes, _ = _pte_pages(k)
    pvecs = _pagevec_refs(k)
    swapper_space = k.swapper_space
    swap_tree = swapper_space.page_tree
    for pfn, page in pages.items():
        live = page.pfn == pfn or pages.get(page.pfn) is page
        if page.pfn != pfn:
            found.free_pages.append(f"k.pages[{pfn}] is {page!r}")
        flags, pc = page.flags, page.page_cgroup
        used = pc.flags & PCG_USED
        # check_memcg_lru: linked where pc.lru says; USED on the LRU => on its owner's list
        if pc.lru >= 0 and pc not in memcg_where:
            found.memcg_lru.append(f"{pc!r} says linked (lru {pc.lru}) but is on no "
                                   f"memcg list")
        lru = _PAGE_LRU[flags & _LRU_FLAGS]
        if (used and flags & PG_lru and pc.mem_cgroup is not None
                and pc not in pc.mem_cgroup.lists[lru]):
            found.memcg_lru.append(f"{page!r} is USED and PG_lru but not on "
                                   f"{pc.mem_cgroup!r} {LRU_NAMES[lru]}")
        # check_zone_lru: PG_lru => on one zone list, page_lru()'s, named by page.lru
        if flags & PG_lru and (zone_where.get(page) != lru or page in zone_places
                               or page.lru != lru):
            _zone_lru_page(found.zone_lru, page, lru, zone_where, zone_places)
        # check_swap_cache: PG_swapcache => in swapper_space under page.private
        in_swap = bool(flags & PG_swapcache) and swap_tree.get(page.private) is page
        if flags & PG_swapcache and not in_swap:
            found.swap_cache.append(f"{page!r} PG_swapcache but not in swapper_space at "
                                    f"{page.private:#x}")
        # check_page_refs, check_charged_reachable: the references the state explains,
        # ptes, pagevecs and the page caches (swapper_space's, the page's own mapping's)
        mapping = page.mapping
        cache = (mapping if mapping is not None and mapping is not swapper_space
                 and isinstance(mapping, AddressSpace)
                 and mapping.page_tree.get(page.index) is page else None)
        in_cache = cache is not None
        mapped = ptes.get(page, 0)
        mapcount = page._mapcount + 1
        pvec = pvecs.get(page, 0)
        explained = mapcount + in_swap + in_cache + pvec
        if mapcount != (mapped if live else 0) or page._count < explained:
            _page_refs_page(found.page_refs, page, mapped if live else 0, explained, pvec)
        if (used and not mapped and not in_swap and page._count <= explained
                and not (cache is not None and _live_host(cache))):
            found.charged_reachable.append(
                f"{page!r} charged to {pc.mem_cgroup!r} but no live mm maps it, no live "
                f"inode or swap cache holds it, and no path holds a reference (_count "
                f"{page._count})")
    return found


def _zone_lru_page(out: list[str], page: Page, want: int, where: dict[Page, int],
                   places: dict[Page, int]) -> None:
    """check_zone_lru()'s lines for a PG_lru page: not on exactly one zone list, or on
    another list than page_lru()'s ``want``, or page.lru naming another."""
    on = where.get(page)
    if on is None or page in places:
        out.append(f"{page!r} is PG_lru and on {0 if on is None else places[page]} zone lists")
        return
    if on != want:
        out.append(f"{page!r} on zone {LRU_NAMES[on]}, belongs on {LRU_NAMES[want]}")
    if page.lru != on:
        out.append(f"{page!r} on zone {LRU_NAMES[on]} but page.lru == {page.lru}")


def _page_refs_page(out: list[str], page: Page, mapped: int, need: int, pvec: int) -> None:
    """check_page_refs()'s lines for a page: ``mapped`` ptes map it (those of a page the
    registry keeps under another frame count as freed, 0) and ``need`` references are
    explained."""
    mapcount = page._mapcount + 1
    if mapcount != mapped:
        out.append(f"{page!r}: mapcount {mapcount} but {mapped} ptes map it")
    if page._count < need:
        out.append(f"{page!r}: _count {page._count} < {need} (mapcount {mapcount} + "
                   f"cache {need - mapcount - pvec} + pagevec {pvec})")


def check_data_integrity(k: Kernel) -> list[str]:
    """Every load of a private anonymous page by a task found what the program last
    stored there, or its parent before fork (kernel/user_access.py records each miss as
    it happens; a later store does not undo it)."""
    return list(k.data_violations)


#: The checks by name, in the order check_all() runs them.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("res", check_res),
    ("memsw", check_memsw),
    ("memcg_lru", check_memcg_lru),
    ("zone_lru", check_zone_lru),
    ("page_refs", check_page_refs),
    ("css_refcnt", check_css_refcnt),
    ("mem_cgroup_refcnt", check_mem_cgroup_refcnt),
    ("free_pages", check_free_pages),
    ("swap_slots", check_swap_slots),
    ("swap_pages", check_swap_pages),
    ("swap_cache", check_swap_cache),
    ("swap_record_referenced", check_swap_record_referenced),
    ("used_free_page", check_used_free_page),
    ("charged_reachable", check_charged_reachable),
    ("data_integrity", check_data_integrity),
)


def check(k: Kernel, name: str) -> list[str]:
    """Run the check called ``name``."""
    for check_name, fn in CHECKS:
        if check_name == name:
            return fn(k)
    raise KeyError(name)


def check_all(k: Kernel, names: list[str] | None = None) -> list[str]:
    """Run every check (or those in ``names``); violations as ``"<check>: <what>"``."""
    out: list[str] = []
    outer, _shared.values = _shared.values, {}
    try:
        for name, fn in CHECKS:
            if names is None or name in names:
                out.extend(f"{name}: {v}" for v in fn(k))
    finally:
        _shared.values = outer
    return out


# ---------------------------------------------------------------------------------------
# Report: orphan swap-cache pages


def swap_users(k: Kernel) -> dict[int, int]:
    """Pte and shmem references per swap entry value."""
    return _once(k, _count_swap_users)


def _count_swap_users(k: Kernel) -> dict[int, int]:
    users: dict[int, int] = {}
    for mm in all_mms(k):
        for pte in mm.ptes.values():
            if pte.page is None and pte.swp:
                users[pte.swp] = users.get(pte.swp, 0) + 1
    inodes: dict[object, None] = {}
    for seg in k.shm_segments.values():
        inodes[seg] = None
    for mm in all_mms(k):
        for vma in mm.mmap:
            if vma.vm_file is not None and vma.vm_file.host is not None:
                inodes[vma.vm_file.host] = None
    for host in inodes:
        i_swap: dict[int, int] = getattr(host, "i_swap", {})
        for ent in i_swap.values():
            users[ent] = users.get(ent, 0) + 1
    return users


def orphan_swap_cache_pages(k: Kernel) -> list[Page]:
    """Swap-cache pages no task can reach: in swapper_space, not mapped, no pte or shmem
    reference to their swap entry, not charged (!PCG_USED). The kernel allows them (only
    global reclaim, swapoff or [31] slot reuse frees them); their number is the leak the
    series is about."""
    users = swap_users(k)
    out = []
    for page in k.swapper_space.page_tree.values():
        if (PageSwapCache(page) and not page_mapped(page)
                and not users.get(page.private, 0)
                and not PageCgroupUsed(page.page_cgroup)):
            out.append(page)
    return out


def orphan_report(k: Kernel) -> list[str]:
    """One line per orphan swap-cache page (entry, flags), for traces and metrics."""
    return [f"orphan swap cache {page!r} entry {page.private:#x} flags {page.flags:#x} "
            f"count {page._count}" for page in orphan_swap_cache_pages(k)]
