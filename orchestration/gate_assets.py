"""The gate and the BO report: GX suites as blocking asset checks, and the report downstream of them.

A failing suite writes the blocked page (listing every failure of the run so far), and Dagster
skips the report in the same run. When all suites pass, the report asset writes the report.
"""

import dagster as dg

from expectations import gate
from expectations.suites import SUITES, Suite
from fairshare import timing
from fairshare.report import MARTS, render_blocked, render_report, report_stem
from orchestration import builds
from orchestration.resources import FairshareResource
from warehouse import history, publish, schema, store

GATE_CHECK_PREFIX = "gx_"


def _suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(list(suite.asset)), name=f"{GATE_CHECK_PREFIX}{suite.name}", blocking=True,
                    description=suite.description)
    def _check(context: dg.AssetCheckExecutionContext, fairshare: FairshareResource) -> dg.AssetCheckResult:
        settings = fairshare.settings()
        docs_root = settings.reports / "gx"
        with store.connect(settings.warehouse) as conn:
            schema.ensure_schema(conn, {})
            with timing.stage("gate"):
                outcome = gate.validate(conn, suite, docs_root)
            peildatum = _peildatum(conn)
            fouten = [{"uitleg": f.uitleg, "aantal": f.aantal, "voorbeelden": f.voorbeelden} for f in outcome.fouten]
            store.record_gate(conn, context.run.run_id, peildatum, suite.name, outcome.geslaagd, fouten)
            failures = store.gate_failures(conn, context.run.run_id)
        if not outcome.geslaagd:
            page = render_blocked(settings.reports, peildatum, [
                (name, f["uitleg"] + (f" ({f['aantal']} rijen)" if f["aantal"] > 1 else ""), f["voorbeelden"])
                for name, fs in failures for f in fs], gate.docs_index(docs_root))
            context.log.error(f"BO-rapport geblokkeerd door '{suite.name}': {page}")
        return dg.AssetCheckResult(
            passed=outcome.geslaagd, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rijen": outcome.rijen, "fouten": len(outcome.fouten),
                      "onverwacht": sum(f.aantal for f in outcome.fouten),
                      "details": dg.MetadataValue.md("\n".join(
                          f"- {f.uitleg} ({f.aantal}): {', '.join(f.voorbeelden)}" for f in outcome.fouten) or "geen")})

    return _check


def _peildatum(conn) -> object:
    return conn.execute("SELECT peildatum FROM intermediate.int_peildatum").fetchone()[0]


gate_checks = [_suite_check(s) for s in SUITES]
CHECKED_ASSETS = sorted({s.asset for s in SUITES})


@dg.asset(
    key=["rapport", "bo_wonen_zorg"],
    group_name="rapport",
    deps=[dg.AssetKey(["marts", m]) for m in MARTS] + [dg.AssetKey(list(a)) for a in CHECKED_ASSETS],
    description="Het halfjaarlijkse rapport voor het BO Wonen en Zorg (HTML en xlsx), alleen als de poort slaagt.",
    kinds={"html", "excel"},
)
def bo_rapport(context: dg.AssetExecutionContext, fairshare: FairshareResource) -> dg.MaterializeResult:
    settings = fairshare.settings()
    docs_root = settings.reports / "gx"
    with store.connect(settings.warehouse) as conn, timing.stage("report"):
        paths = render_report(conn, settings.reports, gate.poort_regels(conn), gate.docs_index(docs_root))
    context.log.info(f"BO-rapport: {paths[0]}")
    return dg.MaterializeResult(metadata={"html": str(paths[0].resolve()), "xlsx": str(paths[1].resolve())})


@dg.asset(
    key=["publicatie", "marts"],
    group_name="rapport",
    deps=[bo_rapport],
    description="De marts (en referentietabellen) voor lezers: een alleen-lezen DuckDB-bestand, atomair "
                "vervangen, en desgewenst PostgreSQL. Alleen na een geslaagde poort.",
    kinds={"duckdb", "postgres"},
)
def publicatie(context: dg.AssetExecutionContext, fairshare: FairshareResource) -> dg.MaterializeResult:
    settings = fairshare.settings()
    with timing.stage("publish"):
        history.record(settings.warehouse)  # this report's marts under its peildatum, before they are published
        duck = publish.publish_duckdb(settings.warehouse, settings.serving_file)
    metadata = {"duckdb": duck.target, "tabellen": len(duck.tables),
                "rijen": dg.MetadataValue.json(duck.tables)}
    if settings.publish_postgres_dsn:
        pg = publish.publish_postgres(settings.warehouse, settings.publish_postgres_dsn,
                                      settings.postgres_reader_password)
        metadata["postgres"] = pg.target
    with store.connect(settings.warehouse) as conn:
        report = sorted(p.name for p in settings.reports.glob(f"{report_stem(_peildatum(conn))}.*"))
        builds.record_complete(conn, settings, report)
    context.log.info(f"Gepubliceerd: {duck.target}" + (f" en PostgreSQL {metadata['postgres']}"
                                                       if "postgres" in metadata else ""))
    return dg.MaterializeResult(metadata=metadata)
