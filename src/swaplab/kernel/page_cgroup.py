"""mm/page_cgroup.c and include/linux/page_cgroup.h (2.6.30, 2.6.31): struct page_cgroup, one
per page, and swap_cgroup, one record (a memcg css id) per swap slot.

Abstractions: lookup_page_cgroup() is a field of struct page; the PCG_LOCK bit spinlock is
an engine lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel.sync import Lock, plain_read, spin_lock_uncontended, spin_unlock

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.memcontrol import MemCgroup
    from swaplab.kernel.mm_types import Page

# pc->flags bits. PCG_LOCK is pc.lock.
PCG_CACHE = 1 << 1
PCG_USED = 1 << 2


class PageCgroup:
    """struct page_cgroup: flags, owner memcg, and the memcg LRU the pc is linked on.

    ``mem_cgroup`` is not cleared at uncharge (the LRU unlink still needs it). ``lru`` is the
    index of the memcg LRU list the pc is linked on, -1 when ``list_empty(&pc->lru)``.
    """

    __slots__ = ("flags", "lock", "lru", "mem_cgroup", "page")

    def __init__(self) -> None:
        self.flags = 0
        self.mem_cgroup: MemCgroup | None = None
        self.page: Page | None = None
        self.lru = -1
        self.lock = Lock("PCG_LOCK", self)

    @property
    def stable_key(self) -> int | None:
        """The explorer's name of this pc in every run: its page's frame number."""
        return self.page.pfn if self.page is not None else None

    def __repr__(self) -> str:
        return f"pc({self.page!r}, flags={self.flags:#x})"


def lookup_page_cgroup(page: Page) -> PageCgroup:
    """mm/page_cgroup.c: lookup_page_cgroup()."""
    return page.page_cgroup


def lock_page_cgroup(pc: PageCgroup) -> None:
    """include/linux/page_cgroup.h: lock_page_cgroup(): the PCG_LOCK bit spinlock, taken in
    plain code (every section of it runs inside one step; the step's record has it)."""
    spin_lock_uncontended(pc.lock)


def unlock_page_cgroup(pc: PageCgroup) -> None:
    """include/linux/page_cgroup.h: unlock_page_cgroup()."""
    spin_unlock(pc.lock)


def PageCgroupUsed(pc: PageCgroup) -> bool:
    """include/linux/page_cgroup.h: PageCgroupUsed(): a test_bit() of pc->flags, which
    change under lock_page_cgroup(); callers also test it without the lock (the LRU
    hooks, the uncharge's first peek), so every test is a plain read of that lock's
    sections to the explorer."""
    plain_read(pc.lock)
    return bool(pc.flags & PCG_USED)


def SetPageCgroupUsed(pc: PageCgroup) -> None:
    pc.flags |= PCG_USED


def ClearPageCgroupUsed(pc: PageCgroup) -> None:
    pc.flags &= ~PCG_USED


def PageCgroupCache(pc: PageCgroup) -> bool:
    return bool(pc.flags & PCG_CACHE)


# --- swap_cgroup (mm/page_cgroup.c, CONFIG_CGROUP_MEM_RES_CTLR_SWAP) ------------------------
# One css id per swap slot, kept in k.swap_cgroup keyed by (type, offset); a missing key is
# id 0. No lock of its own (callers hold swap_lock or the page lock), as in 2.6.30/2.6.31.
# Entries are decoded here as in swapfile.swp_type()/swp_offset() (type above bit 24).


def _swap_cgroup_key(ent: int) -> tuple[int, int]:
    return ent >> 24, ent & ((1 << 24) - 1)


def swap_cgroup_swapon(k: Kernel, type: int, max_pages: int) -> int:
    """mm/page_cgroup.c: swap_cgroup_swapon(): the record array of area ``type`` (here:
    forget any stale record of the type). 0; nothing to do without swap accounting."""
    if not k.cfg.do_swap_account:
        return 0
    swap_cgroup_swapoff(k, type)
    return 0


def swap_cgroup_swapoff(k: Kernel, type: int) -> None:
    """mm/page_cgroup.c: swap_cgroup_swapoff(): free the records of area ``type``."""
    for key in [key for key in k.swap_cgroup if key[0] == type]:
        del k.swap_cgroup[key]


def swap_cgroup_record(k: Kernel, ent: int, id: int) -> int:
    """mm/page_cgroup.c: swap_cgroup_record(): store ``id`` for the slot, return the old
    one (a plain store; callers test do_swap_account)."""
    key = _swap_cgroup_key(ent)
    old = k.swap_cgroup.get(key, 0)
    if id:
        k.swap_cgroup[key] = id
    else:
        k.swap_cgroup.pop(key, None)
    return old


def lookup_swap_cgroup(k: Kernel, ent: int) -> int:
    """mm/page_cgroup.c: lookup_swap_cgroup(): the slot's css id, 0 if none."""
    return k.swap_cgroup.get(_swap_cgroup_key(ent), 0)
