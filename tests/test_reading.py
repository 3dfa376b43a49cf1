"""sources.md §1-§2: file names, reading xlsx and csv, header matching."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.headers import synonyms
from tests.helpers import TOEWIJZINGEN_HEADER, load_all, query, toewijzing_row, write_csv, write_xlsx

# One valid value per canonical column, per source, to build files from any header spelling.
VALUES = {
    "swev": {
        "toewijzing_id": "T1",
        "corporatie": "Portaal",
        "gemeente": "Soest",
        "toewijzingsdatum": "01-03-2025",
        "netto_huur": "612,40",
        "aantal_kamers": "2",
        "label": "55+",
        "gepersonaliseerde_huur": "ja",
        "toewijzingsroute": "Loting",
        "urgentiecategorie": "Uitstroom instelling",
        "subcategorie": "BW",
        "huisvestingsvergunning_urgentie": "nee",
        "herkomstgemeente": "Baarn",
        "inschrijfnummer": "123",
        "postcode": "3761 AB",
        "huishoudgrootte": "1",
        "leeftijd": "40",
    },
    "urgentie": {
        "registratie_id": "R1",
        "commissie": "Soest",
        "aanvraagdatum": "01-02-2025",
        "besluitdatum": "01-03-2025",
        "besluit": "Toegekend",
        "afwijzingsgrond": "",
        "urgentiecategorie": "Medisch",
        "subcategorie": "",
        "herkomstgemeente": "Soest",
        "contra_indicatie": "nee",
        "geldig_tot": "01-03-2026",
        "inschrijfnummer": "123",
    },
    "planregister": {
        "plan_id": "P1",
        "plannaam": "Hof",
        "gemeente": "Soest",
        "status": "Hard",
        "oplevering_jaar": "2027",
        "aantal_woningen": "40",
        "sociale_huur": "10",
        "sociale_huur_tot_aftoppingsgrens": "8",
        "middenhuur": "5",
        "betaalbare_koop": "5",
        "nultreden": "12",
        "zorggeschikt": "4",
        "geclusterd": "0",
        "transformatie": "nee",
    },
}
FILES = {
    "swev": "swev/toewijzingen_2025-04-02.csv",
    "urgentie": "urgentie/soest_2025-04-02.csv",
    "planregister": "planregister/planregister_2025-03.csv",
}


def _variant_files(config):
    for bron, source in config.sources.items():
        longest = max(len(c.headers) for c in source.columns.values())
        for k in range(longest):
            yield bron, k


@pytest.mark.parametrize("style", ["as listed", "UPPER", "snake_case"])
def test_every_header_variant_is_recognised(tmp_path, config, style):
    """Each accepted header of sources.md §3 (and the canonical name) loads its column."""
    seen = 0
    for bron, k in _variant_files(config):
        landing, warehouse = tmp_path / f"l{bron}{k}", tmp_path / f"w{bron}{k}.duckdb"
        source = config.sources[bron]
        header = []
        for col in source.columns.values():
            variants = [*col.headers, col.name]
            h = variants[k % len(variants)]
            header.append(
                {"as listed": h, "UPPER": h.upper(), "snake_case": h.lower().replace(" ", "_")}[style]
            )
        write_csv(landing / FILES[bron], header, [[VALUES[bron][c] for c in source.columns]])
        [outcome] = load_all(landing, warehouse)
        assert outcome.status == "geladen" and outcome.rijen_geladen == 1, (bron, header, outcome.reden)
        # plannaam is recognised but never read (free text no mart uses): listed as ignored, by its header
        not_loaded = [
            h for h, c in zip(header, source.columns.values(), strict=True) if c.type == "niet_geladen"
        ]
        assert query(warehouse, "SELECT kolommen_genegeerd FROM audit.bestanden") == [(not_loaded,)], header
        seen += 1
    assert seen >= 3


def test_no_header_variant_is_listed_twice(config):
    for source in config.sources.values():
        synonyms(source)  # raises on a variant claimed by two columns


def test_header_below_title_rows_and_totals_row_skipped(landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1), toewijzing_row(2), [], toewijzing_row(3)],
        title_rows=4,
        total_row=True,
    )
    [outcome] = load_all(landing, warehouse)
    assert outcome.rijen_geladen == 3
    assert query(
        warehouse, "SELECT rijen_gelezen, rijen_geladen, totaalrijen_overgeslagen, blad FROM audit.bestanden"
    ) == [(3, 3, 1, "1 (Blad1)")]  # the sheet's position, and its name as it is a harmless one
    # Row numbers as a spreadsheet user counts them: 4 title rows, header on row 5.
    assert query(warehouse, "SELECT toewijzing_id, _rijnummer FROM raw.swev_toewijzingen ORDER BY 1") == [
        ("T0001", 6),
        ("T0002", 7),
        ("T0003", 9),
    ]


def test_total_row_spelled_total_is_skipped(landing, warehouse):
    rows = [toewijzing_row(1), ["Total", None, None, None, 600, None]]
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, rows)
    load_all(landing, warehouse)
    assert query(
        warehouse, "SELECT rijen_geladen, rijen_quarantaine, totaalrijen_overgeslagen FROM audit.bestanden"
    ) == [(1, 0, 1)]


def test_hidden_sheets_are_ignored(landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        TOEWIJZINGEN_HEADER,
        [toewijzing_row(1)],
        hidden_first=[TOEWIJZINGEN_HEADER, toewijzing_row(99)],
    )
    load_all(landing, warehouse)
    assert query(warehouse, "SELECT toewijzing_id, _blad FROM raw.swev_toewijzingen") == [
        ("T0001", "1 (Blad1)")
    ]  # position among the visible sheets


def test_first_sheet_with_the_required_headers_is_used(landing, warehouse):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Toelichting"
    wb.active.append(["Dit bestand bevat de toewijzingen van Q1."])
    data = wb.create_sheet("Data")
    data.append(TOEWIJZINGEN_HEADER)
    data.append(toewijzing_row(1))
    (landing / "swev").mkdir()
    wb.save(landing / "swev" / "toewijzingen_2025-04-02.xlsx")
    load_all(landing, warehouse)
    assert query(warehouse, "SELECT _blad, count(*) FROM raw.swev_toewijzingen GROUP BY 1") == [
        ("2 (Data)", 1)
    ]


@pytest.mark.parametrize(
    "delimiter,encoding", [(";", "cp1252"), (",", "utf-8"), (";", "utf-8-sig"), (",", "utf-8-sig")]
)
def test_csv_delimiters_and_encodings(landing, warehouse, delimiter, encoding):
    header = [*TOEWIJZINGEN_HEADER, "Urgentiecategorie"]
    rows = [
        ["T1", "Portaal", "Amersfoort", "01-03-2025", "612,50", "2", "Financiële urgentie"],
        ["T2", "Portaal", "Amersfoort", "02-03-2025", "1.002,50", "3", ""],
    ]
    write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", header, rows, delimiter, encoding)
    load_all(landing, warehouse)
    assert query(
        warehouse, "SELECT toewijzing_id, netto_huur, urgentiecategorie FROM raw.swev_toewijzingen ORDER BY 1"
    ) == [("T1", 612.5, "lokaal"), ("T2", 1002.5, None)]


def test_csv_header_on_first_nonempty_line(landing, warehouse):
    path = landing / "swev" / "toewijzingen_2025-04-02.csv"
    path.parent.mkdir()
    path.write_text(
        "\n\n" + ";".join(TOEWIJZINGEN_HEADER) + "\nT1;Portaal;Baarn;01-03-2025;600;2\n", encoding="utf-8"
    )
    load_all(landing, warehouse)
    assert query(warehouse, "SELECT toewijzing_id, _rijnummer FROM raw.swev_toewijzingen") == [("T1", 4)]


def test_whitespace_and_nonbreaking_spaces_are_stripped(landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        [f" {h}\xa0" for h in TOEWIJZINGEN_HEADER],
        [["\xa0T1 ", " Portaal", "Amersfoort\xa0", dt.datetime(2025, 3, 1), " 600,00 ", " 2"]],
    )
    load_all(landing, warehouse)
    assert query(
        warehouse,
        "SELECT toewijzing_id, corporatie, gemeente, netto_huur, aantal_kamers FROM raw.swev_toewijzingen",
    ) == [("T1", "Portaal", "GM0307", 600.0, 2)]


def test_unknown_columns_are_not_loaded_and_listed(landing, warehouse):
    write_xlsx(
        landing / "swev" / "toewijzingen_2025-04-02.xlsx",
        [*TOEWIJZINGEN_HEADER, "Opmerking", "Medewerker"],
        [toewijzing_row(1) + ["belt terug", "Jansen"]],
    )
    load_all(landing, warehouse)
    assert query(warehouse, "SELECT kolommen_genegeerd FROM audit.bestanden") == [
        (["Opmerking", "Medewerker"],)
    ]
    columns = [
        r[0]
        for r in query(
            warehouse,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'swev_toewijzingen'",
        )
    ]
    assert "opmerking" not in [c.lower() for c in columns] and "medewerker" not in [
        c.lower() for c in columns
    ]


def test_commissie_column_wins_over_file_name(landing, warehouse):
    header = ["Registratienummer", "Commissie", "Aanvraagdatum", "Besluit"]  # besluit empty = in behandeling
    write_csv(
        landing / "urgentie" / "ratu_2025-04-02.csv",
        header,
        [
            ["R1", "Regionaal Adviesteam Urgenties", "01-02-2025", ""],
            ["R2", "Leusden", "01-02-2025", ""],
            ["R3", "", "01-02-2025", "In behandeling"],
        ],
    )
    load_all(landing, warehouse)
    assert query(
        warehouse, "SELECT registratie_id, commissie, besluit FROM raw.urgentie_registraties ORDER BY 1"
    ) == [
        ("R1", "ratu", "in_behandeling"),
        ("R2", "leusden", "in_behandeling"),
        ("R3", "ratu", "in_behandeling"),
    ]


def test_lock_files_and_hidden_files_are_ignored_silently(landing, warehouse):
    write_xlsx(landing / "swev" / "toewijzingen_2025-04-02.xlsx", TOEWIJZINGEN_HEADER, [toewijzing_row(1)])
    (landing / "swev" / "~$toewijzingen_2025-04-02.xlsx").write_bytes(b"lock")
    (landing / "swev" / ".DS_Store").write_bytes(b"\x00\x01")
    outcomes = load_all(landing, warehouse)
    assert [o.pad for o in outcomes] == ["swev/toewijzingen_2025-04-02.xlsx"]
    assert query(warehouse, "SELECT count(*) FROM audit.bestanden") == [(1,)]


def test_planregister_peildatum_from_file_name(landing, warehouse):
    header = ["Plan ID", "Gemeente", "Status", "Aantal woningen"]
    write_csv(
        landing / "planregister" / "planregister_2025-03.csv", header, [["P1", "Leusden", "Zacht", "12"]]
    )
    write_csv(
        landing / "planregister" / "planregister_2025-10.csv", header, [["P1", "Leusden", "Hard", "12"]]
    )
    load_all(landing, warehouse)
    assert query(
        warehouse, "SELECT peildatum, status, nultreden FROM raw.planregister_plannen ORDER BY 1"
    ) == [(dt.date(2025, 3, 31), "zacht", 0), (dt.date(2025, 10, 31), "hard", 0)]
