"""Great Expectations suites as code, validated on DataFrames read from DuckDB.

GX's SQL datasource cannot reflect DuckDB tables on this stack, so each suite names the SQL
that yields its DataFrame (every row, only the columns it checks) and the expectations on it;
``expectations.gate`` validates every row (in batches when a table is large). Every
expectation carries a Dutch `uitleg` in its meta: that sentence is what the blocked report shows.
The gate rules of spec/marts.md are one more suite, on a table with one row per rule and subject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ingest.config import TOEWIJZINGEN, load_config


@dataclass(frozen=True)
class Suite:
    """A suite on one Dagster asset: the SQL for its DataFrame and its expectations."""

    name: str
    asset: tuple[str, str]  # (schema, table) = the Dagster asset key the check sits on
    sql: str
    expectations: Callable[[], list]
    description: str


def _gxe():
    """GX's expectation classes, imported when a suite is built: importing GX costs seconds, and a run
    with nothing new never validates."""
    import great_expectations.expectations as gxe

    return gxe


def _e(cls, uitleg: str, **kwargs):
    return cls(meta={"uitleg": uitleg}, **kwargs)


def _toewijzingen() -> list:
    # Ranges are the source contract's (ingest/config/sources.yaml), not repeated here.
    gxe = _gxe()
    columns = load_config().sources[TOEWIJZINGEN].columns
    huur, kamers = columns["netto_huur"], columns["aantal_kamers"]
    return [
        _e(
            gxe.ExpectColumnValuesToNotBeNull,
            "Elke toewijzing heeft een toewijzingsnummer.",
            column="toewijzing_id",
        ),
        _e(
            gxe.ExpectColumnValuesToBeUnique,
            "Na ontdubbeling komt elk toewijzingsnummer één keer voor.",
            column="toewijzing_id",
        ),
        _e(gxe.ExpectColumnValuesToNotBeNull, "Elke toewijzing heeft een gemeente.", column="gemeente_code"),
        _e(
            gxe.ExpectColumnValuesToBeBetween,
            f"Netto huur ligt tussen {huur.min:g} en {huur.below:g} euro.",
            column="netto_huur",
            min_value=huur.min,
            max_value=huur.below,
            strict_max=True,
        ),
        _e(
            gxe.ExpectColumnValuesToBeBetween,
            f"Aantal kamers ligt tussen {kamers.min:g} en {kamers.max:g}.",
            column="aantal_kamers",
            min_value=kamers.min,
            max_value=kamers.max,
        ),
        _e(
            gxe.ExpectColumnValuesToBeInSet,
            "Toewijzingsroute is een bekende route.",
            column="toewijzingsroute",
            value_set=["regulier", "urgentie", "direct_bemiddeling", "statushouder", "overig"],
        ),
        _e(
            gxe.ExpectColumnValuesToBeInSet,
            "Label is geen, senioren of jongeren.",
            column="label",
            value_set=["geen", "senioren", "jongeren"],
        ),
        _e(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            "Geen toewijzingsdatum na de extractiedatum van de levering.",
            column_A="leverdatum",
            column_B="toewijzingsdatum",
            or_equal=True,
        ),
    ]


def _registraties() -> list:
    gxe = _gxe()
    return [
        _e(
            gxe.ExpectCompoundColumnsToBeUnique,
            "Na ontdubbeling komt elke (commissie, registratie) één keer voor.",
            column_list=["commissie", "registratie_id"],
        ),
        _e(
            gxe.ExpectColumnValuesToBeInSet,
            "Besluit is toegekend, afgewezen, ingetrokken of in behandeling.",
            column="besluit",
            value_set=["toegekend", "afgewezen", "ingetrokken", "in_behandeling"],
        ),
        _e(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            "Geen aanvraagdatum na de extractiedatum van de levering.",
            column_A="leverdatum",
            column_B="aanvraagdatum",
            or_equal=True,
        ),
        _e(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            "Geen besluit vóór de aanvraag.",
            column_A="besluitdatum",
            column_B="aanvraagdatum",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
    ]


def _plannen() -> list:
    gxe = _gxe()
    counts = ["aantal_woningen", "sociale_huur", "nultreden", "zorggeschikt", "geclusterd"]
    return [
        _e(
            gxe.ExpectCompoundColumnsToBeUnique,
            "Elk plan komt één keer voor per momentopname.",
            column_list=["peildatum", "plan_id"],
        ),
        _e(
            gxe.ExpectColumnValuesToBeInSet,
            "Planstatus is gerealiseerd, in aanbouw, hard of zacht.",
            column="status",
            value_set=["gerealiseerd", "in_aanbouw", "hard", "zacht"],
        ),
        *[
            _e(gxe.ExpectColumnValuesToBeBetween, f"Aantal ({c}) is niet negatief.", column=c, min_value=0)
            for c in counts
        ],
    ]


def _invarianten() -> list:
    gxe = _gxe()
    return [
        _e(
            gxe.ExpectColumnValuesToBeBetween,
            "De marts kloppen onderling: elke controle (zie onderwerp) heeft verschil 0.",
            column="verschil",
            min_value=0,
            max_value=0,
        )
    ]


def _poort() -> list:
    gxe = _gxe()
    return [
        _e(
            gxe.ExpectColumnValuesToBeInSet,
            "Alle poortregels voor het BO-rapport zijn voldaan.",
            column="geslaagd",
            value_set=[True],
        )
    ]


# Cross-table invariants of the marts, written here only (not as dbt tests): a failing one must block the report
# with its Dutch explanation and examples on the blocked page (spec/marts.md, "The BO report and the gate"),
# whereas a failing dbt test stops the whole run. One row per check and subject, with a difference that must be 0.
INVARIANTEN_SQL = """
WITH mart AS (
    SELECT gemeente_code, jaar, sum(gehuisvest + gehuisvest_buiten_afspraak) AS n FROM marts.fair_share GROUP BY ALL
), staging AS (
    SELECT t.gemeente_code, year(t.toewijzingsdatum) AS jaar, count(*) AS n
    FROM staging.stg_swev__toewijzingen t, info.peildatum p
    WHERE t.toewijzingsdatum <= p.data_tot AND t.toewijzingsroute <> 'statushouder'
      AND t.gemeente_code IN (SELECT gemeente_code FROM referentie.gemeenten WHERE in_afspraak)
      AND t.urgentiecategorie IN (SELECT urgentiecategorie FROM referentie.urgentiecategorieen WHERE wettelijk)
    GROUP BY ALL
), gemeenten AS (SELECT count(*) AS n FROM referentie.gemeenten WHERE in_afspraak)
SELECT 'fair_share gelijk aan urgente toewijzingen in staging' AS controle,
       coalesce(mart.gemeente_code, staging.gemeente_code) || ' ' || coalesce(mart.jaar, staging.jaar) AS onderwerp,
       coalesce(mart.n, 0) - coalesce(staging.n, 0) AS verschil
FROM mart FULL OUTER JOIN staging USING (gemeente_code, jaar)
UNION ALL
SELECT 'elke gemeente in elk jaar van ' || mart, mart || ' ' || jaar, (SELECT n FROM gemeenten) - aantal
FROM (
    SELECT 'fair_share_gemeente' AS mart, jaar, count(DISTINCT gemeente_code) AS aantal FROM marts.fair_share_gemeente GROUP BY ALL
    UNION ALL SELECT 'fair_share', jaar, count(DISTINCT gemeente_code) FROM marts.fair_share GROUP BY ALL
    UNION ALL SELECT 'toewijzingen_geschiktheid', jaar, count(DISTINCT gemeente_code) FROM marts.toewijzingen_geschiktheid GROUP BY ALL
    UNION ALL SELECT 'terugkeer', jaar, count(DISTINCT herkomst) FROM marts.terugkeer GROUP BY ALL
)
UNION ALL
-- each column of the suitability funnel is a subset of the one before (a missing threshold judges nothing)
SELECT 'trechter genest', gemeente_code || ' ' || jaar,
       coalesce((samenwerkend > toewijzingen)::int, 0)
       + coalesce((samenwerkend_max_3_kamers > samenwerkend)::int, 0)
       + coalesce((tot_hoge_aftoppingsgrens > samenwerkend_max_3_kamers)::int, 0)
       + coalesce((tot_lage_aftoppingsgrens > tot_hoge_aftoppingsgrens)::int, 0)
       + coalesce((tot_lage_gelabeld > tot_lage_aftoppingsgrens)::int, 0)
       + coalesce((boven_lage_gepersonaliseerd > samenwerkend_max_3_kamers - tot_lage_aftoppingsgrens)::int, 0)
FROM marts.toewijzingen_geschiktheid
"""

SUITES = [
    Suite(
        "toewijzingen",
        ("staging", "stg_swev__toewijzingen"),
        "SELECT toewijzing_id, gemeente_code, netto_huur, aantal_kamers, toewijzingsroute, label, "
        "toewijzingsdatum, leverdatum FROM staging.stg_swev__toewijzingen",
        _toewijzingen,
        "Kwaliteit van de toewijzingen (na ontdubbeling).",
    ),
    Suite(
        "registraties",
        ("staging", "stg_urgentie__registraties"),
        "SELECT commissie, registratie_id, besluit, aanvraagdatum, besluitdatum, leverdatum "
        "FROM staging.stg_urgentie__registraties",
        _registraties,
        "Kwaliteit van de registers van de urgentiecommissies.",
    ),
    Suite(
        "plannen",
        ("staging", "stg_planregister__plannen"),
        "SELECT peildatum, plan_id, status, aantal_woningen, sociale_huur, nultreden, zorggeschikt, geclusterd "
        "FROM staging.stg_planregister__plannen",
        _plannen,
        "Kwaliteit van het Planregister Wonen.",
    ),
    Suite(
        "invarianten",
        ("marts", "fair_share"),
        INVARIANTEN_SQL,
        _invarianten,
        "De marts kloppen onderling en met staging.",
    ),
    Suite(
        "poort",
        ("staging", "stg_audit__leveringen"),
        "SELECT * FROM poort_regels",
        _poort,
        "Poortregels voor het BO-rapport: volledige leveringen, weinig quarantaine, huurgrenzen aanwezig.",
    ),
]
