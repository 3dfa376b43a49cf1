"""Every figure traceable: the onderbouwing tables of the published copy and `fairshare uitleg` (issue 22).

Each cell of the five main marts equals the records its onderbouwing lists as counting, for every figure of
every cell; the records that did not count say why; each record names the file, sheet and row it came from, and
that row holds it. `fairshare uitleg` writes one cell as xlsx with the same records and no column the warehouse
does not hold. All on copies of the session's sample run; the hostile records are added to a copy of its
warehouse and only the models after staging are rebuilt (no pipeline run).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from basics import paths
from tests import zygote
from tests.helpers import sample_built
from warehouse.publish import DUCKDB_ONLY, PG_SCHEMAS, publish_duckdb

# The count figures of each mart that its onderbouwing explains (a mart column each).
FIGURES = {
    "fair_share": ["gehuisvest", "gehuisvest_buiten_afspraak"],
    "fair_share_gemeente": ["toewijzingen", "gehuisvest", "gehuisvest_buiten_afspraak"],
    "terugkeer": ["uitgestroomd", "teruggekeerd", "elders_met_contra_indicatie"],
    "urgentie_aanvragen": ["aanvragen", "toegekend", "afgewezen", "ingetrokken", "in_behandeling"],
    "doorlooptijd_huisvesting": ["toegekend", "gehuisvest", "binnen_6_maanden", "nog_wachtend", "verlopen"],
}
KEYS = {
    "fair_share": ["gemeente_code", "jaar", "urgentiecategorie"],
    "fair_share_gemeente": ["gemeente_code", "jaar"],
    "terugkeer": ["herkomst", "jaar"],
    "urgentie_aanvragen": ["commissie", "jaar"],
    "doorlooptijd_huisvesting": ["commissie", "jaar", "urgentiecategorie"],
}


@pytest.fixture(scope="module")
def built(sample_run, tmp_path_factory):
    """A copy of the sample run (landing, warehouse, published copy), read by every test of this module."""
    base = tmp_path_factory.mktemp("uitleg")
    warehouse = sample_built(sample_run, base)
    return base, warehouse, base / "serving" / "fairshare.duckdb"


def _read(path: Path):
    return duckdb.connect(str(path), read_only=True)


def _differences(conn, mart: str) -> list[tuple]:
    """Cells of marts.<mart> whose figures differ from the records counted in onderbouwing.<mart> (all cells)."""
    keys, figures = ", ".join(KEYS[mart]), FIGURES[mart]
    counted = ", ".join(f"count(*) FILTER (WHERE telt_mee AND kolom = '{f}') AS {f}" for f in figures)
    differ = " OR ".join(f"m.{f} IS DISTINCT FROM coalesce(o.{f}, 0)" for f in figures)
    return conn.execute(
        f"WITH o AS (SELECT {keys}, {counted} FROM onderbouwing.{mart} GROUP BY ALL) "
        f"SELECT {keys}, {', '.join(f'm.{f}, o.{f}' for f in figures)} FROM marts.{mart} AS m "
        f"LEFT JOIN o USING ({keys}) WHERE {differ}"
    ).fetchall()


@pytest.mark.parametrize("mart", list(FIGURES))
def test_every_cell_equals_the_records_counted_in_it(built, mart):
    _, _, copy = built
    with _read(copy) as conn:
        cells = conn.execute(f"SELECT count(*) FROM marts.{mart}").fetchone()[0]
        listed = conn.execute(f"SELECT DISTINCT kolom FROM onderbouwing.{mart} WHERE telt_mee").fetchall()
        assert _differences(conn, mart) == []
        # not trivially: the cells hold records, and every figure has records behind it somewhere
        total = conn.execute(f"SELECT sum({FIGURES[mart][0]}) FROM marts.{mart}").fetchone()[0]
        stray = conn.execute(
            f"SELECT count(*) FROM onderbouwing.{mart} AS o ANTI JOIN marts.{mart} AS m USING ({', '.join(KEYS[mart])})"
        ).fetchone()[0]
    assert cells > 10 and total > 50
    assert {k for (k,) in listed} <= set(FIGURES[mart])
    assert stray == 0  # every row belongs to a cell of the mart


def test_records_that_do_not_count_say_why_in_dutch(built):
    _, _, copy = built
    with _read(copy) as conn:
        for mart in FIGURES:
            bad = conn.execute(
                f"SELECT count(*) FROM onderbouwing.{mart} WHERE (telt_mee AND (reden IS NOT NULL OR reden_code IS "
                f"NOT NULL)) OR (NOT telt_mee AND (reden IS NULL OR reden_code IS NULL))"
            ).fetchone()[0]
            assert bad == 0, mart
        reasons = dict(
            conn.execute(
                "SELECT reden_code, list(DISTINCT reden) FROM (SELECT reden_code, reden FROM onderbouwing.fair_share "
                "UNION ALL SELECT reden_code, reden FROM onderbouwing.fair_share_gemeente UNION ALL SELECT "
                "reden_code, reden FROM onderbouwing.terugkeer UNION ALL SELECT reden_code, reden FROM "
                "onderbouwing.urgentie_aanvragen UNION ALL SELECT reden_code, reden FROM "
                "onderbouwing.doorlooptijd_huisvesting) WHERE reden_code IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
    # the sample has these: the agreement's exceptions (klinische GGZ), quarantined rows, housed elsewhere, ...
    assert {"buiten_afspraak", "quarantaine", "elders_gehuisvest", "niet_gekoppeld", "na_6_maanden"} <= set(
        reasons
    )
    # every text of a code, not any one of them: which record DuckDB meets first is not fixed
    assert all(r.startswith("telt niet mee voor de afspraak: ") for r in reasons["buiten_afspraak"])
    assert any("Klinische GGZ" in r or "Eemnes" in r for r in reasons["buiten_afspraak"])
    assert all(
        r.startswith("in quarantaine (rij niet ingelezen): fout in kolom ") for r in reasons["quarantaine"]
    )


def _file_row(landing: Path, bestand: str, blad: str | None, rijnummer: int) -> list[str]:
    """The cells of one row of a delivered file, as a spreadsheet user numbers its rows."""
    path = landing / bestand
    if path.suffix == ".csv":
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1252")
        lines = text.splitlines()
        dialect = csv.Sniffer().sniff(lines[0], delimiters=";,")
        return next(csv.reader([lines[rijnummer - 1]], dialect))
    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb[blad.split(" (", 1)[1].rstrip(")")] if blad and " (" in blad else wb.worksheets[0]
    row = next(ws.iter_rows(min_row=rijnummer, max_row=rijnummer, values_only=True))
    wb.close()
    return ["" if v is None else str(v) for v in row]


def test_each_record_is_in_its_file_at_its_sheet_and_row(built):
    base, _, copy = built
    with _read(copy) as conn:
        allocations = conn.execute(
            "SELECT DISTINCT bestand, blad, rijnummer, toewijzing_id FROM onderbouwing.fair_share "
            "WHERE telt_mee ORDER BY toewijzing_id LIMIT 12"
        ).fetchall()
        registrations = conn.execute(
            "SELECT DISTINCT bestand, blad, rijnummer, registratie_id FROM onderbouwing.doorlooptijd_huisvesting "
            "WHERE telt_mee AND bestand LIKE '%.xlsx' ORDER BY registratie_id LIMIT 6"
        ).fetchall()
        quarantined = conn.execute(
            "SELECT DISTINCT bestand, blad, rijnummer FROM onderbouwing.urgentie_aanvragen WHERE reden_code = "
            "'quarantaine'"
        ).fetchall()
    assert len(allocations) == 12 and len(registrations) == 6 and quarantined
    for bestand, blad, rijnummer, key in allocations + registrations:
        assert key in _file_row(base / "landing", bestand, blad, rijnummer), (bestand, rijnummer, key)
    # a quarantined row listed is a row of audit.quarantaine of the warehouse, with the same file and row
    with _read(built[1]) as conn:
        stored = set(conn.execute("SELECT pad, blad, rijnummer FROM audit.quarantaine").fetchall())
    assert set(quarantined) <= stored


def _uitleg(*args, serving: Path, out: Path) -> subprocess.CompletedProcess:
    return zygote.run(
        [
            sys.executable,
            "-m",
            "fairshare.cli",
            "uitleg",
            *args,
            "--serving",
            str(serving),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _sheet(path: Path, name: str) -> tuple[list[str], list[dict]]:
    wb = load_workbook(path)
    ws = wb[name]
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    for row in rows:  # nothing live: text is text (no formula, no link)
        for cell in row:
            assert cell.data_type != "f" and cell.hyperlink is None, cell.coordinate
    return header, [dict(zip(header, [c.value for c in r], strict=True)) for r in rows[1:]]


def _warehouse_columns(warehouse: Path) -> set[str]:
    with _read(warehouse) as conn:
        return {
            c
            for (c,) in conn.execute(
                "SELECT DISTINCT column_name FROM duckdb_columns() WHERE schema_name IN "
                "('raw', 'audit', 'staging', 'intermediate', 'marts', 'onderbouwing')"
            ).fetchall()
        }


def test_uitleg_lists_the_records_of_one_cell_and_those_that_did_not_count(built, tmp_path):
    base, warehouse, copy = built
    with _read(copy) as conn:
        # a cell with both counted and excluded records (a klinische-GGZ allocation outside the agreement)
        gemeente, naam, jaar, categorie, gehuisvest, buiten = conn.execute(
            "SELECT m.gemeente_code, m.gemeente_naam, m.jaar, m.urgentiecategorie, m.gehuisvest, "
            "m.gehuisvest_buiten_afspraak FROM marts.fair_share AS m WHERE m.gehuisvest > 2 AND "
            "m.gehuisvest_buiten_afspraak > 0 ORDER BY m.jaar DESC, m.gemeente_code LIMIT 1"
        ).fetchone()
        expected = {
            r
            for (r,) in conn.execute(
                "SELECT toewijzing_id FROM onderbouwing.fair_share WHERE gemeente_code = ? AND jaar = ? AND "
                "urgentiecategorie = ? AND kolom = 'gehuisvest' AND telt_mee",
                [gemeente, jaar, categorie],
            ).fetchall()
        }
    out = tmp_path / "lijst.xlsx"
    result = _uitleg(
        "--mart",
        "fair_share",
        "--gemeente",
        naam.upper(),
        "--jaar",
        str(jaar),
        "--categorie",
        categorie,
        serving=copy,
        out=out,
    )
    assert result.returncode == 0, result.stderr
    line = f"{gehuisvest} records tellen mee in gehuisvest = de {gehuisvest} in marts.fair_share"
    assert line in result.stdout
    header, counted = _sheet(out, "Tellen mee")
    _, excluded = _sheet(out, "Tellen niet mee")
    gehuisvest_rows = [r for r in counted if r["kolom"] == "gehuisvest"]
    assert len(gehuisvest_rows) == gehuisvest and {r["toewijzing_id"] for r in gehuisvest_rows} == expected
    assert len([r for r in counted if r["kolom"] == "gehuisvest_buiten_afspraak"]) == buiten
    assert all(
        (r["gemeente_code"], r["jaar"], r["urgentiecategorie"]) == (gemeente, jaar, categorie)
        for r in counted
    )
    assert excluded and all(r["reden"] and r["reden_code"] for r in excluded)
    assert {r["toewijzing_id"] for r in excluded if r["reden_code"] == "buiten_afspraak"} == {
        r["toewijzing_id"] for r in counted if r["kolom"] == "gehuisvest_buiten_afspraak"
    }
    assert all(r["bestand"] and r["rijnummer"] for r in counted + excluded)
    _, cover = _sheet(out, "Toelichting")
    assert line in [v for r in cover for v in r.values()]
    # no personal data: every column is one the warehouse holds, and not even the keyed pseudonym
    assert set(header) <= _warehouse_columns(warehouse)
    assert "inschrijfnummer_pseudoniem" not in header


def test_uitleg_of_a_committee_mart_equals_its_cell(built, tmp_path):
    _, _, copy = built
    with _read(copy) as conn:
        aanvragen, toegekend, jaar = conn.execute(
            "SELECT aanvragen, toegekend, jaar FROM marts.urgentie_aanvragen WHERE commissie = 'ratu' "
            "AND aanvragen > 0 ORDER BY jaar DESC LIMIT 1"
        ).fetchone()
    out = tmp_path / "ratu.xlsx"
    result = _uitleg(
        "--mart", "urgentie_aanvragen", "--gemeente", "ratu", "--jaar", str(jaar), serving=copy, out=out
    )
    assert result.returncode == 0, result.stderr
    _, counted = _sheet(out, "Tellen mee")
    assert len([r for r in counted if r["kolom"] == "aanvragen"]) == aanvragen
    assert len([r for r in counted if r["kolom"] == "toegekend"]) == toegekend


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--mart", "fairshare", "--gemeente", "Baarn", "--jaar", "2026"], "fair_share, fair_share_gemeente"),
        (["--mart", "fair_share", "--gemeente", "Barneveld", "--jaar", "2026"], "Amersfoort, Baarn"),
        (["--mart", "fair_share", "--gemeente", "Baarn", "--jaar", "1999"], "2026"),
        (
            ["--mart", "fair_share", "--gemeente", "Baarn", "--jaar", "2026", "--categorie", "lokaal"],
            "mantelzorg, medisch, uitstap_sekswerk or uitstroom",
        ),
        (
            ["--mart", "terugkeer", "--gemeente", "Baarn", "--jaar", "2026", "--categorie", "uitstroom"],
            "has no",
        ),
    ],
)
def test_uitleg_refuses_what_it_does_not_know_in_one_sentence(built, tmp_path, args, said):
    _, _, copy = built
    out = tmp_path / "lijst.xlsx"
    result = _uitleg(*args, serving=copy, out=out)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], lines
    assert not out.exists()


def test_uitleg_without_a_copy_or_onderbouwing_exits_2(built, tmp_path):
    _, _, copy = built
    result = _uitleg(
        "--mart",
        "fair_share",
        "--gemeente",
        "Baarn",
        "--jaar",
        "2026",
        serving=tmp_path / "none.duckdb",
        out=tmp_path / "a.xlsx",
    )
    assert result.returncode == 2 and "no published copy" in result.stderr
    old = tmp_path / "oud.duckdb"  # a copy published before the onderbouwing
    shutil.copyfile(copy, old)
    with duckdb.connect(str(old)) as conn:
        conn.execute("DROP SCHEMA onderbouwing CASCADE")
    result = _uitleg(
        "--mart", "fair_share", "--gemeente", "Baarn", "--jaar", "2026", serving=old, out=tmp_path / "b.xlsx"
    )
    assert result.returncode == 2 and "fairshare run --opnieuw" in result.stderr
    assert not (tmp_path / "a.xlsx").exists() and not (tmp_path / "b.xlsx").exists()


def test_onderbouwing_is_in_the_duckdb_copy_only_and_described(built):
    _, _, copy = built
    assert (
        "onderbouwing" in DUCKDB_ONLY and "onderbouwing" not in PG_SCHEMAS
    )  # pseudonyms stay out of PostgreSQL
    with _read(copy) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, comment FROM info.kolommen WHERE schema_name = 'onderbouwing'"
        ).fetchall()
    assert {t for t, *_ in rows} == set(FIGURES)
    assert [r for r in rows if not r[2]] == []


def _rebuild_after_staging(warehouse: Path, target: Path) -> None:
    """dbt run of the models after staging that the five marts and their onderbouwing read, on ``warehouse``."""
    saved = paths.DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
    target.mkdir(parents=True, exist_ok=True)
    if saved.exists():
        shutil.copyfile(saved, target / "partial_parse.msgpack")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRSHARE_", "DBT_"))}
    env.update(
        FAIRSHARE_WAREHOUSE=str(warehouse.resolve()), DBT_TARGET_PATH=str(target), DBT_LOG_PATH=str(target)
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "run",
            "--select",  # what the five marts and their onderbouwing read after staging, and nothing else
            "int_toewijzingen",
            "int_registraties",
            "int_koppeling",
            "int_urgente_toewijzingen",
            *FIGURES,
            "stg_audit__quarantaine",
            "onderbouwing",
            "--profiles-dir",
            ".",
        ],
        cwd=paths.DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_hostile_records_are_listed_as_not_counting_with_their_reason(built, tmp_path):
    """Records the marts leave out, added to a copy of the warehouse: an allocation after data_tot, a statushouder
    with a legal category, a decision after data_tot, a quarantined row that would have counted (its id a formula),
    and a quarantined row whose allocation loaded from a later delivery (it counts: not listed as left out)."""
    _, source, _ = built
    warehouse = tmp_path / "warehouse" / "fairshare.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(source, warehouse)
    formula = '=HYPERLINK("http://example.org","klik")'
    with duckdb.connect(str(warehouse)) as conn:
        (data_tot,) = conn.execute("SELECT data_tot FROM info.peildatum").fetchone()
        na = data_tot + dt.timedelta(days=1)
        conn.execute(
            "INSERT INTO staging.stg_swev__toewijzingen BY NAME SELECT * REPLACE ('TST-NA' AS toewijzing_id, "
            "?::DATE AS toewijzingsdatum, ?::INTEGER AS jaar, 'medisch' AS urgentiecategorie, NULL AS subcategorie, "
            "'urgentie' AS toewijzingsroute) FROM staging.stg_swev__toewijzingen WHERE gemeente_code = 'GM0308' LIMIT 1",
            [na, na.year],
        )
        conn.execute(
            "INSERT INTO staging.stg_swev__toewijzingen BY NAME SELECT * REPLACE ('TST-SH' AS toewijzing_id, "
            "'statushouder' AS toewijzingsroute, 'medisch' AS urgentiecategorie, NULL AS subcategorie) FROM "
            "staging.stg_swev__toewijzingen WHERE gemeente_code = 'GM0308' AND jaar = ? AND toewijzingsdatum <= ? "
            "LIMIT 1",
            [data_tot.year, data_tot],
        )
        conn.execute(
            "INSERT INTO staging.stg_urgentie__registraties BY NAME SELECT * REPLACE ('TST-BNA' AS registratie_id, "
            "?::DATE AS aanvraagdatum, ?::DATE AS besluitdatum, 'toegekend' AS besluit, 'medisch' AS "
            "urgentiecategorie) FROM staging.stg_urgentie__registraties WHERE commissie = 'baarn' LIMIT 1",
            [data_tot - dt.timedelta(days=20), data_tot + dt.timedelta(days=2)],
        )
        bestand_id, pad = conn.execute(
            "SELECT bestand_id, pad FROM audit.bestanden_actueel WHERE bron = 'swev' AND status = 'geladen' "
            "ORDER BY leverdatum DESC LIMIT 1"
        ).fetchone()
        (loaded,) = conn.execute(
            "SELECT toewijzing_id FROM staging.stg_swev__toewijzingen WHERE gemeente_code = 'GM0308' LIMIT 1"
        ).fetchone()
        codes, parameters = conn.execute(
            "SELECT reden_codes, reden_parameters FROM audit.quarantaine WHERE kolom = 'aantal_kamers' LIMIT 1"
        ).fetchone()
        for rij, toewijzing in ((90001, formula), (90002, loaded)):
            waarden = {
                "toewijzing_id": toewijzing,
                "gemeente": "GM0308",
                "toewijzingsdatum": f"{data_tot.year}-05-05",
                "urgentiecategorie": "Medisch",
                "toewijzingsroute": "urgentie",
            }
            conn.execute(
                "INSERT INTO audit.quarantaine (bestand_id, bron, pad, rijnummer, kolom, reden, waarden, reden_codes, "
                "reden_parameters) VALUES (?, 'swev', ?, ?, 'aantal_kamers', 'out of range', ?, ?, ?)",
                [bestand_id, pad, rij, json.dumps(waarden), codes, parameters],
            )
    _rebuild_after_staging(warehouse, tmp_path / "dbt")
    copy = tmp_path / "serving" / "fairshare.duckdb"
    publish_duckdb(warehouse, copy)
    with _read(copy) as conn:
        for mart in FIGURES:  # still every cell equal, with the records added
            assert _differences(conn, mart) == [], mart

        def reasons(mart: str, where: str) -> list[tuple]:
            return conn.execute(
                f"SELECT kolom, telt_mee, reden_code, reden FROM onderbouwing.{mart} WHERE {where} ORDER BY ALL"
            ).fetchall()

        after = reasons("fair_share_gemeente", "toewijzing_id = 'TST-NA'")
        statushouder = reasons("fair_share", "toewijzing_id = 'TST-SH'")
        quarantined = reasons("fair_share", f"toewijzing_id = '{formula.replace(chr(39), chr(39) * 2)}'")
        superseded = reasons("fair_share", f"rijnummer = 90002 AND bestand = '{pad}'")
        decided_late = reasons("urgentie_aanvragen", "registratie_id = 'TST-BNA'")
    assert [(k, t, c) for k, t, c, _ in after] == [
        ("gehuisvest", False, "na_data_tot"),
        ("toewijzingen", False, "na_data_tot"),
    ]
    assert "na data_tot" in after[0][3]
    assert (
        statushouder == [("gehuisvest", False, "statushouder", statushouder[0][3])]
        and "statushouder" in statushouder[0][3]
    )
    assert [(k, t, c) for k, t, c, _ in quarantined] == [("gehuisvest", False, "quarantaine")]
    assert superseded == []  # its allocation loaded from another delivery and counts there
    assert ("toegekend", False, "besluit_na_data_tot") in [(k, t, c) for k, t, c, _ in decided_late]
    assert ("in_behandeling", True, None) in [(k, t, c) for k, t, c, _ in decided_late]
    # the list renders the quarantined row's reason in Dutch and writes its formula-looking id as text
    out = tmp_path / "baarn.xlsx"
    result = _uitleg(
        "--mart",
        "fair_share",
        "--gemeente",
        "Baarn",
        "--jaar",
        str(data_tot.year),
        "--categorie",
        "medisch",
        serving=copy,
        out=out,
    )
    assert result.returncode == 0, result.stderr
    _, excluded = _sheet(out, "Tellen niet mee")
    [row] = [r for r in excluded if r["reden_code"] == "quarantaine"]
    assert row["toewijzing_id"] == formula and row["rijnummer"] == 90001 and row["bestand"] == pad
    assert (
        row["reden"].startswith("in quarantaine (rij niet ingelezen): ") and "kamers" in row["reden"].lower()
    )
    assert {"statushouder", "quarantaine"} <= {r["reden_code"] for r in excluded}
