"""What `fairshare run` shows a data engineer: one line per stage, a progress bar while files load, a summary.

The steps report to the sink of ``basics.progress``; this is the command line's sink. Progress bars
are drawn only on a terminal (rich); in a log file or CI the stage lines alone remain.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from rich.console import Console as RichConsole
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from basics.progress import Sink


class Console(Sink):
    """Stage lines (unless ``quiet``) and an ingest progress bar on a terminal, on stderr."""

    def __init__(self, quiet: bool = False, stream=None):
        super().__init__()
        self.quiet = quiet
        self.out = RichConsole(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self._progress: Progress | None = None
        self._task = None

    def line(self, text: str) -> None:
        if not self.quiet:
            self.out.print(text, markup=False)

    @contextmanager
    def files(self, label: str, total: int):
        """A progress bar over ``total`` files while a source loads (rows counted as they are read)."""
        show = self.out.is_terminal and not self.quiet and total > 0
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rijen]:,} rows"),
            TimeElapsedColumn(),
            console=self.out,
            transient=True,
            disable=not show,
        )
        with progress:
            self._progress, self._task = progress, progress.add_task(label, total=total, rijen=0)
            try:
                yield
            finally:
                self._progress = self._task = None

    def advance(self, files: int = 0, rows: int = 0) -> None:
        if self._progress is not None:
            task = self._progress.tasks[0]
            self._progress.update(self._task, advance=files, rijen=task.fields["rijen"] + rows)
