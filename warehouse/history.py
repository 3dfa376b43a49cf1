"""History per peildatum: every passing build keeps its marts under its report's peildatum.

`historie.<mart>` holds each mart as it was published for a report, with a leading column
`rapport_peildatum` (the marts `ouderenhuisvesting` and `sociale_huur_plannen` have a `peildatum`
column of their own: the planregister snapshot). A rebuild for the same peildatum replaces that
report's rows. `historie.verschillen_sinds_vorige` lists, per report and gemeente, every figure
that differs from the previous report (by peildatum), marking changes to years the previous report
already covered in full as `correctie` (later deliveries correcting earlier years).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

from warehouse import audit, store

# The figures compared between reports: (mart, gemeente column, measures). A regional or advisory committee is no gemeente.
FIGUREN = [
    ("fair_share_gemeente", "gemeente_code", ["toewijzingen", "gehuisvest", "opgave_naar_rato"]),
    ("terugkeer", "herkomst", ["uitgestroomd", "teruggekeerd"]),
    ("urgentie_aanvragen", "commissie", ["aanvragen", "toegekend", "afgewezen"]),
]
KOLOM_PEILDATUM = "rapport_peildatum"
VERSCHILLEN_KOLOMMEN = {
    "rapport_peildatum": "Peildatum van het rapport waarvan de cijfers zijn.",
    "vorige_peildatum": "Peildatum van het vorige rapport in de historie, waarmee vergeleken is.",
    "gemeente_code": "CBS-code van de gemeente (bij urgentieaanvragen: de commissie van die gemeente).",
    "gemeente_naam": "Naam van de gemeente.",
    "jaar": "Kalenderjaar van het cijfer (zoals in de mart).",
    "mart": "De mart waaruit het cijfer komt.",
    "kenmerk": "De kolom van de mart.",
    "vorige_waarde": "Het cijfer in het vorige rapport; leeg als het daar niet voorkwam.",
    "waarde": "Het cijfer in dit rapport; leeg als het niet meer voorkomt.",
    "verschil": "waarde - vorige_waarde (ontbrekend telt als 0).",
    "soort": "correctie = een jaar dat het vorige rapport al volledig toonde is veranderd (latere levering); "
    "lopend_jaar = het jaar was toen nog niet compleet; nieuw = het jaar stond nog niet in het vorige rapport.",
}


def _marts(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        t
        for (t,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND database_name = current_database() ORDER BY 1"
        ).fetchall()
    ]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _figures_sql(source: str) -> str:
    """The compared figures in long form; ``source`` formats to a relation per mart having rapport_peildatum."""
    parts = []
    for mart, gemeente, measures in FIGUREN:
        for m in measures:
            parts.append(
                f"SELECT rapport_peildatum, {gemeente} AS gemeente_code, jaar, '{mart}' AS mart, "
                f"'{m}' AS kenmerk, CAST({m} AS DOUBLE) AS waarde FROM {source.format(mart=mart)} "
                f"WHERE {gemeente} IN (SELECT gemeente_code FROM referentie.gemeenten WHERE in_afspraak)"
            )
    return "\nUNION ALL\n".join(parts)


def _diff_sql(figures: str) -> str:
    """Each report against the one before it (by peildatum): every figure that differs."""
    return f"""
        WITH f AS ({figures}),
        paren AS (
            SELECT rapport_peildatum, lag(rapport_peildatum) OVER (ORDER BY rapport_peildatum) AS vorige_peildatum
            FROM (SELECT DISTINCT rapport_peildatum FROM f)),
        sleutels AS (
            SELECT DISTINCT p.rapport_peildatum, p.vorige_peildatum, f.gemeente_code, f.jaar, f.mart, f.kenmerk
            FROM paren AS p JOIN f ON f.rapport_peildatum IN (p.rapport_peildatum, p.vorige_peildatum)
            WHERE p.vorige_peildatum IS NOT NULL)
        SELECT s.rapport_peildatum, s.vorige_peildatum, s.gemeente_code, g.gemeente_naam, s.jaar, s.mart, s.kenmerk,
               v.waarde AS vorige_waarde, n.waarde,
               coalesce(n.waarde, 0) - coalesce(v.waarde, 0) AS verschil,
               CASE WHEN v.waarde IS NULL THEN 'nieuw'
                    -- the previous report covered year Y in full when Y < year(its data_tot)
                    WHEN s.jaar < year(s.vorige_peildatum - INTERVAL 1 DAY) THEN 'correctie'
                    ELSE 'lopend_jaar' END AS soort
        FROM sleutels AS s
        LEFT JOIN f AS n ON n.rapport_peildatum = s.rapport_peildatum AND n.gemeente_code = s.gemeente_code
             AND n.jaar = s.jaar AND n.mart = s.mart AND n.kenmerk = s.kenmerk
        LEFT JOIN f AS v ON v.rapport_peildatum = s.vorige_peildatum AND v.gemeente_code = s.gemeente_code
             AND v.jaar = s.jaar AND v.mart = s.mart AND v.kenmerk = s.kenmerk
        LEFT JOIN referentie.gemeenten AS g ON g.gemeente_code = s.gemeente_code
        WHERE n.waarde IS DISTINCT FROM v.waarde AND abs(coalesce(n.waarde, 0) - coalesce(v.waarde, 0)) > 1e-9
        ORDER BY s.rapport_peildatum, g.gemeente_naam, s.jaar, s.mart, s.kenmerk"""


def record_conn(conn: duckdb.DuckDBPyConnection) -> dt.date:
    """Copy the current marts into `historie` under their peildatum (replacing an earlier build of it)."""
    peildatum = audit.peildatum(conn).peildatum
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute("CREATE SCHEMA IF NOT EXISTS historie")
        for mart in _marts(conn):
            target = f"historie.{mart}"
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {target} AS SELECT CAST(NULL AS DATE) AS {KOLOM_PEILDATUM}, * "
                f"FROM marts.{mart} LIMIT 0"
            )
            have = {
                c
                for (c,) in conn.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'historie' "
                    "AND table_name = ?",
                    [mart],
                ).fetchall()
            }
            columns = conn.execute(
                "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE schema_name = "
                "'marts' AND table_name = ? AND database_name = current_database() "
                "ORDER BY column_index",
                [mart],
            ).fetchall()
            for (
                name,
                typ,
                _,
            ) in columns:  # a column added to a mart's contract later: earlier reports have it empty
                if name not in have:
                    conn.execute(f'ALTER TABLE {target} ADD COLUMN "{name}" {typ}')
            conn.execute(f"DELETE FROM {target} WHERE {KOLOM_PEILDATUM} = ?", [peildatum])
            conn.execute(
                f"INSERT INTO {target} BY NAME SELECT ?::DATE AS {KOLOM_PEILDATUM}, * FROM marts.{mart}",
                [peildatum],
            )
            comment = conn.execute(
                "SELECT comment FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = ? "
                "AND database_name = current_database()",
                [mart],
            ).fetchone()[0]
            conn.execute(
                f"COMMENT ON TABLE {target} IS "
                + _quote(
                    f"Historie van marts.{mart}: de cijfers van elk rapport, per rapport_peildatum. {comment or ''}".strip()
                )
            )
            conn.execute(
                f"COMMENT ON COLUMN {target}.{KOLOM_PEILDATUM} IS "
                + _quote("Peildatum van het BO-rapport waarin deze cijfers stonden.")
            )
            for name, _, text in columns:
                if text:
                    conn.execute(f'COMMENT ON COLUMN {target}."{name}" IS {_quote(text)}')
        figures = _figures_sql("historie.{mart}")
        conn.execute(f"CREATE OR REPLACE TABLE historie.verschillen_sinds_vorige AS {_diff_sql(figures)}")
        conn.execute(
            "COMMENT ON TABLE historie.verschillen_sinds_vorige IS "
            + _quote(
                "Per rapport en gemeente: welke cijfers anders zijn dan in het vorige rapport, ook correcties op "
                "eerdere jaren door latere leveringen."
            )
        )
        for name, text in VERSCHILLEN_KOLOMMEN.items():
            conn.execute(f"COMMENT ON COLUMN historie.verschillen_sinds_vorige.{name} IS {_quote(text)}")
        conn.execute("COMMIT")
    except BaseException:
        store.rollback(
            conn
        )  # a failed COMMIT (full disk) ended the transaction: keep its error, not rollback's
        raise
    return peildatum


def record(warehouse: Path) -> dt.date:
    """`record_conn` in its own short connection (called by the publication step, after the gate passed)."""
    from warehouse import store

    with store.connect(warehouse) as conn:
        return record_conn(conn)


def changes(conn: duckdb.DuckDBPyConnection, peildatum: dt.date) -> pd.DataFrame:
    """The current marts against the latest report in the history before ``peildatum`` (empty when none)."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'historie' "
        "AND table_name = 'fair_share_gemeente'"
    ).fetchone()[0]
    if not exists:
        return pd.DataFrame(columns=list(VERSCHILLEN_KOLOMMEN))
    earlier = (
        f"(SELECT * FROM historie.{{mart}} WHERE rapport_peildatum = (SELECT max(rapport_peildatum) "
        f"FROM historie.fair_share_gemeente WHERE rapport_peildatum < DATE '{peildatum.isoformat()}'))"
    )
    now = f"(SELECT DATE '{peildatum.isoformat()}' AS rapport_peildatum, * FROM marts.{{mart}})"
    figures = f"{_figures_sql(earlier)}\nUNION ALL\n{_figures_sql(now)}"
    frame = conn.execute(_diff_sql(figures)).df()
    return frame[frame["rapport_peildatum"].dt.date == peildatum] if len(frame) else frame
