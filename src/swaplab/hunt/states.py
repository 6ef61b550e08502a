"""The small initial states `swaplab hunt` explores races from: a catalogue of named,
deterministic builders, each bringing a fresh :class:`~swaplab.System` to one situation of
the swap and memcg code with the ordinary sequential API calls.

Every machine is tiny (2M of RAM, a swap area of 15 slots, 1-2 pages per mapping, 2
tasks; 5 slots and a 4-page mapping for the nearly full area) so that each race stays
small, and readahead happens (page-cluster 2 or 3: a swap-in fault reads the aligned
window of 4 or 8 slots around its entry, mm/swap_state.c: swapin_readahead()). Pages
are swapped out by the kernel's own reclaim code (:meth:`System.shrink_pages`:
add_to_swap(), try_to_unmap(), pageout(), then __remove_mapping() once the write
completed).

The situations: pages resident, swapped out, in the swap cache mapped and unmapped (a
readahead page), shared by fork (a page and a swap entry), threads of one process
(clone(CLONE_VM|CLONE_THREAD)), a task moved away from the group its pages are charged
to, shmem pages (shared /dev/zero) resident and swapped, a group at its limit (flat and
under a use_hierarchy parent), a nearly full swap area, and a page under writeback (the
swap device holds the write: System.hold_writes(); its completion is an operation).

``seed`` picks variations (page-cluster 2 or 3, the order in which pages go to swap, so
which slots are neighbours): the same seed gives the same states; seed 0 is the
canonical set.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from swaplab.kernel.mm_types import PAGE_SIZE
from swaplab.system import Mapping, System, Task

#: The machine every state runs on.
RAM = "2M"
SWAP = "64K"


@dataclass(frozen=True, slots=True)
class Variant:
    """What ``seed`` varies: page-cluster, and whether pages go to swap in the reverse of
    their natural order (so the first task's page gets the higher slot)."""

    page_cluster: int = 2
    reverse: bool = False


@dataclass(slots=True)
class State:
    """A prepared machine: ``maps`` names the mappings (a letter each), ``owners`` the
    tasks that map each one (a forked child maps its parent's at the same address; a
    thread shares its process's), ``groups`` the memory cgroups made (parents first)."""

    name: str
    s: System
    maps: dict[str, Mapping] = field(default_factory=dict)
    owners: dict[str, list[Task]] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    #: whether swapoff is one of the state's operations (where a slot is in use and the
    #: device holds no write: see :func:`swaplab.hunt.ops.kernel_ops`). try_to_unuse()'s
    #: passes after the first are busy retries (mm/swapfile.c in the model), so a race
    #: with swapoff no longer explores every number of passes a waiting swapoff makes
    swapoff: bool = True

    def tasks(self) -> list[Task]:
        """The running tasks, by pid."""
        return [t for t in self.s.all_tasks() if t.state == "running"]

    # -- building -------------------------------------------------------------------------

    def group(self, path: str, limit: int | None = None, hierarchy: bool = False) -> None:
        self.s.mkdir(path)
        if hierarchy:
            self.s.write(f"{path}/memory.use_hierarchy", "1")
        if limit is not None:
            self.s.write(f"{path}/memory.limit_in_bytes", str(limit))
        self.groups.append(path)

    def task(self, path: str) -> Task:
        return self.s.spawn(path)

    def anon(self, task: Task, name: str, pages: int = 1, touch: bool = True,
             shared: bool = False) -> Mapping:
        """A private anonymous (``shared``: shared /dev/zero) mapping ``name`` of ``task``,
        every page written once unless not ``touch``."""
        size = pages * PAGE_SIZE
        m = task.mmap_shared_zero(size) if shared else task.mmap_anon(size)
        if touch:
            task.touch(m)
        self.maps[name] = m
        self.owners[name] = [task]
        return m

    def fork(self, parent: Task) -> Task:
        """fork(): the child maps every mapping its parent does."""
        return self._sharing(parent, parent.fork())

    def thread(self, task: Task) -> Task:
        """clone(CLONE_VM|CLONE_THREAD): the thread shares every mapping of ``task``."""
        return self._sharing(task, task.clone_thread())

    def _sharing(self, task: Task, new: Task) -> Task:
        """``new`` maps what ``task`` maps."""
        for owners in self.owners.values():
            if task in owners:
                owners.append(new)
        return new

    def page(self, name: str, index: int) -> Mapping:
        """Page ``index`` of mapping ``name`` as a one-page mapping."""
        m = self.maps[name]
        return Mapping(m.addr + index * PAGE_SIZE, PAGE_SIZE, m.kind, m.locked, m.shmid)

    def swap_out(self, *pages: tuple[str, int], reverse: bool = False) -> None:
        """Reclaim the given pages (mapping name, index) together: they get consecutive
        slots in the order given (reversed with ``reverse``), and are freed by a second
        pass once written."""
        order = list(reversed(pages)) if reverse else list(pages)
        chosen = []
        for name, index in order:
            chosen += self.s.pages(self.owners[name][0], self.page(name, index))
        for _ in range(2):
            self.s.shrink_pages(chosen)


Builder = Callable[[State, Variant], None]


def _swapped_neighbours(st: State, v: Variant) -> None:
    """Two tasks of /A with one page each, swapped out to adjacent slots: a swap-in fault
    of one reads the other's slot ahead (the cover letter's Type-1 set-up)."""
    st.group("/A")
    a, b = st.task("/A"), st.task("/A")
    st.anon(a, "A")
    st.anon(b, "B")
    st.swap_out(("A", 0), ("B", 0), reverse=v.reverse)


def _resident(st: State, v: Variant) -> None:
    """Two tasks of /A with one resident page each (reclaim may take them: Type-2)."""
    st.group("/A")
    a, b = st.task("/A"), st.task("/A")
    st.anon(a, "A")
    st.anon(b, "B")


def _forked_resident(st: State, v: Variant) -> None:
    """A task of /A and its forked child share a resident page copy-on-write."""
    st.group("/A")
    a = st.task("/A")
    st.anon(a, "A")
    st.fork(a)


def _forked_swapped(st: State, v: Variant) -> None:
    """A task's page swapped out, then the task forks: parent and child share the swap
    entry (its count is 2)."""
    st.group("/A")
    a = st.task("/A")
    st.anon(a, "A")
    st.swap_out(("A", 0))
    st.fork(a)


def _swapcache(st: State, v: Variant) -> None:
    """Two tasks' pages swapped out next to each other; the first faults its page back
    (read): it is in the swap cache and mapped (its slot still held), and the second's
    page was read ahead: in the swap cache, not mapped, not charged."""
    _swapped_neighbours(st, v)
    a = st.owners["A"][0]
    a.touch(st.page("A", 0), write=False)


def _threads(st: State, v: Variant) -> None:
    """A process of /A with a second thread; of its two pages one is swapped out."""
    st.group("/A")
    a = st.task("/A")
    st.anon(a, "A", pages=2)
    st.swap_out(("A", 0))
    st.thread(a)


def _moved(st: State, v: Variant) -> None:
    """A task charged in /A (one page resident, one swapped out) moved to /B: its charges
    stay in /A (no charge moving in these kernels), its new ones go to /B."""
    st.group("/A")
    st.group("/B")
    a = st.task("/A")
    st.anon(a, "A")
    st.anon(a, "B")
    st.swap_out(("B", 0))
    a.move_to("/B")


def _hierarchy(st: State, v: Variant) -> None:
    """/P with use_hierarchy and its child /P/C; a task of /P/C with a resident and a
    swapped-out page and a mapping not faulted yet; /P's limit is its usage, so the next
    charge in /P/C reclaims from the hierarchy (mm/memcontrol.c:
    mem_cgroup_hierarchical_reclaim())."""
    st.group("/P", hierarchy=True)
    st.group("/P/C")
    a = st.task("/P/C")
    st.anon(a, "A", pages=2)
    st.swap_out(("A", 1))
    st.anon(a, "N", touch=False)
    usage = int(st.s.read("/P/memory.usage_in_bytes"))
    st.s.write("/P/memory.limit_in_bytes", str(usage))


def _shmem(st: State, v: Variant) -> None:
    """A task of /A maps shared /dev/zero (shmem): one page resident, one swapped out
    (mm/shmem.c: shmem_writepage()); it forks, so both map the object."""
    st.group("/A")
    a = st.task("/A")
    st.anon(a, "S", pages=2, shared=True)
    st.swap_out(("S", 1))
    st.fork(a)


def _limit(st: State, v: Variant) -> None:
    """/A a page below its limit: a task with two resident pages and another with a
    mapping not faulted yet, whose first touch fills /A; a limit write of the usage that
    gets in first makes that touch reclaim in /A (mm/memcontrol.c:
    __mem_cgroup_try_charge() -> try_to_free_mem_cgroup_pages()). (With /A full before
    the race, one run of that touch against task 1's exit exceeds the explorer's step
    limit: such states are left out until that is understood.)"""
    st.group("/A", limit=3 * PAGE_SIZE)
    a, b = st.task("/A"), st.task("/A")
    st.anon(a, "A", pages=2)
    st.anon(b, "N", touch=False)


def _swap_full(st: State, v: Variant) -> None:
    """A swap area more than half full (mm/swapfile.c: vm_swap_full()): a task's four
    pages swapped out, the first faulted back (its slot freed at once on 2.6.31, as
    do_swap_page() does when swap is full; its neighbours read ahead into the swap cache),
    and another task's resident page that reclaim would put in one of the last slots."""
    st.group("/A")
    a, b = st.task("/A"), st.task("/A")
    st.anon(a, "A", pages=4)
    st.anon(b, "B")
    st.swap_out(*[("A", i) for i in range(4)], reverse=v.reverse)
    a.touch(st.page("A", 0), write=False)


def _writeback(st: State, v: Variant) -> None:
    """Two tasks of /A with one page each; reclaim wrote the first one's out and the
    swap device has not completed the write (System.hold_writes()): the page is in the
    swap cache, unmapped (a swap pte), clean and under writeback, its slot written. The
    I/O completion (end_swap_bio_write()) is an operation of the kernel's; until it runs,
    reclaim keeps the page (mm/vmscan.c: shrink_page_list())."""
    st.group("/A")
    a, b = st.task("/A"), st.task("/A")
    st.anon(a, "A")
    st.anon(b, "B")
    st.s.hold_writes()
    st.s.shrink_pages(st.s.pages(a, st.page("A", 0)))
    st.s.hold_writes(False)


#: The catalogue, in order: name -> builder.
CATALOGUE: dict[str, Builder] = {
    "s01-swapped-neighbours": _swapped_neighbours,
    "s02-resident": _resident,
    "s03-forked-resident": _forked_resident,
    "s04-forked-swapped": _forked_swapped,
    "s05-swapcache": _swapcache,
    "s06-threads": _threads,
    "s07-moved": _moved,
    "s08-hierarchy": _hierarchy,
    "s09-shmem": _shmem,
    "s10-limit": _limit,
    "s11-swap-full": _swap_full,
    "s12-writeback": _writeback,
}


#: States on a smaller swap area than :data:`SWAP` (5 slots: with 3 in use,
#: mm/swapfile.c: vm_swap_full() holds).
SWAP_OF = {"s11-swap-full": "24K"}


def variants(seed: int) -> dict[str, Variant]:
    """The variation of each state for ``seed`` (seed 0: the canonical one)."""
    if seed == 0:
        return {name: Variant() for name in CATALOGUE}
    rng = random.Random(seed)
    return {name: Variant(rng.choice((2, 3)), rng.random() < 0.5) for name in CATALOGUE}


def build_state(name: str, kernel: str, patches: str | None = None,
                fixes: tuple[str, ...] = (), seed: int = 0) -> State:
    """State ``name`` of the catalogue, prepared on a fresh machine."""
    if name not in CATALOGUE:
        raise ValueError(f"unknown state {name!r} (choose from {', '.join(CATALOGUE)})")
    v = variants(seed)[name]
    swap = SWAP_OF.get(name, SWAP)
    s = System(kernel=kernel, ram=RAM, swap=swap, page_cluster=v.page_cluster,
               patches=patches, fixes=",".join(fixes) or None)
    st = State(name, s)
    CATALOGUE[name](st, v)
    return st


def states(kernel: str, patches: str | None = None, fixes: tuple[str, ...] = (),
           seed: int = 0) -> list[State]:
    """Every state of the catalogue, in order."""
    return [build_state(name, kernel, patches, fixes, seed) for name in CATALOGUE]


__all__ = ["CATALOGUE", "State", "Variant", "build_state", "states", "variants"]
