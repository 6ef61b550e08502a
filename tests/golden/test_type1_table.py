"""Golden: `swaplab check type1 --kernel 2.6.30`'s finding as the cover letter's table.
Regenerate with SWAPLAB_REGEN=1."""

from __future__ import annotations

import os
from pathlib import Path

from swaplab.explore.explorer import explore
from swaplab.explore.search import Options
from swaplab.report.table import render_broken, render_table
from swaplab.scenarios import ScenarioOptions, get_scenario
from swaplab.scenarios.kernel_common import broken_families

GOLDEN = Path(__file__).with_name("type1_2.6.30.txt")


def type1_table() -> str:
    scenario = get_scenario("type1")
    model = scenario.model(ScenarioOptions("2.6.30"))
    result = explore(model, Options(strategy="dpor"))
    finding = result.findings[0]
    assert finding.schedule is not None
    return render_table(finding.trace) + render_broken(
        broken_families(model, list(finding.schedule)))


def test_type1_table_matches_the_golden_file() -> None:
    text = type1_table()
    if os.environ.get("SWAPLAB_REGEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    for name in ("swap_duplicate()", "__set_page_locked()", "add_to_swap_cache()",
                 "swap_entry_free() == 1", "find_get_page() -> found",
                 "trylock_page() -> fail & return", "lru_cache_add_anon()"):
        assert name in text
