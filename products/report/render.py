"""The half-yearly report to the BO Wonen en Zorg: self-contained Dutch HTML and an xlsx per mart.

Figures come from the marts only (so SQL users and the report always agree); charts are
matplotlib SVG inlined in the page, so it opens from disk without a network. When the gate
blocks, `render_blocked` writes `..._geblokkeerd.html` listing each failed rule in Dutch.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from pathlib import Path

import duckdb
import pandas as pd
import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape

from basics import progress, region
from basics.dutch import MAANDEN, datum_nl, getal, leeg
from basics.files import atomic_path
from basics.settings import is_meeting_date
from expectations.gate import gate_config
from ingest.config import source_labels
from ingest.landing import escaped
from products.report import compensatie, duiding
from products.report.werkboek import write_workbook
from warehouse import audit, history

REPORT_CONFIG = Path(__file__).with_name("config.yaml")


@functools.cache
def report_config() -> dict:
    """What the report shows (products/report/config.yaml)."""
    return yaml.safe_load(REPORT_CONFIG.read_text(encoding="utf-8"))


def _plt():
    """pyplot, imported when the first chart is drawn: a run with nothing new draws none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


TEMPLATES = Path(__file__).parent / "templates"
KLEUREN = ["#1b5e7a", "#e0883a", "#6a9a4b", "#a04668", "#7d6bb0", "#8c8c8c"]


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


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    _plt().close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _bars(
    labels,
    series: dict[str, list],
    title: str,
    ylabel: str = "",
    referentie: tuple[float, str] | None = None,
    waarden: bool = False,
) -> str:
    fig, ax = _plt().subplots(figsize=(8, 3.4))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        values = [0 if leeg(v) else v for v in values]
        bars = ax.bar(
            [x + i * width for x in range(len(labels))],
            values,
            width,
            label=name,
            color=KLEUREN[i % len(KLEUREN)],
        )
        if waarden:
            ax.bar_label(bars, labels=[f"{getal(v)}%" for v in values], fontsize=7, padding=2)
    if referentie:
        ax.axhline(referentie[0], color="#b3261e", linewidth=1, linestyle="--", label=referentie[1])
    ax.set_xticks(
        [x + width * (len(series) - 1) / 2 for x in range(len(labels))], labels, rotation=0, fontsize=8
    )
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.axhline(0, color="#444", linewidth=0.6)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def _heatmap(matrix: pd.DataFrame, title: str) -> str:
    fig, ax = _plt().subplots(figsize=(8, 0.45 * len(matrix) + 1.2))
    ax.imshow(matrix.to_numpy(dtype=float), cmap="Blues", aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(matrix.shape[0]), matrix.index, fontsize=8)
    for (i, j), v in pd.DataFrame(matrix.to_numpy()).stack().items():
        if v:
            ax.text(
                j,
                i,
                int(v),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > matrix.to_numpy().max() / 2 else "black",
            )
    ax.set_xlabel("gemeente van de woning", fontsize=8)
    ax.xaxis.set_label_position("bottom")
    ax.set_ylabel("herkomst", fontsize=8)
    ax.set_title(title, fontsize=10)
    return _svg(fig)


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
    d["sleutels_voorlopig"] = (
        "de sociale huurvoorraad bevat voorlopige cijfers (seed sociale_huurvoorraad)" if voorlopig else ""
    )
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
    # The region's cap on the urgent share of allocations (seed regio) against the actual share, last year.
    [urgent] = conn.execute(
        "SELECT sum(gehuisvest + gehuisvest_buiten_afspraak) FROM marts.fair_share WHERE jaar = ?", [laatste]
    ).fetchone()
    [alle] = conn.execute(
        "SELECT sum(toewijzingen) FROM marts.fair_share_gemeente WHERE jaar = ?", [laatste]
    ).fetchone()
    d["aandeel_urgent"] = 100 * urgent / alle if urgent is not None and alle else None
    d["samenvatting"] = samenvatting(d)
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


def samenvatting(d: dict) -> list[str]:
    """Three to six sentences from the marts: shares, ingroeipad, return rate, time to housing, corrections."""
    zinnen = []
    fsg = d["fair_share_gemeente"]
    jaar = fsg[fsg["jaar"] == d["jaar"]]
    periode = f"in {d['jaar']} (tot en met {datum_nl(d['data_tot'])})"
    zinnen.append(
        f"De gemeenten van het afsprakenkader huisvestten {periode} samen {getal(jaar['gehuisvest'].sum())} "
        f"wettelijk urgente woningzoekenden, tegenover een opgave naar rato van "
        f"{getal(jaar['opgave_naar_rato'].sum(), 1)}."
    )
    boven = [r.gemeente_naam for r in jaar.itertuples() if not leeg(r.verschil) and r.verschil >= 0]
    onder = [r.gemeente_naam for r in jaar.itertuples() if not leeg(r.verschil) and r.verschil < 0]

    def opsomming(items: list[str]) -> str:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]

    if boven and onder:
        zinnen.append(f"Op of boven hun deel: {opsomming(boven)}; onder hun deel: {opsomming(onder)}.")
    elif boven or onder:
        zinnen.append(
            f"{'Alle gemeenten zitten op of boven' if boven else 'Alle gemeenten zitten onder'} hun deel."
        )
    ing = d["ingroeipad"]
    ing = ing[ing["jaar"] == d["jaar"]]
    if len(ing):
        delen = [
            f"{r.groep} {getal(r.gehuisvest)} tegen een afspraak naar rato van {getal(r.afspraak_naar_rato, 1)}"
            for r in ing.itertuples()
        ]
        zinnen.append(f"Ingroeipad {d['jaar']}: {opsomming(delen)}.")
    tk = d["terugkeer"]
    if tk["uitgestroomd"].sum():
        pct = 100 * tk["teruggekeerd"].sum() / tk["uitgestroomd"].sum()
        zinnen.append(
            f"Van de {getal(tk['uitgestroomd'].sum())} mensen die sinds {d['vanaf']} uit een instelling "
            f"uitstroomden, vond {getal(pct, 1)}% een woning in hun gemeente van herkomst."
        )
    dl = d["doorlooptijd"]
    if dl["gehuisvest"].sum():
        zinnen.append(
            f"Van de {getal(dl['toegekend'].sum())} urgenties die in {d['jaar']} zijn toegekend, zijn er "
            f"{getal(dl['gehuisvest'].sum())} gehuisvest, {getal(dl['binnen_6_maanden'].sum())} daarvan "
            f"binnen zes maanden."
        )
    if len(d["correcties"]):
        n = len(d["correcties"])
        zinnen.append(
            f"Sinds het vorige rapport (peildatum {datum_nl(d['vorige_peildatum'])}) "
            f"{'is 1 cijfer' if n == 1 else f'zijn {getal(n)} cijfers'} over eerdere jaren gecorrigeerd "
            "door latere leveringen (paragraaf 9)."
        )
    return zinnen[:6]


def _charts(d: dict) -> dict[str, str]:
    fsg = d["fair_share_gemeente"]
    jaar = fsg[fsg["jaar"] == d["jaar"]]
    # As a percentage of each gemeente's own share, so the small gemeenten compare with the large ones.
    pct = [
        None if leeg(o) or not o else 100 * g / o
        for g, o in zip(jaar["gehuisvest"], jaar["opgave_naar_rato"], strict=True)
    ]
    charts = {
        "fair_share": _bars(
            list(jaar["gemeente_naam"]),
            {"gehuisvest als % van de opgave naar rato": pct},
            f"Wettelijk urgent gehuisvest als percentage van de opgave naar rato, {d['jaar']}",
            ylabel="% van de opgave naar rato",
            referentie=(100, "100% = precies het eigen deel"),
            waarden=True,
        )
    }
    ing = d["ingroeipad"]
    labels = [str(j) for j in sorted(ing["jaar"].unique())]
    series = {}
    for groep in d["groepen"]:
        part = ing[ing["groep"] == groep].sort_values("jaar")
        series[f"{groep}: gehuisvest"] = list(part["gehuisvest"])
        series[f"{groep}: afspraak naar rato"] = list(part["afspraak_naar_rato"])
    charts["ingroeipad"] = _bars(labels, series, f"Ingroeipad: {d['ingroeipad_titel']}")
    comp = d["compensatie"]
    charts["compensatie"] = _bars(
        list(comp["gemeente_naam"]),
        {"saldo": list(comp["saldo"])},
        f"Compensatiesaldo sinds 2025 (t/m {d['jaar']}); positief = meer dan het eigen deel",
    )
    inst = d["instroom"].copy()
    inst["woning"] = inst["uitstroomgemeente_code"].map(d["namen"])
    matrix = inst.pivot_table(
        index="herkomst_naam", columns="woning", values="aantal", aggfunc="sum", fill_value=0
    )
    order = list(d["namen"].values())
    matrix = matrix.reindex(
        index=[n for n in order if n in matrix.index], columns=[n for n in order if n in matrix.columns]
    )
    if not matrix.empty:
        charts["instroom"] = _heatmap(
            matrix, f"Herkomst en woning, alle wettelijke categorieën, {d['vanaf']}–{d['jaar']}"
        )
    tr = d["trechter"]
    steps = [
        "toewijzingen",
        "swev",
        "swev_max_3_kamers",
        "tot_hoge_aftoppingsgrens",
        "tot_lage_aftoppingsgrens",
        "tot_lage_gelabeld",
    ]
    charts["trechter"] = _bars(
        ["alle", d["regio"]["samenwerkend_label"], "≤ 3 kamers", "≤ hoge grens", "≤ lage grens", "gelabeld"],
        {str(j): [tr.loc[tr["jaar"] == j, s].iloc[0] or 0 for s in steps] for j in tr["jaar"]},
        "Geschiktheid van de toewijzingen per jaar",
    )
    sl = d["sleutels"]
    piv = sl.pivot_table(
        index="gemeente_code", columns="verdeelsleutel", values="opgave_bij_regionaal_totaal"
    )
    piv = piv.reindex([g for g in d["namen"] if g in piv.index])
    charts["sleutels"] = _bars(
        [d["namen"].get(g, g) for g in piv.index],
        {d["labels"]["verdeelsleutel"].get(k, k): list(piv[k]) for k in piv.columns},
        f"Opgave bij {d['regionaal_totaal']} per jaar volgens verschillende verdeelsleutels",
    )
    return charts


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), finalize=_finalize
    )
    env.filters["getal"] = getal
    env.filters["datum"] = datum_nl
    return env


def render_report(
    conn: duckdb.DuckDBPyConnection,
    reports: Path,
    poort: pd.DataFrame,
    data_docs: Path | None,
    duiding_map: Path | None = None,
    pack: Path | None = None,
) -> list[Path]:
    """Write the HTML report and the workbook for the marts' peildatum; remove a stale blocked page.

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
            charts=_charts(d),
            poort=poort,
            waarschuwingen=poort[(poort["ernst"] == "waarschuwing") & ~poort["geslaagd"]],
            data_docs=data_docs,
            gemaakt=dt.date.today(),
        )
    )
    out_html = reports / f"{stem}.html"
    with atomic_path(out_html) as tmp:
        tmp.write_text(html, encoding="utf-8")
    out_xlsx = reports / f"{stem}.xlsx"
    with atomic_path(out_xlsx) as tmp:
        write_workbook(conn, tmp, d)
    (reports / f"{stem}_geblokkeerd.html").unlink(missing_ok=True)
    return [out_html, out_xlsx]


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
    for suffix in (".html", ".xlsx"):  # never leave a report next to a block for the same peildatum
        (reports / f"{stem}{suffix}").unlink(missing_ok=True)
    html = (
        environment()
        .get_template("geblokkeerd.html.j2")
        .render(
            peildatum=peildatum,
            maand=MAANDEN[4 if peildatum.month <= 6 else 11],
            fouten=fouten,
            data_docs=data_docs,
        )
    )
    path = reports / f"{stem}_geblokkeerd.html"
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path
