"""The report's charts: matplotlib SVG that anyone can read (issue 21, WCAG 2.1 AA as *Digitoegankelijk* asks).

Every chart keeps its text as text (``svg.fonttype: none``: a screen reader reads it, a reader can select it), uses
one type scale (``TEKST`` points for every label, and one figure width so the page scales every chart alike),
shows above/below by colour *and* a sign (▲/▼ in every value label and the legend) and writes its values on the
bars; a grouped chart names its series in each bar's label, so colour is never the only cue. Each
chart comes as a `Grafiek`: the SVG with an accessible name, and a Dutch caption that says what it shows.

The drawing functions are general (a frame and its column names in, SVG out), so a section that changes its data
plugs in its own frame; `report_charts` draws the report's charts from `products.report.render.report_data`.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass

import pandas as pd

from basics.dutch import getal, leeg, opsomming

BREEDTE = 8.0  # inches: one width for every chart, so the page scales all of them by the same factor
TEKST = 9  # points: the one type size of every text in a chart (ticks, labels, values, legends)
KLEUREN = ["#1b5e7a", "#c0632a", "#4f7a35", "#a04668", "#6b5aa6", "#6f6f6f"]
# Above and below: a colour and a sign each (▲/▼ in the value label). No hatching: a hatch pattern costs the PDF
# renderer seconds per chart, and the sign already tells the two apart without colour.
BOVEN = {"color": "#1b5e7a", "teken": "▲", "tekst": "op of boven het eigen deel"}
ONDER = {"color": "#c0632a", "teken": "▼", "tekst": "onder het eigen deel"}


@dataclass(frozen=True)
class Grafiek:
    """A chart for the page: SVG with an accessible name (``alt``) inside a figure with a visible caption."""

    sleutel: str
    svg: str
    titel: str
    alt: str

    def __html__(self) -> str:
        svg = _uniek(self.svg, self.sleutel)
        svg = svg.replace("<svg ", f'<svg role="img" aria-labelledby="grafiek-{self.sleutel}-alt" ', 1)
        # The first element inside <svg>: its accessible name, for screen readers (and a tooltip).
        svg = re.sub(
            r"(<svg\b[^>]*>)",
            lambda m: f'{m.group(1)}<title id="grafiek-{self.sleutel}-alt">{html.escape(self.alt)}</title>',
            svg,
            count=1,
        )
        return (
            f'<figure class="grafiek-figuur" id="grafiek-{self.sleutel}">{svg}'
            f"<figcaption>{html.escape(self.titel)}</figcaption></figure>"
        )

    def __str__(self) -> str:
        return self.__html__()


@dataclass(frozen=True)
class Grafieken:
    """Several charts shown together (one per ingroeipad group), each a figure of its own."""

    grafieken: tuple[Grafiek, ...]

    def __html__(self) -> str:
        return "".join(g.__html__() for g in self.grafieken)

    def __str__(self) -> str:
        return self.__html__()


def _uniek(svg: str, sleutel: str) -> str:
    """Prefix the SVG's ids (and references to them) with the chart's key: several charts share one page."""
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{sleutel}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{sleutel}-{m.group(1)})", svg)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{sleutel}-{m.group(1)}"', svg)


def _plt():
    """pyplot with the report's style, imported when the first chart is drawn: a run with nothing new draws none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text: readable by a screen reader, selectable, searchable
            "svg.hashsalt": "fairshare",  # the same figures give the same SVG (reproducible reports)
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
            "font.size": TEKST,
            "axes.titlesize": TEKST,
            "axes.labelsize": TEKST,
            "xtick.labelsize": TEKST,
            "ytick.labelsize": TEKST,
            "legend.fontsize": TEKST,
            "figure.titlesize": TEKST,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _figuur(hoogte: float):
    plt = _plt()
    return plt.subplots(figsize=(BREEDTE, hoogte), layout="constrained")


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})  # no bbox "tight": one width for every chart
    _plt().close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def _procent(v: float) -> str:
    return f"{getal(v)}%"


def _getal_met_teken(v: float, decimals: int = 1) -> str:
    return ("+" if v > 0 else "−" if v < 0 else "") + getal(abs(v), decimals)


def _legenda(ax, items: list[dict]) -> None:
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(facecolor=i["color"], label=f"{i['teken']} {i['tekst']}") for i in items],
        frameon=False,
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=len(items),
        borderaxespad=0.2,
    )


def ten_opzichte_van_deel(
    frame: pd.DataFrame, label: str, pct: str, eenheid: str = "% van het eigen deel"
) -> str:
    """Horizontal bars of a percentage of each row's own share: 100% is a line; above and below differ in colour
    and in the ▲/▼ before the value written at the end of each bar."""
    rows = frame[[label, pct]].reset_index(drop=True)
    fig, ax = _figuur(0.32 * len(rows) + 1.1)
    y = list(range(len(rows)))[::-1]
    for yi, v in zip(y, rows[pct], strict=True):
        if leeg(v):
            ax.text(0, yi, " geen opgave", va="center")
            continue
        kind = BOVEN if v >= 100 else ONDER
        ax.barh(yi, v, color=kind["color"], height=0.7)
        ax.text(v, yi, f"  {kind['teken']} {_procent(v)}", va="center")
    ax.axvline(100, color="#222", linewidth=1, linestyle="--")
    ax.text(100, len(rows) - 0.4, "100%", ha="center", va="bottom")
    ax.set_yticks(y, list(rows[label]))
    top = max([v for v in rows[pct] if not leeg(v)] + [100])
    ax.set_xlim(0, top * 1.18)
    ax.set_xlabel(eenheid)
    _legenda(ax, [BOVEN, ONDER])
    return _svg(fig)


def saldo_staven(frame: pd.DataFrame, label: str, saldo: str, eenheid: str = "huishoudens") -> str:
    """Horizontal bars around zero (a cumulative balance): positive and negative differ in colour and in ▲/▼;
    every value is written beside its bar, so a small one is still read."""
    rows = frame[[label, saldo]].reset_index(drop=True)
    fig, ax = _figuur(0.32 * len(rows) + 1.1)
    y = list(range(len(rows)))[::-1]
    waarden = [0.0 if leeg(v) else float(v) for v in rows[saldo]]
    bereik = max([abs(v) for v in waarden] + [1.0])
    for yi, v in zip(y, waarden, strict=True):
        kind = BOVEN if v >= 0 else ONDER
        ax.barh(yi, v, color=kind["color"], height=0.7)
        ax.text(
            v + (0.02 if v >= 0 else -0.02) * bereik,
            yi,
            f"{kind['teken']} {_getal_met_teken(v)}",
            va="center",
            ha="left" if v >= 0 else "right",
        )
    ax.axvline(0, color="#222", linewidth=1)
    ax.set_yticks(y, list(rows[label]))
    ax.set_xlim(-bereik * 1.35, bereik * 1.35)
    ax.set_xlabel(eenheid)
    _legenda(
        ax,
        [
            {**BOVEN, "tekst": "meer gehuisvest dan het eigen deel"},
            {**ONDER, "tekst": "minder gehuisvest dan het eigen deel"},
        ],
    )
    return _svg(fig)


def staven(
    frame: pd.DataFrame,
    label: str,
    reeksen: dict[str, str],
    eenheid: str = "",
    decimalen: int = 0,
) -> str:
    """Grouped horizontal bars: one group per row of ``frame`` (``label``), one bar per column of ``reeksen``
    (column -> legend text), each series its own colour, every value written at its bar with its series' name."""
    rows = frame.reset_index(drop=True)
    n = max(1, len(reeksen))
    hoogte = 0.8 / n
    fig, ax = _figuur(max(2.0, 0.17 * n * len(rows) + 0.25 * len(rows) + 1.0))
    top = max([float(v) for c in reeksen for v in rows[c] if not leeg(v)] + [1.0])
    basis = [(len(rows) - 1 - i) for i in range(len(rows))]
    for k, (col, naam) in enumerate(reeksen.items()):
        ys = [b + 0.4 - hoogte * (k + 0.5) for b in basis]
        vals = [0.0 if leeg(v) else float(v) for v in rows[col]]
        ax.barh(
            ys,
            vals,
            hoogte * 0.92,
            label=naam,
            color=KLEUREN[k % len(KLEUREN)],
        )
        for yi, v, ruw in zip(ys, vals, rows[col], strict=True):
            waarde = "–" if leeg(ruw) else getal(v, decimalen)
            ax.text(v + top * 0.01, yi, f"{naam}: {waarde}" if n > 1 else waarde, va="center")
    ax.set_yticks(basis, list(rows[label]))
    ax.set_xlim(0, top * (1.4 if n > 1 else 1.15))
    if eenheid:
        ax.set_xlabel(eenheid)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=min(n, 3), borderaxespad=0.2)
    return _svg(fig)


def pad(
    frame: pd.DataFrame,
    jaar: str,
    groep: str,
    gerealiseerd: str,
    afspraak: str,
    prognose: str | None = None,
    eenheid: str = "huishoudens",
) -> str:
    """A path over the years per group: the agreement as a dashed line with squares, what was realised as a solid
    line with dots, and (optional) the projection of the current year as an open dot; values beside the marks."""
    fig, ax = _figuur(3.6)
    jaren = sorted(frame[jaar].unique())
    for k, (naam, part) in enumerate(frame.groupby(groep, sort=True)):
        part = part.set_index(jaar).reindex(jaren)
        kleur = KLEUREN[k % len(KLEUREN)]
        ax.plot(jaren, part[afspraak], color=kleur, linestyle="--", marker="s", label=f"{naam}: afspraak")
        echt = part[gerealiseerd].dropna()
        ax.plot(
            echt.index, echt.values, color=kleur, linestyle="-", marker="o", label=f"{naam}: gerealiseerd"
        )
        for x, v in echt.items():
            ax.annotate(getal(v), (x, v), textcoords="offset points", xytext=(0, 6), ha="center")
        for x, v in part[afspraak].dropna().items():
            ax.annotate(
                getal(v), (x, v), textcoords="offset points", xytext=(0, -13), ha="center", color="#333"
            )
        if prognose is not None:
            pr = part[prognose].dropna()
            ax.plot(
                pr.index, pr.values, linestyle="none", marker="o", markerfacecolor="white",
                markeredgecolor=kleur, label=f"{naam}: verwacht eind van het jaar",
            )  # fmt: skip
            for x, v in pr.items():
                ax.annotate(getal(v), (x, v), textcoords="offset points", xytext=(8, 0), va="center")
    ax.set_xticks(jaren, [str(j) for j in jaren])
    ax.set_ylabel(eenheid)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _svg(fig)


def herkomst_woning(matrix: pd.DataFrame) -> str:
    """A table-like heat map (origin × gemeente of the dwelling), every count written in its cell."""
    fig, ax = _figuur(0.45 * len(matrix) + 1.6)
    values = matrix.to_numpy(dtype=float)
    ax.imshow(values, cmap="Blues", aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=30, ha="right")
    ax.set_yticks(range(matrix.shape[0]), matrix.index)
    half = values.max() / 2 if values.size else 0
    for (i, j), v in pd.DataFrame(values).stack().items():
        if v:
            ax.text(j, i, getal(v), ha="center", va="center", color="white" if v > half else "black")
    ax.set_xlabel("gemeente van de woning")
    ax.set_ylabel("herkomst")
    ax.spines[["top", "right", "left", "bottom"]].set_visible(False)
    return _svg(fig)


def report_charts(d: dict) -> dict[str, Grafiek | Grafieken]:
    """The report's charts, from `report_data`'s frames, each with its caption and accessible name in Dutch."""
    charts: dict[str, Grafiek | Grafieken] = {}
    fsg = d["fair_share_gemeente"]
    jaar = fsg[fsg["jaar"] == d["jaar"]].copy()
    # As a percentage of each gemeente's own share, so the small gemeenten compare with the large ones.
    jaar["pct"] = [
        None if leeg(o) or not o else 100 * g / o
        for g, o in zip(jaar["gehuisvest"], jaar["opgave_naar_rato"], strict=True)
    ]
    boven = [
        f"{r.gemeente_naam} ({_procent(r.pct)})"
        for r in jaar.itertuples()
        if not leeg(r.pct) and r.pct >= 100
    ]
    onder = [
        f"{r.gemeente_naam} ({_procent(r.pct)})" for r in jaar.itertuples() if not leeg(r.pct) and r.pct < 100
    ]
    charts["fair_share"] = Grafiek(
        "fair-share",
        ten_opzichte_van_deel(jaar, "gemeente_naam", "pct"),
        f"Wettelijk urgent gehuisvest als percentage van de opgave naar rato per gemeente, {d['jaar']}. "
        "De stippellijn is 100%: precies het eigen deel. Staven met ▲ zitten op of boven het eigen deel, "
        "staven met ▼ eronder.",
        f"Staafdiagram, {d['jaar']}: per gemeente het aantal gehuisveste wettelijk urgenten als percentage van "
        f"de opgave naar rato. Op of boven het eigen deel: {opsomming(boven) or 'geen'}. "
        f"Onder het eigen deel: {opsomming(onder) or 'geen'}.",
    )
    # The ingroeipad as a path over every agreed year, one chart per group (its table: kern.ingroeipad_pad).
    paden = []
    for groep, info in d["kern"]["ingroeipad"]["groepen"].items():
        rijen = pd.DataFrame(
            [
                {
                    "jaar": r["jaar"],
                    "groep": groep,
                    "afspraak": r["afspraak"],
                    "gehuisvest": r["gehuisvest"],
                    "prognose": r["prognose"].waarde if r["prognose"] else None,
                }
                for r in info["rijen"]
            ]
        ).astype({"gehuisvest": "float", "prognose": "float"})
        paden.append(
            Grafiek(
                "ingroeipad" if not paden else f"ingroeipad-{len(paden) + 1}",
                pad(rijen, "jaar", "groep", "gehuisvest", "afspraak", prognose="prognose"),
                f"Ingroeipad {groep}, {rijen['jaar'].min()}–{rijen['jaar'].max()}: de afspraak per jaar "
                "(stippellijn, vierkantjes), wat gehuisvest is (doorgetrokken lijn, bolletjes) en de verwachting "
                "voor het hele lopende jaar (open bolletje).",
                f"Lijndiagram van het ingroeipad van {groep}: "
                + "; ".join(
                    f"{r['jaar']}: afspraak {getal(r['afspraak'])}"
                    + (f", gehuisvest {getal(r['gehuisvest'])}" if r["gehuisvest"] is not None else "")
                    + (f", verwacht {getal(r['prognose'].waarde)}" if r["prognose"] else "")
                    for r in info["rijen"]
                )
                + ".",
            )
        )
    if paden:
        charts["ingroeipad"] = Grafieken(tuple(paden))
    comp = d["compensatie"]
    if len(comp):
        charts["compensatie"] = Grafiek(
            "compensatie",
            saldo_staven(comp, "gemeente_naam", "saldo"),
            f"Compensatiesaldo per gemeente, cumulatief van 1 januari 2025 tot en met {d['jaar']}: wettelijk "
            "urgent gehuisvest min de opgave naar rato. Staven met ▲: meer dan het eigen deel; "
            "staven met ▼: minder.",
            "Staafdiagram van het compensatiesaldo per gemeente: "
            + "; ".join(f"{r.gemeente_naam} {_getal_met_teken(r.saldo)}" for r in comp.itertuples())
            + ".",
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
        thuis = sum(int(matrix.loc[n, n]) for n in matrix.index if n in matrix.columns)
        charts["instroom"] = Grafiek(
            "instroom",
            herkomst_woning(matrix),
            f"Herkomst (rijen) en gemeente van de woning (kolommen), alle wettelijke urgentiecategorieën, "
            f"{d['vanaf']}–{d['jaar']}. Elk vak toont het aantal; hoe donkerder, hoe meer.",
            f"Kruistabel van herkomst en gemeente van de woning, {d['vanaf']}–{d['jaar']}: "
            f"{getal(int(matrix.to_numpy().sum()))} huishoudens, van wie {getal(thuis)} in de eigen gemeente.",
        )
    tr = d["trechter"]
    steps = {
        "toewijzingen": "alle toewijzingen",
        "samenwerkend": d["regio"]["samenwerkend_label"],
        "samenwerkend_max_3_kamers": "≤ 3 kamers",
        "tot_hoge_aftoppingsgrens": "≤ hoge aftoppingsgrens",
        "tot_lage_aftoppingsgrens": "≤ lage aftoppingsgrens",
        "tot_lage_gelabeld": "gelabeld",
    }
    if len(tr):
        stappen = pd.DataFrame(
            {"stap": list(steps.values())}
            | {str(j): [tr.loc[tr["jaar"] == j, s].iloc[0] or 0 for s in steps] for j in tr["jaar"]}
        )
        jaren = [str(j) for j in tr["jaar"]]
        charts["trechter"] = Grafiek(
            "trechter",
            staven(stappen, "stap", {j: j for j in jaren}, eenheid="toewijzingen"),
            "Geschiktheid van de toewijzingen per jaar: van alle toewijzingen (boven) naar de woningen die voor "
            "urgente woningzoekenden geschikt en betaalbaar zijn (onder).",
            "Staafdiagram van de geschiktheid per jaar: "
            + "; ".join(
                f"{j}: "
                + ", ".join(f"{naam} {getal(v)}" for naam, v in zip(stappen["stap"], stappen[j], strict=True))
                for j in jaren
            )
            + ".",
        )
    sl = d["sleutels"]
    piv = sl.pivot_table(
        index="gemeente_code", columns="verdeelsleutel", values="opgave_bij_regionaal_totaal"
    )
    piv = piv.reindex([g for g in d["namen"] if g in piv.index])
    if not piv.empty:
        namen = {k: d["labels"]["verdeelsleutel"].get(k, k) for k in piv.columns}
        frame = piv.rename(columns=namen).reset_index()
        frame["gemeente"] = [d["namen"].get(g, g) for g in frame["gemeente_code"]]
        charts["sleutels"] = Grafiek(
            "sleutels",
            staven(
                frame, "gemeente", {n: n for n in namen.values()}, eenheid="huishoudens per jaar", decimalen=1
            ),
            f"Opgave per gemeente bij {d['regionaal_totaal']} huishoudens per jaar volgens elke verdeelsleutel.",
            f"Staafdiagram van de opgave bij {d['regionaal_totaal']} per jaar: "
            + "; ".join(
                f"{r['gemeente']}: " + ", ".join(f"{n} {getal(r[n], 1)}" for n in namen.values())
                for _, r in frame.iterrows()
            )
            + ".",
        )
    return charts
