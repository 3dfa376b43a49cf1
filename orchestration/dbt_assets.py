"""The dbt models as Dagster assets, downstream of the ingest assets; dbt tests show as asset checks.

The manifest is prepared at build time (`make install` runs `dbt parse`), never at import;
under `dagster dev` the preparer refreshes it with the dbt beside this interpreter, so the venv
need not be activated (nor on PATH).
"""

import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer

from fairshare import timing
from orchestration import builds
from orchestration.resources import FairshareResource
from warehouse import schema, store

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# The dbt installed beside this interpreter: `dagster dev` and `fairshare run` need no activated venv.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer runs `dbt` from PATH; this one runs the venv's dbt."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
            self._prepare_project_cli_args, target_path=project.target_path).wait()


VenvDbtPreparer().prepare_if_dev(dbt_project)


class FairshareTranslator(DagsterDbtTranslator):
    """One place deciding every dbt asset key and group: `<schema>/<name>`, grouped by schema."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # meta.dagster.asset_key: the ingest assets
        return dg.AssetKey([self._schema(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "ingest"
        return self._schema(dbt_resource_props)

    @staticmethod
    def _schema(props: Mapping[str, Any]) -> str:
        return props.get("config", {}).get("schema") or props.get("schema") or "main"


translator = FairshareTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@contextmanager
def warehouse_env(warehouse: Path) -> Iterator[None]:
    """dbt reads the warehouse path from FAIRSHARE_WAREHOUSE (profiles.yml), like the settings do.

    dbt runs in dbt_project/, so the path must be absolute.
    """
    previous = os.environ.get("FAIRSHARE_WAREHOUSE")
    os.environ["FAIRSHARE_WAREHOUSE"] = str(warehouse.resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("FAIRSHARE_WAREHOUSE", None)
        else:
            os.environ["FAIRSHARE_WAREHOUSE"] = previous


def dbt_vars(fairshare: FairshareResource) -> str:
    settings = fairshare.settings()
    return json.dumps({"peildatum": settings.peildatum.isoformat() if settings.peildatum else ""})


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=translator, project=dbt_project)
def fairshare_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, fairshare: FairshareResource):
    """Seeds, staging, intermediate models and marts, with their tests, in one `dbt build`.

    When nothing changed since the last complete run (``orchestration.builds``), nothing is built:
    Dagster then skips the gate, the report and the publication too.
    """
    settings = fairshare.settings()
    with store.connect(settings.warehouse) as conn:
        schema.ensure_schema(conn, {})
        current, _ = builds.up_to_date(conn, settings)
    if current:
        context.log.info("Niets nieuw sinds de vorige volledige run: marts, rapport en publicatie zijn actueel.")
        return
    with warehouse_env(settings.warehouse), timing.stage("dbt"):
        yield from dbt.cli(["build", "--vars", dbt_vars(fairshare)], context=context).stream()
