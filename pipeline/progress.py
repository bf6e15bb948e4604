"""A console progress display for long runs (sync, export, migrate); silent unless asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


class Stages:
    """One line per stage: a spinner for steps of unknown length, a bar for counted work."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        """A stage whose length is unknown (loading a file, planning)."""
        if self._progress is None:
            yield
            return
        task = self._progress.add_task(description, total=None)
        try:
            yield
        except BaseException:
            self._progress.update(task, description=f"{description} (failed)", total=1)
            raise
        self._progress.update(task, total=1, completed=1)

    def counter(self, description: str, total: int) -> Callable[[int], None]:
        """A bar over `total` units; returns the callback that advances it."""
        if self._progress is None:
            return lambda _done: None
        task = self._progress.add_task(description, total=total)
        progress = self._progress
        return lambda done: progress.advance(task, done)


@contextmanager
def stages(enabled: bool, console: Console | None = None) -> Iterator[Stages]:
    if not enabled:
        yield Stages(None)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        yield Stages(progress)
