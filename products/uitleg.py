"""`fairshare uitleg`: why one cell of a mart holds its figure, as an xlsx for a gemeente that disputes it.

It reads only the published copy: ``onderbouwing.<mart>`` (dbt_project/models/onderbouwing: per mart cell, one
row per record and figure, ``telt_mee`` and the reason when it does not count) beside ``marts.<mart>``. The list
has a cover with one line per figure ("12 records tellen mee in gehuisvest = de 12 in marts.fair_share"), a sheet
of the records that count and one of those that do not, with the reason in Dutch (a quarantined row's reason is
rendered from its stored codes by the one message table, ``ingest.reasons``).

The columns are those of the onderbouwing table, so nothing is in the list that the warehouse does not hold, and
less: the keyed pseudonym and the raw reason codes stay in the copy (a gemeente finds its record by its id, file
and row). Every text is written as a string (no formula, no link, ``basics.files.XLSX_INERT``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from basics.dutch import datum_nl
from basics.files import XLSX_INERT, atomic_path
from basics.manifest import marts as mart_contract
from ingest.reasons import column_reason, stored_parts

SCHEMA = "onderbouwing"
# Kept in the copy, left out of the list: a keyed pseudonym means nothing to a gemeente, and the codes are the
# machine form of the Dutch reason the list shows.
NIET_IN_LIJST = (
    "telt_mee",
    "inschrijfnummer_pseudoniem",
    "quarantaine_reden_codes",
    "quarantaine_reden_parameters",
)
CATEGORIE = "urgentiecategorie"


class UitlegError(Exception):
    """A usage problem of `fairshare uitleg` in one sentence (exit 2); nothing has been written."""


@dataclass
class Cijfer:
    """One figure of the selected cells: the records that count in it against the mart's value."""

    kolom: str
    records: int
    mart: int

    def regel(self, mart: str) -> str:
        teken = "=" if self.records == self.mart else "≠"
        tellen = "record telt" if self.records == 1 else "records tellen"
        return f"{self.records} {tellen} mee in {self.kolom} {teken} de {self.mart} in marts.{mart}"


@dataclass
class Uitleg:
    """What one `fairshare uitleg` found: the cell, its figures and the records (as dicts of the list's columns)."""

    mart: str
    cel: dict[str, object]
    cel_tekst: str
    publicatie: dict
    kolommen: list[str]
    cijfers: list[Cijfer] = field(default_factory=list)
    tellen: list[dict] = field(default_factory=list)
    tellen_niet: list[dict] = field(default_factory=list)

    @property
    def niet_regel(self) -> str:
        """How many rows did not count: "1 regel telt niet mee", "3 regels tellen niet mee"."""
        n = len(self.tellen_niet)
        return f"{n} {'regel telt' if n == 1 else 'regels tellen'} niet mee"

    @property
    def klopt(self) -> bool:
        return all(c.records == c.mart for c in self.cijfers)


def _connect(copy: Path) -> duckdb.DuckDBPyConnection:
    """The published copy, read-only, with file access off (a copy someone replaced cannot make this read files)."""
    if copy.is_symlink() or not copy.is_file():
        raise UitlegError(f"no published copy at {copy}: run fairshare run first (or give --serving FILE)")
    conn = duckdb.connect()
    try:
        conn.execute("SET allowed_paths = ?", [[str(copy), f"{copy}.wal"]])
        conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
        conn.execute(f"ATTACH '{str(copy).replace(chr(39), chr(39) * 2)}' AS kopie (READ_ONLY)")
        conn.execute("USE kopie")
    except duckdb.Error as exc:
        conn.close()
        raise UitlegError(f"the published copy {copy} cannot be read: {str(exc).splitlines()[0]}") from None
    return conn


def _tables(conn: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [
        t
        for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'kopie' AND schema_name = ? ORDER BY 1",
            [schema],
        ).fetchall()
    ]


def _columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        c
        for (c,) in conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'kopie' AND schema_name = ? "
            "AND table_name = ? ORDER BY column_index",
            [schema, table],
        ).fetchall()
    ]


def _names(conn: duckdb.DuckDBPyConnection, key: str, codes: list[str]) -> dict[str, str]:
    """Code -> display name for the values of a mart's first key: a gemeente's name, a committee's name."""
    found: dict[str, str] = {}
    if "gemeenten" in _tables(conn, "referentie"):
        found.update(conn.execute("SELECT gemeente_code, gemeente_naam FROM referentie.gemeenten").fetchall())
    if key == "commissie" and "commissies" in _tables(conn, "referentie"):
        for code, naam, label in conn.execute(
            "SELECT commissie_code, naam, label FROM referentie.commissies"
        ).fetchall():
            found.setdefault(code, label or naam or code)
    return {c: found.get(c, c) for c in codes}


def _one_of(items: list[str]) -> str:
    """Allowed values for a message: "a", "a or b", "a, b or c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _choose(value: str, known: dict[str, str], what: str, option: str) -> str:
    """The code ``value`` names (a code or a name, any case), else one sentence naming the allowed values."""
    wanted = value.strip().casefold()
    for code, naam in known.items():
        if wanted in (str(code).casefold(), str(naam).casefold()):
            return code
    allowed = _one_of(sorted({str(n) for n in known.values()}))
    raise UitlegError(f"{option} {value!r} is not {what}: choose {allowed}")


def explain(copy: Path, mart: str, gemeente: str, jaar: int | None, categorie: str | None = None) -> Uitleg:
    """The records behind the cells of ``marts.<mart>`` for ``gemeente`` (and ``jaar``, ``categorie``)."""
    with _connect(copy) as conn:
        uitlegbaar = [t for t in _tables(conn, SCHEMA) if t in _tables(conn, "marts")]
        if not uitlegbaar:
            raise UitlegError(
                f"the published copy {copy} holds no schema {SCHEMA} (published before fairshare uitleg): "
                "run fairshare run --opnieuw to publish it again"
            )
        if mart not in uitlegbaar:
            raise UitlegError(f"--mart {mart!r} cannot be explained: choose {_one_of(uitlegbaar)}")
        grain = next((m.grain for m in mart_contract() if m.name == mart), None)
        if grain is None:  # the copy holds a table this installation's dbt project does not declare
            raise UitlegError(f"--mart {mart!r} is not a mart of this fairshare version: choose another")
        key = grain[0]
        codes = [c for (c,) in conn.execute(f"SELECT DISTINCT {key} FROM marts.{mart} ORDER BY 1").fetchall()]
        names = _names(conn, key, codes)
        cel: dict[str, object] = {
            key: _choose(
                gemeente,
                names,
                f"a {'commissie' if key == 'commissie' else 'gemeente'} of marts.{mart}",
                "--gemeente",
            )
        }
        jaren = [
            j
            for (j,) in conn.execute(
                f"SELECT DISTINCT jaar FROM marts.{mart} WHERE {key} = ? ORDER BY 1", [cel[key]]
            ).fetchall()
        ]
        if jaar is not None:
            if jaar not in jaren:
                raise UitlegError(
                    f"--jaar {jaar} has no figures in marts.{mart} for {names[cel[key]]}: choose "
                    f"{_one_of([str(j) for j in jaren])}"
                )
            cel["jaar"] = jaar
        if categorie is not None:
            if CATEGORIE not in grain:
                raise UitlegError(
                    f"--categorie does not apply: marts.{mart} has no {CATEGORIE} (leave it out)"
                )
            where, params = _where(cel)
            found = [
                c
                for (c,) in conn.execute(
                    f"SELECT DISTINCT {CATEGORIE} FROM marts.{mart} WHERE {where} ORDER BY 1", params
                ).fetchall()
            ]
            cel[CATEGORIE] = _choose(
                categorie, {c: c for c in found}, f"an urgentiecategorie of marts.{mart}", "--categorie"
            )
        where, params = _where(cel)
        mart_columns = _columns(conn, "marts", mart)
        figures = [
            k
            for (k,) in conn.execute(f"SELECT DISTINCT kolom FROM {SCHEMA}.{mart}").fetchall()
            if k in mart_columns
        ]
        figures.sort(key=mart_columns.index)
        cijfers = []
        for kolom in figures:
            records = conn.execute(
                f"SELECT count(*) FROM {SCHEMA}.{mart} WHERE {where} AND kolom = ? AND telt_mee",
                [*params, kolom],
            ).fetchone()[0]
            value = conn.execute(
                f"SELECT coalesce(sum({kolom}), 0) FROM marts.{mart} WHERE {where}", params
            ).fetchone()[0]
            cijfers.append(Cijfer(kolom, int(records), int(value)))
        columns = [c for c in _columns(conn, SCHEMA, mart) if c not in NIET_IN_LIJST]
        cursor = conn.execute(
            f"SELECT * FROM {SCHEMA}.{mart} WHERE {where} ORDER BY kolom, {', '.join(grain)}, bestand, rijnummer",
            params,
        )
        names_read = [d[0] for d in cursor.description]
        rows = [dict(zip(names_read, r, strict=True)) for r in cursor.fetchall()]
        publicatie = {}
        if "publicatie" in _tables(conn, "info"):
            cur = conn.execute("SELECT * FROM info.publicatie LIMIT 1")
            row = cur.fetchone()
            publicatie = dict(zip([d[0] for d in cur.description], row, strict=True)) if row else {}
    for row in rows:
        if row.get("reden_code") == "quarantaine" and row.get("quarantaine_reden_codes"):
            parts = stored_parts(row["quarantaine_reden_codes"], row["quarantaine_reden_parameters"])
            row["reden"] = "in quarantaine (rij niet ingelezen): " + "; ".join(
                column_reason(kolom, kop, r).render("nl") for kolom, kop, r in parts
            )
    cel_tekst = ", ".join(
        [str(names.get(cel[key], cel[key]))] + [str(cel[k]) for k in ("jaar", CATEGORIE) if k in cel]
    )
    return Uitleg(
        mart,
        cel,
        cel_tekst,
        publicatie,
        columns,
        cijfers,
        [{c: r[c] for c in columns} for r in rows if r["telt_mee"]],
        [{c: r[c] for c in columns} for r in rows if not r["telt_mee"]],
    )


def _where(cel: dict[str, object]) -> tuple[str, list]:
    return " AND ".join(f"{k} = ?" for k in cel), list(cel.values())


TOELICHTING = [
    "Elke regel is één record uit een aangeleverd bestand (Bestand, Blad, Rij zoals Excel die toont) en het",
    "cijfer van de mart waarin het meetelt (kolom). Een record dat in twee cijfers meetelt, staat er twee keer in.",
    "Tabblad 'Tellen mee': de records achter het cijfer. Tabblad 'Tellen niet mee': records die men erbij zou",
    "verwachten maar die niet meetellen, met de reden (buiten de afspraak, na data_tot, route statushouder,",
    "in quarantaine, niet gekoppeld, ...). Persoonsgegevens staan er niet in: alleen nummers, datums en codes.",
]


def write(uitleg: Uitleg, out: Path) -> Path:
    """The list as xlsx: a cover (cell, peildatum, one line per figure), the records that count, those that don't."""
    if out.suffix.lower() != ".xlsx":
        raise UitlegError(f"--out must end in .xlsx, got {out.name}")
    import xlsxwriter

    try:
        with atomic_path(out) as tmp, xlsxwriter.Workbook(str(tmp), XLSX_INERT) as wb:
            fmt = {
                "kop": wb.add_format({"bold": True, "bg_color": "#DBE7EC", "border": 1}),
                "titel": wb.add_format({"bold": True, "font_size": 13}),
                "vet": wb.add_format({"bold": True}),
                "datum": wb.add_format({"num_format": "dd-mm-yyyy"}),
            }
            ws = wb.add_worksheet("Toelichting")
            ws.set_column(0, 0, 24)
            ws.set_column(1, 1, 90)
            ws.write_string(0, 0, f"Onderbouwing van marts.{uitleg.mart}: {uitleg.cel_tekst}", fmt["titel"])
            pub = uitleg.publicatie
            info = [
                ("Cel", ", ".join(f"{k} = {v}" for k, v in uitleg.cel.items())),
                ("Peildatum", datum_nl(pub["peildatum"]) if pub.get("peildatum") else "onbekend"),
                ("Gegevens tot en met", datum_nl(pub["data_tot"]) if pub.get("data_tot") else "onbekend"),
                ("Regio", str(pub.get("regio") or "")),
                ("Gemaakt op", datum_nl(dt.date.today())),
            ]
            for i, (label, value) in enumerate(info, start=2):
                ws.write_string(i, 0, label, fmt["vet"])
                ws.write_string(i, 1, value)
            row = len(info) + 3
            ws.write_string(row, 0, "Samenvatting", fmt["vet"])
            for cijfer in uitleg.cijfers:
                ws.write_string(row, 1, cijfer.regel(uitleg.mart))
                row += 1
            ws.write_string(row, 1, f"{uitleg.niet_regel} (tabblad 'Tellen niet mee')")
            row += 2
            for line in TOELICHTING:
                ws.write_string(row, 0, line)
                row += 1
            for name, rows in (("Tellen mee", uitleg.tellen), ("Tellen niet mee", uitleg.tellen_niet)):
                _sheet(wb.add_worksheet(name), uitleg.kolommen, rows, fmt)
    except xlsxwriter.exceptions.FileCreateError as exc:  # an OSError inside: the folder cannot be written
        raise (exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc))) from None
    return out


def _sheet(ws, columns: list[str], rows: list[dict], fmt: dict) -> None:
    for j, name in enumerate(columns):
        ws.write_string(0, j, name, fmt["kop"])
        ws.set_column(j, j, 60 if name == "reden" else 16)
    for i, row in enumerate(rows, start=1):
        for j, name in enumerate(columns):
            value = row[name]
            if value is None:
                continue
            if isinstance(value, bool):
                ws.write_boolean(i, j, value)
            elif isinstance(value, int | float):
                ws.write_number(i, j, value)
            elif isinstance(value, dt.date):
                ws.write_datetime(i, j, dt.datetime.combine(value, dt.time()), fmt["datum"])
            else:
                ws.write_string(i, j, str(value))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
