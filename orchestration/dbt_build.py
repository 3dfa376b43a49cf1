"""`dbt build` in this process (dbt's programmatic ``dbtRunner``), its results as dagster-dbt's Dagster events.

dagster-dbt starts dbt as a second Python process that imports dbt, its adapter and the saved parse again before it
builds anything: 3-4 s of CPU a run, at any volume (about a tenth of a regional run). The run's process has dbt
imported already (dagster-dbt imports it), so dbt runs here. What Dagster records is dagster-dbt's own: its
selection for the step's asset subset, and each dbt result event turned into an Output or AssetCheckResult by
``DbtCoreCliEventMessage.to_default_asset_events``, as the subprocess's JSON log lines were.

One build per call; the DuckDB environment dbt-duckdb keeps for the process is closed after it, so the
warehouse file is never open twice in this process (the gate and report open it next) and the next build,
maybe of another warehouse, attaches its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._utils import pushd
from dagster_dbt.asset_utils import (
    extract_runtime_selection_from_args,
    get_manifest_and_translator_from_dbt_assets,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

INDIRECT_SELECTION = "DBT_INDIRECT_SELECTION"  # dagster-dbt's way to pass its test selection to dbt
# The events dagster-dbt turns into Outputs and check results (its ``DbtCoreCliEventMessage.is_result_event``).
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


@dataclass
class Build:
    """One dbt invocation: its Dagster events (after ``events``), dbt's error lines and whether it succeeded."""

    args: list[str]
    target_path: Path
    errors: list[str] = field(default_factory=list)
    success: bool = False
    exception: BaseException | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    def description(self) -> str:
        """dbt's errors in dagster-dbt's words (``dbt_assets.dbt_error`` reads them)."""
        said = "\n\n".join(["", "Errors parsed from dbt logs:", *self.errors]) if self.errors else ""
        if not said and self.exception is not None:
            said = "\n\nErrors parsed from dbt logs:\n\n" + str(self.exception)
        return f"dbt {' '.join(self.args)} failed.{said}"


def build(
    context: dg.AssetExecutionContext, args: list[str], project_dir: Path, target_path: Path
) -> Iterator[Any]:
    """Run ``dbt <args>`` for the step's selection; yield its Dagster events; return the ``Build`` (StopIteration)."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    assets_def = context.assets_def
    manifest, translator, project = get_manifest_and_translator_from_dbt_assets([assets_def])
    cleaned, selects, excludes = extract_runtime_selection_from_args(args)
    params = get_updated_cli_invocation_params_for_context(
        context=context,
        manifest=manifest,
        dagster_dbt_translator=translator,
        runtime_selects=selects,
        runtime_excludes=excludes,
    )
    full = [
        *cleaned,
        *params.selection_args,
        *("--project-dir", ".", "--profiles-dir", "."),
        *("--target-path", str(target_path), "--log-path", str(target_path)),
        "--no-send-anonymous-usage-stats",
        # dbt.log in the target folder: dbt's own debug log (every statement), in its default text format without
        # colour codes. Written as json (as dagster-dbt's subprocess did) it cost 1.6 s of CPU a build, a fifth of
        # a regional one: every event became a dict and a json line; as text it costs 0.5 s.
        "--no-use-colors-file",
    ]
    done = Build(args=full, target_path=target_path, manifest=dict(params.manifest))
    raw: list[dict] = []

    def collect(msg) -> None:  # noqa: ANN001 (a dbt EventMsg)
        # Only errors and the node results dagster-dbt turns into events are read: a build fires ~25 events a
        # node (each SQL statement is three), and turning every one into a dict cost ~1 s of a regional build.
        if msg.info.level == "error":
            done.errors.append(msg.info.msg)
        if msg.info.name in RESULT_EVENTS:
            raw.append(msg_to_dict(msg))

    with pushd(str(project_dir)), _indirect(params.indirect_selection), _closing_duckdb():
        result = dbtRunner(callbacks=[collect]).invoke(full)
    done.success, done.exception = bool(result.success) and not done.errors, result.exception
    for event in raw:
        message = DbtCoreCliEventMessage(raw_event=event, event_history_metadata={})
        yield from message.to_default_asset_events(
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            context=context,
            target_path=target_path,
            project=params.dbt_project or project,
        )
    return done


@contextmanager
def _indirect(selection: str | None) -> Iterator[None]:
    previous = os.environ.get(INDIRECT_SELECTION)
    if selection:
        os.environ[INDIRECT_SELECTION] = selection
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(INDIRECT_SELECTION, None)
        else:
            os.environ[INDIRECT_SELECTION] = previous


@contextmanager
def _closing_duckdb() -> Iterator[None]:
    """Close the DuckDB environment dbt-duckdb keeps per process once dbt is done (or failed)."""
    try:
        yield
    finally:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if env is not None:
            env.close()
