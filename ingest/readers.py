"""Read an xlsx or csv file as sheets of raw cell values, in chunks (sources.md §2, "Reading files").

xlsx is read with python-calamine (cached values, no formula evaluation; hidden sheets
skipped) in a child process under a memory limit (``ingest/xlsx_worker.py``), after checking the
archive, so a hostile sheet rejects that file and never stops the run; csv with pandas' C parser after sniffing the encoding (UTF-8 with or without BOM,
else Windows-1252) and the delimiter (`;` or `,`). Rows come in chunks of ``CHUNK_ROWS``, so a
national delivery of millions of rows never sits in memory as a whole.
"""

from __future__ import annotations

import atexit
import codecs
import csv
import os
import pickle
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.values import ExcelError


class BadFile(Exception):
    """A file that cannot be loaded at all (sources.md §6); the message names the reason."""


CHUNK_ROWS = 100_000  # rows per chunk: ~100 MB of Python objects at 18 columns
HEAD_ROWS = 50  # leading rows searched for the header
WORKER = Path(__file__).with_name("xlsx_worker.py")


@dataclass
class Sheet:
    """One sheet: its first rows for the header search, and its rows in chunks from a given row on.

    A chunk is a DataFrame of raw cell values whose index is the row number as a spreadsheet user counts it.
    """

    name: str | None
    head: pd.DataFrame
    header_search_rows: int  # how many leading rows may hold the header
    chunks: Callable[[int], Iterator[pd.DataFrame]]  # chunks(first_row) reads the file again from that row
    field_counts: Callable[[], np.ndarray] | None = None  # csv: fields per line (index = row number - 1)

    @property
    def cells(self) -> pd.DataFrame:
        """The whole sheet at once (for tools and tests; the pipeline reads in chunks)."""
        parts = list(self.chunks(1))
        return pd.concat(parts) if parts else self.head


def read_sheets(path: Path) -> list[Sheet]:
    """All visible sheets of an xlsx, or the one table of a csv."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix == ".csv":
        return [_read_csv(path)]
    raise BadFile(f"not an xlsx or csv file ({path.suffix})")


def _limit(name: str, default: int) -> int:
    """An operating limit, overridable by the environment (read when a file is read, never at import)."""
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else default


def xlsx_limits() -> dict[str, int]:
    """Limits an xlsx must keep to be read at all (README, "Limits on xlsx files")."""
    return {"max_cells": _limit("FAIRSHARE_XLSX_MAX_CELLS", 50_000_000),
            "max_bytes": _limit("FAIRSHARE_XLSX_MAX_BYTES", 4 << 30),
            "memory": _limit("FAIRSHARE_XLSX_READER_MEMORY", 6 << 30),
            "cpu_seconds": _limit("FAIRSHARE_XLSX_READER_SECONDS", 1800)}


def _check_zip(path: Path, limits: dict[str, int]) -> None:
    """Before any parsing: a whole zip archive whose members unpack to no more than the limit."""
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
            if "xl/workbook.xml" not in zf.namelist():
                raise BadFile("not a readable xlsx file (no workbook in the archive)")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BadFile(f"not a readable xlsx file (the archive is damaged or cut off: {type(exc).__name__})") from exc
    if unpacked > limits["max_bytes"]:
        raise BadFile(f"not read: the xlsx unpacks to {unpacked:,} bytes, more than the limit of "
                      f"{limits['max_bytes']:,} (FAIRSHARE_XLSX_MAX_BYTES)")


class _Worker:
    """The xlsx worker process (``ingest/xlsx_worker.py``), kept for the run: one start-up, not one per file.

    A crash of it (a sheet that outgrows the memory limit, the CPU limit) rejects the file it was
    reading; the next file starts a new one.
    """

    def __init__(self, limits: dict[str, int]):
        memory, seconds = limits["memory"], limits["cpu_seconds"]
        self.key = (memory, seconds)

        def limit_memory() -> None:  # runs in the child before it starts
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CPU, (seconds, resource.RLIM_INFINITY))

        self.errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child can never block on it
        self.proc = subprocess.Popen([sys.executable, str(WORKER)], stdout=subprocess.PIPE, stderr=self.errors,
                                     stdin=subprocess.PIPE, preexec_fn=limit_memory)
        self.busy = False  # a reply is being read: a new command must not interleave with it

    def request(self, limits: dict[str, int], *command: object) -> Iterator[tuple]:
        """Send one command and yield its messages up to its ``end``; a crash becomes ``BadFile``."""
        self.busy = True
        try:
            pickle.dump(command, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died: reading its output below tells why
        while True:
            try:
                message = pickle.load(self.proc.stdout)
            except EOFError:
                break
            if message[0] == "fail":
                self.busy = False
                raise BadFile(f"not read: {message[1]}")
            if message[0] == "end":
                self.busy = False
                return
            yield message
        raise self._died(limits)

    def _died(self, limits: dict[str, int]) -> BadFile:
        code = self.proc.wait()
        self.errors.seek(0)
        stderr = self.errors.read()[-65536:].decode("utf-8", "replace")
        self.close()
        memory, seconds = limits["memory"], limits["cpu_seconds"]
        needed = re.search(r"memory allocation of (\d+) bytes failed", stderr)
        if needed:
            return BadFile(f"not read: the sheet's used range needs {int(needed.group(1)) / (1 << 30):,.1f} GiB, "
                           f"more than the reader's limit of {memory / (1 << 30):,.1f} GiB "
                           "(a stray cell far below or to the right of the table?)")
        if code in (-signal.SIGXCPU, -signal.SIGKILL) and "memory allocation" not in stderr:
            return BadFile(f"not read: parsing it took more than the reader's limit of {seconds:,} s of CPU "
                           "(FAIRSHARE_XLSX_READER_SECONDS)")
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        return BadFile(f"not a readable xlsx file (the reader stopped with {how})")

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.errors):
            try:
                stream.close()
            except OSError:
                pass


_worker_lock = threading.Lock()
_current: _Worker | None = None


def _worker(limits: dict[str, int]) -> _Worker:
    """The run's worker: a new one when none is alive, the limits changed, or a reply was left half read."""
    global _current
    with _worker_lock:
        if _current is None or not _current.alive or _current.busy or \
                _current.key != (limits["memory"], limits["cpu_seconds"]):
            if _current is not None:
                _current.close()
            _current = _Worker(limits)
        return _current


@atexit.register
def stop_worker() -> None:
    """End the xlsx worker (after a source's files: its memory is not held while dbt runs)."""
    global _current
    with _worker_lock:
        if _current is not None:
            _current.close()
            _current = None


def _read_xlsx(path: Path) -> list[Sheet]:
    limits = xlsx_limits()
    _check_zip(path, limits)
    errors: dict[str, list[tuple[int, int, str]]] = {}
    sheets = []
    for message in _worker(limits).request(limits, "open", str(path), limits["max_cells"], limits["cpu_seconds"]):
        if message[0] == "errors":
            errors = message[1]
            continue
        _, name, index, top, left, rows = message
        # chunks(first_row) streams the sheet from that row, parsed once by the worker
        chunks = partial(_xlsx_chunks, path, index, errors.get(name, ()), size=CHUNK_ROWS, limits=limits)
        head = _frame(rows, top + 1, left, errors.get(name, ())) if rows else _EMPTY
        sheets.append(Sheet(name=name, head=head, header_search_rows=HEAD_ROWS, chunks=chunks))
    return sheets


_EMPTY = pd.DataFrame(dtype=object)


def _frame(block: list | pd.DataFrame, row: int, left: int, errors) -> pd.DataFrame:
    """Rows starting at spreadsheet row ``row`` as a DataFrame, columns at their sheet positions."""
    frame = block if isinstance(block, pd.DataFrame) else pd.DataFrame(block, dtype=object)
    if left:  # keep column positions as the spreadsheet has them
        frame.columns = range(left, left + frame.shape[1])
        frame = frame.reindex(columns=range(left + frame.shape[1]), fill_value="")
    frame.index = pd.RangeIndex(row, row + len(frame))
    for r, c, code in errors:
        if row <= r < row + len(frame) and c < frame.shape[1]:
            frame.iat[r - row, c] = ExcelError(code)
    return frame


def _xlsx_chunks(path: Path, index: int, errors, first_row: int, *, size: int, limits: dict[str, int]
                 ) -> Iterator[pd.DataFrame]:
    """Rows of one sheet from ``first_row`` on, ``size`` at a time, Excel error cells restored.

    The worker parses while this process normalises the previous chunk: the two cores both work.
    """
    command = ("rows", str(path), limits["max_cells"], limits["cpu_seconds"], index, first_row, size)
    for _, row, left, columns in _worker(limits).request(limits, *command):
        data = {}
        for c, (distinct, codes) in enumerate(columns):
            values = np.empty(len(distinct), dtype=object)
            values[:] = distinct
            data[c] = values[np.frombuffer(codes, dtype=np.int32)]
        yield _frame(pd.DataFrame(data, dtype=object), row, left, errors)


def sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else Windows-1252.

    Windows-1252 leaves five bytes undefined; they are read as U+FFFD (a value holding one fails its
    check and is quarantined), never as an error that would stop the run.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "cp1252"


def _read_csv(path: Path) -> Sheet:
    with open(path, "rb") as fh:
        start = fh.read(4096)
    if b"\x00" in start or start.startswith(b"PK\x03\x04"):
        raise BadFile("not a readable csv file (binary content)")
    encoding = sniff_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        head_text = fh.read(65536)
    first = next((line for line in head_text.splitlines() if line.strip().strip(",;")), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    width = max(1, len(next(csv.reader([first], delimiter=delimiter), [])))

    def chunks(first_row: int, size: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        return _csv_chunks(path, encoding, delimiter, width, first_row, size)

    head = next(_csv_chunks(path, encoding, delimiter, width, 1, HEAD_ROWS), _EMPTY)
    first_nonempty = next((i for i, row in enumerate(head.itertuples(index=False)) if any(
        v not in (None, "") for v in row)), 0)
    return Sheet(name=None, head=head, header_search_rows=first_nonempty + 1, chunks=chunks,
                 field_counts=lambda: csv_field_counts(path, encoding, delimiter))


def csv_field_counts(path: Path, encoding: str, delimiter: str, block: int = 1 << 23) -> np.ndarray:
    """The number of fields of every line of a csv file, in order, as pandas numbers its rows.

    pandas fills a line's missing trailing fields exactly like empty ones, so a line cut short
    (a file still being copied) would load with empty values; this count tells them apart.
    Lines and delimiters are counted on the bytes with numpy; quoted fields (delimiters and line
    breaks inside quotes do not count) by the parity of the quotes before each position. Quotes
    that do not open or close a field at its edges (``ab"c``) make the csv module parse the file,
    as only it knows how such a file reads.
    """
    counts: list[np.ndarray] = []
    carry = 0  # delimiters of the line that continues into the next block
    pending = False  # bytes after the last newline
    inside = 0  # 1 when the previous block ended inside quotes
    previous = -1  # the byte before this block (-1: start of the file)
    sep, newline, cr, quote = ord(delimiter), 10, 13, 34
    edges = np.array([sep, newline, cr, quote, -1])
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            while chunk.endswith((b"\r", b'"')):  # is it \r\n, or a closing quote? look at the next byte
                more = fh.read(1)
                chunk += more
                if not more:
                    break
            b = np.frombuffer(chunk, dtype=np.uint8)
            quotes = np.flatnonzero(b == quote)
            at = np.flatnonzero(b == newline)
            crs = np.flatnonzero(b == cr)
            if crs.size:  # old Mac line ends (a \r not followed by \n), as pandas reads them
                bare = crs[(crs + 1 >= len(b)) | (b[np.minimum(crs + 1, len(b) - 1)] != newline)]
                if bare.size:
                    at = np.union1d(at, bare)
            seps = np.flatnonzero(b == sep)
            if quotes.size or inside:
                opens = ((np.arange(1, quotes.size + 1) + inside) & 1).astype(bool)  # inside after this quote
                wide = b.astype(np.int16)
                before = np.where(quotes > 0, wide[np.maximum(quotes - 1, 0)], previous)
                after = np.where(quotes + 1 < len(b), wide[np.minimum(quotes + 1, len(b) - 1)], -1)
                if not (np.isin(before[opens], edges).all() and np.isin(after[~opens], edges).all()):
                    return _csv_field_counts_quoted(path, encoding, delimiter)
                at = at[((np.searchsorted(quotes, at) + inside) & 1) == 0]
                seps = seps[((np.searchsorted(quotes, seps) + inside) & 1) == 0]
                inside = (quotes.size + inside) & 1
            previous = int(b[-1])
            # delimiters before each line end, by position: no running sum over every byte
            before_end = np.searchsorted(seps, at)
            if at.size:
                per_line = np.diff(np.concatenate(([0], before_end)))
                per_line[0] += carry
                counts.append(per_line + 1)
                carry = int(len(seps) - before_end[-1])
                pending = at[-1] < len(b) - 1
            else:
                carry += int(len(seps))
                pending = True
    if pending:
        counts.append(np.array([carry + 1]))
    return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)


def _csv_field_counts_quoted(path: Path, encoding: str, delimiter: str) -> np.ndarray:
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        return np.fromiter((len(row) for row in csv.reader(fh, delimiter=delimiter)), dtype=np.int64)


def _csv_chunks(path: Path, encoding: str, delimiter: str, width: int, first_row: int, size: int
                ) -> Iterator[pd.DataFrame]:
    row = first_row
    try:
        # na_filter off: every cell is text ('' for an empty field or one missing from a short line), no NaN scan
        reader = pd.read_csv(path, sep=delimiter, encoding=encoding, encoding_errors="replace", header=None,
                             dtype=str, names=range(width), na_filter=False, skip_blank_lines=False, engine="c",
                             skiprows=first_row - 1, chunksize=size)
        for frame in reader:
            frame.index = pd.RangeIndex(row, row + len(frame))
            row += len(frame)
            yield frame
        return
    except pd.errors.ParserError:
        pass  # ragged lines (more fields than the header): the csv module from the row where pandas stopped
    except pd.errors.EmptyDataError as exc:
        if first_row == 1:
            raise BadFile(f"not a readable csv file ({exc})") from exc
        return  # nothing below the header
    except UnicodeDecodeError as exc:
        raise BadFile(f"not a readable csv file ({exc})") from exc
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        lines = islice(csv.reader(fh, delimiter=delimiter), row - 1, None)
        while block := list(islice(lines, size)):
            frame = pd.DataFrame(block, dtype=object)
            frame.index = pd.RangeIndex(row, row + len(frame))
            row += len(frame)
            yield frame
