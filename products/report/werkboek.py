"""The workbook beside the BO report: board material, in the words of the report (products/report/werkboek.yaml).

A sheet Toelichting (what the workbook is, how to read it, every sheet and column in plain Dutch), then one sheet
per table of figures with a Dutch name and Dutch headers, labels instead of codes (each code in a column
"Code ... (voor analisten)" at the right, outside the print area), only the report's years, whole numbers for
people and one decimal for naar-rato figures, and a print setup (A4, fit to the page width, landscape when wide,
the header row on every page, title and page number in the page header and footer). Every text is written as
text (``XLSX_INERT``, ``write_string``): a name or label that looks like a formula or a link stays inert.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from basics.dutch import datum_nl, leeg
from basics.files import XLSX_INERT
from expectations.gate import gate_config

WERKBOEK_CONFIG = Path(__file__).with_name("werkboek.yaml")
CODE_SOORTEN = (
    "gemeente",
    "commissie",
    "herkomst",
    "categorie",
    "subcategorie",
    "afwijzingsgrond",
    "woningtype",
    "verdeelsleutel",
)
FORMATEN = {
    "aantal": "#,##0",
    "dagen": "#,##0",
    "rato": "#,##0.0",
    "pct": "0.0",
    "jaar": "0",
    "datum": "dd-mm-yyyy",
    "tekst": "@",
    "ja_nee": "@",
}
TOELICHTING = "Toelichting"


@functools.cache
def werkboek_config() -> dict:
    """The sheets, headers and kinds of the board's workbook (products/report/werkboek.yaml)."""
    return yaml.safe_load(WERKBOEK_CONFIG.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Blad:
    """One sheet as written: its name, what it shows, its figures, and which columns hold analysts' codes."""

    naam: str
    uitleg: str
    frame: pd.DataFrame  # labelled columns first, then the code columns
    soorten: dict[str, str]  # header -> kind
    uitleg_kolommen: dict[str, str]  # header -> meaning
    code_kolommen: tuple[str, ...]


def _labels(conn: duckdb.DuckDBPyConnection, d: dict) -> dict[str, dict[str, str]]:
    """Every code kind's Dutch labels: gemeenten and committees by name, categories from the report's labels and
    the national list of urgency categories (its description for a local category or a kind of outflow)."""
    cats = conn.execute(
        "SELECT urgentiecategorie, coalesce(subcategorie, ''), omschrijving FROM referentie.urgentiecategorieen"
    ).fetchall()
    labels = d["labels"]
    categorie = {c: o for c, s, o in cats if not s}
    categorie.update({c: o for c, s, o in cats if s and c not in categorie})
    categorie.update(labels["urgentiecategorie"])
    subcategorie = {s: o for _, s, o in cats if s}
    return {
        "gemeente": d["namen"],
        "commissie": d["namen"],
        "herkomst": d["namen"],
        "categorie": categorie,
        "subcategorie": subcategorie,
        "afwijzingsgrond": labels["afwijzingsgrond"],
        "woningtype": labels["woningtype"],
        "verdeelsleutel": labels["verdeelsleutel"],
    }


def _vanaf(jaren: str, d: dict) -> int | None:
    if jaren == "rapport":
        return int(d["vanaf"])
    if jaren == "trechter":
        return int(gate_config()["trechter_vanaf"])
    return None


def _jaar_van(frame: pd.DataFrame) -> pd.Series | None:
    """The year a row is about: its `jaar`, else the year of its date column (a planregister snapshot)."""
    if "jaar" in frame.columns:
        return frame["jaar"]
    if "peildatum" in frame.columns:
        return pd.to_datetime(frame["peildatum"]).dt.year
    return None


def board_sheets(conn: duckdb.DuckDBPyConnection, d: dict) -> list[Blad]:
    """The sheets of figures, as the board reads them, in the order of werkboek.yaml."""
    cfg = werkboek_config()
    labels = _labels(conn, d)
    rang = d["volgorde"]
    have = {
        t
        for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'"
        ).fetchall()
    }
    bladen = []
    for spec in cfg["bladen"]:
        if spec["mart"] not in have:
            continue
        mart = conn.execute(f'SELECT * FROM marts."{spec["mart"]}"').df()
        vanaf, jaar = _vanaf(spec["jaren"], d), _jaar_van(mart)
        if vanaf is not None and jaar is not None:
            mart = mart[jaar >= vanaf]
        if "jaar" in mart.columns:  # no year after the report's (a mart as of P has none; a guard)
            mart = mart[mart["jaar"] <= d["jaar"]]
        kolommen = {c: k for c, k in spec["kolommen"].items() if k["soort"] != "weg" and c in mart.columns}
        # sorted as the report: the grain's columns in the report's gemeente order, then the others
        sleutels, volgorde = [], mart.copy()
        for col, k in kolommen.items():
            if k["soort"] in ("gemeente", "commissie", "herkomst"):
                volgorde[f"_{col}"] = volgorde[col].map(lambda c: rang.get(c, len(rang)))
                sleutels.append(f"_{col}")
            elif k["soort"] in ("jaar", "datum", *CODE_SOORTEN):
                sleutels.append(col)
        volgorde = volgorde.sort_values(sleutels, kind="stable") if sleutels else volgorde
        frame, soorten, uitleg, codes = pd.DataFrame(index=volgorde.index), {}, {}, []
        for col, k in kolommen.items():
            kop, soort = k["kop"], k["soort"]
            if soort in CODE_SOORTEN:
                lijst = labels[soort]
                frame[kop] = volgorde[col].map(
                    lambda c, lijst=lijst: lijst.get(c, c) if not leeg(c) else None
                )
                soorten[kop] = "tekst"
            elif soort == "ja_nee":
                frame[kop] = volgorde[col].map(lambda v: None if leeg(v) else ("ja" if v else "nee"))
                soorten[kop] = soort
            else:
                frame[kop] = volgorde[col]
                soorten[kop] = soort
            uitleg[kop] = k["uitleg"]
        for col, k in kolommen.items():
            if k["soort"] in CODE_SOORTEN:
                kop = cfg["code_kop"].format(kop=k["kop"].lower())
                frame[kop] = volgorde[col]
                soorten[kop] = "tekst"
                uitleg[kop] = f"De code bij {k['kop'].lower()}, zoals in de gepubliceerde tabellen."
                codes.append(kop)
        bladen.append(
            Blad(spec["blad"], spec["uitleg"], frame.reset_index(drop=True), soorten, uitleg, tuple(codes))
        )
    return bladen


SCENARIO_BLAD = "Scenario compensatie"


def _scenario_sheet(d: dict) -> Blad | None:
    """The compensation scenario of the report (products/report/compensatie.py) as a sheet, when the region has
    a rule: what the rule would mean per gemeente, never a decision."""
    sc = d.get("compensatie_scenario")
    if not sc:
        return None
    regel = sc["regel"]
    code = werkboek_config()["code_kop"].format(kop="gemeente")
    frame = pd.DataFrame(
        {
            "Gemeente": [r.gemeente_naam for r in sc["rijen"]],
            "Saldo sinds 2025": [r.saldo for r in sc["rijen"]],
            "Achterstand (huishoudens)": [r.achterstand for r in sc["rijen"]],
            "Zou betalen (euro)": [r.betaalt for r in sc["rijen"]],
            "Zou ontvangen (euro)": [r.ontvangt for r in sc["rijen"]],
            "Toelichting": [r.toelichting or None for r in sc["rijen"]],
            code: [r.gemeente_code for r in sc["rijen"]],
        }
    )
    if regel.verdeling != "naar_overschot":
        frame = frame.drop(columns="Zou ontvangen (euro)")
    soorten = {
        "Gemeente": "tekst",
        "Saldo sinds 2025": "rato",
        "Achterstand (huishoudens)": "rato",
        "Zou betalen (euro)": "aantal",
        "Zou ontvangen (euro)": "aantal",
        "Toelichting": "tekst",
        code: "tekst",
    }
    uitleg = {
        "Gemeente": "De gemeente.",
        "Saldo sinds 2025": "Het saldo van het tabblad Compensatiesaldo voor het laatste jaar, op één decimaal.",
        "Achterstand (huishoudens)": "Hoeveel huishoudens de gemeente achterloopt op haar eigen deel.",
        "Zou betalen (euro)": f"Achterstand maal {regel.bedrag_per_huishouden:,.0f} euro; leeg als het niet te "
        "bepalen is (zie Toelichting in de rij).".replace(",", "."),
        "Zou ontvangen (euro)": "Het totaal, verdeeld over de gemeenten met een positief saldo naar verhouding.",
        "Toelichting": "Uitzonderingen en drempel die voor de gemeente gelden.",
        code: "De code bij gemeente, zoals in de gepubliceerde tabellen.",
    }
    return Blad(
        SCENARIO_BLAD,
        f"Scenario voor het bestuur, geen besluit en geen afrekening: wat de compensatieregel van de regio "
        f"({regel.bron}) zou betekenen voor het saldo tot en met {datum_nl(d['data_tot'])}.",
        frame,
        {k: v for k, v in soorten.items() if k in frame.columns},
        {k: v for k, v in uitleg.items() if k in frame.columns},
        (code,),
    )


def _titel(d: dict) -> str:
    return (
        f"Monitor huisvesting aandachtsgroepen – {d['regio']['regio_naam']} – "
        f"{d['regio']['bestuur']} {d['maand']} {d['peildatum'].year}"
    )


def _kop_voet(text: str) -> str:
    """Text in a page header or footer: ``&`` starts a control code there."""
    return text.replace("&", "&&")


def _print_setup(ws, titel: str, blad: str, peildatum: dt.date, liggend: bool) -> None:
    """A4, one page wide, the header row on every page; the title and sheet above, peildatum and page below."""
    ws.set_paper(9)  # A4
    if liggend:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)  # one page wide, as many pages long as needed
    ws.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)
    ws.set_header(f"&L&8{_kop_voet(titel)}&R&8{_kop_voet(blad)}", {"margin": 0.3})
    ws.set_footer(f"&L&8Peildatum {datum_nl(peildatum)}&R&8Pagina &P van &N", {"margin": 0.3})


def write_workbook(conn: duckdb.DuckDBPyConnection, out: Path, d: dict) -> None:
    """The board's workbook: Toelichting, then one sheet per table of figures (module docstring)."""
    import xlsxwriter

    cfg = werkboek_config()
    bladen = board_sheets(conn, d)
    if scenario := _scenario_sheet(d):  # beside the saldo it is about
        at = next((i + 1 for i, b in enumerate(bladen) if b.naam == "Compensatiesaldo"), len(bladen))
        bladen.insert(at, scenario)
    titel = _titel(d)
    with xlsxwriter.Workbook(str(out), {"nan_inf_to_errors": False, **XLSX_INERT}) as wb:
        kop = wb.add_format(
            {"bold": True, "bg_color": "#DBE7EC", "text_wrap": True, "valign": "top", "border": 1}
        )
        code_kop = wb.add_format(
            {"bold": True, "bg_color": "#EEEEEE", "font_color": "#555555", "text_wrap": True, "valign": "top"}
        )
        fmt = {soort: wb.add_format({"num_format": f}) for soort, f in FORMATEN.items()}
        code_fmt = wb.add_format({"num_format": "@", "font_color": "#555555"})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        vet = wb.add_format({"bold": True, "valign": "top", "text_wrap": True})
        _toelichting(wb, d, bladen, titel, kop, fmt, wrap, vet)
        for blad in bladen:
            ws = wb.add_worksheet(blad.naam)
            frame = blad.frame
            zichtbaar = len(frame.columns) - len(blad.code_kolommen)
            for j, col in enumerate(frame.columns):
                is_code = col in blad.code_kolommen
                ws.write_string(0, j, col, code_kop if is_code else kop)
                soort = blad.soorten[col]
                width = max([len(col) / 2, *(len(str(v)) for v in frame[col].head(200))], default=8)
                ws.set_column(j, j, min(max(width + 2, 9), 40), code_fmt if is_code else fmt[soort])
                for i, v in enumerate(frame[col], start=1):
                    if leeg(v):
                        continue
                    if soort == "datum":
                        ws.write_datetime(i, j, pd.Timestamp(v).to_pydatetime(), fmt["datum"])
                    elif soort in ("aantal", "dagen", "rato", "pct", "jaar"):
                        ws.write_number(i, j, float(v), fmt[soort])
                    else:
                        ws.write_string(i, j, str(v), code_fmt if is_code else fmt["tekst"])
            ws.set_row(0, 30)
            ws.freeze_panes(1, 1)
            ws.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)
            _print_setup(ws, titel, blad.naam, d["peildatum"], zichtbaar >= cfg["liggend_vanaf_kolommen"])
            ws.repeat_rows(0)
            ws.print_area(0, 0, max(len(frame), 1), max(zichtbaar, 1) - 1)  # the analysts' codes not printed


def _toelichting(wb, d: dict, bladen: list[Blad], titel: str, kop, fmt, wrap, vet) -> None:
    """The first sheet: what the workbook is and how to read it, then every sheet and column in plain Dutch."""
    ws = wb.add_worksheet(TOELICHTING)
    ws.merge_range(0, 0, 0, 2, "", wb.add_format({"bold": True, "font_size": 13}))
    ws.write_string(0, 0, titel, wb.add_format({"bold": True, "font_size": 13}))
    ws.write_string(1, 0, "Peildatum")
    ws.write_string(1, 1, datum_nl(d["peildatum"]))
    ws.write_string(2, 0, "Cijfers tot en met")
    ws.write_string(2, 1, datum_nl(d["data_tot"]))
    regels = [
        "Dit werkboek hoort bij het rapport voor het bestuur en bevat dezelfde cijfers, per tabblad één tabel.",
        f"Het toont de jaren van het rapport ({d['vanaf']} tot en met {d['jaar']}); de geschiktheid van de "
        "toewijzingen ook de jaren daarvoor, zoals in het rapport.",
        "Mensen en woningen zijn hele aantallen. Opgaven naar rato (de jaaropgave voor de maanden met cijfers) "
        "en verschillen daarmee hebben één decimaal: een deel van een jaaropgave is geen heel getal.",
        "De grijze kolommen rechts (Code … (voor analisten)) geven de codes zoals in de gepubliceerde tabellen, "
        "om cijfers te koppelen; ze worden niet afgedrukt.",
    ]
    for i, regel in enumerate(regels, start=4):  # across the three columns, wrapped: it prints whole
        ws.merge_range(i, 0, i, 2, "", wrap)
        ws.write_string(i, 0, regel, wrap)
        ws.set_row(i, 15 * (1 + len(regel) // 120))
    rij = 4 + len(regels) + 1
    kop_rij = rij
    for j, kolom in enumerate(["Tabblad", "Kolom", "Betekenis"]):
        ws.write_string(rij, j, kolom, kop)
    for blad in bladen:
        rij += 1
        ws.write_string(rij, 0, blad.naam, vet)
        ws.write_string(rij, 2, blad.uitleg, wrap)
        for col in blad.frame.columns:
            rij += 1
            ws.write_string(rij, 0, blad.naam, wrap)
            ws.write_string(rij, 1, col, wrap)
            ws.write_string(rij, 2, blad.uitleg_kolommen.get(col, ""), wrap)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 32)
    ws.set_column(2, 2, 80)
    ws.freeze_panes(kop_rij + 1, 0)
    _print_setup(ws, titel, TOELICHTING, d["peildatum"], liggend=False)
    ws.repeat_rows(kop_rij)
    ws.print_area(0, 0, rij, 2)
