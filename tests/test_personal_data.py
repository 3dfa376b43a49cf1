"""sources.md §5: no direct identifier anywhere in the warehouse, raw and quarantine included."""

from __future__ import annotations

import duckdb

from ingest.values import pseudonym
from tests.helpers import KEY, SWEV_HEADER, load_all, query, swev_row, write_csv, write_xlsx

NAMES = ["Jan Testpersoon", "Fatima Voorbeeld"]
BSNS = ["111222333", "444555666"]
BIRTH = "17-08-1961"
ADDRESS = "Lijnbaanstraat 42"
INSCHRIJF = ["900123456", "900654321"]


def _landing_with_identifiers(landing):
    reg_header = ["Registratienummer", "Naam", "BSN", "Geboortedatum", "Adres", "Telefoonnummer", "E-mail",
                  "Aanvraagdatum", "Besluitdatum", "Besluit", "Urgentiecategorie", "Inschrijfnummer", "Reden afwijzing"]
    rows = [["R1", NAMES[0], BSNS[0], BIRTH, ADDRESS, "0612345678", "jan@example.org", "01-02-2025", "01-03-2025",
             "Toegekend", "Medisch", INSCHRIJF[0], ""],
            ["R2", NAMES[1], BSNS[1], BIRTH, ADDRESS, "0687654321", "fatima@example.org", "01-02-2025", "01-03-2025",
             "Afgewezen", "", INSCHRIJF[1], f"Mevrouw {NAMES[1]} kan bij haar zus wonen"],
            ["R3", NAMES[0], BSNS[0], BIRTH, ADDRESS, "", "", "volgende week", "", "", "", INSCHRIJF[0], ""]]  # bad row
    write_xlsx(landing / "urgentie" / "amersfoort_2025-04-02.xlsx", reg_header, rows, title_rows=1)
    write_csv(landing / "swev" / "toewijzingen_2025-04-02.csv", [*SWEV_HEADER, "Inschrijfnummer", "Voornaam",
              "Achternaam", "Postcode", "Leeftijd"],
              [swev_row(1, datum="01-03-2025") + [INSCHRIJF[0], "Jan", "Testpersoon", "3811 AB", "67"],
               swev_row(2, datum="01-03-2025", kamers="nul") + [INSCHRIJF[1], "Fatima", "Voorbeeld", "3812 CD", "33"]])


def _all_strings(warehouse) -> list[str]:
    out = []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        cols = conn.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                            "WHERE data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]')").fetchall()
        for schema, table, column in cols:
            out += [str(v) for (v,) in conn.execute(f'SELECT "{column}" FROM {schema}.{table}').fetchall() if v]
    return out


def test_no_direct_identifier_in_any_string_column_or_in_the_file_bytes(landing, warehouse):
    _landing_with_identifiers(landing)
    outcomes = load_all(landing, warehouse)
    assert all(o.status == "geladen" for o in outcomes)
    strings = _all_strings(warehouse)
    assert strings, "the scan must see the stored strings"
    forbidden = [*NAMES, "Testpersoon", "Voorbeeld", *BSNS, BIRTH, "1961-08-17", ADDRESS, "0612345678",
                 "jan@example.org", "kan bij haar zus", *INSCHRIJF, "3811 AB", "3812 CD"]
    for value in strings:
        for f in forbidden:
            assert f not in value, f"{f!r} stored in the warehouse: {value!r}"
    data = warehouse.read_bytes()
    assert b"Portaal" in data  # control: stored strings are visible in the file's bytes
    for f in forbidden:
        assert f.encode() not in data, f"{f!r} found in the warehouse file's bytes"


def test_dropped_identifiers_are_listed_in_the_load_report(landing, warehouse):
    _landing_with_identifiers(landing)
    load_all(landing, warehouse)
    assert query(warehouse, "SELECT pad, kolommen_verwijderd FROM audit.bestanden ORDER BY pad") == [
        ("swev/toewijzingen_2025-04-02.csv", ["Voornaam", "Achternaam"]),
        ("urgentie/amersfoort_2025-04-02.xlsx", ["Naam", "BSN", "Geboortedatum", "Adres", "Telefoonnummer", "E-mail"])]


def test_inschrijfnummer_is_a_keyed_pseudonym_that_links_sources(landing, warehouse):
    _landing_with_identifiers(landing)
    load_all(landing, warehouse)
    swev = query(warehouse, "SELECT inschrijfnummer_pseudoniem FROM raw.swev_toewijzingen")
    reg = query(warehouse, "SELECT inschrijfnummer_pseudoniem FROM raw.urgentie_registraties WHERE registratie_id = 'R1'")
    assert swev == reg == [(pseudonym(INSCHRIJF[0], KEY),)]
    assert query(warehouse, "SELECT pc4, leeftijdsklasse FROM raw.swev_toewijzingen") == [("3811", "55-74")]
