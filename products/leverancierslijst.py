"""`fairshare quarantaine`: the quarantined rows and rejected files, written for the supplier who can fix them.

Every row of ``audit.quarantaine`` becomes one row of the list, with the file, sheet, row as Excel counts it,
the column as the supplier wrote it, the reason in Dutch and what a valid value looks like. The reasons are
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
import json
import re
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from basics import region
from basics.files import XLSX_INERT, atomic_path
from ingest.config import CONFIG_DIR, ColumnSpec, IngestConfig, load_config, source_labels
from ingest.reasons import column_reason, hint, stored_parts
from warehouse import audit, data_only, lock


def bron_namen() -> dict[str, str]:
    """Source key -> its Dutch label (``label`` in ingest/config/sources.yaml) for the region of this process."""
    return source_labels(region.load_regio().samenwerkend_label)


KOLOMMEN = ["Bestand", "Blad", "Rij", "Kolom", "Reden", "Geldige waarde", "Gelezen waarden"]

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


def _regel(row: dict, config: IngestConfig, geldig: _Geldig) -> Regel:
    source = config.sources.get(row["bron"])
    columns = source.columns if source else {}
    parts = stored_parts(row["reden_codes"], row["reden_parameters"])
    if parts:
        koppen = [kop for _, kop, _ in parts]
        redenen = [column_reason(kolom, kop, r).render("nl") for kolom, kop, r in parts]
        hints = [f"{kop}: {hint(r) or geldig.describe(columns.get(kolom))}" for kolom, kop, r in parts]
    else:  # stored before reasons had codes: the text as stored, until the next run reads the file again
        koppen, redenen, hints = [row["kolom"]], [row["reden"]], [""]
    waarden = json.loads(row["waarden"]) if row["waarden"] else {}
    # Pseudonyms mean nothing to the supplier: they find the row by its number.
    shown = {k: v for k, v in waarden.items() if getattr(columns.get(k), "type", None) != "pseudoniem"}
    return Regel(
        row["bron"],
        row["pad"],
        row["blad"],
        int(row["rijnummer"]),
        ", ".join(dict.fromkeys(koppen)),
        "; ".join(redenen),
        "; ".join(dict.fromkeys(hints)),
        "; ".join(f"{k}: {v}" for k, v in shown.items()),
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


def _sheet_name(pad: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", pad.rsplit("/", 1)[-1])[:31]
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:27]}_{n}"
        n += 1
    used.add(name.lower())
    return name


def write(regels: list[Regel], afgewezen: list, out: Path) -> list[Path]:
    """Write the list as xlsx (one sheet per file, a sheet of rejected files) or csv (plus `_afgewezen.csv`).

    The csv pair is always written together, so an earlier list's rejected files never stay beside a new list.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    namen = bron_namen()
    if out.suffix.lower() == ".csv":
        side = out.with_name(f"{out.stem}_afgewezen.csv")
        _csv(out, ["Bron", *KOLOMMEN], ([namen.get(r.bron, r.bron), *_rij(r)] for r in regels))
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
            _xlsx(xlsxwriter.Workbook(str(tmp), XLSX_INERT), regels, afgewezen, namen)
    except xlsxwriter.exceptions.FileCreateError as exc:  # an OSError inside: the folder cannot be written
        raise (exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc))) from None
    return [out]


def _xlsx(workbook, regels: list[Regel], afgewezen: list, namen: dict[str, str]) -> None:
    with workbook as wb:
        kop = wb.add_format(
            {"bold": True, "bg_color": "#DBE7EC", "text_wrap": True, "valign": "top", "border": 1}
        )
        tekst = wb.add_format({"text_wrap": True, "valign": "top"})
        getal = wb.add_format({"num_format": "0", "valign": "top"})
        datum = wb.add_format({"num_format": "dd-mm-yyyy", "valign": "top"})
        uitleg = wb.add_worksheet("Toelichting")
        uitleg.set_column(0, 0, 110, tekst)
        for i, line in enumerate(
            [
                "Rijen die niet zijn ingelezen (quarantaine) en afgewezen bestanden",
                "Per aangeleverd bestand één tabblad. Elke regel is een rij uit uw bestand die niet is ingelezen:",
                "Rij = het rijnummer zoals Excel het toont; Kolom = de kolomkop zoals in uw bestand;",
                "Reden = wat er mis is; Geldige waarde = hoe een juiste waarde eruitziet.",
                "Lever een verbeterd bestand aan; de rijen worden dan opnieuw ingelezen.",
                f"Rijen in quarantaine: {len(regels)}; afgewezen bestanden: {len(afgewezen)}.",
            ]
        ):
            uitleg.write_string(
                i, 0, line, wb.add_format({"bold": True, "font_size": 13}) if i == 0 else tekst
            )
        used = {"toelichting", "afgewezen bestanden"}
        widths = [30, 10, 7, 24, 55, 55, 60]
        per_file: dict[str, list[Regel]] = {}
        for r in regels:
            per_file.setdefault(r.pad, []).append(r)
        for pad, rows in per_file.items():
            ws = wb.add_worksheet(_sheet_name(pad, used))
            for j, naam in enumerate(KOLOMMEN):
                ws.write_string(0, j, naam, kop)
            for i, r in enumerate(rows, start=1):
                for j, v in enumerate(_rij(r)):
                    if j == 2:
                        ws.write_number(i, j, v, getal)
                    else:
                        ws.write_string(i, j, v, tekst)
            for j, w in enumerate(widths):
                ws.set_column(j, j, w)
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, len(rows), len(KOLOMMEN) - 1)
        if afgewezen:
            ws = wb.add_worksheet("Afgewezen bestanden")
            for j, naam in enumerate(["Bron", "Bestand", "Leverdatum", "Reden"]):
                ws.write_string(0, j, naam, kop)
            for i, (b, p, lever, r) in enumerate(afgewezen, start=1):
                ws.write_string(i, 0, namen.get(b, b), tekst)
                ws.write_string(i, 1, p, tekst)
                if lever is not None:
                    ws.write_datetime(i, 2, lever, datum)
                ws.write_string(i, 3, r, tekst)
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
    return len(regels), len(afgewezen), write(regels, afgewezen, out)
