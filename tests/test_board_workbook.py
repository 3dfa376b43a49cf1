"""The workbook beside the BO report is board material (issue 21): Dutch sheets and headers, labels instead of
codes (the codes in a column for analysts), only the report's years, a print setup, a Toelichting without jargon.

The workbook read is the one the session's sample run wrote (``tests.helpers.sample_built``); a hostile name is
written in-process from a copy of its warehouse.
"""

from __future__ import annotations

import re
import zipfile

import duckdb
import pytest
from openpyxl import load_workbook

from basics.manifest import marts
from expectations.gate import gate_config
from products.report import report_data, write_workbook
from products.report.werkboek import CODE_SOORTEN, TOELICHTING, werkboek_config
from tests.board_words import offending
from tests.helpers import query, sample_built


@pytest.fixture(scope="module")
def built(sample_run, tmp_path_factory):
    warehouse = sample_built(sample_run, tmp_path_factory.mktemp("werkboek"))
    xlsx = next((warehouse.parent.parent / "reports").glob("bo_wonen_zorg_*[0-9].xlsx"))
    return warehouse, xlsx, load_workbook(xlsx)


def _codes(ws) -> list[int]:
    """The analysts' code columns of a sheet (1-based), by their header."""
    return [c.column for c in ws[1] if isinstance(c.value, str) and "(voor analisten)" in c.value]


def test_every_mart_column_has_a_dutch_header_or_is_left_out_on_purpose():
    """A column added to a mart must be given a header in werkboek.yaml (else it would vanish unseen)."""
    cfg = {b["mart"]: b for b in werkboek_config()["bladen"]}
    assert set(cfg) == {m.name for m in marts()}
    with open("dbt_project/models/marts/_marts__models.yml", encoding="utf-8") as fh:
        import yaml

        declared = {m["name"]: [c["name"] for c in m["columns"]] for m in yaml.safe_load(fh)["models"]}
    for mart, columns in declared.items():
        assert set(cfg[mart]["kolommen"]) == set(columns), mart
    for blad in cfg.values():
        assert len(blad["blad"]) <= 31 and not re.search(r"[\[\]:*?/\\]", blad["blad"])


def test_sheets_and_headers_are_dutch_never_a_table_or_column_name(built):
    warehouse, _, wb = built
    cfg = werkboek_config()
    assert wb.sheetnames == [TOELICHTING, *(b["blad"] for b in cfg["bladen"])]
    names = {
        n
        for (n,) in query(
            warehouse,
            "SELECT DISTINCT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
            "UNION SELECT DISTINCT table_name FROM duckdb_tables() WHERE schema_name = 'marts'",
        )
    }
    for spec in cfg["bladen"]:
        ws = wb[spec["blad"]]
        header = [c.value for c in ws[1]]
        shown = [k["kop"] for k in spec["kolommen"].values() if k["soort"] != "weg"]
        codes = [
            cfg["code_kop"].format(kop=k["kop"].lower())
            for k in spec["kolommen"].values()
            if k["soort"] in CODE_SOORTEN
        ]
        assert header == shown + codes, spec["blad"]
        assert not set(header) & names and not set(wb.sheetnames) & names
        assert offending(" | ".join(header)) == [], spec["blad"]


def test_no_code_outside_the_analysts_columns_and_no_jargon_in_any_cell(built):
    """Every cell's text but the analysts' codes passes the board's word list; the Toelichting too."""
    warehouse, _, wb = built
    codes = {
        v
        for (v,) in query(
            warehouse,
            "SELECT DISTINCT urgentiecategorie FROM marts.urgentie_toekenningen UNION "
            "SELECT DISTINCT subcategorie FROM marts.urgentie_toekenningen UNION "
            "SELECT DISTINCT afwijzingsgrond FROM marts.urgentie_afwijzingen UNION "
            "SELECT DISTINCT herkomst FROM marts.instroom_uitstroom UNION "
            "SELECT DISTINCT verdeelsleutel FROM marts.verdeelsleutels UNION "
            "SELECT DISTINCT gemeente_code FROM marts.fair_share_gemeente UNION "
            "SELECT DISTINCT woningtype FROM marts.ouderenhuisvesting",
        )
        if v
    }
    assert {"uitstap_sekswerk", "afspraak_2025_2026", "buiten_regio", "GM0307"} <= codes
    found_codes = 0
    for ws in wb.worksheets:
        code_cols = set(_codes(ws)) if ws.title != TOELICHTING else set()
        assert ws.title == TOELICHTING or code_cols or ws.title == "Ingroeipad", ws.title
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str):
                    continue
                if cell.column in code_cols:
                    found_codes += cell.row > 1 and cell.value in codes
                    continue
                assert offending(cell.value) == [], (ws.title, cell.coordinate, cell.value)
                assert cell.value not in codes, (ws.title, cell.coordinate)
    assert found_codes > 100  # the codes are there, for analysts
    toelichting = " ".join(str(c.value) for row in wb[TOELICHTING].iter_rows() for c in row if c.value)
    for word in ("mart", "datawarehouse", "seed"):
        assert word not in toelichting.lower()


def test_only_the_report_years_and_every_target_filled(built):
    warehouse, _, wb = built
    [(data_tot,)] = query(warehouse, "SELECT max(data_tot) FROM info.peildatum")
    for blad in ("Fair share per gemeente", "Fair share per categorie", "Compensatiesaldo", "Ingroeipad"):
        ws = wb[blad]
        header = [c.value for c in ws[1]]
        jaar = next(j for j, h in enumerate(header) if "jaar" in h.lower())
        years = {row[jaar] for row in ws.iter_rows(min_row=2, values_only=True)}
        assert years == set(range(2025, data_tot.year + 1)), blad
        for target in ("Opgave per jaar", "Afspraak per jaar"):
            if target in header:
                assert all(
                    row[header.index(target)] is not None for row in ws.iter_rows(min_row=2, values_only=True)
                )
    years = {r[1] for r in wb["Geschiktheid toewijzingen"].iter_rows(min_row=2, values_only=True)}
    assert min(years) == gate_config()["trechter_vanaf"]
    # the rows are the mart's rows of those years, no more and no less
    [(n,)] = query(warehouse, "SELECT count(*) FROM marts.fair_share_gemeente WHERE jaar >= 2025")
    assert wb["Fair share per gemeente"].max_row - 1 == n


def test_people_are_whole_numbers_and_naar_rato_targets_have_one_decimal(built):
    warehouse, _, wb = built
    ws = wb["Fair share per gemeente"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        assert row[header.index("Wettelijk urgent gehuisvest")].number_format == "#,##0"
        assert row[header.index("Toewijzingen")].number_format == "#,##0"
        assert row[header.index("Opgave naar rato")].number_format == "#,##0.0"
        assert row[header.index("Verschil")].number_format == "#,##0.0"
        assert row[header.index("Jaar")].number_format == "0"
    # the figures are the mart's: Amersfoort's last year
    code = header.index("Code gemeente (voor analisten)")
    rows = {(r[code].value, r[1].value): r for r in ws.iter_rows(min_row=2)}
    for gemeente, jaar, gehuisvest, rato in query(
        warehouse, "SELECT gemeente_code, jaar, gehuisvest, opgave_naar_rato FROM marts.fair_share_gemeente"
    ):
        if jaar >= 2025:
            r = rows[(gemeente, jaar)]
            assert r[header.index("Wettelijk urgent gehuisvest")].value == gehuisvest
            assert r[header.index("Opgave naar rato")].value == pytest.approx(rato)


def test_every_sheet_prints_on_a4_one_page_wide_with_its_header_row_and_page_numbers(built):
    _, _, wb = built
    wide = werkboek_config()["liggend_vanaf_kolommen"]
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert setup.paperSize in (9, "9") and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert setup.fitToWidth in (None, 1, "1") and setup.fitToHeight in (0, "0"), ws.title
        assert "Monitor huisvesting aandachtsgroepen" in ws.oddHeader.left.text, ws.title
        assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text, ws.title
        assert "Peildatum" in ws.oddFooter.left.text
        if ws.title == TOELICHTING:
            assert ws.print_title_rows and setup.orientation == "portrait"
            continue
        assert ws.print_title_rows == "$1:$1", ws.title
        visible = ws.max_column - len(_codes(ws))
        assert setup.orientation == ("landscape" if visible >= wide else "portrait"), ws.title
        # the print area holds the labelled columns only, not the analysts' codes
        area = ws.print_area if isinstance(ws.print_area, str) else ws.print_area[0]
        last = re.search(r":\$([A-Z]+)\$\d+$", area).group(1)
        assert ws[f"{last}1"].column == visible, (ws.title, area)


def test_a_name_that_looks_like_a_formula_or_link_stays_text(built, tmp_path):
    """Names reach the workbook from the warehouse's reference tables: written as strings, never live."""
    warehouse, _, _ = built
    copy = tmp_path / "kopie.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    out = tmp_path / "werkboek.xlsx"
    evil, link = '=HYPERLINK("https://evil.example","klik")', "https://www.cbs.nl/nl-nl/onze-diensten"
    with duckdb.connect(str(copy)) as conn:
        conn.execute(
            "UPDATE referentie.gemeenten SET gemeente_naam = ? WHERE gemeente_code = 'GM0307'", [evil]
        )
        conn.execute(
            "UPDATE referentie.gemeenten SET gemeente_naam = ? WHERE gemeente_code = 'GM0308'", [link]
        )
        write_workbook(conn, out, report_data(conn))
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            xml = z.read(name).decode("utf-8", "replace")
            assert not re.search(r"<f[ >]", xml) and "<hyperlink" not in xml, name
    cells = [c for row in load_workbook(out)["Fair share per gemeente"].iter_rows() for c in row]
    assert any(c.value == evil and c.data_type == "s" for c in cells)
    assert any(c.value == link and c.data_type == "s" for c in cells)
