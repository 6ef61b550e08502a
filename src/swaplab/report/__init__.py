"""Rendering results: trace tables, the JSON of findings, progress. Reads result data only,
except the HTML pages (:mod:`swaplab.report.html`), which re-run a finding's schedule to
show the state after each step."""

from swaplab.report.findings import (
    check_json,
    render_check,
    render_statistics,
    render_trace,
    trace_json,
)

__all__ = ["check_json", "render_check", "render_statistics", "render_trace", "trace_json"]
