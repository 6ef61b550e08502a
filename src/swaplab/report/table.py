"""A finding of a kernel scenario as the cover letter draws it: one column per racing
thread (I/O completions share one column), one row per kernel step, the kernel's own
names (the ``trace()`` events of the model: ``swap_duplicate()``, ``swap_entry_free()``,
``find_get_page()``, ``trylock_page() -> fail & return``, ...), then the broken
properties in words with the counters that are wrong.

Plain text, stable across runs (the golden test compares it byte for byte).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

from swaplab.explore.execution import Event
from swaplab.explore.explorer import Finding, Result
from swaplab.explore.schedule import Decision

#: What a schedule breaks: (property, message) of each broken property.
Broken = Callable[[list[Decision]], Sequence[tuple[str, str]]]

IO_COLUMN = "I/O completion"
_IO_PREFIXES = ("end_swap_bio_read", "end_swap_bio_write")


def column_of(thread: str) -> str:
    """The table column of ``thread``: its name, or the one column of I/O completions."""
    return IO_COLUMN if thread.startswith(_IO_PREFIXES) else thread


def kernel_steps(trace: Sequence[Event]) -> list[tuple[str, str]]:
    """(column, text) for every kernel trace event (the function names ending in "()")."""
    out: list[tuple[str, str]] = []
    for e in trace:
        if not e.function.endswith("()"):
            continue
        text = f"{e.function} {e.detail}".strip()
        out.append((column_of(e.thread), text))
    return out


def render_table(trace: Sequence[Event], width: int = 64) -> str:
    """The trace as a table: a column per thread, a row per kernel step."""
    steps = kernel_steps(trace)
    columns: list[str] = []
    for column, _ in steps:
        if column not in columns:
            columns.append(column)
    if not columns:
        return "  (no kernel steps)\n"
    widths = [min(width, max([len(c)] + [len(t) for col, t in steps if col == c]))
              for c in columns]

    def line(cells: list[str]) -> str:
        """One row: a cell too long for its column goes on in the lines below it, broken
        between words (inside a word only when the word alone is wider)."""
        wrapped = [textwrap.wrap(cell, w) or [""] for cell, w in zip(cells, widths, strict=True)]
        height = max(len(lines) for lines in wrapped)
        return "\n".join(
            " | ".join(f"{(lines[i] if i < len(lines) else ''):<{w}}"
                       for lines, w in zip(wrapped, widths, strict=True)).rstrip()
            for i in range(height))

    rule = "-+-".join("-" * w for w in widths)
    rows = [line(columns), rule]
    for column, text in steps:
        cells = ["" for _ in columns]
        cells[columns.index(column)] = text
        rows.append(line(cells))
    return "\n".join(rows) + "\n"


def render_broken(broken: Sequence[tuple[str, str]]) -> str:
    """The broken properties (name, message) in words, one paragraph each."""
    if not broken:
        return "no property broken\n"
    out = []
    for name, message in broken:
        parts = [m.strip() for m in message.split(";") if m.strip()]
        out.append(f"broken: {name}")
        out.extend(f"  - {p}" for p in parts)
    return "\n".join(out) + "\n"


def render_tables(result: Result, scenario: str, broken: Broken) -> str:
    """Each finding and note of ``result`` as a table, one per distinct schedule, then
    what that schedule breaks (``broken``, e.g. the property families it replays)."""
    shown: dict[str, tuple[list[str], Finding]] = {}
    for label, found in (("finding", result.findings), ("note", result.notes)):
        for number, finding in enumerate(found, 1):
            if finding.schedule is not None and finding.trace:
                names, _ = shown.setdefault(str(finding.schedule), ([], finding))
                names.append(f"{label} {number}")
    out = ""
    for names, finding in shown.values():
        assert finding.schedule is not None
        out += f"\n{', '.join(names)} as a table ({scenario}):\n"
        out += render_table(finding.trace)
        out += render_broken(broken(list(finding.schedule)))
    return out
