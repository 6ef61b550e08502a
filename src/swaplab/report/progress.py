"""Rich progress displays on stderr, shown only on a terminal and gone when the work is:
a long exploration's runs (after a while), a count of items (`swaplab claims`' rows)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from swaplab.explore.search import Search

#: Seconds a search runs before a progress line appears.
DELAY = 1.0


def _bar(label: str, total: int | None, console: Any = None) -> tuple[Any, Any]:
    """A started transient rich bar (label, bar, a line of counts, elapsed time) on
    ``console`` (None: stderr), and its task."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                        console=console if console is not None else Console(stderr=True),
                        transient=True)
    progress.start()
    return progress, progress.add_task(label, total=total, info="")


class ItemsProgress:
    """A callback ``(done, total)``: items finished out of all (the checks and runs of
    `swaplab claims`, the cases of a hunt), drawn at each call, on a terminal only
    (``enabled`` None: when stderr is one) or on ``console``; :meth:`close` takes the bar
    away."""

    def __init__(self, label: str, unit: str, enabled: bool | None = None,
                 console: Any = None) -> None:
        self.label = label
        self.unit = unit
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.console = console
        self.progress: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            self.progress, self.task = _bar(self.label, total, self.console)
        self.progress.update(self.task, completed=done, total=total,
                             info=f"{done}/{total} {self.unit}", refresh=True)

    def close(self) -> None:
        """Take the bar away (``contextlib.closing`` calls it)."""
        if self.progress is not None:
            self.progress.stop()


class ExploreProgress:
    """A callback for :func:`~swaplab.explore.explorer.explore`; a context manager."""

    def __init__(self, label: str, total: int | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.perf_counter()
        self.progress: Any = None
        self.task: Any = None

    def __call__(self, search: Search) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            if time.perf_counter() - self.started < DELAY:
                return
            self.progress, self.task = _bar(self.label, self.total)
        stats = search.stats
        self.progress.update(self.task, completed=stats.executions,
                             info=f"{stats.executions} runs, {stats.steps} steps, "
                                  f"{len(search.failures)} failing")

    def __enter__(self) -> ExploreProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.progress is not None:
            self.progress.stop()
