"""The progress displays: drawn on the console they are given, only when enabled."""

from __future__ import annotations

import io
from contextlib import closing

from rich.console import Console

from swaplab.report.progress import ItemsProgress


def console(out: io.StringIO) -> Console:
    return Console(file=out, force_terminal=True, width=100)


def test_the_claims_bar_shows_the_rows_done_and_goes_away() -> None:
    out = io.StringIO()
    with closing(ItemsProgress("claims", "rows", enabled=True, console=console(out))) as progress:
        progress(0, 3)
        progress(2, 3)
        assert progress.progress is not None and progress.progress.live.is_started
    drawn = out.getvalue()
    assert "claims" in drawn and "0/3 rows" in drawn and "2/3 rows" in drawn
    assert not progress.progress.live.is_started  # transient: stopped, and cleared


def test_the_claims_bar_is_not_drawn_when_disabled() -> None:
    out = io.StringIO()
    with closing(ItemsProgress("claims", "rows", enabled=False, console=console(out))) as progress:
        progress(1, 3)
    assert out.getvalue() == "" and progress.progress is None
