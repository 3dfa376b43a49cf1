"""spec/marts.md "The BO report and the gate": the report's content, and what blocks it (in Dutch, exit 1)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import demo_run, query, sample_built

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = [
    "fair-share",
    "ingroeipad",
    "compensatie",
    "instroom-uitstroom",
    "urgentie",
    "geschiktheid",
    "ouderenhuisvesting",
    "verdeelsleutels",
    "correcties",
]


@pytest.fixture(scope="module")
def report(sample_run):
    summary, landing, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-3000:]
    reports = warehouse.parent.parent / "reports"
    return reports / "bo_wonen_zorg_2026-12.html", reports, warehouse, result


def _cell(html: str, row_attrs: str, kolom: str) -> str:
    m = re.search(rf'<tr {re.escape(row_attrs)}>.*?<td data-kolom="{kolom}"[^>]*>([^<]*)</td>', html)
    assert m, (row_attrs, kolom)
    return m.group(1)


def _nl(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def test_clean_run_writes_the_december_report_and_workbook(report):
    html_path, reports, _, result = report
    assert html_path.exists() and (reports / "bo_wonen_zorg_2026-12.xlsx").exists()
    assert not (reports / "bo_wonen_zorg_2026-12_geblokkeerd.html").exists()
    assert (
        f"Report: {html_path.resolve()} (and bo_wonen_zorg_2026-12.pdf and bo_wonen_zorg_2026-12.xlsx)"
        in (result.stdout)
    )  # the meeting pack is named beside the html
    docs = reports / "gx" / "bo_wonen_zorg_2026-12" / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert (docs / "index.html").exists() and (docs / "overzicht.html").exists()
    assert [p.name for p in (reports / "gx").iterdir()] == [
        "bo_wonen_zorg_2026-12"
    ]  # one docs folder per report


def test_report_is_self_contained_dutch_with_every_section(report):
    html = report[0].read_text(encoding="utf-8")
    assert '<html lang="nl">' in html and "BO Wonen en Zorg van december 2026" in html
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    assert '<section id="datakwaliteit" class="bijlage">' in html  # gate and data quality in the appendix
    assert html.index('id="samenvatting"') < html.index('<section id="fair-share">')
    assert "@media print" in html and "size: A4" in html
    assert html.count("<svg") >= 6  # charts inline
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from the network
    assert "De huurgrenzen van 2026 zijn voorlopig" in html  # the voorlopig warning
    assert "Het inwonertal van Soest is van 1 januari 2021" in html


def test_report_figures_equal_the_marts(report):
    html_path, _, warehouse, _ = report
    html = html_path.read_text(encoding="utf-8")
    for code, jaar, gehuisvest, toewijzingen in query(
        warehouse,
        "SELECT gemeente_code, jaar, gehuisvest, toewijzingen FROM marts.fair_share_gemeente WHERE jaar >= 2025",
    ):
        attrs = f'data-gemeente="{code}" data-jaar="{jaar}"'
        assert _cell(html, attrs, "gehuisvest") == _nl(gehuisvest)
        assert _cell(html, attrs, "toewijzingen") == _nl(toewijzingen)
    for groep, jaar, gehuisvest in query(warehouse, "SELECT groep, jaar, gehuisvest FROM marts.ingroeipad"):
        assert _cell(html, f'data-groep="{groep}" data-jaar="{jaar}"', "gehuisvest") == _nl(gehuisvest)
    for commissie, aanvragen in query(
        warehouse, "SELECT commissie, aanvragen FROM marts.urgentie_aanvragen WHERE jaar = 2026"
    ):
        assert _cell(html, f'data-commissie="{commissie}"', "aanvragen") == _nl(aanvragen)
    for jaar, n in query(
        warehouse,
        "SELECT jaar, sum(toewijzingen) FROM marts.toewijzingen_geschiktheid WHERE jaar >= 2022 GROUP BY 1",
    ):
        assert _cell(html, f'data-jaar="{jaar}"', "toewijzingen") == _nl(int(n))


# The workbook beside the report: tests/test_board_workbook.py (issue 21: board material).


def test_html_has_one_gemeente_order_and_no_missing_value_markers(report):
    html_path, _, warehouse, _ = report
    html = html_path.read_text(encoding="utf-8")
    assert not re.search(r"&lt;NA&gt;|<NA>|\bNaN\b|\bnan\b|-0,0\b|>-0<", html)
    assert "afspraak_2025_2026" not in re.sub(r'data-[a-z]+="[^"]*"', "", html)
    names = [
        n
        for (n,) in query(
            warehouse, "SELECT gemeente_naam FROM referentie.gemeenten WHERE in_afspraak ORDER BY 1"
        )
    ]
    order = [*names, "Buiten de regio", "Onbekend", "RATU"]
    for table in (
        "tabel-fair-share",
        "tabel-compensatie",
        "tabel-terugkeer",
        "tabel-aanvragen",
        "tabel-doorlooptijd",
        "tabel-ouderen",
        "tabel-sociaal",
        "tabel-sleutels",
    ):
        body = html.split(f'id="{table}"')[1].split("</table>")[0]
        seen = [m for m in re.findall(r"<tr[^>]*><td>([^<]+)</td>", body) if m in order]
        assert seen, table
        firsts = list(dict.fromkeys(seen))
        assert firsts == sorted(firsts, key=order.index), (table, firsts)


def _blocked_page(result, reports) -> str:
    assert result.returncode == 1, result.stderr[-3000:]
    assert not (reports / "bo_wonen_zorg_2026-12.html").exists()
    assert not (reports / "bo_wonen_zorg_2026-12.xlsx").exists()
    page = reports / "bo_wonen_zorg_2026-12_geblokkeerd.html"
    assert page.exists() and f"BLOCKED, see {page.resolve()}" in result.stdout
    return page.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def blocked(sample_run, tmp_path_factory):
    """One run from a copy of the sample's landing with three faults, each blocking through its own gate rule.

    The faults are separable: each touches one source and fails one rule of its own, and the blocked page lists
    every failed blocking rule (and only those: warnings never reach it), each by its own Dutch message.
    Leusden's latest register taken away fails Leusden's register rule (urgentie); a damaged October snapshot
    fails the planregister rule (planregister); 3 % bad rows in the latest SWEV delivery fail SWEV's quarantine
    rule (swev). None of them adds or removes a row of another source, so none can make another's message, and
    each message on the page proves its own rule blocked. Returns the run and its reports folder.
    """
    base = tmp_path_factory.mktemp("geblokkeerd")
    landing = base / "landing"
    shutil.copytree(sample_run[1], landing)
    # A committee's delivery missing.
    for p in landing.glob("urgentie/leusden_2026-11-03.*"):
        p.unlink()
    # The planregister snapshot rejected.
    (landing / "planregister" / "planregister_2026-10.xlsx").write_bytes(b"kapot bestand")
    # More than 2 % of the latest SWEV delivery quarantined.
    path = next(landing.glob("swev/toewijzingen_2026-11-03.*"))
    assert path.suffix == ".csv"
    lines = path.read_bytes().splitlines()
    delimiter = b";" if lines[0].count(b";") > lines[0].count(b",") else b","
    n_bad = int(0.03 * len(lines))
    bad = [
        delimiter.join([f"KAPOT-{i}".encode()] + [b""] * (lines[0].count(delimiter))) for i in range(n_bad)
    ]
    path.write_bytes(b"\r\n".join(lines + bad) + b"\r\n")
    reports = base / "reports"
    return demo_run(landing, base / "warehouse" / "w.duckdb", reports), reports


def test_missing_committee_delivery_blocks_with_its_name(blocked):
    html = _blocked_page(*blocked)
    assert (
        "De urgentiecommissie van Leusden heeft geen register geleverd met extractiedatum op of na 1 november 2026."
        in html
    )
    assert "Baarn" not in html


def test_rejected_file_blocks_through_the_snapshot_rule(blocked):
    result, reports = blocked
    html = _blocked_page(result, reports)
    assert "Het Planregister Wonen van oktober 2026 (planregister_2026-10) is niet geladen." in html
    assert "rejected: planregister/planregister_2026-10.xlsx: not a readable xlsx file" in result.stdout


def test_more_than_two_percent_quarantined_blocks(blocked):
    html = _blocked_page(*blocked)
    assert re.search(
        r"SWEV-toewijzingen: \d,\d% van de rijen staat in quarantaine \(ten hoogste 2,0% toegestaan\)", html
    )
    assert "swev/toewijzingen_2026-11-03.csv:" in html


def test_blocked_gate_shows_its_work_in_the_data_docs(blocked):
    """The real run on hostile deliveries: GX's stored result of `poort` has one row per blocking rule and the three
    failed rules as its unexpected rows (a real percentage), and the overview marks that suite failed."""
    import duckdb

    from expectations import gate
    from warehouse import audit

    result, reports = blocked
    _blocked_page(result, reports)
    docs = reports / "gx" / "bo_wonen_zorg_2026-12" / "gx" / "uncommitted"
    [stored] = [json.loads(p.read_text(encoding="utf-8")) for p in docs.glob("validations/poort/*/*/*.json")]
    with duckdb.connect(str(reports.parent / "warehouse" / "w.duckdb"), read_only=True) as conn:
        regels = gate.poort_regels(conn, audit.peildatum(conn))
    blocking = regels[regels["ernst"] == "blokkerend"]
    [check] = stored["results"]
    assert not stored["success"] and check["result"]["element_count"] == len(blocking) > 10
    assert check["result"]["unexpected_count"] == (~blocking["geslaagd"]).sum() == 3
    assert check["result"]["unexpected_percent"] == pytest.approx(100 * 3 / len(blocking))
    overview = (docs / "data_docs" / "local_site" / "overzicht.html").read_text(encoding="utf-8")
    assert f'data-suite="poort" data-geslaagd="false" data-rijen="{len(blocking)}"' in overview
    assert 'data-suite="toewijzingen" data-geslaagd="true"' in overview and "geblokkeerd" in overview


def test_rejected_duplicate_of_an_intact_delivery_does_not_block(sample_run, tmp_path):
    """From a copy of the sample's build: the intact delivery was loaded (as in a run from scratch, where the twin
    is read after it too), the twin is new and rejected; the gate reads the same audit either way."""
    warehouse = sample_built(sample_run, tmp_path)
    landing, reports = tmp_path / "landing", tmp_path / "reports"
    for report in reports.glob("bo_wonen_zorg_2026-12*.*"):  # written by this run, or the test proves nothing
        report.unlink()
    original = next(landing.glob("urgentie/baarn_2026-11-03.*"))
    twin = original.with_suffix(".csv" if original.suffix == ".xlsx" else ".xlsx")
    twin.write_bytes(b"een tweede, kapot exemplaar")
    result = demo_run(landing, warehouse, reports)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "rejected: " in result.stdout
    assert (reports / "bo_wonen_zorg_2026-12.html").exists()


def test_data_docs_overview_opens_offline_and_the_report_links_it(report):
    html_path, reports, _, _ = report
    page = (
        reports
        / "gx"
        / "bo_wonen_zorg_2026-12"
        / "gx"
        / "uncommitted"
        / "data_docs"
        / "local_site"
        / "overzicht.html"
    )
    text = page.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', text)
    links = re.findall(r'href="([^"]+)"', text)
    assert len(links) >= 5 and all((page.parent / link).exists() for link in links)
    # linked relative to the report's folder (issue 21: no server path, works when the folder is copied)
    assert f'href="{page.relative_to(reports).as_posix()}"' in html_path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("kolom", "waarde"),
    [
        ("tot_lage_gelabeld", "tot_lage_aftoppingsgrens + 1"),  # a step GX did not check before (dbt did)
        ("samenwerkend", "toewijzingen + 1"),
    ],
)
def test_a_funnel_that_is_not_nested_fails_the_gate_naming_gemeente_and_year(
    sample_run, tmp_path, kolom, waarde
):
    """Each mart invariant lives once, in the gate (expectations/suites.py): every step of the funnel is checked
    there, and a break is a Dutch failure naming the gemeente and year, which the blocked page lists."""
    import duckdb

    from expectations import gate
    from expectations.suites import SUITES
    from warehouse import audit

    _, _, warehouse, result = sample_run
    assert result.returncode == 0, result.stderr[-2000:]
    copy = tmp_path / "kopie.duckdb"
    shutil.copy(warehouse, copy)
    suite = next(s for s in SUITES if s.name == "invarianten")
    with duckdb.connect(str(copy)) as conn:
        assert gate.validate(conn, suite, tmp_path / "gx", audit.peildatum(conn)).geslaagd
        gemeente, jaar = conn.execute(
            f"UPDATE marts.toewijzingen_geschiktheid SET {kolom} = {waarde} WHERE (gemeente_code, jaar) = "
            "(SELECT (gemeente_code, jaar) FROM marts.toewijzingen_geschiktheid "
            "WHERE tot_lage_aftoppingsgrens IS NOT NULL ORDER BY ALL LIMIT 1) RETURNING gemeente_code, jaar"
        ).fetchone()
        outcome = gate.validate(conn, suite, tmp_path / "gx", audit.peildatum(conn))
    assert not outcome.geslaagd
    [fout] = outcome.fouten
    assert fout.uitleg == "De marts kloppen onderling: elke controle (zie onderwerp) heeft verschil 0."
    assert re.fullmatch(rf"trechter genest: {gemeente} {jaar} \(verschil 1(\.0)?\)", fout.voorbeelden[0])
    assert len(fout.voorbeelden) == 1
