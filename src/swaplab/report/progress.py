"""A rich progress display for long explorations, shown only on a terminal after a while."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from swaplab.explore.search import Search

#: Seconds a search runs before a progress line appears.
DELAY = 1.0


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
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                     console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=self.total, info="")
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


class CasesProgress:
    """A progress bar over a hunt's cases (a callback: cases finished, cases in all), on a
    terminal only; :meth:`close` removes it."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.progress: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=total)
        self.progress.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
