"""The dbt models as Dagster assets, downstream of the ingest assets; dbt tests show as asset checks.

The manifest is prepared at build time (`make install` runs `dbt parse`), never at import;
under `dagster dev` the preparer refreshes it with the dbt beside this interpreter, so the venv
need not be activated (nor on PATH).
"""

import contextlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from packaging import version

from basics import besluitregels, paths, progress, region, timing
from orchestration import dbt_build, keys
from orchestration.resources import WAREHOUSE_POOL, FairshareResource
from warehouse import builds, schema, store

DBT_PROJECT_DIR = paths.DBT_PROJECT_DIR
# The dbt installed beside this interpreter: `dagster dev` and `fairshare run` need no activated venv.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's saved parse, in its target folder


class FairshareDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource, running the venv's dbt, without two costs it never uses: what the preparer below
    runs (`dbt parse` under `dagster dev`). A run's build runs dbt in its own process (``orchestration.dbt_build``).

    Before each command dagster-dbt asks the executable its version (a second dbt process, 2-4 s) and loads a dbt
    adapter in this process (2-3 s) that only its column-metadata and row-count helpers use; neither is used here.
    The version is the installed dbt-core's: the executable beside this interpreter is that package's.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ANN202 (dagster-dbt's private hook)
        return None


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer runs `dbt` from PATH; this one runs the venv's dbt.

    dbt writes its artifacts in place, so a run loading the definitions in another process meanwhile (a
    `fairshare run` beside `dagster dev`) could read half a manifest.json. The parse goes to a folder of its
    own, started from the saved parse, and each file is moved into the target folder with one rename."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        target = Path(project.project_dir) / project.target_path
        own = project.target_path / f".parse-{os.getpid()}"
        folder = Path(project.project_dir) / own
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            if (target / PARTIAL_PARSE).exists():
                shutil.copyfile(target / PARTIAL_PARSE, folder / PARTIAL_PARSE)
            FairshareDbtCli(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
                self._prepare_project_cli_args, target_path=own
            ).wait()
            for made in folder.iterdir():
                if made.is_file():
                    os.replace(made, target / made.name)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


VenvDbtPreparer().prepare_if_dev(dbt_project)


class FairshareTranslator(DagsterDbtTranslator):
    """One place deciding every dbt asset key and group: `<regio>/<schema>/<name>`, grouped by schema.

    A source's key is its meta.dagster.asset_key (the ingest assets' `raw/<table>`) under the same region.
    """

    def __init__(self, regio: str, settings: DagsterDbtTranslatorSettings | None = None):
        super().__init__(settings=settings)
        self.regio = regio

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return keys.asset_key(self.regio, *super().get_asset_key(dbt_resource_props).path)
        return keys.asset_key(self.regio, self._schema(dbt_resource_props), dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "ingest"
        return self._schema(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return keys.describe(self.regio, super().get_description(dbt_resource_props))

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        return {**super().get_metadata(dbt_resource_props), **keys.regio_metadata(self.regio)}

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {**super().get_tags(dbt_resource_props), **keys.regio_tags(self.regio)}

    @staticmethod
    def _schema(props: Mapping[str, Any]) -> str:
        return props.get("config", {}).get("schema") or props.get("schema") or "main"


def translator(regio: str) -> FairshareTranslator:
    """The region's translator; dbt tests show as asset checks on their models."""
    return FairshareTranslator(regio, settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@contextmanager
def warehouse_env(warehouse: Path, regio: str | None = None) -> Iterator[None]:
    """dbt reads the warehouse path from FAIRSHARE_WAREHOUSE (profiles.yml), like the settings do, and the
    region's seeds from FAIRSHARE_REGIO_DIR (dbt_project.yml's seed-paths).

    dbt runs in dbt_project/: the warehouse path is absolute, the region's folder relative to it.
    """
    # The region's folder relative to dbt_project/: dbt writes each seed's compiled file under target/ at the
    # seed's path, and an absolute path would make it overwrite the seed itself.
    # The default region's folder is dbt_project.yml's default: left unset, so that dbt's saved parse from
    # `make install` (made without it) still fits (dbt reparses everything when such a variable changes).
    regio_dir = region.regio_dir(regio).resolve()
    wanted = {
        "FAIRSHARE_WAREHOUSE": str(warehouse.resolve()),
        "FAIRSHARE_REGIO_DIR": None
        if regio_dir == region.regio_dir(region.DEFAULT_REGIO).resolve()
        else os.path.relpath(regio_dir, DBT_PROJECT_DIR),
    }
    previous = {k: os.environ.get(k) for k in wanted}
    for k, v in wanted.items():
        _set_env(k, v)
    try:
        yield
    finally:
        for k, v in previous.items():
            _set_env(k, v)


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROGRESS = re.compile(r"^\d+ of \d+ ")  # "6 of 19 ERROR loading seed file ...": which node, not why
_SAYS_NOTHING = ("Encountered an error:", "Completed with ")


def dbt_error(description: str, lines: int = 4) -> str:
    """dbt's own first error, in one line, from a dagster-dbt failure's description (its "Errors parsed from dbt
    logs"): the failing node and dbt's first lines about it, e.g. ``Runtime Error in seed gemeenten (...):
    Conversion Error: ...``. The description's own first line ("The dbt CLI process with command") names no cause.
    """
    _, found, errors = description.partition("Errors parsed from dbt logs:")
    if not found:
        return (
            description.strip().splitlines()[0]
            if description.strip()
            else "dbt failed without an error message"
        )
    said = [
        line
        for line in (_ANSI.sub("", raw).strip() for raw in errors.splitlines())
        if line and not _PROGRESS.match(line) and not line.startswith(_SAYS_NOTHING)
    ]
    # "Failure in seed x (path)" is followed by "Runtime Error in seed x (path)" with the cause: keep the latter.
    said = [
        line
        for i, line in enumerate(said)
        if not (line.startswith("Failure in ") and i + 1 < len(said) and " Error in " in said[i + 1])
    ]
    head, *rest = said or ["dbt failed without an error message"]
    return head + (": " + "; ".join(rest[: lines - 1]) if rest else "")


def dbt_vars(fairshare: FairshareResource) -> list[str]:
    """``--vars`` for a run with a peildatum; none otherwise (dbt_project.yml's default, the latest board date).

    dbt keys its saved parse on the command line's vars: without any, a build can start from the parse
    `make install` left (``start_from_install_parse``)."""
    settings = fairshare.settings()
    return ["--vars", json.dumps({"peildatum": settings.peildatum.isoformat()})] if settings.peildatum else []


def start_from_install_parse(target: Path) -> None:
    """Give a warehouse's new dbt target folder the parse `make install` saved (dbt_project/target/).

    dbt checks a saved parse against the project's files, vars and profile and parses afresh what differs (all of
    it if the vars or profile differ), so a stale or foreign copy only costs the parse it would have cost anyway."""
    # The project's target folder (dbt_project.yml's target-path, relative to the project), wherever the run is.
    saved = Path(dbt_project.project_dir) / dbt_project.target_path / PARTIAL_PARSE
    own = target / PARTIAL_PARSE
    if saved.exists() and not own.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved, own)


def _last_result(storage, key: dg.AssetCheckKey) -> tuple[Any, str] | None:
    """The last completed evaluation of a check and the run that made it (None: never evaluated here)."""
    [record] = storage.get_asset_check_execution_history(
        key, limit=1, status=COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES
    ) or [None]
    evaluation = record.event.asset_check_evaluation if record and record.event else None
    return (evaluation, record.run_id) if evaluation is not None else None


def _again(evaluation, run_id: str) -> dict:
    return {
        **evaluation.metadata,
        "uit_run": dg.MetadataValue.text(run_id),
        "toelichting": dg.MetadataValue.text("niets nieuw: uitkomst van de laatste volledige bouw"),
    }


def previous_check_results(context: dg.AssetExecutionContext) -> Iterator[dg.AssetCheckResult]:
    """The dbt tests' results of the last build, reported again when nothing was rebuilt.

    Without this, a run with nothing new would show every dbt check as skipped in Dagster and hide
    the last real results. Only checks with a recorded result are reported (an ephemeral instance
    has none); each says which run produced it.
    """
    storage = context.instance.event_log_storage
    for key in sorted(context.selected_asset_check_keys, key=str):
        if (last := _last_result(storage, key)) is None:
            continue
        evaluation, run_id = last
        yield dg.AssetCheckResult(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=evaluation.passed,
            severity=evaluation.severity,
            metadata=_again(evaluation, run_id),
        )


def report_downstream_again(context: dg.AssetExecutionContext, regio: str) -> None:
    """The gate `poort` and the freshness check, reported again (as evaluations outside a step) when nothing was
    rebuilt: their steps do not run then, and Dagster would show the region's gate as skipped, hiding the last
    real verdict. Dagster plans a run's checks when the run starts, so these later evaluations are the latest."""
    storage = context.instance.event_log_storage
    for key in (
        keys.check_key(regio, keys.REPORT, keys.GATE_CHECK),
        keys.check_key(regio, keys.FRESHNESS_ASSET, keys.FRESHNESS_CHECK),
    ):
        if (last := _last_result(storage, key)) is None:
            continue
        evaluation, run_id = last
        context.instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=key.asset_key,
                check_name=key.name,
                passed=evaluation.passed,
                severity=evaluation.severity,
                metadata=_again(evaluation, run_id),
                blocking=evaluation.blocking,
                description=evaluation.description,
            )
        )


def build_dbt_assets(regio: str) -> dg.AssetsDefinition:
    """The dbt project as the region's assets (``FairshareTranslator``): one op, ``fairshare_dbt_assets``."""

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        dagster_dbt_translator=translator(regio),
        project=dbt_project,
        pool=WAREHOUSE_POOL,
        name="fairshare_dbt_assets",
    )
    def _dbt_assets(context: dg.AssetExecutionContext, fairshare: FairshareResource):
        yield from _build(context, fairshare)

    return _dbt_assets


def _build(context: dg.AssetExecutionContext, fairshare: FairshareResource):
    """Seeds, staging, intermediate models and marts, with their tests, in one `dbt build`.

    When nothing changed since the last complete run (``warehouse.builds``), nothing is built:
    Dagster then skips the gate, the report and the publication too, unless the run was asked to
    rebuild (``FairshareResource.opnieuw``, ``fairshare run --opnieuw``).
    """
    settings = fairshare.settings()
    with store.connect(settings.warehouse) as conn:
        schema.ensure_schema(conn, {})
        current, vingerafdruk = builds.up_to_date(conn, settings)
        rebuild = current and fairshare.opnieuw
        current = current and not fairshare.opnieuw
        if not current:
            builds.start(conn, context.run.run_id, vingerafdruk)
            # the margin marts.kerncijfers judges with: the region's rules, as the report's page one reads them
            schema.write_besluitregels(conn, besluitregels.load(region.regio_dir(settings.regio)))
    shown = progress.report()
    if rebuild:
        context.log.info("Niets nieuw, maar opnieuw gevraagd: marts, poort, rapport en publicatie opnieuw.")
        if shown:
            shown.line("nothing new, rebuilding on request (--opnieuw): dbt, gate, report and publication")
    if current:
        context.log.info(
            "Niets nieuw sinds de vorige volledige run: marts, rapport en publicatie zijn actueel."
        )
        if shown:
            shown.log.nothing_new = True
        yield from previous_check_results(context)
        report_downstream_again(context, settings.regio)
        return
    started = time.perf_counter()
    echo = io.StringIO()  # dbt writes every event to stdout: the console shows its summary line only
    with (
        warehouse_env(settings.warehouse, settings.regio),
        timing.stage("dbt"),
        contextlib.nullcontext() if fairshare.echo_dbt else contextlib.redirect_stdout(echo),
    ):
        # dbt's target folder is the warehouse's own (not a new one under dbt_project/target per run): a second
        # build of the same warehouse reuses the first one's parse.
        # dbt's unit tests (fixed inputs, no data) test the SQL, not a delivery: they run in the test suite, as
        # dbt recommends, not in every build (tests/test_marts_definitions.py).
        start_from_install_parse(settings.dbt_target)
        invocation = dbt_build.build(
            context,
            ["build", "--exclude-resource-type", "unit_test", *dbt_vars(fairshare)],
            project_dir=DBT_PROJECT_DIR,
            target_path=settings.dbt_target,
        )
        outcome = yield from invocation
        if not outcome.success:  # say what dbt said
            raise dg.Failure(
                description=f"dbt build: {dbt_error(outcome.description())}", allow_retries=False
            )
    results = []
    try:  # seconds per dbt node, for `fairshare bench`
        run_results = json.loads((settings.dbt_target / "run_results.json").read_text())
        results = run_results.get("results", [])
        timing.nodes(
            {r["unique_id"]: r.get("execution_time", 0.0) for r in results},
            elapsed=float(run_results.get("elapsed_time") or 0.0),
        )
    except (OSError, ValueError, KeyError):
        pass
    if shown:
        # dbt's own summary line ("12:00:01  Done. PASS=130 WARN=1 ERROR=0 ..."), without its clock time.
        done = re.findall(r"Done\. PASS=.*", _ANSI.sub("", echo.getvalue()))
        shown.stage("dbt build", time.perf_counter() - started, done[-1].strip() if done else "")
        for line in warnings_named(results, outcome.manifest):
            shown.line(line)


def warnings_named(results: list[dict], manifest: Mapping[str, Any]) -> list[str]:
    """One console line per dbt test that warned (dbt's summary only counts them): what it found, its rows, its file."""
    lines = []
    for r in results:
        node = manifest.get("nodes", {}).get(r.get("unique_id"), {})
        if r.get("status") == "warn" and node:
            what = node.get("description") or node.get("name")
            lines.append(
                f"  dbt warning: {what} ({r.get('failures') or 0} rows; dbt_project/{node.get('original_file_path')})"
            )
    return lines
