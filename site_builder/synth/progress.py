"""Step lines with a rich progress bar when ``progress=True``; silent otherwise."""

from __future__ import annotations

from typing import Any


class Steps:
    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self._progress: Any = None
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("synth"), BarColumn(),
                                      TextColumn("{task.description}"), TimeElapsedColumn())
            self._progress.start()
            self._task = self._progress.add_task("starting", total=total)

    def done(self, message: str) -> None:
        if self._progress is not None:
            self._progress.console.log(message)
            self._progress.update(self._task, advance=1, description=message)

    def finish(self, message: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self._progress.tasks[0].total,
                                  description=message)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
