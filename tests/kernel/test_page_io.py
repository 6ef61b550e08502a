"""mm/page_io.c model: writes and reads complete in threads of their own (the bio
completions end_swap_bio_write() and end_swap_bio_read())."""

from __future__ import annotations

from kernel_helpers import make_kernel, run, slot, swapped_page

from swaplab.explore.execution import run_to_completion
from swaplab.kernel import page_io, swapfile
from swaplab.kernel.mmzone import NR_WRITEBACK
from swaplab.kernel.page_flags import (
    ClearPageFlag,
    PageDirty,
    PageLocked,
    PageSwapCache,
    PageUptodate,
    PageWriteback,
    PG_uptodate,
)
from swaplab.kernel.sync import Current, __set_page_locked, wait_on_page_writeback


def test_swap_writepage_completes_in_its_own_thread(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    run(k, swapfile.swap_duplicate(k, page.private))  # a pte references the slot

    async def write() -> int:
        __set_page_locked(k, page)
        return await page_io.swap_writepage(k, page)

    writer = k.execution.spawn("reclaim", write(), Current(None, 0))
    while not writer.done:
        k.execution.step(writer)
    assert writer.result == 0
    assert PageWriteback(page) and not PageLocked(page)
    assert k.zone.vm_stat[NR_WRITEBACK] == 1
    (completion,) = k.execution.live()
    assert completion.name.startswith("end_swap_bio_write")
    run_to_completion(k.execution)
    assert not PageWriteback(page)
    assert k.zone.vm_stat[NR_WRITEBACK] == 0
    assert PageSwapCache(page)


def test_swap_writepage_frees_a_stale_swap_cache_page_without_io(version: str) -> None:
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    e = page.private

    async def write() -> int:
        __set_page_locked(k, page)
        return await page_io.swap_writepage(k, page)

    assert run(k, write()) == 0
    assert not PageSwapCache(page) and PageDirty(page) and not PageLocked(page)
    assert not PageWriteback(page)
    assert slot(k, e) == 0


def test_writeback_waiter_wakes_after_the_completion() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    run(k, swapfile.swap_duplicate(k, page.private))
    seen: list[bool] = []

    async def write() -> None:
        __set_page_locked(k, page)
        await page_io.swap_writepage(k, page)
        await wait_on_page_writeback(k, page)
        seen.append(PageWriteback(page))

    run(k, write())
    assert seen == [False]


def test_swap_readpage_unlocks_when_the_read_completes() -> None:
    k = make_kernel("2.6.31", memcg=False)
    swapfile.sys_swapon(k, 10)
    page = swapped_page(k)
    ClearPageFlag(page, PG_uptodate)

    async def read() -> int:
        __set_page_locked(k, page)
        return await page_io.swap_readpage(k, page)

    reader = k.execution.spawn("fault", read(), Current(None, 0))
    while not reader.done:
        k.execution.step(reader)
    assert PageLocked(page) and not PageUptodate(page)
    run_to_completion(k.execution)
    assert not PageLocked(page) and PageUptodate(page)


def test_a_device_that_holds_writes_ends_them_when_told(version: str) -> None:
    """k.hold_writes: the write is submitted (PG_writeback, slot written, page unlocked)
    but no completion thread starts; complete_held_writes() ends each, oldest first."""
    k = make_kernel(version, memcg=False)
    swapfile.sys_swapon(k, 10)
    first, second = swapped_page(k), swapped_page(k)
    k.hold_writes = True
    for page in (first, second):
        run(k, swapfile.swap_duplicate(k, page.private))
        __set_page_locked(k, page)
        assert run(k, page_io.swap_writepage(k, page)) == 0
        assert PageWriteback(page) and not PageLocked(page)
    assert k.execution.live() == [] and k.held_writes == [first, second]
    assert k.zone.vm_stat[NR_WRITEBACK] == 2
    assert run(k, page_io.complete_held_writes(k)) == 2
    assert k.held_writes == [] and not PageWriteback(first) and not PageWriteback(second)
    assert k.zone.vm_stat[NR_WRITEBACK] == 0
