"""Read an xlsx or csv file as sheets of raw cell values, in chunks (sources.md §2, "Reading files").

xlsx is read with python-calamine (cached values, no formula evaluation; hidden sheets
skipped); csv with pandas' C parser after sniffing the encoding (UTF-8 with or without BOM,
else Windows-1252) and the delimiter (`;` or `,`). Rows come in chunks of ``CHUNK_ROWS``, so a
national delivery of millions of rows never sits in memory as a whole.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from ingest.values import ExcelError


class BadFile(Exception):
    """A file that cannot be loaded at all (sources.md §6); the message names the reason."""


CHUNK_ROWS = 100_000  # rows per chunk: ~100 MB of Python objects at 18 columns
HEAD_ROWS = 50  # leading rows searched for the header


@dataclass
class Sheet:
    """One sheet: its first rows for the header search, and its rows in chunks from a given row on.

    A chunk is a DataFrame of raw cell values whose index is the row number as a spreadsheet user counts it.
    """

    name: str | None
    head: pd.DataFrame
    header_search_rows: int  # how many leading rows may hold the header
    chunks: Callable[[int], Iterator[pd.DataFrame]]  # chunks(first_row) reads the file again from that row

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


def _read_xlsx(path: Path) -> list[Sheet]:
    try:
        wb = CalamineWorkbook.from_path(str(path))
        errors = _error_cells(path)
        sheets = []
        for meta in wb.sheets_metadata:
            if meta.visible != SheetVisibleEnum.Visible:
                continue

            def chunks(first_row: int, name: str = meta.name, size: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
                return _xlsx_chunks(path, name, errors.get(name, ()), first_row, size)

            head = next(_xlsx_chunks(path, meta.name, errors.get(meta.name, ()), 1, HEAD_ROWS), _EMPTY)
            sheets.append(Sheet(name=meta.name, head=head, header_search_rows=HEAD_ROWS, chunks=chunks))
        return sheets
    except BadFile:
        raise
    except Exception as exc:  # calamine raises several types for broken files
        raise BadFile(f"not a readable xlsx file ({type(exc).__name__}: {exc})") from exc


_EMPTY = pd.DataFrame(dtype=object)


def _xlsx_chunks(path: Path, name: str, errors, first_row: int, size: int) -> Iterator[pd.DataFrame]:
    """Rows of one sheet from ``first_row`` on, ``size`` at a time, Excel error cells restored."""
    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name)
        if sheet.start is None or sheet.height == 0:
            return
        top, left = sheet.start
        rows = sheet.iter_rows()
        row = top + 1  # row number of the next row the iterator yields
        if first_row > row:
            for _ in islice(rows, first_row - row):
                pass
            row = first_row
        while block := list(islice(rows, size)):
            frame = pd.DataFrame(block, dtype=object)
            if left:  # keep column positions as the spreadsheet has them
                frame.columns = range(left, left + frame.shape[1])
                frame = frame.reindex(columns=range(left + frame.shape[1]), fill_value="")
            frame.index = pd.RangeIndex(row, row + len(frame))
            for r, c, code in errors:
                if row <= r < row + len(frame) and c < frame.shape[1]:
                    frame.iat[r - row, c] = ExcelError(code)
            row += len(frame)
            yield frame
    except Exception as exc:
        raise BadFile(f"not a readable xlsx file ({type(exc).__name__}: {exc})") from exc


_CELL_REF = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?t="e"[^>]*>(?:<f[^<]*(?:</f>)?)?<v>([^<]*)</v>')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _error_cells(path: Path) -> dict[str, list[tuple[int, int, str]]]:
    """Excel error values (cells of type `e`) per sheet name.

    calamine reads an error cell as an empty string, which would hide `#REF!` and friends;
    the sheet XML says which cells hold one. Only sheets that contain `t="e"` are scanned.
    """
    found: dict[str, list[tuple[int, int, str]]] = {}
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace") if \
            "xl/_rels/workbook.xml.rels" in names else ""
        targets = dict(re.findall(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
        targets.update({k: v for v, k in re.findall(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
        for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', workbook):
            target = targets.get(rid, "").lstrip("/")
            member = target if target.startswith("xl/") else f"xl/{target}"
            if member not in names:
                continue
            xml = zf.read(member)
            if b't="e"' not in xml:
                continue
            found[_unescape(name)] = [(int(r), _col_index(c), v.decode()) for c, r, v in _CELL_REF.findall(xml)]
    return found


def _unescape(text: str) -> str:
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')


def sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else Windows-1252."""
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
    with open(path, encoding=encoding, newline="") as fh:
        head_text = fh.read(65536)
    first = next((line for line in head_text.splitlines() if line.strip().strip(",;")), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    width = max(1, len(next(csv.reader([first], delimiter=delimiter), [])))

    def chunks(first_row: int, size: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        return _csv_chunks(path, encoding, delimiter, width, first_row, size)

    head = next(_csv_chunks(path, encoding, delimiter, width, 1, HEAD_ROWS), _EMPTY)
    first_nonempty = next((i for i, row in enumerate(head.itertuples(index=False)) if any(
        v not in (None, "") for v in row)), 0)
    return Sheet(name=None, head=head, header_search_rows=first_nonempty + 1, chunks=chunks)


def _csv_chunks(path: Path, encoding: str, delimiter: str, width: int, first_row: int, size: int
                ) -> Iterator[pd.DataFrame]:
    row = first_row
    try:
        reader = pd.read_csv(path, sep=delimiter, encoding=encoding, header=None, dtype=str, names=range(width),
                             keep_default_na=False, skip_blank_lines=False, engine="c", skiprows=first_row - 1,
                             chunksize=size)
        for frame in reader:
            frame = frame.astype(object).where(frame.notna(), None)
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
    with open(path, encoding=encoding, newline="") as fh:
        lines = islice(csv.reader(fh, delimiter=delimiter), row - 1, None)
        while block := list(islice(lines, size)):
            frame = pd.DataFrame(block, dtype=object)
            frame.index = pd.RangeIndex(row, row + len(frame))
            row += len(frame)
            yield frame
