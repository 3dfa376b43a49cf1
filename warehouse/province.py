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
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from basics import region
from ingest.privacy import reduced
from ingest.privacy import shown as shown_text
from warehouse import data_only
from warehouse.data_only import ident
from warehouse.publish import Published, _quote, copy_comments, publish_postgres

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


class CopyRefused(ValueError):
    """A region's published copy the province will not read (usage error: nothing is written)."""


# What the province reads of a region's copy: every table of these schemas, and these two tables' columns.
READ_SCHEMAS = ("marts", "referentie")
READ_TABLES = {
    ("referentie", "regio"): {
        "regio_code": "VARCHAR",
        "regio_naam": "VARCHAR",
        "provincie": "VARCHAR",
        "bestuur": "VARCHAR",
    },
    ("info", "publicatie"): {"peildatum": "DATE", "data_tot": "DATE", "gepubliceerd_op": "TIMESTAMP"},
}
REGIOS_COLUMNS = {
    "regio_code": "De regio (map regions/<regio_code>/).",
    "regio_naam": "Naam van de regio.",
    "provincie": "De provincie of provincies van de regio.",
    "bestuur": "Het bestuurlijk overleg waarvoor de regio rapporteert.",
    "peildatum": "Peildatum van het laatste gepubliceerde rapport van de regio.",
    "data_tot": "Laatste dag met gegevens in dat rapport.",
    "gepubliceerd_op": "Wanneer de regio die kopie publiceerde.",
    "verouderd": "Waar als de peildatum van deze regio ouder is dan de laatste peildatum van de andere regio's: "
    "haar cijfers zijn dan niet van hetzelfde rapportmoment.",
}
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _name(schema: str, name: str) -> str:
    """An object name from a copy in a message: verbatim when it is a plain identifier, else reduced."""
    return ".".join(n if _NAME.fullmatch(n) else reduced(n) for n in (schema, name))


def _tables(conn: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> set[str]:
    return {
        t
        for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ?",
            [catalog, schema],
        ).fetchall()
    }


def _check_copy(conn: duckdb.DuckDBPyConnection, regio: str, path: Path, alias: str) -> None:
    """Refuse a copy the province would have to run code of, or that is not this region's publication."""

    def refuse(what: str) -> CopyRefused:
        return CopyRefused(f"the published copy {path} of region '{regio}' {what}")

    code = [
        f"macro {_name(s, f)}"
        for s, f in conn.execute(
            "SELECT DISTINCT schema_name, function_name FROM duckdb_functions() WHERE database_name = ? ORDER BY 1, 2",
            [alias],
        ).fetchall()
    ]
    code += [
        f"view {_name(s, v)}"
        for s, v in conn.execute(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ? AND (schema_name IN "
            f"({', '.join(map(_quote, READ_SCHEMAS))}) OR (schema_name, view_name) IN "
            f"({', '.join(f'({_quote(s)}, {_quote(t)})' for s, t in READ_TABLES)})) ORDER BY 1, 2",
            [alias],
        ).fetchall()
    ]
    if code:
        shown = ", ".join(code[:3]) + (f" and {len(code) - 3} more" if len(code) > 3 else "")
        raise refuse(
            f"holds {shown}: the province reads data only, never views or macros (publish the region "
            "again with fairshare)"
        )
    for (schema, table), wanted in READ_TABLES.items():
        if table not in _tables(conn, alias, schema):
            raise refuse(f"has no table {schema}.{table}: it is not a published copy of fairshare")
        columns = dict(
            conn.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND "
                "schema_name = ? AND table_name = ?",
                [alias, schema, table],
            ).fetchall()
        )
        wrong = [f"{c} {t}" for c, t in wanted.items() if columns.get(c) != t]
        if wrong:
            raise refuse(
                f"lacks {', '.join(wrong)} in {schema}.{table}: it is not a published copy of fairshare"
            )
    codes = [c for (c,) in conn.execute(f"SELECT regio_code FROM {alias}.referentie.regio").fetchall()]
    if codes != [regio]:
        held = ", ".join(shown_text(str(c), str(c) in region.regions()) for c in codes[:3]) or "no region"
        raise refuse(
            f"holds region {held}, not '{regio}': give each region its own copy (--serving REGIO=FILE)"
        )
    if conn.execute(f"SELECT count(*) FROM {alias}.info.publicatie").fetchone()[0] != 1:
        raise refuse("has not exactly one row in info.publicatie: it is not a published copy of fairshare")


@contextmanager
def attach_copies(
    sources: dict[str, Path], output: Path
) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, str]]]:
    """A connection with every region copy attached read-only (``regio`` -> alias), each checked.

    External access is off and locked before the first copy is attached; the connection may open only the
    copies and ``output`` (which the caller attaches, after the checks, as ``uit``).
    """
    for regio, path in sorted(sources.items()):
        if not Path(path).exists():
            raise FileNotFoundError(f"region '{regio}': no published copy at {path} (run the region first)")
    conn = data_only.connect([*sources.values(), output])
    try:
        aliases = {}
        for i, (regio, path) in enumerate(sorted(sources.items())):
            aliases[regio] = f"r{i}"
            try:
                conn.execute(f"ATTACH {_quote(str(Path(path).resolve()))} AS r{i} (READ_ONLY)")
            except duckdb.Error as exc:
                text = str(exc).splitlines()[0]
                reason = "it is no DuckDB database file" if "not a valid DuckDB database" in text else text
                raise CopyRefused(
                    f"the published copy {path} of region '{regio}' cannot be read: {reason}"
                ) from exc
            _check_copy(conn, regio, Path(path), aliases[regio])
        yield conn, aliases
    finally:
        conn.close()


def build_province(sources: dict[str, Path], target: Path) -> Published:
    """Write the province DuckDB file from the regions' published copies (``regio_code`` -> path).

    A copy is read as data only (``attach_copies``); a refused copy (``CopyRefused``) leaves everything as it was.
    """
    if not sources:
        raise ValueError("no region copies to combine")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    counts: dict[str, int] = {}
    with attach_copies(sources, tmp) as (conn, aliases):
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(
            f".{target.name}.*.tmp*"
        ):  # left by a killed publication (and its .wal)
            stale.unlink(missing_ok=True)
        try:
            conn.execute(f"ATTACH {_quote(str(tmp.resolve()))} AS uit")
            _write(conn, aliases, counts)
        except BaseException:
            conn.execute("USE memory")
            if conn.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'uit'").fetchone()[
                0
            ]:
                conn.execute("DETACH uit")
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            raise
    os.replace(tmp, target)  # atomic: readers see the old file or the new one
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    return Published(str(target), counts)


def _write(conn: duckdb.DuckDBPyConnection, aliases: dict[str, str], counts: dict[str, int]) -> None:
    """Schema `provincie` in catalog `uit`: base tables of the copies, unioned, and what is derived from them."""
    conn.execute(f"CREATE SCHEMA uit.{SCHEMA}")

    def union(schema: str, table: str) -> str:
        return " UNION ALL BY NAME ".join(
            f"SELECT {_quote(regio)} AS regio_code, * FROM {a}.{schema}.{ident(table)}"
            for regio, a in aliases.items()
        )

    # marts.kerncijfers (the report's headline figures, issue 22) is not unioned: the province derives its own
    # provincie.kerncijfers below (the coordinator decides how the two meet).
    marts = set.intersection(*(_tables(conn, a, "marts") for a in aliases.values())) - {"kerncijfers"}
    referentie = set.intersection(*(_tables(conn, a, "referentie") for a in aliases.values()))
    first = next(iter(aliases.values()))
    for table in sorted(marts) + sorted(
        referentie
        & {"gemeenten", "inwoners", "sociale_huurvoorraad", "commissies", "ingroeipad_afspraak", "opgaven"}
    ):
        schema = "marts" if table in marts else "referentie"
        name = f"uit.{SCHEMA}.{ident(table)}"
        conn.execute(f"CREATE TABLE {name} AS {union(schema, table)}")
        copy_comments(conn, first, schema, table, name)
        conn.execute(
            f"COMMENT ON COLUMN {name}.regio_code IS "
            "'De regio (map regions/<regio_code>/) waarvan de rij komt.'"
        )
    regios = " UNION ALL ".join(
        f"SELECT r.regio_code, r.regio_naam, r.provincie, r.bestuur, p.peildatum, p.data_tot, p.gepubliceerd_op "
        f"FROM {a}.referentie.regio AS r, {a}.info.publicatie AS p"
        for a in aliases.values()
    )
    conn.execute(
        f"CREATE TABLE uit.{SCHEMA}.regios AS SELECT *, peildatum < max(peildatum) OVER () AS verouderd "
        f"FROM ({regios}) ORDER BY regio_code"
    )
    for column, text in REGIOS_COLUMNS.items():
        conn.execute(f"COMMENT ON COLUMN uit.{SCHEMA}.regios.{column} IS {_quote(text)}")
    conn.execute("USE uit")
    conn.execute(
        f"CREATE TABLE {SCHEMA}.dubbel_geteld AS SELECT gemeente_code, any_value(gemeente_naam) AS "
        f"gemeente_naam, string_agg(regio_code, ', ' ORDER BY regio_code) AS regios FROM "
        f"{SCHEMA}.gemeenten WHERE in_afspraak GROUP BY gemeente_code HAVING count(*) > 1"
    )
    conn.execute(f"CREATE TABLE {SCHEMA}.kerncijfers AS {KERNCIJFERS_SQL}")
    for table, text in DESCRIPTIONS.items():
        conn.execute(f"COMMENT ON TABLE {SCHEMA}.{table} IS {_quote(text)}")
    conn.execute(
        f"CREATE TABLE {SCHEMA}.publicatie AS SELECT ?::TIMESTAMP AS gepubliceerd_op", [dt.datetime.now()]
    )
    for (table,) in conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND database_name = 'uit' ORDER BY 1",
        [SCHEMA],
    ).fetchall():
        counts[f"{SCHEMA}.{table}"] = conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.{ident(table)}"
        ).fetchone()[0]
    conn.execute("USE memory")
    conn.execute("DETACH uit")


def stale_regions(province: Path) -> list[tuple[str, dt.date, dt.date]]:
    """Regions whose published peildatum is older than the latest of the others: (regio, peildatum, latest)."""
    with data_only.connect_read_only(province) as conn:
        return conn.execute(
            f"SELECT regio_code, peildatum, (SELECT max(peildatum) FROM {SCHEMA}.regios) FROM "
            f"{SCHEMA}.regios WHERE verouderd ORDER BY regio_code"
        ).fetchall()


def publish_province_postgres(province: Path, dsn: str, reader_password: str | None = None) -> Published:
    """Copy schema `provincie` of the province file into PostgreSQL; the reader role may read it."""
    return publish_postgres(province, dsn, reader_password, schemas={SCHEMA: None})
