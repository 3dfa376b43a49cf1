"""Read an xlsx or csv file into sheets of raw cell values (sources.md §2, "Reading files").

xlsx is read with python-calamine (cached values, no formula evaluation; hidden sheets
skipped); csv with pandas' C parser after sniffing the encoding (UTF-8 with or without BOM,
else Windows-1252) and the delimiter (`;` or `,`).
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from ingest.values import ExcelError


class BadFile(Exception):
    """A file that cannot be loaded at all (sources.md §6); the message names the reason."""


@dataclass
class Sheet:
    """The cells of one sheet; ``cells.index`` is the row number as a spreadsheet user counts it."""

    name: str | None
    cells: pd.DataFrame
    header_search_rows: int  # how many leading rows may hold the header


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
            rows = wb.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
            frame = pd.DataFrame(rows, dtype=object)
            frame.index = pd.RangeIndex(1, len(frame) + 1)
            for row, col, code in errors.get(meta.name, ()):
                if row in frame.index and col < frame.shape[1]:
                    frame.iat[row - 1, col] = ExcelError(code)
            sheets.append(Sheet(name=meta.name, cells=frame, header_search_rows=50))
        return sheets
    except BadFile:
        raise
    except Exception as exc:  # calamine raises several types for broken files
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


def _sniff_encoding(path: Path) -> str:
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
    encoding = _sniff_encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        head = fh.read(65536)
    first = next((line for line in head.splitlines() if line.strip().strip(",;")), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    width = max(1, len(next(csv.reader([first], delimiter=delimiter), [])))
    try:
        frame = pd.read_csv(path, sep=delimiter, encoding=encoding, header=None, dtype=str, names=range(width),
                            keep_default_na=False, skip_blank_lines=False, engine="c")
    except pd.errors.ParserError:
        # Ragged lines (more fields than the header): fall back to the csv module.
        with open(path, encoding=encoding, newline="") as fh:
            rows = list(csv.reader(fh, delimiter=delimiter))
        frame = pd.DataFrame(rows, dtype=object)
    except (pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BadFile(f"not a readable csv file ({exc})") from exc
    frame = frame.astype(object).where(frame.notna(), None)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    first_nonempty = next((i for i, row in enumerate(frame.itertuples(index=False)) if any(
        v not in (None, "") for v in row)), 0)
    return Sheet(name=None, cells=frame, header_search_rows=first_nonempty + 1)
