"""Issue 24: the reader's loaded rows and quarantine rows, compared with a recording made before the reader changed.

The files are written here by code: csv (UTF-8 and Windows-1252, regular and with irregular lines) and xlsx, with
every kind of bad value of sources.md §2, the row rules of §3, keys twice in a file (within one chunk and across
chunks: the chunk size is made small), empty rows and Totaal rows. ``tests/recorded/reader.json`` holds what the
reader of before issue 24 loaded and quarantined; ``FAIRSHARE_RECORD=1`` writes it again (only ever on purpose).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from ingest import readers
from tests.helpers import TOEWIJZINGEN_HEADER, load_all, query, write_csv, write_xlsx

RECORDED = Path(__file__).with_name("recorded") / "reader.json"

SWEV_HEADER = [
    *TOEWIJZINGEN_HEADER,
    "Label",
    "Gepersonaliseerde huur",
    "Toewijzingsroute",
    "Urgentiecategorie",
    "Subcategorie",
    "Huisvestingsvergunning urgentie",
    "Herkomstgemeente",
    "Inschrijfnummer",
    "Postcode",
    "Huishoudgrootte",
    "Leeftijd",
    "Naam",  # not a column of the contract: ignored
]
SWEV_GOOD = {
    "id": "T0001",
    "corp": "Portaal",
    "gemeente": "Amersfoort",
    "datum": "01-03-2025",
    "huur": "600",
    "kamers": "2",
    "label": "Geen",
    "pers": "nee",
    "route": "",
    "cat": "",
    "sub": "",
    "hv": "",
    "herkomst": "Leusden",
    "nr": "0012345",
    "pc": "3811 AB",
    "hh": "2",
    "age": "40",
    "naam": "J. Jansen",
}
# One value per row that differs from the good row: every kind of §2 value, good and bad.
SWEV_VARIANTS = [
    {},
    {"id": ""},
    {"id": "  T0100 "},
    {"id": "\xa0T0101\u202f"},
    {"id": "#REF!"},
    {"id": "#n/a"},
    {"corp": ""},
    {"corp": "\xa0Portaal"},
    {"corp": "Woonstichting Nergens"},
    {"corp": "Portaal; Vestia"},
    {"gemeente": "Utrecht"},
    {"gemeente": "Amersfort"},
    {"gemeente": "0307"},
    {"gemeente": " amersfoort "},
    {"gemeente": "Jan Jansen"},
    {"datum": "31-02-2025"},
    {"datum": "gisteren"},
    {"datum": "2025-03-01"},
    {"datum": "1-3-2025"},
    {"datum": "01-03-1899"},
    {"datum": "45000"},
    {"datum": ""},
    {"huur": "#REF!"},
    {"huur": "#DIV/0!"},
    {"huur": "99,99"},
    {"huur": "3000"},
    {"huur": "652,30"},
    {"huur": "1.234,5"},
    {"huur": "€ 650"},
    {"huur": "zeshonderd"},
    {"huur": "6.5e2"},
    {"huur": ""},
    {"kamers": "0"},
    {"kamers": "13"},
    {"kamers": "2,5"},
    {"kamers": "2,0"},
    {"kamers": "drie"},
    {"label": "Starters"},
    {"label": "geen"},
    {"label": "Jongerren"},
    {"label": ""},
    {"pers": "ja"},
    {"pers": "Misschien"},
    {"pers": "1"},
    {"route": "Loting"},
    {"route": "Iets heel anders"},
    {"cat": "Urgent wegens sloop"},
    {"cat": "Medisch"},
    {"cat": "Uitstroom instelling", "sub": "Beschermd wonen"},
    {"cat": "Medisch", "sub": "Beschermd wonen"},
    {"sub": "Beschermd wonen"},
    {"sub": "Onbekende sub"},
    {"hv": "Ja"},
    {"hv": "nee "},
    {"hv": "wellicht"},
    {"herkomst": "Utrecht"},
    {"herkomst": "Onbekend"},
    {"herkomst": "Piet Puk, Dorpsstraat 1"},
    {"herkomst": ""},
    {"nr": ""},
    {"nr": "12345.0"},
    {"nr": " abc 77 "},
    {"nr": "#N/A"},
    {"pc": "38"},
    {"pc": "ABCD"},
    {"pc": "3811ab"},
    {"pc": ""},
    {"hh": "-1"},
    {"hh": "0"},
    {"hh": ""},
    {"age": "130"},
    {"age": "17"},
    {"age": "-3"},
    {"age": "veertig"},
    {"age": ""},
    {"datum": "gisteren", "huur": "3000", "kamers": "13"},  # three reasons on one row
]


def swev_row(i: int, **over) -> list[str]:
    row = {**SWEV_GOOD, "id": f"T{i:04d}", **over}
    return list(row.values())


def swev_rows() -> list[list[str]]:
    rows = [swev_row(i + 1, **v) for i, v in enumerate(SWEV_VARIANTS)]
    width = len(SWEV_HEADER)
    rows += [
        [""] * width,  # an empty row of full width
        ["Totaal", "12"] + [""] * (width - 2),
        [" totaal generaal"] + [""] * (width - 1),
        [""] + swev_row(200)[1:],  # first cell empty, others filled: a data row without its id
        swev_row(300),
        swev_row(300, huur="700"),  # the same key twice within one chunk
        swev_row(301, huur="3000"),
        swev_row(301),  # twice, one of them also bad otherwise
        swev_row(1),  # the first row's key again, chunks later
        swev_row(302, datum="gisteren"),
        swev_row(302, datum="gisteren"),  # twice, both bad otherwise
    ]
    return rows


REG_HEADER = [
    "Registratienummer",
    "Aanvraagdatum",
    "Besluitdatum",
    "Besluit",
    "Afwijzingsgrond",
    "Urgentiecategorie",
    "Subcategorie",
    "Commissie",
    "Herkomstgemeente",
    "Contra-indicatie",
    "Geldig tot",
    "Inschrijfnummer",
]
REG_ROWS = [
    [
        "R0",
        "01-03-2025",
        "05-03-2025",
        "Toegekend",
        "",
        "Uitstroom instelling",
        "Beschermd wonen",
        "",
        "",
        "",
        "",
        "1",
    ],
    ["R1", "10-03-2025", "01-03-2025", "Toegekend", "", "Medisch", "", "", "", "", "", "2"],
    ["R2", "10-03-2025", "", "Toegekend", "", "Medisch", "", "", "Zoëtermeer", "", "", "3"],
    ["R3", "10-03-2025", "", "Afgewezen", "Inkomen te hoog", "", "", "", "", "", "", "4"],
    ["R4", "10-03-2025", "20-03-2025", "Toegekend", "", "", "", "", "", "nee", "", "5"],
    ["R5", "10-03-2025", "20-03-2025", "Afgewezen", "", "", "", "", "", "", "", "6"],
    ["R6", "10-03-2025", "20-03-2025", "Misschien", "", "", "", "", "Curaçao €", "", "", "7"],
    ["R7", "volgende week", "", "", "", "", "", "", "", "", "", "8"],
    ["R8", "10-03-2025", "", "", "", "", "", "Utrecht", "", "", "", "9"],
    ["R9", "10-03-2025", "20-03-2025", "Toegekend", "", "Medisch", "Beschermd wonen", "", "", "", "", "10"],
    [
        "R10",
        "10-03-2025",
        "20-03-2025",
        "Afgewezen",
        "Inkomen te hoog €",
        "",
        "",
        "",
        "",
        "ja",
        "31-12-2026",
        "",
    ],
    ["R11", "10-03-2025", "", "", "", "", "", "Leusden", "", "", "", "11"],
    ["R11", "11-03-2025", "", "", "", "", "", "", "", "", "", "12"],  # the same key (commissie from the name)
    ["R12", "10-03-2025", "", "", "", "", "", "", "Ede “oud”", "", "32-13-2026", "13"],
    ["R13", "10-03-2025", "", "In behandeling", "", "", "", "", "", "misschien", "", "14"],
]

PLAN_HEADER = [
    "Plan ID",
    "Plannaam",
    "Gemeente",
    "Status",
    "Jaar oplevering",
    "Aantal woningen",
    "Sociale huur",
    "Sociale huur tot aftoppingsgrens",
    "Nultreden",
    "Transformatie",
]
PLAN_ROWS = [
    ["P0", "De Hoef", "Soest", "Zacht", "", "20", "", "", "4", ""],
    ["P1", "x", "Soest", "Hard", "2027", "20", "5", "2", "25", "ja"],
    ["P2", "x", "Soest", "Hard", "2027", "20", "5", "6", "2", ""],
    ["P3", "x", "Soest", "Hard", "2027", "-5", "", "", "", ""],
    ["P4", "x", "Soest", "Geschrapt", "2027", "20", "", "", "", ""],
    ["P5", "x", "Ede", "Hard", "2027", "20", "", "", "", ""],
    ["P6", "x", "Soest", "Hard", "1999", "20", "", "", "", "misschien"],
    ["P7", "x", "Soest", "Hard", "", "20", "-1", "", "", ""],
    ["P8", "x", "Soest", "Hard", "2028", "20", "", "", "", ""],
    ["P8", "y", "Soest", "Hard", "2029", "20", "", "", "", ""],
    [None, None, None, None, None, None, None, None, None, None],
    ["Totaal", None, None, None, None, 160, None, None, None, None],
]


def write_files(landing: Path) -> None:
    """Every file of the recording, written the same way each time."""
    rows = swev_rows()
    write_csv(landing / "swev" / "toewijzingen_2025-04-01.csv", SWEV_HEADER, rows)
    # The same rows with irregular lines: a blank line, a line cut short, a line too long, ',' as delimiter.
    irregular = landing / "swev" / "toewijzingen_2025-04-02.csv"
    write_csv(irregular, SWEV_HEADER, rows[:20], delimiter=",")
    with open(irregular, "a", encoding="utf-8", newline="") as fh:
        fh.write("\n")
        fh.write(",".join(swev_row(400)[:5]) + "\n")
        fh.write(",".join(swev_row(401) + ["extra"]) + "\n")
        fh.write(",".join(swev_row(402)) + "\r\n")
    # xlsx: strings as a supplier's Excel holds them, and real numbers and dates too.
    xrows = [[c for c in r] for r in rows[:30]]
    xrows += [
        swev_row(
            500, datum=dt.datetime(2025, 3, 1), huur=650.5, kamers=3, hh=2, age=44, nr=12345, pc="3812 CD"
        ),
        swev_row(501, datum=dt.datetime(2025, 3, 1, 13, 30), huur=2.5, kamers=2.5, hh=-1.0, age=17.0, nr=1.5),
        swev_row(502, datum=45000, huur=True, kamers=False, label=1, pers=True, hv=False, nr=0.0),
    ]
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-03.xlsx", SWEV_HEADER, xrows, title_rows=2, total_row=True
    )
    # Windows-1252 (é, €, curly quotes; 0x81 is undefined in it), regular lines.
    reg = landing / "urgentie" / "leusden_2025-04-02.csv"
    write_csv(reg, REG_HEADER, REG_ROWS, encoding="cp1252")
    with open(reg, "ab") as fh:
        fh.write(b"R14;10-03-2025;;;;;;;Ede\x81;;;15\r\n")
    write_csv(landing / "urgentie" / "amersfoort_2025-04-02.csv", REG_HEADER, REG_ROWS)
    write_xlsx(landing / "planregister" / "planregister_2025-03.xlsx", PLAN_HEADER, PLAN_ROWS)
    write_csv(
        landing / "planregister" / "planregister_2025-10.csv",
        PLAN_HEADER,
        [["" if c is None else str(c) for c in r] for r in PLAN_ROWS],
    )


TABLES = ("raw.swev_toewijzingen", "raw.urgentie_registraties", "raw.planregister_plannen")


def observed(warehouse: Path) -> dict:
    """Loaded rows per table, quarantine rows and file outcomes, as json-comparable lists."""

    def rows(sql: str) -> list[list]:
        return [[None if v is None else str(v) for v in r] for r in query(warehouse, sql)]

    out = {}
    for table in TABLES:
        out[table] = rows(f"SELECT * FROM {table} ORDER BY ALL")
    out["quarantaine"] = rows(
        "SELECT pad, blad, rijnummer, kolom, reden, reden_codes, CAST(reden_parameters AS VARCHAR), waarden, "
        "getoond FROM audit.quarantaine ORDER BY pad, rijnummer"
    )
    out["bestanden"] = rows(
        "SELECT pad, status, blad, rijen_gelezen, rijen_geladen, rijen_quarantaine, totaalrijen_overgeslagen, "
        "reden FROM audit.bestanden ORDER BY pad"
    )
    return out


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 7 rows, so that keys twice in a file fall within one chunk and across chunks."""
    monkeypatch.setattr(readers, "CHUNK_ROWS", 7)
    monkeypatch.setattr(readers, "CHUNK_CELLS", 7 * 40)


@pytest.mark.parametrize("chunked", [False, True], ids=["one_chunk", "small_chunks"])
def test_loaded_and_quarantined_rows_are_as_recorded(landing, warehouse, request, chunked):
    if chunked:
        request.getfixturevalue("small_chunks")
    write_files(landing)
    load_all(landing, warehouse)
    seen = observed(warehouse)
    name = "small_chunks" if chunked else "one_chunk"
    recorded = json.loads(RECORDED.read_text(encoding="utf-8")) if RECORDED.exists() else {}
    if os.environ.get("FAIRSHARE_RECORD") == "1":
        recorded[name] = seen
        RECORDED.parent.mkdir(exist_ok=True)
        RECORDED.write_text(
            json.dumps(recorded, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8"
        )
    expected = recorded[name]
    # Every file took part: loaded with rows and quarantine entries (nothing here is rejected but by design).
    assert (
        len(seen["bestanden"]) == 7 and all(len(seen[t]) for t in TABLES) and len(seen["quarantaine"]) > 100
    )
    for part in expected:
        assert seen[part] == expected[part], part
