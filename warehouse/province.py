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
from dataclasses import dataclass
from pathlib import Path

import duckdb

from basics import region
from ingest.privacy import reduced
from ingest.privacy import shown as shown_text
from warehouse import data_only
from warehouse.data_only import ident
from warehouse.publish import Published, _quote, copy_comments, publish_postgres

SCHEMA = "provincie"

# The figures the province compares, per region and calendar year (and per report in `_PER_PEILDATUM`): one
# definition, read from the regions' marts through `cijfers_sql` only.
_FIGUREN_KOLOMMEN = {
    "maanden_data": "INTEGER",
    "wettelijk_urgent_gehuisvest": "BIGINT",
    "gehuisvest": "BIGINT",
    "toewijzingen": "BIGINT",
}


def cijfers_sql(bron: str, sleutels: tuple[str, ...] = ()) -> str:
    """Per ``regio_code`` (and ``sleutels``) and ``jaar``: the region's headline figures from ``bron``, a relation
    shaped like ``marts.fair_share_gemeente`` (its gemeenten in the province's selection).

    The urgent share is the mart's own definition (``aandeel_wettelijk_urgent_pct`` = 100 x
    wettelijk_urgent_gehuisvest / toewijzingen) over the region's gemeenten: the figure the region's report
    holds against its cap. This is the one place the province reads these figures; repoint it here when a mart
    holds them per region.
    """
    keys = "".join(f"{k}, " for k in sleutels)
    return f"""
        SELECT regio_code, {keys}jaar, max(maanden_data) AS maanden_data,
               cast(sum(wettelijk_urgent_gehuisvest) AS BIGINT) AS wettelijk_urgent_gehuisvest,
               cast(sum(gehuisvest) AS BIGINT) AS gehuisvest_telt_mee,
               cast(sum(toewijzingen) AS BIGINT) AS toewijzingen,
               100.0 * sum(wettelijk_urgent_gehuisvest) / nullif(sum(toewijzingen), 0) AS aandeel_wettelijk_urgent_pct
        FROM {bron} GROUP BY ALL"""


def _per_jaar_sql(cijfers: str, rapport: str | None = None) -> str:
    """Key figures per region and year beside the peildatum (the region's, or column ``rapport`` of ``cijfers``),
    a partial year also scaled to a year; inhabitants and dwellings of the region's gemeenten in the agreement."""
    peildatum = f"j.{rapport}" if rapport else "r.peildatum"
    exclude = f", {rapport}" if rapport else ""
    return f"""
        WITH c AS ({cijfers}),
        gem AS (SELECT regio_code, gemeente_code FROM {SCHEMA}.gemeenten WHERE in_afspraak),
        inw AS (
            SELECT i.regio_code, sum(i.inwoners) AS inwoners FROM {SCHEMA}.inwoners AS i
            JOIN gem USING (regio_code, gemeente_code) GROUP BY ALL),
        shv AS (
            SELECT s.regio_code, sum(s.sociale_huurwoningen) AS sociale_huurwoningen,
                   bool_or(s.voorlopig) AS sociale_huurvoorraad_voorlopig
            FROM {SCHEMA}.sociale_huurvoorraad AS s JOIN gem USING (regio_code, gemeente_code) GROUP BY ALL),
        j AS (
            SELECT c.*, c.maanden_data < 12 AS geannualiseerd,
                   c.wettelijk_urgent_gehuisvest * 12.0 / nullif(c.maanden_data, 0)
                       AS wettelijk_urgent_gehuisvest_op_jaarbasis,
                   c.toewijzingen * 12.0 / nullif(c.maanden_data, 0) AS toewijzingen_op_jaarbasis
            FROM c)
        SELECT r.regio_code, r.regio_naam, {peildatum} AS peildatum, j.* EXCLUDE (regio_code{exclude}),
               cast(i.inwoners AS BIGINT) AS inwoners, cast(s.sociale_huurwoningen AS BIGINT) AS sociale_huurwoningen,
               s.sociale_huurvoorraad_voorlopig,
               1000.0 * j.wettelijk_urgent_gehuisvest_op_jaarbasis / nullif(i.inwoners, 0)
                   AS per_1000_inwoners_op_jaarbasis,
               100.0 * j.wettelijk_urgent_gehuisvest_op_jaarbasis / nullif(s.sociale_huurwoningen, 0)
                   AS per_100_sociale_huurwoningen_op_jaarbasis
        FROM {SCHEMA}.regios AS r JOIN j USING (regio_code)
        LEFT JOIN inw AS i USING (regio_code) LEFT JOIN shv AS s USING (regio_code)
        ORDER BY r.regio_code, 3, j.jaar"""


# kerncijfers: the latest year of each region's current report, as before (names kept: README, tests), with the
# share under the mart's name and the year's figures scaled to a year beside them.
KERNCIJFERS_SQL = f"""
    SELECT k.regio_code, k.regio_naam, k.peildatum, k.jaar, k.maanden_data, k.geannualiseerd,
           k.wettelijk_urgent_gehuisvest, k.wettelijk_urgent_gehuisvest_op_jaarbasis, k.toewijzingen,
           k.inwoners, k.sociale_huurwoningen, k.sociale_huurvoorraad_voorlopig,
           1000.0 * k.wettelijk_urgent_gehuisvest / nullif(k.inwoners, 0) AS per_1000_inwoners,
           100.0 * k.wettelijk_urgent_gehuisvest / nullif(k.sociale_huurwoningen, 0) AS per_100_sociale_huurwoningen,
           k.aandeel_wettelijk_urgent_pct AS per_100_toewijzingen, k.aandeel_wettelijk_urgent_pct,
           k.per_1000_inwoners_op_jaarbasis, k.per_100_sociale_huurwoningen_op_jaarbasis,
           'geslaagd' AS poort, r.gepubliceerd_op
    FROM {SCHEMA}.kerncijfers_per_jaar AS k JOIN {SCHEMA}.regios AS r USING (regio_code)
    QUALIFY k.jaar = max(k.jaar) OVER (PARTITION BY k.regio_code)
    ORDER BY k.regio_code"""

DESCRIPTIONS = {
    "regios": "De regio's in deze provinciale publicatie, met de peildatum van hun laatste gepubliceerde rapport.",
    "kerncijfers": "Per regio het laatste jaar van haar laatste rapport: wettelijk urgent gehuisvest (eigen "
    "uitzonderingen buiten beschouwing), per 1.000 inwoners, per 100 sociale huurwoningen en per 100 toewijzingen "
    "(= aandeel_wettelijk_urgent_pct), en omgerekend naar een heel jaar (_op_jaarbasis) als het jaar nog niet "
    "compleet is.",
    "kerncijfers_per_jaar": "Per regio en kalenderjaar van haar laatste rapport (peildatum ernaast): wettelijk "
    "urgent gehuisvest, het aandeel in de toewijzingen, en per 1.000 inwoners en per 100 sociale huurwoningen op "
    "jaarbasis: een jaar met minder dan 12 maanden gegevens is omgerekend naar een heel jaar (x 12 / maanden_data; "
    "geannualiseerd = waar).",
    "kerncijfers_per_peildatum": "Dezelfde kerncijfers per regio, per rapport in de historie van de regio "
    "(peildatum = de peildatum van dat rapport) en kalenderjaar: hoe de cijfers van rapport tot rapport veranderden. "
    "Inwoners en sociale huurvoorraad zijn die van de laatste publicatie.",
    "dubbel_geteld": "Gemeenten die in de afspraak van meer dan één regio meetellen (moet leeg zijn).",
    "zonder_afspraak": "Gemeenten die een regio noemt, maar die in geen enkele afspraak van de regio's in deze "
    "publicatie meetellen (in_afspraak nergens waar).",
    "weggelaten": "Regio's waarvan een kopie is gegeven maar die niet in deze publicatie staan, met de reden "
    "(fictief: alleen met --met-fictief; of geen gemeente in de gekozen provincie).",
}
GEMEENTE_KOLOMMEN = {
    "provincie": "De provincie van de gemeente (seed gemeenten van de regio; zonder die kolom de provincie van "
    "de regio, als die er één noemt).",
    "in_afspraak": "Waar: de gemeente telt mee in de afspraak van de regio van deze rij (regio_code).",
    "afspraak_regio": "De regio in wiens afspraak de gemeente meetelt (leeg: in geen enkele afspraak; meer dan "
    "één: zie dubbel_geteld).",
}
# Marts with a gemeente under another name than gemeente_code: the column the province's selection filters on.
# A mart per committee or ingroeipad group (urgentie_*, doorlooptijd_huisvesting, ingroeipad) has no gemeente
# and is kept whole for every region in the selection.
GEMEENTE_VAN = {"terugkeer": "herkomst", "instroom_uitstroom": "uitstroomgemeente_code"}
# A column the marts keep under the spec's name for one region's total (227 in the spec's region): in the province it
# would hold another total per region, so only its neutral twin with the region's total beside it is copied.
NIET_OVERGENOMEN = {"verdeelsleutels": ("opgave_bij_227",)}


class CopyRefused(ValueError):
    """A region's published copy the province will not read (usage error: nothing is written)."""


# What the province reads of a region's copy: tables of these schemas (historie: fair_share_gemeente), and these
# two tables' columns.
READ_SCHEMAS = ("marts", "referentie", "historie")
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
    "fictief": "Waar voor een verzonnen regio (voorbeeld, demonstratie): alleen opgenomen met --met-fictief.",
    "provincies_in_selectie": "De provincies van de gemeenten van de regio in deze publicatie.",
    "gemeenten_in_afspraak": "Aantal gemeenten van de afspraak van de regio in deze publicatie (bij een gekozen "
    "provincie: alleen die in die provincie).",
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


@dataclass(frozen=True)
class Keuze:
    """What the province publication holds: ``provincie`` keeps the gemeenten of that province (and the regions
    with one); a fictional region's copy (``referentie.regio.fictief``) is left out unless ``met_fictief`` or
    the region is in ``genoemd`` (named on purpose, ``--regio``)."""

    provincie: str | None = None
    met_fictief: bool = True
    genoemd: frozenset[str] = frozenset()


def build_province(sources: dict[str, Path], target: Path, keuze: Keuze | None = None) -> Published:
    """Write the province DuckDB file from the regions' published copies (``regio_code`` -> path).

    A copy is read as data only (``attach_copies``); a refused copy (``CopyRefused``) leaves everything as it was,
    and so does a choice that leaves no region (``ValueError``). Every copy given is checked, also one left out.
    """
    if not sources:
        raise ValueError("no region copies to combine")
    keuze = keuze or Keuze()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    counts: dict[str, int] = {}
    with attach_copies(sources, tmp) as (conn, aliases):
        gekozen, weggelaten = _choose(conn, aliases, keuze)
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(
            f".{target.name}.*.tmp*"
        ):  # left by a killed publication (and its .wal)
            stale.unlink(missing_ok=True)
        try:
            conn.execute(f"ATTACH {_quote(str(tmp.resolve()))} AS uit")
            _write(conn, gekozen, counts, keuze, weggelaten)
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


def _columns(conn: duckdb.DuckDBPyConnection, alias: str, schema: str, table: str) -> set[str]:
    return {
        c
        for (c,) in conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [alias, schema, table],
        ).fetchall()
    }


def _gemeenten_sql(conn: duckdb.DuckDBPyConnection, regio: str, alias: str) -> str:
    """A region's gemeenten with their province: the pack's column, else the region's one province."""
    eigen = (
        "nullif(trim(g.provincie), '')"
        if "provincie" in _columns(conn, alias, "referentie", "gemeenten")
        else "NULL"
    )
    return (
        f"SELECT {_quote(regio)} AS regio_code, g.*, coalesce({eigen}, CASE WHEN strpos(r.provincie, ';') = 0 "
        f"THEN nullif(trim(r.provincie), '') END) AS provincie_ FROM {alias}.referentie.gemeenten AS g, "
        f"{alias}.referentie.regio AS r"
    )


def _choose(
    conn: duckdb.DuckDBPyConnection, aliases: dict[str, str], keuze: Keuze
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """The regions the publication holds (``regio`` -> alias) and those left out: (regio, naam, reden)."""
    gekozen, weggelaten = {}, []
    for regio, alias in aliases.items():
        fictief = (
            "fictief" in _columns(conn, alias, "referentie", "regio")
            and conn.execute(
                f"SELECT coalesce(bool_or(try_cast(fictief AS BOOLEAN)), false) FROM {alias}.referentie.regio"
            ).fetchone()[0]
        )
        naam = conn.execute(f"SELECT regio_naam FROM {alias}.referentie.regio").fetchone()[0]
        if fictief and not keuze.met_fictief and regio not in keuze.genoemd:
            weggelaten.append((regio, naam, "fictief"))
            continue
        if keuze.provincie is not None:
            provincies = [
                p
                for (p,) in conn.execute(
                    f"SELECT DISTINCT provincie_ FROM ({_gemeenten_sql(conn, regio, alias)}) WHERE provincie_ IS NOT NULL AND in_afspraak"
                ).fetchall()
            ]
            if not any(_same(p, keuze.provincie) for p in provincies):
                weggelaten.append(
                    (regio, naam, f"geen gemeente van haar afspraak in provincie {keuze.provincie}")
                )
                continue
        gekozen[regio] = alias
    if not gekozen:
        fictional = [r for r, _, reden in weggelaten if reden == "fictief"]
        if keuze.provincie is not None and len(fictional) < len(weggelaten):
            raise ValueError(
                f"--provincie {keuze.provincie}: no gemeente of the regions given ({', '.join(aliases)}) lies in "
                "that province (see the column provincie of their seed gemeenten)"
            )
        raise ValueError(
            f"every region given is fictional ({', '.join(fictional)}): add --met-fictief to include them"
        )
    return gekozen, weggelaten


def _spelling(conn: duckdb.DuckDBPyConnection, provincie: str | None) -> str | None:
    """The chosen province as the seeds spell it (``--provincie utrecht`` -> Utrecht)."""
    if provincie is None:
        return None
    found = conn.execute(
        "SELECT min(provincie_) FROM temp.main.alle_gemeenten WHERE lower(trim(provincie_)) = lower(trim(?))",
        [provincie],
    ).fetchone()[0]
    return found or provincie


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _write(
    conn: duckdb.DuckDBPyConnection,
    aliases: dict[str, str],
    counts: dict[str, int],
    keuze: Keuze,
    weggelaten: list[tuple[str, str, str]],
) -> None:
    """Schema `provincie` in catalog `uit`: base tables of the copies, unioned, and what is derived from them."""
    conn.execute(f"CREATE SCHEMA uit.{SCHEMA}")
    # Every gemeente a region lists, with its province; `selectie`: those the province's choice keeps.
    conn.execute(
        "CREATE TEMP TABLE alle_gemeenten AS "
        + " UNION ALL BY NAME ".join(_gemeenten_sql(conn, r, a) for r, a in aliases.items())
    )
    conn.execute(
        "CREATE TEMP TABLE selectie AS SELECT regio_code, gemeente_code FROM alle_gemeenten"
        + (" WHERE lower(trim(provincie_)) = lower(trim(?))" if keuze.provincie is not None else ""),
        [keuze.provincie] if keuze.provincie is not None else [],
    )
    referentie = _write_unions(conn, aliases, keuze)
    _write_gemeenten(conn, aliases, referentie)
    _write_regios(conn, aliases, weggelaten)
    historie = _historie_sql(conn, aliases)
    conn.execute("USE uit")
    _write_figures(conn, historie, keuze)
    for (table,) in conn.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND database_name = 'uit' ORDER BY 1",
        [SCHEMA],
    ).fetchall():
        counts[f"{SCHEMA}.{table}"] = conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.{ident(table)}"
        ).fetchone()[0]
    conn.execute("USE memory")
    conn.execute("DETACH uit")


def _write_unions(conn: duckdb.DuckDBPyConnection, aliases: dict[str, str], keuze: Keuze) -> set[str]:
    """Each mart and reference table every copy has, as the union of the regions' (rows of the gemeenten in the
    selection where the table has a gemeente); returns the reference tables every copy has."""

    def union(schema: str, table: str, gemeente: str | None) -> str:
        """The table of every region; with a province chosen, only rows of its gemeenten (``gemeente``)."""
        parts = []
        for regio, a in aliases.items():
            part = f"SELECT {_quote(regio)} AS regio_code, * FROM {a}.{schema}.{ident(table)}"
            if gemeente and keuze.provincie is not None:
                part += f" WHERE ({_quote(regio)}, {ident(gemeente)}) IN (SELECT regio_code, gemeente_code FROM selectie)"
            parts.append(part)
        return " UNION ALL BY NAME ".join(parts)

    def gemeente_kolom(schema: str, table: str) -> str | None:
        have = set.intersection(*(_columns(conn, a, schema, table) for a in aliases.values()))
        wanted = GEMEENTE_VAN.get(table, "gemeente_code")
        return wanted if wanted in have else None

    # marts.kerncijfers is not unioned under its own name: provincie.kerncijfers (below) is the province's own
    # table of the same name, per region, built on the same definitions (cijfers_sql).
    marts = set.intersection(*(_tables(conn, a, "marts") for a in aliases.values())) - {"kerncijfers"}
    referentie = set.intersection(*(_tables(conn, a, "referentie") for a in aliases.values()))
    first = next(iter(aliases.values()))
    for table in sorted(marts) + sorted(
        referentie & {"inwoners", "sociale_huurvoorraad", "commissies", "ingroeipad_afspraak", "opgaven"}
    ):
        schema = "marts" if table in marts else "referentie"
        name = f"uit.{SCHEMA}.{ident(table)}"
        conn.execute(f"CREATE TABLE {name} AS {union(schema, table, gemeente_kolom(schema, table))}")
        copy_comments(conn, first, schema, table, name)
        conn.execute(
            f"COMMENT ON COLUMN {name}.regio_code IS "
            "'De regio (map regions/<regio_code>/) waarvan de rij komt.'"
        )
        for column in NIET_OVERGENOMEN.get(table, ()):
            if column in _columns(conn, "uit", SCHEMA, table):
                conn.execute(f"ALTER TABLE {name} DROP COLUMN {ident(column)}")
    return referentie


def _write_gemeenten(conn: duckdb.DuckDBPyConnection, aliases: dict[str, str], referentie: set[str]) -> None:
    """`gemeenten` of the selection, and on every gemeente row its province, flag and the agreement's region."""
    first = next(iter(aliases.values()))
    # The gemeenten: every row with its province, its flag and the region whose agreement counts it.
    conn.execute(
        f"CREATE TABLE uit.{SCHEMA}.gemeenten AS SELECT a.* EXCLUDE (provincie_{', provincie' if _has(conn, aliases, 'provincie') else ''}), "
        "a.provincie_ AS provincie, (SELECT string_agg(DISTINCT b.regio_code, ', ' ORDER BY b.regio_code) FROM "
        "alle_gemeenten AS b WHERE b.gemeente_code = a.gemeente_code AND b.in_afspraak) AS afspraak_regio "
        "FROM alle_gemeenten AS a JOIN selectie USING (regio_code, gemeente_code) ORDER BY a.regio_code, a.gemeente_code"
    )
    copy_comments(conn, first, "referentie", "gemeenten", f"uit.{SCHEMA}.gemeenten")
    for table in (
        "inwoners",
        "sociale_huurvoorraad",
        "opgaven",
    ):  # every gemeente row says whose agreement it is
        if table in referentie:
            conn.execute(f"ALTER TABLE uit.{SCHEMA}.{table} ADD COLUMN gemeente_naam VARCHAR")
            for column in GEMEENTE_KOLOMMEN:
                kind = "BOOLEAN" if column == "in_afspraak" else "VARCHAR"
                conn.execute(f"ALTER TABLE uit.{SCHEMA}.{table} ADD COLUMN {column} {kind}")
            conn.execute(
                f"UPDATE uit.{SCHEMA}.{table} AS t SET gemeente_naam = g.gemeente_naam, provincie = g.provincie, "
                f"in_afspraak = g.in_afspraak, afspraak_regio = g.afspraak_regio FROM uit.{SCHEMA}.gemeenten AS g "
                "WHERE g.regio_code = t.regio_code AND g.gemeente_code = t.gemeente_code"
            )
            conn.execute(f"COMMENT ON COLUMN uit.{SCHEMA}.{table}.gemeente_naam IS 'Naam van de gemeente.'")
    for table in (
        "gemeenten",
        *(t for t in ("inwoners", "sociale_huurvoorraad", "opgaven") if t in referentie),
    ):
        for column, text in GEMEENTE_KOLOMMEN.items():
            conn.execute(f"COMMENT ON COLUMN uit.{SCHEMA}.{table}.{column} IS {_quote(text)}")
        conn.execute(
            f"COMMENT ON COLUMN uit.{SCHEMA}.{table}.regio_code IS "
            "'De regio (map regions/<regio_code>/) waarvan de rij komt.'"
        )


def _write_regios(
    conn: duckdb.DuckDBPyConnection, aliases: dict[str, str], weggelaten: list[tuple[str, str, str]]
) -> None:
    """`regios` (each with its peildatum, fictief, provinces) and `weggelaten` (the copies left out, why)."""
    regios = " UNION ALL ".join(
        f"SELECT r.regio_code, r.regio_naam, r.provincie, r.bestuur, p.peildatum, p.data_tot, p.gepubliceerd_op, "
        f"{'coalesce(try_cast(r.fictief AS BOOLEAN), false)' if 'fictief' in _columns(conn, a, 'referentie', 'regio') else 'false'} "
        f"AS fictief FROM {a}.referentie.regio AS r, {a}.info.publicatie AS p"
        for a in aliases.values()
    )
    conn.execute(
        # verouderd stays the last column, as before
        f"CREATE TABLE uit.{SCHEMA}.regios AS SELECT x.*, "
        f"(SELECT string_agg(DISTINCT g.provincie, '; ' ORDER BY g.provincie) FROM uit.{SCHEMA}.gemeenten AS g "
        f"WHERE g.regio_code = x.regio_code) AS provincies_in_selectie, (SELECT count(*) FROM uit.{SCHEMA}.gemeenten "
        "AS g WHERE g.regio_code = x.regio_code AND g.in_afspraak) AS gemeenten_in_afspraak, "
        f"peildatum < max(peildatum) OVER () AS verouderd FROM ({regios}) AS x ORDER BY regio_code"
    )
    for column, text in REGIOS_COLUMNS.items():
        conn.execute(f"COMMENT ON COLUMN uit.{SCHEMA}.regios.{column} IS {_quote(text)}")
    conn.execute(
        f"CREATE TABLE uit.{SCHEMA}.weggelaten (regio_code VARCHAR, regio_naam VARCHAR, reden VARCHAR)"
    )
    if weggelaten:
        conn.executemany(f"INSERT INTO uit.{SCHEMA}.weggelaten VALUES (?, ?, ?)", weggelaten)


def _write_figures(conn: duckdb.DuckDBPyConnection, historie: str, keuze: Keuze) -> None:
    """The checks (`dubbel_geteld`, `zonder_afspraak`), the key figures and `publicatie` (in catalog `uit`)."""
    conn.execute(
        f"CREATE TABLE {SCHEMA}.dubbel_geteld AS SELECT gemeente_code, any_value(gemeente_naam) AS "
        f"gemeente_naam, string_agg(regio_code, ', ' ORDER BY regio_code) AS regios FROM "
        f"{SCHEMA}.gemeenten WHERE in_afspraak GROUP BY gemeente_code HAVING count(*) > 1"
    )
    conn.execute(
        f"CREATE TABLE {SCHEMA}.zonder_afspraak AS SELECT gemeente_code, any_value(gemeente_naam) AS gemeente_naam, "
        f"any_value(provincie) AS provincie, string_agg(regio_code, ', ' ORDER BY regio_code) AS genoemd_door "
        f"FROM {SCHEMA}.gemeenten GROUP BY gemeente_code HAVING NOT bool_or(in_afspraak) ORDER BY 2"
    )
    conn.execute(
        f"CREATE TABLE {SCHEMA}.kerncijfers_per_jaar AS "
        + _per_jaar_sql(cijfers_sql(f"{SCHEMA}.fair_share_gemeente"))
    )
    conn.execute(
        f"CREATE TABLE {SCHEMA}.kerncijfers_per_peildatum AS "
        + _per_jaar_sql(cijfers_sql(f"({historie})", ("rapport_peildatum",)), "rapport_peildatum")
    )
    conn.execute(f"CREATE TABLE {SCHEMA}.kerncijfers AS {KERNCIJFERS_SQL}")
    for table, text in DESCRIPTIONS.items():
        conn.execute(f"COMMENT ON TABLE {SCHEMA}.{table} IS {_quote(text)}")
    for table in ("kerncijfers", "kerncijfers_per_jaar", "kerncijfers_per_peildatum"):
        for column, text in KERNCIJFERS_COLUMNS.items():
            if column in _columns(conn, "uit", SCHEMA, table):
                conn.execute(f"COMMENT ON COLUMN {SCHEMA}.{table}.{column} IS {_quote(text)}")
    conn.execute(
        f"CREATE TABLE {SCHEMA}.publicatie AS SELECT ?::TIMESTAMP AS gepubliceerd_op, ?::VARCHAR AS "
        "provincie_selectie, ?::BOOLEAN AS met_fictief, (SELECT string_agg(DISTINCT provincie, '; ' ORDER BY "
        f"provincie) FROM {SCHEMA}.gemeenten) AS provincies",
        [dt.datetime.now(), _spelling(conn, keuze.provincie), keuze.met_fictief],
    )


def _has(conn: duckdb.DuckDBPyConnection, aliases: dict[str, str], column: str) -> bool:
    """Does any region's referentie.gemeenten have ``column``?"""
    return any(column in _columns(conn, a, "referentie", "gemeenten") for a in aliases.values())


def _historie_sql(conn: duckdb.DuckDBPyConnection, aliases: dict[str, str]) -> str:
    """Every report of every region's history of fair_share_gemeente (the gemeenten in the selection): the
    copy's `historie`, or, for a copy without one, its current mart under its peildatum. A column a report
    predates is empty there (NULL)."""
    parts = []
    for regio, a in aliases.items():
        if "fair_share_gemeente" in _tables(conn, a, "historie"):
            bron, have = (
                f"{a}.historie.fair_share_gemeente",
                _columns(conn, a, "historie", "fair_share_gemeente"),
            )
            peildatum = "h.rapport_peildatum"
        else:
            bron, have = f"{a}.marts.fair_share_gemeente", _columns(conn, a, "marts", "fair_share_gemeente")
            peildatum = f"(SELECT peildatum FROM {a}.info.publicatie)"
        kolommen = ", ".join(
            f"h.{c}" if c in have else f"CAST(NULL AS {kind}) AS {c}" for c, kind in _FIGUREN_KOLOMMEN.items()
        )
        parts.append(
            f"SELECT {_quote(regio)} AS regio_code, {peildatum} AS rapport_peildatum, h.jaar, {kolommen} "
            f"FROM {bron} AS h WHERE ({_quote(regio)}, h.gemeente_code) IN "
            "(SELECT regio_code, gemeente_code FROM temp.main.selectie)"
        )
    return " UNION ALL ".join(parts)


KERNCIJFERS_COLUMNS = {
    "peildatum": "Peildatum van het rapport waaruit de cijfers komen (bij kerncijfers_per_peildatum: elk rapport "
    "in de historie van de regio).",
    "jaar": "Kalenderjaar van de cijfers.",
    "maanden_data": "Aantal maanden van het jaar met gegevens in dat rapport (12 = compleet jaar).",
    "geannualiseerd": "Waar als het jaar nog niet compleet was (maanden_data < 12): de _op_jaarbasis-cijfers zijn "
    "dan omgerekend naar een heel jaar (x 12 / maanden_data).",
    "wettelijk_urgent_gehuisvest": "Urgente toewijzingen in de wettelijke categorieën in de gemeenten van de "
    "afspraak (ook wat volgens de eigen uitzonderingen van de regio niet meetelt), in de maanden met gegevens.",
    "wettelijk_urgent_gehuisvest_op_jaarbasis": "wettelijk_urgent_gehuisvest x 12 / maanden_data.",
    "gehuisvest_telt_mee": "Van die toewijzingen: wat volgens de afspraak van de regio meetelt.",
    "toewijzingen": "Alle toewijzingen in de gemeenten van de afspraak in die maanden.",
    "toewijzingen_op_jaarbasis": "toewijzingen x 12 / maanden_data.",
    "aandeel_wettelijk_urgent_pct": "100 x wettelijk_urgent_gehuisvest / toewijzingen: de definitie van "
    "marts.fair_share_gemeente.aandeel_wettelijk_urgent_pct, over de gemeenten van de regio (het cijfer dat het "
    "rapport van de regio naast het plafond zet).",
    "per_100_toewijzingen": "Gelijk aan aandeel_wettelijk_urgent_pct (naam van eerdere publicaties).",
    "inwoners": "Inwoners van de gemeenten van de afspraak (seed inwoners van de regio, laatste publicatie).",
    "sociale_huurwoningen": "Sociale huurwoningen in de gemeenten van de afspraak (laatste publicatie).",
    "per_1000_inwoners": "1000 x wettelijk_urgent_gehuisvest / inwoners, over de maanden met gegevens (niet "
    "omgerekend).",
    "per_100_sociale_huurwoningen": "100 x wettelijk_urgent_gehuisvest / sociale_huurwoningen, over de maanden "
    "met gegevens (niet omgerekend).",
    "per_1000_inwoners_op_jaarbasis": "1000 x wettelijk_urgent_gehuisvest_op_jaarbasis / inwoners.",
    "per_100_sociale_huurwoningen_op_jaarbasis": "100 x wettelijk_urgent_gehuisvest_op_jaarbasis / "
    "sociale_huurwoningen.",
}


def stale_regions(province: Path) -> list[tuple[str, dt.date, dt.date]]:
    """Regions whose published peildatum is older than the latest of the others: (regio, peildatum, latest)."""
    with data_only.connect_read_only(province) as conn:
        return conn.execute(
            f"SELECT regio_code, peildatum, (SELECT max(peildatum) FROM {SCHEMA}.regios) FROM "
            f"{SCHEMA}.regios WHERE verouderd ORDER BY regio_code"
        ).fetchall()


def weggelaten(province: Path) -> list[tuple[str, str]]:
    """The regions whose copy was given but left out of the province file: (regio, reden)."""
    with data_only.connect_read_only(province) as conn:
        return conn.execute(f"SELECT regio_code, reden FROM {SCHEMA}.weggelaten ORDER BY 1").fetchall()


def publish_province_postgres(province: Path, dsn: str, reader_password: str | None = None) -> Published:
    """Copy schema `provincie` of the province file into PostgreSQL; the reader role may read it."""
    return publish_postgres(province, dsn, reader_password, schemas={SCHEMA: None})
