"""Issue 18, "echoed text is inert": hostile file names and headers in the supplier's list and the BO workbook.

Every test writes real files into a real landing folder, loads them into a real DuckDB warehouse and runs
`fairshare quarantaine` as a real process; the lists it writes are opened with openpyxl, read as zip XML
and as csv text. A file name or header that looks like a formula or a link must come back as the same
text, never as a formula cell or a live link, and in csv never as a field a spreadsheet would evaluate.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from tests import zygote
from tests.helpers import (
    TOEWIJZINGEN_HEADER,
    foreign_warehouse,
    load_all,
    lock_held_elsewhere,
    query,
    toewijzing_row,
    write_csv,
)

ROOT = Path(__file__).resolve().parents[1]
TRIGGER = re.compile(r"^[=+\-@\t\r]")  # OWASP: a spreadsheet evaluates a cell that starts with one of these

# Rejected for their names (slash-free: a file name cannot hold "/"). The ones with ": " are the names whose
# rest the list used to take as the reason (it split the stored "<pad>: <reason>" at the first ": ").
HOSTILE_NAMES = [
    '=HYPERLINK("\\\\evil.example\\d","klik").csv',
    "+cmd|' \\C calc'!A0.csv",
    "@SUM(1).csv",
    "-2+3.csv",
    "\\\\evil.example\\share\\x.csv",
    "mailto:a@evil.example.csv",
    "x: =1+1.csv",
    "x: mailto:a@evil.example.csv",
    "x: external:\\\\evil.example\\share.csv",
    "x: -2+3.csv",
    "x: @SUM(1).csv",
    "x: \t=1+1.csv",
    "x: \r=1+1.csv",
]
# Known headers with a formula character in front: match_key ignores punctuation, so they are recognised and
# (being known) echoed verbatim in the Kolom, Reden and Geldige waarde columns.
HOSTILE_HEADER = [
    "Toewijzingsnummer",
    "+Corporatie",
    "@Gemeente",
    "Toewijzingsdatum",
    "=Netto huur",
    "-Aantal kamers",
]
BAD_ROWS = "swev/toewijzingen_2025-04-02.csv"
CLEAN = "swev/toewijzingen_2025-06-02.csv"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return zygote.run(
        [sys.executable, "-m", "fairshare.cli", "quarantaine", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """A warehouse loaded from a landing folder with hostile names and headers; returns the warehouse file."""
    base = tmp_path_factory.mktemp("hostile")
    landing, warehouse = base / "landing", base / "warehouse" / "fairshare.duckdb"
    for folder in ("swev", "urgentie", "planregister"):
        (landing / folder).mkdir(parents=True)
    write_csv(
        landing / BAD_ROWS,
        HOSTILE_HEADER,
        [
            toewijzing_row(1),
            toewijzing_row(2, huur=45),
            toewijzing_row(3, kamers="veel"),
            toewijzing_row(4, gemeente="Utrecht"),
        ],
    )
    write_csv(landing / CLEAN, TOEWIJZINGEN_HEADER, [toewijzing_row(10), toewijzing_row(11)])
    for name in HOSTILE_NAMES:
        write_csv(landing / "swev" / name, TOEWIJZINGEN_HEADER, [toewijzing_row(20)])
    write_csv(
        landing / "swev" / "toewijzingen_2025-02-31.csv", TOEWIJZINGEN_HEADER, [toewijzing_row(21)]
    )  # no real date
    write_csv(
        landing / "urgentie" / "onbekend_2025-04-02.csv", ["Registratienummer"], [["R1"]]
    )  # no committee
    outcomes = load_all(landing, warehouse)
    assert sum(o.status == "afgewezen" for o in outcomes) == len(HOSTILE_NAMES) + 2
    return warehouse


def _rejected(warehouse: Path) -> set[str]:
    return {
        p for (p,) in query(warehouse, "SELECT pad FROM audit.bestanden_actueel WHERE status = 'afgewezen'")
    }


def _xml_parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith((".xml", ".rels"))}


def _no_live_parts(path: Path) -> None:
    """No formula (array formulas included), no hyperlink element or relationship, no external link."""
    for name, xml in _xml_parts(path).items():
        assert not re.search(r"<f[ >]", xml), name
        assert "<hyperlink" not in xml and "relationships/hyperlink" not in xml, name
    assert not [n for n in zipfile.ZipFile(path).namelist() if "externalLink" in n]


def _excel_text(value):
    """A cell's text as Excel shows it: OOXML writes control characters as _xHHHH_ (openpyxl leaves them so)."""
    return (
        re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m[1], 16)), value) if isinstance(value, str) else value
    )


def _csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh, delimiter=";"))


def test_xlsx_holds_every_echoed_text_as_a_string_never_a_formula_or_link(hostile, tmp_path):
    out = tmp_path / "lijst.xlsx"
    result = _cli("--warehouse", str(hostile), "--out", str(out))
    assert result.returncode == 0, result.stderr
    _no_live_parts(out)
    wb = load_workbook(out)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type in ("s", "n", "d") and c.hyperlink is None, (
                    ws.title,
                    c.coordinate,
                    c.value,
                )
    # The same text, verbatim: the supplier finds the file and the column as they wrote them (nothing lost).
    rejected = [r for r in wb["Afgewezen bestanden"].iter_rows(min_row=2, values_only=True)]
    assert {_excel_text(r[1]) for r in rejected} == _rejected(hostile)
    bad = [r for r in wb["Portaal"].iter_rows(min_row=2, values_only=True) if r[0] == BAD_ROWS]
    assert [r[3] for r in bad] == ["=Netto huur", "-Aantal kamers", "@Gemeente"]
    assert bad[0][4].startswith("=Netto huur: 45 valt buiten")


def test_csv_fields_that_start_a_formula_are_neutralised_with_a_quote(hostile, tmp_path):
    out = tmp_path / "lijst.csv"
    result = _cli("--warehouse", str(hostile), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows, rejected = _csv(out), _csv(tmp_path / "lijst_afgewezen.csv")
    for row in rows + rejected:
        for field in row:
            assert not TRIGGER.match(field), row
    bad = [r for r in rows[1:] if r[2] == BAD_ROWS]
    assert [r[5] for r in bad] == ["'=Netto huur", "'-Aantal kamers", "'@Gemeente"]  # OWASP: a quote in front
    assert bad[0][6] == "'=Netto huur: 45 valt buiten het toegestane bereik"
    assert bad[0][4] == "3"  # a number stays a number
    assert bad[0][8].startswith(
        "Toewijzingsnummer: T0002; +Corporatie: Portaal"
    )  # under the supplier's headers
    assert {r[1] for r in rejected[1:]} == _rejected(
        hostile
    )  # file paths start with their folder: as they are


def test_the_reason_of_a_rejected_file_never_holds_its_name(hostile, tmp_path):
    out = tmp_path / "lijst.xlsx"
    assert _cli("--warehouse", str(hostile), "--out", str(out)).returncode == 0
    assert _cli("--warehouse", str(hostile), "--out", str(tmp_path / "lijst.csv")).returncode == 0
    from_xlsx = {
        _excel_text(r[1]): r[3]
        for r in load_workbook(out)["Afgewezen bestanden"].iter_rows(min_row=2, values_only=True)
    }
    from_csv = {r[1]: r[3] for r in _csv(tmp_path / "lijst_afgewezen.csv")[1:]}
    assert from_xlsx == from_csv and set(from_xlsx) == _rejected(hostile)
    patroon = "toewijzingen_<YYYY-MM-DD>.xlsx|.csv"
    for pad, reden in from_xlsx.items():
        name = pad.rsplit("/", 1)[-1]
        assert name not in reden and name.removesuffix(".csv") not in reden, (pad, reden)
        if pad.startswith("swev/") and pad != "swev/toewijzingen_2025-02-31.csv":
            assert reden == f"de bestandsnaam volgt het patroon {patroon} niet", (pad, reden)
    assert from_xlsx["swev/toewijzingen_2025-02-31.csv"] == (
        f"de bestandsnaam volgt het patroon {patroon} niet (de datum bestaat niet)"
    )
    assert from_xlsx["urgentie/onbekend_2025-04-02.csv"].endswith("('onbekend' is geen bekende commissie)")


def test_levering_is_compared_exactly_and_one_that_matches_nothing_stops(hostile, tmp_path):
    for asked in ("%", "toewijzingen_2025_04-02.csv", "nergens.csv", "2031-01-01"):
        out = tmp_path / "lijst.csv"
        result = _cli("--warehouse", str(hostile), "--levering", asked, "--out", str(out))
        assert result.returncode == 2, (asked, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert repr(asked) in lines[0] and CLEAN in lines[0], lines[0]  # what was asked, and known deliveries
        assert not out.exists()
    result = _cli(
        "--warehouse",
        str(hostile),
        "--bron",
        "urgentie",
        "--levering",
        "toewijzingen_2025-04-02.csv",
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert result.returncode == 2 and "urgentie" in result.stderr, result.stderr
    # A delivery by its date, and a rejected file by its (hostile) name: exact matches.
    assert (
        _cli(
            "--warehouse", str(hostile), "--levering", "2025-04-02", "--out", str(tmp_path / "d.csv")
        ).returncode
        == 0
    )
    assert [(r[2], r[4]) for r in _csv(tmp_path / "d.csv")[1:]] == [
        (BAD_ROWS, "3"),
        (BAD_ROWS, "4"),
        (BAD_ROWS, "5"),
    ]
    result = _cli("--warehouse", str(hostile), "--levering", "@SUM(1).csv", "--out", str(tmp_path / "s.csv"))
    assert result.returncode == 0, result.stderr
    assert [r[1] for r in _csv(tmp_path / "s_afgewezen.csv")[1:]] == ["swev/@SUM(1).csv"]


def test_levering_without_quarantined_rows_writes_an_empty_list_and_says_so(hostile, tmp_path):
    out = tmp_path / "leeg.xlsx"
    result = _cli("--warehouse", str(hostile), "--levering", CLEAN, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "nothing in quarantine" in result.stdout and repr(CLEAN) in result.stdout, result.stdout
    assert load_workbook(out).sheetnames == ["Toelichting"]
    stale = tmp_path / "leeg_afgewezen.csv"
    stale.write_text(
        "Bron;Bestand;Leverdatum;Reden\nSWEV-toewijzingen;swev/oud.csv;;oud\n", encoding="utf-8-sig"
    )
    result = _cli("--warehouse", str(hostile), "--levering", CLEAN, "--out", str(tmp_path / "leeg.csv"))
    assert result.returncode == 0, result.stderr
    assert _csv(tmp_path / "leeg.csv") == [
        [
            "Bron",
            "Leverancier",
            "Bestand",
            "Blad",
            "Rij",
            "Kolom",
            "Reden",
            "Geldige waarde",
            "Gelezen waarden",
        ]
    ]
    assert _csv(stale) == [
        ["Bron", "Bestand", "Leverdatum", "Reden"]
    ]  # the last list's rejected files: none now


def _one_sentence(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_program_holding_the_warehouse_open_is_named_in_one_sentence(hostile, tmp_path):
    copy = tmp_path / "fairshare.duckdb"
    shutil.copy(hostile, copy)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('open', flush=True); time.sleep(600)",
            str(copy),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        out = tmp_path / "lijst.xlsx"
        line = _one_sentence(_cli("--warehouse", str(copy), "--out", str(out)))
        assert f"PID {holder.pid}" in line and str(copy) in line, line
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_run_holding_the_warehouse_is_named_and_not_disturbed(hostile, tmp_path):
    """A reader would block the run's next write (DuckDB: one writer, and a reader blocks it): wait or stop."""
    out = tmp_path / "lijst.xlsx"
    with lock_held_elsewhere(hostile) as holder:
        line = _one_sentence(_cli("--warehouse", str(hostile), "--out", str(out)))
        assert f"process {holder.pid}" in line and "--wait" in line, line
        assert not out.exists()
        threading.Timer(2.0, holder.kill).start()  # the run ends while quarantaine waits for it
        result = _cli("--warehouse", str(hostile), "--wait", "60", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert load_workbook(out)["Afgewezen bestanden"].max_row == len(_rejected(hostile)) + 1


def test_an_out_that_cannot_be_written_is_one_sentence(hostile, tmp_path):
    (tmp_path / "map.xlsx").mkdir()
    (tmp_path / "bestand").write_text("")
    for out in (
        tmp_path / "map.xlsx",
        tmp_path / "bestand" / "lijst.csv",
        tmp_path / "bestand" / "lijst.xlsx",
    ):
        assert "cannot be written" in _one_sentence(_cli("--warehouse", str(hostile), "--out", str(out)))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["bestand", "map.xlsx"]  # no temporary file left


def test_a_file_that_is_no_warehouse_is_one_sentence(tmp_path):
    other = tmp_path / "iets.duckdb"
    other.write_bytes(b"geen duckdb-bestand" * 100)
    assert "cannot be opened" in _one_sentence(
        _cli("--warehouse", str(other), "--out", str(tmp_path / "x.csv"))
    )
    empty = tmp_path / "leeg.duckdb"
    duckdb.connect(str(empty)).close()
    assert "fairshare run" in _one_sentence(_cli("--warehouse", str(empty), "--out", str(tmp_path / "x.csv")))
    assert not (tmp_path / "x.csv").exists()


def test_a_foreign_warehouse_view_never_reads_a_file_into_the_list(tmp_path):
    """--warehouse may name any DuckDB file: a view there over read_text is refused, its file never read."""
    foreign, _ = foreign_warehouse(
        tmp_path,
        "CREATE SCHEMA audit",
        "CREATE TABLE audit.bestanden (bestand_id INTEGER, bron VARCHAR, pad VARCHAR, leverdatum DATE, "
        "status VARCHAR, reden VARCHAR)",
        "CREATE TABLE audit.quarantaine (bestand_id INTEGER, bron VARCHAR, pad VARCHAR, blad VARCHAR, "
        "rijnummer INTEGER, kolom VARCHAR, reden VARCHAR, waarden JSON)",
        "CREATE VIEW audit.bestanden_actueel AS SELECT 'swev' AS bron, 'swev/x.csv' AS pad, "
        "NULL::DATE AS leverdatum, 'afgewezen' AS status, content AS reden FROM read_text('{secret}')",
    )
    out = tmp_path / "lijst.csv"
    result = _cli("--warehouse", str(foreign), "--out", str(out))
    assert "cannot be read as a fairshare warehouse" in _one_sentence(result)
    assert "Jansen" not in result.stdout + result.stderr and not out.exists()


# The BO workbook no longer echoes dbt descriptions (its texts are products/report/werkboek.yaml); a name from the
# warehouse that looks like a formula or link stays text: tests/test_board_workbook.py.


def test_the_html_pages_escape_echoed_text(tmp_path):
    """A rejected file's name reaches the blocked page as an example: autoescape keeps it text."""
    from products.report import render_blocked

    name = 'swev/<img src=x onerror="alert(1)">.csv'
    page = render_blocked(
        tmp_path, dt.date(2026, 11, 1), [("bestanden", "Een bestand is afgewezen", [name])], None
    )
    html = page.read_text(encoding="utf-8")
    assert "<img" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
