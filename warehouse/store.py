"""Reads and atomic writes of the ingest bookkeeping in the warehouse.

Every file load is one transaction: the file's earlier rows (same path) and quarantine entries
are replaced together with its audit row, so a crash leaves the warehouse as before the file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from basics import timing
from ingest.reasons import Reden, column_parts, reden, stored_parts
from ingest.values import hmac_pads, pseudonym_sql
from warehouse import data_only, schema


class KeyMismatch(Exception):
    """The pseudonym key differs from the one the warehouse was built with."""


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection: DuckDB allows one writer per file, so never hold it longer than needed.

    DuckDB's memory is capped (FAIRSHARE_DUCKDB_MEMORY, as for dbt): it spills to disk beyond that.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(
        str(path),
        read_only=read_only,
        config={"memory_limit": os.environ.get("FAIRSHARE_DUCKDB_MEMORY", "1GB")},
    )
    conn.execute(
        "SET enable_progress_bar = false"
    )  # else drawn on stdout for queries over 2 s, into logs too
    try:
        yield conn
    finally:
        conn.close()


def check_key(conn: duckdb.DuckDBPyConnection, fingerprint: str) -> None:
    """Record the key's fingerprint on first use; refuse a different key afterwards."""
    row = conn.execute("SELECT vingerafdruk FROM audit.pseudoniem_sleutel LIMIT 1").fetchone()
    if row is None:
        conn.execute("INSERT INTO audit.pseudoniem_sleutel (vingerafdruk) VALUES (?)", [fingerprint])
    elif row[0] != fingerprint:
        # The fingerprints themselves stay out of the message: logged, they would be an offline oracle for key guesses.
        raise KeyMismatch(
            "FAIRSHARE_PSEUDONYM_KEY differs from the key this warehouse was built with: pseudonyms would no "
            "longer link. Use the original key, or start a new warehouse file."
        )


def stored_fingerprint(path: Path) -> str | None:
    """The key fingerprint recorded in an existing warehouse file, if any."""
    if not path.exists():
        return None
    # Checked before the run knows the file is its own: read as data (a view there could read any file).
    with data_only.connect_read_only(path) as conn:
        exists = conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit' "
            "AND table_name = 'pseudoniem_sleutel'"
        ).fetchone()[0]
        if not exists:
            return None
        row = conn.execute("SELECT vingerafdruk FROM audit.pseudoniem_sleutel LIMIT 1").fetchone()
        return row[0] if row else None


@dataclass(frozen=True)
class FileState:
    """The latest sighting of a path that loaded or rejected it."""

    status: str
    inhoud_hash: str | None
    config_hash: str
    reden: str | None
    reden_code: str | None = None
    reden_parameters: str | None = None  # JSON


def file_state(conn: duckdb.DuckDBPyConnection, pad: str) -> FileState | None:
    row = conn.execute(
        "SELECT status, inhoud_hash, config_hash, reden, reden_code, CAST(reden_parameters AS VARCHAR) "
        "FROM audit.bestanden_actueel WHERE pad = ?",
        [pad],
    ).fetchone()
    return FileState(*row) if row else None


def reason_columns(r: Reden | None) -> dict:
    """The code and parameter columns of a file's reason (``audit.bestanden``), beside its English ``reden``."""
    if r is None:
        return {"reden_code": None, "reden_parameters": None}
    return {
        "reden_code": r.code,
        "reden_parameters": json.dumps(r.to_json(), ensure_ascii=False, default=str),
    }


def loaded_copy(
    conn: duckdb.DuckDBPyConnection, bron: str, commissie: str | None, inhoud_hash: str, config_hash: str
) -> str | None:
    """A loaded file of the same source (and committee) with the same content and configuration, if any.

    The committee is part of the identity: the same bytes named for another committee mean other rows.
    """
    row = conn.execute(
        "SELECT pad FROM audit.bestanden_actueel WHERE status = 'geladen' AND bron = ? "
        "AND commissie IS NOT DISTINCT FROM ? AND inhoud_hash = ? AND config_hash = ? "
        "ORDER BY bestand_id LIMIT 1",
        [bron, commissie, inhoud_hash, config_hash],
    ).fetchone()
    return row[0] if row else None


def delivery_holder(
    conn: duckdb.DuckDBPyConnection, bron: str, commissie: str | None, leverdatum: dt.date, pad: str
) -> str | None:
    """Another loaded file of the same source (and committee) and date, if any."""
    row = conn.execute(
        "SELECT pad FROM audit.bestanden_actueel WHERE status = 'geladen' AND bron = ? "
        "AND commissie IS NOT DISTINCT FROM ? AND leverdatum = ? AND pad <> ? LIMIT 1",
        [bron, commissie, leverdatum, pad],
    ).fetchone()
    return row[0] if row else None


def _insert_audit(conn: duckdb.DuckDBPyConnection, audit: dict) -> int:
    cols = list(audit)
    placeholders = ", ".join("?" for _ in cols)
    return conn.execute(
        f"INSERT INTO audit.bestanden ({', '.join(cols)}) VALUES ({placeholders}) RETURNING bestand_id",
        [audit[c] for c in cols],
    ).fetchone()[0]


def non_data_seen(conn: duckdb.DuckDBPyConnection, pad: str, inhoud_hash: str | None) -> bool:
    """Whether this file that is no data was seen (and warned about) before with this content."""
    return (
        conn.execute(
            "SELECT 1 FROM audit.overige_bestanden WHERE pad = ? AND inhoud_hash IS NOT DISTINCT FROM ?",
            [pad, inhoud_hash],
        ).fetchone()
        is not None
    )


def record_non_data(conn: duckdb.DuckDBPyConnection, bron: str, pad: str, inhoud_hash: str | None) -> None:
    """Remember a file that is no data with its content, so that it is warned about once."""
    conn.execute(
        "INSERT INTO audit.overige_bestanden (bron, pad, inhoud_hash) VALUES (?, ?, ?)",
        [bron, pad, inhoud_hash],
    )


def record_sighting(conn: duckdb.DuckDBPyConnection, audit: dict) -> int:
    """An audit row for a file that changes no data (rejected or unchanged)."""
    return _insert_audit(conn, audit)


class Delivery(Protocol):
    """A file being loaded (``ingest.loader.OpenedFile``): normalised chunks and its load report."""

    quarantine: list[dict]
    rijen_gelezen: int
    totaalrijen_overgeslagen: int

    def chunks(self) -> Iterator: ...

    def shown_as_stored(self, row: dict) -> str:
        """``getoond`` (the supplier's view) of a row that loaded and then turned out bad."""
        ...


def store_file(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    audit: dict,
    delivery: Delivery,
    key: bytes,
    natural_key: list[str],
    key_header: str,
    verify: Callable[[], None] | None = None,
) -> tuple[int, int]:
    """Load one file atomically, chunk by chunk: replace its earlier sightings and quarantine entries, write its audit row.

    The file's rows are collected in a temporary table (identifiers pseudonymised in that INSERT,
    ``pseudonym_sql``); at the end each row becomes a sighting, only rows not seen before become new
    versions, and ``<table>__actueel`` moves to this delivery's sightings where it is the latest
    (``warehouse.schema``). ``verify`` is called just before the commit and may raise to roll the
    load back (the file changed while it was read). Returns (bestand_id, rows loaded).
    """
    outer, inner = hmac_pads(key)
    # A regular csv is read by DuckDB first, outside the transaction (an error there must not end it).
    prepare = getattr(delivery, "prepare_sql", None)
    good = prepare(conn) if prepare is not None else None
    conn.execute("BEGIN TRANSACTION")
    try:
        bestand_id = _insert_audit(conn, audit)
        pad = audit["pad"]
        replaced = _drop_earlier_sightings(conn, table, pad, natural_key, bestand_id)
        conn.execute("DELETE FROM audit.quarantaine WHERE pad = ?", [pad])
        columns = _columns(conn, table)
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE _nieuw AS SELECT * EXCLUDE (_versie), 0::BIGINT AS _rijnummer "
            f"FROM {table}__versies LIMIT 0"
        )
        if good is not None:
            with timing.stage("load"):
                # Chunk by chunk (at most CHUNK_ROWS rows each), as the pandas path inserts: one INSERT of more
                # than a row group (122,880 rows) into _nieuw once lost its rows while this path was built; a
                # minimal reproduction (DuckDB 2.0.0) did not, so the insert keeps the tested size.
                for (chunk,) in conn.execute(f"SELECT DISTINCT _chunk FROM {good} ORDER BY 1").fetchall():
                    conn.execute(
                        f"INSERT INTO _nieuw BY NAME SELECT * EXCLUDE (_chunk) FROM {good} WHERE _chunk = ?",
                        [chunk],
                    )
        parts, bad_keys = 0, []
        for part in delivery.chunks():
            parts += 1
            bad_keys.append(part.bad_keys)
            if len(part.rows):
                with timing.stage("load"):
                    _insert_chunk(conn, part, (outer, inner))
        with timing.stage("load"):
            if parts > 1:  # a key twice in one chunk was caught there; across chunks it is caught here
                _take_duplicates(conn, natural_key, key_header, pd.concat(bad_keys), delivery)
            quarantine = delivery.quarantine
            if quarantine:
                q = pd.DataFrame(quarantine).assign(
                    bestand_id=bestand_id, bron=audit["bron"], pad=pad, blad=audit.get("blad")
                )
                conn.register("_quarantine", q)
                conn.execute(
                    "INSERT INTO audit.quarantaine (bestand_id, bron, pad, blad, rijnummer, kolom, reden, "
                    "reden_codes, reden_parameters, waarden, getoond) SELECT bestand_id, bron, pad, blad, "
                    "rijnummer, kolom, reden, reden_codes, reden_parameters, waarden, getoond FROM _quarantine"
                )
                conn.unregister("_quarantine")
            loaded = _keep_versions(
                conn, table, columns, natural_key, bestand_id, audit["leverdatum"], replaced
            )
            conn.execute(
                "UPDATE audit.bestanden SET rijen_gelezen = ?, rijen_geladen = ?, rijen_quarantaine = ?, "
                "totaalrijen_overgeslagen = ? WHERE bestand_id = ?",
                [
                    delivery.rijen_gelezen,
                    loaded,
                    len(quarantine),
                    delivery.totaalrijen_overgeslagen,
                    bestand_id,
                ],
            )
        if verify is not None:
            verify()
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    finally:
        for temp in ("_nieuw", "_vorige", *([good] if good else [])):
            try:
                conn.execute(f"DROP TABLE IF EXISTS {temp}")
            except duckdb.Error:
                pass
    return bestand_id, loaded


def rollback(conn: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if DuckDB has not already ended it.

    A failed COMMIT (a full disk: "Could not write file ...wal: No space left on device") ends the transaction
    itself; a ROLLBACK then fails with "no transaction is active", which must never replace the real error.
    """
    try:
        conn.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass  # nothing open any more: the caller re-raises the error that ended it


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The canonical columns of a source's versions, in order."""
    schema_name, name = table.split(".", 1)
    return [
        c
        for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "AND column_name <> '_versie' ORDER BY ordinal_position",
            [schema_name, f"{name}__versies"],
        ).fetchall()
    ]


def _drop_earlier_sightings(
    conn: duckdb.DuckDBPyConnection, table: str, pad: str, natural_key: list[str], bestand_id: int
) -> bool:
    """Remove the sightings of an earlier load of this path (a re-delivered file), keeping their keys in ``_vorige``."""
    earlier = "SELECT bestand_id FROM audit.bestanden WHERE pad = ?"
    keys = ", ".join(natural_key)
    if not conn.execute(
        "SELECT count(*) FROM audit.bestanden WHERE pad = ? AND status = 'geladen' AND bestand_id <> ?",
        [pad, bestand_id],
    ).fetchone()[0]:
        return False  # a first load: no sightings to look for
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _vorige AS SELECT DISTINCT {keys} FROM {table}__waarnemingen "
        f"WHERE _bestand_id IN ({earlier})",
        [pad],
    )
    if not conn.execute("SELECT count(*) FROM _vorige").fetchone()[0]:
        return False
    conn.execute(f"DELETE FROM {table}__waarnemingen WHERE _bestand_id IN ({earlier})", [pad])
    return True


def _keep_versions(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    natural_key: list[str],
    bestand_id: int,
    leverdatum,
    replaced: bool,
) -> int:
    """Turn the file's rows (``_nieuw``) into sightings and new versions; move ``__actueel`` along.

    A key's current row is its sighting of the latest delivery (then the latest load): a new sighting
    wins unless the key was seen in a later delivery. When this load replaces an earlier load of the
    same path, the keys of both are recomputed from all sightings, and versions no longer seen go.
    """
    keys = ", ".join(natural_key)
    on = " AND ".join(f"a.{k} = n.{k}" for k in natural_key)
    # The hash is computed where it is needed (cheap) rather than stored in a copy of the file's rows (not).
    nieuw = f"(SELECT *, {schema.version_hash(columns)} AS _versie FROM _nieuw)"
    conn.execute(
        f"INSERT INTO {table}__waarnemingen SELECT ?, _rijnummer, {keys}, _versie FROM {nieuw}", [bestand_id]
    )
    cols = ", ".join(f'n."{c}"' for c in columns)
    conn.execute(
        f"INSERT INTO {table}__versies SELECT {cols}, n._versie FROM {nieuw} AS n "
        f"ANTI JOIN {table}__versies AS a ON {on} AND a._versie = n._versie"
    )
    if replaced:
        conn.execute(f"INSERT INTO _vorige SELECT {keys} FROM _nieuw")
        schema.rebuild_actueel(conn, table, natural_key, "_vorige")
        on_v = " AND ".join(f"w.{k} = v.{k}" for k in natural_key)
        touched = " AND ".join(f"t.{k} = v.{k}" for k in natural_key)
        conn.execute(
            f"DELETE FROM {table}__versies AS v WHERE EXISTS (SELECT 1 FROM _vorige AS t WHERE {touched}) "
            f"AND NOT EXISTS (SELECT 1 FROM {table}__waarnemingen AS w WHERE {on_v} "
            "AND w._versie = v._versie)"
        )
    else:
        conn.execute(
            f"DELETE FROM {table}__actueel AS a USING _nieuw AS n WHERE {on} AND a._leverdatum <= ?",
            [leverdatum],
        )
        conn.execute(
            f"INSERT INTO {table}__actueel SELECT {', '.join(f'n.{k}' for k in natural_key)}, n._versie, ?, "
            f"n._rijnummer, ?::DATE FROM {nieuw} AS n ANTI JOIN {table}__actueel AS a ON {on}",
            [bestand_id, leverdatum],
        )
    return conn.execute("SELECT count(*) FROM _nieuw").fetchone()[0]


def _insert_chunk(conn: duckdb.DuckDBPyConnection, part, pads: tuple[bytes, bytes]) -> None:
    targets, exprs, params = [], [], []
    for col in part.rows.columns:
        if col in part.pseudonymise:
            targets.append(part.pseudonymise[col])
            exprs.append(pseudonym_sql(f'"{col}"'))
            params += list(pads)
        else:
            targets.append(col)
            exprs.append(f'"{col}"')
    conn.register("_incoming", part.rows)
    conn.execute(
        f"INSERT INTO _nieuw ({', '.join(targets)}) SELECT {', '.join(exprs)} FROM _incoming", params
    )
    conn.unregister("_incoming")


def _take_duplicates(
    conn: duckdb.DuckDBPyConnection,
    natural_key: list[str],
    key_header: str,
    bad_keys: pd.DataFrame,
    delivery: Delivery,
) -> None:
    """Rows whose natural key occurs more than once in the file, across chunks: loaded ones are removed and
    quarantined, already quarantined ones get the duplicate named too (as within one chunk)."""
    quarantine = delivery.quarantine
    keys = ", ".join(f'"{k}"' for k in natural_key)
    conn.register(
        "_bad_keys",
        bad_keys
        if len(bad_keys)
        else pd.DataFrame(
            {**{k: pd.Series(dtype=object) for k in natural_key}, "_rijnummer": pd.Series(dtype="int64")}
        ),
    )
    counted = f"""
        WITH all_keys AS (SELECT {keys} FROM _nieuw UNION ALL SELECT {keys} FROM _bad_keys)
        SELECT {keys}, count(*) AS n FROM all_keys GROUP BY ALL HAVING count(*) > 1"""
    loaded = conn.execute(f"""SELECT t.*, c.n AS _aantal FROM _nieuw AS t JOIN ({counted}) AS c USING ({keys})
                              ORDER BY t._rijnummer""").fetchdf()
    bad = dict(
        conn.execute(
            f"""SELECT b._rijnummer, c.n FROM _bad_keys AS b JOIN ({counted}) AS c USING ({keys})"""
        ).fetchall()
    )
    conn.unregister("_bad_keys")
    id_col = natural_key[-1]

    def duplicate(value: object, n: int) -> tuple[str, str, Reden]:
        return id_col, key_header, reden("duplicate_key", column=id_col, value=value, count=int(n))

    for entry in quarantine:
        if entry["rijnummer"] in bad and id_col not in entry["kolom"].split(", "):
            value = json.loads(entry["waarden"]).get(id_col)
            # the key column comes first in every source
            parts = [duplicate(value, bad[entry["rijnummer"]])]
            entry.update(column_parts(parts + stored_parts(entry["reden_codes"], entry["reden_parameters"])))
    if not len(loaded):
        return
    conn.execute("DELETE FROM _nieuw WHERE _rijnummer IN (SELECT unnest(?))", [loaded["_rijnummer"].tolist()])
    for row in loaded.to_dict("records"):
        shown = {k: v for k, v in row.items() if not k.startswith("_") and pd.notna(v)}
        quarantine.append(
            {
                "rijnummer": int(row["_rijnummer"]),
                **column_parts([duplicate(row[id_col], row["_aantal"])]),
                "waarden": json.dumps(shown, ensure_ascii=False, default=str),
                "getoond": delivery.shown_as_stored(shown),
            }
        )
    quarantine.sort(key=lambda q: q["rijnummer"])


def record_gate(
    conn: duckdb.DuckDBPyConnection, run_id: str, peildatum, suite: str, geslaagd: bool, fouten: list[dict]
) -> None:
    """Keep one suite's outcome for this run (the blocked page lists all failures of the run)."""
    conn.execute("DELETE FROM audit.poort WHERE run_id = ? AND suite = ?", [run_id, suite])
    conn.execute(
        "INSERT INTO audit.poort (run_id, peildatum, suite, geslaagd, fouten) VALUES (?, ?, ?, ?, ?)",
        [run_id, peildatum, suite, geslaagd, json.dumps(fouten, ensure_ascii=False)],
    )
