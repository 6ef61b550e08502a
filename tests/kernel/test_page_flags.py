"""kernel/page_flags.py: the page flag bits and helpers, below mm_types and sync."""

from __future__ import annotations

import subprocess
import sys

from swaplab.explore.ops import StepRecord, running
from swaplab.kernel.mm_types import Page
from swaplab.kernel.page_cgroup import PageCgroup
from swaplab.kernel.page_flags import (
    PageDirty,
    PageLocked,
    PageSwapCache,
    PG_dirty,
    PG_swapcache,
    SetPageFlag,
    SetPageSwapCache,
    TestClearPageFlag,
)


def _imported_with(module: str) -> set[str]:
    """The swaplab.kernel modules that importing ``module`` alone loads."""
    code = (f"import sys, {module}; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('swaplab.kernel.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def test_page_flags_and_sync_import_no_module_that_imports_them() -> None:
    """mm_types imports sync and page_flags; neither imports mm_types back, so the modules
    form no import cycle (a from-import of a half-initialised module, which mypyc's compiled
    modules cannot do: benchmarks/compiled.py)."""
    assert "swaplab.kernel.mm_types" not in _imported_with("swaplab.kernel.page_flags")
    assert _imported_with("swaplab.kernel.sync") == {"swaplab.kernel.errno",
                                                     "swaplab.kernel.page_flags",
                                                     "swaplab.kernel.sync"}


def test_flag_updates_are_plain_writes_of_the_page() -> None:
    """set_bit()/test_and_clear_bit() on page->flags are atomic: each is a plain write of
    the page in the running step's record, and the bit changes."""
    page = Page(7, PageCgroup())
    record = StepRecord()
    outer, running.record = running.record, record
    try:
        SetPageSwapCache(page)
        SetPageFlag(page, PG_dirty)
        assert TestClearPageFlag(page, PG_dirty)
        assert not TestClearPageFlag(page, PG_dirty)
    finally:
        running.record = outer
    assert [w is page for w in record.writes] == [True] * 4
    assert page.flags == PG_swapcache and PageSwapCache(page) and not PageDirty(page)
    assert not PageLocked(page)
