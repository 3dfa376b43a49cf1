"""What `fairshare run` shows a data engineer: one line per stage, a progress bar while files load, a summary.

The steps report here (``report``); nothing is shown unless the command line installed a ``Console``
(``use``), so under `dagster dev` the same steps only log to Dagster. Progress bars are drawn only
on a terminal (rich); in a log file or CI the stage lines alone remain.
"""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console as RichConsole
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

MAX_FILE_LINES = 4  # quarantine lines per source; the rest is counted (`fairshare quarantaine` lists all)


@dataclass
class RunLog:
    """What this run did, collected for the closing summary."""

    files: Counter = field(default_factory=Counter)  # status -> files of this run
    problems: list[str] = field(default_factory=list)  # rejected, skipped and ignored files, one line each
    nothing_new: bool = False


class Console:
    """Stage lines (unless ``quiet``) and an ingest progress bar on a terminal, on stderr."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.out = RichConsole(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self.log = RunLog()
        self._progress: Progress | None = None
        self._task = None

    def line(self, text: str) -> None:
        if not self.quiet:
            self.out.print(text, markup=False)

    def stage(self, name: str, seconds: float, detail: str = "") -> None:
        self.line(f"{name:<22} {seconds:6.1f} s  {detail}".rstrip())

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


_current: Console | None = None


def use(console: Console | None) -> None:
    """Install the console the steps of this process report to (None: report nothing)."""
    global _current
    _current = console


def report() -> Console | None:
    return _current


def quarantine_line(pad: str, kolommen: list[str]) -> str:
    """`swev/x.csv: 12 rows quarantined - netto_huur 5, label 4, ... - see fairshare quarantaine`."""
    counts = Counter(k for kolom in kolommen for k in kolom.split(", ") if k)
    parts = ", ".join(f"{k} {n}" for k, n in counts.most_common(4)) + (", ..." if len(counts) > 4 else "")
    rows = f"{len(kolommen)} row{'s' if len(kolommen) != 1 else ''}"
    return f"  {pad}: {rows} quarantined - {parts} - see fairshare quarantaine"
