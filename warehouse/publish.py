"""Publish the marts for readers: a separate read-only DuckDB file, and optionally PostgreSQL.

Readers (the province's SQL, Metabase) never touch the file the pipeline writes. The DuckDB copy
is built beside its target and swapped in with one rename: a reader that has the old file open
keeps its consistent old view, and no reader lock can block the pipeline. It is written in a
storage format DuckDB 1.5 readers understand (the Metabase driver embeds 1.5.x). PostgreSQL gets
the same tables in one transaction (DELETE + COPY, so open readers keep their snapshot and never
block the publication, and a failure anywhere leaves the previous publication whole), their
descriptions as COMMENT ON, and a role that may read the marts and nothing else. The history of
earlier reports (`historie`, warehouse/history.py) is published too.

Every target says what it holds in `info.publicatie` (build, fingerprint, peildatum, data_tot, time,
region): ``holds`` and ``postgres_holds`` read it back, so a run publishes to each target that is behind.
``check_postgres`` names the first privilege the publishing user lacks before a run reads anything;
``init_postgres`` (`fairshare postgres init`) is what an administrator runs once to give it them.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from basics import manifest
from basics.dutch import datum_nl
from warehouse import audit
from warehouse.data_only import ident

# What is published: every mart, and every seed (the region's reference data the marts use, national ones).
SCHEMAS = {
    "marts": None,  # all tables
    "referentie": None,  # every seed: the published copy carries whatever reference data the marts use
    "historie": None,  # every earlier report's marts, and verschillen_sinds_vorige
}
# Only in the DuckDB copy: per mart cell the records behind it (ids, pseudonyms as stored, file and row) and those
# that did not count (dbt_project/models/onderbouwing), for whoever explains a figure (`fairshare uitleg`).
DUCKDB_ONLY = {"onderbouwing": None}
# What the published copy's info.publicatie says about itself (column comments in the copy).
PUBLICATIE = {
    "peildatum": "Peildatum van de cijfers in deze kopie (1 april of 1 november).",
    "data_tot": "De cijfers gaan over gegevens tot en met deze datum (peildatum min een dag).",
    "gepubliceerd_op": "Wanneer deze kopie is geschreven (de klok van de machine van de pijplijn).",
    "bouw": "Volgnummer van de bouw waaruit deze kopie komt (audit.bouw in het warehouse); hoger is later.",
    "vingerafdruk": "Vingerafdruk van de invoer van die bouw (bestanden, configuratie, code); geen sleutel.",
    "regio": "De regio waarvan deze cijfers zijn (map regions/<regio>/).",
}
PUBLICATIE_TABEL = (
    "Wat deze publicatie bevat: de peildatum en data_tot van alle cijfers, wanneer en uit welke bouw ze zijn "
    "gepubliceerd, en de regio. Eén rij; toon de peildatum bij elk cijfer."
)
# PostgreSQL also gets `info` (info.publicatie: what the database holds); the DuckDB copy makes its own.
PG_SCHEMAS = {**SCHEMAS, "info": None}
READER_ROLE = "provincie_lezer"
PG_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp without time zone",  # as information_schema names it (else: recreated each time)
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


def _regio(conn: duckdb.DuckDBPyConnection, catalog: str) -> str | None:
    """The region a warehouse (or copy) holds: its seed ``referentie.regio``, if built."""
    found = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'referentie' "
        "AND table_name = 'regio'",
        [catalog],
    ).fetchone()[0]
    return (
        conn.execute(f"SELECT any_value(regio_code) FROM {catalog}.referentie.regio").fetchone()[0]
        if found
        else None
    )


def _copy_table(
    conn: duckdb.DuckDBPyConnection, source: str, schema: str, table: str, comments: Comments | None = None
) -> int:
    """One table with its descriptions from catalog ``source`` into ``publicatie``; its row count."""
    conn.execute(f"CREATE TABLE publicatie.{schema}.{table} AS SELECT * FROM {source}.{schema}.{table}")
    copy_comments(conn, source, schema, table, f"publicatie.{schema}.{table}", comments)
    return conn.execute(f"SELECT count(*) FROM publicatie.{schema}.{table}").fetchone()[0]


# (schema, table) -> (the table's description, [(column, description)]) of one catalog.
Comments = dict[tuple[str, str], tuple[str | None, list[tuple[str, str]]]]


def catalog_comments(conn: duckdb.DuckDBPyConnection, catalog: str) -> Comments:
    """Every table's and column's description in ``catalog``, read at once (a query on ``duckdb_columns()`` costs
    ~12 ms however little it selects: one per table was a third of a publication)."""
    found: Comments = {
        (s, t): (c, [])
        for s, t, c in conn.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE database_name = ?", [catalog]
        ).fetchall()
    }
    for schema, table, column, text in conn.execute(
        "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
        "WHERE database_name = ? AND comment IS NOT NULL ORDER BY schema_name, table_name, column_index",
        [catalog],
    ).fetchall():
        found.setdefault((schema, table), (None, []))[1].append((column, text))
    return found


def copy_comments(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    schema: str,
    table: str,
    target: str,
    comments: Comments | None = None,
) -> None:
    """The table's and its columns' descriptions from ``source.schema.table`` onto the table ``target``
    (``comments``: the source catalog's, read once by ``catalog_comments``)."""
    comment, columns = (comments or catalog_comments(conn, source)).get((schema, table), (None, []))
    if comment:
        conn.execute(f"COMMENT ON TABLE {target} IS {_quote(comment)}")
    for column, text in columns:
        conn.execute(f"COMMENT ON COLUMN {target}.{ident(column)} IS {_quote(text)}")


def publish_duckdb(
    warehouse: Path,
    target: Path,
    storage_version: str = "v1.5.0",
    build: tuple[int, str] | None = None,
    historie_only: bool = False,
) -> Published:
    """Copy the published tables (with their descriptions) to ``target`` via a temporary file and one rename.

    ``info.publicatie`` says what the copy holds: the peildatum, data_tot, time, region and, given ``build``
    (number and fingerprint of the build, ``warehouse.builds``), which build. ``historie_only`` (a board run
    for an older peildatum than the copy's, not published as current): the copy keeps its marts, reference
    tables and ``info.publicatie`` and gets the warehouse's ``historie``. ``target`` must be a regular file or
    absent, and never the warehouse (or its ``.wal``): the rename would replace it.
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
    if historie_only and holds(target) is None:
        raise ValueError(f"the published copy {target} holds no publication to keep: not published")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp*"):  # left by a killed publication (and its .wal)
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    counts = {}
    try:
        with duckdb.connect() as conn:
            conn.execute(f"ATTACH {_quote(str(warehouse))} AS bron (READ_ONLY)")
            if historie_only:  # only base tables are copied from it: a view in it is never read
                conn.execute(f"ATTACH {_quote(str(target))} AS oud (READ_ONLY)")
            conn.execute(
                f"ATTACH {_quote(str(tmp))} AS publicatie (STORAGE_VERSION {_quote(storage_version)})"
            )
            copied = {**SCHEMAS, **DUCKDB_ONLY}
            tables = [(s, t, "bron") for s, t in _tables(conn, "bron", copied)]
            if historie_only:
                tables = [(s, t, c) for s, t, c in tables if s == "historie"] + [
                    (s, t, "oud") for s, t in _tables(conn, "oud", copied) if s != "historie"
                ]
            comments = {c: catalog_comments(conn, c) for c in {c for _, _, c in tables}}
            # One transaction for the copies: each statement committed on its own cost 2 ms per description.
            conn.execute("BEGIN")
            for schema in sorted({s for s, _, _ in tables}):
                conn.execute(f"CREATE SCHEMA publicatie.{schema}")
            for schema, table, source in sorted(tables):
                counts[f"{schema}.{table}"] = _copy_table(conn, source, schema, table, comments[source])
            conn.execute("COMMIT")
            conn.execute("CREATE SCHEMA publicatie.info")
            if historie_only:
                conn.execute("CREATE TABLE publicatie.info.publicatie AS SELECT * FROM oud.info.publicatie")
            else:
                peildatum, data_tot = audit.peildatum(conn, "bron")
                bouw_nr, vingerafdruk = build or (None, None)
                conn.execute(
                    "CREATE TABLE publicatie.info.publicatie AS SELECT ?::DATE AS peildatum, ?::DATE AS data_tot, "
                    "?::TIMESTAMP AS gepubliceerd_op, ?::BIGINT AS bouw, ?::VARCHAR AS vingerafdruk, "
                    "?::VARCHAR AS regio",
                    [peildatum, data_tot, dt.datetime.now(), bouw_nr, vingerafdruk, _regio(conn, "bron")],
                )
            conn.execute(f"COMMENT ON TABLE publicatie.info.publicatie IS {_quote(PUBLICATIE_TABEL)}")
            for column, text in PUBLICATIE.items():
                conn.execute(f"COMMENT ON COLUMN publicatie.info.publicatie.{column} IS {_quote(text)}")
            # Views are created inside the published catalog with unqualified names, so they survive a rename.
            conn.execute("USE publicatie")
            published = ", ".join(_quote(s) for s in copied)
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
            if historie_only:
                conn.execute("DETACH oud")
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


class PostgresNotReady(RuntimeError):
    """PostgreSQL cannot take the publication (unreachable, or the publishing user lacks a privilege): one
    sentence naming what is missing; a run says it before it reads anything (exit 2)."""


INIT_HINT = "have an administrator run `fairshare postgres init --admin-dsn DSN` once (README, PostgreSQL publication)"


def where(dsn: str) -> str:
    """The database a DSN names (host:port/database), never its password."""
    if "://" in dsn:
        return dsn.split("@")[-1].split("?")[0]
    from psycopg.conninfo import conninfo_to_dict

    try:
        found = conninfo_to_dict(dsn)
    except Exception:  # psycopg's ProgrammingError on a malformed DSN: name nothing of it
        return "the database of FAIRSHARE_PUBLISH_POSTGRES_DSN"
    return f"{found.get('host', 'localhost')}:{found.get('port', 5432)}/{found.get('dbname', found.get('user', ''))}"


def _connect(dsn: str):
    """A connection for the publication (its application name lets an administrator find it in pg_stat_activity)."""
    import psycopg

    return psycopg.connect(dsn, connect_timeout=15, application_name="fairshare")


def _missing_privilege(cur, schemas: dict, reader_password: str | None, dsn: str) -> str | None:
    """The first privilege the publishing user lacks for publishing ``schemas`` (one sentence), or None.

    What it needs (README): CONNECT; each published schema owned by it (or CREATE on the database, to make one
    that does not exist), every table in them owned by it; the reader role existing (or CREATEROLE to make it);
    CREATEROLE to set the reader's password.
    """
    user, database, superuser, createrole, create_db = cur.execute(
        "SELECT current_user, current_database(), rolsuper, rolcreaterole, "
        "has_database_privilege(current_database(), 'CREATE') FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if superuser:
        return None
    at = f"in {where(dsn)}"
    reader = cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE]).fetchone()
    if reader is None and not createrole:
        return (
            f"the reader role {READER_ROLE} does not exist {at} and the PostgreSQL user {user} may not create "
            f"it (it lacks CREATEROLE): {INIT_HINT}"
        )
    if reader_password and not createrole:
        return (
            f"FAIRSHARE_POSTGRES_READER_PASSWORD is set but the PostgreSQL user {user} may not set the password "
            f"of {READER_ROLE} (it lacks CREATEROLE): set it once with `fairshare postgres init` and unset it "
            "for the runs"
        )
    found = dict(
        cur.execute(
            "SELECT nspname, CASE WHEN pg_has_role(current_user, nspowner, 'USAGE') THEN NULL "
            "ELSE pg_get_userbyid(nspowner) END FROM pg_namespace WHERE nspname = ANY(%s)",
            [list(schemas)],
        ).fetchall()
    )
    for schema in schemas:
        if schema not in found and not create_db:
            return (
                f"the PostgreSQL user {user} may not create schema {schema} {at} (it lacks CREATE on database "
                f"{database}, and the schema does not exist): {INIT_HINT}"
            )
        if found.get(schema):
            return (
                f"schema {schema} {at} belongs to role {found[schema]}, not to the PostgreSQL user {user} "
                f"(it must own the schemas it publishes): {INIT_HINT}"
            )
    other = cur.execute(
        "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class AS c JOIN pg_namespace AS n "
        "ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') "
        "AND NOT pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY 1, 2 LIMIT 1",
        [list(schemas)],
    ).fetchone()
    if other:
        return (
            f"table {other[0]}.{other[1]} {at} belongs to role {other[2]}, not to the PostgreSQL user {user} "
            f"(it replaces the tables it publishes): {INIT_HINT}"
        )
    return None


def check_postgres(dsn: str, reader_password: str | None = None, schemas: dict | None = None) -> None:
    """Raise ``PostgresNotReady`` (one sentence) unless the DSN's user can publish ``schemas`` (default: the
    region's, ``PG_SCHEMAS``). Reads only PostgreSQL's catalog: for a run, before anything else is read."""
    import psycopg

    try:
        with _connect(dsn) as pg:
            problem = _missing_privilege(
                pg.cursor(), PG_SCHEMAS if schemas is None else schemas, reader_password, dsn
            )
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PostgresNotReady(
            f"PostgreSQL {where(dsn)} (FAIRSHARE_PUBLISH_POSTGRES_DSN) cannot be used: {first}"
        ) from exc
    if problem:
        raise PostgresNotReady(problem)


def postgres_holds(dsn: str) -> dict | None:
    """What PostgreSQL holds (its ``info.publicatie``, as ``holds`` for the copy), or None: unreachable,
    never published, or published before it said what it holds."""
    import psycopg

    try:
        with _connect(dsn) as pg:
            if pg.execute("SELECT to_regclass('info.publicatie')").fetchone()[0] is None:
                return None
            cursor = pg.execute("SELECT * FROM info.publicatie LIMIT 1")
            row = cursor.fetchone()
            names = [d.name for d in cursor.description]
    except psycopg.Error:
        return None
    return dict(zip(names, row, strict=True)) if row else None


def init_postgres(admin_dsn: str, user: str, reader_password: str | None = None) -> list[str]:
    """Once, as an administrator (a superuser, or a database owner with CREATEROLE who is a member of ``user``):
    the reader role, the published schemas owned by the pipeline's ``user`` (with the tables an earlier
    publication left there), the reader's read rights on them, and the database locked down for the reader.
    Afterwards ``user`` publishes with nothing but those schemas. Returns one line per change made."""
    from psycopg import sql

    said = []
    with _connect(admin_dsn) as pg, pg.cursor() as cur:
        if cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [user]).fetchone() is None:
            raise PostgresNotReady(
                f"the pipeline's PostgreSQL user {user} does not exist in {where(admin_dsn)}: create it first "
                f"(CREATE ROLE {user} LOGIN PASSWORD '…'), nothing else, then run this again"
            )
        owner, reader = sql.Identifier(user), sql.Identifier(READER_ROLE)
        database = sql.Identifier(cur.execute("SELECT current_database()").fetchone()[0])
        if cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE]).fetchone() is None:
            cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(reader))
            said.append(f"created role {READER_ROLE} (NOLOGIN until it has a password)")
        if reader_password:
            cur.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                    reader, sql.Literal(scram_secret(pg, reader_password))
                )
            )
            said.append(f"set the password of {READER_ROLE} (FAIRSHARE_POSTGRES_READER_PASSWORD)")
        cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(database, owner, reader))
        from warehouse.province import SCHEMA as PROVINCE

        for name in [*PG_SCHEMAS, PROVINCE]:
            schema = sql.Identifier(name)
            held = cur.execute(
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", [name]
            ).fetchone()
            if held is None:
                cur.execute(sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(schema, owner))
                said.append(f"created schema {name}, owned by {user}")
            elif held[0] != user:
                cur.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(schema, owner))
                said.append(f"schema {name} now belongs to {user} (was {held[0]})")
            for (table,) in cur.execute(
                "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) <> %s ORDER BY 1",
                [name, user],
            ).fetchall():
                cur.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(sql.Identifier(name, table), owner))
                said.append(f"table {name}.{table} now belongs to {user}")
            cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, reader))
            cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, reader))
            cur.execute(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}"
                ).format(owner, schema, reader)
            )
        said += [f"  {line}" for line in _lock_down_reader(cur)]
        pg.commit()
    return said


def described(held: dict | None) -> str:
    """What a target holds (its info.publicatie), for the summary: "peildatum 1 november 2026 (build 3)"."""
    if not held or not held.get("peildatum"):
        return "no publication of fairshare"
    bouw = f" (build {held['bouw']})" if held.get("bouw") is not None else ""
    return f"peildatum {datum_nl(held['peildatum'])}{bouw}"


def publish_postgres(
    warehouse: Path,
    dsn: str,
    reader_password: str | None = None,
    schemas: dict | None = None,
    build: tuple[int, str] | None = None,
    historie_only: bool = False,
) -> Published:
    """Copy the published tables into PostgreSQL in one transaction and grant the reader role SELECT on them.

    One transaction (DELETE + COPY per table, then ``info.publicatie``): readers see the previous publication
    until the commit, and a failure anywhere (a killed connection, a conflicting object) rolls all of it back.
    ``schemas`` (default ``SCHEMAS``) selects what is copied: the province publication passes its own schema.
    The region's publication (the default) also writes ``info.publicatie`` (what it holds, with ``build``);
    ``historie_only`` (a board run for an older peildatum, not published as current) replaces ``historie``
    and leaves the marts and ``info.publicatie`` as they were. The publishing user's privileges are checked
    first (``PostgresNotReady``).
    """
    regional = schemas is None
    schemas = ({"historie": None} if historie_only else SCHEMAS) if schemas is None else schemas
    from psycopg import sql

    from warehouse import builds, data_only

    counts = {}
    grains = {m.name: (m.grain, all(c in m.not_null for c in m.grain)) for m in manifest.marts()}
    with data_only.connect_read_only(warehouse) as duck, _connect(dsn) as pg:
        with pg.cursor() as cur:
            problem = _missing_privilege(
                cur, {**schemas, **({"info": None} if regional else {})}, reader_password, dsn
            )
            if problem:
                raise PostgresNotReady(problem)
            if cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE]).fetchone() is None:
                cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(READER_ROLE)))
            if reader_password:
                cur.execute(
                    sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(READER_ROLE), sql.Literal(scram_secret(pg, reader_password))
                    )
                )
            for schema in [*schemas, *(["info"] if regional and not historie_only else [])]:
                _ensure_schema(cur, schema)
            for schema, table in _tables(
                duck, duck.execute("SELECT current_database()").fetchone()[0], schemas
            ):
                columns = duck.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? "
                    "AND table_name = ? ORDER BY column_index",
                    [schema, table],
                ).fetchall()
                rows = duck.execute(f"SELECT * FROM {schema}.{table}").fetchall()
                _replace_table(cur, schema, table, [(c, PG_TYPES.get(t, "text")) for c, t in columns], rows)
                counts[f"{schema}.{table}"] = len(rows)
                if schema == "marts" and table in grains:
                    _key_postgres(cur, table, *grains[table])
                _comment_postgres(cur, duck, schema, table)
                builds.pause_point("postgres")  # for the fault tests: the transaction is open, half written
            if regional and not historie_only:
                peildatum, data_tot = audit.peildatum(duck)
                bouw_nr, vingerafdruk = build or (None, None)
                row = (
                    peildatum,
                    data_tot,
                    dt.datetime.now(),
                    bouw_nr,
                    vingerafdruk,
                    _regio(duck, duck.execute("SELECT current_database()").fetchone()[0]),
                )
                _replace_table(
                    cur, "info", "publicatie", list(zip(PUBLICATIE, PG_INFO_TYPES, strict=True)), [row]
                )
                cur.execute(
                    sql.SQL("COMMENT ON TABLE {} IS {}").format(
                        sql.Identifier("info", "publicatie"), sql.Literal(PUBLICATIE_TABEL)
                    )
                )
                for column, text in PUBLICATIE.items():
                    cur.execute(
                        sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                            sql.Identifier("info", "publicatie", column), sql.Literal(text)
                        )
                    )
            for schema in [*schemas, *(["info"] if regional else [])]:
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
    return Published(where(dsn), counts, warnings)


PG_INFO_TYPES = [
    "date",
    "date",
    "timestamp without time zone",
    "bigint",
    "text",
    "text",
]  # PUBLICATIE's columns


def _ensure_schema(cur, schema: str) -> None:
    """Create ``schema`` unless it exists (asked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database
    even when the schema is there, which a user given its schemas by `fairshare postgres init` lacks)."""
    from psycopg import sql

    if cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone() is None:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def _replace_table(cur, schema: str, table: str, wanted: list[tuple[str, str]], rows: list) -> None:
    """The table's rows replaced by ``rows`` (DELETE + COPY); recreated when its columns changed."""
    from psycopg import sql

    name = sql.Identifier(schema, table)
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
                sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in wanted),
            )
        )
    else:
        cur.execute(sql.SQL("DELETE FROM {}").format(name))
    with cur.copy(sql.SQL("COPY {} FROM STDIN").format(name)) as copy:
        for row in rows:
            copy.write_row(row)


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


def _key_postgres(cur, table: str, grain: tuple[str, ...], required: bool) -> None:
    """The mart's grain (dbt ``meta.grain``) as its key, so a reader sees it (psql ``\\d``, Metabase) and
    PostgreSQL refuses a duplicate: a PRIMARY KEY when every grain column is never empty by contract (a
    not_null test), else a UNIQUE constraint (NULLS NOT DISTINCT from PostgreSQL 15: an empty subcategory is one
    value). Added only when the table lacks that very key (a new or recreated table, a publication from before
    keys): ALTER TABLE would wait for open readers, DELETE + COPY does not."""
    from psycopg import sql

    name = f"{table}_sleutel"
    found = cur.execute(
        "SELECT con.conname, con.contype, array_agg(a.attname::text ORDER BY k.n) FROM pg_constraint AS con "
        "JOIN unnest(con.conkey) WITH ORDINALITY AS k(attnum, n) ON true "
        "JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
        "WHERE con.conrelid = to_regclass(%s) AND con.contype IN ('p', 'u') GROUP BY 1, 2",
        [f'marts."{table}"'],
    ).fetchall()
    kind = "p" if required else "u"
    if (name, kind, list(grain)) in found:
        return
    target = sql.Identifier("marts", table)
    for conname, *_ in found:
        cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(conname)))
    columns = sql.SQL(", ").join(map(sql.Identifier, grain))
    if required:
        clause = sql.SQL("PRIMARY KEY ({})").format(columns)
    else:
        nulls = " NULLS NOT DISTINCT" if cur.connection.info.server_version >= 150000 else ""
        clause = sql.SQL("UNIQUE" + nulls + " ({})").format(columns)
    cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(target, sql.Identifier(name), clause))


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
