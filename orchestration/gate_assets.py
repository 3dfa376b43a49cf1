"""The gate and the BO report: the report asset carries the gate as its blocking check `poort`.

The report step first validates every Great Expectations suite (``expectations.suites``: the data
of the staging models, the invariants of the marts, the gate rules of the report) and records each
outcome in `audit.poort`. When all pass, it writes the report and the check `poort` passes; when one
fails, it writes the blocked page listing every failure, `poort` fails (so Dagster fails the step,
and the publication downstream does not run) and no report is written. A data engineer sees the
gate where the report is, with each suite's outcome in the check's metadata.
"""

import time

import dagster as dg

from basics import manifest, progress, region, timing
from basics.dutch import datum_nl
from expectations import gate
from expectations.suites import SUITES
from orchestration import keys
from orchestration.resources import WAREHOUSE_POOL, FairshareResource
from products.report import render_blocked, render_report, report_stem
from warehouse import audit, builds, history, publish, schema, store

GATE_CHECK = keys.GATE_CHECK
CHECKED_ASSETS = sorted({s.asset for s in SUITES})


def _peildatum(conn) -> object:
    return audit.peildatum(conn).peildatum


def _validate_all(conn, run_id: str, docs_root) -> list[tuple[str, gate.SuiteOutcome]]:
    """Every suite, in order; each outcome recorded for this run (the blocked page lists all failures)."""
    peil = audit.peildatum(conn)
    # One GX run for every suite (named by the Dagster run): the Data Docs overview shows them together.
    run = gate.run_identifier(run_id)
    outcomes = []
    for suite in SUITES:
        outcome = gate.validate(conn, suite, docs_root, peil, run)
        fouten = [
            {"uitleg": f.uitleg, "aantal": f.aantal, "voorbeelden": f.voorbeelden} for f in outcome.fouten
        ]
        store.record_gate(conn, run_id, peil.peildatum, suite.name, outcome.geslaagd, fouten)
        outcomes.append((suite.name, outcome))
    gate.build_docs(
        docs_root,
        run,
        f"Kwaliteitscontroles {report_stem(peil.peildatum)} (peildatum {datum_nl(peil.peildatum)})",
    )
    return outcomes


def _gate_metadata(outcomes: list[tuple[str, gate.SuiteOutcome]]) -> dict:
    return {
        "suites": len(outcomes),
        "geslaagd": sum(o.geslaagd for _, o in outcomes),
        "uitkomst": dg.MetadataValue.md(
            "\n".join(
                f"- **{name}** ({o.rijen} rijen): "
                + (
                    "geslaagd"
                    if o.geslaagd
                    else "; ".join(f"{f.uitleg} ({f.aantal}): {', '.join(f.voorbeelden)}" for f in o.fouten)
                )
                for name, o in outcomes
            )
        ),
    }


def build_report_asset(regio: str) -> dg.AssetsDefinition:
    """The region's BO report, with its blocking check `poort`."""
    key = keys.asset_key(regio, *keys.REPORT)

    @dg.asset(
        key=key,
        pool=WAREHOUSE_POOL,
        group_name="rapport",
        deps=[keys.asset_key(regio, "marts", m) for m in manifest.mart_names()]
        + [keys.asset_key(regio, *a) for a in CHECKED_ASSETS],
        description=keys.describe(
            regio,
            "Het halfjaarlijkse rapport voor het BO Wonen en Zorg (HTML en xlsx), alleen als de poort slaagt.",
        ),
        metadata=keys.regio_metadata(regio),
        tags=keys.regio_tags(regio),
        kinds={"html", "excel"},
        check_specs=[
            dg.AssetCheckSpec(
                GATE_CHECK,
                asset=key,
                blocking=True,
                description="De poort voor het rapport: alle Great Expectations-suites (brondata, invarianten "
                "van de marts, poortregels: leveringen, quarantaine, huurgrenzen). Faalt er een, dan geen "
                "rapport en geen publicatie, wel een pagina die elke fout noemt.",
            )
        ],
        output_required=False,
    )
    def _report(context: dg.AssetExecutionContext, fairshare: FairshareResource):
        yield from bo_rapport(context, fairshare)

    return _report


def bo_rapport(context: dg.AssetExecutionContext, fairshare: FairshareResource):
    """Validate every suite, then write the report (gate passed) or the blocked page (the check fails)."""
    settings = fairshare.settings()
    started = time.perf_counter()
    with store.connect(settings.warehouse) as conn:
        schema.ensure_schema(conn, {})
        docs_root = settings.reports / "gx" / report_stem(_peildatum(conn))  # one Data Docs folder per report
        with timing.stage("gate"):
            outcomes = _validate_all(conn, context.run.run_id, docs_root)
        peildatum = _peildatum(conn)
        failures = audit.gate_failures(conn, context.run.run_id)
    shown = progress.report()
    if shown:
        shown.stage(
            "gate (GX)",
            time.perf_counter() - started,
            "passed" if not failures else f"BLOCKED by {', '.join(name for name, _ in failures)}",
        )
    if failures:
        page = render_blocked(
            settings.reports,
            peildatum,
            [
                (name, f["uitleg"] + (f" ({f['aantal']} rijen)" if f["aantal"] > 1 else ""), f["voorbeelden"])
                for name, fs in failures
                for f in fs
            ],
            gate.docs_index(docs_root),
        )
        context.log.error(f"BO-rapport geblokkeerd door {', '.join(name for name, _ in failures)}: {page}")
        yield dg.AssetCheckResult(
            check_name=GATE_CHECK,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={**_gate_metadata(outcomes), "geblokkeerd": str(page.resolve())},
        )
        return
    started = time.perf_counter()
    with store.connect(settings.warehouse) as conn, timing.stage("report"):
        paths = render_report(
            conn,
            settings.reports,
            gate.poort_regels(conn, audit.peildatum(conn)),
            gate.docs_index(docs_root),
            duiding_map=settings.duiding,
            pack=region.regio_dir(settings.regio),
            pdf=settings.pdf,
        )
    context.log.info(f"BO-rapport: {paths[0]}")
    if shown:
        shown.stage("report", time.perf_counter() - started, paths[0].name)
    yield dg.MaterializeResult(
        metadata={
            "html": str(paths[0].resolve()),
            "xlsx": str(paths[1].resolve()),
            **({"pdf": str(paths[2].resolve())} if paths[2] else {}),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=GATE_CHECK,
                passed=True,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=_gate_metadata(outcomes),
            )
        ],
    )


def _older_published(context: dg.AssetExecutionContext, before, now) -> None:
    """Say loudly that readers now see an older peildatum than they did: on the console, in the summary, in Dagster."""
    text = (
        f"the published copy now holds an OLDER peildatum: {datum_nl(now)}, where it held "
        f"{datum_nl(before)} (are the newer deliveries rejected, e.g. dated after a clock that is behind?)"
    )
    _warn(context, text)


def _warn(context: dg.AssetExecutionContext, text: str) -> None:
    """A warning on the console, in the run's summary and in Dagster's log."""
    context.log.warning(text)
    if shown := progress.report():
        shown.line(f"  WARNING: {text}")
        shown.log.problems.append(f"WARNING: {text}")


def _said(context: dg.AssetExecutionContext, line: str) -> None:
    """A line of the run summary on the publication (``fairshare.runner``), and in Dagster's log."""
    context.log.info(line.strip())
    if shown := progress.report():
        shown.log.publicatie.append(line)


def _kept_text(held: dict, peildatum) -> str:
    return (
        f"it keeps {publish.described(held)}: this board run's peildatum {datum_nl(peildatum)} is older, so only its "
        "historie was updated (--als-huidig publishes it as the current one)"
    )


def _publish_copy(context, settings, build, peildatum) -> publish.Published:
    """The DuckDB copy: this build, or (an older board run, not --als-huidig) only the history."""
    held = publish.holds(settings.serving_file)
    keep = builds.keeps_newer(held, peildatum, settings)
    duck = publish.publish_duckdb(settings.warehouse, settings.serving_file, build=build, historie_only=keep)
    served = settings.serving_file.resolve()
    if keep:
        _said(context, f"Not published as current (read-only copy): {served}")
        _said(context, f"  {_kept_text(held, peildatum)}")
        return duck
    _said(context, f"Published for readers (read-only copy): {served}")
    _said(context, f"  it holds {publish.described(publish.holds(settings.serving_file))}")
    if held and held.get("peildatum") and peildatum < held["peildatum"]:
        if settings.als_huidig:
            _said(
                context,
                f"  the older peildatum {datum_nl(peildatum)} is now the current one (--als-huidig), where it "
                f"held {datum_nl(held['peildatum'])}",
            )
        else:
            _older_published(context, held["peildatum"], peildatum)
    return duck


def _publish_postgres(context, settings, build, peildatum) -> publish.Published:
    """PostgreSQL: as the copy. A failure is said in the summary (NOT published, and what it still holds: what it
    held before, the transaction being rolled back, also when the server is gone) and fails the step, so the run
    exits 3 and the next run, finding PostgreSQL behind, publishes again."""
    dsn = settings.publish_postgres_dsn
    where = publish.where(dsn)
    held = publish.postgres_holds(dsn)
    keep = builds.keeps_newer(held, peildatum, settings)
    try:
        pg = publish.publish_postgres(
            settings.warehouse, dsn, settings.postgres_reader_password, build=build, historie_only=keep
        )
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        _said(
            context,
            f"PostgreSQL {where}: NOT published ({type(exc).__name__}: {first}); it still holds "
            f"{publish.described(held)}, and "
            + (
                "its historie follows with the next build it takes (it keeps its newer peildatum)"
                if keep
                else "the next run publishes again"
            ),
        )
        raise
    if keep:
        _said(context, f"Not published as current (PostgreSQL {where}): {_kept_text(held, peildatum)}")
    else:
        _said(
            context,
            f"Published to PostgreSQL {where}: it holds {publish.described(publish.postgres_holds(dsn))}",
        )
        if held and held.get("peildatum") and peildatum < held["peildatum"] and settings.als_huidig:
            _said(
                context,
                f"  the older peildatum {datum_nl(peildatum)} is now the current one there (--als-huidig), "
                f"where it held {datum_nl(held['peildatum'])}",
            )
    for text in pg.warnings:
        _warn(context, text)
    return pg


def build_publication_asset(regio: str) -> dg.AssetsDefinition:
    """The region's publication for readers, downstream of its report."""

    @dg.asset(
        key=keys.asset_key(regio, *keys.PUBLICATION),
        pool=WAREHOUSE_POOL,
        group_name="rapport",
        deps=[keys.asset_key(regio, *keys.REPORT)],
        description=keys.describe(
            regio,
            "De marts (en referentietabellen) voor lezers: een alleen-lezen DuckDB-bestand, atomair "
            "vervangen, en desgewenst PostgreSQL (in één transactie). Elk doel zegt in info.publicatie wat het "
            "bevat; een bestuursrun voor een oudere peildatum laat de nieuwere staan (behalve met --als-huidig). "
            "Alleen na een geslaagde poort.",
        ),
        metadata=keys.regio_metadata(regio),
        tags=keys.regio_tags(regio),
        kinds={"duckdb", "postgres"},
    )
    def _publication(context: dg.AssetExecutionContext, fairshare: FairshareResource) -> dg.MaterializeResult:
        return publicatie(context, fairshare)

    return _publication


def publicatie(context: dg.AssetExecutionContext, fairshare: FairshareResource) -> dg.MaterializeResult:
    """Publish the marts (board runs) and record the build as complete."""
    settings = fairshare.settings()
    builds.pause_point("publish")
    started = time.perf_counter()
    metadata: dict = {}
    if settings.publishes:
        with store.connect(settings.warehouse) as conn:
            build, peildatum = builds.started(conn, context.run.run_id), _peildatum(conn)
        with timing.stage("publish"):
            history.record(
                settings.warehouse
            )  # this report's marts under its peildatum, before they are published
            duck = _publish_copy(context, settings, build, peildatum)
            metadata = {
                "duckdb": duck.target,
                "tabellen": len(duck.tables),
                "rijen": dg.MetadataValue.json(duck.tables),
            }
            if build:
                metadata["bouw"] = build[0]
            if settings.publish_postgres_dsn:
                metadata["postgres"] = _publish_postgres(context, settings, build, peildatum).target
    else:
        context.log.info("Ad-hoc rapport: de gepubliceerde kopie en de historie blijven ongewijzigd.")
        metadata["adhoc"] = True
    with store.connect(settings.warehouse) as conn:
        report = sorted(p.name for p in settings.reports.glob(f"{report_stem(_peildatum(conn))}.*"))
        builds.record_complete(conn, context.run.run_id, report)
    if shown := progress.report():
        shown.stage(
            "publish",
            time.perf_counter() - started,
            "ad-hoc: not published"
            if not settings.publishes
            else "DuckDB copy" + (" and PostgreSQL" if "postgres" in metadata else ""),
        )
    return dg.MaterializeResult(metadata=metadata)
