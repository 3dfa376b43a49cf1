"""The province overview: one short, self-contained Dutch page comparing the regions per key figure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from basics.dutch import getal
from basics.files import atomic_path
from products.report import environment
from warehouse import data_only

KENMERKEN = [
    ("peildatum", "Peildatum laatste rapport", None),
    ("poort", "Poort", None),
    ("jaar", "Jaar", None),
    ("maanden_data", "Maanden met gegevens", 0),
    ("wettelijk_urgent_gehuisvest", "Wettelijk urgent gehuisvest", 0),
    ("per_1000_inwoners", "per 1.000 inwoners", 2),
    ("per_100_sociale_huurwoningen", "per 100 sociale huurwoningen", 2),
    ("per_100_toewijzingen", "per 100 toewijzingen", 1),
    ("inwoners", "Inwoners", 0),
    ("sociale_huurwoningen", "Sociale huurwoningen", 0),
    ("toewijzingen", "Toewijzingen", 0),
]


def render_overview(province: Path, out: Path) -> Path:
    """Write ``provincie_overzicht.html`` from the province file's `provincie.kerncijfers`; a region whose
    peildatum is older than the latest (`provincie.regios.verouderd`) is marked."""
    with data_only.connect_read_only(province) as conn:
        regios = (
            conn.execute(
                "SELECT k.*, r.verouderd FROM provincie.kerncijfers AS k JOIN provincie.regios AS r "
                "USING (regio_code) ORDER BY k.regio_naam"
            )
            .df()
            .to_dict("records")
        )
        dubbel = conn.execute("SELECT * FROM provincie.dubbel_geteld ORDER BY 1").df().to_dict("records")
        laatste = conn.execute("SELECT max(peildatum) FROM provincie.regios").fetchone()[0]
    env = environment()

    def waarde(value, decimalen):
        if isinstance(value, (dt.date, dt.datetime)):
            return env.filters["datum"](value)
        return getal(value, decimalen) if decimalen is not None else ("–" if value is None else str(value))

    env.filters["waarde"] = waarde
    html = env.get_template("provincie.html.j2").render(
        regios=regios,
        kenmerken=KENMERKEN,
        dubbel=dubbel,
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
