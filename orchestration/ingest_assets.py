"""Ingest assets: one per source, loading new or changed landing files into `raw` (sources.md)."""

import time

import dagster as dg

from basics import progress
from basics.settings import ConfigError
from ingest.config import load_config, source_descriptions, source_names, source_tables
from orchestration import keys
from orchestration.resources import WAREHOUSE_POOL, FairshareResource
from warehouse import audit, store
from warehouse.loading import KINDS, load_source


def raw_asset_key(regio: str, bron: str) -> dg.AssetKey:
    """The region's asset of a source's raw table (ingest/config/sources.yaml `table`)."""
    return keys.asset_key(regio, *source_tables()[bron])


def _ingest_asset(regio: str, bron: str) -> dg.AssetsDefinition:
    key = raw_asset_key(regio, bron)

    @dg.asset(
        key=key,
        pool=WAREHOUSE_POOL,
        group_name="ingest",
        description=keys.describe(regio, source_descriptions()[bron]),
        metadata=keys.regio_metadata(regio),
        tags=keys.regio_tags(regio),
        kinds={"duckdb", "python"},
        check_specs=[
            dg.AssetCheckSpec(
                "geen_afgewezen_bestanden",
                asset=key,
                description="Elk bestand in de landingsmap is leesbaar, compleet en volgt het "
                "broncontract (geen afgewezen, overgeslagen of genegeerde bestanden).",
            ),
            dg.AssetCheckSpec(
                "quarantaine",
                asset=key,
                description="Geen rijen in quarantaine (onleesbare of ongeldige waarden).",
            ),
        ],
    )
    def _asset(context: dg.AssetExecutionContext, fairshare: FairshareResource):
        settings = fairshare.settings()
        started = time.perf_counter()
        try:
            key_bytes = settings.key_bytes()
            outcomes = load_source(
                settings.warehouse,
                settings.landing,
                bron,
                load_config(regio=settings.regio),
                key_bytes,
                settle=settings.settle_seconds,
            )
        except (ConfigError, store.KeyMismatch) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        with store.connect(settings.warehouse) as conn:
            quarantined, examples = audit.quarantine_summary(conn, bron)
        rejected = [o for o in outcomes if o.afgewezen]
        not_read = [o for o in outcomes if o.status in ("overgeslagen", "genegeerd")]
        counts = {s: sum(o.soort == s for o in outcomes) for s in KINDS}
        context.log.info(f"{bron}: {len(outcomes)} files: {counts}")
        _show(bron, outcomes, counts, time.perf_counter() - started, settings.warehouse)
        yield dg.MaterializeResult(
            metadata={
                "bestanden": len(outcomes),
                "geladen": counts["geladen"],
                "ongewijzigd": counts["ongewijzigd"],
                "afgewezen": len(rejected),
                "overgeslagen": counts["overgeslagen"],
                "genegeerd": counts["genegeerd"],
                "rijen_geladen": sum(o.rijen_geladen for o in outcomes),
                "rijen_gelezen": sum(o.rijen_gelezen for o in outcomes),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="geen_afgewezen_bestanden",
                    passed=not rejected and not not_read,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "afgewezen": len(rejected),
                        "niet_gelezen": len(not_read),
                        "redenen": dg.MetadataValue.md(
                            "\n".join(f"- {o.reden}" for o in rejected + not_read) or "geen"
                        ),
                    },
                ),
                dg.AssetCheckResult(
                    check_name="quarantaine",
                    passed=quarantined == 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "rijen_quarantaine": quarantined,
                        "voorbeelden": dg.MetadataValue.md("\n".join(f"- {e}" for e in examples) or "geen"),
                    },
                ),
            ],
        )

    return _asset


def _show(bron: str, outcomes: list, counts: dict, seconds: float, warehouse) -> None:
    """The stage line of one source on the console, its quarantine per file and every file not loaded."""
    shown = progress.report()
    if shown is None:
        return
    shown.log.files.update({s: n for s, n in counts.items() if n})
    rows = sum(o.rijen_geladen for o in outcomes)
    bad = sum(o.rijen_quarantaine for o in outcomes)
    parts = [f"{n} {progress.FILE_WORDS[s]}" for s, n in counts.items() if n] or ["no"]  # "no files"
    shown.stage(
        f"ingest {bron}", seconds, f"{', '.join(parts)} files; {rows:,} rows loaded, {bad:,} quarantined"
    )
    new = [o.pad for o in outcomes if o.status == "geladen" and o.rijen_quarantaine]
    if new:
        with store.connect(warehouse, read_only=True) as conn:
            per_file = audit.quarantined_columns(conn, new)
        for pad, kolommen in per_file[: progress.MAX_FILE_LINES]:
            shown.line(progress.quarantine_line(pad, kolommen))
        if len(per_file) > progress.MAX_FILE_LINES:
            rest = per_file[progress.MAX_FILE_LINES :]
            shown.line(
                f"  ... and {sum(len(k) for _, k in rest):,} rows in {len(rest)} more files "
                "(fairshare quarantaine lists them all)"
            )
    for o in outcomes:  # each file not loaded once in the summary; on the console only what is new this run
        if o.soort in progress.FILE_LINES:
            line = f"{progress.FILE_WORDS[o.soort]}: {o.reden}"
            shown.log.problems.append(line)
            if o.soort != "ongewijzigd_afgewezen":
                shown.line(f"  {line}")


def build_ingest_assets(regio: str) -> list[dg.AssetsDefinition]:
    """One ingest asset per source, under the region's keys."""
    return [_ingest_asset(regio, bron) for bron in source_names()]
