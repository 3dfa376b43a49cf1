"""The province publication: every region's published marts side by side, with `regio_code`.

A province oversees several regions; each region publishes its own read-only copy (``warehouse.publish``).
This module reads those copies only (never a region's warehouse, so no region's lock or pseudonyms are
touched) and writes schema `provincie`: each mart as the union of the regions' marts with a leading column
`regio_code`, the regions themselves (`regios`: name, provinces, peildatum, publication time), their
gemeenten, and `kerncijfers`: per region the urgent allocations under the legal definition (the regions'
own counting exceptions aside) per 1,000 inhabitants, per 100 social rental dwellings and per 100
allocations. `dubbel_geteld` lists a gemeente that two region packs both count in their agreement.
The result goes to a province DuckDB file (temporary file and one rename, as the region copies) and,
optionally, to PostgreSQL schema `provincie`, readable by the reader role like the other published schemas.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from warehouse.publish import Published, _quote, publish_postgres

SCHEMA = "provincie"

KERNCIJFERS_SQL = """
    WITH laatste AS (
        SELECT regio_code, max(jaar) AS jaar FROM provincie.fair_share_gemeente GROUP BY regio_code),
    urgent AS (
        SELECT f.regio_code, l.jaar, sum(f.gehuisvest + f.gehuisvest_buiten_afspraak) AS wettelijk_urgent_gehuisvest,
               max(f.maanden_data) AS maanden_data
        FROM provincie.fair_share AS f JOIN laatste AS l USING (regio_code, jaar) GROUP BY ALL),
    toew AS (
        SELECT g.regio_code, sum(g.toewijzingen) AS toewijzingen
        FROM provincie.fair_share_gemeente AS g JOIN laatste AS l USING (regio_code, jaar) GROUP BY ALL),
    gem AS (
        SELECT regio_code, gemeente_code FROM provincie.gemeenten WHERE in_afspraak),
    inw AS (
        SELECT i.regio_code, sum(i.inwoners) AS inwoners FROM provincie.inwoners AS i
        JOIN gem USING (regio_code, gemeente_code) GROUP BY ALL),
    shv AS (
        SELECT s.regio_code, sum(s.sociale_huurwoningen) AS sociale_huurwoningen,
               bool_or(s.voorlopig) AS sociale_huurvoorraad_voorlopig
        FROM provincie.sociale_huurvoorraad AS s JOIN gem USING (regio_code, gemeente_code) GROUP BY ALL)
    SELECT r.regio_code, r.regio_naam, r.peildatum, u.jaar, u.maanden_data,
           cast(u.wettelijk_urgent_gehuisvest AS BIGINT) AS wettelijk_urgent_gehuisvest,
           cast(t.toewijzingen AS BIGINT) AS toewijzingen, cast(i.inwoners AS BIGINT) AS inwoners,
           cast(s.sociale_huurwoningen AS BIGINT) AS sociale_huurwoningen, s.sociale_huurvoorraad_voorlopig,
           1000.0 * u.wettelijk_urgent_gehuisvest / nullif(i.inwoners, 0) AS per_1000_inwoners,
           100.0 * u.wettelijk_urgent_gehuisvest / nullif(s.sociale_huurwoningen, 0) AS per_100_sociale_huurwoningen,
           100.0 * u.wettelijk_urgent_gehuisvest / nullif(t.toewijzingen, 0) AS per_100_toewijzingen,
           'geslaagd' AS poort, r.gepubliceerd_op
    FROM provincie.regios AS r
    LEFT JOIN urgent AS u USING (regio_code) LEFT JOIN toew AS t USING (regio_code)
    LEFT JOIN inw AS i USING (regio_code) LEFT JOIN shv AS s USING (regio_code)
    ORDER BY r.regio_code"""

DESCRIPTIONS = {
    "regios": "De regio's in deze provinciale publicatie, met de peildatum van hun laatste gepubliceerde rapport.",
    "kerncijfers": "Per regio: wettelijk urgent gehuisvest in het laatste jaar (eigen uitzonderingen buiten "
                   "beschouwing), per 1.000 inwoners, per 100 sociale huurwoningen en per 100 toewijzingen.",
    "dubbel_geteld": "Gemeenten die in de afspraak van meer dan één regio meetellen (moet leeg zijn).",
}


def _tables(conn: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> set[str]:
    return {t for (t,) in conn.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND "
                                        "schema_name = ?", [catalog, schema]).fetchall()}


def build_province(sources: dict[str, Path], target: Path) -> Published:
    """Write the province DuckDB file from the regions' published copies (``regio_code`` -> path)."""
    if not sources:
        raise ValueError("no region copies to combine")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    with duckdb.connect() as conn:
        aliases = {}
        for i, (regio, path) in enumerate(sorted(sources.items())):
            if not Path(path).exists():
                raise FileNotFoundError(f"region '{regio}': no published copy at {path} (run the region first)")
            aliases[regio] = f"r{i}"
            conn.execute(f"ATTACH {_quote(str(path))} AS r{i} (READ_ONLY)")
        conn.execute(f"ATTACH {_quote(str(tmp))} AS uit")
        conn.execute(f"CREATE SCHEMA uit.{SCHEMA}")

        def union(schema: str, table: str) -> str:
            return " UNION ALL BY NAME ".join(
                f"SELECT {_quote(regio)} AS regio_code, * FROM {a}.{schema}.{table}" for regio, a in aliases.items())

        marts = set.intersection(*(_tables(conn, a, "marts") for a in aliases.values()))
        referentie = set.intersection(*(_tables(conn, a, "referentie") for a in aliases.values()))
        for table in sorted(marts) + sorted(referentie & {"gemeenten", "inwoners", "sociale_huurvoorraad",
                                                          "commissies", "ingroeipad_afspraak", "opgaven"}):
            schema = "marts" if table in marts else "referentie"
            conn.execute(f"CREATE TABLE uit.{SCHEMA}.{table} AS {union(schema, table)}")
            first = next(iter(aliases.values()))
            comment = conn.execute("SELECT comment FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
                                   "AND table_name = ?", [first, schema, table]).fetchone()[0]
            if comment:
                conn.execute(f"COMMENT ON TABLE uit.{SCHEMA}.{table} IS {_quote(comment)}")
            for column, text in conn.execute(
                    "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? "
                    "AND table_name = ? AND comment IS NOT NULL", [first, schema, table]).fetchall():
                conn.execute(f'COMMENT ON COLUMN uit.{SCHEMA}.{table}."{column}" IS {_quote(text)}')
            conn.execute(f"COMMENT ON COLUMN uit.{SCHEMA}.{table}.regio_code IS "
                         "'De regio (map regions/<regio_code>/) waarvan de rij komt.'")
        conn.execute(f"CREATE TABLE uit.{SCHEMA}.regios AS " + " UNION ALL ".join(
            f"SELECT r.regio_code, r.regio_naam, r.provincie, r.bestuur, p.peildatum, p.data_tot, p.gepubliceerd_op "
            f"FROM {a}.referentie.regio AS r, {a}.info.publicatie AS p" for a in aliases.values()))
        conn.execute("USE uit")
        conn.execute(f"CREATE TABLE {SCHEMA}.dubbel_geteld AS SELECT gemeente_code, any_value(gemeente_naam) AS "
                     f"gemeente_naam, string_agg(regio_code, ', ' ORDER BY regio_code) AS regios FROM "
                     f"{SCHEMA}.gemeenten WHERE in_afspraak GROUP BY gemeente_code HAVING count(*) > 1")
        conn.execute(f"CREATE TABLE {SCHEMA}.kerncijfers AS {KERNCIJFERS_SQL}")
        for table, text in DESCRIPTIONS.items():
            conn.execute(f"COMMENT ON TABLE {SCHEMA}.{table} IS {_quote(text)}")
        conn.execute(f"CREATE TABLE {SCHEMA}.publicatie AS SELECT ?::TIMESTAMP AS gepubliceerd_op",
                     [dt.datetime.now()])
        for (table,) in conn.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND "
                                     "database_name = 'uit' ORDER BY 1", [SCHEMA]).fetchall():
            counts[f"{SCHEMA}.{table}"] = conn.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()[0]
        conn.execute("USE memory")
        conn.execute("DETACH uit")
    os.replace(tmp, target)  # atomic: readers see the old file or the new one
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    return Published(str(target), counts)


def publish_province_postgres(province: Path, dsn: str, reader_password: str | None = None) -> Published:
    """Copy schema `provincie` of the province file into PostgreSQL; the reader role may read it."""
    return publish_postgres(province, dsn, reader_password, schemas={SCHEMA: None})
