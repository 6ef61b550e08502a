"""include/linux/mm_types.h, sched.h: struct page, mm_struct, vm_area_struct,
ptes and task_struct, reduced to the fields that swap and memcg accounting read.

Abstractions: one node and one zone; addresses are byte addresses, ptes live in a dict keyed
by virtual page number (no page-table pages); a pte is either present (a :class:`Pte` with a
page) or a swap pte (a :class:`Pte` with a swap entry value); no file-backed private
mappings, no huge pages, no KSM. The page lock PG_locked is an engine :class:`Lock`, since
it is what threads sleep on; every other page flag is a bit in ``page.flags``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from swaplab.kernel.page_flags import PG_swapbacked, page_check_live
from swaplab.kernel.sync import Lock, RwSemaphore, plain_read, plain_write

if TYPE_CHECKING:
    from swaplab.kernel.cgroup import Cgroup
    from swaplab.kernel.page_cgroup import PageCgroup

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT


def PAGE_ALIGN(value: int) -> int:
    """include/linux/mm.h: PAGE_ALIGN(): round up to a page (unbounded; res_counter.py has
    the u64 variant that wraps as C does)."""
    return (value + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)



# LRU list indices (include/linux/mmzone.h).
LRU_INACTIVE_ANON = 0
LRU_ACTIVE_ANON = 1
LRU_INACTIVE_FILE = 2
LRU_ACTIVE_FILE = 3
LRU_UNEVICTABLE = 4
NR_LRU_LISTS = 5
#: include/linux/mmzone.h: the offsets that make up an LRU list index
LRU_BASE = 0
LRU_ACTIVE = 1
LRU_FILE = 2
LRU_NAMES = ("inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable")

# vm_area_struct->vm_flags.
VM_READ = 0x1
VM_WRITE = 0x2
VM_SHARED = 0x8
VM_LOCKED = 0x2000


class AddressSpace:
    """struct address_space: a page cache (``page_tree`` keyed by index, or by swap entry
    value for swapper_space). ``swap_backed`` marks shmem/tmpfs mappings (and swapper_space).
    """

    __slots__ = ("host", "i_mmap", "name", "nrpages", "page_tree", "swap_backed", "tree_lock")

    def __init__(self, name: str, swap_backed: bool = False, host: object = None) -> None:
        self.name = name
        self.page_tree: dict[int, Page] = {}
        self.tree_lock = Lock(f"{name}.tree_lock")
        #: the shared vmas mapping this file (the i_mmap prio tree), kept by mmap.py for rmap
        self.i_mmap: list[VmAreaStruct] = []
        self.nrpages = 0
        self.swap_backed = swap_backed
        self.host = host

    def __repr__(self) -> str:
        return f"AddressSpace({self.name!r}, nrpages={self.nrpages})"


class AnonVma:
    """struct anon_vma: the vmas (of parent and forked children) that may map a page."""

    __slots__ = ("head", "lock")

    def __init__(self) -> None:
        self.head: list[VmAreaStruct] = []
        self.lock = Lock("anon_vma->lock")


class Page:
    """struct page. ``_count`` is page_count(); ``_mapcount`` starts at -1 as in C.

    ``mapping`` is an :class:`AnonVma` for anon pages (PageAnon), the owning
    :class:`AddressSpace` for page cache (shmem, file), or None. ``private`` holds the swap
    entry value while PG_swapcache is set. ``page_cgroup`` is the page's struct page_cgroup
    (lookup_page_cgroup()). ``lru`` is the LRU index while PG_lru (-1 otherwise).
    ``data`` is the page's contents as a stamp (kernel/user_access.py): 0 for zeroes, else
    the number of the user store that wrote them.
    """

    __slots__ = (
        "_count",
        "_mapcount",
        "data",
        "flags",
        "index",
        "lock",
        "lru",
        "mapping",
        "page_cgroup",
        "pfn",
        "private",
    )

    @property
    def stable_key(self) -> int:
        """The page's name for the explorer's sleep sets (the same in every run)."""
        return self.pfn

    def __init__(self, pfn: int, page_cgroup: PageCgroup) -> None:
        self.pfn = pfn
        self.flags = 0
        self._count = 1
        self._mapcount = -1
        self.mapping: AnonVma | AddressSpace | None = None
        self.index = 0
        self.private = 0
        self.lock = Lock(f"page{pfn}.PG_locked", self)
        self.page_cgroup = page_cgroup
        self.lru = -1
        self.data = 0

    def __repr__(self) -> str:
        return f"page#{self.pfn}"


def PageAnon(page: Page) -> bool:
    """include/linux/mm.h: PageAnon(): mapping is an anon_vma (PAGE_MAPPING_ANON)."""
    return isinstance(page.mapping, AnonVma)


def page_mapcount(page: Page) -> int:
    """include/linux/mm.h: page_mapcount(): an atomic_read() of _mapcount, a plain read of
    the page to the explorer (its writers, page_add/remove_rmap, trap on the page)."""
    plain_read(page)
    return page._mapcount + 1


def page_mapped(page: Page) -> bool:
    """include/linux/mm.h: page_mapped(): an atomic_read() of _mapcount (see
    page_mapcount())."""
    plain_read(page)
    return page._mapcount >= 0


def page_count(page: Page) -> int:
    """include/linux/mm.h: page_count(): an atomic_read() of _count."""
    plain_read(page)
    return page._count


def get_page(page: Page) -> None:
    """include/linux/mm.h: get_page(): an atomic increment (recorded as a plain write of
    the page: others test the count without a lock)."""
    page_check_live(page, "get_page()")
    plain_write(page)
    page._count += 1


def get_page_unless_zero(page: Page) -> bool:
    """include/linux/mm.h: get_page_unless_zero(): atomic_inc_not_zero() of _count, an
    atomic access of the page whether or not it succeeds."""
    plain_write(page)
    if page._count == 0:
        return False
    page._count += 1
    return True


def page_is_file_cache(page: Page) -> bool:
    """include/linux/mm_inline.h: page_is_file_cache(): not swap-backed."""
    return not page.flags & PG_swapbacked


class Pte:
    """A pte: present (``page`` set) or a swap pte (``swp`` = swap entry value, page None)."""

    __slots__ = ("dirty", "page", "swp", "write", "young")

    def __init__(self, page: Page | None = None, swp: int = 0, write: bool = False) -> None:
        self.page = page
        self.swp = swp
        self.write = write
        self.dirty = False
        self.young = page is not None

    def present(self) -> bool:
        return self.page is not None


@dataclass(slots=True, eq=False)
class VmAreaStruct:
    """struct vm_area_struct: [vm_start, vm_end) with flags; ``vm_file`` is the shmem
    address space of a shared mapping (shared /dev/zero, SysV shm), None for private anon.
    """

    vm_mm: MmStruct
    vm_start: int
    vm_end: int
    vm_flags: int
    vm_pgoff: int = 0
    anon_vma: AnonVma | None = None
    vm_file: AddressSpace | None = None

    def pages(self) -> range:
        return range(self.vm_start >> PAGE_SHIFT, self.vm_end >> PAGE_SHIFT)

    def linear_page_index(self, address: int) -> int:
        return ((address - self.vm_start) >> PAGE_SHIFT) + self.vm_pgoff

    def address_of(self, index: int) -> int:
        """mm/rmap.c: vma_address(): where ``index`` is mapped in this vma."""
        return self.vm_start + ((index - self.vm_pgoff) << PAGE_SHIFT)


@dataclass(slots=True, eq=False)
class MmStruct:
    """struct mm_struct: vmas, the page table (vpn -> Pte), the rss counters, and
    mmap_sem, held for read by faults and madvise(MADV_DONTNEED), for write by
    mmap/munmap/mlock/fork's dup_mmap; exit_mmap takes none (no thread is left)."""

    owner: TaskStruct | None = None
    mmap: list[VmAreaStruct] = field(default_factory=list)
    ptes: dict[int, Pte] = field(default_factory=dict)
    page_table_lock: Lock = field(default_factory=lambda: Lock("page_table_lock"))
    mmap_sem: RwSemaphore = field(default_factory=lambda: RwSemaphore("mmap_sem"))
    anon_rss: int = 0
    file_rss: int = 0
    total_vm: int = 0
    locked_vm: int = 0
    mm_users: int = 1
    #: on init_mm's mmlist (try_to_unuse walks it); set once a pte holds a swap entry
    on_mmlist: bool = False
    #: not a kernel field: what the program last stored in each page (vpn -> stamp) of
    #: its private anonymous mappings, the data-integrity property's expectation
    #: (kernel/user_access.py); absent means zeroes. A zapped pte drops its page's entry
    #: (the next touch faults in zeroes); fork's dup_mmap copies the map.
    user_data: dict[int, int] = field(default_factory=dict)
    free_area_cache: int = 0x40000000
    #: not a kernel field: the pid :attr:`stable_key` gave (the first owner's)
    first_owner_pid: int | None = None

    def __post_init__(self) -> None:
        for lock in (self.page_table_lock, self.mmap_sem.busy, self.mmap_sem.wlock):
            lock.owner = self

    @property
    def stable_key(self) -> int | None:
        """The explorer's name of this mm in every run (ops.stable_name): its first
        owner's pid, kept when mm_update_next_owner() hands the mm on or clears the owner
        (a name must not change while the run goes on)."""
        if self.first_owner_pid is None and self.owner is not None:
            self.first_owner_pid = self.owner.pid
        return self.first_owner_pid

    def find_vma(self, address: int) -> VmAreaStruct | None:
        for vma in self.mmap:
            if vma.vm_start <= address < vma.vm_end:
                return vma
        return None


TASK_RUNNING = "running"
TASK_EXITED = "exited"
TASK_KILLED = "killed"


class TaskStruct:
    """struct task_struct: pid, mm, its cgroup, and the OOM killer's marks.

    ``memdie`` is TIF_MEMDIE (chosen by an OOM killer: charges bypass memcg);
    ``sigkill`` a pending SIGKILL, acted on when the task next returns to user space;
    ``alloc_lock`` is task_lock().

    A plain class, not a dataclass: a dataclass's field annotations are evaluated when
    compiled with mypyc, and ``Cgroup`` (cgroup.py imports this module) does not exist yet
    then (benchmarks/compiled.py).
    """

    __slots__ = (
        "alloc_lock",
        "cgroup",
        "children",
        "comm",
        "exiting",
        "memdie",
        "mm",
        "oom_adj",
        "parent",
        "pid",
        "sigkill",
        "state",
    )

    def __init__(self, pid: int, comm: str, mm: MmStruct | None, cgroup: Cgroup,
                 parent: TaskStruct | None = None, oom_adj: int = 0) -> None:
        self.pid = pid
        self.comm = comm
        self.mm = mm
        self.cgroup = cgroup
        self.parent = parent
        self.children: list[TaskStruct] = []
        self.state = TASK_RUNNING
        self.memdie = False
        self.sigkill = False
        self.exiting = False
        self.oom_adj = oom_adj
        #: task_lock(): the lock around ->mm
        self.alloc_lock = Lock("task->alloc_lock", self)

    @property
    def stable_key(self) -> int:
        """The explorer's name of this task in every run (ops.stable_name): its pid."""
        return self.pid

    def __repr__(self) -> str:
        return f"task {self.pid} ({self.comm})"

