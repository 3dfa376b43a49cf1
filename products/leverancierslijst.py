"""`fairshare quarantaine`: the quarantined rows and rejected files, written for the supplier who can fix them.

Every row of ``audit.quarantaine`` becomes one row of the list, with the file, sheet, row as Excel counts it,
the column as the supplier wrote it, the reason in Dutch and what a valid value looks like, and the row's
values as the supplier typed them under their own headers where the privacy rule allows it
(``audit.quarantaine.getoond``, made by ``ingest.normalise.as_read``).

The rows are grouped per *leverancier*, the one who can fix them: for the allocations the corporation of the row
(three corporations share one export), for a register its urgency committee, for the planregister the
planregister itself. The xlsx has one sheet per leverancier rather than one file each: one list with one
cover (region, date, contents with row counts) for the data engineer who sends it, each clerk's rows on
their own tab (the list holds no personal data, so a tab can be copied out or sent as it is); the csv has
the leverancier as a column to filter on. The reasons are
stored as codes with parameters (``reden_codes``/``reden_code``, ``reden_parameters``); their Dutch text comes
from the one message table (ingest/config/redenen.yaml, ``ingest.reasons``), and the valid values from the
source contract (ingest/config/sources.yaml, vocabularies.yaml), so a new header variant or vocabulary value
shows up in the list without a code change.

Echoed text is inert: a file name or header is shown as the supplier wrote it (ingest/privacy.py lets
file paths and known headers through verbatim), but never becomes live. Every text goes into the xlsx as a
string (no formula, no link), and a csv field that a spreadsheet would evaluate (one starting with
``= + - @``, tab or carriage return) gets a single quote in front, as OWASP recommends for CSV injection.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from basics import region
from basics.dutch import datum_nl
from basics.files import XLSX_INERT, atomic_path
from ingest.config import CONFIG_DIR, TOEWIJZINGEN, ColumnSpec, IngestConfig, load_config, source_labels
from ingest.reasons import column_reason, hint, stored_parts
from warehouse import audit, data_only, lock


def bron_namen() -> dict[str, str]:
    """Source key -> its Dutch label (``label`` in ingest/config/sources.yaml) for the region of this process."""
    return source_labels(region.load_regio().samenwerkend_label)


KOLOMMEN = ["Bestand", "Blad", "Rij", "Kolom", "Reden", "Geldige waarde", "Gelezen waarden"]
CSV_KOLOMMEN = ["Bron", "Leverancier", *KOLOMMEN]
ONBEKENDE_CORPORATIE = (
    "Corporatie onbekend"  # an allocation whose landlord is not in the list (nor a near miss)
)

CSV_TRIGGER = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: a spreadsheet evaluates these


class QuarantaineError(Exception):
    """A usage problem of `fairshare quarantaine` in one sentence (exit 2); nothing has been written."""


@dataclass
class Regel:
    """One quarantined row as the supplier sees it."""

    bron: str
    pad: str
    blad: str | None
    rijnummer: int
    kolom: str
    reden: str
    geldig: str
    waarden: str
    leverancier: str = ""


def _range(col: ColumnSpec) -> str:
    parts = []
    if col.min is not None:
        parts.append(f"minimaal {col.min:g}")
    if col.max is not None:
        parts.append(f"maximaal {col.max:g}")
    if col.below is not None:
        parts.append(f"lager dan {col.below:g}")
    return " en ".join(parts)


class _Geldig:
    """What a valid value of a column looks like, from the source contract."""

    def __init__(self, config: IngestConfig):
        self.config = config
        self.vocab = yaml.safe_load((CONFIG_DIR / "vocabularies.yaml").read_text(encoding="utf-8"))

    def _labels(self, name: str, keep=lambda code: True) -> str:
        values = self.vocab[name]["values"]
        return ", ".join(next((v for v in vs if v), code) for code, vs in values.items() if keep(code))

    def describe(self, col: ColumnSpec | None) -> str:
        if col is None:
            return ""
        bereik = _range(col)
        t = col.type
        if t == "id":
            text = "een code die de rij uniek aanduidt"
        elif t == "date":
            text = "een datum, bijv. 15-03-2026 of 2026-03-15"
        elif t == "amount":
            text = "een bedrag in euro's, bijv. 612,50"
        elif t in ("count", "leeftijd"):
            text = "een geheel getal"
        elif t == "boolean":
            text = "ja of nee"
        elif t == "vocab":
            text = "een van: " + self._labels(col.vocabulary)
        elif t == "gemeente":
            text = f"een gemeente van {self.config.regio_naam}: " + ", ".join(
                g["gemeente_naam"] for g in self.config.gemeenten
            )
        elif t == "commissie":
            text = "een urgentiecommissie: " + ", ".join(self.config.commissies)
        elif t in ("categorie", "subcategorie"):
            text = "een urgentiecategorie, bijv. " + self._labels("urgentiecategorie")
        elif t == "postcode":
            text = "een Nederlandse postcode, bijv. 3811 AB"
        else:
            text = "tekst"
        if col.required:
            text += " (verplicht)"
        return f"{text}, {bereik}" if bereik else text


def _leverancier(row: dict, waarden: dict, getoond: list[dict], config: IngestConfig) -> str:
    """Who can fix the row: an allocation's corporation, the register's committee, else the source itself."""
    if row["bron"] == TOEWIJZINGEN:
        names = set(config.corporatie_lookup.values())
        corp = waarden.get("corporatie")
        if corp in names:
            return corp
        meant = next((g["bedoeld"] for g in getoond if g["kolom"] == "corporatie" and g.get("bedoeld")), None)
        return meant or ONBEKENDE_CORPORATIE  # a misspelt name goes to the corporation it misspells
    if row["bron"] == "urgentie":
        key = (
            waarden.get("commissie")
            if waarden.get("commissie") in config.commissies
            else row.get("commissie")
        )
        naam = {
            c["commissie"]: c.get("label") or c.get("naam") or c["commissie"] for c in config.commissie_rows
        }.get(key, key)
        return f"Urgentiecommissie {naam}" if naam else "Urgentiecommissie onbekend"
    return bron_namen().get(row["bron"], row["bron"])


def _gelezen(row: dict, waarden: dict, columns: dict) -> str:
    """The row's values: as the supplier's list shows them (``getoond``), or, for a row stored before there was
    that view, the stored values without pseudonyms."""
    if row.get("getoond"):
        return "; ".join(f"{g['kop']}: {g['waarde']}" for g in json.loads(row["getoond"]))
    # Pseudonyms mean nothing to the supplier: they find the row by its number.
    shown = {k: v for k, v in waarden.items() if getattr(columns.get(k), "type", None) != "pseudoniem"}
    return "; ".join(f"{k}: {v}" for k, v in shown.items())


def _regel(row: dict, config: IngestConfig, geldig: _Geldig) -> Regel:
    source = config.sources.get(row["bron"])
    columns = source.columns if source else {}
    parts = stored_parts(row["reden_codes"], row["reden_parameters"])
    getoond = json.loads(row["getoond"]) if row.get("getoond") else []
    bedoeld = {g["kolom"]: g["bedoeld"] for g in getoond if g.get("bedoeld")}
    if parts:
        koppen = [kop for _, kop, _ in parts]
        redenen = [column_reason(kolom, kop, r).render("nl") for kolom, kop, r in parts]
        hints = [
            f"{kop}: "
            + (f"bedoelt u {bedoeld[kolom]}? " if kolom in bedoeld else "")
            + (hint(r) or geldig.describe(columns.get(kolom)))
            for kolom, kop, r in parts
        ]
    else:  # stored before reasons had codes: the text as stored, until the next run reads the file again
        koppen, redenen, hints = [row["kolom"]], [row["reden"]], [""]
    waarden = json.loads(row["waarden"]) if row["waarden"] else {}
    return Regel(
        row["bron"],
        row["pad"],
        row["blad"],
        int(row["rijnummer"]),
        ", ".join(dict.fromkeys(koppen)),
        "; ".join(redenen),
        "; ".join(dict.fromkeys(hints)),
        _gelezen(row, waarden, columns),
        _leverancier(row, waarden, getoond, config),
    )


def _check_levering(
    conn: duckdb.DuckDBPyConnection, bron: str | None, levering: str, extra: str, params: list
) -> None:
    """A --levering that names no file or date the warehouse has seen is a typo: say so, with a few it knows."""
    if audit.files_seen(conn, extra, params):
        return
    known = audit.latest_loaded(conn, bron)
    van = f" of {bron}" if bron else ""
    hint = (
        (
            f"give a file as it was delivered (e.g. {', '.join(known)}), just its name, or a delivery date "
            "(YYYY-MM-DD)"
        )
        if known
        else f"the warehouse holds no loaded delivery{van} yet"
    )
    raise QuarantaineError(f"--levering {levering!r} matches no delivery{van} in the warehouse: {hint}")


def collect(
    conn: duckdb.DuckDBPyConnection,
    bron: str | None = None,
    levering: str | None = None,
    config: IngestConfig | None = None,
) -> tuple[list[Regel], list[tuple[str, str, object, str]]]:
    """The quarantined rows (of the current loads) and the rejected files, in file and row order."""
    config = config or load_config()
    geldig = _Geldig(config)
    extra, params = audit.files_filter(bron, levering)
    if levering is not None:  # an empty one too: it names nothing
        _check_levering(conn, bron, levering, extra, params)
    regels = [_regel(row, config, geldig) for row in audit.quarantined_rows(conn, extra, params)]
    afgewezen = [
        (f.bron, f.pad, f.leverdatum, f.reden_nl()) for f in audit.rejected_files(conn, extra, params)
    ]
    return regels, afgewezen


def _rij(r: Regel) -> list:
    return [r.pad, r.blad or "", r.rijnummer, r.kolom, r.reden, r.geldig, r.waarden]


@dataclass
class Omslag:
    """What the cover says: the region, the day the list was made, what was asked (``--bron``, ``--levering``)."""

    regio: str
    datum: dt.date
    bron: str | None = None
    levering: str | None = None

    def selectie(self, namen: dict[str, str]) -> str:
        parts = [namen.get(self.bron, self.bron)] if self.bron else ["alle bronnen"]
        parts.append(f"levering {self.levering}" if self.levering else "alle leveringen")
        return ", ".join(parts)


def per_leverancier(regels: list[Regel]) -> dict[str, list[Regel]]:
    """The rows per leverancier, in source order (allocations, registers, planregister), then by name, file and row."""
    order = {b: i for i, b in enumerate(bron_namen())}
    groups: dict[str, list[Regel]] = {}
    for r in sorted(
        regels, key=lambda r: (order.get(r.bron, 99), r.leverancier.casefold(), r.pad, r.rijnummer)
    ):
        groups.setdefault(r.leverancier, []).append(r)
    return groups


def csv_veld(value: object) -> object:
    """A csv field a spreadsheet shows as text: a quote before text that starts with a formula character (OWASP).

    Only text is touched: a number written as a number (a row number) is no formula and stays as it is.
    """
    return f"'{value}" if isinstance(value, str) and value.startswith(CSV_TRIGGER) else value


def _csv(path: Path, header: list[str], rows) -> None:
    # Semicolons and a BOM: a Dutch Excel opens it with the columns split and the accents right.
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(header)
        w.writerows([csv_veld(v) for v in row] for row in rows)


def _sheet_name(text: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", text).strip("'")[:31] or "Blad"  # Excel's rules for a sheet name
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:27]}_{n}"
        n += 1
    used.add(name.lower())
    return name


def write(regels: list[Regel], afgewezen: list, out: Path, omslag: Omslag | None = None) -> list[Path]:
    """Write the list as xlsx (a cover, one sheet per leverancier, a sheet of rejected files) or csv (plus
    `_afgewezen.csv`).

    The csv pair is always written together, so an earlier list's rejected files never stay beside a new list.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    namen = bron_namen()
    omslag = omslag or Omslag(region.load_regio().naam, dt.date.today())
    groups = per_leverancier(regels)
    if out.suffix.lower() == ".csv":
        side = out.with_name(f"{out.stem}_afgewezen.csv")
        rows = ([namen.get(r.bron, r.bron), r.leverancier, *_rij(r)] for rs in groups.values() for r in rs)
        _csv(out, CSV_KOLOMMEN, rows)
        _csv(
            side,
            ["Bron", "Bestand", "Leverdatum", "Reden"],
            ([namen.get(b, b), p, lever, r] for b, p, lever, r in afgewezen),
        )
        return [out, side]
    if out.suffix.lower() != ".xlsx":
        raise ValueError(f"--out must end in .xlsx or .csv, got {out.name}")
    import xlsxwriter

    try:
        with atomic_path(out) as tmp:
            _xlsx(xlsxwriter.Workbook(str(tmp), XLSX_INERT), groups, afgewezen, namen, omslag)
    except xlsxwriter.exceptions.FileCreateError as exc:  # an OSError inside: the folder cannot be written
        raise (exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc))) from None
    return [out]


TOELICHTING = [
    "Per leverancier één tabblad: de corporatie van de toewijzing, de urgentiecommissie van het",
    "register, of het planregister. Elke regel is een rij uit uw bestand die niet is ingelezen:",
    "Rij = het rijnummer zoals Excel het toont; Kolom = de kolomkop zoals in uw bestand;",
    "Reden = wat er mis is; Geldige waarde = hoe een juiste waarde eruitziet;",
    "Gelezen waarden = de rij zoals wij haar lazen, onder uw kolomkoppen. Persoonsgegevens staan er niet in:",
    "een waarde die iets over een persoon kan zeggen staat er als <tekst van 12 tekens>, een postcode met",
    "alleen de cijfers, een leeftijd als leeftijdsklasse; het inschrijfnummer staat er niet in.",
    "Lever een verbeterd bestand aan; de rijen worden dan opnieuw ingelezen.",
]


def _cover(
    wb, fmt: dict, groups: dict[str, list[Regel]], sheets: dict[str, str], afgewezen: list, namen, omslag
):
    ws = wb.add_worksheet("Toelichting")
    ws.set_column(0, 0, 34, fmt["tekst"])
    ws.set_column(1, 1, 30, fmt["tekst"])
    ws.set_column(2, 4, 14, fmt["tekst"])
    ws.write_string(0, 0, f"Niet ingelezen rijen en afgewezen bestanden, {omslag.regio}", fmt["titel"])
    for i, (label, value) in enumerate(
        [("Regio", omslag.regio), ("Datum", datum_nl(omslag.datum)), ("Selectie", omslag.selectie(namen))],
        start=2,
    ):
        ws.write_string(i, 0, label, fmt["vet"])
        ws.write_string(i, 1, value, fmt["tekst"])
    row = 6
    ws.write_string(row, 0, "Inhoud", fmt["vet"])
    row += 1
    for j, naam in enumerate(["Tabblad", "Leverancier", "Bron", "Bestanden", "Rijen"]):
        ws.write_string(row, j, naam, fmt["kop"])
    for leverancier, rs in groups.items():
        row += 1
        ws.write_string(row, 0, sheets[leverancier], fmt["tekst"])
        ws.write_string(row, 1, leverancier, fmt["tekst"])
        ws.write_string(row, 2, ", ".join(dict.fromkeys(namen.get(r.bron, r.bron) for r in rs)), fmt["tekst"])
        ws.write_number(row, 3, len({r.pad for r in rs}), fmt["getal"])
        ws.write_number(row, 4, len(rs), fmt["getal"])
    if afgewezen:
        row += 1
        ws.write_string(row, 0, "Afgewezen bestanden", fmt["tekst"])
        ws.write_string(row, 1, "per bestand, niet ingelezen", fmt["tekst"])
        ws.write_string(
            row, 2, ", ".join(dict.fromkeys(namen.get(b, b) for b, *_ in afgewezen)), fmt["tekst"]
        )
        ws.write_number(row, 3, len(afgewezen), fmt["getal"])
    row += 1
    ws.write_string(row, 0, "Totaal", fmt["vet"])
    ws.write_number(row, 3, len({r.pad for rs in groups.values() for r in rs}) + len(afgewezen), fmt["getal"])
    ws.write_number(row, 4, sum(len(rs) for rs in groups.values()), fmt["getal"])
    row += 2
    for line in TOELICHTING:
        ws.write_string(row, 0, line, fmt["regel"])
        row += 1


def _xlsx(
    workbook, groups: dict[str, list[Regel]], afgewezen: list, namen: dict[str, str], omslag: Omslag
) -> None:
    with workbook as wb:
        fmt = {
            "kop": wb.add_format(
                {"bold": True, "bg_color": "#DBE7EC", "text_wrap": True, "valign": "top", "border": 1}
            ),
            "tekst": wb.add_format({"text_wrap": True, "valign": "top"}),
            "regel": wb.add_format({"valign": "top"}),
            "vet": wb.add_format({"bold": True, "valign": "top"}),
            "titel": wb.add_format({"bold": True, "font_size": 13}),
            "getal": wb.add_format({"num_format": "0", "valign": "top"}),
            "datum": wb.add_format({"num_format": "dd-mm-yyyy", "valign": "top"}),
        }
        used = {"toelichting", "afgewezen bestanden"}
        sheets = {leverancier: _sheet_name(leverancier, used) for leverancier in groups}
        _cover(wb, fmt, groups, sheets, afgewezen, namen, omslag)
        widths = [30, 10, 7, 24, 55, 55, 70]
        for leverancier, rows in groups.items():
            ws = wb.add_worksheet(sheets[leverancier])
            for j, naam in enumerate(KOLOMMEN):
                ws.write_string(0, j, naam, fmt["kop"])
            for i, r in enumerate(rows, start=1):
                for j, v in enumerate(_rij(r)):
                    if j == 2:
                        ws.write_number(i, j, v, fmt["getal"])
                    else:
                        ws.write_string(i, j, v, fmt["tekst"])
            for j, w in enumerate(widths):
                ws.set_column(j, j, w)
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, len(rows), len(KOLOMMEN) - 1)
        if afgewezen:
            ws = wb.add_worksheet("Afgewezen bestanden")
            for j, naam in enumerate(["Bron", "Bestand", "Leverdatum", "Reden"]):
                ws.write_string(0, j, naam, fmt["kop"])
            for i, (b, p, lever, r) in enumerate(afgewezen, start=1):
                ws.write_string(i, 0, namen.get(b, b), fmt["tekst"])
                ws.write_string(i, 1, p, fmt["tekst"])
                if lever is not None:
                    ws.write_datetime(i, 2, lever, fmt["datum"])
                ws.write_string(i, 3, r, fmt["tekst"])
            for j, w in enumerate([20, 40, 12, 70]):
                ws.set_column(j, j, w)
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, len(afgewezen), 3)


def export(
    warehouse: Path, out: Path, bron: str | None = None, levering: str | None = None, wait: float = 0.0
) -> tuple[int, int, list[Path]]:
    """Read the warehouse read-only in one short block, then write the list; returns (rows, rejected files, paths).

    The read holds the warehouse lock (warehouse/lock.py): a reader would block a run's next write (DuckDB
    allows one writer, and a reader blocks it), so while a run is busy this waits up to ``wait`` seconds and
    then stops. A problem that stops it is a ``QuarantaineError`` in one sentence, before anything is written.
    """
    with ExitStack() as stack:
        try:
            stack.enter_context(lock.hold(warehouse, wait=wait))
        except lock.WarehouseLocked as exc:
            raise QuarantaineError(str(exc)) from None
        except (
            OSError
        ):  # a folder this user may only read: no run of theirs can write it either; read without
            pass
        try:
            # --warehouse may name any file: its views (audit.bestanden_actueel) run with file access off
            conn = stack.enter_context(data_only.connect_read_only(warehouse))
        except duckdb.Error as exc:
            who = lock.file_holder(exc)
            if who is None:
                raise QuarantaineError(
                    f"the warehouse {warehouse} cannot be opened: {str(exc).splitlines()[0]}"
                ) from None
            raise QuarantaineError(
                f"the warehouse {warehouse} is open in {who} for writing: run fairshare quarantaine "
                "again when that program has closed it"
            ) from None
        if (
            conn.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit' "
                "AND table_name IN ('quarantaine', 'bestanden')"
            ).fetchone()[0]
            != 2
        ):
            raise QuarantaineError(
                f"{warehouse} holds no audit tables of fairshare: give the warehouse that "
                "fairshare run loads (--warehouse FILE, FAIRSHARE_WAREHOUSE)"
            )
        try:
            regels, afgewezen = collect(conn, bron, levering)
        except (
            duckdb.Error
        ) as exc:  # e.g. a view of a foreign file that wants to read a file: refused, not run
            raise QuarantaineError(
                f"{warehouse} cannot be read as a fairshare warehouse: {str(exc).splitlines()[0]}"
            ) from None
    omslag = Omslag(region.load_regio().naam, dt.date.today(), bron, levering)
    return len(regels), len(afgewezen), write(regels, afgewezen, out, omslag)
