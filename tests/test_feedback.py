"""`fairshare quarantaine`: the supplier's list of bad rows equals audit.quarantaine, in Dutch, one sheet per file."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from tests import zygote
from tests.helpers import SWEV_HEADER, load_all, query, swev_row, write_csv, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = re.compile(r"\b(is not|column|appears|required|larger than|out of range|needs)\b")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return zygote.run(
        [sys.executable, "-m", "fairshare.cli", "quarantaine", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def _landing_with_bad_rows(landing: Path, warehouse: Path) -> None:
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        SWEV_HEADER,
        [swev_row(1), swev_row(2, huur=45), swev_row(3, kamers="veel"), swev_row(4, gemeente="Utrecht")],
        title_rows=1,
    )
    write_csv(
        landing / "swev" / "toewijzingen_2025-11-03.csv",
        SWEV_HEADER,
        [swev_row(5), swev_row(6, datum="31-02-2025"), swev_row(6, datum="01-03-2025")],
    )
    (landing / "swev" / "toewijzingen_2026-04-02.xlsx").write_bytes(b"kapot")
    load_all(landing, warehouse)


def _audit_rows(warehouse: Path, where: str = "") -> list[tuple]:
    return query(
        warehouse,
        f"SELECT pad, coalesce(blad, ''), rijnummer FROM audit.quarantaine {where} ORDER BY pad, rijnummer",
    )


def test_xlsx_has_one_sheet_per_file_with_the_rows_of_audit_quarantaine(landing, warehouse, tmp_path):
    _landing_with_bad_rows(landing, warehouse)
    out = tmp_path / "lijst.xlsx"
    result = _cli("--warehouse", str(warehouse), "--out", str(out))
    assert result.returncode == 0, result.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "Toelichting",
        "toewijzingen_2025-04-02.xlsx",
        "toewijzingen_2025-11-03.csv",
        "Afgewezen bestanden",
    ]
    rows = []
    for name in wb.sheetnames[1:3]:
        ws = wb[name]
        assert [c.value for c in ws[1]] == [
            "Bestand",
            "Blad",
            "Rij",
            "Kolom",
            "Reden",
            "Geldige waarde",
            "Gelezen waarden",
        ]
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        rows += [(r[0], r[1] or "", r[2]) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert rows == _audit_rows(warehouse)
    bad = {r[2]: r for r in wb["toewijzingen_2025-04-02.xlsx"].iter_rows(min_row=2, values_only=True)}
    assert bad[4][3] == "Netto huur" and "45 valt buiten het toegestane bereik" in bad[4][4]
    assert "minimaal 100" in bad[4][5] and "lager dan 3000" in bad[4][5]
    assert (
        bad[5][3] == "Aantal kamers" and "<tekst van 4 tekens> is geen geheel getal" in bad[5][4]
    )  # reduced (§5)
    assert "Amersfoort" in bad[6][5] and "'Utrecht' is geen gemeente van Regio Amersfoort" in bad[6][4]
    for r in rows:
        assert r[2] >= 2
    for ws in wb.worksheets[1:3]:
        for r in ws.iter_rows(min_row=2, values_only=True):
            assert not ENGLISH.search(r[4]), r[4]
    rejected = list(wb["Afgewezen bestanden"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[3]) for r in rejected] == [
        (
            "swev/toewijzingen_2026-04-02.xlsx",
            "geen leesbaar xlsx-bestand (het archief is beschadigd of onvolledig)",
        )
    ]


def test_csv_filtered_on_one_delivery(landing, warehouse, tmp_path):
    _landing_with_bad_rows(landing, warehouse)
    out = tmp_path / "lijst.csv"
    result = _cli(
        "--warehouse",
        str(warehouse),
        "--bron",
        "swev",
        "--levering",
        "toewijzingen_2025-11-03.csv",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0][:4] == ["Bron", "Bestand", "Blad", "Rij"]
    assert [(r[1], r[2], int(r[3])) for r in rows[1:]] == _audit_rows(
        warehouse, "WHERE pad = 'swev/toewijzingen_2025-11-03.csv'"
    )
    assert all("komt 2 keer voor" in r[5] for r in rows[1:] if r[4] == "Toewijzingsnummer")


def test_every_reason_of_the_sample_is_in_dutch(sample_run, tmp_path):
    _, _, warehouse, result = sample_run
    assert result.returncode == 0
    out = tmp_path / "sample.csv"
    assert _cli("--warehouse", str(warehouse), "--out", str(out)).returncode == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))[1:]
    assert [(r[1], r[2], int(r[3])) for r in rows] == _audit_rows(warehouse)
    for r in rows:
        assert not ENGLISH.search(r[5]), r[5]
        assert r[6], r  # what a valid value looks like


def test_usage_errors(tmp_path):
    assert (
        _cli("--warehouse", str(tmp_path / "geen.duckdb"), "--out", str(tmp_path / "x.xlsx")).returncode == 2
    )
