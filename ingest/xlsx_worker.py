"""Child process that reads one xlsx file with python-calamine and streams its rows to the parent.

calamine builds a sheet as one dense block of cells spanning the sheet's used range: a single
stray cell at ``XFD1048576`` asks for hundreds of GiB and makes the process abort, with no
exception to catch. So the pipeline never parses an xlsx in its own process: this script runs
under a memory limit (set by the parent), checks each sheet's declared range first, and sends
pickled messages on stdout. If it dies anyway, only this file is rejected.

Run as a script (``python xlsx_worker.py PATH MAX_CELLS head|rows ...``), so that it imports nothing of the
pipeline: ``head`` sends every visible sheet's first rows and the Excel error cells; ``rows INDEX
FIRST_ROW SIZE`` sends the rows of the sheet at that position from FIRST_ROW on, SIZE at a time (a
position, not a name: a sheet name could be anything, and a command line is visible to `ps`).
A failure is reported as fixed text and the exception's class only: parser messages can quote cells.

Messages: ``("sheet", name, index, top, left, rows)``, ``("errors", {sheet: [(row, col, code)]})``,
``("chunk", first_row_number, left_column, rows)``, ``("fail", reason)``, ``("end",)``.
"""

from __future__ import annotations

import pickle
import re
import sys
import zipfile
from itertools import islice

HEAD_ROWS = 50
_CELL_REF = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?t="e"[^>]*>(?:<f[^<]*(?:</f>)?)?<v>([^<]*)</v>')
_DIMENSION = re.compile(rb'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


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
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace") if \
        "xl/_rels/workbook.xml.rels" in names else ""
    targets = dict(re.findall(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
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


def _error_cells(zf: zipfile.ZipFile, members: dict[str, str]) -> dict[str, list[tuple[int, int, str]]]:
    """Excel error values (cells of type `e`) per sheet: calamine reads them as empty strings."""
    found = {}
    for name, member in members.items():
        xml = zf.read(member)
        if b't="e"' in xml:
            found[name] = [(int(r), _col_index(c), v.decode()) for c, r, v in _CELL_REF.findall(xml)]
    return found


def _send(out, message: tuple) -> None:
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)


def main(argv: list[str]) -> int:
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    path, max_cells, mode = argv[0], int(argv[1]), argv[2]
    out = sys.stdout.buffer
    with zipfile.ZipFile(path) as zf:
        members = _sheet_members(zf)
        wb = CalamineWorkbook.from_path(path)
        names = [m.name for m in wb.sheets_metadata]
        visible = [m.name for m in wb.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
        wanted = visible if mode == "head" else [names[int(argv[3])]]
        for name in wanted:
            declared = _declared_cells(zf, members[name]) if name in members else None
            if declared and declared[1] > max_cells:
                _send(out, ("fail", f"sheet {visible.index(name) + 1 if name in visible else '?'} declares the "
                                    f"range {declared[0]} ({declared[1]:,} cells, more than the limit of "
                                    f"{max_cells:,}): a stray cell far below or to the right of the table?"))
                return 0
        if mode == "head":
            _send(out, ("errors", _error_cells(zf, {n: members[n] for n in visible if n in members})))
    if mode == "head":
        for name in visible:
            sheet = wb.get_sheet_by_name(name)
            top, left = sheet.start if sheet.start is not None and sheet.height else (0, 0)
            rows = list(islice(sheet.iter_rows(), HEAD_ROWS)) if sheet.start is not None and sheet.height else []
            _send(out, ("sheet", name, names.index(name), top, left, rows))
    else:
        first_row, size = int(argv[4]), int(argv[5])
        sheet = wb.get_sheet_by_index(int(argv[3]))
        if sheet.start is not None and sheet.height:
            top, left = sheet.start
            rows = sheet.iter_rows()
            row = top + 1  # row number of the next row the iterator yields
            if first_row > row:
                for _ in islice(rows, first_row - row):
                    pass
                row = first_row
            while block := list(islice(rows, size)):
                _send(out, ("chunk", row, left, block))
                row += len(block)
    _send(out, ("end",))
    out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except MemoryError:
        _send(sys.stdout.buffer, ("fail", "reading it needs more memory than the reader's limit"))
        sys.exit(0)
    except Exception as exc:  # calamine raises several types for broken files; their text may quote cells
        _send(sys.stdout.buffer, ("fail", f"the xlsx reader could not parse it ({type(exc).__name__})"))
        sys.exit(0)
