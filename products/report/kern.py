"""Page one of the BO report: the kernboodschap, the besluitpunten and the op-koers table; the ingroeipad as a path
2025-2030; the begrippenlijst (issue 21).

Everything here is computed from the figures ``render.report_data`` read from the marts, and the region's
rules for besluitpunten (``basics.besluitregels``: its pack's ``besluitpunten.yaml`` or the defaults). One
basis per statement, named in the text: "achter op het eigen deel" is always the compensatiesaldo since the
start of the agreement (``marts.compensatie_saldo``); "dit jaar" is ``marts.fair_share_gemeente`` of the
current year; the urgent share held against the region's cap is ``aandeel_wettelijk_urgent`` (every legal
category, also what does not count toward the agreement).

The projection to the end of the year continues the pace so far: the count for the remaining months is
Poisson with a rate estimated from the months so far, so its variance is r + r²/g (r the expected remaining
count, g the count so far); the range holds the outcome with the region's chosen certainty (normal
approximation, whole households).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import duckdb
import pandas as pd

from basics import besluitregels, region
from basics.dutch import datum_nl, getal, leeg, opsomming


@dataclass(frozen=True)
class Prognose:
    """The count at the end of the year at the current pace, with the range it falls in (whole numbers)."""

    waarde: int
    laag: int
    hoog: int
    definitief: bool  # the year is complete: no projection, the count itself

    def tekst(self) -> str:
        if self.definitief:
            return getal(self.waarde)
        return f"{getal(self.waarde)} ({getal(self.laag)}–{getal(self.hoog)})"

    def woorden(self) -> str:
        if self.definitief:
            return getal(self.waarde)
        return (
            f"ongeveer {getal(self.waarde)} (waarschijnlijk tussen {getal(self.laag)} en {getal(self.hoog)})"
        )


def prognose(gehuisvest: int, maanden: int, zekerheid_pct: float) -> Prognose:
    """The year's count at the pace of its first ``maanden`` months, with a range holding it ``zekerheid_pct``
    of the time (the module's docstring says how)."""
    g = int(gehuisvest)
    if maanden >= 12 or maanden <= 0:
        return Prognose(g, g, g, True)
    rest = 12 - maanden
    r = g * rest / maanden
    # A count of zero so far still leaves the rate uncertain: treat it as one for the spread.
    sd = math.sqrt(r + (rest / maanden) ** 2 * max(g, 1))
    z = NormalDist().inv_cdf(0.5 + zekerheid_pct / 200)
    return Prognose(
        waarde=g + round(r),
        laag=g + max(0, math.floor(r - z * sd)),
        hoog=g + math.ceil(r + z * sd),
        definitief=False,
    )


def regels_voor(conn: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """The besluitregels of the warehouse's region (its pack's besluitpunten.yaml, else the defaults)."""
    [code] = conn.execute("SELECT regio_code FROM referentie.regio").fetchone()
    try:
        pack = region.regio_dir(code)
    except region.UnknownRegion:  # a warehouse of a region this installation has no pack of
        pack = None
    return besluitregels.load(pack)


def _teken(value: float, decimals: int = 1) -> str:
    """A difference with its sign: +41,5 / -9,7 / 0,0."""
    text = getal(value, decimals)
    return f"+{text}" if round(float(value), decimals) > 0 else text


OORDELEN = {"achter": "achter", "op koers": "op koers", "voor": "voor"}


def pagina_een(conn: duckdb.DuckDBPyConnection, d: dict, regels: dict[str, dict] | None = None) -> dict:
    """Page one and the ingroeipad path, from the report's figures ``d`` (render.report_data) and the rules."""
    regels = regels or regels_voor(conn)
    zeker = regels["prognose"]["zekerheid_pct"]
    jaar = d["jaar"]
    fsg = d["fair_share_gemeente"]
    nu = fsg[fsg["jaar"] == jaar]
    comp = d["compensatie"].set_index("gemeente_code")
    oordelen = _oordelen(d, "gemeente", "oordeel", jaar)
    rijen = []
    for r in nu.itertuples():
        c = comp.loc[r.gemeente_code] if r.gemeente_code in comp.index else None
        saldo = None if c is None else float(c["saldo"])
        rijen.append(
            {
                "gemeente_code": r.gemeente_code,
                "gemeente_naam": r.gemeente_naam,
                "gehuisvest": int(r.gehuisvest),
                "opgave_naar_rato": None if leeg(r.opgave_naar_rato) else float(r.opgave_naar_rato),
                "verschil": None if leeg(r.verschil) else float(r.verschil),
                "opgave": None if leeg(r.opgave) else int(r.opgave),
                "cumulatief_gehuisvest": None if c is None else int(c["cumulatief_gehuisvest"]),
                "cumulatief_opgave_naar_rato": None if c is None else float(c["cumulatief_opgave_naar_rato"]),
                "saldo": saldo,
                "oordeel": None if saldo is None else oordelen.get(r.gemeente_code),
                "prognose": prognose(r.gehuisvest, int(r.maanden_data), zeker),
            }
        )
    maanden = int(nu["maanden_data"].max()) if len(nu) else 12

    def som(key):
        values = [r[key] for r in rijen if r[key] is not None]
        return sum(values) if values else None

    totaal = {
        key: som(key)
        for key in (
            "gehuisvest",
            "opgave_naar_rato",
            "verschil",
            "opgave",
            "cumulatief_gehuisvest",
            "cumulatief_opgave_naar_rato",
            "saldo",
        )
    }
    totaal["prognose"] = prognose(totaal["gehuisvest"] or 0, maanden, zeker)
    pad = ingroeipad_pad(conn, d, regels)
    punten = besluitpunten(d, rijen, pad, regels)
    uit = {
        "regels": regels,
        "maanden": maanden,
        "rijen": rijen,
        "totaal": totaal,
        "ingroeipad": pad,
        "besluitpunten": punten,
        "kernboodschap": kernboodschap(d, rijen, totaal, pad, punten),
        "begrippen": begrippen(d, pad, regels, maanden),
        "totalen_fair_share": {
            int(j): totalen(part, ["toewijzingen", "gehuisvest", "opgave_naar_rato", "verschil"])
            for j, part in fsg.groupby("jaar", sort=True)
        },
    }
    uit["verdeelsleutels"] = verdeelsleutels({**d, "kern": uit})
    return uit


def _oordelen(d: dict, niveau: str, kolom: str, jaar: int) -> dict[str, str]:
    """A column of ``marts.kerncijfers`` for one year (code -> value): the one definition of op koers / achter /
    voor, of the ingroeipad's verdict and of its backlog (with the margin the pipeline writes to
    ``audit.besluitregels`` before each build)."""
    k = d.get("kerncijfers")
    if k is None or k.empty:
        return {}
    part = k[(k["niveau"] == niveau) & (k["jaar"] == jaar) & k[kolom].notna()]
    return dict(zip(part["code"], part[kolom], strict=True))


def ingroeipad_pad(conn: duckdb.DuckDBPyConnection, d: dict, regels: dict[str, dict]) -> dict:
    """The ingroeipad per group and year over every agreed year (2025-2030 for the afsprakenkader): the agreed
    figure (seed ingroeipad_afspraak), what was housed (marts.ingroeipad), the current year's projection, and
    the verdict per group in words."""
    zeker = regels["prognose"]["zekerheid_pct"]
    afspraak = conn.execute(
        "SELECT groep, jaar_van, jaar_tot, afspraak FROM referentie.ingroeipad_afspraak ORDER BY jaar_van, groep"
    ).fetchall()
    gerealiseerd = {(r.groep, int(r.jaar)): r for r in d["ingroeipad"].itertuples()}
    jaren = sorted({j for _, van, tot, _ in afspraak for j in range(int(van), int(tot) + 1)})
    per_jaar = {(g, j): int(a) for g, van, tot, a in afspraak for j in range(int(van), int(tot) + 1)}
    groepen = {}
    for groep in d["groepen"]:
        rijen = []
        for jaar in jaren:
            if (groep, jaar) not in per_jaar:
                continue
            m = gerealiseerd.get((groep, jaar))
            rij = {"jaar": jaar, "afspraak": per_jaar[(groep, jaar)], "gehuisvest": None, "naar_rato": None}
            rij.update(verschil=None, prognose=None, oordeel="nog te gaan")
            mart = _oordelen(d, "groep", "ingroeipad_oordeel", jaar)
            if m is not None:
                rij.update(gehuisvest=int(m.gehuisvest), naar_rato=float(m.afspraak_naar_rato))
                rij["verschil"] = float(m.verschil)
                if int(m.maanden_data) >= 12:
                    rij["oordeel"] = (
                        "gehaald"
                        if mart.get(groep) == "gehaald"
                        else f"niet gehaald ({_teken(m.verschil, 0)})"
                    )
                else:
                    p = prognose(m.gehuisvest, int(m.maanden_data), zeker)
                    rij["prognose"] = p
                    rij["oordeel"] = f"tot nu toe {mart[groep]}"
            rijen.append(rij)
        groepen[groep] = {"rijen": rijen, "oordeel": _pad_oordeel(groep, rijen, d["jaar"])}
    return {"jaren": jaren, "groepen": groepen}


def _pad_oordeel(groep: str, rijen: list[dict], jaar: int) -> str:
    """The verdict on one group's path in words: the complete years, the current one and what comes next."""
    zinnen = []
    klaar = [r for r in rijen if r["gehuisvest"] is not None and r["prognose"] is None]
    for r in klaar:
        zinnen.append(
            f"In {r['jaar']} {'gehaald' if r['oordeel'] == 'gehaald' else 'niet gehaald'}: "
            f"{getal(r['gehuisvest'])} gehuisvest tegen een afspraak van {getal(r['afspraak'])}."
        )
    huidig = next((r for r in rijen if r["prognose"] is not None), None)
    tempo = None
    if huidig:
        tempo = huidig["prognose"].waarde
        zinnen.append(
            f"In {huidig['jaar']} tot nu toe {getal(huidig['gehuisvest'])} tegen "
            f"{getal(huidig['naar_rato'], 1)} naar rato; bij dit tempo wordt het {huidig['prognose'].woorden()}, "
            f"tegen een afspraak van {getal(huidig['afspraak'])}."
        )
    volgende = next((r for r in rijen if r["jaar"] > jaar and r["gehuisvest"] is None), None)
    laatste = next((r for r in reversed(rijen) if r["jaar"] <= jaar), None)
    if volgende and laatste and volgende["afspraak"] != laatste["afspraak"]:
        richting = "stijgt" if volgende["afspraak"] > laatste["afspraak"] else "daalt"
        zin = f"Vanaf {volgende['jaar']} {richting} de afspraak naar {getal(volgende['afspraak'])} per jaar"
        if tempo is not None and tempo < volgende["afspraak"]:
            zin += f": {getal(volgende['afspraak'] - tempo)} meer dan het tempo van nu"
        zinnen.append(zin + ".")
    return f"{groep}: " + " ".join(zinnen) if zinnen else f"{groep}: nog geen cijfers."


def besluitpunten(d: dict, rijen: list[dict], pad: dict, regels: dict[str, dict]) -> list[dict]:
    """What the board is asked to decide, each with the rule that put it there (``grond``)."""
    punten = [
        {
            "tekst": f"Kennis te nemen van de monitor per peildatum {datum_nl(d['peildatum'])}.",
            "grond": "",
        }
    ]
    comp = regels["compensatie"]
    te_ver = [
        r
        for r in rijen
        if r["saldo"] is not None
        and r["cumulatief_opgave_naar_rato"]
        and -r["saldo"] >= comp["tekort_huishoudens"]
        and -100 * r["saldo"] / r["cumulatief_opgave_naar_rato"] >= comp["tekort_pct"]
    ]
    if te_ver:
        namen = opsomming([f"{r['gemeente_naam']} ({_teken(r['saldo'])})" for r in te_ver])
        punten.append(
            {
                "tekst": f"Te bespreken of compensatieafspraken nodig zijn met {namen}: "
                f"{'deze gemeente loopt' if len(te_ver) == 1 else 'deze gemeenten lopen'} sinds 1 januari "
                f"{d['vanaf']} ver achter op het eigen deel (compensatiesaldo).",
                "grond": f"Besluitregel van de regio: een tekort van ten minste "
                f"{getal(comp['tekort_huishoudens'])} huishoudens én ten minste {getal(comp['tekort_pct'])}% "
                f"van de opgave sinds {d['vanaf']}.",
                "gemeenten": [r["gemeente_code"] for r in te_ver],
            }
        )
    drempel = regels["ingroeipad"]["achterstand_pct"]
    for groep, info in pad["groepen"].items():
        huidig = next((r for r in info["rijen"] if r["prognose"] is not None), None)
        if huidig is None or not huidig["naar_rato"]:
            continue
        achter = _oordelen(d, "groep", "ingroeipad_achterstand_pct", huidig["jaar"])[groep]
        if achter >= drempel:
            punten.append(
                {
                    "tekst": f"De gemeenten van de groep {groep} te vragen om een maatregel om het ingroeipad "
                    f"te halen: in {huidig['jaar']} tot nu toe {getal(huidig['gehuisvest'])} gehuisvest tegen "
                    f"{getal(huidig['naar_rato'], 1)} naar rato ({getal(achter)}% achter); bij dit tempo "
                    f"{huidig['prognose'].woorden()} van de afgesproken {getal(huidig['afspraak'])}.",
                    "grond": f"Besluitregel van de regio: een groep die {getal(drempel)}% of meer achterloopt "
                    "op het ingroeipad van dit jaar.",
                    "groep": groep,
                }
            )
    plafond, aandeel = d["regio"].get("max_aandeel_urgent_pct"), d.get("aandeel_urgent")
    if not leeg(plafond) and aandeel is not None and aandeel > plafond:
        punten.append(
            {
                "tekst": f"Te bespreken dat {getal(d.get('aandeel_urgent_afgerond', aandeel), 1)}% van de toewijzingen in {d['jaar']} naar "
                f"wettelijk urgenten ging, boven het plafond van {getal(plafond)}% dat de regio aanhoudt.",
                "grond": "Het plafond van de regio voor het aandeel urgent.",
            }
        )
    return punten


def kernboodschap(d: dict, rijen: list[dict], totaal: dict, pad: dict, punten: list[dict]) -> list[str]:
    """Three to five sentences, each on one named basis, each consistent with the op-koers table."""
    zinnen = []
    met = [r for r in rijen if r["oordeel"]]
    per = {o: [r for r in met if r["oordeel"] == o] for o in OORDELEN}
    if met:
        achter = per["achter"]
        zin = f"Sinds 1 januari {d['vanaf']} (tot en met {datum_nl(d['data_tot'])}) " + (
            f"{'loopt' if len(achter) == 1 else 'lopen'} {len(achter)} van de {len(met)} gemeenten achter op het "
            f"eigen deel (compensatiesaldo): {opsomming([r['gemeente_naam'] for r in achter])}"
            if achter
            else f"loopt geen van de {len(met)} gemeenten achter op het eigen deel (compensatiesaldo)"
        )
        delen = []
        if per["voor"]:
            delen.append(
                opsomming([f"{r['gemeente_naam']} ({_teken(r['saldo'])})" for r in per["voor"]])
                + f" {'huisvestte' if len(per['voor']) == 1 else 'huisvestten'} meer dan het eigen deel"
            )
        if per["op koers"]:
            delen.append(
                opsomming([f"{r['gemeente_naam']} ({_teken(r['saldo'])})" for r in per["op koers"]])
                + f" {'zit' if len(per['op koers']) == 1 else 'zitten'} op het eigen deel"
            )
        zinnen.append(zin + ("; " + " en ".join(delen) if delen else "") + ".")
    if rijen and totaal["opgave_naar_rato"] is not None:
        zin = (
            f"In {d['jaar']} huisvestten de gemeenten tot nu toe samen {getal(totaal['gehuisvest'])} wettelijk urgente "
            f"woningzoekenden, tegen een opgave naar rato van {getal(totaal['opgave_naar_rato'], 1)}"
        )
        if per["achter"] and per["voor"]:
            zin += (
                ": het regionale totaal verbergt dat de meeste gemeenten achterlopen"
                if len(per["achter"]) > len(met) / 2
                else ": het regionale totaal verbergt de verschillen tussen gemeenten"
            )
        zinnen.append(zin + ".")
    delen, verwacht = [], []
    for groep, info in pad["groepen"].items():
        huidig = next((r for r in info["rijen"] if r["prognose"] is not None), None)
        if huidig is None:
            continue
        stand = huidig["oordeel"].removeprefix("tot nu toe ")
        delen.append(
            f"de groep {groep} {'op schema' if stand == 'op schema' else stand + ' op schema'} "
            f"({getal(huidig['gehuisvest'])} tegen {getal(huidig['naar_rato'], 1)} naar rato)"
        )
        if stand == "achter":
            p = huidig["prognose"]
            verwacht.append(
                f"komt de groep {groep} dit jaar uit op ongeveer {getal(p.waarde)} van de afgesproken "
                f"{getal(huidig['afspraak'])} (waarschijnlijk tussen {getal(p.laag)} en {getal(p.hoog)})"
            )
    if delen:
        zin = f"Op het ingroeipad van {d['jaar']} zit {opsomming(delen)}"
        zinnen.append(zin + (f"; bij dit tempo {opsomming(verwacht)}." if verwacht else "."))
    plafond, aandeel = d["regio"].get("max_aandeel_urgent_pct"), d.get("aandeel_urgent")
    if not leeg(plafond) and aandeel is not None and len(zinnen) < 4:
        zinnen.append(
            f"Van alle toewijzingen in {d['jaar']} ging {getal(d.get('aandeel_urgent_afgerond', aandeel), 1)}% naar wettelijk urgenten, "
            f"{'boven' if aandeel > plafond else 'onder'} het plafond van {getal(plafond)}% van de regio."
        )
    vragen = len(punten) - 1
    zinnen.append(
        f"Het {d['regio']['bestuur']} wordt gevraagd "
        + (
            f"over {vragen} {'punt' if vragen == 1 else 'punten'} te besluiten (hieronder)."
            if vragen
            else "kennis te nemen van de monitor; de besluitregels vragen dit keer geen besluit."
        )
    )
    return zinnen[:5]


def begrippen(d: dict, pad: dict, regels: dict[str, dict], maanden: int) -> list[tuple[str, str]]:
    """The begrippenlijst: the words of the report a board member may not know, explained with this report's
    own figures."""
    marge = regels["op_koers"]["marge_huishoudens"]
    voorbeeld = next(
        (int(o) for o in d["fair_share_gemeente"]["opgave"] if not leeg(o) and int(o) * maanden % 12), None
    )
    rato = (
        f"De jaaropgave naar verhouding van de maanden met cijfers: het jaar {d['jaar']} telt {maanden} "
        f"maanden, dus telt {maanden}/12 van de jaaropgave"
        + (
            f" (een opgave van {voorbeeld} per jaar is {getal(voorbeeld * maanden / 12, 1)})"
            if voorbeeld
            else ""
        )
        + ". Daarom hebben opgaven naar rato één decimaal; mensen tellen we in hele aantallen."
    )
    perioden = {}
    for groep, info in pad["groepen"].items():
        for r in info["rijen"]:
            perioden.setdefault(groep, {}).setdefault(r["afspraak"], []).append(r["jaar"])
    paden = "; ".join(
        f"{groep} "
        + " en ".join(
            f"{getal(a)} per jaar in {min(js)}–{max(js)}" if len(js) > 1 else f"{getal(a)} in {js[0]}"
            for a, js in per.items()
        )
        for groep, per in perioden.items()
    )
    return [
        (
            "Fair share",
            "Het eerlijke deel van elke gemeente in de huisvesting van wettelijk urgente woningzoekenden: de "
            "opgave per gemeente en categorie uit het regionale afsprakenkader.",
        ),
        ("Naar rato", rato),
        (
            "Ingroeipad",
            "De afgesproken groei naar de eerlijke verdeling, per groep van gemeenten een aantal per jaar"
            + (f": {paden}." if paden else "."),
        ),
        (
            "Compensatiesaldo",
            f"Wat een gemeente sinds 1 januari {d['vanaf']} meer (plus) of minder (min) huisvestte dan haar "
            "opgave naar rato over die hele periode. Dit is de basis voor 'achter', 'op koers' en 'voor' op "
            "deze pagina en voor eventuele compensatieafspraken.",
        ),
        (
            "Op koers, achter, voor",
            f"Op koers: het compensatiesaldo ligt binnen {getal(marge)} huishouden van nul; achter: verder "
            "eronder; voor: verder erboven.",
        ),
        (
            "Peildatum",
            f"De datum waarop de monitor de stand opmaakt ({datum_nl(d['peildatum'])}); de cijfers lopen tot "
            f"en met de dag ervoor ({datum_nl(d['data_tot'])}). Wat later gebeurde of werd gemeld, telt in dit "
            "rapport nog niet.",
        ),
        (
            "Telt mee",
            "Een wettelijk urgente toewijzing telt mee voor het afsprakenkader, tenzij de regio haar uitzondert "
            "(bijvoorbeeld een categorie waarvoor een gemeente in een andere regio samenwerkt). Wat niet meetelt, "
            "zit wel in het aandeel urgent (alle wettelijke categorieën samen).",
        ),
        (
            "Aandeel urgent",
            "Het deel van alle toewijzingen dat naar wettelijk urgente woningzoekenden ging, alle wettelijke "
            "categorieën samen; dit aandeel staat tegenover het plafond van de regio. Tabel 1 toont daarnaast "
            "het aandeel van alleen wat meetelt.",
        ),
        (
            "Verwachting heel jaar",
            "Het aantal aan het eind van het jaar als het tempo van de maanden tot nu toe doorgaat, met de "
            f"grenzen waarbinnen de uitkomst in ten minste {getal(regels['prognose']['zekerheid_pct'])} van de 100 gevallen "
            "valt: kleine aantallen schommelen van maand tot maand.",
        ),
    ]


def totalen(frame: pd.DataFrame, kolommen: list[str]) -> dict[str, float | None]:
    """The totals row of a report table: the sum of each column (None when a column has no values)."""
    return {k: (None if frame.empty or frame[k].isna().all() else frame[k].sum()) for k in kolommen}


def verdeelsleutels(d: dict) -> dict:
    """Section 8 reduced to what it shows: per gemeente the agreed yearly figure of the current period beside
    what the region's total would give it under each other key (the keys `afspraak_*` compare the agreement
    with itself and are left out of the table), with the date each key's figures refer to."""
    sl = d["sleutels"]
    if sl.empty:
        return {"sleutels": [], "rijen": [], "totaal": None, "uitleg": "", "data": []}
    andere = [k for k in dict.fromkeys(sl["verdeelsleutel"]) if not str(k).startswith("afspraak")]
    totaal = int(sl["regionaal_totaal"].iloc[0]) if "regionaal_totaal" in sl else d["regionaal_totaal"]
    rijen = []
    for code, part in sl.groupby("gemeente_code", sort=False):
        per = part.set_index("verdeelsleutel")
        first = per.iloc[0]
        afspraak = float(first["opgave_bij_regionaal_totaal"] - first["verschil_met_afspraak"])
        rijen.append(
            {
                "gemeente_code": code,
                "naam": d["namen"].get(code, code),
                "afspraak": afspraak,
                "sleutels": {
                    k: (
                        float(per.loc[k, "opgave_bij_regionaal_totaal"]),
                        float(per.loc[k, "verschil_met_afspraak"]),
                    )
                    for k in andere
                    if k in per.index
                },
            }
        )
    groepen = [
        f"{groep} {getal(r['afspraak'])}"
        for groep, info in d["kern"]["ingroeipad"]["groepen"].items()
        for r in info["rijen"]
        if r["jaar"] == d["jaar"]
    ]
    data = []
    for k in andere:
        dates = sl.loc[sl["verdeelsleutel"] == k, ["gemeente_code", "peildatum_sleutel"]].dropna()
        if dates.empty:
            continue
        gewoon = dates["peildatum_sleutel"].mode().iloc[0]
        anders = [
            f"{d['namen'].get(c, c)} {datum_nl(p)}" for c, p in dates.itertuples(index=False) if p != gewoon
        ]
        label = d["labels"]["verdeelsleutel"].get(k, k)
        data.append(
            f"{label}: cijfers van {datum_nl(gewoon)}" + (f" ({', '.join(anders)})" if anders else "")
        )
    return {
        "sleutels": [(k, d["labels"]["verdeelsleutel"].get(k, k)) for k in andere],
        "rijen": rijen,
        "totaal": totaal,
        "groepen": opsomming(groepen),
        "som_afspraak": sum(r["afspraak"] for r in rijen),
        "data": data,
    }
