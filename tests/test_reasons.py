"""Issue 19, "reasons as codes": one message table renders every reason in English and Dutch.

The table (ingest/config/redenen.yaml) is checked against itself (both languages, every placeholder a
parameter) and against the code (every code the source raises is in the table, with the parameters its
texts name, and the table holds no code nobody raises). End to end, a real `fairshare run` over the sample
plus a bad file name, a date after today, a missing required column, a damaged archive and a quarantined row
stores the codes in audit.bestanden / audit.quarantaine, keeps the English `reden` as it was, and shows Dutch
in `fairshare quarantaine` (csv and xlsx) and the board report's appendix.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import html
import json
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ingest.reasons import LANGUAGES, Reden, table
from tests import zygote
from tests.helpers import (
    TOEWIJZINGEN_HEADER,
    load_all,
    query,
    sample_built,
    toewijzing_row,
    write_csv,
    write_xlsx,
)

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["ingest", "warehouse", "products"]
ENGLISH = re.compile(
    r"\b(is not|not a|not read|column|appears|required|larger than|out of range|needs|file name|lies after"
    r"|headers seen|cannot|already loaded)\b"
)
FIELDS = {"en", "nl", "geldig", "voorbeeld"}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _example(code: str) -> Reden:
    return Reden.from_json(code, table()[code].get("voorbeeld") or {})


@pytest.mark.parametrize("code", sorted(table()))
def test_every_code_renders_in_both_languages(code):
    entry = table()[code]
    assert set(entry) <= FIELDS, (code, set(entry) - FIELDS)
    example = entry.get("voorbeeld") or {}
    for lang in LANGUAGES:
        assert isinstance(entry.get(lang), str) and entry[lang].strip(), (code, lang)
        missing = _placeholders(entry[lang]) - set(example)
        assert not missing, f"{code} ({lang}): placeholder without a parameter: {missing}"
        text = _example(code).render(lang)
        assert "{" not in text and "}" not in text, (code, lang, text)
    unused = set(example) - _placeholders(entry["en"]) - _placeholders(entry["nl"])
    assert not unused, f"{code}: example parameter no text uses: {unused}"
    for name in _placeholders(entry["en"]) | _placeholders(entry["nl"]):  # each one is needed
        fewer = {k: v for k, v in example.items() if k != name}
        with pytest.raises(KeyError):
            Reden.from_json(code, fewer).render("en" if name in _placeholders(entry["en"]) else "nl")
    dutch = _example(code).render("nl")
    assert not ENGLISH.search(dutch), (code, dutch)
    if "geldig" in entry:
        assert not _placeholders(entry["geldig"]) - set(example), code


def test_a_code_the_table_lacks_fails():
    with pytest.raises(KeyError):
        Reden("no_such_code").render("nl")
    with pytest.raises(KeyError):
        Reden("value_empty").render("de")


def _calls() -> list[tuple[str, str, set[str] | None]]:
    """(where, code, keyword parameters or None when passed on as **kwargs) of every reason the source raises.

    A reason is a call of ``reden``, ``Reden`` or ``BadFile`` with the code as first argument (a literal, or
    a conditional between two), or the xlsx worker's ``("fail", code, {parameters})`` message.
    """
    found = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = path.relative_to(ROOT).as_posix()
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and node.args:
                    name = getattr(node.func, "id", getattr(node.func, "attr", None))
                    if name not in ("reden", "Reden", "BadFile"):
                        continue
                    first = node.args[0]
                    options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
                    if not all(isinstance(o, ast.Constant) and isinstance(o.value, str) for o in options):
                        continue  # a code passed on (the worker's, a stored one): checked where it is made
                    params = (
                        None
                        if any(k.arg is None for k in node.keywords) or len(node.args) > 1
                        else {k.arg for k in node.keywords}
                    )
                    found += [(f"{where}:{node.lineno}", o.value, params) for o in options]
                elif (
                    isinstance(node, ast.Tuple)
                    and len(node.elts) == 3
                    and isinstance(node.elts[0], ast.Constant)
                    and node.elts[0].value == "fail"
                ):
                    code, params = node.elts[1], node.elts[2]
                    assert isinstance(code, ast.Constant) and isinstance(params, ast.Dict), where
                    found.append(
                        (f"{where}:{node.lineno}", code.value, {k.value for k in params.keys})  # type: ignore[union-attr]
                    )
    return found


def test_every_code_the_source_raises_is_in_the_table_with_its_parameters():
    calls = _calls()
    assert len(calls) > 40  # the scan finds the reasons (it would pass vacuously on none)
    for where, code, params in calls:
        assert code in table(), f"{where}: {code!r} is not in ingest/config/redenen.yaml"
        if params is not None:
            needed = _placeholders(table()[code]["en"]) | _placeholders(table()[code]["nl"])
            assert params == needed, f"{where}: {code} gets {sorted(params)}, its texts name {sorted(needed)}"
    unused = set(table()) - {code for _, code, _ in calls}
    assert not unused, f"codes in the table that no source raises: {sorted(unused)}"


# --- end to end ----------------------------------------------------------------------------------------------

BAD_NAME = "swev/toewijzing januari.csv"
FUTURE = "swev/toewijzingen_2031-01-01.csv"
MISSING = "swev/toewijzingen_2025-03-07.csv"
DAMAGED = "swev/toewijzingen_2025-03-06.xlsx"
QUARANTINED = "swev/toewijzingen_2025-03-08.xlsx"
PATTERN = "toewijzingen_<YYYY-MM-DD>.xlsx|.csv"


def _add_bad_files(landing: Path) -> None:
    write_csv(landing / BAD_NAME, TOEWIJZINGEN_HEADER, [toewijzing_row(9001)])
    write_csv(landing / FUTURE, TOEWIJZINGEN_HEADER, [toewijzing_row(9002)])
    without_date = [h for h in TOEWIJZINGEN_HEADER if h != "Toewijzingsdatum"]
    write_csv(landing / MISSING, without_date, [[v for i, v in enumerate(toewijzing_row(9003)) if i != 3]])
    (landing / DAMAGED).write_bytes(b"kapot")
    write_xlsx(
        landing / QUARANTINED, TOEWIJZINGEN_HEADER, [toewijzing_row(9004), toewijzing_row(9005, huur=45)]
    )


def _expected_nl(today: str) -> dict[str, str]:
    return {
        BAD_NAME: f"de bestandsnaam volgt het patroon {PATTERN} niet",
        FUTURE: f"de datum in de bestandsnaam (2031-01-01) ligt na vandaag ({today}): "
        "geef het bestand de echte extractiedatum",
        MISSING: "verplichte kolom 'toewijzingsdatum' niet gevonden; gevonden kolomkoppen: "
        "Toewijzingsnummer, Corporatie, Gemeente, Netto huur, Aantal kamers",
        DAMAGED: "geen leesbaar xlsx-bestand (het archief is beschadigd of onvolledig)",
    }


@pytest.fixture(scope="module")
def run(sample_run, tmp_path_factory):
    """The sample plus the bad files, through `fairshare run --demo` as a user runs it.

    It starts from a copy of the sample's build (``sample_built``): the sample's files are loaded already, the
    bad files are what this run reads; what the tests read (the codes of the rejected files and the
    quarantined row, the run's own output, the supplier list and the report) comes of those files alone. The
    copied report is removed, so the report read is the one this run writes.
    """
    base = tmp_path_factory.mktemp("codes")
    warehouse = sample_built(sample_run, base)
    landing, reports = base / "landing", base / "reports"
    for report in reports.glob("bo_wonen_zorg_*.*"):
        report.unlink()
    _add_bad_files(landing)
    today = dt.date.today().isoformat()
    result = zygote.run(
        [sys.executable, "-m", "fairshare.cli", "run", "--demo", "--landing", str(landing)]
        + ["--warehouse", str(warehouse), "--reports", str(reports)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return warehouse, reports, result, today


def _cli(*args: str) -> subprocess.CompletedProcess:
    return zygote.run(
        [sys.executable, "-m", "fairshare.cli", "quarantaine", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_audit_tables_carry_the_codes_beside_the_english_reden(run):
    warehouse, _, result, today = run
    without_date = [h for h in TOEWIJZINGEN_HEADER if h != "Toewijzingsdatum"]
    rows = {
        pad: (code, json.loads(params), reden)
        for pad, code, params, reden in query(
            warehouse,
            "SELECT pad, reden_code, CAST(reden_parameters AS VARCHAR), reden FROM audit.bestanden_actueel "
            "WHERE status = 'afgewezen'",
        )
    }
    assert rows[BAD_NAME][:2] == (
        "file_name_pattern",
        {"naam": "toewijzing januari.csv", "pattern": PATTERN, "committees": None},
    )
    assert rows[FUTURE][:2] == ("file_name_future_date", {"date": "2031-01-01", "today": today})
    assert rows[MISSING][:2] == (
        "required_columns_missing",
        {"columns": ["toewijzingsdatum"], "headers": without_date, "more": None},
    )
    assert rows[DAMAGED][:2] == ("xlsx_damaged", {"error": "BadZipFile"})
    # the English text of the data engineer, as it always read (console and run summary too)
    english = {
        BAD_NAME: f"file name 'toewijzing januari.csv' does not follow the pattern {PATTERN}",
        FUTURE: f"the date in the file name (2031-01-01) lies after today ({today}): correct the name to the "
        "real extraction date",
        MISSING: "required column 'toewijzingsdatum' not found; headers seen: Toewijzingsnummer, Corporatie, "
        "Gemeente, Netto huur, Aantal kamers",
        DAMAGED: "not a readable xlsx file (the archive is damaged or cut off: BadZipFile)",
    }
    for pad, text in english.items():
        assert rows[pad][2] == f"{pad}: {text}"
        assert f"rejected: {pad}: {text}" in result.stdout
    assert not [p for p, (code, _, _) in rows.items() if code is None]  # every rejected file has its code
    q = query(
        warehouse,
        "SELECT rijnummer, kolom, reden, reden_codes, CAST(reden_parameters AS VARCHAR) FROM audit.quarantaine "
        "WHERE pad = ?",
        [QUARANTINED],
    )
    assert [(r, k, reden, codes, json.loads(p)) for r, k, reden, codes, p in q] == [
        (
            3,
            "netto_huur",
            "column 'Netto huur' (netto_huur): 45 is out of range (must be at least 100 and below 3000)",
            ["out_of_range"],
            [
                {
                    "kolom": "netto_huur",
                    "kop": "Netto huur",
                    "parameters": {
                        "value": "45",
                        "limits": [
                            {"code": "at_least", "params": {"limit": 100}},
                            {"code": "below", "params": {"limit": 3000}},
                        ],
                    },
                }
            ],
        )
    ]
    assert not query(warehouse, "SELECT * FROM audit.quarantaine WHERE reden_codes IS NULL")
    # one code per column of the row, in the order of `kolom`
    for kolom, codes in query(warehouse, "SELECT kolom, reden_codes FROM audit.quarantaine"):
        assert len(kolom.split(", ")) == len(codes), (kolom, codes)


def test_the_supplier_list_shows_every_reason_in_dutch_csv_and_xlsx(run, tmp_path):
    warehouse, _, _, today = run
    expected = _expected_nl(today)
    out = tmp_path / "lijst.csv"
    assert _cli("--warehouse", str(warehouse), "--out", str(out)).returncode == 0
    with open(tmp_path / "lijst_afgewezen.csv", encoding="utf-8-sig", newline="") as fh:
        from_csv = {r[1]: r[3] for r in list(csv.reader(fh, delimiter=";"))[1:]}
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))[1:]
    xlsx = tmp_path / "lijst.xlsx"
    assert _cli("--warehouse", str(warehouse), "--out", str(xlsx)).returncode == 0
    wb = load_workbook(xlsx)
    from_xlsx = {r[1]: r[3] for r in wb["Afgewezen bestanden"].iter_rows(min_row=2, values_only=True)}
    assert from_xlsx == from_csv
    for pad, text in expected.items():
        assert from_csv[pad] == text, pad
    for pad, text in from_csv.items():
        assert not ENGLISH.search(text), (pad, text)
    bad = [r for r in rows if r[2] == QUARANTINED]
    assert [(r[4], r[5], r[6]) for r in bad] == [
        ("3", "Netto huur", "Netto huur: 45 valt buiten het toegestane bereik")
    ]
    assert "minimaal 100" in bad[0][7] and "lager dan 3000" in bad[0][7]
    sheet = [r for r in wb["Portaal"].iter_rows(min_row=2, values_only=True) if r[0] == QUARANTINED]
    assert [(r[2], r[3], r[4]) for r in sheet] == [
        (3, "Netto huur", "Netto huur: 45 valt buiten het toegestane bereik")
    ]
    for r in rows:
        assert not ENGLISH.search(r[6]), r[6]


def test_the_report_appendix_shows_every_rejected_file_in_dutch(run):
    _, reports, _, today = run
    page = (reports / "bo_wonen_zorg_2026-12.html").read_text(encoding="utf-8")
    block = re.search(r"<p>Afgewezen bestanden:</p><ul>(.*?)</ul>", page, re.S)
    assert block, "the appendix lists no rejected files"
    items = [html.unescape(i) for i in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]
    for pad, text in _expected_nl(today).items():
        assert f"{pad}: {text}" in items, (pad, items)
    for item in items:
        assert not ENGLISH.search(item.split(": ", 1)[1]), item


def test_a_warehouse_from_before_the_codes_gets_them(landing, warehouse, tmp_path):
    """The columns are added to an older warehouse, and its files are read again (the logic version changed)."""
    _add_bad_files(landing)
    load_all(landing, warehouse)
    import duckdb

    with duckdb.connect(str(warehouse)) as conn:  # as a warehouse written before reasons had codes
        conn.execute("DROP VIEW audit.bestanden_actueel")
        for table_name, columns in (
            ("bestanden", ("reden_code", "reden_parameters")),
            ("quarantaine", ("reden_codes", "reden_parameters")),
        ):
            for column in columns:
                conn.execute(f"ALTER TABLE audit.{table_name} DROP COLUMN {column}")
        conn.execute("UPDATE audit.bestanden SET config_hash = 'logic 3'")
        conn.execute(
            "CREATE VIEW audit.bestanden_actueel AS SELECT * FROM audit.bestanden WHERE status IN "
            "('geladen', 'afgewezen') QUALIFY row_number() OVER (PARTITION BY pad ORDER BY bestand_id DESC) = 1"
        )
    out = tmp_path / "oud.csv"  # read as it is: the stored English text, nothing lost
    assert _cli("--warehouse", str(warehouse), "--out", str(out)).returncode == 0
    with open(tmp_path / "oud_afgewezen.csv", encoding="utf-8-sig", newline="") as fh:
        old = {r[1]: r[3] for r in list(csv.reader(fh, delimiter=";"))[1:]}
    assert old[DAMAGED] == "not a readable xlsx file (the archive is damaged or cut off: BadZipFile)"
    outcomes = load_all(landing, warehouse)
    assert {o.pad: o.status for o in outcomes if o.status != "geladen"} == {
        BAD_NAME: "afgewezen",
        FUTURE: "afgewezen",
        MISSING: "afgewezen",
        DAMAGED: "afgewezen",
    }
    assert query(
        warehouse,
        "SELECT pad, reden_code FROM audit.bestanden_actueel WHERE status = 'afgewezen' ORDER BY pad",
    ) == [
        (BAD_NAME, "file_name_pattern"),
        (DAMAGED, "xlsx_damaged"),
        (MISSING, "required_columns_missing"),
        (FUTURE, "file_name_future_date"),
    ]
    assert query(warehouse, "SELECT rijnummer, reden_codes FROM audit.quarantaine") == [(3, ["out_of_range"])]
    assert _cli("--warehouse", str(warehouse), "--out", str(out)).returncode == 0
    with open(tmp_path / "oud_afgewezen.csv", encoding="utf-8-sig", newline="") as fh:
        new = {r[1]: r[3] for r in list(csv.reader(fh, delimiter=";"))[1:]}
    assert new[DAMAGED] == "geen leesbaar xlsx-bestand (het archief is beschadigd of onvolledig)"
