"""DDL of the warehouse's `raw` and `audit` schemas.

Raw tables keep every version of every row with the file it came from (`_pad`, `_leverdatum`);
which version counts is decided downstream (latest delivery wins, sources.md §1).
"""

from __future__ import annotations

import duckdb

# Columns every raw table carries besides its canonical columns.
RAW_META = {
    "_pad": "VARCHAR NOT NULL",
    "_leverdatum": "DATE NOT NULL",
    "_bestand_id": "BIGINT NOT NULL",
    "_blad": "VARCHAR",
    "_rijnummer": "BIGINT NOT NULL",
}

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
    geladen_op TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS audit.quarantaine (
    bestand_id BIGINT NOT NULL,
    bron VARCHAR NOT NULL,
    pad VARCHAR NOT NULL,
    blad VARCHAR,
    rijnummer BIGINT NOT NULL,
    kolom VARCHAR NOT NULL,
    reden VARCHAR NOT NULL,
    waarden JSON
);
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
CREATE TABLE IF NOT EXISTS audit.bouw (
    vingerafdruk VARCHAR NOT NULL,
    uitvoer VARCHAR[] NOT NULL,  -- report files written (in the reports folder)
    voltooid_op TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- The inputs of the build a run started: fixed before dbt reads, recorded with the publication.
CREATE TABLE IF NOT EXISTS audit.bouw_invoer (
    run_id VARCHAR NOT NULL,
    vingerafdruk VARCHAR NOT NULL,
    vastgelegd_op TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- The state of each file as far as the data goes: its latest sighting that loaded or rejected it.
CREATE OR REPLACE VIEW audit.bestanden_actueel AS
SELECT * FROM audit.bestanden
WHERE status IN ('geladen', 'afgewezen')
QUALIFY row_number() OVER (PARTITION BY pad ORDER BY bestand_id DESC) = 1;
"""


def ensure_schema(conn: duckdb.DuckDBPyConnection, raw_tables: dict[str, tuple[dict[str, str], list[str]]]) -> None:
    """Create the audit schema, one raw table per source and its `_actueel` view.

    ``raw_tables``: table -> (columns with types, natural key). The view keeps, per natural key,
    the version of the latest delivery (sources.md §1); a key missing from a later delivery stays.
    """
    conn.execute(AUDIT_DDL)
    for table, (columns, natural_key) in raw_tables.items():
        cols = {**columns, **RAW_META}
        body = ",\n    ".join(f"{name} {typ}" for name, typ in cols.items())
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (\n    {body}\n)")
        conn.execute(f"CREATE OR REPLACE VIEW {table}_actueel AS SELECT * FROM {table} QUALIFY row_number() OVER ("
                     f"PARTITION BY {', '.join(natural_key)} ORDER BY _leverdatum DESC, _bestand_id DESC) = 1")
