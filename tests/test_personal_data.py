"""sources.md §5: no direct identifier anywhere in the warehouse, raw and quarantine included."""

from __future__ import annotations

import duckdb
import pytest

from ingest.values import pseudonym
from tests import zygote
from tests.helpers import (
    KEY,
    TOEWIJZINGEN_HEADER,
    load_all,
    query,
    run_command,
    toewijzing_row,
    write_csv,
    write_xlsx,
)

NAMES = ["Jan Testpersoon", "Fatima Voorbeeld"]
BSNS = ["111222333", "444555666"]
BIRTH = "17-08-1961"
ADDRESS = "Lijnbaanstraat 42"
INSCHRIJF = ["900123456", "900654321"]


def _landing_with_identifiers(landing):
    reg_header = [
        "Registratienummer",
        "Naam",
        "BSN",
        "Geboortedatum",
        "Adres",
        "Telefoonnummer",
        "E-mail",
        "Aanvraagdatum",
        "Besluitdatum",
        "Besluit",
        "Urgentiecategorie",
        "Inschrijfnummer",
        "Reden afwijzing",
    ]
    rows = [
        [
            "R1",
            NAMES[0],
            BSNS[0],
            BIRTH,
            ADDRESS,
            "0612345678",
            "jan@example.org",
            "01-02-2025",
            "01-03-2025",
            "Toegekend",
            "Medisch",
            INSCHRIJF[0],
            "",
        ],
        [
            "R2",
            NAMES[1],
            BSNS[1],
            BIRTH,
            ADDRESS,
            "0687654321",
            "fatima@example.org",
            "01-02-2025",
            "01-03-2025",
            "Afgewezen",
            "",
            INSCHRIJF[1],
            f"Mevrouw {NAMES[1]} kan bij haar zus wonen",
        ],
        ["R3", NAMES[0], BSNS[0], BIRTH, ADDRESS, "", "", "volgende week", "", "", "", INSCHRIJF[0], ""],
    ]  # bad row
    write_xlsx(landing / "urgentie" / "amersfoort_2025-04-02.xlsx", reg_header, rows, title_rows=1)
    write_csv(
        landing / "swev" / "toewijzingen_2025-04-02.csv",
        [*TOEWIJZINGEN_HEADER, "Inschrijfnummer", "Voornaam", "Achternaam", "Postcode", "Leeftijd"],
        [
            toewijzing_row(1, datum="01-03-2025") + [INSCHRIJF[0], "Jan", "Testpersoon", "3811 AB", "67"],
            toewijzing_row(2, datum="01-03-2025", kamers="nul")
            + [INSCHRIJF[1], "Fatima", "Voorbeeld", "3812 CD", "33"],
        ],
    )


def _all_strings(warehouse) -> list[str]:
    out = []
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        cols = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]')"
        ).fetchall()
        for schema, table, column in cols:
            out += [
                str(v) for (v,) in conn.execute(f'SELECT "{column}" FROM {schema}.{table}').fetchall() if v
            ]
    return out


def test_no_direct_identifier_in_any_string_column_or_in_the_file_bytes(landing, warehouse):
    _landing_with_identifiers(landing)
    outcomes = load_all(landing, warehouse)
    assert all(o.status == "geladen" for o in outcomes)
    strings = _all_strings(warehouse)
    assert strings, "the scan must see the stored strings"
    forbidden = [
        *NAMES,
        "Testpersoon",
        "Voorbeeld",
        *BSNS,
        BIRTH,
        "1961-08-17",
        ADDRESS,
        "0612345678",
        "jan@example.org",
        "kan bij haar zus",
        *INSCHRIJF,
        "3811 AB",
        "3812 CD",
    ]
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
        (
            "urgentie/amersfoort_2025-04-02.xlsx",
            ["Naam", "BSN", "Geboortedatum", "Adres", "Telefoonnummer", "E-mail"],
        ),
    ]


def test_inschrijfnummer_is_a_keyed_pseudonym_that_links_sources(landing, warehouse):
    _landing_with_identifiers(landing)
    load_all(landing, warehouse)
    swev = query(warehouse, "SELECT inschrijfnummer_pseudoniem FROM raw.swev_toewijzingen")
    reg = query(
        warehouse,
        "SELECT inschrijfnummer_pseudoniem FROM raw.urgentie_registraties WHERE registratie_id = 'R1'",
    )
    assert swev == reg == [(pseudonym(INSCHRIJF[0], KEY),)]
    assert query(warehouse, "SELECT pc4, leeftijdsklasse FROM raw.swev_toewijzingen") == [("3811", "55-74")]


# --- Issue 11: what a careless supplier types in the wrong place reaches nothing -------------------------------
# Each plant: (name in the failure message, the text planted, the substrings searched for). Distinct names per
# plant, so a leak names the place it came from.
PLANTS = {
    "verhuurder (csv)": "Anneke Korpershoek 271828182",
    "verhuurder (xlsx)": "Bram Verhuurdersma 314159265",
    "herkomstgemeente (csv)": "Cor Herkomstra",
    "herkomstgemeente (xlsx)": "Dirk Vorigewoonst",
    "projectnaam (xlsx)": "Familie Plannenberg, Kromme Kerkeweg 17",
    "projectnaam (csv)": "Familie Projecthuis, Lange Steenstraat 99",
    "unknown header (xlsx)": "Eva Kolomstra 161803398",
    "unknown header (csv)": "Frits Headerink 141421356",
    "sheet name (swev xlsx)": "Gerda Bladmans 173205080",
    "sheet name (urgentie xlsx)": "Hans Tabbers 223606797",
    "rejected header (csv)": "Ida Afwijzer 244948974",
    "rejected header (xlsx)": "Jan Weigeraar 264575131",
    "label (csv)": "Kees Labelaar 282842712",
    "gemeente (xlsx)": "Mien Gemeentsma 316227766",
    "besluit (xlsx)": "Lies Besluiters 300000007",
    "categorie (csv)": "Schizofreniediagnose Mulder-Categorix",
    "leeftijd (csv)": "14-03-1958",
    "afwijzingsgrond (csv, holds)": "Mevrouw Noor Afwijsma kan bij haar zus wonen",
    "unknown column value (csv, holds)": "Opa Opmerkema 331662479",
    "Naam/BSN columns (xlsx, holds)": "Pieter Naamstra 346410161",
    "postcode (csv, holds)": "3818 QX",
}
# What is searched: the distinctive words of each plant (a surname, a BSN, the date in every spelling).
SEARCHED = {
    "verhuurder (csv)": ["Korpershoek", "271828182"],
    "verhuurder (xlsx)": ["Verhuurdersma", "314159265"],
    "herkomstgemeente (csv)": ["Herkomstra"],
    "herkomstgemeente (xlsx)": ["Vorigewoonst"],
    "projectnaam (xlsx)": ["Plannenberg", "Kromme Kerkeweg"],
    "projectnaam (csv)": ["Projecthuis", "Lange Steenstraat"],
    "unknown header (xlsx)": ["Kolomstra", "161803398"],
    "unknown header (csv)": ["Headerink", "141421356"],
    "sheet name (swev xlsx)": ["Bladmans", "173205080"],
    "sheet name (urgentie xlsx)": ["Tabbers", "223606797"],
    "rejected header (csv)": ["Afwijzer", "244948974"],
    "rejected header (xlsx)": ["Weigeraar", "264575131"],
    "label (csv)": ["Labelaar", "282842712"],
    "gemeente (xlsx)": ["Gemeentsma", "316227766"],
    "besluit (xlsx)": ["Besluiters", "300000007"],
    "categorie (csv)": ["Schizofrenie", "Categorix"],
    "leeftijd (csv)": ["14-03-1958", "1958-03-14", "14/03/1958"],
    "leeftijd (xlsx, real date)": ["1961-08-17", "17-08-1961", "17/08/1961"],
    "afwijzingsgrond (csv, holds)": ["Afwijsma", "bij haar zus"],
    "unknown column value (csv, holds)": ["Opmerkema", "331662479"],
    "Naam/BSN columns (xlsx, holds)": ["Naamstra", "346410161"],
    "postcode (csv, holds)": ["3818 QX", "3818QX"],
}
STRONG_KEY = "issue-11-test-sleutel-" + "k" * 32


def _header_row(rows: list[list], bron: str, config) -> tuple[int, dict[str, int]]:
    """The header row of a sample file (0-based) and the position of each canonical column, as ingest sees it."""
    from ingest.headers import match_headers, synonyms
    from ingest.text import match_key

    source = config.sources[bron]
    lookup = synonyms(source)  # includes columns recognised but never read (plannaam)
    for i, row in enumerate(rows[:50]):
        if not match_headers(list(row), source, config).missing(source):
            return i, {lookup[match_key(c)]: pos for pos, c in enumerate(row) if c and match_key(c) in lookup}
    raise AssertionError(f"no header row in the sample's {bron} file")


def _planted_row(base: list, cols: dict[str, int], width: int, **values) -> list:
    row = list(base) + [None] * (width - len(base))
    for canonical, value in values.items():
        row[cols[canonical]] = value
    return row


def _edit_csv(path, bron, config, plant, extra_headers=()) -> list[int]:
    """Append planted rows (``plant(base, cols, width)`` -> rows) to a sample csv; returns their line numbers."""
    import csv as _csv

    from ingest.readers import sniff_encoding

    encoding = sniff_encoding(path)
    text = path.read_text(encoding=encoding)
    delimiter = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    rows = list(_csv.reader(text.splitlines(), delimiter=delimiter))
    head, cols = _header_row(rows, bron, config)
    rows[head] = rows[head] + list(extra_headers)
    width = len(rows[head])
    base = rows[head + 1]
    new = plant(base, cols, width)
    rows = [r + [""] * (width - len(r)) for r in rows] + new
    with open(path, "w", encoding=encoding, newline="") as fh:
        _csv.writer(fh, delimiter=delimiter).writerows(rows)
    return list(range(len(rows) - len(new) + 1, len(rows) + 1))


def _edit_xlsx(path, bron, config, plant, sheet_name=None, extra_headers=()) -> list[int]:
    """Append planted rows to a sample xlsx (optionally renaming its sheet); returns their row numbers."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    head, cols = _header_row(rows, bron, config)
    for k, h in enumerate(extra_headers):
        ws.cell(row=head + 1, column=len(rows[head]) + k + 1, value=h)
    width = len(rows[head]) + len(extra_headers)
    numbers = []
    for row in plant(rows[head + 1], cols, width):
        ws.append(row)
        numbers.append(ws.max_row)
    if sheet_name:
        ws.title = sheet_name
    wb.save(path)
    return numbers


def _plant_everything(landing, config) -> dict[str, tuple[str, str | None, int, str]]:
    """Plant every marker in real files of a sample landing folder; returns where the quarantine must point."""
    import datetime as _dt

    from openpyxl import load_workbook

    P = PLANTS
    where: dict[str, tuple[str, str | None, int, str]] = {}

    # SWEV csv, the latest delivery: landlord, herkomst, label, age, and what already holds.
    def swev_csv(base, cols, width):
        ids = iter(f"PD-C{i:03d}" for i in range(1, 10))
        return [
            _planted_row(base, cols, width, toewijzing_id=next(ids), corporatie=P["verhuurder (csv)"]),
            _planted_row(
                base, cols, width, toewijzing_id=next(ids), herkomstgemeente=P["herkomstgemeente (csv)"]
            ),
            _planted_row(base, cols, width, toewijzing_id=next(ids), label=P["label (csv)"]),
            _planted_row(base, cols, width, toewijzing_id=next(ids), leeftijd=P["leeftijd (csv)"]),
            _planted_row(base, cols, width, toewijzing_id=next(ids), postcode=P["postcode (csv, holds)"])[
                : width - 1
            ]
            + [P["unknown column value (csv, holds)"]],
        ]

    lines = _edit_csv(
        landing / "swev" / "toewijzingen_2026-11-03.csv",
        "swev",
        config,
        swev_csv,
        extra_headers=[P["unknown header (csv)"]],
    )
    where["label (csv)"] = ("swev/toewijzingen_2026-11-03.csv", None, lines[2], "label")
    where["leeftijd (csv)"] = ("swev/toewijzingen_2026-11-03.csv", None, lines[3], "leeftijd")

    # SWEV xlsx (an earlier delivery): landlord, herkomst, gemeente, a date of birth, the sheet's name, a header.
    def swev_xlsx(base, cols, width):
        ids = iter(f"PD-X{i:03d}" for i in range(1, 10))
        return [
            _planted_row(base, cols, width, toewijzing_id=next(ids), corporatie=P["verhuurder (xlsx)"]),
            _planted_row(
                base, cols, width, toewijzing_id=next(ids), herkomstgemeente=P["herkomstgemeente (xlsx)"]
            ),
            _planted_row(base, cols, width, toewijzing_id=next(ids), gemeente=P["gemeente (xlsx)"]),
            _planted_row(base, cols, width, toewijzing_id=next(ids), leeftijd=_dt.datetime(1961, 8, 17)),
        ]

    rows = _edit_xlsx(
        landing / "swev" / "toewijzingen_2026-04-02.xlsx",
        "swev",
        config,
        swev_xlsx,
        sheet_name=P["sheet name (swev xlsx)"],
        extra_headers=[P["unknown header (xlsx)"]],
    )
    where["gemeente (xlsx)"] = ("swev/toewijzingen_2026-04-02.xlsx", "1", rows[2], "gemeente")
    where["leeftijd (xlsx, real date)"] = ("swev/toewijzingen_2026-04-02.xlsx", "1", rows[3], "leeftijd")

    # A committee's register, xlsx (not its latest): a name as besluit, Naam/BSN columns, the sheet's name.
    path = landing / "urgentie" / "soest_2026-04-02.xlsx"
    xlsx_header = [
        list(r)
        for r in load_workbook(path, read_only=True).worksheets[0].iter_rows(max_row=10, values_only=True)
    ]
    head, _ = _header_row(xlsx_header, "urgentie", config)
    header = [h for h in xlsx_header[head] if h is not None]
    extra = [h for h in ("Naam", "BSN") if h not in header]
    naam_col, bsn_col = ((header + extra).index(h) for h in ("Naam", "BSN"))

    def reg_xlsx(base, cols, width):
        naam, bsn = P["Naam/BSN columns (xlsx, holds)"].rsplit(" ", 1)
        row = _planted_row(base, cols, width, registratie_id="PD-R001", besluit=P["besluit (xlsx)"])
        row[naam_col], row[bsn_col] = naam, bsn
        return [row]

    rows = _edit_xlsx(
        path, "urgentie", config, reg_xlsx, sheet_name=P["sheet name (urgentie xlsx)"], extra_headers=extra
    )
    where["besluit (xlsx)"] = ("urgentie/soest_2026-04-02.xlsx", "1", rows[0], "besluit")

    # A committee's register, csv (not its latest): a diagnosis as category, a refusal reason with a name.
    def reg_csv(base, cols, width):
        return [
            _planted_row(
                base,
                cols,
                width,
                registratie_id="PD-R101",
                besluit="Toegekend",
                urgentiecategorie=P["categorie (csv)"],
            ),
            _planted_row(
                base,
                cols,
                width,
                registratie_id="PD-R102",
                besluit="Afgewezen",
                besluitdatum="01-09-2025",
                afwijzingsgrond=P["afwijzingsgrond (csv, holds)"],
                urgentiecategorie="",
            ),
        ]

    lines = _edit_csv(landing / "urgentie" / "amersfoort_2025-11-03.csv", "urgentie", config, reg_csv)
    where["categorie (csv)"] = ("urgentie/amersfoort_2025-11-03.csv", None, lines[0], "urgentiecategorie")

    # Planregister: a family name and street address as the plan's name, in an xlsx and a csv snapshot.
    def plan_name(text):
        def edit(base, cols, width):
            return [_planted_row(base, cols, width, plan_id="PD-P001", plannaam=text)]

        return edit

    _edit_xlsx(
        landing / "planregister" / "planregister_2026-10.xlsx",
        "planregister",
        config,
        plan_name(P["projectnaam (xlsx)"]),
    )
    _edit_csv(
        landing / "planregister" / "planregister_2025-10.csv",
        "planregister",
        config,
        plan_name(P["projectnaam (csv)"]),
    )

    # Rejected files: a name and BSN among the headers, a required column missing.
    write_csv(
        landing / "swev" / "toewijzingen_2024-01-15.csv",
        [
            "Toewijzingsnummer",
            "Corporatie",
            "Gemeente",
            P["rejected header (csv)"],
            "Netto huur",
            "Aantal kamers",
        ],
        [["PD-1", "Portaal", "Soest", "x", "600", "2"]],
    )
    write_xlsx(
        landing / "urgentie" / "soest_2024-01-15.xlsx",
        ["Registratienummer", "Aanvraagdatum", P["rejected header (xlsx)"]],
        [["PD-2", "01-01-2024", "ja"]],
    )
    return where


def _found(haystack: str) -> list[str]:
    low = haystack.lower()
    return [
        f"{plant}: {needle!r}"
        for plant, needles in SEARCHED.items()
        for needle in needles
        if needle.lower() in low
    ]


def _warehouse_text(path) -> str:
    """Every value of every table and view of every schema, as text (VARCHAR, JSON and lists included)."""
    parts = []
    with duckdb.connect(str(path), read_only=True) as conn:
        for schema, table in conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall():
            parts += [repr(r) for r in conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()]
    return "\n".join(parts)


def _files_text(root) -> dict[str, str]:
    """Every file under a folder as text; an xlsx (a zip) as the text of its XML parts."""
    import zipfile

    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                data = b"\n".join(zf.read(n) for n in zf.namelist())
        out[str(path.relative_to(root))] = data.decode("utf-8", "replace")
    return out


@pytest.mark.slow
def test_no_planted_personal_data_reaches_warehouse_logs_dagster_or_report(sample_run, tmp_path, config):
    """Issue 11 "Done when": plant each marker in real xlsx/csv files, run `fairshare run` with a persistent
    DAGSTER_HOME, and find none of them anywhere; the quarantine still says which file, sheet, row and column.

    The files are a copy of the sample's landing folder (``write_sample`` gives the same files for the same
    seed; the session's sample run wrote them): the run itself starts from an empty warehouse, with its own key."""
    import os
    import shutil

    from tests.conftest import ROOT

    landing, data = tmp_path / "landing", tmp_path / "data"
    shutil.copytree(sample_run[1], landing)
    where = _plant_everything(landing, config)
    # Control: every plant is in the landing files (an xlsx's strings in its XML), so the search can find it.
    in_landing = {f.split(":")[0] for f in _found("\n".join(_files_text(landing).values()))}
    assert in_landing == set(SEARCHED) - {"leeftijd (xlsx, real date)"}  # a real date is a number in the XML
    home = tmp_path / "dagster_home"
    home.mkdir()
    warehouse, reports, serving = data / "warehouse" / "fairshare.duckdb", data / "reports", data / "serving"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRSHARE_", "DAGSTER_"))}
    env.update(FAIRSHARE_PSEUDONYM_KEY=STRONG_KEY, DAGSTER_HOME=str(home))
    result = zygote.run(
        run_command(landing, warehouse, reports, demo=False),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    # Controls: each place searched holds what the run did, so an empty search result means something.
    html = next(reports.glob("bo_wonen_zorg_*[0-9].html"))
    assert next(reports.glob("bo_wonen_zorg_*[0-9].xlsx")).exists()
    page = html.read_text(encoding="utf-8")
    assert "onbekende verhuurder" in page  # the unknown landlords, by placeholder, with where to look them up
    assert (
        "o.a. swev/toewijzingen_2026-11-03.csv rij" in page
        and "o.a. swev/toewijzingen_2026-04-02.xlsx rij" in page
    )
    assert (serving / "fairshare.duckdb").exists() and (reports / "gx").is_dir()
    dagster_files = _files_text(home)
    assert any("tekst van" in t for t in dagster_files.values()), (
        "Dagster must see the reduced quarantine text"
    )
    assert "rejected: swev/toewijzingen_2024-01-15.csv" in result.stdout

    leaks = {}
    places = {
        "warehouse (all columns)": _warehouse_text(warehouse),
        "warehouse (file bytes)": warehouse.read_bytes().decode("latin-1"),
        "published copy (all columns)": _warehouse_text(serving / "fairshare.duckdb"),
        "published copy (file bytes)": (serving / "fairshare.duckdb").read_bytes().decode("latin-1"),
        "stdout": result.stdout,
        "stderr": result.stderr,
    }
    places.update({f"DAGSTER_HOME/{name}": text for name, text in dagster_files.items()})
    places.update({f"reports/{name}": text for name, text in _files_text(reports).items()})
    for place, text in places.items():
        if found := _found(text):
            leaks[place] = found
    assert not leaks, f"planted personal data found: {leaks}"

    # The quarantine still tells the data engineer where to look: file, sheet (position), row and column.
    q = {
        (r["pad"], r["blad"], r["rijnummer"]): r
        for r in duckdb.connect(str(warehouse), read_only=True)
        .execute("SELECT * FROM audit.quarantaine")
        .df()
        .to_dict("records")
    }
    for plant, (pad, blad, row, column) in where.items():
        entry = q.get((pad, blad, row))
        assert entry is not None, f"{plant}: no quarantine entry for {pad}, sheet {blad}, row {row}"
        assert column in entry["kolom"].split(", "), (plant, entry)
        assert "<" in entry["reden"] and ">" in entry["reden"], (plant, entry)  # the value, reduced
    label = q[where["label (csv)"][:3]]
    assert f"<tekst van {len(PLANTS['label (csv)'])} tekens> is not a known label" in label["reden"]
    # The unknown landlords are one placeholder each, so the warning still groups by landlord.
    corps = query(
        warehouse,
        "SELECT DISTINCT corporatie FROM raw.swev_toewijzingen WHERE toewijzing_id IN "
        "('PD-C001', 'PD-X001') ORDER BY 1",
    )
    assert len(corps) == 2 and all(c.startswith("onbekende verhuurder ") for (c,) in corps)
    assert query(
        warehouse,
        "SELECT DISTINCT herkomstgemeente_buiten_regio FROM raw.swev_toewijzingen WHERE "
        "toewijzing_id IN ('PD-C002', 'PD-X002')",
    ) == [("onbekend buiten de regio",)]
    rejected = query(
        warehouse, "SELECT reden FROM audit.bestanden_actueel WHERE status = 'afgewezen' ORDER BY pad"
    )
    assert any("headers seen:" in r and "<tekst van" in r for (r,) in rejected), rejected
