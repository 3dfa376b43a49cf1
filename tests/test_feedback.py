"""`fairshare quarantaine`: the supplier's list of bad rows equals audit.quarantaine, in Dutch, one sheet per
leverancier (corporation, committee, planregister), with a cover naming region, date and contents."""

from __future__ import annotations

import csv
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests import zygote
from tests.helpers import TOEWIJZINGEN_HEADER, load_all, query, toewijzing_row, write_csv, write_xlsx

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
        TOEWIJZINGEN_HEADER,
        [
            toewijzing_row(1),
            toewijzing_row(2, huur=45),
            toewijzing_row(3, kamers="veel"),
            toewijzing_row(4, gemeente="Utrecht"),
        ],
        title_rows=1,
    )
    write_csv(
        landing / "swev" / "toewijzingen_2025-11-03.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(5), toewijzing_row(6, datum="31-02-2025"), toewijzing_row(6, datum="01-03-2025")],
    )
    (landing / "swev" / "toewijzingen_2026-04-02.xlsx").write_bytes(b"kapot")
    load_all(landing, warehouse)


def _audit_rows(warehouse: Path, where: str = "") -> list[tuple]:
    return query(
        warehouse,
        f"SELECT pad, coalesce(blad, ''), rijnummer FROM audit.quarantaine {where} ORDER BY pad, rijnummer",
    )


def test_xlsx_has_one_sheet_per_corporation_with_the_rows_of_audit_quarantaine(landing, warehouse, tmp_path):
    _landing_with_bad_rows(landing, warehouse)
    out = tmp_path / "lijst.xlsx"
    result = _cli("--warehouse", str(warehouse), "--out", str(out))
    assert result.returncode == 0, result.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == ["Toelichting", "Portaal", "Afgewezen bestanden"]  # both files: one corporation
    rows = []
    for name in wb.sheetnames[1:2]:
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
    bad = {
        r[2]: r
        for r in wb["Portaal"].iter_rows(min_row=2, values_only=True)
        if r[0] == "swev/toewijzingen_2025-04-02.xlsx"
    }
    assert bad[4][3] == "Netto huur" and "45 valt buiten het toegestane bereik" in bad[4][4]
    assert "minimaal 100" in bad[4][5] and "lager dan 3000" in bad[4][5]
    assert (
        bad[5][3] == "Aantal kamers" and "<tekst van 4 tekens> is geen geheel getal" in bad[5][4]
    )  # reduced (§5)
    assert "Amersfoort" in bad[6][5] and "'Utrecht' is geen gemeente van Regio Amersfoort" in bad[6][4]
    for r in rows:
        assert r[2] >= 2
    for ws in wb.worksheets[1:2]:
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
    assert rows[0][:5] == ["Bron", "Leverancier", "Bestand", "Blad", "Rij"]
    assert [(r[2], r[3], int(r[4])) for r in rows[1:]] == _audit_rows(
        warehouse, "WHERE pad = 'swev/toewijzingen_2025-11-03.csv'"
    )
    assert {r[1] for r in rows[1:]} == {"Portaal"}
    assert all("komt 2 keer voor" in r[6] for r in rows[1:] if r[5] == "Toewijzingsnummer")


def test_every_reason_of_the_sample_is_in_dutch(sample_run, tmp_path):
    _, _, warehouse, result = sample_run
    assert result.returncode == 0
    out = tmp_path / "sample.csv"
    assert _cli("--warehouse", str(warehouse), "--out", str(out)).returncode == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))[1:]
    assert sorted((r[2], r[3], int(r[4])) for r in rows) == _audit_rows(warehouse)
    for r in rows:
        assert not ENGLISH.search(r[6]), r[6]
        assert r[7], r  # what a valid value looks like
        assert r[1], r  # who can fix it


def test_usage_errors(tmp_path):
    assert (
        _cli("--warehouse", str(tmp_path / "geen.duckdb"), "--out", str(tmp_path / "x.xlsx")).returncode == 2
    )


# --- Issue 20: the list for the clerk ------------------------------------------------------------------------
# One SWEV export shared by three corporations, two committees' registers and a planregister, each with rows a
# clerk must fix; personal data typed where it does not belong. The warehouse is loaded once and the list
# written once as xlsx and once as csv (real processes); the tests read the files back (openpyxl, calamine).

CORPS = ["Portaal", "de Alliantie", "Omnia Wonen"]
PERSONAL = {  # what a careless supplier typed, and must appear nowhere in the list
    "gemeente": "Mien Gemeentsma 316227766",
    "bsn in kamers": "111222333",
    "postcode": "3811 AB",
    "inschrijfnummer": "900123456",
    "voornaam": "Fatima",
    "leeftijd": "17-08-1961",
}
SWEV_CLERK_HEADER = [
    "Verhuringnummer",  # a variant: the reasons must name it, not toewijzing_id
    "Woningcorporatie",
    "Gemeente",
    "Datum toewijzing",
    "Kale huur",
    "Aantal kamers",
    "Gepersonaliseerde huur",
    "Postcode",
    "Inschrijfnummer",
    "Voornaam",
    "Leeftijd",
    "Gemeente van herkomst",
]
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # an internal name (toewijzing_id, aantal_woningen)
ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
BARE_CODE = re.compile(r"\bGM\d{4}\b(?! \(gemeente )")  # a CBS code the list does not name


def _clerk_row(i: int, corp: str, **over) -> list:
    row = {
        "id": f"V{i:03d}",
        "corp": corp,
        "gemeente": "Amersfoort",
        "datum": dt.datetime(2025, 3, 1),
        "huur": 600.0,
        "kamers": 2,
        "persoonlijk": True,
        "postcode": PERSONAL["postcode"],
        "inschrijf": PERSONAL["inschrijfnummer"],
        "voornaam": PERSONAL["voornaam"],
        "leeftijd": 40,
        "herkomst": "GM0307",  # a code: the list names the gemeente
    }
    row.update(over)
    return list(row.values())


@pytest.fixture(scope="module")
def clerk(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("clerk")
    landing, warehouse = base / "landing", base / "warehouse" / "fairshare.duckdb"
    for folder in ("swev", "urgentie", "planregister"):
        (landing / folder).mkdir(parents=True)
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        SWEV_CLERK_HEADER,
        [
            _clerk_row(1, "Portaal"),
            _clerk_row(2, "Portaal", huur=45, herkomst="Hoogland"),  # a woonplaats: named with its gemeente
            _clerk_row(3, "de Alliantie", gemeente="Amersfort"),  # misspelt: shown as typed
            _clerk_row(4, "de Alliantie", gemeente=PERSONAL["gemeente"]),  # a name: reduced
            _clerk_row(5, "Omnia Wonen", kamers="12,5"),
            _clerk_row(6, "Omnia Wonen", kamers=int(PERSONAL["bsn in kamers"])),
            _clerk_row(7, "Omnia Wonen", datum="31-02-2025", leeftijd=PERSONAL["leeftijd"]),
            _clerk_row(8, "Portal", huur="zeshonderd"),  # a misspelt corporation: still Portaal's row
        ],
        title_rows=1,
    )
    write_csv(
        landing / "swev" / "toewijzingen_2025-11-03.csv",
        SWEV_CLERK_HEADER,
        [
            _clerk_row(10, "Portaal", datum="1-3-2025", persoonlijk="x"),
            _clerk_row(10, "Portaal", datum="01-03-2025", persoonlijk="nee"),
        ],
    )
    reg_header = ["Dossiernummer", "Datum aanvraag", "Datum besluit", "Uitkomst", "Urgentiecategorie"]
    write_csv(
        landing / "urgentie" / "baarn_2025-04-02.csv",
        reg_header,
        [
            ["B1", "01-02-2025", "01-01-2025", "Toegekend", "Medisch"],
            ["B2", "01-02-2025", "", "Afgewzen", ""],
        ],
    )
    write_csv(
        landing / "urgentie" / "soest_2025-04-02.csv",
        reg_header,
        [["S1", "volgende week", "", "In behandeling", ""]],
    )
    write_csv(
        landing / "planregister" / "planregister_2025-10.csv",
        ["Plancode", "Gemeente", "Planstatus", "Totaal woningen", "Nultredenwoningen"],
        [["P1", "Soest", "Hard", "20", "25"], ["P2", "Soest", "Hard", "10", "1"]],
    )
    (landing / "swev" / "toewijzingen_2026-04-02.xlsx").write_bytes(b"kapot")
    load_all(landing, warehouse)
    xlsx, csv_out = base / "lijst.xlsx", base / "lijst.csv"
    for out in (xlsx, csv_out):
        result = _cli("--warehouse", str(warehouse), "--out", str(out))
        assert result.returncode == 0, result.stderr
    return {"warehouse": warehouse, "xlsx": xlsx, "csv": csv_out, "today": dt.date.today()}


def _sheets(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's rows as calamine reads them (the reader of the pipeline itself)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return {name: [tuple(r) for r in wb.get_sheet_by_name(name).to_python()] for name in wb.sheet_names}


def _rows(clerk: dict) -> dict[str, list[dict]]:
    return {
        name: [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        for name, rows in _sheets(clerk["xlsx"]).items()
        if name not in ("Toelichting", "Afgewezen bestanden")
    }


def _field(gelezen: str, kop: str) -> str | None:
    for part in gelezen.split("; "):
        k, _, v = part.partition(": ")
        if k == kop:
            return v
    return None


def test_one_sheet_per_corporation_committee_and_planregister(clerk):
    wb = load_workbook(clerk["xlsx"])
    assert wb.sheetnames == [
        "Toelichting",
        "de Alliantie",
        "Omnia Wonen",
        "Portaal",
        "Urgentiecommissie Baarn",
        "Urgentiecommissie Soest",
        "Planregister Wonen",
        "Afgewezen bestanden",
    ]
    rows = _rows(clerk)
    for corp in CORPS:
        assert rows[corp], corp
        for r in rows[corp]:
            typed = _field(r["Gelezen waarden"], "Woningcorporatie")
            assert typed == corp or (corp == "Portaal" and typed == "Portal"), (corp, r)
    # the misspelt corporation's row goes to the corporation it misspells
    assert [r["Rij"] for r in rows["Portaal"] if r["Bestand"].endswith(".xlsx")] == [4, 10]
    assert {r["Bestand"] for r in rows["Urgentiecommissie Baarn"]} == {"urgentie/baarn_2025-04-02.csv"}
    assert {r["Bestand"] for r in rows["Urgentiecommissie Soest"]} == {"urgentie/soest_2025-04-02.csv"}
    # every quarantined row is on exactly one sheet
    listed = sorted((r["Bestand"], int(r["Rij"])) for rs in rows.values() for r in rs)
    assert listed == [(p, n) for p, _, n in _audit_rows(clerk["warehouse"])]
    # the csv says the same per row, in its Leverancier column
    with open(clerk["csv"], encoding="utf-8-sig", newline="") as fh:
        from_csv = sorted(
            (r["Leverancier"], r["Bestand"], int(r["Rij"])) for r in csv.DictReader(fh, delimiter=";")
        )
    assert from_csv == sorted((name, r["Bestand"], int(r["Rij"])) for name, rs in rows.items() for r in rs)


def test_reasons_name_the_column_as_the_supplier_wrote_it(clerk):
    rows = _rows(clerk)
    plan = {int(r["Rij"]): r for r in rows["Planregister Wonen"]}
    assert plan[2]["Kolom"] == "Nultredenwoningen"
    assert plan[2]["Reden"] == "Nultredenwoningen: het aantal is groter dan Totaal woningen"
    assert "ten hoogste Totaal woningen" in plan[2]["Geldige waarde"]
    dup = [r for r in rows["Portaal"] if r["Bestand"].endswith(".csv")]
    assert [r["Reden"] for r in dup] == ["Verhuringnummer: 'V010' komt 2 keer voor in dit bestand"] * 2
    baarn = {int(r["Rij"]): r for r in rows["Urgentiecommissie Baarn"]}
    assert baarn[2]["Reden"] == "Datum besluit: de besluitdatum ligt vóór de aanvraagdatum"
    assert baarn[3]["Reden"].startswith(
        "Uitkomst: 'Afgewzen' is geen bekende waarde"
    )  # a misspelling, as typed
    assert "bedoelt u Afgewezen?" in baarn[3]["Geldige waarde"]
    for rs in rows.values():
        for r in rs:
            for column in ("Kolom", "Reden", "Geldige waarde", "Gelezen waarden"):
                assert not SNAKE.search(r[column]), (column, r[column])


def test_values_as_typed_where_they_identify_nobody(clerk):
    rows = {
        (name, int(r["Rij"])): r
        for name, rs in _rows(clerk).items()
        for r in rs
        if r["Bestand"].endswith("xlsx")
    }
    misspelt = rows[("de Alliantie", 5)]
    assert misspelt["Reden"] == "Gemeente: 'Amersfort' is geen gemeente van Regio Amersfoort"
    assert "bedoelt u Amersfoort?" in misspelt["Geldige waarde"]
    assert _field(misspelt["Gelezen waarden"], "Gemeente") == "Amersfort"
    assert _field(rows[("Omnia Wonen", 7)]["Gelezen waarden"], "Aantal kamers") == "12,5"
    assert rows[("Omnia Wonen", 7)]["Reden"] == "Aantal kamers: '12,5' is geen geheel getal"
    assert rows[("Omnia Wonen", 9)]["Reden"].startswith(
        "Datum toewijzing: '31-02-2025' is een datum die niet"
    )
    assert rows[("Portaal", 4)]["Reden"] == "Kale huur: 45 valt buiten het toegestane bereik"
    # Dutch dates, ja/nee, names: never the warehouse's ISO dates, True/False or GM codes
    gelezen = rows[("Portaal", 4)]["Gelezen waarden"]
    assert _field(gelezen, "Datum toewijzing") == "01-03-2025"
    assert _field(gelezen, "Gepersonaliseerde huur") == "ja"
    assert _field(gelezen, "Gemeente") == "Amersfoort" and _field(gelezen, "Kale huur") == "45"
    assert _field(gelezen, "Gemeente van herkomst") == "Hoogland (gemeente Amersfoort)"
    other = rows[("de Alliantie", 5)]["Gelezen waarden"]
    assert _field(other, "Gemeente van herkomst") == "GM0307 (gemeente Amersfoort)"
    csv_rows = [r for r in _rows(clerk)["Portaal"] if r["Bestand"].endswith(".csv")]
    assert [_field(r["Gelezen waarden"], "Datum toewijzing") for r in csv_rows] == ["1-3-2025", "01-03-2025"]
    assert [_field(r["Gelezen waarden"], "Gepersonaliseerde huur") for r in csv_rows] == ["ja", "nee"]
    for rs in _rows(clerk).values():
        for r in rs:
            g = r["Gelezen waarden"]
            assert not ISO.search(g) and not BARE_CODE.search(g) and "True" not in g and "False" not in g, g


def test_no_personal_data_in_the_list(clerk):
    rows = {
        (name, int(r["Rij"])): r
        for name, rs in _rows(clerk).items()
        for r in rs
        if r["Bestand"].endswith("xlsx")
    }
    named = rows[("de Alliantie", 6)]
    assert named["Reden"] == "Gemeente: <tekst van 25 tekens> is geen gemeente van Regio Amersfoort"
    assert _field(named["Gelezen waarden"], "Gemeente") == "<tekst van 25 tekens>"
    bsn = rows[("Omnia Wonen", 8)]
    assert _field(bsn["Gelezen waarden"], "Aantal kamers") == "<getal van 9 cijfers>"
    assert "<getal van 9 cijfers> valt buiten" in bsn["Reden"]
    gelezen = rows[("Portaal", 4)]["Gelezen waarden"]
    assert _field(gelezen, "Postcode") == "3811" and _field(gelezen, "Leeftijd") == "23-54"
    assert _field(gelezen, "Inschrijfnummer") is None and _field(gelezen, "Voornaam") is None
    assert (
        _field(rows[("Omnia Wonen", 9)]["Gelezen waarden"], "Leeftijd") == "<10 tekens cijfers en leestekens>"
    )
    import zipfile

    with zipfile.ZipFile(clerk["xlsx"]) as z:
        texts = {"xlsx": "\n".join(z.read(n).decode("utf-8") for n in z.namelist())}
    texts["csv"] = clerk["csv"].read_text(encoding="utf-8-sig")
    texts["warehouse"] = "\n".join(
        str(r) for r in query(clerk["warehouse"], "SELECT waarden, getoond, reden FROM audit.quarantaine")
    )
    for where, text in texts.items():
        assert "Amersfort" in text, where  # control: the harmless values are there
        for what, value in PERSONAL.items():
            assert value not in text and value.replace(" ", "") not in text, (where, what)
    assert "1961-08-17" not in texts["xlsx"] + texts["csv"]


def test_the_cover_names_region_date_and_contents(clerk):
    from basics.dutch import datum_nl

    sheets = _sheets(clerk["xlsx"])
    cover = sheets["Toelichting"]
    fields = {r[0]: r[1] for r in cover if r and r[0]}
    assert fields["Regio"] == "Regio Amersfoort"
    assert fields["Datum"] == datum_nl(clerk["today"])
    assert fields["Selectie"] == "alle bronnen, alle leveringen"
    assert "Regio Amersfoort" in cover[0][0]
    start = next(i for i, r in enumerate(cover) if r[0] == "Tabblad")
    assert list(cover[start][:5]) == ["Tabblad", "Leverancier", "Bron", "Bestanden", "Rijen"]
    contents = {}
    for r in cover[start + 1 :]:
        if r[0] == "Totaal":
            total = r
            break
        contents[r[0]] = (r[1], r[2], int(r[3]), int(r[4]) if r[4] != "" else None)
    assert list(contents) == [s for s in sheets if s != "Toelichting"]  # every sheet, in order
    for name, rows in sheets.items():
        if name in ("Toelichting", "Afgewezen bestanden"):
            continue
        leverancier, bron, files, count = contents[name]
        assert count == len(rows) - 1, name  # the row count is the sheet's
        assert files == len({r[0] for r in rows[1:]}), name
        assert leverancier == name
    assert contents["Portaal"][1] == "SWEV-toewijzingen"
    assert contents["Afgewezen bestanden"][2] == len(sheets["Afgewezen bestanden"]) - 1 == 1
    assert int(total[4]) == sum(c[3] for n, c in contents.items() if n != "Afgewezen bestanden")
    # a list for one delivery says so
    out = clerk["xlsx"].with_name("een.xlsx")
    assert (
        _cli(
            "--warehouse",
            str(clerk["warehouse"]),
            "--bron",
            "urgentie",
            "--levering",
            "2025-04-02",
            "--out",
            str(out),
        ).returncode
        == 0
    )
    one = {r[0]: r[1] for r in _sheets(out)["Toelichting"] if r and r[0]}
    assert one["Selectie"] == "Registers van de urgentiecommissies, levering 2025-04-02"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Amersfort", "Amersfoort"),
        ("amersfoortt", "Amersfoort"),
        ("Woudeberg", "Woudenberg"),
        ("Baan", None),  # too short: a surname one letter off Baarn
        ("Jansen", None),
        ("Mien Gemeentsma", None),
        ("Soest 12", None),  # a digit: maybe a house number
        ("Amersfoort", None),  # a match is no miss
    ],
)
def test_a_near_miss_is_a_misspelling_of_one_known_value(typed, meant, config):
    from ingest.privacy import near_miss

    assert near_miss(typed, config.gemeente_names) == meant


def test_numbers_and_dates_as_typed_only_when_they_cannot_be_an_identifier():
    from ingest.privacy import date_text, number_shown, number_text

    assert number_text("12,5") == "12,5" and number_text("€ 1.052,30") == "€ 1.052,30"
    assert number_text("111222333") is None and number_text("06-12345678") is None
    assert number_shown(45.0) == "45" and number_shown(612345678) == "<getal van 9 cijfers>"
    assert date_text("31-02-2025") == "31-02-2025" and date_text("31-02-2025 Jan Jansen") == "31-02-2025"
    assert date_text("volgende week") is None


def test_a_key_twice_across_chunks_is_shown_in_the_suppliers_terms(landing, warehouse, tmp_path, monkeypatch):
    """A row that loaded in one chunk and turned out bad in a later one (its key again) has no cells left: the
    list shows what was stored, under the file's headers, in Dutch (dd-mm-yyyy, ja/nee, gemeente names)."""
    import ingest.readers

    monkeypatch.setattr(ingest.readers, "CHUNK_ROWS", 3)
    header = [*TOEWIJZINGEN_HEADER, "Gepersonaliseerde huur"]
    rows = [toewijzing_row(i, datum="1-3-2025", gemeente="GM0307") + ["ja"] for i in range(1, 9)]
    rows[6][0] = rows[0][0]  # the first chunk's row again in the third chunk
    rows[4][0], rows[4][4] = rows[0][0], 45  # and in the second, where the row is bad of itself too
    write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", header, rows)
    load_all(landing, warehouse)
    out = tmp_path / "lijst.csv"
    assert _cli("--warehouse", str(warehouse), "--out", str(out)).returncode == 0
    with open(out, encoding="utf-8-sig", newline="") as fh:
        listed = {int(r["Rij"]): r for r in csv.DictReader(fh, delimiter=";")}
    assert sorted(listed) == [2, 6, 8]
    for n in (2, 8):  # loaded, then found again in a later chunk: shown as stored
        shown = listed[n]["Gelezen waarden"]
        assert listed[n]["Reden"] == "Toewijzingsnummer: 'T0001' komt 3 keer voor in dit bestand"
        assert _field(shown, "Toewijzingsdatum") == "01-03-2025" and _field(shown, "Gemeente") == "Amersfoort"
        assert _field(shown, "Gepersonaliseerde huur") == "ja" and _field(shown, "Corporatie") == "Portaal"
        assert _field(shown, "Netto huur") == "600"
        assert not SNAKE.search(shown) and not ISO.search(shown), shown
    bad = listed[6]  # bad in its own chunk: as typed, with the duplicate named first
    assert bad["Reden"] == (
        "Toewijzingsnummer: 'T0001' komt 3 keer voor in dit bestand; Netto huur: 45 valt buiten het toegestane bereik"
    )
    assert _field(bad["Gelezen waarden"], "Toewijzingsdatum") == "1-3-2025"
    assert _field(bad["Gelezen waarden"], "Gemeente") == "GM0307 (gemeente Amersfoort)"
