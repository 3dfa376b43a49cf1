"""sources.md §6: bad rows are quarantined with file, row and column; bad files are rejected; nothing is lost."""

from __future__ import annotations

import json

import pytest

from ingest.values import pseudonym
from tests.helpers import (
    KEY,
    TOEWIJZINGEN_HEADER,
    load_all,
    quarantine,
    query,
    toewijzing_row,
    write_csv,
    write_xlsx,
)

SWEV_FULL = [
    *TOEWIJZINGEN_HEADER,
    "Label",
    "Urgentiecategorie",
    "Huishoudgrootte",
    "Leeftijd",
    "Inschrijfnummer",
    "Postcode",
]


def full(i, **over):
    extra = {"label": "Geen", "cat": "", "hh": "2", "age": "40", "nr": "0012345", "pc": "3811 AB"}
    extra.update({k: over.pop(k) for k in list(over) if k in extra})
    return toewijzing_row(i, **over) + list(extra.values())


SWEV_BAD = [
    # (row overrides, column, words in the reason)
    ({"id": ""}, "toewijzing_id", "required value is empty"),
    ({"datum": "31-02-2025"}, "toewijzingsdatum", "not an existing date"),
    ({"datum": "gisteren"}, "toewijzingsdatum", "not a date"),
    ({"huur": "#REF!"}, "netto_huur", "Excel error value #REF!"),
    ({"huur": "99,99"}, "netto_huur", "out of range"),
    ({"huur": "3000"}, "netto_huur", "out of range"),
    ({"kamers": "0"}, "aantal_kamers", "out of range"),
    ({"kamers": "13"}, "aantal_kamers", "out of range"),
    ({"kamers": "2,5"}, "aantal_kamers", "not a whole number"),
    ({"hh": "-1"}, "huishoudgrootte", "out of range"),
    ({"age": "130"}, "leeftijd", "out of range"),
    ({"label": "Starters"}, "label", "not a known label"),
    ({"cat": "Urgent wegens sloop"}, "urgentiecategorie", "not a known urgentiecategorie"),
    ({"gemeente": "Utrecht"}, "gemeente", "not a gemeente of Regio Amersfoort"),
    ({"corp": ""}, "corporatie", "required value is empty"),
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_each_bad_swev_row_is_quarantined_with_file_row_and_column(landing, warehouse, fmt):
    rows = [full(0)] + [full(i + 1, **over) for i, (over, _, _) in enumerate(SWEV_BAD)] + [full(99)]
    if fmt == "xlsx":
        write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", SWEV_FULL, rows, title_rows=2)
        first_data_row = 4
    else:
        write_csv(
            landing / "swev" / "toewijzingen_2025-04-02.csv",
            SWEV_FULL,
            [[c.strftime("%d-%m-%Y") if hasattr(c, "strftime") else c for c in r] for r in rows],
        )
        first_data_row = 2
    [outcome] = load_all(landing, warehouse)
    assert outcome.status == "geladen"
    assert (outcome.rijen_geladen, outcome.rijen_quarantaine) == (2, len(SWEV_BAD))
    assert_quarantined(warehouse, SWEV_BAD, first_row=first_data_row + 1)
    for entry in quarantine(warehouse):
        assert entry["pad"] == f"swev/toewijzingen_2025-04-02.{fmt}"
        assert entry["blad"] == ("1 (Blad1)" if fmt == "xlsx" else None)


def test_same_id_twice_in_a_file_makes_both_rows_bad(landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1), toewijzing_row(2), toewijzing_row(1, huur=700.0)],
    )
    load_all(landing, warehouse)
    assert [(e["rijnummer"], e["kolom"]) for e in quarantine(warehouse)] == [
        (2, "toewijzing_id"),
        (4, "toewijzing_id"),
    ]
    assert "appears 2 times" in quarantine(warehouse)[0]["reden"]
    assert query(warehouse, "SELECT toewijzing_id FROM raw.swev_toewijzingen") == [("T0002",)]


def assert_quarantined(warehouse, expected: list[tuple], first_row: int) -> None:
    """Each expected (row, column, words) is quarantined in order, on consecutive rows from first_row."""
    entries = quarantine(warehouse)
    assert len(entries) == len(expected)
    for k, (entry, (_, column, words)) in enumerate(zip(entries, expected, strict=True)):
        assert (entry["rijnummer"], entry["kolom"]) == (first_row + k, column)
        assert words in entry["reden"] and f"({column})" in entry["reden"], entry["reden"]


REG_HEADER = [
    "Registratienummer",
    "Aanvraagdatum",
    "Besluitdatum",
    "Besluit",
    "Afwijzingsgrond",
    "Urgentiecategorie",
    "Subcategorie",
    "Commissie",
]
REG_BAD = [
    (
        ["R1", "10-03-2025", "01-03-2025", "Toegekend", "", "Medisch", "", ""],
        "besluitdatum",
        "before the application date",
    ),
    (["R2", "10-03-2025", "", "Toegekend", "", "Medisch", "", ""], "besluitdatum", "needs a besluitdatum"),
    (
        ["R3", "10-03-2025", "", "Afgewezen", "Inkomen te hoog", "", "", ""],
        "besluitdatum",
        "needs a besluitdatum",
    ),
    (
        ["R4", "10-03-2025", "20-03-2025", "Toegekend", "", "", "", ""],
        "urgentiecategorie",
        "needs an urgentiecategorie",
    ),
    (
        ["R5", "10-03-2025", "20-03-2025", "Afgewezen", "", "", "", ""],
        "afwijzingsgrond",
        "needs an afwijzingsgrond",
    ),
    (["R6", "10-03-2025", "20-03-2025", "Misschien", "", "", "", ""], "besluit", "not a known besluit"),
    (["R7", "volgende week", "", "", "", "", "", ""], "aanvraagdatum", "not a date"),
    (["R8", "10-03-2025", "", "", "", "", "", "Utrecht"], "commissie", "not a known urgency committee"),
    (
        ["R9", "10-03-2025", "20-03-2025", "Toegekend", "", "Medisch", "Beschermd wonen", ""],
        "urgentiecategorie",
        "contradicts",
    ),
]


def test_each_bad_register_row(landing, warehouse):
    good = ["R0", "01-03-2025", "05-03-2025", "Toegekend", "", "Uitstroom instelling", "Beschermd wonen", ""]
    write_csv(
        landing / "urgentie" / "leusden_2025-04-02.csv", REG_HEADER, [good] + [r for r, _, _ in REG_BAD]
    )
    [outcome] = load_all(landing, warehouse)
    assert (outcome.rijen_geladen, outcome.rijen_quarantaine) == (1, len(REG_BAD))
    assert_quarantined(warehouse, REG_BAD, first_row=3)


PLAN_HEADER = [
    "Plan ID",
    "Gemeente",
    "Status",
    "Jaar oplevering",
    "Aantal woningen",
    "Sociale huur",
    "Sociale huur tot aftoppingsgrens",
    "Nultreden",
]
PLAN_BAD = [
    (["P1", "Soest", "Hard", "2027", "20", "5", "2", "25"], "nultreden", "larger than aantal_woningen"),
    (
        ["P2", "Soest", "Hard", "2027", "20", "5", "6", "2"],
        "sociale_huur_tot_aftoppingsgrens",
        "larger than sociale_huur",
    ),
    (["P3", "Soest", "Hard", "2027", "-5", "", "", ""], "aantal_woningen", "out of range"),
    (["P4", "Soest", "Geschrapt", "2027", "20", "", "", ""], "status", "not a known planstatus"),
    (["P5", "Ede", "Hard", "2027", "20", "", "", ""], "gemeente", "not a gemeente of Regio Amersfoort"),
    (["P6", "Soest", "Hard", "1999", "20", "", "", ""], "oplevering_jaar", "out of range"),
    (["P7", "Soest", "Hard", "", "20", "-1", "", ""], "sociale_huur", "out of range"),
]


def test_each_bad_plan_row(landing, warehouse):
    good = ["P0", "Soest", "Zacht", "", "20", "", "", "4"]
    write_xlsx(
        landing / "planregister" / "planregister_2025-03.xlsx",
        PLAN_HEADER,
        [good] + [r for r, _, _ in PLAN_BAD],
    )
    load_all(landing, warehouse)
    assert_quarantined(warehouse, PLAN_BAD, first_row=3)
    assert query(warehouse, "SELECT plan_id, sociale_huur, nultreden FROM raw.planregister_plannen") == [
        ("P0", 0, 4)
    ]


def test_quarantined_values_are_reduced_never_identifying(landing, warehouse):
    header = [*SWEV_FULL, "Naam", "BSN"]
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        header,
        [full(1, kamers="veel", nr="0012345", pc="3811 AB", age="67") + ["Jan Testpersoon", "123456782"]],
    )
    load_all(landing, warehouse)
    [entry] = quarantine(warehouse)
    values = json.loads(entry["waarden"])
    assert values["inschrijfnummer"] == pseudonym("12345", KEY)
    assert (
        values["postcode"] == "3811"
        and values["leeftijd"] == "55-74"
        and values["aantal_kamers"] == "<tekst van 4 tekens>"
    )
    assert "Naam" not in values and "BSN" not in values
    assert "Testpersoon" not in entry["waarden"] and "123456782" not in entry["waarden"]


# ---- bad files -------------------------------------------------------------------------------------------


def _good_swev(landing, date="2025-04-02"):
    write_xlsx(landing / "swev" / f"toewijzingen_{date}.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)])


@pytest.mark.parametrize(
    "name,content,words",
    [
        ("swev/toewijzingen_2025-11-03.xlsx", b"this is not a spreadsheet", "not a readable xlsx file"),
        ("swev/toewijzingen_2025-11-03.csv", b"\x00\x01\x02\x03binary", "not a readable csv file"),
        (
            "swev/Toewijzingen april.xlsx",
            None,
            "does not follow the pattern toewijzingen_<YYYY-MM-DD>.xlsx|.csv",
        ),
        ("swev/toewijzingen_2025-13-45.xlsx", None, "not a real date"),
        (
            "urgentie/utrecht_2025-11-03.csv",
            b"Registratienummer;Aanvraagdatum;Besluit\n",
            "not a known committee",
        ),
        (
            "planregister/planregister_2025-06.csv",
            b"Plan ID;Gemeente;Status;Aantal woningen\n",
            "planregister_<YYYY>-<03|10>",
        ),
    ],
)
def test_bad_file_is_rejected_with_its_reason_and_others_load(landing, warehouse, name, content, words):
    _good_swev(landing)
    path = landing / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        write_xlsx(path, TOEWIJZINGEN_HEADER, [toewijzing_row(2)])
    else:
        path.write_bytes(content)
    outcomes = {o.pad: o for o in load_all(landing, warehouse)}
    assert outcomes["swev/toewijzingen_2025-04-02.xlsx"].status == "geladen"
    assert outcomes[name].status == "afgewezen"
    assert outcomes[name].reden.startswith(f"{name}: ") and words in outcomes[name].reden
    assert query(warehouse, "SELECT status, reden FROM audit.bestanden WHERE pad = ?", [name]) == [
        ("afgewezen", outcomes[name].reden)
    ]
    assert query(warehouse, "SELECT count(*) FROM raw.swev_toewijzingen") == [(1,)]


def test_missing_required_column_names_it_and_the_headers_seen(landing, warehouse):
    header = ["Toewijzingsnummer", "Corporatie", "Gemeente", "Netto huur", "Aantal kamers"]
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        header,
        [["T1", "Portaal", "Baarn", 600, 2]],
        title_rows=2,
    )
    [o] = load_all(landing, warehouse)
    assert o.reden == (
        "swev/toewijzingen_2025-04-02.xlsx: required column 'toewijzingsdatum' not found; "
        "headers seen: Toewijzingsnummer, Corporatie, Gemeente, Netto huur, Aantal kamers"
    )


def test_two_columns_for_one_canonical_column_reject_the_file(landing, warehouse):
    header = [*TOEWIJZINGEN_HEADER, "Woonplaats"]
    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        header,
        [toewijzing_row(1, datum="01-03-2025") + ["Hoogland"]],
    )
    [o] = load_all(landing, warehouse)
    assert (
        o.status == "afgewezen"
        and "two columns match the same column 'gemeente': 'Gemeente', 'Woonplaats'" in o.reden
    )


def test_second_file_for_the_same_delivery_is_rejected(landing, warehouse):
    _good_swev(landing)
    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(5, datum="01-03-2025")],
    )
    outcomes = {o.pad: o for o in load_all(landing, warehouse)}
    assert outcomes["swev/toewijzingen_2025-04-02.csv"].status == "geladen"
    rejected = outcomes["swev/toewijzingen_2025-04-02.xlsx"]
    assert rejected.status == "afgewezen"
    assert "second file for the same delivery (swev 2025-04-02)" in rejected.reden
    assert "swev/toewijzingen_2025-04-02.csv is already loaded" in rejected.reden


def test_second_register_of_another_committee_on_the_same_date_is_fine(landing, warehouse):
    for c in ("baarn", "soest"):
        write_csv(
            landing / "urgentie" / f"{c}_2025-04-02.csv",
            ["Registratienummer", "Aanvraagdatum", "Besluit"],
            [["R1", "01-03-2025", ""]],
        )
    assert {o.status for o in load_all(landing, warehouse)} == {"geladen"}
    assert query(warehouse, "SELECT commissie FROM raw.urgentie_registraties ORDER BY 1") == [
        ("baarn",),
        ("soest",),
    ]


def test_wrong_name_is_checked_before_content_already_loaded(landing, warehouse):
    _good_swev(landing)
    load_all(landing, warehouse)
    copy = landing / "swev" / "kopie van toewijzingen_2025-04-02.xlsx"
    copy.write_bytes((landing / "swev" / "toewijzingen_2025-04-02.xlsx").read_bytes())
    outcomes = {o.pad: o for o in load_all(landing, warehouse)}
    assert outcomes["swev/kopie van toewijzingen_2025-04-02.xlsx"].status == "afgewezen"
    assert "does not follow the pattern" in outcomes["swev/kopie van toewijzingen_2025-04-02.xlsx"].reden


def test_source_files_are_never_modified(landing, warehouse):
    _good_swev(landing)
    (landing / "swev" / "junk.txt").write_text("x")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in landing.rglob("*") if p.is_file()}
    load_all(landing, warehouse)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in landing.rglob("*") if p.is_file()}
    assert before == after
