"""Hostile files (issue 18): csv files have limits and every line is accounted for; per-file faults stay per file.

Each case is a real file written here and loaded by the real pipeline (``load_all`` / ``load_source``, or a
``fairshare run`` process). Every file is checked with ``assert_every_line_accounted_for``: its data lines
are loaded + quarantined + summary lines skipped, or it is rejected and nothing of it is kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import resource
import shutil
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from openpyxl import Workbook

from ingest.config import load_config
from tests.helpers import (
    KEY,
    TOEWIJZINGEN_HEADER,
    assert_every_line_accounted_for,
    clean_env,
    load_all,
    query,
    toewijzing_row,
    write_csv,
    write_xlsx,
)
from warehouse.loading import load_source

ROOT = Path(__file__).resolve().parents[1]


def csv_rows(n: int, first: int = 1) -> list[list]:
    return [toewijzing_row(i, datum="01-03-2025") for i in range(first, first + n)]


def csv_text(rows: list[list], header: list | None = None) -> str:
    return "\n".join(";".join(map(str, r)) for r in [header or TOEWIJZINGEN_HEADER, *rows]) + "\n"


def outcomes_by_pad(landing: Path, warehouse: Path) -> dict:
    return {o.pad: o for o in load_all(landing, warehouse)}


# The sample's own files ---------------------------------------------------------------------------------------


def test_every_line_of_the_sample_files_is_accounted_for(sample_run):
    """The sample as `fairshare run` loaded it (the session's run: its ingest is the one under test here)."""
    summary, landing, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    pads = {path.relative_to(landing).as_posix() for path in summary.files}
    # Every entry of the landing folder is a sample file: nothing there could be ignored or skipped unrecorded,
    # so the audit's rows are every outcome of the run's ingest; each is one file, loaded.
    assert {p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.parent != landing} == pads
    assert sorted(query(warehouse, "SELECT pad, status FROM audit.bestanden")) == [
        (pad, "geladen") for pad in sorted(pads)
    ]
    for path in summary.files:
        assert assert_every_line_accounted_for(warehouse, landing, path) == "geladen"


# Case 2: one huge line ----------------------------------------------------------------------------------------


def huge_line_csv(path: Path) -> Path:
    """20 MB: a header, one good row, then a third line of 20 million semicolons, then good rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        fh.write(csv_text(csv_rows(1)))
        fh.write(";" * 20_000_000 + "\n")
        fh.write(csv_text(csv_rows(20, first=2)).split("\n", 1)[1])
    return path


def test_a_csv_with_one_huge_line_is_rejected_naming_the_line_and_the_run_goes_on(landing, warehouse):
    huge = huge_line_csv(landing / "swev" / "toewijzingen_2025-04-02.csv")
    good = write_csv(landing / "swev" / "toewijzingen_2025-05-02.csv", TOEWIJZINGEN_HEADER, csv_rows(5))
    outcomes = outcomes_by_pad(landing, warehouse)
    rejected = outcomes["swev/toewijzingen_2025-04-02.csv"]
    assert rejected.status == "afgewezen"
    assert "line 3" in rejected.reden and "FAIRSHARE_CSV_MAX_LINE_BYTES" in rejected.reden
    assert f"{1 << 20:,}" in rejected.reden  # the limit's value
    assert outcomes["swev/toewijzingen_2025-05-02.csv"].rijen_geladen == 5
    assert assert_every_line_accounted_for(warehouse, landing, huge) == "afgewezen"
    assert assert_every_line_accounted_for(warehouse, landing, good, lines=5) == "geladen"
    again = outcomes_by_pad(landing, warehouse)  # recorded: the next run does not read it again
    assert again["swev/toewijzingen_2025-04-02.csv"].status == "ongewijzigd"
    assert again["swev/toewijzingen_2025-04-02.csv"].afgewezen


def test_with_the_line_limit_raised_the_field_limit_still_stops_the_huge_line(
    landing, warehouse, monkeypatch
):
    """The limits are settings, read when a file is read; each is checked on its own."""
    monkeypatch.setenv("FAIRSHARE_CSV_MAX_LINE_BYTES", str(64 << 20))
    monkeypatch.setenv("FAIRSHARE_CSV_MAX_FIELDS", "100")
    path = huge_line_csv(landing / "swev" / "toewijzingen_2025-04-02.csv")
    [outcome] = load_all(landing, warehouse)
    assert outcome.status == "afgewezen"
    assert (
        "line 3 has 20,000,001 fields, more than the limit of 100 (FAIRSHARE_CSV_MAX_FIELDS)" in outcome.reden
    )
    assert_every_line_accounted_for(warehouse, landing, path)


def test_a_reader_that_runs_out_of_memory_rejects_that_file_only(tmp_path):
    """A real MemoryError (the process's address space limited) rejects the file; the next file loads."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse" / "w.duckdb"
    huge_line_csv(landing / "swev" / "toewijzingen_2025-04-02.csv")
    write_csv(landing / "swev" / "toewijzingen_2025-05-02.csv", TOEWIJZINGEN_HEADER, csv_rows(5))
    script = (
        "import sys; from pathlib import Path; from tests.helpers import load_all; "
        "[print(o.pad, o.status, o.reden, sep='|') for o in load_all(Path(sys.argv[1]), Path(sys.argv[2]))]"
    )
    limit = 3 << 30

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {
        **os.environ,
        "FAIRSHARE_CSV_MAX_LINE_BYTES": str(64 << 20),
        "FAIRSHARE_CSV_MAX_FIELDS": str(10**8),
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(landing), str(warehouse)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=cap,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split("|", 1) for line in result.stdout.splitlines())
    assert lines["swev/toewijzingen_2025-04-02.csv"].startswith("afgewezen|")
    assert "memory" in lines["swev/toewijzingen_2025-04-02.csv"]
    assert lines["swev/toewijzingen_2025-05-02.csv"].startswith("geladen|")
    assert_every_line_accounted_for(warehouse, landing, landing / "swev" / "toewijzingen_2025-04-02.csv")


# Case 3: an unclosed quote ------------------------------------------------------------------------------------


def test_an_unclosed_quote_rejects_the_file_saying_where_it_opens(landing, warehouse):
    rows = csv_rows(50)
    path = landing / "swev" / "toewijzingen_2025-04-02.csv"
    path.parent.mkdir(parents=True)
    lines = csv_text(rows).splitlines()
    lines[4] = lines[4].replace(";Portaal;", ';"Portaal;')  # line 5 of 51 opens a quoted field never closed
    path.write_text("\n".join(lines) + "\n")
    [outcome] = load_all(landing, warehouse)
    assert outcome.status == "afgewezen"
    assert "line 5" in outcome.reden and "quote" in outcome.reden and "never closed" in outcome.reden
    assert assert_every_line_accounted_for(warehouse, landing, path, lines=50) == "afgewezen"


def test_an_unclosed_quote_after_a_stray_quote_is_found_too(landing, warehouse):
    """A quote inside a field (``ab"c``) makes the csv module count the fields; it must find the unclosed one too."""
    rows = csv_rows(30)
    rows[1][1] = 'Port"aal'
    path = landing / "swev" / "toewijzingen_2025-04-02.csv"
    path.parent.mkdir(parents=True)
    lines = csv_text(rows).splitlines()
    lines[10] = lines[10].replace(";Amersfoort;", ';"Amersfoort;')
    path.write_text("\n".join(lines) + "\n")
    [outcome] = load_all(landing, warehouse)
    assert outcome.status == "afgewezen" and "line 11" in outcome.reden and "never closed" in outcome.reden
    assert_every_line_accounted_for(warehouse, landing, path, lines=30)


def test_quoted_fields_with_line_breaks_and_quotes_still_load(landing, warehouse):
    rows = csv_rows(6)
    rows[2][1] = 'Portaal\n"Utrecht";'  # a quoted field holding a line break, a quote pair and a delimiter
    path = write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", TOEWIJZINGEN_HEADER, rows)
    [outcome] = load_all(landing, warehouse)
    assert (outcome.status, outcome.rijen_gelezen) == ("geladen", 6)
    assert assert_every_line_accounted_for(warehouse, landing, path, lines=6) == "geladen"


# Case 4: a header line over 64 KiB -------------------------------------------------------------------------


def wide_header(extra: int) -> list[str]:
    return [
        "Urgentiecategorie",
        *(f"Kolom met een lange naam uit het bronsysteem nummer {i:05d}" for i in range(extra)),
        *TOEWIJZINGEN_HEADER,
    ]


def test_a_header_over_64_kib_keeps_every_column(landing, warehouse, monkeypatch):
    header = wide_header(1200)  # ~80 KB of header, 1207 fields
    rows = [["Medisch", *([""] * 1200), *r] for r in csv_rows(20)]
    path = landing / "swev" / "toewijzingen_2025-04-02.csv"
    path.parent.mkdir(parents=True)
    path.write_text(csv_text(rows, header))
    assert len(path.read_text().splitlines()[0]) > 65536
    monkeypatch.setenv("FAIRSHARE_CSV_MAX_FIELDS", "2000")
    [outcome] = load_all(landing, warehouse)
    assert (outcome.status, outcome.rijen_geladen) == ("geladen", 20)
    assert query(warehouse, "SELECT urgentiecategorie, count(*) FROM raw.swev_toewijzingen GROUP BY ALL") == [
        ("medisch", 20)
    ]
    [(ignored,)] = query(warehouse, "SELECT kolommen_genegeerd FROM audit.bestanden")
    assert len(ignored) == 1200
    assert_every_line_accounted_for(warehouse, landing, path, lines=20)


@pytest.mark.parametrize("required_first", [False, True])
def test_a_header_with_more_fields_than_the_limit_is_rejected_with_one_short_reason(
    landing, warehouse, monkeypatch, required_first
):
    monkeypatch.setenv(
        "FAIRSHARE_CSV_MAX_FIELDS", "1000"
    )  # the default (16,384) would take a 16 MB file to pass
    header = wide_header(4000)
    cells = [""] * 4000
    rows = [["Medisch", *cells, *r] for r in csv_rows(20)]
    if required_first:
        header = [*TOEWIJZINGEN_HEADER, *header[: -len(TOEWIJZINGEN_HEADER)]]
        rows = [[*r[-len(TOEWIJZINGEN_HEADER) :], *r[: -len(TOEWIJZINGEN_HEADER)]] for r in rows]
    path = landing / "swev" / "toewijzingen_2025-04-02.csv"
    path.parent.mkdir(parents=True)
    path.write_text(csv_text(rows, header))
    [outcome] = load_all(landing, warehouse)
    assert outcome.status == "afgewezen"
    assert "line 1 has 4,007 fields, more than the limit of 1,000 (FAIRSHARE_CSV_MAX_FIELDS)" in outcome.reden
    assert len(outcome.reden) < 300
    assert_every_line_accounted_for(warehouse, landing, path, lines=20)


def test_the_headers_seen_of_a_rejected_file_are_cut_short(landing, warehouse):
    header = [f"Onbekende kolom {i}" for i in range(900)]
    path = write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", header, [["x"] * 900])
    [outcome] = load_all(landing, warehouse)
    assert outcome.status == "afgewezen" and "headers seen" in outcome.reden
    assert len(outcome.reden) < 2000 and "880 more" in outcome.reden
    assert_every_line_accounted_for(warehouse, landing, path, lines=1)


# Case 9: a file that vanishes or becomes a folder during ingest -----------------------------------------------


def test_a_file_that_vanishes_or_becomes_a_folder_is_left_for_the_next_run(landing, warehouse):
    first = write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", TOEWIJZINGEN_HEADER, csv_rows(60_000))
    folder = write_csv(landing / "swev" / "toewijzingen_2025-05-02.csv", TOEWIJZINGEN_HEADER, csv_rows(3))
    gone = write_xlsx(
        landing / "swev" / "toewijzingen_2025-06-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)]
    )
    last = write_csv(landing / "swev" / "toewijzingen_2025-07-02.csv", TOEWIJZINGEN_HEADER, csv_rows(4))
    kept = {p: p.read_bytes() for p in (folder, gone)}

    def disturb() -> None:  # once the warehouse is open (the folder was listed), while the first file loads
        deadline = time.time() + 60
        while not warehouse.exists() and time.time() < deadline:
            time.sleep(0.001)
        folder.unlink()
        folder.mkdir()
        gone.unlink()

    thread = threading.Thread(target=disturb)
    thread.start()
    try:
        outcomes = {o.pad: o for o in load_source(warehouse, landing, "swev", load_config(), KEY)}
    finally:
        thread.join()
    assert outcomes["swev/toewijzingen_2025-04-02.csv"].rijen_geladen == 60_000
    assert outcomes["swev/toewijzingen_2025-07-02.csv"].rijen_geladen == 4
    for path in (folder, gone):
        outcome = outcomes[path.relative_to(landing).as_posix()]
        assert outcome.status == "overgeslagen" and "left for the next run" in outcome.reden
    assert query(warehouse, "SELECT pad FROM audit.bestanden ORDER BY pad") == [
        ("swev/toewijzingen_2025-04-02.csv",),
        ("swev/toewijzingen_2025-07-02.csv",),
    ]
    folder.rmdir()
    for path, content in kept.items():
        path.write_bytes(content)
    outcomes = {o.pad: o for o in load_source(warehouse, landing, "swev", load_config(), KEY)}
    assert outcomes["swev/toewijzingen_2025-05-02.csv"].status == "geladen"
    assert outcomes["swev/toewijzingen_2025-06-02.xlsx"].status == "geladen"
    for path in (first, folder, gone, last):
        assert assert_every_line_accounted_for(warehouse, landing, path) == "geladen"


# Case 10: a memory limit below the xlsx reader's --------------------------------------------------------------


def test_a_process_memory_limit_below_the_xlsx_readers_clamps_it_with_a_warning(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse" / "w.duckdb"
    path = write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(i) for i in range(5)],
    )
    hard = 5 << 30
    script = (
        "import logging, sys; from pathlib import Path; from tests.helpers import load_all; "
        "logging.basicConfig(level=logging.WARNING, format='%(message)s'); "
        "[print(o.pad, o.status, o.reden, sep='|') for o in load_all(Path(sys.argv[1]), Path(sys.argv[2]))]"
    )

    def cap() -> None:  # as `ulimit -v` does: soft and hard
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))

    env = {**os.environ, "FAIRSHARE_XLSX_READER_MEMORY": str(8 << 30)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(landing), str(warehouse)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=cap,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "preexec_fn" not in result.stderr
    assert result.stdout.startswith("swev/toewijzingen_2025-04-02.xlsx|geladen|")
    [warning] = [line for line in result.stderr.splitlines() if "FAIRSHARE_XLSX_READER_MEMORY" in line]
    assert "8.0 GiB" in warning and "5.0 GiB" in warning
    assert assert_every_line_accounted_for(warehouse, landing, path, lines=5) == "geladen"


def test_a_run_under_a_lower_ulimit_says_so_once_and_gives_the_sample_marts(hostile_run):
    """The first run of ``hostile_run`` (the sample's files and the hostile ones) ran under ``ulimit -v`` 6 GiB."""
    result, marts_after, reference_marts = hostile_run["first"]
    assert result.returncode == 0, result.stderr[-3000:]
    [note] = [line for line in result.stderr.splitlines() if "FAIRSHARE_XLSX_READER_MEMORY" in line]
    assert "8.0 GiB" in note and "at most 6.0 GiB" in note
    assert marts_after == reference_marts


# Lower cases -------------------------------------------------------------------------------------------------


def test_a_newline_in_a_file_name_cannot_forge_a_log_line(landing, warehouse, caplog):
    forged = "toewijzingen_2025-05-02.csv\nWARNING rejected toewijzingen_2025-01-01.csv: forged"
    paths = [
        write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", TOEWIJZINGEN_HEADER, csv_rows(2)),
        write_csv(landing / "swev" / forged, TOEWIJZINGEN_HEADER, csv_rows(2, first=3)),
        write_csv(
            landing / "swev" / "toewijzingen_2025-06-02.csv\n", TOEWIJZINGEN_HEADER, csv_rows(2, first=5)
        ),
    ]
    caplog.set_level(logging.INFO, logger="fairshare")
    outcomes = load_all(landing, warehouse)
    assert sorted(o.status for o in outcomes) == ["afgewezen", "afgewezen", "geladen"]
    for o in outcomes:
        assert "\n" not in (o.reden or "")
    logged = [r.getMessage() for r in caplog.records]
    assert logged and not any("\n" in m for m in logged)
    assert any("toewijzingen_2025-05-02.csv\\nWARNING rejected" in m for m in logged)
    assert all(
        "\n" not in r
        for (r,) in query(warehouse, "SELECT reden FROM audit.bestanden WHERE reden IS NOT NULL")
    )
    for path in paths:
        assert_every_line_accounted_for(warehouse, landing, path, lines=2)


def test_dot_files_and_folders_named_like_deliveries_get_one_warning(landing, warehouse, caplog):
    good = write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", TOEWIJZINGEN_HEADER, csv_rows(2))
    write_csv(landing / "swev" / ".toewijzingen_2025-05-02.csv", TOEWIJZINGEN_HEADER, csv_rows(2))
    (landing / "swev" / "toewijzingen_2025-06-02.csv").mkdir()
    (landing / "swev" / ".DS_Store").write_bytes(b"\x00\x01")  # these stay silent
    (landing / "swev" / "~$toewijzingen_2025-04-02.xlsx").write_bytes(b"lock")
    (landing / "swev" / "._toewijzingen_2025-04-02.csv").write_bytes(
        b"\x00\x05\x16\x07"
    )  # macOS' AppleDouble
    (landing / "swev" / ".~lock.toewijzingen_2025-04-02.csv#").write_text("x")  # LibreOffice's lock file
    caplog.set_level(logging.WARNING, logger="fairshare")
    outcomes = {o.pad: o for o in load_all(landing, warehouse)}
    assert outcomes["swev/toewijzingen_2025-04-02.csv"].status == "geladen"
    hidden, folder = (
        outcomes["swev/.toewijzingen_2025-05-02.csv"],
        outcomes["swev/toewijzingen_2025-06-02.csv"],
    )
    assert hidden.status == folder.status == "genegeerd"
    assert "hidden" in hidden.reden and "folder" in folder.reden
    warnings = [r.getMessage() for r in caplog.records]
    assert (
        len(warnings) == 2
        and sum("2025-05-02" in w for w in warnings) == sum("2025-06-02" in w for w in warnings) == 1
    )
    assert query(warehouse, "SELECT pad FROM audit.bestanden") == [("swev/toewijzingen_2025-04-02.csv",)]
    assert_every_line_accounted_for(warehouse, landing, good, lines=2)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file ([MS-CFB] version 3) holding ``streams``: what Excel writes for a password-protected
    workbook (streams EncryptionInfo, EncryptedPackage) or an old .xls (stream Workbook)."""
    sector, free, end, fat_sect, nostream = 512, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    datas = [data.ljust(max(4096, -(-len(data) // sector) * sector), b"\0") for data in streams.values()]
    fat, starts, nxt = [fat_sect, end], [], 2  # sector 0: the FAT, sector 1: the directory
    for data in datas:
        n = len(data) // sector
        starts.append(nxt)
        fat += [nxt + k + 1 for k in range(n - 1)] + [end]
        nxt += n
    assert len(fat) <= sector // 4

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, nostream, right, child)
            + b"\0" * 16
            + b"\0" * 4
            + b"\0" * 16
            + struct.pack("<IQ", start, size)
        )

    names = list(streams)
    directory = entry("Root Entry", 5, 1, nostream, end, 0) + b"".join(
        entry(name, 2, nostream, i + 2 if i + 1 < len(names) else nostream, starts[i], len(streams[name]))
        for i, name in enumerate(names)
    )
    directory = directory.ljust(sector * -(-len(directory) // sector), b"\0")
    assert len(directory) == sector
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    assert len(header) == sector
    return header + struct.pack(f"<{len(fat)}I", *fat).ljust(sector, b"\xff") + directory + b"".join(datas)


def test_an_encrypted_xlsx_or_an_old_xls_is_called_what_it_is(landing, warehouse):
    encrypted = landing / "swev" / "toewijzingen_2025-04-02.xlsx"
    encrypted.parent.mkdir(parents=True)
    encrypted.write_bytes(
        compound_file(
            {
                "EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"<encryption/>",
                "EncryptedPackage": os.urandom(6000),
            }
        )
    )
    old = landing / "swev" / "toewijzingen_2025-05-02.xlsx"
    old.write_bytes(compound_file({"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00" + b"\0" * 100}))
    outcomes = outcomes_by_pad(landing, warehouse)
    assert "encrypted" in outcomes["swev/toewijzingen_2025-04-02.xlsx"].reden
    assert "damaged" not in outcomes["swev/toewijzingen_2025-04-02.xlsx"].reden
    assert ".xls" in outcomes["swev/toewijzingen_2025-05-02.xlsx"].reden
    assert "Excel 97-2003" in outcomes["swev/toewijzingen_2025-05-02.xlsx"].reden
    for path in (encrypted, old):
        assert assert_every_line_accounted_for(warehouse, landing, path) == "afgewezen"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_csv_is_called_utf16(landing, warehouse, encoding):
    path = landing / "swev" / "toewijzingen_2025-04-02.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(csv_text(csv_rows(3)).encode(encoding))
    [outcome] = load_all(landing, warehouse)
    assert outcome.status == "afgewezen" and "UTF-16" in outcome.reden and "binary" not in outcome.reden
    assert "UTF-8" in outcome.reden  # what to save it as
    assert assert_every_line_accounted_for(warehouse, landing, path) == "afgewezen"


def test_excel_serial_60_the_day_that_never_was_is_a_bad_row(landing, warehouse):
    path = landing / "swev" / "toewijzingen_2025-04-02.xlsx"
    path.parent.mkdir(parents=True)
    wb = Workbook()
    ws = wb.active
    ws.append(TOEWIJZINGEN_HEADER)
    for i, serial in enumerate([59, 60, 61, 60.5], start=1):
        ws.append(toewijzing_row(i, datum=serial))
        ws.cell(ws.max_row, 4).number_format = "dd-mm-yyyy"
    ws.append(toewijzing_row(5, datum=dt.datetime(2025, 3, 1)))
    ws.append(toewijzing_row(6, datum="60"))  # text: not a date either, but not Excel's phantom day
    wb.save(path)
    [outcome] = load_all(landing, warehouse)
    assert (outcome.rijen_geladen, outcome.rijen_quarantaine) == (3, 3)
    bad = query(warehouse, "SELECT rijnummer, kolom, reden FROM audit.quarantaine ORDER BY rijnummer")
    assert [(r, k) for r, k, _ in bad] == [
        (3, "toewijzingsdatum"),
        (5, "toewijzingsdatum"),
        (7, "toewijzingsdatum"),
    ]
    for _, _, reden in bad[:2]:  # Excel shows serial 60 as 29-02-1900 (its 1900 leap-year bug)
        assert reden == "column 'Toewijzingsdatum' (toewijzingsdatum): '29-02-1900' is not an existing date"
    assert query(
        warehouse, "SELECT toewijzing_id, toewijzingsdatum FROM raw.swev_toewijzingen ORDER BY 1"
    ) == [("T0001", dt.date(1900, 2, 28)), ("T0003", dt.date(1900, 3, 1)), ("T0005", dt.date(2025, 3, 1))]
    assert_every_line_accounted_for(warehouse, landing, path, lines=6)


# A whole run over the sample with hostile files beside it -------------------------------------------------------


def hostile_files(landing: Path) -> list[Path]:
    """One of each hostile csv/xlsx, dated so that none of them is the latest delivery of its folder."""
    swev = landing / "swev"
    quote = swev / "toewijzingen_2025-06-02.csv"
    lines = csv_text(csv_rows(50)).splitlines()
    lines[4] = lines[4].replace(";Portaal;", ';"Portaal;')
    quote.write_text("\n".join(lines) + "\n")
    wide = swev / "toewijzingen_2025-07-02.csv"
    # wider than Excel's 16,384 columns, the default limit
    wide.write_text(csv_text([["Medisch", *([""] * 17000), *r] for r in csv_rows(20)], wide_header(17000)))
    utf16 = landing / "urgentie" / "baarn_2025-06-02.csv"
    utf16.write_bytes(csv_text(csv_rows(3)).encode("utf-16"))
    encrypted = landing / "urgentie" / "soest_2025-06-02.xlsx"
    encrypted.write_bytes(
        compound_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"\x01" * 5000})
    )
    return [huge_line_csv(swev / "toewijzingen_2025-05-02.csv"), quote, wide, utf16, encrypted]


LOWER_ULIMIT = 6 << 30


def run_under_lower_ulimit(base: Path) -> subprocess.CompletedProcess:
    """`fairshare run --demo` over ``base`` in a process under ``ulimit -v`` 6 GiB, the xlsx reader's limit set to
    8 GiB (the same settings every run: the reader's limits are part of the ingest configuration, so a run with
    other limits reads every file again)."""
    from tests.test_operation import run_args

    def cap() -> None:  # as `ulimit -v` does: soft and hard
        resource.setrlimit(resource.RLIMIT_AS, (LOWER_ULIMIT, LOWER_ULIMIT))

    clean = clean_env()
    return subprocess.run(
        [sys.executable, "-m", "fairshare.cli", *run_args(base)],
        cwd=ROOT,
        text=True,
        env={**clean, "FAIRSHARE_XLSX_READER_MEMORY": str(8 << 30)},
        capture_output=True,
        timeout=900,
        preexec_fn=cap,
    )


@pytest.fixture(scope="module")
def hostile_run(sample_run, tmp_path_factory):
    """A copy of the sample's landing with the hostile files beside it, run once by `fairshare run --demo` in a
    process under a lower ``ulimit -v`` (6 GiB) than the xlsx reader's limit set (8 GiB).

    Two tests read this one run, each its own outcome: the limit note and the sample's marts (the ulimit test),
    and the hostile files each rejected for its own reason (the hostile-files test). Neither can make the
    other's: the note names only the xlsx reader's limit against the process's (the files are csv limits,
    a quote, an encoding, an encryption: no memory is named in their reasons, which are asserted each); a
    rejected file adds no row, so the marts are the sample's either way. The ulimit run needs the sample's
    xlsx files read under the cap, which this first run does; the hostile-files test goes on in this folder
    (its later runs), the ulimit test reads only what is recorded here.
    """
    from tests.test_faults import marts
    from tests.test_operation import sample_copy

    _, _, reference, _ = sample_run
    base = tmp_path_factory.mktemp("vijandig")
    landing = sample_copy(sample_run, base)
    hostile = hostile_files(landing)
    (landing / "swev" / ".toewijzingen_2025-08-02.csv").write_text(csv_text(csv_rows(2)))
    (landing / "planregister" / "planregister_2025-10.xlsx").mkdir()
    old = time.time() - 60
    for path in hostile:
        os.utime(path, (old, old))
    started = time.time()
    result = run_under_lower_ulimit(base)
    print(f"run 1: {time.time() - started:.0f} s")
    warehouse = base / "warehouse" / "fairshare.duckdb"
    first = (result, marts(warehouse) if result.returncode == 0 else None, marts(reference))
    return {"base": base, "landing": landing, "hostile": hostile, "first": first}


def test_a_run_over_the_sample_with_hostile_files_rejects_them_and_gives_the_sample_marts(hostile_run):
    from tests.test_faults import marts

    base, landing, hostile = hostile_run["base"], hostile_run["landing"], hostile_run["hostile"]
    result, _, reference_marts = hostile_run["first"]
    warehouse = base / "warehouse" / "fairshare.duckdb"
    for attempt in range(2):  # the second run finds nothing new: stable
        if attempt:
            started = time.time()
            result = run_under_lower_ulimit(base)
            print(f"run {attempt + 1}: {time.time() - started:.0f} s")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        assert marts(warehouse) == reference_marts
        rejected = dict(
            query(warehouse, "SELECT pad, reden FROM audit.bestanden_actueel WHERE status = 'afgewezen'")
        )
        assert set(rejected) == {p.relative_to(landing).as_posix() for p in hostile}
        assert "FAIRSHARE_CSV_MAX_LINE_BYTES" in rejected["swev/toewijzingen_2025-05-02.csv"]
        assert "never closed" in rejected["swev/toewijzingen_2025-06-02.csv"]
        assert "FAIRSHARE_CSV_MAX_FIELDS" in rejected["swev/toewijzingen_2025-07-02.csv"]
        assert "UTF-16" in rejected["urgentie/baarn_2025-06-02.csv"]
        assert "encrypted" in rejected["urgentie/soest_2025-06-02.xlsx"]
        assert result.stderr.count(".toewijzingen_2025-08-02.csv") == 1
        for path in landing.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                assert_every_line_accounted_for(warehouse, landing, path)
    for path in hostile:  # the hostile files fixed (taken away): the next run gives the same marts
        path.unlink()
    shutil.rmtree(landing / "planregister" / "planregister_2025-10.xlsx")
    result = run_under_lower_ulimit(base)
    assert result.returncode == 0, result.stderr[-3000:]
    assert marts(warehouse) == reference_marts
