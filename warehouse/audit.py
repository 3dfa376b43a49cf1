"""Reading the warehouse's bookkeeping: the peildatum of the build, files, quarantine and the gate's outcomes.

The one place that queries ``audit.*`` (and ``info.peildatum``, built by dbt) for the shell, the products and
orchestration; ``warehouse.store`` writes them. Callers use these functions, never their own SQL.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import NamedTuple

import duckdb

from ingest.landing import escaped
from ingest.reasons import Reden


class Peildatum(NamedTuple):
    """The peildatum P of the marts and data_tot = P - 1 day (spec/marts.md, "Time")."""

    peildatum: dt.date
    data_tot: dt.date


class RejectedFile(NamedTuple):
    """A file whose latest sighting was rejected, with its reason."""

    bron: str
    pad: str
    leverdatum: dt.date | None
    reden: str
    reden_code: str | None = None  # None in a warehouse written before reasons had codes
    reden_parameters: str | None = None  # JSON text

    def reden_nl(self) -> str:
        """The reason in Dutch, from its code (``ingest/config/redenen.yaml``), without the file's path.

        A row stored before reasons had codes (a warehouse no run has read since) keeps its English text, with
        exactly this file's path taken off the front (``"<pad>: <reason>"``, the path escaped as
        ``ingest.landing.escaped`` does); the next run reads such files again and gives them codes.
        """
        if self.reden_code:
            return Reden.from_json(self.reden_code, self.reden_parameters).render("nl")
        return (self.reden or "").removeprefix(f"{escaped(self.pad)}: ")


def peildatum(conn: duckdb.DuckDBPyConnection, database: str | None = None) -> Peildatum | None:
    """The peildatum of the last dbt build (``info.peildatum``); None when dbt has built nothing yet.

    ``database`` names an attached warehouse (the publication reads its source as ``bron``).
    """
    # Asked first, never by a failing query: where info.peildatum is missing, DuckDB's Python replacement scan
    # would take the name for a variable of the caller (this very function) and fail with an unrelated error.
    built = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'info' AND table_name = 'peildatum' "
        "AND table_catalog = coalesce(?, current_database())",
        [database],
    ).fetchone()[0]
    if not built:  # no build yet (e.g. the first run failed before dbt)
        return None
    prefix = f"{database}." if database else ""
    row = conn.execute(f"SELECT peildatum, data_tot FROM {prefix}info.peildatum").fetchone()
    return Peildatum(*row) if row else None


def code_columns(conn: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """The select-list of the reason codes of ``audit.quarantaine`` (as ``q``) and ``audit.bestanden`` (as ``b``).

    A warehouse written before reasons had codes lacks the columns: they are read as NULL there.
    """
    have = {
        (t, c)
        for t, c in conn.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'audit' "
            "AND column_name IN ('reden_codes', 'reden_code', 'reden_parameters')"
        ).fetchall()
    }
    q = (
        "q.reden_codes, CAST(q.reden_parameters AS VARCHAR) AS reden_parameters"
        if {("quarantaine", "reden_codes"), ("quarantaine", "reden_parameters")} <= have
        else "NULL AS reden_codes, NULL AS reden_parameters"
    )
    b = (
        "b.reden_code, CAST(b.reden_parameters AS VARCHAR)"
        if {("bestanden", "reden_code"), ("bestanden", "reden_parameters")} <= have
        else "NULL, NULL"
    )
    return q, b


def rejected_files(
    conn: duckdb.DuckDBPyConnection, where: str = "", params: list | None = None
) -> list[RejectedFile]:
    """Files rejected at their latest sighting, by path; ``where`` narrows them (`` AND b.bron = ?``, with params)."""
    _, codes = code_columns(conn)
    rows = conn.execute(
        f"SELECT b.bron, b.pad, b.leverdatum, b.reden, {codes} FROM audit.bestanden_actueel AS b "
        f"WHERE b.status = 'afgewezen'{where} ORDER BY b.pad",
        params or [],
    ).fetchall()
    return [RejectedFile(*r) for r in rows]


def files_filter(bron: str | None, levering: str | None) -> tuple[str, list]:
    """The ``where`` (on ``audit.bestanden AS b``) and parameters for one source and/or one delivery.

    A delivery is a file (as in audit.bestanden or just its name) or a delivery date, compared exactly:
    with LIKE, `%` and `_` would be wildcards (and `_` is in every file name).
    """
    where, params = [], []
    if bron:
        where.append("b.bron = ?")
        params.append(bron)
    if levering is not None:
        where.append("(b.pad = ? OR ends_with(b.pad, '/' || ?) OR CAST(b.leverdatum AS VARCHAR) = ?)")
        params += [levering, levering, levering]
    return (" AND " + " AND ".join(where)) if where else "", params


def files_seen(conn: duckdb.DuckDBPyConnection, where: str = "", params: list | None = None) -> int:
    """How many files (any sighting) match ``where`` (from ``files_filter``)."""
    return conn.execute(
        f"SELECT count(*) FROM audit.bestanden AS b WHERE TRUE{where}", params or []
    ).fetchone()[0]


def latest_loaded(conn: duckdb.DuckDBPyConnection, bron: str | None = None, limit: int = 3) -> list[str]:
    """The paths of the latest loaded files (of one source): examples whose names follow the pattern."""
    rows = conn.execute(
        "SELECT pad FROM audit.bestanden_actueel WHERE status = 'geladen'"
        + (" AND bron = ?" if bron else "")
        + " ORDER BY leverdatum DESC, pad LIMIT ?",
        [*([bron] if bron else []), limit],
    ).fetchall()
    return [p for (p,) in rows]


def quarantined_rows(
    conn: duckdb.DuckDBPyConnection, where: str = "", params: list | None = None
) -> list[dict]:
    """The quarantined rows of the current loads matching ``where``, in file, row and column order, as dicts
    (bron, pad, blad, rijnummer, kolom, reden, waarden and getoond as JSON text, the file's commissie,
    reden_codes, reden_parameters)."""
    codes, _ = code_columns(conn)
    # a warehouse from before the supplier's view (issue 20) lacks the column: NULL until its files are read again
    has_shown = conn.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'audit' AND table_name = 'quarantaine' "
        "AND column_name = 'getoond'"
    ).fetchone()[0]
    shown = "CAST(q.getoond AS VARCHAR)" if has_shown else "NULL"
    cur = conn.execute(
        "SELECT q.bron, q.pad, q.blad, q.rijnummer, q.kolom, q.reden, CAST(q.waarden AS VARCHAR) AS waarden, "
        f"{shown} AS getoond, b.commissie, "
        f"{codes} FROM audit.quarantaine AS q JOIN audit.bestanden AS b USING (bestand_id) "
        f"WHERE TRUE{where} ORDER BY q.pad, q.rijnummer, q.kolom",
        params or [],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def files_per_source(conn: duckdb.DuckDBPyConnection):
    """Per source: files, loaded, rejected, rows loaded and rows quarantined (a DataFrame, by source)."""
    return conn.execute(
        "SELECT bron, count(*) AS bestanden, count(*) FILTER (status = 'geladen') AS geladen, "
        "count(*) FILTER (status = 'afgewezen') AS afgewezen, sum(rijen_geladen) AS rijen, "
        "sum(rijen_quarantaine) AS quarantaine FROM audit.bestanden_actueel GROUP BY bron "
        "ORDER BY bron"
    ).df()


def quarantine_summary(
    conn: duckdb.DuckDBPyConnection, bron: str, examples: int = 5
) -> tuple[int, list[str]]:
    """Quarantined rows of a source's current loads, with a few examples naming file, row and column."""
    total = conn.execute("SELECT count(*) FROM audit.quarantaine WHERE bron = ?", [bron]).fetchone()[0]
    rows = conn.execute(
        "SELECT pad, blad, rijnummer, reden FROM audit.quarantaine WHERE bron = ? "
        "ORDER BY pad, rijnummer LIMIT ?",
        [bron, examples],
    ).fetchall()
    return total, [f"{p}{', sheet ' + b if b else ''}, row {r}: {reden}" for p, b, r, reden in rows]


def quarantined_columns(conn: duckdb.DuckDBPyConnection, pads: list[str]) -> list[tuple[str, list[str]]]:
    """Per file of ``pads`` with quarantined rows: the column of each such row, in row order."""
    return conn.execute(
        "SELECT pad, list(kolom ORDER BY rijnummer) FROM audit.quarantaine "
        "WHERE pad IN (SELECT unnest(?)) GROUP BY pad ORDER BY pad",
        [pads],
    ).fetchall()


def gate_outcomes(conn: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, bool, list[dict]]]:
    """Every suite the gate validated in one run: (suite, passed, failures), in the order they were checked."""
    if not conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'audit' AND table_name = 'poort'"
    ).fetchone()[0]:
        return []
    rows = conn.execute(
        "SELECT suite, geslaagd, fouten FROM audit.poort WHERE run_id = ? ORDER BY gecontroleerd_op", [run_id]
    ).fetchall()
    return [(suite, bool(geslaagd), json.loads(fouten)) for suite, geslaagd, fouten in rows]


def gate_failures(conn: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, list[dict]]]:
    """The failed suites of one run with their failures, in the order they were checked."""
    return [(suite, fouten) for suite, geslaagd, fouten in gate_outcomes(conn, run_id) if not geslaagd]
