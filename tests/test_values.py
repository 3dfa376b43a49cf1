"""sources.md §2 "Values" and §4: every value format, every vocabulary."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from ingest.config import CONFIG_DIR
from ingest.values import (
    canonical_inschrijfnummer,
    leeftijdsklasse,
    parse_amount,
    parse_count,
    parse_date,
    parse_pc4,
    pseudonym,
)
from tests.helpers import KEY, load_all, query, toewijzing_row, write_csv, write_xlsx


@pytest.mark.parametrize(
    "text",
    [
        "02-03-2025",
        "2-3-2025",
        "02/03/2025",
        "2025-03-02",
        "02-03-2025 13:45",
        "2025-03-02 00:00:00",
        " 02-03-2025\xa0",
    ],
)
def test_date_strings_are_day_first(text):
    assert parse_date(text) == (dt.date(2025, 3, 2), None)


def test_real_excel_dates_and_datetimes():
    assert parse_date(dt.datetime(2025, 3, 2, 14, 0)) == (dt.date(2025, 3, 2), None)
    assert parse_date(dt.date(2025, 3, 2)) == (dt.date(2025, 3, 2), None)


@pytest.mark.parametrize("text", ["gisteren", "2025/13/01", "03-2025"])
def test_bad_dates_are_reported(text):
    value, reason = parse_date(text)
    assert reason.code in ("not_a_date", "not_an_existing_date")
    for lang in ("en", "nl"):
        err = reason.render(lang)
        assert (
            value is None and text not in err and err.startswith("<") and "tekens>" in err
        )  # reduced (privacy)


@pytest.mark.parametrize(
    ("text", "shown"), [("31-02-2025", "31-02-2025"), ("31-02-2025 Jan Jansen", "31-02-2025")]
)
def test_a_date_shaped_text_that_is_no_date_is_shown_as_typed(text, shown):
    """Issue 20: digits in a date's shape identify nobody (a real date would be stored); any tail is not shown."""
    value, reason = parse_date(text)
    assert value is None and reason.code == "not_an_existing_date"
    for lang in ("en", "nl"):
        err = reason.render(lang)
        assert err.startswith(f"'{shown}'") and "Jansen" not in err


@pytest.mark.parametrize(
    "text,expected",
    [
        ("652,30", 652.30),
        ("€ 652,30", 652.30),
        ("652.30", 652.30),
        ("1.052,30", 1052.30),
        ("1052.3", 1052.3),
        ("€652", 652.0),
        (652.3, 652.3),
        (700, 700.0),
    ],
)
def test_amounts(text, expected):
    assert parse_amount(text) == (pytest.approx(expected), None)


@pytest.mark.parametrize("text", ["zeshonderd", "6,52,3", ""])
def test_bad_amounts(text):
    assert parse_amount(text)[0] is None


@pytest.mark.parametrize(
    "text,expected",
    [("1.130", 1130), ("1130", 1130), (1130.0, 1130), (7, 7), ("1.000.000", 1000000), ("12", 12), ("3,0", 3)],
)
def test_counts(text, expected):
    assert parse_count(text) == (expected, None)


@pytest.mark.parametrize("text", ["2,5", 2.5, "1.5", "veel"])
def test_counts_with_a_fraction_are_bad(text):
    value, reason = parse_count(text)
    assert value is None and reason.code == "not_a_whole_number" and "whole number" in reason.render("en")
    assert "geen geheel getal" in reason.render("nl")


def test_age_bands():
    assert [leeftijdsklasse(a) for a in (16, 20, 21, 22, 23, 54, 55, 74, 75, 110)] == [
        "<21",
        "<21",
        "21-22",
        "21-22",
        "23-54",
        "23-54",
        "55-74",
        "55-74",
        "75+",
        "75+",
    ]


def test_postcode_is_cut_to_pc4():
    assert parse_pc4("3811 AB") == ("3811", None)
    assert parse_pc4("3811ab") == ("3811", None)
    assert parse_pc4(3811.0) == ("3811", None)
    assert parse_pc4("Stationsplein")[0] is None


def test_inschrijfnummer_canonical_form_links_excel_and_text_spellings():
    assert canonical_inschrijfnummer(" 000123456 ") == "123456"
    assert canonical_inschrijfnummer(123456.0) == "123456"
    assert canonical_inschrijfnummer("123456.0") == "123456"
    assert canonical_inschrijfnummer("ab123") == "AB123"
    assert pseudonym("000123456", KEY) == pseudonym(123456.0, KEY) == pseudonym("123456", KEY)
    assert pseudonym("123456", KEY) != pseudonym("123456", b"other-key")
    assert pseudonym("", KEY) is None and pseudonym(None, KEY) is None and pseudonym("000", KEY) is None


def _vocab():
    return yaml.safe_load((CONFIG_DIR / "vocabularies.yaml").read_text(encoding="utf-8"))


def test_every_swev_vocabulary_value_maps_to_its_code(landing, warehouse):
    """Every accepted spelling of label and toewijzingsroute, in a real csv (cp1252)."""
    voc = _vocab()
    pairs = (
        [("label", code, v) for code, vals in voc["label"]["values"].items() for v in vals]
        + [
            ("toewijzingsroute", code, v)
            for code, vals in voc["toewijzingsroute"]["values"].items()
            for v in vals
        ]
        + [("toewijzingsroute", "overig", "Wisselwoning"), ("toewijzingsroute", "regulier", "")]
    )
    header = [
        "Toewijzingsnummer",
        "Corporatie",
        "Gemeente",
        "Toewijzingsdatum",
        "Netto huur",
        "Aantal kamers",
        "Label",
        "Toewijzingsroute",
    ]
    rows = []
    for i, (col, _code, value) in enumerate(pairs):
        label, route = (value, "Regulier") if col == "label" else ("Geen", value)
        rows.append([f"V{i}", "Portaal", "Baarn", "01-02-2025", "612,50", "2", label, route])
    write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", header, rows, encoding="cp1252")
    load_all(landing, warehouse)
    got = {
        r[0]: (r[1], r[2])
        for r in query(warehouse, "SELECT toewijzing_id, label, toewijzingsroute FROM raw.swev_toewijzingen")
    }
    assert len(got) == len(pairs)
    for i, (col, code, value) in enumerate(pairs):
        assert got[f"V{i}"][0 if col == "label" else 1] == code, (col, value)


def test_every_register_vocabulary_value_maps_to_its_code(landing, warehouse):
    voc = _vocab()
    header = [
        "Registratienummer",
        "Aanvraagdatum",
        "Besluitdatum",
        "Besluit",
        "Afwijzingsgrond",
        "Urgentiecategorie",
    ]
    rows, expect = [], {}
    for code, vals in voc["besluit"]["values"].items():
        for v in vals:
            rid = f"B{len(rows)}"
            decided = code in ("toegekend", "afgewezen", "ingetrokken")
            rows.append(
                [
                    rid,
                    "01-02-2025",
                    "15-02-2025" if decided else "",
                    v,
                    "Inkomen te hoog" if code == "afgewezen" else "",
                    "Medisch" if code == "toegekend" else "",
                ]
            )
            expect[rid] = ("besluit", code)
    for code, vals in voc["afwijzingsgrond"]["values"].items():
        for v in [*vals, "Aanvrager woont in een kasteel"] if code == "overig" else vals:
            rid = f"A{len(rows)}"
            rows.append([rid, "01-02-2025", "15-02-2025", "Afgewezen", v, ""])
            expect[rid] = ("afwijzingsgrond", code)
    write_xlsx(landing / "urgentie" / "baarn_2025-04-02.xlsx", header, rows)
    load_all(landing, warehouse)
    got = {
        r[0]: {"besluit": r[1], "afwijzingsgrond": r[2]}
        for r in query(
            warehouse, "SELECT registratie_id, besluit, afwijzingsgrond FROM raw.urgentie_registraties"
        )
    }
    assert len(got) == len(rows)
    for rid, (col, code) in expect.items():
        assert got[rid][col] == code, (rid, col)
    # Free text is mapped to a code and never stored (it can hold personal details).
    assert not query(
        warehouse, "SELECT 1 FROM raw.urgentie_registraties WHERE afwijzingsgrond LIKE '%kasteel%'"
    )


CATEGORY_CASES = [
    # (urgentiecategorie cell, subcategorie cell, expected category, expected subcategory)
    *[
        (v, "", "mantelzorg", None)
        for v in [
            "Mantelzorg",
            "Mantelzorger",
            "Mantelzorgverlener",
            "Mantelzorgontvanger",
            "Mantelzorgers en -ontvangers",
        ]
    ],
    *[
        (v, "", "medisch", None)
        for v in [
            "Medisch",
            "Medische urgentie",
            "Beperking",
            "Lichamelijke, verstandelijke of zintuiglijke beperking",
        ]
    ],
    *[(v, "", "uitstroom", "mo") for v in ["Uitstroom MO", "Maatschappelijke opvang", "MO"]],
    *[(v, "", "uitstroom", "bw") for v in ["Uitstroom BW", "Beschermd wonen", "BW"]],
    *[(v, "", "uitstroom", "vo") for v in ["Vrouwenopvang", "Uitstroom vrouwenopvang", "Mensenhandel"]],
    *[(v, "", "uitstroom", "ggz") for v in ["Klinische GGZ", "Uitstroom GGZ"]],
    *[(v, "", "uitstroom", "jeugd") for v in ["Jeugdzorg", "Jeugdzorg met verblijf", "Uitstroom jeugdzorg"]],
    *[(v, "", "uitstroom", "detentie") for v in ["Detentie", "Jeugddetentie", "Forensische zorg"]],
    *[
        (v, "", "uitstap_sekswerk", None)
        for v in ["Uitstap sekswerk", "Uitstappende sekswerkers", "Stoppen met sekswerk", "DUUP"]
    ],
    *[(v, "", "begeleid_wonen", None) for v in ["Begeleid wonen", "Uitstroom begeleid wonen"]],
    *[
        (v, "", "lokaal", None)
        for v in [
            "Financiële urgentie",
            "Vitale beroepen",
            "Stadsvernieuwing",
            "Herstructurering",
            "Sociaal-medisch",
        ]
    ],
    ("Uitstroom instelling", "", "uitstroom", "onbekend"),
    ("Uitstroom", "", "uitstroom", "onbekend"),
    ("Uitstroom instelling", "Beschermd wonen", "uitstroom", "bw"),
    ("", "Jeugdzorg met verblijf", "uitstroom", "jeugd"),
    ("Uitstroom", "Een instelling in Utrecht", "uitstroom", "onbekend"),
    ("", "", None, None),
    ("FINANCIELE  urgentie", "", "lokaal", None),
]


def test_urgency_categories_one_or_two_columns(landing, warehouse):
    header = [
        "Toewijzingsnummer",
        "Corporatie",
        "Gemeente",
        "Toewijzingsdatum",
        "Netto huur",
        "Aantal kamers",
        "Urgentiecategorie",
        "Subcategorie",
    ]
    rows = [toewijzing_row(i) + [c, s] for i, (c, s, _, _) in enumerate(CATEGORY_CASES)]
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", header, rows)
    load_all(landing, warehouse)
    got = {
        r[0]: (r[1], r[2])
        for r in query(
            warehouse, "SELECT toewijzing_id, urgentiecategorie, subcategorie FROM raw.swev_toewijzingen"
        )
    }
    for i, (c, s, cat, sub) in enumerate(CATEGORY_CASES):
        assert got[f"T{i:04d}"] == (cat, sub), (c, s)


def test_gemeente_by_code_name_and_woonplaats(landing, warehouse):
    spellings = {
        "GM0307": "GM0307",
        "0307": "GM0307",
        "307": "GM0307",
        "Amersfoort": "GM0307",
        "Gemeente Amersfoort": "GM0307",
        "AMERSFOORT": "GM0307",
        "Hoogland": "GM0307",
        "Soesterberg": "GM0342",
        "Hoevelaken": "GM0267",
        "Spakenburg": "GM0313",
        "Lage Vuursche": "GM0308",
        "Achterveld": "GM0327",
        "Barneveld": "GM0203",
        "Voorthuizen": "GM0203",
        " eemnes ": "GM0317",
        "Woudenberg": "GM0351",
    }
    header = [
        "Toewijzingsnummer",
        "Corporatie",
        "Woonplaats",
        "Toewijzingsdatum",
        "Netto huur",
        "Aantal kamers",
        "Gemeente van herkomst",
    ]
    herkomst = {
        "Soest": ("GM0342", None),
        "onbekend": ("onbekend", None),
        "": ("onbekend", None),
        "Unknown": ("onbekend", None),
        "Utrecht": ("buiten_regio", "Utrecht"),
        "Barneveld": ("GM0203", None),
        "Zwolle": ("buiten_regio", "Zwolle"),
    }
    rows = [
        toewijzing_row(i, gemeente=g) + [h]
        for i, (g, h) in enumerate(zip(spellings, list(herkomst) * 3, strict=False))
    ]
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", header, rows)
    load_all(landing, warehouse)
    got = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "SELECT toewijzing_id, gemeente, herkomstgemeente, "
            "herkomstgemeente_buiten_regio FROM raw.swev_toewijzingen",
        )
    }
    for i, (g, h) in enumerate(zip(spellings, list(herkomst) * 3, strict=False)):
        assert got[f"T{i:04d}"] == (spellings[g], *herkomst[h]), (g, h)


@pytest.mark.parametrize(
    "cells,expected",
    [
        (["ja", "nee"], [True, False]),
        (["j", "n"], [True, False]),
        (["yes", "no"], [True, False]),
        (["true", "false"], [True, False]),
        (["1", "0"], [True, False]),
        (["x", ""], [True, False]),
        (["JA", "Nee"], [True, False]),
    ],
)
def test_booleans(landing, warehouse, cells, expected):
    header = [
        "Toewijzingsnummer",
        "Corporatie",
        "Gemeente",
        "Toewijzingsdatum",
        "Netto huur",
        "Aantal kamers",
        "Gepersonaliseerde huur",
    ]
    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        header,
        [toewijzing_row(i, datum="01-03-2025") + [c] for i, c in enumerate(cells)],
    )
    load_all(landing, warehouse)
    got = [
        r[0]
        for r in query(
            warehouse, "SELECT gepersonaliseerde_huur FROM raw.swev_toewijzingen ORDER BY toewijzing_id"
        )
    ]
    assert got == expected


def test_absent_optional_columns_get_their_defaults(landing, warehouse):
    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        ["Toewijzingsnummer", "Corporatie", "Gemeente", "Toewijzingsdatum", "Netto huur", "Aantal kamers"],
        [toewijzing_row(1, datum="01-03-2025")],
    )
    load_all(landing, warehouse)
    assert query(
        warehouse,
        "SELECT label, toewijzingsroute, gepersonaliseerde_huur, herkomstgemeente, "
        "inschrijfnummer_pseudoniem FROM raw.swev_toewijzingen",
    ) == [("geen", "regulier", False, "onbekend", None)]


def test_amounts_and_dates_in_a_dutch_csv(landing, warehouse):
    header = [
        "Verhuringnummer",
        "Verhuurder",
        "Plaats",
        "Datum toewijzing",
        "Kale huur",
        "Kamers",
        "Leeftijd",
        "Postcode",
        "Aantal personen",
    ]
    rows = [
        ["A1", "G&O", "Leusden", "3-1-2025", "€ 652,30", "3", "67", "3831 AB", "1"],
        ["A2", "G&O", "Leusden", "2025-01-04", "1.052,30", "4", "22", "3832CD", "4"],
        ["A3", "G&O", "Leusden", "05/01/2025 00:00", "652.30", "1", "19", "3833", "2"],
    ]
    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv", header, rows, delimiter=";", encoding="cp1252"
    )
    load_all(landing, warehouse)
    got = query(
        warehouse,
        "SELECT toewijzing_id, toewijzingsdatum, netto_huur, aantal_kamers, leeftijdsklasse, pc4, "
        "huishoudgrootte FROM raw.swev_toewijzingen ORDER BY 1",
    )
    assert got == [
        ("A1", dt.date(2025, 1, 3), 652.30, 3, "55-74", "3831", 1),
        ("A2", dt.date(2025, 1, 4), 1052.30, 4, "21-22", "3832", 4),
        ("A3", dt.date(2025, 1, 5), 652.30, 1, "<21", "3833", 2),
    ]
