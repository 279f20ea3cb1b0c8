"""Live progress on stderr while capturing and verifying (Rich)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from storage.records import FINISHED, Capture


class CaptureProgress:
    """Counts captures as they finish; fed from the crawl and the sealer threads."""

    def __init__(self, captures: list[Capture], enabled: bool, console: Console,
                 on_finished: Callable[[Capture], None] = lambda capture: None):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._on_finished = on_finished
        self._done: set[str] = set()
        self._failed = 0
        self._early = [c for c in captures if c.status in FINISHED]  # refused at intake
        self._total = len(captures)
        self._progress = Progress(
            TextColumn("[bold]capturing[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.description}"), TimeElapsedColumn(),
            console=console, transient=True, disable=not enabled,
        )
        self._task = self._progress.add_task(self._describe(), total=self._total)

    def _describe(self) -> str:
        return f"sealed {len(self._done) - self._failed}, failed {self._failed}"

    def update(self, capture: Capture) -> None:
        with self._lock:
            if capture.status in FINISHED and capture.id not in self._done:
                self._done.add(capture.id)
                if capture.status == "failed":
                    self._failed += 1
                self._on_finished(capture)
            self._progress.update(self._task, completed=len(self._done),
                                  description=self._describe())

    def __enter__(self) -> CaptureProgress:
        self._progress.start()
        for capture in self._early:
            self.update(capture)
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


@contextmanager
def verify_progress(total: int, enabled: bool, console: Console) -> Iterator[Callable[[], None]]:
    progress = Progress(TextColumn("[bold]verifying[/]"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True,
                        disable=not enabled)
    task = progress.add_task("verify", total=total)
    with progress:
        yield lambda: progress.advance(task)
