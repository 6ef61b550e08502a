"""Plots of workload simulations (matplotlib, Agg backend: no display needed).

:func:`plot_runs` draws one column per run (a kernel of a ``--compare``) and one row per
metric, runs of a row sharing the y axis, so the leak of one kernel and the flat line of
the other sit side by side. Kill and move samples are marked with dots. It returns what it
drew, read back from the axes, so a caller (a test) can check the image shows the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_METRICS", "Plotted", "plot_runs"]

DEFAULT_METRICS = (
    "memsw_minus_usage_empty_groups",
    "orphan_swapcache_pages",
    "cache_only_slots",
    "swap_used_slots",
)

_UNITS = {"memsw_minus_usage_empty_groups": "bytes"}


@dataclass(frozen=True, slots=True)
class Plotted:
    """One drawn line: which run (column title), which metric, and its points."""

    run: str
    metric: str
    x: tuple[float, ...]
    y: tuple[float, ...]


def _label(run: dict[str, Any]) -> str:
    extra = f" pc={run['page_cluster']}" if "page_cluster" in run else ""
    return f"{run['kernel']}{extra} seed={run['seed']}"


def plot_runs(runs: Sequence[dict[str, Any]], path: str | Path,
              metrics: Sequence[str] = DEFAULT_METRICS, title: str | None = None) -> list[Plotted]:
    """Draw ``runs`` (the JSON objects of :meth:`Result.to_json`) to ``path`` (.png or
    .svg); returns the lines drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"{path}: the plot must be a .png or .svg file")
    ncols, nrows = max(1, len(runs)), len(metrics)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.3 * nrows),
                             sharex=True, sharey="row", squeeze=False)
    drawn: list[Plotted] = []
    try:
        for col, run in enumerate(runs):
            series = run["series"]
            t = series["t"]
            events = series.get("event", [None] * len(t))
            label = _label(run)
            axes[0][col].set_title(label, fontsize=9)
            for row, metric in enumerate(metrics):
                ax = axes[row][col]
                values = series[metric]
                (line,) = ax.plot(t, values, drawstyle="steps-post", linewidth=1.2,
                                  label=metric)
                marks = [(x, y) for x, y, e in zip(t, values, events, strict=True) if e]
                if marks:
                    ax.plot([m[0] for m in marks], [m[1] for m in marks], "o", markersize=3,
                            color="tab:red")
                ax.grid(True, alpha=0.3)
                if col == 0:
                    unit = _UNITS.get(metric)
                    ax.set_ylabel(metric.replace("_", " ") + (f"\n({unit})" if unit else ""),
                                  fontsize=7)
                if row == nrows - 1:
                    ax.set_xlabel("virtual time (s)")
                drawn.append(Plotted(label, metric,
                                     tuple(float(v) for v in line.get_xdata()),
                                     tuple(float(v) for v in line.get_ydata())))
        fig.suptitle(title or f"swaplab simulate {runs[0]['workload'] if runs else ''}",
                     fontsize=10)
        fig.tight_layout()
        fig.savefig(path, format=path.suffix.lower().lstrip("."), dpi=90)
    finally:
        plt.close(fig)
    return drawn
