"""Findings as text (trace tables like the cover letter's) and as the JSON of `swaplab check`.

A finding's ``schedule`` is given as a full schedule text (scenario, options, decisions: see
:mod:`swaplab.scenarios.spec`), made by the ``spec`` callable the caller passes, so that
``swaplab replay`` accepts it alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from swaplab.explore.execution import Event
from swaplab.explore.explorer import Finding, Result
from swaplab.explore.schedule import Decision
from swaplab.explore.search import Statistics
from swaplab.explore.strategies import get_strategy

SpecText = Callable[[list[Decision]], str]


def trace_json(trace: Sequence[Event]) -> list[dict[str, Any]]:
    return [{"step": e.step, "thread": e.thread, "function": e.function, "detail": e.detail}
            for e in trace]


def finding_json(finding: Finding, spec: SpecText, stopped: bool = False) -> dict[str, Any]:
    """A finding as JSON; a stopped run's say whether shrinking ran to its end."""
    schedule = spec(list(finding.schedule)) if finding.schedule is not None else None
    out = {
        "property": finding.property,
        "kind": finding.kind,
        "message": finding.message,
        "schedule": schedule,
        "preemptions": finding.preemptions,
        "steps": finding.steps,
        "deterministic": finding.deterministic,
        "trace": trace_json(finding.trace),
    }
    if stopped:
        out["shrunk"] = finding.shrunk
    return out


def check_json(result: Result, *, scenario: str, kernel: str | None,
               patches: Sequence[str] | None, spec: SpecText,
               fixes: Sequence[str] = ()) -> dict[str, Any]:
    """The one JSON object `swaplab check --json` prints (``fixes``: the later fixes on
    top of the kernel, also in every schedule text); a run a stop request cut
    (:mod:`swaplab.interrupt`) adds ``interrupted`` (a signal), ``stopped`` (the reason)
    and each finding's ``shrunk``."""
    opts = result.options
    stopped = result.stopped is not None
    out: dict[str, Any] = {
        "scenario": scenario,
        "kernel": kernel,
        "patches": list(patches) if patches is not None else None,
        "fixes": list(fixes),
        "strategy": opts.strategy,
        "preemption_bound": result.bound,
        "seed": None if get_strategy(opts.strategy).exhaustive else opts.seed,
        "policy": opts.policy,
        "strict": opts.strict,
        "result": result.status,
        "statistics": result.stats.as_dict(),
        "findings": [finding_json(f, spec, stopped) for f in result.findings],
        "notes": [finding_json(f, spec, stopped) for f in result.notes],
        "vacuous": [{"property": name, "message": VACUOUS} for name in result.vacuous],
    }
    if stopped:
        out["interrupted"] = result.stopped == "interrupted"
        out["stopped"] = result.stopped
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def render_trace(trace: Sequence[Event]) -> str:
    """A fixed-width table: step, thread, function, detail."""
    if not trace:
        return "  (no steps)\n"
    rows = [(str(e.step), e.thread, e.function, e.detail) for e in trace]
    widths = [max(len(row[i]) for row in [("step", "thread", "function", ""), *rows])
              for i in range(3)]
    header = f"  {'step':>{widths[0]}}  {'thread':<{widths[1]}}  {'function':<{widths[2]}}  detail"
    lines = [header]
    previous = ""
    for step, thread, function, detail in rows:
        shown = step if step != previous else ""
        previous = step
        lines.append(f"  {shown:>{widths[0]}}  {thread:<{widths[1]}}  {function:<{widths[2]}}  "
                     f"{detail}".rstrip())
    return "\n".join(lines) + "\n"


def render_statistics(stats: Statistics) -> str:
    states = (f"{stats.distinct_states} distinct states, "
              if stats.distinct_states is not None else "")
    if stats.stored_states is not None:
        states += (f"{stats.stored_states} states stored ({stats.revisits} revisits, "
                   f"collision probability {stats.collision_optimistic:.1e}"
                   f"{', store full' if stats.store_full else ''}), ")
        if stats.opaque_states:
            states += f"{stats.opaque_states} states not encodable (never pruned), "
    return (f"{_count(stats.executions, 'execution')}, {_count(stats.steps, 'step')}, "
            f"{states}max depth {stats.max_depth}, "
            f"{stats.pruned} pruned, {stats.elapsed:.3f} s, "
            f"{stats.steps_per_second:,.0f} steps/s")


def render_cut(stats: Statistics, max_steps: int | None) -> str:
    """Why a search is incomplete because of the step limit ("" when no run was cut)."""
    if not stats.cut:
        return ""
    limit = f" ({max_steps} steps)" if max_steps is not None else ""
    out = f"{_count(stats.cut, 'run')} cut by the step limit{limit}: no verdict on them"
    if stats.spinning:
        out += (f"; {stats.spinning} ended with only busy-waiting threads able to run "
                "(a livelock is decided only for scenarios with a state fingerprint)")
    return out + "\n"


VACUOUS = "never reached in any explored run: the verdict says nothing about that window"


STOPPED = {"interrupted": "interrupted (SIGINT/SIGTERM): the statistics and findings so far",
           "budget": "stopped: the time budget is spent: the statistics and findings so far"}


def _render_one(label: str, number: int, finding: Finding, spec: SpecText,
                stopped: bool = False) -> str:
    out = f"\n{label} {number}: {finding.property}: {finding.message}\n"
    if finding.schedule is None:
        return out
    unshrunk = ", not shrunk (the run was stopped)" if stopped and not finding.shrunk else ""
    out += (f"  schedule: {spec(list(finding.schedule))}\n"
            f"  {_count(finding.preemptions, 'preemption')}, "
            f"{_count(finding.steps, 'step')}{unshrunk}"
            f"{'' if finding.deterministic else ', NOT DETERMINISTIC on replay'}\n")
    return out + render_trace(finding.trace)


def render_check(result: Result, *, scenario: str, spec: SpecText) -> str:
    """The text report of `swaplab check`: verdict, statistics, bug findings, then notes
    (no defect: they count only with --strict) and vacuity warnings."""
    opts = result.options
    bound = f", preemption bound {result.bound}" if result.bound is not None else ""
    policy = f", {opts.policy} schedules"
    lines = [f"{scenario}: {result.status} ({opts.strategy}{bound}{policy})",
             render_statistics(result.stats)]
    if result.stopped is not None:
        lines.append(STOPPED[result.stopped])
    stopped = result.stopped is not None and opts.shrink
    out = "\n".join(lines) + "\n" + render_cut(result.stats, opts.max_steps)
    for number, finding in enumerate(result.findings, 1):
        out += _render_one("finding", number, finding, spec, stopped)
    if result.notes:
        counted = "counted: --strict" if opts.strict else "not counted: no defect"
        out += f"\nnotes ({counted}):\n"
        for number, note in enumerate(result.notes, 1):
            out += _render_one("note", number, note, spec, stopped)
    if result.vacuous:
        out += "\nvacuity warnings:\n"
        out += "".join(f"  {name}: {VACUOUS}\n" for name in result.vacuous)
    return out
