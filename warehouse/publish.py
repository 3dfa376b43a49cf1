"""Publish the marts for readers: a separate read-only DuckDB file, and optionally PostgreSQL.

Readers (the province's SQL, Metabase) never touch the file the pipeline writes. The DuckDB copy
is built beside its target and swapped in with one rename: a reader that has the old file open
keeps its consistent old view, and no reader lock can block the pipeline. It is written in a
storage format DuckDB 1.5 readers understand (the Metabase driver embeds 1.5.x). PostgreSQL gets
the same tables in one transaction (DELETE + COPY, so open readers keep their snapshot and never
block the publication), their descriptions as COMMENT ON, and a role that may read the marts and
nothing else. The history of earlier reports (`historie`, warehouse/history.py) is published too.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse import audit

# What is published: every mart, and every seed (the region's reference data the marts use, national ones).
SCHEMAS = {
    "marts": None,  # all tables
    "referentie": None,  # every seed: the published copy carries whatever reference data the marts use
    "historie": None,  # every earlier report's marts, and verschillen_sinds_vorige
}
# What the published copy's info.publicatie says about itself (column comments in the copy).
PUBLICATIE = {
    "peildatum": "Peildatum van de cijfers in deze kopie (1 april of 1 november).",
    "data_tot": "De cijfers gaan over gegevens tot en met deze datum (peildatum min een dag).",
    "gepubliceerd_op": "Wanneer deze kopie is geschreven (de klok van de machine van de pijplijn).",
    "bouw": "Volgnummer van de bouw waaruit deze kopie komt (audit.bouw in het warehouse); hoger is later.",
    "vingerafdruk": "Vingerafdruk van de invoer van die bouw (bestanden, configuratie, code); geen sleutel.",
}
READER_ROLE = "provincie_lezer"
PG_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


@dataclass
class Published:
    """What one publication wrote."""

    target: str
    tables: dict[str, int]  # "schema.table" -> rows
    warnings: list[str] = field(default_factory=list)  # published, but something for the operator to fix


def _tables(
    conn: duckdb.DuckDBPyConnection, catalog: str, schemas: dict | None = None
) -> list[tuple[str, str]]:
    schemas = SCHEMAS if schemas is None else schemas
    found = conn.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1, 2", [catalog]
    ).fetchall()
    return [(s, t) for s, t in found if s in schemas and (schemas[s] is None or t in schemas[s])]


def _quote(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def publish_duckdb(
    warehouse: Path, target: Path, storage_version: str = "v1.5.0", build: tuple[int, str] | None = None
) -> Published:
    """Copy the published tables (with their descriptions) to ``target`` via a temporary file and one rename.

    ``info.publicatie`` says what the copy holds: the peildatum and, given ``build`` (number and fingerprint of
    the build, ``warehouse.builds``), which build. ``target`` must be a regular file or absent, and never
    the warehouse (or its ``.wal``): the rename would replace it.
    """
    real = Path(os.path.realpath(target))
    if real in {Path(os.path.realpath(p)) for p in (warehouse, f"{warehouse}.wal", f"{warehouse}.lock")}:
        raise ValueError(
            f"the published copy {target} is the warehouse {warehouse} (or its .wal/.lock): not published"
        )
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise ValueError(
            f"the published copy {target} is not a regular file (a folder or a link): not published"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp*"):  # left by a killed publication (and its .wal)
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    counts = {}
    try:
        with duckdb.connect() as conn:
            conn.execute(f"ATTACH {_quote(str(warehouse))} AS bron (READ_ONLY)")
            conn.execute(
                f"ATTACH {_quote(str(tmp))} AS publicatie (STORAGE_VERSION {_quote(storage_version)})"
            )
            tables = _tables(conn, "bron")
            for schema in sorted({s for s, _ in tables}):
                conn.execute(f"CREATE SCHEMA publicatie.{schema}")
            for schema, table in tables:
                conn.execute(
                    f"CREATE TABLE publicatie.{schema}.{table} AS SELECT * FROM bron.{schema}.{table}"
                )
                counts[f"{schema}.{table}"] = conn.execute(
                    f"SELECT count(*) FROM publicatie.{schema}.{table}"
                ).fetchone()[0]
                comment = conn.execute(
                    "SELECT comment FROM duckdb_tables() WHERE database_name = 'bron' AND "
                    "schema_name = ? AND table_name = ?",
                    [schema, table],
                ).fetchone()[0]
                if comment:
                    conn.execute(f"COMMENT ON TABLE publicatie.{schema}.{table} IS {_quote(comment)}")
                for column, text in conn.execute(
                    "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'bron' AND "
                    "schema_name = ? AND table_name = ? AND comment IS NOT NULL",
                    [schema, table],
                ).fetchall():
                    conn.execute(
                        f'COMMENT ON COLUMN publicatie.{schema}.{table}."{column}" IS {_quote(text)}'
                    )
            peildatum, data_tot = audit.peildatum(conn, "bron")
            conn.execute("CREATE SCHEMA publicatie.info")
            bouw_nr, vingerafdruk = build or (None, None)
            conn.execute(
                "CREATE TABLE publicatie.info.publicatie AS SELECT ?::DATE AS peildatum, ?::DATE AS data_tot, "
                "?::TIMESTAMP AS gepubliceerd_op, ?::BIGINT AS bouw, ?::VARCHAR AS vingerafdruk",
                [peildatum, data_tot, dt.datetime.now(), bouw_nr, vingerafdruk],
            )
            for column, text in PUBLICATIE.items():
                conn.execute(f"COMMENT ON COLUMN publicatie.info.publicatie.{column} IS {_quote(text)}")
            # Views are created inside the published catalog with unqualified names, so they survive a rename.
            conn.execute("USE publicatie")
            published = ", ".join(_quote(s) for s in SCHEMAS)
            conn.execute(
                "CREATE VIEW info.tabellen AS SELECT schema_name, table_name, comment FROM duckdb_tables() "
                f"WHERE schema_name IN ({published}) AND database_name = current_database()"
            )
            conn.execute(
                "CREATE VIEW info.kolommen AS SELECT schema_name, table_name, column_name, column_index, "
                "data_type, comment FROM duckdb_columns() "
                f"WHERE schema_name IN ({published}) AND database_name = current_database()"
            )
            conn.execute("USE memory")
            conn.execute("DETACH publicatie")
            conn.execute("DETACH bron")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    except BaseException:  # a failed publication (a full disk) leaves the old copy and no temporary file
        for left in (tmp, Path(f"{tmp}.wal")):
            left.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)  # atomic: readers see the old file or the new one
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    owner_file(target).write_text(str(warehouse.resolve()) + "\n")
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return Published(str(target), counts)


def owner_file(target: Path) -> Path:
    """Beside a published copy: the warehouse it was published from (two warehouses never share a copy)."""
    return target.with_name(f".{target.name}.bron")


def owner(target: Path) -> str | None:
    """The warehouse (absolute path) that published ``target``, if it says."""
    path = owner_file(target)
    return path.read_text().strip() or None if path.is_file() else None


def holds(target: Path) -> dict | None:
    """What a published copy holds (its ``info.publicatie``: peildatum, data_tot, gepubliceerd_op, bouw,
    vingerafdruk), or None when there is no readable copy: missing, not a regular file, not DuckDB, no such table.

    Read in one short block with file access off, so a copy someone replaced cannot make this read other files.
    """
    if target.is_symlink() or not target.is_file():
        return None
    try:
        with duckdb.connect() as conn:
            conn.execute("SET allowed_paths = ?", [[str(target), f"{target}.wal"]])
            conn.execute("SET enable_external_access = false")
            conn.execute("SET lock_configuration = true")
            conn.execute(f"ATTACH {_quote(str(target))} AS kopie (READ_ONLY)")
            found = conn.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'kopie' "
                "AND schema_name = 'info' AND table_name = 'publicatie'"
            ).fetchone()[0]
            if not found:
                return None
            cursor = conn.execute("SELECT * FROM kopie.info.publicatie LIMIT 1")
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
            conn.execute("DETACH kopie")
    except duckdb.Error:
        return None
    return dict(zip(names, row, strict=True)) if row else None


def publish_postgres(
    warehouse: Path, dsn: str, reader_password: str | None = None, schemas: dict | None = None
) -> Published:
    """Copy the published tables into PostgreSQL in one transaction and grant the reader role SELECT on them.

    ``schemas`` (default ``SCHEMAS``) selects what is copied: the province publication passes its own schema.
    """
    schemas = SCHEMAS if schemas is None else schemas
    import psycopg
    from psycopg import sql

    from warehouse import data_only

    counts = {}
    with data_only.connect_read_only(warehouse) as duck, psycopg.connect(dsn) as pg:
        with pg.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(READER_ROLE)))
            if reader_password:
                cur.execute(
                    sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(READER_ROLE), sql.Literal(scram_secret(pg, reader_password))
                    )
                )
            for schema, table in _tables(
                duck, duck.execute("SELECT current_database()").fetchone()[0], schemas
            ):
                columns = duck.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? "
                    "AND table_name = ? ORDER BY column_index",
                    [schema, table],
                ).fetchall()
                wanted = [(c, PG_TYPES.get(t, "text")) for c, t in columns]
                name = sql.Identifier(schema, table)
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                cur.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                    "AND table_name = %s ORDER BY ordinal_position",
                    [schema, table],
                )
                if cur.fetchall() != wanted:  # new table or changed contract: recreate it
                    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
                    cur.execute(
                        sql.SQL("CREATE TABLE {} ({})").format(
                            name,
                            sql.SQL(", ").join(
                                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in wanted
                            ),
                        )
                    )
                else:
                    cur.execute(sql.SQL("DELETE FROM {}").format(name))
                rows = duck.execute(f"SELECT * FROM {schema}.{table}").fetchall()
                with cur.copy(sql.SQL("COPY {} FROM STDIN").format(name)) as copy:
                    for row in rows:
                        copy.write_row(row)
                counts[f"{schema}.{table}"] = len(rows)
                _comment_postgres(cur, duck, schema, table)
            for schema in schemas:
                cur.execute(
                    sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                        sql.Identifier(schema), sql.Identifier(READER_ROLE)
                    )
                )
                cur.execute(
                    sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                        sql.Identifier(schema), sql.Identifier(READER_ROLE)
                    )
                )
            warnings = _lock_down_reader(cur)
        pg.commit()
    return Published(dsn.split("@")[-1], counts, warnings)


class ReaderNotLockedDown(RuntimeError):
    """The reader role has role attributes beyond LOGIN (superuser, createdb, …): nothing is published."""


def scram_secret(pg, password: str) -> str:
    """The reader's password as a SCRAM-SHA-256 secret, computed here by libpq (PQencryptPasswordConn: random
    salt, 4096 iterations): the clear password never reaches the server, its statement log or pg_stat_statements."""
    return pg.pgconn.encrypt_password(password.encode(), READER_ROLE.encode(), b"scram-sha-256").decode(
        "ascii"
    )


def _lock_down_reader(cur) -> list[str]:
    """The reader may connect and read the published schemas, nothing else: no temporary tables (PostgreSQL
    grants TEMPORARY on every database to PUBLIC, so PUBLIC loses it here; the owner keeps it), no objects in
    schema `public` (PostgreSQL 14 and clusters upgraded from it let PUBLIC create there) nor anywhere else.

    Each right is revoked only while the reader holds it (a GRANT or REVOKE rewrites the catalog row, and two
    publications doing so at once would conflict). Checked afterwards: a right the publishing user may not
    revoke (it is not the database's owner, or `public` belongs to the bootstrap superuser as on PostgreSQL 14)
    is returned as a warning naming the SQL for the database's owner — a publication that worked before is
    never refused for it; a reader with role attributes beyond LOGIN raises (nothing is published).
    """
    from psycopg import sql

    reader = sql.Identifier(READER_ROLE)
    database = sql.Identifier(cur.execute("SELECT current_database()").fetchone()[0])

    def holds(check: str) -> bool:
        return cur.execute(f"SELECT {check}", {"role": READER_ROLE}).fetchone()[0]

    if holds("has_database_privilege(%(role)s, current_database(), 'TEMPORARY, CREATE')"):
        cur.execute(
            sql.SQL("REVOKE TEMPORARY, CREATE ON DATABASE {} FROM PUBLIC, {}").format(database, reader)
        )
    if not holds("has_database_privilege(%(role)s, current_database(), 'CONNECT')"):
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, reader))
    if holds(
        "EXISTS (SELECT FROM pg_namespace WHERE nspname = 'public' AND has_schema_privilege(%(role)s, oid, "
        "'CREATE'))"
    ):
        cur.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC, {}").format(reader))
    found = cur.execute(
        "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls OR rolreplication, "
        "has_database_privilege(rolname, current_database(), 'TEMPORARY'), "
        "has_database_privilege(rolname, current_database(), 'CREATE'), "
        "(SELECT array_agg(nspname::text ORDER BY nspname) FROM pg_namespace WHERE "
        " has_schema_privilege(%(role)s, oid, 'CREATE')) FROM pg_roles WHERE rolname = %(role)s",
        {"role": READER_ROLE},
    ).fetchone()
    if found[0]:
        raise ReaderNotLockedDown(
            f"the reader role {READER_ROLE} has role attributes beyond LOGIN (superuser, createdb, createrole, "
            f"bypassrls or replication): remove them (ALTER ROLE {READER_ROLE} NOSUPERUSER NOCREATEDB …)"
        )
    rights = [
        what
        for what, held in zip(("may create temporary tables", "may create schemas"), found[1:3], strict=True)
        if held
    ]
    rights += [f"may create objects in schema {', '.join(found[3])}"] if found[3] else []
    if not rights:
        return []
    name = database.as_string(cur)
    return [
        f"the reader role {READER_ROLE} {' and '.join(rights)} in database {name} (through PUBLIC), and the "
        f"publishing user cannot revoke that: have the database's owner run REVOKE TEMPORARY, CREATE ON DATABASE "
        f"{name} FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM PUBLIC (or publish as the owner)"
    ]


def _comment_postgres(cur, duck: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """The table's and its columns' descriptions as COMMENT ON, so Metabase and psql show them."""
    from psycopg import sql

    name = sql.Identifier(schema, table)
    comment = duck.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? "
        "AND database_name = current_database()",
        [schema, table],
    ).fetchone()[0]
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(name, sql.Literal(comment)))
    for column, text in duck.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = ? AND "
        "table_name = ? AND database_name = current_database()",
        [schema, table],
    ).fetchall():
        cur.execute(
            sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                sql.Identifier(schema, table, column), sql.Literal(text)
            )
        )
