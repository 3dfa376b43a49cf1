"""The half-yearly report to the BO Wonen en Zorg: self-contained Dutch HTML and an xlsx per mart.

Figures come from the marts only (so SQL users and the report always agree); charts are
matplotlib SVG inlined in the page, so it opens from disk without a network. When the gate
blocks, `render_blocked` writes `..._geblokkeerd.html` listing each failed rule in Dutch.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import duckdb
import matplotlib
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from expectations.gate import MAANDEN, datum_nl, report_config
from fairshare.files import atomic_path
from fairshare.settings import is_meeting_date

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TEMPLATES = Path(__file__).parent / "templates"
MARTS = ["fair_share", "fair_share_gemeente", "ingroeipad", "compensatie_saldo", "instroom_uitstroom", "terugkeer",
         "urgentie_aanvragen", "urgentie_toekenningen", "urgentie_afwijzingen", "doorlooptijd_huisvesting",
         "toewijzingen_geschiktheid", "ouderenhuisvesting", "sociale_huur_plannen", "verdeelsleutels"]
KLEUREN = ["#1b5e7a", "#e0883a", "#6a9a4b", "#a04668", "#7d6bb0", "#8c8c8c"]


def report_stem(peildatum: dt.date) -> str:
    """`bo_wonen_zorg_<YYYY>-<05|12>`: a peildatum in January-June reports in May, else in December.

    Any other date than 1 April / 1 November is an ad-hoc report: `bo_wonen_zorg_adhoc_<YYYY-MM-DD>`.
    """
    if not is_meeting_date(peildatum):
        return f"bo_wonen_zorg_adhoc_{peildatum.isoformat()}"
    return f"bo_wonen_zorg_{peildatum.year}-{'05' if peildatum.month <= 6 else '12'}"


def getal(value, decimals: int = 0) -> str:
    """Dutch number formatting: 1.130 and 6,3; empty for missing values."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def _bars(labels, series: dict[str, list], title: str, ylabel: str = "") -> str:
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        ax.bar([x + i * width for x in range(len(labels))], values, width, label=name, color=KLEUREN[i % len(KLEUREN)])
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(labels))], labels, rotation=0, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.axhline(0, color="#444", linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def _heatmap(matrix: pd.DataFrame, title: str) -> str:
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(matrix) + 1.2))
    ax.imshow(matrix.to_numpy(dtype=float), cmap="Blues", aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=8)
    for (i, j), v in pd.DataFrame(matrix.to_numpy()).stack().items():
        if v:
            ax.text(j, i, int(v), ha="center", va="center", fontsize=7,
                    color="white" if v > matrix.to_numpy().max() / 2 else "black")
    ax.set_xlabel("gemeente van de woning", fontsize=8)
    ax.set_ylabel("herkomst", fontsize=8)
    ax.set_title(title, fontsize=10)
    return _svg(fig)


def _frame(conn, sql: str, params=None) -> pd.DataFrame:
    return conn.execute(sql, params or []).df()


def report_data(conn: duckdb.DuckDBPyConnection) -> dict:
    """Every figure of the report, read from the marts and audit tables."""
    cfg = report_config()
    peildatum, data_tot = conn.execute("SELECT peildatum, data_tot FROM intermediate.int_peildatum").fetchone()
    vanaf, trechter = cfg["jaren_vanaf"], cfg["trechter_vanaf"]
    laatste = data_tot.year
    namen = dict(conn.execute("SELECT gemeente_code, gemeente_naam FROM intermediate.int_gemeenten").fetchall())
    namen["ratu"] = "RATU"
    d: dict = {"peildatum": peildatum, "data_tot": data_tot, "jaar": laatste, "namen": namen,
               "maand": MAANDEN[4 if peildatum.month <= 6 else 11], "vanaf": vanaf}
    d["fair_share_gemeente"] = _frame(conn, "SELECT * FROM marts.fair_share_gemeente WHERE jaar >= ? "
                                            "ORDER BY jaar, gemeente_naam", [vanaf])
    d["fair_share"] = _frame(conn, "SELECT * FROM marts.fair_share WHERE jaar = ? ORDER BY gemeente_naam, "
                                   "urgentiecategorie", [laatste])
    d["ingroeipad"] = _frame(conn, "SELECT * FROM marts.ingroeipad ORDER BY jaar, groep")
    d["compensatie"] = _frame(conn, "SELECT * FROM marts.compensatie_saldo WHERE jaar = ? ORDER BY gemeente_naam",
                              [laatste])
    d["instroom"] = _frame(conn, "SELECT herkomst_naam, uitstroomgemeente_code, sum(aantal) AS aantal FROM "
                                 "marts.instroom_uitstroom WHERE jaar >= ? GROUP BY ALL", [vanaf])
    d["terugkeer"] = _frame(conn, "SELECT herkomst, sum(uitgestroomd) AS uitgestroomd, sum(teruggekeerd) AS "
                                  "teruggekeerd, sum(elders_met_contra_indicatie) AS contra FROM marts.terugkeer "
                                  "WHERE jaar >= ? GROUP BY ALL ORDER BY herkomst", [vanaf])
    d["aanvragen"] = _frame(conn, "SELECT * FROM marts.urgentie_aanvragen WHERE jaar = ? ORDER BY commissie", [laatste])
    d["afwijzingen"] = _frame(conn, "SELECT afwijzingsgrond, sum(afgewezen) AS afgewezen FROM marts.urgentie_afwijzingen "
                                    "WHERE jaar = ? GROUP BY ALL ORDER BY 2 DESC", [laatste])
    d["doorlooptijd"] = _frame(conn, "SELECT commissie, sum(toegekend) AS toegekend, sum(gehuisvest) AS gehuisvest, "
                                     "sum(binnen_6_maanden) AS binnen_6_maanden, sum(nog_wachtend) AS nog_wachtend, "
                                     "sum(verlopen) AS verlopen FROM marts.doorlooptijd_huisvesting WHERE jaar = ? "
                                     "GROUP BY ALL ORDER BY commissie", [laatste])
    d["trechter"] = _frame(conn, "SELECT jaar, sum(toewijzingen) AS toewijzingen, sum(swev) AS swev, "
                                 "sum(swev_max_3_kamers) AS swev_max_3_kamers, sum(tot_hoge_aftoppingsgrens) AS "
                                 "tot_hoge_aftoppingsgrens, sum(tot_lage_aftoppingsgrens) AS tot_lage_aftoppingsgrens, "
                                 "sum(tot_lage_gelabeld) AS tot_lage_gelabeld, sum(boven_lage_gepersonaliseerd) AS "
                                 "boven_lage_gepersonaliseerd, bool_or(drempel_voorlopig) AS voorlopig FROM "
                                 "marts.toewijzingen_geschiktheid WHERE jaar >= ? GROUP BY ALL ORDER BY jaar", [trechter])
    laatste_snap = conn.execute("SELECT max(peildatum) FROM marts.ouderenhuisvesting").fetchone()[0]
    d["snapshot"] = laatste_snap
    d["ouderen"] = _frame(conn, "SELECT * FROM marts.ouderenhuisvesting WHERE peildatum = ? ORDER BY gemeente_code, "
                                "woningtype", [laatste_snap])
    d["sociaal"] = _frame(conn, "SELECT * FROM marts.sociale_huur_plannen WHERE peildatum = ? ORDER BY gemeente_code",
                          [laatste_snap])
    d["doel_gesteld"] = conn.execute("SELECT count(*) FROM referentie.doelen_ouderenhuisvesting").fetchone()[0] > 0
    d["sleutels"] = _frame(conn, "SELECT * FROM marts.verdeelsleutels ORDER BY gemeente_code, verdeelsleutel")
    d["bestanden"] = _frame(conn, "SELECT bron, count(*) AS bestanden, count(*) FILTER (status = 'geladen') AS geladen, "
                                  "count(*) FILTER (status = 'afgewezen') AS afgewezen, sum(rijen_geladen) AS rijen, "
                                  "sum(rijen_quarantaine) AS quarantaine FROM audit.bestanden_actueel GROUP BY bron "
                                  "ORDER BY bron")
    d["afgewezen_bestanden"] = [r for (r,) in conn.execute(
        "SELECT reden FROM audit.bestanden_actueel WHERE status = 'afgewezen' ORDER BY pad").fetchall()]
    return d


def _charts(d: dict) -> dict[str, str]:
    fsg = d["fair_share_gemeente"]
    jaar = fsg[fsg["jaar"] == d["jaar"]]
    charts = {"fair_share": _bars(list(jaar["gemeente_naam"]), {
        "gehuisvest": list(jaar["gehuisvest"]), "opgave naar rato": list(jaar["opgave_naar_rato"])},
        f"Wettelijk urgent gehuisvest tegenover de opgave naar rato, {d['jaar']}")}
    ing = d["ingroeipad"]
    labels = [str(j) for j in sorted(ing["jaar"].unique())]
    series = {}
    for groep in ("Amersfoort", "Overige gemeenten"):
        part = ing[ing["groep"] == groep].sort_values("jaar")
        series[f"{groep}: gehuisvest"] = list(part["gehuisvest"])
        series[f"{groep}: afspraak naar rato"] = list(part["afspraak_naar_rato"])
    charts["ingroeipad"] = _bars(labels, series, "Ingroeipad: Amersfoort en de overige gemeenten")
    comp = d["compensatie"]
    charts["compensatie"] = _bars(list(comp["gemeente_naam"]), {"saldo": list(comp["saldo"])},
                                  f"Compensatiesaldo sinds 2025 (t/m {d['jaar']}); positief = meer dan het eigen deel")
    inst = d["instroom"].copy()
    inst["woning"] = inst["uitstroomgemeente_code"].map(d["namen"])
    matrix = inst.pivot_table(index="herkomst_naam", columns="woning", values="aantal", aggfunc="sum", fill_value=0)
    if not matrix.empty:
        charts["instroom"] = _heatmap(matrix, f"Instroom = uitstroom: herkomst en woning, {d['vanaf']}–{d['jaar']}")
    tr = d["trechter"]
    steps = ["toewijzingen", "swev", "swev_max_3_kamers", "tot_hoge_aftoppingsgrens", "tot_lage_aftoppingsgrens",
             "tot_lage_gelabeld"]
    charts["trechter"] = _bars(["alle", "SWEV", "≤ 3 kamers", "≤ hoge grens", "≤ lage grens", "gelabeld"],
                               {str(j): [tr.loc[tr["jaar"] == j, s].iloc[0] or 0 for s in steps] for j in tr["jaar"]},
                               "Geschiktheid van de toewijzingen per jaar")
    sl = d["sleutels"]
    piv = sl.pivot_table(index="gemeente_code", columns="verdeelsleutel", values="opgave_bij_227")
    charts["sleutels"] = _bars([d["namen"].get(g, g) for g in piv.index], {k: list(piv[k]) for k in piv.columns},
                               "Opgave bij 227 per jaar volgens verschillende verdeelsleutels")
    return charts


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["getal"] = getal
    env.filters["datum"] = datum_nl
    return env


def render_report(conn: duckdb.DuckDBPyConnection, reports: Path, poort: pd.DataFrame, data_docs: Path | None) -> list[Path]:
    """Write the HTML report and the workbook for the marts' peildatum; remove a stale blocked page."""
    d = report_data(conn)
    stem = report_stem(d["peildatum"])
    reports.mkdir(parents=True, exist_ok=True)
    html = _env().get_template("rapport.html.j2").render(
        d=d, charts=_charts(d), poort=poort, waarschuwingen=poort[(poort["ernst"] == "waarschuwing") & ~poort["geslaagd"]],
        data_docs=data_docs, gemaakt=dt.date.today())
    out_html = reports / f"{stem}.html"
    with atomic_path(out_html) as tmp:
        tmp.write_text(html, encoding="utf-8")
    out_xlsx = reports / f"{stem}.xlsx"
    with atomic_path(out_xlsx) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for mart in MARTS:
            conn.execute(f"SELECT * FROM marts.{mart}").df().to_excel(writer, sheet_name=mart, index=False)
    (reports / f"{stem}_geblokkeerd.html").unlink(missing_ok=True)
    return [out_html, out_xlsx]


def render_blocked(reports: Path, peildatum: dt.date, fouten: list[tuple[str, str, list[str]]],
                   data_docs: Path | None) -> Path:
    """The blocked page: each failed rule in plain Dutch (suite, explanation, examples); no report."""
    stem = report_stem(peildatum)
    reports.mkdir(parents=True, exist_ok=True)
    for suffix in (".html", ".xlsx"):  # never leave a report next to a block for the same peildatum
        (reports / f"{stem}{suffix}").unlink(missing_ok=True)
    html = _env().get_template("geblokkeerd.html.j2").render(
        peildatum=peildatum, maand=MAANDEN[4 if peildatum.month <= 6 else 11], fouten=fouten, data_docs=data_docs)
    path = reports / f"{stem}_geblokkeerd.html"
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path
