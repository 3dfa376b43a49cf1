"""The ``fairshare`` job run in this process: every asset of one region's definitions, one step at a time.

``fairshare run`` (the shell) calls ``execute`` and summarises; ``fairshare bench`` measures it.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass

import dagster as dg

from basics import progress
from basics.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.resources import FairshareResource


@dataclass
class Executed:
    """One in-process run: did it succeed, did the gate block it, its root cause, run id and seconds."""

    success: bool
    blocked: bool
    error: str | None
    run_id: str | None
    seconds: float
    log: progress.RunLog


def execute(
    settings: Settings,
    instance: dg.DagsterInstance | None = None,
    verbose: bool = False,
    shown: progress.Sink | None = None,
) -> Executed:
    """Materialise every asset of the definitions, in this process, one step at a time.

    ``shown`` receives one line per stage (``basics.progress``); Dagster's and dbt's own logs are
    shown only when ``verbose``.
    The Dagster instance is ephemeral unless DAGSTER_HOME is set: then the run is kept there.
    """
    resource = FairshareResource(
        landing=str(settings.landing),
        warehouse=str(settings.warehouse),
        reports=str(settings.reports),
        serving=str(settings.serving_file),
        demo=settings.demo,
        adhoc=settings.adhoc,
        als_huidig=settings.als_huidig,
        settle_seconds=settings.settle_seconds,
        echo_dbt=verbose,
        regio=settings.regio,
        peildatum=settings.peildatum.isoformat() if settings.peildatum else None,
    )
    defs = build_definitions(resource)
    job = defs.resolve_job_def("fairshare")
    started = time.perf_counter()
    if instance is None and os.environ.get("DAGSTER_HOME"):
        instance = dg.DagsterInstance.get()  # opt-in: keep the run, its events and logs (as `make dev` does)
    shown = shown or progress.Sink()  # nothing shown, but the summary counts this run's files
    progress.use(shown)
    try:
        with dg.DagsterInstance.ephemeral() if instance is None else nullcontext(instance) as inst:
            # Dagster's own events would bury the stage lines: only with --verbose (failures are summarised below).
            result = job.execute_in_process(
                instance=inst,
                raise_on_error=False,
                run_config={
                    "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}
                },
            )
    finally:
        progress.use(None)
    seconds = time.perf_counter() - started
    failures = [e for e in result.all_events if e.is_step_failure]
    # A failing blocking gate check fails its step; that is the gate doing its work, not a broken pipeline.
    gate = [e for e in failures if e.step_failure_data.error.cls_name == "DagsterAssetCheckFailedError"]
    blocked = bool(gate) and len(gate) == len(failures)
    error = None
    if not result.success and not blocked:
        error = (
            "; ".join(
                f"step {e.step_key} failed: {_root_cause(e.step_failure_data)}"
                for e in failures
                if e.step_failure_data.error.cls_name != "DagsterAssetCheckFailedError"
            )
            or _root_cause_of_run(result)
            or "unknown error"
        )
    return Executed(
        success=result.success or blocked,
        blocked=blocked,
        error=error,
        run_id=result.run_id,
        seconds=seconds,
        log=shown.log,
    )


def _root_cause(data) -> str:
    """The innermost error of a step failure, in one line (a Failure's own description where it has one)."""
    if data.user_failure_data is not None and data.user_failure_data.description:
        return _one_line(data.user_failure_data.description)
    error = data.error
    while error.cause is not None:
        error = error.cause
    message = re.sub(
        rf"^(?:[\w.]*\.)?{re.escape(error.cls_name)}: ", "", error.message.strip()
    )  # "_duckdb.IOException: "
    return _one_line(f"{error.cls_name}: {message}")


_WRITING = re.compile(r"""file "([^"]+)"|No space left on device: '([^']+)'""")


def _one_line(text: str) -> str:
    """An error's first line; a full disk said first, with the file that could not be written, wherever in the
    message DuckDB or Python put it (DuckDB's CHECKPOINT during DETACH names it only in a later line)."""
    text = text.strip()
    first = text.splitlines()[0].strip() if text else ""
    if "no space left on device" not in text.lower():
        return first
    found = _WRITING.search(text)
    where = f" writing {found.group(1) or found.group(2)}" if found else ""
    return f"no space left on device{where}: free space there and run again ({first})"


def _root_cause_of_run(result) -> str | None:
    for event in result.all_events:
        if event.event_type_value == "PIPELINE_FAILURE" and event.message:
            return event.message.strip().splitlines()[-1]
    return None
