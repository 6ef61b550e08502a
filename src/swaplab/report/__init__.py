"""Rendering results: trace tables, the JSON of findings, progress. Reads result data only."""

from swaplab.report.findings import (
    check_json,
    render_check,
    render_statistics,
    render_trace,
    trace_json,
)

__all__ = ["check_json", "render_check", "render_statistics", "render_trace", "trace_json"]
