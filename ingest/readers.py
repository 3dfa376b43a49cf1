"""Read an xlsx or csv file as sheets of raw cell values, in chunks (sources.md §2, "Reading files").

xlsx is read with python-calamine (cached values, no formula evaluation; hidden sheets
skipped) in a child process under a memory limit (``ingest/xlsx_worker.py``), after checking the
archive, so a hostile sheet rejects that file and never stops the run; csv with pandas' C parser after sniffing
the encoding (UTF-8 with or without BOM, else Windows-1252) and the delimiter (`;` or `,`), and after a numpy
scan of every byte (``csv_field_counts``) that rejects a line too long or too wide (``csv_limits``) or a quote
never closed before pandas builds any line. Rows come in chunks of ``CHUNK_ROWS``, so a national delivery of
millions of rows never sits in memory as a whole; a csv that reads to fewer lines than the scan counted is
rejected, so no line is ever lost silently.
"""

from __future__ import annotations

import atexit
import codecs
import csv
import datetime as dt
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

from ingest.limits import csv_limits, xlsx_limits
from ingest.reasons import Reden
from ingest.values import ExcelError


class BadFile(Exception):
    """A file that cannot be loaded at all (sources.md §6): ``reden`` is the reason's code and parameters
    (``ingest.reasons``); the message is its English text."""

    def __init__(self, code: str, **params):
        self.reden = Reden(code, params)
        super().__init__(self.reden.render("en"))


CHUNK_ROWS = 100_000  # rows per chunk: ~100 MB of Python objects at 18 columns
HEAD_ROWS = 50  # leading rows searched for the header
WORKER = Path(__file__).with_name("xlsx_worker.py")
PHANTOM_DAY = "29-02-1900"  # Excel's serial 60, as the worker marks it (``xlsx_worker.PHANTOM_DAY``)
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # a compound file: an old .xls, or an encrypted workbook


@dataclass(frozen=True)
class CsvLayout:
    """How a csv file reads: what the DuckDB path (``ingest.csv_duckdb``) needs to read it as pandas does.

    ``regular``: every line has the same number of fields (``width``, at least 2) and the numpy scan read it
    (no quote inside a field, where only the csv module knows how the file reads).
    """

    path: Path
    encoding: str
    delimiter: str
    width: int
    rows: int  # rows per chunk
    lines: int  # lines the scan counted
    regular: bool


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
    csv: CsvLayout | None = None  # csv: how it reads, for the DuckDB path (``ingest.csv_duckdb``)

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
    raise BadFile("not_xlsx_or_csv", suffix=path.suffix)


_ENCRYPTED = "EncryptedPackage".encode(
    "utf-16-le"
)  # the stream Excel writes a password-protected workbook to
_XLS = ("Workbook".encode("utf-16-le"), "Book".encode("utf-16-le"))  # the stream of an Excel 97-2003 workbook


def _ole2_kind(path: Path) -> str:
    """What a compound file (OLE2) named .xlsx holds, by its stream names (UTF-16 in its directory sectors)."""
    kind, tail = "", b""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            window = tail + chunk  # a name may straddle two chunks
            if _ENCRYPTED in window:
                return "encrypted"
            if any(name in window for name in _XLS):
                kind = "xls"
            tail = window[-64:]
    return kind


def _check_zip(path: Path, limits: dict[str, int]) -> None:
    """Before any parsing: a whole zip archive whose members unpack to no more than the limit."""
    with open(path, "rb") as fh:
        if fh.read(len(OLE2_MAGIC)) == OLE2_MAGIC:
            kind = _ole2_kind(path)
            if kind == "encrypted":
                raise BadFile("xlsx_encrypted")
            if kind == "xls":
                raise BadFile("xlsx_old_xls")
            raise BadFile("xlsx_ole2")
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
            if "xl/workbook.xml" not in zf.namelist():
                raise BadFile("xlsx_no_workbook")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BadFile("xlsx_damaged", error=type(exc).__name__) from exc
    if unpacked > limits["max_bytes"]:
        raise BadFile("xlsx_unpacks_too_large", unpacked=unpacked, limit=limits["max_bytes"])


_noted: set[str] = set()


def _within_own_limits(limits: dict[str, int]) -> tuple[int, int, int, list[str]]:
    """The xlsx reader's memory and CPU limits, no higher than this process's own hard limits (``ulimit``).

    A child may lower its limits but never raise them above its parent's hard ones: the setting is
    clamped to what this process may use (the reader could never use more anyway) rather than failing
    to start the reader (or rejecting every xlsx). Returns (memory, CPU seconds, the CPU hard limit to
    keep, a sentence per setting clamped).
    """
    memory, seconds = limits["memory"], limits["cpu_seconds"]
    unlimited = resource.RLIM_INFINITY
    memory_hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    notes = []
    if memory_hard != unlimited and memory > memory_hard:
        notes.append(
            f"FAIRSHARE_XLSX_READER_MEMORY is {memory / (1 << 30):,.1f} GiB, but this process may use at "
            f"most {memory_hard / (1 << 30):,.1f} GiB of memory (its ulimit): the xlsx reader runs with "
            f"{memory_hard / (1 << 30):,.1f} GiB"
        )
        memory = memory_hard
    if cpu_hard != unlimited and seconds > cpu_hard:
        notes.append(
            f"FAIRSHARE_XLSX_READER_SECONDS is {seconds:,} s, but this process may use at most "
            f"{cpu_hard:,} s of CPU (its ulimit): the xlsx reader runs with {cpu_hard:,} s"
        )
        seconds = cpu_hard
    return memory, seconds, cpu_hard, notes


def xlsx_limit_notes() -> list[str]:
    """The xlsx reader's limits that this process's own limits lower, each said once per process."""
    notes = [n for n in _within_own_limits(xlsx_limits())[3] if n not in _noted]
    _noted.update(notes)
    return notes


class _Worker:
    """The xlsx worker process (``ingest/xlsx_worker.py``), kept for the run: one start-up, not one per file.

    A crash of it (a sheet that outgrows the memory limit, the CPU limit) rejects the file it was
    reading; the next file starts a new one.
    """

    def __init__(self, limits: dict[str, int]):
        self.key = (limits["memory"], limits["cpu_seconds"])
        memory, seconds, cpu_hard, _ = _within_own_limits(limits)

        def limit_memory() -> None:  # runs in the child before it starts (hard limits only ever lowered)
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_CPU, (seconds, cpu_hard))

        self.errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child can never block on it
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdout=subprocess.PIPE,
            stderr=self.errors,
            stdin=subprocess.PIPE,
            preexec_fn=limit_memory,
        )
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
                raise BadFile(message[1], **message[2])  # the worker's code and parameters
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
        memory, seconds, _, _ = _within_own_limits(limits)
        needed = re.search(r"memory allocation of (\d+) bytes failed", stderr)
        if needed:
            return BadFile(
                "xlsx_memory_needed", needed=int(needed.group(1)) / (1 << 30), limit=memory / (1 << 30)
            )
        if code in (-signal.SIGXCPU, -signal.SIGKILL) and "memory allocation" not in stderr:
            return BadFile("xlsx_cpu_limit", seconds=seconds)
        if code < 0:
            return BadFile("xlsx_reader_signal", signal=-code)
        return BadFile("xlsx_reader_exit", status=code)

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
        if (
            _current is None
            or not _current.alive
            or _current.busy
            or _current.key != (limits["memory"], limits["cpu_seconds"])
        ):
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
    for message in _worker(limits).request(
        limits, "open", str(path), limits["max_cells"], limits["cpu_seconds"]
    ):
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
            if code != PHANTOM_DAY:
                frame.iat[r - row, c] = ExcelError(code)
            elif _is_feb_28_1900(
                frame.iat[r - row, c]
            ):  # serial 60 made a date: the day Excel shows, never 28-02
                frame.iat[r - row, c] = PHANTOM_DAY
    return frame


def _is_feb_28_1900(value: object) -> bool:
    return isinstance(value, dt.date) and (value.year, value.month, value.day) == (1900, 2, 28)


def _xlsx_chunks(
    path: Path, index: int, errors, first_row: int, *, size: int, limits: dict[str, int]
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


CHUNK_CELLS = CHUNK_ROWS * 40  # a wide csv reads in fewer rows per chunk: memory follows cells, not rows


def _check_csv_start(start: bytes) -> None:
    """Reject what is no csv of ours before decoding it, naming what it is where that is known."""
    if start.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise BadFile("csv_utf32")
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BadFile("csv_utf16")
    if start.startswith(b"PK\x03\x04"):
        raise BadFile("csv_zip")
    if start.startswith(OLE2_MAGIC):
        raise BadFile("csv_xls")
    if b"\x00" in start:
        even, odd = start[0::2], start[1::2]
        if len(start) >= 4 and (even.count(0) > 0.9 * len(even) or odd.count(0) > 0.9 * len(odd)):
            raise BadFile("csv_utf16_no_bom")
        raise BadFile("csv_binary")


def _read_csv(path: Path) -> Sheet:
    with open(path, "rb") as fh:
        start = fh.read(4096)
    _check_csv_start(start)
    encoding = sniff_encoding(path)
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        head_text = fh.read(65536)
    first = next((line for line in head_text.splitlines() if line.strip().strip(",;")), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    # Every line is scanned before pandas sees the file: limits, quotes, and the widest line, so that
    # pandas gets a name for every field (a line wider than its names would turn fields into an index).
    counts, by_numpy = _field_counts(path, encoding, delimiter, limits=csv_limits())
    width = max(1, int(counts.max())) if len(counts) else 1
    rows = max(1, min(CHUNK_ROWS, CHUNK_CELLS // width))

    def chunks(first_row: int, size: int = rows) -> Iterator[pd.DataFrame]:
        return _csv_chunks(path, encoding, delimiter, width, first_row, size, lines=len(counts))

    head = next(_csv_chunks(path, encoding, delimiter, width, 1, HEAD_ROWS), _EMPTY)
    first_nonempty = next(
        (i for i, row in enumerate(head.itertuples(index=False)) if any(v not in (None, "") for v in row)), 0
    )
    return Sheet(
        name=None,
        head=head,
        header_search_rows=first_nonempty + 1,
        chunks=chunks,
        field_counts=lambda: counts,
        csv=CsvLayout(
            path=path,
            encoding=encoding,
            delimiter=delimiter,
            width=width,
            rows=rows,
            lines=len(counts),
            regular=by_numpy and width >= 2 and bool(len(counts)) and bool((counts == width).all()),
        ),
    )


def _too_long(line: int, limit: int, inside: bool) -> BadFile:
    return BadFile("csv_line_too_long_quote" if inside else "csv_line_too_long", line=line, limit=limit)


def _too_wide(line: int, fields: int, limit: int) -> BadFile:
    return BadFile("csv_too_many_fields", line=line, fields=fields, limit=limit)


def _unclosed(line: int, after: int) -> BadFile:
    if after:
        return BadFile("csv_quote_unclosed", line=line, after=after)
    return BadFile("csv_quote_unclosed_at_end", line=line)


def _next_block(fh, block: int) -> bytes:
    """The next block of the file, extended while it ends in ``\r`` or ``"``: is it ``\r\n``, or a closing
    quote? The next byte tells."""
    chunk = fh.read(block)
    while chunk.endswith((b"\r", b'"')):
        more = fh.read(1)
        chunk += more
        if not more:
            break
    return chunk


def _line_ends(b: np.ndarray) -> np.ndarray:
    """Positions of the line ends of a block: ``\n``, and a ``\r`` not followed by ``\n`` (old Mac line ends,
    as pandas reads them)."""
    at = np.flatnonzero(b == 10)
    crs = np.flatnonzero(b == 13)
    if crs.size:
        bare = crs[(crs + 1 >= len(b)) | (b[np.minimum(crs + 1, len(b) - 1)] != 10)]
        if bare.size:
            at = np.union1d(at, bare)
    return at


def csv_field_counts(
    path: Path, encoding: str, delimiter: str, block: int = 1 << 23, limits: dict[str, int] | None = None
) -> np.ndarray:
    """The number of fields of every line of a csv file (``_field_counts``)."""
    return _field_counts(path, encoding, delimiter, block, limits)[0]


def _field_counts(
    path: Path, encoding: str, delimiter: str, block: int = 1 << 23, limits: dict[str, int] | None = None
) -> tuple[np.ndarray, bool]:
    """The number of fields of every line of a csv file, in order, as pandas numbers its rows.

    pandas fills a line's missing trailing fields exactly like empty ones, so a line cut short
    (a file still being copied) would load with empty values; this count tells them apart.
    Lines and delimiters are counted on the bytes with numpy; quoted fields (delimiters and line
    breaks inside quotes do not count) by the parity of the quotes before each position. Quotes
    that do not open or close a field at its edges (``ab"c``) make the csv module parse the file,
    as only it knows how such a file reads.

    It is also where a hostile csv is stopped before any parser builds its lines (``limits``,
    ``csv_limits``): a line longer than ``max_line_bytes`` (found while the line is still being
    read, so memory stays at one block), a line of more than ``max_fields`` fields, or a quote that
    is never closed (it would swallow every line after it) raises ``BadFile`` naming the line.
    The flag is False when the csv module read the file.
    """
    limits = limits or {"max_line_bytes": 1 << 62, "max_fields": 1 << 62}
    max_bytes, max_fields = limits["max_line_bytes"], limits["max_fields"]
    counts: list[np.ndarray] = []
    lines = 0  # lines ended so far
    carry = 0  # delimiters of the line that continues into the next block
    pending = False  # bytes after the last newline
    inside = 0  # 1 when the previous block ended inside quotes
    previous = -1  # the byte before this block (-1: start of the file)
    offset = 0  # of this block in the file
    line_start = 0  # offset of the line being read
    swallowed = 0  # line breaks after the quote that opened the field still open at the end of the last block
    sep, newline, quote = ord(delimiter), 10, 34
    edges = np.array([sep, newline, 13, quote, -1])
    with open(path, "rb") as fh:
        while chunk := _next_block(fh, block):
            b = np.frombuffer(chunk, dtype=np.uint8)
            quotes = np.flatnonzero(b == quote)
            at = _line_ends(b)
            seps = np.flatnonzero(b == sep)
            breaks = at
            if quotes.size or inside:
                opens = ((np.arange(1, quotes.size + 1) + inside) & 1).astype(bool)  # inside after this quote
                wide = b.astype(np.int16)
                before = np.where(quotes > 0, wide[np.maximum(quotes - 1, 0)], previous)
                after = np.where(quotes + 1 < len(b), wide[np.minimum(quotes + 1, len(b) - 1)], -1)
                if not (np.isin(before[opens], edges).all() and np.isin(after[~opens], edges).all()):
                    return _csv_field_counts_quoted(path, encoding, delimiter, limits), False
                at = at[((np.searchsorted(quotes, at) + inside) & 1) == 0]
                seps = seps[((np.searchsorted(quotes, seps) + inside) & 1) == 0]
                ends_inside = (quotes.size + inside) & 1
                if ends_inside:  # the field open at the end: the line breaks after the quote that opened it
                    if quotes.size:
                        swallowed = 0
                        breaks = breaks[breaks > quotes[-1]]
                    swallowed += int(breaks.size)
                inside = ends_inside
            previous = int(b[-1])
            # delimiters before each line end, by position: no running sum over every byte
            before_end = np.searchsorted(seps, at)
            if at.size:
                per_line = np.diff(np.concatenate(([0], before_end)))
                per_line[0] += carry
                lengths = np.diff(np.concatenate(([line_start - offset - 1], at))) - 1
                if lengths.max() > max_bytes:
                    raise _too_long(lines + int(np.argmax(lengths > max_bytes)) + 1, max_bytes, False)
                if per_line.max() + 1 > max_fields:
                    k = int(np.argmax(per_line + 1 > max_fields))
                    raise _too_wide(lines + k + 1, int(per_line[k]) + 1, max_fields)
                counts.append(per_line + 1)
                lines += len(per_line)
                carry = int(len(seps) - before_end[-1])
                pending = at[-1] < len(b) - 1
                line_start = offset + int(at[-1]) + 1
            else:
                carry += int(len(seps))
                pending = True
            offset += len(b)
            if offset - line_start > max_bytes:  # a line still growing: stop before reading more of it
                raise _too_long(lines + 1, max_bytes, bool(inside))
    if inside:
        raise _unclosed(lines + 1, swallowed - (previous == newline))
    if pending:
        if carry + 1 > max_fields:
            raise _too_wide(lines + 1, carry + 1, max_fields)
        counts.append(np.array([carry + 1]))
    return (np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)), True


_END = "\ufdd0fairshare end of file\ufdd0"  # a noncharacter: text of no real file


class _Lines:
    """The file's physical lines for the csv module; a line of the file (a record) past the limit stops it at once."""

    def __init__(self, fh, limit: int):
        self.fh, self.limit = fh, limit
        self.physical = 0  # lines handed out
        self.record = 0  # characters since the csv module last finished a line of the file
        self.rows = 0  # lines of the file finished

    def __iter__(self):
        for line in self.fh:
            self.physical += 1
            self.record += len(line)
            if self.record > self.limit:  # only a quoted field open over many lines gets here
                raise _too_long(self.rows + 1, self.limit, True)
            yield line
        yield _END  # read as a line of its own (each item ends a line) unless a quoted field is still open


def _physical_lines_within(path: Path, limit: int, block: int = 1 << 23) -> None:
    """Before the csv module reads the file line by line: no physical line longer than the limit."""
    done, length_so_far = 0, 0
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            b = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero((b == 10) | (b == 13))
            if not ends.size:
                length_so_far += len(b)
            else:
                lengths = np.diff(np.concatenate(([-1], ends))) - 1
                lengths[0] += length_so_far
                if lengths.max() > limit:
                    raise _too_long(done + int(np.argmax(lengths > limit)) + 1, limit, False)
                done += len(ends)
                length_so_far = len(b) - int(ends[-1]) - 1
            if length_so_far > limit:
                raise _too_long(done + 1, limit, False)


def _csv_field_counts_quoted(path: Path, encoding: str, delimiter: str, limits: dict[str, int]) -> np.ndarray:
    max_bytes, max_fields = limits["max_line_bytes"], limits["max_fields"]
    _physical_lines_within(path, max_bytes)
    if csv.field_size_limit() < max_bytes:  # one field may fill a whole line of the file
        csv.field_size_limit(max_bytes)
    counts: list[int] = []
    before = 0  # physical lines before the line of the file being read
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        lines = _Lines(fh, max_bytes)
        reader = csv.reader(lines, delimiter=delimiter)
        for row in reader:
            if row == [_END]:
                return np.array(counts, dtype=np.int64)
            if len(row) > max_fields:
                raise _too_wide(len(counts) + 1, len(row), max_fields)
            counts.append(len(row))
            if (
                reader.line_num > lines.physical
            ):  # this line of the file took the end marker in: a quote left open
                raise _unclosed(len(counts), lines.physical - before - 1)
            lines.record, lines.rows, before = 0, len(counts), reader.line_num
    return np.array(counts, dtype=np.int64)


def _csv_chunks(
    path: Path, encoding: str, delimiter: str, width: int, first_row: int, size: int, lines: int | None = None
) -> Iterator[pd.DataFrame]:
    """Rows from ``first_row`` on; read to the end, they must be the ``lines`` the scan counted (none lost)."""
    row = first_row
    try:
        # na_filter off: every cell is text ('' for an empty field or one missing from a short line), no NaN scan
        reader = pd.read_csv(
            path,
            sep=delimiter,
            encoding=encoding,
            encoding_errors="replace",
            header=None,
            dtype=str,
            names=range(width),
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            skiprows=first_row - 1,
            chunksize=size,
        )
        for frame in reader:
            frame.index = pd.RangeIndex(row, row + len(frame))
            row += len(frame)
            yield frame
        _all_read(first_row, row, lines)
        return
    except pd.errors.ParserError:
        pass  # a line pandas cannot split: the csv module from the row where pandas stopped
    except pd.errors.EmptyDataError as exc:
        if first_row == 1:
            raise BadFile("csv_empty", error=str(exc)) from exc
        _all_read(first_row, row, lines)
        return  # nothing below the header
    except UnicodeDecodeError as exc:
        raise BadFile("csv_decode", error=str(exc)) from exc
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        records = islice(csv.reader(fh, delimiter=delimiter), row - 1, None)
        while block := list(islice(records, size)):
            frame = pd.DataFrame(block, dtype=object)
            frame.index = pd.RangeIndex(row, row + len(frame))
            row += len(frame)
            yield frame
    _all_read(first_row, row, lines)


def _all_read(first_row: int, next_row: int, lines: int | None) -> None:
    """Every line the scan counted was read: a parser that stops early never shortens a file silently."""
    if lines is not None and next_row - 1 != max(lines, first_row - 1):
        raise BadFile("csv_lines_lost", found=next_row - 1, lines=lines)
