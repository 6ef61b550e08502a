"""The program's side of a page fault: the load or store the faulting instruction makes
once the kernel has handled the fault (not a kernel file: user space as the model runs it).

Page contents are stamps (``Page.data``, the swap area's ``data`` per slot): 0 for zeroes,
else the number of the store that wrote them, kept in ``k.data_stores`` with who stored where.
A store gives the page a new stamp and records it in the mm's ``user_data`` (what the
program expects to find there); a load compares the page's stamp with that expectation.
A mismatch is the property ``data-integrity``: the task read someone else's data (or stale
data) where it had written its own, or where its parent had at fork. Only private anonymous
mappings are checked (a shared mapping's contents are the last writer's, whoever that was);
every page carries its data all the same.

The access runs in the step in which the fault returned, so it sees the pte the fault left;
it is skipped when no present pte is there (the task was killed, or the fault failed), where
the instruction would fault again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swaplab.kernel import memory
from swaplab.kernel.errno import EFAULT
from swaplab.kernel.mm_types import PAGE_SHIFT, PAGE_SIZE, TASK_RUNNING
from swaplab.kernel.sync import plain_read, plain_write, trace

if TYPE_CHECKING:
    from swaplab.kernel.kernel import Kernel
    from swaplab.kernel.mm_types import MmStruct, Page, TaskStruct


def describe(k: Kernel, stamp: int) -> str:
    """A stamp in words: zeroes, or who stored it where."""
    if stamp == 0:
        return "zeroes"
    pid, address = k.data_stores[stamp]
    return f"the data task {pid} stored at {address:#x} (store #{stamp})"


def _present_page(mm: MmStruct, address: int, write: bool) -> Page | None:
    """The page the access reaches through the pte, if the pte lets it through."""
    pte = mm.ptes.get(address >> PAGE_SHIFT)
    if pte is None or pte.page is None or (write and not pte.write):
        return None
    return pte.page


def _checked(mm: MmStruct, address: int) -> bool:
    """Whether ``address`` is in a private anonymous mapping (see the module docstring)."""
    vma = mm.find_vma(address)
    return vma is not None and vma.vm_file is None


def user_load(k: Kernel, ts: TaskStruct, address: int) -> None:
    """A load from ``address``: the page must hold what the program last stored there
    (zeroes if it never did), else a data-integrity violation is recorded."""
    mm = ts.mm
    if mm is None:
        return
    page = _present_page(mm, address, False)
    if page is None:
        return
    plain_read(page)
    if not _checked(mm, address):
        return
    want = mm.user_data.get(address >> PAGE_SHIFT, 0)
    if page.data != want:
        what = (f"task {ts.pid} read at {address:#x} {describe(k, page.data)} in {page!r}, "
                f"not {describe(k, want)}")
        k.data_violations.append(what)
        trace(k, "data-integrity:", what)


def user_store(k: Kernel, ts: TaskStruct, address: int) -> None:
    """A store to ``address``: the page gets a new stamp, the program's expectation too."""
    mm = ts.mm
    if mm is None:
        return
    page = _present_page(mm, address, True)
    if page is None:
        return
    k.data_stores.append((ts.pid, address))
    stamp = len(k.data_stores) - 1
    plain_write(page)
    page.data = stamp
    if _checked(mm, address):
        mm.user_data[address >> PAGE_SHIFT] = stamp


def user_access(k: Kernel, ts: TaskStruct, address: int, write: bool) -> None:
    """The touch of one byte after its fault: a load, and for a write the store after it
    (an increment: the load checks what was there)."""
    user_load(k, ts, address)
    if write:
        user_store(k, ts, address)


async def touch_pages(k: Kernel, ts: TaskStruct, start: int, pages: int, write: bool) -> int:
    """The user side of memcg_process (the ``System`` API's ``touch``): fault in one byte
    per page from ``start`` and access it, until the task is killed. Returns the pages
    touched, or -EFAULT where the program would get SIGSEGV (nothing mapped there, or not
    writable)."""
    touched = 0
    for addr in range(start, start + pages * PAGE_SIZE, PAGE_SIZE):
        if ts.sigkill or ts.state != TASK_RUNNING:
            break
        if await memory.do_page_fault(k, ts, addr, write) == -EFAULT:
            return -EFAULT
        user_access(k, ts, addr, write)
        touched += 1
    return touched
