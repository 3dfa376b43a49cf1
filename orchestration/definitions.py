"""The Dagster definitions `dagster dev` shows and `fairshare run` executes in-process."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.automation import actualiteit_leveringen, build_automation
from orchestration.dbt_assets import DBT_EXECUTABLE, dbt_project, fairshare_dbt_assets
from orchestration.gate_assets import bo_rapport, publicatie
from orchestration.ingest_assets import ingest_assets
from orchestration.resources import FairshareResource

ALL_ASSETS = [*ingest_assets, fairshare_dbt_assets, bo_rapport, publicatie]

# One writer per warehouse: the run queue (orchestration/dagster.yaml) starts one run with this tag at a time.
WRITER_TAG = {"fairshare/schrijver": "warehouse"}
fairshare_job = dg.define_asset_job("fairshare", selection=dg.AssetSelection.all(), tags=WRITER_TAG,
                                    description="Het hele monitorproces: inlezen, marts, poort en rapport.")


def build_definitions(resource: FairshareResource | None = None) -> dg.Definitions:
    """Definitions bound to one resource; everything touching DuckDB runs in one process, one step at a time."""
    sensor, schedule = build_automation(fairshare_job)
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=[actualiteit_leveringen],
        sensors=[sensor],
        schedules=[schedule],
        jobs=[fairshare_job],
        resources={"fairshare": resource or FairshareResource(),
                   # The dbt installed beside this interpreter: the venv need not be activated.
                   "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
        # DuckDB allows one writer per file: never run two steps at once.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
