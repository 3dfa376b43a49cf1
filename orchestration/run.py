"""A region's ``fairshare_<regio>`` job run in this process: every asset of its definitions, one step at a time.

``fairshare run`` (the shell) calls ``execute`` and summarises; ``fairshare bench`` measures it. The run is
recorded in the Dagster instance `make dev` shows (``instance_home``), so the UI shows the last run's
materialisations and checks under the region's keys.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from basics import progress
from basics.paths import ROOT
from basics.settings import Settings
from orchestration import keys
from orchestration.automation import ACTIVE, PROCESS_TAG, abandoned, process_tag
from orchestration.definitions import build_definitions
from orchestration.resources import FairshareResource

# The instance `make dev` uses when DAGSTER_HOME is not set (relative to the working folder, as data/ is).
DEFAULT_HOME = Path("data") / "dagster_home"
INSTANCE_CONFIG = ROOT / "orchestration" / "dagster.yaml"
# `fairshare run` takes no pool slots of the instance: the warehouse lock it holds already keeps it from
# running beside another run of its warehouse, and a killed process would leave its slots taken (Dagster frees
# a claimed slot only when its step ends or by hand in the UI), blocking every later run of the instance.
# (A shallow override of the instance's `concurrency`; its run queue is the daemon's, which this process is not.)
# Nor does it capture the steps' stdout and stderr: the console shows them, and the capture starts a `tail` and
# a watcher process per step that outlive a run whose clock is off (they keep its output pipes open).
_CLI_OVERRIDES = {
    "concurrency": {"pools": {"granularity": "run"}},
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    },
}


def instance_home(env: dict[str, str] | None = None) -> Path:
    """The Dagster instance's folder: DAGSTER_HOME when set, else ``data/dagster_home`` (as `make dev`), absolute;
    made with orchestration/dagster.yaml when it has no dagster.yaml (as `make dev` does)."""
    env = os.environ if env is None else env
    home = Path(env.get("DAGSTER_HOME") or DEFAULT_HOME).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        # Two first runs at once (two regions) would both create the instance's SQLite storage: one does.
        with open(home / ".fairshare-aanmaken.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            if not (home / "dagster.yaml").exists():
                shutil.copyfile(INSTANCE_CONFIG, home / ".dagster.yaml.tmp")
                with open_instance(home, config=".dagster.yaml.tmp") as instance:
                    instance.get_runs(limit=1)  # creates its storage
                os.replace(home / ".dagster.yaml.tmp", home / "dagster.yaml")
    return home


def close_abandoned(instance: dg.DagsterInstance, job_name: str) -> None:
    """Mark failed every run of the job a killed `fairshare run` left "started" (the UI would show it running
    forever). The caller holds the warehouse lock, so no live run of this warehouse is among them."""
    for run in instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=ACTIVE), limit=100):
        if abandoned(run):
            instance.report_run_failed(
                run,
                f"the fairshare run process ({run.tags[PROCESS_TAG]}) ended before the run finished "
                "(killed?); a later run carries on from what it committed",
            )


def open_instance(home: Path, config: str = "dagster.yaml") -> dg.DagsterInstance:
    """The instance at ``home`` as this process uses it (``_CLI_OVERRIDES``)."""
    return dg.DagsterInstance.from_ref(
        InstanceRef.from_dir(str(home), config_filename=config, overrides=_CLI_OVERRIDES)
    )


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
    opnieuw: bool = False,
) -> Executed:
    """Materialise every asset of the region's definitions, in this process, one step at a time.

    ``shown`` receives one line per stage (``basics.progress``); Dagster's and dbt's own logs are
    shown only when ``verbose``. ``opnieuw``: rebuild and republish even when nothing is new.
    Without ``instance`` the run is recorded in the instance of ``instance_home`` (`make dev`'s).
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
        opnieuw=opnieuw,
    )
    defs = build_definitions(resource)
    job = defs.resolve_job_def(keys.job_name(settings.regio))
    started = time.perf_counter()
    shown = shown or progress.Sink()  # nothing shown, but the summary counts this run's files
    progress.use(shown)
    try:
        with open_instance(instance_home()) if instance is None else nullcontext(instance) as inst:
            # Dagster's own events would bury the stage lines: only with --verbose (failures are summarised below).
            close_abandoned(inst, job.name)
            result = job.execute_in_process(
                instance=inst,
                raise_on_error=False,
                tags={PROCESS_TAG: process_tag()},
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
