"""Deterministic sample landing folder for a region (``fairshare sample [--regio R]``).

Deliveries of the allocations and committee registers extracted 2025-04-02, 2025-11-03, 2026-04-02 and
2026-11-03 (cumulative, earlier ones with rows a later one corrects); planregister snapshots
2025-03, 2025-10, 2026-03 and 2026-10. ``scale`` multiplies every volume, ``years`` sets the span.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from basics import region
from ingest.config import TOEWIJZINGEN, load_config, source_folders
from ingest.text import match_key
from tools.sample import files as F
from tools.sample import model

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


def _category_columns(
    fmt: F.Formatter, cat: np.ndarray, sub: np.ndarray, one_column: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The urgentiecategorie and subcategorie cells: uitstroom in one column or split in two."""
    n = len(cat)
    ucat, usub = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    has = pd.notna(pd.Series(cat, dtype=object)).to_numpy()
    uit = has & (cat == "uitstroom")
    other = has & ~uit
    ucat[other] = fmt.vocabs(F.CATEGORY_TEXT, cat[other])
    sub_u = np.where(pd.isna(pd.Series(sub[uit], dtype=object)).to_numpy(), "onbekend", sub[uit]).astype(
        object
    )
    text = fmt.vocabs(F.SUB_TEXT, sub_u)
    if one_column:
        ucat[uit] = text
    else:
        known = sub_u != "onbekend"
        ucat[uit] = np.where(known, "Uitstroom instelling", text)
        usub[uit] = np.where(known, text, "")
    return ucat, usub


def _toewijzingen_frame(
    allocs: pd.DataFrame, fmt: F.Formatter, cols: list[str], latest: bool, rng
) -> pd.DataFrame:
    n = len(allocs)
    cat = allocs["urgentiecategorie"].to_numpy(dtype=object)
    sub = allocs["subcategorie"].to_numpy(dtype=object).copy()
    herkomst = allocs["herkomstgemeente"].to_numpy(dtype=object).copy()
    if not latest:  # corrected in a later delivery
        sub[(cat == "uitstroom") & (rng.random(n) < 0.05)] = "onbekend"
        herkomst[pd.notna(pd.Series(cat, dtype=object)).to_numpy() & (rng.random(n) < 0.04)] = "onbekend"
    ucat, usub = _category_columns(fmt, cat, sub, one_column=fmt.v % 2 == 1)
    values = {
        "toewijzing_id": allocs["toewijzing_id"].to_numpy(dtype=object),
        "corporatie": allocs["corporatie"].to_numpy(),
        "gemeente": fmt.gemeenten(allocs["gemeente"]),
        "toewijzingsdatum": fmt.dates(allocs["toewijzingsdatum"]),
        "netto_huur": fmt.amounts(allocs["netto_huur"]),
        "aantal_kamers": fmt.counts(allocs["aantal_kamers"]),
        "label": fmt.vocabs(F.LABEL_TEXT, allocs["label"]),
        "gepersonaliseerde_huur": fmt.booleans(allocs["gepersonaliseerde_huur"]),
        "toewijzingsroute": fmt.vocabs(F.ROUTE_TEXT, allocs["toewijzingsroute"]),
        "huisvestingsvergunning_urgentie": fmt.booleans(allocs["huisvestingsvergunning_urgentie"]),
        "herkomstgemeente": fmt.herkomsten(herkomst),
        "inschrijfnummer": fmt.inschrijfnummers(allocs["inschrijfnummer"]),
        "postcode": allocs["postcode"].to_numpy(),
        "huishoudgrootte": fmt.counts(allocs["huishoudgrootte"]),
        "leeftijd": fmt.counts(allocs["leeftijd"]),
        "Opmerking": np.full(n, "", dtype=object),
        "urgentiecategorie": ucat,
        "subcategorie": usub,
    }
    return pd.DataFrame({c: values[c] for c in cols})


def _bad_toewijzingen(cols: list[str], template: list, stamp: str, n: int, xlsx: bool) -> list[list]:
    """Extra bad rows, one kind after another (sources.md §6)."""
    kinds = [
        ("toewijzingsdatum", "31-02-2025"),
        ("netto_huur", "45,00"),
        ("aantal_kamers", "0"),
        ("label", "Starters"),
        ("urgentiecategorie", "Urgent wegens sloop"),
        ("gemeente", "Utrecht"),
        ("aantal_kamers", "2,5"),
        ("corporatie", ""),
        ("netto_huur", "#REF!" if xlsx else "onbekend"),
        ("toewijzingsdatum", "gisteren"),
        ("toewijzing_id", None),
    ]
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


def _with_bad_rows(frame: pd.DataFrame, bad: list[list], rng, mix: int = 0) -> pd.DataFrame:
    """Append the bad rows; with ``mix``, shuffle them in among the last ``mix`` good rows."""
    out = pd.concat([frame, pd.DataFrame(bad, columns=frame.columns, dtype=object)], ignore_index=True)
    if mix:
        tail = np.arange(max(0, len(frame) - mix), len(out))
        order = np.concatenate([np.arange(tail[0] if len(tail) else 0), rng.permutation(tail)])
        out = out.iloc[order].reset_index(drop=True)
    return out


def _layout(file_no: int, wanted: str, n_rows: int, pii: bool = False) -> F.Layout:
    """The file's layout; a table over Excel's row limit is a csv whatever the supplier prefers."""
    return F.layout_for(file_no, wanted if F.fits_excel(n_rows) else "csv", pii=pii)


def write_toewijzingen(out: Path, allocs: pd.DataFrame, rng, summary: SampleSummary, label: str) -> None:
    """The allocations' deliveries; ``label`` is the region's name for the corporations that deliver them."""
    variants = F.headers_for(TOEWIJZINGEN)
    dates = pd.to_datetime(allocs["toewijzingsdatum"])
    for i, extraction in enumerate(EXTRACTIONS):
        latest = i == len(EXTRACTIONS) - 1
        part = allocs[dates <= _cutoff(extraction)]
        if (
            part.empty
        ):  # an extraction before the first allocation of a short sample (--years 1): none delivered
            continue
        layout = _layout(
            i, "xlsx" if i % 2 == 0 else "csv", len(part) + max(11, round(BAD_SHARE * len(part))) + 1
        )
        fmt = F.Formatter(layout, rng)
        canonical = [
            c for c in variants if not (i == 0 and c in ("huisvestingsvergunning_urgentie", "leeftijd"))
        ]
        header = [F.pick(variants[c], i + k) for k, c in enumerate(canonical)]
        if i % 2:
            header.append("Opmerking")
            canonical.append("Opmerking")
        frame = _toewijzingen_frame(part, fmt, canonical, latest, rng)
        n_bad = max(11, round(BAD_SHARE * len(frame)))
        bad = _bad_toewijzingen(
            canonical,
            frame.iloc[len(frame) // 2].tolist(),
            extraction.isoformat(),
            n_bad,
            layout.fmt == "xlsx",
        )
        frame = _with_bad_rows(frame, bad, rng, mix=40)
        frame.columns = header
        path = F.write_table(
            out / source_folders()[TOEWIJZINGEN] / f"toewijzingen_{extraction.isoformat()}.xlsx",
            frame,
            layout,
            f"{label} toewijzingen sociale huur, extractie {extraction:%d-%m-%Y}",
        )
        summary.files.append(path)
        summary.rows[TOEWIJZINGEN] = summary.rows.get(TOEWIJZINGEN, 0) + len(frame)
        summary.bad_rows[TOEWIJZINGEN] = summary.bad_rows.get(TOEWIJZINGEN, 0) + len(bad)


def _register_frame(
    part: pd.DataFrame,
    fmt: F.Formatter,
    canonical: list[str],
    commissie_cell: str,
    cutoff: pd.Timestamp,
    latest: bool,
    one_column: bool,
    rng,
) -> pd.DataFrame:
    n = len(part)
    besluitdatum = part["besluitdatum"]
    decided = (
        besluitdatum.notna() & (besluitdatum <= cutoff) & (part["besluit"] != "in_behandeling")
    ).to_numpy()
    besluit = np.where(decided, part["besluit"].to_numpy(dtype=object), "in_behandeling")
    herkomst = part["herkomstgemeente"].to_numpy(dtype=object).copy()
    if not latest:
        herkomst[rng.random(n) < 0.03] = "onbekend"
    with_category = decided & np.isin(besluit, ["toegekend", "afgewezen"])
    ucat, usub = np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    ucat[with_category], usub[with_category] = _category_columns(
        fmt,
        part["urgentiecategorie"].to_numpy(dtype=object)[with_category],
        part["subcategorie"].to_numpy(dtype=object)[with_category],
        one_column,
    )
    refused = decided & (besluit == "afgewezen")
    grond = np.full(n, "", dtype=object)
    grond[refused] = fmt.vocabs(F.GROND_TEXT, part["afwijzingsgrond"].to_numpy(dtype=object)[refused])
    cells = {
        "registratie_id": part["registratie_id"].to_numpy(dtype=object),
        "commissie": np.full(n, commissie_cell, dtype=object),
        "aanvraagdatum": fmt.dates(part["aanvraagdatum"]),
        "besluitdatum": np.where(decided, fmt.dates(besluitdatum), ""),
        "besluit": fmt.vocabs(F.BESLUIT_TEXT, besluit),
        "afwijzingsgrond": grond,
        "herkomstgemeente": fmt.herkomsten(herkomst),
        "contra_indicatie": fmt.booleans(part["contra_indicatie"].fillna(False).astype(bool)),
        "geldig_tot": np.where(decided, fmt.dates(part["geldig_tot"]), ""),
        "inschrijfnummer": fmt.inschrijfnummers(part["inschrijfnummer"]),
        "urgentiecategorie": ucat,
        "subcategorie": usub,
    }
    frame = pd.DataFrame({c: cells[c] for c in canonical})
    if fmt.layout.pii:
        born = np.datetime64("1960-01-01") + rng.integers(0, 15000, n).astype("timedelta64[D]")
        frame["Naam"] = rng.choice(F.FAKE_NAMES, n).astype(object)
        frame["BSN"] = rng.integers(100_000_000, 999_999_999, n).astype(str).astype(object)
        frame["Geboortedatum"] = fmt.dates(born)
    frame["Behandelaar"] = "team wonen"
    return frame


def write_registers(
    out: Path,
    regs: pd.DataFrame,
    rng,
    summary: SampleSummary,
    commissies: list[dict[str, str]],
    texts: dict[str, str],
) -> None:
    """One register per committee (rows of the region's seed commissies) and extraction; ``texts``: how its
    Commissie column names each committee (``commissie_texts``)."""
    variants = F.headers_for("urgentie")
    bad_kinds = [
        "besluit_voor_aanvraag",
        "toegekend_zonder_categorie",
        "afgewezen_zonder_grond",
        "besluit_zonder_datum",
        "onbekend_besluit",
        "datum_onleesbaar",
        "dubbel_id",
    ]
    file_no = 0
    for i, extraction in enumerate(EXTRACTIONS):
        cutoff = _cutoff(extraction)
        latest = i == len(EXTRACTIONS) - 1
        for j, c in enumerate(commissies):
            commissie = c["commissie"]
            file_no += 1
            part = regs[(regs["commissie"] == commissie) & (regs["aanvraagdatum"] <= cutoff)]
            layout = _layout(file_no, "xlsx" if (i + j) % 3 != 1 else "csv", len(part) + 2, pii=j % 3 == 0)
            fmt = F.Formatter(layout, rng)
            canonical = [k for k in variants if k != "commissie" or c["soort"] == "advies" or j % 4 == 0]
            one_column = (i + j) % 2 == 1
            if one_column:
                canonical.remove("subcategorie")
            header = [F.pick(variants[c], file_no + k) for k, c in enumerate(canonical)]
            commissie_cell = texts[commissie]
            frame = _register_frame(part, fmt, canonical, commissie_cell, cutoff, latest, one_column, rng)
            # One bad row in some files, kinds rotating: under 1% of the source's rows in all.
            if len(frame) and file_no % 2 == 0:
                kind = bad_kinds[(file_no // 2) % len(bad_kinds)]
                template = frame.iloc[0].tolist()
                bad = _bad_register(
                    kind, canonical, template[: len(canonical)], f"{commissie[:3].upper()}-X{i}{j}", fmt
                )
                frame = _with_bad_rows(frame, [b + template[len(canonical) :] for b in bad], rng)
                summary.bad_rows["urgentie"] = summary.bad_rows.get("urgentie", 0) + len(bad)
            frame.columns = header + list(frame.columns[len(canonical) :])
            path = F.write_table(
                out / "urgentie" / f"{commissie}_{extraction.isoformat()}.xlsx",
                frame,
                layout,
                f"Register urgentiecommissie {commissie}, extractie {extraction:%d-%m-%Y}",
            )
            summary.files.append(path)
            summary.rows["urgentie"] = summary.rows.get("urgentie", 0) + len(frame)


def commissie_text(c: dict[str, str], lookup: dict[str, str]) -> str:
    """How a register's Commissie column names its committee (a row of seed commissies): a text that ingest's
    committee lookup (``IngestConfig.commissie_lookup``) takes back to this committee, by construction.

    A gemeente's own committee goes by the gemeente's name where its key is that name, any other by its
    label; where that names another committee (or nothing), its name, an alias or its key does."""
    key = c["commissie"]
    by_name = {n.lower(): n for n in F.NAMES.values()}
    first = by_name.get(key, key) if c["soort"] == "gemeente" else c.get("label")
    for text in (first, c.get("label"), c.get("naam"), *(c.get("aliassen") or "").split(";"), key):
        if text and lookup.get(match_key(text)) == key:
            return text
    raise model.SampleError(
        f"seeds/commissies.csv: no name of committee '{key}' (its key, naam, label or aliassen) leads back to it"
    )


def commissie_texts(commissies: list[dict[str, str]], regio: str | None) -> dict[str, str]:
    """committee key -> its Commissie text (``commissie_text``) for every committee of the region."""
    lookup = load_config(regio=regio).commissie_lookup
    return {c["commissie"]: commissie_text(c, lookup) for c in commissies}


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


def write_planregister(
    out: Path, snapshots: dict[dt.date, pd.DataFrame], rng, summary: SampleSummary, regio_naam: str
) -> None:
    variants = F.headers_for("planregister")
    bad_kinds = [
        ("nultreden", "_more"),
        ("aantal_woningen", "-5"),
        ("status", "Geschrapt"),
        ("gemeente", "Ede"),
        ("sociale_huur_tot_aftoppingsgrens", "_more_social"),
        ("oplevering_jaar", "1999"),
    ]
    for i, (peil, plans) in enumerate(snapshots.items()):
        year, month = peil.year, peil.month
        layout = _layout(i + 1, "xlsx" if i != 1 else "csv", len(plans) + 2)
        fmt = F.Formatter(layout, rng)
        canonical = list(variants)
        header = [F.pick(variants[c], i + k) for k, c in enumerate(canonical)]
        n = len(plans)
        cells = {
            "plan_id": plans["plan_id"].to_numpy(dtype=object),
            "plannaam": plans["plannaam"].to_numpy(dtype=object),
            "gemeente": fmt.gemeenten(plans["gemeente"]),
            "status": fmt.vocabs(F.STATUS_TEXT, plans["status"]),
            "oplevering_jaar": fmt.counts(plans["oplevering_jaar"]),
            "transformatie": fmt.booleans(plans["transformatie"]),
        }
        for c in (
            "aantal_woningen",
            "sociale_huur",
            "sociale_huur_tot_aftoppingsgrens",
            "middenhuur",
            "betaalbare_koop",
            "nultreden",
            "zorggeschikt",
            "geclusterd",
        ):
            value = plans[c].to_numpy()
            cells[c] = np.where(
                (value == 0) & (rng.random(n) < 0.2), "", fmt.counts(value)
            )  # a missing count is 0
        frame = pd.DataFrame({c: cells[c] for c in canonical})
        rows = []
        n_bad = 2
        for k in range(n_bad):
            col, value = bad_kinds[(2 * i + k) % len(bad_kinds)]
            row = frame.iloc[k].tolist()
            row[canonical.index("plan_id")] = f"X-{year}{month:02d}-{k}"
            if value == "_more":
                value = fmt.count(int(plans.iloc[k]["aantal_woningen"]) + 10)
            if value == "_more_social":
                value = fmt.count(int(plans.iloc[k]["sociale_huur"]) + 3)
            row[canonical.index(col)] = value
            rows.append(row)
        summary.bad_rows["planregister"] = summary.bad_rows.get("planregister", 0) + n_bad
        frame = _with_bad_rows(frame, rows, rng)
        frame.columns = header
        path = F.write_table(
            out / "planregister" / f"planregister_{year}-{month:02d}.xlsx",
            frame,
            layout,
            f"Planregister Wonen {regio_naam}, peildatum {peil:%d-%m-%Y}",
        )
        summary.files.append(path)
        summary.rows["planregister"] = summary.rows.get("planregister", 0) + len(frame)


def write_sample(
    out: Path, seed: int = 2025, scale: int = 1, years: int = 5, regio: str | None = None
) -> SampleSummary:
    """Write the sample landing folder of a region (default: FAIRSHARE_REGIO, else the default region);
    the same region, seed, scale and years give the same files."""
    regio = regio or region.current()
    rng = np.random.default_rng(seed)
    ref = model.load_reference(regio)
    F.use_region(regio)
    # Before anything is written: a pack none of whose names leads back to a committee stops here.
    texts = commissie_texts(ref.commissies, regio)
    start_year = model.END.year - years + 1
    allocs = model.allocations(rng, ref, scale, start_year)
    regs = model.registrations(rng, ref, allocs, scale, dt.date(start_year, 1, 1))
    snapshots = model.plans(
        rng, ref, scale, [model.dt.date(y, 3, 31) if m == 3 else dt.date(y, 10, 31) for y, m in SNAPSHOTS]
    )
    summary = SampleSummary(out=out)
    write_toewijzingen(out, allocs, rng, summary, region.load_regio(regio).samenwerkend_label)
    write_registers(out, regs, rng, summary, ref.commissies, texts)
    write_planregister(out, snapshots, rng, summary, ref.regio_naam)
    return summary
