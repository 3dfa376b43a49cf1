"""Issue 22: every headline figure of the board report is a column of `marts.kerncijfers`, with one definition,
and the report shows that very column: read from the session's sample run (its report html and published copy),
no run of its own. The definitions themselves are pinned by the dbt unit test `kerncijfers_een_definitie_per_
kopcijfer` (dbt_project/models/marts/_marts__unit_tests.yml, run by test_marts_definitions.py)."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import duckdb
import pytest

from basics.dutch import getal


@pytest.fixture(scope="module")
def sample(sample_run):
    """The sample run's report html and, from its published copy, marts.kerncijfers of the report's year."""
    _, _, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    base = warehouse.parent.parent
    [page] = [p for p in (base / "reports").glob("bo_wonen_zorg_*.html") if "geblokkeerd" not in p.name]
    with duckdb.connect(str(base / "serving" / "fairshare.duckdb"), read_only=True) as conn:
        [jaar] = conn.execute("SELECT year(data_tot) FROM info.publicatie").fetchone()
        frame = conn.execute("SELECT * FROM marts.kerncijfers ORDER BY niveau, code, jaar").df()
        fsg = conn.execute(
            "SELECT gemeente_code, jaar, aandeel_wettelijk_urgent_pct, wettelijk_urgent_gehuisvest, toewijzingen "
            "FROM marts.fair_share_gemeente"
        ).df()
    return htmllib.unescape(page.read_text(encoding="utf-8")), frame, int(jaar), fsg


def _rows(frame, niveau: str, jaar: int) -> dict:
    part = frame[(frame["niveau"] == niveau) & (frame["jaar"] == jaar)]
    return {r.code: r for r in part.itertuples()}


def _pct(value) -> str:
    return f"{getal(value, 1)}%"


def test_the_urgent_share_against_the_cap_is_the_region_row_of_kerncijfers(sample):
    text, frame, jaar, fsg = sample
    [regio] = _rows(frame, "regio", jaar).values()
    # The board's figure: every legal category over every allocation of the agreement's gemeenten (issue 22, point 2:
    # summing fair_share_gemeente's telt-mee share gave 9,6% where the report said 10,2%).
    now = fsg[fsg["jaar"] == jaar]
    assert regio.aandeel_wettelijk_urgent_pct == pytest.approx(
        100 * now["wettelijk_urgent_gehuisvest"].sum() / now["toewijzingen"].sum()
    )
    assert regio.aandeel_wettelijk_urgent_pct != pytest.approx(regio.aandeel_urgent_pct)
    plafond = re.search(r'<p id="plafond">(.*?)</p>', text, re.S).group(1)
    assert (
        f"in {jaar} ging {_pct(regio.aandeel_wettelijk_urgent_pct_afgerond)} van de toewijzingen" in plafond
    )
    assert f"afsprakenkader: {_pct(regio.aandeel_urgent_pct_afgerond)}" in plafond
    kern = re.search(r'<div id="kernboodschap">(.*?)</div>', text, re.S).group(1)
    onder = "boven" if regio.boven_plafond else "onder"
    assert (
        f"Van alle toewijzingen in {jaar} ging {_pct(regio.aandeel_wettelijk_urgent_pct_afgerond)} naar "
        f"wettelijk urgenten, {onder} het plafond van {getal(regio.max_aandeel_urgent_pct)}%"
    ) in kern


def test_a_gemeente_row_holds_fair_share_gemeente_s_own_share_and_the_rounding_is_half_away(sample):
    _, frame, jaar, fsg = sample
    eigen = {(r.gemeente_code, r.jaar): r.aandeel_wettelijk_urgent_pct for r in fsg.itertuples()}
    gemeenten = frame[frame["niveau"] == "gemeente"]
    assert len(gemeenten) == len(fsg) and len(gemeenten) > 0
    for r in gemeenten.itertuples():
        assert r.aandeel_wettelijk_urgent_pct == pytest.approx(eigen[(r.code, r.jaar)])
    for full, shown in [
        ("aandeel_wettelijk_urgent_pct", "aandeel_wettelijk_urgent_pct_afgerond"),
        ("terugkeer_cumulatief_pct", "terugkeer_cumulatief_pct_afgerond"),
        ("binnen_6_maanden_pct", "binnen_6_maanden_pct_afgerond"),
    ]:
        part = frame[frame[full].notna()]
        assert len(part) > 0
        for value, rounded in zip(part[full], part[shown], strict=True):
            assert abs(value - rounded) <= 0.05 + 1e-9 and round(rounded * 10) == pytest.approx(rounded * 10)


def test_the_return_rate_in_the_report_is_the_cumulative_column(sample):
    text, frame, jaar, _ = sample
    table = re.search(r'<table id="tabel-terugkeer">(.*?)</table>', text, re.S).group(1)
    shown = dict(
        re.findall(r'<tr data-gemeente="([^"]+)">.*?<td data-kolom="terugkeer_pct">([^<]*)</td>', table)
    )
    gemeenten = _rows(frame, "gemeente", jaar)
    assert set(shown) == set(gemeenten)
    for code, cell in shown.items():
        r = gemeenten[code]
        assert cell == (_pct(r.terugkeer_cumulatief_pct_afgerond) if r.uitgestroomd_cumulatief else "–"), code
    [regio] = _rows(frame, "regio", jaar).values()
    total = re.search(r'<tr class="totaal">.*?<td data-kolom="terugkeer_pct">([^<]*)</td>', table).group(1)
    assert total == _pct(regio.terugkeer_cumulatief_pct_afgerond)
    assert regio.uitgestroomd_cumulatief == sum(r.uitgestroomd_cumulatief for r in gemeenten.values())


def test_page_one_s_verdicts_are_the_mart_s(sample):
    text, frame, jaar, _ = sample
    gemeenten = _rows(frame, "gemeente", jaar)
    table = re.search(r'<table id="tabel-op-koers">(.*?)</table>', text, re.S).group(1)
    shown = dict(
        re.findall(r'<tr data-gemeente="(GM\d+)">.*?<td data-kolom="oordeel"[^>]*>[^ ]+ ([^<]*)</td>', table)
    )
    assert shown == {code: r.oordeel for code, r in gemeenten.items()}
    assert {r.oordeel for r in gemeenten.values()} >= {"achter", "voor"}  # the sample has both
    groepen = _rows(frame, "groep", jaar)
    assert groepen
    for groep, r in groepen.items():
        cell = re.search(
            rf'<tr data-groep="{re.escape(groep)}" data-jaar="{jaar}">.*?<td data-kolom="oordeel">([^<]*)</td>',
            text,
        ).group(1)
        assert cell == (
            r.ingroeipad_oordeel if r.maanden_data >= 12 else f"tot nu toe {r.ingroeipad_oordeel}"
        )
    behind = {g: r for g, r in groepen.items() if r.ingroeipad_oordeel == "achter"}
    assert behind  # the sample's Overige gemeenten
    punten = re.search(r'<div class="besluitpunten" id="besluitpunten">(.*?)</div>', text, re.S).group(1)
    for groep, r in behind.items():
        assert f"De gemeenten van de groep {groep} te vragen" in punten
        assert f"({getal(r.ingroeipad_achterstand_pct)}% achter)" in punten


def test_kerncijfers_is_published_with_its_descriptions(sample_run):
    _, _, warehouse, _ = sample_run
    served = Path(warehouse).parent.parent / "serving" / "fairshare.duckdb"
    with duckdb.connect(str(served), read_only=True) as conn:
        missing = conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = 'kerncijfers' "
            "AND (comment IS NULL OR comment = '')"
        ).fetchall()
        afgerond = conn.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts' "
            "AND table_name = 'kerncijfers' AND column_name LIKE '%\\_afgerond' ESCAPE '\\'"
        ).fetchall()
    assert missing == []
    # each presentation column says it is the column of its name at one decimal
    assert len(afgerond) == 6
    assert all(c.startswith(f"{n.removesuffix('_afgerond')} op één decimaal") for n, c in afgerond)
