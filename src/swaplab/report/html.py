"""`--html FILE`: one self-contained page to step through a finding (check, replay) or to
read the claims' verdicts with their traces (claims).

A page is :data:`PAGE` with the data as JSON in a ``<script type="application/json">``
tag and the viewer's own CSS and script inline (:mod:`swaplab.report.html_viewer`): no
network, no external asset. A trace is :func:`swaplab.report.steps.record`'s data: the
threads as columns (I/O completions share one, as in the text table), a row per step,
the state after each step (:mod:`swaplab.report.state`) with what changed highlighted, and
the broken properties with the step where each became true.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from string import Template
from typing import Any

from swaplab.explore.explorer import Result
from swaplab.explore.runner import ReplayError
from swaplab.report.findings import SpecText, render_check
from swaplab.report.html_viewer import SCRIPT, STYLE
from swaplab.report.steps import TraceView, record

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>$title</title>
<style>$style</style>
</head>
<body>
<div id="app"></div>
<script type="application/json" id="swaplab-data">$data</script>
<script>$script</script>
</body>
</html>
""")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_page(kind: str, title: str, summary: Sequence[str], traces: list[TraceView],
                claims: list[dict[str, Any]] | None = None) -> str:
    """The page: ``kind`` (check, replay, claims), a title, summary lines, the traces and,
    for claims, the verdict rows (``evidence.checks[].trace``: the number of a trace)."""
    data = {"kind": kind, "title": title, "summary": list(summary), "traces": traces,
            "claims": claims}
    # no "<" in the JSON: nothing in it can end the script element
    text = json.dumps(data).replace("&", "\\u0026").replace("<", "\\u003c").replace(
        ">", "\\u003e")
    return PAGE.substitute(title=_escape(title), style=STYLE, data=text, script=SCRIPT)


def schedule_trace(spec: str, title: str, prop: str | None = None,
                   max_steps: int | None = None) -> TraceView:
    """Record the schedule text ``spec`` (as `swaplab replay` reads it); ``prop``: a claim
    property to check instead of the scenario's own (as `swaplab claims` explored it)."""
    from swaplab.scenarios import get_scenario, parse_spec
    from swaplab.scenarios.kernel_common import CLAIM_PROPERTIES, checking

    name, sopts, decisions = parse_spec(spec)
    scenario = get_scenario(name)
    model = scenario.model(sopts)
    if prop is not None and prop in CLAIM_PROPERTIES:
        model = checking(model, prop)
    return record(model, decisions, title=title, schedule=spec,
                  max_steps=max_steps or scenario.max_steps, policy=sopts.schedules)


def replay_page(spec: str) -> str:
    """The page of `swaplab replay SCHEDULE --html`."""
    trace = schedule_trace(spec, f"replay of {spec}")
    return render_page("replay", f"swaplab replay {spec}", [], [trace])


def check_page(result: Result, scenario: str, spec: SpecText,
               max_steps: int | None = None) -> str:
    """The page of `swaplab check --html`: a trace per distinct schedule among the
    findings and notes of ``result`` (``spec`` makes a schedule's text)."""
    shown: dict[str, list[str]] = {}
    for label, found in (("finding", result.findings), ("note", result.notes)):
        for number, finding in enumerate(found, 1):
            if finding.schedule is not None:
                shown.setdefault(spec(list(finding.schedule)), []).append(f"{label} {number}")
    traces: list[TraceView] = []
    lines = render_check(result, scenario=scenario, spec=spec).splitlines()[:2]
    for text, labels in shown.items():
        title = f"{', '.join(labels)}: {text}"
        try:
            traces.append(schedule_trace(text, title, max_steps=max_steps))
        except ReplayError as err:  # a finding that does not replay (not deterministic)
            lines.append(f"{title}: no trace, the schedule does not replay ({err})")
    if not shown:
        lines.append("no finding: no trace to show")
    return render_page("check", f"swaplab check {scenario}", lines, traces)


def claims_page(rows: list[dict[str, Any]]) -> str:
    """The page of `swaplab claims --html`: the verdict table; each check that found a
    violation links to its trace, recorded from its schedule (once per schedule and
    property model: the families of one scenario share one)."""
    from swaplab.scenarios.kernel_common import CLAIM_PROPERTIES

    traces: list[TraceView] = []
    index: dict[tuple[str, str], int] = {}
    out = []
    for number, row in enumerate(rows, 1):
        checks = []
        for check in row.get("evidence", {}).get("checks", []):
            check = dict(check)
            spec, prop = check.get("schedule", ""), check.get("property", "")
            if spec:
                key = (spec, prop if prop in CLAIM_PROPERTIES else "")
                title = f"claim {number}: {spec}" + (f" ({prop})" if key[1] else "")
                try:
                    if key not in index:
                        traces.append(schedule_trace(spec, title, key[1] or None))
                        index[key] = len(traces) - 1
                    check["trace"] = index[key]
                except ReplayError as err:  # not deterministic: the check says so
                    check["trace_error"] = f"the schedule does not replay ({err})"
            checks.append(check)
        out.append({**row, "evidence": {**row.get("evidence", {}), "checks": checks}})
    return render_page("claims", "swaplab claims", [], traces, out)


def path_error(path: str) -> str | None:
    """Why ``path`` cannot take the page (checked before any work); None when it can."""
    if not path:
        return "--html: empty file name"
    if os.path.isdir(path):
        return f"--html: {path} is a directory"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"--html: no such directory: {folder}"
    if not os.access(folder, os.W_OK) or (os.path.exists(path)
                                         and not os.access(path, os.W_OK)):
        return f"--html: cannot write {path}"
    return None


def write_page(path: str, page: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(page)
