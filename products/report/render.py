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

from basics import progress, region
from basics.dutch import MAANDEN, datum_nl, getal, leeg, opsomming
from basics.files import atomic_path
from basics.settings import is_meeting_date
from expectations.gate import gate_config
from ingest.config import source_labels
from ingest.landing import escaped
from products.report import afdruk, compensatie, duiding, kern
from products.report.charts import report_charts
from products.report.werkboek import write_workbook
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
        "ingroeipad_titel": opsomming(groepen),
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
        "SELECT jaar, sum(toewijzingen) AS toewijzingen, sum(samenwerkend) AS samenwerkend, "
        "sum(samenwerkend_max_3_kamers) AS samenwerkend_max_3_kamers, sum(tot_hoge_aftoppingsgrens) AS "
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
        and conn.execute(  # the agreement's gemeenten: one outside it counts in no key (README, adoption)
            "SELECT bool_or(v.voorlopig) FROM referentie.sociale_huurvoorraad v JOIN referentie.gemeenten g "
            "USING (gemeente_code) WHERE g.in_afspraak"
        ).fetchone()[0]
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
    kerncijfers(conn, d)
    d["kern"] = kern.pagina_een(conn, d)
    return d


def kerncijfers(conn: duckdb.DuckDBPyConnection, d: dict) -> None:
    """The headline figures from ``marts.kerncijfers`` (one definition each, issue 22): the region's urgent share
    against its cap in the last year (the legal basis, ``aandeel_wettelijk_urgent_pct``, and beside it what counts
    toward the agreement, ``aandeel_urgent_pct``: full precision to compare, ``_afgerond`` to show), the return
    rate since the agreement's start per herkomst and in total, and the verdicts page one shows."""
    d["kerncijfers"] = _frame(conn, "SELECT * FROM marts.kerncijfers ORDER BY niveau, code, jaar")
    frame = d["kerncijfers"][d["kerncijfers"]["jaar"] == d["jaar"]]
    regio = frame[frame["niveau"] == "regio"]
    rij = regio.iloc[0] if len(regio) else None

    def value(col):
        return None if rij is None or leeg(rij[col]) else float(rij[col])

    d["aandeel_urgent"] = value("aandeel_wettelijk_urgent_pct")
    d["aandeel_urgent_afgerond"] = value("aandeel_wettelijk_urgent_pct_afgerond")
    d["aandeel_urgent_telt_mee"] = value("aandeel_urgent_pct_afgerond")
    d["terugkeer_totaal_pct"] = value("terugkeer_cumulatief_pct_afgerond")
    per = frame[frame["niveau"] == "gemeente"].set_index("code")["terugkeer_cumulatief_pct_afgerond"]
    d["terugkeer"] = d["terugkeer"].assign(terugkeer_pct=d["terugkeer"]["herkomst"].map(per))


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


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), finalize=_finalize
    )
    env.filters["getal"] = getal
    env.filters["datum"] = datum_nl
    env.filters["css_tekst"] = afdruk.css_tekst
    return env


def render_report(
    conn: duckdb.DuckDBPyConnection,
    reports: Path,
    poort: pd.DataFrame,
    data_docs: Path | None,
    duiding_map: Path | None = None,
    pack: Path | None = None,
    pdf: bool = True,
) -> list[Path | None]:
    """Write the HTML report, its PDF (the meeting pack; ``pdf=False``: none, and no older one is left beside the
    new html) and the workbook for the marts' peildatum; remove a stale blocked page. Returns html, xlsx, pdf.

    ``duiding_map``: the region's notes per peildatum (``products.report.duiding``); ``pack``: the region pack,
    for an optional compensation rule (``products.report.compensatie``; default: the warehouse's region).
    """
    d = report_data(conn)
    context_van_de_regio(conn, d, duiding_map)
    d["compensatie_scenario"] = compensatie_scenario(conn, d, pack)
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
    out_pdf: Path | None = reports / f"{stem}.pdf"
    if pdf:
        afdruk.schrijf_pdf(html, out_pdf)
    else:
        out_pdf.unlink(missing_ok=True)
        out_pdf = None
    out_xlsx = reports / f"{stem}.xlsx"
    with atomic_path(out_xlsx) as tmp:
        write_workbook(conn, tmp, d)
    (reports / f"{stem}_geblokkeerd.html").unlink(missing_ok=True)
    return [out_html, out_xlsx, out_pdf]


def context_van_de_regio(conn: duckdb.DuckDBPyConnection, d: dict, folder: Path | None) -> None:
    """The region's notes for this peildatum in ``d["duiding"]``; what could not be placed is a warning in the
    run summary; a board report (published, with its history) keeps the notes in ``historie.duiding``."""
    gemeenten = dict(
        conn.execute(
            "SELECT gemeente_code, gemeente_naam FROM referentie.gemeenten WHERE in_afspraak"
        ).fetchall()
    )
    d["duiding"] = duiding.read(folder, d["peildatum"], gemeenten)
    duiding.warn(d["duiding"])
    if is_meeting_date(d["peildatum"]):
        duiding.keep(conn, d["peildatum"], d["duiding"], gemeenten)


def compensatie_scenario(conn: duckdb.DuckDBPyConnection, d: dict, pack: Path | None) -> dict | None:
    """The pack's compensation rule applied to the saldo (None: the region has no rule). A rule that cannot be
    used was refused when the run started (``compensatie.check``); met here (a run started elsewhere), it is a
    warning in the run summary and the report shows no scenario."""
    if pack is None:
        try:
            pack = region.regio_dir(d["regio"]["regio_code"])
        except region.UnknownRegion:
            return None
    try:
        return compensatie.for_report(conn, d, pack)
    except compensatie.BadRule as exc:
        if shown := progress.report():
            shown.line(f"  WARNING: {exc}: the report shows no compensation scenario")
            shown.log.problems.append(f"WARNING: {exc}: the report shows no compensation scenario")
        return None


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
