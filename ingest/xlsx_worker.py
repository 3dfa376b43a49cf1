"""Child process that reads xlsx files with python-calamine and streams their rows to the parent.

calamine builds a sheet as one dense block of cells spanning the sheet's used range: a single
stray cell at ``XFD1048576`` asks for hundreds of GiB and makes the process abort, with no
exception to catch. So the pipeline never parses an xlsx in its own process: this script runs
under a memory limit (set by the parent), checks each sheet's declared range first, and sends
pickled messages on stdout. If it dies anyway, only the file it was reading is rejected.

Run as a script (``python xlsx_worker.py``), so that it imports nothing of the pipeline. One worker
serves a whole run: it reads pickled commands on stdin, one file at a time, and keeps the parsed
sheets of the open file, so each sheet is parsed once (not once for the header and again for the rows):

- ``("open", path, max_cells, cpu_seconds)``: ``("errors", {sheet: [(row, col, code)]})``, then
  ``("sheet", name, index, top, left, rows)`` with the first rows of every visible sheet, then ``("end",)``;
- ``("rows", path, max_cells, cpu_seconds, index, first_row, size)``: ``("chunk", first_row_number,
  left_column, columns)`` (each column as its distinct values and int32 codes) messages for the sheet at that position (a position, not a name: a sheet name
  could be anything), then ``("end",)``; the file is opened again if another one was opened since;
- ``("close",)``: forget the open file.

A failure is ``("fail", code, parameters)``: a reason code of ``ingest/config/redenen.yaml`` with the
exception's class at most (parser messages can quote cells); the worker then waits for the next command. Each file gets ``cpu_seconds`` of CPU
from the moment it is opened (the soft CPU limit moves along; exceeding it kills the worker).
"""

from __future__ import annotations

import pickle
import re
import sys
import zipfile
from array import array
from itertools import islice

HEAD_ROWS = 50
_CELL_REF = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?t="e"[^>]*>(?:<f[^<]*(?:</f>)?)?<v>([^<]*)</v>')
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_SERIAL_60 = re.compile(rb"<v>60(?:\.\d*)?</v>")
_CELL_TYPE = re.compile(rb'\st="([^"]*)"')
_REF = re.compile(rb'\sr="([A-Z]+)(\d+)"')
PHANTOM_DAY = (
    "29-02-1900"  # how Excel shows its serial 60 (the parent checks that calamine made a date of it)
)


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _unescape(text: str) -> str:
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')


def _sheet_members(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip member of its XML."""
    names = set(zf.namelist())
    workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = (
        zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
        if "xl/_rels/workbook.xml.rels" in names
        else ""
    )
    targets = dict(re.findall(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
    targets.update(
        {k: v for v, k in re.findall(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)}
    )
    members = {}
    for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', workbook):
        target = targets.get(rid, "").lstrip("/")
        member = target if target.startswith("xl/") else f"xl/{target}"
        if member in names:
            members[_unescape(name)] = member
    return members


def _declared_cells(zf: zipfile.ZipFile, member: str) -> tuple[str, int] | None:
    """The sheet's declared used range and its number of cells, from the head of its XML."""
    with zf.open(member) as fh:
        head = fh.read(4096)
    m = _DIMENSION.search(head)
    if not m or not m.group(3):
        return None
    c1, r1, c2, r2 = _col_index(m.group(1)), int(m.group(2)), _col_index(m.group(3)), int(m.group(4))
    cells = (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1)
    return f"{m.group(1).decode()}{r1}:{m.group(3).decode()}{r2}", cells


def _serial_60_cells(xml: bytes) -> list[tuple[int, int, str]]:
    """Number cells holding serial 60 (with or without a time): Excel's 29-02-1900, a day that never was.

    Excel counts 1900 as a leap year (Lotus 1-2-3's bug), so its serial 60 is that phantom day; calamine
    reads it as 1900-02-28, the same day as serial 59. Found by its ``<v>`` (fast: a literal search),
    then the cell's own tag: a shared string (``t="s"``, index 60) or other typed cell is no number.
    """
    found = []
    for m in _SERIAL_60.finditer(xml):
        if xml.endswith(b't="s">', 0, m.start()):  # the common case, shared string 60, decided at once
            continue
        start = xml.rfind(b"<c ", 0, m.start())
        tag = xml[start : xml.find(b">", start) + 1]
        typed = _CELL_TYPE.search(tag)
        ref = _REF.search(tag)
        if ref and (typed is None or typed.group(1) == b"n"):
            found.append((int(ref.group(2)), _col_index(ref.group(1)), PHANTOM_DAY))
    return found


def _error_cells(zf: zipfile.ZipFile, members: dict[str, str]) -> dict[str, list[tuple[int, int, str]]]:
    """Excel error values (cells of type `e`) per sheet: calamine reads them as empty strings.

    Cells that may hold Excel's phantom 29-02-1900 come with them, as code ``PHANTOM_DAY``."""
    found = {}
    for name, member in members.items():
        xml = zf.read(member)
        cells = []
        if b't="e"' in xml:
            cells = [(int(r), _col_index(c), v.decode()) for c, r, v in _CELL_REF.findall(xml)]
        if b"<v>60" in xml:
            cells += _serial_60_cells(xml)
        if cells:
            found[name] = cells
    return found


def _send(out, message: tuple) -> None:
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)


class _Open:
    """The file being read: its workbook and the sheets parsed so far, by position."""

    def __init__(self, path: str):
        from python_calamine import CalamineWorkbook

        self.path = path
        self.wb = CalamineWorkbook.from_path(path)
        self.sheets: dict[int, object] = {}

    def sheet(self, index: int):
        if index not in self.sheets:
            self.sheets[index] = self.wb.get_sheet_by_index(index)
        return self.sheets[index]


def _open(out, path: str, max_cells: int, heads: bool = True) -> _Open | None:
    from python_calamine import SheetVisibleEnum

    opened = _Open(path)
    with zipfile.ZipFile(path) as zf:
        members = _sheet_members(zf)
        names = [m.name for m in opened.wb.sheets_metadata]
        visible = [m.name for m in opened.wb.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
        for name in visible:
            declared = _declared_cells(zf, members[name]) if name in members else None
            if declared and declared[1] > max_cells:
                _send(
                    out,
                    (
                        "fail",
                        "xlsx_range_too_large",
                        {
                            "sheet": visible.index(name) + 1,
                            "range": declared[0],
                            "cells": declared[1],
                            "limit": max_cells,
                        },
                    ),
                )
                return None
        if not heads:
            return opened
        _send(out, ("errors", _error_cells(zf, {n: members[n] for n in visible if n in members})))
    for name in visible:
        sheet = opened.sheet(names.index(name))
        top, left = sheet.start if sheet.start is not None and sheet.height else (0, 0)
        rows = list(islice(sheet.iter_rows(), HEAD_ROWS)) if sheet.start is not None and sheet.height else []
        _send(out, ("sheet", name, names.index(name), top, left, rows))
    _send(out, ("end",))
    return opened


def _rows(out, opened: _Open, index: int, first_row: int, size: int) -> None:
    sheet = opened.sheet(index)
    opened.sheets.pop(index, None)  # read once: its memory goes with the last chunk
    if sheet.start is not None and sheet.height:
        top, left = sheet.start
        rows = sheet.iter_rows()
        row = top + 1  # row number of the next row the iterator yields
        if first_row > row:
            for _ in islice(rows, first_row - row):
                pass
            row = first_row
        while block := list(islice(rows, size)):
            _send(out, ("chunk", row, left, _columns(block)))
            row += len(block)
    _send(out, ("end",))


def _columns(block: list[list]) -> list[tuple[list, bytes]]:
    """Rows as columns of (distinct values, int32 codes): pickling a cell object per cell (dates above all)
    costs more than parsing the sheet, and most columns hold few distinct values."""
    width = max(map(len, block))
    columns = []
    for c in range(width):
        index: dict = {}
        # 1, 1.0 and True are one dict key: non-text values are keyed with their type
        codes = array(
            "i",
            [
                index.setdefault(v if type(v) is str else (type(v), v), len(index))
                for v in (r[c] if c < len(r) else "" for r in block)
            ],
        )
        columns.append(([k if type(k) is str else k[1] for k in index], codes.tobytes()))
    return columns


def _cpu_budget(seconds: int) -> None:
    """Give the next file ``seconds`` of CPU from now (the soft limit; exceeding it ends the worker)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    soft = used + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main() -> int:
    out, commands = sys.stdout.buffer, sys.stdin.buffer
    opened: _Open | None = None
    while True:
        try:
            command = pickle.load(commands)
        except EOFError:
            return 0
        try:
            if command[0] == "open":
                opened = None
                _cpu_budget(int(command[3]))
                opened = _open(out, command[1], int(command[2]))
            elif command[0] == "rows":
                path, max_cells = command[1], int(command[2])
                if (
                    opened is None or opened.path != path
                ):  # another file was opened since: open this one again
                    _cpu_budget(int(command[3]))
                    opened = _open(out, path, max_cells, heads=False)
                if opened is not None:
                    _rows(out, opened, *map(int, command[4:7]))
            elif command[0] == "close":
                opened = None
        except MemoryError:
            opened = None
            _send(out, ("fail", "xlsx_reader_memory", {}))
        except Exception as exc:  # calamine raises several types for broken files; their text may quote cells
            opened = None
            _send(out, ("fail", "xlsx_parse_failed", {"error": type(exc).__name__}))
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
