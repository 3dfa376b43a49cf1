"""The DuckDB path of a regular csv (issue 24): its cells stay in DuckDB, only its bad rows become Python objects.

A csv whose every line has the header's width (``readers.CsvLayout.regular``) is read by DuckDB's csv reader,
Windows-1252 transcoded to UTF-8 first (DuckDB's latin-1 rejects the C1 bytes cp1252 uses, e.g. € = 0x80).
Each recognised column's distinct values are parsed by today's parsers (``ingest.normalise``) and joined back.
A row that every parse accepts, whose first cell is plainly data and whose key is once in its chunk is
good: it goes into the temp table ``_csv_good`` in SQL, pseudonymised there. Every other row is read into
Python and normalised exactly as before (row kinds, reasons, duplicates), so its quarantine entry is today's.
Any error, or a line count other than the scan's, leaves the file to today's path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ingest.normalise import (
    _AS_IS,
    NOT_LOADED,
    RULED_SOURCES,
    TEXT,
    _apply,
    _Parsers,
    _typed_column,
    output_columns,
)
from ingest.values import hmac_pads, pseudonym_sql

GOOD = "_csv_good"  # the good rows, as ``_nieuw`` holds them (warehouse.store)
_TEMP = ("VIEW _csv_lines", "TABLE _csv_raw", "TABLE _csv_rows")
# A first cell that makes a row data without a closer look (``loader.row_kinds``): not empty, no space first,
# not starting with "tota" in any case (only T/t, O/o, A/a lower to t, o, a).
_NOT_PLAIN = "^[ \t\r\n\u00a0\u202f]|^[Tt][Oo][Tt][Aa]"


@dataclass
class Prepared:
    """A file read by DuckDB: per chunk, its good rows' count (in ``_csv_good``) and its other rows as cells."""

    good: list[int]
    blocks: dict[int, pd.DataFrame]
    width: int

    def block(self, chunk: int) -> pd.DataFrame:
        """The rows of one chunk for the Python path, as ``readers._csv_chunks`` yields them (index: row number)."""
        found = self.blocks.get(chunk)
        if found is not None:
            return found
        return pd.DataFrame(
            {i: np.empty(0, dtype=object) for i in range(self.width)}, index=pd.Index([], dtype=int)
        )


def eligible(opened) -> bool:
    """Whether the file may take the DuckDB path (anything else reads as before)."""
    layout = opened.sheet.csv
    source = opened.source
    if layout is None or not layout.regular or source.name in RULED_SOURCES:
        return False
    if layout.lines <= opened.header_row:  # nothing below the header
        return False
    if any(pos >= layout.width for pos in opened.match.columns):
        return False
    types = output_columns(source)
    names = set(opened.match.columns.values())
    # keys in SQL are compared as text, as pandas compares them (other types stay on the Python path)
    return all(types.get(k) == TEXT and k in names for k in source.natural_key)


def prepare(opened, conn: duckdb.DuckDBPyConnection) -> Prepared | None:
    """Read the file with DuckDB into ``_csv_good`` (outside the file's transaction: an error here must not end it).

    None when the file is not eligible or anything went wrong: then nothing is left behind.
    """
    if not eligible(opened):
        return None
    maps: list[tuple[str]] = []
    try:
        return _prepare(opened, conn)
    except Exception:  # any failure: the file reads by today's path, unchanged
        drop(conn)
        return None
    finally:
        with contextlib.suppress(duckdb.Error):  # the mappings too, when a failure left some behind
            maps = conn.execute(
                "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, '_csv_map_')"
            ).fetchall()
        for kind, table in [t.split() for t in _TEMP] + [("TABLE", m) for (m,) in maps]:
            with contextlib.suppress(duckdb.Error):
                conn.execute(f"DROP {kind} IF EXISTS {table}")


def drop(conn: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):
        conn.execute(f"DROP TABLE IF EXISTS {GOOD}")


COPY_PREFIX = "fairshare-csv-"  # + the process id + "-": a copy holds the file's raw cells


def _utf8_copy(layout, conn: duckdb.DuckDBPyConnection) -> Path:
    """The file as UTF-8, next to DuckDB's temp directory (beside the warehouse, where its spilled data goes).

    The copy lives only while DuckDB reads it; one left by a killed process is removed by the next load here
    (``sweep_copies``), since it holds the delivery's cells before pseudonymisation."""
    where = Path(conn.execute("SELECT current_setting('temp_directory')").fetchone()[0] or ".")
    folder = where.parent if where.is_absolute() and where.parent.is_dir() else Path(tempfile.gettempdir())
    sweep_copies(folder)
    fd, name = tempfile.mkstemp(prefix=f"{COPY_PREFIX}{os.getpid()}-", suffix=".csv", dir=folder)
    try:
        with open(layout.path, encoding=layout.encoding, errors="replace", newline="") as src:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                while text := src.read(1 << 22):
                    out.write(text)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def sweep_copies(folder: Path) -> list[Path]:
    """Remove the UTF-8 copies in ``folder`` whose process is gone (killed while DuckDB read them)."""
    removed = []
    for path in folder.glob(f"{COPY_PREFIX}*-*.csv"):
        pid = path.name.removeprefix(COPY_PREFIX).split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _read(opened, conn: duckdb.DuckDBPyConnection) -> None:
    """``_csv_lines``: the lines below the header, every cell text ('' where pandas reads ''), with line and chunk."""
    layout = opened.sheet.csv
    copy = None if layout.encoding == "utf-8-sig" else _utf8_copy(layout, conn)
    path = str(copy or layout.path).replace("'", "''")
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(layout.width)) + "}"
    try:
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE _csv_raw AS SELECT * FROM read_csv('{path}', delim='{layout.delimiter}', "
            f"header=false, auto_detect=false, quote='\"', escape='\"', strict_mode=true, columns={columns})"
        )
    finally:
        if copy is not None:
            copy.unlink(missing_ok=True)
    if conn.execute("SELECT count(*) FROM _csv_raw").fetchone()[0] != layout.lines:
        raise ValueError("DuckDB read another number of lines than the scan counted")
    first = opened.header_row + 1
    cells = ", ".join(f"coalesce(c{i}, '') AS c{i}" for i in range(layout.width))
    # rowid follows the file's order (insertion order is preserved); a chunk is today's: (line - first) // size
    conn.execute(
        f"CREATE OR REPLACE TEMP VIEW _csv_lines AS SELECT rowid + 1 AS line, (rowid + 1 - {first}) // {layout.rows} "
        f"AS chunk, {cells} FROM _csv_raw WHERE rowid + 1 >= {first}"
    )
    nul = " OR ".join(f"contains(c{i}, chr(0))" for i in range(layout.width))
    if conn.execute(f"SELECT count(*) FROM _csv_lines WHERE {nul}").fetchone()[0]:
        raise ValueError("a NUL byte: pandas may read it otherwise")


def _mapping(conn: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    conn.register("_csv_incoming", frame)
    try:
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _csv_incoming")
    finally:
        conn.unregister("_csv_incoming")


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _distinct(conn: duckdb.DuckDBPyConnection, expr: str, where: str = "true") -> np.ndarray:
    return _objects(
        [r[0] for r in conn.execute(f"SELECT DISTINCT {expr} FROM _csv_lines AS l WHERE {where}").fetchall()]
    )


@dataclass
class _Rows:
    """The SELECT of ``_csv_rows`` being built: a mapping table joined per column."""

    joins: list[str] = field(default_factory=list)
    oks: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # column of _csv_rows -> SQL
    pseudonymise: dict[str, str] = field(default_factory=dict)  # identifier as text -> its pseudonym's column
    maps: list[str] = field(default_factory=list)

    def add(
        self,
        conn: duckdb.DuckDBPyConnection,
        frame: dict,
        on: str | None,
        join: str = "JOIN",
        ok: str = "{t}.ok",
    ) -> str:
        """A mapping table (joined on ``on``; none: one row, cross joined); returns its name."""
        table = f"_csv_map_{len(self.maps)}"
        _mapping(conn, table, pd.DataFrame(frame))
        self.maps.append(table)
        if on is None:
            self.joins.append(f"CROSS JOIN {table}")
        else:
            self.joins.append(f"{join} {table} ON {on.format(t=table)}")
            self.oks.append(ok.format(t=table))
        return table


# A cell whose text is printable ASCII, not starting with '#', with at most spaces around it: Python's strip()
# is SQL's trim() for it, and ``_Parsers`` takes it as it is (no empty, no Excel error).
_PLAIN_TEXT = ' *[!"$-~](?:[ -~]*[!-~])? *'


def _identifier(conn: duckdb.DuckDBPyConnection, rows: _Rows, col, at: str, parsers: _Parsers) -> None:
    """An id, text or pseudonym column: a plain cell trimmed in SQL, any other by today's parser (``_apply``)."""
    plain = f"regexp_full_match({at}, '{_PLAIN_TEXT}')"
    raw = _distinct(conn, at, f"NOT {plain}")
    column = _apply(raw, parsers.for_column(col), col, None)
    frame = {
        "raw": raw,
        "ok": np.array([e is None for e in column.row_errors()], dtype=bool),
        "v": column.rows(),
    }
    # LEFT JOIN: a plain cell has no row in the mapping (its raw is NULL there), and is good as trimmed
    table = rows.add(conn, frame, f"{{t}}.raw = {at}", join="LEFT JOIN", ok="({t}.raw IS NULL OR {t}.ok)")
    rows.outputs[col.name] = f"CASE WHEN {table}.raw IS NULL THEN trim({at}) ELSE {table}.v END"
    if col.type == "pseudoniem":
        rows.pseudonymise[col.name] = f"{col.name}_pseudoniem"


def _parsed_columns(opened, conn: duckdb.DuckDBPyConnection, rows: _Rows, position: dict[str, int]) -> None:
    """Each recognised column parsed once per distinct value, by today's parsers, as ``normalise`` does."""
    source = opened.source
    parsers = _Parsers(opened.config, opened.key)
    types = output_columns(source)
    for col in source.columns.values():
        if col.type in ("categorie", "subcategorie", NOT_LOADED):
            continue
        if col.name not in position:  # as ``normalise``: the default, or nothing
            if col.type == "herkomst":
                rows.outputs[col.name] = "'onbekend'"
            elif col.type not in ("pseudoniem", "postcode", "leeftijd"):
                one = np.array([col.default], dtype=object)
                typed = _typed_column(one, np.zeros(1, dtype=np.intp), types[col.name])
                rows.outputs[col.name] = f"{rows.add(conn, {'v': typed}, None)}.v"
            continue
        at = f"l.c{position[col.name]}"
        if col.type in _AS_IS:  # an identifier: distinct in nearly every row, so trimmed in SQL where plain
            _identifier(conn, rows, col, at, parsers)
            continue
        raw = _distinct(conn, at)
        column = _apply(raw, parsers.for_column(col), col, opened._memo.setdefault(col.name, {}))
        frame = {"raw": raw, "ok": np.array([e is None for e in column.row_errors()], dtype=bool)}
        names: dict[str, str] = {}  # output column -> column of the mapping
        if col.type == "herkomst":
            values = column.rows()
            frame["v"] = _objects([v[0] if v else None for v in values])
            frame["v2"] = _objects([v[1] if v else None for v in values])
            names = {col.name: "v", f"{col.name}_buiten_regio": "v2"}
        else:
            name = {"postcode": "pc4", "leeftijd": "leeftijdsklasse"}.get(col.type, col.name)
            frame["v"] = _typed_column(column.values, column.codes, types[name])
            names = {name: "v"}
        table = rows.add(conn, frame, f"{{t}}.raw = {at}")
        rows.outputs.update({name: f"{table}.{v}" for name, v in names.items()})
    if "urgentiecategorie" in source.columns:  # one parse per distinct (categorie, subcategorie) pair
        cat = f"l.c{position['urgentiecategorie']}" if "urgentiecategorie" in position else "NULL::VARCHAR"
        sub = f"l.c{position['subcategorie']}" if "subcategorie" in position else "NULL::VARCHAR"
        pairs = conn.execute(f"SELECT DISTINCT {cat}, {sub} FROM _csv_lines AS l").fetchall()
        parsed = [parsers.category(c, s) for c, s in pairs]
        frame = {
            "cat": _objects([c for c, _ in pairs]),
            "sub": _objects([s for _, s in pairs]),
            "ok": np.array([e is None for _, e in parsed], dtype=bool),
            "v": _objects([v[0] for v, _ in parsed]),
            "v2": _objects([v[1] for v, _ in parsed]),
        }
        on = f"{{t}}.cat IS NOT DISTINCT FROM {cat} AND {{t}}.sub IS NOT DISTINCT FROM {sub}"
        table = rows.add(conn, frame, on)
        rows.outputs.update({"urgentiecategorie": f"{table}.v", "subcategorie": f"{table}.v2"})


def _prepare(opened, conn: duckdb.DuckDBPyConnection) -> Prepared:
    _read(opened, conn)
    source, layout = opened.source, opened.sheet.csv
    rows = _Rows()
    _parsed_columns(opened, conn, rows, {name: pos for pos, name in opened.match.columns.items()})
    selected = ", ".join(f'{expr} AS "{name}"' for name, expr in rows.outputs.items())
    keys = [f'"{k}"' for k in source.natural_key]
    present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    # A key twice in its chunk: every row with it goes to the Python path (rows that may be empty or a
    # Totaal row counted too: such a group is then decided there, exactly, with all its rows).
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _csv_rows AS WITH j AS (SELECT l.line, l.chunk, "
        f"NOT regexp_matches(l.c0, ?) AND l.c0 <> '' AS plain, {' AND '.join(rows.oks) or 'true'} AS ok, "
        f"{selected} FROM _csv_lines AS l {' '.join(rows.joins)}) "
        f"SELECT *, plain AND ok AND (NOT ({present}) OR count(*) OVER (PARTITION BY chunk, {', '.join(keys)}) = 1) "
        "AS good FROM j",
        [_NOT_PLAIN],
    )
    for table in rows.maps:
        conn.execute(f"DROP TABLE {table}")
    targets = [f'"{name}"' for name in output_columns(source) if name in rows.outputs]
    params: list = []
    for raw, target in rows.pseudonymise.items():  # hashed here: the identifier never reaches the warehouse
        targets.append(f'{pseudonym_sql(f"{chr(34)}{raw}{chr(34)}")} AS "{target}"')
        params += list(hmac_pads(opened.key))
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {GOOD} AS SELECT {', '.join(targets)}, line AS _rijnummer, "
        "chunk AS _chunk FROM _csv_rows WHERE good",
        params,
    )
    good = [0] * -(-(layout.lines - opened.header_row) // layout.rows)
    counted = conn.execute("SELECT chunk, count(*) FROM _csv_rows WHERE good GROUP BY chunk").fetchall()
    for chunk, n in counted:
        good[int(chunk)] = int(n)
    return Prepared(good=good, blocks=_other_rows(conn, layout.width), width=layout.width)


def _other_rows(conn: duckdb.DuckDBPyConnection, width: int) -> dict[int, pd.DataFrame]:
    """The rows that are not good, every cell, per chunk: the Python path normalises them as before."""
    cells = ", ".join(f"l.c{i}" for i in range(width))
    rest = conn.execute(
        f"SELECT l.line, l.chunk, {cells} FROM _csv_lines AS l SEMI JOIN (SELECT line FROM _csv_rows "
        "WHERE NOT good) AS r USING (line) ORDER BY l.line"
    ).fetchnumpy()
    blocks = {}
    for chunk in np.unique(rest["chunk"]):
        at = rest["chunk"] == chunk
        blocks[int(chunk)] = pd.DataFrame(
            {i: np.asarray(rest[f"c{i}"][at], dtype=object) for i in range(width)},
            index=pd.Index(np.asarray(rest["line"][at], dtype=np.int64)),
        )
    return blocks
