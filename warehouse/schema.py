"""DDL of the warehouse's `raw` and `audit` schemas.

Raw keeps every version of every row and every sighting of it (sources.md §1). A cumulative
delivery repeats most rows of the previous one unchanged, so per source three tables hold it:

- ``<table>__versies``: each distinct row (natural key + all canonical values) once, with ``_versie``,
  a hash of its values: raw grows with changes, not with deliveries;
- ``<table>__waarnemingen``: one narrow row per row read (file, row number, key, version): lineage;
- ``<table>__actueel``: per natural key the sighting of the latest delivery (latest delivery wins),
  maintained by each file's load in the same transaction (``warehouse.store``).

``<table>`` and ``<table>_actueel`` are views over these with the columns the raw table always had
(canonical columns, then ``_pad``, ``_leverdatum``, ``_bestand_id``, ``_blad``, ``_rijnummer``).
"""

from __future__ import annotations

import duckdb

AUDIT_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS audit;
CREATE SEQUENCE IF NOT EXISTS audit.bestand_id_seq;
CREATE TABLE IF NOT EXISTS audit.bestanden (
    bestand_id BIGINT PRIMARY KEY DEFAULT nextval('audit.bestand_id_seq'),
    bron VARCHAR NOT NULL,
    pad VARCHAR NOT NULL,
    inhoud_hash VARCHAR,
    config_hash VARCHAR NOT NULL,
    leverdatum DATE,
    commissie VARCHAR,
    status VARCHAR NOT NULL CHECK (status IN ('geladen', 'afgewezen', 'ongewijzigd')),
    rijen_gelezen BIGINT,
    rijen_geladen BIGINT,
    rijen_quarantaine BIGINT,
    totaalrijen_overgeslagen BIGINT,
    kolommen_genegeerd VARCHAR[],
    kolommen_verwijderd VARCHAR[],
    blad VARCHAR,
    reden VARCHAR,
    geladen_op TIMESTAMP NOT NULL DEFAULT current_timestamp,
    reden_code VARCHAR,
    reden_parameters JSON
);
CREATE TABLE IF NOT EXISTS audit.quarantaine (
    bestand_id BIGINT NOT NULL,
    bron VARCHAR NOT NULL,
    pad VARCHAR NOT NULL,
    blad VARCHAR,
    rijnummer BIGINT NOT NULL,
    kolom VARCHAR NOT NULL,
    reden VARCHAR NOT NULL,
    waarden JSON,
    reden_codes VARCHAR[],
    reden_parameters JSON
);
-- Reasons as codes (ingest/reasons.py): a warehouse from before them gets the columns (NULL for its old rows,
-- until the next run reads those files again: the ingest logic version changed with them).
ALTER TABLE audit.bestanden ADD COLUMN IF NOT EXISTS reden_code VARCHAR;
ALTER TABLE audit.bestanden ADD COLUMN IF NOT EXISTS reden_parameters JSON;
ALTER TABLE audit.quarantaine ADD COLUMN IF NOT EXISTS reden_codes VARCHAR[];
ALTER TABLE audit.quarantaine ADD COLUMN IF NOT EXISTS reden_parameters JSON;
-- The row as the supplier's list shows it (ingest/normalise.py as_read): [{kolom, kop, waarde, bedoeld}],
-- each recognised column by its header in the file, its value as typed only where ingest/privacy.py allows.
ALTER TABLE audit.quarantaine ADD COLUMN IF NOT EXISTS getoond JSON;
CREATE TABLE IF NOT EXISTS audit.pseudoniem_sleutel (
    vingerafdruk VARCHAR NOT NULL,
    vastgelegd_op TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- Gate results per run: one row per GX suite validated before the BO report.
CREATE TABLE IF NOT EXISTS audit.poort (
    run_id VARCHAR NOT NULL,
    peildatum DATE,
    suite VARCHAR NOT NULL,
    geslaagd BOOLEAN NOT NULL,
    fouten JSON,
    gecontroleerd_op TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- Complete builds (gate passed, report written, copy published), with the fingerprint of their inputs.
-- bouw_nr orders them (audit.bouw_nr_seq, taken when the build starts): the clock can be wrong, a sequence not.
CREATE TABLE IF NOT EXISTS audit.bouw (
    vingerafdruk VARCHAR NOT NULL,
    uitvoer VARCHAR[] NOT NULL,  -- report files written (in the reports folder)
    voltooid_op TIMESTAMP NOT NULL DEFAULT current_timestamp,
    bouw_nr BIGINT
);
-- The inputs of the build a run started: fixed before dbt reads, recorded with the publication.
CREATE TABLE IF NOT EXISTS audit.bouw_invoer (
    run_id VARCHAR NOT NULL,
    vingerafdruk VARCHAR NOT NULL,
    vastgelegd_op TIMESTAMP NOT NULL DEFAULT current_timestamp,
    bouw_nr BIGINT
);
-- The region's decision rules as numbers (basics/besluitregels.yaml, its pack's besluitpunten.yaml), written before
-- each dbt build: marts.kerncijfers judges op koers / achter with the margin the report's page one uses. Data, not a
-- dbt variable: a changed variable makes dbt parse its models again in every run.
CREATE TABLE IF NOT EXISTS audit.besluitregels (
    onderdeel VARCHAR NOT NULL,
    sleutel VARCHAR NOT NULL,
    waarde DOUBLE NOT NULL
);
-- Files in a source folder that are no data (a LEESMIJ.txt, a PDF): warned about once per content, never a
-- delivery, so never in audit.bestanden nor in a build's inputs.
CREATE TABLE IF NOT EXISTS audit.overige_bestanden (
    bron VARCHAR NOT NULL,
    pad VARCHAR NOT NULL,
    inhoud_hash VARCHAR,
    gezien_op TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- The state of each file as far as the data goes: its latest sighting that loaded or rejected it. A file that is
-- no data was never a delivery (an older version rejected a LEESMIJ.txt by its name): it is left out.
CREATE OR REPLACE VIEW audit.bestanden_actueel AS
SELECT * FROM audit.bestanden
WHERE status IN ('geladen', 'afgewezen') AND pad NOT IN (SELECT pad FROM audit.overige_bestanden)
QUALIFY row_number() OVER (PARTITION BY pad ORDER BY bestand_id DESC) = 1;
"""


def ensure_schema(
    conn: duckdb.DuckDBPyConnection, raw_tables: dict[str, tuple[dict[str, str], list[str]]]
) -> None:
    """Create the audit schema and, per source, its raw tables and views (see the module docstring).

    ``raw_tables``: table -> (columns with types, natural key). A raw table of an older warehouse
    (one row per row read) is converted in place.
    """
    conn.execute(AUDIT_DDL)
    _number_builds(conn)
    for table, (columns, natural_key) in raw_tables.items():
        old = _kind_of(conn, table) == "BASE TABLE"
        if old:
            conn.execute(f"ALTER TABLE {table} RENAME TO {_name(table)}__oud")
        key = {k: columns[k] for k in natural_key}
        _create(conn, f"{table}__versies", {**columns, "_versie": "UBIGINT NOT NULL"})
        _create(
            conn,
            f"{table}__waarnemingen",
            {
                "_bestand_id": "BIGINT NOT NULL",
                "_rijnummer": "BIGINT NOT NULL",
                **key,
                "_versie": "UBIGINT NOT NULL",
            },
        )
        _create(
            conn,
            f"{table}__actueel",
            {
                **key,
                "_versie": "UBIGINT NOT NULL",
                "_bestand_id": "BIGINT NOT NULL",
                "_rijnummer": "BIGINT NOT NULL",
                "_leverdatum": "DATE NOT NULL",
            },
        )
        if old:
            _convert(conn, table, list(columns), natural_key)
        on = " AND ".join(f"v.{k} = s.{k}" for k in natural_key)
        conn.execute(f"""CREATE OR REPLACE VIEW {table} AS
            SELECT v.* EXCLUDE (_versie), b.pad AS _pad, b.leverdatum AS _leverdatum, s._bestand_id,
                   b.blad AS _blad, s._rijnummer
            FROM {table}__waarnemingen AS s JOIN {table}__versies AS v ON {on} AND v._versie = s._versie
            JOIN audit.bestanden AS b ON b.bestand_id = s._bestand_id""")
        conn.execute(f"""CREATE OR REPLACE VIEW {table}_actueel AS
            SELECT v.* EXCLUDE (_versie), b.pad AS _pad, s._leverdatum, s._bestand_id, b.blad AS _blad, s._rijnummer
            FROM {table}__actueel AS s JOIN {table}__versies AS v ON {on} AND v._versie = s._versie
            JOIN audit.bestanden AS b ON b.bestand_id = s._bestand_id""")


def _number_builds(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the sequence that orders builds; a warehouse from before it gets ``bouw_nr`` columns, its builds
    numbered in the order their clock said (all it has), and the sequence starting after them."""
    if conn.execute(
        "SELECT count(*) FROM duckdb_sequences() WHERE schema_name = 'audit' AND "
        "sequence_name = 'bouw_nr_seq' AND database_name = current_database()"
    ).fetchone()[0]:
        return
    for table in ("bouw", "bouw_invoer"):
        conn.execute(f"ALTER TABLE audit.{table} ADD COLUMN IF NOT EXISTS bouw_nr BIGINT")
    conn.execute(
        "UPDATE audit.bouw SET bouw_nr = o.n FROM (SELECT rowid AS r, row_number() OVER "
        "(ORDER BY voltooid_op, rowid) AS n FROM audit.bouw) AS o WHERE audit.bouw.rowid = o.r"
    )
    done = conn.execute("SELECT coalesce(max(bouw_nr), 0) FROM audit.bouw").fetchone()[0]
    conn.execute(f"CREATE SEQUENCE audit.bouw_nr_seq START WITH {int(done) + 1}")


def version_hash(columns: list[str], alias: str = "") -> str:
    """SQL for a row's ``_versie``: a hash of all its canonical values (the natural key included)."""
    return "hash(" + ", ".join(f'{alias}"{c}"' for c in columns) + ")"


def rebuild_actueel(
    conn: duckdb.DuckDBPyConnection, table: str, natural_key: list[str], keys: str | None = None
) -> None:
    """Recompute ``<table>__actueel`` from the sightings: all keys, or those in the relation ``keys``."""
    cols = ", ".join(f"s.{k}" for k in natural_key)
    only = ""
    if keys:
        on = " AND ".join(f"a.{k} = t.{k}" for k in natural_key)
        conn.execute(f"DELETE FROM {table}__actueel AS a USING {keys} AS t WHERE {on}")
        only = f"SEMI JOIN {keys} AS t ON " + " AND ".join(f"s.{k} = t.{k}" for k in natural_key)
    else:
        conn.execute(f"DELETE FROM {table}__actueel")
    conn.execute(f"""INSERT INTO {table}__actueel
        SELECT {cols}, s._versie, s._bestand_id, s._rijnummer, b.leverdatum
        FROM {table}__waarnemingen AS s {only} JOIN audit.bestanden AS b ON b.bestand_id = s._bestand_id
        QUALIFY row_number() OVER (PARTITION BY {cols} ORDER BY b.leverdatum DESC, s._bestand_id DESC) = 1""")


def _name(table: str) -> str:
    return table.split(".", 1)[1]


def _kind_of(conn: duckdb.DuckDBPyConnection, table: str) -> str | None:
    schema_name, name = table.split(".", 1)
    row = conn.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema_name, name],
    ).fetchone()
    return row[0] if row else None


def _create(conn: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    body = ",\n    ".join(f"{name} {typ}" for name, typ in columns.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (\n    {body}\n)")


def _convert(conn: duckdb.DuckDBPyConnection, table: str, columns: list[str], natural_key: list[str]) -> None:
    """Turn an older warehouse's raw table (every row read, with its lineage) into versions and sightings."""
    old = f"{table}__oud"
    cols = ", ".join(f'"{c}"' for c in columns)
    keys = ", ".join(natural_key)
    conn.execute(f"CREATE TEMP TABLE _oud AS SELECT *, {version_hash(columns)} AS _versie FROM {old}")
    conn.execute(
        f"INSERT INTO {table}__versies SELECT DISTINCT ON ({keys}, _versie) {cols}, _versie FROM _oud"
    )
    conn.execute(
        f"INSERT INTO {table}__waarnemingen SELECT _bestand_id, _rijnummer, {keys}, _versie FROM _oud"
    )
    conn.execute("DROP TABLE _oud")
    conn.execute(f"DROP TABLE {old}")
    rebuild_actueel(conn, table, natural_key)


def write_besluitregels(conn: duckdb.DuckDBPyConnection, rules: dict[str, dict]) -> None:
    """``audit.besluitregels``: every number of the region's rules (``basics.besluitregels.load``), replaced."""
    rows = [
        (onderdeel, sleutel, float(waarde))
        for onderdeel, values in sorted(rules.items())
        for sleutel, waarde in sorted(values.items())
        if isinstance(waarde, int | float) and not isinstance(waarde, bool)
    ]
    conn.execute("DELETE FROM audit.besluitregels")
    if rows:
        conn.executemany("INSERT INTO audit.besluitregels VALUES (?, ?, ?)", rows)
