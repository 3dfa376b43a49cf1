"""Where the steps of a run report their progress: a sink that shows nothing unless the shell installs one.

The steps (ingest, dbt, gate, publication) call ``report()`` and, when a sink is installed (``use``),
give it one line per stage, a file count while a source loads and this run's file statuses (``RunLog``).
Under `dagster dev` no sink is installed, so the same steps only log to Dagster. The command line's
sink draws on a terminal (``fairshare.console.Console``); ``Sink`` itself only counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MAX_FILE_LINES = 4  # quarantine lines per source; the rest is counted (`fairshare quarantaine` lists all)

# What the stage lines and the run summary call each kind of file of a run (``warehouse.loading.KINDS``).
FILE_WORDS = {
    "geladen": "new",
    "ongewijzigd": "unchanged",
    "ongewijzigd_afgewezen": "unchanged (rejected)",
    "afgewezen": "rejected",
    "overgeslagen": "skipped",  # still being written, or gone while read: the next run reads it
    "genegeerd": "ignored",  # a symbolic link, a hidden file or a folder named as a delivery
    "geen_data": "not data",  # a LEESMIJ.txt, a PDF: said once per content, never a delivery
}
# The kinds whose files the summary lists one line each (``RunLog.problems``), so each count equals its list.
FILE_LINES = ("ongewijzigd_afgewezen", "afgewezen", "overgeslagen", "genegeerd", "geen_data")


@dataclass
class RunLog:
    """What this run did, collected for the closing summary."""

    files: Counter = field(default_factory=Counter)  # kind (FILE_WORDS) -> files of this run
    # One line per file of a kind in FILE_LINES (``<word>: <reason>``), and the gate's warnings.
    problems: list[str] = field(default_factory=list)
    nothing_new: bool = False
    publicatie: list[str] = field(default_factory=list)  # the summary's lines on the publication


class Sink:
    """A progress sink that shows nothing and keeps this run's ``RunLog`` (for the summary)."""

    def __init__(self) -> None:
        self.log = RunLog()

    def line(self, text: str) -> None:
        """One line for the person running the pipeline."""

    def stage(self, name: str, seconds: float, detail: str = "") -> None:
        self.line(f"{name:<22} {seconds:6.1f} s  {detail}".rstrip())

    @contextmanager
    def files(self, label: str, total: int) -> Iterator[None]:
        """While a source's ``total`` files load (``advance`` counts them)."""
        yield

    def advance(self, files: int = 0, rows: int = 0) -> None:
        """One more file loaded, ``rows`` more rows read."""


_current: Sink | None = None


def use(sink: Sink | None) -> None:
    """Install the sink the steps of this process report to (None: report nothing)."""
    global _current
    _current = sink


def report() -> Sink | None:
    return _current


def quarantine_line(pad: str, kolommen: list[str]) -> str:
    """`swev/x.csv: 12 rows quarantined - netto_huur 5, label 4, ... - see fairshare quarantaine`."""
    counts = Counter(k for kolom in kolommen for k in kolom.split(", ") if k)
    parts = ", ".join(f"{k} {n}" for k, n in counts.most_common(4)) + (", ..." if len(counts) > 4 else "")
    rows = f"{len(kolommen)} row{'s' if len(kolommen) != 1 else ''}"
    return f"  {pad}: {rows} quarantined - {parts} - see fairshare quarantaine"
