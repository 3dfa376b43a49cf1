"""The Dagster definitions `dagster dev` shows and `fairshare run` executes in-process."""

from __future__ import annotations

import dagster as dg

from basics import region
from orchestration.automation import actualiteit_leveringen, build_automation
from orchestration.dbt_assets import DBT_EXECUTABLE, FairshareDbtCli, dbt_project, fairshare_dbt_assets
from orchestration.gate_assets import bo_rapport, publicatie
from orchestration.ingest_assets import ingest_assets
from orchestration.resources import FairshareResource

ALL_ASSETS = [*ingest_assets, fairshare_dbt_assets, bo_rapport, publicatie]

# One writer per warehouse: the run queue (orchestration/dagster.yaml) starts one run with this tag at a time.
WRITER_TAG = {"fairshare/schrijver": "warehouse"}
fairshare_job = dg.define_asset_job(
    "fairshare",
    selection=dg.AssetSelection.all(),
    tags=WRITER_TAG,
    description="Het hele monitorproces: inlezen, marts, poort en rapport.",
)


def writer_tag(regio: str | None) -> dict[str, str]:
    """The run-queue tag of a region's runs: one writer per warehouse, and every region has its own warehouse
    (the default region keeps the tag of orchestration/dagster.yaml; README, "Dagster: one code location per region")."""
    return (
        WRITER_TAG
        if not regio or regio == region.DEFAULT_REGIO
        else {"fairshare/schrijver": f"warehouse-{regio}"}
    )


def build_definitions(resource: FairshareResource | None = None) -> dg.Definitions:
    """Definitions bound to one resource; everything touching DuckDB runs in one process, one step at a time."""
    job = fairshare_job
    if resource is not None and writer_tag(resource.regio) != WRITER_TAG:
        job = dg.define_asset_job(
            "fairshare",
            selection=dg.AssetSelection.all(),
            tags=writer_tag(resource.regio),
            description=fairshare_job.description,
        )
    sensor, schedule = build_automation(job)
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=[actualiteit_leveringen],
        sensors=[sensor],
        schedules=[schedule],
        jobs=[job],
        resources={
            "fairshare": resource or FairshareResource(),
            # The dbt installed beside this interpreter: the venv need not be activated.
            "dbt": FairshareDbtCli(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        },
        # DuckDB allows one writer per file: never run two steps at once.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
