"""Issue 24: a regular csv is read by DuckDB (``ingest.csv_duckdb``); every other csv, and any failure, by pandas.

Each test loads the same landing folder twice, once as the pipeline does and once with the DuckDB path switched
off, and compares every loaded row, quarantine row and file outcome; it also asserts which path was taken.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest import csv_duckdb, readers
from tests.helpers import load_all, write_csv
from tests.test_reader_recorded import SWEV_HEADER, observed, swev_row, swev_rows


def _load(landing: Path, warehouse: Path, monkeypatch, duckdb_path: bool) -> tuple[dict, list[bool]]:
    """Load the folder; returns what was stored and, per file that was read, whether DuckDB read it."""
    taken: list[bool] = []
    with monkeypatch.context() as m:
        if not duckdb_path:
            m.setattr(csv_duckdb, "eligible", lambda opened: False)
        real = csv_duckdb.prepare

        def spy(opened, conn):
            prepared = real(opened, conn)
            taken.append(prepared is not None)
            return prepared

        m.setattr(csv_duckdb, "prepare", spy)
        load_all(landing, warehouse)
    return observed(warehouse), taken


def _both(landing: Path, tmp_path: Path, monkeypatch) -> tuple[list[bool], dict]:
    """Both loads: asserts they stored the same, returns which path the pipeline took."""
    seen, taken = _load(landing, tmp_path / "a" / "fairshare.duckdb", monkeypatch, duckdb_path=True)
    before, _ = _load(landing, tmp_path / "b" / "fairshare.duckdb", monkeypatch, duckdb_path=False)
    for part in before:
        assert seen[part] == before[part], part
    return taken, seen


def _hostile_rows() -> list[list[str]]:
    """The recorded reader's swev rows, with Windows-1252 characters and a quoted line break besides."""
    rows = swev_rows()
    rows += [
        swev_row(600, naam="Zoë “Jansen”", herkomst="Café € Dorpsstraat"),
        swev_row(601, herkomst="Piet Puk\r\nDorpsstraat 1"),  # one field over two lines, quoted
        swev_row(602, naam='q"r', huur="€ 650,00"),  # a quote in a field, doubled when quoted
        swev_row(603, corp=" Portaal ", id="\tT0603 "),  # spaces around: the Python path trims them
        swev_row(604, id="T0001"),  # the first row's key again
    ]
    return rows


def _cp1252(rows: list[list[str]]) -> list[list[str]]:
    """Rows Windows-1252 can hold (it has no narrow no-break space)."""
    return [[c.replace("\u202f", "\xa0") for c in row] for row in rows]


def _cp1252_file(landing: Path) -> Path:
    path = write_csv(
        landing / "swev" / "toewijzingen_2025-05-01.csv",
        SWEV_HEADER,
        _cp1252(_hostile_rows()),
        encoding="cp1252",
    )
    with open(path, "ab") as fh:  # 0x81 is undefined in Windows-1252: read as U+FFFD, as pandas reads it
        fh.write(
            ";".join(swev_row(605)[:12]).encode("cp1252")
            + b";Ede\x81;"
            + b";".join(c.encode("cp1252") for c in swev_row(605)[13:])
            + b"\r\n"
        )
    return path


def test_a_regular_cp1252_csv_is_read_by_duckdb_with_the_same_result(landing, tmp_path, monkeypatch):
    _cp1252_file(landing)
    taken, seen = _both(landing, tmp_path, monkeypatch)
    assert taken == [True]
    assert len(seen["quarantaine"]) > 40 and len(seen["raw.swev_toewijzingen"]) > 10
    assert not list(tmp_path.glob("**/fairshare-csv-*"))  # the UTF-8 copy is gone


@pytest.mark.parametrize("rows", [7, 3])
def test_chunks_and_keys_across_them_are_as_before(landing, tmp_path, monkeypatch, rows):
    monkeypatch.setattr(readers, "CHUNK_ROWS", rows)
    monkeypatch.setattr(readers, "CHUNK_CELLS", rows * 40)
    _cp1252_file(landing)
    write_csv(landing / "swev" / "toewijzingen_2025-05-02.csv", SWEV_HEADER, _hostile_rows())  # UTF-8
    taken, _ = _both(landing, tmp_path, monkeypatch)
    assert taken == [True, True]


def test_a_short_line_reads_by_pandas(landing, tmp_path, monkeypatch):
    path = write_csv(
        landing / "swev" / "toewijzingen_2025-05-01.csv",
        SWEV_HEADER,
        _cp1252(_hostile_rows()),
        encoding="cp1252",
    )
    with open(path, "a", encoding="cp1252", newline="") as fh:
        fh.write(";".join(swev_row(700)[:6]) + "\r\n")  # cut short
    taken, seen = _both(landing, tmp_path, monkeypatch)
    assert taken == [False]
    assert any("line_cut_off" in q[5] for q in seen["quarantaine"])


def test_mixed_line_ends_fall_back_to_pandas(landing, tmp_path, monkeypatch):
    """DuckDB refuses a file whose lines end both in \\n and \\r\\n: the file reads as before."""
    path = write_csv(landing / "swev" / "toewijzingen_2025-05-01.csv", SWEV_HEADER, swev_rows()[:30])
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(";".join(swev_row(800)) + "\n")
        fh.write(";".join(swev_row(801)) + "\r\n")
    taken, seen = _both(landing, tmp_path, monkeypatch)
    assert taken == [False]
    assert ["swev/toewijzingen_2025-05-01.csv", "geladen"] == seen["bestanden"][0][:2]


@pytest.mark.parametrize("where", ["_read", "_other_rows"])
def test_any_failure_of_the_duckdb_path_reads_by_pandas(landing, tmp_path, monkeypatch, where):
    """A failure at the start or at the very end (its good rows already in DuckDB): the file reads as before."""
    _cp1252_file(landing)

    def fails(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(csv_duckdb, where, fails)
    taken, seen = _both(landing, tmp_path, monkeypatch)
    assert taken == [False]
    assert seen["bestanden"][0][1] == "geladen"


def test_a_clean_file_has_every_row_loaded_by_sql(landing, tmp_path, monkeypatch):
    """No cell needs Python (every mapping of an identifier empty): all rows good, none quarantined."""
    rows = [swev_row(i, herkomst="Leusden" if i % 2 else "Utrecht") for i in range(1, 40)]
    write_csv(landing / "swev" / "toewijzingen_2025-05-01.csv", SWEV_HEADER, rows)
    taken, seen = _both(landing, tmp_path, monkeypatch)
    assert taken == [True]
    assert len(seen["raw.swev_toewijzingen"]) == 39 and not seen["quarantaine"]


def test_a_utf8_copy_left_by_a_killed_load_is_removed_by_the_next_one(tmp_path, monkeypatch):
    """The cp1252 file's UTF-8 copy holds the delivery's cells before pseudonymisation: one left by a process that
    is gone (killed while DuckDB read it) is removed by the next load beside the warehouse; a live process's
    copy is left alone, and the next load leaves none of its own."""
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    landing = tmp_path / "landing"
    landing.mkdir()
    _cp1252_file(landing)
    warehouse = tmp_path / "wh" / "fairshare.duckdb"
    warehouse.parent.mkdir(parents=True)
    left = warehouse.parent / f"{csv_duckdb.COPY_PREFIX}{dead_pid}-abc.csv"
    left.write_text("Jan Jansen;Dorpsstraat 1\n")
    live = warehouse.parent / f"{csv_duckdb.COPY_PREFIX}{os.getppid()}-abc.csv"
    live.write_text("in use\n")
    seen, taken = _load(landing, warehouse, monkeypatch, duckdb_path=True)
    assert taken == [True] and seen["bestanden"]
    assert not left.exists() and live.exists()
    assert sorted(p.name for p in warehouse.parent.glob(f"{csv_duckdb.COPY_PREFIX}*")) == [live.name]
