"""Hand-built fixtures, written as real files and run through ingest and dbt, pin every definition of
spec/marts.md with exact expected numbers. Peildatum 1 November 2025: data_tot 31 October, 10 months of 2025."""

from __future__ import annotations

import datetime as dt

import pytest

from basics.settings import Settings
from fairshare.runner import run_pipeline
from tests.helpers import query, write_csv, write_xlsx

SWEV = [
    "Toewijzingsnummer",
    "Corporatie",
    "Gemeente",
    "Toewijzingsdatum",
    "Netto huur",
    "Aantal kamers",
    "Label",
    "Gepersonaliseerde huur",
    "Toewijzingsroute",
    "Urgentiecategorie",
    "Subcategorie",
    "Herkomstgemeente",
    "Inschrijfnummer",
]
ALLOCATIONS = [
    # id, corporatie, gemeente, datum, huur, kamers, label, gepers., route, categorie, sub, herkomst, inschrijf
    ["A24", "Portaal", "Amersfoort", "15-06-2024", "600,00", "2", "", "nee", "Regulier", "", "", "", ""],
    [
        "B1",
        "Portaal",
        "Baarn",
        "01-05-2025",
        "600,00",
        "2",
        "Senioren",
        "nee",
        "Urgentie",
        "Medisch",
        "",
        "Baarn",
        "111",
    ],
    [
        "B2",
        "Particuliere Verhuurder",
        "Baarn",
        "01-06-2025",
        "750,00",
        "2",
        "",
        "nee",
        "Urgentie",
        "Uitstroom instelling",
        "Beschermd wonen",
        "Amersfoort",
        "",
    ],
    ["B3", "Portaal", "Baarn", "01-06-2025", "600,00", "3", "", "nee", "Statushouder", "Medisch", "", "", ""],
    ["B4", "G&O", "Baarn", "01-07-2025", "700,00", "3", "", "ja", "Loting", "", "", "", ""],
    [
        "B5",
        "G&O",
        "Baarn",
        "01-08-2025",
        "650,00",
        "1",
        "",
        "nee",
        "Urgentie",
        "Klinische GGZ",
        "",
        "Baarn",
        "",
    ],
    ["B6", "G&O", "Baarn", "15-11-2025", "650,00", "1", "", "nee", "Urgentie", "Medisch", "", "Baarn", ""],
    [
        "E1",
        "Portaal",
        "Eemnes",
        "01-03-2025",
        "600,00",
        "2",
        "",
        "nee",
        "Urgentie",
        "Beschermd wonen",
        "",
        "Eemnes",
        "",
    ],
    [
        "E2",
        "Portaal",
        "Eemnes",
        "01-04-2025",
        "600,00",
        "2",
        "",
        "nee",
        "Urgentie",
        "Jeugdzorg met verblijf",
        "",
        "Baarn",
        "",
    ],
    [
        "M1",
        "Portaal",
        "Amersfoort",
        "01-09-2025",
        "600,00",
        "2",
        "",
        "nee",
        "Direct bemiddeling",
        "Uitstroom MO",
        "",
        "onbekend",
        "222",
    ],
    [
        "M2",
        "Portaal",
        "Amersfoort",
        "02-09-2025",
        "600,00",
        "2",
        "",
        "nee",
        "Urgentie",
        "Uitstroom MO",
        "",
        "Barneveld",
        "",
    ],
    [
        "V1",
        "Portaal",
        "Barneveld",
        "01-05-2025",
        "600,00",
        "2",
        "",
        "nee",
        "Urgentie",
        "Uitstroom MO",
        "",
        "Barneveld",
        "333",
    ],
]
REGISTER = [
    "Registratienummer",
    "Aanvraagdatum",
    "Besluitdatum",
    "Besluit",
    "Afwijzingsgrond",
    "Urgentiecategorie",
    "Herkomstgemeente",
    "Contra-indicatie",
    "Geldig tot",
    "Inschrijfnummer",
]
BAARN = [
    ["R1", "01-02-2025", "01-03-2025", "Toegekend", "", "Medisch", "Baarn", "nee", "01-03-2026", "111"],
    ["R2", "10-02-2025", "20-03-2025", "Afgewezen", "Inkomen te hoog", "", "Baarn", "nee", "", ""],
    ["R3", "01-10-2025", "05-11-2025", "Toegekend", "", "Medisch", "Baarn", "nee", "", ""],
    ["R4", "10-11-2025", "", "", "", "", "Baarn", "nee", "", ""],
    ["R5", "01-01-2025", "01-02-2025", "Toegekend", "", "Mantelzorg", "Baarn", "nee", "01-09-2025", "444"],
    ["R6", "01-03-2025", "11-03-2025", "Toegekend", "", "Mantelzorg", "Baarn", "nee", "", "555"],
    ["R7", "01-04-2025", "01-05-2025", "Ingetrokken", "", "", "Baarn", "nee", "", ""],
]
AMERSFOORT = [
    ["A1", "01-06-2025", "01-07-2025", "Toegekend", "", "Uitstroom MO", "Soest", "ja", "", "222"],
    ["A2", "01-06-2025", "01-08-2025", "Toegekend", "", "Financiële urgentie", "Amersfoort", "nee", "", ""],
]
PLANS = [
    "Plan ID",
    "Gemeente",
    "Status",
    "Jaar oplevering",
    "Aantal woningen",
    "Sociale huur",
    "Sociale huur tot aftoppingsgrens",
    "Nultreden",
    "Zorggeschikt",
    "Geclusterd",
    "Transformatie",
]
MARCH = [
    ["L1", "Leusden", "Zacht", "", "40", "10", "8", "12", "4", "0", "nee"],
    ["L2", "Leusden", "In aanbouw", "2025", "20", "20", "20", "20", "10", "5", "ja"],
    ["V9", "Barneveld", "Hard", "2026", "50", "10", "10", "10", "10", "10", "nee"],
]
OCTOBER = [
    ["L1", "Leusden", "Hard", "2027", "40", "12", "8", "15", "4", "0", "nee"],
    ["L2", "Leusden", "Opgeleverd", "2025", "20", "20", "20", "20", "10", "5", "ja"],
    ["L3", "Leusden", "Initiatief", "", "10", "5", "5", "0", "0", "0", "ja"],
    ["V9", "Barneveld", "In aanbouw", "2026", "50", "10", "10", "10", "10", "10", "nee"],
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    base = tmp_path_factory.mktemp("fixtures")
    landing = base / "landing"
    write_csv(landing / "swev" / "toewijzingen_2025-11-03.csv", SWEV, ALLOCATIONS, encoding="cp1252")
    write_csv(landing / "urgentie" / "baarn_2025-11-03.csv", REGISTER, BAARN)
    write_xlsx(landing / "urgentie" / "amersfoort_2025-11-03.xlsx", REGISTER, AMERSFOORT)
    write_csv(landing / "planregister" / "planregister_2025-03.csv", PLANS, MARCH)
    write_xlsx(landing / "planregister" / "planregister_2025-10.xlsx", PLANS, OCTOBER)
    settings = Settings.from_env({}, landing=landing, warehouse=base / "w.duckdb", demo=True)
    outcome = run_pipeline(settings)
    assert outcome.success, outcome.error
    return settings.warehouse


def row(wh, sql, params=None):
    [r] = query(wh, sql, params)
    return r


def test_ten_months_of_data_give_opgave_naar_rato_of_ten_twelfths(wh):
    assert row(
        wh,
        "SELECT maanden_data, gehuisvest, opgave, opgave_naar_rato, verschil FROM marts.fair_share "
        "WHERE gemeente_code = 'GM0308' AND jaar = 2025 AND urgentiecategorie = 'medisch'",
    ) == (10, 1, 1, pytest.approx(10 / 12), pytest.approx(1 - 10 / 12))
    assert row(
        wh,
        "SELECT opgave, opgave_naar_rato FROM marts.fair_share WHERE gemeente_code = 'GM0308' AND jaar = 2024 "
        "AND urgentiecategorie = 'medisch'",
    ) == (None, None)


def test_non_swev_landlord_counts_as_urgent_but_not_as_swev(wh):
    # B2: uitstroom bw with a private landlord; B5 klinische GGZ does not count toward the agreement.
    assert row(
        wh,
        "SELECT gehuisvest, gehuisvest_buiten_afspraak FROM marts.fair_share WHERE gemeente_code = 'GM0308' "
        "AND jaar = 2025 AND urgentiecategorie = 'uitstroom'",
    ) == (1, 1)
    assert row(
        wh,
        "SELECT toewijzingen, swev, swev_max_3_kamers FROM marts.toewijzingen_geschiktheid "
        "WHERE gemeente_code = 'GM0308' AND jaar = 2025",
    ) == (5, 4, 4)


def test_statushouders_count_in_toewijzingen_but_never_as_urgent(wh):
    # Baarn 2025 up to data_tot: B1..B5 (B6 is after data_tot); urgent and counting: B1 and B2.
    assert row(
        wh,
        "SELECT toewijzingen, gehuisvest, opgave, opgave_naar_rato, aandeel_urgent_pct, verwacht_aandeel_pct "
        "FROM marts.fair_share_gemeente WHERE gemeente_code = 'GM0308' AND jaar = 2025",
    ) == (5, 2, 14, pytest.approx(14 * 10 / 12), pytest.approx(40.0), 8.3)
    assert query(wh, "SELECT count(*) FROM info.urgente_toewijzingen WHERE toewijzing_id = 'B3'") == [(0,)]


def test_eemnes_counts_only_jeugdzorg(wh):
    assert row(
        wh,
        "SELECT gehuisvest, gehuisvest_buiten_afspraak FROM marts.fair_share WHERE gemeente_code = 'GM0317' "
        "AND jaar = 2025 AND urgentiecategorie = 'uitstroom'",
    ) == (1, 1)


def test_barneveld_rows_load_but_appear_in_no_mart(wh):
    assert query(wh, "SELECT count(*) FROM raw.swev_toewijzingen WHERE gemeente = 'GM0203'") == [(1,)]
    assert query(wh, "SELECT count(*) FROM marts.fair_share_gemeente WHERE gemeente_code = 'GM0203'") == [
        (0,)
    ]
    assert query(wh, "SELECT count(*) FROM marts.ouderenhuisvesting WHERE gemeente_code = 'GM0203'") == [(0,)]
    assert query(
        wh,
        "SELECT count(*) FROM marts.instroom_uitstroom WHERE uitstroomgemeente_code = 'GM0203' "
        "OR herkomst = 'GM0203'",
    ) == [(0,)]


def test_instroom_uitstroom_with_herkomst_from_the_linked_registration(wh):
    got = query(
        wh,
        "SELECT urgentiecategorie, herkomst, herkomst_naam, uitstroomgemeente_code, aantal, is_terugkeer "
        "FROM marts.instroom_uitstroom WHERE jaar = 2025 ORDER BY ALL",
    )
    assert got == [
        ("medisch", "GM0308", "Baarn", "GM0308", 1, True),
        ("uitstroom", "GM0307", "Amersfoort", "GM0308", 1, False),
        ("uitstroom", "GM0308", "Baarn", "GM0308", 1, True),  # B5 klinische GGZ: in scope, not telt_mee
        ("uitstroom", "GM0308", "Baarn", "GM0317", 1, False),  # E2 jeugd from Baarn
        ("uitstroom", "GM0317", "Eemnes", "GM0317", 1, True),  # E1 bw: buiten afspraak but housed
        ("uitstroom", "GM0342", "Soest", "GM0307", 1, False),  # M1: onbekend -> Soest via registration A1
        ("uitstroom", "buiten_regio", "Buiten de regio", "GM0307", 1, False),  # M2 from Barneveld
    ]


def test_terugkeer_counts_uitstroom_and_contra_indications(wh):
    rows = {
        r[0]: r[1:]
        for r in query(
            wh,
            "SELECT herkomst, uitgestroomd, teruggekeerd, terugkeer_pct, "
            "elders_met_contra_indicatie FROM marts.terugkeer WHERE jaar = 2025",
        )
    }
    assert rows["GM0308"] == (2, 1, pytest.approx(50.0), 0)
    assert rows["GM0342"] == (1, 0, pytest.approx(0.0), 1)
    assert rows["GM0351"] == (0, 0, None, 0)
    assert len(rows) == 8


def test_urgentie_aanvragen_as_of_the_peildatum(wh):
    # R4 (applied after data_tot) does not exist; R3 (decided after data_tot) is still in behandeling.
    assert row(
        wh,
        "SELECT aanvragen, toegekend, afgewezen, ingetrokken, in_behandeling, toekenningspct, "
        "mediane_doorlooptijd_dagen FROM marts.urgentie_aanvragen WHERE commissie = 'GM0308' AND jaar = 2025",
    ) == (6, 3, 1, 1, 1, pytest.approx(75.0), pytest.approx(29.5))  # median of 10, 28, 31, 38 days
    assert query(wh, "SELECT count(*) FROM marts.urgentie_aanvragen") == [(9,)]


def test_toekenningen_and_afwijzingen(wh):
    assert query(
        wh,
        "SELECT commissie, urgentiecategorie, subcategorie, wettelijk, toegekend FROM "
        "marts.urgentie_toekenningen ORDER BY ALL",
    ) == [
        ("GM0307", "lokaal", None, False, 1),
        ("GM0307", "uitstroom", "mo", True, 1),
        ("GM0308", "mantelzorg", None, True, 2),
        ("GM0308", "medisch", None, True, 1),
    ]
    assert query(
        wh, "SELECT commissie, jaar, afwijzingsgrond, afgewezen FROM marts.urgentie_afwijzingen"
    ) == [("GM0308", 2025, "inkomen_te_hoog", 1)]


def test_doorlooptijd_huisvesting(wh):
    assert row(
        wh,
        "SELECT toegekend, gehuisvest, binnen_6_maanden, mediane_wachttijd_dagen, nog_wachtend, verlopen "
        "FROM marts.doorlooptijd_huisvesting WHERE commissie = 'GM0308' AND urgentiecategorie = 'medisch'",
    ) == (1, 1, 1, pytest.approx(61.0), 0, 0)
    # R5 expired on 1 September, R6 has no end date: still waiting.
    assert row(
        wh,
        "SELECT toegekend, gehuisvest, nog_wachtend, verlopen FROM marts.doorlooptijd_huisvesting "
        "WHERE commissie = 'GM0308' AND urgentiecategorie = 'mantelzorg'",
    ) == (2, 0, 1, 1)


def test_ingroeipad_and_compensatie(wh):
    assert query(
        wh,
        "SELECT groep, maanden_data, gehuisvest, afspraak, afspraak_naar_rato FROM marts.ingroeipad "
        "ORDER BY groep",
    ) == [
        ("Amersfoort", 10, 2, 135, pytest.approx(112.5)),
        ("Overige gemeenten", 10, 3, 92, pytest.approx(92 * 10 / 12)),
    ]
    assert row(
        wh,
        "SELECT cumulatief_gehuisvest, cumulatief_opgave_naar_rato, saldo FROM marts.compensatie_saldo "
        "WHERE gemeente_code = 'GM0308'",
    ) == (2, pytest.approx(14 * 10 / 12), pytest.approx(2 - 14 * 10 / 12))


def test_ouderenhuisvesting_and_sociale_huur_plannen(wh):
    assert query(
        wh,
        "SELECT peildatum, gerealiseerd_dit_jaar, gerealiseerd_sinds_vorige, in_aanbouw, hard, zacht, "
        "plancapaciteit, mutatie_plancapaciteit, doel FROM marts.ouderenhuisvesting WHERE gemeente_code = "
        "'GM0327' AND woningtype = 'nultreden' ORDER BY peildatum",
    ) == [
        (dt.date(2025, 3, 31), 0, None, 20, 0, 12, 32, None, None),
        (dt.date(2025, 10, 31), 20, 20, 0, 15, 0, 15, -17, None),
    ]
    assert query(
        wh,
        "SELECT peildatum, gerealiseerd_dit_jaar, gerealiseerd_sinds_vorige, plancapaciteit, "
        "plancapaciteit_tot_aftoppingsgrens, harde_plancapaciteit, transformatie_woningen FROM "
        "marts.sociale_huur_plannen WHERE gemeente_code = 'GM0327' ORDER BY peildatum",
    ) == [(dt.date(2025, 3, 31), 0, None, 30, 28, 20, 20), (dt.date(2025, 10, 31), 20, 20, 17, 13, 12, 10)]
    assert query(wh, "SELECT count(DISTINCT gemeente_code) FROM marts.ouderenhuisvesting") == [(8,)]


def test_verdeelsleutels(wh):
    got = {
        r[0]: r[1:]
        for r in query(
            wh,
            "SELECT verdeelsleutel, aandeel_pct, opgave_bij_227, verschil_met_afspraak, "
            "peildatum_sleutel FROM marts.verdeelsleutels WHERE gemeente_code = 'GM0308'",
        )
    }
    assert set(got) == {"inwoners", "toewijzingen", "afspraak_2025_2026", "afspraak_2027_2030"}
    assert got["afspraak_2025_2026"][0] == pytest.approx(100 * 14 / 228)
    assert got["afspraak_2025_2026"][2] == pytest.approx(227 * 14 / 228 - 14)
    assert got["inwoners"][3] == dt.date(2024, 1, 1)
    # The last year with 12 months of data is 2024: one allocation, in Amersfoort.
    assert got["toewijzingen"][0] == 0 and got["toewijzingen"][3] == dt.date(2024, 12, 31)
    assert (
        query(wh, "SELECT round(sum(aandeel_pct), 6) FROM marts.verdeelsleutels GROUP BY verdeelsleutel")
        == [(100.0,)] * 4
    )


@pytest.mark.slow
def test_a_new_warehouse_s_first_build_starts_from_the_parse_make_install_saved(sample_run):
    """dbt's saved parse is keyed on the rendered profile and vars: the warehouse path is attached by a plugin
    (warehouse/dbt_attach.py), not written in the profile, so the sample warehouse's very first build reused the
    parse `make install` left in dbt_project/target instead of parsing the whole project again."""
    _, _, reference, _ = sample_run
    log = (reference.with_name(reference.name + ".dbt") / "dbt.log").read_text()
    # dbt's debug log in its text format: UnableToPartialParse, PartialParsingEnabled and PartialParsingSkipParsing
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed." in log
    assert "Nothing changed, skipping partial parsing." in log
    assert (
        query(reference, "select count(*) from marts.fair_share")[0][0] > 0
    )  # built into the warehouse itself


@pytest.mark.slow
def test_dbt_unit_tests_pass_and_builds_leave_them_out(sample_run, tmp_path):
    """The dbt unit tests (fixed inputs: the SQL's own logic) run here, against a copy of the sample's warehouse,
    as dbt recommends for CI; the pipeline's builds leave them out (its run_results hold none)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from basics import paths
    from tests.helpers import sample_built

    _, _, reference, _ = sample_run
    built = json.loads((reference.with_name(reference.name + ".dbt") / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".")[0] for r in built["results"]}
    assert kinds == {"seed", "model", "test", "exposure"}, (
        kinds
    )  # exposures: dbt_project/models/_exposures.yml
    manifest = json.loads((paths.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    unit_tests = sorted(manifest["unit_tests"])
    assert len(unit_tests) >= 6
    warehouse = sample_built(sample_run, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRSHARE_", "DBT_"))}
    env.update(FAIRSHARE_WAREHOUSE=str(warehouse.resolve()), DBT_TARGET_PATH=str(tmp_path / "dbt"))
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "test",
            "--select",
            "test_type:unit",
            "--profiles-dir",
            ".",
        ],
        cwd=paths.DBT_PROJECT_DIR,
        env={**env, "DBT_LOG_PATH": str(tmp_path / "dbt")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    ran = json.loads((tmp_path / "dbt" / "run_results.json").read_text())["results"]
    assert sorted(r["unique_id"] for r in ran) == unit_tests
    assert {r["status"] for r in ran} == {"pass"}
