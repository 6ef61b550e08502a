"""mm/page_io.c (2.6.30, 2.6.31): swap I/O.

There is no disk: a write or read is "submitted" by starting its bio completion as a kernel
thread of its own (sync.kthread_run), so "the page is still under writeback" and "the page
is still locked for read" are real windows that other threads can run in. The completions
do what end_swap_bio_write()/end_swap_bio_read() do on success; I/O never fails. The
device's contents are the area's ``data`` (a stamp per slot): a write copies the page's stamp
to its slot when the bio is built, a read's completion copies the slot's stamp into the page.

Left out: bio allocation failure (-ENOMEM), the block layer, PSWPIN/PSWPOUT counters,
WB_SYNC_ALL, I/O errors, rotate_reclaimable_page (PG_reclaim is not set by the model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import swapfile
from swaplab.kernel.errno import VM_BUG_ON
from swaplab.kernel.mmzone import NR_WRITEBACK
from swaplab.kernel.page_flags import (
    ClearPageWriteback,
    PageLocked,
    PageUptodate,
    PageWriteback,
    SetPageUptodate,
    SetPageWriteback,
)
from swaplab.kernel.sync import (
    Current,
    atomic_rmw,
    kthread_run,
    may_sleep,
    plain_read,
    plain_write,
    trace,
    unlock_page,
)

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import Page

_IRQ = Current(None, 0)


async def end_swap_bio_write(k: Kernel, page: Page) -> None:
    """mm/page_io.c: end_swap_bio_write() -> end_page_writeback(): the write finished;
    clear PG_writeback (waking wait_on_page_writeback sleepers)."""
    await atomic_rmw(k, page, "end_page_writeback")  # test_clear_page_writeback()
    VM_BUG_ON(not PageWriteback(page), "end_page_writeback: page not under writeback")
    ClearPageWriteback(page)
    k.zone.vm_stat[NR_WRITEBACK] -= 1
    trace(k, "end_swap_bio_write()", "{!r}", page)


async def end_swap_bio_read(k: Kernel, page: Page, entry: int) -> None:
    """mm/page_io.c: end_swap_bio_read(): the read of ``entry``'s slot finished: the page
    holds the slot's data, SetPageUptodate, then unlock_page (which is what do_swap_page's
    lock_page waits for)."""
    p = k.swap_info[swapfile.swp_type(entry)]
    plain_read(p)  # the device's contents
    plain_write(page)
    page.data = p.data.get(swapfile.swp_offset(entry), 0)
    SetPageUptodate(page)
    unlock_page(page)
    trace(k, "end_swap_bio_read()", "{!r}", page)


def _write_slot(k: Kernel, page: Page) -> None:
    """get_swap_bio() + submit_bio(WRITE): the bio carries the page's contents to its slot
    (the model copies them when the bio is built; a store after that dirties the page
    again, so it is written once more before the page can go)."""
    entry = page.private
    p = k.swap_info[swapfile.swp_type(entry)]
    plain_read(page)
    plain_write(p)
    p.data[swapfile.swp_offset(entry)] = page.data


async def swap_writepage(k: Kernel, page: Page) -> int:
    """mm/page_io.c: swap_writepage() (page locked, in the swap cache): a stale swap-cache
    page (no pte/shmem reference left) is dropped from the cache by try_to_free_swap
    instead of written; otherwise set PG_writeback, unlock, and start the write whose
    completion (a thread of its own) clears PG_writeback. Returns 0. get_swap_bio()'s
    bio_alloc(GFP_NOIO) may sleep (a sleep point of the CPU model)."""
    if await swapfile.try_to_free_swap(k, page):
        unlock_page(page)
        trace(k, "swap_writepage()", "{!r}: stale, freed", page)
        return 0
    await may_sleep(k, "get_swap_bio", "bio_alloc(GFP_NOIO) may sleep")
    SetPageWriteback(page)
    k.zone.vm_stat[NR_WRITEBACK] += 1
    _write_slot(k, page)
    unlock_page(page)
    trace(k, "swap_writepage()", "{!r} -> {:#x}", page, page.private)
    if k.hold_writes:  # the device holds it: complete_held_writes() ends it
        plain_write(k.held_writes)
        k.held_writes.append(page)
        return 0
    await kthread_run(k, f"end_swap_bio_write {page!r}", end_swap_bio_write(k, page), _IRQ)
    return 0


async def complete_held_writes(k: Kernel) -> int:
    """The swap device ends the writes it held (``k.held_writes``), oldest first: the
    completion of each (end_swap_bio_write()), in this one kernel thread. Returns how
    many."""
    held = k.held_writes
    count = 0
    while held:
        plain_write(held)
        page = held.pop(0)
        await end_swap_bio_write(k, page)
        count += 1
    return count


async def swap_readpage(k: Kernel, page: Page) -> int:
    """mm/page_io.c: swap_readpage() (page locked, not uptodate, in the swap cache): start
    the read; its completion thread sets PG_uptodate and unlocks the page. Returns 0.
    get_swap_bio()'s bio_alloc(GFP_KERNEL) may sleep (a sleep point of the CPU model)."""
    VM_BUG_ON(not PageLocked(page), "swap_readpage: page not locked")
    VM_BUG_ON(PageUptodate(page), "swap_readpage: page already uptodate")
    await may_sleep(k, "get_swap_bio", "bio_alloc(GFP_KERNEL) may sleep")
    trace(k, "swap_readpage()", f"{page!r} <- {page.private:#x}")
    await kthread_run(k, f"end_swap_bio_read {page!r}",
                      end_swap_bio_read(k, page, page.private), _IRQ)
    return 0
