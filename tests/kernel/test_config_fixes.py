"""Later fixes as switches (kernel/config.py: FIXES) and where the swap-in ones act
(mm/memory.c: do_swap_page() after lock_page())."""

from __future__ import annotations

import pytest

from swaplab import System
from swaplab.kernel.config import (
    FIXES,
    SWAPIN_RACE,
    SWAPIN_RACE_FURTHER,
    ConfigError,
    make_config,
)
from swaplab.kernel.kernel import Kernel
from swaplab.kernel.memory import _swapcache_changed
from swaplab.kernel.mm_types import Page
from swaplab.kernel.page_cgroup import PageCgroup
from swaplab.kernel.page_flags import PG_swapcache


def test_fixes_go_on_top_of_any_preset_and_name_it() -> None:
    cfg = make_config("2.6.30", fixes=f"{SWAPIN_RACE_FURTHER}, {SWAPIN_RACE}")
    assert cfg.fixes == (SWAPIN_RACE_FURTHER, SWAPIN_RACE)  # sorted, whatever the order given
    assert cfg.has_fix(SWAPIN_RACE) and cfg.base == "2.6.30"
    assert cfg.name == f"2.6.30+fix:{SWAPIN_RACE_FURTHER}+fix:{SWAPIN_RACE}"
    assert make_config("2.6.30", "1,2,4", SWAPIN_RACE).name == f"2.6.30+1,2,4+fix:{SWAPIN_RACE}"
    assert make_config("2.6.31").fixes == () and make_config("2.6.31").name == "2.6.31"
    assert System(kernel="2.6.31", fixes=SWAPIN_RACE).k.cfg.has_fix(SWAPIN_RACE)
    assert set(FIXES) >= {SWAPIN_RACE, SWAPIN_RACE_FURTHER}


@pytest.mark.parametrize("bad", ["4969c1192d1", "deadbeef0000", "4969c1192d15,x"])
def test_an_unknown_fix_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="unknown fix"):
        make_config("2.6.31", fixes=bad)


ENTRY, OTHER = 0x100, 0x200


def _page(private: int | None) -> Page:
    page = Page(7, PageCgroup())
    if private is not None:
        page.flags |= PG_swapcache
        page.private = private
    return page


@pytest.mark.parametrize(("fixes", "gone", "reused"), [
    ("", False, False),  # 2.6.30/2.6.31: only pte_same() after lock_page()
    (SWAPIN_RACE, True, False),  # the page left the swap cache
    (SWAPIN_RACE_FURTHER, True, True),  # ... or is there for another entry
    (f"{SWAPIN_RACE},{SWAPIN_RACE_FURTHER}", True, True),
])
def test_do_swap_page_gives_up_on_a_changed_swap_cache_page(fixes: str, gone: bool,
                                                           reused: bool) -> None:
    k = Kernel(make_config("2.6.31", fixes=fixes), 1 << 24)
    assert not _swapcache_changed(k, _page(ENTRY), ENTRY)
    assert _swapcache_changed(k, _page(None), ENTRY) is gone
    assert _swapcache_changed(k, _page(OTHER), ENTRY) is reused
