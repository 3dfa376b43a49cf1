"""The province overview: one short, self-contained Dutch page comparing the regions per key figure.

It shows what the province file holds (``warehouse.province``): the provinces and regions it covers (and the
copies left out, e.g. a fictional region), each region's peildatum with a warning when they differ, the key
figures of the latest year, per calendar year (a partial year also scaled to a year, saying so) and per report
in the regions' history, every gemeente with its province, agreement flag and the agreement's region, and the
gemeenten that no agreement covers or two count.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from basics.dutch import getal, opsomming
from basics.files import atomic_path
from products.report import environment
from warehouse import data_only

KENMERKEN = [
    ("peildatum", "Peildatum laatste rapport", None),
    ("poort", "Poort", None),
    ("jaar", "Jaar", None),
    ("maanden_data", "Maanden met gegevens", 0),
    ("wettelijk_urgent_gehuisvest", "Wettelijk urgent gehuisvest", 0),
    ("wettelijk_urgent_gehuisvest_op_jaarbasis", "Wettelijk urgent gehuisvest, op jaarbasis", 0),
    ("per_1000_inwoners", "per 1.000 inwoners", 2),
    ("per_1000_inwoners_op_jaarbasis", "per 1.000 inwoners, op jaarbasis", 2),
    ("per_100_sociale_huurwoningen", "per 100 sociale huurwoningen", 2),
    ("per_100_sociale_huurwoningen_op_jaarbasis", "per 100 sociale huurwoningen, op jaarbasis", 2),
    ("per_100_toewijzingen", "per 100 toewijzingen (aandeel wettelijk urgent, %)", 1),
    ("inwoners", "Inwoners", 0),
    ("sociale_huurwoningen", "Sociale huurwoningen", 0),
    ("toewijzingen", "Toewijzingen", 0),
]
# The columns of the tables per year and per report: (column, heading, decimals).
PER_JAAR = [
    ("peildatum", "Peildatum", None),
    ("jaar", "Jaar", None),
    ("maanden_data", "Maanden", 0),
    ("wettelijk_urgent_gehuisvest", "Wettelijk urgent gehuisvest", 0),
    ("wettelijk_urgent_gehuisvest_op_jaarbasis", "Op jaarbasis", 0),
    ("aandeel_wettelijk_urgent_pct", "Aandeel in de toewijzingen (%)", 1),
    ("per_1000_inwoners_op_jaarbasis", "Per 1.000 inwoners (jaarbasis)", 2),
    ("per_100_sociale_huurwoningen_op_jaarbasis", "Per 100 sociale huurwoningen (jaarbasis)", 2),
]


def _records(conn, sql: str) -> list[dict]:
    """Rows as dicts of Python values (dates as dates, NULL as None)."""
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def render_overview(province: Path, out: Path) -> Path:
    """Write ``provincie_overzicht.html`` from the province file (schema `provincie`); a region whose peildatum is
    older than the latest (`provincie.regios.verouderd`) is marked."""
    with data_only.connect_read_only(province) as conn:
        regios = _records(
            conn,
            "SELECT k.*, r.verouderd, r.fictief, r.provincies_in_selectie FROM provincie.kerncijfers AS k "
            "JOIN provincie.regios AS r USING (regio_code) ORDER BY k.regio_naam",
        )
        per_jaar = _records(conn, "SELECT * FROM provincie.kerncijfers_per_jaar ORDER BY regio_naam, jaar")
        per_peildatum = _records(
            conn, "SELECT * FROM provincie.kerncijfers_per_peildatum ORDER BY regio_naam, peildatum, jaar"
        )
        peildata = _records(conn, "SELECT regio_naam, peildatum FROM provincie.regios ORDER BY regio_naam")
        gemeenten = _records(
            conn,
            "SELECT g.*, r.regio_naam FROM provincie.gemeenten AS g JOIN provincie.regios AS r USING (regio_code) "
            "ORDER BY g.provincie, g.gemeente_naam, r.regio_naam",
        )
        dubbel = _records(conn, "SELECT * FROM provincie.dubbel_geteld ORDER BY 1")
        zonder = _records(conn, "SELECT * FROM provincie.zonder_afspraak ORDER BY gemeente_naam")
        weggelaten = _records(conn, "SELECT * FROM provincie.weggelaten ORDER BY regio_naam")
        [publicatie] = _records(conn, "SELECT * FROM provincie.publicatie")
        laatste = conn.execute("SELECT max(peildatum) FROM provincie.regios").fetchone()[0]
    env = environment()

    def waarde(value, decimalen):
        if isinstance(value, (dt.date, dt.datetime)):
            return env.filters["datum"](value)
        return getal(value, decimalen) if decimalen is not None else ("–" if value is None else str(value))

    env.filters["waarde"] = waarde
    provincies = [p for p in (publicatie["provincies"] or "").split("; ") if p]
    html = env.get_template("provincie.html.j2").render(
        regios=regios,
        kenmerken=KENMERKEN,
        per_jaar=per_jaar,
        per_peildatum=per_peildatum,
        kolommen=PER_JAAR,
        gemeenten=gemeenten,
        dubbel=dubbel,
        zonder=zonder,
        weggelaten=weggelaten,
        selectie=publicatie["provincie_selectie"],
        provincies=opsomming(provincies),
        aantal_provincies=len(provincies),
        peildata=peildata if len({p["peildatum"] for p in peildata}) > 1 else [],
        geannualiseerd=[r for r in per_jaar if r["geannualiseerd"]],
        gemaakt=dt.date.today(),
        laatste=laatste,
        verouderd=[r for r in regios if r["verouderd"]],
        voorlopig=[r["regio_naam"] for r in regios if r["sociale_huurvoorraad_voorlopig"]],
    )
    out.mkdir(parents=True, exist_ok=True)
    page = out / "provincie_overzicht.html"
    with atomic_path(page) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return page
