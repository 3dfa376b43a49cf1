"""Issue 22, point 5: the province as the province sees it.

Over the published copies of the session's two regions (``two_regions``, tests/conftest.py: real `fairshare run`s
of Amersfoort and the fictional example region, only read here): Amersfoort straddles Utrecht and Gelderland
(Nijkerk, Barneveld), the example region lists Nijkerk outside its agreement, Barneveld is in no agreement.
The province runs as a real process (`fairshare provincie`); no pipeline run of its own. An earlier report in a
region's history and a region with an older report date are made by code from a copy of a real published copy.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from basics import region, seeds
from tests import zygote
from tests.helpers import clean_env, regions_lock

FAIRSHARE = str(Path(sys.executable).parent / "fairshare")
REGIOS = ("amersfoort", "voorbeeld")


@pytest.fixture(scope="module", autouse=True)
def _packs_stay_put():
    """The province's default choice lists every pack in regions/: no other worker adds one meanwhile."""
    with regions_lock(exclusive=False):
        yield


def _clean_env() -> dict[str, str]:
    return clean_env()


@pytest.fixture(scope="module")
def copies(two_regions) -> dict[str, Path]:
    base, results, _, _ = two_regions
    for regio, (code, out, err) in results.items():
        assert code == 0, (regio, out[-2000:], err[-2000:])
    return {r: base / r / "serving" / "fairshare.duckdb" for r in REGIOS}


def _province(out: Path, sources: dict[str, Path], *args: str):
    result = zygote.run(
        [FAIRSHARE, "provincie", "--out", str(out), *args]
        + [a for r, p in sources.items() for a in ("--serving", f"{r}={p}")],
        env=_clean_env(),
        capture_output=True,
        text=True,
        cwd=out.parent,
        timeout=300,
    )
    return result


def _query(path: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def _seed(regio: str, name: str) -> list[dict[str, str]]:
    return region.read_seed(name, regio)


@pytest.fixture(scope="module")
def published(copies, tmp_path_factory):
    """The province three ways: by default, with --met-fictief, and for Gelderland only (with --met-fictief)."""
    base = tmp_path_factory.mktemp("provincie")
    runs = {
        "standaard": (),
        "met_fictief": ("--met-fictief",),
        "gelderland": ("--met-fictief", "--provincie", "gelderland"),
    }
    made = {}
    for name, args in runs.items():
        out = base / name
        result = _province(out, copies, *args)
        assert result.returncode == 0, (name, result.stderr[-3000:])
        made[name] = (
            out / "fairshare_provincie.duckdb",
            (out / "provincie_overzicht.html").read_text("utf-8"),
            result,
        )
    return made


def test_a_fictional_region_is_left_out_by_default_and_the_page_says_so(published):
    province, page, result = published["standaard"]
    assert _query(province, "SELECT regio_code FROM provincie.regios") == [("amersfoort",)]
    assert _query(province, "SELECT regio_code, reden FROM provincie.weggelaten") == [
        ("voorbeeld", "fictief")
    ]
    assert _query(province, "SELECT DISTINCT regio_code FROM provincie.fair_share") == [("amersfoort",)]
    assert _query(province, "SELECT DISTINCT regio_code FROM provincie.kerncijfers_per_jaar") == [
        ("amersfoort",)
    ]
    assert "left out region 'voorbeeld': fictief" in result.stderr and "--met-fictief" in result.stderr
    assert "Province publication of amersfoort:" in result.stdout
    naam = region.load_regio("voorbeeld").naam
    weggelaten = page.split('id="weggelaten"', 1)[1].split("</div>", 1)[0]
    assert naam in weggelaten and "fictieve voorbeeldregio" in weggelaten and "--met-fictief" in weggelaten
    assert naam not in page.split('id="tabel-kerncijfers"', 1)[1]
    # Asked for, it is there and marked fictional.
    province, page, _ = published["met_fictief"]
    assert _query(province, "SELECT regio_code, fictief FROM provincie.regios ORDER BY 1") == [
        ("amersfoort", False),
        ("voorbeeld", True),
    ]
    assert _query(province, "SELECT count(*) FROM provincie.weggelaten") == [(0,)]
    assert f"{naam} (fictief)" in page and 'id="weggelaten"' not in page


def test_every_gemeente_row_has_its_province_flag_and_the_agreements_region(published):
    """Nijkerk is listed by both regions, in Amersfoort's agreement only: a naive sum counts it twice."""
    province, page, _ = published["met_fictief"]
    listed = {(r, g["gemeente_code"]): g for r in REGIOS for g in _seed(r, "gemeenten.csv")}
    both = {g for (_, g) in listed if all((r, g) in listed for r in REGIOS)}
    assert len(both) == 1
    [gedeeld] = both
    flags = {r: seeds.flag(listed[(r, gedeeld)]["in_afspraak"]) for r in REGIOS}
    assert sorted(flags.values()) == [False, True]
    eigenaar = next(r for r, f in flags.items() if f)
    rows = _query(
        province,
        "SELECT regio_code, gemeente_code, provincie, in_afspraak, afspraak_regio FROM provincie.gemeenten "
        "ORDER BY 1, 2",
    )
    assert {(r, g) for r, g, *_ in rows} == set(listed)
    for r, g, provincie, in_afspraak, afspraak_regio in rows:
        assert provincie == listed[(r, g)]["provincie"]
        assert in_afspraak == seeds.flag(listed[(r, g)]["in_afspraak"])
        covering = sorted(x for x in REGIOS if (x, g) in listed and seeds.flag(listed[(x, g)]["in_afspraak"]))
        assert afspraak_regio == (", ".join(covering) or None)
    inwoners = {(r, i["gemeente_code"]): int(i["inwoners"]) for r in REGIOS for i in _seed(r, "inwoners.csv")}
    assert all((r, gedeeld) in inwoners for r in REGIOS)  # both list the gemeente's inhabitants
    [(naief, geteld, dubbel)] = _query(
        province,
        "SELECT sum(inwoners), sum(inwoners) FILTER (WHERE in_afspraak), "
        "count(*) FILTER (WHERE afspraak_regio IS NULL OR gemeente_naam IS NULL) FROM provincie.inwoners",
    )
    assert naief == sum(inwoners.values()) and dubbel == 0
    assert naief - geteld == inwoners[(next(r for r in REGIOS if r != eigenaar), gedeeld)]
    assert _query(
        province, "SELECT DISTINCT afspraak_regio FROM provincie.inwoners WHERE gemeente_code = ?", [gedeeld]
    ) == [(eigenaar,)]
    assert _query(province, "SELECT count(*) FROM provincie.dubbel_geteld") == [(0,)]
    # The gemeenten no agreement covers: listed by a region, in none of the regions' agreements.
    nergens = sorted(
        g
        for (_, g) in listed
        if not any(seeds.flag(listed[(r, g)]["in_afspraak"]) for r in REGIOS if (r, g) in listed)
    )
    assert (
        nergens
        and [g for (g,) in _query(province, "SELECT gemeente_code FROM provincie.zonder_afspraak ORDER BY 1")]
        == nergens
    )
    zonder = page.split('id="zonder-afspraak"', 1)[1].split("</div>", 1)[0]
    assert all(listed[("amersfoort", g)]["gemeente_naam"] in zonder for g in nergens)
    tabel = page.split('id="tabel-gemeenten"', 1)[1].split("</table>", 1)[0]
    assert tabel.count(f'data-gemeente="{gedeeld}"') == 2
    assert 'id="provincies"' in page and "Provincies: Gelderland en Utrecht" in page


def test_the_regional_total_is_named_for_each_region(published, copies):
    """No column holding 227 x share for a region whose total is another: each region's own total beside it."""
    province, _, _ = published["met_fictief"]
    kolommen = [
        c
        for (c,) in _query(
            province, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'verdeelsleutels'"
        )
    ]
    assert "opgave_bij_227" not in kolommen and {"regionaal_totaal", "opgave_bij_regionaal_totaal"} <= set(
        kolommen
    )
    for regio, copy in copies.items():
        [(totaal,)] = _query(copy, "SELECT DISTINCT regionaal_totaal FROM marts.verdeelsleutels")
        assert _query(
            province,
            "SELECT DISTINCT regionaal_totaal FROM provincie.verdeelsleutels WHERE regio_code = ?",
            [regio],
        ) == [(totaal,)]
        [(som,)] = _query(
            province,
            "SELECT round(sum(opgave_bij_regionaal_totaal)) FROM provincie.verdeelsleutels WHERE regio_code = ? "
            "AND verdeelsleutel = 'inwoners'",
            [regio],
        )
        assert som == totaal
    assert (
        len(
            {
                t
                for (t,) in _query(
                    province, "SELECT DISTINCT regionaal_totaal FROM provincie.verdeelsleutels"
                )
            }
        )
        == 2
    )


def test_key_figures_per_calendar_year_are_annualised_beside_the_peildatum(published, copies):
    province, page, _ = published["met_fictief"]
    for regio, copy in copies.items():
        [(peildatum,)] = _query(copy, "SELECT peildatum FROM info.publicatie")
        mart = _query(
            copy,
            "SELECT jaar, max(maanden_data), sum(wettelijk_urgent_gehuisvest), sum(toewijzingen) "
            "FROM marts.fair_share_gemeente GROUP BY jaar ORDER BY jaar",
        )
        rows = _query(
            province,
            "SELECT jaar, peildatum, maanden_data, geannualiseerd, wettelijk_urgent_gehuisvest, "
            "wettelijk_urgent_gehuisvest_op_jaarbasis, aandeel_wettelijk_urgent_pct, per_1000_inwoners_op_jaarbasis, "
            "inwoners FROM provincie.kerncijfers_per_jaar WHERE regio_code = ? ORDER BY jaar",
            [regio],
        )
        assert [r[0] for r in rows] == [m[0] for m in mart]
        assert any(r[3] for r in rows) and not all(
            r[3] for r in rows
        )  # the latest year is partial, others not
        for (_, pd_, maanden, geannualiseerd, n, jaarbasis, aandeel, per_1000, inwoners), m in zip(
            rows, mart, strict=True
        ):
            assert pd_ == peildatum and maanden == m[1] and n == m[2]
            assert geannualiseerd == (maanden < 12)
            assert jaarbasis == pytest.approx(n * 12 / maanden)
            assert aandeel == pytest.approx(100 * m[2] / m[3])
            assert per_1000 == pytest.approx(1000 * jaarbasis / inwoners)
        # kerncijfers keeps the latest year, with its figures also on a yearly basis
        [(jaar, per_100, jaarbasis)] = _query(
            province,
            "SELECT jaar, per_100_toewijzingen, wettelijk_urgent_gehuisvest_op_jaarbasis FROM provincie.kerncijfers "
            "WHERE regio_code = ?",
            [regio],
        )
        assert jaar == rows[-1][0] and per_100 == pytest.approx(rows[-1][6]) and jaarbasis == rows[-1][5]
    jaarbasis = page.split('id="jaarbasis"', 1)[1].split("</p>", 1)[0]
    assert "omgerekend naar een heel jaar" in jaarbasis and "over 10 maanden" in jaarbasis
    assert 'data-geannualiseerd="ja"' in page.split('id="tabel-per-jaar"', 1)[1].split("</table>", 1)[0]


def test_the_province_selects_its_own_gemeenten_and_their_figures(published, copies):
    """--provincie Gelderland: only Amersfoort's Gelderland gemeenten; the example region (none of its agreement
    there) is left out saying why; the share over that selection is the mart's own figure for those gemeenten."""
    province, page, result = published["gelderland"]
    listed = [g for g in _seed("amersfoort", "gemeenten.csv") if g["provincie"] == "Gelderland"]
    assert {g for (g,) in _query(province, "SELECT gemeente_code FROM provincie.gemeenten")} == {
        g["gemeente_code"] for g in listed
    }
    assert _query(province, "SELECT regio_code FROM provincie.regios") == [("amersfoort",)]
    [(reden,)] = _query(province, "SELECT reden FROM provincie.weggelaten WHERE regio_code = 'voorbeeld'")
    assert "Gelderland" in reden or "gelderland" in reden
    in_afspraak = sorted(g["gemeente_code"] for g in listed if seeds.flag(g["in_afspraak"]))
    assert [
        g for (g,) in _query(province, "SELECT DISTINCT gemeente_code FROM provincie.fair_share ORDER BY 1")
    ] == in_afspraak
    jaar_rijen = _query(
        copies["amersfoort"],
        "SELECT jaar, sum(wettelijk_urgent_gehuisvest), sum(toewijzingen), any_value(aandeel_wettelijk_urgent_pct) "
        "FROM marts.fair_share_gemeente WHERE gemeente_code IN (SELECT unnest(?)) GROUP BY jaar ORDER BY jaar",
        [in_afspraak],
    )
    rows = _query(
        province,
        "SELECT jaar, wettelijk_urgent_gehuisvest, toewijzingen, aandeel_wettelijk_urgent_pct "
        "FROM provincie.kerncijfers_per_jaar ORDER BY jaar",
    )
    assert [r[:3] for r in rows] == [r[:3] for r in jaar_rijen]
    if len(in_afspraak) == 1:  # one gemeente: the region's share is the mart's cell itself
        assert [r[3] for r in rows] == pytest.approx([r[3] for r in jaar_rijen])
    [(inwoners,)] = _query(province, "SELECT inwoners FROM provincie.kerncijfers")
    assert inwoners == sum(
        int(i["inwoners"]) for i in _seed("amersfoort", "inwoners.csv") if i["gemeente_code"] in in_afspraak
    )
    [(selectie, provincies)] = _query(
        province, "SELECT provincie_selectie, provincies FROM provincie.publicatie"
    )
    assert selectie == "Gelderland" and provincies == "Gelderland"
    assert "Provincie Gelderland:" in page and "geen gemeente van haar afspraak" in page
    assert "Utrecht" not in page.split('id="tabel-gemeenten"', 1)[1].split("</table>", 1)[0]
    assert "left out region 'voorbeeld'" in result.stderr


def test_a_province_no_agreement_reaches_is_a_usage_error_and_writes_nothing(copies, tmp_path):
    out = tmp_path / "provincie"
    result = _province(out, copies, "--met-fictief", "--provincie", "Zeeland")
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert "--provincie Zeeland" in last and "Traceback" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []
    # Only fictional copies, not asked for: nothing to publish, and the message says how to include them.
    from warehouse.province import Keuze, build_province

    with pytest.raises(ValueError, match="--met-fictief"):
        build_province({"voorbeeld": copies["voorbeeld"]}, tmp_path / "p.duckdb", Keuze(met_fictief=False))
    assert not (tmp_path / "p.duckdb").exists()


def test_a_fictional_region_named_with_regio_is_asked_for(copies, tmp_path):
    out = tmp_path / "provincie"
    result = _province(out, {"voorbeeld": copies["voorbeeld"]}, "--regio", "voorbeeld")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _query(out / "fairshare_provincie.duckdb", "SELECT regio_code, fictief FROM provincie.regios") == [
        ("voorbeeld", True)
    ]
    assert "left out" not in result.stderr


@pytest.fixture(scope="module")
def history(copies, tmp_path_factory):
    """The example region's copy with an earlier report (1 April 2026) in its history, and Amersfoort's copy
    published for 1 April 2026: both made by code from copies of the real published copies."""
    base = tmp_path_factory.mktemp("historie")
    voorbeeld, amersfoort = base / "voorbeeld.duckdb", base / "amersfoort.duckdb"
    shutil.copy(copies["voorbeeld"], voorbeeld)
    shutil.copy(copies["amersfoort"], amersfoort)
    with duckdb.connect(str(voorbeeld)) as conn:
        # The April report knew three months of 2026 and one allocation less per gemeente in 2025.
        conn.execute(
            "INSERT INTO historie.fair_share_gemeente BY NAME SELECT * REPLACE (DATE '2026-04-01' AS rapport_peildatum, "
            "CASE WHEN jaar = 2026 THEN 3 ELSE maanden_data END AS maanden_data, "
            "CASE WHEN jaar = 2026 THEN wettelijk_urgent_gehuisvest // 3 WHEN jaar = 2025 "
            "THEN greatest(wettelijk_urgent_gehuisvest - 1, 0) ELSE wettelijk_urgent_gehuisvest END "
            "AS wettelijk_urgent_gehuisvest, CASE WHEN jaar = 2026 THEN toewijzingen // 3 ELSE toewijzingen END "
            "AS toewijzingen) FROM historie.fair_share_gemeente WHERE rapport_peildatum = DATE '2026-11-01'"
        )
    with duckdb.connect(str(amersfoort)) as conn:
        conn.execute("UPDATE info.publicatie SET peildatum = DATE '2026-04-01', data_tot = DATE '2026-03-31'")
    out = base / "provincie"
    result = _province(out, {"amersfoort": amersfoort, "voorbeeld": voorbeeld}, "--met-fictief")
    assert result.returncode == 0, result.stderr[-3000:]
    return (
        voorbeeld,
        out / "fairshare_provincie.duckdb",
        (out / "provincie_overzicht.html").read_text("utf-8"),
        result,
    )


def test_key_figures_per_peildatum_follow_each_regions_history(history):
    voorbeeld, province, page, _ = history
    expected = _query(
        voorbeeld,
        "SELECT rapport_peildatum, jaar, max(maanden_data), sum(wettelijk_urgent_gehuisvest), sum(toewijzingen) "
        "FROM historie.fair_share_gemeente GROUP BY ALL ORDER BY 1, 2",
    )
    assert len({r[0] for r in expected}) == 2
    rows = _query(
        province,
        "SELECT peildatum, jaar, maanden_data, wettelijk_urgent_gehuisvest, toewijzingen, geannualiseerd, "
        "wettelijk_urgent_gehuisvest_op_jaarbasis, aandeel_wettelijk_urgent_pct FROM provincie.kerncijfers_per_peildatum "
        "WHERE regio_code = 'voorbeeld' ORDER BY 1, 2",
    )
    assert [r[:5] for r in rows] == expected
    for _, _, maanden, n, t, geannualiseerd, jaarbasis, aandeel in rows:
        assert geannualiseerd == (maanden < 12) and jaarbasis == pytest.approx(n * 12 / maanden)
        assert aandeel == pytest.approx(100 * n / t)
    april = [r for r in rows if r[0].isoformat() == "2026-04-01" and r[1] == 2026]
    assert april and april[0][2] == 3 and april[0][5]
    tabel = page.split('id="tabel-per-peildatum"', 1)[1].split("</table>", 1)[0]
    assert 'data-peildatum="2026-04-01"' in tabel and 'data-peildatum="2026-11-01"' in tabel


def test_differing_peildatums_warn_on_the_page_and_stderr(history, published):
    _, province, page, result = history
    assert _query(
        province, "SELECT regio_code, peildatum::VARCHAR, verouderd FROM provincie.regios ORDER BY 1"
    ) == [
        ("amersfoort", "2026-04-01", True),
        ("voorbeeld", "2026-11-01", False),
    ]
    peildata = page.split('id="peildata"', 1)[1].split("</div>", 1)[0]
    assert "Verschillende peildata" in page and "1 april 2026" in peildata and "1 november 2026" in peildata
    assert "region 'amersfoort' is stale" in result.stderr
    # Each region's peildatum beside its figures.
    assert {
        (r, str(p))
        for r, p in _query(
            province, "SELECT DISTINCT regio_code, peildatum FROM provincie.kerncijfers_per_jaar"
        )
    } == {
        ("amersfoort", "2026-04-01"),
        ("voorbeeld", "2026-11-01"),
    }
    # The same peildatum everywhere: no warning.
    _, same, _ = published["met_fictief"]
    assert 'id="peildata"' not in same and 'id="verouderd"' not in same
