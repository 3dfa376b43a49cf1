"""Test helpers: write real xlsx/csv files and load a landing folder into a real DuckDB file."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from openpyxl import Workbook

from ingest.config import load_config
from orchestration.loading import FileOutcome, load_source

KEY = b"test-key-not-secret"

SWEV_HEADER = ["Toewijzingsnummer", "Corporatie", "Gemeente", "Toewijzingsdatum", "Netto huur", "Aantal kamers"]


def swev_row(i: int, **over) -> list:
    row = {"id": f"T{i:04d}", "corp": "Portaal", "gemeente": "Amersfoort", "datum": dt.datetime(2025, 3, 1),
           "huur": 600.0, "kamers": 2}
    row.update(over)
    return list(row.values())


def write_xlsx(path: Path, header: list, rows: list[list], title_rows: int = 0, total_row: bool = False,
               hidden_first: list[list] | None = None, sheet: str = "Blad1") -> Path:
    """An xlsx written by openpyxl, as a supplier's Excel would: title rows, a Totaal row, hidden sheets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    if hidden_first is not None:
        ws.title = "Verborgen"
        ws.sheet_state = "hidden"
        for r in hidden_first:
            ws.append(r)
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    for k in range(title_rows):
        ws.append([f"Titelregel {k + 1}"] if k == 0 else [])
    ws.append(header)
    for r in rows:
        ws.append(r)
    if total_row:
        ws.append(["Totaal", len(rows)])
    wb.save(path)
    return path


def write_csv(path: Path, header: list, rows: list[list], delimiter: str = ";", encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def load_all(landing: Path, warehouse: Path, key: bytes = KEY, config=None) -> list[FileOutcome]:
    """Load every source folder, as the three ingest assets do."""
    config = config or load_config()
    outcomes = []
    for bron in ("swev", "urgentie", "planregister"):
        outcomes += load_source(warehouse, landing, bron, config, key)
    return outcomes


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def quarantine(warehouse: Path) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("SELECT * FROM audit.quarantaine ORDER BY pad, rijnummer").df().to_dict("records")


@contextmanager
def lock_held_elsewhere(warehouse: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the warehouse lock (``warehouse.lock``) for the block, then killed."""
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from warehouse import lock; cm = lock.hold(Path(sys.argv[1])); cm.__enter__(); "
                               "print('held', flush=True); time.sleep(600)", str(warehouse)],
                              cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
