"""Deterministic sample landing folder for Regio Amersfoort (``fairshare sample``).

SWEV deliveries and committee registers extracted 2025-04-02, 2025-11-03, 2026-04-02 and
2026-11-03 (cumulative, earlier ones with rows a later one corrects); planregister snapshots
2025-03, 2025-10, 2026-03 and 2026-10. ``scale`` multiplies every volume, ``years`` sets the span.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fairshare.sample import files as F
from fairshare.sample import model

EXTRACTIONS = [dt.date(2025, 4, 2), dt.date(2025, 11, 3), dt.date(2026, 4, 2), dt.date(2026, 11, 3)]
SNAPSHOTS = [(2025, 3), (2025, 10), (2026, 3), (2026, 10)]
BAD_SHARE = 0.004  # bad rows per file, well under the gate's 2%


@dataclass
class SampleSummary:
    """What was written, for the command's output and the tests."""

    out: Path
    files: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    bad_rows: dict[str, int] = field(default_factory=dict)


def _cutoff(extraction: dt.date) -> pd.Timestamp:
    """A delivery holds data up to the end of the month before its extraction."""
    return pd.Timestamp(extraction.replace(day=1)) - pd.Timedelta(days=1)


def _swev_rows(allocs: pd.DataFrame, fmt: F.Formatter, cols: list[str], latest: bool, rng) -> list[list]:
    one_column = fmt.v % 2 == 1
    out = []
    for r in allocs.itertuples(index=False):
        cat, sub, herkomst = r.urgentiecategorie, r.subcategorie, r.herkomstgemeente
        if not latest and cat == "uitstroom" and rng.random() < 0.05:
            sub = "onbekend"  # corrected in a later delivery
        if not latest and cat is not None and rng.random() < 0.04:
            herkomst = "onbekend"
        values = {
            "toewijzing_id": r.toewijzing_id, "corporatie": r.corporatie, "gemeente": fmt.gemeente(r.gemeente),
            "toewijzingsdatum": fmt.date(r.toewijzingsdatum), "netto_huur": fmt.amount(r.netto_huur),
            "aantal_kamers": fmt.count(r.aantal_kamers), "label": fmt.vocab(F.LABEL_TEXT, r.label),
            "gepersonaliseerde_huur": fmt.boolean(r.gepersonaliseerde_huur),
            "toewijzingsroute": fmt.vocab(F.ROUTE_TEXT, r.toewijzingsroute),
            "huisvestingsvergunning_urgentie": fmt.boolean(r.huisvestingsvergunning_urgentie),
            "herkomstgemeente": fmt.herkomst(herkomst), "inschrijfnummer": fmt.inschrijfnummer(r.inschrijfnummer),
            "postcode": r.postcode, "huishoudgrootte": fmt.count(r.huishoudgrootte), "leeftijd": fmt.count(r.leeftijd),
            "Opmerking": "",
        }
        values.update(_category_cells(fmt, cat, sub, one_column))
        out.append([values.get(c, "") for c in cols])
    return out


def _category_cells(fmt: F.Formatter, cat, sub, one_column: bool) -> dict[str, str]:
    if cat is None or (isinstance(cat, float) and np.isnan(cat)):
        return {"urgentiecategorie": "", "subcategorie": ""}
    if cat == "uitstroom":
        text = fmt.vocab(F.SUB_TEXT, sub or "onbekend")
        if one_column:
            return {"urgentiecategorie": text, "subcategorie": ""}
        generic = "Uitstroom instelling" if sub != "onbekend" else text
        return {"urgentiecategorie": generic, "subcategorie": text if sub != "onbekend" else ""}
    return {"urgentiecategorie": fmt.vocab(F.CATEGORY_TEXT, cat), "subcategorie": ""}


def _bad_swev(cols: list[str], template: list, stamp: str, n: int, xlsx: bool) -> list[list]:
    """Extra bad rows, one kind after another (sources.md §6)."""
    kinds = [("toewijzingsdatum", "31-02-2025"), ("netto_huur", "45,00"), ("aantal_kamers", "0"),
             ("label", "Starters"), ("urgentiecategorie", "Urgent wegens sloop"), ("gemeente", "Utrecht"),
             ("aantal_kamers", "2,5"), ("corporatie", ""), ("netto_huur", "#REF!" if xlsx else "onbekend"),
             ("toewijzingsdatum", "gisteren"), ("toewijzing_id", None)]
    rows = []
    for k in range(n):
        col, value = kinds[k % len(kinds)]
        row = list(template)
        row[cols.index("toewijzing_id")] = f"TWX-{stamp}-{k:03d}"
        if col == "toewijzing_id":  # the same id twice makes both rows bad
            row[cols.index("toewijzing_id")] = f"TWX-{stamp}-DUP"
            rows.append(list(row))
        else:
            row[cols.index(col)] = value
        rows.append(row)
    return rows


def write_swev(out: Path, allocs: pd.DataFrame, rng, summary: SampleSummary) -> None:
    variants = F.headers_for("swev")
    for i, extraction in enumerate(EXTRACTIONS):
        latest = i == len(EXTRACTIONS) - 1
        fmt_name = "xlsx" if i % 2 == 0 else "csv"
        layout = F.layout_for(i, fmt_name)
        fmt = F.Formatter(layout, rng)
        canonical = [c for c in variants if not (i == 0 and c in ("huisvestingsvergunning_urgentie", "leeftijd"))]
        header = [F.pick(variants[c], i + k) for k, c in enumerate(canonical)]
        if i % 2:
            header.append("Opmerking")
            canonical.append("Opmerking")
        part = allocs[pd.to_datetime(allocs["toewijzingsdatum"]) <= _cutoff(extraction)]
        rows = _swev_rows(part, fmt, canonical, latest, rng)
        n_bad = max(11, round(BAD_SHARE * len(rows)))
        bad = _bad_swev(canonical, rows[len(rows) // 2], extraction.isoformat(), n_bad, fmt_name == "xlsx")
        rows = rows + bad
        rng.shuffle(rows[-len(bad) - 40:])
        path = F.write_table(out / "swev" / f"toewijzingen_{extraction.isoformat()}.xlsx", header, rows, layout,
                             f"SWEV toewijzingen sociale huur, extractie {extraction:%d-%m-%Y}")
        summary.files.append(path)
        summary.rows["swev"] = summary.rows.get("swev", 0) + len(rows)
        summary.bad_rows["swev"] = summary.bad_rows.get("swev", 0) + len(bad)


def write_registers(out: Path, regs: pd.DataFrame, rng, summary: SampleSummary, commissies: list[str]) -> None:
    variants = F.headers_for("urgentie")
    bad_kinds = ["besluit_voor_aanvraag", "toegekend_zonder_categorie", "afgewezen_zonder_grond",
                 "besluit_zonder_datum", "onbekend_besluit", "datum_onleesbaar", "dubbel_id"]
    file_no = 0
    for i, extraction in enumerate(EXTRACTIONS):
        cutoff = _cutoff(extraction)
        latest = i == len(EXTRACTIONS) - 1
        for j, commissie in enumerate(commissies):
            file_no += 1
            fmt_name = "xlsx" if (i + j) % 3 != 1 else "csv"
            layout = F.layout_for(file_no, fmt_name, pii=j % 3 == 0)
            fmt = F.Formatter(layout, rng)
            canonical = [c for c in variants if c != "commissie" or commissie == "ratu" or j % 4 == 0]
            one_column = (i + j) % 2 == 1
            if one_column:
                canonical.remove("subcategorie")
            header = [F.pick(variants[c], file_no + k) for k, c in enumerate(canonical)]
            extra = (["Naam", "BSN", "Geboortedatum"] if layout.pii else []) + ["Behandelaar"]
            part = regs[(regs["commissie"] == commissie) & (regs["aanvraagdatum"] <= cutoff)]
            rows = []
            for r in part.itertuples(index=False):
                decided = pd.notna(r.besluitdatum) and r.besluitdatum <= cutoff and r.besluit != "in_behandeling"
                besluit = r.besluit if decided else "in_behandeling"
                herkomst = r.herkomstgemeente if latest or rng.random() > 0.03 else "onbekend"
                cells = {"registratie_id": r.registratie_id,
                         "commissie": "RATU" if commissie == "ratu" else F.NAMES.get(
                             next((g for g, n in F.NAMES.items() if n.lower() == commissie), ""), commissie),
                         "aanvraagdatum": fmt.date(r.aanvraagdatum),
                         "besluitdatum": fmt.date(r.besluitdatum) if decided else "",
                         "besluit": fmt.vocab(F.BESLUIT_TEXT, besluit),
                         "afwijzingsgrond": fmt.vocab(F.GROND_TEXT, r.afwijzingsgrond) if decided and besluit == "afgewezen" else "",
                         "herkomstgemeente": fmt.herkomst(herkomst),
                         "contra_indicatie": fmt.boolean(bool(r.contra_indicatie)),
                         "geldig_tot": fmt.date(r.geldig_tot) if decided else "",
                         "inschrijfnummer": fmt.inschrijfnummer(r.inschrijfnummer)}
                if decided and besluit in ("toegekend", "afgewezen"):
                    cells.update(_category_cells(fmt, r.urgentiecategorie, r.subcategorie, one_column))
                pii = [rng.choice(F.FAKE_NAMES), f"{rng.integers(100_000_000, 999_999_999)}",
                       fmt.date(dt.date(1960, 1, 1) + dt.timedelta(days=int(rng.integers(0, 15000))))]
                rows.append([cells.get(c, "") for c in canonical] + (pii if layout.pii else []) + ["team wonen"])
            # One bad row in some files, kinds rotating: under 1% of the source's rows in all.
            if rows and file_no % 2 == 0:
                kind = bad_kinds[(file_no // 2) % len(bad_kinds)]
                rows.extend(_bad_register(kind, canonical, rows[0], f"{commissie[:3].upper()}-X{i}{j}", fmt))
                summary.bad_rows["urgentie"] = summary.bad_rows.get("urgentie", 0) + (2 if kind == "dubbel_id" else 1)
            path = F.write_table(out / "urgentie" / f"{commissie}_{extraction.isoformat()}.xlsx", header + extra,
                                 rows, layout, f"Register urgentiecommissie {commissie}, extractie {extraction:%d-%m-%Y}")
            summary.files.append(path)
            summary.rows["urgentie"] = summary.rows.get("urgentie", 0) + len(rows)


def _bad_register(kind: str, cols: list[str], template: list, rid: str, fmt: F.Formatter) -> list[list]:
    row = list(template)
    set_ = lambda c, v: row.__setitem__(cols.index(c), v) if c in cols else None  # noqa: E731
    set_("registratie_id", rid)
    set_("aanvraagdatum", fmt.date(dt.date(2025, 6, 10)))
    set_("besluitdatum", fmt.date(dt.date(2025, 7, 1)))
    set_("besluit", "Toegekend")
    set_("urgentiecategorie", "Medisch")
    set_("afwijzingsgrond", "")
    if kind == "besluit_voor_aanvraag":
        set_("besluitdatum", fmt.date(dt.date(2025, 5, 1)))
    elif kind == "toegekend_zonder_categorie":
        set_("urgentiecategorie", "")
        set_("subcategorie", "")
    elif kind == "afgewezen_zonder_grond":
        set_("besluit", "Afgewezen")
    elif kind == "besluit_zonder_datum":
        set_("besluitdatum", "")
    elif kind == "onbekend_besluit":
        set_("besluit", "Misschien")
    elif kind == "datum_onleesbaar":
        set_("aanvraagdatum", "volgende week")
    elif kind == "dubbel_id":
        return [row, list(row)]
    return [row]


def write_planregister(out: Path, snapshots: dict[dt.date, pd.DataFrame], rng, summary: SampleSummary) -> None:
    variants = F.headers_for("planregister")
    bad_kinds = [("nultreden", "_more"), ("aantal_woningen", "-5"), ("status", "Geschrapt"), ("gemeente", "Ede"),
                 ("sociale_huur_tot_aftoppingsgrens", "_more_social"), ("oplevering_jaar", "1999")]
    for i, (peil, plans) in enumerate(snapshots.items()):
        year, month = peil.year, peil.month
        fmt_name = "xlsx" if i != 1 else "csv"
        layout = F.layout_for(i + 1, fmt_name)
        fmt = F.Formatter(layout, rng)
        canonical = list(variants)
        header = [F.pick(variants[c], i + k) for k, c in enumerate(canonical)]
        rows = []
        for r in plans.itertuples(index=False):
            cells = {"plan_id": r.plan_id, "plannaam": r.plannaam, "gemeente": fmt.gemeente(r.gemeente),
                     "status": fmt.vocab(F.STATUS_TEXT, r.status), "oplevering_jaar": fmt.count(r.oplevering_jaar),
                     "transformatie": fmt.boolean(bool(r.transformatie))}
            for c in ("aantal_woningen", "sociale_huur", "sociale_huur_tot_aftoppingsgrens", "middenhuur",
                      "betaalbare_koop", "nultreden", "zorggeschikt", "geclusterd"):
                value = getattr(r, c)
                cells[c] = "" if value == 0 and rng.random() < 0.2 else fmt.count(value)  # a missing count is 0
            rows.append([cells[c] for c in canonical])
        n_bad = 2
        for k in range(n_bad):
            col, value = bad_kinds[(2 * i + k) % len(bad_kinds)]
            row = list(rows[k])
            row[canonical.index("plan_id")] = f"X-{year}{month:02d}-{k}"
            if value == "_more":
                value = fmt.count(int(plans.iloc[k]["aantal_woningen"]) + 10)
            if value == "_more_social":
                value = fmt.count(int(plans.iloc[k]["sociale_huur"]) + 3)
            row[canonical.index(col)] = value
            rows.append(row)
        summary.bad_rows["planregister"] = summary.bad_rows.get("planregister", 0) + n_bad
        path = F.write_table(out / "planregister" / f"planregister_{year}-{month:02d}.xlsx", header, rows, layout,
                             f"Planregister Wonen Regio Amersfoort, peildatum {peil:%d-%m-%Y}")
        summary.files.append(path)
        summary.rows["planregister"] = summary.rows.get("planregister", 0) + len(rows)


def write_sample(out: Path, seed: int = 2025, scale: int = 1, years: int = 5) -> SampleSummary:
    """Write the sample landing folder; the same seed, scale and years give the same files."""
    rng = np.random.default_rng(seed)
    ref = model.load_reference()
    start_year = model.END.year - years + 1
    allocs = model.allocations(rng, ref, scale, start_year)
    regs = model.registrations(rng, ref, allocs, scale, dt.date(start_year, 1, 1))
    snapshots = model.plans(rng, ref, scale, [model.dt.date(y, 3, 31) if m == 3 else dt.date(y, 10, 31)
                                              for y, m in SNAPSHOTS])
    summary = SampleSummary(out=out)
    write_swev(out, allocs, rng, summary)
    commissies = [g["commissie"] for g in ref.gemeenten if g["in_afspraak"] == "true"] + ["ratu"]
    write_registers(out, regs, rng, summary, commissies)
    write_planregister(out, snapshots, rng, summary)
    return summary
