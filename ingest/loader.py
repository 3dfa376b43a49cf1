"""Open one landing file: find its header, then normalise its rows chunk by chunk.

Nothing here touches the warehouse: ``warehouse.store`` consumes the chunks inside the file's
transaction, so memory stays bounded by one chunk however large the delivery.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from basics import timing
from ingest import csv_duckdb, privacy
from ingest.config import IngestConfig, SourceSpec
from ingest.headers import HeaderMatch, match_headers
from ingest.landing import LandingFile
from ingest.normalise import Normalised, normalise, shown_as_stored
from ingest.readers import BadFile, Sheet, read_sheets
from ingest.reasons import Reden, reden
from ingest.text import clean

SUMMARY_PREFIXES = ("totaal", "total")
HEADERS_SHOWN = (
    20  # headers named in the reason of a file without its required ones (a wide file has thousands)
)
_EMPTY, _DATA, _SUMMARY = 0, 1, 2


@dataclass
class OpenedFile:
    """A file whose header was found; ``chunks()`` normalises its rows and keeps the load report."""

    file: LandingFile
    source: SourceSpec
    sheet: Sheet
    header_row: int  # row number of the header
    match: HeaderMatch
    config: IngestConfig
    key: bytes
    sheet_position: int = 1  # 1-based, among the visible sheets (as the tabs show them)
    rijen_gelezen: int = 0
    totaalrijen_overgeslagen: int = 0
    quarantine: list[dict] = field(default_factory=list)
    _field_counts: np.ndarray | None = None
    _memo: dict[str, dict] = field(default_factory=dict)  # parsed distinct values per column, across chunks
    _prepared: csv_duckdb.Prepared | None = None  # read by DuckDB: its good rows are in csv_duckdb.GOOD

    @property
    def blad(self) -> str | None:
        """The sheet as stored and shown: its position, with its name only when harmless (``privacy.sheet_label``)."""
        if self.sheet.name is None:  # csv
            return None
        return privacy.sheet_label(self.sheet_position, self.sheet.name, self.config.sheet_words)

    @property
    def kolommen_genegeerd(self) -> list[str]:
        return self.match.ignored

    @property
    def kolommen_verwijderd(self) -> list[str]:
        return self.match.dropped

    def chunks(self) -> Iterator[Normalised]:
        """Normalised good rows per chunk; bad rows go to ``self.quarantine``.

        Any failure of reading or normalising (memory included) is ``BadFile``: it rejects this file only.
        """
        context = {"commissie": self.file.commissie, "peildatum": self.file.leverdatum}
        with reader_failures():
            if self._prepared is not None:  # the good rows are in DuckDB: the others, chunk by chunk
                for chunk, good in enumerate(self._prepared.good):
                    with timing.stage("normalise"):
                        result = self._normalise(self._prepared.block(chunk), context)
                        self.rijen_gelezen += good
                        timing.count("rijen_gelezen", good)
                    yield result
                return
            for block in timing.timed("read", self.sheet.chunks(self.header_row + 1)):
                with timing.stage("normalise"):
                    result = self._normalise(block, context)
                yield result

    def prepare_sql(self, conn) -> str | None:
        """Read a regular csv with DuckDB (``ingest.csv_duckdb``), before the file's transaction begins.

        Returns the temp table holding its good rows as ``_nieuw`` takes them, or None: then ``chunks`` reads
        the file as before (not eligible, or anything went wrong).
        """
        with timing.stage("read"):
            self._prepared = csv_duckdb.prepare(self, conn)
        return csv_duckdb.GOOD if self._prepared is not None else None

    def shown_as_stored(self, row: dict) -> str:
        """``getoond`` of a row that loaded and then turned out bad (its key twice across chunks)."""
        return shown_as_stored(row, self.match.seen, self.source, self.config)

    def _normalise(self, block: pd.DataFrame, context: dict) -> Normalised:
        """Drop empty and summary rows of one chunk and normalise the rest."""
        kinds = row_kinds(block.to_numpy(dtype=object))
        data = block.loc[kinds == _DATA]
        self.totaalrijen_overgeslagen += int((kinds == _SUMMARY).sum())
        self.rijen_gelezen += len(data)
        timing.count("rijen_gelezen", len(data))
        cells = pd.DataFrame(
            {
                name: data.iloc[:, pos].to_numpy(dtype=object)
                if pos < data.shape[1]
                else np.full(len(data), None, dtype=object)
                for pos, name in self.match.columns.items()
            }
        )
        result = normalise(
            cells,
            data.index.to_numpy(),
            self.match.seen,
            self.source,
            self.config,
            self.key,
            context,
            self._short_lines(data),
            self._memo,
        )
        self.quarantine.extend(result.quarantine)
        return result

    def _short_lines(self, data: pd.DataFrame) -> list[tuple[str, np.ndarray, Reden]]:
        """csv lines with fewer fields than the header (a cut-off line, e.g. of a half-copied file).

        pandas reads missing trailing fields as empty ones, so the reader counts each line's fields.
        """
        if self.sheet.field_counts is None or not len(data):
            return []
        if self._field_counts is None:
            self._field_counts = self.sheet.field_counts()
        header = self.sheet.head.loc[self.header_row].tolist()
        width = max((i + 1 for i, v in enumerate(header) if v not in (None, "")), default=0)
        positions = data.index.to_numpy() - 1
        fields = np.full(len(data), width, dtype=np.int64)
        known = positions < len(self._field_counts)
        fields[known] = self._field_counts[positions[known]]
        flags = []
        for n in np.unique(fields[fields < width]):
            missing = [name for pos, name in sorted(self.match.columns.items()) if pos >= n]
            present = [name for pos, name in sorted(self.match.columns.items()) if pos < n]
            column = (missing or present)[0] if missing else present[-1]
            flags.append(
                (
                    column,
                    fields == n,
                    reden("line_cut_off", fields=int(n), width=int(width)),
                )
            )
        return flags


_CAREFUL = frozenset(" \t\r\n\xa0\u202ftT")  # first characters that need a closer look
_SPACE = frozenset(" \t\r\n\xa0\u202f")


def _kind(value: object) -> int:
    if type(value) is str and value and value[0] not in _CAREFUL:
        return _DATA  # nearly every row: a non-blank first cell that cannot start with Totaal
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return _EMPTY
    if isinstance(value, str):
        text = clean(value)
        if not text:
            return _EMPTY
        return _SUMMARY if text[:6].lower().startswith(SUMMARY_PREFIXES) else _DATA
    return _DATA


def row_kinds(values: np.ndarray) -> np.ndarray:
    """Per row: empty, data, or a summary row (its first non-empty cell starts with Totaal/Total).

    Decided on the first column for nearly every row; only rows whose first cell is empty look further.
    """
    n, width = values.shape if values.ndim == 2 else (0, 0)
    kinds = np.zeros(n, dtype=np.int8)
    undecided = np.arange(n)
    if (
        n and width
    ):  # the common case decided for all rows at once: a text first cell with a plain first character
        plain = np.array(
            [
                type(v) is str and v != "" and v[0] not in _SPACE and v[:4].lower() != "tota"
                for v in values[:, 0]
            ],
            dtype=bool,
        )
        kinds[plain] = _DATA
        undecided = np.flatnonzero(~plain)
    for col in range(width):
        if not len(undecided):
            break
        found = np.fromiter((_kind(v) for v in values[undecided, col]), dtype=np.int8, count=len(undecided))
        kinds[undecided] = found
        undecided = undecided[found == _EMPTY]
    return kinds


def _find_header(
    sheets: list[Sheet], source: SourceSpec, config: IngestConfig
) -> tuple[Sheet, int, HeaderMatch]:
    best: tuple[int, HeaderMatch | None] = (-1, None)
    for sheet in sheets:
        for row_number, row in list(sheet.head.iterrows())[: sheet.header_search_rows]:
            match = match_headers(list(row), source, config)
            found = len(source.required) - len(match.missing(source))
            if found == len(source.required):
                if match.duplicates:
                    col, heads = next(iter(match.duplicates.items()))
                    raise BadFile("header_duplicate", column=col, headers=list(heads))
                return sheet, int(row_number), match
            if found > best[0] and match.headers:
                best = (found, match)
    if best[1] is None:
        raise BadFile("header_row_missing")
    seen = best[1].headers
    raise BadFile(
        "required_columns_missing" if len(sheets) == 1 else "required_columns_missing_sheets",
        columns=list(best[1].missing(source)),
        headers=seen[:HEADERS_SHOWN],
        more=reden("headers_more", count=len(seen) - HEADERS_SHOWN) if len(seen) > HEADERS_SHOWN else None,
    )


@contextmanager
def reader_failures() -> Iterator[None]:
    """A failure of any kind while a file is read becomes ``BadFile`` (sources.md §6: it rejects that file only).

    The message names the exception's class and where it was raised, never its text (which may quote a cell).
    """
    try:
        yield
    except BadFile:
        raise
    except MemoryError as exc:
        raise BadFile("reader_memory") from exc
    except OSError as exc:  # vanished or unreadable while it was read
        raise BadFile("reader_os_error", error=type(exc).__name__) from exc
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        raise BadFile("reader_failed", error=type(exc).__name__, where=where) from exc


def open_file(file: LandingFile, config: IngestConfig, key: bytes) -> OpenedFile:
    """Read the file's first rows and match its header; raises ``BadFile`` for a file that cannot load."""
    source = config.sources[file.bron]
    with timing.stage("read"), reader_failures():
        sheets = read_sheets(file.path)
        sheet, header_row, match = _find_header(sheets, source, config)
    position = next(i for i, s in enumerate(sheets, start=1) if s is sheet)
    return OpenedFile(
        file=file,
        source=source,
        sheet=sheet,
        header_row=header_row,
        match=match,
        config=config,
        key=key,
        sheet_position=position,
    )
