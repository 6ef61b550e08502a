"""mm/page_cgroup.c and include/linux/page_cgroup.h (2.6.30, 2.6.31): struct page_cgroup, one
per page, and swap_cgroup, one record (a memcg css id) per swap slot.

Abstractions: lookup_page_cgroup() is a field of struct page; the PCG_LOCK bit spinlock is
an engine lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel.sync import Lock

if TYPE_CHECKING:
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
        self.lock = Lock("PCG_LOCK")

    def __repr__(self) -> str:
        return f"pc({self.page!r}, flags={self.flags:#x})"


def lookup_page_cgroup(page: Page) -> PageCgroup:
    """mm/page_cgroup.c: lookup_page_cgroup()."""
    return page.page_cgroup


def PageCgroupUsed(pc: PageCgroup) -> bool:
    return bool(pc.flags & PCG_USED)


def SetPageCgroupUsed(pc: PageCgroup) -> None:
    pc.flags |= PCG_USED


def ClearPageCgroupUsed(pc: PageCgroup) -> None:
    pc.flags &= ~PCG_USED


def PageCgroupCache(pc: PageCgroup) -> bool:
    return bool(pc.flags & PCG_CACHE)
