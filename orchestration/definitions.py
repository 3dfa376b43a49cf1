"""The Dagster definitions `dagster dev` shows and `fairshare run` executes in-process, one region at a time.

Every asset key, check, job, sensor and schedule carries the region (``orchestration.keys``): the definitions
of two regions can live in one Dagster instance and one workspace without sharing a name.
"""

from __future__ import annotations

import dagster as dg

from basics import region
from orchestration import keys
from orchestration.automation import build_automation, build_freshness_check
from orchestration.dbt_assets import build_dbt_assets
from orchestration.gate_assets import build_publication_asset, build_report_asset
from orchestration.ingest_assets import build_ingest_assets
from orchestration.resources import FairshareResource

# One writer per warehouse: the run queue (orchestration/dagster.yaml) starts one run with this tag at a time.
WRITER_TAG = {"fairshare/schrijver": "warehouse"}
JOB_DESCRIPTION = "Het hele monitorproces: inlezen, marts, poort en rapport."


def writer_tag(regio: str | None) -> dict[str, str]:
    """The run-queue tag of a region's runs: one writer per warehouse, and every region has its own warehouse
    (the default region keeps the tag of orchestration/dagster.yaml; README, "Dagster: one code location per region")."""
    return (
        WRITER_TAG
        if not regio or regio == region.DEFAULT_REGIO
        else {"fairshare/schrijver": f"warehouse-{regio}"}
    )


def build_assets(regio: str) -> list[dg.AssetsDefinition]:
    """Every asset of a region: ingest per source, the dbt project, the report and the publication."""
    return [
        *build_ingest_assets(regio),
        build_dbt_assets(regio),
        build_report_asset(regio),
        build_publication_asset(regio),
    ]


def build_definitions(resource: FairshareResource | None = None) -> dg.Definitions:
    """A region's definitions bound to one resource; everything touching DuckDB runs in one process, one step at a
    time. The region is the resource's (else the default region), and the resource is bound to it: the names of a
    location never follow FAIRSHARE_REGIO of the process that loads it."""
    regio = keys.regio_of(resource.regio if resource is not None else None)
    resource = FairshareResource(**{**(resource.model_dump() if resource else {}), "regio": regio})
    job = dg.define_asset_job(
        keys.job_name(regio),
        selection=dg.AssetSelection.all(),
        tags=writer_tag(regio),
        description=f"{JOB_DESCRIPTION} {region.load_regio(regio).naam}.",
    )
    sensor, schedule = build_automation(job, regio)
    return dg.Definitions(
        assets=build_assets(regio),
        asset_checks=[build_freshness_check(regio)],
        sensors=[sensor],
        schedules=[schedule],
        jobs=[job],
        # dbt runs in the run's own process (orchestration/dbt_build.py): no dbt resource.
        resources={"fairshare": resource},
        # DuckDB allows one writer per file: never run two steps at once.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
