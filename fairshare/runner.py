"""Run the Dagster asset graph in-process for `fairshare run`, and summarise what it did."""

from __future__ import annotations

import os
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from fairshare.files import clean_stale
from fairshare.settings import ConfigError, Settings
from ingest.landing import SOURCES
from ingest.values import key_fingerprint
from warehouse import publish, store


@dataclass
class RunOutcome:
    success: bool
    blocked: bool
    summary: str
    error: str | None = None


def _writable(folder: Path, what: str) -> None:
    """The folder exists (or can be made) and a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".fairshare-schrijftest-{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"the {what} {folder} is not writable ({exc.strerror or exc}): "
                          "choose another folder or fix its permissions") from exc


def _landing_ready(landing: Path) -> None:
    if not landing.is_dir():
        what = "is not a folder" if landing.exists() else "does not exist"
        raise ConfigError(f"the landing folder {landing} {what}: point --landing (FAIRSHARE_LANDING) at the folder "
                          f"with the subfolders {', '.join(s + '/' for s in SOURCES)}")
    missing = [s + "/" for s in SOURCES if not (landing / s).is_dir()]
    if missing:
        raise ConfigError(f"the landing folder {landing} has no subfolder {', '.join(missing)} "
                          f"(expected {', '.join(s + '/' for s in SOURCES)}; an empty subfolder is fine)")


def _warehouse_free(warehouse: Path) -> None:
    """No other program (an analyst's DuckDB, Metabase) has the warehouse file open: DuckDB allows one writer."""
    if not warehouse.exists():
        return
    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.Error as exc:
        text = str(exc)
        holder = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", text)
        who = f"{holder.group(1)} (PID {holder.group(2)})" if holder else "another program"
        if "lock" not in text.lower():
            raise ConfigError(f"the warehouse {warehouse} cannot be opened: {text.splitlines()[0]}") from exc
        raise ConfigError(f"the warehouse {warehouse} is open in {who}: close it (readers use the published copy, "
                          "never the warehouse file)") from exc


def check_ready(settings: Settings) -> None:
    """Everything a run needs, checked before anything is read (each failure is one sentence, exit 2).

    The landing folder and its subfolders, writable report, serving and warehouse folders, a published
    copy that belongs to this warehouse, the warehouse file free of other programs, and the pseudonym key.
    The caller holds the warehouse lock.
    """
    key = settings.key_bytes()
    _landing_ready(settings.landing)
    _writable(settings.warehouse.parent, "warehouse folder")
    _writable(settings.reports, "reports folder")
    if settings.publishes:
        _writable(settings.serving_file.parent, "serving folder")
        other = publish.owner(settings.serving_file)
        if other and other != str(settings.warehouse.resolve()):
            raise ConfigError(f"the published copy {settings.serving_file} belongs to the warehouse {other}: "
                              "give this warehouse its own with --serving FILE (FAIRSHARE_SERVING)")
    _warehouse_free(settings.warehouse)
    stored = store.stored_fingerprint(settings.warehouse)
    if stored is not None and stored != key_fingerprint(key):
        raise ConfigError(
            f"the pseudonym key differs from the one {settings.warehouse} was built with "
            "(pseudonyms would no longer link): use the original FAIRSHARE_PSEUDONYM_KEY or a new warehouse file")


def clean_leftovers(settings: Settings) -> None:
    """Temporary files of a killed run (report and publication); the caller holds the warehouse lock."""
    clean_stale(settings.reports)
    for stale in settings.serving_file.parent.glob(f".{settings.serving_file.name}.*.tmp*"):
        stale.unlink(missing_ok=True)


def run_pipeline(settings: Settings, instance: dg.DagsterInstance | None = None) -> RunOutcome:
    """Materialise every asset of the definitions, in this process, one step at a time."""
    from orchestration.definitions import build_definitions
    from orchestration.resources import FairshareResource

    resource = FairshareResource(landing=str(settings.landing), warehouse=str(settings.warehouse),
                                 reports=str(settings.reports), serving=str(settings.serving_file),
                                 demo=settings.demo, adhoc=settings.adhoc, settle_seconds=settings.settle_seconds,
                                 peildatum=settings.peildatum.isoformat() if settings.peildatum else None)
    defs = build_definitions(resource)
    job = defs.resolve_job_def("fairshare")
    started = time.perf_counter()
    with (dg.DagsterInstance.ephemeral() if instance is None else nullcontext(instance)) as inst:
        # Dagster's DEBUG events would bury the summary; assets log what matters at INFO.
        result = job.execute_in_process(instance=inst, raise_on_error=False, run_config={
            "loggers": {"console": {"config": {"log_level": "INFO"}}}})
    seconds = time.perf_counter() - started
    failures = [e for e in result.all_events if e.is_step_failure]
    # A failing blocking gate check fails its step; that is the gate doing its work, not a broken pipeline.
    gate = [e for e in failures if e.step_failure_data.error.cls_name == "DagsterAssetCheckFailedError"]
    blocked = bool(gate) and len(gate) == len(failures)
    error = None
    if not result.success and not blocked:
        error = "; ".join(f"step {e.step_key} failed: {_root_cause(e.step_failure_data)}" for e in failures
                          if e.step_failure_data.error.cls_name != "DagsterAssetCheckFailedError") \
            or _root_cause_of_run(result) or "unknown error"
    return RunOutcome(success=result.success or blocked, blocked=blocked, summary=summarise(settings, seconds),
                      error=error)


def _root_cause(data) -> str:
    """The innermost error of a step failure, in one line (a Failure's own description where it has one)."""
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description.strip().splitlines()[0]
    error = data.error
    while error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message.strip().splitlines()[0] if error.message.strip() else ''}".strip()


def _root_cause_of_run(result) -> str | None:
    for event in result.all_events:
        if event.event_type_value == "PIPELINE_FAILURE" and event.message:
            return event.message.strip().splitlines()[-1]
    return None


def summarise(settings: Settings, seconds: float) -> str:
    """Files and rows per source from the audit tables, and where the warehouse is."""
    if not settings.warehouse.exists():
        return f"No warehouse written ({settings.warehouse})."
    lines = [f"Run finished in {seconds:.1f}s. Warehouse: {settings.warehouse.resolve()}"]
    with store.connect(settings.warehouse, read_only=True) as conn:
        for bron, files, geladen, afgewezen, rijen, quarantaine in conn.execute("""
            SELECT bron, count(*), count(*) FILTER (status = 'geladen'), count(*) FILTER (status = 'afgewezen'),
                   coalesce(sum(rijen_geladen) FILTER (status = 'geladen'), 0),
                   coalesce(sum(rijen_quarantaine) FILTER (status = 'geladen'), 0)
            FROM audit.bestanden_actueel GROUP BY bron ORDER BY bron""").fetchall():
            lines.append(f"  {bron:<13} {files:>3} files ({geladen} loaded, {afgewezen} rejected), "
                         f"{rijen} rows loaded, {quarantaine} quarantined")
        for (reden,) in conn.execute("SELECT reden FROM audit.bestanden_actueel WHERE status = 'afgewezen' "
                                     "ORDER BY pad").fetchall():
            lines.append(f"  rejected: {reden}")
    for path in sorted(settings.reports.glob("bo_wonen_zorg_*")) if settings.reports.exists() else []:
        label = "BLOCKED, see" if path.name.endswith("_geblokkeerd.html") else "Report:"
        lines.append(f"{label} {path.resolve()}")
    if settings.serving_file.exists():
        served = settings.serving_file.resolve()
        lines.append(f"Published for readers (read-only copy): {served}")
        lines.append(f"  connect: duckdb -readonly {served}   or in Python: duckdb.connect('{served}', read_only=True)")
        lines.append("  never open the warehouse file itself: it is the pipeline's (see README, 'For the province')")
    return "\n".join(lines)
