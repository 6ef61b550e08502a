"""include/linux/page-flags.h: the bits of ``page->flags`` and their tests and updates
(PageDirty(), SetPageSwapCache(), ...), with the model's use-after-free check of a page.

A module of its own, below mm_types and sync (it imports neither): the lock helpers of
sync.py test page flags, and mm_types imports sync for its locks. PG_locked is not a bit
here: it is the page's engine :class:`~swaplab.explore.ops.Lock` (``page.lock``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.explore.ops import plain_write
from swaplab.kernel.errno import KernelBug

if TYPE_CHECKING:
    from swaplab.kernel.mm_types import Page

# The bits of page->flags.
PG_error = 1 << 1
PG_referenced = 1 << 2
PG_uptodate = 1 << 3
PG_dirty = 1 << 4
PG_lru = 1 << 5
PG_active = 1 << 6
PG_private = 1 << 11
PG_writeback = 1 << 13
PG_swapcache = 1 << 15
PG_mappedtodisk = 1 << 16
PG_reclaim = 1 << 17
PG_buddy = 1 << 18  # a free frame of the buddy allocator (set by __free_page)
PG_swapbacked = 1 << 19
PG_unevictable = 1 << 20
PG_mlocked = 1 << 21


def PageLocked(page: Page) -> bool:
    return page.lock.holder is not None


def PageError(page: Page) -> bool:
    return bool(page.flags & PG_error)


def PageReferenced(page: Page) -> bool:
    return bool(page.flags & PG_referenced)


def PageUptodate(page: Page) -> bool:
    return bool(page.flags & PG_uptodate)


def PageDirty(page: Page) -> bool:
    return bool(page.flags & PG_dirty)


def PageLRU(page: Page) -> bool:
    return bool(page.flags & PG_lru)


def PageActive(page: Page) -> bool:
    return bool(page.flags & PG_active)


def PageWriteback(page: Page) -> bool:
    return bool(page.flags & PG_writeback)


def PageSwapCache(page: Page) -> bool:
    return bool(page.flags & PG_swapcache)


def PageSwapBacked(page: Page) -> bool:
    return bool(page.flags & PG_swapbacked)


def PageUnevictable(page: Page) -> bool:
    return bool(page.flags & PG_unevictable)


def PageMlocked(page: Page) -> bool:
    return bool(page.flags & PG_mlocked)


def page_check_live(page: Page, who: str) -> None:
    """What KASAN (and CONFIG_DEBUG_VM's get_page() test of a zero count) reports when
    kernel code uses a struct page through a pointer it kept after the page's last
    reference went: ``who`` is the access. The model marks a freed page PG_buddy
    (mm/page_alloc.c: __free_one_page() sets it on the free block) and never reuses the
    Page object (a new allocation of the frame is a new one), so a stale pointer stays
    recognisable for good. get_page_unless_zero() on a freed page is no such use: it fails,
    which is what it is for."""
    if page.flags & PG_buddy:
        raise KernelBug(f"use-after-free: {who} on {page!r}, which __free_page() freed")


def SetPageFlag(page: Page, bit: int) -> None:
    """set_bit() on page->flags (SetPageUptodate(), SetPageActive(), ...): an atomic
    operation, a plain write of the page to the explorer."""
    page_check_live(page, "set_bit(page->flags)")
    plain_write(page)
    page.flags |= bit


def ClearPageFlag(page: Page, bit: int) -> None:
    """clear_bit() on page->flags: see SetPageFlag()."""
    page_check_live(page, "clear_bit(page->flags)")
    plain_write(page)
    page.flags &= ~bit


def TestClearPageFlag(page: Page, bit: int) -> bool:
    """test_and_clear_bit() on page->flags: see SetPageFlag()."""
    page_check_live(page, "test_and_clear_bit(page->flags)")
    plain_write(page)
    was = bool(page.flags & bit)
    page.flags &= ~bit
    return was


def SetPageDirty(page: Page) -> None:
    page_check_live(page, "SetPageDirty()")
    plain_write(page)  # an atomic bit operation
    page.flags |= PG_dirty


def ClearPageDirty(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags &= ~PG_dirty


def SetPageUptodate(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags |= PG_uptodate


def SetPageSwapCache(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags |= PG_swapcache


def ClearPageSwapCache(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags &= ~PG_swapcache


def SetPageSwapBacked(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags |= PG_swapbacked


def ClearPageSwapBacked(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags &= ~PG_swapbacked


def SetPageWriteback(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags |= PG_writeback


def ClearPageWriteback(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags &= ~PG_writeback


def SetPageReferenced(page: Page) -> None:
    plain_write(page)  # an atomic bit operation
    page.flags |= PG_referenced
