"""The operations of a prepared state (:mod:`swaplab.hunt.states`) that `swaplab hunt`
races, each with the objects it touches (pages, swap slots, mms, memcgs and cgroups,
shmem indices), computed from the state.

Names: a task's operation names its pid (``exit 2``, ``touch 3 A:0``: a read fault of page
0 of mapping A in task 3), a group's its path (``force_empty /A``), a kernel actor what it
works on (``kswapd A:0``). Objects: ``page A:0`` (the page first reached as page 0 of
mapping A; a copy-on-write copy that a later task maps there is ``page A:0/3``; a
swap-cache page no pte reaches is ``page @5``, by its slot), ``slot 5`` (offset in the
one swap area), ``mm 2`` (the mm of task 2 and its threads), ``memcg /A`` (its counters
and LRU, declared by an operation that charges /A at its limit or reclaims or empties
it), ``cgroup /A`` (its task list) and ``shmem S:1`` (index 1 of the shmem object mapping
S maps).

The catalogue (every operation is valid in its state: tasks running, mappings present;
a call the kernel refuses raises OSError in a run, an outcome, not a bug):

* per task: ``exit`` (kernel/exit.c: do_exit() -> exit_mm() -> mmput() -> exit_mmap():
  zap_pte_range() uncharges, free_swap_and_cache()), ``touch`` (mm/memory.c:
  handle_mm_fault(): do_anonymous_page(), do_swap_page() with
  mm/swap_state.c: swapin_readahead(), mm/shmem.c: shmem_fault()), ``write`` for a page
  shared by fork or in the swap cache (do_wp_page() copy-on-write, reuse_swap_page()),
  ``munmap`` (mm/mmap.c: do_munmap() -> unmap_region()), ``madvise`` (mm/madvise.c:
  madvise_dontneed() -> zap_page_range()), ``fork`` (kernel/fork.c: do_fork() ->
  dup_mmap() -> copy_page_range()), ``mlock`` (mm/mlock.c: sys_mlock() ->
  __mlock_vma_pages_range()), ``move`` (kernel/cgroup.c: attach_task_by_pid() ->
  cgroup_attach_task());
* per memcg: ``force_empty`` (mm/memcontrol.c: mem_cgroup_force_empty()), ``rmdir``
  (kernel/cgroup.c: cgroup_rmdir() -> mem_cgroup_pre_destroy()), ``limit``
  (mem_cgroup_resize_limit() to the usage of a group near its limit), ``reclaim``
  (mm/vmscan.c: try_to_free_mem_cgroup_pages(), the limit reclaim a charge runs);
* kernel actors: ``kswapd`` over one page (:meth:`System.shrink_pages`: shrink_page_list()
  -> add_to_swap() -> try_to_unmap() -> pageout(); its write completion is a thread of its
  own, so the page is under writeback while the other operation runs; add_to_swap() of a
  resident page takes the next free slot, the slot reuse of mm/swapfile.c:
  scan_swap_map()), ``swapoff`` (mm/swapfile.c: sys_swapoff() -> try_to_unuse(); in
  every state with a slot in use whose device holds no write, see :attr:`State.swapoff`),
  ``reclaim_cache_only`` (where the kernel has it: 2.6.31's __try_to_reclaim_swap() on
  cache-only slots, RFC 5/5's GC work; :meth:`System.reclaim_cache_only`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from swaplab.hunt.states import State
from swaplab.kernel import swapfile
from swaplab.kernel.mm_types import PAGE_SIZE, MmStruct, Page, Pte
from swaplab.kernel.page_cgroup import PCG_USED
from swaplab.kernel.page_flags import PageSwapCache, PageUnevictable
from swaplab.kernel.res_counter import RESOURCE_MAX
from swaplab.kernel.shmem import ShmemInode
from swaplab.system import Task


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: ``run`` makes the call on the state's System; ``pid`` is the task
    that runs it (None for a kernel actor or a write to a control file)."""

    name: str
    objects: tuple[str, ...]
    run: Callable[[], object]
    pid: int | None = None


class Names:
    """The objects of a state, named (see the module docstring); built once per state."""

    def __init__(self, st: State) -> None:
        self.st = st
        self.k = st.s.k
        self.pages: dict[Page, str] = {}
        for t in st.tasks():
            for name in st.maps:
                if t in st.owners[name]:
                    for i in range(st.maps[name].pages):
                        self._name_page(self.resolve(t, name, i), f"page {name}:{i}",
                                        t.pid)
        for entry, page in self.k.swapper_space.page_tree.items():
            self.pages.setdefault(page, f"page @{swapfile.swp_offset(entry)}")

    def _name_page(self, found: tuple[Page | None, int], name: str, pid: int) -> None:
        page = found[0]
        if page is None or page in self.pages:
            return
        taken = name in self.pages.values()
        self.pages[page] = f"{name}/{pid}" if taken else name

    # -- what a task reaches at a page of a mapping ----------------------------------------

    def pte(self, t: Task, name: str, index: int) -> Pte | None:
        mm = t.task.mm
        if mm is None:
            return None
        return mm.ptes.get((self.st.maps[name].addr + index * PAGE_SIZE) // PAGE_SIZE)

    def shmem(self, t: Task, name: str) -> ShmemInode | None:
        mm = t.task.mm
        m = self.st.maps[name]
        if mm is None or m.kind == "anon":
            return None
        for vma in mm.mmap:
            if vma.vm_start <= m.addr < vma.vm_end and vma.vm_file is not None:
                host = vma.vm_file.host
                return host if isinstance(host, ShmemInode) else None
        return None

    def resolve(self, t: Task, name: str, index: int) -> tuple[Page | None, int]:
        """The page ``t`` reaches at page ``index`` of mapping ``name`` (mapped, in the
        swap cache for its swap pte, or in its shmem object's cache), and the swap entry
        (0 if none)."""
        pte = self.pte(t, name, index)
        inode = self.shmem(t, name)
        cache = self.k.swapper_space.page_tree
        if pte is not None and pte.page is not None:
            return pte.page, pte.page.private if PageSwapCache(pte.page) else 0
        if pte is not None and pte.swp:
            return cache.get(pte.swp), pte.swp
        if inode is not None:
            entry = inode.i_swap.get(index, 0)
            return inode.mapping.page_tree.get(index) or cache.get(entry), entry
        return None, 0

    # -- object names ------------------------------------------------------------------------

    def slot(self, entry: int) -> str:
        return f"slot {swapfile.swp_offset(entry)}"

    def mm(self, mm: MmStruct) -> str:
        return f"mm {min(t.pid for t in self.st.tasks() if t.task.mm is mm)}"

    def page_objects(self, t: Task, name: str, index: int, readahead: bool = False
                     ) -> list[str]:
        """What touching page ``index`` of ``name`` in ``t`` reaches: the page, its slot,
        the shmem index, and for a swap-in with ``readahead`` the slots of the aligned
        window (mm/swapfile.c: valid_swaphandles()) and their swap-cache pages."""
        out: list[str] = []
        page, entry = self.resolve(t, name, index)
        if self.shmem(t, name) is not None:
            out.append(f"shmem {name}:{index}")
        if page is not None:
            out.append(self.pages[page])
        if entry:
            out.append(self.slot(entry))
            if page is None and readahead:
                out += self.window(entry)
        return out

    def window(self, entry: int) -> list[str]:
        cluster = self.k.page_cluster
        si = self.k.swap_info[swapfile.swp_type(entry)]
        base = (swapfile.swp_offset(entry) >> cluster) << cluster
        out: list[str] = []
        for off in range(max(base, 1), min(base + (1 << cluster), si.max)):
            out.append(f"slot {off}")
            page = self.k.swapper_space.page_tree.get(swapfile.swp_entry(si.type, off))
            if page is not None:
                out.append(self.pages[page])
        return out

    def charged(self, path: str, subtree: bool = False) -> list[str]:
        """The pages charged to group ``path`` (and its descendants with ``subtree``)."""
        def inside(page: Page) -> bool:
            mem = page.page_cgroup.mem_cgroup
            if not page.page_cgroup.flags & PCG_USED or mem is None:
                return False
            p = mem.cgroup.path or "/"
            return p == path or (subtree and p.startswith(path.rstrip("/") + "/"))
        return [name for page, name in self.pages.items() if inside(page)]

    def limited(self, path: str) -> bool:
        """Whether group ``path`` has a limit set (below RESOURCE_MAX)."""
        return int(self.st.s.read(f"{path}/memory.limit_in_bytes")) < RESOURCE_MAX

    def at_limit(self, path: str) -> list[str]:
        """``memcg G`` for ``path`` and each ancestor whose usage is at most a page below
        its limit: a charge there fills it or reclaims (mm/memcontrol.c:
        __mem_cgroup_try_charge())."""
        s = self.st.s
        out = []
        while path not in ("", "/"):
            usage = int(s.read(f"{path}/memory.usage_in_bytes"))
            limit = int(s.read(f"{path}/memory.limit_in_bytes"))
            if limit - usage <= PAGE_SIZE:
                out.append(f"memcg {path}")
            path = path.rpartition("/")[0]
        return out


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _mapping_objects(n: Names, t: Task, name: str, readahead: bool = False) -> list[str]:
    out: list[str] = []
    for i in range(n.st.maps[name].pages):
        out += n.page_objects(t, name, i, readahead)
    return out


def _owned(st: State, t: Task) -> list[str]:
    return [name for name in st.maps if t in st.owners[name]]


def _last_user(st: State, t: Task) -> bool:
    """No other task shares ``t``'s mm (else exit does not tear it down, and madvise
    can race a fault of another thread: both hold mmap_sem for read)."""
    return not any(o.task.mm is t.task.mm for o in st.tasks() if o is not t)


def _resident(n: Names, t: Task, name: str) -> bool:
    """Every page of mapping ``name`` is mapped in ``t`` (mlock of a page still to be
    faulted is a touch first: those faults are the touch operations' part)."""
    return all((pte := n.pte(t, name, i)) is not None and pte.page is not None
               for i in range(n.st.maps[name].pages))


def _last_in_group(st: State, t: Task) -> bool:
    """``t`` is its group's only task: once it leaves, rmdir and force_empty go on."""
    return st.s.tasks(t.cgroup) == [t.pid]


def task_ops(st: State, n: Names, t: Task) -> Iterator[Op]:
    """The operations task ``t`` can make (see the module docstring)."""
    assert t.task.mm is not None
    mm = n.mm(t.task.mm)
    pid = t.pid
    mine = _owned(st, t)
    everything = [o for name in mine for o in _mapping_objects(n, t, name)]
    gone = everything if _last_user(st, t) else []
    leaving = [f"cgroup {t.cgroup}"] if _last_in_group(st, t) else []
    yield Op(f"exit {pid}", _unique([mm, *leaving, *gone]), t.exit, pid)
    for name in mine:
        yield from _page_ops(st, n, t, name)
        objs = _mapping_objects(n, t, name)
        m = st.maps[name]
        if objs:
            yield Op(f"munmap {pid} {name}", _unique([mm, *objs]),
                     partial(t.munmap, m), pid)
        if objs and not _last_user(st, t):
            yield Op(f"madvise {pid} {name}", _unique([mm, *objs]),
                     partial(t.madvise, m), pid)
        if _resident(n, t, name):
            yield Op(f"mlock {pid} {name}", _unique([mm, *objs]),
                     partial(t.mlock, m), pid)
    yield Op(f"fork {pid}", _unique([mm, *everything]), t.fork, pid)
    target = next(g for g in [*st.groups, "/"] if g != t.cgroup)
    joining = [f"cgroup {target}"] if target != "/" else []  # the root never goes
    yield Op(f"move {pid} {target}", _unique([mm, *leaving, *joining]),
             partial(t.move_to, target), pid)


def _page_ops(st: State, n: Names, t: Task, name: str) -> Iterator[Op]:
    """``touch`` of each page ``t`` does not map (a fault: new page, swap-in with
    readahead, shmem), ``write`` of each page shared with another mm or in the swap
    cache (copy-on-write, reuse_swap_page())."""
    assert t.task.mm is not None
    mm = n.mm(t.task.mm)
    for i in range(st.maps[name].pages):
        pte = n.pte(t, name, i)
        page, entry = n.resolve(t, name, i)
        one = st.page(name, i)
        charge = n.at_limit(t.cgroup)
        if pte is None or pte.page is None:
            objs = n.page_objects(t, name, i, readahead=True)
            yield Op(f"touch {t.pid} {name}:{i}", _unique([mm, *objs, *charge]),
                     partial(t.touch, one, write=False), t.pid)
        shared = page is not None and (page._mapcount > 0 or entry != 0)
        if st.maps[name].kind == "anon" and (shared or _shared_swap(n, entry)):
            yield Op(f"write {t.pid} {name}:{i}",
                     _unique([mm, *n.page_objects(t, name, i, True), *charge]),
                     partial(t.touch, one, write=True), t.pid)


def _shared_swap(n: Names, entry: int) -> bool:
    if not entry:
        return False
    si = n.k.swap_info[swapfile.swp_type(entry)]
    return swapfile.swap_map_count(n.k, si.swap_map[swapfile.swp_offset(entry)]) > 1


def group_ops(st: State, n: Names, path: str) -> Iterator[Op]:
    """force_empty and rmdir (a group without children; with tasks both answer EBUSY
    until the last one leaves, so they touch its task list only), a limit write of the
    usage of a group at or a page below its limit (it reclaims only when a racing charge
    got in first), and limit reclaim (a group with pages and a limit, or with pages and no task:
    elsewhere kswapd's operations reclaim the same pages)."""
    s = st.s
    memcg = f"memcg {path}"
    emptied = [f"cgroup {path}"]
    if not s.tasks(path):
        emptied += [memcg, *n.charged(path)]
    yield Op(f"force_empty {path}", _unique(emptied),
             partial(s.write, f"{path}/memory.force_empty", "0"))
    if not any(g.startswith(path + "/") for g in st.groups):
        yield Op(f"rmdir {path}", _unique(emptied), partial(s.rmdir, path))
    usage = int(s.read(f"{path}/memory.usage_in_bytes"))
    tree = n.charged(path, subtree=True)
    if usage and memcg in n.at_limit(path):
        yield Op(f"limit {path}", (memcg,),
                 partial(s.write, f"{path}/memory.limit_in_bytes", str(usage)))
    if usage and (n.limited(path) or not s.tasks(path)):
        yield Op(f"reclaim {path}", _unique([memcg, *tree]), partial(s.reclaim, path))


def kernel_ops(st: State, n: Names) -> Iterator[Op]:
    """kswapd over each evictable page (on an LRU list, or in a pagevec on its way
    there: shrink_pages() drains them first), swapoff, the swap device's completion of the
    writes it holds, and the cache-only reclaim."""
    s = st.s
    k = n.k
    fresh = _first_free_slot(n)
    for page, name in n.pages.items():
        if PageUnevictable(page):
            continue  # on no list kswapd scans
        objs = [name]
        objs.append(n.slot(page.private) if PageSwapCache(page) else fresh)
        yield Op(f"kswapd {name.removeprefix('page ')}", _unique(objs),
                 partial(s.shrink_pages, [page]))
    used = _used_slots(n)
    if used and st.swapoff and not k.held_writes:
        # try_to_unuse() waits for the writeback of every page it finds: with the device
        # holding a write only its completion (an operation of its own) ends that wait
        cached = [name for page, name in n.pages.items() if PageSwapCache(page)]
        yield Op("swapoff", _unique([*used, *cached, *_shmem_swapped(st, n)]),
                 partial(s.swapoff, 0))
    if k.held_writes:  # the swap device's completion of the writes it holds
        held = [n.pages[page] for page in k.held_writes]
        yield Op("end_swap_bio_write", _unique([*held, *(n.slot(p.private)
                                                          for p in k.held_writes)]),
                 s.complete_writes)
    if (k.cfg.reuse_cache_only or k.cfg.cache_only_gc) and k.swapper_space.page_tree:
        cached_slots = [n.slot(e) for e in k.swapper_space.page_tree]
        cached = [n.pages[p] for p in k.swapper_space.page_tree.values()]
        yield Op("reclaim_cache_only", _unique([*cached, *cached_slots]),
                 s.reclaim_cache_only)


def _first_free_slot(n: Names) -> str:
    si = n.k.swap_info[0]
    return f"slot {next((o for o in range(1, si.max) if not si.swap_map[o]), si.max)}"


def _used_slots(n: Names) -> list[str]:
    si = n.k.swap_info[0]
    return [f"slot {o}" for o in range(1, si.max) if si.swap_map[o]]


def _shmem_swapped(st: State, n: Names) -> list[str]:
    out = []
    for name in st.maps:
        for t in st.owners[name]:
            inode = n.shmem(t, name) if t.state == "running" else None
            if inode is not None:
                out += [f"shmem {name}:{i}" for i in sorted(inode.i_swap)]
                break
    return out


def ops(st: State) -> list[Op]:
    """Every operation of the prepared state ``st``, in a fixed order: the tasks' (by
    pid), the groups', the kernel's."""
    n = Names(st)
    out: list[Op] = []
    for t in st.tasks():
        out += task_ops(st, n, t)
    for path in st.groups:
        out += group_ops(st, n, path)
    out += kernel_ops(st, n)
    return out


__all__ = ["Names", "Op", "ops"]

