"""invariants.py: every check passes on a hand-built correct state and fails when that state
is broken in the way the check is about."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from swaplab.kernel import invariants, swapfile
from swaplab.kernel.cgroup import Cgroup
from swaplab.kernel.config import PRESETS
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memcontrol import MemCgroup
from swaplab.kernel.mm_types import (
    LRU_ACTIVE_ANON,
    LRU_INACTIVE_ANON,
    PAGE_SHIFT,
    PAGE_SIZE,
    AnonVma,
    MmStruct,
    Page,
    Pte,
    TaskStruct,
    VmAreaStruct,
)
from swaplab.kernel.page_cgroup import PCG_USED, PageCgroup
from swaplab.kernel.page_flags import PG_lru, PG_swapbacked, PG_swapcache

ENTRY_Q = 0x105  # swap entry of the orphan swap-cache page Q
ENTRY_S = 0x106  # swap entry of a swapped-out page of G (a swap pte of T names it)


class State:
    """A small, exactly accounted machine (2.6.31 preset, 1 MiB = 256 pages):

    root memcg R (use_hierarchy) with child G (created under hierarchy);
    task T in G maps anon page P (charged to G, on the inactive anon LRUs of zone and G);
    Q is a swap-cache page nobody maps or charges (on the zone LRU only);
    slot S was swapped out from G: swap record names G, T's pte holds the entry.
    """

    def __init__(self) -> None:
        k = Kernel(PRESETS["2.6.31"], ram_bytes=1 << 20)
        self.k = k
        root_cg = k.cgroup_root
        self.R = MemCgroup(1, root_cg, None, False)
        self.R.use_hierarchy = True
        root_cg.memcg = self.R
        k.root_mem_cgroup = self.R
        g_cg = Cgroup("G", root_cg)
        root_cg.children["G"] = g_cg
        self.G = MemCgroup(2, g_cg, self.R, True)
        g_cg.memcg = self.G
        self.R.children.append(self.G)
        self.R.refcnt += 1  # the child created under use_hierarchy
        k.css_ids = {1: self.R, 2: self.G}

        mm = MmStruct()
        self.T = TaskStruct(pid=2, comm="T", mm=mm, cgroup=g_cg)
        mm.owner = self.T
        k.tasks[2] = self.T
        g_cg.tasks.append(self.T)
        anon_vma = AnonVma()
        vma = VmAreaStruct(mm, 0x10000, 0x10000 + 4 * PAGE_SIZE, 0x3, anon_vma=anon_vma)
        anon_vma.head.append(vma)
        mm.mmap.append(vma)
        mm.total_vm = 4

        self.P = self.new_page(0)
        self.P.mapping = anon_vma
        self.P.flags |= PG_swapbacked | PG_lru
        self.P._mapcount = 0  # one pte; _count 1 is that pte's reference
        mm.ptes[0x10000 >> PAGE_SHIFT] = Pte(self.P, write=True)
        mm.anon_rss = 1
        pc = self.P.page_cgroup
        pc.mem_cgroup = self.G
        pc.flags = PCG_USED
        self.G.css_refcnt += 1
        self.link(self.P, LRU_INACTIVE_ANON, self.G)
        for counter in (self.G.res, self.G.memsw, self.R.res, self.R.memsw):
            counter.usage += PAGE_SIZE

        # one swap area of 512 slots (0 is the header): Q's slot is cache-only, S's slot
        # has T's swap pte ([31] encoding: SWAP_HAS_CACHE | 0 and 1)
        assert swapfile.sys_swapon(k, 0x200) == 0
        self.si = k.swap_info[0]
        self.si.swap_map[ENTRY_Q] = swapfile.SWAP_HAS_CACHE
        self.si.swap_map[ENTRY_S] = 1
        self.si.inuse_pages = 2
        k.nr_swap_pages -= 2

        self.Q = self.new_page(1)
        self.Q.mapping = anon_vma
        self.Q.flags |= PG_swapbacked | PG_swapcache | PG_lru
        self.Q.private = ENTRY_Q
        k.swapper_space.page_tree[ENTRY_Q] = self.Q
        k.swapper_space.nrpages = 1
        self.link(self.Q, LRU_INACTIVE_ANON, None)  # !USED: zone LRU only

        mm.ptes[(0x10000 >> PAGE_SHIFT) + 1] = Pte(None, swp=ENTRY_S)
        k.swap_cgroup[(0, ENTRY_S)] = 2
        self.G.refcnt += 1
        self.G.memsw.usage += PAGE_SIZE
        self.R.memsw.usage += PAGE_SIZE

    def new_page(self, pfn: int) -> Page:
        k = self.k
        pc = PageCgroup()
        page = Page(pfn, pc)
        pc.page = page
        k.pages[pfn] = page
        k.nr_free_pages -= 1
        k.next_pfn = max(k.next_pfn, pfn + 1)
        return page

    def link(self, page: Page, lru: int, mem: MemCgroup | None) -> None:
        self.k.zone.lru[lru][page] = None
        page.lru = lru
        if mem is not None:
            mem.lists[lru][page.page_cgroup] = None
            page.page_cgroup.lru = lru


def _unlink_memcg(s: State) -> None:
    pc = s.P.page_cgroup
    del s.G.lists[LRU_INACTIVE_ANON][pc]
    pc.lru = -1


def _wrong_zone_list(s: State) -> None:
    del s.k.zone.lru[LRU_INACTIVE_ANON][s.P]
    s.k.zone.lru[LRU_ACTIVE_ANON][s.P] = None  # but PG_active is clear


def _extra_res(s: State) -> None:
    s.G.res.usage += PAGE_SIZE
    s.R.res.usage += PAGE_SIZE


def _lost_swap_charge(s: State) -> None:
    s.G.memsw.usage -= PAGE_SIZE  # the record stays, its memsw unit is gone


def _mapcount(s: State) -> None:
    s.P._mapcount = 1  # says two ptes, one maps it


def _css(s: State) -> None:
    s.G.css_refcnt = 1  # the charged page's css reference is lost


def _refcnt(s: State) -> None:
    s.G.refcnt -= 1  # the swap record's mem_cgroup_get() is lost


def _free(s: State) -> None:
    s.k.nr_free_pages += 1


def _slot_count(s: State) -> None:
    s.si.swap_map[ENTRY_S] = 2  # a swap_duplicate() nobody's pte stands for


def _inuse(s: State) -> None:
    s.si.swap_map[0x150] = 1  # a slot taken without inuse_pages/nr_swap_pages


def _nrpages(s: State) -> None:
    s.k.swapper_space.nrpages = 2


def _unreferenced_record(s: State) -> None:
    s.k.swap_cgroup[(0, ENTRY_Q)] = 2  # Q's slot has no pte reference (Type-1)
    s.G.refcnt += 1
    s.G.memsw.usage += PAGE_SIZE
    s.R.memsw.usage += PAGE_SIZE


def _used_free_page(s: State) -> None:
    pc = PageCgroup()  # a frame freed while its page was still charged to G
    pc.flags = PCG_USED
    pc.mem_cgroup = s.G
    s.k.zone.node_page_cgroup[7] = pc


def _charged_in_evicted_inode(s: State) -> None:
    """P leaves T's pte for the page cache of a shmem inode that was evicted: the state
    mm/shmem.c: shmem_unuse_inode() would leave without its igrab() (charged for good)."""
    from swaplab.kernel.shmem import I_CLEAR, I_FREEING, ShmemInode

    inode = ShmemInode("SYSV00000001", 1)
    inode.i_count = 0
    inode.i_state = I_FREEING | I_CLEAR
    assert s.T.mm is not None
    del s.T.mm.ptes[0x10000 >> PAGE_SHIFT]
    s.T.mm.anon_rss = 0
    s.P._mapcount = -1  # _count 1 is now the page cache's reference
    s.P.mapping = inode.mapping
    s.P.index = 0
    inode.mapping.page_tree[0] = s.P
    inode.mapping.nrpages = 1


def _lost_store(s: State) -> None:
    """The data a load found was not what the task had stored (kernel/user_access.py)."""
    s.k.data_violations.append("task 1 read at 0x10000 zeroes in page#0, not store #1")


BREAKS: dict[str, Callable[[State], None]] = {
    "res": _extra_res,
    "memsw": _lost_swap_charge,
    "memcg_lru": _unlink_memcg,
    "zone_lru": _wrong_zone_list,
    "page_refs": _mapcount,
    "css_refcnt": _css,
    "mem_cgroup_refcnt": _refcnt,
    "free_pages": _free,
    "swap_slots": _slot_count,
    "swap_pages": _inuse,
    "swap_cache": _nrpages,
    "swap_record_referenced": _unreferenced_record,
    "used_free_page": _used_free_page,
    "charged_reachable": _charged_in_evicted_inode,
    "data_integrity": _lost_store,
}


def test_the_correct_state_passes_every_check() -> None:
    s = State()
    assert invariants.check_all(s.k) == []


def test_every_check_has_a_breaking_case() -> None:
    assert [name for name, _ in invariants.CHECKS] == list(BREAKS)


@pytest.mark.parametrize("name", list(BREAKS))
def test_each_check_catches_its_corruption(name: str) -> None:
    s = State()
    assert invariants.check(s.k, name) == []
    BREAKS[name](s)
    found = invariants.check(s.k, name)
    assert found, name
    assert all(v.startswith(f"{name}: ") for v in invariants.check_all(s.k, [name]))


def test_check_all_gives_each_checks_own_lines_in_order() -> None:
    """check_all() shares enumerations and one walk over the pages between the checks:
    with every corruption at once (some mask others), its lines are those of each check
    run alone, in CHECKS order."""
    s = State()
    for brk in BREAKS.values():
        brk(s)
    alone = [f"{name}: {v}" for name, _ in invariants.CHECKS
             for v in invariants.check(s.k, name)]
    assert invariants.check_all(s.k) == alone
    assert len({v.partition(": ")[0] for v in alone}) > len(BREAKS) // 2


def test_res_counts_the_child_in_the_hierarchical_parent() -> None:
    s = State()
    s.R.res.usage -= PAGE_SIZE  # R forgot G's page: with use_hierarchy it counts there
    assert invariants.check_res(s.k) == [
        f"memcg(/): res.usage 0 != {PAGE_SIZE} (1 pages)"
    ]


def test_res_without_hierarchy_counts_only_own_pages() -> None:
    s = State()
    s.G.res.parent = None  # as if G had been created without use_hierarchy
    assert invariants.check_res(s.k) == [
        f"memcg(/): res.usage {PAGE_SIZE} != 0 (0 pages)"
    ]


def test_memsw_counts_swap_records() -> None:
    s = State()
    assert s.G.memsw.usage == 2 * PAGE_SIZE  # the page and the swapped-out slot
    del s.k.swap_cgroup[(0, ENTRY_S)]  # record cleared, memsw not uncharged
    out = invariants.check_memsw(s.k)
    assert f"memcg(/G): memsw.usage {2 * PAGE_SIZE} != {PAGE_SIZE} (1 pages)" in out


def test_memsw_record_naming_an_unknown_memcg() -> None:
    s = State()
    s.k.swap_cgroup[(0, 9)] = 7
    assert "1 swap record(s) name css id 7, which is no memcg" in invariants.check_memsw(s.k)


def test_memsw_is_not_checked_without_swap_accounting() -> None:
    from dataclasses import replace

    s = State()
    s.k.cfg = replace(s.k.cfg, do_swap_account=False)
    _lost_swap_charge(s)
    assert invariants.check_memsw(s.k) == []


def test_stale_linked_pc_of_an_uncharged_page_is_allowed() -> None:
    """Uncharging clears USED but leaves the pc linked while the page is on the LRU."""
    s = State()
    s.P.page_cgroup.flags = 0
    assert invariants.check_memcg_lru(s.k) == []


def test_linked_pc_of_a_page_off_the_lru_is_caught() -> None:
    s = State()
    s.P.flags &= ~PG_lru
    del s.k.zone.lru[LRU_INACTIVE_ANON][s.P]
    s.P.lru = -1
    out = invariants.check_memcg_lru(s.k)
    assert out == [f"{s.P.page_cgroup!r} linked on memcg(/G) but page#0 is not PG_lru"]


def test_zone_lru_pg_lru_without_list() -> None:
    s = State()
    del s.k.zone.lru[LRU_INACTIVE_ANON][s.Q]
    assert invariants.check_zone_lru(s.k) == ["page#1 is PG_lru and on 0 zone lists"]


def test_page_refs_count_covers_cache_and_pagevec_refs() -> None:
    s = State()
    s.k.lru_add_pvecs[0][LRU_INACTIVE_ANON].append(s.Q)  # a pagevec ref Q does not have
    assert invariants.check_page_refs(s.k) == [
        "page#1: _count 1 < 2 (mapcount 0 + cache 1 + pagevec 1)"
    ]


def test_pte_mapping_a_freed_page_is_caught() -> None:
    s = State()
    del s.k.pages[0]
    s.k.nr_free_pages += 1
    assert any("maps freed page#0" in v for v in invariants.check_page_refs(s.k))


def test_css_refcnt_of_a_removed_memcg_has_no_base_reference() -> None:
    s = State()
    s.G.cgroup.removed = True
    assert invariants.check_css_refcnt(s.k) == [
        "memcg(/G): css_refcnt 2 != 1 (0 + 1 charged pages)"
    ]
    s.G.css_refcnt = 1
    assert invariants.check_css_refcnt(s.k) == []


def test_removed_memcg_lives_on_for_its_swap_record() -> None:
    s = State()
    s.G.cgroup.removed = True  # rmdir: destroy dropped the creation reference
    del s.k.cgroup_root.children["G"]
    s.G.refcnt -= 1
    assert invariants.check_mem_cgroup_refcnt(s.k) == []  # 1 = the swap record
    assert s.G in invariants.all_memcgs(s.k)  # still reachable through css_ids


def test_orphan_report_lists_the_unreachable_swap_cache_page() -> None:
    s = State()
    assert invariants.orphan_swap_cache_pages(s.k) == [s.Q]
    assert invariants.orphan_report(s.k) == [
        f"orphan swap cache page#1 entry {ENTRY_Q:#x} flags {s.Q.flags:#x} count 1"
    ]
    assert s.T.mm is not None
    s.T.mm.ptes[0x20] = Pte(None, swp=ENTRY_Q)  # a pte still references Q's slot
    assert invariants.orphan_swap_cache_pages(s.k) == []


@pytest.mark.parametrize("hierarchy", [False, True])
def test_real_kernel_paths_keep_every_invariant(version: str, hierarchy: bool) -> None:
    """mkdir, faults, fork + COW, exit and rmdir through the real modules: every drained
    state passes check_all (no swap)."""
    from kernel_helpers import make_kernel, mmap_anon, run, touch

    from swaplab.kernel import cgroup, exit, fork

    k = make_kernel(version)
    assert k.root_mem_cgroup is not None
    k.root_mem_cgroup.use_hierarchy = hierarchy
    assert invariants.check_all(k) == []
    g = cgroup.cgroup_mkdir(k, k.cgroup_root, "G")
    assert isinstance(g, Cgroup) and g.memcg is not None
    parent = fork.create_task(k, g, "p")
    addr = mmap_anon(k, parent, 4)
    touch(k, parent, addr, 4)
    assert g.memcg.res.usage == 4 * PAGE_SIZE
    assert invariants.check_all(k) == []
    child = run(k, fork.do_fork(k, parent), parent)
    assert invariants.check_all(k) == []
    touch(k, child, addr, 2)  # COW: two new pages charged to G
    assert g.memcg.res.usage == 6 * PAGE_SIZE
    assert invariants.check_all(k) == []
    run(k, exit.do_exit(k, child), child)
    assert invariants.check_all(k) == []
    run(k, exit.do_exit(k, parent), parent)
    assert invariants.check_all(k) == []
    assert run(k, cgroup.cgroup_rmdir(k, g)) == 0
    assert invariants.check_all(k) == []
    assert invariants.orphan_swap_cache_pages(k) == []


# --- swap invariants (check_swap_slots, check_swap_record_referenced) ---------------------


def _as_2630(s: State) -> None:
    """The same state in 2.6.30's encoding: the cache's reference is a count (Q's slot 1,
    S's slot 1 for T's pte), the header slot is SWAP_MAP_BAD 0x8000."""
    from swaplab.kernel.config import PRESETS

    s.k.cfg = PRESETS["2.6.30"]
    s.si.swap_map[0] = swapfile.SWAP_MAP_BAD_30
    s.si.swap_map[ENTRY_Q] = 1
    s.si.swap_map[ENTRY_S] = 1


def test_the_correct_state_passes_in_2630_encoding() -> None:
    s = State()
    _as_2630(s)
    assert invariants.check_all(s.k) == []
    s.si.swap_map[ENTRY_Q] = 2  # a reference nobody holds
    assert invariants.check_swap_slots(s.k) == [
        f"slot {ENTRY_Q:#x}: swap_map 0x2 counts 1 references, 0 pte/shmem refs "
        f"(in cache True)"
    ]


def test_swap_slots_has_cache_flag_must_match_the_tree() -> None:
    s = State()
    s.si.swap_map[ENTRY_Q] = 1  # count 1 without HAS_CACHE, page in the tree
    assert invariants.check_swap_slots(s.k) == [
        f"slot {ENTRY_Q:#x}: swap_map 0x1 HAS_CACHE False but in swap cache True",
        f"slot {ENTRY_Q:#x}: swap_map 0x1 counts 1 references, 0 pte/shmem refs "
        f"(in cache True)",
    ]


def test_swap_slots_pte_reference_to_a_free_slot() -> None:
    s = State()
    s.si.swap_map[ENTRY_S] = 0
    s.si.inuse_pages = 1
    s.k.nr_swap_pages += 1
    out = invariants.check_swap_slots(s.k)
    assert out == [f"1 pte/shmem reference(s) to entry {ENTRY_S:#x}, slot value 0",
                   f"slot {ENTRY_S:#x}: swap_map 0x0 counts 0 references, 1 pte/shmem "
                   f"refs (in cache False)"]
    # the record on the now free slot breaks the record check in both versions
    assert invariants.check_swap_record_referenced(s.k) == [
        f"swap record of slot {ENTRY_S:#x} (css id 2) but slot value 0"
    ]


def test_swap_slots_count_shmem_references() -> None:
    from swaplab.kernel.shmem import ShmemInode

    s = State()
    inode = ShmemInode("shm", 4)
    s.k.shm_segments[0] = inode
    inode.i_swap[0] = ENTRY_Q  # the segment's index 0 lives in Q's slot
    assert invariants.check_swap_slots(s.k) == [
        f"slot {ENTRY_Q:#x}: swap_map 0x8000 counts 0 references, 1 pte/shmem refs "
        f"(in cache True)"
    ]
    s.si.swap_map[ENTRY_Q] = swapfile.SWAP_HAS_CACHE | 1
    assert invariants.check_swap_slots(s.k) == []


def test_swap_pages_area_being_swapped_off_is_left_out() -> None:
    """sys_swapoff subtracts the area's pages before try_to_unuse: an area without
    SWP_WRITEOK counts in neither nr_swap_pages nor total_swap_pages."""
    s = State()
    s.k.nr_swap_pages += 1
    assert invariants.check_swap_pages(s.k) == [
        "nr_swap_pages 510 != 509 (pages - inuse_pages of the SWP_WRITEOK areas)"
    ]
    s.k.nr_swap_pages -= 1
    s.si.flags &= ~swapfile.SWP_WRITEOK
    s.k.nr_swap_pages -= s.si.pages - s.si.inuse_pages
    s.k.total_swap_pages -= s.si.pages
    assert invariants.check_swap_pages(s.k) == []


def test_swap_cache_private_and_flag() -> None:
    s = State()
    s.Q.private = ENTRY_S
    assert invariants.check_swap_cache(s.k) == [
        f"page#1 in swap cache at {ENTRY_Q:#x} but private {ENTRY_S:#x}",
        f"page#1 PG_swapcache but not in swapper_space at {ENTRY_S:#x}",
    ]
    s.Q.private = ENTRY_Q
    s.Q.flags &= ~PG_swapcache
    assert invariants.check_swap_cache(s.k) == [
        f"page#1 in swap cache at {ENTRY_Q:#x} without PG_swapcache"
    ]


def test_unreferenced_record_is_a_violation_only_with_the_refcount_patch(
        version: str) -> None:
    """Type-1: a record on a slot only the swap cache holds. [31] (memcg_swap_refcount)
    forbids it; [30] allows it and the report lists it."""
    s = State()
    if version == "2.6.30":
        _as_2630(s)
    assert invariants.unreferenced_swap_records(s.k) == []
    _unreferenced_record(s)
    line = f"swap record of slot {ENTRY_Q:#x} (css id 2) but no pte or shmem reference to it"
    assert invariants.unreferenced_swap_records(s.k) == [line]
    want = [] if version == "2.6.30" else [line]
    assert invariants.check_swap_record_referenced(s.k) == want
    assert invariants.check_all(s.k) == [f"swap_record_referenced: {v}" for v in want]
