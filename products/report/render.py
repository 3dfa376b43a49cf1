"""The half-yearly report to the BO Wonen en Zorg: self-contained Dutch HTML and an xlsx per mart.

Figures come from the marts only (so SQL users and the report always agree); charts are
matplotlib SVG inlined in the page (`products.report.charts`), so it opens from disk without a network. When the gate
blocks, `render_blocked` writes `..._geblokkeerd.html` listing each failed rule in Dutch.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import duckdb
import pandas as pd
import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape

from basics import manifest
from basics.dutch import MAANDEN, datum_nl, getal, leeg
from basics.files import XLSX_INERT, atomic_path
from basics.settings import is_meeting_date
from expectations.gate import gate_config
from ingest.config import source_labels
from ingest.landing import escaped
from products.report import afdruk, kern
from products.report.charts import report_charts
from warehouse import audit, history

REPORT_CONFIG = Path(__file__).with_name("config.yaml")


@functools.cache
def report_config() -> dict:
    """What the report shows (products/report/config.yaml)."""
    return yaml.safe_load(REPORT_CONFIG.read_text(encoding="utf-8"))


TEMPLATES = Path(__file__).parent / "templates"


def report_stem(peildatum: dt.date) -> str:
    """`bo_wonen_zorg_<YYYY>-<05|12>`: a peildatum in January-June reports in May, else in December.

    Any other date than 1 April / 1 November is an ad-hoc report: `bo_wonen_zorg_adhoc_<YYYY-MM-DD>`.
    """
    if not is_meeting_date(peildatum):
        return f"bo_wonen_zorg_adhoc_{peildatum.isoformat()}"
    return f"bo_wonen_zorg_{peildatum.year}-{'05' if peildatum.month <= 6 else '12'}"


def _finalize(value):
    """Every value a template prints: missing values as a dash, never <NA> or nan."""
    return "–" if leeg(value) else value


def _frame(conn, sql: str, params=None) -> pd.DataFrame:
    return conn.execute(sql, params or []).df()


def report_data(conn: duckdb.DuckDBPyConnection) -> dict:
    """Every figure of the report, read from the marts and audit tables."""
    cfg = report_config()
    peildatum, data_tot = audit.peildatum(conn)
    vanaf, trechter = cfg["jaren_vanaf"], gate_config()["trechter_vanaf"]
    laatste = data_tot.year
    namen = dict(
        conn.execute(
            "SELECT gemeente_code, gemeente_naam FROM referentie.gemeenten WHERE in_afspraak ORDER BY gemeente_naam"
        ).fetchall()
    )
    namen.update(cfg["herkomst_extra"])  # Buiten de regio, Onbekend: after the gemeenten, in this order
    # then the committees that are no gemeente (regional, advisory), by their label (seed commissies)
    namen.update(
        conn.execute(
            "SELECT commissie_code, label FROM referentie.commissies WHERE commissie_code NOT IN "
            "(SELECT gemeente_code FROM referentie.gemeenten) ORDER BY label"
        ).fetchall()
    )
    regio = conn.execute("SELECT * FROM referentie.regio").df().iloc[0].to_dict()
    groepen = [
        g
        for (g,) in conn.execute(
            "SELECT DISTINCT groep FROM referentie.ingroeipad_groepen ORDER BY 1"
        ).fetchall()
    ]
    [totaal] = conn.execute(
        "SELECT sum(afspraak) FROM referentie.ingroeipad_afspraak WHERE jaar_van = "
        "(SELECT min(jaar_van) FROM referentie.ingroeipad_afspraak)"
    ).fetchone()
    d: dict = {
        "regio": regio,
        "groepen": groepen,
        "ingroeipad_titel": _opsomming(groepen),
        "regionaal_totaal": int(totaal or 0),
        "peildatum": peildatum,
        "data_tot": data_tot,
        "jaar": laatste,
        "namen": namen,
        "volgorde": {code: i for i, code in enumerate(namen)},
        "labels": {**cfg["labels"], "bron": source_labels(regio["samenwerkend_label"])},
        "maand": MAANDEN[4 if peildatum.month <= 6 else 11],
        "vanaf": vanaf,
    }
    d["fair_share_gemeente"] = _frame(
        conn, "SELECT * FROM marts.fair_share_gemeente WHERE jaar >= ? ORDER BY jaar, gemeente_naam", [vanaf]
    )
    d["fair_share"] = _frame(
        conn,
        "SELECT * FROM marts.fair_share WHERE jaar = ? ORDER BY gemeente_naam, urgentiecategorie",
        [laatste],
    )
    d["ingroeipad"] = _frame(conn, "SELECT * FROM marts.ingroeipad ORDER BY jaar, groep")
    d["compensatie"] = _frame(
        conn, "SELECT * FROM marts.compensatie_saldo WHERE jaar = ? ORDER BY gemeente_naam", [laatste]
    )
    d["instroom"] = _frame(
        conn,
        "SELECT herkomst_naam, uitstroomgemeente_code, sum(aantal) AS aantal FROM "
        "marts.instroom_uitstroom WHERE jaar >= ? GROUP BY ALL",
        [vanaf],
    )
    d["terugkeer"] = _frame(
        conn,
        "SELECT herkomst, sum(uitgestroomd) AS uitgestroomd, sum(teruggekeerd) AS "
        "teruggekeerd, sum(elders_met_contra_indicatie) AS contra FROM marts.terugkeer "
        "WHERE jaar >= ? GROUP BY ALL ORDER BY herkomst",
        [vanaf],
    )
    d["aanvragen"] = _frame(
        conn, "SELECT * FROM marts.urgentie_aanvragen WHERE jaar = ? ORDER BY commissie", [laatste]
    )
    d["afwijzingen"] = _frame(
        conn,
        "SELECT afwijzingsgrond, sum(afgewezen) AS afgewezen FROM marts.urgentie_afwijzingen "
        "WHERE jaar = ? GROUP BY ALL ORDER BY 2 DESC",
        [laatste],
    )
    d["doorlooptijd"] = _frame(
        conn,
        "SELECT commissie, sum(toegekend) AS toegekend, sum(gehuisvest) AS gehuisvest, "
        "sum(binnen_6_maanden) AS binnen_6_maanden, sum(nog_wachtend) AS nog_wachtend, "
        "sum(verlopen) AS verlopen FROM marts.doorlooptijd_huisvesting WHERE jaar = ? "
        "GROUP BY ALL ORDER BY commissie",
        [laatste],
    )
    d["trechter"] = _frame(
        conn,
        "SELECT jaar, sum(toewijzingen) AS toewijzingen, sum(swev) AS swev, "
        "sum(swev_max_3_kamers) AS swev_max_3_kamers, sum(tot_hoge_aftoppingsgrens) AS "
        "tot_hoge_aftoppingsgrens, sum(tot_lage_aftoppingsgrens) AS tot_lage_aftoppingsgrens, "
        "sum(tot_lage_gelabeld) AS tot_lage_gelabeld, sum(boven_lage_gepersonaliseerd) AS "
        "boven_lage_gepersonaliseerd, bool_or(drempel_voorlopig) AS voorlopig FROM "
        "marts.toewijzingen_geschiktheid WHERE jaar >= ? GROUP BY ALL ORDER BY jaar",
        [trechter],
    )
    laatste_snap = conn.execute("SELECT max(peildatum) FROM marts.ouderenhuisvesting").fetchone()[0]
    d["snapshot"] = laatste_snap
    d["ouderen"] = _frame(
        conn,
        "SELECT * FROM marts.ouderenhuisvesting WHERE peildatum = ? ORDER BY gemeente_code, woningtype",
        [laatste_snap],
    )
    d["sociaal"] = _frame(
        conn,
        "SELECT * FROM marts.sociale_huur_plannen WHERE peildatum = ? ORDER BY gemeente_code",
        [laatste_snap],
    )
    d["doel_gesteld"] = (
        conn.execute("SELECT count(*) FROM referentie.doelen_ouderenhuisvesting").fetchone()[0] > 0
    )
    d["sleutels"] = _frame(conn, "SELECT * FROM marts.verdeelsleutels ORDER BY gemeente_code, verdeelsleutel")
    voorlopig = (
        "sociale_huurvoorraad" in set(d["sleutels"]["verdeelsleutel"])
        and conn.execute("SELECT bool_or(voorlopig) FROM referentie.sociale_huurvoorraad").fetchone()[0]
    )
    d["sleutels_voorlopig"] = "de cijfers van de sociale huurvoorraad zijn voorlopig" if voorlopig else ""
    d["bestanden"] = audit.files_per_source(conn)
    d["afgewezen_bestanden"] = [
        f"{escaped(f.pad)}: {nl}" if (nl := f.reden_nl()) else escaped(f.pad)
        for f in audit.rejected_files(conn)
    ]
    for key, col, then in [
        ("fair_share_gemeente", "gemeente_code", ["jaar"]),
        ("fair_share", "gemeente_code", []),
        ("compensatie", "gemeente_code", []),
        ("terugkeer", "herkomst", []),
        ("aanvragen", "commissie", []),
        ("doorlooptijd", "commissie", []),
        ("ouderen", "gemeente_code", ["woningtype"]),
        ("sociaal", "gemeente_code", []),
        ("sleutels", "gemeente_code", ["verdeelsleutel"]),
    ]:
        d[key] = sorteer(d[key], col, d["volgorde"], then)
    changes = history.changes(conn, peildatum)
    d["correcties"] = sorteer(
        changes[changes["soort"] == "correctie"], "gemeente_code", d["volgorde"], ["jaar", "mart", "kenmerk"]
    )
    d["vorige_peildatum"] = (
        changes["vorige_peildatum"].iloc[0].date()
        if len(changes)
        else conn.execute(
            "SELECT max(rapport_peildatum) FROM historie.fair_share_gemeente WHERE rapport_peildatum < ?",
            [peildatum],
        ).fetchone()[0]
        if conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'historie'").fetchone()[0]
        else None
    )
    # The region's cap on the urgent share of allocations (seed regio) against the actual share, last year: the
    # legal basis (marts.fair_share_gemeente.aandeel_wettelijk_urgent_pct, as the province compares regions),
    # and beside it the share of what counts toward the agreement (aandeel_urgent_pct), each named as such.
    urgent, telt_mee, alle = conn.execute(
        "SELECT sum(wettelijk_urgent_gehuisvest), sum(gehuisvest), sum(toewijzingen) "
        "FROM marts.fair_share_gemeente WHERE jaar = ?",
        [laatste],
    ).fetchone()
    d["aandeel_urgent"] = 100 * urgent / alle if urgent is not None and alle else None
    d["aandeel_urgent_telt_mee"] = 100 * telt_mee / alle if telt_mee is not None and alle else None
    d["kern"] = kern.pagina_een(conn, d)
    return d


def sorteer(
    frame: pd.DataFrame, col: str, volgorde: dict[str, int], then: list[str] | None = None
) -> pd.DataFrame:
    """Rows in the report's one gemeente order: alphabetical, then Buiten de regio, Onbekend, other committees."""
    if frame.empty:
        return frame
    rank = frame[col].map(lambda c: volgorde.get(c, len(volgorde)))
    return (
        frame.assign(_rang=rank)
        .sort_values(["_rang", *(then or [])], kind="stable")
        .drop(columns="_rang")
        .reset_index(drop=True)
    )


def _opsomming(items: list[str]) -> str:
    return "" if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), finalize=_finalize
    )
    env.filters["getal"] = getal
    env.filters["datum"] = datum_nl
    env.filters["css_tekst"] = afdruk.css_tekst
    return env


def render_report(
    conn: duckdb.DuckDBPyConnection, reports: Path, poort: pd.DataFrame, data_docs: Path | None
) -> list[Path]:
    """Write the HTML report, its PDF (the meeting pack) and the workbook for the marts' peildatum; remove a
    stale blocked page."""
    d = report_data(conn)
    stem = report_stem(d["peildatum"])
    reports.mkdir(parents=True, exist_ok=True)
    html = (
        environment()
        .get_template("rapport.html.j2")
        .render(
            d=d,
            charts=report_charts(d),
            poort=poort,
            waarschuwingen=poort[(poort["ernst"] == "waarschuwing") & ~poort["geslaagd"]],
            data_docs=afdruk.relatief(data_docs, reports),
            gemaakt=dt.date.today(),
            fictief=afdruk.fictief(d["regio"]),
            fictief_tekst=afdruk.FICTIEF,
            contact="" if leeg(d["regio"].get("contact")) else d["regio"]["contact"],
        )
    )
    html = afdruk.afwerken(html)
    out_html = reports / f"{stem}.html"
    with atomic_path(out_html) as tmp:
        tmp.write_text(html, encoding="utf-8")
    out_pdf = afdruk.schrijf_pdf(html, reports / f"{stem}.pdf")
    out_xlsx = reports / f"{stem}.xlsx"
    with atomic_path(out_xlsx) as tmp:
        write_workbook(conn, tmp, d)
    (reports / f"{stem}_geblokkeerd.html").unlink(missing_ok=True)
    return [out_html, out_xlsx, out_pdf]


# Code columns that get their name beside them in the workbook: code column -> name column.
NAAM_BIJ_CODE = {
    "gemeente_code": "gemeente_naam",
    "herkomst": "herkomst_naam",
    "commissie": "commissie_naam",
    "uitstroomgemeente_code": "uitstroomgemeente_naam",
}


def _mart_frame(conn: duckdb.DuckDBPyConnection, mart: str, d: dict, grain: list[str]) -> pd.DataFrame:
    """A mart with names beside its codes, sorted by its grain in the report's gemeente order."""
    frame = conn.execute(f"SELECT * FROM marts.{mart}").df()
    for code, naam in NAAM_BIJ_CODE.items():
        if code in frame.columns and naam not in frame.columns:
            frame.insert(
                frame.columns.get_loc(code) + 1, naam, frame[code].map(d["namen"]).fillna(frame[code])
            )
    keys = []
    for col in grain:
        if col in NAAM_BIJ_CODE:
            frame[f"_{col}"] = frame[col].map(lambda c: d["volgorde"].get(c, len(d["volgorde"])))
            keys.append(f"_{col}")
        else:
            keys.append(col)
    frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    return frame.drop(columns=[k for k in keys if k.startswith("_")])


def _soort(values: pd.Series, col: str) -> str:
    """The cell format of a column: years without a thousands separator, counts, one decimal, dates, text."""
    kind = values.dtype.kind
    first = values.dropna().iloc[0] if values.notna().any() else None
    if kind == "M" or isinstance(first, dt.date):
        return "date"
    if kind == "b":
        return "bool"
    if kind in "iuf" and (col == "jaar" or col.endswith("_jaar")):
        return "jaar"
    if kind in "iu" or (
        kind == "f"
        and values.dropna().apply(float.is_integer).all()
        and not col.endswith("pct")
        and not any(w in col for w in ("rato", "verschil", "saldo", "opgave_bij"))
    ):
        return "int"
    return "float" if kind == "f" else "text"


def write_workbook(conn: duckdb.DuckDBPyConnection, out: Path, d: dict) -> None:
    """The workbook: a cover sheet, then one sheet per mart with frozen header, filter, widths and Dutch formats."""
    import xlsxwriter

    comments = dict(
        ((t, c), text)
        for t, c, text in conn.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts'"
        ).fetchall()
    )
    tabellen = dict(
        conn.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
    )
    # Descriptions, names and values are written as text (XLSX_INERT, write_string): never a formula or a link.
    with xlsxwriter.Workbook(str(out), {"nan_inf_to_errors": False, **XLSX_INERT}) as wb:
        kop = wb.add_format(
            {"bold": True, "bg_color": "#DBE7EC", "text_wrap": True, "valign": "top", "border": 1}
        )
        fmt = {
            "int": wb.add_format({"num_format": "#,##0"}),
            "float": wb.add_format({"num_format": "#,##0.0"}),
            "date": wb.add_format({"num_format": "dd-mm-yyyy"}),
            "text": wb.add_format({"num_format": "@"}),
            "bool": wb.add_format({"num_format": "General"}),
            "jaar": wb.add_format({"num_format": "0"}),
        }
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        # The marts and their grain as dbt declares them (meta in _marts__models.yml, read from the manifest).
        marts = manifest.marts()
        frames = {m.name: _mart_frame(conn, m.name, d, list(m.grain)) for m in marts}
        cover = wb.add_worksheet("Toelichting")
        cover.write_string(
            0,
            0,
            f"Monitor huisvesting aandachtsgroepen – BO Wonen en Zorg {d['maand']} {d['peildatum'].year}",
            wb.add_format({"bold": True, "font_size": 14}),
        )
        cover.write_string(1, 0, "Peildatum")
        cover.write_datetime(1, 1, dt.datetime.combine(d["peildatum"], dt.time()), fmt["date"])
        cover.write_string(2, 0, "Cijfers tot en met")
        cover.write_datetime(2, 1, dt.datetime.combine(d["data_tot"], dt.time()), fmt["date"])
        cover.write_string(
            3,
            0,
            "Elk tabblad is één tabel (mart) uit het datawarehouse, met dezelfde cijfers als het rapport.",
        )
        rij = 5
        for j, kolom in enumerate(["Tabblad", "Kolom", "Betekenis"]):
            cover.write_string(rij, j, kolom, kop)
        for mart in frames:
            rij += 1
            cover.write_string(rij, 0, mart, wb.add_format({"bold": True}))
            cover.write_string(rij, 2, tabellen.get(mart) or "", wrap)
            for col in frames[mart].columns:
                rij += 1
                code = next((c for c, n in NAAM_BIJ_CODE.items() if n == col), None)
                text = comments.get((mart, col)) or (f"Naam bij {code}." if code else "")
                cover.write_string(rij, 0, mart)
                cover.write_string(rij, 1, col)
                cover.write_string(rij, 2, text, wrap)
        cover.set_column(0, 0, 28)
        cover.set_column(1, 1, 30)
        cover.set_column(2, 2, 100)
        cover.freeze_panes(6, 0)
        cover.autofilter(5, 0, rij, 2)
        for mart, frame in frames.items():
            ws = wb.add_worksheet(mart)
            for j, col in enumerate(frame.columns):
                ws.write_string(0, j, col, kop)
            for j, col in enumerate(frame.columns):
                sort = _soort(frame[col], col)
                width = (
                    max(len(col), *(len(str(v)) for v in frame[col].head(200))) if len(frame) else len(col)
                )
                ws.set_column(j, j, min(max(width + 2, 8), 60), fmt[sort])
                for i, v in enumerate(frame[col], start=1):
                    if leeg(v):
                        continue
                    if sort == "date":
                        ws.write_datetime(i, j, pd.Timestamp(v).to_pydatetime(), fmt["date"])
                    elif sort in ("int", "float", "jaar"):
                        ws.write_number(i, j, float(v), fmt[sort])
                    elif sort == "bool":
                        ws.write_boolean(i, j, bool(v))
                    else:
                        ws.write_string(i, j, str(v))
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)


def render_blocked(
    reports: Path, peildatum: dt.date, fouten: list[tuple[str, str, list[str]]], data_docs: Path | None
) -> Path:
    """The blocked page: each failed rule in plain Dutch (suite, explanation, examples); no report."""
    stem = report_stem(peildatum)
    reports.mkdir(parents=True, exist_ok=True)
    for suffix in (".html", ".xlsx", ".pdf"):  # never leave a report next to a block for the same peildatum
        (reports / f"{stem}{suffix}").unlink(missing_ok=True)
    html = (
        environment()
        .get_template("geblokkeerd.html.j2")
        .render(
            peildatum=peildatum,
            maand=MAANDEN[4 if peildatum.month <= 6 else 11],
            fouten=fouten,
            data_docs=afdruk.relatief(data_docs, reports),
        )
    )
    path = reports / f"{stem}_geblokkeerd.html"
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path
