"""A hunt's findings, triaged: deduplicated, labelled when they are a known race, and
rendered as a table (text) or as the JSON of ``swaplab hunt --json``.

Two findings are the same when they break the same property (an exception: of the same
type) in the same racing functions (:func:`swaplab.hunt.run.racing_functions`). Each
distinct finding gets an id (F1, F2, ... in the order the cases first found them, so
the same hunt gives the same ids), the number of cases that found it, and its first case
as the example, with the command that replays it.

Known races are recognised by property and by the functions in their racing steps:

- Type-1 (the cover letter's): a swap-in's readahead (mm/swap_state.c:
  read_swap_cache_async() under swapin_readahead()) puts a page in the swap cache for a
  slot whose last user is zapped at the same time (exit or munmap: mm/swapfile.c:
  free_swap_and_cache() fails its trylock_page()); the page stays as an orphan of the swap
  cache, its slot and its memsw charge leak (the accounting property families).
- a readahead of a slot that a swap-out (add_to_swap() or shmem_writepage()) has just
  allocated with get_swap_page() and not yet given its page: [30]'s swap_duplicate()
  takes the slot, the readahead's page gets into the swap cache first, the swap-out's
  add_to_swap_cache() fails with -EEXIST and it drops the slot ("raced with speculative
  read_swap_cache_async", mm/swap_state.c), leaving the readahead's page alone with it.
  SWAP_HAS_CACHE closes it: [31]'s swapcache_prepare() refuses a slot with a cache
  owner, so the readahead waits for the swap-out's page instead.
- Type-1 on shmem: the same window with shmem_getpage() (mm/shmem.c) as the slot's
  freer: it moves the page it read from the swap cache to the page cache and frees the
  entry while another fault's readahead holds a new swap-cache page for it.
- Type-2 (the cover letter's): reclaim's shrink_page_list() -> add_to_swap() -> pageout()
  of a page whose task exits meanwhile (page_remove_rmap() uncharges it): the page is
  left in the swap cache, uncharged and off its group's LRU (the families again).
- later fixes the model has (kernel/config.py FIXES): the swapin race of do_swap_page()
  (4969c1192d15, 31c4a3d3a0f8: data integrity), the soft lockup of a readahead spinning on
  a slot whose owner sleeps in discard_swap_cluster() (cbab0e4eec29), the one of an
  owner sleeping in radix_tree_preload() (31a5639623a4); and the use-after-free of
  fce66477578d: rmdir's mem_cgroup_force_empty() stops at usage 0 while a page uncharged
  by its exiting task is still on the group's LRU, the group is freed (its last swap
  record goes: __mem_cgroup_free()) and the page's unlink (mem_cgroup_del_lru_list())
  touches it; and swapoff against a swap-in that holds nothing but the swap entry it read
  from the pte: sys_swapoff() frees swap_map and sets max to 0 while the fault is on its
  way to valid_swaphandles(), which then reads the freed map below its target (a NULL
  dereference in 2.6.30 and 2.6.31; the race was closed for the whole swap-in path by
  get_swap_device(), eb085574a752, in v5.1).
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from swaplab.hunt.run import FALLBACK, Found, Hunt, HuntConfig
from swaplab.scenarios.kernel_common import FAMILIES


@dataclass(frozen=True, slots=True)
class Known:
    """A known race: a property it breaks, the functions its racing steps must show
    (every group: at least one of its names) and a text its message must contain."""

    label: str
    properties: tuple[str, ...]
    needs: tuple[tuple[str, ...], ...]
    message: str = ""

    def matches(self, found: Found) -> bool:
        have = set(found.functions)
        return found.property in self.properties and self.message in found.message and all(
            any(name in have for name in group) for group in self.needs)


#: The known races, the first that matches labels a finding.
KNOWN: tuple[Known, ...] = (
    Known("Type-1", FAMILIES, (("read_swap_cache_async()", "swapin_readahead()"),
                               ("free_swap_and_cache()",),
                               ("do_exit()", "exit_mmap()", "do_munmap()", "zap_pte_range()",
                                "madvise_dontneed()"))),
    Known("readahead vs a swap-out's new slot", FAMILIES,
          (("read_swap_cache_async()", "swapin_readahead()"), ("get_swap_page()",))),
    Known("Type-1 (shmem)", FAMILIES, (("read_swap_cache_async()", "swapin_readahead()"),
                                       ("shmem_getpage()",))),
    Known("Type-2", FAMILIES, (("add_to_swap()", "pageout()", "shrink_page_list()"),
                               ("page_remove_rmap()",))),
    Known("swapin race (4969c1192d15, 31c4a3d3a0f8)", ("data-integrity",),
          (("do_swap_page()",),)),
    Known("discard lockup (cbab0e4eec29)", ("soft-lockup",),
          (("discard_swap_cluster()",), ("swapcache_prepare()",))),
    Known("preload lockup (31a5639623a4)", ("soft-lockup",),
          (("radix_tree_preload()",), ("swapcache_prepare()",))),
    Known("rmdir use-after-free (fce66477578d)", ("exception",),
          (("mem_cgroup_force_empty()",), ("__mem_cgroup_free()",)),
          "use-after-free"),
    Known("swapoff vs swap-in (eb085574a752)", ("exception",), (),
          "NULL pointer dereference: valid_swaphandles()"),
)


def known_race(found: Found) -> str | None:
    """The label of the known race ``found`` is, or None."""
    return next((known.label for known in KNOWN if known.matches(found)), None)


@dataclass(frozen=True, slots=True)
class Triaged:
    """One distinct finding: its first witness (case and schedule) and its count."""

    id: str
    found: Found
    case: str
    operations: tuple[str, ...]
    known: str | None
    count: int
    replay: str

    def as_json(self) -> dict[str, Any]:
        f = self.found
        return {"id": self.id, "property": f.property, "kind": f.kind, "message": f.message,
                "operations": list(self.operations), "functions": list(f.functions),
                "known": self.known, "count": self.count, "schedule": f.schedule,
                "replay": self.replay}


def replay_command(config: HuntConfig, case: str, schedule: str) -> str:
    """The command that rebuilds ``case`` and replays ``schedule`` on it."""
    words = ["swaplab", "hunt", "--kernel", config.kernel]
    if config.patches is not None:
        words += ["--patches", config.patches]
    if config.fixes:
        words += ["--fixes", ",".join(config.fixes)]
    words += ["--seed", str(config.seed)]
    if config.depth != 2:
        words += ["--depth", str(config.depth)]
    words += ["--replay", case, "--schedule", schedule]
    return shlex.join(words)


def triage(hunt: Hunt) -> list[Triaged]:
    """The distinct findings of ``hunt``, in the order its cases found them first."""
    first: dict[tuple[str, tuple[str, ...]], tuple[Found, str, tuple[str, ...]]] = {}
    counts: dict[tuple[str, tuple[str, ...]], int] = {}
    for explored in hunt.explored:
        for found in explored.findings:
            key = (found.key, found.functions)
            first.setdefault(key, (found, explored.case, explored.ops))
            counts[key] = counts.get(key, 0) + 1
    return [Triaged(f"F{number}", found, case, ops, known_race(found), counts[key],
                    replay_command(hunt.config, case, found.schedule))
            for number, (key, (found, case, ops)) in enumerate(first.items(), 1)]


def hunt_json(hunt: Hunt, rows: Sequence[Triaged]) -> dict[str, Any]:
    """The one JSON object of ``swaplab hunt --json``."""
    config = hunt.config
    return {
        "kernel": config.kernel,
        "patches": config.patches,
        "fixes": list(config.fixes),
        "seed": config.seed,
        "states": hunt.states,
        "pairs": len(hunt.cases),
        "executions": hunt.executions,
        "elapsed": round(hunt.elapsed, 3),
        "complete": hunt.complete,
        "findings": [row.as_json() for row in rows],
    }


def summary(hunt: Hunt, rows: Sequence[Triaged]) -> list[str]:
    """The lines above the table: what was explored, and how far."""
    config = hunt.config
    fixes = f" + {','.join(config.fixes)}" if config.fixes else ""
    patches = f" (patches {config.patches})" if config.patches is not None else ""
    notes = sum(e.notes for e in hunt.explored)
    incomplete = sum(1 for e in hunt.explored if e.stopped is None and not e.complete)
    again = sum(1 for e in hunt.explored if e.strategy != "dpor")
    rate = hunt.executions / hunt.elapsed if hunt.elapsed > 0 and not hunt.resumed else None
    lines = [
        f"hunt on {config.kernel}{patches}{fixes}, seed {config.seed}, depth {config.depth}: "
        f"{len(rows)} distinct finding{'s' if len(rows) != 1 else ''}"
        + ("" if hunt.complete else " (incomplete)"),
        f"{hunt.states} states, {len(hunt.cases)} cases, {hunt.finished} explored "
        f"({hunt.resumed} from the journal), {hunt.executions} executions in "
        f"{hunt.elapsed:.1f} s" + (f" ({rate:.0f}/s)" if rate is not None else ""),
        f"{again} case{'s' if again != 1 else ''} cut by dpor at {config.max_executions} "
        f"executions, explored again by {FALLBACK}; {incomplete} incomplete; {notes} note"
        f"{'s' if notes != 1 else ''} (no defect) not listed",
    ]
    if hunt.stopped is not None:
        why = "interrupted (SIGINT/SIGTERM)" if hunt.stopped == "interrupted" else \
            f"stopped ({hunt.stopped})"
        lines.append(f"{why}: {len(hunt.cases) - hunt.finished} cases not explored")
    return lines


def render(hunt: Hunt, rows: Sequence[Triaged], colour: bool = False, width: int = 120) -> str:
    """The summary, the triage table (id, property, kind, count, known race, example
    operations) and each finding's replay command."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    out = "\n".join(summary(hunt, rows)) + "\n"
    if not rows:
        return out
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    for name in ("id", "property", "kind", "count", "known", "example operations"):
        table.add_column(name, overflow="fold")
    for row in rows:
        state = row.case.split("|", 1)[0]
        table.add_row(row.id, row.found.key, row.found.kind, str(row.count),
                      row.known or "-", f"{state}: {' || '.join(row.operations)}")
    buffer = io.StringIO()
    Console(file=buffer, width=width, force_terminal=colour, no_color=not colour,
            highlight=False).print(table)
    out += "\n" + buffer.getvalue()
    out += "\nreplay:\n" + "".join(f"  {row.id}: {row.replay}\n" for row in rows)
    return out


def hunt_page(hunt: Hunt, rows: Sequence[Triaged]) -> str:
    """The page of ``swaplab hunt --html``: the summary and a line per finding, then a
    trace per distinct (case, schedule) among the findings to step through (the case
    rebuilt, the schedule recorded as check --html records a finding's)."""
    from swaplab.explore.schedule import Schedule
    from swaplab.race import MAX_STEPS, race_model
    from swaplab.report.html import render_page
    from swaplab.report.steps import TraceView, record

    lines = summary(hunt, rows)
    shown: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        found = row.found
        lines.append(f"{row.id}: {found.key} ({found.kind}), {row.count} case"
                     f"{'s' if row.count != 1 else ''}, known: {row.known or '-'}; "
                     f"example {row.case}; replay: {row.replay}")
        shown.setdefault((row.case, found.schedule), []).append(row.id)
    traces: list[TraceView] = []
    for (case, schedule), ids in shown.items():
        system, ops = hunt.config.build(hunt.config.find(case))
        traces.append(record(race_model(system, ops), list(Schedule.parse(schedule)),
                             title=f"{', '.join(ids)}: {case}", schedule=schedule,
                             max_steps=MAX_STEPS))
    return render_page("hunt", f"swaplab hunt --kernel {hunt.config.kernel}", lines, traces)
